"""Page cost of the entity lists, first page to last, at about a million triples: keyset cursors
(what ``/api/{kind}`` does) against ``ORDER BY ... LIMIT ... OFFSET`` (what it avoids).

    python bench/paging.py                      # 1M triples, writes bench/results/paging.{json,png}
    python bench/paging.py --triples 200000     # smaller, quicker

The script makes a synthetic graph in the ijkg model (agreements with parties, pillars, sources
and targets; claims that reify their statements with evidence and quotes), loads it with the
bundled graph into an embedded store in a temporary folder, then times single pages of two lists
(agreements, claims) at positions from the first page to the last: the keyset page through
``ijkg.graph.linked.listing.list_entities`` with the cursor of the item before the page, and the
same page by OFFSET (the same sort key, ``OFFSET n``). Each cell is the median of ``--repeat`` runs.
It prints
a table, the ratio last/first page for each method, and writes the numbers (JSON) and a plot (PNG).
It also times the label index (build, then a search), which search uses at this size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ijkg.graph.core.namespaces import ID_BASE, IJKG
from ijkg.graph.core.settings import Settings
from ijkg.graph.io.bootstrap import ensure_bundle
from ijkg.graph.linked.listing import COLLECTIONS, Cursor, ListCache, _label_key, list_entities
from ijkg.graph.linked.search import SearchIndex, search
from ijkg.graph.linked.vocabulary import Vocabulary, load_vocabulary
from ijkg.graph.sparql.build import sparql_iri, sparql_string
from ijkg.graph.store import open_store
from ijkg.graph.store.base import Delta, Store

GRAPH = ox.NamedNode("https://w3id.org/ijkg/graph/bench-paging")
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
PROV = "http://www.w3.org/ns/prov#"
PILLARS = ("economic-partnership", "economic-security", "mobility", "health")
WORDS = (
    "joint",
    "strategic",
    "framework",
    "memorandum",
    "cooperation",
    "digital",
    "maritime",
    "energy",
    "semiconductor",
    "talent",
    "railway",
    "investment",
    "security",
    "health",
    "space",
)


def n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def unit(i: int, rng: random.Random) -> list[ox.Quad]:
    """About 40 triples: an agreement, its target, and three claims about the agreement."""
    agreement = n(f"{ID_BASE}agreement/bench-{i:07d}")
    target = n(f"{ID_BASE}target/bench-{i:07d}")
    source = n(f"{ID_BASE}source/bench-{i % 997:04d}")
    title = " ".join(rng.choice(WORDS) for _ in range(4)).capitalize() + f" agreement {i}"
    out = [
        (agreement, n(RDF + "type"), n(IJKG + "Agreement")),
        (agreement, n(RDFS + "label"), ox.Literal(title, language="en")),
        (agreement, n(IJKG + "party"), n(ID_BASE + "state/india")),
        (agreement, n(IJKG + "party"), n(ID_BASE + "state/japan")),
        (agreement, n(IJKG + "coversPillar"), n(ID_BASE + "pillar/" + rng.choice(PILLARS))),
        (agreement, n(IJKG + "hasTarget"), target),
        (agreement, n(PROV + "wasDerivedFrom"), source),
        (target, n(RDF + "type"), n(IJKG + "Target")),
        (target, n(RDFS + "label"), ox.Literal(f"Target of {title}", language="en")),
        (target, n(IJKG + "setBy"), n(ID_BASE + "state/japan")),
        (target, n(PROV + "wasDerivedFrom"), source),
    ]
    for k, (predicate, obj) in enumerate(
        (
            (IJKG + "party", ID_BASE + "state/india"),
            (IJKG + "party", ID_BASE + "state/japan"),
            (IJKG + "hasTarget", str(target.value)),
        )
    ):
        claim = n(f"{ID_BASE}claim/bench-{i:07d}-{k}")
        evidence = n(f"{ID_BASE}evidence/bench-{i:07d}-{k}")
        out += [
            (claim, n(RDF + "type"), n(IJKG + "Claim")),
            (claim, n(RDFS + "label"), ox.Literal(f"{title} — {k}", language="en")),
            (claim, n(RDF + "subject"), agreement),
            (claim, n(RDF + "predicate"), n(predicate)),
            (claim, n(RDF + "object"), n(obj)),
            (claim, n(IJKG + "quote"), ox.Literal(f"The parties signed {title}.")),
            (claim, n(IJKG + "evidence"), evidence),
            (claim, n(PROV + "wasDerivedFrom"), source),
            (evidence, n(RDF + "type"), n(IJKG + "Evidence")),
            (evidence, n("http://www.w3.org/ns/oa#hasSource"), source),
        ]
    return [ox.Quad(s, p, o, GRAPH) for s, p, o in out]


async def load(store: Store, triples: int) -> int:
    rng = random.Random(7)
    batch: list[ox.Quad] = []
    total = 0
    i = 0
    while total < triples:
        quads = unit(i, rng)
        batch += quads
        total += len(quads)
        i += 1
        if len(batch) >= 100_000:
            await store.commit(Delta(adds=tuple(batch)))
            batch = []
    if batch:
        await store.commit(Delta(adds=tuple(batch)))
    return total


def offset_query(classes: list[str], limit: int, offset: int) -> str:
    """The page by OFFSET: the same entities and sort key as the keyset query."""
    values = " ".join(sparql_iri(c) for c in sorted(classes))
    return (
        f"SELECT ?e (MIN(?k0) AS ?key) WHERE {{ VALUES ?t {{ {values} }} ?e a ?t . "
        f"FILTER(isIRI(?e) && STRSTARTS(STR(?e), {sparql_string(ID_BASE)})) {_label_key()} }} "
        f"GROUP BY ?e ORDER BY ASC(?key) ASC(STR(?e)) LIMIT {limit + 1} OFFSET {offset}"
    )


async def timed(fn: Any, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


async def measure(
    store: Store, vocabulary: Vocabulary, name: str, limit: int, points: int, repeat: int
) -> list[dict[str, Any]]:
    listed = COLLECTIONS[name]
    classes: set[str] = set()
    for cls in listed.classes:
        classes |= vocabulary.descendants(cls)
    # Every sort key once, in order, to place cursors at chosen pages.
    answer = await store.query(
        offset_query(sorted(classes), 10**9, 0), limits=store.internal_limits()
    )
    rows = [
        (r["key"]["value"], r["e"]["value"]) for r in json.loads(answer.body)["results"]["bindings"]
    ]
    pages = -(-len(rows) // limit)
    chosen = sorted(
        {0, 1, pages - 1}
        | {round(f * (pages - 1)) for f in [i / (points - 1) for i in range(points)]}
    )
    cache = ListCache()
    start = time.perf_counter()
    await cache.get(store, name, sorted(classes))
    keys_s = time.perf_counter() - start
    print(f"  {name}: {len(rows):,} items; sorted keys read in {keys_s:.2f} s", flush=True)
    out = []
    for page in chosen:
        cursor = None
        if page > 0:
            key, iri = rows[page * limit - 1]
            cursor = Cursor("label", key, iri).encode()
        keyset = await timed(
            lambda cursor=cursor: list_entities(
                store, vocabulary, listed, limit=limit, after=cursor, cache=cache
            ),
            repeat,
        )
        by_query = await timed(
            lambda cursor=cursor: list_entities(
                store, vocabulary, listed, limit=limit, after=cursor
            ),
            repeat,
        )
        check = await list_entities(store, vocabulary, listed, limit=limit, after=cursor)
        cached = await list_entities(
            store, vocabulary, listed, limit=limit, after=cursor, cache=cache
        )
        assert cached.items == check.items
        assert [i["id"] for i in check.items] == [
            e for _, e in rows[page * limit : page * limit + limit]
        ]
        offset = await timed(
            lambda page=page: store.query(
                offset_query(sorted(classes), limit, page * limit), limits=store.internal_limits()
            ),
            repeat,
        )
        out.append(
            {
                "list": name,
                "page": page + 1,
                "pages": pages,
                "items": len(rows),
                "keyset_s": keyset,
                "query_s": by_query,
                "offset_s": offset,
                "keys_s": keys_s,
            }
        )
        print(
            f"  {name:<11} page {page + 1:>6}/{pages:<6} sorted keys {keyset * 1000:7.1f} ms"
            f"  keyset query {by_query * 1000:7.1f} ms  offset {offset * 1000:7.1f} ms",
            flush=True,
        )
    return out


def plot(results: list[dict[str, Any]], meta: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lists = sorted({r["list"] for r in results})
    fig, axes = plt.subplots(1, len(lists), figsize=(6 * len(lists), 4.2), squeeze=False)
    for ax, name in zip(axes[0], lists, strict=True):
        rows = [r for r in results if r["list"] == name]
        xs = [100 * (r["page"] - 1) / max(r["pages"] - 1, 1) for r in rows]
        ax.plot(xs, [r["keyset_s"] * 1000 for r in rows], "o-", label="cursor, sorted keys (ijkg)")
        ax.plot(xs, [r["query_s"] * 1000 for r in rows], "^-", label="cursor, one query per page")
        ax.plot(xs, [r["offset_s"] * 1000 for r in rows], "s--", label="ORDER BY … OFFSET")
        ax.set_title(f"/api/{name}: {rows[0]['items']:,} items, {rows[0]['pages']:,} pages")
        ax.set_xlabel("position of the page in the list (%)")
        ax.set_ylabel("time per page (ms)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Page cost at {meta['triples']:,} triples (limit {meta['limit']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="ijkg-bench-paging-") as folder:
        # No snapshot while loading: the bench measures pages, not snapshotting.
        settings = Settings(
            data_dir=Path(folder), fsync=False, query_workers=2, snapshot_every_mb=1 << 16
        )
        store = await open_store(settings)
        try:
            await ensure_bundle(store)
            start = time.perf_counter()
            added = await load(store, args.triples)
            stats = await store.stats()
            print(
                f"loaded {added:,} synthetic triples in {time.perf_counter() - start:.1f} s; "
                f"the store holds {stats.quads:,} quads",
                flush=True,
            )
            vocabulary = await load_vocabulary(store)
            results: list[dict[str, Any]] = []
            for name in ("agreements", "claims"):
                results += await measure(
                    store, vocabulary, name, args.limit, args.points, args.repeat
                )
            index = SearchIndex()
            start = time.perf_counter()
            labels = await index.get(store)
            build = time.perf_counter() - start
            query = await timed(
                lambda: search(store, index, vocabulary, "maritime energy", limit=10), args.repeat
            )
        finally:
            await store.close()
    meta = {
        "triples": added,
        "quads": stats.quads,
        "limit": args.limit,
        "search": {"labels": len(labels), "index_build_s": build, "query_s": query},
    }
    print()
    print(f"{'list':<11} {'page':>8} {'keys ms':>9} {'query ms':>9} {'offset ms':>9}")
    for r in results:
        ms = [r[k] * 1000 for k in ("keyset_s", "query_s", "offset_s")]
        print(f"{r['list']:<11} {r['page']:>8} {ms[0]:>9.1f} {ms[1]:>9.1f} {ms[2]:>9.1f}")
    for name in sorted({r["list"] for r in results}):
        rows = [r for r in results if r["list"] == name]
        first, last = rows[0], rows[-1]
        ratio = {k: last[k] / first[k] for k in ("keyset_s", "query_s", "offset_s")}
        print(
            f"{name}: last page / first page: sorted keys {ratio['keyset_s']:.2f}x, keyset "
            f"query {ratio['query_s']:.2f}x, offset {ratio['offset_s']:.2f}x; on the last page "
            f"offset / sorted keys {last['offset_s'] / last['keyset_s']:.0f}x"
        )
    print(
        f"search: {len(labels):,} labels, index built in {build:.2f} s, a search "
        f"{query * 1000:.1f} ms"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "paging.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    try:
        plot(results, meta, args.out / "paging.png")
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
    print(f"wrote {args.out / 'paging.json'} and {args.out / 'paging.png'}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--points", type=int, default=9, help="pages measured per list")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    sys.exit(asyncio.run(main(parser.parse_args())))
