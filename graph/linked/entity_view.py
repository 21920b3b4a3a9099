"""What an entity's page shows, as plain data for a template: the same description as the JSON,
arranged for reading (labels for every property and type, values as links or text, the claims
with their sentences split around the words that state the value, the neighbourhood, the history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from rdflib import Literal as RdfLiteral
from rdflib import URIRef
from rdflib.term import Node

from ijkg.graph.core.namespaces import IJKG
from ijkg.graph.linked.entities import (
    DESCRIPTION_PROPERTIES,
    PROV,
    RDF_TYPE,
    ClaimInfo,
    EntityDescription,
    EvidenceItem,
    fallback_label,
    is_claim_bookkeeping,
    json_value,
    link,
    quantity,
)
from ijkg.graph.linked.vocabulary import Vocabulary, curie, term_name

#: Kinds that are bookkeeping rather than things: left out of the neighbourhood picture.
PICTURE_HIDDEN_KINDS: Final = frozenset({"claim", "evidence", "selector", "list"})
PICTURE_MAX_NODES: Final = 12
CHANGED_BY: Final = IJKG + "changedBy"
XSD_DATETIME: Final = "http://www.w3.org/2001/XMLSchema#dateTime"
# A few labels for terms of other vocabularies, where the local name reads badly.
_LABELS: Final = {
    RDF_TYPE: "type",
    PROV + "wasDerivedFrom": "derived from",
    "http://www.w3.org/2004/02/skos/core#prefLabel": "preferred label",
    "http://www.w3.org/2004/02/skos/core#altLabel": "alternative label",
    "http://www.w3.org/2004/02/skos/core#inScheme": "in scheme",
    "http://www.w3.org/2004/02/skos/core#topConceptOf": "top concept of",
    "http://www.w3.org/2004/02/skos/core#editorialNote": "editorial note",
    "http://www.w3.org/2004/02/skos/core#memberList": "member list",
    "http://www.w3.org/2004/02/skos/core#exactMatch": "exact match",
    "http://www.w3.org/2004/02/skos/core#closeMatch": "close match",
    "http://www.w3.org/2002/07/owl#sameAs": "same as",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#subject": "subject",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#predicate": "predicate",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#object": "object",
    "http://www.w3.org/2006/time#hasXSDDuration": "duration",
}


def property_label(iri: str, vocabulary: Vocabulary) -> str:
    if iri in _LABELS:
        return _LABELS[iri]
    return vocabulary.label(iri)


@dataclass(frozen=True)
class Highlight:
    """A sentence cut around the words that state the value (``mark`` may be empty)."""

    before: str
    mark: str
    after: str


def highlight(sentence: str, words: str | None) -> Highlight:
    """Cut ``sentence`` around the first occurrence of ``words`` (case-insensitive).

    >>> highlight("Japan will invest ¥10 trillion in India.", "¥10 trillion")
    Highlight(before='Japan will invest ', mark='¥10 trillion', after=' in India.')
    >>> highlight("No match here.", "absent")
    Highlight(before='No match here.', mark='', after='')
    """
    if words:
        at = sentence.find(words)
        if at < 0:
            at = sentence.casefold().find(words.casefold())
            if len(sentence.casefold()) != len(sentence):
                at = -1
        if at >= 0:
            return Highlight(
                sentence[:at], sentence[at : at + len(words)], sentence[at + len(words) :]
            )
    return Highlight(sentence, "", "")


def human_time(text: str) -> dict[str, str]:
    """A time for people (to the minute, in UTC) and for machines (ISO 8601 to the second, for
    ``<time datetime>``); text that is no time stays as it is.

    >>> human_time("2026-12-07T17:25:10.123456+00:00")
    {'text': '7 Dec 2026, 17:25 UTC', 'iso': '2026-12-07T17:25:10Z'}
    >>> human_time("2025-08-29")
    {'text': '29 Aug 2025', 'iso': '2025-08-29'}
    >>> human_time("soon")
    {'text': 'soon', 'iso': 'soon'}
    """
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return {"text": text, "iso": text}
    if len(text) == 10:  # a date alone
        return {"text": f"{parsed.day} {parsed:%b %Y}", "iso": text}
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    moment = parsed.astimezone(UTC).replace(microsecond=0)
    return {
        "text": f"{moment.day} {moment:%b %Y, %H:%M} UTC",
        "iso": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _value(value: Node, description: EntityDescription, vocabulary: Vocabulary) -> dict[str, Any]:
    if isinstance(value, URIRef):
        iri = str(value)
        node = description.own if iri == description.iri else description.neighbours.get(iri)
        return {"link": True, **link(iri, node, vocabulary)}
    literal = value if isinstance(value, RdfLiteral) else None
    datatype = str(literal.datatype) if literal is not None and literal.datatype else None
    return {
        "link": False,
        "text": str(value),
        # A moment reads as one (the datatype says it is a time; the markup keeps it exact).
        "time": human_time(str(value)) if datatype == XSD_DATETIME else None,
        "value": json_value(value),
        "datatype": curie(str(literal.datatype))
        if literal is not None and literal.datatype
        else None,
        "language": literal.language if literal is not None else None,
    }


def _evidence(claim: ClaimInfo, item: EvidenceItem) -> dict[str, Any]:
    sentence = item.sentence
    if sentence is None and len(claim.quotes) == 1:
        sentence = claim.quotes[0]
    return {
        "source": item.source,
        "segment": item.segment,
        "sentence": sentence,
        "highlight": highlight(sentence, claim.surface_text) if sentence else None,
        "prefix": item.prefix,
        "suffix": item.suffix,
    }


Key = tuple[str, str, str]


def _statement_key(claim: ClaimInfo, iri: str) -> Key | None:
    """Which row of the page a claim supports: ``("out", predicate, value)`` for a statement
    of the entity, ``("in", predicate, subject)`` for one that links to it."""
    if claim.predicate is None or claim.subject is None or claim.object is None:
        return None
    if claim.subject == iri:
        return ("out", claim.predicate, claim.object.n3())
    if str(claim.object) == iri:
        return ("in", claim.predicate, claim.subject)
    return None


def _claim_view(
    claim: ClaimInfo, description: EntityDescription, vocabulary: Vocabulary
) -> dict[str, Any]:
    def ref(iri: str | None) -> dict[str, Any] | None:
        return link(iri, description.node(iri), vocabulary) if iri else None

    statement = None
    if claim.subject and claim.predicate and claim.object is not None:
        statement = {
            "subject": _value(URIRef(claim.subject), description, vocabulary),
            "predicate": claim.predicate,
            "predicate_label": property_label(claim.predicate, vocabulary),
            "object": _value(claim.object, description, vocabulary),
        }
    evidence = [_evidence(claim, e) for e in claim.evidence]
    for item in evidence:
        item["source"] = ref(item["source"])
    return {
        "iri": claim.iri,
        "label": claim.label or fallback_label(claim.iri),
        "statement": statement,
        "modality": ref(claim.modality),
        "confidence": ref(claim.confidence),
        "status": ref(claim.status),
        "attributed_to": [ref(a) for a in claim.attributed_to],
        "attribution_text": claim.attribution_text,
        "surface_text": claim.surface_text,
        "sources": [ref(s) for s in claim.sources],
        "evidence": evidence,
    }


def _support(claims: list[dict[str, Any]]) -> dict[str, Any]:
    """What a fold of claims says in its summary: how many claims, sources and sentences, and
    whether the curators flagged one."""
    sources = {item["source"]["id"] for c in claims for item in c["evidence"] if item["source"]} | {
        s["id"] for c in claims for s in c["sources"] if s
    }
    return {
        "claims": claims,
        "sources": len(sources),
        "sentences": sum(len(c["evidence"]) for c in claims),
        "flagged": any(c["status"] for c in claims),
    }


def entity_view(description: EntityDescription, vocabulary: Vocabulary) -> dict[str, Any]:
    """The page of an entity, as data (see ``service/templates/entity.html``): the properties
    and the links to it, each value once, with the claims that support it folded under it; the
    claims that support no row (not asserted, or about the entity without a statement) after."""
    own = description.own
    types = vocabulary.main_types(own.types)
    # Claims grouped by the row they support, in reading order; the same statement from two
    # sources (or two graphs) is one row with two claims, never two rows.
    supporting: dict[Key, list[dict[str, Any]]] = {}
    loose: list[dict[str, Any]] = []
    for claim in description.claims:
        key = _statement_key(claim, description.iri)
        view = _claim_view(claim, description, vocabulary)
        if key is not None:
            supporting.setdefault(key, []).append(view)
        else:
            loose.append(view)
    used: set[Key] = set()

    def entry(key: Key, value: dict[str, Any]) -> dict[str, Any]:
        claims = supporting.get(key)
        if claims:
            used.add(key)
            return {**value, "support": _support(claims)}
        return value

    properties: dict[str, dict[str, dict[str, Any]]] = {}
    for predicate, value in description.outgoing:
        if predicate in (CHANGED_BY, RDF_TYPE):
            continue  # the history below comes from the service's own records
        key = ("out", predicate, value.n3())
        properties.setdefault(predicate, {}).setdefault(
            key[2], entry(key, _value(value, description, vocabulary))
        )
    incoming: dict[str, dict[str, dict[str, Any]]] = {}
    claim_links = 0
    own_bookkeeping = is_claim_bookkeeping(description.iri)
    for predicate, other in description.incoming:
        if is_claim_bookkeeping(other) and not own_bookkeeping:
            claim_links += 1  # shown as the claims under each row instead
            continue
        key = ("in", predicate, other)
        incoming.setdefault(predicate, {}).setdefault(
            other, entry(key, _value(URIRef(other), description, vocabulary))
        )
    other_claims: list[dict[str, Any]] = []
    for key, claims in supporting.items():
        if key not in used:
            first = claims[0]
            other_claims.append(
                {
                    "statement": first["statement"],
                    "label": first["label"],
                    "support": _support(claims),
                }
            )
    seen_labels: dict[str, dict[str, Any]] = {}
    for claim_view in loose:
        group = seen_labels.get(claim_view["label"])
        if group is None:
            group = {"statement": None, "label": claim_view["label"], "claims": []}
            seen_labels[claim_view["label"]] = group
            other_claims.append(group)
        group["claims"].append(claim_view)
    for group in other_claims:
        if "claims" in group:
            group["support"] = _support(group.pop("claims"))
    description_text = None
    for predicate in DESCRIPTION_PROPERTIES:
        description_text = own.first_text(predicate)
        if description_text:
            break
    history: list[dict[str, Any]] = []
    for merge in description.history:
        ended = merge.values(PROV + "endedAtTime")
        history.append(
            {
                **link(merge.iri, merge, vocabulary),
                "time": human_time(str(ended[0])) if ended else None,
            }
        )

    def entry_key(value: dict[str, Any]) -> str:
        return str(value.get("label") or value.get("text") or "")

    def ordered(groups: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [
            {
                "iri": p,
                "name": term_name(p),
                "label": property_label(p, vocabulary),
                "entries": sorted(vs.values(), key=entry_key),
            }
            for p, vs in groups.items()
        ]
        return sorted(rows, key=lambda g: (g["iri"] == PROV + "wasDerivedFrom", g["label"]))

    return {
        "iri": description.iri,
        "kind": description.kind,
        "slug": description.slug,
        "title": own.label or fallback_label(description.iri),
        "types": [
            {"iri": t, "label": vocabulary.label(t), "main": t in types[:1]}
            for t in sorted(own.types, key=lambda t: (t not in types[:1], vocabulary.label(t)))
        ],
        "description": description_text,
        "quantity": quantity(own),
        "properties": ordered(properties),
        "incoming": ordered(incoming),
        "incoming_truncated": description.incoming_truncated,
        "incoming_claim_links": claim_links,
        "claim_count": len(description.claims),
        "other_claims": other_claims,
        "history": sorted(
            history, key=lambda h: h["time"]["iso"] if h["time"] else "", reverse=True
        ),
        "picture": neighbourhood(description, vocabulary),
        "version": description.version,
    }


def neighbourhood(description: EntityDescription, vocabulary: Vocabulary) -> dict[str, Any]:
    """The entity and its nearest neighbours for the picture: entities linked either way (not
    claims or evidence), at most ``PICTURE_MAX_NODES``, each with the properties that link it."""
    edges: dict[str, dict[str, Any]] = {}

    def add(iri: str, predicate: str, direction: str) -> None:
        if iri == description.iri:
            return
        kind = iri.split("/")[-2] if "/id/" in iri else ""
        if kind in PICTURE_HIDDEN_KINDS or predicate == CHANGED_BY:
            return
        entry = edges.setdefault(
            iri,
            {
                **link(iri, description.node(iri), vocabulary),
                "properties": [],
                "directions": set(),
            },
        )
        label = property_label(predicate, vocabulary)
        if label not in entry["properties"]:
            entry["properties"].append(label)
        entry["directions"].add(direction)

    for predicate, value in description.outgoing:
        if isinstance(value, URIRef) and predicate != RDF_TYPE:
            add(str(value), predicate, "out")
    for predicate, other in description.incoming:
        add(other, predicate, "in")
    # Sources last: every entity has some, and they say the least about it.
    nodes = sorted(
        edges.values(),
        key=lambda n: (n.get("kind") == "source", "out" not in n["directions"], n["label"]),
    )
    shown = nodes[:PICTURE_MAX_NODES]
    for node in shown:
        node["directions"] = sorted(node["directions"])
    return {
        "center": {
            "id": description.iri,
            "label": description.own.label or fallback_label(description.iri),
        },
        "nodes": shown,
        "hidden": len(nodes) - len(shown),
    }
