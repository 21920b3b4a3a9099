"""A change with more focus nodes than one batch is validated a batch at a time, the batches on
every core: the report is the one in-process validation gives, and full pyshacl's verdict."""

from __future__ import annotations

import random
from collections.abc import Callable

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
