"""Queries at old versions of the graph: what reading the graph as it was costs, against the head.

An embedded store (on disk, default settings) is given a synthetic graph (``bench.synthetic``,
10k triples by default) in one commit, then 1,000 small merges through the store, each adding a
few triples about a new entity and taking back one triple of the merge before it, so versions
differ in both directions. Then each query runs at the head (N), N-1, N-100 and N-1000, in rounds
that alternate the versions (machines drift), and the median latency of each is reported with
its ratio to the head's in the same run. A query at version V takes back the merges after V in
its worker and applies them again, so its cost is expected to grow with N - V, not with the
graph or the whole history.

Also reported: the change log's size (the history) against a snapshot's (the graph once), to
show the history growing with the changes, not with the graph times the versions.

    python -m bench.versions [--triples 10000] [--merges 1000] [--rounds 15] [--profile SVG]

(``--profile`` needs py-spy, ``pip install py-spy``: it is not one of the bench's extras.)

writes ``bench/results/versions.md`` and ``versions.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from bench.synthetic import GRAPH, ID, RDFS, Manifest, generate

QUERIES = {
    "point": "SELECT ?p ?o WHERE {{ <{agreement}> ?p ?o }}",
    "count": "SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o }}",
    "aggregate": (
        "SELECT ?type (COUNT(?s) AS ?n) WHERE {{ ?s a ?type }} GROUP BY ?type ORDER BY DESC(?n)"
    ),
    "notes": (
        "SELECT ?s ?label WHERE {{ ?s <http://www.w3.org/2000/01/rdf-schema#comment> ?label }} "
        "ORDER BY ?s LIMIT 50"
    ),
}


def merge_quads(i: int) -> tuple[list[ox.Quad], list[ox.Quad]]:
    """Merge ``i``: five triples about a new entity; it takes back the label merge ``i - 1``
    added (a small change that removes as well as adds)."""
    graph = ox.NamedNode(GRAPH)
    label = ox.NamedNode(RDFS + "label")

    def entity(n: int) -> ox.NamedNode:
        return ox.NamedNode(f"{ID}note/bench-{n:05d}")

    subject = entity(i)
    adds = [
        ox.Quad(subject, label, ox.Literal(f"note {i}", language="en"), graph),
        ox.Quad(subject, ox.NamedNode(RDFS + "comment"), ox.Literal(f"merge {i}"), graph),
        ox.Quad(subject, ox.NamedNode(RDFS + "seeAlso"), entity(i // 2), graph),
        ox.Quad(subject, ox.NamedNode(ID + "bench#order"), ox.Literal(str(i)), graph),
        ox.Quad(entity(i // 3), ox.NamedNode(RDFS + "seeAlso"), subject, graph),
    ]
    removes = (
        []
        if i == 0
        else [ox.Quad(entity(i - 1), label, ox.Literal(f"note {i - 1}", language="en"), graph)]
    )
    return removes, adds


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from ijkg.graph.core.settings import Settings
    from ijkg.graph.store import open_store
    from ijkg.graph.store.base import Delta

    with tempfile.TemporaryDirectory(prefix="ijkg-bench-versions-") as folder:
        work = Path(folder)
        data = work / "synthetic.nq"
        manifest: Manifest = generate(data, args.triples)
        settings = Settings(data_dir=work / "store", fsync=False, query_workers=2)
        store = await open_store(settings)
        try:
            quads = tuple(ox.parse(path=str(data), format=ox.RdfFormat.N_QUADS))
            await store.commit(Delta(adds=quads), meta={"who": "bench", "why": "load"})
            started = time.perf_counter()
            for i in range(args.merges):
                removes, adds = merge_quads(i)
                await store.commit(
                    Delta(removes=tuple(removes), adds=tuple(adds)),
                    meta={"who": "bench", "why": f"merge {i}"},
                )
            merging = time.perf_counter() - started
            head = await store.version()
            stats = await store.stats()
            offsets = [0, 1, 100, 1000]
            versions = {f"N-{k}" if k else "N": head - k for k in offsets if head - k >= 0}
            texts = {
                name: text.format(agreement=manifest.agreements[0])
                for name, text in QUERIES.items()
            }
            # Each (query, version) once before timing: the first old-version query of a
            # worker builds its index of the log.
            timings: dict[str, dict[str, list[float]]] = {
                n: {v: [] for v in versions} for n in texts
            }
            answers: dict[str, dict[str, int]] = {n: {} for n in texts}
            for name, text in texts.items():
                for label, version in versions.items():
                    answer = await store.query(text, at_version=version)
                    answers[name][label] = answer.rows
            for _ in range(args.rounds):
                for name, text in texts.items():
                    for label, version in versions.items():
                        t0 = time.perf_counter()
                        await store.query(text, at_version=version)
                        timings[name][label].append(time.perf_counter() - t0)
            if args.profile is not None and "N-1000" in versions:
                await profile(store, texts["count"], versions["N-1000"], args.profile)
            await store.snapshot()
            logs = sum(p.stat().st_size for p in settings.data_dir.glob("changes-*.log"))
            newest = max(settings.data_dir.glob("snapshot-*.nq"), key=lambda p: p.name)
            snapshot = newest.stat().st_size
        finally:
            await store.close()
    results = {
        name: {
            label: {
                "median_ms": round(statistics.median(values) * 1000, 3),
                "ratio_to_head": round(statistics.median(values) / statistics.median(by["N"]), 2),
                "rows": answers[name][label],
            }
            for label, values in by.items()
        }
        for name, by in timings.items()
    }
    return {
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "triples": manifest.triples,
        "merges": args.merges,
        "rounds": args.rounds,
        "head": head,
        "quads_at_head": stats.quads,
        "merges_per_s": round(args.merges / merging, 1),
        "log_bytes": logs,
        "snapshot_bytes": snapshot,
        "versions": versions,
        "results": results,
        "profile": args.profile.name if args.profile is not None else None,
    }


async def profile(store: Any, text: str, version: int, svg: Path) -> None:
    """Record the engine and its query workers with py-spy while the query runs at ``version``
    in a loop, as a flame graph in ``svg`` (paths of this machine scrubbed)."""
    import shutil
    import subprocess
    import sys

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    seconds = 15
    recorder = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(store._engine.pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            "250",
            "--duration",
            str(seconds),
            "--format",
            "flamegraph",
            "--output",
            str(svg),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while recorder.poll() is None:
        await store.query(text, at_version=version)
    text = svg.read_text()
    text = text.replace(str(store.settings.data_dir), "DATA_DIR").replace(str(svg), svg.name)
    svg.write_text(scrub(text))


def scrub(text: str) -> str:
    """``text`` without the paths of this machine (the checkout, the interpreter's prefixes)."""
    import re
    import sys

    roots = {str(Path(__file__).resolve().parents[1]), sys.prefix, sys.base_prefix}
    for root in sorted(roots, key=len, reverse=True):
        text = text.replace(root + "/", "")
    return re.sub(r"/(?:[\w.+-]+/)*(site-packages|lib/python3\.\d+)/", "", text)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def table(data: dict[str, Any], labels: list[str]) -> list[str]:
    """The Markdown table of query times at each version and their ratios to the head."""
    lines = [
        "| query | "
        + " | ".join(f"{label} ms" for label in labels)
        + " | "
        + " | ".join(f"{label} / N" for label in labels[1:])
        + " |",
        "| --- | " + " | ".join("---:" for _ in labels[1:] + labels) + " |",
    ]
    for name, by in data["results"].items():
        cells = [f"{by[label]['median_ms']:.2f}" for label in labels]
        ratios = [f"{by[label]['ratio_to_head']:.2f}" for label in labels[1:]]
        lines.append(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    return lines


def report(data: dict[str, Any]) -> str:
    labels = list(data["versions"])
    lines = [
        "# Queries at old versions",
        "",
        f"An embedded store holding {data['triples']:,} synthetic triples, then "
        f"{data['merges']:,} small merges through the store (head: version {data['head']:,}, "
        f"{data['quads_at_head']:,} quads; {data['merges_per_s']} merges/s, fsync off). "
        f"Each query at the head (N) and at N-1, N-100, N-1000: median of {data['rounds']} runs "
        "per cell, in rounds alternating the versions, in one run on one machine "
        f"({data['machine']['cpus']} CPUs, Python {data['machine']['python']}). "
        "`python -m bench.versions` reruns it.",
        "",
        *table(data, labels),
    ]
    history = data["log_bytes"] / data["snapshot_bytes"]
    lines += [
        "",
        "A query at version V takes back the records of the merges after V in its worker, "
        "answers, and applies them again before it replies: the extra cost grows with the "
        "changes since V (about the same for every query at one version), not with the graph "
        "or the length of the history.",
        "",
        f"Storage: the change log (every version since 0, the initial load included) is "
        f"{data['log_bytes']:,} bytes; one snapshot of the graph at the head is "
        f"{data['snapshot_bytes']:,} bytes ({history:.2f} times as much for the whole history: "
        "it grows with the changes, not with the graph times the versions).",
        "",
    ]
    if data.get("profile"):
        lines += [
            f"`{data['profile']}`: a py-spy flame graph of the engine and its query workers "
            "answering `count` at N-1000 in a loop for 15 s (`--profile`). Most of the time is "
            "the replica's writes (taking the net change out and putting it back, with the "
            "union kept as a set: `union.remove`, `union.add`); the records are read and parsed "
            "once and kept for the next queries (`history.KEEP_QUADS`), and the query itself is "
            "a sliver.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.versions", description=__doc__)
    parser.add_argument("--triples", type=int, default=10_000)
    parser.add_argument("--merges", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--profile",
        type=Path,
        help="also record a py-spy flame graph of queries at N-1000 to this SVG file",
    )
    args = parser.parse_args(argv)
    data = asyncio.run(run(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "versions.json").write_text(json.dumps(data, indent=1) + "\n")
    (args.out / "versions.md").write_text(report(data))
    print(report(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
