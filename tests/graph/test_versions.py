"""Versions of the graph on the embedded store (on disk) and the in-process store: the graph as it
was at any version, its history, and each version's patch."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
from anyio.from_thread import BlockingPortal

from ijkg.graph.core import errors
from ijkg.graph.core.rdfio import write_nquads
from ijkg.graph.core.settings import Settings
from ijkg.graph.store import union
from ijkg.graph.store.base import Delta, QueryLimits
from ijkg.graph.store.changelog import (
    ChangeLogWriter,
    Record,
    encode_record,
    log_path,
    recover,
)
from ijkg.graph.store.embedded import EmbeddedStore
from ijkg.graph.store.history import LogIndex, rewind
from ijkg.graph.store.shared import SharedEngine
from tests.conftest import SyncStore

G = ox.NamedNode("https://example.org/g")
H = ox.NamedNode("https://example.org/h")
P = ox.NamedNode("https://example.org/p")
Opener = Callable[..., SyncStore]

ALL = "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
UNION = "SELECT ?s ?o WHERE { ?s ?p ?o } ORDER BY ?s ?o"
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?o ?q }"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def quad(i: int, graph: ox.NamedNode = G) -> ox.Quad:
    return ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), P, ox.Literal(str(i)), graph)


def quads(n: int, start: int = 0, graph: ox.NamedNode = G) -> tuple[ox.Quad, ...]:
    return tuple(quad(i, graph) for i in range(start, start + n))


@pytest.fixture(
    params=["memory", pytest.param("embedded", marks=[pytest.mark.slow, pytest.mark.embedded])]
)
def opener(request: pytest.FixtureRequest) -> Opener:
    name = "open_memory_store" if request.param == "memory" else "open_test_store"
    found: Opener = request.getfixturevalue(name)
    return found


def at(store: SyncStore, version: int, sparql: str = UNION) -> list[tuple[str, ...]]:
    rows = store.run(store.store.select, sparql, at_version=version)
    return [tuple(str(row[name]) for name in sorted(row)) for row in rows]


def graph_at(store: SyncStore, version: int) -> set[tuple[str, ...]]:
    return set(at(store, version, ALL))


def as_rows(found: tuple[ox.Quad, ...]) -> set[tuple[str, ...]]:
    """Quads as ``graph_at`` gives them (variables in name order: g, o, p, s)."""
    return {
        (q.graph_name.value, q.object.value, q.predicate.value, q.subject.value)  # type: ignore[union-attr]
        for q in found
    }


def some_history(store: SyncStore) -> None:
    """Five versions: adds, a change in two graphs, removes, a triple in two graphs, more."""
    commit = store.store.commit
    store.run(commit, Delta(adds=quads(5)), meta={"who": "ana", "why": "first", "change": "c-1"})
    store.run(commit, Delta(removes=quads(2), adds=quads(3, start=10, graph=H)))
    store.run(commit, Delta(removes=(quad(3),), adds=(quad(10),)), meta={"who": "bo"})
    store.run(commit, Delta(adds=(quad(4, H), quad(20))))
    store.run(commit, Delta(removes=(quad(10, H), quad(4)), adds=quads(2, start=30)))


def test_an_answer_at_a_version_stays_the_same(opener: Opener) -> None:
    store = opener()
    some_history(store)
    before = {version: at(store, version) for version in range(6)}
    assert before[0] == []
    assert before[5] == at(store, store.run(store.store.version))
    assert len({tuple(rows) for rows in before.values()}) == 6  # each version differs
    # later commits, and a revert (the inverse of version 6's patch)
    store.run(store.store.commit, Delta(removes=quads(3, start=30), adds=quads(4, start=40)))
    patch = store.run(store.store.patch, 6)
    store.run(store.store.commit, Delta(removes=patch.adds, adds=patch.removes))
    assert at(store, 7) == before[5]
    assert {version: at(store, version) for version in range(6)} == before
    answer = store.run(store.store.query, UNION, at_version=2)
    assert answer.version == 2


def test_a_version_s_patch_takes_the_graph_from_the_version_before_to_it(opener: Opener) -> None:
    store = opener()
    some_history(store)
    for version in range(1, 6):
        patch = store.run(store.store.patch, version)
        assert patch.info.version == version
        assert not set(patch.removes) & set(patch.adds)
        previous = graph_at(store, version - 1)
        assert as_rows(patch.removes) <= previous
        assert not as_rows(patch.adds) & previous
        assert (previous - as_rows(patch.removes)) | as_rows(patch.adds) == graph_at(store, version)


def test_the_history_lists_each_version_with_who_why_and_counts(opener: Opener) -> None:
    store = opener()
    some_history(store)
    assert store.run(store.store.version_range) == (0, 5)
    history = store.run(store.store.history)
    assert [info.version for info in history] == [1, 2, 3, 4, 5]
    first, third = history[0], history[2]
    assert (first.who, first.why, first.change) == ("ana", "first", "c-1")
    assert (third.who, third.why, third.change) == ("bo", None, None)
    counts = [(info.removed, info.added) for info in history]
    assert counts == [(0, 5), (2, 3), (1, 1), (0, 2), (2, 2)]
    assert [info.quads for info in history] == [5, 6, 6, 8, 8]
    assert all(info.time and TIME.match(info.time) for info in history)
    assert [i.time for i in history] == sorted(i.time or "" for i in history)
    paged = store.run(store.store.history, after=2, limit=2)
    assert [info.version for info in paged] == [3, 4]
    assert store.run(store.store.history, after=5) == []
    assert store.run(store.store.patch, 3).info == third


@pytest.mark.parametrize("version", [-1, 6, 99])
def test_a_version_outside_the_history_is_not_found_and_names_the_range(
    opener: Opener, version: int
) -> None:
    store = opener()
    some_history(store)
    with pytest.raises(errors.VersionNotFound) as raised:
        store.run(store.store.query, UNION, at_version=version)
    assert str(raised.value) == (
        f"version {version} is not in this graph's history: versions 0 to 5 can be read"
    )
    assert (raised.value.first, raised.value.head) == (0, 5)
    with pytest.raises(errors.VersionNotFound, match="patches of versions 1 to 5 can be read"):
        store.run(store.store.patch, version)


def test_version_zero_has_no_patch(opener: Opener) -> None:
    store = opener()
    with pytest.raises(errors.VersionNotFound, match="no version has a patch"):
        store.run(store.store.patch, 0)
    store.run(store.store.commit, Delta(adds=quads(1)))
    with pytest.raises(errors.VersionNotFound, match="patches of versions 1 to 1"):
        store.run(store.store.patch, 0)


# --- the embedded store: on disk, across restarts and snapshots, in its workers ---------------


@pytest.mark.slow
@pytest.mark.embedded
def test_versions_survive_a_restart_and_snapshots(open_test_store: Opener, tmp_path: Path) -> None:
    data_dir = tmp_path / "kept"
    store = open_test_store(data_dir)
    some_history(store)
    before = {version: at(store, version) for version in range(6)}
    history = store.run(store.store.history)
    store.run(store.store.snapshot)  # the log before the snapshot is kept: it is the history
    store.run(store.store.commit, Delta(adds=quads(3, start=50)))
    store.close()
    store = open_test_store(data_dir)
    assert {version: at(store, version) for version in range(6)} == before
    assert store.run(store.store.history, limit=5) == history
    store.run(store.store.snapshot)
    store.run(store.store.commit, Delta(removes=quads(3, start=50)))
    store.close()
    store = open_test_store(data_dir)
    for i in range(3):  # a snapshot after each commit: a log file each
        store.run(store.store.commit, Delta(adds=(quad(60 + i),)))
        store.run(store.store.snapshot)
    assert at(store, 7) == before[5]
    assert {version: at(store, version) for version in range(6)} == before
    assert store.run(store.store.version_range) == (0, 10)
    assert len(list(data_dir.glob("changes-*.log"))) >= 5


@pytest.mark.slow
@pytest.mark.embedded
def test_a_store_whose_first_logs_are_gone_reads_back_to_its_oldest_log(
    open_test_store: Opener, tmp_path: Path
) -> None:
    data_dir = tmp_path / "old"
    store = open_test_store(data_dir)
    some_history(store)
    store.run(store.store.snapshot)
    store.run(store.store.commit, Delta(adds=quads(2, start=70)))
    three = at(store, 5)
    store.close()
    log_path(data_dir, 0).unlink()  # as a store that deleted its logs before it kept them
    store = open_test_store(data_dir)
    assert store.run(store.store.version_range) == (5, 6)
    assert at(store, 5) == three
    with pytest.raises(errors.VersionNotFound, match="versions 5 to 6 can be read"):
        store.run(store.store.query, UNION, at_version=4)
    with pytest.raises(errors.VersionNotFound, match="patches of versions 6 to 6"):
        store.run(store.store.patch, 5)
    assert [info.version for info in store.run(store.store.history)] == [6]


@pytest.mark.slow
@pytest.mark.embedded
def test_an_old_version_query_past_its_time_limit_is_stopped_and_the_head_answers(
    open_test_store: Opener,
) -> None:
    store = open_test_store(query_timeout_s=1.5, query_workers=1)
    store.run(store.store.commit, Delta(adds=quads(200)))
    store.run(store.store.commit, Delta(removes=quads(100)))
    started = time.monotonic()
    with pytest.raises(errors.QueryTimeout):
        store.run(store.store.query, CARTESIAN, at_version=1)
    assert time.monotonic() - started < 3
    assert len(at(store, 2)) == 100  # the replacement worker is at the head
    assert len(at(store, 1)) == 200
    # the same (only) worker answered the old version, then the head: it sees the head
    assert len(at(store, 2)) == len(store.select(UNION)) == 100


@pytest.mark.slow
@pytest.mark.embedded
def test_the_same_old_version_is_read_under_a_query_s_limits(open_test_store: Opener) -> None:
    store = open_test_store(query_workers=1)
    store.run(store.store.commit, Delta(adds=quads(50)))
    store.run(store.store.commit, Delta(removes=quads(50)))
    limits = QueryLimits(timeout_s=10, memory_mb=512, max_rows=49, max_bytes=1 << 20)
    with pytest.raises(errors.ResultTooLarge, match="more than 49 rows"):
        store.run(store.store.query, UNION, limits=limits, at_version=1)
    assert store.select(UNION) == []  # the error answer left the worker at the head


# --- the index of the log ----------------------------------------------------------------------


def test_the_index_follows_the_log_across_snapshots_and_stops_at_a_gap(tmp_path: Path) -> None:
    log = ChangeLogWriter(tmp_path, recover(tmp_path, ox.Store()), fsync=False)
    store = ox.Store()
    index = LogIndex(tmp_path)
    assert index.first(0) == 0
    for i in range(3):
        log.append([], [quad(i)], {"who": f"w{i}"})
    assert index.first(3) == 0
    assert [r.adds for r in index.records(1, 3)] == [[quad(1)], [quad(2)]]
    log.snapshot(store)  # a new log file from version 3
    log.append([quad(0)], [], {"who": "w3"})
    assert index.first(4) == 0
    assert [r.version for r in index.records(0, 4)] == [1, 2, 3, 4]
    assert [info.who for info in index.infos(1, 10, 4)] == ["w1", "w2", "w3"]
    log.close()
    # a store whose logs before version 3 are gone starts its history there
    log_path(tmp_path, 0).unlink()
    fresh = LogIndex(tmp_path)
    assert fresh.first(4) == 3
    with pytest.raises(errors.VersionNotFound, match="versions 3 to 4 can be read"):
        fresh.records(2, 4)
    index.close()
    fresh.close()


@pytest.mark.slow
@pytest.mark.embedded
def test_processes_sharing_one_engine_read_the_same_versions(
    portal: BlockingPortal, tmp_path: Path
) -> None:
    """As the service processes of ``ijkg serve --workers 2`` do: each has its own index of the
    log and its own workers, and a version read through either gives the same answer."""
    settings = Settings(data_dir=tmp_path / "shared", query_workers=1, fsync=False)
    engine = SharedEngine.start(settings)
    each = settings.model_copy(update={"engine_socket": engine.socket_path})
    first = SyncStore(portal, portal.call(EmbeddedStore.open, each), each)
    second = SyncStore(portal, portal.call(EmbeddedStore.open, each), each)
    try:
        some_history(first)
        answers = {version: at(first, version) for version in range(6)}
        assert {version: at(second, version) for version in range(6)} == answers
        second.run(second.store.commit, Delta(removes=quads(2, start=30)))
        first.run(first.store.commit, Delta(adds=quads(2, start=80)))
        assert first.run(first.store.version_range) == second.run(second.store.version_range)
        assert second.run(second.store.version_range) == (0, 7)
        for version in range(8):
            assert at(first, version) == at(second, version)
        assert {version: at(second, version) for version in range(6)} == answers
        assert first.run(first.store.history) == second.run(second.store.history)
        assert first.run(first.store.patch, 6) == second.run(second.store.patch, 6)
    finally:
        first.close()
        second.close()
        engine.close()


def test_rewinding_takes_back_the_net_change_of_the_records() -> None:
    records = [
        Record(1, [], [quad(1), quad(2)]),
        Record(2, [quad(1)], [quad(3)]),
        Record(3, [quad(3), quad(0)], [quad(1)]),
    ]
    # from version 3 back to 0: quad 1 and 2 go (1 was re-added), quad 0 comes back, 3 is gone
    assert rewind(records) == ({quad(1), quad(2)}, {quad(0)})
    assert rewind(records[1:]) == (set(), {quad(0)})  # back to 1: 1 went and came, 3 came and went
    assert rewind(records[2:]) == ({quad(1)}, {quad(3), quad(0)})
    assert rewind([]) == (set(), set())


def test_records_of_an_older_store_have_no_time_and_are_counted(tmp_path: Path) -> None:
    """A store written before records carried their time and counts: a snapshot at 2, then
    records 3 and 4 in the first log format."""
    data_dir = tmp_path / "store"
    shutil.copytree(Path(__file__).with_name("data") / "ijkg1-store", data_dir)
    index = LogIndex(data_dir)
    assert index.first(4) == 2
    records = index.records(2, 4)
    infos = index.infos(0, 10, 4)
    assert [info.version for info in infos] == [3, 4]
    for info, record in zip(infos, records, strict=True):
        assert (info.time, info.quads) == (None, None)
        assert (info.removed, info.added) == (len(record.removes), len(record.adds))
        assert info.removed + info.added > 0
    assert index.record(4, 4).version == 4
    with pytest.raises(errors.VersionNotFound, match="patches of versions 3 to 4"):
        index.record(2, 4)
    index.close()


def test_a_graph_emptied_later_is_listed_at_the_versions_that_held_it(opener: Opener) -> None:
    store = opener()
    store.run(store.store.commit, Delta(adds=quads(2) + quads(2, graph=H)))
    store.run(store.store.commit, Delta(removes=quads(2, graph=H)))
    names = "SELECT ?g WHERE { GRAPH ?g { } } ORDER BY ?g"
    assert at(store, 1, names) == [(G.value,), (H.value,)]
    assert at(store, 2, names) == [(G.value,)]
    assert at(store, 0, names) == []
    assert at(store, 2, names) == [(G.value,)]


def test_the_index_reads_anew_a_record_cut_off_and_written_again(tmp_path: Path) -> None:
    """A write whose fsync failed is cut off, and the next commit takes its place (with another
    length): an index that had read the first one still finds every version."""
    log = ChangeLogWriter(tmp_path, recover(tmp_path, ox.Store()), fsync=False)
    for i in range(3):
        log.append([], [quad(i)])
    log.close()
    index = LogIndex(tmp_path)
    assert index.first(3) == 0
    path = log_path(tmp_path, 0)
    data = path.read_bytes()
    cut = data.rindex(b"IJKG2\r\x1a\n")
    path.write_bytes(
        data[:cut]
        + encode_record(3, b"", write_nquads(quads(4, start=30)))
        + encode_record(4, b"", write_nquads([quad(40)]))
    )
    assert index.first(4) == 0
    assert [r.adds for r in index.records(2, 4)] == [list(quads(4, start=30)), [quad(40)]]
    index.close()


def test_damage_in_an_old_log_starts_the_history_after_it(tmp_path: Path) -> None:
    """Recovery reads only the logs after the newest snapshot; damage in an older one leaves the
    store working, and its history readable from after the damage."""
    log = ChangeLogWriter(tmp_path, recover(tmp_path, ox.Store()), fsync=False)
    store = ox.Store()
    for i in range(1, 4):
        log.append([], [quad(i)])
        union.add(store, [quad(i)])
    log.snapshot(store)
    for i in range(4, 6):
        log.append([], [quad(i)])
    log.close()
    old = log_path(tmp_path, 0)
    data = bytearray(old.read_bytes())
    second = data.index(b"IJKG2\r\x1a\n", 1)
    data[second + 100] ^= 0x01  # inside record 2's frame or header
    old.write_bytes(bytes(data))
    assert recover(tmp_path, ox.Store()).version == 5
    index = LogIndex(tmp_path)
    assert index.first(5) == 3
    assert [r.version for r in index.records(3, 5)] == [4, 5]
    with pytest.raises(errors.VersionNotFound, match="versions 3 to 5 can be read"):
        index.records(1, 5)
    index.close()


READER = """
import asyncio, json, sys
from pathlib import Path
from ijkg.graph.core.settings import Settings
from ijkg.graph.store.embedded import EmbeddedStore

async def main():
    settings = Settings(
        data_dir=Path(sys.argv[1]), query_workers=1, fsync=False, engine_socket=sys.argv[2]
    )
    store = await EmbeddedStore.open(settings)
    try:
        first, head = await store.version_range()
        answers = {}
        for version in range(first, head + 1):
            rows = await store.select(sys.argv[3], at_version=version)
            answers[version] = sorted(sorted(str(v) for v in row.values()) for row in rows)
        history = [info.version for info in await store.history()]
        print(json.dumps({"range": [first, head], "answers": answers, "history": history}))
    finally:
        await store.close()

asyncio.run(main())
"""


@pytest.mark.slow
@pytest.mark.embedded
def test_separate_processes_on_one_engine_read_the_same_versions(
    portal: BlockingPortal, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "shared", query_workers=1, fsync=False)
    engine = SharedEngine.start(settings)
    each = settings.model_copy(update={"engine_socket": engine.socket_path})
    writer = SyncStore(portal, portal.call(EmbeddedStore.open, each), each)
    try:
        some_history(writer)
        writer.run(writer.store.snapshot)
        writer.run(writer.store.commit, Delta(removes=quads(2, start=30)))
        args = [str(settings.data_dir), engine.socket_path, UNION]
        readers = [
            subprocess.Popen(
                [sys.executable, "-c", READER, *args], stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outputs = [json.loads(reader.communicate(timeout=120)[0]) for reader in readers]
        assert outputs[0] == outputs[1]
        assert outputs[0]["range"] == [0, 6]
        assert outputs[0]["history"] == [1, 2, 3, 4, 5, 6]
        for version, rows in outputs[0]["answers"].items():
            assert rows == sorted(sorted(row) for row in at(writer, int(version)))
    finally:
        writer.close()
        engine.close()
