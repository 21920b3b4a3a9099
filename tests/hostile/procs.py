"""The processes of a running service and how much memory they hold (Linux ``/proc``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Usage:
    pid: int
    role: str  # service, engine or worker
    rss_mb: float


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None  # gone (a worker replaced between listing and reading)
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def usage(service_pid: int) -> list[Usage]:
    """The service process, its store engine (a child, when the store is embedded) and the
    engine's query workers, with their resident memory."""
    found: list[Usage] = []
    rss = _rss_mb(service_pid)
    if rss is not None:
        found.append(Usage(service_pid, "service", rss))
    for child in children(service_pid):
        rss = _rss_mb(child)
        if rss is None:
            continue
        found.append(Usage(child, "engine", rss))
        for worker in children(child):
            rss = _rss_mb(worker)
            if rss is not None:
                found.append(Usage(worker, "worker", rss))
    return found
