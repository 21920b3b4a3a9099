"""The embedded store's data directory: whether a process can use it, and what its I/O errors mean.

The engine owns the directory (its lock, change log and snapshots). When the file system refuses a
write, the engine reports the ``errno`` and the service turns it into a typed error that says what
to do: ``StorageFull`` (no space, a quota, a file size limit: free some space) or
``StorageFailed`` (a read-only file system, permissions, an I/O error). Nothing is written in
either case, and reads go on.

``preflight`` checks a directory before a long-running process starts on it, so that ``ijkg serve``
on a directory another process holds, or cannot write, stops at once with one clear sentence.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path

from ijkg.graph.core.errors import StorageFailed, StorageFull, StoreDamaged, StoreLocked
from ijkg.graph.store.changelog import ChangeLogCorrupt, verify

#: errno values that mean "no room": a full disk, a quota, a file size limit (RLIMIT_FSIZE).
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: errno values that mean "may not write here".
READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})

LOCK_FILE = "LOCK"


def locked_message(data_dir: Path | str, holder: str) -> str:
    """What a process that finds the store locked says."""
    return (
        f"the store in {data_dir} is in use by process {holder}: one process owns a store; "
        "stop it first, or use its HTTP API"
    )


def damaged_message(data_dir: Path | str, damage: str) -> str:
    """What a process that finds the store damaged says: what, where, and how to recover.

    >>> message = damaged_message("/srv/ijkg", "changes-000000000000.log is damaged at byte 9")
    >>> message.startswith("the store in /srv/ijkg did not start: changes-000000000000.log is")
    True
    >>> "`ijkg repair --data-dir /srv/ijkg --yes`" in message
    True
    """
    return (
        f"the store in {data_dir} did not start: {damage}; nothing was changed on disk: "
        f"`ijkg repair --data-dir {data_dir} --yes` rebuilds it from the last good snapshot and "
        "every readable record (and keeps the damaged files), or restore a backup (ijkg restore)"
    )


def storage_error(code: int | None, detail: str, data_dir: Path | str) -> StorageFailed:
    """The typed error for an ``OSError`` with ``code`` on the data directory.

    >>> storage_error(errno.ENOSPC, "write failed", "/srv/ijkg")  # doctest: +ELLIPSIS
    StorageFull('no space left for the store in /srv/ijkg (write failed); nothing was written...')
    >>> type(storage_error(errno.EROFS, "open failed", "/srv/ijkg")).__name__
    'StorageFailed'
    """
    if code in NO_SPACE:
        return StorageFull(
            f"no space left for the store in {data_dir} ({detail}); nothing was written: "
            "free some space and try again (reads go on)"
        )
    if code in READ_ONLY:
        return StorageFailed(
            f"the store in {data_dir} cannot be written: the directory is read-only or not "
            f"writable by this process ({detail}); nothing was written (reads go on)"
        )
    return StorageFailed(
        f"the store in {data_dir} could not be written ({detail}); nothing was written"
    )


def take_lock(data_dir: Path) -> int:
    """Take the data directory's lock for good (the returned descriptor holds it until closed),
    or raise ``StoreLocked`` saying who holds it."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StoreLocked(locked_message(data_dir, holder)) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def preflight(data_dir: Path, *, check_files: bool = True) -> None:
    """Check that this process could open the store in ``data_dir``: the directory exists (or can
    be made), files can be created in it, no other process holds its lock, and its files are not
    damaged (unless ``check_files`` is false: checksums only, nothing is loaded).

    Raises ``StoreLocked``, ``StoreDamaged`` or ``StorageFailed``/``StorageFull``. It takes the
    lock only for the check; the engine takes it again for good (and checks again as it loads).
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise storage_error(exc.errno, exc.strerror or str(exc), data_dir) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise StoreLocked(locked_message(data_dir, holder)) from None
        try:
            probe_fd, probe = tempfile.mkstemp(dir=data_dir, prefix=".ijkg-probe-")
        except OSError as exc:
            raise storage_error(exc.errno, exc.strerror or str(exc), data_dir) from None
        os.close(probe_fd)
        os.unlink(probe)
        if check_files:
            try:
                verify(data_dir)
            except ChangeLogCorrupt as exc:
                raise StoreDamaged(damaged_message(data_dir, str(exc))) from None
    finally:
        os.close(fd)  # closing releases the lock
