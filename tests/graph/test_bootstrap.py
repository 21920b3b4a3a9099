"""Loading the bundled graph: on first start, idempotently, and again when the bundle changes."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox

from ijkg.graph.core.bundle import bundle_quads, bundle_version
from ijkg.graph.core.namespaces import SYSTEM_GRAPH
from ijkg.graph.io.bootstrap import BUNDLE, ensure_bundle, installed_bundle
from ijkg.graph.store.base import Delta
from tests.conftest import SyncStore

Opener = Callable[..., SyncStore]
IDENTIFIER = ox.NamedNode("http://purl.org/dc/terms/identifier")


def test_first_start_loads_every_bundled_quad(open_any_store: Opener) -> None:
    store = open_any_store()
    status = store.run(ensure_bundle, store.store)
    assert status.loaded and status.version == bundle_version()
    bundled = list(bundle_quads())
    stats = store.run(store.store.stats)
    system = store.run(store.store.graph_quads, SYSTEM_GRAPH)
    assert stats.quads == len(bundled) + len(system)
    installed, graphs = store.run(installed_bundle, store.store)
    assert installed == bundle_version()
    assert graphs == sorted({q.graph_name.value for q in bundled})


def test_a_second_start_changes_nothing(open_any_store: Opener) -> None:
    store = open_any_store(bundle=True)
    version = store.run(store.store.version)
    status = store.run(ensure_bundle, store.store)
    assert not status.loaded
    assert store.run(store.store.version) == version


def test_a_new_bundle_replaces_bundled_graphs_and_keeps_curator_graphs(
    open_any_store: Opener,
) -> None:
    store = open_any_store(bundle=True)
    curated = ox.Quad(
        ox.NamedNode("https://w3id.org/ijkg/id/agreement/x"),
        ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
        ox.Literal("curated", language="en"),
        ox.NamedNode("https://w3id.org/ijkg/graph/curated"),
    )
    system = ox.NamedNode(SYSTEM_GRAPH)
    stale_graph = "https://w3id.org/ijkg/graph/retired-source"
    stale = ox.Quad(
        ox.NamedNode("https://example.org/old"),
        ox.NamedNode("https://example.org/p"),
        ox.Literal("old"),
        ox.NamedNode(stale_graph),
    )
    # Pretend the store holds an older bundle that had one more graph.
    store.run(
        store.store.commit,
        Delta(
            removes=(ox.Quad(BUNDLE, IDENTIFIER, ox.Literal(bundle_version()), system),),
            adds=(
                curated,
                stale,
                ox.Quad(BUNDLE, IDENTIFIER, ox.Literal("an-older-bundle"), system),
                ox.Quad(
                    BUNDLE,
                    ox.NamedNode("http://purl.org/dc/terms/hasPart"),
                    ox.NamedNode(stale_graph),
                    system,
                ),
            ),
        ),
    )
    status = store.run(ensure_bundle, store.store)
    assert status.loaded
    assert store.run(store.store.graph_quads, "https://w3id.org/ijkg/graph/curated") == [curated]
    assert store.run(store.store.graph_quads, stale_graph) == []
    installed, _ = store.run(installed_bundle, store.store)
    assert installed == bundle_version()
