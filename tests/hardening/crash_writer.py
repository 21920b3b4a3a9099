"""A writer for the crash test: merges numbered changes into an embedded store and acknowledges
each on stdout once it is committed; the test kills it (and its engine) at random moments.

Usage: python crash_writer.py DATA_DIR

It reads ``RUN FIRST SEED`` lines on stdin and for each forks a writer (in its own process group,
so that the test can kill it with its engine and workers) and prints ``PID n``; the writer prints
``READY`` and then ``ACK n`` for every committed change; ``DONE`` follows once it is dead. Forking
from this warm process saves every cycle the start-up of a Python interpreter.

Change ``n`` gives Japan the alternative label "crash-test n" and the India-Japan article a note
"crash-test n" in the curated graph (two quads that must land together), validated by the gate.
Every seventh change is a large one, like a Graph Store PUT: it replaces the 2,000 notes on India
of the last large change with 2,000 of its own, so that a kill often lands in the middle of writing
it (and the store stays the same size however many cycles run). Some changes are killed on purpose
after validation and before the commit. Snapshots are taken every few megabytes of log, so kills
also land while a snapshot is written.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pyoxigraph as ox

from ijkg.graph.core.settings import Settings
from ijkg.graph.curation.gate import Gate
from ijkg.graph.io.bootstrap import ensure_bundle
from ijkg.graph.store import open_store
from ijkg.graph.store.base import Delta, Store

CURATED = ox.NamedNode("https://w3id.org/ijkg/graph/curated")
BULK = ox.NamedNode("https://w3id.org/ijkg/graph/crash-bulk")
JAPAN = ox.NamedNode("https://w3id.org/ijkg/id/state/japan")
INDIA = ox.NamedNode("https://w3id.org/ijkg/id/state/india")
ARTICLE = ox.NamedNode("https://w3id.org/ijkg/id/source/india-japan-new-chapter")
ALT = ox.NamedNode("http://www.w3.org/2004/02/skos/core#altLabel")
NOTE = ox.NamedNode("http://www.w3.org/2004/02/skos/core#note")
BULK_QUADS = 2000


def bulk(n: int) -> list[ox.Quad]:
    return [
        ox.Quad(INDIA, NOTE, ox.Literal(f"bulk {n} {i}", language="en"), BULK)
        for i in range(BULK_QUADS)
    ]


def change(n: int, last_bulk: int | None) -> Delta:
    quads = [
        ox.Quad(JAPAN, ALT, ox.Literal(f"crash-test {n}", language="en"), CURATED),
        ox.Quad(ARTICLE, NOTE, ox.Literal(f"crash-test {n}", language="en"), CURATED),
    ]
    if n % 7:
        return Delta(adds=tuple(quads))
    removes = bulk(last_bulk) if last_bulk is not None else []
    return Delta(removes=tuple(removes), adds=tuple(quads + bulk(n)))


async def stored_bulk(store: Store) -> int | None:
    """The number of the large change whose notes the store holds."""
    rows = await store.select(
        f"SELECT DISTINCT ?n WHERE {{ GRAPH <{BULK.value}> {{ ?s ?p ?text }} "
        "BIND(STRBEFORE(STRAFTER(STR(?text), 'bulk '), ' ') AS ?n) }"
    )
    numbers = {int(str(row["n"])) for row in rows}
    assert len(numbers) <= 1, numbers
    return numbers.pop() if numbers else None


async def main(data_dir: Path, first: int, seed: int, gate: Gate) -> None:
    rng = random.Random(seed)
    settings = Settings(data_dir=data_dir, fsync=True, query_workers=1, snapshot_every_mb=4)
    store = await open_store(settings)
    await ensure_bundle(store)
    last_bulk = await stored_bulk(store)
    # warm up (shapes, first queries) before the clock runs
    await gate.check(store, change(first, last_bulk))
    print("READY", flush=True)
    n = first
    while True:
        delta = change(n, last_bulk)
        report = await gate.check(store, delta)
        if not report.conforms:
            print(f"INVALID {n}", flush=True)
            return
        if rng.random() < 0.1:
            # die between validation and commit: this change was never acknowledged
            os.killpg(os.getpgrp(), signal.SIGKILL)  # the writer, its engine and workers
        await store.commit(delta, expected_version=await store.version())
        print(f"ACK {n}", flush=True)
        if n % 7 == 0:
            last_bulk = n
        n += 1


def zygote(data_dir: Path) -> None:
    gate = Gate()  # read the shapes once; every writer forked below inherits them
    for line in sys.stdin:
        _, first, seed = line.split()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            try:
                asyncio.run(main(data_dir, int(first), int(seed), gate))
            finally:
                os._exit(0)
        print(f"PID {pid}", flush=True)
        os.waitpid(pid, 0)
        print("DONE", flush=True)


if __name__ == "__main__":
    zygote(Path(sys.argv[1]))
