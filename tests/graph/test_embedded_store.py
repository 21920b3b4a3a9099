"""The embedded store end to end: engine process, workers, durability, limits, locking."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import time
import warnings
from collections.abc import Callable

import pyoxigraph as ox
import pytest

from ijkg.graph.core import errors
from ijkg.graph.core.formats import RESULTS_CSV, TURTLE
from ijkg.graph.store.base import Delta, QueryLimits
from tests.conftest import SyncStore

pytestmark = pytest.mark.embedded

G = ox.NamedNode("https://example.org/g")
P = ox.NamedNode("https://example.org/p")

Opener = Callable[..., SyncStore]
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?o ?q }"


def quads(n: int, start: int = 0) -> tuple[ox.Quad, ...]:
    return tuple(
        ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), P, ox.Literal(str(i)), G)
        for i in range(start, start + n)
    )


def count(store: SyncStore) -> int:
    rows = store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    return int(rows[0]["n"])


def test_commit_then_query_sees_it(open_test_store: Opener) -> None:
    store = open_test_store()
    commit = store.run(store.store.commit, Delta(adds=quads(10)))
    assert (commit.version_before, commit.version_after, commit.added) == (0, 1, 10)
    assert count(store) == 10
    # a no-op commit does not move the version
    again = store.run(store.store.commit, Delta(adds=quads(10)))
    assert again.version_after == 1 and again.added == 0


def test_removes_then_adds_are_recorded_exactly(open_test_store: Opener) -> None:
    store = open_test_store()
    store.run(store.store.commit, Delta(adds=quads(3)))
    commit = store.run(
        store.store.commit, Delta(removes=quads(2) + quads(1, start=50), adds=quads(1, start=7))
    )
    assert (commit.removed, commit.added) == (2, 1)  # s50 was never there
    values = {int(r["s"].split("s")[-1]) for r in store.select("SELECT ?s WHERE { ?s ?p ?o }")}
    assert values == {2, 7}


def test_the_quad_count_follows_every_commit(open_test_store: Opener) -> None:
    """The engine keeps its quad count up to date commit by commit (a pass over the store to
    count them would unshare its pages from the workers'): it is the count in the named graphs,
    after adds, removes of quads there and not there, a triple in two graphs, and a no-op."""
    store = open_test_store()
    other = ox.NamedNode("https://example.org/h")
    in_other = tuple(ox.Quad(q.subject, q.predicate, q.object, other) for q in quads(4))
    for delta in (
        Delta(adds=quads(10)),
        Delta(removes=quads(3) + quads(2, start=50), adds=quads(2, start=20)),
        Delta(adds=in_other),
        Delta(adds=quads(2, start=20)),
        Delta(removes=in_other[:1]),
    ):
        store.run(store.store.commit, delta)
        named = store.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        assert store.run(store.store.stats).quads == int(named[0]["n"])
    assert store.run(store.store.stats).quads == 10 - 3 + 2 + 4 - 1


def test_writes_survive_a_restart(
    open_test_store: Opener, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data_dir = tmp_path_factory.mktemp("restart")
    first = open_test_store(data_dir)
    first.run(first.store.commit, Delta(adds=quads(100)))
    first.run(first.store.commit, Delta(removes=quads(10)))
    store_id = first.run(first.store.stats).store_id
    first.close()
    second = open_test_store(data_dir)
    stats = second.run(second.store.stats)
    assert (stats.version, stats.quads, stats.store_id) == (2, 90, store_id)
    assert stats.details["recovery"]["records_replayed"] == 2
    assert count(second) == 90


def test_a_second_process_on_the_same_store_gets_a_clear_error(
    open_test_store: Opener, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data_dir = tmp_path_factory.mktemp("locked")
    open_test_store(data_dir)
    with pytest.raises(errors.StoreLocked, match="in use by process"):
        open_test_store(data_dir)


def test_expected_version_guards_against_lost_updates(open_test_store: Opener) -> None:
    store = open_test_store()
    store.run(store.store.commit, Delta(adds=quads(1)))
    with pytest.raises(errors.VersionConflict) as raised:
        store.run(store.store.commit, Delta(adds=quads(1, start=5)), expected_version=0)
    assert (raised.value.expected, raised.value.actual) == (0, 1)
    assert count(store) == 1
    ok = store.run(store.store.commit, Delta(adds=quads(1, start=5)), expected_version=1)
    assert ok.version_after == 2


def test_a_query_past_its_time_limit_is_stopped_and_others_go_on(open_test_store: Opener) -> None:
    store = open_test_store(query_timeout_s=1.5)
    store.run(store.store.commit, Delta(adds=quads(200)))
    started = time.monotonic()
    with pytest.raises(errors.QueryTimeout):
        store.run(store.store.query, CARTESIAN)
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 2.5
    # the worker was killed and replaced: queries keep being answered
    assert count(store) == 200
    assert count(store) == 200


def test_result_caps_give_an_error_never_a_truncated_answer(open_test_store: Opener) -> None:
    store = open_test_store()
    store.run(store.store.commit, Delta(adds=quads(50)))
    limits = QueryLimits(timeout_s=10, memory_mb=512, max_rows=49, max_bytes=1 << 20)
    with pytest.raises(errors.ResultTooLarge, match="more than 49 rows"):
        store.run(store.store.query, "SELECT * WHERE { ?s ?p ?o }", limits=limits)
    limits = QueryLimits(timeout_s=10, memory_mb=512, max_rows=1000, max_bytes=2000)
    with pytest.raises(errors.ResultTooLarge, match="larger than 2,000 bytes"):
        store.run(store.store.query, "CONSTRUCT WHERE { ?s ?p ?o }", rdf=TURTLE, limits=limits)
    exact = QueryLimits(timeout_s=10, memory_mb=512, max_rows=50, max_bytes=1 << 20)
    answer = store.run(store.store.query, "SELECT * WHERE { ?s ?p ?o }", limits=exact)
    assert answer.rows == 50


def test_a_query_over_its_memory_budget_fails_alone(open_test_store: Opener) -> None:
    store = open_test_store(query_memory_mb=64)
    store.run(store.store.commit, Delta(adds=quads(2000)))
    hungry = (
        "SELECT (GROUP_CONCAT(CONCAT(STR(?a), STR(?b), STR(?c))) AS ?x) "
        "WHERE { ?a ?p1 ?o1 . ?b ?p2 ?o2 . ?c ?p3 ?o3 }"
    )
    with pytest.raises(errors.QueryAborted):
        store.run(store.store.query, hungry)
    assert count(store) == 2000


def test_syntax_errors_say_where(open_test_store: Opener) -> None:
    store = open_test_store()
    with pytest.raises(errors.QuerySyntaxError) as raised:
        store.run(store.store.query, "SELECT *\nWHERE { ?s ?p }")
    # the parser reports where it could go no further: on the second line, within it
    assert raised.value.line == 2
    assert (
        raised.value.column is not None and 1 <= raised.value.column <= len("WHERE { ?s ?p }") + 1
    )


def test_formats_and_not_acceptable(open_test_store: Opener) -> None:
    store = open_test_store()
    store.run(store.store.commit, Delta(adds=quads(2)))
    csv = store.run(
        store.store.query, "SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o", results=RESULTS_CSV
    )
    assert csv.body == b"o\r\n0\r\n1\r\n"
    assert csv.media_type == "text/csv"
    with pytest.raises(errors.NotAcceptable) as raised:
        store.run(store.store.query, "CONSTRUCT WHERE { ?s ?p ?o }", rdf=None)
    assert raised.value.form == "graph"


def test_the_default_graph_is_the_union_and_datasets_narrow_it(open_test_store: Opener) -> None:
    from ijkg.graph.store.base import Dataset

    store = open_test_store()
    other = ox.NamedNode("https://example.org/other")
    store.run(
        store.store.commit,
        Delta(
            adds=(
                *quads(2),
                ox.Quad(ox.NamedNode("https://example.org/x"), P, ox.Literal("y"), other),
            )
        ),
    )
    assert count(store) == 3
    only = store.run(
        store.store.query,
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        dataset=Dataset(default_graphs=(other.value,), named_graphs=()),
    )
    assert json.loads(only.body)["results"]["bindings"][0]["n"]["value"] == "1"


def test_blank_nodes_round_trip_through_queries_and_removal(open_test_store: Opener) -> None:
    store = open_test_store()
    node = ox.BlankNode()
    store.run(store.store.commit, Delta(adds=(ox.Quad(node, P, ox.Literal("b"), G),)))
    fetched = store.run(store.store.graph_quads, G.value)
    assert fetched == [ox.Quad(node, P, ox.Literal("b"), G)]
    commit = store.run(store.store.commit, Delta(removes=tuple(fetched)))
    assert commit.removed == 1
    assert count(store) == 0


def test_too_many_queries_at_once_are_refused_not_queued_forever(open_test_store: Opener) -> None:
    store = open_test_store(query_workers=1, max_concurrent_queries=1, query_timeout_s=2)
    store.run(store.store.commit, Delta(adds=quads(100)))

    async def two_at_once() -> list[BaseException | object]:
        import asyncio

        return await asyncio.gather(
            store.store.query(CARTESIAN), store.store.query(CARTESIAN), return_exceptions=True
        )

    outcomes = store.portal.call(two_at_once)
    kinds = sorted(type(o).__name__ for o in outcomes)
    assert kinds == ["QueryOverloaded", "QueryTimeout"]


def test_a_worker_connecting_while_the_store_closes_is_closed_with_it(
    open_test_store: Opener,
) -> None:
    """A replacement worker may connect at any moment, the store's close included: every
    connection the store accepted is closed by the time ``close`` returns, whatever stage of
    accepting it was in (clients connect on every turn of the loop up to the close)."""
    store = open_test_store(query_workers=1)
    path = store.store._socket_path  # type: ignore[attr-defined]
    clients: list[socket.socket] = []

    async def connect_while_closing() -> None:
        for _ in range(30):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            clients.append(client)
            client.connect(path)
            await asyncio.sleep(0)
        await store.store.close()

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            store.portal.call(connect_while_closing)
            gc.collect()
    finally:
        for client in clients:
            client.close()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_clean_shutdown_folds_a_long_log_into_a_snapshot(
    open_test_store: Opener, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data_dir = tmp_path_factory.mktemp("shutdown")
    first = open_test_store(data_dir, snapshot_every_mb=1)  # an eighth of it: 128 KiB of log
    first.run(first.store.commit, Delta(adds=quads(5000)))
    first.close()
    assert sorted(p.name for p in data_dir.glob("snapshot-*")) == [
        "snapshot-000000000001.sealed.nq"
    ]
    second = open_test_store(data_dir, snapshot_every_mb=1)
    stats = second.run(second.store.stats)
    assert (stats.version, stats.quads) == (1, 5000)
    assert stats.details["recovery"]["records_replayed"] == 0  # read from the snapshot
    second.run(second.store.commit, Delta(adds=quads(1, start=9000)))
    second.close()  # a short log is left as it is
    assert sorted(p.name for p in data_dir.glob("snapshot-*")) == [
        "snapshot-000000000001.sealed.nq"
    ]
