"""Backups: every named graph as N-Quads out, and back in as one atomic replacement.

A backup holds the data graphs, the ontology and shapes as they were, and the service's own system
and history graphs, so a restored store has its change history too. (The default graph is not in
it: it is the union of the named graphs and is rebuilt as they are written.) Restoring validates
the restored data like any other write; a backup of a conforming graph conforms.
"""

from __future__ import annotations

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


async def restore(store: Store, quads: list[ox.Quad], gate: Gate, *, force: bool = False) -> Commit:
    """Make the store hold exactly ``quads`` (named graphs only), in one commit.

    Raises ``ValidationFailed`` if the restored data would not conform (unless ``force``), and
    ``ValueError`` if the backup has triples outside any named graph.
    """
    if any(isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
        raise ValueError("a backup holds named graphs only; this one has default-graph triples")
    async with gate.lock:
        version = await store.version()
        current = set(await named_quads(store))
        wanted = set(quads)
        delta = Delta(removes=tuple(current - wanted), adds=tuple(wanted - current))
        if not force:
            report = await gate.check(store, delta)
            if not report.conforms:
                raise ValidationFailed(report.report)
        return await store.commit(
            delta, expected_version=version, meta={"who": "ijkg restore", "why": "restore"}
        )
