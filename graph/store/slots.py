"""Limits shared by every service worker on one host: concurrent queries, and the one writer.

Several service processes in front of one external store must share their limits, or N workers
would each let ``max_concurrent_queries`` through, and two of them could commit at once. The shared
component is a directory of slot files: a query (or the writer) holds an exclusive ``flock`` on one
slot while it runs. The kernel releases the lock if the process dies, so a crashed worker never
leaks a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ijkg.graph.core.errors import IjkgError, QueryOverloaded

_WAIT_S = 1.0  # how long a query may wait for a slot before the service says it is busy


class SharedSlots:
    """``count`` slots in ``directory``, shared across processes; a holder waits up to ``wait_s``
    for one, then gets ``busy()`` raised (by default: too many queries)."""

    def __init__(
        self,
        directory: Path,
        count: int,
        *,
        wait_s: float = _WAIT_S,
        busy: Callable[[], IjkgError] | None = None,
    ) -> None:
        self.directory = directory
        self.count = count
        self.wait_s = wait_s
        self.busy = busy or (
            lambda: QueryOverloaded(
                f"{count} queries are already running on this host; try again shortly"
            )
        )
        directory.mkdir(parents=True, exist_ok=True)
        self._paths = [directory / f"slot-{i:03d}" for i in range(count)]
        for path in self._paths:
            path.touch(exist_ok=True)

    def _try(self) -> int | None:
        for path in self._paths:
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold a slot for the duration; ``busy()`` is raised if none frees up in time."""
        deadline = time.monotonic() + self.wait_s
        fd = self._try()
        while fd is None:
            if time.monotonic() > deadline:
                raise self.busy()
            await asyncio.sleep(0.02)
            fd = self._try()
        try:
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock
