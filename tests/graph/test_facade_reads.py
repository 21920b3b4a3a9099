"""The read side of the facade: ``KnowledgeGraph.sparql`` and ``KnowledgeGraph.linked`` over the
bundled graph, as the service's read routes use them."""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest

from ijkg.graph import LinkedData, SparqlEndpoint
from ijkg.graph.core.errors import NotFound, QueryRefused
from ijkg.graph.core.formats import NTRIPLES, RESULTS_JSON, TURTLE
from ijkg.graph.core.namespaces import ONTOLOGY_GRAPH, ONTOLOGY_IRI
from ijkg.graph.sparql import text
from ijkg.graph.store.base import Dataset
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
    passes = []
    real = text.iter_tokens

    def counted(query: str) -> Iterator[text.Token]:
        passes.append(query)
        return real(query)

    monkeypatch.setattr(text, "iter_tokens", counted)
    checked = endpoint.check("SELECT * FROM <http://g/a> WHERE { ?s ?p ?o } LIMIT 1")
    assert not checked.volatile and checked.names_dataset
    bundled_store.run(endpoint.query, checked, results=RESULTS_JSON, rdf=None)
    assert len(passes) == 1  # the check's scan answers every later question


def test_an_entity_is_read_once_per_version(bundled_store: SyncStore, linked: LinkedData) -> None:
    iri = LinkedData.entity_iri("pillar", "health")
    first = bundled_store.run(linked.entity, iri)
    again = bundled_store.run(linked.entity, iri)
    assert first._description is again._description
    assert first.json(base_url="")["id"] == iri
    assert b"Investing in Next Gen Health" in first.rdf(TURTLE.media_type)
    with pytest.raises(NotFound):
        bundled_store.run(linked.entity, LinkedData.entity_iri("pillar", "no-such-pillar"))
