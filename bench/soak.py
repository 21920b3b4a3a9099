"""A bounded soak: ``ijkg serve`` on 127.0.0.1 under 64 concurrent clients for 60 s (by default),
mixed reads and writes through the real HTTP API with a writer's token.

What it reports (``soak.json``, ``soak.md``, ``soak.png`` in ``--out``):

- answers by kind: ``ok``, the deliberate 503s (``overloaded``, ``query-timeout``: the service
  turning work away under its limits, with ``Retry-After``), and everything else as errors, named
  by status and problem type (or by the client's exception);
- throughput (answers per second, over the run and second by second) and latency percentiles
  (p50, p90, p99, max) by operation;
- memory of the service's process tree (service, store engine, query workers) sampled every
  second: RSS and PSS over time, and the trend over the second half of the run (MB per minute);
- whether nothing was lost: every acknowledged ``INSERT DATA`` is in the store at the end.

Nothing here is asserted as a timing: the numbers are reported. Not part of the test suite
(``tests/bench/test_soak_smoke.py`` runs it for a few seconds to keep it working).

    python -m bench.soak                       # c=64 for 60 s
    python -m bench.soak --concurrency 16 --duration 10 --out /tmp/soak
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.run import machine
from bench.systems import Ijkg, _pids

TOKEN = "soak-writer-token"  # noqa: S105 - the soak's own server
GRAPH = "https://w3id.org/ijkg/graph/soak"
NOTE = "http://www.w3.org/2004/02/skos/core#note"
#: Deliberate answers under load: the service says "not now" within its limits.
DELIBERATE = {"overloaded", "query-timeout"}

QUERIES = [
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
    "PREFIX ijkg: <https://w3id.org/ijkg/ontology#> "
    "SELECT ?n ?label WHERE { ?p a ijkg:Pillar ; skos:notation ?n ; skos:prefLabel ?label } "
    "ORDER BY ?n",
    "SELECT ?p ?o WHERE { <https://w3id.org/ijkg/id/state/japan> ?p ?o }",
    "SELECT ?type (COUNT(*) AS ?n) WHERE { ?s a ?type } GROUP BY ?type ORDER BY DESC(?n) LIMIT 20",
    "PREFIX ijkg: <https://w3id.org/ijkg/ontology#> "
    "SELECT ?agreement ?party WHERE { ?agreement ijkg:party ?party } LIMIT 200",
    'ASK { ?s <http://www.w3.org/2000/01/rdf-schema#label> "Japan"@en }',
]
SEARCHES = ["japan", "india", "health", "semiconductor", "ayurveda", "securite", "trillion"]
LISTS = ["pillars", "sectors", "agreements", "targets", "people", "states"]

#: Operation -> weight in the mix.
MIX = {
    "sparql-select": 28,
    "sparql-describe": 4,
    "entity-json": 14,
    "entity-html": 4,
    "api-list": 10,
    "api-search": 10,
    "health": 5,
    "validate": 5,
    "write-update": 12,
    "write-put": 8,
}


@dataclass
class Record:
    op: str
    kind: str
    status: int
    seconds: float
    at: float


@dataclass
class Soak:
    base: str
    entities: list[str]
    deadline: float
    started: float
    records: list[Record] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)


def _kind(response: httpx.Response) -> str:
    if response.status_code < 400:
        return "ok"
    problem = ""
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        with contextlib.suppress(ValueError):
            problem = str(response.json().get("type", "")).rsplit("/", 1)[-1]
    if response.status_code == 503 and problem in DELIBERATE and "retry-after" in response.headers:
        return f"503 {problem}"
    return f"error {response.status_code} {problem or response.text[:60]!r}"


async def _one(
    client: httpx.AsyncClient, soak: Soak, op: str, worker: int, n: int, rng: random.Random
) -> tuple[httpx.Response, str | None]:
    """Send one request of kind ``op``; returns the answer and the marker a write acknowledges."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    if op == "sparql-select":
        return await client.get("/sparql", params={"query": rng.choice(QUERIES)}), None
    if op == "sparql-describe":
        entity = rng.choice(soak.entities)
        return await client.get(
            "/sparql", params={"query": f"DESCRIBE <{entity}>"}, headers={"Accept": "text/turtle"}
        ), None
    if op in ("entity-json", "entity-html"):
        path = rng.choice(soak.entities).removeprefix("https://w3id.org/ijkg")
        accept = "application/json" if op == "entity-json" else "text/html"
        return await client.get(path, headers={"Accept": accept}), None
    if op == "api-list":
        return await client.get(f"/api/{rng.choice(LISTS)}", params={"limit": 20}), None
    if op == "api-search":
        return await client.get("/api/search", params={"q": rng.choice(SEARCHES)}), None
    if op == "health":
        return await client.get("/health"), None
    if op == "validate":
        turtle = f'<urn:x-soak:v{worker}-{n}> <{NOTE}> "validated, not written"@en .'
        return await client.post(
            "/validate", content=turtle, headers={"Content-Type": "text/turtle"}
        ), None
    if op == "write-update":
        marker = f"w{worker}-{n}"
        triple = f'<urn:x-soak:{marker}> <{NOTE}> "{marker}"@en'
        update = f"INSERT DATA {{ GRAPH <{GRAPH}> {{ {triple} }} }}"
        response = await client.post(
            "/update",
            content=update,
            headers={**auth, "Content-Type": "application/sparql-update"},
        )
        return response, marker
    if op == "write-put":
        turtle = "\n".join(
            f'<urn:x-soak:put-{worker}> <{NOTE}> "put {n} {i}"@en .' for i in range(3)
        )
        return await client.put(
            "/store",
            params={"graph": f"{GRAPH}-{worker}"},
            content=turtle,
            headers={**auth, "Content-Type": "text/turtle"},
        ), None
    raise ValueError(op)


async def _client(client: httpx.AsyncClient, soak: Soak, worker: int, seed: int) -> None:
    rng = random.Random(seed * 1000 + worker)
    ops, weights = list(MIX), list(MIX.values())
    n = 0
    while time.perf_counter() < soak.deadline:
        op = rng.choices(ops, weights)[0]
        n += 1
        started = time.perf_counter()
        try:
            response, marker = await _one(client, soak, op, worker, n, rng)
            kind, status = _kind(response), response.status_code
            if marker is not None and kind == "ok":
                soak.acknowledged.append(marker)
        except httpx.HTTPError as exc:
            kind, status = f"error client {type(exc).__name__}", 0
        ended = time.perf_counter()
        soak.records.append(Record(op, kind, status, ended - started, ended - soak.started))


def _process_memory(root: int) -> dict[str, float]:
    """RSS in MB of the service, its engine and the sum of the engine's workers."""
    found = {"service": 0.0, "engine": 0.0, "workers": 0.0}
    for pid in _pids(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        rss = next(
            (int(x.split()[1]) / 1024 for x in status.splitlines() if x.startswith("VmRSS")), 0.0
        )
        if pid == root:
            found["service"] += rss
        elif b"ijkg.graph.store.engine" in command and _parent(pid) == root:
            found["engine"] += rss
        else:
            found["workers"] += rss
    return found


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


async def _sample_memory(root: int, soak: Soak, samples: list[dict[str, float]]) -> None:
    from bench.systems import tree_memory

    while time.perf_counter() < soak.deadline + 1:
        tree = tree_memory(root)
        samples.append(
            {
                "t": round(time.perf_counter() - soak.started, 2),
                "rss_mb": tree["rss"] / 2**20,
                "pss_mb": tree["pss"] / 2**20,
                **{f"{k}_mb": v for k, v in _process_memory(root).items()},
            }
        )
        await asyncio.sleep(1.0)


def _percentiles(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    ordered = sorted(seconds)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": at(1.0)}


def _trend(samples: list[dict[str, float]], key: str) -> float:
    """Least-squares slope of ``key`` over the second half of the run, in MB per minute."""
    half = samples[len(samples) // 2 :]
    if len(half) < 3:
        return 0.0
    ts = [s["t"] for s in half]
    ys = [s[key] for s in half]
    mean_t, mean_y = statistics.fmean(ts), statistics.fmean(ys)
    denominator = sum((t - mean_t) ** 2 for t in ts)
    if denominator == 0:
        return 0.0
    slope = sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys, strict=True)) / denominator
    return round(slope * 60, 2)


async def _entities(client: httpx.AsyncClient) -> list[str]:
    answer = await client.get(
        "/sparql",
        params={
            "query": "SELECT DISTINCT ?s WHERE { ?s a ?t "
            'FILTER(STRSTARTS(STR(?s), "https://w3id.org/ijkg/id/")) } ORDER BY ?s LIMIT 60'
        },
    )
    answer.raise_for_status()
    return [row["s"]["value"] for row in answer.json()["results"]["bindings"]]


async def _stored_markers(client: httpx.AsyncClient) -> set[str]:
    answer = await client.get(
        "/sparql",
        params={"query": f"SELECT ?m WHERE {{ GRAPH <{GRAPH}> {{ ?s <{NOTE}> ?m }} }}"},
        timeout=120,
    )
    answer.raise_for_status()
    return {row["m"]["value"] for row in answer.json()["results"]["bindings"]}


async def soak(args: argparse.Namespace, server: Ijkg) -> dict[str, Any]:
    loadavg = [round(x, 2) for x in os.getloadavg()]
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as client:
        entities = await _entities(client)
        before = (await client.get("/health/ready")).json()
        started = time.perf_counter()
        run = Soak(server.base, entities, started + args.duration, started)
        samples: list[dict[str, float]] = []
        assert server.proc is not None
        sampler = asyncio.create_task(_sample_memory(server.proc.pid, run, samples))
        await asyncio.gather(
            *(_client(client, run, worker, args.seed) for worker in range(args.concurrency))
        )
        elapsed = time.perf_counter() - started
        await sampler
        after = (await client.get("/health/ready")).json()
        stored = await _stored_markers(client)
    kinds = Counter(r.kind for r in run.records)
    by_op: dict[str, list[Record]] = defaultdict(list)
    for record in run.records:
        by_op[record.op].append(record)
    per_second = Counter(int(r.at) for r in run.records if r.at < args.duration)
    lost = sorted(set(run.acknowledged) - stored)
    return {
        "settings": {
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "seed": args.seed,
            "mix": MIX,
            "server": "ijkg serve, embedded store, default settings (fsync on, 2 query workers)",
        },
        "machine": machine(),
        "loadavg_before": loadavg,
        "requests": len(run.records),
        "elapsed_s": round(elapsed, 2),
        "throughput_rps": round(len(run.records) / elapsed, 1),
        "kinds": dict(kinds.most_common()),
        "errors": sum(n for kind, n in kinds.items() if kind.startswith("error")),
        "deliberate_503": sum(n for kind, n in kinds.items() if kind.startswith("503")),
        "latency": _percentiles([r.seconds for r in run.records]),
        "operations": {
            op: {
                "requests": len(records),
                "kinds": dict(Counter(r.kind for r in records).most_common()),
                **_percentiles([r.seconds for r in records if r.kind == "ok"]),
            }
            for op, records in sorted(by_op.items())
        },
        "throughput_per_second": [per_second.get(s, 0) for s in range(int(args.duration))],
        "memory": samples,
        "memory_trend_mb_per_min": {
            key: _trend(samples, key) for key in ("rss_mb", "pss_mb", "service_mb", "engine_mb")
        },
        "writes": {
            "acknowledged": len(run.acknowledged),
            "found_after": len(stored & set(run.acknowledged)),
            "lost": lost[:20],
            "version_before": before["store"]["version"],
            "version_after": after["store"]["version"],
        },
        "health_after": after["status"],
    }


def markdown(result: dict[str, Any]) -> str:
    s = result["settings"]
    m = result["machine"]
    lat = result["latency"]
    mem = result["memory"]
    first = mem[0] if mem else {}
    last = mem[-1] if mem else {}
    peak = max((x["rss_mb"] for x in mem), default=0.0)
    lines = [
        "# Soak",
        "",
        f"`python -m bench.soak`: c={s['concurrency']} for {s['duration_s']} s on 127.0.0.1, "
        f"{s['server']}; {m.get('cores', '?')} cores ({m.get('cpu', '')}), Python "
        f"{m.get('python', '')}, commit {m.get('commit', '')}, {m.get('date', '')}; load average "
        f"before the run {result['loadavg_before']} (the client runs on the same cores). "
        "Timings are reported, never asserted.",
        "",
        "| | |",
        "| --- | --- |",
        f"| requests | {result['requests']:,} in {result['elapsed_s']} s |",
        f"| throughput | {result['throughput_rps']} answers/s |",
        f"| errors | {result['errors']} |",
        f"| deliberate 503 (overloaded, query-timeout) | {result['deliberate_503']} |",
        f"| latency p50 / p90 / p99 / max | {lat.get('p50_ms')} / {lat.get('p90_ms')} / "
        f"{lat.get('p99_ms')} / {lat.get('max_ms')} ms |",
        f"| memory (RSS of the process tree) start / end / peak | {first.get('rss_mb', 0):.0f} / "
        f"{last.get('rss_mb', 0):.0f} / {peak:.0f} MB |",
        f"| memory trend, second half (RSS, PSS) | {result['memory_trend_mb_per_min']['rss_mb']} "
        f"/ {result['memory_trend_mb_per_min']['pss_mb']} MB per minute |",
        f"| acknowledged writes found afterwards | {result['writes']['found_after']} of "
        f"{result['writes']['acknowledged']} |",
        f"| /health afterwards | {result['health_after']} |",
        "",
        "Answers by kind:",
        "",
        "| kind | answers |",
        "| --- | ---: |",
        *(f"| {kind} | {n:,} |" for kind, n in result["kinds"].items()),
        "",
        "By operation (latency of the `ok` answers):",
        "",
        "| operation | requests | p50 ms | p90 ms | p99 ms | max ms | not ok |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for op, o in result["operations"].items():
        not_ok = ", ".join(f"{k}: {n}" for k, n in o["kinds"].items() if k != "ok") or "-"
        lines.append(
            f"| {op} | {o['requests']:,} | {o.get('p50_ms', '-')} | {o.get('p90_ms', '-')} | "
            f"{o.get('p99_ms', '-')} | {o.get('max_ms', '-')} | {not_ok} |"
        )
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mem = result["memory"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    top.plot(range(len(result["throughput_per_second"])), result["throughput_per_second"])
    top.set_ylabel("answers per second")
    top.set_title(
        f"ijkg soak: c={result['settings']['concurrency']}, mixed reads and writes, "
        f"{result['errors']} errors, {result['deliberate_503']} deliberate 503s"
    )
    top.grid(alpha=0.3)
    t = [x["t"] for x in mem]
    for key, label in (
        ("rss_mb", "whole tree (RSS)"),
        ("pss_mb", "whole tree (PSS)"),
        ("service_mb", "service"),
        ("engine_mb", "store engine"),
        ("workers_mb", "query workers (RSS, shared pages counted in each)"),
    ):
        bottom.plot(t, [x[key] for x in mem], label=label)
    bottom.set_ylabel("MB")
    bottom.set_xlabel("seconds")
    bottom.set_ylim(bottom=0)
    bottom.legend(fontsize=8, loc="lower right")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


class SoakServer(Ijkg):
    def env(self) -> dict[str, str]:
        return {**os.environ, "IJKG_WRITE_TOKENS": f"soak={TOKEN}", "IJKG_LOG_FORMAT": "json"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=summary)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    parser.add_argument("--work", type=Path, default=None, help="store and log (default: temp)")
    parser.add_argument("--no-plots", action="store_true", help="no PNG (needs no matplotlib)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="ijkg-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    server = SoakServer("ijkg", work, data_dir=work / "store")
    server.start(timeout_s=300)
    try:
        result = asyncio.run(soak(args, server))
    finally:
        server.stop()
    (args.out / "soak.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "soak.md").write_text(markdown(result))
    if not args.no_plots:
        plot(result, args.out / "soak.png")
    print(markdown(result))
    written = "soak.md" if args.no_plots else "soak.md, soak.png"
    print(f"written: {args.out / 'soak.json'}, {written}; server log in {work}")
    return 1 if result["errors"] or result["writes"]["lost"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
