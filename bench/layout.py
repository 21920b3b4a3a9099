"""What the embedded store's layout costs the query mix, in one process.

``python -m bench.layout <ijkg data dir> <manifest.json>`` loads the store's newest snapshot three
ways and times every SPARQL query of the mix on each, in alternation (median of ``--reps``):

- ``ijkg``: as the engine and its workers hold it: the named graphs, and a copy of their union in
  the default graph (which keeps the union a set), queried as the default graph;
- ``union-view``: the named graphs alone, queried with ``use_default_graph_as_union`` (what
  ``oxigraph serve --union-default-graph`` does: a bag, a triple in two graphs comes twice);
- ``union-only``: the copy of the union alone, in the default graph (what a query that reads no
  named graph needs).

The answers are drained, not serialised: this is the query alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pyoxigraph as ox

from bench.mix import sparql_queries
from bench.synthetic import Manifest


def _drain(store: ox.Store, text: str, union: bool) -> int:
    result = store.query(text, use_default_graph_as_union=union)
    if isinstance(result, ox.QueryBoolean):
        return 1
    return sum(1 for _ in result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layout")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args(argv)
    snapshot = sorted(args.data_dir.glob("snapshot-*.nq"))[-1]
    quads = list(ox.parse(path=str(snapshot), format=ox.RdfFormat.N_QUADS))
    default = [q for q in quads if isinstance(q.graph_name, ox.DefaultGraph)]
    named = [q for q in quads if not isinstance(q.graph_name, ox.DefaultGraph)]
    layouts: dict[str, tuple[ox.Store, bool]] = {}
    for name, part, union in (
        ("ijkg", quads, False),
        ("union-view", named, True),
        ("union-only", default, False),
    ):
        store = ox.Store()
        store.bulk_extend(part)
        layouts[name] = (store, union)
    print(f"quads: ijkg {len(quads)}, named {len(named)}, union {len(default)}")
    print(f"{'query':16} {'ijkg ms':>9} {'view ms':>9} {'union ms':>9}  ijkg/view  ijkg/union")
    for query in sparql_queries(Manifest.load(args.manifest)):
        times: dict[str, list[float]] = {name: [] for name in layouts}
        for i in range(args.reps):
            text = query.sparql[i % len(query.sparql)]
            order = list(layouts)[i % 3 :] + list(layouts)[: i % 3]
            for name in order:
                store, union = layouts[name]
                started = time.perf_counter()
                _drain(store, text, union)
                times[name].append(time.perf_counter() - started)
        ms = {name: statistics.median(t) * 1000 for name, t in times.items()}
        print(
            f"{query.name:16} {ms['ijkg']:9.3f} {ms['union-view']:9.3f} {ms['union-only']:9.3f}"
            f"  {ms['ijkg'] / ms['union-view']:9.2f}  {ms['ijkg'] / ms['union-only']:10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
