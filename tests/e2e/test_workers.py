"""Stateless service workers over an external store: two processes behind one port share the
graph, its version and its write serialisation through the store, not through memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.net import free_port
from tests.oxigraph_server import OxigraphServer, start_oxigraph

pytestmark = pytest.mark.slow  # starts real servers of its own

TOKEN = {"Authorization": "Bearer w-secret"}
JAPAN = "https://w3id.org/ijkg/id/state/japan"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, OxigraphServer]]:
    root = tmp_path_factory.mktemp("workers")
    oxigraph = start_oxigraph(root / "oxigraph")
    port = free_port()
    env = {
        **os.environ,
        "IJKG_STORE": "sparql",
        "IJKG_SPARQL_QUERY_URL": oxigraph.query_url,
        "IJKG_SPARQL_UPDATE_URL": oxigraph.update_url,
        "IJKG_WRITE_TOKENS": "writer=w-secret",
    }
    log = (root / "serve.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ijkg.service",
            "serve",
            "--workers",
            "2",
            "--port",
            str(port),
            "--data-dir",
            str(root / "run"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError((root / "serve.log").read_text())
    yield base, oxigraph
    process.terminate()
    process.wait(timeout=30)
    oxigraph.stop()
    log.close()


def workers_seen(base: str, tries: int = 200) -> set[int]:
    seen: set[int] = set()
    for _ in range(tries):
        with httpx.Client(base_url=base) as fresh:  # a new connection may land on another worker
            seen.add(fresh.get("/health").json()["worker"])
        if len(seen) >= 2:
            break
    return seen


def labels(base: str) -> list[str]:
    query = f"SELECT ?l WHERE {{ <{JAPAN}> <{LABEL}> ?l }}"
    with httpx.Client(base_url=base) as fresh:
        answer = fresh.get(
            "/sparql",
            params={"query": query},
            headers={"Accept": "application/sparql-results+json"},
        )
    return [b["l"]["value"] for b in answer.json()["results"]["bindings"]]


def propose_rename(client: httpx.Client, name: str) -> str:
    body = {
        "title": f"rename Japan to {name}",
        "remove": {"format": "application/n-triples", "data": f'<{JAPAN}> <{LABEL}> "Japan"@en .'},
        "add": {"format": "application/n-triples", "data": f'<{JAPAN}> <{LABEL}> "{name}"@en .'},
    }
    answer = client.post(
        "/changes", content=json.dumps(body), headers={**TOKEN, "Content-Type": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_two_workers_answer_behind_one_port(two_workers: tuple[str, OxigraphServer]) -> None:
    base, _ = two_workers
    assert len(workers_seen(base)) == 2


def test_a_merge_through_one_worker_is_seen_through_every_worker(
    two_workers: tuple[str, OxigraphServer],
) -> None:
    base, _ = two_workers
    with httpx.Client(base_url=base, timeout=60) as client:
        change = propose_rename(client, "Nippon")
        merged = client.post(f"/changes/{change}/merge", headers=TOKEN)
        assert merged.status_code == 200, merged.text
    answers: dict[int, list[str]] = {}
    for _ in range(200):
        with httpx.Client(base_url=base) as fresh:
            worker = fresh.get("/health").json()["worker"]
        answers.setdefault(worker, labels(base))
        if len(answers) == 2:
            break
    assert len(answers) == 2
    assert all(found == ["Nippon"] for found in answers.values()), answers
    with httpx.Client(base_url=base, timeout=60) as client:
        assert client.post(f"/changes/{change}/revert", headers=TOKEN).status_code == 200


def test_concurrent_conflicting_merges_through_two_workers_are_serialised(
    two_workers: tuple[str, OxigraphServer],
) -> None:
    base, _ = two_workers
    with httpx.Client(base_url=base, timeout=60) as client:
        first, second = propose_rename(client, "Japan (A)"), propose_rename(client, "Japan (B)")
    outcomes: list[int] = []

    def merge(change: str) -> None:
        with httpx.Client(base_url=base, timeout=60) as own:
            outcomes.append(own.post(f"/changes/{change}/merge", headers=TOKEN).status_code)

    threads = [threading.Thread(target=merge, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One lands; the other is refused: 409 if it lost the race on the version, 422 if it was
    # validated after the first and would give Japan two English labels.
    assert sorted(outcomes)[0] == 200 and sorted(outcomes)[1] in (409, 422), outcomes
    assert len(labels(base)) == 1


def test_concurrent_transitions_through_two_workers_land_once(
    two_workers: tuple[str, OxigraphServer],
) -> None:
    """Merges and rejections of one proposal, then reverts of the merged change, sent at the same
    moment through both workers (each on its own connection): exactly one of each lands, the
    others get 409, and the history holds one status and one revert."""
    base, _ = two_workers
    triple = '<https://example.org/race> <https://example.org/p> "x" .'

    def propose(client: httpx.Client) -> str:
        answer = client.post(
            "/changes",
            params={"title": "a race"},
            content=triple,
            headers={**TOKEN, "Content-Type": "application/n-triples"},
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    with httpx.Client(base_url=base, timeout=60) as client:
        change = propose(client)

    def race(paths: list[str]) -> list[int]:
        barrier = threading.Barrier(len(paths))
        outcomes: list[int] = []

        def post(path: str) -> None:
            with httpx.Client(base_url=base, timeout=60) as own:
                barrier.wait(30)
                outcomes.append(own.post(path, headers=TOKEN).status_code)

        threads = [threading.Thread(target=post, args=(p,)) for p in paths]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        return sorted(outcomes)

    closing = race([f"/changes/{change}/{a}" for a in ["merge", "reject"] * 4])
    assert closing == [200] + [409] * 7, closing
    with httpx.Client(base_url=base, timeout=60) as client:
        status = client.get(f"/changes/{change}").json()["status"]
        if status == "rejected":  # merge it through a new proposal, to race its reverts
            change = propose(client)
            assert client.post(f"/changes/{change}/merge", headers=TOKEN).status_code == 200
    reverts = race([f"/changes/{change}/revert"] * 6)
    assert reverts == [200] + [409] * 5, reverts
    with httpx.Client(base_url=base, timeout=60) as client:
        listed = client.get("/changes", params={"limit": 500}).json()
        assert len([c for c in listed if c["reverts"] == change]) == 1
        answer = client.get("/sparql", params={"query": f"ASK {{ {triple[:-2]} }}"})
        assert answer.json()["boolean"] is False
