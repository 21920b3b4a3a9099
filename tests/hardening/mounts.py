"""Small file systems for the operational tests: a tmpfs of a given size (a disk that fills up)
and a read-only bind mount (a directory that turns read-only under a running process).

Both need root (CAP_SYS_ADMIN), as CI has; elsewhere the tests that use them are skipped with the
reason. They call mount(2) directly, so no ``mount`` binary is needed.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: Path, fstype: str | None, flags: int, data: str) -> None:
    result = _libc.mount(
        source.encode() if source else None,
        str(target).encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount {target}: {os.strerror(code)}")


def _unmount(target: Path) -> None:
    _libc.umount2(str(target).encode(), MNT_DETACH)


@contextmanager
def tmpfs(target: Path, size_kb: int) -> Iterator[Path]:
    """A tmpfs of ``size_kb`` KiB at ``target`` (skips the test where mounting is not allowed)."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        _mount("tmpfs", target, "tmpfs", 0, f"size={size_kb}k")
    except OSError as exc:
        pytest.skip(f"a small file system is needed and cannot be mounted here: {exc}")
    try:
        yield target
    finally:
        _unmount(target)


@contextmanager
def read_only(target: Path) -> Iterator[Path]:
    """``target`` made read-only for every new open, as a read-only bind mount over itself
    (files a process already has open for writing stay writable through their descriptors)."""
    try:
        _mount(str(target), target, None, MS_BIND, "")
    except OSError as exc:
        pytest.skip(f"a read-only bind mount is needed and cannot be made here: {exc}")
    try:
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY, "")
        yield target
    finally:
        _unmount(target)


def fill(directory: Path) -> Path:
    """Fill the file system holding ``directory`` to the last byte; returns the filler file."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        for chunk in (1 << 20, 4096, 1):
            while True:
                try:
                    out.write(b"\0" * chunk)
                except OSError:
                    break
    return filler
