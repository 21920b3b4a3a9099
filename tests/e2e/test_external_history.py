"""An external store's history, end to end: merges and reverts over HTTP on a real ``ijkg serve``
each leave the exact record of their version in the store (who, why, which change, the quads), and
the records stay out of everything but the history (queries of the default graph, exports)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import BlockingPortal

from ijkg.graph.core.namespaces import SYSTEM_GRAPH
from ijkg.graph.io.backup import named_quads
from ijkg.graph.store.remote import SparqlStore
from ijkg.graph.store.remote_history import RECORD_PREFIX
from tests.conftest import (
    TEST_STORE,
    Server,
    SyncStore,
    run_ijkg,
    start_server,
    stop_server,
    store_settings,
)
from tests.e2e.test_curator import ADMIN, ADMIN_TOKENS, TOKEN, WRITE_TOKENS, agreement

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(TEST_STORE != "sparql", reason="the history an external store keeps"),
]


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[Server]:
    server = start_server(
        tmp_path / "store",
        tmp_path / "server.log",
        {
            "IJKG_WRITE_TOKENS": WRITE_TOKENS,
            "IJKG_ADMIN_TOKENS": ADMIN_TOKENS,
            "IJKG_FSYNC": "false",
        },
    )
    yield server
    stop_server(server)


def test_merges_and_reverts_leave_exact_records(
    writable: Server, portal: BlockingPortal, tmp_path: Path
) -> None:
    settings = store_settings(writable.data_dir)
    store = SyncStore(portal, portal.call(SparqlStore.open, settings), settings)
    try:
        start = store.run(store.store.version)
        before = set(store.run(named_quads, store.store))
        with writable.client() as client:
            proposed = client.post(
                "/changes",
                params={"title": "Semiconductor MoC", "source": "https://example.org/moc"},
                content=agreement('"2025-08-29"^^<http://www.w3.org/2001/XMLSchema#date>'),
                headers={**TOKEN, "Content-Type": "text/turtle"},
            )
            assert proposed.status_code == 201, proposed.text
            change = proposed.json()["id"]
            merged = client.post(f"/changes/{change}/merge", headers=TOKEN)
            assert merged.status_code == 200, merged.text
            reverted = client.post(f"/changes/{change}/revert", headers=TOKEN)
            assert reverted.status_code == 200, reverted.text
            head = client.get("/health/ready").json()["store"]["version"]
            records = client.get(
                "/sparql",
                params={
                    "query": f'ASK {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{RECORD_PREFIX}")) }}'
                },
                headers={"Accept": "application/sparql-results+json"},
            )
            assert records.json()["boolean"] is False  # not in the default graph

        first, last = store.run(store.store.version_range)
        assert first <= start and last == head
        versions = store.run(lambda: store.store.history(after=start))
        assert [v.version for v in versions] == list(range(start + 1, head + 1))
        merge = next(v for v in versions if v.change == change)
        assert (merge.who, merge.why) == ("curator", "Semiconductor MoC")
        assert merge.added > 0 and merge.time is not None
        assert versions[-1].who == "curator"  # the revert

        # Undoing every recorded patch from the head gives back the graph as it was.
        now = set(store.run(named_quads, store.store))
        assert versions[-1].quads == len(now)
        for version in reversed(versions):
            patch = store.run(store.store.patch, version.version)
            now = (now - set(patch.adds)) | set(patch.removes)
        assert now == before

        # A backup leaves the records out.
        exported = run_ijkg("export", data_dir=writable.data_dir)
        assert exported.returncode == 0, exported.stderr
        assert RECORD_PREFIX not in exported.stdout
        assert exported.stdout.count("\n") == store.run(store.store.stats).quads
    finally:
        store.close()


@pytest.mark.parametrize(
    "update",
    [
        f"DELETE WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ <{RECORD_PREFIX}1> ?p ?o }} }}",
        f"INSERT DATA {{ GRAPH <{SYSTEM_GRAPH}> {{ <{RECORD_PREFIX}99> <{SYSTEM_GRAPH}#reason> "
        '"forged" } }',
        f"CLEAR GRAPH <{SYSTEM_GRAPH}>",
    ],
)
def test_no_one_writes_the_records(writable: Server, portal: BlockingPortal, update: str) -> None:
    settings = store_settings(writable.data_dir)
    store = SyncStore(portal, portal.call(SparqlStore.open, settings), settings)
    try:
        before = store.run(store.store.patch, 1)
        with writable.client() as client:
            refused = client.post(
                "/update",
                content=update,
                headers={**ADMIN, "Content-Type": "application/sparql-update"},
            )
            assert refused.status_code == 403, refused.text
        assert store.run(store.store.patch, 1) == before
        assert store.run(store.store.version_range) == (0, before.info.version)
    finally:
        store.close()
