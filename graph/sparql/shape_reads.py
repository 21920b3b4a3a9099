"""What the data shapes read, and from where: the basis of incremental validation.

Validating a node against a shape reads a bounded part of the graph around it: its types (for
targets), the values along each property path, and, at each value, what nested constraints read in
turn (its types for ``sh:class``, its own paths for ``sh:node`` ...). This module walks the shapes
graph once and lists, for every chain of path steps from a focus node, what is read at the node at
the end of the chain. The gate uses it both ways: backwards, to find the focus nodes whose reads a
change touches; forwards, to fetch exactly the neighbourhood those focus nodes need.

SPARQL-based constraints are read too, when their query only walks out from ``$this`` along fixed
predicates (as most do). A shape whose reads cannot be bounded (SPARQL that reads beyond that,
SPARQL-based targets, ``sh:zeroOrMorePath``/``sh:oneOrMorePath``, recursion, chains deeper than
``MAX_DEPTH``) is listed in ``fallback``: the gate validates it on the whole graph instead, and
says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SH
from rdflib.paths import AlternativePath, InvPath, MulPath, Path, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import BNode, Node, Variable

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
        for constraint in self.g.objects(shape, SH.sparql):
            self.sparql(constraint, chain)
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
            raise Unbounded("a SPARQL-based constraint on a property shape ($PATH)")
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

    def sparql(self, constraint: Node, chain: Chain) -> None:
        """The reads of a SPARQL-based constraint, when its query only walks out from ``$this``
        along fixed predicates (otherwise it is unbounded)."""
        query = self.g.value(constraint, SH.select)
        if query is None:
            raise Unbounded("a SPARQL-based constraint without sh:select")
        try:
            algebra = prepareQuery(str(query), initNs=_declared_prefixes(self.g)).algebra
        except Exception as exc:
            raise Unbounded(f"a SPARQL-based constraint rdflib cannot read ({exc})") from None
        triples: list[tuple[Node, Chain, Node]] = []
        for subject, predicate, obj in triple_patterns(algebra):
            for steps in sparql_path(predicate):
                triples.append((subject, steps, obj))
        uses: dict[Node, int] = {}
        for subject, _steps, obj in triples:
            for term in (subject, obj):
                uses[term] = uses.get(term, 0) + 1
        reached: dict[Node, Chain] = {Variable("this"): chain}
        pending = list(triples)
        while pending:
            progressed = False
            for triple in list(pending):
                subject, steps, obj = triple
                if subject in reached:
                    start, walk, end = reached[subject], steps, obj
                elif obj in reached:
                    start = reached[obj]
                    walk = tuple(Step(s.predicate, not s.inverse) for s in reversed(steps))
                    end = subject
                else:
                    continue
                at = start
                for i, step in enumerate(walk):
                    reads = self.reads[at]
                    (reads.inn if step.inverse else reads.out).add(step.predicate)
                    if i == len(walk) - 1 and uses.get(end, 0) < 2:
                        break  # nothing else is read at the end of this pattern
                    at = (*at, step)
                    self.reads.setdefault(at, Reads())  # the walk passes through this node
                if len(at) > MAX_DEPTH:
                    raise Unbounded(f"paths deeper than {MAX_DEPTH} steps")
                if isinstance(end, Variable | BNode) and end not in reached:
                    reached[end] = at
                pending.remove(triple)
                progressed = True
            if not progressed:
                raise Unbounded("a SPARQL-based constraint that reads beyond $this's paths")


def _declared_prefixes(shapes: Graph) -> dict[str, str]:
    prefixes = {p: str(n) for p, n in shapes.namespaces()}
    for declaration in shapes.objects(None, SH.declare):
        prefix = shapes.value(declaration, SH.prefix)
        namespace = shapes.value(declaration, SH.namespace)
        if prefix is not None and namespace is not None:
            prefixes[str(prefix)] = str(namespace)
    return prefixes


def triple_patterns(node: object, *, graphs: bool = False) -> Iterator[tuple[Node, Node, Node]]:
    """Every triple pattern anywhere in an rdflib SPARQL algebra tree. ``GRAPH`` patterns are
    walked into only with ``graphs`` (a shape reads one graph); ``SERVICE`` never."""
    if isinstance(node, CompValue):
        if node.name == "ServiceGraphPattern" or (
            not graphs and node.name in ("Graph", "GraphGraphPattern")
        ):
            raise Unbounded("a query with GRAPH or SERVICE")
        for key, value in node.items():
            if key == "triples":
                for triple in value:
                    yield tuple(triple)
            elif not key.startswith("_"):
                yield from triple_patterns(value, graphs=graphs)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from triple_patterns(item, graphs=graphs)


def sparql_path(predicate: Node | Path) -> Iterator[Chain]:
    """The step sequences of a SPARQL property path (as ``_Walker.paths`` does for SHACL)."""
    if isinstance(predicate, URIRef):
        yield (Step(str(predicate)),)
    elif isinstance(predicate, InvPath):
        for steps in sparql_path(predicate.arg):
            yield tuple(Step(s.predicate, not s.inverse) for s in reversed(steps))
    elif isinstance(predicate, SequencePath):
        sequences: list[Chain] = [()]
        for part in predicate.args:
            sequences = [s + t for s in sequences for t in sparql_path(part)]
        yield from sequences
    elif isinstance(predicate, AlternativePath):
        for part in predicate.args:
            yield from sparql_path(part)
    elif isinstance(predicate, MulPath) and predicate.mod == "?":
        yield ()
        yield from sparql_path(predicate.path)
    else:
        raise Unbounded(f"a query with the path {predicate!r}")


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
