"""One embedded store engine shared by several service processes (``ijkg serve --workers N``).

The process that runs the service processes (uvicorn's supervisor) starts the engine before them,
with a control socket in a private directory (``--listen``); each service process's
``EmbeddedStore`` connects to it (``settings.engine_socket``) instead of starting an engine of its
own. The engine stays this process's child, talking to it on stdin/stdout as to any starter: it
dies with it (``sandbox.die_with_parent``), and writes its shutdown snapshot when ``close`` hangs
up, after the service processes have stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from typing import IO, BinaryIO, cast

from ijkg.graph.core.errors import StoreUnavailable
from ijkg.graph.core.settings import Settings
from ijkg.graph.store import wire
from ijkg.graph.store.embedded import STARTED_HERE, report_recovery
from ijkg.graph.store.messages import EngineStats, ErrorReply, expect

CONTROL_SOCKET = "engine.sock"
_STOP_TIMEOUT_S = 120.0  # time for the snapshot a clean shutdown may write


class SharedEngine:
    """A running engine that service processes connect to at ``socket_path``."""

    def __init__(self, process: subprocess.Popen[bytes], directory: str) -> None:
        self.process = process
        self.directory = directory
        self.socket_path = os.path.join(directory, CONTROL_SOCKET)

    @classmethod
    def start(cls, settings: Settings) -> SharedEngine:
        """Start the engine on ``settings.data_dir`` and wait until it has recovered the store.
        Raises what the engine says stopped it (``StoreLocked``, ``StoreDamaged``, ...)."""
        directory = tempfile.mkdtemp(prefix="ijkg-engine-")  # 0700: only this user connects
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "ijkg.graph.store.engine",
                "--data-dir",
                str(settings.data_dir),
                "--listen",
                os.path.join(directory, CONTROL_SOCKET),
                "--snapshot-mb",
                str(settings.snapshot_every_mb),
                "--fsync" if settings.fsync else "--no-fsync",
                "--network" if settings.allow_federation else "--no-network",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # A query that runs out of memory aborts its worker: one line in the log.
            env={**os.environ, "RUST_BACKTRACE": "0"},
        )
        engine = cls(process, directory)
        STARTED_HERE.add(engine.socket_path)
        try:
            out = cast(BinaryIO, _stream(process.stdout))
            started, _ = wire.read_file(out, EngineStats, ErrorReply)
            report_recovery(settings, dict(expect(started, EngineStats).recovery))
        except EOFError:
            engine.close()
            raise StoreUnavailable("the store engine did not start") from None
        except BaseException:
            engine.close()
            raise
        return engine

    def close(self) -> None:
        """Hang up (the engine writes its snapshot and exits; its workers die with it)."""
        STARTED_HERE.discard(self.socket_path)
        with contextlib.suppress(OSError):
            _stream(self.process.stdin).close()
        try:
            self.process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            _stream(self.process.stdout).close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _stream(stream: IO[bytes] | None) -> IO[bytes]:
    if stream is None:  # pragma: no cover - PIPE always gives a stream
        raise StoreUnavailable("the store engine has no control channel")
    return stream


def query_workers_each(settings: Settings, processes: int) -> int:
    """Each service process's share of ``query_workers`` (at least one). The workers are shared
    out, not multiplied: they are the processes that use the cores and the memory (each a
    replica of the graph), and ``IJKG_QUERY_WORKERS`` says how many of them the machine has room
    for, however many service processes hand them queries."""
    return max(1, settings.query_workers // processes)
