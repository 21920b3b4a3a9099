"""A change with more focus nodes than one batch is validated a batch at a time, the batches on
every core: the report is the one in-process validation gives, and full pyshacl's verdict."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ijkg.graph.curation.gate import Gate, is_data
from ijkg.graph.store.base import Delta
from tests.conftest import SyncStore
from tests.gate.test_gate_bundle import Material, signature

BATCH = 40


@pytest.mark.timeout(600)
def test_batches_on_several_processes_give_the_in_process_report(
    open_test_store: Callable[..., SyncStore],
) -> None:
    store = open_test_store(bundle=True)
    everything = store.run(store.store.match, [(None, None, None, None)])
    material = Material([q for q in everything if is_data(q)])
    rng = random.Random(2512)
    removes, adds = [], []
    for _ in range(60):  # one change made of many random edits: many focus nodes, some invalid
        edit = material.change(rng, material.quads)
        removes += edit.removes
        adds += edit.adds
    delta = Delta(removes=tuple(removes), adds=tuple(adds))

    progress: list[tuple[int, int]] = []
    pooled = Gate(batch_size=BATCH, processes=2, progress=lambda *p: progress.append(p))
    alone = Gate(batch_size=BATCH, processes=1)
    in_pool = store.run(pooled.check, store.store, delta)
    in_process = store.run(alone.check, store.store, delta)
    full = store.run(pooled.check_full, store.store, delta)

    assert in_pool.focus_nodes > 3 * BATCH  # several batches, so the pool did the work
    assert in_pool.report == in_process.report
    assert in_pool.neighbourhood_triples == in_process.neighbourhood_triples
    assert not full.conforms and in_pool.conforms == full.conforms
    assert signature(in_pool.report, True) == signature(full, True)
    # Progress counts the focus nodes validated, batch by batch, up to all of them.
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    assert progress[-1] == (in_pool.focus_nodes, in_pool.focus_nodes)


OWNER = """
import os, sys, time
from rdflib import Graph
from ijkg.graph.curation import batches

if __name__ == "__main__":
    with batches._pool(Graph(), 2) as pool:
        pids = {pool.submit(os.getpid).result() for _ in range(8)}
        print(" ".join(map(str, pids)), flush=True)
        time.sleep(600)  # killed here, with its pool running
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.timeout(120)
def test_a_killed_owner_takes_its_validating_processes_with_it(tmp_path: Path) -> None:
    """A command, service or validation worker killed mid-check (a time limit) must not leave its
    batch validators running on without the limits it was held to."""
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
    finally:
        owner.kill()
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), pids
