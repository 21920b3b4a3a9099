"""The embedded store when the file system refuses a write: the change log and snapshots change
nothing they cannot finish, and lose nothing that was acknowledged.

The end-to-end view (a real disk that fills up, a directory that turns read-only, over HTTP) is
in ``test_operations.py``; here the failures are injected exactly where they hurt: while a
snapshot is dumped, while the log after it is created, while it is put in place, and while a
commit is appended.
"""

from __future__ import annotations

import argparse
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from ijkg.graph.core.errors import StorageFailed, StorageFull, StoreLocked
from ijkg.graph.core.rdfio import write_nquads
from ijkg.graph.store import union
from ijkg.graph.store.changelog import ChangeLogWriter, recover
from ijkg.graph.store.engine import Engine
from ijkg.graph.store.messages import CommitRequest, Committed, expect
from ijkg.graph.store.storage import preflight

pytestmark = pytest.mark.embedded

G = ox.NamedNode("https://example.org/g")


def quad(i: int) -> ox.Quad:
    return ox.Quad(
        ox.NamedNode(f"https://example.org/s{i}"),
        ox.NamedNode("https://example.org/p"),
        ox.Literal(str(i)),
        G,
    )


def contents(store: ox.Store) -> set[ox.Quad]:
    return {q for q in store.quads_for_pattern(None, None, None, None) if union.is_named(q)}


def recovered(data_dir: Path) -> tuple[int, set[ox.Quad]]:
    store = ox.Store()
    return recover(data_dir, store).version, contents(store)


def no_space() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullDisk:
    """A store stand-in whose dump writes part of a snapshot, then runs out of space."""

    def __init__(self, real: ox.Store) -> None:
        self.real = real

    def dump(self, path: str, format: ox.RdfFormat) -> None:
        Path(path).write_bytes(b"<https://example.org/s0> <https://example.org/p> ")
        raise no_space()


def started(tmp_path: Path, n: int) -> tuple[ChangeLogWriter, ox.Store]:
    store = ox.Store()
    log = ChangeLogWriter(tmp_path, recover(tmp_path, store), fsync=False)
    for i in range(n):
        log.append([], [quad(i)])
        union.add(store, [quad(i)])
    return log, store


def test_a_snapshot_that_runs_out_of_space_leaves_nothing_behind(tmp_path: Path) -> None:
    log, store = started(tmp_path, 3)
    with pytest.raises(OSError, match="No space"):
        log.snapshot(FullDisk(store))  # type: ignore[arg-type]
    # No partial file, no snapshot, no new log: the directory is as it was.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changes-000000000000.log"]
    log.append([], [quad(3)])  # records go on landing in the current log
    log.close()
    assert recovered(tmp_path) == (4, {quad(i) for i in range(4)})


def test_a_snapshot_whose_next_log_cannot_be_created_is_not_put_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log after the snapshot is created before the snapshot is renamed into place: were it
    the other way round, a snapshot at version 3 would exist while records 4, 5 ... went on into
    the old log, which recovery skips (it starts from the newest snapshot)."""
    log, store = started(tmp_path, 3)
    real_open = Path.open

    def refusing_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self.name == "changes-000000000003.log":
            raise no_space()
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing_open)
    with pytest.raises(OSError, match="No space"):
        log.snapshot(store)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changes-000000000000.log"]
    log.append([], [quad(3)])
    log.append([], [quad(4)])
    log.close()
    assert recovered(tmp_path) == (5, {quad(i) for i in range(5)})


def test_a_snapshot_that_cannot_be_renamed_drops_its_empty_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, store = started(tmp_path, 2)
    real_replace = os.replace

    def refusing_replace(src: Any, dst: Any) -> None:
        if str(dst).endswith(".nq"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", refusing_replace)
    with pytest.raises(OSError, match="Read-only"):
        log.snapshot(store)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changes-000000000000.log"]
    log.append([], [quad(2)])
    union.add(store, [quad(2)])
    log.snapshot(store)  # once the file system takes it again, snapshots work
    log.append([], [quad(3)])
    log.close()
    assert recovered(tmp_path) == (4, {quad(i) for i in range(4)})


# --- the engine ----------------------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The engine in this process (no control channel, no workers): its commits, its stats."""
    args = argparse.Namespace(data_dir=str(tmp_path), snapshot_mb=1, fsync=False, network=False)
    running = Engine(args)
    yield running
    running.log.close()
    os.close(running.lock_fd)


def commit(engine: Engine, *quads: ox.Quad) -> Committed:
    reply, _ = engine.handle(CommitRequest(rm=0), write_nquads(quads))
    return expect(reply, Committed)


def test_a_commit_the_disk_refuses_changes_nothing_and_is_reported(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert commit(engine, quad(1)).version == 1
    log_size = engine.log.size

    def full(*_: Any) -> int:
        raise no_space()

    monkeypatch.setattr(engine.log._file, "write", full)
    with pytest.raises(OSError, match="No space"):
        commit(engine, quad(2), quad(3))
    stats = engine.stats()
    assert stats["version"] == 1 and stats["quads"] == 1
    assert stats["write_error"]["errno"] == errno.ENOSPC
    assert engine.log.size == log_size  # nothing half-written stays behind
    monkeypatch.undo()
    assert commit(engine, quad(2), quad(3)).version == 2  # space again: writes work
    assert engine.stats()["write_error"] is None
    engine.log.close()
    assert recovered(tmp_path) == (2, {quad(1), quad(2), quad(3)})


def test_a_snapshot_that_fails_after_a_commit_does_not_fail_the_commit(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The commit is durable in the log before the snapshot is tried: failing it would tell the
    client "not written" about a write that is there."""
    attempts = []

    def refused(store: ox.Store) -> Path:
        attempts.append(store)
        raise no_space()

    monkeypatch.setattr(engine.log, "snapshot", refused)
    big = ox.Literal("x" * 1_100_000)
    first = commit(engine, ox.Quad(quad(1).subject, quad(1).predicate, big, G))
    second = commit(engine, quad(2))  # past the snapshot size, but within the back-off
    assert first.version == 1 and second.version == 2
    assert len(attempts) == 1
    assert engine.stats()["snapshot_error"]["errno"] == errno.ENOSPC
    commit(engine, ox.Quad(quad(3).subject, quad(3).predicate, ox.Literal("y" * 300_000), G))
    assert len(attempts) == 2  # the log grew past the back-off: tried again
    monkeypatch.undo()
    commit(engine, ox.Quad(quad(4).subject, quad(4).predicate, ox.Literal("z" * 300_000), G))
    assert engine.stats()["snapshot_error"] is None
    assert any(p.name.startswith("snapshot-") for p in tmp_path.iterdir())
    engine.log.close()
    version, found = recovered(tmp_path)
    assert version == 4 and len(found) == 4


# --- before a process starts on a directory ------------------------------------------------------


def test_preflight_names_the_process_that_holds_the_store(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(StoreLocked, match=f"in use by process {os.getpid()}"):
        preflight(tmp_path)


def test_preflight_says_what_is_wrong_with_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    preflight(tmp_path / "new")  # made on first use
    assert (tmp_path / "new" / "LOCK").exists()
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["LOCK"]

    def refuse(code: int) -> Any:
        def mkstemp(*_: Any, **__: Any) -> Any:
            raise OSError(code, os.strerror(code))

        return mkstemp

    monkeypatch.setattr("tempfile.mkstemp", refuse(errno.EROFS))
    with pytest.raises(StorageFailed, match="read-only or not writable"):
        preflight(tmp_path / "new")
    monkeypatch.setattr("tempfile.mkstemp", refuse(errno.ENOSPC))
    with pytest.raises(StorageFull, match="no space left"):
        preflight(tmp_path / "new")
