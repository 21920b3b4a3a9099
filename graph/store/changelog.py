"""The embedded store's durable state: N-Quads snapshots plus an append-only change log.

The store itself lives in memory (pyoxigraph); this module makes it durable. Files in the data
directory:

- ``snapshot-<V>.nq`` — every quad at version V (written to a temporary name, fsynced, renamed:
  a snapshot file exists only when it is complete);
- ``changes-<V>.log`` — the records of versions V+1, V+2, ... in order.

A record is one commit: a header line ``IJKG1 {json}\n`` (version, section lengths, SHA-256) and a
payload of N-Quads, the quads removed then the quads added. It is complete only when the whole
payload is present and its hash matches, so a commit torn by a crash is recognised and cut off at
recovery; a commit that was acknowledged was fully written (and fsynced, unless fsync is off) first.

Blank-node labels are kept as they are in the log, so a later record can remove a quad that holds a
blank node created by an earlier one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox

from ijkg.graph.store import union

_MAGIC = b"IJKG1 "
_MAX_HEADER = 1 << 16
_SNAPSHOT = re.compile(r"^snapshot-(\d{12})\.nq$")
_LOG = re.compile(r"^changes-(\d{12})\.log$")


class ChangeLogCorrupt(Exception):
    """The change log has a damaged record that is not the torn tail of the last file."""


def snapshot_path(data_dir: Path, version: int) -> Path:
    return data_dir / f"snapshot-{version:012d}.nq"


def log_path(data_dir: Path, start_version: int) -> Path:
    return data_dir / f"changes-{start_version:012d}.log"


def serialize_quads(quads: Iterable[ox.Quad]) -> bytes:
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b""


def parse_quads(data: bytes) -> list[ox.Quad]:
    """Parse N-Quads written by this module, keeping blank-node labels."""
    if not data:
        return []
    return list(ox.parse(input=data, format=ox.RdfFormat.N_QUADS))


@dataclass
class Record:
    """One commit: the version it produced and the quads it removed and added (in that order)."""

    version: int
    removes: list[ox.Quad]
    adds: list[ox.Quad]
    meta: dict[str, Any] = field(default_factory=dict)

    def apply(self, store: ox.Store) -> int:
        """Apply the record; returns how much the union (default graph) grew or shrank."""
        lost = union.remove(store, self.removes)
        return union.add(store, self.adds) - lost


def encode_record(
    version: int, removes: bytes, adds: bytes, meta: dict[str, Any] | None = None
) -> bytes:
    payload = removes + adds
    header = {
        "v": version,
        "rm": len(removes),
        "add": len(adds),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "meta": meta or {},
    }
    return _MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n" + payload


def read_record(stream: BinaryIO) -> Record | None:
    """Read the next complete record, or ``None`` at the end or at a torn/damaged record.

    The stream is left just after the record; on ``None`` its position is unspecified.
    """
    line = stream.readline(_MAX_HEADER)
    if not line.startswith(_MAGIC) or not line.endswith(b"\n"):
        return None
    try:
        header = json.loads(line[len(_MAGIC) :])
        rm_len, add_len = int(header["rm"]), int(header["add"])
        version = int(header["v"])
    except (ValueError, KeyError, TypeError):
        return None
    payload = stream.read(rm_len + add_len)
    if len(payload) != rm_len + add_len:
        return None
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        return None
    return Record(
        version=version,
        removes=parse_quads(payload[:rm_len]),
        adds=parse_quads(payload[rm_len:]),
        meta=header.get("meta") or {},
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _versions(data_dir: Path, pattern: re.Pattern[str]) -> list[int]:
    found = []
    for entry in os.listdir(data_dir):
        match = pattern.match(entry)
        if match:
            found.append(int(match.group(1)))
    return sorted(found)


@dataclass
class Recovered:
    """What recovery found: the version reached and where the next record goes."""

    version: int
    log_file: Path
    log_offset: int
    records_replayed: int
    torn_bytes_dropped: int


def recover(data_dir: Path, store: ox.Store) -> Recovered:
    """Load the newest complete snapshot into ``store`` and replay the change log after it.

    A torn record at the end of the last log file (a crash mid-commit) is cut off; that commit was
    never acknowledged. Damage anywhere else raises ``ChangeLogCorrupt``.
    """
    snapshots = _versions(data_dir, _SNAPSHOT)
    version = snapshots[-1] if snapshots else 0
    if snapshots:
        store.bulk_extend(
            ox.parse(path=str(snapshot_path(data_dir, version)), format=ox.RdfFormat.N_QUADS)
        )
    logs = [v for v in _versions(data_dir, _LOG) if v >= version]
    replayed = 0
    torn = 0
    current = log_path(data_dir, version)
    offset = 0
    for i, start in enumerate(logs):
        path = log_path(data_dir, start)
        if start > version:
            raise ChangeLogCorrupt(f"{path.name} starts after version {version}: a log is missing")
        with path.open("rb") as stream:
            while True:
                offset = stream.tell()
                record = read_record(stream)
                if record is None:
                    break
                if record.version <= version:
                    continue  # already in the snapshot
                if record.version != version + 1:
                    raise ChangeLogCorrupt(f"{path.name}: version {record.version} after {version}")
                record.apply(store)
                version = record.version
                replayed += 1
            size = path.stat().st_size
        if offset < size:
            if i != len(logs) - 1:
                raise ChangeLogCorrupt(f"{path.name} is damaged at byte {offset}")
            torn = size - offset
            with path.open("r+b") as stream:
                stream.truncate(offset)
                os.fsync(stream.fileno())
        current = path
    if not logs:
        current.touch()
        _fsync_dir(data_dir)
        offset = 0
    return Recovered(version, current, offset, replayed, torn)


class ChangeLogWriter:
    """Appends records (the engine is the only writer) and writes snapshots."""

    def __init__(self, data_dir: Path, recovered: Recovered, *, fsync: bool) -> None:
        self.data_dir = data_dir
        self.fsync = fsync
        self.path = recovered.log_file
        self._file = self.path.open("ab", buffering=0)
        self.version = recovered.version
        self._broken = False

    @property
    def size(self) -> int:
        return self._file.tell()

    def append(
        self, removes: list[ox.Quad], adds: list[ox.Quad], meta: dict[str, Any] | None = None
    ) -> int:
        """Durably append the next record and return its version."""
        if self._broken:
            raise OSError(
                f"the change log {self.path.name} could not be repaired; restart the store"
            )
        version = self.version + 1
        record = encode_record(version, serialize_quads(removes), serialize_quads(adds), meta)
        start = self._file.tell()
        try:
            view = memoryview(record)
            while view:
                view = view[self._file.write(view) or 0 :]
            if self.fsync:
                os.fsync(self._file.fileno())
        except OSError:
            # Disk full or read-only: cut the partial record off so the next commit does not land
            # behind garbage (recovery would stop there and drop it).
            try:
                self._file.truncate(start)
                self._file.seek(start)
            except OSError:
                self._broken = True
            raise
        self.version = version
        return version

    def snapshot(self, store: ox.Store) -> Path:
        """Write a snapshot of ``store`` at the current version and start a new log after it.

        Older snapshots and logs are removed once the new snapshot is safely on disk. Readers that
        still have an old log open keep reading it (unlinked files stay readable while open).

        A snapshot that cannot be written (disk full, read-only directory) raises ``OSError`` and
        changes nothing: the partial file is removed and records keep going to the current log.
        The new log is created *before* the snapshot is put in place, so there is never a
        snapshot at version V without the log that follows it (recovery would skip the records
        that went on landing in the old log).
        """
        target = snapshot_path(self.data_dir, self.version)
        partial = target.with_suffix(".partial")
        new_log = log_path(self.data_dir, self.version)
        new_file = None
        try:
            store.dump(str(partial), format=ox.RdfFormat.N_QUADS)
            with partial.open("rb") as stream:
                os.fsync(stream.fileno())
            if new_log != self.path:
                new_file = new_log.open("ab", buffering=0)
            os.replace(partial, target)
        except OSError:
            partial.unlink(missing_ok=True)
            if new_file is not None:
                new_file.close()
                with contextlib.suppress(OSError):
                    new_log.unlink()  # empty; harmless if it stays (recovery reads it as such)
            raise
        if new_file is not None:
            self._file.close()
            self.path = new_log
            self._file = new_file
        _fsync_dir(self.data_dir)
        for old in _versions(self.data_dir, _SNAPSHOT):
            if old < self.version:
                snapshot_path(self.data_dir, old).unlink(missing_ok=True)
        for old in _versions(self.data_dir, _LOG):
            if old < self.version:
                log_path(self.data_dir, old).unlink(missing_ok=True)
        return target

    def close(self) -> None:
        self._file.close()


class ChangeLogReader:
    """Follows the log from a known position to keep a replica current (query workers)."""

    def __init__(self, data_dir: Path, version: int, path: Path, offset: int) -> None:
        self.data_dir = data_dir
        self.version = version
        self._file = path.open("rb")
        self._file.seek(offset)

    def catch_up(self, store: ox.Store, min_version: int) -> int:
        """Apply records until the replica is at ``min_version`` at least; return the version."""
        while self.version < min_version:
            for record in self._records():
                if record.version != self.version + 1:
                    raise ChangeLogCorrupt(f"record {record.version} after {self.version}")
                record.apply(store)
                self.version = record.version
                if self.version >= min_version:
                    return self.version
            # End of this file: a snapshot at our version started the next one.
            following = log_path(self.data_dir, self.version)
            if os.path.abspath(self._file.name) == str(following.absolute()):
                raise ChangeLogCorrupt(f"version {min_version} is not in the change log")
            try:
                next_file = following.open("rb")
            except FileNotFoundError:
                raise ChangeLogCorrupt(f"version {min_version} is not in the change log") from None
            self._file.close()
            self._file = next_file
        return self.version

    def _records(self) -> Iterator[Record]:
        while True:
            position = self._file.tell()
            record = read_record(self._file)
            if record is None:
                self._file.seek(position)
                return
            yield record

    def close(self) -> None:
        self._file.close()
