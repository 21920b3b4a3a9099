"""The external-store implementation against a real Oxigraph server: the same behaviour as the
embedded store, and the guarantees it has to build itself (atomic, version-checked commits; the
union as a set; skolemised blank nodes; concurrent writers through different store objects)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from anyio.from_thread import BlockingPortal

from ijkg.graph.core import errors
from ijkg.graph.core.namespaces import GENID
from ijkg.graph.core.settings import Settings
from ijkg.graph.curation.gate import Gate
from ijkg.graph.io.bootstrap import ensure_bundle
from ijkg.graph.store.base import Delta
from ijkg.graph.store.remote import SparqlStore
from tests.conftest import SyncStore
from tests.oxigraph_server import OxigraphServer, start_oxigraph

pytestmark = pytest.mark.slow  # runs against real Oxigraph servers

G = ox.NamedNode("https://example.org/g")
H = ox.NamedNode("https://example.org/h")
P = ox.NamedNode("https://example.org/p")


def quad(i: int, graph: ox.NamedNode = G) -> ox.Quad:
    return ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), P, ox.Literal(str(i)), graph)


@pytest.fixture
def oxigraph() -> Iterator[OxigraphServer]:
    server = start_oxigraph()
    yield server
    server.stop()


def remote(portal: BlockingPortal, server: OxigraphServer, tmp_path: Path) -> SyncStore:
    settings = Settings(
        store="sparql",
        data_dir=tmp_path,
        sparql_query_url=server.query_url,
        sparql_update_url=server.update_url,
        query_timeout_s=5,
    )
    return SyncStore(portal, portal.call(SparqlStore.open, settings), settings)


def count(store: SyncStore, query: str = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") -> int:
    return int(store.select(query)[0]["n"])


def test_commits_queries_and_the_union_as_a_set(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path)
    try:
        commit = store.run(store.store.commit, Delta(adds=(quad(1), quad(2), quad(1, H))))
        assert (commit.version_before, commit.version_after, commit.added) == (0, 1, 3)
        # s1 is in two graphs but once in the default graph (plus the system graph's own triples)
        assert count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://example.org/p> ?o }") == 2
        store.run(store.store.commit, Delta(removes=(quad(1),)))
        assert count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://example.org/p> ?o }") == 2
        store.run(store.store.commit, Delta(removes=(quad(1, H),)))
        assert count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://example.org/p> ?o }") == 1
        assert store.run(store.store.graph_names) == [
            "https://example.org/g",
            "https://w3id.org/ijkg/graph/system",
        ]
        answer = store.run(
            store.store.query, "SELECT ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o) && ?o = '2') }"
        )
        assert json.loads(answer.body)["results"]["bindings"] == [
            {"o": {"type": "literal", "value": "2"}}
        ]
    finally:
        store.close()


def test_two_writers_through_different_store_objects_cannot_both_land(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    first = remote(portal, oxigraph, tmp_path)
    second = remote(portal, oxigraph, tmp_path)
    try:
        version = first.run(first.store.version)
        first.run(first.store.commit, Delta(adds=(quad(1),)), expected_version=version)
        with pytest.raises(errors.VersionConflict):
            second.run(second.store.commit, Delta(adds=(quad(2),)), expected_version=version)
        assert count(first, "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://example.org/p> ?o }") == 1
    finally:
        first.close()
        second.close()


def test_two_writers_committing_at_the_same_moment_cannot_both_land(
    portal: BlockingPortal, tmp_path: Path
) -> None:
    # Oxigraph on disk does not isolate concurrent update requests: without the write lock both
    # commits of a round pass the same version check (about one round in seven, measured).
    server = start_oxigraph(tmp_path / "oxigraph")
    first = remote(portal, server, tmp_path / "run")
    second = remote(portal, server, tmp_path / "run")

    async def both(version: int, n: int) -> list[object]:
        return list(
            await asyncio.gather(
                first.store.commit(Delta(adds=(quad(2 * n),)), expected_version=version),
                second.store.commit(Delta(adds=(quad(2 * n + 1),)), expected_version=version),
                return_exceptions=True,
            )
        )

    try:
        rounds = 40
        for n in range(rounds):
            outcomes = portal.call(both, first.run(first.store.version), n)
            assert sorted(type(o).__name__ for o in outcomes) == ["Commit", "VersionConflict"]
        landed = count(first, "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://example.org/p> ?o }")
        assert landed == rounds
    finally:
        first.close()
        second.close()
        server.stop()


def test_blank_nodes_are_skolemised(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path)
    try:
        store.run(
            store.store.commit, Delta(adds=(ox.Quad(ox.BlankNode("b1"), P, ox.Literal("x"), G),))
        )
        (row,) = store.select("SELECT ?s WHERE { ?s <https://example.org/p> 'x' }")
        assert str(row["s"]).startswith(GENID)
        # and can be removed by name, which a blank node could not
        (stored,) = store.run(store.store.graph_quads, G.value)
        assert store.run(store.store.commit, Delta(removes=(stored,))).removed == 1
    finally:
        store.close()


def test_update_effects(portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path) -> None:
    store = remote(portal, oxigraph, tmp_path)
    try:
        store.run(store.store.commit, Delta(adds=(quad(1), quad(2), quad(2, H))))
        delta, version = store.run(
            store.store.update_effect,
            "DELETE DATA { <https://example.org/s2> <https://example.org/p> '2' } ; "
            "INSERT DATA { <https://example.org/s3> <https://example.org/p> '3' }",
            write_graph="https://example.org/write",
            max_quads=100,
        )
        assert {q.graph_name.value for q in delta.removes} == {G.value, H.value}
        assert [q.graph_name.value for q in delta.adds] == ["https://example.org/write"]
        assert version == store.run(store.store.version)
        with pytest.raises(errors.QueryRefused, match="one at a time"):
            store.run(
                store.store.update_effect,
                "INSERT DATA { GRAPH <https://example.org/g> { <urn:a> <urn:b> <urn:c> } } ; "
                "DELETE WHERE { GRAPH <https://example.org/g> { ?s ?p ?o } }",
                write_graph="https://example.org/write",
                max_quads=100,
            )
        with pytest.raises(errors.QuerySyntaxError):
            store.run(
                store.store.update_effect, "INSERT DATA { <a> }", write_graph=G.value, max_quads=9
            )
    finally:
        store.close()


def test_the_bundle_and_the_gate_work_on_it(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path)
    try:
        assert store.run(ensure_bundle, store.store).loaded
        assert not store.run(ensure_bundle, store.store).loaded  # idempotent
        gate = Gate()
        japan = ox.NamedNode("https://w3id.org/ijkg/id/state/japan")
        label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
        labels = store.run(store.store.match, [(japan, label, None, None)])
        report = store.run(gate.check, store.store, Delta(removes=tuple(labels)))
        assert not report.conforms
        assert {r.focus_node for r in report.report.violations} == {f"<{japan.value}>"}
    finally:
        store.close()


def test_a_slow_query_times_out(
    portal: BlockingPortal, oxigraph: OxigraphServer, tmp_path: Path
) -> None:
    store = remote(portal, oxigraph, tmp_path)
    try:
        store.run(store.store.commit, Delta(adds=tuple(quad(i) for i in range(200))))
        with pytest.raises(errors.QueryTimeout):
            store.run(
                store.store.query,
                "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }",
            )
        assert count(store) > 0
    finally:
        store.close()
