"""The default graph of the embedded store is the union of its named graphs, kept as a set.

Oxigraph can query "the union of all graphs" as the default graph, but as a bag: a triple asserted
in two named graphs comes back twice. SPARQL's default graph is an RDF graph, a set — and this
graph's sources routinely agree (the article and the curated context both name Japan) — so the
engine keeps a real copy of the union in Oxigraph's default graph: every triple of a named graph is
also in the default graph, and leaves it when no named graph holds it any more. Queries then read
the default graph as it is; nothing else ever writes it.

Every change to the store goes through these two functions, in the engine, in the query workers
that replay the change log, and in the replica an update is tried on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import pyoxigraph as ox

from ijkg.graph.store.lexical import canonical

DEFAULT = ox.DefaultGraph()


def is_named(quad: ox.Quad) -> bool:
    return not isinstance(quad.graph_name, ox.DefaultGraph)


def in_default(quad: ox.Quad) -> ox.Quad:
    return ox.Quad(quad.subject, quad.predicate, quad.object, DEFAULT)


class DefaultGraphWrite(ValueError):
    """A change that would write the default graph, which only mirrors the named graphs."""

    def __init__(self) -> None:
        super().__init__(
            "the default graph is the union of the named graphs; write to a named graph"
        )


def exact_change(
    store: ox.Store, removes: Iterable[ox.Quad], adds: Iterable[ox.Quad]
) -> tuple[list[ox.Quad], list[ox.Quad]]:
    """What a change really does to ``store``, so that a record of it is undone exactly by its
    inverse: the quads to remove that are there (and are not added back), the quads to add that
    are not there, each once. Raises ``DefaultGraphWrite`` for a quad to add in the default graph.

    >>> g, s = ox.NamedNode("urn:g"), ox.NamedNode("urn:s")
    >>> old, new = (ox.Quad(s, s, ox.Literal(v), g) for v in ("old", "new"))
    >>> store = ox.Store()
    >>> store.add(old)
    >>> exact_change(store, [old, old, new], [new, new, old]) == ([], [new])
    True
    """
    # Compared in the form the store keeps (typed literals canonical): "007" and "7" are one
    # value to the store, so removing "7" while adding "007" must change nothing, not remove it.
    adding = list(dict.fromkeys(canonical(list(adds))))
    if any(not is_named(q) for q in adding):
        raise DefaultGraphWrite
    added = set(adding)
    removing = [q for q in dict.fromkeys(canonical(list(removes))) if q in store and q not in added]
    return removing, [q for q in adding if q not in store]


def add(store: ox.Store, quads: Iterable[ox.Quad]) -> int:
    """Add named-graph quads, and their triples to the union; returns how many triples the union
    gained."""
    named = [q for q in quads if is_named(q)]
    if not named:
        return 0
    new = {in_default(q) for q in named}
    new = {q for q in new if q not in store}
    store.extend([*named, *new])
    return len(new)


def remove(store: ox.Store, quads: Iterable[ox.Quad]) -> int:
    """Remove named-graph quads; a triple leaves the union when no named graph holds it, and a
    named graph that holds nothing any more is dropped (``GRAPH ?g {}`` never lists it). Returns
    how many triples the union lost."""
    emptied: set[ox.NamedNode | ox.BlankNode] = set()
    touched: list[ox.Quad] = []
    for quad in quads:
        if not is_named(quad):
            continue
        store.remove(quad)
        emptied.add(quad.graph_name)  # type: ignore[arg-type]
        touched.append(quad)
    lost = 0
    for quad in touched:
        still = any(
            is_named(q)
            for q in store.quads_for_pattern(quad.subject, quad.predicate, quad.object, None)
        )
        if still:
            continue
        copy = in_default(quad)  # made once: building a quad is a good part of the cost here
        if copy in store:
            store.remove(copy)
            lost += 1
    for graph in emptied:
        if next(iter(store.quads_for_pattern(None, None, None, graph)), None) is None:
            store.remove_graph(graph)
    return lost


def count(store: ox.Store) -> int:
    """Triples in the union (a full pass: for start-up, not for every request). Counted by the
    store's own query engine (its real default graph, not a union view): a Python loop over the
    quads took seven times as long (2.4 s against 0.35 s at a million triples)."""
    solutions = cast(ox.QuerySolutions, store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"))
    return int(cast(ox.Literal, next(iter(solutions))["n"]).value)
