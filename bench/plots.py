"""PNG plots of ``results.json`` (matplotlib, Agg backend): throughput and latency per system,
query and size; and the gate against full validation by size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SYSTEMS = ("ijkg", "oxigraph-mem", "oxigraph-disk", "rdflib-endpoint")
COLOURS = {
    "ijkg": "#d62728",
    "oxigraph-mem": "#1f77b4",
    "oxigraph-disk": "#17becf",
    "rdflib-endpoint": "#7f7f7f",
    "hello": "#2ca02c",
}


def _cells(r: dict[str, Any]) -> list[dict[str, Any]]:
    return list(r.get("queries", {}).get("cells", []))


def _queries(r: dict[str, Any]) -> list[str]:
    info = r.get("queries", {}).get("queries", {})
    return [name for name, q in info.items() if q["kind"] == "sparql"]


def _bars(ax: Any, r: dict[str, Any], c: int, metric: str) -> None:
    queries = _queries(r)
    cells = _cells(r)
    width = 0.8 / len(SYSTEMS)
    for k, system in enumerate(SYSTEMS):
        values = []
        for q in queries:
            found = [
                x
                for x in cells
                if x["query"] == q and x["system"] == system and x["concurrency"] == c
            ]
            values.append(found[0][metric] if found else 0)
        xs = [i + (k - len(SYSTEMS) / 2 + 0.5) * width for i in range(len(queries))]
        ax.bar(xs, values, width, label=system, color=COLOURS[system])
    ax.set_xticks(range(len(queries)))
    ax.set_xticklabels(queries, rotation=30, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)


def draw(results: dict[str, Any], out: Path) -> list[Path]:
    written = []
    sizes = results["sizes"]
    conc = results["settings"]["concurrency"]
    for metric, label, stem in (
        ("rps", "requests per second (log)", "throughput"),
        ("p50_ms", "p50 latency, ms (log)", "latency-p50"),
        ("p99_ms", "p99 latency, ms (log)", "latency-p99"),
    ):
        fig, axes = plt.subplots(
            len(sizes), len(conc), figsize=(7 * len(conc), 4 * len(sizes)), squeeze=False
        )
        for i, (size, r) in enumerate(sizes.items()):
            for j, c in enumerate(conc):
                ax = axes[i][j]
                _bars(ax, r, c, metric)
                ax.set_title(f"{size}, concurrency {c}")
                ax.set_ylabel(label)
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        path = out / f"{stem}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    # The gate by size, and ijkg's ratio to oxigraph in memory by query and size.
    names, inc, full = [], [], []
    for size, r in sizes.items():
        gate = r.get("gate", {})
        if gate.get("ok"):
            names.append(size)
            inc.append(gate["detail"]["incremental_ms"])
            full.append(gate["detail"].get("full_ms", 0))
    if names:
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], inc, 0.4, label="gate (incremental)", color=COLOURS["ijkg"])
        ax.bar([x + 0.2 for x in xs], full, 0.4, label="full pyshacl", color="#7f7f7f")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(names)
        ax.set_yscale("log")
        ax.set_ylabel("ms for a 100-triple change (log)")
        ax.axhline(50, color="black", linestyle=":", linewidth=1, label="target 50 ms")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / "gate.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    fig, ax = plt.subplots(figsize=(8, 4))
    for size, r in sizes.items():
        for c in conc:
            queries = _queries(r)
            values = []
            for q in queries:
                a = [
                    x
                    for x in _cells(r)
                    if x["query"] == q and x["system"] == "ijkg" and x["concurrency"] == c
                ]
                b = [
                    x
                    for x in _cells(r)
                    if x["query"] == q and x["system"] == "oxigraph-mem" and x["concurrency"] == c
                ]
                values.append(
                    a[0]["rps"] / b[0]["rps"] if a and b and b[0]["rps"] else float("nan")
                )
            ax.plot(queries, values, marker="o", label=f"{size} c={c}")
    ax.axhline(0.9, color="black", linestyle=":", linewidth=1)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_ylabel("ijkg ÷ oxigraph-mem, req/s")
    ax.tick_params(axis="x", rotation=30, labelsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = out / "ratio-oxigraph.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    written.append(path)
    return written
