"""Operating the service: a disk that fills up, a data directory that is or turns read-only, a
store engine that dies, what ``/health`` says meanwhile, and what the logs record.

The embedded store's cases use real file systems (``mounts.py``: a small tmpfs, a read-only bind
mount; root is needed, as CI has) or a real file size limit on the engine. Each ends the same way:
once the condition clears, the store works again and, after a restart, holds every acknowledged
write and nothing that was refused.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest

from ijkg.graph.core.errors import StorageFull
from ijkg.graph.store.base import Delta
from tests.conftest import Server, SyncStore, run_ijkg, start_server, stop_server
from tests.hardening.mounts import fill, read_only, tmpfs
from tests.hostile.procs import children, engine_of

TOKEN = "operations-writer-token"  # noqa: S105 - a test server's token
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "https://w3id.org/ijkg/graph/operations"
NOTE = "http://www.w3.org/2004/02/skos/core#note"
PROBLEM = "https://w3id.org/ijkg/problems/"


def write(client: httpx.Client, marker: str, size: int = 0) -> httpx.Response:
    padding = "p" * size
    return client.post(
        "/update",
        content=f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <urn:x-ops:{marker}> <{NOTE}> "{marker} '
        f'{padding}"@en }} }}',
        headers={**AUTH, "Content-Type": "application/sparql-update"},
    )


def markers(client: httpx.Client) -> set[str]:
    answer = client.get(
        "/sparql",
        params={"query": f"SELECT ?s WHERE {{ GRAPH <{GRAPH}> {{ ?s <{NOTE}> ?o }} }}"},
    )
    assert answer.status_code == 200, answer.text
    return {row["s"]["value"].rsplit(":", 1)[-1] for row in answer.json()["results"]["bindings"]}


def health(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/health/ready")
    body: dict[str, Any] = answer.json()
    body["http_status"] = answer.status_code
    return body


def problem(answer: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["type"] == PROBLEM + slug, body
    assert body["requestId"] == answer.headers["x-request-id"]
    return body


def serve(data_dir: Path, log: Path, **env: str) -> Server:
    return start_server(
        data_dir, log, {"IJKG_FSYNC": "true", "IJKG_WRITE_TOKENS": f"ops={TOKEN}", **env}
    )


# --- disk full ----------------------------------------------------------------------------------


@pytest.mark.embedded
def test_a_full_disk_refuses_writes_clearly_and_loses_nothing(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", size_kb=12 * 1024) as disk:
        server = serve(disk / "store", tmp_path / "server.log")
        try:
            with server.client() as client:
                acknowledged = {f"before-{i}" for i in range(3)}
                for marker in sorted(acknowledged):
                    assert write(client, marker).status_code == 200
                version = health(client)["store"]["version"]
                filler = fill(disk)
                for i in range(3):
                    refused = problem(
                        write(client, f"full-{i}", size=2000), 507, "insufficient-storage"
                    )
                    assert "no space left" in refused["detail"]
                    assert "nothing was written" in refused["detail"]
                # Other write paths say the same; reads go on; /health says what is wrong.
                put = client.put(
                    "/store",
                    params={"graph": GRAPH + "-put"},
                    content='<urn:x-ops:put> <urn:x-ops:p> "x" .',
                    headers={**AUTH, "Content-Type": "text/turtle"},
                )
                problem(put, 507, "insufficient-storage")
                assert markers(client) == acknowledged
                state = health(client)
                assert (state["http_status"], state["status"]) == (200, "degraded")
                assert state["store"]["writable"] is False
                assert state["store"]["version"] == version
                assert any("writes fail" in p and "No space" in p for p in state["problems"])
                # Space again: writes work, and the service is healthy again.
                filler.unlink()
                assert write(client, "after").status_code == 200
                acknowledged.add("after")
                state = health(client)
                assert (state["status"], state["store"]["writable"]) == ("ok", True)
        finally:
            stop_server(server)
        # A restart finds every acknowledged write, nothing refused, and no torn record.
        server = serve(disk / "store", tmp_path / "server-2.log")
        try:
            with server.client() as client:
                assert markers(client) == acknowledged
                state = health(client)
                assert state["store"]["recovery"]["torn_bytes_dropped"] == 0
                assert state["store"]["version"] == version + 1
        finally:
            stop_server(server)


@pytest.mark.embedded
def test_a_file_size_limit_on_the_engine_is_a_full_disk(
    open_test_store: Any, tmp_path: Path
) -> None:
    """Where no small file system can be mounted, a file size limit (RLIMIT_FSIZE) on the engine
    stands in for one: the write fails with EFBIG, which the store reports as full."""
    store: SyncStore = open_test_store(tmp_path / "store")
    graph = ox.NamedNode(GRAPH)

    def quad(i: int) -> ox.Quad:
        return ox.Quad(
            ox.NamedNode(f"urn:x-ops:{i}"), ox.NamedNode(NOTE), ox.Literal("x" * 500), graph
        )

    store.run(store.store.commit, Delta(adds=(quad(1),)))
    (engine,) = (pid for pid in children(os.getpid()) if _is_engine(pid, tmp_path / "store"))
    log = next((tmp_path / "store").glob("changes-*.log"))
    limit = log.stat().st_size + 100
    resource.prlimit(engine, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    with pytest.raises(StorageFull, match="no space left"):
        store.run(store.store.commit, Delta(adds=(quad(2),)))
    assert log.stat().st_size <= limit  # nothing half-written stays
    resource.prlimit(
        engine, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    )
    store.run(store.store.commit, Delta(adds=(quad(3),)))
    store.close()
    again: SyncStore = open_test_store(tmp_path / "store")
    rows = again.select(f"SELECT ?s WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}")
    assert sorted(str(r["s"]) for r in rows) == ["urn:x-ops:1", "urn:x-ops:3"]


def _is_engine(pid: int, data_dir: Path) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"ijkg.graph.store.engine" in command and str(data_dir).encode() in command


# --- a read-only data directory -----------------------------------------------------------------


@pytest.mark.embedded
def test_a_read_only_data_directory_stops_the_commands_with_one_sentence(tmp_path: Path) -> None:
    store = tmp_path / "store"
    made = run_ijkg("init", data_dir=store)
    assert made.returncode == 0, made.stderr
    files = {p.name: p.stat().st_mtime_ns for p in store.iterdir()}
    with read_only(store):
        for command in (["serve", "--port", "9"], ["query", "ASK { ?s ?p ?o }"], ["export"]):
            done = run_ijkg(*command, data_dir=store)
            assert done.returncode == 2, (command, done.stdout, done.stderr)
            assert "read-only or not writable" in done.stderr, done.stderr
            assert "Traceback" not in done.stdout + done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in store.iterdir()} == files


@pytest.mark.embedded
def test_a_directory_that_turns_read_only_fails_snapshots_not_writes(tmp_path: Path) -> None:
    """The change log stays open for writing, so acknowledged writes go on landing in it; a
    snapshot needs new files and fails: /health says so, and nothing is lost or left behind."""
    store = tmp_path / "store"
    server = serve(store, tmp_path / "server.log", IJKG_SNAPSHOT_EVERY_MB="3")
    acknowledged = set()
    try:
        with server.client() as client, read_only(store):
            # Past 3 MB of log (the bundle is about 2 MB), a snapshot is due after the commit.
            for i in range(2):
                assert write(client, f"ro-{i}", size=600_000).status_code == 200
                acknowledged.add(f"ro-{i}")
            state = health(client)
            assert state["status"] == "degraded", state
            assert any("snapshots fail" in p and "Read-only" in p for p in state["problems"])
            assert state["store"]["writable"] is True
            assert not list(store.glob("*.partial"))
        with server.client() as client:
            # Writable again: the next snapshot succeeds and the service is healthy.
            for i in range(2, 4):
                assert write(client, f"ro-{i}", size=600_000).status_code == 200
                acknowledged.add(f"ro-{i}")
            assert health(client)["status"] == "ok"
            assert list(store.glob("snapshot-*.nq"))
    finally:
        stop_server(server)
    server = serve(store, tmp_path / "server-2.log")
    try:
        with server.client() as client:
            assert markers(client) == acknowledged
    finally:
        stop_server(server)


# --- the engine dies ------------------------------------------------------------------------------


@pytest.fixture
def disposable(tmp_path: Path) -> Iterator[Server]:
    server = serve(tmp_path / "store", tmp_path / "server.log")
    yield server
    stop_server(server)


@pytest.mark.embedded
def test_health_says_unavailable_when_the_store_engine_is_gone(disposable: Server) -> None:
    engine = engine_of(disposable.process.pid)
    os.kill(engine, signal.SIGKILL)
    deadline = time.monotonic() + 10
    with disposable.client() as client:
        while (state := health(client))["http_status"] != 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (state["http_status"], state["status"]) == (503, "unavailable"), state
        assert "does not answer" in state["problems"][0]
        problem(write(client, "lost"), 503, "store-unavailable")
        assert disposable.alive()  # the service answers, and says what is wrong
        # Liveness knows it without asking the store: the engine process exited.
        live = client.get("/health")
        assert (live.status_code, live.json()["status"]) == (503, "unavailable"), live.text
        assert "engine stopped" in live.json()["problems"][0]


@pytest.mark.embedded
def test_liveness_asks_nothing_of_the_store(disposable: Server) -> None:
    engine = engine_of(disposable.process.pid)
    os.kill(engine, signal.SIGSTOP)  # the engine answers nothing until it is continued
    try:
        with disposable.client() as client:
            live = client.get("/health", timeout=5)
            assert (live.status_code, live.json()["status"]) == (200, "ok"), live.text
            assert live.json()["worker"] == disposable.process.pid
            with pytest.raises(httpx.TimeoutException):
                client.get("/health/ready", timeout=1)
    finally:
        os.kill(engine, signal.SIGCONT)
    with disposable.client() as client:
        assert health(client)["status"] == "ok"


# --- logs and request ids -------------------------------------------------------------------------


def test_logs_are_json_lines_with_request_ids_and_no_tokens(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = serve(tmp_path / "store", log, IJKG_LOG_FORMAT="json", IJKG_FSYNC="false")
    try:
        with server.client() as client:
            started = time.perf_counter()
            echoed = client.get("/health", headers={"X-Request-Id": "trace-4711"})
            round_trip_ms = (time.perf_counter() - started) * 1000
            assert echoed.headers["x-request-id"] == "trace-4711"
            made = client.get("/health").headers["x-request-id"]
            assert re.fullmatch("[0-9a-f]{32}", made), made
            assert client.get("/health").headers["x-request-id"] != made  # one per request
            for bad in ("has spaces", "x" * 200, "semi;colon"):
                replaced = client.get("/health", headers={"X-Request-Id": bad})
                assert replaced.headers["x-request-id"] != bad
            missing = client.get("/id/state/atlantis", headers={"X-Request-Id": "trace-404"})
            assert missing.status_code == 404 and missing.json()["requestId"] == "trace-404"
            assert write(client, "logged").status_code == 200
            refused = client.post(
                "/update",
                content="INSERT DATA { }",
                headers={"Authorization": "Bearer not-the-token-0815"},
            )
            assert refused.json()["requestId"] == refused.headers["x-request-id"]
    finally:
        stop_server(server)
    text = log.read_text()
    assert TOKEN not in text and "not-the-token-0815" not in text
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests = [e for e in entries if e["logger"] == "ijkg.request"]
    assert {"time", "level", "message"} <= set(entries[0])
    traced = [e for e in requests if e.get("request_id") == "trace-4711"]
    assert len(traced) == 1
    assert (traced[0]["method"], traced[0]["path"], traced[0]["status"]) == ("GET", "/health", 200)
    # The server's time, in milliseconds (rounded to 0.1), lies within the client's round trip.
    duration = traced[0]["duration_ms"]
    assert type(duration) is float and 0 < duration <= round_trip_ms + 0.05, duration
    assert traced[0]["bytes"] == len(echoed.content) > 0
    assert any(e.get("request_id") == "trace-404" and e["status"] == 404 for e in requests)
    assert any(e["path"] == "/update" and e["status"] == 200 for e in requests)
    # Every line but the start-up banner on stdout is a JSON object.
    others = [line for line in text.splitlines() if line and not line.startswith("{")]
    assert [line for line in others if not line.startswith("ijkg: serving")] == []
