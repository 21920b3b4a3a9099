"""The systems under test, each an HTTP server on 127.0.0.1 started and stopped by the harness.

- ``ijkg``: ``ijkg serve`` on a data directory prepared by ``ijkg load`` (the embedded store);
- ``ijkg-nocache``: the same service on a copy of that directory with its answer cache off
  (``IJKG_QUERY_CACHE_MB=0``): every repeated query runs on the store, as in the peers;
- ``oxigraph-mem`` / ``oxigraph-disk``: ``oxigraph serve`` (PyPI ``oxigraph``) in memory, loaded
  over its Graph Store endpoint, and on disk, loaded with ``oxigraph load``; both with
  ``--union-default-graph`` so that, as in ijkg, the default graph is every named graph;
- ``rdflib-endpoint``: ``rdflib-endpoint serve`` (an rdflib ``Dataset`` with the union default
  graph, on uvicorn);
- ``hello``: a hello-world FastAPI route on the same uvicorn settings as ``ijkg serve`` (the
  framework's ceiling).

Every server's output goes to a log file in the work directory; ``stop()`` ends exactly the
process the harness started (and its children).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

HOST = "127.0.0.1"
SELECT = "application/sparql-results+json"
GRAPH = "application/n-triples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> str:
    """A console script of this environment (beside the interpreter), else from ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: pip install -e '.[bench]'")
    return found


def _pids(root: int) -> list[int]:
    """``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def tree_memory(root: int) -> dict[str, int]:
    """Resident memory of a process tree in bytes: ``rss`` (summed, counts shared pages once per
    process), ``pss`` (proportional: shared pages split between the processes sharing them, the
    honest total for forked workers), ``root_rss`` and ``max_rss`` (the largest process)."""
    rss = pss = root_rss = max_rss = 0
    for pid in _pids(root):
        own = 0
        with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Rss:"):
                    value = int(line.split()[1]) * 1024
                    rss += value
                    own = value
                    if pid == root:
                        root_rss = value
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        max_rss = max(max_rss, own)
    return {"rss": rss, "pss": pss, "root_rss": root_rss, "max_rss": max_rss}


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by a process tree, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _pids(root):
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


class MemorySampler:
    """Peak PSS/RSS of a process tree, sampled every ``interval`` seconds while a command runs."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_pss = 0
        self.peak_rss = 0

    def run(
        self,
        cmd: list[str],
        *,
        env: dict[str, str] | None = None,
        log: Path,
        timeout_s: float | None = None,
    ) -> tuple[float, str]:
        """Run ``cmd`` to its end (or kill it after ``timeout_s``: ``TimeoutError``); returns the
        seconds it took and what it printed on stdout. Raises ``CalledProcessError``."""
        started = time.perf_counter()
        with log.open("ab") as err, tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, start_new_session=True)
            while proc.poll() is None:
                memory = tree_memory(proc.pid)
                self.peak_pss = max(self.peak_pss, memory["pss"])
                self.peak_rss = max(self.peak_rss, memory["rss"])
                if timeout_s is not None and time.perf_counter() - started > timeout_s:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    raise TimeoutError(f"stopped after {timeout_s:.0f} s")
                time.sleep(self.interval)
            elapsed = time.perf_counter() - started
            out.seek(0)
            printed = out.read().decode(errors="replace")
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, cmd, printed)
        return elapsed, printed


@dataclass
class System:
    """A server the harness starts; subclasses say how."""

    name: str
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    startup_s: float = 0.0
    load_s: float | None = None
    notes: list[str] = field(default_factory=list)

    # --- what the load generator asks --------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    sparql_path = "/sparql"

    def query_path(self, sparql: str) -> str:
        return f"{self.sparql_path}?query={quote(sparql, safe='')}"

    @property
    def speaks_sparql(self) -> bool:
        return True

    # --- life cycle ---------------------------------------------------------------------------

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def ready_path(self) -> str:
        return self.query_path("ASK {}")

    def start(self, timeout_s: float = 1800) -> None:
        log = (self.workdir / f"{self.name}.log").open("ab")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,
        )
        deadline = started + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: see its log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + self.ready_path(), timeout=5).status_code == 200:
                    break
            if time.perf_counter() > deadline:
                self.stop()
                raise TimeoutError(f"{self.name} did not start in {timeout_s} s")
            time.sleep(0.05)
        self.startup_s = time.perf_counter() - started
        self.after_start()

    def after_start(self) -> None:
        """Load data over HTTP, if this system is loaded that way."""

    def settle(
        self, *, idle_share: float = 0.05, window_s: float = 0.25, max_s: float = 120
    ) -> float:
        """Wait until the server is idle (its process tree uses under ``idle_share`` of a core
        over ``window_s``): a load generator that stops leaves requests in flight, and a server
        still working through them must not be measured, nor slow the next system down. Returns
        the seconds waited."""
        if self.proc is None:
            return 0.0
        started = time.perf_counter()
        while time.perf_counter() - started < max_s:
            before = tree_cpu_seconds(self.proc.pid)
            time.sleep(window_s)
            if tree_cpu_seconds(self.proc.pid) - before < idle_share * window_s:
                break
        return time.perf_counter() - started

    def memory(self) -> dict[str, int]:
        return tree_memory(self.proc.pid) if self.proc else {}

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        # The server runs in a session of its own: end that group (its engine and workers).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Ijkg(System):
    data_dir: Path = Path()

    def command(self) -> list[str]:
        return [
            tool("ijkg"),
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]

    def ready_path(self) -> str:
        return "/health"


@dataclass
class IjkgNoCache(Ijkg):
    """``ijkg serve`` without its answer cache, on a copy of ``data_dir`` (a store is held by
    one service at a time)."""

    def start(self, timeout_s: float = 1800) -> None:
        copy = self.workdir / self.name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.data_dir, copy, ignore=shutil.ignore_patterns("LOCK", "*.sock"))
        self.data_dir = copy
        super().start(timeout_s)

    def env(self) -> dict[str, str]:
        return {**os.environ, "IJKG_QUERY_CACHE_MB": "0"}


@dataclass
class OxigraphServe(System):
    dataset: Path = Path()
    location: Path | None = None  # None: in memory
    sparql_path = "/query"

    def command(self) -> list[str]:
        cmd = [tool("oxigraph"), "serve", "--bind", f"{HOST}:{self.port}", "--union-default-graph"]
        if self.location is not None:
            cmd += ["--location", str(self.location)]
        return cmd

    def prepare(self) -> None:
        """On disk: bulk load the dataset with ``oxigraph load`` (timed) before serving."""
        if self.location is None:
            return
        shutil.rmtree(self.location, ignore_errors=True)
        started = time.perf_counter()
        with (self.workdir / f"{self.name}.log").open("ab") as log:
            subprocess.run(
                [
                    tool("oxigraph"),
                    "load",
                    "--location",
                    str(self.location),
                    "--file",
                    str(self.dataset),
                ],
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.load_s = time.perf_counter() - started

    def after_start(self) -> None:
        if self.location is not None:
            return
        started = time.perf_counter()
        with self.dataset.open("rb") as body:
            answer = httpx.post(
                self.base + "/store",
                content=body,
                headers={"Content-Type": "application/n-quads"},
                timeout=3600,
            )
        answer.raise_for_status()
        self.load_s = time.perf_counter() - started


@dataclass
class RdflibEndpoint(System):
    dataset: Path = Path()
    sparql_path = "/"

    def command(self) -> list[str]:
        return [
            tool("rdflib-endpoint"),
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            str(self.dataset),
        ]


@dataclass
class Hello(System):
    @property
    def speaks_sparql(self) -> bool:
        return False

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.hello", "--host", HOST, "--port", str(self.port)]

    def env(self) -> dict[str, str]:
        root = str(Path(__file__).resolve().parent.parent)
        return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def ready_path(self) -> str:
        return "/hello"
