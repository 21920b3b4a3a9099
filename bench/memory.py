"""Resident memory of ``ijkg serve`` by process, after start and after a query run, against
``oxigraph serve`` in memory on the same data after the same run.

    python -m bench.memory --data-dir STORE --manifest SYNTHETIC.json [--dataset DATASET.nq]

``STORE`` is a data directory holding the synthetic graph (``python -m bench.writes prepare``),
``DATASET.nq`` the same data as one file for ``oxigraph serve`` (left out: ijkg alone). Each
process of the tree is read from ``/proc/<pid>/smaps_rollup`` and named for what it is: the root
(uvicorn's supervisor with several service processes, else the service itself), a service
process, multiprocessing's resource tracker, the engine, a query worker, a validation worker.
The query run is the bench's SPARQL mix (``bench.mix``) under the load generator for
``--duration`` seconds. Prints a table per moment and one JSON object (``--json``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import load, mix
from bench.synthetic import Manifest
from bench.systems import Ijkg, OxigraphServe, System, _pids

#: The smaps_rollup fields reported, in kB there and MB here.
_FIELDS = {
    "Rss": "rss",
    "Pss": "pss",
    "Private_Dirty": "private_dirty",
    "Shared_Clean": "shared",
    "Shared_Dirty": "shared",
    "Anonymous": "anon",
}


@dataclass
class Process:
    pid: int
    role: str
    mb: dict[str, float]


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def _role(pid: int, root: int, engines: set[int]) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        command = f.read()
    if _parent(pid) in engines:
        return "query worker"
    if pid in engines:
        return "engine"
    if b"validation_worker" in command:
        return "validation worker"
    if b"resource_tracker" in command:
        return "resource tracker"  # multiprocessing's, beside the service processes
    if pid == root:
        return "root"
    return "service"


def processes(root: int) -> list[Process]:
    """Every process of the tree under ``root`` with its memory (MB) and what it is."""
    pids = _pids(root)
    # Query workers are forked by the engine: the same command line, the engine as parent.
    engines = set()
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"ijkg.graph.store.engine" in f.read():
                engines.add(pid)
    engines = {pid for pid in engines if _parent(pid) not in engines}
    found = []
    for pid in pids:
        try:
            role = _role(pid, root, engines)
            mb = dict.fromkeys(_FIELDS.values(), 0.0)
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    key = line.split(":", 1)[0]
                    if key in _FIELDS:
                        mb[_FIELDS[key]] += int(line.split()[1]) / 1024
        except OSError:
            continue
        found.append(Process(pid, role, mb))
    return found


def table(title: str, procs: list[Process]) -> str:
    columns = ["pss", "rss", "private_dirty", "shared", "anon"]
    lines = [
        f"{title}",
        f"{'process':<20}{'pid':>8}" + "".join(f"{c:>15}" for c in columns),
    ]
    for p in sorted(procs, key=lambda p: (p.role, p.pid)):
        lines.append(f"{p.role:<20}{p.pid:>8}" + "".join(f"{p.mb[c]:>15,.1f}" for c in columns))
    total = {c: sum(p.mb[c] for p in procs) for c in columns}
    lines.append(f"{'all':<20}{'':>8}" + "".join(f"{total[c]:>15,.1f}" for c in columns))
    return "\n".join(lines)


def summary(procs: list[Process]) -> dict[str, Any]:
    by_role: dict[str, dict[str, float]] = {}
    for p in procs:
        into = by_role.setdefault(p.role, {"count": 0, "pss": 0.0, "rss": 0.0, "private": 0.0})
        into["count"] += 1
        into["pss"] += round(p.mb["pss"], 1)
        into["rss"] += round(p.mb["rss"], 1)
        into["private"] += round(p.mb["private_dirty"], 1)
    return {"pss": round(sum(p.mb["pss"] for p in procs), 1), "by_role": by_role}


def query_run(system: System, manifest: Manifest, args: argparse.Namespace) -> None:
    queries = mix.sparql_queries(manifest)
    requests = mix.mix_query(queries).requests(system)
    result = load.run(
        system.base,
        requests,
        concurrency=args.concurrency,
        duration_s=args.duration,
        timeout_s=60,
    )
    print(f"  {system.name}: {result.requests} requests, {result.errors} errors, {result.rps} rps")
    system.settle()


def measure(system: System, manifest: Manifest, args: argparse.Namespace) -> dict[str, Any]:
    if isinstance(system, OxigraphServe):
        system.prepare()
    system.start()
    try:
        assert system.proc is not None
        started = processes(system.proc.pid)
        print(table(f"{system.name} after start ({system.startup_s:.1f} s)", started))
        query_run(system, manifest, args)
        after = processes(system.proc.pid)
        print(table(f"{system.name} after the query run", after))
    finally:
        system.stop()
    return {
        "startup_s": round(system.startup_s, 2),
        "start": summary(started),
        "after": summary(after),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--dataset", type=Path)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    manifest = Manifest.load(args.manifest)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ijkg-memory-") as work:
        systems: list[System] = [Ijkg("ijkg", Path(work), data_dir=args.data_dir)]
        if args.dataset is not None:
            systems.append(OxigraphServe("oxigraph-mem", Path(work), dataset=args.dataset))
        for system in systems:
            out[system.name] = measure(system, manifest, args)
    if "oxigraph-mem" in out:
        peer = out["oxigraph-mem"]["after"]["pss"]
        out["ratio_after"] = round(out["ijkg"]["after"]["pss"] / max(1.0, peer), 2)
        print(f"ijkg ÷ oxigraph serve (PSS after the run): {out['ratio_after']}")
    if args.json:
        sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
