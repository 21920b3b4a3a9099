"""The embedded store, seen from the service: an engine process and a pool of query workers.

``EmbeddedStore.open(settings)`` starts the engine (``ijkg.graph.store.engine``) on the data
directory, waits until it has recovered the store, and asks it for ``query_workers`` workers. The
workers connect back to a private Unix socket; each query borrows one, and a query past its time
limit has its worker killed (the only way to stop a pyoxigraph query) and replaced.

Several service processes share one engine (``ijkg serve --workers N``, see ``shared``): then
``settings.engine_socket`` names the engine's control socket, and the store connects to it instead
of starting an engine. Each process still has its own workers (the engine forks them to connect to
that process's socket); the graph's version is the one the engine publishes, so a query in one
process sees every commit acknowledged in another, and the running queries of all the processes
count against one ``max_concurrent_queries`` (slot files beside the socket, ``SharedSlots``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ijkg.graph.core.errors import (
    QueryAborted,
    QueryOverloaded,
    QueryTimeout,
    StoreError,
    StoreUnavailable,
)
from ijkg.graph.core.formats import NTRIPLES, RESULTS_JSON, RdfSyntax, ResultsFormat
from ijkg.graph.core.rdfio import read_nquads, write_nquads
from ijkg.graph.core.settings import Settings
from ijkg.graph.store import wire
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
from ijkg.graph.store.engine import VERSION, VERSION_FILE
from ijkg.graph.store.history import LogIndex, not_in_history, version_info
from ijkg.graph.store.messages import (
    CommitRequest,
    Committed,
    EffectReply,
    EffectRequest,
    EngineStats,
    ErrorReply,
    MatchReply,
    MatchRequest,
    Message,
    ProtocolError,
    QueryReply,
    QueryRequest,
    SnapshotRequest,
    Spawned,
    SpawnRequest,
    StatsRequest,
    VersionReply,
    WorkerHello,
    expect,
)
from ijkg.graph.store.sandbox import die_with_parent
from ijkg.graph.store.slots import SharedSlots
from ijkg.graph.store.storage import storage_error
from ijkg.graph.store.worker import encode_patterns

log = logging.getLogger("ijkg.store")

_ENGINE_START_TIMEOUT_S = 600.0  # recovery of a large store may take a while; it says when done
#: Patterns per match request (see ``EmbeddedStore.match``).
MATCH_CHUNK = 5000
_ACCEPT_RETRY_S = 1.0  # after the process ran out of file descriptors, accept again this late

#: The control sockets of the shared engines this process started (``shared.SharedEngine``).
STARTED_HERE: set[str] = set()

#: What the engine and a query worker may answer.
_CONTROL_REPLIES = (Committed, Spawned, EngineStats, ErrorReply)
WORKER_REPLIES = (QueryReply, MatchReply, EffectReply, VersionReply, ErrorReply)


@dataclass(eq=False)
class _Worker:
    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    isolated: bool = False  # in a network namespace of its own (see ``sandbox``)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.writer.close()


class EmbeddedStore(Store):
    """Oxigraph in memory, made durable by a change log, queried by killable worker processes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = QueryLimits.from_settings(settings)
        self._engine: asyncio.subprocess.Process | None = None
        # The engine's control channel: its stdin/stdout, or a connection to a shared engine.
        self._control_out: asyncio.StreamWriter | None = None
        self._control_in: asyncio.StreamReader | None = None
        self._control = asyncio.Lock()
        # Of a shared engine: the version file it publishes, and the queries of every process.
        self._version_fd: int | None = None
        self._slots: SharedSlots | None = None
        self._socket_dir = tempfile.mkdtemp(prefix="ijkg-")
        self._socket_path = os.path.join(self._socket_dir, "workers.sock")
        # The workers' socket is served by hand, not by ``asyncio.start_unix_server``: closing an
        # asyncio server while a connection is being accepted leaves that connection's transport
        # half made and never closed (CPython gh-109564), and a replacement worker may connect
        # at any moment, the store's close included.
        self._listener: socket.socket | None = None
        self._accepting: set[asyncio.Task[None]] = set()
        self._idle: deque[_Worker] = deque()
        self._waiters: deque[asyncio.Future[_Worker]] = deque()
        self._busy = 0
        self._workers: set[_Worker] = set()
        self._connections: set[asyncio.StreamWriter] = set()
        self._version = 0
        self._store_id = ""
        self._closed = False
        # The change log by version, for the history (built on first use, grows with the log).
        self._history = LogIndex(settings.data_dir)
        self._spawning: set[asyncio.Task[None]] = set()
        self.recovery: dict[str, Any] = {}
        #: Query workers killed, by why (read by the service's metrics through ``stats``).
        self.killed = {"time_limit": 0, "client_gone": 0, "worker_lost": 0}
        self.worker_restarts = 0

    # --- life cycle ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, settings: Settings) -> EmbeddedStore:
        """Start the engine on ``settings.data_dir`` and its workers.

        Raises ``StoreLocked`` if another process has the data directory open.
        """
        store = cls(settings)
        try:
            await store._start()
        except BaseException:
            await store.close()
            raise
        return store

    async def _start(self) -> None:
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self._socket_path)
        os.chmod(self._socket_path, 0o600)
        self._listener.listen(128)
        self._listener.setblocking(False)
        asyncio.get_running_loop().add_reader(self._listener.fileno(), self._accept)
        if self.settings.engine_socket:
            await self._connect(self.settings.engine_socket)
        else:
            await self._start_engine()
        await self._control_call(SpawnRequest(self.settings.query_workers, self._socket_path))
        # Wait until the first worker has connected, so the first query does not race start-up.
        # (It may have said hello before the engine's reply to "spawn" came: then it is idle.)
        if not self._idle:
            waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            self._release(await waiter)

    async def _connect(self, path: str) -> None:
        """Use the engine another process started (``shared``). That process also started this
        one: this one dies with it, like the engine, rather than answer on without a store (not
        so the process that started the engine, which opens it too, to load the bundle)."""
        if path not in STARTED_HERE:
            die_with_parent()
        try:
            self._control_in, self._control_out = await asyncio.open_unix_connection(
                path, limit=2**20
            )
        except OSError as exc:
            raise StoreUnavailable(f"the shared store engine does not answer: {exc}") from None
        directory = os.path.dirname(path)
        self._version_fd = os.open(os.path.join(directory, VERSION_FILE), os.O_RDONLY)
        self._slots = SharedSlots(
            Path(directory) / "query-slots", self.settings.max_concurrent_queries, wait_s=0
        )
        reply, _ = await self._control_call(StatsRequest())
        ready = expect(reply, EngineStats)
        self._version = ready.version
        self._store_id = ready.store_id
        self.recovery = dict(ready.recovery)

    async def _start_engine(self) -> None:
        try:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc.errno, str(exc), self.settings.data_dir) from None
        self._engine = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ijkg.graph.store.engine",
            "--data-dir",
            str(self.settings.data_dir),
            "--snapshot-mb",
            str(self.settings.snapshot_every_mb),
            "--fsync" if self.settings.fsync else "--no-fsync",
            "--network" if self.settings.allow_federation else "--no-network",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            # A query that runs out of memory aborts its worker: one line in the log, no backtrace.
            env={**os.environ, "RUST_BACKTRACE": "0"},
            limit=2**20,
        )
        if self._engine.stdout is None or self._engine.stdin is None:  # pragma: no cover
            raise StoreUnavailable("the store engine has no control channel")
        self._control_in, self._control_out = self._engine.stdout, self._engine.stdin
        try:
            started, _ = await asyncio.wait_for(
                wire.aread(self._engine.stdout, EngineStats, ErrorReply), _ENGINE_START_TIMEOUT_S
            )
        except (asyncio.IncompleteReadError, TimeoutError) as exc:
            raise StoreUnavailable("the store engine did not start") from exc
        # The engine says why it did not start: the data directory is locked, damaged, or
        # cannot be written.
        ready = expect(started, EngineStats)
        self._version = ready.version
        self._store_id = ready.store_id
        self.recovery = dict(ready.recovery)
        report_recovery(self.settings, self.recovery)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self._spawning):
            task.cancel()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(StoreUnavailable("the store is closing"))
        for worker in list(self._workers):
            worker.kill()
        self._stop_accepting()
        if self._engine is None and self._control_out is not None:
            # A shared engine: hang up; the process that started it stops it.
            self._control_out.close()
        if self._version_fd is not None:
            os.close(self._version_fd)
            self._version_fd = None
        if self._engine is not None:
            if self._engine.stdin is not None:
                self._engine.stdin.close()
            try:
                # Time for the snapshot a clean shutdown may write (a snapshot is put in place
                # only once whole, so a kill after this is safe, only wasteful).
                await asyncio.wait_for(self._engine.wait(), 120)
            except TimeoutError:
                self._engine.kill()
                await self._engine.wait()
        # Every worker connection (one still saying hello, or accepted just now, included) is
        # closed and its transport released before the store reports closed.
        for writer in self._connections:
            writer.close()
        await asyncio.gather(*self._accepting, *self._spawning, return_exceptions=True)
        await asyncio.gather(*(w.wait_closed() for w in self._connections), return_exceptions=True)
        self._connections.clear()
        self._history.close()
        shutil.rmtree(self._socket_dir, ignore_errors=True)

    # --- the engine's control channel ----------------------------------------------------------

    async def _control_call(self, request: Message, body: bytes = b"") -> tuple[Message, bytes]:
        out, into = self._control_out, self._control_in
        if out is None or into is None or self._closed:
            raise StoreUnavailable("the store engine is not running")
        async with self._control:
            try:
                await wire.awrite(out, request, body)
                return await wire.aread(into, *_CONTROL_REPLIES)
            except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError) as exc:
                raise StoreUnavailable("the store engine stopped") from exc

    # --- workers -------------------------------------------------------------------------------

    def _accept(self) -> None:
        """Accept every worker waiting to connect (the loop calls this when one is)."""
        listener = self._listener
        while listener is not None and not self._closed:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # Out of file descriptors, say: try again a little later, not in a busy loop.
                log.warning("the store could not accept a query worker: %s", exc)
                loop = asyncio.get_running_loop()
                loop.remove_reader(listener.fileno())
                loop.call_later(_ACCEPT_RETRY_S, self._resume_accepting)
                return
            task = asyncio.create_task(self._on_worker(conn))
            self._accepting.add(task)
            task.add_done_callback(self._accepting.discard)

    def _resume_accepting(self) -> None:
        if self._listener is not None and not self._closed:
            asyncio.get_running_loop().add_reader(self._listener.fileno(), self._accept)

    def _stop_accepting(self) -> None:
        """Accept no more workers. A connection accepted already is still handled (and closed,
        since the store is closing) by its ``_on_worker`` task, which ``close`` waits for."""
        if self._listener is None:
            return
        asyncio.get_running_loop().remove_reader(self._listener.fileno())
        self._listener.close()
        self._listener = None

    async def _on_worker(self, conn: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(sock=conn)
        except OSError:
            conn.close()
            return
        self._connections.add(writer)
        if self._closed:
            writer.close()
            return
        try:
            hello, _ = await wire.aread(reader, WorkerHello)
        except (asyncio.IncompleteReadError, ConnectionError, ProtocolError):
            writer.close()
            return
        worker = _Worker(hello.pid, reader, writer, hello.isolated)
        if self._closed:
            worker.kill()
            return
        self._workers.add(worker)
        self._release(worker)

    def _release(self, worker: _Worker) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    async def _acquire(self, timeout_s: float) -> _Worker:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        if self._idle:
            return self._idle.popleft()
        if self._busy + len(self._waiters) >= self.settings.max_concurrent_queries:
            raise QueryOverloaded(
                f"{self.settings.max_concurrent_queries} queries are already running or waiting"
            )
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            raise QueryOverloaded("no query worker became free in time") from None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker (stuck or dead) and ask the engine for a new one."""
        worker.kill()
        self.worker_restarts += 1
        self._workers.discard(worker)
        self._connections.discard(worker.writer)
        if self._closed:
            return
        task = asyncio.create_task(self._spawn_one())
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)

    async def _spawn_one(self) -> None:
        with contextlib.suppress(StoreError):
            await self._control_call(SpawnRequest(1, self._socket_path))

    async def _ask_worker(
        self, request: Message, timeout_s: float, body: bytes = b""
    ) -> tuple[Message, bytes]:
        if self._slots is None:
            return await self._ask_own_worker(request, timeout_s, body)
        # A shared engine: the query holds one of the slots of every process while it waits
        # for a worker of this one and runs.
        async with self._slots.hold():
            return await self._ask_own_worker(request, timeout_s, body)

    async def _ask_own_worker(
        self, request: Message, timeout_s: float, body: bytes = b""
    ) -> tuple[Message, bytes]:
        worker = await self._acquire(timeout_s)
        self._busy += 1
        try:
            await wire.awrite(worker.writer, request, body)
            # A deadline on this task, not ``wait_for``: that runs the read as a task of its
            # own, one more task and loop turn for every query.
            async with asyncio.timeout(timeout_s):
                reply, body = await wire.aread(worker.reader, *WORKER_REPLIES)
        except TimeoutError:
            self.killed["time_limit"] += 1
            self._replace(worker)
            raise QueryTimeout(timeout_s) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            self.killed["worker_lost"] += 1
            self._replace(worker)
            raise QueryAborted(
                "the query was stopped: it needed more memory than one query may use, "
                "or crashed its worker"
            ) from None
        except BaseException:
            # Cancelled (client gone) mid-query: the worker's state is unknown, replace it.
            self.killed["client_gone"] += 1
            self._replace(worker)
            raise
        finally:
            self._busy -= 1
        self._release(worker)
        return reply, body

    # --- Store ---------------------------------------------------------------------------------

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
        head = self._seen_version()
        if at_version is not None and not 0 <= at_version <= head:
            first, head = await self.version_range()
            raise not_in_history(at_version, first, head)
        limits = limits or self.limits
        request = query_request(
            sparql,
            results=results,
            rdf=rdf,
            dataset=dataset or Dataset(),
            base_iri=base_iri,
            limits=limits,
            prefixes=prefixes,
            min_version=head,
            at_version=at_version,
        )
        reply, body = await self._ask_worker(request, limits.timeout_s)
        return query_answer(reply, body)

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
        limits = limits or self.limits
        request = effect_request(
            update,
            write_graph=write_graph,
            max_quads=max_quads,
            keep_graphs=keep_graphs,
            limits=limits,
            base_iri=base_iri,
            using=using,
            min_version=self._seen_version(),
        )
        reply, body = await self._ask_worker(request, limits.timeout_s)
        return effect_answer(reply, body)

    async def match(self, patterns: Sequence[Pattern]) -> list[ox.Quad]:
        if not patterns:
            return []
        # Lookups are the gate's reads: many patterns at once for a large change, so they run on
        # the generous internal limit, not a researcher's query limit, and a bulk load's hundreds
        # of thousands of patterns go a share at a time (one request held them all, and the
        # worker answering it grew by hundreds of megabytes).
        found: dict[ox.Quad, None] = {}
        for start in range(0, len(patterns), MATCH_CHUNK):
            chunk = patterns[start : start + MATCH_CHUNK]
            reply, body = await self._ask_worker(
                MatchRequest(self._seen_version()),
                self.internal_limits().timeout_s,
                match_request(chunk),
            )
            found.update(dict.fromkeys(match_answer(reply, body)))
        return list(found)

    async def version(self) -> int:
        return self._seen_version()

    # --- versions: read from the change log, off the event loop --------------------------------

    async def version_range(self) -> tuple[int, int]:
        head = self._seen_version()
        return await asyncio.to_thread(self._history.first, head), head

    async def history(self, *, after: int = 0, limit: int = 100) -> list[VersionInfo]:
        if limit <= 0:
            return []
        return await asyncio.to_thread(self._history.infos, after, limit, self._seen_version())

    async def patch(self, version: int) -> Patch:
        head = self._seen_version()
        record = await asyncio.to_thread(self._history.record, version, head)
        return Patch(
            info=version_info(version, record.meta, record),
            removes=tuple(record.removes),
            adds=tuple(record.adds),
        )

    def _seen_version(self) -> int:
        """The newest version this process knows of: its own last commit, or, on a shared
        engine, the version the engine published (one ``pread``, no round trip)."""
        if self._version_fd is not None:
            (published,) = VERSION.unpack(os.pread(self._version_fd, VERSION.size, 0))
            self._version = max(self._version, published)
        return self._version

    async def commit(
        self,
        delta: Delta,
        *,
        expected_version: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Commit:
        removes = write_nquads(delta.removes)
        adds = write_nquads(delta.adds)
        request = CommitRequest(len(removes), expected_version, meta)
        reply, _ = await self._control_call(request, removes + adds)
        committed = expect(reply, Committed)
        before = self._version
        self._version = max(self._version, committed.version)
        return Commit(
            version_before=before,
            version_after=committed.version,
            removed=committed.removed,
            added=committed.added,
        )

    async def stats(self) -> StoreStats:
        reply, _ = await self._control_call(StatsRequest())
        stats = expect(reply, EngineStats)
        return StoreStats(
            kind="embedded",
            store_id=stats.store_id,
            version=stats.version,
            quads=stats.quads,
            details={
                "data_dir": str(self.settings.data_dir),
                "log_bytes": stats.log_bytes,
                "recovery": stats.recovery,
                "write_error": stats.write_error,
                "snapshot_error": stats.snapshot_error,
                "workers": len(self._workers),
                "busy_workers": self._busy,
                "waiting_queries": len(self._waiters),
                "killed_queries": dict(self.killed),
                "worker_restarts": self.worker_restarts,
                "network_isolated": bool(self._workers)
                and all(worker.isolated for worker in self._workers),
            },
        )

    def known_down(self) -> str | None:
        engine = self._engine
        if self._closed or self._control_in is None:
            return "the store is closed"
        if engine is None:
            # A shared engine: its hang-up is read by the event loop as it comes.
            return "the store engine stopped" if self._control_in.at_eof() else None
        # Set by the event loop when the engine process exits: reading it asks nothing.
        if engine.returncode is not None:
            return f"the store engine stopped (exit status {engine.returncode})"
        return None

    async def snapshot(self) -> None:
        """Write a snapshot now (the engine also writes one when the change log grows).
        Raises ``StorageFailed``/``StorageFull`` when the file system refuses it."""
        reply, _ = await self._control_call(SnapshotRequest())
        expect(reply, EngineStats)

    @property
    def store_id(self) -> str:
        return self._store_id


def report_recovery(settings: Settings, recovery: dict[str, Any]) -> None:
    """Log what the engine's start cut off (by the process that started it)."""
    if recovery.get("torn_bytes_dropped"):
        log.warning(
            "the store in %s was stopped in the middle of a write: its last, unacknowledged "
            "record was incomplete and was cut off (%s, %d bytes from byte %d)",
            settings.data_dir,
            recovery["torn_file"],
            recovery["torn_bytes_dropped"],
            recovery["torn_offset"],
        )


# --- the worker protocol, seen from the service (``MemoryStore`` speaks it in process too) ------


def query_request(
    sparql: str,
    *,
    results: ResultsFormat | None,
    rdf: RdfSyntax | None,
    dataset: Dataset,
    base_iri: str | None,
    limits: QueryLimits,
    prefixes: bool,
    min_version: int,
    at_version: int | None = None,
) -> QueryRequest:
    """The worker request that runs a query (see ``Worker.handle``)."""
    return QueryRequest(
        sparql=sparql,
        base_iri=base_iri,
        default=dataset.default_graphs,
        named=dataset.named_graphs,
        results=results.name if results else None,
        rdf=rdf.name if rdf else None,
        max_rows=limits.max_rows,
        max_bytes=limits.max_bytes,
        memory_mb=limits.memory_mb,
        min_version=min_version,
        prefixes=prefixes,
        at_version=at_version,
    )


def query_answer(reply: Message, body: bytes) -> Answer:
    """A worker's reply to a query, or its error raised."""
    answer = expect(reply, QueryReply)
    return Answer(
        form=answer.form,
        media_type=answer.media_type,
        body=body,
        rows=answer.rows,
        version=answer.version,
    )


def effect_request(
    update: str,
    *,
    write_graph: str,
    max_quads: int,
    keep_graphs: Collection[str],
    limits: QueryLimits,
    base_iri: str | None,
    using: Dataset | None,
    min_version: int,
) -> EffectRequest:
    """The worker request that computes an update's effect."""
    return EffectRequest(
        update=update,
        write_graph=write_graph,
        max_quads=max_quads,
        keep=tuple(sorted(keep_graphs)),
        base_iri=base_iri,
        using=None
        if using is None
        else (tuple(using.default_graphs or ()), tuple(using.named_graphs or ())),
        memory_mb=limits.memory_mb,
        min_version=min_version,
    )


def effect_answer(reply: Message, body: bytes) -> tuple[Delta, int]:
    """A worker's reply to ``update_effect``: the delta and the version it was computed on."""
    effect = expect(reply, EffectReply)
    rm = effect.rm
    delta = Delta(removes=tuple(read_nquads(body[:rm])), adds=tuple(read_nquads(body[rm:])))
    return delta, effect.version


def match_request(patterns: Sequence[Pattern]) -> bytes:
    """The body of a ``match`` request: the patterns as N-Quads, wildcards as ``ANY``."""
    return encode_patterns(patterns)


def match_answer(reply: Message, body: bytes) -> list[ox.Quad]:
    expect(reply, MatchReply)
    return read_nquads(body)
