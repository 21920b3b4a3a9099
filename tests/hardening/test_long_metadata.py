"""A merged change with a long title, then more writes, then a restart — clean (SIGTERM) and
killed (SIGKILL): every acknowledged write is there afterwards, the long title included. (Before,
the log's record header was read with a 64 KiB limit, and the store came back at the version
before the long title, with /health ok.) A title now has at most ``MAX_TITLE_CHARS`` characters,
so the 5,500 emoji that reached that limit are refused at the door (400): the title here is the
longest one accepted. That records of any length read back is held by the doctests of
``ijkg.graph.store.changelog`` (a record with a 20,000-emoji title)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ijkg.graph.curation.changes import MAX_TITLE_CHARS
from tests.conftest import Server, start_server, stop_server

TOKEN = {"Authorization": "Bearer curator-secret"}
ENV = {"IJKG_WRITE_TOKENS": "curator=curator-secret", "IJKG_FSYNC": "false"}
#: The longest title accepted, in emoji (12 bytes each once JSON escapes them).
LONG_TITLE = "\U0001f38c" * MAX_TITLE_CHARS
#: 5,500 emoji: 66,000 bytes once JSON escapes them, past the old reader's 64 KiB header limit.
TOO_LONG_TITLE = "\U0001f38c" * 5_500


def agreement(n: int) -> str:
    return f"""
@prefix ijkg: <https://w3id.org/ijkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/ijkg/id/agreement/long-title-test-{n}> a ijkg:Agreement ;
    rdfs:label "Memorandum of Cooperation number {n} (test)"@en ;
    prov:wasDerivedFrom <https://w3id.org/ijkg/id/source/india-japan-new-chapter> ;
    ijkg:party <https://w3id.org/ijkg/id/state/india>, <https://w3id.org/ijkg/id/state/japan> ;
    ijkg:coversSector <https://w3id.org/ijkg/id/sector/semiconductors> ;
    ijkg:publicationDate "2025-08-29"^^xsd:date .
"""


def write(client: httpx.Client, n: int, title: str) -> tuple[str, int]:
    """Propose and merge agreement ``n``; its change id and the version after the merge."""
    proposed = client.post(
        "/changes",
        json={"title": title, "add": {"format": "text/turtle", "data": agreement(n)}},
        headers=TOKEN,
    )
    assert proposed.status_code == 201, proposed.text[:500]
    change_id = proposed.json()["id"]
    merged = client.post(f"/changes/{change_id}/merge", headers=TOKEN)
    assert merged.status_code == 200, merged.text[:500]
    return change_id, int(merged.json()["merge"]["versionAfter"])


def present(client: httpx.Client) -> set[int]:
    answer = client.get(
        "/sparql",
        params={
            "query": "SELECT ?a WHERE { ?a a <https://w3id.org/ijkg/ontology#Agreement> "
            "FILTER(STRSTARTS(STR(?a), 'https://w3id.org/ijkg/id/agreement/long-title-test-')) }"
        },
        headers={"Accept": "application/sparql-results+json"},
    )
    assert answer.status_code == 200, answer.text
    return {
        int(row["a"]["value"].rsplit("-", 1)[1]) for row in answer.json()["results"]["bindings"]
    }


def engine_pid(data_dir: Path) -> int | None:
    lock = data_dir / "LOCK"
    return int(lock.read_text()) if lock.exists() and lock.read_text().strip() else None


def kill(server: Server) -> None:
    """SIGKILL the service; wait until its store engine (which dies with it) is gone too."""
    engine = engine_pid(server.data_dir)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=30)
    deadline = time.monotonic() + 60
    while engine is not None and time.monotonic() < deadline:
        try:
            os.kill(engine, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def terminate(server: Server) -> None:
    server.process.terminate()
    server.process.wait(timeout=120)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started[:-1]:
        with contextlib.suppress(ProcessLookupError):
            server.process.kill()
        server.process.wait()
    if started:
        stop_server(started[-1])


@pytest.mark.timeout(600)
def test_writes_after_a_long_title_survive_a_clean_restart_and_a_kill(
    tmp_path: Path, servers: list[Server]
) -> None:
    data_dir = tmp_path / "store"

    def start(name: str) -> Server:
        servers.append(start_server(data_dir, tmp_path / f"{name}.log", ENV))
        return servers[-1]

    server = start("first")
    with server.client() as client:
        refused = client.post(
            "/changes",
            json={"title": TOO_LONG_TITLE, "add": {"format": "text/turtle", "data": agreement(0)}},
            headers=TOKEN,
        )
        assert refused.status_code == 400, refused.text[:500]
        assert "title" in refused.json()["detail"]
        long_id, _ = write(client, 1, LONG_TITLE)
        for n in (2, 3, 4):
            _, version = write(client, n, f"change {n}")
        assert present(client) == {1, 2, 3, 4}
    expected = {1, 2, 3, 4}

    for restart, stop in (("after-sigterm", terminate), ("after-sigkill", kill)):
        stop(server)
        server = start(restart)
        with server.client() as client:
            health = client.get("/health/ready").json()
            assert health["status"] == "ok"
            assert health["store"]["version"] == version, restart
            assert present(client) == expected, restart
            assert client.get(f"/changes/{long_id}").json()["title"] == LONG_TITLE
            # and the store goes on taking writes that survive the next restart
            n = 10 + len(servers)
            _, version = write(client, n, "after a restart")
            expected.add(n)
    stop(server)
    server = start("last")
    with server.client() as client:
        assert client.get("/health/ready").json()["store"]["version"] == version
        assert present(client) == expected == {1, 2, 3, 4, 12, 13}
