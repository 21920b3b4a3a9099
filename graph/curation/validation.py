"""SHACL validation with pyshacl against the trusted, bundled shapes.

The shapes graph is always the package's own ``shapes/ijkg-shapes.ttl`` (never the data: pyshacl
would otherwise read shapes out of the submitted data). The ontology is mixed into the data graph
for validation so ``sh:class`` and ``sh:targetClass`` see ``rdfs:subClassOf``.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from itertools import product
from typing import Any

import pyshacl
from pyshacl import ShapesGraph, Validator
from pyshacl.entrypoints import make_default_logger
from pyshacl.graph_abstraction import DataGraph
from pyshacl.monkey import apply_patches
from pyshacl.validator import assign_baked_in
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import RDF, SH
from rdflib.paths import Path
from rdflib.term import Node
from rdflib.util import from_n3

from ijkg.graph.core.bundle import DATA_SHAPES_FILE, ONTOLOGY_SHAPES_FILE, bundle_files
from ijkg.graph.core.reports import Severity, ValidationReport, ValidationResult

# pyshacl shares parsed shapes and graphs between calls; one validation at a time.
_PYSHACL = threading.RLock()


def _parse_bundled(prefix: str, only: str | None = None) -> Graph:
    graph = Graph()
    for bundled in bundle_files():
        if bundled.name.startswith(prefix) and (only is None or bundled.name.endswith(only)):
            graph.parse(data=bundled.read_bytes(), format="turtle")
    return graph


@lru_cache(maxsize=1)
def data_shapes() -> Graph:
    """The shapes that gate data (read once; treat as read-only)."""
    return _parse_bundled("shapes/", DATA_SHAPES_FILE)


@lru_cache(maxsize=1)
def ontology_shapes() -> Graph:
    """The meta-shapes that lint the ontology itself."""
    return _parse_bundled("shapes/", ONTOLOGY_SHAPES_FILE)


@lru_cache(maxsize=1)
def ontology() -> Graph:
    """The bundled ontology (all of ``ontology/*.ttl``)."""
    return _parse_bundled("ontology/")


def _n3(node: Node | None) -> str | None:
    return None if node is None else node.n3()


def _severity(node: Node | None) -> Severity:
    name = str(node).rsplit("#", 1)[-1]
    if name == "Warning":
        return "Warning"
    if name == "Info":
        return "Info"
    return "Violation"


def _result(results_graph: Graph, result: Node) -> ValidationResult:
    severity = results_graph.value(result, SH.resultSeverity)
    message = results_graph.value(result, SH.resultMessage)
    return ValidationResult(
        focus_node=_n3(results_graph.value(result, SH.focusNode)) or "",
        severity=_severity(severity),
        message=str(message) if message is not None else "",
        source_shape=_n3(results_graph.value(result, SH.sourceShape)) or "",
        constraint=str(results_graph.value(result, SH.sourceConstraintComponent)),
        path=_n3(results_graph.value(result, SH.resultPath)),
        value=_n3(results_graph.value(result, SH.value)),
        details=tuple(
            sorted(
                (_result(results_graph, d) for d in results_graph.objects(result, SH.detail)),
                key=ValidationResult.order,
            )
        ),
    )


def _report(results_graph: Graph) -> ValidationReport:
    # Only the report's own results: those of nested shapes (sh:node, sh:not ...) hang under
    # them as sh:detail, about other focus nodes.
    results = [
        _result(results_graph, result)
        for report in results_graph.subjects(RDF.type, SH.ValidationReport)
        for result in results_graph.objects(report, SH.result)
    ]
    results.sort(key=ValidationResult.order)
    return ValidationReport(tuple(results))


def validate(
    data: Graph,
    *,
    shapes: Graph | None = None,
    ontology_graph: Graph | None = None,
    focus_nodes: list[URIRef] | None = None,
    use_shapes: list[URIRef] | None = None,
) -> ValidationReport:
    """Validate ``data`` (with the ontology mixed in) against the data shapes.

    ``shapes`` and ``ontology_graph`` default to the bundled ones. ``focus_nodes`` restricts
    validation to those nodes (among the shapes' targets) and
    ``use_shapes`` to those shapes; the validation gate uses both.

    >>> from rdflib import Graph
    >>> validate(Graph()).conforms
    True
    """
    with _PYSHACL:
        _conforms, results_graph, _text = pyshacl.validate(
            data,
            shacl_graph=shapes if shapes is not None else data_shapes(),
            ont_graph=ontology_graph if ontology_graph is not None else ontology(),
            inference="none",
            advanced=True,
            allow_warnings=True,
            abort_on_first=False,
            focus_nodes=list[str | URIRef](focus_nodes) if focus_nodes else None,
            use_shapes=[str(s) for s in use_shapes] if use_shapes else None,
        )
    return _report(results_graph)


class _RememberingGraph(Graph):
    """A graph that remembers the answer to each triple pattern until a triple it matches is
    added or removed: pyshacl asks the shapes graph the same questions (a shape's parameters,
    its targets) on every validation of every focus node, and an in-memory graph answers each
    one afresh. Only ``add`` and ``remove`` of whole triples may change it."""

    def __init__(self) -> None:
        super().__init__()
        self._answers: dict[tuple[Any, Any, Any], list[Any]] = {}

    def triples(self, triple: Any) -> Any:
        s, p, o = triple
        if isinstance(p, Path):
            return super().triples(triple)
        found = self._answers.get((s, p, o))
        if found is None:
            found = self._answers[(s, p, o)] = list(super().triples((s, p, o)))
        return iter(found)

    def _forget(self, triple: Any) -> None:
        # Exactly the patterns that match the triple: each place either the term or a wildcard.
        s, p, o = triple
        for pattern in product((s, None), (p, None), (o, None)):
            self._answers.pop(pattern, None)

    def add(self, triple: Any) -> Any:
        self._forget(triple)
        return super().add(triple)

    def remove(self, triple: Any) -> Any:
        if None in triple:
            raise ValueError("remove whole triples from this graph, one at a time")
        self._forget(triple)
        return super().remove(triple)

    def addN(self, quads: Any) -> Any:
        raise NotImplementedError("add triples one at a time to this graph")


class _ReadShapes(ShapesGraph):
    """pyshacl's reading of the shapes, kept across runs, of which a run validates at the top
    level only the shapes it gives targets (``run_on``) and those with targets of their own.
    pyshacl would ask every other shape, property shapes included, for its focus nodes and find
    none, and a shape without focus nodes adds nothing to the report."""

    def __init__(self, graph: Graph, logger: Any) -> None:
        super().__init__(graph, False, logger)
        read = super().shapes  # every shape, before any run gives one a target
        self._targeted = {
            shape.node
            for shape in read
            if any(any(True for _ in targets) for targets in shape.target())
            or (shape.node, SH.target, None) in graph
        }
        self.run_on: set[Node] = set()

    @property
    def shapes(self) -> list[Any]:
        wanted = self._targeted | self.run_on
        return [shape for shape in super().shapes if shape.node in wanted]


class TargetedShapes:
    """Shapes without targets of their own, validated on given (shape, focus node) pairs: each
    run gives them ``sh:targetNode`` for those pairs only.

    ``pyshacl.validate`` reads the shapes graph into its shape objects again on every call, a
    good part of a small change's validation. Here pyshacl's ``Validator`` (what
    ``pyshacl.validate`` runs, with the same options) validates against shapes read once per
    ``TargetedShapes``, that is once per shapes graph: a shape's targets are read from the graph
    on every run (``Shape.target_nodes``), and nothing else of the shapes changes. The shapes
    are copied in, so a different shapes graph is a different ``TargetedShapes``.
    """

    def __init__(self, untargeted_shapes: Graph) -> None:
        # A copy: the caller's graph stays as it is, and this one remembers its answers.
        self.graph = _RememberingGraph()
        for prefix, namespace in untargeted_shapes.namespaces():
            self.graph.bind(prefix, namespace, override=True)
        for triple in untargeted_shapes:
            self.graph.add(triple)
        self._shapes: _ReadShapes | None = None

    @staticmethod
    def _options() -> dict[str, Any]:
        # pyshacl.validate's options for the arguments ``validate`` below passes it, but for
        # ``inplace``: the class hierarchy is mixed into the data graph itself, not into a copy.
        return {
            "debug": False,
            "inference": "none",
            "inplace": True,
            "abort_on_first": False,
            "allow_infos": False,
            "allow_warnings": True,
            "advanced": True,
            "iterate_rules": False,
            "use_js": None,
            "sparql_mode": False,
            "logger": make_default_logger(name="pyshacl-validate", debug=False),
            "focus_nodes": None,
            "use_shapes": None,
        }

    def validate(
        self, data: Graph, pairs: list[tuple[Node, Node]], ontology_graph: Graph
    ) -> ValidationReport:
        """Validate only ``pairs`` in ``data``, with ``ontology_graph`` mixed into ``data`` (which
        is changed: pass a graph made for this validation)."""
        with _PYSHACL:
            # What pyshacl.validate sets up before each run (both are pyshacl's, untyped).
            apply_patches()  # type: ignore[no-untyped-call]
            assign_baked_in()  # type: ignore[no-untyped-call]
            options = self._options()
            if self._shapes is None:
                self._shapes = _ReadShapes(self.graph, options["logger"])
            added = [(shape, SH.targetNode, node) for shape, node in pairs]
            for triple in added:
                self.graph.add(triple)
            try:
                validator = Validator(
                    DataGraph.from_rdflib(data),
                    shacl_graph=self.graph,
                    ont_graph=ontology_graph,
                    options=options,
                )
                # A node that is a shape only by the targets this run gives it is not in the
                # reading made without them: then this run uses pyshacl's own new reading.
                given = {shape for shape, _node in pairs}
                if given <= self._shapes._node_shape_cache.keys():
                    self._shapes.run_on = given
                    validator.shacl_graph = self._shapes
                _conforms, results_graph, _text = validator.run()  # type: ignore[no-untyped-call]
            finally:
                for triple in added:
                    self.graph.remove(triple)
        return _report(results_graph)


def validate_ontology() -> ValidationReport:
    """Lint the bundled ontology with the ontology meta-shapes."""
    _conforms, results_graph, _text = pyshacl.validate(
        ontology(),
        shacl_graph=ontology_shapes(),
        inference="none",
        allow_warnings=True,
    )
    return _report(results_graph)


def shape_iri(result: ValidationResult) -> URIRef:
    """The IRI of the shape a result came from (``sh:sourceShape``)."""
    return URIRef(result.source_shape.strip("<>"))


def _term(n3: str) -> Node:
    term = from_n3(n3)
    if not isinstance(term, Node):
        raise ValueError(f"not an RDF term: {n3!r}")
    return term


def report_graph(report: ValidationReport) -> Graph:
    """The report in the standard SHACL vocabulary (``sh:ValidationReport``), for machines."""
    graph = Graph()
    graph.bind("sh", SH)
    root = BNode()
    graph.add((root, RDF.type, SH.ValidationReport))
    graph.add((root, SH.conforms, RdfLiteral(report.conforms)))
    for result in report.results:
        node = BNode()
        graph.add((root, SH.result, node))
        graph.add((node, RDF.type, SH.ValidationResult))
        graph.add((node, SH.resultSeverity, SH[result.severity]))
        graph.add((node, SH.focusNode, _term(result.focus_node)))
        graph.add((node, SH.sourceShape, _term(result.source_shape)))
        graph.add((node, SH.sourceConstraintComponent, URIRef(result.constraint)))
        graph.add((node, SH.resultMessage, RdfLiteral(result.message)))
        if result.path:
            graph.add((node, SH.resultPath, _term(result.path)))
        if result.value:
            graph.add((node, SH.value, _term(result.value)))
    return graph
