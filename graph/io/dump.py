"""Dumps: the whole graph at one version as gzipped N-Quads, the same bytes every time.

A dump holds every quad of every named graph at that version (the default graph, the store's
copy of their union, is left out: it is rebuilt from them; so is an external store's own record of
its versions in the system graph). Two people who hold the same data must get the same bytes,
whichever store served it and however often it was asked for, so:

- an external store's skolem IRIs (``GENID``, how it hands out blank nodes) become blank nodes
  again, and every blank node gets its canonical label (RDFC-1.0), so labels depend on the data
  alone;
- the lines are sorted by code point;
- the gzip stream carries no name and a zero time, at a fixed level.

The published digests are the SHA-256 of the N-Quads text and of the gzip file. The graph is read
with one query at the version, under the limits the caller gives: a service dump has the limits
of any query (time, rows, bytes, a query slot), so an old version is no way around them.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from dataclasses import dataclass
from typing import Final

import pyoxigraph as ox

from ijkg.graph.core.formats import RESULTS_JSON
from ijkg.graph.core.namespaces import GENID, SYSTEM_GRAPH
from ijkg.graph.store.base import QueryLimits, Store

#: Every quad of every named graph (SPARQL's GRAPH never ranges over the default graph).
DUMP_QUERY: Final = "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
_SYSTEM: Final = ox.NamedNode(SYSTEM_GRAPH)
_SYSTEM_RECORDS: Final = SYSTEM_GRAPH + "#"
#: The one record of the system graph that is data: which bundle the graph holds (it is written
#: by commits like any data, and a mirror or a restore must carry it).
_BUNDLE: Final = ox.NamedNode(SYSTEM_GRAPH + "#bundle")
_GZIP_LEVEL: Final = 9


@dataclass(frozen=True)
class Dump:
    """The graph at ``version`` as gzipped N-Quads (``gzipped``), with the SHA-256 (hex) of the
    N-Quads text and of the gzip file, and the number of quads."""

    version: int
    quads: int
    nquads_sha256: str
    gzipped: bytes
    gzip_sha256: str

    @property
    def filename(self) -> str:
        return f"ijkg-version-{self.version}.nq.gz"


def bookkeeping(quad: ox.Quad) -> bool:
    """Whether ``quad`` is a store's own record of its versions (an external store keeps them in
    the system graph, under ``<system#...>``): not data, never in a dump."""
    subject = quad.subject
    return (
        quad.graph_name == _SYSTEM
        and isinstance(subject, ox.NamedNode)
        and subject.value.startswith(_SYSTEM_RECORDS)
        and subject != _BUNDLE
    )


def _blank(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> ox.BlankNode | None:
    if isinstance(term, ox.NamedNode) and term.value.startswith(GENID):
        # Any label will do (canonicalisation relabels every blank node); the digest keeps two
        # skolem IRIs apart and is always a valid label.
        return ox.BlankNode("s" + hashlib.sha256(term.value.encode()).hexdigest()[:32])
    return None


def unskolemised(quad: ox.Quad) -> ox.Quad:
    """``quad`` with its skolem IRIs (``GENID``) turned back into blank nodes.

    >>> q = ox.Quad(ox.NamedNode(GENID + "b1"), ox.NamedNode("p:p"), ox.Literal("x"),
    ...             ox.NamedNode("g:g"))
    >>> isinstance(unskolemised(q).subject, ox.BlankNode)
    True
    """
    subject, obj, graph = quad.subject, quad.object, quad.graph_name
    new_subject = _blank(subject) if isinstance(subject, ox.NamedNode) else None
    new_object = _blank(obj)
    new_graph = _blank(graph) if isinstance(graph, ox.NamedNode) else None
    if new_subject is None and new_object is None and new_graph is None:
        return quad
    return ox.Quad(new_subject or subject, quad.predicate, new_object or obj, new_graph or graph)


def canonical_nquads(quads: list[ox.Quad]) -> bytes:
    """``quads`` as canonical N-Quads: skolem IRIs back to blank nodes, blank nodes labelled by
    RDFC-1.0, one line per quad, lines sorted, each quad once.

    >>> g = ox.NamedNode("g:g")
    >>> one = [ox.Quad(ox.BlankNode("x"), ox.NamedNode("p:p"), ox.Literal("b"), g),
    ...        ox.Quad(ox.NamedNode("s:a"), ox.NamedNode("p:p"), ox.BlankNode("x"), g)]
    >>> two = [ox.Quad(ox.NamedNode("s:a"), ox.NamedNode("p:p"), ox.NamedNode(GENID + "y"), g),
    ...        ox.Quad(ox.NamedNode(GENID + "y"), ox.NamedNode("p:p"), ox.Literal("b"), g)]
    >>> canonical_nquads(one) == canonical_nquads(two)
    True
    >>> print(canonical_nquads(one).decode(), end="")
    <s:a> <p:p> _:c14n0 <g:g> .
    _:c14n0 <p:p> "b" <g:g> .
    """
    dataset = ox.Dataset(unskolemised(q) for q in quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    text = ox.serialize(dataset, format=ox.RdfFormat.N_QUADS) or b""
    lines = sorted(set(text.splitlines(keepends=True)))
    return b"".join(lines)


def pack(version: int, nquads: bytes) -> Dump:
    """The dump of canonical N-Quads text: gzipped with no name, time zero, a fixed level."""
    gzipped = gzip.compress(nquads, compresslevel=_GZIP_LEVEL, mtime=0)
    return Dump(
        version=version,
        quads=nquads.count(b"\n"),
        nquads_sha256=hashlib.sha256(nquads).hexdigest(),
        gzipped=gzipped,
        gzip_sha256=hashlib.sha256(gzipped).hexdigest(),
    )


async def version_quads(store: Store, version: int, limits: QueryLimits | None) -> list[ox.Quad]:
    """Every quad of every named graph at ``version`` as the store holds them (blank nodes and
    skolem IRIs as they are), bookkeeping left out; one query, under ``limits`` (``None``: the
    store's own, those of any query). Raises ``VersionNotFound`` and the query errors."""
    answer = await store.query(DUMP_QUERY, results=RESULTS_JSON, limits=limits, at_version=version)
    solutions = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
    quads: list[ox.Quad] = []
    if not isinstance(solutions, ox.QuerySolutions):
        return quads
    for row in solutions:
        subject, predicate, obj, graph = row["s"], row["p"], row["o"], row["g"]
        quad = ox.Quad(subject, predicate, obj, graph)
        if not bookkeeping(quad):
            quads.append(quad)
    return quads


async def dump(store: Store, version: int, limits: QueryLimits | None = None) -> Dump:
    """The dump of the graph at ``version`` (see the module's docstring). Canonicalising is CPU
    work on the whole graph: it runs in a thread, off the caller's event loop."""
    quads = await version_quads(store, version, limits)
    return await asyncio.to_thread(lambda: pack(version, canonical_nquads(quads)))
