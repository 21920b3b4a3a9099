"""Running a researcher's SPARQL query: checks at the boundary, then the store.

Every query passes through ``check_query`` before ``run_query``: the text is size- and
nesting-checked before any parser sees it, escapes are decoded the way SPARQL does, and anything
that would reach the network or the file system (``SERVICE``, ``LOAD``, ``FROM <file:...>``) is
refused unless federation is on. The check's one lexical pass is kept with the text
(``CheckedQuery``) and answers every later question about it (volatile? names its dataset?).

Graph names (``FROM``, ``FROM NAMED``, and the protocol's ``default-graph-uri`` and
``named-graph-uri``) only ever name graphs of this store: nothing is fetched from them, whatever
host they name, loopback included. Names in schemes that point at local resources (``file:``,
``jar:`` ...) are refused outright, so nobody mistakes them for a way to read a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ijkg.graph.core.errors import QueryRefused, QuerySyntaxError
from ijkg.graph.core.formats import RdfSyntax, ResultsFormat
from ijkg.graph.core.settings import Settings
from ijkg.graph.sparql.syntax_help import explain
from ijkg.graph.sparql.text import Scan, check_graph_name, check_limits
from ijkg.graph.store.base import Answer, Dataset, QueryLimits, Store


@dataclass(frozen=True)
class QueryPolicy:
    """What a query may do, from settings."""

    max_query_bytes: int
    max_query_depth: int
    allow_federation: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryPolicy:
        return cls(
            settings.max_query_bytes,
            settings.max_query_depth,
            allow_federation=settings.allow_federation,
        )


def check_dataset(dataset: Dataset) -> None:
    """Refuse protocol dataset graph names as ``check_graph_name`` does."""
    for iri in dataset.default_graphs or ():
        check_graph_name(iri, "default-graph-uri")
    for iri in dataset.named_graphs or ():
        check_graph_name(iri, "named-graph-uri")


#: Functions whose value changes from one evaluation to the next on the same graph.
VOLATILE_FUNCTIONS = frozenset({"RAND", "NOW", "UUID", "STRUUID"})


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed ``check_query``: its escape-decoded text and the one lexical pass
    (``Scan``) every later question about it reads, so the text is tokenised once."""

    text: str
    scan: Scan

    @property
    def volatile(self) -> bool:
        """Whether two runs of the query on the same graph may give different answers.

        >>> policy = QueryPolicy(10_000, 50)
        >>> check_query("SELECT (NOW() AS ?t) {}", policy).volatile
        True
        >>> check_query("SELECT ?now { ?now ?p ?o }", policy).volatile
        False
        """
        return not VOLATILE_FUNCTIONS.isdisjoint(self.scan.keywords)

    @property
    def names_dataset(self) -> bool:
        """Whether the query names its dataset with ``FROM`` or ``FROM NAMED``.

        >>> policy = QueryPolicy(10_000, 50)
        >>> check_query("SELECT * FROM <http://g/a> { ?s ?p ?o }", policy).names_dataset
        True
        >>> check_query("SELECT * {}", policy).names_dataset
        False
        """
        return any(role.startswith("FROM") for role, _ in self.scan.graph_iris)


def check_query(text: str, policy: QueryPolicy) -> CheckedQuery:
    """The escape-decoded query and its scan, or ``QueryTooLarge``/``QueryRefused``."""
    decoded, scan = check_limits(
        text, max_bytes=policy.max_query_bytes, max_depth=policy.max_query_depth
    )
    if "SERVICE" in scan.keywords and not policy.allow_federation:
        raise QueryRefused(
            "SERVICE (federated query) is switched off on this service: queries never reach "
            "other endpoints"
        )
    if "LOAD" in scan.keywords:
        raise QueryRefused("LOAD is refused: this service never fetches data from the web or disk")
    for role, iri in scan.graph_iris:
        if role.startswith("FROM"):
            check_graph_name(iri, role, relative=True)
    return CheckedQuery(decoded, scan)


async def run_query(
    store: Store,
    query: CheckedQuery,
    *,
    results: ResultsFormat | None,
    rdf: RdfSyntax | None,
    dataset: Dataset | None = None,
    limits: QueryLimits | None = None,
    base_iri: str | None = None,
    at_version: int | None = None,
) -> Answer:
    """Run one checked query (``at_version``: on the graph as it was then); see
    ``Store.query`` for the errors. A syntax error comes back explained
    (``ijkg.graph.sparql.syntax_help``): where, what was expected, and a hint."""
    if dataset is not None:
        check_dataset(dataset)
    if (dataset is None or dataset.is_union) and query.names_dataset:
        dataset = Dataset(from_query=True)
    try:
        return await store.query(
            query.text,
            results=results,
            rdf=rdf,
            dataset=dataset,
            limits=limits,
            base_iri=base_iri,
            at_version=at_version,
        )
    except QuerySyntaxError as exc:
        raise explain(query.text, exc) from None
