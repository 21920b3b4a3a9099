"""Entities: what the graph says about one IRI, read in two round trips, in every shape clients use.

``describe(store, iri)`` reads

1. in parallel: every triple with the entity as subject or as object (incoming links capped at
   ``incoming_limit``), and the claims that reify a statement about it (``rdf:subject`` /
   ``rdf:object``) or are ``ijkg:about`` it, with their evidence and selectors;
2. then, for every resource those mention, its types, labels and the few facts a link needs
   (an amount's value and currency, a period's duration, a pillar's notation), by a direct lookup
   of their triples (``Store.match``).

From that one ``EntityDescription``: ``description_graph`` is the entity's RDF (its triples both
ways and its neighbours' types and labels: the Turtle, N-Triples, RDF/XML and JSON-LD forms all
serialise exactly this graph), and ``entity_json`` the plain JSON for apps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal
from urllib.parse import quote

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.term import Node

from ijkg.graph.core.curies import bind_document_prefixes
from ijkg.graph.core.errors import NotFound
from ijkg.graph.core.namespaces import CHANGES_GRAPH, GENID, ID_BASE, IJKG, PREFIXES
from ijkg.graph.core.terms import from_sparql_json, to_rdflib
from ijkg.graph.linked.jsonld import context_terms
from ijkg.graph.linked.vocabulary import Vocabulary, curie, local_name, term_name
from ijkg.graph.sparql.build import ENTITY_IRI_PATTERN, sparql_iri, sparql_string
from ijkg.graph.store.base import Store

RDF: Final = PREFIXES["rdf"]
RDFS: Final = PREFIXES["rdfs"]
SKOS: Final = PREFIXES["skos"]
XSD: Final = PREFIXES["xsd"]
PROV: Final = PREFIXES["prov"]
DCTERMS: Final = PREFIXES["dcterms"]
OA: Final = PREFIXES["oa"]
TIME: Final = PREFIXES["time"]

RDF_TYPE: Final = RDF + "type"
#: Where an entity's label comes from, best first.
LABEL_PROPERTIES: Final = (
    SKOS + "prefLabel",
    RDFS + "label",
    DCTERMS + "title",
    IJKG + "shortName",
    SKOS + "altLabel",
)
#: Where its description comes from, best first.
DESCRIPTION_PROPERTIES: Final = (
    SKOS + "definition",
    DCTERMS + "description",
    RDFS + "comment",
    SKOS + "scopeNote",
    SKOS + "editorialNote",
)
#: The facts read about every linked resource (what a link shows).
SUMMARY_PROPERTIES: Final = (
    RDF_TYPE,
    *LABEL_PROPERTIES,
    SKOS + "notation",
    IJKG + "numericValue",
    IJKG + "currency",
    IJKG + "unit",
    IJKG + "minExclusive",
    IJKG + "minInclusive",
    IJKG + "maxExclusive",
    IJKG + "maxInclusive",
    IJKG + "approximate",
    TIME + "hasXSDDuration",
    IJKG + "startDate",
    PROV + "endedAtTime",
    PROV + "wasAssociatedWith",
)
_SUMMARY_SET: Final = frozenset(SUMMARY_PROPERTIES)
#: The facts of a linked resource that go into its RDF description (types and labels).
GRAPH_SUMMARY_PROPERTIES: Final = (RDF_TYPE, SKOS + "prefLabel", RDFS + "label")
QUANTITY_PROPERTIES: Final = (
    "numericValue",
    "minExclusive",
    "minInclusive",
    "maxExclusive",
    "maxInclusive",
)
#: Blank nodes are left out of descriptions: the store's own, and those an external store has
#: skolemised into ``GENID`` IRIs (the shapes' lists and nested shapes).
_NOT_BLANK: Final = f"!isBLANK(?o) && !(isIRI(?o) && STRSTARTS(STR(?o), {sparql_string(GENID)}))"
INCOMING_LIMIT: Final = 2000
CLAIM_LIMIT: Final = 1000
#: The kinds of the claims' bookkeeping: a claim reifies a statement (``rdf:subject``,
#: ``rdf:object``, ``ijkg:about``), its evidence and selectors locate it in a source. Their links
#: to an entity repeat what its statements and their evidence already show, so the plain JSON
#: and the page leave them out of "incoming" unless asked (``include=claims``).
CLAIM_KINDS: Final = frozenset({"claim", "evidence", "selector"})

Direction = Literal["out", "in"]


# --- reading -------------------------------------------------------------------------------------


@dataclass
class Resource:
    """What the graph says about one resource, as predicate -> values."""

    iri: str
    facts: dict[str, list[Node]] = field(default_factory=dict)

    def values(self, predicate: str) -> list[Node]:
        return self.facts.get(predicate, [])

    def iris(self, predicate: str) -> list[str]:
        return sorted({str(v) for v in self.values(predicate) if isinstance(v, URIRef)})

    def first_text(self, predicate: str) -> str | None:
        return _best_text(self.values(predicate))

    @property
    def types(self) -> list[str]:
        return self.iris(RDF_TYPE)

    @property
    def label(self) -> str | None:
        for predicate in LABEL_PROPERTIES:
            text = self.first_text(predicate)
            if text is not None:
                return text
        return None


def _best_text(values: list[Node]) -> str | None:
    """English first, then untagged, then any; the smallest string among equals (deterministic)."""
    texts = [v for v in values if isinstance(v, RdfLiteral)]
    if not texts:
        return None
    ranked = sorted(texts, key=lambda v: (v.language not in ("en", None), v.language or "", str(v)))
    return str(ranked[0])


def fallback_label(iri: str) -> str:
    """A label for a resource that has none: its slug or local name, words spaced.

    >>> fallback_label("https://w3id.org/ijkg/id/pillar/economic-security")
    'economic security'
    """
    return local_name(iri).replace("-", " ").replace("_", " ")


@dataclass(frozen=True)
class EvidenceItem:
    """Where one source says what a claim states."""

    evidence: str
    source: str | None
    segment: str | None
    sentence: str | None  # the exact sentence (or the source's own wording)
    prefix: str | None
    suffix: str | None
    start: int | None


@dataclass(frozen=True)
class ClaimInfo:
    """A claim about the entity: the statement it reifies, how and where it is made."""

    iri: str
    label: str | None
    subject: str | None
    predicate: str | None
    object: Node | None
    modality: str | None
    confidence: str | None
    status: str | None
    attributed_to: tuple[str, ...]
    attribution_text: str | None
    surface_text: str | None
    quotes: tuple[str, ...]
    sources: tuple[str, ...]
    evidence: tuple[EvidenceItem, ...]
    about: tuple[str, ...]

    def states(self, subject: str, predicate: str, obj: Node) -> bool:
        return self.subject == subject and self.predicate == predicate and self.object == obj


@dataclass
class EntityDescription:
    """Everything the views of one entity need."""

    iri: str
    version: int
    outgoing: list[tuple[str, Node]]
    incoming: list[tuple[str, str]]
    incoming_truncated: bool
    claims: list[ClaimInfo]
    neighbours: dict[str, Resource]
    #: The merges that touched the entity, as the service's history records them (read from
    #: the changes graph alone, with their labels and times from there).
    history: list[Resource] = field(default_factory=list)

    @property
    def kind(self) -> str:
        match = ENTITY_IRI_PATTERN.fullmatch(self.iri)
        return match.group("kind") if match else ""

    @property
    def slug(self) -> str:
        match = ENTITY_IRI_PATTERN.fullmatch(self.iri)
        return match.group("slug") if match else ""

    @property
    def own(self) -> Resource:
        resource = Resource(self.iri)
        for predicate, value in self.outgoing:
            resource.facts.setdefault(predicate, []).append(value)
        return resource

    def node(self, iri: str) -> Resource:
        return self.neighbours.get(iri) or Resource(iri)

    def label_of(self, iri: str) -> str:
        if iri == self.iri:
            return self.own.label or fallback_label(iri)
        return self.node(iri).label or fallback_label(iri)


def _rows(body: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(body)["results"]["bindings"]
    return rows


async def _links(
    store: Store, iri: str, incoming_limit: int, at_version: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    entity = sparql_iri(iri)
    answer = await store.query(
        f"""SELECT ?dir ?p ?o WHERE {{
              {{ {entity} ?p ?o . FILTER({_NOT_BLANK}) BIND("out" AS ?dir) }}
              UNION
              {{ {{ SELECT ?p ?o WHERE {{ ?o ?p {entity} . FILTER(isIRI(?o) && {_NOT_BLANK}) }}
                   LIMIT {incoming_limit + 1} }}
                 BIND("in" AS ?dir) }}
            }}""",
        limits=store.internal_limits(),
        at_version=at_version,
    )
    return _rows(answer.body), answer.version


async def _claim_triples(
    store: Store, iri: str, at_version: int | None = None
) -> list[dict[str, Any]]:
    entity = sparql_iri(iri)
    answer = await store.query(
        f"""PREFIX rdf: <{RDF}> PREFIX ijkg: <{IJKG}> PREFIX oa: <{OA}>
            SELECT ?s ?p ?o WHERE {{
              {{ SELECT DISTINCT ?claim WHERE {{
                   {{ ?claim rdf:subject {entity} }} UNION {{ ?claim rdf:object {entity} }}
                   UNION {{ ?claim ijkg:about {entity} }}
                   ?claim a ijkg:Claim }} LIMIT {CLAIM_LIMIT} }}
              {{ ?claim ?p ?o BIND(?claim AS ?s) }}
              UNION {{ ?claim ijkg:evidence ?s . ?s ?p ?o }}
              UNION {{ ?claim ijkg:evidence ?evidence . ?evidence oa:hasSelector ?s . ?s ?p ?o }}
              FILTER({_NOT_BLANK})
            }}""",
        limits=store.internal_limits(),
        at_version=at_version,
    )
    return _rows(answer.body)


HISTORY_LIMIT: Final = 200


async def history(
    store: Store, iri: str, limit: int = HISTORY_LIMIT, at_version: int | None = None
) -> list[Resource]:
    """The merges that touched ``iri``, newest first, from the service's changes graph only:
    what other graphs say about a merge (or that an entity was changed by one) is not history."""
    entity = sparql_iri(iri)
    answer = await store.query(
        f"""PREFIX ijkg: <{IJKG}> PREFIX prov: <{PROV}>
            SELECT ?merge ?label ?ended WHERE {{ GRAPH <{CHANGES_GRAPH}> {{
              {entity} ijkg:changedBy ?merge . ?merge a ijkg:Merge .
              OPTIONAL {{ ?merge <{RDFS}label> ?label }}
              OPTIONAL {{ ?merge prov:endedAtTime ?ended }} }} }}
            ORDER BY DESC(?ended) LIMIT {int(limit)}""",
        limits=store.internal_limits(),
        at_version=at_version,
    )
    merges: dict[str, Resource] = {}
    for row in _rows(answer.body):
        merge = row["merge"]["value"]
        node = merges.setdefault(merge, Resource(merge, {RDF_TYPE: [URIRef(IJKG + "Merge")]}))
        for name, predicate in (("label", RDFS + "label"), ("ended", PROV + "endedAtTime")):
            if name in row:
                value = from_sparql_json(row[name])
                if value not in node.facts.setdefault(predicate, []):
                    node.facts[predicate].append(value)
    return list(merges.values())


async def _subject_triples(
    store: Store, iris: list[str], at_version: int | None
) -> list[tuple[str, str, Node]]:
    """Every triple whose subject is one of ``iris`` (IRIs objects and literals only), in any
    graph, with repeats: one direct lookup (``Store.match``) of the current graph, or a query
    of the graph at ``at_version`` (a lookup reads only the current graph)."""
    if at_version is None:
        quads = await store.match([(ox.NamedNode(i), None, None, None) for i in iris])
        return [
            (q.subject.value, q.predicate.value, to_rdflib(q.object))
            for q in quads
            if q.predicate.value in _SUMMARY_SET
            and isinstance(q.subject, ox.NamedNode)
            and isinstance(q.object, ox.NamedNode | ox.Literal)
        ]
    subjects = " ".join(sparql_iri(i) for i in iris)
    predicates = " ".join(sparql_iri(p) for p in sorted(_SUMMARY_SET))
    answer = await store.query(
        f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {subjects} }} VALUES ?p {{ {predicates} }} "
        "?s ?p ?o FILTER(!isBlank(?o)) }",
        limits=store.internal_limits(),
        at_version=at_version,
    )
    return [
        (row["s"]["value"], row["p"]["value"], from_sparql_json(row["o"]))
        for row in _rows(answer.body)
    ]


async def summaries(
    store: Store, iris: set[str], at_version: int | None = None
) -> dict[str, Resource]:
    """Types, labels and link facts (``SUMMARY_PROPERTIES``) of ``iris``: one direct lookup of
    their triples (in any graph: each triple once), no query to plan."""
    safe = sorted(i for i in iris if _safe(i))
    found: dict[str, Resource] = {i: Resource(i) for i in safe}
    if not safe:
        return found
    seen: set[tuple[str, str, Node]] = set()
    for subject, predicate, obj in await _subject_triples(store, safe, at_version):
        if predicate not in _SUMMARY_SET or (subject, predicate, obj) in seen:
            continue
        if isinstance(obj, URIRef) and str(obj).startswith(GENID):
            continue
        seen.add((subject, predicate, obj))
        node = found.get(subject)
        if node is not None:
            node.facts.setdefault(predicate, []).append(obj)
    for node in found.values():
        for values in node.facts.values():
            values.sort(key=str)
    return found


def _safe(iri: str) -> bool:
    try:
        sparql_iri(iri)
    except ValueError:
        return False
    return True


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def _claims(rows: list[dict[str, Any]]) -> list[ClaimInfo]:
    nodes: dict[str, Resource] = {}
    for row in rows:
        node = nodes.setdefault(row["s"]["value"], Resource(row["s"]["value"]))
        node.facts.setdefault(row["p"]["value"], []).append(from_sparql_json(row["o"]))
    claims = []
    for node in nodes.values():
        if IJKG + "Claim" not in node.types:
            continue
        evidence = []
        for ev_iri in node.iris(IJKG + "evidence"):
            ev = nodes.get(ev_iri, Resource(ev_iri))
            sentence = prefix = suffix = None
            start: int | None = None
            for sel_iri in ev.iris(OA + "hasSelector"):
                selector = nodes.get(sel_iri, Resource(sel_iri))
                if OA + "TextQuoteSelector" in selector.types:
                    sentence = selector.first_text(OA + "exact")
                    prefix = selector.first_text(OA + "prefix")
                    suffix = selector.first_text(OA + "suffix")
                if OA + "TextPositionSelector" in selector.types:
                    values = selector.values(OA + "start")
                    start = int(str(values[0])) if values else None
            sources = ev.iris(OA + "hasSource")
            evidence.append(
                EvidenceItem(
                    evidence=ev_iri,
                    source=sources[0] if sources else None,
                    segment=ev.first_text(IJKG + "segmentId"),
                    sentence=sentence,
                    prefix=prefix,
                    suffix=suffix,
                    start=start,
                )
            )
        objects = node.values(RDF + "object")
        claims.append(
            ClaimInfo(
                iri=node.iri,
                label=node.first_text(RDFS + "label"),
                subject=_first(node.iris(RDF + "subject")),
                predicate=_first(node.iris(RDF + "predicate")),
                object=objects[0] if objects else None,
                modality=_first(node.iris(IJKG + "modality")),
                confidence=_first(node.iris(IJKG + "confidence")),
                status=_first(node.iris(IJKG + "curationStatus")),
                attributed_to=tuple(node.iris(IJKG + "attributedTo")),
                attribution_text=node.first_text(IJKG + "attributionText"),
                surface_text=node.first_text(IJKG + "surfaceText"),
                quotes=tuple(sorted(str(q) for q in node.values(IJKG + "quote"))),
                sources=tuple(node.iris(PROV + "wasDerivedFrom")),
                evidence=tuple(sorted(evidence, key=lambda e: (e.start or 0, e.evidence))),
                about=tuple(node.iris(IJKG + "about")),
            )
        )
    return sorted(claims, key=_claim_order)


def _claim_order(claim: ClaimInfo) -> tuple[int, str]:
    starts = [e.start for e in claim.evidence if e.start is not None]
    return (min(starts) if starts else 1 << 30, claim.iri)


async def describe(
    store: Store,
    iri: str,
    *,
    incoming_limit: int = INCOMING_LIMIT,
    with_claims: bool = True,
    at_version: int | None = None,
) -> EntityDescription:
    """What the graph says about ``iri`` (``at_version``: as it was then); ``NotFound`` when
    it is in no triple."""
    if with_claims:
        # One query at a time, not three at once: each waiting query counts against
        # IJKG_MAX_CONCURRENT_QUERIES, so a fan-out of three would turn sixteen clients into
        # forty-eight queries and refuse some (503), and a service process has one or two
        # query workers to run them anyway.
        link_rows, version = await _links(store, iri, incoming_limit, at_version)
        claim_rows = await _claim_triples(store, iri, at_version)
        merges = await history(store, iri, at_version=at_version)
    else:
        link_rows, version = await _links(store, iri, incoming_limit, at_version)
        claim_rows, merges = [], []
    outgoing: list[tuple[str, Node]] = []
    incoming: list[tuple[str, str]] = []
    for row in link_rows:
        predicate = row["p"]["value"]
        if row["dir"]["value"] == "out":
            outgoing.append((predicate, from_sparql_json(row["o"])))
        else:
            incoming.append((predicate, row["o"]["value"]))
    if not outgoing and not incoming:
        raise NotFound(f"no entity <{iri}> in the graph")
    truncated = len(incoming) > incoming_limit
    incoming = incoming[:incoming_limit]
    claims = _claims(claim_rows)
    mentioned: set[str] = {str(v) for _, v in outgoing if isinstance(v, URIRef)}
    mentioned |= {s for _, s in incoming}
    for claim in claims:
        mentioned |= {
            i for i in (claim.subject, claim.modality, claim.confidence, claim.status) if i
        }
        mentioned |= set(claim.attributed_to) | set(claim.sources) | set(claim.about)
        mentioned |= {e.source for e in claim.evidence if e.source}
        if isinstance(claim.object, URIRef):
            mentioned.add(str(claim.object))
    mentioned.discard(iri)
    neighbours = await summaries(store, mentioned, at_version)
    # The currencies and units of linked amounts, for their labels.
    second = {
        v
        for node in neighbours.values()
        for p in (IJKG + "currency", IJKG + "unit")
        for v in node.iris(p)
    } - set(neighbours)
    if second:
        neighbours.update(await summaries(store, second, at_version))
    return EntityDescription(
        iri=iri,
        version=version,
        outgoing=sorted(outgoing, key=lambda pv: (pv[0], str(pv[1]))),
        incoming=sorted(incoming),
        incoming_truncated=truncated,
        claims=claims,
        neighbours=neighbours,
        history=merges,
    )


# --- RDF -----------------------------------------------------------------------------------------


def description_graph(description: EntityDescription) -> Graph:
    """The entity's RDF: its triples both ways, and its neighbours' types and labels."""
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    subject = URIRef(description.iri)
    for predicate, value in description.outgoing:
        graph.add((subject, URIRef(predicate), value))
    for predicate, other in description.incoming:
        graph.add((URIRef(other), URIRef(predicate), subject))
    linked = {str(v) for _, v in description.outgoing if isinstance(v, URIRef)}
    linked |= {s for _, s in description.incoming}
    for iri in sorted(linked):
        node = description.neighbours.get(iri)
        if node is None:
            continue
        for predicate in GRAPH_SUMMARY_PROPERTIES:
            for value in node.values(predicate):
                graph.add((URIRef(iri), URIRef(predicate), value))
    return graph


_RDFLIB_FORMATS: Final = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}


def serialize_description(description: EntityDescription, media_type: str) -> bytes:
    """The entity's RDF (``description_graph``) as Turtle, N-Triples or RDF/XML."""
    graph = bind_document_prefixes(description_graph(description))
    data = graph.serialize(format=_RDFLIB_FORMATS[media_type], encoding="utf-8")
    return bytes(data)


# --- plain JSON ----------------------------------------------------------------------------------

_INTEGER_TYPES: Final = frozenset(
    XSD + t
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedInt",
        "unsignedLong",
        "unsignedShort",
        "unsignedByte",
    )
)
_FLOAT_TYPES: Final = frozenset({XSD + "double", XSD + "float"})


def json_value(value: Node) -> Any:
    """A literal as the JSON value an app wants: numbers as numbers, booleans as booleans, dates
    and everything else as their ISO/lexical string.

    >>> from rdflib import Literal, URIRef
    >>> json_value(Literal("10000000000000", datatype=URIRef(XSD + "integer")))
    10000000000000
    >>> json_value(Literal("2.50", datatype=URIRef(XSD + "decimal")))
    2.5
    >>> json_value(Literal("2025-08-29", datatype=URIRef(XSD + "date")))
    '2025-08-29'
    >>> json_value(Literal("true", datatype=URIRef(XSD + "boolean")))
    True
    """
    if not isinstance(value, RdfLiteral):
        return str(value)
    text = str(value)
    datatype = str(value.datatype) if value.datatype is not None else None
    try:
        if datatype in _INTEGER_TYPES:
            return int(text)
        if datatype == XSD + "decimal":
            number = Decimal(text)
            return int(number) if number == number.to_integral_value() else float(number)
        if datatype in _FLOAT_TYPES:
            return float(text)
    except (ValueError, InvalidOperation):
        return text
    if datatype == XSD + "boolean":
        return text.strip() in ("true", "1")
    return text


def _kind_of(iri: str) -> str | None:
    match = ENTITY_IRI_PATTERN.fullmatch(iri)
    return match.group("kind") if match else None


def is_claim_bookkeeping(iri: str) -> bool:
    """Whether ``iri`` is a claim, an evidence or a selector (``CLAIM_KINDS``).

    >>> is_claim_bookkeeping(ID_BASE + "claim/s10-health")
    True
    >>> is_claim_bookkeeping(ID_BASE + "state/japan")
    False
    """
    return _kind_of(iri) in CLAIM_KINDS


def quantity(node: Resource, vocabulary: Vocabulary | None = None) -> dict[str, Any] | None:
    """An amount's figures: value or bounds, currency (ISO code) or unit, approximate."""
    out: dict[str, Any] = {}
    for name in QUANTITY_PROPERTIES:
        values = node.values(IJKG + name)
        if values:
            out["value" if name == "numericValue" else name] = json_value(values[0])
    if not out:
        return None
    currencies = node.iris(IJKG + "currency")
    units = node.iris(IJKG + "unit")
    if currencies:
        out["currency"] = local_name(currencies[0])
    if units:
        out["unit"] = local_name(units[0])
    approximate = node.values(IJKG + "approximate")
    out["approximate"] = bool(approximate and json_value(approximate[0]) is True)
    return out


def link(iri: str, node: Resource | None, vocabulary: Vocabulary) -> dict[str, Any]:
    """A linked resource as ``{id, label, type}`` (``kind`` for entities; an amount's figures)."""
    node = node or Resource(iri)
    types = vocabulary.main_types(node.types)
    out: dict[str, Any] = {
        "id": iri,
        "label": node.label or fallback_label(iri),
        "type": term_name(types[0]) if types else None,
    }
    kind = _kind_of(iri)
    if kind:
        out["kind"] = kind
    figures = quantity(node)
    if figures:
        out["quantity"] = figures
    notation = node.first_text(SKOS + "notation")
    if notation is not None:
        out["notation"] = notation
    return out


def property_key(predicate: str) -> str:
    """The key of a property in plain JSON: the term the JSON-LD context gives it.

    >>> property_key(IJKG + "coversPillar"), property_key(PROV + "wasDerivedFrom")
    ('coversPillar', 'wasDerivedFrom')
    >>> property_key("http://example.org/p")
    'http://example.org/p'
    """
    return context_terms().get(predicate) or curie(predicate)


def entity_json(
    description: EntityDescription,
    vocabulary: Vocabulary,
    *,
    base_url: str = "",
    include_evidence: bool = False,
    include_claims: bool = False,
) -> dict[str, Any]:
    """The plain JSON of an entity (see ``EntityJson`` in the service for its schema): links
    from claims, evidence and selectors are left out of ``incoming`` (and counted in
    ``incomingClaimLinks``) unless ``include_claims`` or the entity is one of those itself."""
    own = description.own
    types = vocabulary.main_types(own.types)
    properties: dict[str, list[Any]] = {}
    for predicate, value in description.outgoing:
        key = property_key(predicate)
        if predicate == RDF_TYPE:
            continue
        if isinstance(value, URIRef):
            item: Any = link(str(value), description.neighbours.get(str(value)), vocabulary)
        else:
            item = json_value(value)
        properties.setdefault(key, []).append(item)
    incoming: dict[str, list[dict[str, Any]]] = {}
    left_out = 0
    # A claim, evidence or selector keeps its own links: they are what it is made of.
    include_claims = include_claims or is_claim_bookkeeping(description.iri)
    for predicate, other in description.incoming:
        if not include_claims and is_claim_bookkeeping(other):
            left_out += 1
            continue
        incoming.setdefault(property_key(predicate), []).append(
            link(other, description.neighbours.get(other), vocabulary)
        )
    description_text = None
    for predicate in DESCRIPTION_PROPERTIES:
        description_text = own.first_text(predicate)
        if description_text:
            break
    path = f"{base_url}/id/{description.kind}/{description.slug}"
    out: dict[str, Any] = {
        "id": description.iri,
        "kind": description.kind,
        "type": term_name(types[0]) if types else None,
        "types": [
            {"id": t, "name": term_name(t), "label": vocabulary.label(t)} for t in sorted(own.types)
        ],
        "label": own.label or fallback_label(description.iri),
        "description": description_text,
        "properties": properties,
        "incoming": incoming,
        "incomingTruncated": description.incoming_truncated,
        "incomingClaimLinks": left_out,
        "links": {
            "html": f"{path}?format=html",
            "json": f"{path}?format=json",
            "jsonld": f"{path}?format=jsonld",
            "turtle": f"{path}?format=turtle",
            "ntriples": f"{path}?format=ntriples",
            "rdfxml": f"{path}?format=rdfxml",
            "changes": f"{base_url}/changes?touching={quote(description.iri, safe='')}",
        },
        "version": description.version,
    }
    figures = quantity(own)
    if figures:
        out["quantity"] = figures
    if include_evidence:
        out["statements"] = statements_json(description, vocabulary)
        out["claimsAbout"] = [
            claim_json(c, description, vocabulary)
            for c in description.claims
            if description.iri in c.about and c.predicate is None
        ]
    return out


def _value_json(value: Node | None, description: EntityDescription, vocabulary: Vocabulary) -> Any:
    if value is None:
        return None
    if isinstance(value, URIRef):
        iri = str(value)
        node = None if iri == description.iri else description.neighbours.get(iri)
        if iri == description.iri:
            node = description.own
        return link(iri, node, vocabulary)
    return json_value(value)


def claim_json(
    claim: ClaimInfo, description: EntityDescription, vocabulary: Vocabulary
) -> dict[str, Any]:
    """A claim as evidence: the source, the exact sentence and how the claim is qualified."""

    def ref(iri: str | None) -> dict[str, Any] | None:
        if iri is None:
            return None
        return link(iri, description.neighbours.get(iri), vocabulary)

    evidence = []
    for item in claim.evidence:
        sentence = item.sentence
        if sentence is None and len(claim.quotes) == 1:
            sentence = claim.quotes[0]
        evidence.append(
            {
                "source": ref(item.source),
                "sentence": sentence,
                "segment": item.segment,
                "prefix": item.prefix,
                "suffix": item.suffix,
                "offset": item.start,
            }
        )
    return {
        "claim": claim.iri,
        "label": claim.label,
        "modality": ref(claim.modality),
        "confidence": ref(claim.confidence),
        "curationStatus": ref(claim.status),
        "attributedTo": [ref(a) for a in claim.attributed_to],
        "attributionText": claim.attribution_text,
        "surfaceText": claim.surface_text,
        "quotes": list(claim.quotes),
        "sources": [ref(s) for s in claim.sources],
        "evidence": evidence,
    }


def statements_json(description: EntityDescription, vocabulary: Vocabulary) -> list[dict[str, Any]]:
    """For each statement about the entity that a claim reifies: the statement, whether the graph
    asserts it, and its evidence (source, exact sentence), from every claim that states it."""
    asserted_out = {(p, v) for p, v in description.outgoing}
    asserted_in = {(p, s) for p, s in description.incoming}
    grouped: dict[tuple[str, str, str, str], list[ClaimInfo]] = {}
    order: list[tuple[str, str, str, str]] = []
    for claim in description.claims:
        if claim.predicate is None or claim.subject is None or claim.object is None:
            continue
        if claim.subject == description.iri:
            key = ("out", claim.predicate, claim.object.n3(), claim.subject)
        elif str(claim.object) == description.iri:
            key = ("in", claim.predicate, claim.subject, claim.subject)
        else:
            continue
        if key not in grouped:
            order.append(key)
        grouped.setdefault(key, []).append(claim)
    out = []
    for key in order:
        claims = grouped[key]
        first = claims[0]
        direction = key[0]
        assert first.predicate is not None and first.subject is not None  # noqa: S101
        if direction == "out":
            value = _value_json(first.object, description, vocabulary)
            asserted = (first.predicate, first.object) in asserted_out
        else:
            value = _value_json(URIRef(first.subject), description, vocabulary)
            asserted = (first.predicate, first.subject) in asserted_in
        out.append(
            {
                "property": property_key(first.predicate),
                "propertyIri": first.predicate,
                "direction": direction,
                "value": value,
                "asserted": asserted,
                "claims": [claim_json(c, description, vocabulary) for c in claims],
            }
        )
    return out


def is_entity(iri: str) -> bool:
    """Whether ``iri`` is an entity IRI of this graph (``/id/{kind}/{slug}``)."""
    return iri.startswith(ID_BASE) and _kind_of(iri) is not None
