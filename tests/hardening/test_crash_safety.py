"""Crash safety of the embedded store: a writer acknowledging numbered changes is killed with
SIGKILL (with its engine and workers) at random moments, over and over; after each kill the store
is reopened and must hold every acknowledged change, whole, and conform.

What this shows is what survives a *process* crash: an acknowledged commit was written to the
change log (and fsynced) before the acknowledgement, and a commit torn by the kill is cut off at
recovery. (A power loss is covered by the fsync; see the README.)
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest

from ijkg.graph.curation.gate import Gate
from ijkg.graph.store.base import Delta
from ijkg.graph.store.changelog import recover
from tests.conftest import SyncStore
from tests.hardening.crash_writer import BULK_QUADS

pytestmark = pytest.mark.embedded

CYCLES = int(os.environ.get("IJKG_CRASH_CYCLES", "100"))
WRITER = Path(__file__).with_name("crash_writer.py")


class Writers:
    """Starts writers (forked from a warm process) and kills them."""

    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WRITER), str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the writer process died"
        return line.strip()

    def run_until_killed(self, first: int, seed: int, acks_first: int, delay_s: float) -> list[int]:
        """One writer, killed (with its engine and workers) ``delay_s`` after its first
        ``acks_first`` acknowledgements (or when it dies by itself); its acks.

        Counting acknowledgements rather than seconds makes how far each writer gets the same on a
        fast machine and on a loaded one; the delay after them still lands the kill at a random
        moment of the next commit."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"RUN {first} {seed}\n")
        self.process.stdin.flush()
        lines = []
        pid = 0
        ready = False
        while not (pid and ready):
            line = self._line()
            if line.startswith("PID "):
                pid = int(line.split()[1])
            elif line == "READY":
                ready = True
            elif line == "DONE":
                raise AssertionError(f"the writer died before it was ready: {lines}")
            else:
                lines.append(line)
        done = False
        while len(lines) < acks_first and not done:
            line = self._line()
            done = line == "DONE"
            if not done:
                lines.append(line)
        if not done:
            time.sleep(delay_s)
            with contextlib.suppress(ProcessLookupError):  # it may have killed itself already
                os.killpg(pid, signal.SIGKILL)
            while (line := self._line()) != "DONE":
                lines.append(line)
        acks = []
        for line in lines:
            kind, _, number = line.partition(" ")
            assert kind == "ACK", line
            acks.append(int(number))
        return acks

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.process.stdout.close()


def recovered(data_dir: Path) -> ox.Store:
    """The store as the engine will find it at its next start (the same recovery, in process)."""
    store = ox.Store()
    recover(data_dir, store)
    return store


def present(store: ox.Store) -> tuple[set[int], set[int], dict[int, int]]:
    """Change numbers whose label, whose note, and whose bulk quads are in the store."""
    rows = store.query(
        "SELECT ?kind ?text WHERE { GRAPH <https://w3id.org/ijkg/graph/curated> { "
        "?s ?kind ?text FILTER(STRSTARTS(STR(?text), 'crash-test ')) } }"
    )
    found = [(r["kind"].value, r["text"].value) for r in rows]  # type: ignore[union-attr]
    labels = {int(text.split()[-1]) for kind, text in found if kind.endswith("altLabel")}
    notes = {int(text.split()[-1]) for kind, text in found if kind.endswith("note")}
    bulk = store.query(
        "SELECT ?n (COUNT(*) AS ?size) WHERE { GRAPH <https://w3id.org/ijkg/graph/crash-bulk> { "
        "?s ?p ?text } BIND(STRBEFORE(STRAFTER(STR(?text), 'bulk '), ' ') AS ?n) } GROUP BY ?n"
    )
    sizes = {int(r["n"].value): int(r["size"].value) for r in bulk}  # type: ignore[union-attr]
    return labels, notes, sizes


@pytest.mark.timeout(
    900
)  # a hundred cycles of start, write and kill take minutes on a small machine
def test_every_acknowledged_change_survives_sigkill_whole(
    open_test_store: Callable[..., SyncStore], tmp_path: Path
) -> None:
    data_dir = tmp_path / "crash-store"
    rng = random.Random(20261126)
    acknowledged: set[int] = set()
    next_number = 1
    writers = Writers(data_dir)
    try:
        for cycle in range(CYCLES):
            # a few commits, then up to half a second (about the time of a large change), so kills
            # land before the first commit, between commits and in the middle of one
            acks = writers.run_until_killed(
                next_number, cycle, rng.randrange(4), rng.uniform(0.0, 0.5)
            )
            assert acks == list(range(next_number, next_number + len(acks)))
            acknowledged.update(acks)
            labels, notes, sizes = present(recovered(data_dir))
            assert acknowledged <= labels, f"cycle {cycle}: lost {sorted(acknowledged - labels)}"
            assert labels == notes, f"cycle {cycle}: a change landed in part"
            large = [n for n in labels if n % 7 == 0]  # each replaced the one before
            assert sizes == ({max(large): BULK_QUADS} if large else {}), f"cycle {cycle}: {sizes}"
            # the next writer goes on after everything that landed (acknowledged or not)
            next_number = max(labels | {next_number - 1}) + 1
    finally:
        writers.close()
    assert len(acknowledged) > CYCLES // 2  # the kills did not all come before the first commit
    store = open_test_store(data_dir)
    report = store.run(Gate().check_full, store.store, Delta())
    assert report.conforms, report.violations[:3]
    assert store.run(store.store.graph_names)
