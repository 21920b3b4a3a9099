"""The embedded store's durable state: N-Quads snapshots plus an append-only change log.

The store itself lives in memory (pyoxigraph); this module makes it durable. Files in the data
directory:

- ``snapshot-<V>.sealed.nq`` — every quad at version V, then a checksum trailer (a comment line
  ``# ijkg-snapshot sha256=<hex> bytes=<n>``): written to a temporary name, fsynced, renamed, so a
  snapshot file exists only when it is complete, and a damaged one is recognised. (Snapshots from
  before the trailer, ``snapshot-<V>.nq``, are still read, unchecked.)
- ``changes-<V>.log`` — the records of versions V+1, V+2, ... in order. Every log is kept, also
  those a later snapshot made unnecessary for recovery: they are the graph's history (the graph as
  it was at any version, see ``history``), which so grows with the changes, not with the graph.

A record is one commit, in a fixed binary frame::

    magic "IJKG2\\r\\x1a\\n" (8 bytes)
    header length (4 bytes, big-endian)      payload length (8 bytes, big-endian)
    SHA-256 of the header (32 bytes)         SHA-256 of the payload (32 bytes)
    CRC-32 of the 84 bytes above (4 bytes)
    header: JSON (version, length of the removed quads, the change's metadata)
    payload: N-Quads, the quads removed then the quads added

No size limit applies on reading that writing does not apply too (lengths are 32 and 64 bits), so
every record the log writes reads back, whatever its metadata. Records of the first format (a
header line ``IJKG1 {json}\\n``) in logs written by earlier versions are still read.

Recovery distinguishes two kinds of trouble. A *torn tail* — the last record of the last log file
stops short at the end of the file (a crash in the middle of a commit, which was therefore never
acknowledged) — is cut off. Anything else — a complete record whose checksum does not match,
bytes that are not a record followed by more data, a snapshot that fails its checksum, a missing
log file — is *damage*: recovery raises ``ChangeLogCorrupt`` saying what and where, and changes
nothing on disk. ``ijkg.graph.store.repair`` is the explicit way out.

Blank-node labels are kept as they are in the log, so a later record can remove a quad that holds a
blank node created by an earlier one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox

from ijkg.graph.core.rdfio import read_nquads, write_nquads
from ijkg.graph.store import union

_MAGIC = b"IJKG2\r\x1a\n"
_MAGIC_V1 = b"IJKG1 "
# magic, header length, payload length, header SHA-256, payload SHA-256; then a CRC-32 of these.
_FRAME = struct.Struct(">8sIQ32s32s")
_CRC = struct.Struct(">I")
_FRAME_SIZE = _FRAME.size + _CRC.size
_MAX_HEADER = (1 << 32) - 1
_SNAPSHOT = re.compile(r"^snapshot-(\d{12})(\.sealed)?\.nq$")
_LOG = re.compile(r"^changes-(\d{12})\.log$")
_TRAILER = re.compile(rb"# ijkg-snapshot sha256=([0-9a-f]{64}) bytes=(\d+)\n\Z")
_TRAILER_START = b"# ijkg-snapshot "
_CHUNK = 1 << 20


class ChangeLogCorrupt(Exception):
    """The store's files are damaged in a way that is not a torn tail: a complete record that
    fails its checksum, bytes that are not a record, a snapshot that fails its checksum, a missing
    log file. ``file``, ``offset`` and ``version`` (the version the readable records reach) say
    where, when known."""

    def __init__(
        self,
        message: str,
        *,
        file: Path | None = None,
        offset: int | None = None,
        version: int | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.offset = offset
        self.version = version


class TornRecord(Exception):
    """The stream ends in the middle of a record (a commit torn by a crash, or one being
    written)."""


class DamagedRecord(Exception):
    """A complete record (or what should be one) that fails its checks."""


def snapshot_path(data_dir: Path, version: int) -> Path:
    return data_dir / f"snapshot-{version:012d}.sealed.nq"


def log_path(data_dir: Path, start_version: int) -> Path:
    return data_dir / f"changes-{start_version:012d}.log"


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
    """One record in the current frame. Any metadata that JSON can carry fits: the header's
    length field is 32 bits, and ``ValueError`` is raised (before anything is written) past it.

    >>> record = encode_record(7, b"", b"", {"title": "\\U0001f38c" * 20_000})
    >>> import io; read_record(io.BytesIO(record)).meta["title"] == "\\U0001f38c" * 20_000
    True
    """
    payload = removes + adds
    header = json.dumps({"v": version, "rm": len(removes), "meta": meta or {}}).encode()
    if len(header) > _MAX_HEADER:
        raise ValueError(f"the change's metadata is too large to record ({len(header):,} bytes)")
    frame = _FRAME.pack(
        _MAGIC,
        len(header),
        len(payload),
        hashlib.sha256(header).digest(),
        hashlib.sha256(payload).digest(),
    )
    return frame + _CRC.pack(zlib.crc32(frame)) + header + payload


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise TornRecord(f"the file ends {size - len(data):,} bytes short of the record's end")
    return data


def read_record(stream: BinaryIO, *, parse: bool = True) -> Record | None:
    """Read the next record: ``None`` at the end of the stream (with ``parse=False``, the record
    is checked but its quads are not parsed: it comes back empty).

    Raises ``TornRecord`` when the stream ends inside a record, and ``DamagedRecord`` when a
    record is complete but fails its checks, or the bytes there are not a record. The stream is
    left just after the record; after an exception its position is unspecified.
    """
    start = stream.read(len(_MAGIC))
    if not start:
        return None
    if start.startswith(_MAGIC_V1):
        return _read_v1(start, stream, parse)
    if start != _MAGIC:
        if len(start) < len(_MAGIC) and (_MAGIC.startswith(start) or _MAGIC_V1.startswith(start)):
            raise TornRecord("the file ends inside a record's first bytes")
        raise DamagedRecord("no record starts there")
    frame = start + _read_exactly(stream, _FRAME.size - len(start))
    (crc,) = _CRC.unpack(_read_exactly(stream, _CRC.size))
    if zlib.crc32(frame) != crc:
        raise DamagedRecord("the record's frame fails its checksum")
    _, header_len, payload_len, header_sha, payload_sha = _FRAME.unpack(frame)
    raw_header = _read_exactly(stream, header_len)
    if hashlib.sha256(raw_header).digest() != header_sha:
        raise DamagedRecord("the record's header fails its checksum")
    payload = _read_exactly(stream, payload_len)
    if hashlib.sha256(payload).digest() != payload_sha:
        raise DamagedRecord("the record's payload fails its checksum")
    try:
        header = json.loads(raw_header)
        version, rm_len, meta = int(header["v"]), int(header["rm"]), header["meta"]
    except (ValueError, KeyError, TypeError):
        raise DamagedRecord("the record's header is not readable") from None
    if not 0 <= rm_len <= payload_len:
        raise DamagedRecord("the record's header does not fit its payload")
    return _record(version, payload, rm_len, meta, parse)


def read_record_header(stream: BinaryIO, size: int) -> tuple[int, dict[str, Any]] | None:
    """The version and metadata of the next record, its frame and header checked but its payload
    skipped (checked when the record is read whole): ``None`` at the end of the stream. ``size`` is
    the stream's length, to tell a record still being written (``TornRecord``). Raises as
    ``read_record`` does; the stream is left just after the record."""
    position = stream.tell()
    start = stream.read(len(_MAGIC))
    if not start:
        return None
    if start != _MAGIC:
        stream.seek(position)
        record = read_record(stream, parse=False)
        return None if record is None else (record.version, record.meta)
    frame = start + _read_exactly(stream, _FRAME.size - len(start))
    (crc,) = _CRC.unpack(_read_exactly(stream, _CRC.size))
    if zlib.crc32(frame) != crc:
        raise DamagedRecord("the record's frame fails its checksum")
    _, header_len, payload_len, header_sha, _ = _FRAME.unpack(frame)
    raw_header = _read_exactly(stream, header_len)
    if hashlib.sha256(raw_header).digest() != header_sha:
        raise DamagedRecord("the record's header fails its checksum")
    end = stream.tell() + payload_len
    if end > size:
        raise TornRecord(f"the file ends {end - size:,} bytes short of the record's end")
    try:
        header = json.loads(raw_header)
        version, meta = int(header["v"]), header["meta"]
    except (ValueError, KeyError, TypeError):
        raise DamagedRecord("the record's header is not readable") from None
    stream.seek(end)
    return version, meta if isinstance(meta, dict) else {}


def _read_v1(start: bytes, stream: BinaryIO, parse: bool) -> Record:
    """A record of the first format: ``IJKG1 {json}\n`` and the payload (the header line is read
    whole, however long: the old writer put no limit on it either)."""
    line = start + stream.readline()
    if not line.endswith(b"\n"):
        raise TornRecord("the file ends inside a record's header")
    try:
        header = json.loads(line[len(_MAGIC_V1) :])
        version, rm_len, add_len = int(header["v"]), int(header["rm"]), int(header["add"])
        sha = str(header["sha256"])
    except (ValueError, KeyError, TypeError):
        raise DamagedRecord("the record's header is not readable") from None
    if rm_len < 0 or add_len < 0:
        raise DamagedRecord("the record's header is not readable")
    payload = stream.read(rm_len + add_len)
    if len(payload) != rm_len + add_len:
        # This format has no checksum on its header: a length that a damaged header made too long
        # would look like a torn tail, unless complete records follow where the payload should be.
        if b"\n" + _MAGIC_V1 in payload or _MAGIC in payload:
            raise DamagedRecord("the record's header does not match the records that follow it")
        raise TornRecord("the file ends before the record's payload does")
    if hashlib.sha256(payload).hexdigest() != sha:
        raise DamagedRecord("the record's payload fails its checksum")
    return _record(version, payload, rm_len, header.get("meta"), parse)


def _record(version: int, payload: bytes, rm_len: int, meta: Any, parse: bool) -> Record:
    if not parse:
        return Record(version, [], [], meta if isinstance(meta, dict) else {})
    try:
        removes, adds = read_nquads(payload[:rm_len]), read_nquads(payload[rm_len:])
    except SyntaxError:
        raise DamagedRecord("the record's quads are not readable") from None
    return Record(version, removes, adds, meta if isinstance(meta, dict) else {})


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def log_files(data_dir: Path) -> dict[int, Path]:
    """The change log files in ``data_dir``, by the version each starts at."""
    found = {}
    for entry in os.listdir(data_dir):
        match = _LOG.match(entry)
        if match:
            found[int(match.group(1))] = data_dir / entry
    return dict(sorted(found.items()))


def snapshot_files(data_dir: Path) -> dict[int, list[Path]]:
    """The snapshot files in ``data_dir`` by version, sealed first (earlier versions of the store
    wrote them without a checksum)."""
    found: dict[int, list[Path]] = {}
    for entry in sorted(os.listdir(data_dir), key=lambda name: ".sealed." not in name):
        match = _SNAPSHOT.match(entry)
        if match:
            found.setdefault(int(match.group(1)), []).append(data_dir / entry)
    return dict(sorted(found.items()))


def seal_snapshot(path: Path) -> None:
    """Append the checksum trailer to a snapshot written by ``Store.dump`` (and fsync it)."""
    digest = hashlib.sha256()
    size = 0
    last = b"\n"
    with path.open("r+b") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            last = chunk[-1:]
        if last != b"\n":
            raise OSError(f"{path.name}: the dump does not end with a line break")
        stream.write(_TRAILER_START + f"sha256={digest.hexdigest()} bytes={size}\n".encode())
        stream.flush()
        os.fsync(stream.fileno())


def snapshot_version(path: Path) -> int:
    """The version of the snapshot file at ``path``."""
    match = _SNAPSHOT.match(path.name)
    if match is None:
        raise ValueError(f"{path.name} is not a snapshot file")
    return int(match.group(1))


def check_snapshot(path: Path) -> None:
    """Raise ``ChangeLogCorrupt`` unless the sealed snapshot at ``path`` is whole and matches its
    checksum (a snapshot of the old kind, without a trailer, cannot be checked)."""
    if ".sealed." not in path.name:
        return
    size = path.stat().st_size
    with path.open("rb") as stream:
        tail_start = max(0, size - 160)
        stream.seek(tail_start)
        tail = stream.read()
        at = tail.rfind(_TRAILER_START)
        match = _TRAILER.match(tail, at) if at >= 0 else None
        if match is None or int(match.group(2)) != tail_start + at:
            raise ChangeLogCorrupt(
                f"the snapshot {path.name} is damaged: its checksum trailer is missing or wrong",
                file=path,
                offset=tail_start + max(at, 0),
            )
        digest = hashlib.sha256()
        stream.seek(0)
        left = int(match.group(2))
        while left:
            chunk = stream.read(min(_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    if digest.hexdigest() != match.group(1).decode():
        raise ChangeLogCorrupt(
            f"the snapshot {path.name} is damaged: its content does not match its checksum",
            file=path,
        )


@dataclass
class Scan:
    """What reading the store's files found: the version reached, where the next record goes,
    and the torn tail or the damage that stopped the reading (if any)."""

    version: int
    log_file: Path
    log_offset: int
    records_replayed: int = 0
    torn_file: Path | None = None
    torn_offset: int = 0
    torn_bytes: int = 0
    damage: ChangeLogCorrupt | None = None


def scan(data_dir: Path, store: ox.Store | None, snapshot: Path | None) -> Scan:
    """Load ``snapshot`` (or nothing: version 0) into ``store`` and replay the log after it, up to
    the end or to the first damage (returned, not raised). Changes nothing on disk. Without a
    store, the records are only checked."""
    version = 0
    if snapshot is not None:
        version = snapshot_version(snapshot)
        if store is not None:
            store.bulk_extend(ox.parse(path=str(snapshot), format=ox.RdfFormat.N_QUADS))
    logs = {start: path for start, path in log_files(data_dir).items() if start >= version}
    result = Scan(version, log_path(data_dir, version), 0)
    if not logs:
        if snapshot is not None:
            result.damage = ChangeLogCorrupt(
                f"the change log {log_path(data_dir, version).name} that follows the snapshot "
                f"{snapshot.name} is missing",
                file=log_path(data_dir, version),
                version=version,
            )
        return result
    last = max(logs)
    for start, path in logs.items():
        if start < result.version and path.stat().st_size == 0:
            # An empty log left by a snapshot that failed (and could not remove it): records
            # went on landing in the log before it.
            continue
        if start != result.version:
            result.damage = ChangeLogCorrupt(
                f"the change log {path.name} starts at version {start}, but the records before "
                f"it reach version {result.version}: a log file is missing",
                file=path,
                version=result.version,
            )
            return result
        result.log_file = path
        with path.open("rb") as stream:
            while True:
                offset = stream.tell()
                try:
                    record = read_record(stream, parse=store is not None)
                except TornRecord:
                    size = path.stat().st_size
                    if start == last:
                        result.torn_file, result.torn_offset = path, offset
                        result.torn_bytes = size - offset
                        break
                    result.damage = _damage(path, offset, result.version, "a record stops short")
                    return result
                except DamagedRecord as exc:
                    result.damage = _damage(path, offset, result.version, str(exc))
                    return result
                if record is None:
                    break
                if record.version <= result.version:
                    continue  # already in the snapshot
                if record.version != result.version + 1:
                    reason = f"it holds version {record.version} where {result.version + 1} belongs"
                    result.damage = _damage(path, offset, result.version, reason)
                    return result
                if store is not None:
                    record.apply(store)
                result.version = record.version
                result.records_replayed += 1
            result.log_offset = offset
    return result


def _damage(path: Path, offset: int, version: int, reason: str) -> ChangeLogCorrupt:
    return ChangeLogCorrupt(
        f"the change log {path.name} is damaged at byte {offset:,} ({reason}); the records "
        f"before it reach version {version}",
        file=path,
        offset=offset,
        version=version,
    )


@dataclass
class Recovered:
    """What recovery found: the version reached, where the next record goes, and the torn tail it
    cut off (if any)."""

    version: int
    log_file: Path
    log_offset: int
    records_replayed: int
    torn_bytes_dropped: int
    torn_file: Path | None = None
    torn_offset: int = 0


def recover(data_dir: Path, store: ox.Store) -> Recovered:
    """Load the newest snapshot into ``store`` (checking it) and replay the change log after it.

    A torn record at the end of the last log file (a crash mid-commit: never acknowledged) is cut
    off, and said so in the result. Any other damage raises ``ChangeLogCorrupt`` and leaves every
    file as it was.
    """
    snapshots = snapshot_files(data_dir)
    snapshot = snapshots[max(snapshots)][0] if snapshots else None
    if snapshot is not None:
        check_snapshot(snapshot)
    found = scan(data_dir, store, snapshot)
    if found.damage is not None:
        raise found.damage
    if found.torn_file is not None:
        with found.torn_file.open("r+b") as stream:
            stream.truncate(found.torn_offset)
            os.fsync(stream.fileno())
    if not found.log_file.exists():
        found.log_file.touch()
        _fsync_dir(data_dir)
    return Recovered(
        version=found.version,
        log_file=found.log_file,
        log_offset=found.log_offset,
        records_replayed=found.records_replayed,
        torn_bytes_dropped=found.torn_bytes,
        torn_file=found.torn_file,
        torn_offset=found.torn_offset,
    )


def verify(data_dir: Path) -> None:
    """Check the files a start would read (the newest snapshot's checksum, every record's) without
    loading anything; raise ``ChangeLogCorrupt`` at damage that is not a torn tail."""
    snapshots = snapshot_files(data_dir)
    snapshot = snapshots[max(snapshots)][0] if snapshots else None
    if snapshot is not None:
        check_snapshot(snapshot)
    found = scan(data_dir, None, snapshot)
    if found.damage is not None:
        raise found.damage


def write_snapshot(store: ox.Store, target: Path) -> None:
    """Dump ``store`` to ``target`` whole and sealed, or not at all (``OSError``)."""
    partial = target.with_name(target.name + ".partial")
    try:
        store.dump(str(partial), format=ox.RdfFormat.N_QUADS)
        seal_snapshot(partial)
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


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
        record = encode_record(version, write_nquads(removes), write_nquads(adds), meta)
        start = self._file.tell()
        try:
            view = memoryview(record)
            while view:
                view = view[self._file.write(view) or 0 :]
            if self.fsync:
                os.fsync(self._file.fileno())
        except OSError:
            # Disk full or read-only: cut the partial record off so the next commit does not land
            # behind garbage (recovery would refuse to go past it).
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

        Once the new snapshot is safely on disk, snapshots older than the previous snapshot are
        removed. Every log is kept: the logs are the graph's history (see ``history``).

        A snapshot that cannot be written (disk full, read-only directory) raises ``OSError`` and
        changes nothing: the partial file is removed and records keep going to the current log.
        The new log is created *before* the snapshot is put in place, so there is never a
        snapshot at version V without the log that follows it (recovery would skip the records
        that went on landing in the old log).
        """
        target = snapshot_path(self.data_dir, self.version)
        partial = target.with_name(target.name + ".partial")
        new_log = log_path(self.data_dir, self.version)
        new_file = None
        try:
            store.dump(str(partial), format=ox.RdfFormat.N_QUADS)
            seal_snapshot(partial)
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
        # One snapshot generation back is kept, so that a snapshot found damaged later can be
        # rebuilt (``ijkg repair``) without losing anything; the logs all stay (the history).
        snapshots = snapshot_files(self.data_dir)
        older = [v for v in snapshots if v < self.version]
        keep_from = max(older) if older else 0
        for old, paths in snapshots.items():
            for path in paths:
                if old < keep_from or (old == self.version and path != target):
                    path.unlink(missing_ok=True)
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
            try:
                record = read_record(self._file)
            except TornRecord:
                record = None  # the engine may be writing it now
            except DamagedRecord as exc:
                raise _damage(Path(self._file.name), position, self.version, str(exc)) from None
            if record is None:
                self._file.seek(position)
                return
            yield record

    def close(self) -> None:
        self._file.close()
