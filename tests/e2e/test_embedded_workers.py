"""Several service processes on one embedded store (``ijkg serve --workers 2``): both answer, they
share one engine, its version and its limits, and nothing outlives the command.

Each process's answers name it (``/health``'s ``worker``, its pid); a new connection may land on
either, so the tests open one per request until both have answered.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, run_ijkg, start_server, stop_server
from tests.hostile.procs import children

pytestmark = [pytest.mark.slow, pytest.mark.embedded]  # real servers on the embedded store

TOKEN = "procs-writer-token"  # noqa: S105 - a test server's token
WRITE = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
TIMEOUT_S = 3.0
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?o ?q }"
SUBJECT = "https://example.org/procs/thing"
LABEL = "https://example.org/procs/value"
RESULTS = "application/sparql-results+json"


def serve_two(root: Path, **env: str) -> Server:
    settings = {
        "IJKG_FSYNC": "false",
        "IJKG_WRITE_TOKENS": f"tester={TOKEN}",
        "IJKG_QUERY_TIMEOUT_S": str(TIMEOUT_S),
        **env,
    }
    return start_server(root / "store", root / "server.log", settings, workers=2)


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Two service processes, one query running or waiting at a time across both."""
    server = serve_two(tmp_path_factory.mktemp("two"), IJKG_MAX_CONCURRENT_QUERIES="1")
    yield server
    stop_server(server)


def answered_by(server: Server, path: str, **params: str) -> tuple[int, httpx.Response]:
    """The pid of the process that answered ``/health`` on a new connection, and the answer to
    ``path`` on that same connection (a connection stays with its process)."""
    with server.client() as client:
        pid = int(client.get("/health").json()["worker"])
        return pid, client.get(path, params=params, headers={"Accept": RESULTS})


def engine_of(server: Server) -> list[int]:
    return [
        pid
        for pid in children(server.process.pid)
        if b"ijkg.graph.store.engine" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def label(server: Server) -> tuple[int, list[str]]:
    query = f"SELECT ?l WHERE {{ <{SUBJECT}> <{LABEL}> ?l }}"
    pid, answer = answered_by(server, "/sparql", query=query)
    assert answer.status_code == 200, answer.text
    return pid, [b["l"]["value"] for b in answer.json()["results"]["bindings"]]


def set_label(server: Server, value: str) -> int:
    update = (
        f'DELETE {{ <{SUBJECT}> <{LABEL}> ?old }} INSERT {{ <{SUBJECT}> <{LABEL}> "{value}" }} '
        f"WHERE {{ OPTIONAL {{ <{SUBJECT}> <{LABEL}> ?old }} }}"
    )
    with server.client() as client:
        pid = int(client.get("/health").json()["worker"])
        written = client.post("/update", content=update, headers=WRITE)
    assert written.status_code == 200, written.text
    return pid


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            found.add(child)
            todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` that still run (a zombie has ended: its parent has not reaped it)."""
    running = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            running.add(pid)
    return running


def wait_gone(pids: set[int], timeout_s: float = 20) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


def test_both_processes_answer_and_share_one_engine(two: Server) -> None:
    seen = {answered_by(two, "/health")[0] for _ in range(100)}
    assert len(seen) == 2
    assert seen <= set(children(two.process.pid))
    assert (
        len(engine_of(two)) == 1
    )  # the supervisor's child, shared; no service process has its own
    assert not any(
        b"ijkg.graph.store.engine" in Path(f"/proc/{c}/cmdline").read_bytes()
        for pid in seen
        for c in children(pid)
    )


def test_a_write_in_one_process_is_read_in_the_other_at_once(two: Server) -> None:
    crossed = 0
    for n in range(30):
        writer = set_label(two, f"value {n}")
        reader, found = label(two)
        assert found == [f"value {n}"], (n, writer, reader)
        crossed += writer != reader
    assert crossed  # some reads were answered by the other process


def test_a_version_reads_the_same_through_either_process(two: Server) -> None:
    """Each process rewinds its own query workers to the version asked for; both give the graph
    as it was, whoever made the commits after it."""
    set_label(two, "as cited")
    with two.client() as client:
        cited = int(client.get("/health/ready").json()["store"]["version"])
    for n in range(3):
        set_label(two, f"later {n}")
    query = f"SELECT ?l WHERE {{ <{SUBJECT}> <{LABEL}> ?l }}"
    answers: dict[int, list[str]] = {}
    while len(answers) < 2:
        pid, answer = answered_by(two, "/sparql", query=query, version=str(cited))
        assert answer.status_code == 200, answer.text
        answers[pid] = [b["l"]["value"] for b in answer.json()["results"]["bindings"]]
    assert list(answers.values()) == [["as cited"], ["as cited"]], answers
    assert label(two)[1] == ["later 2"]  # and the head is the head again, in either


def cache_hits(server: Server) -> dict[int, float]:
    """Answer-cache hits of each process, by pid, from its ``/metrics``."""
    hits: dict[int, float] = {}
    for _ in range(100):
        pid, answer = answered_by(server, "/metrics")
        hits[pid] = next(
            float(line.rsplit(" ", 1)[1])
            for line in answer.text.splitlines()
            if line.startswith('ijkg_sparql_query_cache_total{result="hit"}')
        )
        if len(hits) == 2:
            return hits
    pytest.fail("one process never answered")


def test_a_cached_answer_gives_way_to_a_write_in_the_other_process(two: Server) -> None:
    set_label(two, "before")
    before = cache_hits(two)
    readers: dict[int, int] = {}
    while len(readers) < 2 or min(readers.values()) < 3:  # each process answers from its cache
        pid, found = label(two)
        assert found == ["before"]
        readers[pid] = readers.get(pid, 0) + 1
    hits = cache_hits(two)
    assert all(hits[pid] - before.get(pid, 0) >= 2 for pid in hits), (before, hits)
    for n in range(10):
        writer = set_label(two, f"after {n}")
        seen: set[int] = set()
        while len(seen) < 2:  # both processes, their cached answer outdated by the write
            reader, found = label(two)
            assert found == [f"after {n}"], (n, writer, reader)
            seen.add(reader)


def test_the_concurrency_cap_holds_across_processes(two: Server) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(answered_by, two, "/sparql", query=CARTESIAN)
        time.sleep(1.0)  # the long query holds the one slot now
        refused: dict[int, int] = {}
        while not slow.done() and len(refused) < 2:
            pid, answer = answered_by(two, "/sparql", query="ASK { ?s ?p ?o }")
            refused[pid] = answer.status_code
        slow_pid, stopped = slow.result()
    assert len(refused) == 2, refused  # each process refused while the other (or it) ran one
    assert set(refused.values()) == {503}, refused
    assert stopped.status_code == 503
    assert stopped.json()["type"].endswith("/query-timeout")  # stopped at its time limit
    # The killed worker is replaced: the process that ran the long query answers again.
    for _ in range(100):
        pid, answer = answered_by(two, "/sparql", query="ASK { ?s ?p ?o }")
        if pid == slow_pid:
            assert answer.status_code == 200, answer.text
            assert answer.json()["boolean"] is True
            break
    else:
        pytest.fail("the process that ran the long query did not answer again")


def test_shutdown_leaves_no_process_and_keeps_every_commit(tmp_path: Path) -> None:
    server = serve_two(tmp_path)
    for n in range(5):
        set_label(server, f"kept {n}")
    processes = descendants(server.process.pid)
    assert len(processes) >= 5  # two services, the engine, query workers, validation workers
    stop_server(server)
    assert server.process.returncode == 0, server.log.read_text()
    assert not wait_gone(processes)
    again = start_server(tmp_path / "store", tmp_path / "again.log", {"IJKG_FSYNC": "false"})
    try:
        assert label(again)[1] == ["kept 4"]
    finally:
        stop_server(again)


def test_a_killed_supervisor_leaves_no_process_behind(tmp_path: Path) -> None:
    server = serve_two(tmp_path)
    set_label(server, "before the kill")
    processes = descendants(server.process.pid)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    assert not wait_gone(processes)
    with pytest.raises(httpx.TransportError):
        httpx.get(server.base_url + "/health", timeout=2)
    # The store opens again (its lock was released with the engine) with the commit.
    again = start_server(tmp_path / "store", tmp_path / "again.log", {"IJKG_FSYNC": "false"})
    try:
        assert label(again)[1] == ["before the kill"]
    finally:
        stop_server(again)


def test_a_store_another_process_holds_is_refused_before_any_process_starts(
    two: Server,
) -> None:
    (engine,) = engine_of(two)
    done = run_ijkg("serve", "--workers", "2", "--port", "9", data_dir=two.data_dir)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"in use by process {engine}" in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_the_command_outlives_the_shell_that_started_it(tmp_path: Path) -> None:
    """``ijkg serve`` started in the background by a shell that then ends (a login session that
    closes) goes on serving: only the processes it starts die with their parent."""
    shell = start_server(
        tmp_path / "store",
        tmp_path / "server.log",
        {"IJKG_FSYNC": "false"},
        workers=2,
        through_shell=True,
    )
    (supervisor,) = children(shell.process.pid)
    processes = descendants(supervisor) | {supervisor}
    os.kill(shell.process.pid, signal.SIGKILL)
    shell.process.wait()
    time.sleep(1)
    assert httpx.get(shell.base_url + "/health", timeout=10).status_code == 200
    assert alive({supervisor})
    os.kill(supervisor, signal.SIGTERM)
    assert not wait_gone(processes, 60)


def test_every_process_says_when_the_shared_engine_is_gone(tmp_path: Path) -> None:
    server = serve_two(tmp_path)
    try:
        (engine,) = engine_of(server)
        os.kill(engine, signal.SIGKILL)
        answers: dict[int, httpx.Response] = {}
        for _ in range(100):
            with server.client() as client:
                answer = client.get("/health")
            answers[int(answer.json()["worker"])] = answer
            if len(answers) == 2:
                break
        assert len(answers) == 2
        for answer in answers.values():
            assert answer.status_code == 503, answer.text
            assert "the store engine stopped" in answer.json()["problems"], answer.text
    finally:
        stop_server(server)
