"""Backups: every named graph as N-Quads out, and back in as one atomic replacement.

A backup holds the data graphs, the ontology and shapes as they were, and the service's own system
and history graphs, so a restored store has its change history too. (The default graph is not in
it: it is the union of the named graphs and is rebuilt as they are written.) Restoring validates
the restored data like any other write; a backup of a conforming graph conforms.

Blank nodes get fresh labels whenever RDF is read, so a backup read back never names its blank
nodes as the store does. The restore compares them by shape instead: the quads joined by blank
nodes (an RDF list, a shape's property node) form one piece, and a piece of the backup that has
the same canonical form as a piece in the store is the same data, and is left alone. Restoring
the backup just exported changes nothing; a real difference is counted quad by quad outside
blank nodes, and piece by piece among them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

import pyoxigraph as ox

from ijkg.graph.core.errors import ValidationFailed
from ijkg.graph.core.rdfio import write_nquads
from ijkg.graph.curation.gate import Gate
from ijkg.graph.store.base import Commit, Delta, Store


async def named_quads(store: Store) -> list[ox.Quad]:
    """Every quad of every named graph."""
    quads: list[ox.Quad] = []
    for name in await store.graph_names():
        quads += await store.graph_quads(name)
    return quads


async def export(store: Store, graphs: list[str] | None = None) -> bytes:
    """Every named graph (or the ones given) as N-Quads."""
    if graphs is None:
        return write_nquads(await named_quads(store))
    chunks = [write_nquads(await store.graph_quads(name)) for name in graphs]
    return b"".join(chunks)


def _pieces(quads: Iterable[ox.Quad]) -> tuple[set[ox.Quad], list[list[ox.Quad]]]:
    """The quads without blank nodes, and the others grouped into pieces: quads that share a blank
    node (directly or through others) are in one piece."""
    ground: set[ox.Quad] = set()
    parent: dict[ox.BlankNode, ox.BlankNode] = {}

    def root(node: ox.BlankNode) -> ox.BlankNode:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    linked: list[tuple[ox.Quad, ox.BlankNode]] = []
    for quad in dict.fromkeys(quads):
        nodes = [
            t for t in (quad.subject, quad.object, quad.graph_name) if isinstance(t, ox.BlankNode)
        ]
        if not nodes:
            ground.add(quad)
            continue
        first = root(nodes[0])
        for other in nodes[1:]:
            parent[root(other)] = first
        linked.append((quad, nodes[0]))
    pieces: dict[ox.BlankNode, list[ox.Quad]] = defaultdict(list)
    for quad, node in linked:
        pieces[root(node)].append(quad)
    return ground, list(pieces.values())


def _canonical(piece: list[ox.Quad]) -> tuple[str, ...]:
    dataset = ox.Dataset(piece)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return tuple(sorted(str(q) for q in dataset))


def difference(
    current: Iterable[ox.Quad], wanted: Iterable[ox.Quad]
) -> tuple[list[ox.Quad], list[ox.Quad]]:
    """What to remove from ``current`` and add to it to hold ``wanted``, blank nodes compared by
    the canonical form of the piece they are in (so the same data under other blank-node labels
    is no difference).

    >>> def parse(*lines):
    ...     text = "".join(f"{line} <g:g> .\\n" for line in lines).encode()
    ...     return list(ox.parse(text, format=ox.RdfFormat.N_QUADS, rename_blank_nodes=True))
    >>> old = parse("<s:a> <p:l> _:x", '_:x <p:first> "en"', '<s:a> <p:n> "1"')
    >>> new = parse("<s:a> <p:l> _:y", '_:y <p:first> "en"', '<s:a> <p:n> "2"')
    >>> removes, adds = difference(old, new)
    >>> [str(q.object) for q in removes], [str(q.object) for q in adds]
    (['"1"'], ['"2"'])
    """
    current_ground, current_pieces = _pieces(current)
    wanted_ground, wanted_pieces = _pieces(wanted)
    removes = list(current_ground - wanted_ground)
    adds = list(wanted_ground - current_ground)
    kept: Counter[tuple[str, ...]] = Counter(_canonical(p) for p in current_pieces)
    for piece in wanted_pieces:
        key = _canonical(piece)
        if kept[key] > 0:
            kept[key] -= 1
        else:
            adds += piece
    for piece in current_pieces:
        key = _canonical(piece)
        if kept[key] > 0:
            kept[key] -= 1
            removes += piece
    return removes, adds


async def restore(store: Store, quads: list[ox.Quad], gate: Gate, *, force: bool = False) -> Commit:
    """Make the store hold exactly ``quads`` (named graphs only), in one commit.

    Raises ``ValidationFailed`` if the restored data would not conform (unless ``force``), and
    ``ValueError`` if the backup has triples outside any named graph.
    """
    if any(isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
        raise ValueError("a backup holds named graphs only; this one has default-graph triples")
    async with gate.lock:
        version = await store.version()
        removes, adds = difference(await named_quads(store), quads)
        delta = Delta(removes=tuple(removes), adds=tuple(adds))
        if not force:
            report = await gate.check(store, delta)
            if not report.conforms:
                raise ValidationFailed(report.report)
        return await store.commit(
            delta, expected_version=version, meta={"who": "ijkg restore", "why": "restore"}
        )
