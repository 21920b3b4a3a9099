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


#: The file every store made in a directory has from its start (the engine writes it first).
META_FILE = "store.json"


def holds_store(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds an embedded store (rather than nothing, or other files)."""
    return (data_dir / META_FILE).is_file()


def _command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (name) state ppid ...": the name may hold spaces and brackets, so split after it.
    fields = stat.rpartition(")")[2].split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _ijkg_command(words: list[str]) -> str | None:
    """``['python', '-m', 'ijkg.service', 'serve', '--port', '8000']`` -> ``'ijkg serve --port
    8000'``; ``None`` for a command line that is not ijkg's."""
    for at, word in enumerate(words):
        if word in ("ijkg.service", "ijkg") or word.endswith("/ijkg"):
            return " ".join(["ijkg", *words[at + 1 :]])[:200]
    return None


def holder_description(holder: str) -> str:
    """Who holds a store's lock, for people: ``process 12 (the store engine of `ijkg serve`,
    process 10)`` where the system says (Linux), else ``process 12``."""
    if not holder.isdigit():
        return holder
    pid = int(holder)
    words = _command_line(pid)
    if "ijkg.graph.store.engine" in words:
        parent = _parent(pid)
        command = _ijkg_command(_command_line(parent)) if parent else None
        if command:
            return f"process {pid} (the store engine of `{command}`, process {parent})"
        return f"process {pid} (an ijkg store engine)"
    command = _ijkg_command(words)
    return f"process {pid} (`{command}`)" if command else f"process {pid}"


def locked_message(data_dir: Path | str, holder: str) -> str:
    """What a process that finds the store locked says."""
    return (
        f"the store in {data_dir} is in use by {holder_description(holder)}: one process owns a "
        "store; use that service's HTTP API, or stop it first"
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
