"""``SparqlEndpoint``: what the SPARQL endpoint and the graph store protocol's reads ask of the
graph, for the facade (``KnowledgeGraph.sparql``)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from ijkg.graph.core.errors import (
    GraphNotFound,
    NotAcceptable,
    QueryAborted,
    QueryOverloaded,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    QueryTooLarge,
    ResultTooLarge,
    StoreError,
    VersionsUnsupported,
)
from ijkg.graph.core.formats import RdfSyntax, ResultsFormat
from ijkg.graph.core.settings import Settings
from ijkg.graph.endpoint.answer_cache import UNCACHED_FUNCTIONS, AnswerCache, Key
from ijkg.graph.endpoint.description import GraphCatalogue, ServiceLimits, describe_service
from ijkg.graph.endpoint.query import CheckedQuery, QueryPolicy, check_query, run_query
from ijkg.graph.endpoint.versions import serialize
from ijkg.graph.endpoint.void import stated, void_triples
from ijkg.graph.store.base import Answer, Dataset, Store

#: How a query ended, by the error it ended with (the first that matches); ``ok`` without one.
OUTCOMES: tuple[tuple[type[BaseException], str], ...] = (
    (QueryTimeout, "time_limit"),
    (asyncio.CancelledError, "client_gone"),
    (QueryAborted, "aborted"),
    (QueryOverloaded, "overloaded"),
    (ResultTooLarge, "too_large"),
    (QueryTooLarge, "refused"),
    (QueryRefused, "refused"),
    (QuerySyntaxError, "syntax_error"),
    (NotAcceptable, "not_acceptable"),
    (StoreError, "store_error"),
)
#: Checked queries kept for repeats (with the answer cache on): the longest text kept, and the
#: characters of all kept texts (a kept check, with its tokens, takes some 25 bytes a character).
KEPT_CHECK_CHARS = 4096
KEPT_CHECKS_CHARS = 256 * 1024
OUTCOME_NAMES: tuple[str, ...] = ("ok", *dict.fromkeys(n for _, n in OUTCOMES), "error")


@dataclass
class QueryCounters:
    """The endpoint's queries in this process: running now, and how each ended since start-up
    (``OUTCOME_NAMES``). Plain numbers, for whoever reports them."""

    running: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOME_NAMES, 0))

    def ended(self, error: BaseException | None) -> None:
        name = "ok"
        if error is not None:
            name = next((n for kind, n in OUTCOMES if isinstance(error, kind)), "error")
        self.outcomes[name] += 1


class SparqlEndpoint:
    """Queries with their limits, the service description, reads of named graphs."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._store = store
        #: The limits every query runs under, as the service publishes them.
        self.limits = ServiceLimits.from_settings(settings)
        self._policy = QueryPolicy.from_settings(settings)
        # The graphs and their sizes for the service description, recounted per graph version.
        self._catalogue = GraphCatalogue()
        self.counters = QueryCounters()
        # Answers of repeated queries, by graph version. Not on an external store: a version
        # read there is a round trip, and writes that bypass this service do not change it.
        cache_bytes = settings.query_cache_mb * 1024 * 1024 if settings.store != "sparql" else 0
        #: ``None`` when answers are not kept.
        self.cache = AnswerCache(cache_bytes) if cache_bytes else None
        # With the cache on, the check of a short repeated text is kept too: on a hit it was
        # the largest part of the endpoint's work (the policy is fixed, so is the outcome).
        self._checked: OrderedDict[str, CheckedQuery] = OrderedDict()
        self._checked_chars = 0

    def check(self, query: str) -> CheckedQuery:
        """``query`` checked against the policy (size, depth, federation, graph names): raises
        ``QueryTooLarge``, ``QueryRefused`` or ``QuerySyntaxError`` (a bad escape). Its
        ``volatile`` says whether its answer may change from one run to the next (``NOW()``,
        ``RAND()`` ...) although the graph did not."""
        kept = self._checked.get(query)
        if kept is not None:
            self._checked.move_to_end(query)
            return kept
        try:
            checked = check_query(query, self._policy)
        except Exception as exc:
            # A query refused before it runs ends here: counted with the others.
            self.counters.ended(exc)
            raise
        if self.cache is not None and len(query) <= KEPT_CHECK_CHARS:
            self._checked[query] = checked
            self._checked_chars += len(query)
            while self._checked_chars > KEPT_CHECKS_CHARS:
                self._checked_chars -= len(self._checked.popitem(last=False)[0])
        return checked

    async def query(
        self,
        query: str | CheckedQuery,
        *,
        results: ResultsFormat | None,
        rdf: RdfSyntax | None,
        dataset: Dataset | None = None,
        base_iri: str | None = None,
        at_version: int | None = None,
    ) -> Answer:
        """Run ``query`` (checked first unless ``check`` did it) under the limits; the answer
        serialised in ``results`` (SELECT/ASK) or ``rdf`` (CONSTRUCT/DESCRIBE). ``at_version``
        runs it on the graph as it was at that version (``VersionNotFound`` outside the range
        the store keeps), under the same limits."""
        checked = query if isinstance(query, CheckedQuery) else self.check(query)
        counters = self.counters
        cache = self.cache
        key = self._cache_key(checked, results, rdf, dataset, base_iri)
        if cache is not None and key is not None:
            # The version read is local (no round trip); a hit needs no query worker.
            # An answer at a fixed version never goes stale: it is kept under that version.
            current = await self._store.version() if at_version is None else at_version
            kept = cache.get((*key, at_version), current)
            if kept is not None:
                counters.ended(None)
                return kept
        counters.running += 1
        try:
            answer = await run_query(
                self._store,
                checked,
                results=results,
                rdf=rdf,
                dataset=dataset,
                base_iri=base_iri,
                at_version=at_version,
            )
        except BaseException as exc:
            counters.ended(exc)
            raise
        finally:
            counters.running -= 1
        counters.ended(None)
        if cache is not None and key is not None:
            cache.put((*key, at_version), _key_bytes(key), answer)
        return answer

    def _cache_key(
        self,
        checked: CheckedQuery,
        results: ResultsFormat | None,
        rdf: RdfSyntax | None,
        dataset: Dataset | None,
        base_iri: str | None,
    ) -> Key | None:
        """Everything that shapes the answer's bytes but the version, or ``None`` when the
        answer is not to be kept (no cache, a query that differs between runs, a store this
        process knows is down: its queries fail, and so must a repeated one)."""
        if self.cache is None or self._store.known_down() is not None:
            return None
        if not UNCACHED_FUNCTIONS.isdisjoint(checked.scan.keywords):
            return None
        return (
            checked.text,
            dataset,
            base_iri,
            (results.name, results.media_type) if results is not None else None,
            (rdf.name, rdf.media_type) if rdf is not None else None,
            # The limits the store runs it under: a cap may refuse what another lets through.
            self._store.limits,
        )

    async def description(self, *, endpoint: str, syntax: RdfSyntax) -> bytes:
        """The SPARQL 1.1 Service Description of the endpoint at ``endpoint`` in ``syntax``."""
        return await describe_service(
            self._store, self._catalogue, endpoint=endpoint, limits=self.limits, syntax=syntax
        )

    async def void(self, *, base: str, syntax: RdfSyntax) -> bytes:
        """The dataset description (VoID and DCAT) of the service at ``base`` in ``syntax``."""
        contents = await self._catalogue.contents(self._store)
        try:
            first: int | None
            first, head = await self._store.version_range()
        except VersionsUnsupported:
            first, head = None, await self._store.version()
        triples = void_triples(base, contents, await stated(self._store), first=first, head=head)
        return serialize(triples, syntax)

    async def read_graph(self, graph: str | None, syntax: RdfSyntax) -> Answer:
        """A named graph (``None``: the default graph, the union of all) in ``syntax``, for the
        graph store protocol's ``GET``; ``GraphNotFound`` when the store has no such graph."""
        if graph is not None and graph not in await self._store.graph_names():
            raise GraphNotFound(f"no graph <{graph}> in this store")
        dataset = Dataset() if graph is None else Dataset(default_graphs=(graph,), named_graphs=())
        return await self._store.query("CONSTRUCT WHERE { ?s ?p ?o }", rdf=syntax, dataset=dataset)


def _key_bytes(key: Key) -> int:
    """About what a key holds in memory: its strings (the query text, graph names, base IRI)."""
    text, dataset, base_iri = key[0], key[1], key[2]
    size = len(text) + len(base_iri or "")
    if dataset is not None:
        size += sum(map(len, (*(dataset.default_graphs or ()), *(dataset.named_graphs or ()))))
    return size
