"""Running a researcher's SPARQL query: checks at the boundary, then the store.

Every query passes through ``run_query``: the text is size- and nesting-checked before any parser
sees it, escapes are decoded the way SPARQL does, and anything that would reach the network or
the file system (``SERVICE``, ``LOAD``, ``FROM <file:...>``) is refused unless federation is on.
"""

from __future__ import annotations

from dataclasses import dataclass

from ijkg.graph.errors import QueryRefused
from ijkg.graph.formats import RdfSyntax, ResultsFormat
from ijkg.graph.settings import Settings
from ijkg.graph.sparql_text import check_limits
from ijkg.graph.store.base import Answer, Dataset, QueryLimits, Store

_ALLOWED_GRAPH_SCHEMES = ("http:", "https:", "urn:")


@dataclass(frozen=True)
class QueryPolicy:
    """What a query may do, from settings."""

    max_query_bytes: int
    max_query_depth: int
    allow_federation: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryPolicy:
        return cls(settings.max_query_bytes, settings.max_query_depth)


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
        if role.startswith("FROM") and not iri.lower().startswith(_ALLOWED_GRAPH_SCHEMES):
            raise QueryRefused(
                f"{role} <{iri}> is refused: FROM names a graph of this store and is never fetched"
            )
    return decoded


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
    """Check and run one query; see ``Store.query`` for the errors."""
    checked = check_query(text, policy)
    return await store.query(
        checked, results=results, rdf=rdf, dataset=dataset, limits=limits, base_iri=base_iri
    )
