"""The graph's history on the embedded and in-process stores: every commit's record, by version.

The change log keeps each commit as an exact change (``union.exact_change``: quads removed that
were there, quads added that were not), so the graph at version N is the graph at the head with
the records head .. N+1 taken back, newest first. That costs the changes since N, never the whole
history, and needs no copy of the graph per version: the history is the log itself.

``LogIndex`` finds a record by its version: where it starts in which log file. It is built lazily
(the first time a version is read) and extended as the log grows, by reading the records' headers
only; several processes read the same files (the service processes and each query worker keep
their own index), which is safe because logs are append-only and a snapshot starts a new log file
rather than rewriting one. ``MemoryHistory`` is the same for the in-process store, which keeps its
records in memory.

The engine stamps each record's metadata with the commit's UTC time (``at``), the quads it removed
and added, and the quads of the store after it (``stamped``); ``version_info`` reads them back.
"""

from __future__ import annotations

import bisect
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyoxigraph as ox

from ijkg.graph.core.errors import VersionNotFound
from ijkg.graph.store.base import VersionInfo
from ijkg.graph.store.changelog import (
    ChangeLogCorrupt,
    DamagedRecord,
    Record,
    TornRecord,
    log_files,
    read_record,
    read_record_header,
)


class History(Protocol):
    """Where a query worker reads the records it takes back to answer at an older version."""

    def first(self, head: int) -> int:
        """The oldest version that can be rebuilt from ``head``."""
        ...

    def records(self, after: int, upto: int) -> list[Record]:
        """The records of versions ``after + 1 .. upto``, oldest first."""
        ...


def stamped(meta: dict[str, Any] | None, *, removed: int, added: int, quads: int) -> dict[str, Any]:
    """A commit's metadata with what the history shows of it: the time (UTC, milliseconds), the
    quads it removed and added, and the quads of the store after it."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**(meta or {}), "at": now, "removed": removed, "added": added, "quads": quads}


def version_info(version: int, meta: dict[str, Any], record: Record | None = None) -> VersionInfo:
    """The ``VersionInfo`` of a record from its metadata (counts from ``record`` when the
    metadata predates them; ``time``/``quads`` are ``None`` then)."""

    def text(key: str) -> str | None:
        value = meta.get(key)
        return value if isinstance(value, str) else None

    def number(key: str) -> int | None:
        value = meta.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    removed, added = number("removed"), number("added")
    if (removed is None or added is None) and record is not None:
        removed, added = len(record.removes), len(record.adds)
    return VersionInfo(
        version=version,
        time=text("at"),
        who=text("who"),
        why=text("why"),
        change=text("change"),
        removed=removed or 0,
        added=added or 0,
        quads=number("quads"),
    )


def rewind(records: list[Record]) -> tuple[set[ox.Quad], set[ox.Quad]]:
    """What takes the graph at the last of ``records`` (consecutive, oldest first) back to
    before the first: the quads to remove (there now, not then) and to add (there then, not now).
    Their net change, so that a quad added and removed again in between costs nothing, and the
    store is written once rather than once per record."""
    gone: set[ox.Quad] = set()
    back: set[ox.Quad] = set()
    for record in reversed(records):
        # Taking a record back removes what it added and adds what it removed (an exact change).
        for quad in record.adds:
            if quad in back:
                back.discard(quad)
            else:
                gone.add(quad)
        for quad in record.removes:
            if quad in gone:
                gone.discard(quad)
            else:
                back.add(quad)
    return gone, back


def not_in_history(version: int, first: int, head: int) -> VersionNotFound:
    return VersionNotFound(
        f"version {version} is not in this graph's history: versions {first} to {head} can be read",
        first=first,
        head=head,
    )


def no_patch(version: int, first: int, head: int) -> VersionNotFound:
    if first >= head:
        says = f"no version has a patch that can be read (the graph is at version {head})"
    else:
        says = f"the patches of versions {first + 1} to {head} can be read"
    return VersionNotFound(
        f"version {version} has no patch in this graph's history: {says}", first=first, head=head
    )


#: The parsed records an index keeps, counted in quads (about 300 bytes each in memory): a
#: worker asked for the same old version again reads no file, for the last changes.
KEEP_QUADS = 20_000


@dataclass
class _Segment:
    """Records of consecutive versions in one log file: ``offsets[i]`` is where the record of
    version ``base + i`` starts."""

    path: Path
    base: int
    offsets: array[int] = field(default_factory=lambda: array("Q"))


class LogIndex:
    """Version -> (log file, offset) over every log file of a data directory, for the run of
    consecutive records that ends at the newest one (a store whose first logs were lost, or
    repaired past damage, can be rebuilt back to where that run starts only). Thread-safe: the
    service reads it from threads (``asyncio.to_thread``), off the event loop."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._segments: list[_Segment] = []
        self._last: int | None = None
        self._read_to: dict[Path, int] = {}
        self._gap = False
        self._open: dict[Path, BinaryIO] = {}
        self._kept: OrderedDict[int, Record] = OrderedDict()
        self._kept_quads = 0
        self._lock = threading.Lock()

    # --- building ------------------------------------------------------------------------------

    def _extend(self, *, anew: bool = False) -> None:
        """Index the records written since the last call (headers only)."""
        if anew:
            self._segments, self._last, self._read_to, self._gap = [], None, {}, False
            self._kept.clear()
            self._kept_quads = 0
        for path in log_files(self.data_dir).values():
            offset = self._read_to.get(path, 0)
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if size <= offset:
                continue
            with path.open("rb") as stream:
                stream.seek(offset)
                while True:
                    position = stream.tell()
                    try:
                        found = read_record_header(stream, size)
                    except TornRecord:
                        break  # the engine is writing it: read on next time
                    except DamagedRecord:
                        if offset and not anew:
                            # Where this index stopped reading, a record it had read may have
                            # been cut off again (a write whose fsync failed) and written anew:
                            # index the files from their start once before calling it damage.
                            self._extend(anew=True)
                            return
                        # Unreadable from here on: the history before it cannot be reached from
                        # the head any more (recovery refuses damage in the logs it reads).
                        self._gap = True
                        position = 1 << 62
                        break
                    if found is None:
                        break
                    self._add(found[0], path, position)
            self._read_to[path] = position

    def _add(self, version: int, path: Path, offset: int) -> None:
        last = self._last
        if last is not None and version <= last and not self._gap:
            return  # a record that a failed snapshot left in an older file as well
        if last is None or self._gap or version != last + 1:
            self._segments = [_Segment(path, version)]
            self._gap = False
        elif self._segments[-1].path != path:
            self._segments.append(_Segment(path, version))
        self._segments[-1].offsets.append(offset)
        self._last = version

    def _reach(self, head: int) -> int:
        """The first version that can be rebuilt from ``head`` (``head`` itself when the records
        up to it cannot all be read)."""
        if self._last is None or self._last < head:
            self._extend()
        if not self._segments or self._last is None or self._last < head:
            return head
        return min(self._segments[0].base - 1, head)

    # --- reading -------------------------------------------------------------------------------

    def first(self, head: int) -> int:
        with self._lock:
            return self._reach(head)

    def _where(self, version: int) -> tuple[Path, int]:
        bases = [segment.base for segment in self._segments]
        segment = self._segments[bisect.bisect_right(bases, version) - 1]
        return segment.path, segment.offsets[version - segment.base]

    def _stream(self, path: Path) -> BinaryIO:
        stream = self._open.get(path)
        if stream is None:
            stream = self._open[path] = path.open("rb")
        return stream

    def _read(self, version: int) -> Record:
        kept = self._kept.get(version)
        if kept is not None:
            self._kept.move_to_end(version)
            return kept
        record = self._read_from_file(version)
        size = len(record.removes) + len(record.adds)
        if size <= KEEP_QUADS:
            # Kept parsed for the next query at a nearby version (records are never changed).
            self._kept[version] = record
            self._kept_quads += size
            while self._kept_quads > KEEP_QUADS:
                _, dropped = self._kept.popitem(last=False)
                self._kept_quads -= len(dropped.removes) + len(dropped.adds)
        return record

    def _read_from_file(self, version: int) -> Record:
        path, offset = self._where(version)
        stream = self._stream(path)
        stream.seek(offset)
        try:
            record = read_record(stream)
        except (TornRecord, DamagedRecord) as exc:
            raise ChangeLogCorrupt(
                f"the change log {path.name} is damaged at byte {offset:,} ({exc})",
                file=path,
                offset=offset,
            ) from None
        if record is None or record.version != version:
            raise ChangeLogCorrupt(f"the record of version {version} is not where it was")
        return record

    def records(self, after: int, upto: int) -> list[Record]:
        with self._lock:
            first = self._reach(upto)
            if after < first:
                raise not_in_history(after, first, upto)
            return [self._read(version) for version in range(after + 1, upto + 1)]

    def record(self, version: int, head: int) -> Record:
        """The record of ``version`` (``VersionNotFound`` outside ``first + 1 .. head``)."""
        with self._lock:
            first = self._reach(head)
            if not first < version <= head:
                raise no_patch(version, first, head)
            return self._read(version)

    def infos(self, after: int, limit: int, head: int) -> list[VersionInfo]:
        """The versions after ``after`` (and after ``first``), oldest first, at most ``limit``."""
        with self._lock:
            start = max(after, self._reach(head))
            out = []
            for version in range(start + 1, min(head, start + limit) + 1):
                path, offset = self._where(version)
                stream = self._stream(path)
                stream.seek(offset)
                try:
                    found = read_record_header(stream, path.stat().st_size)
                except (TornRecord, DamagedRecord) as exc:
                    raise ChangeLogCorrupt(f"the change log {path.name}: {exc}") from None
                meta = found[1] if found else {}
                counted = "removed" in meta and "added" in meta
                out.append(version_info(version, meta, None if counted else self._read(version)))
            return out

    def close(self) -> None:
        with self._lock:
            for stream in self._open.values():
                stream.close()
            self._open.clear()


class MemoryHistory:
    """The in-process store's history: its records, in memory (version ``i + 1`` at ``i``)."""

    def __init__(self) -> None:
        self.kept: list[Record] = []

    def first(self, head: int) -> int:
        return 0

    def records(self, after: int, upto: int) -> list[Record]:
        if after < 0:
            raise not_in_history(after, 0, upto)
        return self.kept[after:upto]
