"""The benchmark: ``python -m bench`` (or ``python bench/run.py``) runs everything, per size.

1. generate the synthetic graph (cached in the work directory) and the dataset every system
   serves: the bundled graph plus the synthetic one;
2. the write path: raw pyoxigraph bulk loads (memory, disk), the gated ``ijkg load``, and an ijkg
   store prepared through the engine without the gate (the one that is served);
3. start every system, check that each answers every query (and how many rows), then load them
   in turn — per query, per concurrency, per round, systems in rotated order — so peers are
   measured side by side under the same machine noise;
4. ijkg's start-up time and resident memory, restarting it on its store;
5. the gate on a 100-triple change against full pyshacl validation, and merge throughput.

Results go to ``--out`` (``bench/results``): ``results.json`` (everything), ``results.md`` (the
tables and the targets) and PNG plots.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python bench/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyoxigraph as ox
from rich.console import Console
from rich.progress import Progress

from bench import load, mix, report, synthetic
from bench.systems import (
    Hello,
    Ijkg,
    IjkgNoCache,
    MemorySampler,
    OxigraphServe,
    RdflibEndpoint,
    System,
    tool,
)

console = Console(stderr=True)
ALL_SYSTEMS = ("ijkg", "ijkg-nocache", "oxigraph-mem", "oxigraph-disk", "rdflib-endpoint", "hello")
ROOT = Path(__file__).resolve().parent.parent


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in (
        "pyoxigraph",
        "oxigraph",
        "rdflib",
        "rdflib-endpoint",
        "pyshacl",
        "fastapi",
        "uvicorn",
        "ijkg",
    ):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        out["wrk"] = (wrk.stdout or wrk.stderr).split("\n")[0].strip()
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = 0.0
    with contextlib.suppress(OSError), open("/proc/meminfo") as info:
        mem_gib = round(int(info.readline().split()[1]) / 1024 / 1024, 1)
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "versions": _versions(),
        "load_generator": "wrk" if load.have_wrk() else "asyncio-httpx",
    }


# --- data ----------------------------------------------------------------------------------------


def make_data(size: str, work: Path, seed: int) -> tuple[Path, Path, synthetic.Manifest]:
    """The synthetic graph (cached) and the dataset file (bundle + synthetic) for the peers."""
    target = synthetic.parse_size(size)
    data = work / "synthetic.nq"
    manifest_path = data.with_suffix(".json")
    manifest = None
    if data.exists() and manifest_path.exists():
        cached = synthetic.Manifest.load(manifest_path)
        if cached.seed == seed and cached.size == size:
            manifest = cached
    if manifest is None:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"generating {size}", total=target)
            manifest = synthetic.generate(
                data, target, size=size, seed=seed, progress=lambda n: bar.advance(task, n)
            )
    dataset = work / "dataset.nq"
    if not dataset.exists() or dataset.stat().st_mtime < data.stat().st_mtime:
        from ijkg.graph.core.bundle import bundle_quads

        partial = dataset.with_suffix(".partial")
        with partial.open("wb") as out:
            out.write(ox.serialize(bundle_quads(), format=ox.RdfFormat.N_QUADS) or b"")
            with data.open("rb") as body:
                while chunk := body.read(1 << 20):
                    out.write(chunk)
        partial.replace(dataset)
    return data, dataset, manifest


# --- the write path ------------------------------------------------------------------------------


def _measured(
    cmd: list[str], log: Path, *, env: dict[str, str] | None = None, timeout_s: float | None = None
) -> dict[str, Any]:
    sampler = MemorySampler()
    try:
        seconds, printed = sampler.run(cmd, env=env, log=log, timeout_s=timeout_s)
    except TimeoutError as exc:
        return {"ok": False, "error": str(exc), "peak_pss_mb": sampler.peak_pss // 2**20}
    except subprocess.CalledProcessError as exc:
        return {
            "ok": False,
            "error": f"exit {exc.returncode}: {_last_error(log)}"[:600],
            "peak_pss_mb": sampler.peak_pss // 2**20,
        }
    result: dict[str, Any] = {
        "ok": True,
        "seconds": round(seconds, 3),
        "peak_pss_mb": sampler.peak_pss // 2**20,
        "peak_rss_mb": sampler.peak_rss // 2**20,
    }
    lines = [line for line in printed.strip().splitlines() if line.startswith("{")]
    if lines:
        result["detail"] = json.loads(lines[-1])
        own = int(result["detail"].get("maxrss_mb", 0))
        if own > result["peak_pss_mb"]:  # ended between two samples: its own peak RSS
            result["peak_pss_mb"] = result["peak_rss_mb"] = own
    return result


def _last_error(log: Path) -> str:
    """The last line of a log that names an error (a traceback's last line), else the last."""
    import re

    lines = [line.strip(" │") for line in log.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line.strip()]
    for line in reversed(lines):
        if re.search(r"(\w+(Error|Exception|Timeout)\b|^error:)", line):
            return line.strip()
    return lines[-1].strip() if lines else "no output"


def bench_writes_load(data: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    py = [sys.executable, "-m", "bench.writes"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = work / "writes.log"
    out: dict[str, Any] = {}
    console.print("  raw pyoxigraph bulk load (memory, disk)")
    out["pyoxigraph_mem"] = _measured([*py, "raw", "--file", str(data)], log, env=env)
    disk = work / "pyoxigraph-disk"
    _rmtree(disk)
    out["pyoxigraph_disk"] = _measured(
        [*py, "raw", "--file", str(data), "--location", str(disk)], log, env=env
    )
    _rmtree(disk)
    console.print("  one full pyshacl validation of the loaded graph (the gate's reference)")
    out["full_validation"] = _measured(
        [*py, "full", "--file", str(data)], log, env=env, timeout_s=args.full_budget_s
    )
    console.print(f"  ijkg load (gated), at most {args.load_budget_s:.0f} s")
    gated = work / "ijkg-load"
    _rmtree(gated)
    load_env = {
        **env,
        "IJKG_MAX_CHANGE_QUADS": "100000000",
        "IJKG_QUERY_TIMEOUT_S": str(args.load_budget_s),
    }
    # A store with the bundled graph first (the load refuses a directory without one); the
    # bundle's own start-up is not part of loading the data.
    subprocess.run(
        [tool("ijkg"), "init", "--data-dir", str(gated)],
        env=load_env,
        check=True,
        capture_output=True,
    )
    out["ijkg_load"] = _measured(
        [tool("ijkg"), "load", str(data), "--data-dir", str(gated)],
        log,
        env=load_env,
        timeout_s=args.load_budget_s,
    )
    _rmtree(gated)
    console.print("  ijkg store through the engine without the gate (served below)")
    served = work / "ijkg"
    _rmtree(served)
    out["ijkg_engine_commit"] = _measured(
        [*py, "prepare", "--data-dir", str(served), "--file", str(data)], log, env=env
    )
    if not out["ijkg_engine_commit"]["ok"]:
        raise RuntimeError(f"could not prepare the ijkg store: {out['ijkg_engine_commit']}")
    return out


def bench_gate_and_merges(
    size: str, data_dir: Path, manifest_path: Path, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    py = [sys.executable, "-m", "bench.writes"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = work / "writes.log"
    full = synthetic.parse_size(size) <= synthetic.parse_size(args.full_gate_max)
    console.print(f"  gate on a 100-triple change ({'with' if full else 'without'} full pyshacl)")
    gate = _measured(
        [
            *py,
            "gate",
            "--data-dir",
            str(data_dir),
            "--manifest",
            str(manifest_path),
            "--reps",
            str(args.gate_reps),
            "--full" if full else "--no-full",
        ],
        log,
        env=env,
        timeout_s=args.full_budget_s,
    )
    console.print(f"  merge throughput ({args.merges} changes)")
    merges = _measured(
        [
            *py,
            "merges",
            "--data-dir",
            str(data_dir),
            "--manifest",
            str(manifest_path),
            "-n",
            str(args.merges),
        ],
        log,
        env=env,
        timeout_s=args.full_budget_s,
    )
    return {"gate": gate, "merges": merges}


def bench_paging(args: argparse.Namespace) -> dict[str, Any]:
    """Page cost of ijkg's entity lists from the first page to the last (``bench/paging.py``:
    sorted keys and keyset queries against OFFSET), at the largest size of the run."""
    triples = max(synthetic.parse_size(s) for s in args.sizes)
    console.rule(f"[bold]list pages at {triples:,} triples (bench/paging.py)")
    log = args.work / "paging.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(ROOT / "bench" / "paging.py"), "--triples", str(triples)]
    cmd += ["--out", str(args.out)]
    if args.quick:
        cmd += ["--repeat", "1", "--points", "3"]
    outcome = _measured(cmd, log, env=env, timeout_s=args.full_budget_s)
    found = args.out / "paging.json"
    if outcome.get("ok") and found.exists():
        outcome["detail"] = json.loads(found.read_text())
    return outcome


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# --- queries -------------------------------------------------------------------------------------


def _rows(body: bytes, accept: str) -> int:
    if accept == "application/n-triples":
        return sum(1 for line in body.splitlines() if line.strip())
    with contextlib.suppress(ValueError, KeyError, TypeError):
        data = json.loads(body)
        if isinstance(data, dict) and "results" in data:
            results = data["results"]
            return len(results["bindings"] if isinstance(results, dict) else results)
        if isinstance(data, dict):
            for key in ("items", "members", "results"):
                if isinstance(data.get(key), list):
                    return len(data[key])
        return 1
    return -1


def build_systems(names: list[str], work: Path, dataset: Path, ijkg_dir: Path) -> dict[str, System]:
    systems: dict[str, System] = {}
    for name in names:
        if name == "ijkg":
            systems[name] = Ijkg(name, work, data_dir=ijkg_dir)
        elif name == "ijkg-nocache":
            systems[name] = IjkgNoCache(name, work, data_dir=ijkg_dir)
        elif name == "oxigraph-mem":
            systems[name] = OxigraphServe(name, work, dataset=dataset)
        elif name == "oxigraph-disk":
            systems[name] = OxigraphServe(name, work, dataset=dataset, location=work / "oxdisk")
        elif name == "rdflib-endpoint":
            systems[name] = RdflibEndpoint(name, work, dataset=dataset)
        elif name == "hello":
            systems[name] = Hello(name, work)
        else:
            raise SystemExit(f"unknown system {name!r}; choose from {', '.join(ALL_SYSTEMS)}")
    return systems


def bench_queries(
    manifest: synthetic.Manifest, systems: dict[str, System], args: argparse.Namespace
) -> dict[str, Any]:
    out: dict[str, Any] = {"systems": {}, "queries": {}, "cells": []}
    for name, system in systems.items():
        console.print(f"  starting {name}")
        if isinstance(system, OxigraphServe):
            system.prepare()
        system.start()
        out["systems"][name] = {
            "startup_s": round(system.startup_s, 3),
            "load_s": None if system.load_s is None else round(system.load_s, 3),
            "memory_mb": {k: v // 2**20 for k, v in system.memory().items()},
        }
    queries = mix.sparql_queries(manifest)
    queries.append(mix.mix_query(queries))
    ijkg = systems.get("ijkg")
    if ijkg is not None:
        extra, found = mix.ijkg_queries(ijkg.base, manifest)
        out["ijkg_endpoints"] = found
        queries += extra
    if args.queries:
        queries = [q for q in queries if q.name in args.queries]
    plan: list[tuple[mix.Query, list[System]]] = []
    for q in queries:
        if q.kind == "sparql":
            members = [s for s in systems.values() if s.speaks_sparql]
        elif q.kind == "entity-json":
            members = [s for s in systems.values() if s.name in ("ijkg", "hello")]
        else:
            members = [s for s in systems.values() if s.name == "ijkg"]
        plan.append((q, members))
    if "hello" in systems and not any(q.kind == "entity-json" for q, _ in plan):
        plan.append(
            (mix.Query("hello", "the hello-world route alone", "hello"), [systems["hello"]])
        )

    # Check every system answers every query, and how (status, rows, one request's time).
    skip: set[tuple[str, str]] = set()
    for q, members in plan:
        info: dict[str, Any] = {"description": q.description, "kind": q.kind, "systems": {}}
        for system in members:
            request = _requests(q, system)[0]
            try:
                status, seconds, body = load.single(system.base, request, timeout_s=args.slow_s * 4)
            except Exception as exc:
                info["systems"][system.name] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
                skip.add((q.name, system.name))
                continue
            entry = {
                "status": status,
                "single_ms": round(seconds * 1000, 2),
                "rows": _rows(body, request.accept),
            }
            if status != 200:
                skip.add((q.name, system.name))
                entry["error"] = body[:200].decode(errors="replace")
            elif seconds > args.slow_s:
                skip.add((q.name, system.name))
                entry["skipped"] = f"one request took {seconds:.1f} s (> {args.slow_s} s)"
            info["systems"][system.name] = entry
        out["queries"][q.name] = info

    settled = {name: 0.0 for name in systems}
    last: System | None = None
    total = sum(len(m) for _, m in plan) * len(args.concurrency) * args.rounds
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("loading systems", total=total)
        for q, members in plan:
            for c in args.concurrency:
                rounds: dict[str, list[load.Result]] = {s.name: [] for s in members}
                for r in range(args.rounds):
                    order = members[r % len(members) :] + members[: r % len(members)]
                    for system in order:
                        bar.update(task, description=f"{q.name} c={c} {system.name}")
                        if (q.name, system.name) not in skip:
                            # The one measured last may still be working through the
                            # requests in flight when its load stopped: wait for it, and for
                            # this one, to go idle.
                            for member in {id(m): m for m in (last, system) if m}.values():
                                settled[member.name] += member.settle()
                            last = system
                            rounds[system.name].append(
                                load.run(
                                    system.base,
                                    _requests(q, system),
                                    concurrency=c,
                                    duration_s=args.duration,
                                    timeout_s=max(30, args.slow_s * 4),
                                    use_wrk=None if args.wrk == "auto" else args.wrk == "yes",
                                )
                            )
                        bar.advance(task)
                for name, results in rounds.items():
                    if not results:
                        continue
                    best = load.median_result(results)
                    out["cells"].append(
                        {
                            "query": q.name,
                            "system": name,
                            "concurrency": c,
                            **best.as_dict(),
                            "rounds_rps": [x.rps for x in results],
                        }
                    )
    for name, system in systems.items():
        system.settle()
        out["systems"][name]["settle_s"] = round(settled.get(name, 0.0), 1)
        out["systems"][name]["memory_after_mb"] = {
            k: v // 2**20 for k, v in system.memory().items()
        }
    if ijkg is not None and out.get("ijkg_endpoints", {}).get("list-api"):
        times = mix.walk_pages(ijkg.base, out["ijkg_endpoints"]["list-api"])
        out["pages"] = _page_summary(times)
    return out


def _requests(q: mix.Query, system: System) -> list[load.Request]:
    if (q.kind == "entity-json" and system.name == "hello") or q.kind == "hello":
        return [load.Request("/hello", "application/json")]
    return q.requests(system)


def _page_summary(times: list[float]) -> dict[str, Any]:
    n = len(times)
    tenth = max(1, n // 10)

    def ms(part: list[float]) -> float:
        return round(statistics.median(part) * 1000, 2) if part else 0.0

    return {
        "pages": n,
        "first_ms": ms(times[:tenth]),
        "middle_ms": ms(times[n // 2 - tenth // 2 : n // 2 + tenth // 2 + 1]),
        "last_ms": ms(times[-tenth:]),
        "max_ms": round(max(times) * 1000, 2) if times else 0.0,
    }


def bench_startup(system: Ijkg, restarts: int) -> dict[str, Any]:
    """Start ijkg on its store a few times: time to a healthy /health, recovery, memory."""
    import httpx

    runs = []
    for _ in range(restarts):
        system.start()
        health = httpx.get(system.base + "/health/ready", timeout=30).json()
        if isinstance(health.get("store"), dict):
            health["store"].pop("data_dir", None)  # a path of this machine, not a result
        time.sleep(0.5)
        runs.append(
            {
                "startup_s": round(system.startup_s, 3),
                "health": health,
                "memory_mb": {k: v // 2**20 for k, v in system.memory().items()},
            }
        )
        system.stop()
    return {
        "runs": runs,
        "startup_s": statistics.median(r["startup_s"] for r in runs) if runs else None,
        "pss_mb": statistics.median(r["memory_mb"]["pss"] for r in runs) if runs else None,
        "engine_rss_mb": statistics.median(_engine_rss(r) for r in runs) if runs else None,
    }


def _engine_rss(run: dict[str, Any]) -> int:
    """The largest process of the tree: the engine, which holds the store."""
    memory = run["memory_mb"]
    return int(memory.get("max_rss", memory.get("root_rss", 0)))


# --- one size, and all ---------------------------------------------------------------------------


def run_size(size: str, args: argparse.Namespace) -> dict[str, Any]:
    work = args.work / size
    work.mkdir(parents=True, exist_ok=True)
    console.rule(f"[bold]{size}")
    started = time.perf_counter()
    data, dataset, manifest = make_data(size, work, args.seed)
    result: dict[str, Any] = {
        "size": size,
        "synthetic": synthetic.describe(manifest),
        "dataset_quads": sum(1 for _ in dataset.open("rb")),
    }
    ijkg_dir = work / "ijkg"
    if args.skip_writes and (ijkg_dir / "store.json").exists():
        kept = args.previous.get("sizes", {}).get(size, {})
        result.update({k: kept[k] for k in ("load", "gate", "merges") if k in kept})
        result["write_path_from"] = args.previous.get("machine", {}).get("date")
        (ijkg_dir / "LOCK").unlink(missing_ok=True)
    else:
        result["load"] = bench_writes_load(data, work, args)
    systems = build_systems(args.systems, work, dataset, ijkg_dir)
    try:
        result["queries"] = bench_queries(manifest, systems, args)
    finally:
        for system in systems.values():
            system.stop()
    if "ijkg" in systems and args.restarts:
        console.print("  ijkg start-up and memory")
        result["startup"] = bench_startup(Ijkg("ijkg", work, data_dir=ijkg_dir), args.restarts)
    if not args.skip_gate and not result.get("write_path_from"):
        result.update(bench_gate_and_merges(size, ijkg_dir, data.with_suffix(".json"), work, args))
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="ijkg against its peers: queries, loads, the gate."
    )
    parser.add_argument("--sizes", default="10k,100k,1m", help="comma-separated: 10k,100k,1m")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10k only, 1 s per cell, one round: a check that it all runs",
    )
    parser.add_argument("--systems", default=",".join(ALL_SYSTEMS))
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--queries", default="", help="only these queries (comma-separated)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per cell")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per cell (median kept)")
    parser.add_argument(
        "--slow-s",
        type=float,
        default=5.0,
        help="a query whose single request takes longer is not load-tested",
    )
    parser.add_argument(
        "--load-budget-s", type=float, default=600.0, help="time limit of the gated `ijkg load`"
    )
    parser.add_argument(
        "--full-gate-max", default="1m", help="largest size at which full pyshacl validation runs"
    )
    parser.add_argument("--full-budget-s", type=float, default=3600.0)
    parser.add_argument("--gate-reps", type=int, default=7)
    parser.add_argument("--merges", type=int, default=20)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--skip-gate", action="store_true")
    parser.add_argument(
        "--skip-writes",
        action="store_true",
        help="reuse the stores in --work and keep the write-path results (loads, gate, merges) "
        "of --out/results.json: rerun the queries only",
    )
    parser.add_argument(
        "--skip-paging", action="store_true", help="do not run bench/paging.py (list page cost)"
    )
    parser.add_argument("--wrk", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ijkg-bench",
        help="where data and stores go (reused: generated graphs are cached)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument(
        "--paging-only",
        action="store_true",
        help="only run bench/paging.py and add it to --out/results.json",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only write results.md and the plots again from --out/results.json",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = "10k" if args.sizes == "10k,100k,1m" else args.sizes
        args.duration, args.rounds, args.restarts, args.gate_reps, args.merges = 1.0, 1, 1, 3, 5
    args.sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.queries = [q.strip() for q in args.queries.split(",") if q.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.paging_only:
        results = json.loads((args.out / "results.json").read_text())
        args.work.mkdir(parents=True, exist_ok=True)
        args.sizes = list(results["sizes"]) or args.sizes
        results["paging"] = bench_paging(args)
        (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        args.report_only = True
    if args.report_only:
        results = json.loads((args.out / "results.json").read_text())
        (args.out / "results.md").write_text(report.markdown(results))
        if not args.no_plots:
            from bench import plots

            plots.draw(results, args.out)
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    previous = args.out / "results.json"
    args.previous = json.loads(previous.read_text()) if previous.exists() else {}
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("work", "out", "previous")
        },
        "sizes": {},
    }
    if args.skip_writes:
        # Sizes not rerun, and the page-cost run, are kept from the previous results.
        for size, kept in args.previous.get("sizes", {}).items():
            if size not in args.sizes:
                results["sizes"][size] = kept
        if "paging" in args.previous:
            results["paging"] = args.previous["paging"]
    for size in args.sizes:
        results["sizes"][size] = run_size(size, args)
        (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    if not args.skip_paging and args.sizes and "paging" not in results:
        results["paging"] = bench_paging(args)
        (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "results.md").write_text(report.markdown(results))
    if not args.no_plots:
        from bench import plots

        plots.draw(results, args.out)
    console.print(f"results in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
