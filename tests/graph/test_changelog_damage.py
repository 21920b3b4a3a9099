"""The change log reads back every record it wrote, and recovery tells a torn tail (cut off) from
damage (refused, files left as they were): long metadata, bit flips in records and snapshots,
torn tails of every length, missing log files, and logs written by the first record format."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from ijkg.graph.core.rdfio import write_nquads
from ijkg.graph.store import changelog, union
from ijkg.graph.store.changelog import (
    ChangeLogCorrupt,
    ChangeLogReader,
    ChangeLogWriter,
    encode_record,
    log_path,
    recover,
    snapshot_path,
)
from ijkg.graph.store.repair import repair

pytestmark = pytest.mark.embedded

G = ox.NamedNode("https://example.org/g")
OLD_STORE = Path(__file__).with_name("data") / "ijkg1-store"
LONG_TITLES = [
    "x" * 70_000,  # as long as the issue's
    "\U0001f38c" * 5_500,  # ASCII-escaped in JSON: 66,000 bytes of header
    '\u202e\x1b[31m\x00 every \\ kind " of \n character \ud800',  # a lone surrogate too
]


def quad(i: int) -> ox.Quad:
    return ox.Quad(
        ox.NamedNode(f"https://example.org/s{i}"),
        ox.NamedNode("https://example.org/p"),
        ox.Literal(str(i)),
        G,
    )


def contents(store: ox.Store) -> set[ox.Quad]:
    return {q for q in store.quads_for_pattern(None, None, None, None) if union.is_named(q)}


def write_log(data_dir: Path, n: int, meta: dict[int, dict[str, str]] | None = None) -> list[int]:
    """Records 1..n (record i adds quad i); the byte offset where each record starts."""
    store = ox.Store()
    log = ChangeLogWriter(data_dir, recover(data_dir, store), fsync=False)
    starts = []
    for i in range(1, n + 1):
        starts.append(log.size)
        log.append([], [quad(i)], (meta or {}).get(i))
    log.close()
    return starts


def old_encode_record(version: int, removes: bytes, adds: bytes, meta: dict[str, str]) -> bytes:
    """The first record format, as the store wrote it before the binary frame (kept verbatim)."""
    payload = removes + adds
    header = {
        "v": version,
        "rm": len(removes),
        "add": len(adds),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "meta": meta or {},
    }
    return b"IJKG1 " + json.dumps(header, separators=(",", ":")).encode() + b"\n" + payload


@pytest.mark.parametrize("title", LONG_TITLES, ids=["70k-chars", "emoji", "controls"])
def test_a_record_with_any_metadata_reads_back_and_so_do_the_records_after_it(
    tmp_path: Path, title: str
) -> None:
    write_log(tmp_path, 5, {2: {"title": title, "description": title}})
    store = ox.Store()
    recovered = recover(tmp_path, store)
    assert recovered.version == 5
    assert recovered.torn_bytes_dropped == 0
    assert contents(store) == {quad(i) for i in range(1, 6)}
    # a replica following the log reads it too
    reader = ChangeLogReader(tmp_path, 0, log_path(tmp_path, 0), 0)
    records = list(reader._records())
    reader.close()
    assert [r.version for r in records] == [1, 2, 3, 4, 5]
    assert records[1].meta["title"] == title


def test_a_bit_flipped_anywhere_in_a_complete_record_stops_recovery_and_changes_nothing(
    tmp_path: Path,
) -> None:
    pristine = tmp_path / "pristine"
    pristine.mkdir()
    starts = write_log(pristine, 6, {3: {"title": "the third"}})
    size = log_path(pristine, 0).stat().st_size
    # every byte of a record in the middle, and every byte of the last (complete) record
    positions = [*range(starts[2], starts[3]), *range(starts[5], size)]
    assert len(positions) > 300
    for position in positions:
        damaged = tmp_path / f"at-{position}"
        shutil.copytree(pristine, damaged)
        path = log_path(damaged, 0)
        data = bytearray(path.read_bytes())
        data[position] ^= 1 << (position % 8)
        path.write_bytes(bytes(data))
        record = 2 if position < starts[3] else 5
        with pytest.raises(ChangeLogCorrupt) as caught:
            recover(damaged, ox.Store())
        message = str(caught.value)
        assert message.startswith(
            f"the change log changes-000000000000.log is damaged at byte {starts[record]:,} ("
        ), message
        assert message.endswith(f"the records before it reach version {record}"), message
        assert caught.value.offset == starts[record]
        assert path.read_bytes() == bytes(data), f"byte {position}: the file was changed"
        assert sorted(p.name for p in damaged.iterdir()) == ["changes-000000000000.log"]
        shutil.rmtree(damaged)


def test_garbage_followed_by_more_records_is_damage_not_a_torn_tail(tmp_path: Path) -> None:
    starts = write_log(tmp_path, 3)
    path = log_path(tmp_path, 0)
    data = path.read_bytes()
    spliced = data[: starts[1]] + b"\x00" * 40 + data[starts[1] :]
    path.write_bytes(spliced)
    with pytest.raises(ChangeLogCorrupt, match=f"damaged at byte {starts[1]} .no record starts"):
        recover(tmp_path, ox.Store())
    assert path.read_bytes() == spliced


def test_a_torn_tail_of_every_length_is_cut_off_and_reported(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    pristine.mkdir()
    starts = write_log(pristine, 3, {3: {"title": "\U0001f38c" * 10}})
    data = log_path(pristine, 0).read_bytes()
    last = len(data) - starts[2]
    for kept in range(1, last):
        torn = tmp_path / f"torn-{kept}"
        torn.mkdir()
        log_path(torn, 0).write_bytes(data[: starts[2] + kept])
        store = ox.Store()
        recovered = recover(torn, store)
        assert recovered.version == 2, kept
        assert (recovered.torn_file, recovered.torn_offset) == (log_path(torn, 0), starts[2])
        assert recovered.torn_bytes_dropped == kept
        assert contents(store) == {quad(1), quad(2)}
        assert log_path(torn, 0).read_bytes() == data[: starts[2]]
        shutil.rmtree(torn)


def test_a_damaged_snapshot_stops_recovery_and_stays_on_disk(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    pristine.mkdir()
    log = ChangeLogWriter(pristine, recover(pristine, ox.Store()), fsync=False)
    store = ox.Store()
    for i in range(1, 6):
        log.append([], [quad(i)])
        union.add(store, [quad(i)])
    log.snapshot(store)
    log.append([], [quad(6)])
    log.close()
    snapshot = snapshot_path(pristine, 5)
    assert recover(pristine, ox.Store()).version == 6
    size = snapshot.stat().st_size
    positions = sorted({*range(0, size, 7), size - 1, size - 2, size - 30})
    for position in positions:
        damaged = tmp_path / f"at-{position}"
        shutil.copytree(pristine, damaged)
        path = snapshot_path(damaged, 5)
        data = bytearray(path.read_bytes())
        data[position] ^= 1 << (position % 8)
        path.write_bytes(bytes(data))
        with pytest.raises(ChangeLogCorrupt, match=r"the snapshot snapshot-000000000005\.sealed"):
            recover(damaged, ox.Store())
        assert path.read_bytes() == bytes(data), f"byte {position}: the file was changed"
        shutil.rmtree(damaged)
    # cut short (the checksum trailer gone) is damage too
    snapshot.write_bytes(snapshot.read_bytes()[: size // 2])
    with pytest.raises(ChangeLogCorrupt, match="checksum trailer is missing"):
        recover(pristine, ox.Store())


def test_a_missing_log_file_stops_recovery(tmp_path: Path) -> None:
    log = ChangeLogWriter(tmp_path, recover(tmp_path, ox.Store()), fsync=False)
    store = ox.Store()
    log.append([], [quad(1)])
    union.add(store, [quad(1)])
    log.snapshot(store)
    log.append([], [quad(2)])
    log.close()
    log_path(tmp_path, 1).unlink()
    with pytest.raises(ChangeLogCorrupt, match=r"changes-000000000001\.log .* is missing"):
        recover(tmp_path, ox.Store())
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "changes-000000000000.log",
        "snapshot-000000000001.sealed.nq",
    ]


def test_a_store_written_in_the_first_format_is_read_and_then_continued(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    shutil.copytree(OLD_STORE, data_dir)
    store = ox.Store()
    recovered = recover(data_dir, store)
    assert recovered.version == 4
    assert contents(store) == {quad(2), quad(3), quad(4)}
    log = ChangeLogWriter(data_dir, recovered, fsync=False)
    log.append([quad(2)], [quad(5)], {"title": "after the upgrade"})
    log.close()
    again = ox.Store()
    assert recover(data_dir, again).version == 5
    assert contents(again) == {quad(3), quad(4), quad(5)}


def test_a_first_format_record_with_a_long_header_reads_back(tmp_path: Path) -> None:
    """The bug: the first format's reader stopped at 64 KiB of header and took the rest of the
    log for a torn tail. Its records are now read whole."""
    records = b"".join(
        old_encode_record(
            i, b"", write_nquads([quad(i)]), {"title": LONG_TITLES[1] if i == 2 else "t"}
        )
        for i in range(1, 5)
    )
    log_path(tmp_path, 0).write_bytes(records)
    store = ox.Store()
    assert recover(tmp_path, store).version == 4
    assert contents(store) == {quad(1), quad(2), quad(3), quad(4)}


def test_a_first_format_header_damaged_to_claim_a_long_payload_is_not_a_torn_tail(
    tmp_path: Path,
) -> None:
    records = [old_encode_record(i, b"", write_nquads([quad(i)]), {}) for i in (1, 2, 3)]
    records[1] = records[1].replace(b'"add":79', b'"add":99999')
    data = b"".join(records)
    log_path(tmp_path, 0).write_bytes(data)
    with pytest.raises(ChangeLogCorrupt, match=f"damaged at byte {len(records[0])} "):
        recover(tmp_path, ox.Store())
    assert log_path(tmp_path, 0).read_bytes() == data


def test_the_new_frame_is_written_for_new_records() -> None:
    record = encode_record(1, b"", write_nquads([quad(1)]), {"title": "t"})
    assert record.startswith(b"IJKG2\r\x1a\n")


def test_zeros_where_the_last_records_were_are_damage_and_repair_keeps_what_precedes(
    tmp_path: Path,
) -> None:
    """A power loss without fsync can leave a log's new length but not its data: not a torn
    record (nothing there starts one), so the start stops; a repair keeps the records before."""
    write_log(tmp_path, 3)
    path = log_path(tmp_path, 0)
    with path.open("ab") as stream:
        stream.write(b"\x00" * 4096)
    damaged = path.read_bytes()
    with pytest.raises(
        ChangeLogCorrupt, match=r"damaged at byte [\d,]+ \(no record starts there\)"
    ):
        recover(tmp_path, ox.Store())
    assert path.read_bytes() == damaged
    result = repair(tmp_path)
    assert result.version == 3
    assert result.unread == (path, len(damaged) - 4096, 4096)
    assert result.aside is not None
    assert (result.aside / path.name).read_bytes() == damaged
    store = ox.Store()
    assert recover(tmp_path, store).version == 3
    assert contents(store) == {quad(1), quad(2), quad(3)}


def test_a_record_the_log_could_not_read_back_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading has no limit that writing does not check first: past the header's length field
    (4 GiB; lowered here to make it testable), the write fails and the log is unchanged."""
    write_log(tmp_path, 2)
    before = log_path(tmp_path, 0).read_bytes()
    monkeypatch.setattr(changelog, "_MAX_HEADER", 1_000)
    log = ChangeLogWriter(tmp_path, recover(tmp_path, ox.Store()), fsync=False)
    with pytest.raises(ValueError, match="too large to record"):
        log.append([], [quad(3)], {"title": "x" * 1_000})
    assert log.append([], [quad(3)], {"title": "short"}) == 3
    log.close()
    assert log_path(tmp_path, 0).read_bytes().startswith(before)
    assert recover(tmp_path, ox.Store()).version == 3


def test_an_empty_log_left_by_a_failed_snapshot_is_not_damage(tmp_path: Path) -> None:
    write_log(tmp_path, 3)
    log_path(tmp_path, 2).touch()  # a snapshot at 2 failed after creating its log
    store = ox.Store()
    recovered = recover(tmp_path, store)
    assert (recovered.version, recovered.log_file) == (3, log_path(tmp_path, 0))
    assert contents(store) == {quad(1), quad(2), quad(3)}
    # but a log that is not empty where none belongs is damage
    log_path(tmp_path, 2).write_bytes(encode_record(3, b"", write_nquads([quad(3)])))
    with pytest.raises(ChangeLogCorrupt, match=r"changes-000000000002\.log starts at version 2"):
        recover(tmp_path, ox.Store())
