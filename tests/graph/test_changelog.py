"""The change log and snapshots: records, torn tails, recovery and replicas following the log."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from ijkg.graph.store import union
from ijkg.graph.store.changelog import (
    ChangeLogCorrupt,
    ChangeLogReader,
    ChangeLogWriter,
    log_path,
    recover,
)

pytestmark = pytest.mark.embedded

G = ox.NamedNode("https://example.org/g")


def quad(i: int, graph: ox.NamedNode = G) -> ox.Quad:
    return ox.Quad(
        ox.NamedNode(f"https://example.org/s{i}"),
        ox.NamedNode("https://example.org/p"),
        ox.Literal(str(i)),
        graph,
    )


def writer(data_dir: Path) -> tuple[ChangeLogWriter, ox.Store]:
    store = ox.Store()
    return ChangeLogWriter(data_dir, recover(data_dir, store), fsync=True), store


def contents(store: ox.Store) -> set[ox.Quad]:
    """The named-graph quads (the default graph only mirrors them)."""
    return {q for q in store.quads_for_pattern(None, None, None, None) if union.is_named(q)}


def test_records_replay_in_order(tmp_path: Path) -> None:
    log, _ = writer(tmp_path)
    assert log.append([], [quad(1), quad(2)]) == 1
    assert log.append([quad(1)], [quad(3)]) == 2
    log.close()
    store = ox.Store()
    recovered = recover(tmp_path, store)
    assert recovered.version == 2
    assert recovered.records_replayed == 2
    assert contents(store) == {quad(2), quad(3)}


def test_a_torn_last_record_is_cut_off_and_the_log_continues(tmp_path: Path) -> None:
    log, _ = writer(tmp_path)
    log.append([], [quad(1)])
    log.append([], [quad(2)])
    path = log.path
    log.close()
    intact = path.stat().st_size
    with path.open("ab") as stream:  # a crash in the middle of the third commit
        stream.write(b'IJKG1 {"v":3,"rm":0,"add":500,"sha256":"00"}\n<https://exa')
    store = ox.Store()
    recovered = recover(tmp_path, store)
    assert recovered.version == 2
    assert recovered.torn_bytes_dropped > 0
    assert path.stat().st_size == intact
    assert contents(store) == {quad(1), quad(2)}
    # the next commit lands where the torn one was, and is recovered
    log = ChangeLogWriter(tmp_path, recovered, fsync=True)
    assert log.append([], [quad(3)]) == 3
    log.close()
    again = ox.Store()
    assert recover(tmp_path, again).version == 3
    assert contents(again) == {quad(1), quad(2), quad(3)}


def test_a_complete_record_with_a_bad_checksum_stops_recovery_and_stays_on_disk(
    tmp_path: Path,
) -> None:
    log, _ = writer(tmp_path)
    log.append([], [quad(1)])
    path = log.path
    log.close()
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # flip a bit in the payload
    path.write_bytes(bytes(data))
    with pytest.raises(ChangeLogCorrupt, match=r"changes-000000000000\.log is damaged at byte 0 "):
        recover(tmp_path, ox.Store())
    assert path.read_bytes() == bytes(data)


def test_snapshot_then_recovery_uses_it_drops_old_snapshots_and_keeps_every_log(
    tmp_path: Path,
) -> None:
    log, store = writer(tmp_path)
    for i in range(5):
        log.append([], [quad(i)])
        union.add(store, [quad(i)])
    log.snapshot(store)  # version 5
    log.append([], [quad(7)])
    union.add(store, [quad(7)])
    log.snapshot(store)  # version 6: the snapshot before it (5) stays, and every log (the history)
    log.append([quad(0), quad(7)], [quad(9)])
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "changes-000000000000.log",
        "changes-000000000005.log",
        "changes-000000000006.log",
        "snapshot-000000000005.sealed.nq",
        "snapshot-000000000006.sealed.nq",
    ]
    again = ox.Store()
    recovered = recover(tmp_path, again)
    assert recovered.version == 7
    assert recovered.records_replayed == 1
    assert contents(again) == {quad(1), quad(2), quad(3), quad(4), quad(9)}


def test_blank_node_labels_survive_the_log(tmp_path: Path) -> None:
    node = ox.BlankNode("b0c4f1")
    with_bnode = ox.Quad(node, ox.NamedNode("https://example.org/p"), ox.Literal("x"), G)
    log, _ = writer(tmp_path)
    log.append([], [with_bnode])
    log.append([with_bnode], [])  # a later commit removes it by its label
    log.close()
    store = ox.Store()
    recover(tmp_path, store)
    assert contents(store) == set()


def test_a_reader_follows_the_log_across_a_snapshot(tmp_path: Path) -> None:
    log, primary = writer(tmp_path)
    log.append([], [quad(1)])
    union.add(primary, [quad(1)])
    replica = ox.Store()
    union.add(replica, [quad(1)])
    reader = ChangeLogReader(tmp_path, 1, log.path, log.size)
    log.append([], [quad(2)])
    union.add(primary, [quad(2)])
    log.snapshot(primary)  # a new log starts after the snapshot
    log.append([], [quad(3)])
    assert reader.catch_up(replica, 3) == 3
    assert contents(replica) == {quad(1), quad(2), quad(3)}
    reader.close()
    log.close()


def test_a_reader_asked_for_a_version_that_does_not_exist_fails_clearly(tmp_path: Path) -> None:
    log, _ = writer(tmp_path)
    log.append([], [quad(1)])
    reader = ChangeLogReader(tmp_path, 0, log_path(tmp_path, 0), 0)
    with pytest.raises(ChangeLogCorrupt, match="not in the change log"):
        reader.catch_up(ox.Store(), 5)
    reader.close()
    log.close()


def test_the_default_graph_is_the_union_as_a_set() -> None:
    store = ox.Store()
    other = ox.NamedNode("https://example.org/other")
    same_triple_twice = [quad(1), quad(1, other)]
    assert union.add(store, same_triple_twice) == 1
    rows = list(store.query("SELECT * WHERE { ?s ?p ?o }"))
    assert len(rows) == 1  # once, although two graphs assert it
    assert union.remove(store, [quad(1)]) == 0  # the other graph still holds it
    assert len(list(store.query("SELECT * WHERE { ?s ?p ?o }"))) == 1
    assert union.remove(store, [quad(1, other)]) == 1
    assert list(store.query("SELECT * WHERE { ?s ?p ?o }")) == []
    # emptied graphs are gone, so GRAPH ?g {} does not list them
    assert list(store.query("SELECT ?g WHERE { GRAPH ?g { } }")) == []
