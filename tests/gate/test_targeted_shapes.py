"""Shapes read once and validated again and again give pyshacl's own report every time.

``TargetedShapes`` keeps pyshacl's reading of a shapes graph across runs; each run gives the
shapes other targets. Every run's report must equal a fresh ``pyshacl.validate`` of the same
shapes with the same targets, whatever ran before, and another shapes graph must get its own
verdict, not the one of shapes read earlier.
"""

from __future__ import annotations

import random
from pathlib import Path

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import SH, XSD

from ijkg.graph.curation.validation import TargetedShapes, validate

EX = "http://example.org/"
HERE = Path(__file__).parent
_TARGETS = {SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf}


def ex(name: str) -> URIRef:
    return URIRef(EX + name)


def untargeted(text: str = "") -> Graph:
    """The synthetic shapes without their targets (and ``text``, more Turtle, added)."""
    shapes = Graph().parse(HERE / "synthetic-shapes.ttl")
    if text:
        shapes.parse(data=text, format="turtle")
    graph = Graph()
    for triple in shapes:
        if triple[1] not in _TARGETS:
            graph.add(triple)
    return graph


def hierarchy() -> Graph:
    graph = Graph()
    graph.add((ex("Employee"), RDFS.subClassOf, ex("Person")))
    return graph


def data() -> Graph:
    """People, organisations and countries, some of them breaking a shape."""
    graph = Graph()
    for c in range(2):
        graph.add((ex(f"country{c}"), RDF.type, ex("Country")))
        graph.add((ex(f"country{c}"), ex("name"), Literal(f"Country {c}")))
    for o in range(3):
        graph.add((ex(f"org{o}"), RDF.type, ex("Org")))
        if o != 2:  # org2 has neither label nor name
            graph.add((ex(f"org{o}"), ex("label"), Literal(f"Org {o}")))
        graph.add((ex(f"org{o}"), ex("locatedIn"), ex(f"country{o % 2}")))
        graph.add((ex(f"org{o}"), ex("member"), ex(f"person{o}")))
    for p in range(6):
        graph.add((ex(f"person{p}"), RDF.type, ex("Employee" if p % 2 else "Person")))
        if p != 3:  # person3 has no name
            graph.add((ex(f"person{p}"), ex("name"), Literal(f"Person {p}")))
        if p == 4:  # a name that is no string
            graph.add((ex(f"person{p}"), ex("name"), Literal(4, datatype=XSD.integer)))
        graph.add((ex(f"person{p}"), ex("worksFor"), ex(f"org{p % 3}")))
        graph.add((ex(f"person{p}"), ex("knows"), ex(f"person{(p + 1) % 6}")))
    return graph


def fresh(shapes: Graph, data_graph: Graph, pairs: list[tuple[URIRef, URIRef]]) -> object:
    """pyshacl's report with the shapes read anew: the targets written into a copy."""
    targeted = Graph()
    for triple in shapes:
        targeted.add(triple)
    for shape, node in pairs:
        targeted.add((shape, SH.targetNode, node))
    return validate(data_graph, shapes=targeted, ontology_graph=hierarchy())


def test_every_run_gives_a_fresh_validations_report() -> None:
    shapes = untargeted()
    targeted = TargetedShapes(shapes)
    data_graph = data()
    candidates = [
        (ex(shape), ex(node))
        for shape, nodes in {
            "PersonShape": [f"person{p}" for p in range(6)],
            "OrgShape": [f"org{o}" for o in range(3)],
            "KnownShape": [f"person{p}" for p in range(6)],
            "LineageShape": ["country0", "country1"],
        }.items()
        for node in nodes
    ]
    rng = random.Random(14)
    verdicts = set()
    for _ in range(25):
        pairs = rng.sample(candidates, rng.randint(0, 6))
        report = targeted.validate(data(), pairs, hierarchy())
        assert report == fresh(shapes, data_graph, pairs), pairs
        verdicts.add(report.conforms)
    assert verdicts == {True, False}  # the walk saw both verdicts
    assert not set(targeted.graph.triples((None, SH.targetNode, None)))  # no run leaves targets


def test_another_shapes_graph_gets_its_own_verdict() -> None:
    # The same shapes, but a name must now be given twice: person0 conforms to the first only.
    stricter = untargeted(
        f"<{EX}PersonShape> <{SH.property}> [ <{SH.path}> <{EX}name> ; <{SH.minCount}> 2 ] ."
    )
    pairs = [(ex("PersonShape"), ex("person0"))]
    data_graph = data()
    assert TargetedShapes(untargeted()).validate(data(), pairs, hierarchy()).conforms
    report = TargetedShapes(stricter).validate(data(), pairs, hierarchy())
    assert not report.conforms
    assert report == fresh(stricter, data_graph, pairs)


def test_a_shape_with_targets_of_its_own_is_validated_in_every_run() -> None:
    # Each run validates at the top level the shapes it targets, and these: org2 has no label.
    shapes = untargeted(
        f"<{EX}OwnShape> <{SH.property}> [ <{SH.path}> <{EX}label> ; <{SH.minCount}> 1 ] ."
    )
    shapes.add((ex("OwnShape"), SH.targetNode, ex("org2")))
    targeted = TargetedShapes(shapes)
    data_graph = data()
    for pairs in ([], [(ex("PersonShape"), ex("person1"))], [(ex("OrgShape"), ex("org0"))]):
        report = targeted.validate(data(), pairs, hierarchy())
        assert [r.focus_node for r in report.results] == [ex("org2").n3()]
        assert report == fresh(shapes, data_graph, pairs)
