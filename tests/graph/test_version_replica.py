"""Older versions of an external store, answered from a local replica: the files it is rebuilt
from, and queries at a version on a real Oxigraph server that do not change as the graph does."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from anyio.from_thread import BlockingPortal

from ijkg.graph.core import errors
from ijkg.graph.core.settings import Settings
from ijkg.graph.store import remote_history, union
from ijkg.graph.store.base import Delta, Patch, QueryLimits, VersionInfo
from ijkg.graph.store.changelog import recover, snapshot_path
from ijkg.graph.store.remote import SparqlStore
from ijkg.graph.store.slots import SharedSlots
from ijkg.graph.store.version_replica import REPLICAS, write_history
from tests.conftest import SyncStore
from tests.oxigraph_server import OxigraphServer, start_oxigraph

G = ox.NamedNode("https://example.org/g")
H = ox.NamedNode("https://example.org/h")
P = ox.NamedNode("https://example.org/p")
QUERY = "SELECT ?s ?o WHERE { ?s <https://example.org/p> ?o } ORDER BY ?s ?o"


def quad(i: int, graph: ox.NamedNode = G) -> ox.Quad:
    return ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), P, ox.Literal(str(i)), graph)


def _patch(version: int, removes: tuple[ox.Quad, ...], adds: tuple[ox.Quad, ...]) -> Patch:
    info = VersionInfo(version, "2026-01-01T00:00:00.000Z", "who", "why", None, 0, 0, None)
    return Patch(info, removes, adds)


def _named(store: ox.Store) -> set[ox.Quad]:
    return {q for q in store if union.is_named(q)}


def test_the_files_hold_the_first_version_and_recover_to_the_head(tmp_path: Path) -> None:
    # Versions 3..6 of a graph whose history before 3 was not recorded; s1 is in two graphs,
    # so the union copy must keep it when one of them loses it.
    at_3 = {quad(1), quad(1, H), quad(2)}
    patches = [
        _patch(4, (quad(1),), (quad(3),)),
        _patch(5, (), (quad(4), quad(5, H))),
        _patch(6, (quad(2), quad(5, H)), (quad(1),)),
    ]
    head = {quad(1), quad(1, H), quad(3), quad(4)}
    write_history(tmp_path, sorted(head, key=str), 3, patches)

    snapshot = ox.Store()
    snapshot.bulk_extend(
        ox.parse(path=str(snapshot_path(tmp_path, 3)), format=ox.RdfFormat.N_QUADS)
    )
    assert _named(snapshot) == at_3
    assert len(snapshot) - len(at_3) == 2  # the union: s1 once, s2

    store = ox.Store()
    recovered = recover(tmp_path, store)
    assert (recovered.version, recovered.records_replayed) == (6, 3)
    assert _named(store) == head
    assert len(store) - len(head) == 3  # s1 once, s3, s4


@pytest.fixture
def oxigraph() -> Iterator[OxigraphServer]:
    server = start_oxigraph()
    yield server
    server.stop()


def remote(
    portal: BlockingPortal, server: OxigraphServer, data_dir: Path, **settings: object
) -> SyncStore:
    config = Settings(
        store="sparql",
        data_dir=data_dir,
        sparql_query_url=server.query_url,
        sparql_update_url=server.update_url,
        query_timeout_s=5,
        query_workers=1,
        **settings,  # type: ignore[arg-type]
    )
    return SyncStore(portal, portal.call(SparqlStore.open, config), config)


def answer(store: SyncStore, version: int | None) -> bytes:
    found = store.run(lambda: store.store.query(QUERY, at_version=version))
    assert found.version == (version if version is not None else found.version)
    return found.body


def rows(body: bytes) -> list[dict[str, dict[str, str]]]:
    found: list[dict[str, dict[str, str]]] = json.loads(body)["results"]["bindings"]
    return found


@pytest.mark.slow
def test_a_query_at_a_version_is_unchanged_by_later_merges_reverts_and_restarts(
    portal: BlockingPortal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote_history, "PAGE", 3)  # patches are read a page at a time
    oxigraph = start_oxigraph(tmp_path / "oxigraph")  # on disk: it is restarted below
    try:
        pinned = _merges_and_a_revert(portal, oxigraph, tmp_path)
        # Both sides restart: the store, and the service (a new replica in a new process).
        oxigraph.restart()
        again = remote(portal, oxigraph, tmp_path)
        try:
            assert answer(again, 2) == pinned
            with pytest.raises(errors.VersionNotFound, match="versions 0 to 4 can be read"):
                answer(again, 5)
            with pytest.raises(errors.VersionNotFound, match="versions 0 to 4 can be read"):
                answer(again, -1)
        finally:
            again.close()
    finally:
        oxigraph.stop()


def _merges_and_a_revert(portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path) -> bytes:
    """Four versions, with queries at them along the way; the answer at version 2."""
    store = remote(portal, oxigraph, tmp_path)
    try:
        store.run(store.store.commit, Delta(adds=(quad(1), quad(2), quad(2, H))))
        store.run(store.store.commit, Delta(removes=(quad(1),), adds=(quad(3),)))
        at_head = answer(store, None)
        pinned = answer(store, 2)
        assert json.loads(pinned) == json.loads(at_head)
        # The default graph is the union as a set: s2, in two graphs, once.
        assert [row["s"]["value"][-2:] for row in rows(answer(store, 1))] == ["s1", "s2"]
        assert rows(answer(store, 0)) == []

        # Later merges, and a revert of version 2 (its patch undone as a new version).
        store.run(store.store.commit, Delta(removes=(quad(2), quad(2, H)), adds=(quad(4),)))
        two = store.run(store.store.patch, 2)
        store.run(store.store.commit, Delta(removes=two.adds, adds=two.removes))
        assert store.run(store.store.version) == 4
        assert answer(store, 2) == pinned  # caught up, not rebuilt: the same bytes
        assert json.loads(answer(store, 4)) == json.loads(answer(store, None))
        assert answer(store, 4) != pinned
        return pinned
    finally:
        store.close()


@pytest.mark.slow
def test_versions_can_be_turned_off(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path, version_replica=False)
    try:
        store.run(store.store.commit, Delta(adds=(quad(1),)))
        with pytest.raises(errors.VersionsUnsupported, match="IJKG_VERSION_REPLICA"):
            answer(store, 0)
        assert store.run(store.store.patch, 1).adds == (quad(1),)  # the history is still kept
    finally:
        store.close()


@pytest.mark.slow
def test_a_query_at_a_version_obeys_the_limits_of_any_query(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path, max_concurrent_queries=1, max_result_rows=2)
    try:
        store.run(store.store.commit, Delta(adds=(quad(1), quad(2), quad(3))))
        store.run(store.store.commit, Delta(adds=tuple(quad(i) for i in range(4, 40))))
        with pytest.raises(errors.ResultTooLarge):
            answer(store, 1)
        # The host's one query slot is taken (by a query in another service process, say).
        slots = SharedSlots(tmp_path / "query-slots", 1)
        held = portal.wrap_async_context_manager(slots.hold())
        with held, pytest.raises(errors.QueryOverloaded):
            answer(store, 0)
        assert rows(answer(store, 0)) == []
        slow = (
            "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
            "?m ?n2 ?o . ?p ?q ?r }"
        )
        limits = QueryLimits(timeout_s=0.5, memory_mb=512, max_rows=10, max_bytes=1 << 20)
        with pytest.raises(errors.QueryTimeout):
            store.run(lambda: store.store.query(slow, at_version=2, limits=limits))
    finally:
        store.close()


@pytest.mark.slow
def test_a_replica_s_files_are_removed_with_it_and_after_a_crash(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    replicas = tmp_path / REPLICAS
    crashed = replicas / "4194305-left-behind"  # past the largest pid Linux hands out
    (crashed / "snapshot").mkdir(parents=True)
    running = replicas / f"{os.getppid()}-in-use"  # a process that is alive
    running.mkdir()
    store = remote(portal, oxigraph, tmp_path)
    try:
        store.run(store.store.commit, Delta(adds=(quad(1),)))
        assert rows(answer(store, 0)) == []
        ours = [p for p in replicas.iterdir() if p.name.startswith(f"{os.getpid()}-")]
        assert len(ours) == 1 and list(ours[0].glob("changes-*.log"))
        assert not crashed.exists() and running.exists()
    finally:
        store.close()
    assert not ours[0].exists()


@pytest.mark.slow
def test_a_replica_whose_engine_died_is_built_again(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path)
    try:
        store.run(store.store.commit, Delta(adds=(quad(1),)))
        pinned = answer(store, 1)
        replica = store.store._replica
        assert replica is not None and replica._store is not None
        engine = replica._store._engine
        assert engine is not None
        os.kill(engine.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while replica._store.known_down() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert replica._store.known_down() is not None
        assert answer(store, 1) == pinned
        assert replica._store.known_down() is None
    finally:
        store.close()
