"""The validation gate: would the graph still conform after this change?

Every write path (change merges, SPARQL Update, the Graph Store Protocol, ``ijkg load``) goes
through ``Gate.commit``: the change is validated on the graph as it would be after it, against the
trusted data shapes with the ontology mixed in, and committed only if it conforms — on the very
version it was validated on, with writers in this process taking turns (and the store refusing a
commit whose expected version has moved, which covers other processes).

Validation is incremental: its cost grows with the change, not with the graph. From what the shapes
read (``ijkg.graph.sparql.shape_reads``) the gate finds the focus nodes whose reads the change
touches (the changed nodes, and the nodes that reach them along the shapes' paths), fetches exactly
the
neighbourhood those nodes need from the graph-after-the-change (the store seen through the change),
and validates only them. Shapes whose reads cannot be bounded are validated on the whole graph, and
the report says which and why. Validating the change on its own would miss everything it connects
to (the types of nodes already in the graph, for a start), so that is never the method.

The class hierarchy validation uses is the packaged ontology's together with the
``rdfs:subClassOf`` triples of the store's ontology graph and data graphs, as they would be after
the change: a class axiom written into the store counts like one in the package (as it does for a
query that follows ``a/rdfs:subClassOf*``). A change that alters the hierarchy makes every
instance of a class whose superclasses change a touched node, as if its type had changed, so the
nodes it now is (or no longer is) a target of are validated again.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, URIRef
from rdflib.namespace import OWL, SH

from ijkg.graph.core.errors import ValidationFailed, VersionConflict
from ijkg.graph.core.ingest import check_terms
from ijkg.graph.core.namespaces import CHANGES_GRAPH, ONTOLOGY_GRAPH, SHAPES_GRAPH, SYSTEM_GRAPH
from ijkg.graph.core.reports import ValidationReport, ValidationResult
from ijkg.graph.core.terms import to_oxigraph, to_rdflib
from ijkg.graph.curation.batches import Batch, validate_batches
from ijkg.graph.curation.batches import processes as batch_processes
from ijkg.graph.curation.validation import TargetedShapes, data_shapes, ontology, validate
from ijkg.graph.sparql.shape_reads import (
    RDF_TYPE,
    Chain,
    Reads,
    ShapeReads,
    analyse,
    targeted_shapes,
)
from ijkg.graph.store.base import Commit, Delta, Pattern, Store

#: Graphs that hold no instance data: the gate never validates them as data.
NON_DATA_GRAPHS = frozenset({ONTOLOGY_GRAPH, SHAPES_GRAPH, SYSTEM_GRAPH, CHANGES_GRAPH})

#: incremental: only the touched focus nodes and their neighbourhood; whole-graph: every shape
#: needed the whole graph; mixed: some shapes did (``whole_graph_shapes`` says which and why).
Method = Literal["incremental", "mixed", "whole-graph"]

#: Focus nodes validated together (with their neighbourhood) in one pyshacl run.
FOCUS_BATCH = 2000

_TARGET_PREDICATES = {
    SH.targetClass,
    SH.targetNode,
    SH.targetSubjectsOf,
    SH.targetObjectsOf,
    SH.target,
}
_CLASS_TYPES = {RDFS.Class, OWL.Class}


@dataclass(frozen=True)
class GateReport:
    """A validation report and how it was obtained."""

    report: ValidationReport
    method: Method
    focus_nodes: int
    neighbourhood_triples: int
    whole_graph_shapes: dict[str, str] = field(default_factory=dict)  # shape -> why

    @property
    def conforms(self) -> bool:
        return self.report.conforms

    def describe(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "focusNodes": self.focus_nodes,
            "neighbourhoodTriples": self.neighbourhood_triples,
            "shapesValidatedOnTheWholeGraph": self.whole_graph_shapes,
        }


def _superclasses(pairs: Iterable[tuple[Any, Any]]) -> dict[Any, set[Any]]:
    """Every class with all its superclasses (itself included), from (subclass, superclass)
    pairs; cycles are fine (every class on one has the same superclasses)."""
    direct: dict[Any, set[Any]] = defaultdict(set)
    for sub, sup in pairs:
        direct[sub].add(sup)
    closure: dict[Any, set[Any]] = {}
    for start in list(direct):
        seen = {start}
        pending = [start]
        while pending:
            for parent in direct.get(pending.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    pending.append(parent)
        closure[start] = seen
    return closure


_SUBCLASS_OF = ox.NamedNode(str(RDFS.subClassOf))
_ONTOLOGY_NODE = ox.NamedNode(ONTOLOGY_GRAPH)


def is_schema_source(quad: ox.Quad) -> bool:
    """A quad whose class axioms validation reads: in a data graph or the ontology graph."""
    return is_data(quad) or quad.graph_name == _ONTOLOGY_NODE


@dataclass(frozen=True)
class Hierarchy:
    """The class hierarchy before and after a change: (subclass, superclass) pairs as rdflib
    terms, the package's and the store's."""

    before: frozenset[tuple[Any, Any]]
    after: frozenset[tuple[Any, Any]]
    extra: frozenset[tuple[Any, Any]]  # pairs after the change that the package does not hold

    def changed_classes(self) -> set[Any]:
        """The classes whose superclasses differ before and after the change."""
        if self.before == self.after:
            return set()
        old, new = _superclasses(self.before), _superclasses(self.after)
        return {c for c in set(old) | set(new) if old.get(c, {c}) != new.get(c, {c})}


def _pair(quad: ox.Quad) -> tuple[Any, Any]:
    return to_rdflib(quad.subject), to_rdflib(quad.object)


@dataclass(frozen=True)
class _Targets:
    """The targets of one shape, to tell which focus nodes it selects."""

    shape: Any
    classes: frozenset[Any]
    nodes: frozenset[Any]
    subjects_of: frozenset[Any]
    objects_of: frozenset[Any]

    @classmethod
    def of(cls, shapes: Graph, shape: Any) -> _Targets:
        classes = set(shapes.objects(shape, SH.targetClass))
        if any((shape, RDF.type, t) in shapes for t in _CLASS_TYPES):
            classes.add(shape)  # an implicit class target
        return cls(
            shape,
            frozenset(classes),
            frozenset(shapes.objects(shape, SH.targetNode)),
            frozenset(shapes.objects(shape, SH.targetSubjectsOf)),
            frozenset(shapes.objects(shape, SH.targetObjectsOf)),
        )

    def selects(self, graph: Graph, node: Any, types: set[Any]) -> bool:
        # Asked for every focus node and every shape: most shapes have no such targets.
        if not self.classes.isdisjoint(types) or node in self.nodes:
            return True
        if self.subjects_of and any((node, p, None) in graph for p in self.subjects_of):
            return True
        return bool(self.objects_of) and any((None, p, node) in graph for p in self.objects_of)


def is_data(quad: ox.Quad) -> bool:
    """A quad of instance data: in a named graph that is not the ontology, shapes or history.
    (The default graph only mirrors the named graphs, so its quads are never data of their own.)"""
    name = quad.graph_name
    if isinstance(name, ox.DefaultGraph):
        return False
    return not (isinstance(name, ox.NamedNode) and name.value in NON_DATA_GRAPHS)


def _node(term: object) -> bool:
    return isinstance(term, ox.NamedNode | ox.BlankNode)


def _triple(quad: ox.Quad) -> tuple[Any, Any, Any]:
    return to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)


@dataclass(frozen=True)
class _Neighbourhood:
    """One batch of focus nodes, ready to validate."""

    graph: Graph
    pairs: list[tuple[Any, Any]]
    hierarchy: Graph
    keep: frozenset[str]
    done: int

    def portable(self) -> Batch:
        """The batch as plain terms, for a validating process of its own."""
        return Batch(
            triples=list(self.graph),
            pairs=self.pairs,
            hierarchy=list(self.hierarchy),
            keep=self.keep,
            done=self.done,
        )


def _by_predicate(quads: Iterable[ox.Quad]) -> dict[str, list[ox.Quad]]:
    """Quads grouped by their predicate's IRI: each step of a chain follows one predicate, and
    a walk over a bulk load's neighbourhood has many steps and many quads."""
    grouped: dict[str, list[ox.Quad]] = defaultdict(list)
    for quad in quads:
        grouped[quad.predicate.value].append(quad)
    return grouped


@dataclass(frozen=True)
class _Fetch:
    """The patterns that fetch what validation reads around one node at the end of a chain.

    Outgoing reads of two predicates or more are fetched as every quad of the node, one pattern
    instead of one per predicate: a node has few outgoing quads, while a bulk load's patterns
    ran to hundreds of thousands, each encoded, sent, decoded and matched on its own. The extra
    quads are true quads of the graph after the change, and a node's verdict depends only on
    what its shapes read, so the verdict is the same."""

    out: tuple[ox.NamedNode, ...] | None  # None: every outgoing quad
    inn: tuple[ox.NamedNode, ...]

    @classmethod
    def of(cls, reads: Reads) -> _Fetch:
        out = set(reads.out) | ({RDF_TYPE} if reads.types else set())
        every = reads.all_out or len(out) > 1
        return cls(
            out=None if every else tuple(ox.NamedNode(p) for p in sorted(out)),
            inn=tuple(ox.NamedNode(p) for p in sorted(reads.inn)),
        )

    def patterns(self, node: Any) -> list[Pattern]:
        found: list[Pattern] = (
            [(node, None, None, None)]
            if self.out is None
            else [(node, p, None, None) for p in self.out]
        )
        found += [(None, p, node, None) for p in self.inn]
        return found


class AfterChange:
    """The instance data as it would be after a change: the store seen through the delta, and
    (for reads only) the ontology, so that what validation reads of ontology terms — the types
    of a property a claim reifies, say — is found like any other neighbour."""

    def __init__(self, store: Store, delta: Delta, ontology_store: ox.Store | None = None) -> None:
        self.store = store
        self.ontology_store = ontology_store
        # In the store's own form (typed literals canonical, an external store's blank nodes as
        # it holds them), the form its reads give: a removal written "007" must take away the
        # "7" the store holds, or the view would keep a value the commit removes.
        self.removes = set(store.stored_forms([q for q in delta.removes if is_data(q)]))
        self.adds = list(dict.fromkeys(store.stored_forms([q for q in delta.adds if is_data(q)])))
        self._by_subject: dict[object, list[ox.Quad]] = defaultdict(list)
        self._by_object: dict[object, list[ox.Quad]] = defaultdict(list)
        for quad in self.adds:
            self._by_subject[quad.subject].append(quad)
            self._by_object[quad.object].append(quad)

    def _added_matching(self, pattern: Pattern) -> Iterable[ox.Quad]:
        s, p, o, _g = pattern
        if s is not None:
            candidates: Iterable[ox.Quad] = self._by_subject.get(s, ())
        elif o is not None:
            candidates = self._by_object.get(o, ())
        else:
            candidates = self.adds
        for quad in candidates:
            if (
                (s is None or quad.subject == s)
                and (p is None or quad.predicate == p)
                and (o is None or quad.object == o)
            ):
                yield quad

    async def match(self, patterns: Sequence[Pattern]) -> set[ox.Quad]:
        found = {
            q for q in await self.store.match(patterns) if is_data(q) and q not in self.removes
        }
        for pattern in patterns:
            found.update(self._added_matching(pattern))
            if self.ontology_store is not None:
                s, p, o, _g = pattern
                found.update(self.ontology_store.quads_for_pattern(s, p, o, None))
        return found

    async def all_quads(self) -> set[ox.Quad]:
        """The whole instance data after the change (for shapes that need it)."""
        quads = {q for q in await self.store.match([(None, None, None, None)]) if is_data(q)}
        quads -= self.removes
        quads.update(self.adds)
        return quads


class Gate:
    """Validates changes incrementally and commits the ones that conform, one at a time."""

    def __init__(
        self,
        shapes: Graph | None = None,
        ontology_graph: Graph | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = FOCUS_BATCH,
        processes: int | None = None,
    ) -> None:
        self.progress = progress  # (focus nodes validated, of how many), for long validations
        self.batch_size = batch_size
        # How many processes validate a change of more than one batch (see ``batches``).
        self.processes = processes if processes is not None else batch_processes()
        self.shapes = shapes if shapes is not None else data_shapes()
        self.ontology = ontology_graph if ontology_graph is not None else ontology()
        self.reads: ShapeReads = analyse(self.shapes)
        self.lock = asyncio.Lock()
        #: The verdicts this gate gave since start-up (plain numbers, for the metrics).
        self.verdicts = {"conforms": 0, "violation": 0}
        self._levels = self.reads.chains_by_depth()
        self._fetch = {chain: _Fetch.of(reads) for chain, reads in self.reads.reads.items()}
        self._reading: dict[str, tuple[list[Chain], list[Chain]]] = {}
        # Incremental validation targets exactly the focus nodes: the shapes lose their own
        # targets here, and each check gives them ``sh:targetNode`` for the focus nodes they would
        # have targeted. (Otherwise pyshacl would validate every targeted node it is given — the
        # ontology's own concepts, the neighbourhood's edges — and pyshacl's focus_nodes option
        # cannot be used: it also filters the value nodes of nested shapes such as sh:not.)
        self.untargeted_shapes = Graph()
        for prefix, namespace in self.shapes.namespaces():
            self.untargeted_shapes.bind(prefix, namespace, override=True)
        targeted = set(targeted_shapes(self.shapes))
        for triple in self.shapes:
            subject, predicate, obj = triple
            implicit = predicate == RDF.type and obj in _CLASS_TYPES and subject in targeted
            if predicate in _TARGET_PREDICATES or implicit:
                continue
            self.untargeted_shapes.add(triple)
        self.targeted = TargetedShapes(self.untargeted_shapes)
        self._targets = [_Targets.of(self.shapes, s) for s in self.reads.incremental]
        # Indexes into ``_targets``: by target class, by target node, and the rest.
        self._by_class: dict[Any, list[int]] = defaultdict(list)
        self._by_node: dict[Any, list[int]] = defaultdict(list)
        self._other_targets: set[int] = set()
        for index, targets in enumerate(self._targets):
            for cls in targets.classes:
                self._by_class[cls].append(index)
            for node in targets.nodes:
                self._by_node[node].append(index)
            if targets.subjects_of or targets.objects_of:
                self._other_targets.add(index)
        self._package_pairs = frozenset(
            (s, o) for s, o in self.ontology.subject_objects(RDFS.subClassOf)
        )
        self._superclasses = _superclasses(self._package_pairs)
        self._last_hierarchy: tuple[frozenset[ox.Quad], frozenset[tuple[Any, Any]]] | None = None
        # The ontology as data the neighbourhood reads from, and only its class hierarchy mixed
        # into each validation (mixing all of it would have pyshacl validate every ontology term
        # as data on every check, which is most of a small check's cost).
        self._ontology_store = ox.Store()
        self._ontology_store.extend(
            ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o))  # type: ignore[arg-type]
            for s, p, o in self.ontology
        )
        self.hierarchy = Graph()
        for triple in self.ontology.triples((None, RDFS.subClassOf, None)):
            self.hierarchy.add(triple)

    # --- which focus nodes a change touches ----------------------------------------------------

    def _touched(self, quads: Iterable[ox.Quad]) -> dict[Chain, set[Any]]:
        """Nodes at the end of each chain whose reads the changed quads touch."""
        # Grouped by predicate first: a chain is hashed once per predicate, not once per quad.
        subjects: dict[str, set[Any]] = defaultdict(set)
        objects: dict[str, set[Any]] = defaultdict(set)
        for quad in quads:
            subjects[quad.predicate.value].add(quad.subject)
            if _node(quad.object):
                objects[quad.predicate.value].add(quad.object)
        touched: dict[Chain, set[Any]] = defaultdict(set)
        for predicate, nodes in subjects.items():
            out, inn = self._chains_reading(predicate)
            for chain in out:
                touched[chain] |= nodes
            for chain in inn if predicate in objects else ():
                touched[chain] |= objects[predicate]
        return touched

    def _chains_reading(self, predicate: str) -> tuple[list[Chain], list[Chain]]:
        """The chains that read ``predicate`` out of a node, and into one (remembered: a bulk
        load asks once per quad, about a few dozen predicates)."""
        known = self._reading.get(predicate)
        if known is None:
            chains = self.reads.reads.items()
            known = (
                [chain for chain, reads in chains if reads.reads_out(predicate)],
                [chain for chain, reads in chains if predicate in reads.inn],
            )
            self._reading[predicate] = known
        return known

    async def focus_nodes(self, view: AfterChange, changed: Iterable[ox.Quad]) -> set[Any]:
        """Walk back from the touched nodes along each chain to the focus nodes that reach them."""
        pending = self._touched(changed)
        for depth in range(len(self._levels) - 1, 0, -1):
            chains = [c for c in self._levels[depth] if pending.get(c)]
            if not chains:
                continue
            patterns: list[Pattern] = []
            for chain in chains:
                step = chain[-1]
                predicate = ox.NamedNode(step.predicate)
                for node in pending[chain]:
                    patterns.append(
                        (node, predicate, None, None)
                        if step.inverse
                        else (None, predicate, node, None)
                    )
            by_predicate = _by_predicate(await view.match(patterns))
            for chain in chains:
                step, parent, nodes = chain[-1], chain[:-1], pending[chain]
                for quad in by_predicate.get(step.predicate, ()):
                    if step.inverse and quad.subject in nodes and _node(quad.object):
                        pending[parent].add(quad.object)
                    elif not step.inverse and quad.object in nodes:
                        pending[parent].add(quad.subject)
        return set(pending.get((), set()))

    # --- what those focus nodes read ----------------------------------------------------------

    async def neighbourhood(self, view: AfterChange, focus: set[Any]) -> set[ox.Quad]:
        """Every quad validating ``focus`` reads, in the graph after the change."""
        nodes: dict[Chain, set[Any]] = {(): set(focus)}
        found: set[ox.Quad] = set()
        for depth, chains in enumerate(self._levels):
            patterns: list[Pattern] = []
            for chain in chains:
                fetch = self._fetch[chain]
                for node in nodes.get(chain, ()):
                    patterns += fetch.patterns(node)
            if not patterns:
                continue
            quads = await view.match(patterns)
            found |= quads
            if depth + 1 >= len(self._levels):
                continue
            by_predicate = _by_predicate(quads)
            for child in self._levels[depth + 1]:
                step, parent = child[-1], child[:-1]
                here = nodes.get(parent)
                if not here:
                    continue
                reached = nodes.setdefault(child, set())
                for quad in by_predicate.get(step.predicate, ()):
                    if step.inverse and quad.object in here:
                        reached.add(quad.subject)
                    elif not step.inverse and quad.subject in here and _node(quad.object):
                        reached.add(quad.object)
        return found

    # --- validation ----------------------------------------------------------------------------

    async def class_hierarchy(self, store: Store, delta: Delta) -> Hierarchy:
        """The class hierarchy before and after ``delta``: the package's, and the class axioms
        of the store's ontology and data graphs."""
        stored = {
            q for q in await store.match([(None, _SUBCLASS_OF, None, None)]) if is_schema_source(q)
        }
        removes = {q for q in delta.removes if q.predicate == _SUBCLASS_OF}
        adds = {q for q in delta.adds if q.predicate == _SUBCLASS_OF and is_schema_source(q)}
        before = self._stored_hierarchy(frozenset(stored))
        if not removes and not adds:
            return Hierarchy(before=before, after=before, extra=before - self._package_pairs)
        after = frozenset({_pair(q) for q in (stored - removes) | adds})
        return Hierarchy(
            before=before,
            after=self._package_pairs | after,
            extra=after - self._package_pairs,
        )

    def _stored_hierarchy(self, stored: frozenset[ox.Quad]) -> frozenset[tuple[Any, Any]]:
        """The package's pairs with those of ``stored`` (the last answer is kept: the store's
        class axioms rarely change, and every check asks)."""
        last = self._last_hierarchy
        if last is not None and last[0] == stored:
            return last[1]
        pairs = self._package_pairs | {_pair(q) for q in stored}
        self._last_hierarchy = (stored, pairs)
        return pairs

    def _hierarchy_graph(self, hierarchy: Hierarchy) -> Graph:
        if not hierarchy.extra:
            return self.hierarchy
        graph = Graph()
        for sub, sup in hierarchy.after:
            graph.add((sub, RDFS.subClassOf, sup))
        return graph

    def _ontology_after(self, hierarchy: Hierarchy) -> Graph:
        """The ontology mixed into whole-graph validation: the package's, with the store's
        class axioms."""
        if not hierarchy.extra:
            return self.ontology
        graph = Graph()
        for triple in self.ontology:
            graph.add(triple)
        for sub, sup in hierarchy.extra:
            graph.add((sub, RDFS.subClassOf, sup))
        return graph

    async def _retyped(self, view: AfterChange, hierarchy: Hierarchy) -> list[ox.Quad]:
        """The type triples of every instance of a class whose superclasses the change alters:
        for validation these nodes changed type."""
        classes = [
            to_oxigraph(c)
            for c in hierarchy.changed_classes()
            if isinstance(c, URIRef | BNode)  # a literal is no class of anything
        ]
        if not classes:
            return []
        rdf_type = ox.NamedNode(RDF_TYPE)
        return sorted(
            await view.match([(None, rdf_type, c, None) for c in classes]),
            key=str,
        )

    async def check(self, store: Store, delta: Delta) -> GateReport:
        """The SHACL report for the graph as it would be after ``delta``; writes nothing.

        Raises ``PoisonTerm`` if the change adds a term the graph refuses to hold at all."""
        check_terms(delta.adds)
        view = AfterChange(store, delta, self._ontology_store)
        hierarchy = await self.class_hierarchy(store, delta)
        changed = [*view.removes, *view.adds, *await self._retyped(view, hierarchy)]
        focus = await self.focus_nodes(view, changed)
        superclasses = _superclasses(hierarchy.after) if hierarchy.extra else self._superclasses
        mixed = self._hierarchy_graph(hierarchy)
        results: list[ValidationResult] = []
        triples = 0
        if focus and self.reads.incremental:
            # A bulk load touches many focus nodes: validate them a batch at a time, each batch
            # with its own neighbourhood, so memory stays bounded (a node's verdict depends only
            # on its neighbourhood); more than one batch, on every core.
            ordered = sorted(focus, key=str)
            sizes: list[int] = []
            batches = self._batches(view, ordered, superclasses, mixed, sizes)
            if len(ordered) <= self.batch_size or self.processes < 2:
                async for batch in batches:
                    report = await asyncio.to_thread(
                        self.targeted.validate, batch.graph, batch.pairs, mixed
                    )
                    results += [r for r in report.results if r.focus_node in batch.keep]
                    self._progress(batch.done, len(ordered))
            else:
                results += await validate_batches(
                    (batch.portable() async for batch in batches),
                    self.untargeted_shapes,
                    workers=self.processes,
                    progress=lambda done: self._progress(done, len(ordered)),
                )
            triples = sum(sizes)
        whole: dict[str, str] = {}
        if self.reads.fallback:
            everything = Graph()
            for quad in await view.all_quads():
                everything.add(_triple(quad))
            report = await asyncio.to_thread(
                validate,
                everything,
                shapes=self.shapes,
                ontology_graph=self._ontology_after(hierarchy),
                use_shapes=[URIRef(str(s)) for s in self.reads.fallback],
            )
            results += report.results
            whole = {str(s): why for s, why in self.reads.fallback.items()}
        results.sort(key=ValidationResult.order)
        method: Method = "incremental"
        if whole:
            method = "mixed" if self.reads.incremental else "whole-graph"
        verdict = ValidationReport(tuple(results))
        self.verdicts["conforms" if verdict.conforms else "violation"] += 1
        return GateReport(
            report=verdict,
            method=method,
            focus_nodes=len(focus),
            neighbourhood_triples=triples,
            whole_graph_shapes=whole,
        )

    async def _batches(
        self,
        view: AfterChange,
        ordered: list[Any],
        superclasses: dict[Any, set[Any]],
        mixed: Graph,
        sizes: list[int],
    ) -> AsyncIterator[_Neighbourhood]:
        """Each batch of focus nodes with its neighbourhood (its size added to ``sizes``)."""
        for start in range(0, len(ordered), self.batch_size):
            batch = ordered[start : start + self.batch_size]
            graph = Graph()
            for quad in await self.neighbourhood(view, set(batch)):
                graph.add(_triple(quad))
            sizes.append(len(graph))
            wanted = {to_rdflib(n) for n in batch}
            yield _Neighbourhood(
                graph=graph,
                pairs=self._targeted_pairs(graph, wanted, superclasses),
                hierarchy=mixed,
                keep=frozenset(n.n3() for n in wanted),
                done=start + len(batch),
            )

    def _progress(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _targeted_pairs(
        self, graph: Graph, focus: set[Any], superclasses: dict[Any, set[Any]]
    ) -> list[tuple[Any, Any]]:
        """(shape, focus node) for every focus node a shape's own targets select in ``graph``."""
        pairs = []
        for node in focus:
            types: set[Any] = set()
            for cls in graph.objects(node, RDF.type):
                types |= superclasses.get(cls, {cls})
            # Only the shapes that may select the node: those targeting one of its types or
            # the node itself, and those with targets of another kind.
            candidates = set(self._by_node.get(node, ()))
            for cls in types:
                candidates.update(self._by_class.get(cls, ()))
            for index in sorted(candidates | self._other_targets):
                targets = self._targets[index]
                if targets.selects(graph, node, types):
                    pairs.append((targets.shape, node))
        return pairs

    async def check_full(self, store: Store, delta: Delta) -> ValidationReport:
        """The same question answered by validating the whole graph after the change (slow; the
        reference the incremental answer is tested against): every data graph, with the
        package's ontology and the class axioms of the store's ontology graph mixed in."""
        everything = Graph()
        for quad in await AfterChange(store, delta).all_quads():
            everything.add(_triple(quad))
        ontology_graph = self._ontology_after(await self.class_hierarchy(store, delta))
        return await asyncio.to_thread(
            validate, everything, shapes=self.shapes, ontology_graph=ontology_graph
        )

    async def commit(
        self,
        store: Store,
        delta: Delta,
        *,
        meta: dict[str, Any] | None = None,
        expected_version: int | None = None,
        extra: Delta | None = None,
    ) -> tuple[Commit, GateReport]:
        """Validate ``delta`` and commit it (with ``extra``, bookkeeping that is not validated,
        such as history) if it conforms, on the version it was validated on.

        Raises ``ValidationFailed`` (nothing written) or ``VersionConflict``.
        """
        async with self.lock:
            return await self.commit_locked(
                store, delta, meta=meta, expected_version=expected_version, extra=extra
            )

    async def commit_locked(
        self,
        store: Store,
        delta: Delta,
        *,
        meta: dict[str, Any] | None = None,
        expected_version: int | None = None,
        extra: Delta | None = None,
        version: int | None = None,
        report: GateReport | None = None,
    ) -> tuple[Commit, GateReport]:
        """``commit`` for a caller that already holds ``lock`` (and may have checked the change
        on ``version`` already, passing its ``report``)."""
        if version is None:
            version = await store.version()
        if expected_version is not None and expected_version != version:
            raise VersionConflict(expected_version, version)
        gate = report if report is not None else await self.check(store, delta)
        if not gate.conforms:
            raise ValidationFailed(gate.report)
        combined = delta
        if extra:
            combined = Delta(delta.removes + extra.removes, delta.adds + extra.adds)
        # The store refuses the commit if another process moved the graph meanwhile.
        commit = await store.commit(combined, expected_version=version, meta=meta)
        return commit, gate
