"""A limit on concurrent queries shared by every service worker on one host.

Several service processes in front of one external store must share their limits, or N workers
would each let ``max_concurrent_queries`` through. The shared component is a directory of slot
files: a query holds an exclusive ``flock`` on one slot while it runs. The kernel releases the lock
if the process dies, so a crashed worker never leaks a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from ijkg.graph.errors import QueryOverloaded

_WAIT_S = 1.0  # how long a query may wait for a slot before the service says it is busy


class SharedSlots:
    """``count`` slots in ``directory``, shared across processes."""

    def __init__(self, directory: Path, count: int) -> None:
        self.directory = directory
        self.count = count
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
        """Hold a slot for the duration; ``QueryOverloaded`` if none frees up in time."""
        deadline = time.monotonic() + _WAIT_S
        fd = self._try()
        while fd is None:
            if time.monotonic() > deadline:
                raise QueryOverloaded(
                    f"{self.count} queries are already running on this host; try again shortly"
                )
            await asyncio.sleep(0.02)
            fd = self._try()
        try:
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock
