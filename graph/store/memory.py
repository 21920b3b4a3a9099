"""The in-process store: plain pyoxigraph in the service's own process (``IJKG_STORE=memory``).

It is the embedded store without its processes: no engine, no change log, no forked workers. The
same code answers: queries, matches and update effects go through the query worker's own
``Worker.handle`` (formats, result caps, datasets, the union default graph, error kinds), and a
commit goes through the engine's rules (``union.exact_change``, ``Record.apply``), version-checked
and atomic. It serves the fast test tier (logic tests and in-process HTTP tests) and trying the
service out; nothing is written to disk, and the graph is gone when the process ends.

Limits it cannot honour, because only a process of its own can be stopped or capped:

- the time limit: pyoxigraph cannot cancel a running query, so a query runs to its end;
- the memory budget of one query (``RLIMIT_AS`` would cap the whole process);
- network isolation of queries (the endpoint still refuses ``SERVICE`` unless federation is on).

So hostile and limits tests run on the embedded and external stores only. Result caps (rows,
bytes) are honoured, and so is the number of concurrent queries: each request runs to its end on
the event loop, one at a time, which also makes every commit atomic for readers.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

import pyoxigraph as ox

from ijkg.graph.core.errors import (
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from ijkg.graph.core.formats import NTRIPLES, RESULTS_JSON, RdfSyntax, ResultsFormat
from ijkg.graph.core.settings import Settings
from ijkg.graph.store import union
from ijkg.graph.store.base import (
    Answer,
    Commit,
    Dataset,
    Delta,
    Patch,
    Pattern,
    QueryLimits,
    Store,
    StoreStats,
    VersionInfo,
)
from ijkg.graph.store.changelog import Record
from ijkg.graph.store.embedded import (
    effect_answer,
    effect_request,
    match_answer,
    match_request,
    query_answer,
    query_request,
)
from ijkg.graph.store.history import MemoryHistory, no_patch, not_in_history, stamped, version_info
from ijkg.graph.store.messages import MatchRequest, Message
from ijkg.graph.store.worker import Worker


class _Current:
    """The worker's view of the version: always the store's own (there is no log to replay)."""

    def __init__(self) -> None:
        self.version = 0

    def catch_up(self, store: ox.Store, min_version: int) -> int:
        return self.version


class MemoryStore(Store):
    """Oxigraph in this process, queried by the query worker's code without a worker process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = QueryLimits.from_settings(settings)
        self._store = ox.Store()
        self._current = _Current()
        self._history = MemoryHistory()
        self._worker = Worker(
            self._store, self._current, memory_budget=False, history=self._history
        )
        self._store_id = uuid.uuid4().hex[:12]
        self._union_triples = 0
        self._quads = 0
        self._closed = False

    @classmethod
    async def open(cls, settings: Settings) -> MemoryStore:
        """An empty store (the data directory is not used)."""
        return cls(settings)

    def _ask(self, request: Message, body: bytes = b"") -> tuple[Message, bytes]:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        return self._worker.handle(request, body)

    async def query(
        self,
        sparql: str,
        *,
        results: ResultsFormat | None = RESULTS_JSON,
        rdf: RdfSyntax | None = NTRIPLES,
        dataset: Dataset | None = None,
        base_iri: str | None = None,
        limits: QueryLimits | None = None,
        prefixes: bool = False,
        at_version: int | None = None,
    ) -> Answer:
        head = self._current.version
        if at_version is not None and not 0 <= at_version <= head:
            raise not_in_history(at_version, 0, head)
        request = query_request(
            sparql,
            results=results,
            rdf=rdf,
            dataset=dataset or Dataset(),
            base_iri=base_iri,
            limits=limits or self.limits,
            prefixes=prefixes,
            min_version=head,
            at_version=at_version,
        )
        return query_answer(*self._ask(request))

    async def update_effect(
        self,
        update: str,
        *,
        write_graph: str,
        max_quads: int,
        keep_graphs: Collection[str] = (),
        limits: QueryLimits | None = None,
        base_iri: str | None = None,
        using: Dataset | None = None,
    ) -> tuple[Delta, int]:
        request = effect_request(
            update,
            write_graph=write_graph,
            max_quads=max_quads,
            keep_graphs=keep_graphs,
            limits=limits or self.limits,
            base_iri=base_iri,
            using=using,
            min_version=self._current.version,
        )
        return effect_answer(*self._ask(request))

    async def match(self, patterns: Sequence[Pattern]) -> list[ox.Quad]:
        if not patterns:
            return []
        request = MatchRequest(self._current.version)
        return match_answer(*self._ask(request, match_request(patterns)))

    async def version(self) -> int:
        return self._current.version

    async def commit(
        self,
        delta: Delta,
        *,
        expected_version: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Commit:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        before = self._current.version
        if expected_version is not None and expected_version != before:
            raise VersionConflict(expected_version, before)
        try:
            removes, adds = union.exact_change(self._store, delta.removes, delta.adds)
        except union.DefaultGraphWrite as exc:
            raise StoreError(str(exc)) from None
        if not removes and not adds:
            return Commit(version_before=before, version_after=before, removed=0, added=0)
        after = before + 1
        quads = self._quads + len(adds) - len(removes)
        meta = stamped(meta, removed=len(removes), added=len(adds), quads=quads)
        record = Record(after, removes, adds, meta)
        self._union_triples += record.apply(self._store)
        self._history.kept.append(record)
        self._quads = quads
        self._current.version = after
        return Commit(
            version_before=before, version_after=after, removed=len(removes), added=len(adds)
        )

    async def version_range(self) -> tuple[int, int]:
        return 0, self._current.version

    async def history(self, *, after: int = 0, limit: int = 100) -> list[VersionInfo]:
        kept = self._history.kept[max(after, 0) : max(after, 0) + max(limit, 0)]
        return [version_info(record.version, record.meta) for record in kept]

    async def patch(self, version: int) -> Patch:
        head = self._current.version
        if not 0 < version <= head:
            raise no_patch(version, 0, head)
        record = self._history.kept[version - 1]
        return Patch(
            info=version_info(version, record.meta),
            removes=tuple(record.removes),
            adds=tuple(record.adds),
        )

    async def stats(self) -> StoreStats:
        return StoreStats(
            kind="memory",
            store_id=self._store_id,
            version=self._current.version,
            quads=self._quads,
            details={"in_process": True},
        )

    async def close(self) -> None:
        self._closed = True

    @property
    def store_id(self) -> str:
        return self._store_id
