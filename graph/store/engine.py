"""The embedded store engine: one process that owns the data directory.

It holds the store in memory (pyoxigraph), makes every commit durable in the change log before
acknowledging it, writes snapshots, and forks the query workers. It is single-threaded on purpose:
forking is only safe in a process with one thread, and one thread also serialises the writers.

The process that starts it (``python -m ijkg.graph.store.engine``) talks to it over stdin/stdout
(see ``wire``): ``spawn`` workers, ``commit`` a change, ``stats``. With ``--listen`` it also
answers service processes that share it on a Unix socket, one request at a time whichever process
asks, and publishes the version it has applied in a file beside that socket (``VERSION_FILE``),
which those processes read before each query. The engine exits when the process that started it
hangs up; its workers die with it.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import pyoxigraph as ox

from ijkg.graph.core.errors import IjkgError, StoreDamaged, StoreError, StoreLocked, VersionConflict
from ijkg.graph.core.rdfio import read_nquads
from ijkg.graph.store import union, wire
from ijkg.graph.store.changelog import (
    ChangeLogCorrupt,
    ChangeLogReader,
    ChangeLogWriter,
    Record,
    recover,
)
from ijkg.graph.store.history import LogIndex, stamped
from ijkg.graph.store.messages import (
    CommitRequest,
    Committed,
    EngineStats,
    Message,
    ProtocolError,
    SnapshotRequest,
    Spawned,
    SpawnRequest,
    StatsRequest,
    error_reply,
)
from ijkg.graph.store.sandbox import die_with_parent, leave_network
from ijkg.graph.store.storage import (
    LOCK_FILE,
    META_FILE,
    damaged_message,
    locked_message,
    storage_error,
)
from ijkg.graph.store.worker import Worker, serve

#: What the service may ask on the control channel.
REQUESTS = (CommitRequest, SpawnRequest, StatsRequest, SnapshotRequest)

#: Beside the ``--listen`` socket: the version the engine has applied, an 8-byte big-endian
#: integer written before each commit is acknowledged, so that any process sharing the engine
#: asks its workers for a version at least as new as every commit acknowledged to anyone.
VERSION_FILE = "version"
VERSION = struct.Struct("!Q")


def _lock(data_dir: Path) -> int:
    """Take the data directory's lock or say who holds it."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise LockedError(holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


class LockedError(Exception):
    pass


def _store_id(data_dir: Path) -> str:
    meta = data_dir / META_FILE
    if meta.exists():
        return str(json.loads(meta.read_text())["id"])
    store_id = uuid.uuid4().hex[:12]
    partial = meta.with_suffix(".partial")
    partial.write_text(json.dumps({"id": store_id, "format": 1}))
    os.replace(partial, meta)
    return store_id


class Engine:
    def __init__(self, args: argparse.Namespace) -> None:
        self.data_dir = Path(args.data_dir)
        self.snapshot_bytes = args.snapshot_mb * 1024 * 1024
        self.network: bool = args.network
        self.lock_fd = _lock(self.data_dir)
        self.store_id = _store_id(self.data_dir)
        self.store = ox.Store()
        started = time.monotonic()
        recovered = recover(self.data_dir, self.store)
        self.recovery = {
            "seconds": round(time.monotonic() - started, 3),
            "records_replayed": recovered.records_replayed,
            "torn_bytes_dropped": recovered.torn_bytes_dropped,
            "torn_file": recovered.torn_file.name if recovered.torn_file else None,
            "torn_offset": recovered.torn_offset,
        }
        self.log = ChangeLogWriter(self.data_dir, recovered, fsync=args.fsync)
        self.union_triples = union.count(self.store)
        # Counted once here, before any worker is forked, and kept up to date by each commit: a
        # pass over the in-memory store (``len``) writes to much of what it reads, which unshares
        # those pages from every worker forked before it (counting a million quads in a forked
        # copy made three quarters of the store private to it).
        self.quads = len(self.store) - self.union_triples
        # The last write and the last snapshot that the file system refused (None: all well),
        # for /health; a write that succeeds again clears its error.
        self.write_error: dict[str, Any] | None = None
        self.snapshot_error: dict[str, Any] | None = None
        # After a failed snapshot, the next try waits until the log has grown this far.
        self._snapshot_retry_at = 0
        # Descriptors a forked worker must not keep: the control channels of the processes that
        # share the engine (a worker holding one would hide that process's hang-up).
        self.private_fds: set[int] = set()
        self.version_fd: int | None = None

    def publish_version(self) -> None:
        if self.version_fd is not None:
            os.pwrite(self.version_fd, VERSION.pack(self.log.version), 0)

    # --- control operations -------------------------------------------------------------------

    def handle(self, request: Message, body: bytes) -> tuple[Message, bytes]:
        """Answer one control request. An ``OSError`` of the data directory is raised (the
        caller answers it as the storage error it is)."""
        if isinstance(request, CommitRequest):
            return self._commit(request, body), b""
        if isinstance(request, SpawnRequest):
            return Spawned(tuple(self._fork_worker(request.socket) for _ in range(request.n))), b""
        if isinstance(request, StatsRequest):
            return self.stats_message(), b""
        if isinstance(request, SnapshotRequest):
            try:
                self.log.snapshot(self.store)
            except OSError as exc:
                self.snapshot_error = _io_error(exc)
                raise
            self.snapshot_error = None
            return self.stats_message(), b""
        return error_reply(ProtocolError(f"unknown request {request.op!r}")), b""

    def stats_message(self) -> EngineStats:
        return EngineStats(**self.stats())

    def stats(self) -> dict[str, Any]:
        return {
            "version": self.log.version,
            "quads": self.quads,
            "triples": self.union_triples,
            "store_id": self.store_id,
            "log_bytes": self.log.size,
            "recovery": self.recovery,
            "write_error": self.write_error,
            "snapshot_error": self.snapshot_error,
        }

    def _commit(self, request: CommitRequest, body: bytes) -> Message:
        expected = request.expected
        if expected is not None and expected != self.log.version:
            return error_reply(VersionConflict(expected, self.log.version))
        rm_len = request.rm
        try:
            removes, adds = union.exact_change(
                self.store, read_nquads(body[:rm_len]), read_nquads(body[rm_len:])
            )
        except union.DefaultGraphWrite as exc:
            return error_reply(StoreError(str(exc)))
        if not removes and not adds:
            return Committed(self.log.version, 0, 0)
        # An exact change: the removed quads were there, the added ones were not.
        quads_after = self.quads + len(adds) - len(removes)
        meta = stamped(request.meta, removed=len(removes), added=len(adds), quads=quads_after)
        try:
            version = self.log.append(removes, adds, meta)
        except OSError as exc:
            # Nothing was written (the log cut the partial record off): the store is unchanged.
            self.write_error = _io_error(exc)
            raise
        except ValueError as exc:
            # A record the log could not read back (metadata past its 4 GiB header): refused
            # before anything was written.
            return error_reply(StoreError(str(exc)))
        self.write_error = None
        self.union_triples += Record(version, removes, adds).apply(self.store)
        self.quads = quads_after
        self.publish_version()
        if self.log.size > max(self.snapshot_bytes, self._snapshot_retry_at):
            self._snapshot()
        return Committed(version, len(removes), len(adds))

    def _snapshot(self) -> None:
        """Write a snapshot after a commit. The commit is durable in the log already, so a
        snapshot the file system refuses fails nothing: it is reported (``/health``) and tried
        again once the log has grown by another quarter of the snapshot size."""
        try:
            self.log.snapshot(self.store)
        except OSError as exc:
            self.snapshot_error = _io_error(exc)
            self._snapshot_retry_at = self.log.size + self.snapshot_bytes // 4
            print(f"ijkg store engine: snapshot failed: {exc}", file=sys.stderr, flush=True)
            return
        self.snapshot_error = None
        self._snapshot_retry_at = 0

    # --- workers ------------------------------------------------------------------------------

    def _fork_worker(self, socket_path: str) -> int:
        version, log_path, offset = self.log.version, self.log.path, self.log.size
        pid = os.fork()
        if pid:
            return pid
        # The child: a query worker. It must never return into the engine's loop.
        code = 0
        try:
            die_with_parent()
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.close(self.lock_fd)
            for fd in self.private_fds:
                os.close(fd)
            reader = ChangeLogReader(self.data_dir, version, log_path, offset)
            # Off the network unless federation is on (the endpoint refuses SERVICE as well).
            isolated = False if self.network else leave_network()
            _in_a_thread_of_its_own(
                lambda: serve(
                    Worker(self.store, reader, history=LogIndex(self.data_dir)),
                    socket_path,
                    isolated=isolated,
                )
            )
        except BaseException as exc:  # the child must exit whatever happens
            print(f"ijkg query worker {os.getpid()}: {exc!r}", file=sys.stderr)
            code = 1
        finally:
            os._exit(code)


def _in_a_thread_of_its_own(run: Callable[[], None]) -> None:
    """Run ``run`` in a new thread, raising here what it raised.

    Oxigraph draws ``RAND()``, ``UUID()``, ``STRUUID()`` and fresh blank nodes from a random
    generator kept per thread and seeded on first use; a forked worker's main thread inherits the
    engine's, already seeded (parsing blank nodes seeds it), so every worker would give the same
    "random" values as its siblings. A thread started after the fork seeds its own. (It inherits
    the network namespace the worker left for, which ``leave_network`` set first.)
    """
    failure: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:  # handed to the caller, which ends the worker
            failure.append(exc)

    thread = threading.Thread(target=target, name="query-worker")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _storage_error(exc: OSError, data_dir: str) -> IjkgError:
    """An ``OSError`` on the data directory as the typed error the service raises."""
    return storage_error(exc.errno, exc.strerror or str(exc), data_dir)


def _io_error(exc: OSError) -> dict[str, Any]:
    """An ``OSError`` as the engine's stats report it (for ``/health``)."""
    return {
        "errno": exc.errno,
        "message": exc.strerror or str(exc),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


class _Channel(NamedTuple):
    """One control connection: the starting process's stdin/stdout, or a sharing process's
    socket."""

    read: BinaryIO
    write: BinaryIO
    sock: socket.socket | None = None


def _listen(engine: Engine, path: str) -> socket.socket:
    """The Unix socket sharing processes connect to, and the version file beside it."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    engine.private_fds.add(listener.fileno())
    version_path = os.path.join(os.path.dirname(path), VERSION_FILE)
    engine.version_fd = os.open(version_path, os.O_RDWR | os.O_CREAT, 0o600)
    engine.private_fds.add(engine.version_fd)
    engine.publish_version()
    return listener


def _serve(engine: Engine, control: _Channel, listener: socket.socket | None) -> None:
    """Answer control requests until the starting process hangs up. Each channel asks one
    request at a time and waits for the answer, so a readable channel holds one whole request
    and nothing after it (a buffered read never hides a next request from ``select``)."""
    selector = selectors.DefaultSelector()
    selector.register(control.read, selectors.EVENT_READ, control)
    if listener is not None:
        selector.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, _ in selector.select():
            if key.data is None and listener is not None:
                try:
                    conn, _ = listener.accept()
                except OSError:  # out of descriptors, say: the process asks again
                    continue
                conn.setblocking(True)
                channel = _Channel(conn.makefile("rb"), conn.makefile("wb"), conn)
                engine.private_fds.add(conn.fileno())
                selector.register(conn, selectors.EVENT_READ, channel)
                continue
            channel = key.data
            try:
                request, body = wire.read_file(channel.read, *REQUESTS)
            except (EOFError, OSError):
                # Hung up (a sharing process that ended mid-request, too).
                if channel.sock is None:
                    return
                _drop(engine, selector, channel)
                continue
            except ProtocolError as exc:
                reply: Message = error_reply(exc)
                payload = b""
            else:
                try:
                    reply, payload = engine.handle(request, body)
                except OSError as exc:
                    reply = error_reply(_storage_error(exc, str(engine.data_dir)))
                    payload = b""
            try:
                wire.write_file(channel.write, reply, payload)
            except OSError:
                # A sharing process that went away mid-request: its channel only.
                if channel.sock is None:
                    return
                _drop(engine, selector, channel)


def _drop(engine: Engine, selector: selectors.BaseSelector, channel: _Channel) -> None:
    """Forget a sharing process's channel (it hung up)."""
    sock = channel.sock
    if sock is None:  # the starting process's channel is never dropped
        return
    selector.unregister(sock)
    engine.private_fds.discard(sock.fileno())
    for stream in (channel.read, channel.write):
        with contextlib.suppress(OSError):
            stream.close()
    sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ijkg.graph.store.engine")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument(
        "--listen", help="also answer service processes that share the engine on this Unix socket"
    )
    parser.add_argument("--snapshot-mb", type=int, default=64)
    parser.add_argument("--fsync", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--network",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="let query workers reach the network (federated query)",
    )
    args = parser.parse_args(argv)
    # Workers are reaped by the kernel; the engine never waits for them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    # A file size limit (RLIMIT_FSIZE) fails the write with EFBIG instead of killing the engine.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    die_with_parent()
    control_in: BinaryIO = sys.stdin.buffer
    control_out: BinaryIO = sys.stdout.buffer
    try:
        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
        engine = Engine(args)
    except LockedError as exc:
        locked = StoreLocked(locked_message(args.data_dir, exc.args[0]))
        wire.write_file(control_out, error_reply(locked))
        return 3
    except OSError as exc:
        wire.write_file(control_out, error_reply(_storage_error(exc, args.data_dir)))
        return 4
    except ChangeLogCorrupt as exc:
        damaged = StoreDamaged(damaged_message(args.data_dir, str(exc)))
        wire.write_file(control_out, error_reply(damaged))
        return 4
    listener = _listen(engine, args.listen) if args.listen else None
    wire.write_file(control_out, engine.stats_message())
    _serve(engine, _Channel(control_in, control_out), listener)
    # A clean shutdown: fold a long change log (past an eighth of the snapshot size, 8 MB by
    # default) into a snapshot, so the next start loads the snapshot instead of replaying every
    # record — a bulk load is one long record, slow to replay.
    if engine.log.size > engine.snapshot_bytes // 8:
        engine._snapshot()
    return 0


if __name__ == "__main__":
    sys.exit(main())
