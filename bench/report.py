"""``results.json`` as Markdown: the machine, the tables side by side with ratios, the targets."""

from __future__ import annotations

from typing import Any

PEERS = ("ijkg-nocache", "oxigraph-mem", "oxigraph-disk", "rdflib-endpoint")
SHORT = {
    "ijkg-nocache": "nocache",
    "oxigraph-mem": "ox-mem",
    "oxigraph-disk": "ox-disk",
    "rdflib-endpoint": "rdflib",
}


def _cell(cells: list[dict[str, Any]], query: str, system: str, c: int) -> dict[str, Any] | None:
    for cell in cells:
        if cell["query"] == query and cell["system"] == system and cell["concurrency"] == c:
            return cell
    return None


def ratio(cells: list[dict[str, Any]], query: str, a: str, b: str, c: int) -> float | None:
    x, y = _cell(cells, query, a, c), _cell(cells, query, b, c)
    if x is None or y is None or not y["rps"]:
        return None
    return float(x["rps"]) / float(y["rps"])


def _against(cells: list[dict[str, Any]], query: str, peer: str, c: int) -> float | None:
    """ijkg's rate on ``query`` over the peer's: the same query, or for ``hello`` its one route
    (kept in the cells under ``entity-json``, the query it is the ceiling of)."""
    if peer != "hello":
        return ratio(cells, query, "ijkg", peer, c)
    mine, ceiling = _cell(cells, query, "ijkg", c), _cell(cells, "entity-json", "hello", c)
    if mine is None or ceiling is None or not ceiling["rps"]:
        return None
    return float(mine["rps"]) / float(ceiling["rps"])


def _error(text: str) -> str:
    """The telling part of an error: from the last ``SomethingError:`` on, else the start."""
    import re

    found = re.findall(r"\w+(?:Error|Exception|Timeout)\b:?[^|]*", text)
    return (found[-1] if found else text).strip()[:120]


def _fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}{suffix}"
    return f"{value:.{digits}f}{suffix}"


def _query_table(q: dict[str, Any], c: int) -> list[str]:
    cells = q["cells"]
    systems = [s for s in ("ijkg", *PEERS) if s in q["systems"]]
    head = ["query"]
    for s in systems:
        head += [f"{SHORT.get(s, s)} req/s", "p50 ms", "p99 ms"]
    head += [f"ijkg ÷ {SHORT[p]}" for p in PEERS if p in systems]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, info in q["queries"].items():
        if info["kind"] != "sparql":
            continue
        row = [f"`{name}`"]
        for s in systems:
            cell = _cell(cells, name, s, c)
            if cell is None:
                why = info["systems"].get(s, {})
                note = "skipped" if "skipped" in why else ("error" if "error" in why else "—")
                if "single_ms" in why and "skipped" in why:
                    note = f"1 req: {why['single_ms'] / 1000:.1f} s"
                row += [note, "", ""]
            elif not cell["requests"]:
                row += [f"none done in {cell['seconds']:.0f} s", "", ""]
            elif cell["errors"] and cell["errors"] * 2 >= cell["requests"]:
                row += [f"{cell['errors']} of {cell['requests']} failed", "", ""]
            else:
                row += [_fmt(cell["rps"], 1), _fmt(cell["p50_ms"]), _fmt(cell["p99_ms"])]
        for p in PEERS:
            if p in systems:
                row.append(_fmt(ratio(cells, name, "ijkg", p, c), 2, "×"))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _mb(value: Any) -> str:
    return "—" if value is None else f"{value:,} MB"


def _load_row(name: str, entry: dict[str, Any] | None, base: float | None) -> str:
    if entry is None:
        return f"| {name} | — | — | — |"
    peak = _mb(entry.get("peak_pss_mb"))
    if not entry.get("ok"):
        return f"| {name} | failed: {_error(entry.get('error', ''))} | {peak} | — |"
    r = entry["seconds"] / base if base else None
    return f"| {name} | {entry['seconds']:.2f} s | {peak} | {_fmt(r, 2, '×')} |"


def targets(results: dict[str, Any], size: str | None = None) -> list[tuple[str, str, bool | None]]:
    """(target, what was measured, met?) at ``size`` (default: the largest measured)."""
    sizes = results["sizes"]
    if not sizes:
        return []
    size = size or list(sizes)[-1]
    r = sizes[size]
    out: list[tuple[str, str, bool | None]] = []
    q = r.get("queries", {})
    cells = q.get("cells", [])

    def worst_at(
        queries: tuple[str, ...], peer: str, cs: tuple[int, ...]
    ) -> tuple[str, float | None]:
        found = [
            (value, f"{name} c={c}")
            for name in queries
            for c in cs
            if (value := _against(cells, name, peer, c)) is not None
        ]
        if not found:
            return "not measured (the peer answered none in time)", None
        value, where = min(found)
        return f"worst {value:.2f}× ({where})", value

    # Issue 13's goals: a route's overhead is the framework's, heavier queries cost Oxigraph's.
    text, v = worst_at(("point", "property-path"), "hello", (1, 16))
    out.append(
        (
            "point lookup, property path ≥ 0.7× hello-world (c=1, c=16)",
            text,
            None if v is None else v >= 0.7,
        )
    )
    heavier = (
        "list-early",
        "list-deep",
        "join3",
        "aggregate",
        "optional-filter",
        "label-search",
        "construct",
    )
    goal = {"100k": 0.7, "1m": 0.9}.get(size)
    text, v = worst_at(heavier, "oxigraph-mem", (16,))
    out.append(
        (
            "heavier queries ≥ 0.7× oxigraph-mem at 100k, ≥ 0.9× at 1M (c=16)",
            text if goal else f"{text}; no goal at this size",
            None if v is None or goal is None else v >= goal,
        )
    )
    e = ratio(cells, "entity-json", "ijkg", "hello", 16)
    out.append(
        (
            "entity JSON ≥ 0.6× hello-world at c=16 (at 1M)",
            "endpoint not in the service" if e is None else f"{e:.2f}×",
            None if e is None or size != "1m" else e >= 0.6,
        )
    )
    # Issue 14's goals: writes and memory that cost what the change costs.
    load = r.get("load", {})
    gated, raw = load.get("ijkg_load", {}), load.get("pyoxigraph_mem", {})
    checked = load.get("full_validation", {})
    goal_text = "`ijkg load` ≤ 1.5× (raw pyoxigraph load + one full pyshacl validation)"
    if gated.get("ok") and raw.get("ok") and checked.get("ok"):
        lr = gated["seconds"] / (raw["seconds"] + checked["seconds"])
        peak = gated["peak_pss_mb"] / max(1, raw["peak_pss_mb"])
        out.append((goal_text, f"{lr:.2f}×", lr <= 1.5))
        out.append(("load peak memory ≤ 2× raw pyoxigraph's", f"{peak:.1f}×", peak <= 2))
    elif gated.get("ok") and raw.get("ok"):
        lr = gated["seconds"] / raw["seconds"]
        out.append((goal_text, f"{lr:.1f}× raw load alone (no full validation run)", None))
    else:
        out.append((goal_text, f"ijkg load failed: {_error(gated.get('error', '?'))}", False))
    gate = r.get("gate", {})
    if gate.get("ok"):
        d = gate["detail"]
        ms = d["incremental_ms"]
        out.append(("gate, 100-triple change ≤ 25 ms (at 1M)", f"{ms} ms", ms <= 25))
        if "speedup" in d:
            out.append(
                (
                    "gate: same verdict as full pyshacl",
                    f"same verdict: {d['same_verdict']} ({d['speedup']}× faster)",
                    bool(d["same_verdict"]),
                )
            )
    merges = r.get("merges", {})
    if merges.get("ok"):
        rate = merges["detail"]["changes_per_s"]
        out.append(("merges, gate and fsync on ≥ 30 changes/s", f"{rate} changes/s", rate >= 30))
    mem = q.get("systems", {})
    mine = mem.get("ijkg", {}).get("memory_after_mb", {}).get("pss")
    peer = mem.get("oxigraph-mem", {}).get("memory_after_mb", {}).get("pss")
    if mine and peer:
        out.append(
            (
                "resident after the query run ≤ 2× oxigraph-mem's (PSS)",
                f"{mine / peer:.1f}× ({mine:,} MB vs {peer:,} MB)",
                mine <= 2 * peer,
            )
        )
    start = r.get("startup", {})
    if start.get("startup_s") and raw.get("ok"):
        ratio_s = start["startup_s"] / raw["seconds"]
        out.append(
            (
                "start-up ≤ 2× raw pyoxigraph load of the same data",
                f"{ratio_s:.1f}× ({start['startup_s']:.1f} s vs {raw['seconds']:.1f} s)",
                ratio_s <= 2,
            )
        )
    paging = results.get("paging", {})
    pages = q.get("pages")
    if paging.get("ok"):
        rows = paging["detail"]["results"]
        worst_last, worst_ratio = 0.0, 0.0
        for name in sorted({r["list"] for r in rows}):
            mine = [r for r in rows if r["list"] == name]
            worst_last = max(worst_last, mine[-1]["keyset_s"] * 1000)
            worst_ratio = max(worst_ratio, mine[-1]["keyset_s"] / mine[0]["keyset_s"])
        out.append(
            (
                "list pages flat, ≤ 10 ms per page (at 1M)",
                f"last page {worst_last:.1f} ms, last ÷ first {worst_ratio:.2f}×",
                worst_last <= 10 and worst_ratio <= 2,
            )
        )
    elif pages:
        flat = pages["last_ms"] <= 2 * max(pages["first_ms"], 1)
        out.append(
            (
                "list pages flat, ≤ 10 ms per page (at 1M)",
                f"first {pages['first_ms']} ms, last {pages['last_ms']} ms",
                flat and pages["last_ms"] <= 10,
            )
        )
    else:
        out.append(("list pages flat, ≤ 10 ms per page (at 1M)", "no list endpoint", None))
    return out


def ratio_table(results: dict[str, Any]) -> list[str]:
    """ijkg's throughput over each peer's, by query, size and concurrency."""
    sizes = results["sizes"]
    conc = results["settings"]["concurrency"]
    head = ["query"] + [f"{size} c={c}" for size in sizes for c in conc]
    out = []
    for peer in ("oxigraph-mem", "rdflib-endpoint"):
        out += [
            f"### ijkg ÷ {peer}, requests per second",
            "",
            "| " + " | ".join(head) + " |",
            "|---|" + "---|" * (len(head) - 1),
        ]
        names: list[str] = []
        for r in sizes.values():
            for name, info in r.get("queries", {}).get("queries", {}).items():
                if info["kind"] == "sparql" and name not in names:
                    names.append(name)
        for name in names:
            row = [f"`{name}`"]
            for r in sizes.values():
                for c in conc:
                    row.append(_fmt(ratio(r.get("queries", {}).get("cells", []), name, "ijkg",
                                          peer, c), 2, "×"))  # fmt: skip
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    return out


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, Python "
        f"{m['python']}; load generator {m['load_generator']}; commit {m['commit']}; "
        f"{m['date']}.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        "",
        f"Each cell: {results['settings']['duration']} s of load, median of "
        f"{results['settings']['rounds']} rounds, systems alternating. Ratios are ijkg's "
        "requests per second over the peer's, in the same run.",
        "",
        *([f"Note: {results['notes']}", ""] if results.get("notes") else []),
        "## Targets",
        "",
        "Each cell: what was measured at that size, and whether it meets the target.",
        "",
        "| target | " + " | ".join(results["sizes"]) + " |",
        "|---|" + "---|" * len(results["sizes"]),
    ]
    by_size = {
        size: dict((t, (m, ok)) for t, m, ok in targets(results, size)) for size in results["sizes"]
    }
    names: list[str] = []
    for rows in by_size.values():
        names += [t for t in rows if t not in names]
    for target in names:
        row = [target]
        for size in results["sizes"]:
            measured, met = by_size[size].get(target, ("—", None))
            mark = "" if met is None else (" (yes)" if met else " (**no**)")
            row.append(f"{measured}{mark}")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", *ratio_table(results)]
    for size, r in results["sizes"].items():
        syn = r["synthetic"]
        lines += [
            "",
            f"## {size}: {syn['triples']:,} synthetic triples, {r['dataset_quads']:,} quads served "
            f"(with the bundled graph)",
        ]
        q = r.get("queries")
        if q:
            for c in results["settings"]["concurrency"]:
                lines += ["", f"### SPARQL, concurrency {c}", "", *_query_table(q, c)]
            json_rows = []
            for name in ("entity-json", "list-api", "hello"):
                for c in results["settings"]["concurrency"]:
                    for s in ("ijkg", "hello"):
                        cell = _cell(q["cells"], name, s, c)
                        if cell:
                            json_rows.append(
                                f"| `{name}` | {s} | {c} | {_fmt(cell['rps'], 1)} | "
                                f"{_fmt(cell['p50_ms'])} | {_fmt(cell['p99_ms'])} |"
                            )
            endpoints = q.get("ijkg_endpoints", {})
            lines += ["", "### JSON endpoints and the framework ceiling", ""]
            lines += [
                f"- ijkg {k}: {v or 'not in the service when this ran'}"
                for k, v in endpoints.items()
            ]
            if json_rows:
                lines += [
                    "",
                    "| endpoint | system | c | req/s | p50 ms | p99 ms |",
                    "|---|---|---|---|---|---|",
                    *json_rows,
                ]
            if q.get("pages"):
                p = q["pages"]
                lines += [
                    "",
                    f"List pages through `{endpoints.get('list-api')}`: {p['pages']} pages; "
                    f"first {p['first_ms']} ms, middle {p['middle_ms']} ms, last "
                    f"{p['last_ms']} ms, max {p['max_ms']} ms.",
                ]
            lines += [
                "",
                "| system | start-up | data load | resident after load (PSS) | after the run |",
                "|---|---|---|---|---|",
            ]
            for name, s in q["systems"].items():
                loaded = "—" if s["load_s"] is None else f"{s['load_s']:.2f} s"
                after = _mb(s.get("memory_after_mb", {}).get("pss"))
                lines.append(
                    f"| {name} | {s['startup_s']:.2f} s | {loaded} | "
                    f"{_mb(s['memory_mb'].get('pss'))} | {after} |"
                )
        load = r.get("load", {})
        if load:
            base = load.get("pyoxigraph_mem", {}).get("seconds")
            lines += [
                "",
                "### Bulk load",
                "",
                "| path | time | peak memory (PSS) | ÷ raw pyoxigraph in memory |",
                "|---|---|---|---|",
                _load_row(
                    "raw pyoxigraph `bulk_load`, in memory", load.get("pyoxigraph_mem"), base
                ),
                _load_row("raw pyoxigraph `bulk_load`, on disk", load.get("pyoxigraph_disk"), base),
                _load_row(
                    "one full pyshacl validation of the loaded graph",
                    load.get("full_validation"),
                    base,
                ),
                _load_row("`ijkg load` (gate, history, one commit)", load.get("ijkg_load"), base),
                _load_row(
                    "ijkg engine commit without the gate", load.get("ijkg_engine_commit"), base
                ),
            ]
        gate = r.get("gate")
        if gate:
            if gate.get("ok"):
                d = gate["detail"]
                full = (
                    f"full pyshacl {d['full_ms']:,} ms ({d['speedup']}× slower), verdicts "
                    f"{'agree' if d['same_verdict'] else '**disagree**'}"
                    if "full_ms" in d
                    else "full pyshacl not run at this size"
                )
                lines += [
                    "",
                    f"Gate on a {d['change_triples']}-triple change: {d['incremental_ms']} ms "
                    f"(median of {len(d['incremental_ms_all'])}; {d['focus_nodes']} focus nodes, "
                    f"{d['neighbourhood_triples']} neighbourhood triples, {d['method']}); {full}.",
                ]
            else:
                lines += ["", f"Gate: failed ({gate.get('error')})."]
        merges = r.get("merges")
        if merges and merges.get("ok"):
            d = merges["detail"]
            lines += [
                "",
                f"Merges: {d['changes_per_s']} changes/s ({d['changes']} changes of "
                f"{d['change_triples']} triples, gate on, fsync on; median {d['median_ms']} ms).",
            ]
        start = r.get("startup")
        if start and start.get("runs"):
            rec = start["runs"][0]["health"]
            lines += [
                "",
                f"ijkg start-up on its store: {start['startup_s']} s to a healthy `/health` "
                f"(median of {len(start['runs'])}); resident {start['pss_mb']} MB PSS in all, "
                f"{_which(start)} {start['engine_rss_mb']} MB RSS. `/health`: `{_short(rec)}`.",
            ]
    paging = results.get("paging")
    if paging:
        lines += ["", "## List pages, first to last (bench/paging.py)", ""]
        if not paging.get("ok"):
            lines.append(f"Failed: {paging.get('error')}")
        else:
            d = paging["detail"]
            meta = d["meta"]
            lines += [
                f"{meta['triples']:,} synthetic triples ({meta['quads']:,} quads), "
                f"{meta['limit']} items a page; milliseconds per page.",
                "",
                "| list | page | sorted keys (the API) | keyset query | OFFSET |",
                "|---|---|---|---|---|",
            ]
            for r in d["results"]:
                lines.append(
                    f"| {r['list']} | {r['page']:,} / {r['pages']:,} | "
                    f"{r['keyset_s'] * 1000:.1f} | {r['query_s'] * 1000:.1f} | "
                    f"{r['offset_s'] * 1000:.1f} |"
                )
            search = meta.get("search", {})
            if search:
                lines += [
                    "",
                    f"Label search: {search['labels']:,} labels, index built in "
                    f"{search['index_build_s']:.2f} s, a search {search['query_s'] * 1000:.1f} ms.",
                ]
    return "\n".join(lines) + "\n"


def _which(start: dict[str, Any]) -> str:
    """Older results measured the service process, newer ones the largest (the engine)."""
    if "max_rss" in start["runs"][0]["memory_mb"]:
        return "largest process (the engine)"
    return "service process"


def _short(health: dict[str, Any]) -> str:
    store = health.get("store", health)
    recovery = store.get("recovery") if isinstance(store, dict) else None
    if recovery is None and isinstance(store, dict):
        recovery = store.get("details", {}).get("recovery")
    return str(recovery if recovery is not None else health)[:200]
