"""Answers of repeated queries: kept per graph version by ``SparqlEndpoint``, served with no query
run while the graph is at that version, on the real store (memory in the fast tier, the suite's
store in the full one). The cache's counters say whether a query reached the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyoxigraph as ox
import pytest

from ijkg.graph import SparqlEndpoint
from ijkg.graph.core.errors import QueryRefused, ResultTooLarge
from ijkg.graph.core.formats import RESULTS_JSON, RESULTS_XML, TURTLE
from ijkg.graph.endpoint.answer_cache import MAX_ENTRY_BYTES, AnswerCache
from ijkg.graph.endpoint.endpoint import KEPT_CHECK_CHARS
from ijkg.graph.sparql import text
from ijkg.graph.store.base import Answer, Dataset, Delta
from tests.conftest import SyncStore

THING = "https://example.org/cache/thing"
LABEL = "https://example.org/cache/label"
GRAPH = "https://example.org/cache/graph"
LOOKUP = f"SELECT ?o WHERE {{ <{THING}> <{LABEL}> ?o }}"


def label_quad(value: str) -> ox.Quad:
    return ox.Quad(ox.NamedNode(THING), ox.NamedNode(LABEL), ox.Literal(value), ox.NamedNode(GRAPH))


@pytest.fixture
def fresh(open_any_store: Callable[..., SyncStore]) -> SyncStore:
    """A store of its own (memory, and the suite's store in the full suite): these tests write."""
    sync = open_any_store()
    if sync.settings.store == "sparql":
        pytest.skip("no answer cache on an external store")
    return sync


def endpoint_on(sync: SyncStore, cache_mb: int = 64) -> SparqlEndpoint:
    return SparqlEndpoint(sync.settings.model_copy(update={"query_cache_mb": cache_mb}), sync.store)


def ask(sync: SyncStore, endpoint: SparqlEndpoint, query: str, **kwargs: object) -> Answer:
    kwargs.setdefault("results", RESULTS_JSON)
    kwargs.setdefault("rdf", TURTLE)
    return sync.run(endpoint.query, query, **kwargs)


def counts(endpoint: SparqlEndpoint) -> tuple[int, int]:
    assert endpoint.cache is not None
    return endpoint.cache.counts["hit"], endpoint.cache.counts["miss"]


def test_a_repeated_query_is_answered_from_the_cache_until_a_commit(fresh: SyncStore) -> None:
    endpoint = endpoint_on(fresh)
    fresh.run(fresh.store.commit, Delta(adds=(label_quad("one"),)))
    first = ask(fresh, endpoint, LOOKUP)
    second = ask(fresh, endpoint, LOOKUP)
    assert second.body == first.body and second.version == first.version
    assert counts(endpoint) == (1, 1)  # the second never reached the store
    assert endpoint.counters.outcomes["ok"] == 2  # both counted as queries answered
    fresh.run(fresh.store.commit, Delta(removes=(label_quad("one"),), adds=(label_quad("two"),)))
    third = ask(fresh, endpoint, LOOKUP)
    assert b'"two"' in third.body and b'"one"' not in third.body
    assert third.version == first.version + 1
    assert counts(endpoint) == (1, 2)
    assert ask(fresh, endpoint, LOOKUP).body == third.body
    assert counts(endpoint) == (2, 2)


def test_everything_that_shapes_the_answer_is_in_the_key(fresh: SyncStore) -> None:
    endpoint = endpoint_on(fresh)
    fresh.run(fresh.store.commit, Delta(adds=(label_quad("one"),)))
    json = ask(fresh, endpoint, LOOKUP)
    xml = ask(fresh, endpoint, LOOKUP, results=RESULTS_XML)
    assert json.body != xml.body and xml.media_type == RESULTS_XML.media_type
    in_graph = Dataset(default_graphs=(GRAPH,), named_graphs=())
    elsewhere = Dataset(default_graphs=("https://example.org/cache/empty",), named_graphs=())
    assert ask(fresh, endpoint, LOOKUP, dataset=in_graph).body == json.body
    assert ask(fresh, endpoint, LOOKUP, dataset=elsewhere).rows == 0
    relative = "SELECT ?o WHERE { <thing> ?p ?o }"
    assert ask(fresh, endpoint, relative, base_iri="https://example.org/cache/").rows == 1
    assert ask(fresh, endpoint, relative, base_iri="https://example.org/other/").rows == 0
    assert counts(endpoint) == (0, 6)
    for query, kwargs in (
        (LOOKUP, {}),
        (LOOKUP, {"results": RESULTS_XML}),
        (LOOKUP, {"dataset": elsewhere}),
        (relative, {"base_iri": "https://example.org/cache/"}),
    ):
        before = ask(fresh, endpoint, query, **kwargs)
        assert before.body == ask(fresh, endpoint, query, **kwargs).body
    assert counts(endpoint)[0] == 8  # each again, each from its own entry


@pytest.mark.parametrize(
    "query",
    [
        "SELECT (STRUUID() AS ?u) {}",
        "SELECT (RAND() AS ?r) {}",
        "SELECT (NOW() AS ?t) {}",
        "SELECT (BNODE() AS ?b) {}",
    ],
)
def test_a_query_whose_answer_changes_between_runs_is_never_kept(
    fresh: SyncStore, query: str
) -> None:
    endpoint = endpoint_on(fresh)
    answers = {ask(fresh, endpoint, query).body for _ in range(3)}
    assert counts(endpoint) == (0, 0) and len(endpoint.cache or ()) == 0
    if "NOW" not in query:  # two NOW() may fall in one tick of the clock
        assert len(answers) == 3


def test_an_answer_over_the_row_cap_is_refused_every_time(
    open_any_store: Callable[..., SyncStore],
) -> None:
    sync = open_any_store(max_result_rows=2)
    if sync.settings.store == "sparql":
        pytest.skip("no answer cache on an external store")
    quads = tuple(label_quad(str(n)) for n in range(3))
    sync.run(sync.store.commit, Delta(adds=quads))
    endpoint = endpoint_on(sync)
    for _ in range(2):
        with pytest.raises(ResultTooLarge):
            ask(sync, endpoint, LOOKUP)
    assert counts(endpoint) == (0, 2) and len(endpoint.cache or ()) == 0
    assert endpoint.counters.outcomes["too_large"] == 2


def test_the_cache_is_bounded_in_bytes(fresh: SyncStore) -> None:
    fresh.run(fresh.store.commit, Delta(adds=(label_quad("x" * 5000),)))
    endpoint = endpoint_on(fresh)
    endpoint.cache = AnswerCache(3 * 6000)  # room for three answers of about 5 KB
    queries = [f"{LOOKUP} LIMIT {n}" for n in range(1, 6)]
    for query in queries:
        ask(fresh, endpoint, query)
    cache = endpoint.cache
    assert len(cache) == 3 and cache.used_bytes <= cache.max_bytes
    assert cache.counts["evicted"] == 2
    ask(fresh, endpoint, queries[-1])  # the most recent are kept ...
    assert counts(endpoint) == (1, 5)
    ask(fresh, endpoint, queries[0])  # ... the oldest went first
    assert counts(endpoint) == (1, 6)


def test_an_answer_over_the_entry_size_is_not_kept(fresh: SyncStore) -> None:
    big = "y" * (MAX_ENTRY_BYTES + 1)
    fresh.run(fresh.store.commit, Delta(adds=(label_quad(big),)))
    endpoint = endpoint_on(fresh)
    for _ in range(2):
        assert len(ask(fresh, endpoint, LOOKUP).body) > MAX_ENTRY_BYTES
    assert counts(endpoint) == (0, 2) and len(endpoint.cache or ()) == 0


def test_the_cache_is_off_at_zero_and_on_an_external_store(fresh: SyncStore) -> None:
    fresh.run(fresh.store.commit, Delta(adds=(label_quad("one"),)))
    off = endpoint_on(fresh, cache_mb=0)
    assert off.cache is None
    assert ask(fresh, off, LOOKUP).body == ask(fresh, off, LOOKUP).body
    external = fresh.settings.model_copy(update={"store": "sparql", "query_cache_mb": 64})
    assert SparqlEndpoint(external, fresh.store).cache is None


def test_a_repeated_query_is_checked_once(
    fresh: SyncStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[str] = []
    real = text.iter_tokens

    def counted(query: str) -> Iterator[text.Token]:
        passes.append(query)
        return real(query)

    monkeypatch.setattr(text, "iter_tokens", counted)
    endpoint, off = endpoint_on(fresh), endpoint_on(fresh, cache_mb=0)
    for _ in range(3):
        assert endpoint.check(LOOKUP) is endpoint.check(LOOKUP)
    assert passes == [LOOKUP]
    off.check(LOOKUP), off.check(LOOKUP)
    assert passes == [LOOKUP] * 3  # without the cache every check is a pass
    long = f"{LOOKUP} #{'x' * KEPT_CHECK_CHARS}"
    endpoint.check(long), endpoint.check(long)
    assert passes[3:] == [long] * 2  # a long text is not kept
    for _ in range(2):  # a refused query is refused (and counted) every time
        with pytest.raises(QueryRefused):
            endpoint.check("SELECT * { SERVICE <http://example.org/> { ?s ?p ?o } }")
    assert endpoint.counters.outcomes["refused"] == 2
