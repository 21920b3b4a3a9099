"""Running a researcher's SPARQL query: checks at the boundary, then the store.

Every query passes through ``run_query``: the text is size- and nesting-checked before any parser
sees it, escapes are decoded the way SPARQL does, and anything that would reach the network or
the file system (``SERVICE``, ``LOAD``, ``FROM <file:...>``) is refused unless federation is on.

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
from ijkg.graph.sparql.text import (
    check_graph_name,
    check_limits,
    decode_escapes,
    scan,
)
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


def check_query(text: str, policy: QueryPolicy) -> str:
    """Return the escape-decoded query text, or raise ``QueryTooLarge``/``QueryRefused``."""
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
    return decoded


def names_dataset(text: str) -> bool:
    """Whether the (escape-decoded) query names its dataset with ``FROM`` or ``FROM NAMED``.

    >>> names_dataset("SELECT * FROM <http://g/a> { ?s ?p ?o }"), names_dataset("SELECT * {}")
    (True, False)
    """
    return any(role.startswith("FROM") for role, _ in scan(text).graph_iris)


#: Functions whose value changes from one evaluation to the next on the same graph.
VOLATILE_FUNCTIONS = frozenset({"RAND", "NOW", "UUID", "STRUUID"})


def is_volatile(text: str) -> bool:
    """Whether two runs of the query on the same graph may give different answers.

    >>> is_volatile("SELECT (NOW() AS ?t) {}"), is_volatile("SELECT ?now { ?now ?p ?o }")
    (True, False)
    """
    try:
        decoded = decode_escapes(text)
    except QuerySyntaxError:
        return False  # not a query at all: running it says why
    return not VOLATILE_FUNCTIONS.isdisjoint(scan(decoded).keywords)


async def run_query(
    store: Store,
    text: str,
    *,
    policy: QueryPolicy,
    results: ResultsFormat | None,
    rdf: RdfSyntax | None,
    dataset: Dataset | None = None,
    limits: QueryLimits | None = None,
    base_iri: str | None = None,
) -> Answer:
    """Check and run one query; see ``Store.query`` for the errors. A syntax error comes back
    explained (``ijkg.graph.sparql.syntax_help``): where, what was expected, and a hint."""
    checked = check_query(text, policy)
    if dataset is not None:
        check_dataset(dataset)
    if (dataset is None or dataset.is_union) and names_dataset(checked):
        dataset = Dataset(from_query=True)
    try:
        return await store.query(
            checked, results=results, rdf=rdf, dataset=dataset, limits=limits, base_iri=base_iri
        )
    except QuerySyntaxError as exc:
        raise explain(checked, exc) from None
