"""The effect of a SPARQL Update: the quads it would remove and add, computed without writing.

One interpreter for every store. It runs the steps of an update's plan (``update_plan``) in
order, each seeing the effect of the ones before it, and keeps the net effect: a quad added and
then removed again is in neither list. What differs between stores is only how quads are looked
up and how a ``WHERE`` is evaluated; that is the ``Lookup`` a store hands in:

- the embedded store's query worker looks up its private replica (``ReplicaLookup``), changed to
  show the effect so far before each ``WHERE`` runs and put back exactly as it was at the end;
- an external store asks the endpoint (``ijkg.graph.store.remote``), and evaluates a ``WHERE``
  that follows a change in the same request on a scratch copy of the quads it can match.

A lookup may answer from the store as it was before the update or as the effect so far left it:
the interpreter lays the effect over every answer, which changes nothing in the second case.

The rules of the union default graph, the write graph and the graphs to keep are applied here,
once: triples written without a graph go to the write graph; triples deleted without a graph go
from every graph that holds them; ``DEFAULT``, ``ALL`` and ``NAMED`` as a graph to clear or to
copy from mean every named graph but those to keep (the service's own history and bookkeeping).
"""

from __future__ import annotations

from collections.abc import Collection, Coroutine, Iterable, Sequence
from typing import Any, Protocol

import pyoxigraph as ox

from ijkg.graph.core.errors import ResultTooLarge
from ijkg.graph.store import union
from ijkg.graph.store.base import Pattern, quad_pattern
from ijkg.graph.store.update_plan import (
    ClearStep,
    CopyStep,
    DataStep,
    GraphRef,
    PatternStep,
    Step,
    check_syntax,
    instantiate,
    plan_update,
)


def too_large(max_quads: int) -> ResultTooLarge:
    """The refusal of an update whose effect is over ``max_quads``."""
    return ResultTooLarge(f"the update would change more than {max_quads:,} quads; split it")


class Effect:
    """The net change of an update so far: quads removed and added, in the order first seen."""

    def __init__(self, max_quads: int) -> None:
        self.max_quads = max_quads
        self.removed: dict[ox.Quad, None] = {}
        self.added: dict[ox.Quad, None] = {}

    def __bool__(self) -> bool:
        return bool(self.removed or self.added)

    def holds(self, quad: ox.Quad, *, stored: bool) -> bool:
        """Whether the store as changed so far holds ``quad`` (``stored``: the lookup found it)."""
        return quad in self.added or (stored and quad not in self.removed)

    def add(self, quad: ox.Quad, *, stored: bool) -> None:
        if self.holds(quad, stored=stored):
            return
        if quad in self.removed:
            del self.removed[quad]
        else:
            self.added[quad] = None
            self._check()

    def remove(self, quad: ox.Quad, *, stored: bool) -> None:
        if not self.holds(quad, stored=stored):
            return
        if quad in self.added:
            del self.added[quad]
        else:
            self.removed[quad] = None
            self._check()

    def _check(self) -> None:
        if len(self.added) + len(self.removed) > self.max_quads:
            raise too_large(self.max_quads)


class Lookup(Protocol):
    """How one store finds quads and solutions for the interpreter. Answers may be from the store
    before the update or as ``effect`` left it (see the module's docstring)."""

    async def solutions(
        self, step: PatternStep, limit: int, effect: Effect
    ) -> Iterable[ox.QuerySolution]:
        """At most ``limit`` solutions of ``step.bounded_select`` (with the step's dataset) on the
        store as the effect so far left it."""
        ...

    async def match(self, patterns: Sequence[Pattern]) -> list[ox.Quad]:
        """The named-graph quads that match one of ``patterns`` (a graph of ``None``: any)."""
        ...

    async def graph_names(self) -> Collection[str]:
        """The names of the named graphs that hold quads."""
        ...

    async def graph_quads(self, name: str) -> list[ox.Quad]:
        """The quads of one named graph."""
        ...


async def compute(
    steps: Sequence[Step],
    lookup: Lookup,
    *,
    write_graph: str,
    max_quads: int,
    keep: Collection[str] = (),
) -> Effect:
    """The net effect of ``steps`` on the store ``lookup`` reads. Raises ``ResultTooLarge`` as
    soon as it is over ``max_quads``, and whatever the lookup raises."""
    run = _Run(lookup, Effect(max_quads), ox.NamedNode(write_graph), frozenset(keep))
    for step in steps:
        await run.step(step)
    return run.effect


class _Run:
    """One computation: the lookup, the effect so far and the rules of the graphs."""

    def __init__(
        self, lookup: Lookup, effect: Effect, write_graph: ox.NamedNode, keep: frozenset[str]
    ) -> None:
        self.lookup = lookup
        self.effect = effect
        self.write_graph = write_graph
        self.keep = keep

    async def step(self, step: Step) -> None:
        if isinstance(step, DataStep):
            self.remove_present(await self.everywhere(step.delete))
            await self.add([self.placed(quad) for quad in step.insert])
        elif isinstance(step, ClearStep):
            for name in await self.graphs(step.target):
                self.remove_present(await self.graph(name))
        elif isinstance(step, CopyStep):
            into = ox.NamedNode(step.target)
            copied = [
                ox.Quad(quad.subject, quad.predicate, quad.object, into)
                for name in await self.graphs(step.source)
                for quad in await self.graph(name)
            ]
            if step.replace:
                self.remove_present(await self.graph(step.target))
            await self.add(copied)
        else:
            await self.pattern(step)

    async def pattern(self, step: PatternStep) -> None:
        budget = self.effect.max_quads
        # One solution more than the effect may have quads is enough to refuse it.
        solutions = await self.lookup.solutions(step, budget + 1, self.effect)
        deletes: list[ox.Quad] = []
        inserts: list[ox.Quad] = []
        for number, solution in enumerate(solutions, 1):
            if number > budget:
                raise too_large(budget)
            deletes.extend(instantiate(step.delete, solution, fresh_blank_nodes=False))
            inserts.extend(
                self.placed(quad)
                for quad in instantiate(step.insert, solution, fresh_blank_nodes=True)
            )
            if len(deletes) + len(inserts) > budget:
                raise too_large(budget)
        self.remove_present(await self.everywhere(deletes))
        await self.add(inserts)

    def placed(self, quad: ox.Quad) -> ox.Quad:
        """A quad to write: triples without a graph go to the write graph."""
        if isinstance(quad.graph_name, ox.DefaultGraph):
            return ox.Quad(quad.subject, quad.predicate, quad.object, self.write_graph)
        return quad

    async def add(self, quads: Sequence[ox.Quad]) -> None:
        effect = self.effect
        unique = list(dict.fromkeys(quads))  # each once: ``stored`` is what was there before
        unknown = [q for q in unique if q not in effect.added and q not in effect.removed]
        stored = set(await self.lookup.match([quad_pattern(q) for q in unknown]))
        for quad in unique:
            effect.add(quad, stored=quad in stored)

    def remove_present(self, quads: Iterable[ox.Quad]) -> None:
        """Remove quads just read from the store as changed so far."""
        for quad in quads:
            self.effect.remove(quad, stored=True)

    async def everywhere(self, quads: Sequence[ox.Quad]) -> list[ox.Quad]:
        """The quads present (in the store as changed so far) that removing ``quads`` removes:
        a quad in the default graph (the union) is removed from every named graph that holds
        its triple."""
        unique = list(dict.fromkeys(quads))
        found = await self.lookup.match(
            [quad_pattern(q, any_graph=isinstance(q.graph_name, ox.DefaultGraph)) for q in unique]
        )
        wanted = set(unique)
        anywhere = {
            (q.subject, q.predicate, q.object)
            for q in unique
            if isinstance(q.graph_name, ox.DefaultGraph)
        }
        found += [
            q
            for q in self.effect.added
            if q in wanted or (q.subject, q.predicate, q.object) in anywhere
        ]
        return [q for q in dict.fromkeys(found) if q not in self.effect.removed]

    async def graphs(self, ref: GraphRef) -> list[str]:
        """The named graphs ``ref`` names: ``DEFAULT`` (the union), ``ALL`` and ``NAMED`` are
        every named graph but those to keep."""
        if ref not in ("DEFAULT", "ALL", "NAMED"):
            return [ref]
        names = set(await self.lookup.graph_names())
        names |= {
            q.graph_name.value for q in self.effect.added if isinstance(q.graph_name, ox.NamedNode)
        }
        return sorted(name for name in names if name not in self.keep)

    async def graph(self, name: str) -> list[ox.Quad]:
        """The quads of one named graph, as changed so far."""
        quads = [q for q in await self.lookup.graph_quads(name) if q not in self.effect.removed]
        quads += [
            q
            for q in self.effect.added
            if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value == name
        ]
        return list(dict.fromkeys(quads))


# --- the embedded store's replica ---------------------------------------------------------------


class ReplicaLookup:
    """A ``Lookup`` over a pyoxigraph store kept as the engine keeps it (named graphs, and their
    union as the default graph), as a query worker's replica is. Before a ``WHERE`` runs, the
    replica is changed to show the effect so far; ``restore`` puts it back exactly as it was."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self._removed: list[ox.Quad] = []  # what the replica shows removed and added now
        self._added: list[ox.Quad] = []

    async def solutions(
        self, step: PatternStep, limit: int, effect: Effect
    ) -> list[ox.QuerySolution]:
        self._show(effect)
        kwargs: dict[str, Any] = {}
        if step.default_graphs is not None or step.named_graphs is not None:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in step.default_graphs or []]
            if step.named_graphs is not None:
                kwargs["named_graphs"] = [ox.NamedNode(g) for g in step.named_graphs]
        solutions = self.store.query(step.bounded_select(limit), **kwargs)
        if not isinstance(solutions, ox.QuerySolutions):
            raise TypeError("an update's WHERE gave no solutions")
        # Read whole here (at most ``limit``): the iterator must not outlive this call, and be
        # dropped on another thread (pyoxigraph's are bound to the thread that made them).
        return list(solutions)

    async def match(self, patterns: Sequence[Pattern]) -> list[ox.Quad]:
        found: dict[ox.Quad, None] = {}
        for subject, predicate, obj, graph in patterns:
            for quad in self.store.quads_for_pattern(subject, predicate, obj, graph):
                if union.is_named(quad):
                    found[quad] = None
        return list(found)

    async def graph_names(self) -> list[str]:
        return [g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode)]

    async def graph_quads(self, name: str) -> list[ox.Quad]:
        return list(self.store.quads_for_pattern(None, None, None, ox.NamedNode(name)))

    def _show(self, effect: Effect) -> None:
        if list(effect.removed) == self._removed and list(effect.added) == self._added:
            return
        self.restore()
        self._removed, self._added = list(effect.removed), list(effect.added)
        union.remove(self.store, self._removed)
        union.add(self.store, self._added)

    def restore(self) -> None:
        """Put the replica back as it was before the update."""
        union.remove(self.store, self._added)
        union.add(self.store, self._removed)
        self._removed, self._added = [], []


def update_effect(
    store: ox.Store,
    text: str,
    *,
    write_graph: str,
    max_quads: int,
    keep: frozenset[str] = frozenset(),
    base_iri: str | None = None,
    using: tuple[list[str], list[str]] | None = None,
) -> tuple[list[ox.Quad], list[ox.Quad]]:
    """The quads ``text`` would remove and add on ``store`` (a pyoxigraph store whose default
    graph is the union of its named graphs); ``store`` is left unchanged.

    ``CLEAR``/``DROP``/``COPY`` of ``ALL``, ``NAMED`` or ``DEFAULT`` leave the graphs in ``keep``
    alone (the service's own history and bookkeeping).

    Raises ``SyntaxError`` (pyoxigraph's, with location), ``QuerySyntaxError``, ``QueryRefused``,
    ``ResultTooLarge``.

    >>> store = ox.Store()
    >>> g = ox.NamedNode("http://example.org/g")
    >>> _ = union.add(store, [ox.Quad(g, g, ox.Literal("1"), g)])
    >>> removes, adds = update_effect(
    ...     store, "COPY DEFAULT TO <http://example.org/h>", write_graph=g.value, max_quads=10
    ... )
    >>> removes, [q.graph_name.value for q in adds]
    ([], ['http://example.org/h'])
    """
    check_syntax(text, base_iri)
    steps = plan_update(text, base_iri=base_iri, using=using)
    lookup = ReplicaLookup(store)
    try:
        effect = _finish(
            compute(steps, lookup, write_graph=write_graph, max_quads=max_quads, keep=keep)
        )
        return list(effect.removed), list(effect.added)
    finally:
        lookup.restore()


def _finish(coroutine: Coroutine[Any, Any, Effect]) -> Effect:
    """Run ``compute`` over the replica without an event loop: a replica's lookups never wait,
    so the coroutine finishes the first time it is resumed."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        effect: Effect = done.value
        return effect
    coroutine.close()
    raise RuntimeError("a replica lookup waited")
