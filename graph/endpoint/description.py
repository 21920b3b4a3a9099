"""The SPARQL 1.1 Service Description of the query endpoint, and the limits it publishes.

``describe_service`` answers "what is this endpoint?" in RDF (SPARQL 1.1 Service Description): the
language, the result formats, the features (the default graph is the union of the named
graphs), the named graphs with their sizes, and the hard limits a query runs under, each in the
small vocabulary ``SERVICE_NS`` that the description itself defines. The same limits are offered as
plain data (``ServiceLimits.as_json``) for the OpenAPI document and the query page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

import pyoxigraph as ox

from ijkg.graph.core.formats import RDF_SYNTAXES, RESULTS_FORMATS, RdfSyntax
from ijkg.graph.core.namespaces import PREFIXES
from ijkg.graph.core.settings import Settings
from ijkg.graph.sparql.text import GRAPH_NAME_SCHEMES
from ijkg.graph.store.base import Store
from ijkg.graph.store.results import group_triples

SD: Final = "http://www.w3.org/ns/sparql-service-description#"
FORMATS: Final = "http://www.w3.org/ns/formats/"
VOID: Final = "http://rdfs.org/ns/void#"
ENTAILMENT: Final = "http://www.w3.org/ns/entailment/"
#: Terms for what SPARQL Service Description has no words for: the limits of a query.
SERVICE_NS: Final = "https://w3id.org/ijkg/service#"

RDF_TYPE = ox.NamedNode(PREFIXES["rdf"] + "type")
_RDFS = PREFIXES["rdfs"]
_XSD = PREFIXES["xsd"]
_DCTERMS = PREFIXES["dcterms"]

#: The W3C format IRIs (https://www.w3.org/ns/formats/) of each results format and RDF syntax.
FORMAT_IRIS: Final = {
    "application/sparql-results+json": FORMATS + "SPARQL_Results_JSON",
    "application/sparql-results+xml": FORMATS + "SPARQL_Results_XML",
    "text/csv": FORMATS + "SPARQL_Results_CSV",
    "text/tab-separated-values": FORMATS + "SPARQL_Results_TSV",
    "text/turtle": FORMATS + "Turtle",
    "application/n-triples": FORMATS + "N-Triples",
    "application/ld+json": FORMATS + "JSON-LD",
    "application/rdf+xml": FORMATS + "RDF_XML",
    "application/trig": FORMATS + "TriG",
    "application/n-quads": FORMATS + "N-Quads",
}

DATASET_POLICY: Final = (
    "The default graph is the union of all named graphs. FROM, FROM NAMED, default-graph-uri and "
    "named-graph-uri name graphs of this store and narrow the dataset; nothing is ever fetched "
    "from them, whatever host they name. Graph names must be "
    + "/".join(GRAPH_NAME_SCHEMES)
    + " IRIs; names in other schemes (file:, jar: ...) are refused with 400."
)
FEDERATION_OFF: Final = (
    "Federated query is switched off: SERVICE is refused with 400 and queries never reach the "
    "network."
)
FEDERATION_ON: Final = "Federated query is switched on: SERVICE calls other SPARQL endpoints."


@dataclass(frozen=True)
class ServiceLimits:
    """The hard limits every query runs under, as the service publishes them.

    >>> limits = ServiceLimits.from_settings(Settings(query_timeout_s=5, query_workers=4))
    >>> limits.query_timeout_s, limits.max_result_rows, limits.queries_per_client
    (5.0, 100000, 2)
    """

    query_timeout_s: float
    query_memory_mb: int
    max_result_rows: int
    max_result_bytes: int
    max_concurrent_queries: int
    query_workers: int
    max_query_bytes: int
    max_query_depth: int
    allow_federation: bool
    queries_per_client: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceLimits:
        return cls(
            query_timeout_s=settings.query_timeout_s,
            query_memory_mb=settings.query_memory_mb,
            max_result_rows=settings.max_result_rows,
            max_result_bytes=settings.max_result_bytes,
            max_concurrent_queries=settings.max_concurrent_queries,
            query_workers=settings.query_workers,
            max_query_bytes=settings.max_query_bytes,
            max_query_depth=settings.max_query_depth,
            allow_federation=settings.allow_federation,
            queries_per_client=settings.queries_per_client(),
        )

    def as_json(self) -> dict[str, float | int | bool]:
        return asdict(self)

    def as_text(self) -> list[str]:
        """One line per limit, for people (the OpenAPI document, the query page)."""
        return [
            f"time: {self.query_timeout_s:g} s per query, then it is stopped (503 with "
            "Retry-After) (IJKG_QUERY_TIMEOUT_S)",
            f"memory: {self.query_memory_mb} MiB per query beyond the store itself; past it the "
            "query is stopped (503) (IJKG_QUERY_MEMORY_MB)",
            f"rows: {self.max_result_rows:,} solutions or triples per answer; more is an error "
            "(422), never a truncated answer (IJKG_MAX_RESULT_ROWS)",
            f"bytes: {self.max_result_bytes:,} bytes per serialised answer; more is an error "
            "(422) (IJKG_MAX_RESULT_BYTES)",
            f"concurrency: {self.query_workers} queries run at once, "
            f"{self.max_concurrent_queries} may run or wait; more get 503 "
            "(IJKG_QUERY_WORKERS, IJKG_MAX_CONCURRENT_QUERIES)",
            f"per client: {self.queries_per_client} queries (or validations) running or waiting "
            "per client address; more get 429 (IJKG_MAX_QUERIES_PER_CLIENT)",
            f"query text: {self.max_query_bytes:,} bytes, brackets nested at most "
            f"{self.max_query_depth} deep, checked before parsing (413) "
            "(IJKG_MAX_QUERY_BYTES, IJKG_MAX_QUERY_DEPTH)",
            f"federation: {'on' if self.allow_federation else 'off'} (IJKG_ALLOW_FEDERATION)",
        ]


@dataclass(frozen=True)
class GraphSize:
    name: str
    triples: int


@dataclass(frozen=True)
class Contents:
    """The named graphs with their sizes, and the size of their union (the default graph)."""

    graphs: tuple[GraphSize, ...]
    union_triples: int


class GraphCatalogue:
    """The store's graphs and their sizes, recounted only when the store's version moves."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._contents = Contents((), 0)

    async def contents(self, store: Store) -> Contents:
        version = await store.version()
        if version != self._version:
            rows = await store.select(
                "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
                prefixes=False,
            )
            union = await store.select(
                "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }",
                prefixes=False,
            )
            graphs = sorted(
                (GraphSize(str(row["g"]), int(str(row["n"]))) for row in rows), key=lambda g: g.name
            )
            self._contents = Contents(tuple(graphs), int(str(union[0]["n"])))
            self._version = version
        return self._contents


# --- the description as RDF ------------------------------------------------------------------


def _iri(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


def _typed(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(_XSD + datatype))


_LIMIT_TERMS: Final = (
    # (local name, label, comment, xsd datatype)
    (
        "queryTimeout",
        "query time limit",
        "Seconds a query may run before it is stopped.",
        "decimal",
    ),
    (
        "queryMemory",
        "query memory limit",
        "Bytes a query may allocate beyond the store itself before it is stopped.",
        "integer",
    ),
    (
        "maxResultRows",
        "result row cap",
        "Most solutions or triples one answer may hold; past it the answer is an error, never "
        "truncated.",
        "integer",
    ),
    (
        "maxResultBytes",
        "result size cap",
        "Largest serialised answer in bytes; past it the answer is an error, never truncated.",
        "integer",
    ),
    (
        "maxConcurrentQueries",
        "concurrency cap",
        "Queries that may run or wait at once; more are refused with 503.",
        "integer",
    ),
    ("queryWorkers", "parallel queries", "Queries evaluated in parallel.", "integer"),
    ("maxQueryBytes", "query size limit", "Longest accepted query text in bytes.", "integer"),
    (
        "maxQueryDepth",
        "query nesting limit",
        "Deepest accepted nesting of brackets in a query.",
        "integer",
    ),
    (
        "federation",
        "federated query",
        "Whether SERVICE may call other endpoints.",
        "boolean",
    ),
)


def _limit_values(limits: ServiceLimits) -> dict[str, ox.Literal]:
    return {
        "queryTimeout": _typed(f"{limits.query_timeout_s:g}", "decimal"),
        "queryMemory": _typed(str(limits.query_memory_mb * 1024 * 1024), "integer"),
        "maxResultRows": _typed(str(limits.max_result_rows), "integer"),
        "maxResultBytes": _typed(str(limits.max_result_bytes), "integer"),
        "maxConcurrentQueries": _typed(str(limits.max_concurrent_queries), "integer"),
        "queryWorkers": _typed(str(limits.query_workers), "integer"),
        "maxQueryBytes": _typed(str(limits.max_query_bytes), "integer"),
        "maxQueryDepth": _typed(str(limits.max_query_depth), "integer"),
        "federation": _typed("true" if limits.allow_federation else "false", "boolean"),
    }


def description_triples(
    endpoint: str, limits: ServiceLimits, contents: Contents
) -> list[ox.Triple]:
    """The service description of ``endpoint`` as triples.

    >>> triples = description_triples(
    ...     "http://127.0.0.1:8000/sparql", ServiceLimits.from_settings(Settings()), Contents((), 0)
    ... )
    >>> ox.Triple(ox.NamedNode("http://127.0.0.1:8000/sparql"), ox.NamedNode(SD + "feature"),
    ...           ox.NamedNode(SD + "UnionDefaultGraph")) in triples
    True
    """
    service = _iri(endpoint)
    out: list[ox.Triple] = []

    def add(
        s: ox.NamedNode | ox.BlankNode, p: str, o: ox.NamedNode | ox.BlankNode | ox.Literal
    ) -> None:
        out.append(ox.Triple(s, _iri(p), o))

    add(service, RDF_TYPE.value, _iri(SD + "Service"))
    add(service, SD + "endpoint", service)
    add(
        service,
        _DCTERMS + "title",
        ox.Literal("ijkg — the India–Japan knowledge graph", language="en"),
    )
    add(service, SD + "supportedLanguage", _iri(SD + "SPARQL11Query"))
    for media_type in [f.media_type for f in RESULTS_FORMATS] + [
        s.media_type for s in RDF_SYNTAXES
    ]:
        if media_type in FORMAT_IRIS:  # the plain-text table has no W3C format IRI
            add(service, SD + "resultFormat", _iri(FORMAT_IRIS[media_type]))
    add(service, SD + "feature", _iri(SD + "UnionDefaultGraph"))
    if limits.allow_federation:
        add(service, SD + "feature", _iri(SD + "BasicFederatedQuery"))
    add(service, SD + "defaultEntailmentRegime", _iri(ENTAILMENT + "Simple"))
    add(service, _RDFS + "comment", ox.Literal(DATASET_POLICY, language="en"))
    add(
        service,
        _RDFS + "comment",
        ox.Literal(FEDERATION_ON if limits.allow_federation else FEDERATION_OFF, language="en"),
    )

    values = _limit_values(limits)
    for name, *_ in _LIMIT_TERMS:
        add(service, SERVICE_NS + name, values[name])

    dataset = ox.BlankNode()
    add(service, SD + "defaultDataset", dataset)
    add(dataset, RDF_TYPE.value, _iri(SD + "Dataset"))
    default_graph = ox.BlankNode()
    add(dataset, SD + "defaultGraph", default_graph)
    add(default_graph, RDF_TYPE.value, _iri(SD + "Graph"))
    add(
        default_graph,
        _RDFS + "comment",
        ox.Literal("The union of all the named graphs.", language="en"),
    )
    add(default_graph, VOID + "triples", _typed(str(contents.union_triples), "integer"))
    for graph in contents.graphs:
        named = ox.BlankNode()
        described = ox.BlankNode()
        add(dataset, SD + "namedGraph", named)
        add(named, RDF_TYPE.value, _iri(SD + "NamedGraph"))
        add(named, SD + "name", _iri(graph.name))
        add(named, SD + "graph", described)
        add(described, RDF_TYPE.value, _iri(SD + "Graph"))
        add(described, VOID + "triples", _typed(str(graph.triples), "integer"))
    # The limit terms define themselves, so the description can be read without a vocabulary.
    for name, label, comment, datatype in _LIMIT_TERMS:
        term = _iri(SERVICE_NS + name)
        add(term, RDF_TYPE.value, _iri(PREFIXES["rdf"] + "Property"))
        add(term, _RDFS + "label", ox.Literal(label, language="en"))
        add(term, _RDFS + "comment", ox.Literal(comment, language="en"))
        add(term, _RDFS + "domain", _iri(SD + "Service"))
        add(term, _RDFS + "range", _iri(_XSD + datatype))
    return out


_SD_PREFIXES: Final = {
    "sd": SD,
    "formats": FORMATS,
    "void": VOID,
    "ent": ENTAILMENT,
    "ijkgs": SERVICE_NS,
    "rdf": PREFIXES["rdf"],
    "rdfs": _RDFS,
    "xsd": _XSD,
    "dcterms": _DCTERMS,
}


def serialize_description(
    triples: list[ox.Triple], syntax: RdfSyntax, prefixes: dict[str, str] | None = None
) -> bytes:
    """A description in ``syntax``, with ``prefixes`` (the service description's by default)
    where the syntax has prefixes."""
    prefixed = syntax.oxigraph in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML)
    return (
        ox.serialize(
            group_triples(triples),
            format=syntax.oxigraph,
            prefixes=(prefixes or _SD_PREFIXES) if prefixed else None,
        )
        or b""
    )


async def describe_service(
    store: Store,
    catalogue: GraphCatalogue,
    *,
    endpoint: str,
    limits: ServiceLimits,
    syntax: RdfSyntax,
) -> bytes:
    """The service description of ``endpoint`` over ``store``, serialised in ``syntax``."""
    contents = await catalogue.contents(store)
    return serialize_description(description_triples(endpoint, limits, contents), syntax)
