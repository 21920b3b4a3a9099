"""SPARQL Update as a computed change: the effect matches Oxigraph's own execution, the store is
left untouched, and the union-default-graph rules hold."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox
import pytest

from ijkg.graph.core.errors import QueryRefused, QuerySyntaxError, ResultTooLarge
from ijkg.graph.core.namespaces import SYSTEM_GRAPH
from ijkg.graph.store import union
from ijkg.graph.store.base import Delta
from ijkg.graph.store.effects import update_effect
from ijkg.graph.store.update_plan import PatternStep, plan_update
from tests.conftest import SyncStore

EX = "http://example.org/"
WRITE = EX + "write"
DATA = f"""
<{EX}g1> {{ <{EX}a> <{EX}p> 1 , 2 . <{EX}a> <{EX}q> <{EX}b> . <{EX}b> <{EX}p> 3 . }}
<{EX}g2> {{ <{EX}b> <{EX}p> 3 . <{EX}c> <{EX}p> "x"@en . <{EX}c> <{EX}r> <{EX}a> . }}
"""


def fresh(mirror: bool = True) -> ox.Store:
    """A store as the engine keeps it: named graphs, and their union as the default graph."""
    store = ox.Store()
    quads = list(ox.parse(input=DATA.encode(), format=ox.RdfFormat.TRIG))
    if mirror:
        union.add(store, quads)
    else:
        store.extend(quads)
    return store


def named(store: ox.Store) -> set[ox.Quad]:
    return {q for q in store.quads_for_pattern(None, None, None, None) if union.is_named(q)}


def everything(store: ox.Store) -> set[ox.Quad]:
    return set(store.quads_for_pattern(None, None, None, None))


# Updates whose meaning does not depend on what the default graph is (they name their graphs), so
# Oxigraph's own execution is the reference.
REFERENCE = [
    f"INSERT DATA {{ GRAPH <{EX}g1> {{ <{EX}x> <{EX}p> 9 }} }}",
    f"DELETE DATA {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> 1 }} }}",
    f"DELETE DATA {{ GRAPH <{EX}g1> {{ <{EX}nothing> <{EX}p> 1 }} }}",
    f"DELETE WHERE {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> ?o }} }}",
    f"DELETE WHERE {{ GRAPH ?g {{ ?s <{EX}p> 3 }} }}",
    f"WITH <{EX}g1> DELETE {{ ?s <{EX}p> ?o }} INSERT {{ ?s <{EX}p2> ?o }} WHERE {{ ?s <{EX}p> ?o }}",
    f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} INSERT {{ GRAPH <{EX}g3> {{ ?s ?p ?o }} }} "
    f"WHERE {{ GRAPH ?g {{ ?s ?p ?o FILTER(isLiteral(?o) && datatype(?o) = <http://www.w3.org/2001/XMLSchema#integer> && ?o > 1) }} }}",
    f"INSERT {{ GRAPH <{EX}g2> {{ ?s <{EX}seen> true }} }} USING <{EX}g1> WHERE {{ ?s <{EX}q> ?b }}",
    f"INSERT {{ GRAPH <{EX}g2> {{ ?s <{EX}maybe> ?missing }} }} WHERE {{ GRAPH <{EX}g1> {{ ?s <{EX}q> ?o OPTIONAL {{ ?o <{EX}none> ?missing }} }} }}",
    f"PREFIX ex: <{EX}> INSERT DATA {{ GRAPH ex:g1 {{ ex:y ex:p 'a', 'b' ; a ex:T }} GRAPH ex:g2 {{ ex:z ex:p ex:y }} }}",
    f"CLEAR GRAPH <{EX}g2>",
    f"DROP SILENT GRAPH <{EX}nope>",
    f"ADD <{EX}g1> TO <{EX}g2>",
    f"COPY <{EX}g1> TO <{EX}g2>",
    f"MOVE <{EX}g1> TO <{EX}g4>",
    f"CREATE GRAPH <{EX}new> ; INSERT DATA {{ GRAPH <{EX}new> {{ <{EX}n> <{EX}p> 1 }} }}",
    # sequential: the second operation sees the first
    f"INSERT DATA {{ GRAPH <{EX}g1> {{ <{EX}t> <{EX}p> 5 }} }} ; "
    f"DELETE WHERE {{ GRAPH <{EX}g1> {{ <{EX}t> <{EX}p> ?o }} }}",
    f"INSERT DATA {{ GRAPH <{EX}g1> {{ <{EX}t> <{EX}p> 5 }} }} ; "
    f"INSERT {{ GRAPH <{EX}g2> {{ ?s <{EX}copied> ?o }} }} WHERE {{ GRAPH <{EX}g1> {{ ?s <{EX}p> ?o }} }}",
    f"DELETE DATA {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> 1 }} }} ; INSERT DATA {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> 1 }} }}",
]


@pytest.mark.parametrize("update", REFERENCE)
def test_the_effect_is_what_oxigraph_would_do(update: str) -> None:
    reference = fresh(mirror=False)  # Oxigraph's own execution, on named graphs only
    before = named(reference)
    reference.update(update)
    after = named(reference)
    store = fresh()
    untouched = everything(store)
    removes, adds = update_effect(store, update, write_graph=WRITE, max_quads=10_000)
    assert set(removes) == before - after
    assert set(adds) == after - before
    assert everything(store) == untouched  # nothing was written, the union included


def test_triples_without_a_graph_go_to_the_write_graph_and_are_deleted_everywhere() -> None:
    store = fresh()
    removes, adds = update_effect(
        store,
        f"DELETE DATA {{ <{EX}b> <{EX}p> 3 }} ; INSERT DATA {{ <{EX}d> <{EX}p> 4 }}",
        write_graph=WRITE,
        max_quads=100,
    )
    assert {q.graph_name.value for q in removes} == {EX + "g1", EX + "g2"}
    assert [q.graph_name.value for q in adds] == [WRITE]


def test_blank_nodes_are_fresh_for_each_solution() -> None:
    store = fresh()
    _, adds = update_effect(
        store,
        f"INSERT {{ GRAPH <{EX}g1> {{ ?s <{EX}note> [ <{EX}value> ?o ] }} }} "
        f"WHERE {{ GRAPH <{EX}g1> {{ ?s <{EX}p> ?o }} }}",
        write_graph=WRITE,
        max_quads=100,
    )
    notes = {q.object for q in adds if q.predicate.value == EX + "note"}
    assert len(notes) == 3 and all(isinstance(n, ox.BlankNode) for n in notes)


def test_write_amplification_is_capped_and_leaves_the_store_as_it_was() -> None:
    store = fresh()
    before = everything(store)
    with pytest.raises(ResultTooLarge, match="more than 5 quads"):
        update_effect(  # 3 subjects: 9 pairs (from 81 solutions)
            store,
            f"INSERT {{ GRAPH <{EX}g1> {{ ?a <{EX}x> ?b }} }} WHERE {{ ?a ?p ?o . ?b ?q ?r }}",
            write_graph=WRITE,
            max_quads=5,
        )
    assert everything(store) == before


@pytest.mark.parametrize(
    ("update", "error"),
    [
        (f"LOAD <{EX}data.ttl>", QueryRefused),
        (f"LOAD <file:///etc/passwd> INTO GRAPH <{EX}g>", QueryRefused),
        (f"ADD <{EX}g1> TO DEFAULT", QueryRefused),
        ("INSERT DATA { <a> <b> }", SyntaxError),
        (f"DELETE {{ ?s <{EX}p> _:b }} WHERE {{ ?s <{EX}p> ?o }}", (SyntaxError, QuerySyntaxError)),
    ],
)
def test_refused_and_malformed_updates(
    update: str, error: type[Exception] | tuple[type[Exception], ...]
) -> None:
    with pytest.raises(error):
        update_effect(fresh(), update, write_graph=WRITE, max_quads=100)


def test_through_the_store(open_any_store: Callable[..., SyncStore]) -> None:
    store = open_any_store()
    quads = list(ox.parse(input=DATA.encode(), format=ox.RdfFormat.TRIG))
    store.run(store.store.commit, Delta(adds=tuple(quads)))
    delta, version = store.run(
        store.store.update_effect,
        f"DELETE WHERE {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> ?o }} }}",
        write_graph=WRITE,
        max_quads=100,
    )
    assert version == 1
    assert {q.object.value for q in delta.removes} == {"1", "2"}
    assert delta.adds == ()
    # computing the effect wrote nothing (an external store keeps its version in a system graph)
    data = f"SELECT * WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{SYSTEM_GRAPH}>) }}"
    assert len(store.select(data)) == len(quads)
    with pytest.raises(QuerySyntaxError) as raised:
        store.run(
            store.store.update_effect, "INSERT DATA {\n <a> <b> }", write_graph=WRITE, max_quads=9
        )
    assert raised.value.line == 2


@pytest.mark.parametrize(
    ("update", "head", "limit"),
    [
        # only what the templates use, once
        (f"DELETE {{ ?s <{EX}p> ?o }} WHERE {{ ?s <{EX}p> ?o . ?s ?q ?r }}", "DISTINCT ?o ?s", 11),
        (
            f"DELETE WHERE {{ GRAPH ?g {{ ?s <{EX}p> ?o }} }}",
            "DISTINCT ?g ?o ?s",
            11,
        ),
        # a blank node in INSERT is new for every solution: every solution counts
        (f"INSERT {{ _:n <{EX}p> ?o }} WHERE {{ ?s <{EX}p> ?o . ?s ?q ?r }}", "*", 11),
        # no variable in the templates: one solution says it all
        (f"INSERT {{ <{EX}a> <{EX}p> 9 }} WHERE {{ ?s ?p ?o }}", "*", 1),
    ],
)
def test_the_bounded_select_asks_for_what_the_templates_use(
    update: str, head: str, limit: int
) -> None:
    (step,) = plan_update(update, base_iri=None, using=None)
    assert isinstance(step, PatternStep)
    assert step.bounded_select(11).endswith(f"LIMIT {limit}")
    assert f"SELECT {head} WHERE" in step.bounded_select(11)
