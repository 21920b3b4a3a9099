"""Loading the bundled ontology, shapes and data into a store: on first start, and on upgrade.

The store records which bundle it holds (a content hash) in the system graph. When the package's
bundle differs, the bundled graphs are replaced in one commit; graphs curators created are not
touched. Running it again with the same bundle changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from ijkg.graph.core.bundle import bundle_quads, bundle_version
from ijkg.graph.core.errors import VersionConflict
from ijkg.graph.core.namespaces import SYSTEM_GRAPH
from ijkg.graph.store.base import Commit, Delta, Store

BUNDLE = ox.NamedNode(SYSTEM_GRAPH + "#bundle")
_SYSTEM = ox.NamedNode(SYSTEM_GRAPH)
_IDENTIFIER = ox.NamedNode("http://purl.org/dc/terms/identifier")
_HAS_PART = ox.NamedNode("http://purl.org/dc/terms/hasPart")
_GENERATED = ox.NamedNode("http://www.w3.org/ns/prov#generatedAtTime")
_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_PROV_ENTITY = ox.NamedNode("http://www.w3.org/ns/prov#Entity")
_XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")


@dataclass(frozen=True)
class BundleStatus:
    version: str
    loaded: bool
    commit: Commit | None = None


async def installed_bundle(store: Store) -> tuple[str | None, list[str]]:
    """The bundle hash the store holds and the graphs it covers."""
    rows = await store.select(
        f"""SELECT ?id ?part WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{
              <{BUNDLE.value}> <{_IDENTIFIER.value}> ?id .
              OPTIONAL {{ <{BUNDLE.value}> <{_HAS_PART.value}> ?part }} }} }}"""
    )
    if not rows:
        return None, []
    return str(rows[0]["id"]), sorted({str(r["part"]) for r in rows if "part" in r})


async def ensure_bundle(store: Store, attempts: int = 5) -> BundleStatus:
    """Make the store hold the package's bundle, replacing an older one in a single commit.

    Several service workers starting together on one external store race to load it: the commit
    is conditional on the version read, and a worker that lost the race looks again (and finds
    the bundle the winner loaded)."""
    for _ in range(attempts - 1):
        try:
            return await _ensure_bundle(store)
        except VersionConflict:
            continue
    return await _ensure_bundle(store)


async def _ensure_bundle(store: Store) -> BundleStatus:
    wanted = bundle_version()
    expected = await store.version()
    installed, old_graphs = await installed_bundle(store)
    if installed == wanted:
        return BundleStatus(wanted, loaded=False)
    adds = list(bundle_quads())
    graphs = sorted({q.graph_name.value for q in adds if isinstance(q.graph_name, ox.NamedNode)})
    removes: list[ox.Quad] = []
    for graph in sorted(set(old_graphs) | set(graphs) | {SYSTEM_GRAPH}):
        if graph == SYSTEM_GRAPH:
            removes += [q for q in await store.graph_quads(graph) if q.subject == BUNDLE]
        else:
            removes += await store.graph_quads(graph)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    adds += [
        ox.Quad(BUNDLE, _TYPE, _PROV_ENTITY, _SYSTEM),
        ox.Quad(BUNDLE, _IDENTIFIER, ox.Literal(wanted), _SYSTEM),
        ox.Quad(BUNDLE, _GENERATED, ox.Literal(now, datatype=_XSD_DATETIME), _SYSTEM),
        *(ox.Quad(BUNDLE, _HAS_PART, ox.NamedNode(g), _SYSTEM) for g in graphs),
    ]
    commit = await store.commit(
        Delta(removes=tuple(removes), adds=tuple(adds)),
        expected_version=expected,
        meta={"who": "ijkg", "why": f"load bundle {wanted[:12]}"},
    )
    return BundleStatus(wanted, loaded=True, commit=commit)
