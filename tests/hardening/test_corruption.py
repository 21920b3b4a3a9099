"""Damaged store files, with real engine processes and real files: damage that is not a torn tail
stops the start with one sentence and changes nothing on disk; ``ijkg repair`` rebuilds the store
from the readable part and keeps the damaged files; a torn tail is cut off and logged."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest

from ijkg.graph.core.errors import StoreDamaged
from ijkg.graph.core.rdfio import write_nquads
from ijkg.graph.store.base import Delta
from ijkg.graph.store.changelog import encode_record, log_path, snapshot_path
from tests.conftest import SyncStore, run_ijkg, start_server, stop_server

pytestmark = pytest.mark.embedded

Opener = Callable[..., SyncStore]
G = ox.NamedNode("https://example.org/corruption")


def quad(i: int) -> ox.Quad:
    return ox.Quad(
        ox.NamedNode(f"https://example.org/s{i}"),
        ox.NamedNode("https://example.org/p"),
        ox.Literal(f"value {i}"),
        G,
    )


def numbers(store: SyncStore) -> set[int]:
    rows = store.select(f"SELECT ?o WHERE {{ GRAPH <{G.value}> {{ ?s ?p ?o }} }}")
    return {int(row["o"].value.split()[-1]) for row in rows}


def files(data_dir: Path) -> dict[str, bytes]:
    """The store's data files and their bytes (not its lock or identity)."""
    return {
        p.name: p.read_bytes()
        for p in sorted(data_dir.iterdir())
        if p.is_file() and p.name.startswith(("changes-", "snapshot-"))
    }


def commits(store: SyncStore, first: int, last: int) -> list[int]:
    """Commit quads first..last, one record each; the byte offset of each record in the log."""
    starts = []
    for i in range(first, last + 1):
        starts.append(int(store.run(store.store.stats).details["log_bytes"]))
        store.run(store.store.commit, Delta(adds=(quad(i),)), meta={"title": f"change {i}"})
    return starts


def flip(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x10
    path.write_bytes(bytes(data))


def test_a_damaged_log_stops_the_start_and_ijkg_repair_recovers_the_readable_prefix(
    open_test_store: Opener, tmp_path: Path
) -> None:
    data_dir = tmp_path / "store"
    store = open_test_store(data_dir)
    starts = commits(store, 1, 8)
    store.close()
    log = log_path(data_dir, 0)
    flip(log, starts[5] - 10)  # in the payload of record 5
    damaged = files(data_dir)

    with pytest.raises(StoreDamaged) as caught:
        open_test_store(data_dir)
    message = str(caught.value)
    assert message == (
        f"the store in {data_dir} did not start: the change log changes-000000000000.log is "
        f"damaged at byte {starts[4]:,} (the record's payload fails its checksum); the records "
        "before it reach version 4; nothing was changed on disk: "
        f"`ijkg repair --data-dir {data_dir} --yes` rebuilds it from the last good snapshot and "
        "every readable record (and keeps the damaged files), or restore a backup (ijkg restore)"
    )
    assert files(data_dir) == damaged

    # the service does not start either (so /health never answers for it), and says why in
    # one sentence
    with pytest.raises(RuntimeError, match="ijkg serve exited"):
        start_server(data_dir, tmp_path / "serve.log", {"IJKG_FSYNC": "false"})
    assert (tmp_path / "serve.log").read_text() == f"error: {message}\n"
    assert files(data_dir) == damaged

    # without --yes: what it would do, and nothing done
    dry = run_ijkg("repair", data_dir=data_dir)
    assert dry.returncode == 1, dry.stderr
    assert "a repair would rebuild the store at version 4" in dry.stdout
    assert f"damaged: the change log changes-000000000000.log is damaged at byte {starts[4]:,}" in (
        dry.stderr
    )
    assert files(data_dir) == damaged

    done = run_ijkg("repair", "--yes", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"repaired: the store in {data_dir} is at version 4; "), (
        done.stdout
    )
    lost = len(damaged["changes-000000000000.log"]) - starts[4]
    assert f"{lost:,} bytes of changes-000000000000.log from byte {starts[4]:,}" in done.stdout
    (aside,) = [p for p in data_dir.iterdir() if p.is_dir()]
    assert re.fullmatch(r"damaged-\d{8}T\d{6}Z", aside.name)
    assert files(aside) == damaged  # kept, byte for byte
    assert sorted(files(data_dir)) == [
        "changes-000000000004.log",
        "snapshot-000000000004.sealed.nq",
    ]

    repaired = open_test_store(data_dir)
    assert repaired.run(repaired.store.version) == 4
    assert numbers(repaired) == {1, 2, 3, 4}
    repaired.run(repaired.store.commit, Delta(adds=(quad(9),)))
    repaired.close()
    again = open_test_store(data_dir)
    assert numbers(again) == {1, 2, 3, 4, 9}


def test_a_damaged_snapshot_stops_the_start_and_repair_loses_nothing(
    open_test_store: Opener, tmp_path: Path
) -> None:
    data_dir = tmp_path / "store"
    store = open_test_store(data_dir)
    commits(store, 1, 3)
    store.run(store.store.snapshot)  # version 3
    commits(store, 4, 5)
    store.run(store.store.snapshot)  # version 5: the generation before it is kept
    commits(store, 6, 7)
    store.close()
    snapshot = snapshot_path(data_dir, 5)
    flip(snapshot, snapshot.stat().st_size // 2)
    damaged = files(data_dir)

    with pytest.raises(StoreDamaged, match=r"the snapshot snapshot-000000000005\.sealed\.nq is"):
        open_test_store(data_dir)
    assert files(data_dir) == damaged

    done = run_ijkg("repair", "--yes", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert "is at version 7; nothing readable is lost" in done.stdout, done.stdout
    (aside,) = [p for p in data_dir.iterdir() if p.is_dir()]
    assert files(aside)["snapshot-000000000005.sealed.nq"] == damaged[snapshot.name]
    repaired = open_test_store(data_dir)
    assert repaired.run(repaired.store.version) == 7
    assert numbers(repaired) == set(range(1, 8))


def test_repair_on_a_sound_store_changes_nothing(open_test_store: Opener, tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    store = open_test_store(data_dir)
    commits(store, 1, 2)
    store.close()
    before = files(data_dir)
    done = run_ijkg("repair", "--yes", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert "is not damaged (version 2); nothing to do" in done.stdout
    assert files(data_dir) == before
    assert not [p for p in data_dir.iterdir() if p.is_dir()]


def test_a_torn_tail_is_cut_off_and_logged(
    open_test_store: Opener, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "store"
    store = open_test_store(data_dir)
    commits(store, 1, 3)
    store.close()
    log = log_path(data_dir, 0)
    intact = log.stat().st_size
    record = encode_record(4, b"", write_nquads([quad(4)]), {"title": "torn"})
    with log.open("ab") as stream:  # a commit the crash cut short: never acknowledged
        stream.write(record[: len(record) // 2])
    with caplog.at_level(logging.WARNING, logger="ijkg.store"):
        reopened = open_test_store(data_dir)
    (warning,) = [r for r in caplog.records if r.name == "ijkg.store"]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().endswith(
        f"was cut off (changes-000000000000.log, {len(record) // 2} bytes from byte {intact})"
    )
    stats = reopened.run(reopened.store.stats)
    assert stats.version == 3
    assert stats.details["recovery"]["torn_bytes_dropped"] == len(record) // 2
    assert numbers(reopened) == {1, 2, 3}
    assert log.stat().st_size == intact
    reopened.close()

    # and in the service's own log, as a JSON line
    with log.open("ab") as stream:
        stream.write(record[:30])
    server = start_server(data_dir, tmp_path / "serve.log", {"IJKG_FSYNC": "false"})
    stop_server(server)
    lines = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()[1:]]
    (logged,) = [line for line in lines if line.get("logger") == "ijkg.store"]
    assert logged["level"] == "warning"
    assert logged["message"].endswith(
        f"was cut off (changes-000000000000.log, 30 bytes from byte {intact})"
    )
