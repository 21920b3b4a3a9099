"""The read side of the facade: ``KnowledgeGraph.sparql`` and ``KnowledgeGraph.linked`` over the
bundled graph, as the service's read routes use them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox
import pytest

from ijkg.graph import Entity, LinkedData, SparqlEndpoint
from ijkg.graph.core.errors import NotFound, QueryRefused
from ijkg.graph.core.formats import NTRIPLES, RESULTS_JSON, TURTLE
from ijkg.graph.core.namespaces import ONTOLOGY_GRAPH, ONTOLOGY_IRI
from ijkg.graph.sparql import text
from ijkg.graph.store.base import Dataset, Delta
from tests.conftest import SyncStore

OWL_ONTOLOGY = ox.Triple(
    ox.NamedNode(ONTOLOGY_IRI),
    ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
    ox.NamedNode("http://www.w3.org/2002/07/owl#Ontology"),
)


@pytest.fixture
def endpoint(bundled_store: SyncStore) -> SparqlEndpoint:
    return SparqlEndpoint(bundled_store.settings, bundled_store.store)


@pytest.fixture
def linked(bundled_store: SyncStore) -> LinkedData:
    return LinkedData(bundled_store.settings, bundled_store.store)


def test_a_named_graph_reads_back(bundled_store: SyncStore, endpoint: SparqlEndpoint) -> None:
    answer = bundled_store.run(endpoint.read_graph, ONTOLOGY_GRAPH, NTRIPLES)
    triples = [q.triple for q in ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES)]
    assert OWL_ONTOLOGY in triples
    union = bundled_store.run(endpoint.read_graph, None, NTRIPLES)
    assert len(union.body) > len(answer.body)
    with pytest.raises(NotFound, match="no graph"):
        bundled_store.run(endpoint.read_graph, "https://example.org/no-such-graph", TURTLE)


def test_queries_run_under_the_policy(bundled_store: SyncStore, endpoint: SparqlEndpoint) -> None:
    ask = "ASK { ?s a <http://www.w3.org/2002/07/owl#Ontology> }"
    answer = bundled_store.run(endpoint.query, ask, results=RESULTS_JSON, rdf=None)
    assert b"true" in answer.body
    refused = Dataset(default_graphs=("file:///etc/passwd",), named_graphs=())
    with pytest.raises(QueryRefused):
        bundled_store.run(endpoint.query, ask, results=RESULTS_JSON, rdf=None, dataset=refused)
    assert endpoint.check("SELECT (NOW() AS ?t) {}").volatile
    checked = endpoint.check(ask)
    assert not checked.volatile
    assert bundled_store.run(endpoint.query, checked, results=RESULTS_JSON, rdf=None) == answer


def test_a_query_is_tokenised_once(
    bundled_store: SyncStore, endpoint: SparqlEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[int] = []  # tokens read, per pass over the text
    real = text.iter_tokens

    def counted(query: str) -> Iterator[text.Token]:
        passes.append(0)
        for token in real(query):
            passes[-1] += 1
            yield token

    monkeypatch.setattr(text, "iter_tokens", counted)
    query = "SELECT * FROM <http://g/a> WHERE { ?s ?p ?o } LIMIT 1"
    checked = endpoint.check(query)
    assert not checked.volatile and checked.names_dataset
    bundled_store.run(endpoint.query, checked, results=RESULTS_JSON, rdf=None)
    # The check's scan is the one pass over the whole text and answers every later question; an
    # external store reads no further than the query's form (here its first token) to choose
    # what to ask its endpoint for.
    assert passes[0] == len(list(real(query)))
    assert passes[1:] in ([], [1])


def test_an_entity_is_read_once_per_version(bundled_store: SyncStore, linked: LinkedData) -> None:
    iri = LinkedData.entity_iri("pillar", "health")
    first = bundled_store.run(linked.entity, iri)
    again = bundled_store.run(linked.entity, iri)
    assert first._description is again._description
    assert first.json(base_url="")["id"] == iri
    assert b"Investing in Next Gen Health" in first.rdf(TURTLE.media_type)
    with pytest.raises(NotFound):
        bundled_store.run(linked.entity, LinkedData.entity_iri("pillar", "no-such-pillar"))


def test_a_burst_of_requests_reads_an_entity_once(
    bundled_store: SyncStore, linked: LinkedData
) -> None:
    async def burst(iri: str) -> list[Any]:
        asked = (linked.entity(iri) for _ in range(4))
        return await asyncio.gather(*asked, return_exceptions=True)

    entities = bundled_store.run(burst, LinkedData.entity_iri("pillar", "health"))
    assert all(e._description is entities[0]._description for e in entities)
    missing = bundled_store.run(burst, LinkedData.entity_iri("pillar", "no-such-pillar"))
    assert all(isinstance(e, NotFound) for e in missing)
    assert not linked._reading


def test_a_representation_is_made_once_per_version(open_memory_store: Any) -> None:
    store = open_memory_store(bundle=True)
    linked = LinkedData(store.settings, store.store)
    iri = LinkedData.entity_iri("pillar", "health")
    made: list[bytes] = []

    def render(entity: Entity) -> bytes:
        body = entity.rdf(TURTLE.media_type)
        made.append(body)
        return body

    def turtle() -> bytes:
        entity = store.run(linked.entity, iri)
        return entity.rendered((TURTLE.media_type,), lambda: render(entity))

    first = turtle()
    assert turtle() is first
    assert len(made) == 1
    store.run(
        store.store.commit,
        Delta(
            adds=(
                ox.Quad(
                    ox.NamedNode(iri),
                    ox.NamedNode("http://www.w3.org/2004/02/skos/core#altLabel"),
                    ox.Literal("Healthcare", language="en"),
                    ox.NamedNode("https://w3id.org/ijkg/graph/curated"),
                ),
            )
        ),
    )
    after = turtle()
    assert len(made) == 2
    assert b"Healthcare" in after and b"Healthcare" not in first
