"""Queries at old versions on an external store: what the version replica costs, against the head.

``oxigraph serve`` (in memory) behind ijkg's ``SparqlStore`` is given the same graph and merges as
``bench.versions`` (a synthetic graph in one commit, then 1,000 small merges through the store,
each recording its patch in the store). Reported:

- the first query at an old version in a process, which builds the replica (reads the graph and
  the recorded patches, writes the snapshot and the log, opens an embedded store on them);
- each query at the head (N, on the external store itself) and at N-1, N-100, N-1000 (on the
  replica), median of the rounds, in rounds that alternate the versions;
- a query at the head after ten more merges (the replica applies the ten patches first);
- the history's size in the store (the recorded patches) against the graph's at the head (as
  N-Quads).

    python -m bench.versions_external [--triples 10000] [--merges 1000] [--rounds 15]

writes ``bench/results/versions-external.md`` and ``versions-external.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox

from bench.synthetic import Manifest, generate
from bench.systems import HOST, free_port, tool
from bench.versions import QUERIES, _cpus, merge_quads, table


def _serve() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [tool("oxigraph"), "serve", "--bind", f"{HOST}:{port}", "--timeout-s", "600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{HOST}:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/query", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("oxigraph serve did not come up")


async def _merge(store: Any, i: int) -> None:
    from ijkg.graph.store.base import Delta

    removes, adds = merge_quads(i)
    await store.commit(
        Delta(removes=tuple(removes), adds=tuple(adds)), meta={"who": "bench", "why": f"merge {i}"}
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from ijkg.graph.core.rdfio import write_nquads
    from ijkg.graph.core.settings import Settings
    from ijkg.graph.io.backup import named_quads
    from ijkg.graph.store import remote_history
    from ijkg.graph.store.base import Delta
    from ijkg.graph.store.remote import SparqlStore

    process, url = _serve()
    try:
        with tempfile.TemporaryDirectory(prefix="ijkg-bench-versions-external-") as folder:
            work = Path(folder)
            data = work / "synthetic.nq"
            manifest: Manifest = generate(data, args.triples)
            settings = Settings(
                store="sparql",
                data_dir=work / "run",
                sparql_query_url=f"{url}/query",
                sparql_update_url=f"{url}/update",
                query_workers=2,
                fsync=False,
            )
            store = await SparqlStore.open(settings)
            try:
                quads = tuple(ox.parse(path=str(data), format=ox.RdfFormat.N_QUADS))
                await store.commit(Delta(adds=quads), meta={"who": "bench", "why": "load"})
                started = time.perf_counter()
                for i in range(args.merges):
                    await _merge(store, i)
                merging = time.perf_counter() - started
                head = await store.version()
                stats = await store.stats()
                texts = {
                    name: text.format(agreement=manifest.agreements[0])
                    for name, text in QUERIES.items()
                }
                versions = {
                    f"N-{k}" if k else "N": head - k for k in (0, 1, 100, 1000) if head - k >= 0
                }
                t0 = time.perf_counter()
                await store.query(texts["point"], at_version=versions["N-1"])
                build = time.perf_counter() - t0
                # Each (query, version) once before timing, as in ``bench.versions``.
                for text in texts.values():
                    for label, version in versions.items():
                        await store.query(text, at_version=None if label == "N" else version)
                timings = {name: {label: [] for label in versions} for name in texts}
                for _ in range(args.rounds):
                    for name, text in texts.items():
                        for label, version in versions.items():
                            at = None if label == "N" else version
                            t0 = time.perf_counter()
                            await store.query(text, at_version=at)
                            timings[name][label].append(time.perf_counter() - t0)
                for i in range(args.merges, args.merges + 10):
                    await _merge(store, i)
                t0 = time.perf_counter()
                await store.query(texts["point"], at_version=await store.version())
                catch_up = time.perf_counter() - t0
                history = await store._solutions(
                    "SELECT (SUM(STRLEN(?rm) + STRLEN(?add)) AS ?n) WHERE { GRAPH ?g { "
                    f"?r <{remote_history.SYS}removedQuads> ?rm ; "
                    f"<{remote_history.SYS}addedQuads> ?add }} }}"
                )
                history_chars = int(history[0]["n"].value)  # type: ignore[union-attr]
                graph_bytes = len(write_nquads(await named_quads(store)))
            finally:
                await store.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
    medians = {
        name: {label: statistics.median(values) for label, values in by.items()}
        for name, by in timings.items()
    }
    return {
        "machine": {"cpus": _cpus()},
        "triples": manifest.triples,
        "merges": args.merges,
        "rounds": args.rounds,
        "head": head,
        "quads_at_head": stats.quads,
        "merges_per_s": round(args.merges / merging, 1),
        "build_s": round(build, 2),
        "catch_up_10_ms": round(catch_up * 1000, 1),
        "history_chars": history_chars,
        "graph_nquads_bytes": graph_bytes,
        "versions": versions,
        "results": {
            name: {
                label: {
                    "median_ms": round(value * 1000, 3),
                    "ratio_to_head": round(value / by["N"], 2),
                }
                for label, value in by.items()
            }
            for name, by in medians.items()
        },
    }


def report(data: dict[str, Any]) -> str:
    labels = list(data["versions"])
    lines = [
        "# Queries at old versions on an external store",
        "",
        f"`oxigraph serve` (in memory) holding {data['triples']:,} synthetic triples, then "
        f"{data['merges']:,} small merges through ijkg (head: version {data['head']:,}, "
        f"{data['quads_at_head']:,} quads; {data['merges_per_s']} merges/s, each recording its "
        f"patch). The first query at an old version in a process built the version replica in "
        f"{data['build_s']} s. Each query at the head (N, asked of the store) and at N-1, "
        f"N-100, N-1000 (answered by the replica): median of {data['rounds']} runs per cell, "
        f"in one run on one machine ({data['machine']['cpus']} CPUs). "
        "`python -m bench.versions_external` reruns it.",
        "",
        *table(data, labels),
    ]
    lines += [
        "",
        f"After ten more merges, a query at the new head's version took "
        f"{data['catch_up_10_ms']} ms (the replica applies the ten patches first).",
        "",
        f"Storage: the recorded patches (every version, the initial load included) hold "
        f"{data['history_chars']:,} characters of N-Quads; the graph at the head, as N-Quads, is "
        f"{data['graph_nquads_bytes']:,} bytes: the history grows with the changes, not with "
        "the graph times the versions.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.versions_external", description=__doc__)
    parser.add_argument("--triples", type=int, default=10_000)
    parser.add_argument("--merges", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    data = asyncio.run(run(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "versions-external.json").write_text(json.dumps(data, indent=1) + "\n")
    (args.out / "versions-external.md").write_text(report(data))
    print(report(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
