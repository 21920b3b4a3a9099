"""What every store promises (``ijkg.graph.store.base.Store``), checked on the in-process store
(fast tier) and on the suite's real store (the embedded engine, or an external Oxigraph server
with ``IJKG_TEST_STORE=sparql``): the same assertions, so the in-process store the fast tier runs
on cannot drift from the stores the service runs on."""

from __future__ import annotations

import json
from collections.abc import Callable

import pyoxigraph as ox
import pytest

from ijkg.graph.core import errors
from ijkg.graph.core.formats import RESULTS_CSV, TURTLE
from ijkg.graph.core.namespaces import SYSTEM_GRAPH
from ijkg.graph.store.base import Dataset, Delta, QueryLimits
from tests.conftest import SyncStore

G = ox.NamedNode("https://example.org/g")
H = ox.NamedNode("https://example.org/h")
P = ox.NamedNode("https://example.org/p")
WRITE = "https://example.org/write"
# The data triples only: an external store keeps its version in a system graph of its own.
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://example.org/p> ?o }"


def quads(n: int, start: int = 0, graph: ox.NamedNode = G) -> tuple[ox.Quad, ...]:
    return tuple(
        ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), P, ox.Literal(str(i)), graph)
        for i in range(start, start + n)
    )


def count(store: SyncStore, query: str = COUNT) -> int:
    return int(store.select(query)[0]["n"])


def test_commits_are_counted_and_a_no_op_keeps_the_version(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    start = store.run(store.store.version)
    commit = store.run(store.store.commit, Delta(adds=quads(10)))
    assert (commit.version_before, commit.version_after, commit.added) == (start, start + 1, 10)
    assert count(store) == 10
    again = store.run(store.store.commit, Delta(adds=quads(10)))
    assert (again.version_after, again.added) == (start + 1, 0)
    assert store.run(store.store.version) == start + 1


def test_removes_then_adds_count_what_really_changed(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    store.run(store.store.commit, Delta(adds=quads(3)))
    commit = store.run(
        store.store.commit, Delta(removes=quads(2) + quads(1, start=50), adds=quads(1, start=7))
    )
    assert (commit.removed, commit.added) == (2, 1)  # s50 was never there
    values = {r["o"].toPython() for r in store.select(f"SELECT ?o WHERE {{ ?s <{P.value}> ?o }}")}
    assert values == {"2", "7"}


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    start = store.run(store.store.version)
    store.run(store.store.commit, Delta(adds=quads(1)))
    with pytest.raises(errors.VersionConflict) as raised:
        store.run(store.store.commit, Delta(adds=quads(1, start=5)), expected_version=start)
    assert (raised.value.expected, raised.value.actual) == (start, start + 1)
    assert count(store) == 1
    ok = store.run(store.store.commit, Delta(adds=quads(1, start=5)), expected_version=start + 1)
    assert ok.version_after == start + 2


def test_the_default_graph_is_the_union_as_a_set(open_any_store: Callable[..., SyncStore]) -> None:
    store = open_any_store()
    both = quads(1)[0], quads(1, graph=H)[0]
    store.run(store.store.commit, Delta(adds=(*both, *quads(1, start=2))))
    assert count(store) == 2  # s0 is in two graphs, once in the union
    store.run(store.store.commit, Delta(removes=(both[0],)))
    assert count(store) == 2  # still in h
    store.run(store.store.commit, Delta(removes=(both[1],)))
    assert count(store) == 1
    names = [n for n in store.run(store.store.graph_names) if n != SYSTEM_GRAPH]
    assert names == [G.value]  # h, now empty, is no longer listed


def test_datasets_narrow_the_default_graph(open_any_store: Callable[..., SyncStore]) -> None:
    store = open_any_store()
    store.run(store.store.commit, Delta(adds=(*quads(2), *quads(1, start=5, graph=H))))
    only_h = store.run(
        store.store.query,
        COUNT,
        dataset=Dataset(default_graphs=(H.value,), named_graphs=()),
    )
    assert json.loads(only_h.body)["results"]["bindings"][0]["n"]["value"] == "1"
    named = store.run(
        store.store.query,
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
        dataset=Dataset(default_graphs=(), named_graphs=(G.value,)),
    )
    bindings = json.loads(named.body)["results"]["bindings"]
    assert [(b["g"]["value"], b["n"]["value"]) for b in bindings] == [(G.value, "2")]


def test_the_default_graph_cannot_be_written(open_any_store: Callable[..., SyncStore]) -> None:
    store = open_any_store()
    default = ox.Quad(ox.NamedNode("https://example.org/s"), P, ox.Literal("x"), ox.DefaultGraph())
    version = store.run(store.store.version)
    # (the embedded store says StoreError, an external one QueryRefused: both refuse it)
    with pytest.raises(errors.IjkgError, match="union of the named graphs"):
        store.run(store.store.commit, Delta(adds=(default,)))
    assert store.run(store.store.version) == version
    assert count(store) == 0


def test_result_caps_give_an_error_never_a_truncated_answer(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    store.run(store.store.commit, Delta(adds=quads(50)))
    select = f"SELECT * WHERE {{ ?s <{P.value}> ?o }}"
    limits = QueryLimits(timeout_s=10, memory_mb=512, max_rows=49, max_bytes=1 << 20)
    with pytest.raises(errors.ResultTooLarge, match="more than 49 rows"):
        store.run(store.store.query, select, limits=limits)
    limits = QueryLimits(timeout_s=10, memory_mb=512, max_rows=1000, max_bytes=2000)
    with pytest.raises(errors.ResultTooLarge, match="larger than 2,000 bytes"):
        store.run(
            store.store.query,
            f"CONSTRUCT WHERE {{ ?s <{P.value}> ?o }}",
            rdf=TURTLE,
            limits=limits,
        )
    exact = QueryLimits(timeout_s=10, memory_mb=512, max_rows=50, max_bytes=1 << 20)
    assert store.run(store.store.query, select, limits=exact).rows == 50


def test_formats_syntax_errors_and_not_acceptable(open_any_store: Callable[..., SyncStore]) -> None:
    store = open_any_store()
    store.run(store.store.commit, Delta(adds=quads(2)))
    csv = store.run(
        store.store.query,
        f"SELECT ?o WHERE {{ ?s <{P.value}> ?o }} ORDER BY ?o",
        results=RESULTS_CSV,
    )
    assert (csv.body, csv.media_type) == (b"o\r\n0\r\n1\r\n", "text/csv")
    with pytest.raises(errors.NotAcceptable) as refused:
        store.run(store.store.query, "CONSTRUCT WHERE { ?s ?p ?o }", rdf=None)
    assert refused.value.form == "graph"
    with pytest.raises(errors.QuerySyntaxError) as raised:
        store.run(store.store.query, "SELECT *\nWHERE { ?s ?p }")
    assert raised.value.line == 2


def test_blank_nodes_are_matched_and_removed_as_the_store_knows_them(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    store.run(store.store.commit, Delta(adds=(ox.Quad(ox.BlankNode(), P, ox.Literal("b"), G),)))
    (held,) = store.run(store.store.graph_quads, G.value)
    found = store.run(store.store.match, [(held.subject, None, None, G)])
    assert found == [held]
    assert store.run(store.store.commit, Delta(removes=(held,))).removed == 1
    assert count(store) == 0


def test_an_update_effect_is_computed_without_writing(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    store.run(store.store.commit, Delta(adds=quads(3)))
    version = store.run(store.store.version)
    delta, at = store.run(
        store.store.update_effect,
        f"DELETE {{ ?s <{P.value}> ?o }} INSERT {{ ?s <{P.value}> 'new' }} "
        f"WHERE {{ ?s <{P.value}> ?o FILTER(?o != '1') }}",
        write_graph=WRITE,
        max_quads=100,
    )
    assert at == version
    assert sorted(q.object.value for q in delta.removes) == ["0", "2"]
    assert {(q.object.value, q.graph_name.value) for q in delta.adds} == {("new", WRITE)}
    assert len(delta.adds) == 2
    assert store.run(store.store.version) == version
    assert count(store) == 3
    with pytest.raises(errors.ResultTooLarge):
        store.run(
            store.store.update_effect,
            f"DELETE WHERE {{ ?s <{P.value}> ?o }}",
            write_graph=WRITE,
            max_quads=2,
        )
