"""The processes of a running service and how much memory they hold (Linux ``/proc``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Usage:
    pid: int
    role: str  # service, engine, worker (the engine's) or validator (POST /validate's)
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


def _command(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def is_validator(pid: int) -> bool:
    """Whether ``pid`` is a validation worker (a child of the service that runs POST /validate)."""
    return b"ijkg.graph.curation.validation_worker" in _command(pid)


def engine_of(service_pid: int) -> int:
    """The store engine of a service on the embedded store (its other children are validation
    workers)."""
    (engine,) = (
        pid for pid in children(service_pid) if b"ijkg.graph.store.engine" in _command(pid)
    )
    return engine


def usage(service_pid: int) -> list[Usage]:
    """The service process, its store engine (a child, when the store is embedded) and the
    engine's query workers, and its validation workers, with their resident memory."""
    found: list[Usage] = []
    rss = _rss_mb(service_pid)
    if rss is not None:
        found.append(Usage(service_pid, "service", rss))
    for child in children(service_pid):
        rss = _rss_mb(child)
        if rss is None:
            continue
        if is_validator(child):
            found.append(Usage(child, "validator", rss))
            continue
        found.append(Usage(child, "engine", rss))
        for worker in children(child):
            rss = _rss_mb(worker)
            if rss is not None:
                found.append(Usage(worker, "worker", rss))
    return found
