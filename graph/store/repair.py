"""``ijkg repair``: rebuild a damaged embedded store from what is readable.

When the store's files are damaged in a way that is not a torn tail (see ``changelog``), the store
does not start, and nothing is changed on disk until an operator asks for it. ``repair``:

1. takes the data directory's lock (the service must be stopped);
2. finds the newest snapshot that passes its checksum (or none: an empty store at version 0) and
   replays every readable record after it, up to the first damage;
3. writes a sealed snapshot at the version reached and an empty log after it, and moves every file
   it replaces — the damaged ones included — into ``damaged-<UTC time>/`` in the data directory
   (renamed, never deleted or rewritten);
4. says what version it reached and what was lost.

Should the repair itself be interrupted, every file is in ``damaged-<UTC time>/``, the rebuilt
snapshot included (``rebuilt-snapshot.nq``, once whole): nothing is ever deleted.

``plan`` does steps 1 and 2 only, changing nothing (``ijkg repair`` without ``--yes``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ijkg.graph.store.changelog import (
    ChangeLogCorrupt,
    Scan,
    check_snapshot,
    log_files,
    log_path,
    recover,
    scan,
    snapshot_files,
    snapshot_path,
    snapshot_version,
    write_snapshot,
)
from ijkg.graph.store.storage import take_lock


@dataclass
class Repair:
    """What a repair found, reached and (once done) moved aside."""

    data_dir: Path
    damage: list[str]
    version: int
    snapshot: Path | None
    #: files replaced by the rebuilt snapshot and log (moved aside by ``repair``)
    replaced: list[Path] = field(default_factory=list)
    #: where the damage stopped the reading: the unread rest of the log (file, offset, bytes)
    unread: tuple[Path, int, int] | None = None
    aside: Path | None = None

    @property
    def needed(self) -> bool:
        return bool(self.damage)

    def lost(self) -> str:
        """What the rebuilt store does not have, in one sentence."""
        parts = []
        if self.unread is not None:
            path, offset, size = self.unread
            parts.append(f"{size:,} bytes of {path.name} from byte {offset:,}")
        later = [p.name for p in self.replaced if _later(p, self.version)]
        if later:
            parts.append("the files " + ", ".join(later))
        if not parts:
            return f"nothing readable is lost; the store is at version {self.version}"
        return (
            f"every change after version {self.version} is lost from the store: "
            + " and ".join(parts)
            + " could not be read (kept, moved aside); restore them from a backup if you have one"
        )


def _later(path: Path, version: int) -> bool:
    name = path.name
    start = int(name.split("-")[1].split(".")[0])
    return start > version


def plan(data_dir: Path, store: ox.Store | None = None) -> Repair:
    """What ``repair`` would do: the damage found and the version the readable files reach."""
    store = store if store is not None else ox.Store()
    damage = []
    chosen = None
    snapshots = snapshot_files(data_dir)
    for version in sorted(snapshots, reverse=True):
        path = snapshots[version][0]
        try:
            check_snapshot(path)
        except ChangeLogCorrupt as exc:
            damage.append(str(exc))
            continue
        chosen = path
        break
    found: Scan = scan(data_dir, store, chosen)
    if found.damage is not None:
        damage.append(str(found.damage))
    start = snapshot_version(chosen) if chosen is not None else 0
    replaced = [p for v, paths in snapshots.items() if v >= start for p in paths]
    replaced += [p for v, p in log_files(data_dir).items() if v >= start]
    result = Repair(data_dir, damage, found.version, chosen, sorted(replaced))
    error = found.damage
    if error is not None and error.file is not None and error.offset is not None:
        size = error.file.stat().st_size
        result.unread = (error.file, error.offset, size - error.offset)
    return result


def repair(data_dir: Path) -> Repair:
    """Rebuild the store in ``data_dir`` from its readable part (see the module's description).

    Raises ``StoreLocked`` if a process has the store open. A store without damage is left as it
    is (``Repair.needed`` is false).
    """
    lock = take_lock(data_dir)
    try:
        store = ox.Store()
        result = plan(data_dir, store)
        if not result.needed:
            return result
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = data_dir / f"damaged-{stamp}"
        aside.mkdir()
        # The rebuilt snapshot is made whole first (under a name recovery ignores), then the files
        # it replaces go aside, then it and its empty log are put in place.
        staged = aside / "rebuilt-snapshot.nq"
        write_snapshot(store, staged)
        for path in result.replaced:
            os.rename(path, aside / path.name)
        log_path(data_dir, result.version).touch()
        os.replace(staged, snapshot_path(data_dir, result.version))
        for directory in (aside, data_dir):
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        result.aside = aside
        recover(data_dir, ox.Store())  # the repaired store starts
        return result
    finally:
        os.close(lock)
