"""The write path: bulk loads, the validation gate on a 100-triple change, merge throughput.

Each measurement runs in a process of its own (``python -m bench.writes COMMAND ...``, printing
one JSON object), so its peak memory is its own and a crash or a time limit ends only it.

- ``raw``: pyoxigraph ``Store.bulk_load`` of an N-Quads file, in memory or on disk (the floor
  ijkg's load is compared with);
- ``prepare``: an ijkg store holding the bundle and the file, committed through the engine in one
  change without the gate (how the harness gives ijkg the same data as its peers when the gated
  ``ijkg load`` cannot), then snapshotted;
- ``gate``: ``Gate.check`` (incremental) on a conforming and a non-conforming 100-triple change
  against the store, repeated, and ``Gate.check_full`` (whole-graph pyshacl) once each, with both
  verdicts;
- ``merges``: changes per second through ``Changes.write`` (gate on, history recorded, fsync on).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from bench.synthetic import Manifest, change_quads

#: A change whose agreement has its start date as a string: S43 rejects it.
_BAD_DATE = "<https://w3id.org/ijkg/ontology#startDate>"


def _quads(lines: list[str]) -> list[ox.Quad]:
    return list(ox.parse(input="\n".join(lines).encode(), format=ox.RdfFormat.N_QUADS))


def bad_change(lines: list[str]) -> list[str]:
    """The same change with one date given as a plain string (a violation of S43)."""
    out = list(lines)
    for i, line in enumerate(out):
        if _BAD_DATE in line and "^^" in line:
            subject, _, rest = line.partition(f" {_BAD_DATE} ")
            value = rest.split('"')[1]
            out[i] = f'{subject} {_BAD_DATE} "{value}" {rest.rsplit(" ", 2)[-2]} .'
            return out
    raise ValueError("the change has no start date to break")


def raw(file: Path, location: Path | None) -> dict[str, Any]:
    started = time.perf_counter()
    store = ox.Store(str(location)) if location is not None else ox.Store()
    store.bulk_load(path=str(file), format=ox.RdfFormat.N_QUADS)
    if location is not None:
        store.flush()
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "quads": len(store)}


async def full(file: Path) -> dict[str, Any]:
    """One full pyshacl validation of the graph a load of ``file`` makes (the bundle and the
    file, the ontology mixed in): the gate's own reference (``Gate.check_full``) on the
    in-process store, timed from the parsed quads to the report. With the raw load, it is what
    ``ijkg load`` is measured against (it must validate what it loads, as strictly)."""
    from ijkg.graph.curation.gate import Gate
    from ijkg.graph.store.base import Delta

    with tempfile.TemporaryDirectory() as scratch:
        store = await _open(Path(scratch), store="memory")
        try:
            quads = list(ox.parse(path=str(file), format=ox.RdfFormat.N_QUADS))
            gate = Gate()
            started = time.perf_counter()
            report = await gate.check_full(store, Delta(adds=tuple(quads)))
            seconds = time.perf_counter() - started
        finally:
            await store.close()
    return {
        "seconds": round(seconds, 3),
        "quads": len(quads),
        "conforms": report.conforms,
        "violations": len(report.violations),
        "warnings": len(report.warnings),
    }


async def _open(data_dir: Path, **settings: Any) -> Any:
    from ijkg.graph.core.settings import Settings
    from ijkg.graph.io.bootstrap import ensure_bundle
    from ijkg.graph.store import open_store

    store = await open_store(Settings(data_dir=data_dir, **settings))
    await ensure_bundle(store)
    return store


async def prepare(data_dir: Path, file: Path) -> dict[str, Any]:
    from ijkg.graph.store.base import Delta

    started = time.perf_counter()
    store = await _open(data_dir, query_timeout_s=3600)
    opened = time.perf_counter()
    quads = list(ox.parse(path=str(file), format=ox.RdfFormat.N_QUADS))
    parsed = time.perf_counter()
    commit = await store.commit(Delta(adds=tuple(quads)), meta={"who": "bench", "why": "prepare"})
    committed = time.perf_counter()
    await store.snapshot()
    done = time.perf_counter()
    await store.close()
    return {
        "quads": len(quads),
        "open_s": round(opened - started, 3),
        "parse_s": round(parsed - opened, 3),
        "commit_s": round(committed - parsed, 3),
        "snapshot_s": round(done - committed, 3),
        "seconds": round(committed - started, 3),
        "version": commit.version_after,
    }


async def gate(data_dir: Path, manifest: Manifest, reps: int, full: bool) -> dict[str, Any]:
    from ijkg.graph.curation.gate import Gate
    from ijkg.graph.store.base import Delta

    store = await _open(data_dir, query_timeout_s=3600)
    try:
        the_gate = Gate()
        lines = list(change_quads(manifest, 1))
        good = Delta(adds=tuple(_quads(lines)))
        bad = Delta(adds=tuple(_quads(bad_change(lines))))
        await the_gate.check(store, good)  # warm: shapes analysed, pyshacl imported
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            report = await the_gate.check(store, good)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bad_report = await the_gate.check(store, bad)
        bad_s = time.perf_counter() - t0
        out: dict[str, Any] = {
            "change_triples": len(good.adds),
            "incremental_ms": round(statistics.median(times) * 1000, 1),
            "incremental_ms_all": [round(t * 1000, 1) for t in times],
            "incremental_bad_ms": round(bad_s * 1000, 1),
            "method": report.method,
            "focus_nodes": report.focus_nodes,
            "neighbourhood_triples": report.neighbourhood_triples,
            "verdict_good": report.conforms,
            "verdict_bad": bad_report.conforms,
        }
        if full:
            t0 = time.perf_counter()
            full_good = await the_gate.check_full(store, good)
            out["full_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            full_bad = await the_gate.check_full(store, bad)
            out["full_verdict_good"] = full_good.conforms
            out["full_verdict_bad"] = full_bad.conforms
            out["same_verdict"] = (full_good.conforms, full_bad.conforms) == (
                report.conforms,
                bad_report.conforms,
            )
            out["speedup"] = round(out["full_ms"] / out["incremental_ms"], 1)
        return out
    finally:
        await store.close()


async def merges(data_dir: Path, manifest: Manifest, n: int) -> dict[str, Any]:
    from ijkg.graph.curation.changes import Changes
    from ijkg.graph.curation.gate import Gate
    from ijkg.graph.store.base import Delta

    store = await _open(data_dir, query_timeout_s=3600, fsync=True)
    try:
        changes = Changes(
            store, Gate(), max_quads=100_000, default_graph="https://w3id.org/ijkg/graph/curated"
        )
        deltas = [
            Delta(adds=tuple(_quads(list(change_quads(manifest, 100 + k))))) for k in range(n)
        ]
        await changes.gate.check(store, deltas[0])  # warm
        times = []
        started = time.perf_counter()
        for k, delta in enumerate(deltas):
            t0 = time.perf_counter()
            await changes.write(delta, who="bench", via="change", title=f"bench change {k}")
            times.append(time.perf_counter() - t0)
        total = time.perf_counter() - started
        return {
            "changes": n,
            "change_triples": len(deltas[0].adds),
            "seconds": round(total, 3),
            "changes_per_s": round(n / total, 2),
            "median_ms": round(statistics.median(times) * 1000, 1),
        }
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.writes")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("raw")
    p.add_argument("--file", type=Path, required=True)
    p.add_argument("--location", type=Path)
    p = sub.add_parser("full")
    p.add_argument("--file", type=Path, required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--file", type=Path, required=True)
    p = sub.add_parser("gate")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--full", action=argparse.BooleanOptionalAction, default=True)
    p = sub.add_parser("merges")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("-n", type=int, default=20)
    args = parser.parse_args(argv)
    if args.command == "raw":
        result = raw(args.file, args.location)
    elif args.command == "full":
        result = asyncio.run(full(args.file))
    elif args.command == "prepare":
        result = asyncio.run(prepare(args.data_dir, args.file))
    elif args.command == "gate":
        manifest = Manifest.load(args.manifest)
        result = asyncio.run(gate(args.data_dir, manifest, args.reps, args.full))
    else:
        result = asyncio.run(merges(args.data_dir, Manifest.load(args.manifest), args.n))
    # Peak resident memory of this process (the sampler misses loads shorter than its interval).
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
