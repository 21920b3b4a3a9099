"""``KnowledgeGraph``: the one object the service and the ``ijkg`` command talk to.

It is built once from settings (``await KnowledgeGraph.open(settings)``) and owns what the graph
layer keeps for the life of a process: the store, and three parts by concern — ``sparql`` (the
query endpoint), ``linked`` (linked-data reads and their caches) and ``curation`` (the gate, the
change workflow, the validation workers). Callers parse their input, call one method here and
shape the answer; everything below this module (``core``, ``sparql``, ``store``, ``endpoint``,
``curation``, ``linked``, ``io``) is the facade's business, and the service imports nothing of it
but the public types ``ijkg.graph`` re-exports.

Writes go through ``curation``, which checks the writer's permissions, takes the writers' lock and
retries when another write overtook it, once for every write path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pyoxigraph as ox

from ijkg.graph.core.bundle import bundle_version
from ijkg.graph.core.errors import StoreError
from ijkg.graph.core.settings import Settings
from ijkg.graph.curation.curation import Curation
from ijkg.graph.curation.gate import Gate
from ijkg.graph.curation.validation_pool import ValidationPool
from ijkg.graph.endpoint.endpoint import SparqlEndpoint
from ijkg.graph.endpoint.versions import Versions
from ijkg.graph.io import backup
from ijkg.graph.io.bootstrap import ensure_bundle
from ijkg.graph.io.feed import ChangeFeed
from ijkg.graph.linked.reader import LinkedData
from ijkg.graph.store import open_store, storage
from ijkg.graph.store import repair as repairing
from ijkg.graph.store.base import Commit, Store, StoreStats
from ijkg.graph.store.shared import SharedEngine, query_workers_each

log = logging.getLogger("ijkg")


@dataclass(frozen=True)
class GraphMetrics:
    """What this process's graph layer has counted since start-up, and its store's state now:
    plain numbers for the service's ``/metrics``. ``None`` where the store does not tell (an
    external store has no query workers of ours; a store that does not answer, no size)."""

    store_kind: str
    store_up: bool
    version: int | None
    quads: int | None
    #: Queries at ``/sparql``: running now, and how they ended (``ok``, ``time_limit`` ...).
    queries_running: int
    query_outcomes: dict[str, int]
    #: Queries waiting for a worker, and workers killed (by why) and replaced (embedded store).
    #: The answer cache: ``hit``, ``miss``, ``evicted`` since start-up and ``bytes`` held now;
    #: ``None`` when it is off.
    query_cache: dict[str, int] | None
    queries_queued: int | None
    queries_killed: dict[str, int] | None
    worker_restarts: int | None
    #: The write gate's verdicts (``conforms``, ``violation``) and the commits, by kind.
    gate_verdicts: dict[str, int]
    commits: dict[str, int]
    #: The validation workers (``workers``, ``idle``, ``starting``, ``replaced``), if any.
    validation: dict[str, int] | None


class KnowledgeGraph:
    """The graph layer behind one process: open with ``open``, close with ``close`` (or use
    ``async with``)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        gate: Gate,
        validation_pool: ValidationPool | None = None,
    ) -> None:
        self.settings = settings
        self._store = store
        self._store_id: str | None = None
        self._gate = gate
        #: Queries, the service description, reads of named graphs.
        self.sparql = SparqlEndpoint(settings, store)
        #: The graph's versions: their range, their list, the one in force at a moment.
        self.versions = Versions(store)
        #: Entities, lists, search and the vocabulary, for apps and pages.
        self.linked = LinkedData(settings, store)
        #: Every write: proposals and their workflow, updates, the graph store, validation.
        self.curation = Curation(settings, store, gate, validation_pool=validation_pool)
        #: The versions as a feed of changes: each one's patch, and dumps of the graph at one.
        self.feed = ChangeFeed(store)

    @classmethod
    async def open(
        cls, settings: Settings, *, load_bundle: bool = True, validation_workers: bool = False
    ) -> KnowledgeGraph:
        """Open the store the settings name; load the package's bundle into it when it holds an
        older one (or none); with ``validation_workers``, a pool of validation processes that
        the first ``POST /validate`` starts (the command line validates in its own process)."""
        store = await open_store(settings)
        try:
            if load_bundle:
                status = await ensure_bundle(store)
                if status.loaded:
                    log.info("loaded the bundled graph %s", status.version[:12])
            pool = None
            if validation_workers:
                pool = ValidationPool(settings)
            return cls(settings, store, gate=Gate(), validation_pool=pool)
        except BaseException:
            await store.close()
            raise

    async def close(self) -> None:
        try:
            await self.curation.close()
        finally:
            await self._store.close()

    async def __aenter__(self) -> KnowledgeGraph:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # --- the state of the graph --------------------------------------------------------------

    async def store_id(self) -> str:
        """The store's id (it keeps the entity tags of two stores apart); read once."""
        if self._store_id is None:
            self._store_id = (await self._store.stats()).store_id
        return self._store_id

    async def version(self) -> int:
        """The graph's current version."""
        return await self._store.version()

    async def stats(self) -> StoreStats:
        """The store's id, version, size and health, as of now."""
        return await self._store.stats()

    def known_down(self) -> str | None:
        """Why the store cannot answer, if this process knows it already (its engine exited),
        with no question to the store; ``None`` otherwise (``stats`` asks it)."""
        return self._store.known_down()

    def validation_stats(self) -> dict[str, int] | None:
        """The validation workers' state (running, idle, replaced ...); ``None`` when this process
        validates in-line (it started none)."""
        return self.curation.validation_stats()

    async def metrics(self) -> GraphMetrics:
        """The counters of this process's graph layer and its store's size and version now (one
        question to the store; a store that does not answer is reported down, not raised)."""
        try:
            stats: StoreStats | None = await self._store.stats()
        except StoreError:
            stats = None
        details = stats.details if stats is not None else {}
        queries = self.sparql.counters
        return GraphMetrics(
            store_kind=stats.kind if stats is not None else self.settings.store,
            store_up=stats is not None,
            version=stats.version if stats is not None else None,
            quads=stats.quads if stats is not None else None,
            queries_running=queries.running,
            query_outcomes=dict(queries.outcomes),
            query_cache=self._cache_metrics(),
            queries_queued=details.get("waiting_queries"),
            queries_killed=details.get("killed_queries"),
            worker_restarts=details.get("worker_restarts"),
            gate_verdicts=dict(self._gate.verdicts),
            commits=dict(self.curation.commits),
            validation=self.validation_stats(),
        )

    def _cache_metrics(self) -> dict[str, int] | None:
        cache = self.sparql.cache
        return None if cache is None else {**cache.counts, "bytes": cache.used_bytes}

    @staticmethod
    def bundle_version() -> str:
        """The version of the graph bundled with the package (a digest of its files)."""
        return bundle_version()

    # --- operations: backup, restore, snapshots (the command's) ----------------------------

    async def export(self, graphs: list[str] | None = None) -> bytes:
        """Every named graph (or the ones given) as N-Quads: a backup ``restore`` reads back."""
        return await backup.export(self._store, graphs)

    async def restore(self, quads: list[ox.Quad], *, force: bool = False) -> Commit:
        """Make the store hold exactly ``quads``, in one commit validated like any write (unless
        ``force``), then load the package's bundle if the backup holds an older one. Open the
        graph with ``load_bundle=False`` for it: a restore brings its own."""
        commit = await backup.restore(self._store, quads, self._gate, force=force)
        await ensure_bundle(self._store)
        return commit


# --- one embedded store for several service processes ------------------------------------------


@contextlib.contextmanager
def shared_store(settings: Settings, processes: int) -> Iterator[Settings]:
    """For ``processes`` service processes on one embedded store: start the engine they share
    (``store.shared``), load the bundle into it once, here, so that they do not race to, and
    give the settings each process opens its graph with (the engine's socket, its share of the
    query workers). The engine stops, writing its snapshot, when the block ends."""
    engine = SharedEngine.start(settings)
    try:
        each = settings.model_copy(
            update={
                "engine_socket": engine.socket_path,
                "query_workers": query_workers_each(settings, processes),
            }
        )
        asyncio.run(_load_bundle(each.model_copy(update={"query_workers": 1})))
        yield each
    finally:
        engine.close()


async def _load_bundle(settings: Settings) -> None:
    graph = await KnowledgeGraph.open(settings)
    await graph.close()


# --- operations on an embedded store's files, with no store open ------------------------------


def preflight(data_dir: Path, *, check_files: bool = True) -> None:
    """Check that this process could open the embedded store in ``data_dir`` (``StoreLocked``,
    ``StoreDamaged``, ``StorageFailed`` say why not); with ``check_files`` false, the files'
    checksums are not verified."""
    storage.preflight(data_dir, check_files=check_files)


def holds_store(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds an embedded store (a command that is not to make one asks)."""
    return storage.holds_store(data_dir)


def plan_repair(data_dir: Path) -> repairing.Repair:
    """What ``repair_store`` would do: the damage found and the version the readable files
    reach. Changes nothing."""
    return repairing.plan(data_dir)


def repair_store(data_dir: Path) -> repairing.Repair:
    """Rebuild a damaged embedded store from its last good snapshot and every readable record;
    the damaged files are moved aside, never deleted."""
    return repairing.repair(data_dir)
