"""The incremental gate agrees with full pyshacl validation, change after change.

A random walk over a graph that conforms: each step proposes a random change (additions, deletions,
type changes, literal changes, rewiring links, and schema-level changes: class axioms, property
axioms, equivalences, domains and ranges, on the ontology's classes and on new ones); the
incremental gate's report must equal the full validation of the whole graph after the change;
conforming changes are applied, so the walk explores many shapes of graph. Synthetic shapes cover
every kind of read the gate follows.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from ijkg.graph.core.reports import ValidationReport
from ijkg.graph.curation.gate import Gate
from ijkg.graph.sparql.shape_reads import Step, analyse
from ijkg.graph.store.base import Delta
from tests.conftest import SyncStore

EX = "http://example.org/"
G = ox.NamedNode(EX + "data")
OTHER = ox.NamedNode(EX + "other-source")
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SUBCLASS_OF = ox.NamedNode(RDFS + "subClassOf")
XSD = "http://www.w3.org/2001/XMLSchema#"
HERE = Path(__file__).parent
#: Random changes per run: 500 (the issue asks for at least that); CI's second pass, on an
#: external store, where each step is a round of HTTP requests, takes fewer (IJKG_GATE_STEPS).
STEPS = int(os.environ.get("IJKG_GATE_STEPS", "500"))


def ex(name: str) -> ox.NamedNode:
    return ox.NamedNode(EX + name)


def shapes() -> Graph:
    return Graph().parse(HERE / "synthetic-shapes.ttl")


def ontology() -> Graph:
    graph = Graph()
    graph.parse(
        data=f"<{EX}Employee> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{EX}Person> .",
        format="nt",
    )
    return graph


def base_graph() -> list[ox.Quad]:
    """A small world that conforms to the synthetic shapes."""
    quads = []

    def add(s: str, p: str, o: ox.NamedNode | ox.Literal, g: ox.NamedNode = G) -> None:
        quads.append(ox.Quad(ex(s), ex(p) if p != "a" else RDF_TYPE, o, g))

    for c in range(3):
        add(f"country{c}", "a", ex("Country"))
        add(f"country{c}", "name", ox.Literal(f"Country {c}"))
        add(f"city{c}", "name", ox.Literal(f"City {c}"))
        add(f"country{c}", "capital", ex(f"city{c}"))
    for o in range(4):
        add(f"org{o}", "a", ex("Org"))
        add(f"org{o}", "label", ox.Literal(f"Org {o}"))
        add(f"org{o}", "locatedIn", ex(f"country{o % 3}"))
        add(f"org{o}", "member", ex(f"person{o}"))
    for p in range(8):
        add(f"person{p}", "a", ex("Employee" if p % 2 else "Person"))
        add(f"person{p}", "name", ox.Literal(f"Person {p}"), G if p % 3 else OTHER)
        add(f"person{p}", "worksFor", ex(f"org{p % 4}"))
        add(f"person{p}", "knows", ex(f"person{(p + 1) % 8}"))
        add(f"person{p}", "born", ox.Literal("1950", datatype=ox.NamedNode(XSD + "integer")))
        add(f"person{p}", "died", ox.Literal("2000", datatype=ox.NamedNode(XSD + "integer")))
    for b in range(2):
        add(f"badge{b}", "a", ex("Badge"))
        add(f"badge{b}", "holder", ex(f"person{b}"))
        add(f"badge{b}", "name", ox.Literal(f"Badge {b}"))
        add(f"badge{b}", "label", ox.Literal(f"Badge {b}"))
    add("country1", "partOf", ex("region0"))
    add("region0", "partOf", ex("continent0"))
    return quads


NODES = (
    [f"person{i}" for i in range(10)]
    + [f"org{i}" for i in range(5)]
    + [
        "country0",
        "country1",
        "country2",
        "city0",
        "city1",
        "badge0",
        "badge1",
        "region0",
        "continent0",
    ]
)
PREDICATES = [
    "name",
    "worksFor",
    "locatedIn",
    "member",
    "knows",
    "alias",
    "born",
    "died",
    "label",
    "virtual",
    "capital",
    "holder",
    "partOf",
]
CLASSES = ["Person", "Employee", "Org", "Country", "Badge"]
#: Classes the ontology does not know, for class axioms on new terms.
NEW_CLASSES = ["Contractor", "Firm", "Thing"]
#: Schema-level properties: only rdfs:subClassOf changes what validation sees (pyshacl reads no
#: other axiom without inference), which is what the walk checks the gate knows.
CLASS_AXIOMS = [RDFS + "subClassOf", OWL + "equivalentClass", OWL + "disjointWith"]
PROPERTY_AXIOMS = [RDFS + "subPropertyOf", OWL + "equivalentProperty", OWL + "inverseOf"]


def schema_change(rng: random.Random, current: list[ox.Quad]) -> tuple[ox.Quad | None, ox.Quad]:
    """A schema-level change: a quad to remove (a class axiom added before), and one to add."""
    axioms = [q for q in current if q.predicate == SUBCLASS_OF]
    if axioms and rng.random() < 0.25:
        old = rng.choice(axioms)
        return old, ox.Quad(old.subject, SUBCLASS_OF, ex(rng.choice(CLASSES + NEW_CLASSES)), G)
    kind = rng.random()
    anything = CLASSES + NEW_CLASSES
    if kind < 0.5:
        sub, sup = rng.choice(anything), rng.choice(anything)
        return None, ox.Quad(ex(sub), SUBCLASS_OF, ex(sup), rng.choice([G, G, OTHER]))
    if kind < 0.65:
        return None, ox.Quad(
            ex(rng.choice(anything)),
            ox.NamedNode(rng.choice(CLASS_AXIOMS[1:])),
            ex(rng.choice(anything)),
            G,
        )
    if kind < 0.75:
        owl_class = ox.NamedNode(OWL + "Class" if rng.random() < 0.5 else RDFS + "Class")
        return None, ox.Quad(ex(rng.choice(anything)), RDF_TYPE, owl_class, G)
    if kind < 0.85:
        return None, ox.Quad(
            ex(rng.choice(PREDICATES)),
            ox.NamedNode(rng.choice(PROPERTY_AXIOMS)),
            ex(rng.choice(PREDICATES)),
            G,
        )
    return None, ox.Quad(
        ex(rng.choice(PREDICATES)),
        ox.NamedNode(RDFS + rng.choice(["domain", "range"])),
        ex(rng.choice(anything)),
        G,
    )


def random_object(rng: random.Random, predicate: str) -> ox.NamedNode | ox.Literal:
    if predicate in ("born", "died"):
        return ox.Literal(
            str(rng.choice([1900, 1950, 1990, 2010])), datatype=ox.NamedNode(XSD + "integer")
        )
    if predicate == "virtual":
        return ox.Literal(rng.choice(["true", "false"]), datatype=ox.NamedNode(XSD + "boolean"))
    if predicate in ("name", "label") or rng.random() < 0.1:
        return ox.Literal(rng.choice(["A", "B", "Org 1", "Badge 0"]))
    return ex(rng.choice(NODES))


def random_change(rng: random.Random, current: list[ox.Quad]) -> Delta:
    removes: list[ox.Quad] = []
    adds: list[ox.Quad] = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.3 and current:
            removes.append(rng.choice(current))
        elif kind < 0.4:
            removed, added = schema_change(rng, current)
            if removed is not None:
                removes.append(removed)
            adds.append(added)
        elif kind < 0.55:
            classes = CLASSES + NEW_CLASSES if rng.random() < 0.3 else CLASSES
            adds.append(ox.Quad(ex(rng.choice(NODES)), RDF_TYPE, ex(rng.choice(classes)), G))
        elif kind < 0.65 and current:
            typed = [q for q in current if q.predicate == RDF_TYPE]
            if typed:
                old = rng.choice(typed)
                removes.append(old)
                adds.append(ox.Quad(old.subject, RDF_TYPE, ex(rng.choice(CLASSES)), G))
        else:
            predicate = rng.choice(PREDICATES)
            graph = OTHER if rng.random() < 0.2 else G
            adds.append(
                ox.Quad(ex(rng.choice(NODES)), ex(predicate), random_object(rng, predicate), graph)
            )
    return Delta(removes=tuple(removes), adds=tuple(adds))


def signature(
    report: ValidationReport, severity: str
) -> set[tuple[str, str, str | None, str | None, str]]:
    return {
        (r.focus_node, r.constraint, r.path, r.value, r.message)
        for r in report.results
        if (r.severity == "Violation") == (severity == "Violation")
    }


def test_the_analysis_sees_every_read_and_the_unbounded_shape() -> None:
    reads = analyse(shapes())
    assert {str(s) for s in reads.fallback} == {EX + "LineageShape"}  # not PersonShape's SPARQL
    assert "oneOrMore" in next(iter(reads.fallback.values()))
    assert reads.depth == 2  # worksFor/locatedIn, and member -> NamedShape's name
    located = (Step(EX + "worksFor"), Step(EX + "locatedIn"))
    assert EX + "name" in reads.reads[located].out  # read by the SPARQL constraint
    member = (Step(EX + "member"),)
    assert reads.reads[member].types and EX + "name" in reads.reads[member].out
    assert EX + "member" in reads.reads[()].inn  # ^member
    badge_root = reads.reads[()]
    assert badge_root.all_out  # the closed shape reads everything at its focus


def test_incremental_gate_agrees_with_full_validation(
    open_test_store: Callable[..., SyncStore],
) -> None:
    store = open_test_store()
    gate = Gate(shapes(), ontology())
    current = base_graph()
    store.run(store.store.commit, Delta(adds=tuple(current)))
    assert store.run(gate.check_full, store.store, Delta()).conforms
    rng = random.Random(20261126)
    agreed = rejected = 0
    for step in range(STEPS):
        delta = random_change(rng, current)
        incremental = store.run(gate.check, store.store, delta)
        full = store.run(gate.check_full, store.store, delta)
        context = f"step {step}: {delta}"
        assert incremental.conforms == full.conforms, context
        assert signature(incremental.report, "Violation") == signature(full, "Violation"), context
        assert signature(incremental.report, "Warning") <= signature(full, "Warning"), context
        assert incremental.whole_graph_shapes == {EX + "LineageShape": "a sh:oneOrMorePath path"}
        agreed += 1
        if full.conforms:
            store.run(store.store.commit, delta)
            present = set(current)
            current = [q for q in current if q not in set(delta.removes)] + [
                q for q in delta.adds if q not in present
            ]
        else:
            rejected += 1
    assert agreed == STEPS
    # the walk must exercise both outcomes to mean anything
    assert 0.2 * STEPS < rejected < 0.9 * STEPS, rejected
    # and land class axioms, so that later steps are judged under a hierarchy the store extends
    landed = [q for q in current if q.predicate == SUBCLASS_OF]
    assert len(landed) >= 3, landed


def test_a_class_axiom_in_the_change_or_the_store_is_seen(
    open_any_store: Callable[..., SyncStore],
) -> None:
    """Making every organisation a person (a class axiom in the data) is judged like the
    organisations' own change of type: they lack what a person needs. And an axiom already in
    the store counts for later changes: a new instance of a subclass is validated as one."""
    store = open_any_store()
    gate = Gate(shapes(), ontology())
    store.run(store.store.commit, Delta(adds=tuple(base_graph())))
    axiom = Delta(adds=(ox.Quad(ex("Org"), SUBCLASS_OF, ex("Person"), G),))
    report = store.run(gate.check, store.store, axiom)
    assert not report.conforms
    orgs = {f"<{EX}org{i}>" for i in range(4)}
    assert orgs <= {r.focus_node for r in report.report.violations}
    new_class = Delta(adds=(ox.Quad(ex("Contractor"), SUBCLASS_OF, ex("Person"), G),))
    assert store.run(gate.check, store.store, new_class).conforms
    store.run(store.store.commit, new_class)
    nameless = Delta(adds=(ox.Quad(ex("contractor0"), RDF_TYPE, ex("Contractor"), G),))
    found = store.run(gate.check, store.store, nameless)
    assert {r.focus_node for r in found.report.violations} == {f"<{EX}contractor0>"}
    # taking the axiom away again makes the instance valid (it is no person any more)
    store.run(store.store.commit, nameless)
    undo = Delta(removes=new_class.adds)
    assert store.run(gate.check, store.store, undo).conforms


def test_validation_work_follows_the_change_not_the_graph(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    gate = Gate(shapes(), ontology())
    store.run(store.store.commit, Delta(adds=tuple(base_graph())))
    # a label change on one badge touches that badge only
    delta = Delta(
        removes=(ox.Quad(ex("badge0"), ex("label"), ox.Literal("Badge 0"), G),),
        adds=(ox.Quad(ex("badge0"), ex("label"), ox.Literal("Badge zero"), G),),
    )
    report = store.run(gate.check, store.store, delta)
    assert report.focus_nodes == 1
    assert not report.conforms  # sh:equals name/label now differ
    assert {r.focus_node for r in report.report.violations} == {f"<{EX}badge0>"}
    # renaming a country's type reaches the people who work for orgs located there
    retype = Delta(
        removes=(ox.Quad(ex("country0"), RDF_TYPE, ex("Country"), G),),
        adds=(ox.Quad(ex("country0"), RDF_TYPE, ex("Org"), G),),
    )
    reached = store.run(gate.check, store.store, retype)
    people = {r.focus_node for r in reached.report.violations if "person" in r.focus_node}
    assert people == {f"<{EX}person0>", f"<{EX}person3>", f"<{EX}person4>", f"<{EX}person7>"}


@pytest.mark.parametrize("seed", [1, 2])
def test_a_rejected_change_leaves_the_store_as_it_was(
    open_any_store: Callable[..., SyncStore], seed: int
) -> None:
    from ijkg.graph.core.errors import ValidationFailed

    store = open_any_store()
    gate = Gate(shapes(), ontology())
    store.run(store.store.commit, Delta(adds=tuple(base_graph())))
    before = store.run(store.store.version)
    bad = Delta(
        removes=(ox.Quad(ex(f"person{seed}"), ex("name"), ox.Literal(f"Person {seed}"), G),)
    )
    with pytest.raises(ValidationFailed) as raised:
        store.run(gate.commit, store.store, bad)
    assert raised.value.report.violations
    assert store.run(store.store.version) == before
