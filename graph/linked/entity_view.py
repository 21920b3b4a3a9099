"""What an entity's page shows, as plain data for a template: the same description as the JSON,
arranged for reading (labels for every property and type, values as links or text, the claims
with their sentences split around the words that state the value, the neighbourhood, the history).
"""

from __future__ import annotations

from dataclasses import dataclass
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
    json_value,
    link,
    quantity,
)
from ijkg.graph.linked.vocabulary import Vocabulary, curie, term_name

#: Kinds that are bookkeeping rather than things: left out of the neighbourhood picture.
PICTURE_HIDDEN_KINDS: Final = frozenset({"claim", "evidence", "selector", "list"})
PICTURE_MAX_NODES: Final = 12
CHANGED_BY: Final = IJKG + "changedBy"
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


def _value(value: Node, description: EntityDescription, vocabulary: Vocabulary) -> dict[str, Any]:
    if isinstance(value, URIRef):
        iri = str(value)
        node = description.own if iri == description.iri else description.neighbours.get(iri)
        return {"link": True, **link(iri, node, vocabulary)}
    literal = value if isinstance(value, RdfLiteral) else None
    return {
        "link": False,
        "text": str(value),
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


def entity_view(description: EntityDescription, vocabulary: Vocabulary) -> dict[str, Any]:
    """The page of an entity, as data (see ``service/templates/entity.html``)."""
    own = description.own
    types = vocabulary.main_types(own.types)
    properties: dict[str, list[dict[str, Any]]] = {}
    history: list[dict[str, Any]] = []
    for merge in description.history:
        ended = merge.values(PROV + "endedAtTime")
        history.append(
            {**link(merge.iri, merge, vocabulary), "time": str(ended[0]) if ended else None}
        )
    for predicate, value in description.outgoing:
        if predicate == CHANGED_BY:
            continue  # the history above, from the service's own records
        if predicate == RDF_TYPE:
            continue
        properties.setdefault(predicate, []).append(_value(value, description, vocabulary))
    incoming: dict[str, list[dict[str, Any]]] = {}
    for predicate, other in description.incoming:
        incoming.setdefault(predicate, []).append(_value(URIRef(other), description, vocabulary))
    description_text = None
    for predicate in DESCRIPTION_PROPERTIES:
        description_text = own.first_text(predicate)
        if description_text:
            break
    claims: list[dict[str, Any]] = []
    for claim in description.claims:
        statement = None
        if claim.subject and claim.predicate and claim.object is not None:
            statement = {
                "subject": _value(URIRef(claim.subject), description, vocabulary),
                "predicate": claim.predicate,
                "predicate_label": property_label(claim.predicate, vocabulary),
                "object": _value(claim.object, description, vocabulary),
            }
        claims.append(
            {
                "iri": claim.iri,
                "label": claim.label or fallback_label(claim.iri),
                "statement": statement,
                "modality": link(claim.modality, description.node(claim.modality), vocabulary)
                if claim.modality
                else None,
                "confidence": link(claim.confidence, description.node(claim.confidence), vocabulary)
                if claim.confidence
                else None,
                "status": link(claim.status, description.node(claim.status), vocabulary)
                if claim.status
                else None,
                "attributed_to": [
                    link(a, description.node(a), vocabulary) for a in claim.attributed_to
                ],
                "attribution_text": claim.attribution_text,
                "surface_text": claim.surface_text,
                "sources": [link(s, description.node(s), vocabulary) for s in claim.sources],
                "evidence": [_evidence(claim, e) for e in claim.evidence],
            }
        )
    for claim_view in claims:
        for item in claim_view["evidence"]:
            if item["source"]:
                item["source"] = link(item["source"], description.node(item["source"]), vocabulary)

    def entry_key(value: dict[str, Any]) -> str:
        return str(value.get("label") or value.get("text") or "")

    def ordered(groups: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [
            {
                "iri": p,
                "name": term_name(p),
                "label": property_label(p, vocabulary),
                "entries": sorted(vs, key=entry_key),
            }
            for p, vs in groups.items()
        ]
        return sorted(
            (row for row in rows),
            key=lambda g: (g["iri"] == PROV + "wasDerivedFrom", g["label"]),
        )

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
        "claims": claims,
        "history": sorted(history, key=lambda h: h["time"] or "", reverse=True),
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
