"""A real Oxigraph server (PyPI ``oxigraph``) on 127.0.0.1, for the external-store tests."""

from __future__ import annotations

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

    @property
    def query_url(self) -> str:
        return self.base_url + "/query"

    @property
    def update_url(self) -> str:
        return self.base_url + "/update"

    @property
    def store_url(self) -> str:
        return self.base_url + "/store"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_oxigraph(
    location: Path | None = None, timeout_s: float = 30, query_timeout_s: float = 30
) -> OxigraphServer:
    """Start ``oxigraph serve`` (in memory, or on disk at ``location``) and wait until it answers;
    it stops any query after ``query_timeout_s``."""
    port = free_port()
    command = [oxigraph_binary(), "serve", "--bind", f"127.0.0.1:{port}"]
    command += ["--timeout-s", str(max(1, round(query_timeout_s)))]
    if location is not None:
        command += ["--location", str(location)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = OxigraphServer(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oxigraph serve exited with {process.returncode}")
        try:
            if (
                httpx.get(server.query_url, params={"query": "ASK {}"}, timeout=2).status_code
                == 200
            ):
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("oxigraph serve did not come up")
