"""The SPARQL 1.1 Service Description: features, formats, graphs and limits as RDF."""

from __future__ import annotations

import rdflib

from ijkg.graph.core.formats import RDF_SYNTAXES, TURTLE
from ijkg.graph.core.settings import Settings
from ijkg.graph.core.terms import to_rdflib
from ijkg.graph.endpoint.description import (
    Contents,
    GraphSize,
    ServiceLimits,
    description_triples,
    serialize_description,
)

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
LIMITS = rdflib.Namespace("https://w3id.org/ijkg/service#")
ENDPOINT = rdflib.URIRef("http://127.0.0.1:8000/sparql")
CONTENTS = Contents((GraphSize("https://w3id.org/ijkg/graph/a", 5), GraphSize("urn:x:b", 2)), 6)


def described(settings: Settings) -> rdflib.Graph:
    graph = rdflib.Graph()
    for t in description_triples(str(ENDPOINT), ServiceLimits.from_settings(settings), CONTENTS):
        graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return graph


def test_limits_follow_the_settings() -> None:
    graph = described(Settings(query_timeout_s=2.5, max_result_rows=7, query_memory_mb=64))
    assert graph.value(ENDPOINT, LIMITS.queryTimeout).toPython() == 2.5
    assert graph.value(ENDPOINT, LIMITS.maxResultRows).toPython() == 7
    assert graph.value(ENDPOINT, LIMITS.queryMemory).toPython() == 64 * 1024 * 1024
    assert graph.value(ENDPOINT, LIMITS.federation).toPython() is False


def test_federation_is_a_feature_only_when_switched_on() -> None:
    off = described(Settings())
    on = described(Settings(allow_federation=True))
    assert (ENDPOINT, SD.feature, SD.BasicFederatedQuery) not in off
    assert (ENDPOINT, SD.feature, SD.BasicFederatedQuery) in on
    assert on.value(ENDPOINT, LIMITS.federation).toPython() is True
    for graph in (on, off):
        assert (ENDPOINT, SD.feature, SD.UnionDefaultGraph) in graph


def test_named_graphs_and_the_union_are_counted() -> None:
    graph = described(Settings())
    dataset = graph.value(ENDPOINT, SD.defaultDataset)
    sizes = {
        str(graph.value(node, SD.name)): graph.value(graph.value(node, SD.graph), VOID.triples)
        for node in graph.objects(dataset, SD.namedGraph)
    }
    assert {k: v.toPython() for k, v in sizes.items()} == {
        "https://w3id.org/ijkg/graph/a": 5,
        "urn:x:b": 2,
    }
    default = graph.value(dataset, SD.defaultGraph)
    assert graph.value(default, VOID.triples).toPython() == 6


def test_every_rdf_syntax_carries_the_same_description() -> None:
    triples = description_triples(str(ENDPOINT), ServiceLimits.from_settings(Settings()), CONTENTS)
    reference = rdflib.Graph().parse(data=serialize_description(triples, TURTLE), format="turtle")
    for syntax in RDF_SYNTAXES:
        body = serialize_description(triples, syntax)
        assert body
        if syntax.name == "turtle":
            assert body.startswith(b"@prefix sd:")
    assert len(reference) == len(triples)
