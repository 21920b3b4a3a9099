"""Every shape has examples, and the examples behave: valid ones conform, invalid ones fail
because of that very shape.

Files are named ``Snn-<name>-valid.ttl`` / ``Snn-<name>-invalid-NN.ttl`` after the data shape
``https://w3id.org/ijkg/shapes#Snn-<Name>`` (``shapes/ijkg-shapes.ttl``) and ``Onn-...`` after
the ontology meta-shape ``#Onn-<Name>`` (``shapes/ontology-shapes.ttl``). A result's shape ID is
the ``Snn``/``Onn`` prefix of its ``sh:sourceShape`` (property shapes and helper shapes are named
after the node shape they belong to).

Data examples are validated the way data is (``ijkg.graph.curation.validation.validate``: the data shapes,
the ontology mixed in); meta-shape examples are validated on their own against the meta-shapes.
For a shape of severity Warning, the invalid example conforms (warnings never reject data) but
must draw a warning from that shape.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import pyshacl
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.term import Node

from ijkg.graph.core.bundle import bundle_files
from ijkg.graph.core.reports import Severity, ValidationReport, ValidationResult
from ijkg.graph.curation.validation import data_shapes, ontology_shapes, validate

HERE = Path(__file__).parent
SHAPES_NS = "https://w3id.org/ijkg/shapes#"
SHAPE_IRI = re.compile(r"^https://w3id\.org/ijkg/shapes#([SO]\d{2})-([A-Za-z]+)(-[A-Za-z]+)*$")
EXAMPLE = re.compile(r"^([SO]\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)-(valid|invalid-\d{2})\.ttl$")
EXAMPLES = sorted(HERE.glob("*.ttl"))


def _kebab(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", camel).lower()


def _shape_ids(shapes: Graph) -> dict[str, tuple[str, URIRef]]:
    """Shape ID -> (example name, severity) for each node shape with a target, named Snn-Name."""
    found: dict[str, tuple[str, URIRef]] = {}
    for shape in set(shapes.subjects(RDF.type, SH.NodeShape)):
        match = SHAPE_IRI.match(str(shape))
        if match is None or not _is_targeted(shapes, shape):
            continue
        severity = shapes.value(shape, SH.severity)
        assert isinstance(severity, URIRef), f"{shape} has no sh:severity"
        assert match.group(1) not in found, f"two targeted node shapes with ID {match.group(1)}"
        found[match.group(1)] = (_kebab(match.group(2)), severity)
    return found


def _is_targeted(shapes: Graph, shape: Node) -> bool:
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
    return any(shapes.value(shape, t) is not None for t in targets)


DATA_IDS = _shape_ids(data_shapes())
META_IDS = _shape_ids(ontology_shapes())
ALL_IDS = {**DATA_IDS, **META_IDS}


def _result_id(result: ValidationResult) -> str:
    match = re.match(r"^<https://w3id\.org/ijkg/shapes#([SO]\d{2})-", result.source_shape)
    assert match, f"result from an unnamed shape: {result}"
    return match.group(1)


def _n3(node: Node | None) -> str:
    assert node is not None
    return node.n3()


def _report_of(results: Graph) -> ValidationReport:
    """A pyshacl results graph as a typed report (for the meta-shape examples)."""
    out = []
    for node in results.subjects(RDF.type, SH.ValidationResult):
        severity = str(results.value(node, SH.resultSeverity)).rsplit("#", 1)[-1]
        out.append(
            ValidationResult(
                focus_node=_n3(results.value(node, SH.focusNode)),
                severity=cast("Severity", severity),
                message=str(results.value(node, SH.resultMessage)),
                source_shape=_n3(results.value(node, SH.sourceShape)),
                constraint=str(results.value(node, SH.sourceConstraintComponent)),
            )
        )
    return ValidationReport(tuple(out))


def _validate_example(path: Path) -> ValidationReport:
    graph = Graph()
    graph.parse(path, format="turtle")
    if path.name.startswith("O"):
        _conforms, results, _text = pyshacl.validate(
            graph, shacl_graph=ontology_shapes(), inference="none", allow_warnings=True
        )
        return _report_of(results)
    return validate(graph)


def test_the_folder_has_examples_for_every_shape() -> None:
    assert EXAMPLES, "no example files found"
    assert len(DATA_IDS) >= 40 and len(META_IDS) >= 4, (len(DATA_IDS), len(META_IDS))
    kinds: dict[str, set[str]] = {}
    for path in EXAMPLES:
        match = EXAMPLE.match(path.name)
        assert match, f"{path.name} is not named Snn-name-valid.ttl / Snn-name-invalid-NN.ttl"
        shape_id, name, kind = match.groups()
        assert shape_id in ALL_IDS, f"{path.name}: no shape {shape_id}"
        assert name == ALL_IDS[shape_id][0], (
            f"{path.name}: shape {shape_id} is '{ALL_IDS[shape_id][0]}'"
        )
        kinds.setdefault(shape_id, set()).add("valid" if kind == "valid" else "invalid")
    missing = {i: {"valid", "invalid"} - kinds.get(i, set()) for i in ALL_IDS}
    assert not {i: m for i, m in missing.items() if m}, missing


def test_every_shape_has_a_message_a_name_and_a_description() -> None:
    for shapes in (data_shapes(), ontology_shapes()):
        for shape in set(shapes.subjects(RDF.type, SH.NodeShape)) | set(
            shapes.subjects(RDF.type, SH.PropertyShape)
        ):
            if not str(shape).startswith(SHAPES_NS):
                continue
            assert shapes.value(shape, SH.message) is not None, f"{shape}: no sh:message"
            assert shapes.value(shape, SH.description) is not None, f"{shape}: no sh:description"
            assert shapes.value(shape, SH.severity) is not None, f"{shape}: no sh:severity"
            named = shapes.value(shape, SH.name) or shapes.value(shape, RDFS.label)
            assert named is not None, f"{shape}: no sh:name or rdfs:label"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example(path: Path) -> None:
    match = EXAMPLE.match(path.name)
    assert match, path.name
    shape_id, _name, kind = match.groups()
    report = _validate_example(path)
    if kind == "valid":
        assert report.conforms, [str(r) for r in report.violations]
        assert not [r for r in report.results if _result_id(r) == shape_id], report.results
        return
    severity = ALL_IDS[shape_id][1]
    if severity == SH.Warning:
        assert report.conforms, [str(r) for r in report.violations]
        assert [r for r in report.warnings if _result_id(r) == shape_id], report.results
    else:
        assert not report.conforms, f"{path.name} conforms"
        others = [r for r in report.violations if _result_id(r) != shape_id]
        assert not others, [str(r) for r in others]


def test_every_class_of_the_core_ontology_is_the_target_of_a_shape() -> None:
    """Each class of ontology/ijkg.ttl is targeted by a data shape, itself or through a
    superclass (sh:targetClass follows rdfs:subClassOf)."""
    core = Graph()
    for bundled in bundle_files():
        if bundled.name == "ontology/ijkg.ttl":
            core.parse(data=bundled.read_bytes(), format="turtle")
    classes = set(core.subjects(RDF.type, OWL.Class))
    assert len(classes) > 40
    targeted = set(data_shapes().objects(None, SH.targetClass))
    for cls in classes:
        lineage = set(core.transitive_objects(cls, RDFS.subClassOf))
        assert lineage & targeted, f"no shape targets {cls} or a superclass of it"
