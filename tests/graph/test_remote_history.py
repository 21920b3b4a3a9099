"""The history an external store keeps of its versions, against a real Oxigraph server: every
commit's exact patch recorded with it, read back as ranges, lists and patches, and invisible to
everything but the history itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from anyio.from_thread import BlockingPortal

from ijkg.graph.core import errors
from ijkg.graph.core.namespaces import SYSTEM_GRAPH
from ijkg.graph.core.settings import Settings
from ijkg.graph.io.backup import named_quads
from ijkg.graph.store import remote_history
from ijkg.graph.store.base import Delta
from ijkg.graph.store.remote import SparqlStore
from tests.conftest import SyncStore
from tests.graph.test_versions import (  # collected here too, on this module's ``opener``
    test_a_version_outside_the_history_is_not_found_and_names_the_range,
    test_a_version_s_patch_takes_the_graph_from_the_version_before_to_it,
    test_an_answer_at_a_version_stays_the_same,
    test_the_history_lists_each_version_with_who_why_and_counts,
    test_version_zero_has_no_patch,
)
from tests.oxigraph_server import OxigraphServer, start_oxigraph

pytestmark = pytest.mark.slow  # runs against real Oxigraph servers

G = ox.NamedNode("https://example.org/g")
H = ox.NamedNode("https://example.org/h")
P = ox.NamedNode("https://example.org/p")
SYS = SYSTEM_GRAPH + "#"


def quad(i: int, graph: ox.NamedNode = G) -> ox.Quad:
    return ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), P, ox.Literal(f'{i}\n"é"'), graph)


@pytest.fixture
def oxigraph() -> Iterator[OxigraphServer]:
    server = start_oxigraph()
    yield server
    server.stop()


def remote(
    portal: BlockingPortal,
    server: OxigraphServer,
    data_dir: Path,
    cls: type[SparqlStore] = SparqlStore,
) -> SyncStore:
    settings = Settings(
        store="sparql",
        data_dir=data_dir,
        sparql_query_url=server.query_url,
        sparql_update_url=server.update_url,
        query_timeout_s=5,
    )
    return SyncStore(portal, portal.call(cls.open, settings), settings)


@pytest.fixture
def opener(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> Iterator[Callable[[], SyncStore]]:
    """The versions contract of every store (``test_versions``), on an external store."""
    opened: list[SyncStore] = []

    def open_store() -> SyncStore:
        opened.append(remote(portal, oxigraph, tmp_path / f"store-{len(opened)}"))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


__all__ = [
    "test_a_version_outside_the_history_is_not_found_and_names_the_range",
    "test_a_version_s_patch_takes_the_graph_from_the_version_before_to_it",
    "test_an_answer_at_a_version_stays_the_same",
    "test_the_history_lists_each_version_with_who_why_and_counts",
    "test_version_zero_has_no_patch",
]


def state(store: SyncStore) -> set[ox.Quad]:
    return set(store.run(named_quads, store.store))


def test_every_commit_records_its_exact_patch(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path)
    blank = ox.Quad(ox.BlankNode("b1"), P, ox.Literal("blank"), H)
    # Escapes at every level: the N-Quads text of the record is itself a SPARQL string.
    tricky = ox.Quad(G, P, ox.Literal('C:\\users\\u0041 \\" \t\r ☃ \\n'), H)
    deltas = [
        (
            Delta(adds=(quad(1), quad(2), quad(3, H), blank, tricky)),
            {"who": "alice ☃", "why": 'first "one"\n'},
        ),
        # quad(1) is removed, quad(9) was never there (not a change), quad(2) is already there
        (
            Delta(removes=(quad(1), quad(9)), adds=(quad(2), quad(4))),
            {"who": "bob", "why": "second", "change": "c-2"},
        ),
        (Delta(removes=(quad(2), quad(4))), None),
    ]
    try:
        states = [state(store)]
        for delta, meta in deltas:
            store.run(store.store.commit, delta, meta=meta)
            states.append(state(store))
        assert store.run(store.store.version_range) == (0, 3)

        one = store.run(store.store.patch, 1)
        assert (one.info.version, one.info.who, one.info.why, one.info.change) == (
            1,
            "alice ☃",
            'first "one"\n',
            None,
        )
        assert (one.info.removed, one.info.added, one.info.quads) == (0, 5, 5)
        assert tricky in one.adds
        # Blank nodes as the store holds them: skolem IRIs.
        assert all(isinstance(q.subject, ox.NamedNode) for q in one.adds)
        two = store.run(store.store.patch, 2)
        assert set(two.removes) == {quad(1)} and set(two.adds) == {quad(4)}
        assert (two.info.change, two.info.removed, two.info.added, two.info.quads) == (
            "c-2",
            1,
            1,
            5,
        )
        three = store.run(store.store.patch, 3)
        assert three.info.who is None and three.info.quads == 3
        assert three.info.time is not None and three.info.time.endswith("Z")
        assert one.info.time is not None and one.info.time <= three.info.time

        # The head with each patch undone, newest first, is each earlier state exactly.
        current = set(states[-1])
        for version in (3, 2, 1):
            patch = store.run(store.store.patch, version)
            assert set(patch.adds) <= current and not set(patch.removes) & current
            current = (current - set(patch.adds)) | set(patch.removes)
            assert current == states[version - 1]
            assert patch.info.quads == len(states[version])
    finally:
        store.close()


def test_history_lists_the_versions_and_names_the_range(
    portal: BlockingPortal,
    oxigraph: OxigraphServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(remote_history, "PAGE", 2)  # lists span several requests
    store = remote(portal, oxigraph, tmp_path)
    try:
        assert store.run(store.store.version_range) == (0, 0)
        assert store.run(store.store.history) == []
        for i in range(5):
            store.run(store.store.commit, Delta(adds=(quad(i),)), meta={"why": f"add {i}"})
        listed = store.run(store.store.history)
        assert [v.version for v in listed] == [1, 2, 3, 4, 5]
        assert [v.why for v in listed] == [f"add {i}" for i in range(5)]
        assert [v.quads for v in listed] == [1, 2, 3, 4, 5]
        page = store.run(lambda: store.store.history(after=2, limit=2))
        assert [v.version for v in page] == [3, 4]
        page = store.run(lambda: store.store.history(after=1, limit=3))
        assert [v.version for v in page] == [2, 3, 4]
        for wrong in (0, 6, -1):
            with pytest.raises(errors.VersionNotFound, match="versions 1 to 5") as caught:
                store.run(store.store.patch, wrong)
            assert (caught.value.first, caught.value.head) == (0, 5)
    finally:
        store.close()


def test_a_store_written_before_records_starts_its_history_there(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path)
    try:
        store.run(store.store.commit, Delta(adds=(quad(1), quad(2))))
        # As a store written before records were kept: at version 1, with no record of it.
        store.run(
            store.store._update,
            f"DELETE WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ <{SYS}version-1> ?p ?o }} }}",
        )
        store.store._counted = None
        assert store.run(store.store.version_range) == (1, 1)
        store.run(store.store.commit, Delta(adds=(quad(3),)))
        assert store.run(store.store.version_range) == (1, 2)
        assert [v.version for v in store.run(store.store.history)] == [2]
        assert store.run(store.store.patch, 2).info.quads == 3  # counted once, then kept
        with pytest.raises(errors.VersionNotFound, match="versions 2 to 2 can be read"):
            store.run(store.store.patch, 1)
    finally:
        store.close()


def test_records_are_invisible_outside_the_history(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path)
    try:
        store.run(store.store.commit, Delta(adds=(quad(1), quad(2, H))), meta={"who": "alice"})
        store.run(store.store.commit, Delta(removes=(quad(1),)))
        # Not in the union default graph, which is all a query sees by default.
        union = store.select("SELECT ?p WHERE { ?s ?p ?o }")
        assert {str(row["p"]) for row in union} == {str(P.value)}
        # Not in a backup, and not counted.
        assert state(store) == {quad(2, H)}
        assert store.run(store.store.stats).quads == 1
        # Not restored from a backup that carries them (another store's records mean nothing).
        record = ox.Quad(
            ox.NamedNode(SYS + "version-7"),
            ox.NamedNode(SYS + "recordedVersion"),
            ox.Literal("7", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
            ox.NamedNode(SYSTEM_GRAPH),
        )
        assert store.run(store.store.commit, Delta(adds=(record,))).added == 0
        assert store.run(store.store.version_range) == (0, 2)
    finally:
        store.close()


class _Racing(SparqlStore):
    """A store whose commits are overtaken: between reading the version and writing, another
    store (with its own write lock, as on another host) commits first."""

    rival: SparqlStore | None = None

    async def match(self, patterns: Any) -> list[ox.Quad]:
        found = await super().match(patterns)
        rival, self.rival = self.rival, None
        if rival is not None:
            await rival.commit(Delta(adds=(quad(50),)), meta={"who": "rival"})
        return found


def test_a_commit_that_loses_the_race_records_nothing(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    racing = remote(portal, oxigraph, tmp_path / "a", _Racing)
    rival = remote(portal, oxigraph, tmp_path / "b")
    try:
        assert isinstance(racing.store, _Racing)
        racing.store.rival = rival.store
        with pytest.raises(errors.VersionConflict):
            racing.run(racing.store.commit, Delta(adds=(quad(1),)), meta={"who": "loser"})
        assert racing.run(racing.store.version_range) == (0, 1)
        [only] = racing.run(racing.store.history)
        assert only.who == "rival"
        assert set(racing.run(racing.store.patch, 1).adds) == {quad(50)}
        records = racing.select(
            f"SELECT ?r WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ ?r <{SYS}recordedVersion> ?v }} }}"
        )
        assert len(records) == 1
    finally:
        racing.close()
        rival.close()


def test_literals_are_recorded_as_the_store_keeps_them(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    xsd = "http://www.w3.org/2001/XMLSchema#"

    def typed(value: str, datatype: str, i: int = 0) -> ox.Quad:
        return ox.Quad(
            ox.NamedNode(f"https://example.org/t{i}"),
            P,
            ox.Literal(value, datatype=ox.NamedNode(xsd + datatype)),
            G,
        )

    # The store gives these back as "…00.68Z" and "7": written so, they are the same quads.
    when = typed("2026-01-01T00:00:00.680Z", "dateTime")
    seven = typed("007", "integer", 1)
    store = remote(portal, oxigraph, tmp_path)
    try:
        store.run(store.store.commit, Delta(adds=(when, seven)))
        held = state(store)
        [added] = [p.adds for p in [store.run(store.store.patch, 1)]]
        assert set(added) == held
        assert {q.object.value for q in added} == {"2026-01-01T00:00:00.68Z", "7"}
        # Adding it again in another form changes nothing; removing it in any form removes it.
        again = store.run(store.store.commit, Delta(adds=(typed("+7", "integer", 1),)))
        assert (again.added, again.version_after) == (0, 1)
        gone = store.run(store.store.commit, Delta(removes=(when, typed("7", "integer", 1))))
        assert (gone.removed, gone.version_after) == (2, 2)
        assert state(store) == set()
        assert set(store.run(store.store.patch, 2).removes) == held
    finally:
        store.close()
