"""The write side behind the facade checks the writer's permissions itself, whichever way a write
arrives: a route or the command passes the ``Writer`` along and does no check of its own. On the
in-process store, with the real gate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import BlockingPortal

from ijkg.graph import (
    Forbidden,
    KnowledgeGraph,
    Part,
    QueryRefused,
    Settings,
    ValidationFailed,
    Writer,
)
from ijkg.graph.core.namespaces import ONTOLOGY_GRAPH

ANN = Writer("ann", admin=False)
ADMIN = Writer("root", admin=True)
#: A label for a term of the project's own ontology: only the admin may write it.
ONTOLOGY_LABEL = (
    b'<https://w3id.org/ijkg/ontology#Testing> <http://www.w3.org/2000/01/rdf-schema#label> "t" .'
)


@pytest.fixture
def graph(portal: BlockingPortal, tmp_path: Path) -> Iterator[KnowledgeGraph]:
    settings = Settings(store="memory", data_dir=tmp_path, fsync=False)
    opened = portal.call(lambda: KnowledgeGraph.open(settings, load_bundle=False))
    yield opened
    portal.call(opened.close)


def ontology_part() -> tuple[Part, ...]:
    return (Part("add", "application/n-triples", ONTOLOGY_LABEL, "test", ONTOLOGY_GRAPH),)


def test_a_proposal_to_the_ontology_needs_the_admin(
    graph: KnowledgeGraph, portal: BlockingPortal
) -> None:
    with pytest.raises(Forbidden):
        portal.call(lambda: graph.curation.propose(ANN, ontology_part(), title="t"))
    assert portal.call(graph.curation.changes) == []
    proposed = portal.call(lambda: graph.curation.propose(ADMIN, ontology_part(), title="t"))
    assert proposed.change.status == "proposed"


def test_only_the_admin_may_close_a_proposal_only_the_admin_may_write(
    graph: KnowledgeGraph, portal: BlockingPortal
) -> None:
    slug = portal.call(
        lambda: graph.curation.propose(ADMIN, ontology_part(), title="t")
    ).change.slug
    with pytest.raises(Forbidden):
        portal.call(lambda: graph.curation.reject(ANN, slug))
    with pytest.raises(Forbidden):
        portal.call(lambda: graph.curation.merge(ANN, slug))
    assert portal.call(lambda: graph.curation.reject(ADMIN, slug)).status == "rejected"


def test_an_update_that_empties_every_graph_needs_the_admin(graph: KnowledgeGraph) -> None:
    with pytest.raises(Forbidden):
        graph.curation.check_update(ANN, "CLEAR ALL", {})
    assert graph.curation.check_update(ADMIN, "CLEAR ALL", {}).text == "CLEAR ALL"
    with pytest.raises(QueryRefused):
        graph.curation.check_update(ADMIN, "LOAD <http://example.org/data.ttl>", {})
    with pytest.raises(QueryRefused):
        graph.curation.check_update(ADMIN, "CLEAR ALL", {"using-graph-uri": ["file:///etc"]})


#: A curator's new concept in a new scheme, named by its preferred label alone.
CONCEPT_WITHOUT_LABEL = b"""
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/ijkg/id/scheme/example> a skos:ConceptScheme ;
    rdfs:label "Example"@en ; skos:prefLabel "Example"@en .
<https://w3id.org/ijkg/id/concept/example> a skos:Concept ; skos:prefLabel "example"@en ;
    skos:inScheme <https://w3id.org/ijkg/id/scheme/example> .
"""


def test_a_new_concept_needs_an_rdfs_label_beside_its_preferred_label(
    graph: KnowledgeGraph, portal: BlockingPortal
) -> None:
    part = (Part("add", "text/turtle", CONCEPT_WITHOUT_LABEL, "concept.ttl", None),)
    with pytest.raises(ValidationFailed) as failed:
        portal.call(lambda: graph.curation.propose(ANN, part, title="a concept"))
    (violation,) = failed.value.report.violations
    assert violation.focus_node == "<https://w3id.org/ijkg/id/concept/example>"
    assert violation.source_shape == "<https://w3id.org/ijkg/shapes#S27-Concept-label>"
    assert "rdfs:label" in violation.message and "skos:prefLabel" in violation.message
    labelled = CONCEPT_WITHOUT_LABEL.replace(
        b'skos:prefLabel "example"@en', b'rdfs:label "example"@en ; skos:prefLabel "example"@en'
    )
    part = (Part("add", "text/turtle", labelled, "concept.ttl", None),)
    proposed = portal.call(lambda: graph.curation.propose(ANN, part, title="a concept"))
    assert proposed.change.status == "proposed"
