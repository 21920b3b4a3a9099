"""A writer for the crash test: merges numbered changes into an embedded store and acknowledges
each on stdout once it is committed; the test kills it (and its engine) at random moments.

Usage: python crash_writer.py DATA_DIR

It reads ``RUN FIRST SEED`` lines on stdin and for each forks a writer (in its own process group,
so that the test can kill it with its engine and workers) and prints ``PID n``; the writer prints
``READY`` and then ``ACK n`` for every committed change; ``DONE`` follows once it is dead. Forking
from this warm process saves every cycle the start-up of a Python interpreter.

Change ``n`` gives Japan the alternative label "crash-test n" and the India-Japan article a note
"crash-test n" in the curated graph (two quads that must land together), validated by the gate.
Every seventh change is a large one (4,000 notes on India, like a Graph Store PUT), so that a kill
often lands in the middle of writing it. Some changes are killed on purpose after validation and
before the commit.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pyoxigraph as ox

from ijkg.graph.bootstrap import ensure_bundle
from ijkg.graph.gate import Gate
from ijkg.graph.settings import Settings
from ijkg.graph.store import open_store
from ijkg.graph.store.base import Delta

CURATED = ox.NamedNode("https://w3id.org/ijkg/graph/curated")
BULK = ox.NamedNode("https://w3id.org/ijkg/graph/crash-bulk")
JAPAN = ox.NamedNode("https://w3id.org/ijkg/id/state/japan")
INDIA = ox.NamedNode("https://w3id.org/ijkg/id/state/india")
ARTICLE = ox.NamedNode("https://w3id.org/ijkg/id/source/india-japan-new-chapter")
ALT = ox.NamedNode("http://www.w3.org/2004/02/skos/core#altLabel")
NOTE = ox.NamedNode("http://www.w3.org/2004/02/skos/core#note")
BULK_QUADS = 4000


def change(n: int) -> Delta:
    quads = [
        ox.Quad(JAPAN, ALT, ox.Literal(f"crash-test {n}", language="en"), CURATED),
        ox.Quad(ARTICLE, NOTE, ox.Literal(f"crash-test {n}", language="en"), CURATED),
    ]
    if n % 7 == 0:
        quads += [
            ox.Quad(INDIA, NOTE, ox.Literal(f"bulk {n} {i}", language="en"), BULK)
            for i in range(BULK_QUADS)
        ]
    return Delta(adds=tuple(quads))


async def main(data_dir: Path, first: int, seed: int, gate: Gate) -> None:
    rng = random.Random(seed)
    store = await open_store(Settings(data_dir=data_dir, fsync=True, query_workers=1))
    await ensure_bundle(store)
    await gate.check(store, change(first))  # warm up (shapes, first queries) before the clock runs
    print("READY", flush=True)
    n = first
    while True:
        delta = change(n)
        report = await gate.check(store, delta)
        if not report.conforms:
            print(f"INVALID {n}", flush=True)
            return
        if rng.random() < 0.1:
            # die between validation and commit: this change was never acknowledged
            os.killpg(os.getpgrp(), signal.SIGKILL)  # the writer, its engine and workers
        await store.commit(delta, expected_version=await store.version())
        print(f"ACK {n}", flush=True)
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
