"""The incremental gate agrees with full pyshacl validation on the real shapes and the bundled
graph: a random walk of changes made of the graph's own material (its entities, predicates,
classes and literals) and of class axioms (the graph's classes and new ones made subclasses of
each other), each judged both ways.

A full validation of the bundle takes about two seconds, so CI walks ``IJKG_GATE_WALK`` steps
(default 30); run it with more (``IJKG_GATE_WALK=500``) when the gate or the shapes change.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

import pyoxigraph as ox
import pytest

from ijkg.graph.core.reports import ValidationReport
from ijkg.graph.curation.gate import Gate, is_data
from ijkg.graph.store.base import Delta
from tests.conftest import SyncStore

STEPS = int(os.environ.get("IJKG_GATE_WALK", "30"))
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
SUBCLASS_OF = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf")
NEW_CLASSES = [ox.NamedNode(f"https://example.org/class/{n}") for n in ("A", "B")]
XSD = "http://www.w3.org/2001/XMLSchema#"


def signature(
    report: ValidationReport, violations: bool
) -> set[tuple[str, str, str, str | None, str | None]]:
    return {
        (r.focus_node, r.source_shape, r.constraint, r.path, r.value)
        for r in report.results
        if (r.severity == "Violation") == violations
    }


class Material:
    """What random changes are made of: the bundled graph's own terms."""

    def __init__(self, quads: list[ox.Quad]) -> None:
        self.quads = quads
        self.subjects = sorted(
            {q.subject for q in quads if isinstance(q.subject, ox.NamedNode)}, key=str
        )
        self.graphs = sorted({q.graph_name for q in quads}, key=str)
        self.objects: dict[ox.NamedNode, list[ox.NamedNode | ox.Literal | ox.BlankNode]] = {}
        for quad in quads:
            self.objects.setdefault(quad.predicate, []).append(quad.object)  # type: ignore[arg-type]
        self.predicates = sorted(self.objects, key=str)
        self.classes = sorted({q.object for q in quads if q.predicate == RDF_TYPE}, key=str)

    def mutated_literal(self, rng: random.Random, literal: ox.Literal) -> ox.Literal:
        choice = rng.random()
        if choice < 0.3:
            return ox.Literal(literal.value)  # a plain string where a typed value was
        if choice < 0.5:
            return ox.Literal(literal.value, datatype=ox.NamedNode(XSD + "date"))
        if choice < 0.7:
            return ox.Literal("not a number", datatype=ox.NamedNode(XSD + "integer"))
        if choice < 0.85:
            return ox.Literal(literal.value, language=rng.choice(["en", "fr", "ja"]))
        return ox.Literal(str(rng.randint(-5, 50_000)), datatype=ox.NamedNode(XSD + "integer"))

    def change(self, rng: random.Random, current: list[ox.Quad]) -> Delta:
        removes: list[ox.Quad] = []
        adds: list[ox.Quad] = []
        for _ in range(rng.randint(1, 4)):
            kind = rng.random()
            graph = rng.choice(self.graphs)
            if kind < 0.08:
                # a class axiom: the graph's classes and new ones, made subclasses of each other
                # (or one added before taken away), and sometimes an instance of a new class
                axioms = [q for q in current if q.predicate == SUBCLASS_OF]
                if axioms and rng.random() < 0.3:
                    removes.append(rng.choice(axioms))
                classes = self.classes + NEW_CLASSES
                adds.append(ox.Quad(rng.choice(classes), SUBCLASS_OF, rng.choice(classes), graph))
                if rng.random() < 0.5:
                    adds.append(ox.Quad(rng.choice(self.subjects), RDF_TYPE, NEW_CLASSES[0], graph))
            elif kind < 0.3:
                removes.append(rng.choice(current))
            elif kind < 0.45:
                subject = rng.choice(self.subjects)
                adds.append(ox.Quad(subject, RDF_TYPE, rng.choice(self.classes), graph))
            elif kind < 0.6:
                old = rng.choice(current)
                if isinstance(old.object, ox.Literal):
                    removes.append(old)
                    adds.append(
                        ox.Quad(
                            old.subject,
                            old.predicate,
                            self.mutated_literal(rng, old.object),
                            old.graph_name,
                        )
                    )
            elif kind < 0.75:
                old = rng.choice(current)
                removes.append(old)
                adds.append(
                    ox.Quad(old.subject, old.predicate, rng.choice(self.subjects), old.graph_name)
                )
            else:
                predicate = rng.choice(self.predicates)
                adds.append(
                    ox.Quad(
                        rng.choice(self.subjects),
                        predicate,
                        rng.choice(self.objects[predicate]),
                        graph,
                    )
                )  # type: ignore[arg-type]
        return Delta(removes=tuple(removes), adds=tuple(adds))


@pytest.mark.timeout(STEPS * 20 + 120)
def test_incremental_gate_agrees_with_full_validation_on_the_bundle(
    open_test_store: Callable[..., SyncStore],
) -> None:
    store = open_test_store(bundle=True)
    gate = Gate()
    everything = store.run(store.store.match, [(None, None, None, None)])
    current = [q for q in everything if is_data(q)]
    material = Material(current)
    baseline = store.run(gate.check_full, store.store, Delta())
    assert baseline.conforms
    rng = random.Random(1126)
    rejected = 0
    for step in range(STEPS):
        delta = material.change(rng, current)
        incremental = store.run(gate.check, store.store, delta)
        full = store.run(gate.check_full, store.store, delta)
        context = f"step {step}: {delta}"
        assert incremental.conforms == full.conforms, context
        assert signature(incremental.report, True) == signature(full, True), context
        assert signature(incremental.report, False) <= signature(full, False), context
        assert incremental.method == "incremental"
        if full.conforms:
            store.run(store.store.commit, delta)
            gone = set(delta.removes)
            present = set(current)
            current = [q for q in current if q not in gone] + [
                q for q in delta.adds if q not in present
            ]
        else:
            rejected += 1
    assert 0.2 * STEPS < rejected < 0.95 * STEPS, rejected


@pytest.mark.parametrize(
    "predicate",
    [
        "http://www.w3.org/2004/02/skos/core#altLabel",
        "http://www.w3.org/2000/01/rdf-schema#comment",
    ],
)
def test_a_change_about_a_vocabulary_concept_gets_the_full_verdict(
    open_test_store: Callable[..., SyncStore], predicate: str
) -> None:
    """A data triple about one of the ontology's own concepts makes it a focus node, read with the
    ontology's triples: the verdict is whole-graph validation's (a missing rdfs:label on the
    ontology's concepts once made the gate refuse what full validation accepted)."""
    store = open_test_store(bundle=True)
    concept = ox.NamedNode("https://w3id.org/ijkg/id/concept/direction-two-way")
    graph = ox.NamedNode("https://w3id.org/ijkg/graph/context")
    gate = Gate()
    delta = Delta(
        adds=(ox.Quad(concept, ox.NamedNode(predicate), ox.Literal("x", language="en"), graph),)
    )
    incremental = store.run(gate.check, store.store, delta)
    full = store.run(gate.check_full, store.store, delta)
    assert incremental.focus_nodes >= 1
    assert incremental.conforms == full.conforms
    assert signature(incremental.report, True) == signature(full, True)
