"""What the data shapes read, and from where: the basis of incremental validation.

Validating a node against a shape reads a bounded part of the graph around it: its types (for
targets), the values along each property path, and, at each value, what nested constraints read in
turn (its types for ``sh:class``, its own paths for ``sh:node`` ...). This module walks the shapes
graph once and lists, for every chain of path steps from a focus node, what is read at the node at
the end of the chain. The gate uses it both ways: backwards, to find the focus nodes whose reads a
change touches; forwards, to fetch exactly the neighbourhood those focus nodes need.

A shape whose reads cannot be bounded this way (SPARQL-based constraints or targets, paths with
``sh:zeroOrMorePath``/``sh:oneOrMorePath``, recursion, chains deeper than ``MAX_DEPTH``) is listed
in ``fallback``: the gate validates it on the whole graph instead, and says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SH
from rdflib.term import BNode, Node

MAX_DEPTH = 6
RDF_TYPE = str(RDF.type)


@dataclass(frozen=True)
class Step:
    """One step of a property path: along ``predicate``, or against it when ``inverse``."""

    predicate: str
    inverse: bool = False


Chain = tuple[Step, ...]


@dataclass
class Reads:
    """What validation reads at a node: outgoing and incoming predicates, all outgoing triples
    (``sh:closed``), and whether its types (``rdf:type``, with the ontology's subclasses)."""

    out: set[str] = field(default_factory=set)
    inn: set[str] = field(default_factory=set)
    all_out: bool = False
    types: bool = False

    def reads_out(self, predicate: str) -> bool:
        return self.all_out or predicate in self.out or (self.types and predicate == RDF_TYPE)


class Unbounded(Exception):
    """A shape's reads cannot be bounded (see the module docstring)."""


@dataclass
class ShapeReads:
    """The reads of all targeted shapes, by chain; and the shapes that need the whole graph."""

    reads: dict[Chain, Reads]
    fallback: dict[Node, str]  # shape -> why it is validated on the whole graph
    incremental: list[Node]  # the targeted shapes the neighbourhood covers

    @property
    def depth(self) -> int:
        return max((len(c) for c in self.reads), default=0)

    def chains_by_depth(self) -> list[list[Chain]]:
        levels: list[list[Chain]] = [[] for _ in range(self.depth + 1)]
        for chain in self.reads:
            levels[len(chain)].append(chain)
        return levels


_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
_LOGICAL = (SH["and"], SH["or"], SH.xone)


class _Walker:
    def __init__(self, shapes: Graph) -> None:
        self.g = shapes
        self.reads: dict[Chain, Reads] = defaultdict(Reads)

    def _list(self, node: Node) -> list[Node]:
        return list(Collection(self.g, node))

    def paths(self, path: Node) -> Iterator[Chain]:
        """Every sequence of steps ``path`` can take (alternatives and optional steps expanded)."""
        if isinstance(path, URIRef):
            yield (Step(str(path)),)
            return
        inverse = self.g.value(path, SH.inversePath)
        if inverse is not None:
            for chain in self.paths(inverse):
                if len(chain) != 1:
                    # ^(p1/p2) is p2^/p1^: reverse the sequence and flip each step
                    yield tuple(Step(s.predicate, not s.inverse) for s in reversed(chain))
                else:
                    yield (Step(chain[0].predicate, not chain[0].inverse),)
            return
        alternatives = self.g.value(path, SH.alternativePath)
        if alternatives is not None:
            for branch in self._list(alternatives):
                yield from self.paths(branch)
            return
        optional = self.g.value(path, SH.zeroOrOnePath)
        if optional is not None:
            yield ()
            yield from self.paths(optional)
            return
        if self.g.value(path, SH.zeroOrMorePath) is not None:
            raise Unbounded("a sh:zeroOrMorePath path")
        if self.g.value(path, SH.oneOrMorePath) is not None:
            raise Unbounded("a sh:oneOrMorePath path")
        if (path, RDF.first, None) in self.g:
            sequences: list[Chain] = [()]
            for member in self._list(path):
                sequences = [s + t for s in sequences for t in self.paths(member)]
            yield from sequences
            return
        raise Unbounded(f"an unsupported path {path!r}")

    def shape(self, shape: Node, chain: Chain, stack: tuple[Node, ...]) -> None:
        """The reads of ``shape`` applied to the node at the end of ``chain``."""
        if shape in stack:
            raise Unbounded("a recursive shape")
        if len(chain) > MAX_DEPTH:
            raise Unbounded(f"paths deeper than {MAX_DEPTH} steps")
        if (shape, SH.sparql, None) in self.g:
            raise Unbounded("a SPARQL-based constraint")
        outer, stack = stack, (*stack, shape)
        here = self.reads[chain]
        if (shape, SH["class"], None) in self.g:
            here.types = True
        if self.g.value(shape, SH.closed) is not None and bool(
            self.g.value(shape, SH.closed).toPython()  # type: ignore[union-attr]
        ):
            here.all_out = True
        for nested in self.g.objects(shape, SH.node):
            self.shape(nested, chain, stack)
        for nested in self.g.objects(shape, SH["not"]):
            self.shape(nested, chain, stack)
        for logical in _LOGICAL:
            for members in self.g.objects(shape, logical):
                for nested in self._list(members):
                    self.shape(nested, chain, stack)
        for prop in self.g.objects(shape, SH.property):
            self.property(prop, chain, stack)
        if (shape, SH.path, None) in self.g:  # a property shape used where a shape goes
            self.property(shape, chain, outer)

    def property(self, prop: Node, chain: Chain, stack: tuple[Node, ...]) -> None:
        if prop in stack:
            raise Unbounded("a recursive shape")
        if (prop, SH.sparql, None) in self.g:
            raise Unbounded("a SPARQL-based constraint")
        here = self.reads[chain]
        # Pair constraints compare the path's values with another predicate at the focus node.
        for pair in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals):
            for other in self.g.objects(prop, pair):
                here.out.add(str(other))
        path = self.g.value(prop, SH.path)
        if path is None:
            raise Unbounded("a property shape without sh:path")
        nested = (
            list(self.g.objects(prop, SH["class"])),
            list(self.g.objects(prop, SH.node)),
            list(self.g.objects(prop, SH.qualifiedValueShape)),
            list(self.g.objects(prop, SH["not"])),
            [
                m
                for logical in _LOGICAL
                for ms in self.g.objects(prop, logical)
                for m in self._list(ms)
            ],
            list(self.g.objects(prop, SH.property)),
        )
        for steps in self.paths(path):
            at = chain
            for step in steps:
                reads = self.reads[at]
                (reads.inn if step.inverse else reads.out).add(step.predicate)
                at = (*at, step)
            if len(at) > MAX_DEPTH:
                raise Unbounded(f"paths deeper than {MAX_DEPTH} steps")
            value_reads = self.reads[at]
            if nested[0]:
                value_reads.types = True
            for shape in [*nested[1], *nested[2], *nested[3], *nested[4]]:
                self.shape(shape, at, (*stack, prop))
            for inner in nested[5]:
                self.property(inner, at, (*stack, prop))


def targeted_shapes(shapes: Graph) -> list[Node]:
    """Shapes with targets (explicit, or implicit class targets)."""
    found: dict[Node, None] = {}
    for target in _TARGETS:
        for shape in shapes.subjects(target, None):
            found[shape] = None
    for shape in shapes.subjects(RDF.type, SH.NodeShape):
        if (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, OWL.Class) in shapes:
            found[shape] = None
    return sorted(found, key=str)


def analyse(shapes: Graph) -> ShapeReads:
    """The reads of every targeted shape in ``shapes``."""
    reads: dict[Chain, Reads] = defaultdict(Reads)
    fallback: dict[Node, str] = {}
    incremental: list[Node] = []
    for shape in targeted_shapes(shapes):
        if (shape, SH.target, None) in shapes:
            fallback[shape] = "a SPARQL-based target"
            continue
        walker = _Walker(shapes)
        root = walker.reads[()]
        root.types = True  # class targets, and pyshacl finds every target through the types
        for predicate in shapes.objects(shape, SH.targetSubjectsOf):
            root.out.add(str(predicate))
        for predicate in shapes.objects(shape, SH.targetObjectsOf):
            root.inn.add(str(predicate))
        try:
            walker.shape(shape, (), ())
        except Unbounded as reason:
            fallback[shape] = str(reason)
            continue
        incremental.append(shape)
        for chain, found in walker.reads.items():
            merged = reads[chain]
            merged.out |= found.out
            merged.inn |= found.inn
            merged.all_out |= found.all_out
            merged.types |= found.types
    return ShapeReads(dict(reads), fallback, incremental)


def describe(node: Node) -> str:
    """A shape's name for messages (its IRI, or a blank node's label)."""
    return str(node) if not isinstance(node, BNode) else f"_:{node}"
