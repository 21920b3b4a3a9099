"""A real Oxigraph server (PyPI ``oxigraph``) on 127.0.0.1, for the external-store tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.net import free_port


def oxigraph_binary() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(found).exists():
        raise RuntimeError("the oxigraph server is not installed (pip install oxigraph)")
    return found


@dataclass
class OxigraphServer:
    process: subprocess.Popen[bytes]
    base_url: str
    command: list[str]

    @property
    def query_url(self) -> str:
        return self.base_url + "/query"

    @property
    def update_url(self) -> str:
        return self.base_url + "/update"

    @property
    def store_url(self) -> str:
        return self.base_url + "/store"

    def busy(self, window_s: float = 0.3) -> bool:
        """Whether the server is working (on a query it was asked to stop, say): it used more
        than a third of a core over ``window_s``."""
        before = _cpu_seconds(self.process.pid)
        time.sleep(window_s)
        return _cpu_seconds(self.process.pid) - before > window_s / 3

    def restart(self, timeout_s: float = 30) -> None:
        """Stop and start it again on the same port (and the same files): Oxigraph cannot stop
        a query that yields nothing before its time limit (a COUNT over a product), so that
        is the way to end one."""
        self.stop()
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_until_up(self, timeout_s)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def start_oxigraph(
    location: Path | None = None, timeout_s: float = 30, query_timeout_s: float = 30
) -> OxigraphServer:
    """Start ``oxigraph serve`` (in memory, or on disk at ``location``) and wait until it answers;
    it stops any query after ``query_timeout_s`` (one that yields results as it goes)."""
    port = free_port()
    command = [oxigraph_binary(), "serve", "--bind", f"127.0.0.1:{port}"]
    command += ["--timeout-s", str(max(1, round(query_timeout_s)))]
    if location is not None:
        command += ["--location", str(location)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = OxigraphServer(process, f"http://127.0.0.1:{port}", command)
    _wait_until_up(server, timeout_s)
    return server


def _wait_until_up(server: OxigraphServer, timeout_s: float) -> None:
    process = server.process
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oxigraph serve exited with {process.returncode}")
        try:
            if (
                httpx.get(server.query_url, params={"query": "ASK {}"}, timeout=2).status_code
                == 200
            ):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("oxigraph serve did not come up")
