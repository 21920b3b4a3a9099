"""The ``Store`` interface: what the rest of ijkg needs from a triple store, and nothing more.

It is narrow on purpose so that the embedded engine and a remote SPARQL 1.1 endpoint can both
implement it: run a query with limits and get serialised bytes back; commit a change (quads to
remove, quads to add) atomically, optionally only if the graph is still at an expected version.
Everything else (validation, entities, history) is built on these two in ``ijkg.graph``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from ijkg.graph.core.errors import VersionsUnsupported
from ijkg.graph.core.formats import NQUADS, NTRIPLES, RESULTS_JSON, RdfSyntax, ResultsFormat
from ijkg.graph.core.settings import Settings
from ijkg.graph.core.terms import from_sparql_json
from ijkg.graph.store.lexical import canonical


@dataclass(frozen=True)
class Dataset:
    """The RDF dataset of a query. Both ``None``: the default graph is the union of all graphs,
    unless ``from_query``: then the query's own ``FROM``/``FROM NAMED`` say what it is (the store
    ignores a query's ``FROM`` when asked for the union)."""

    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    from_query: bool = False

    @property
    def is_union(self) -> bool:
        return self.default_graphs is None and self.named_graphs is None and not self.from_query


@dataclass(frozen=True)
class QueryLimits:
    """Hard limits of one query."""

    timeout_s: float
    memory_mb: int
    max_rows: int
    max_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        return cls(
            timeout_s=settings.query_timeout_s,
            memory_mb=settings.query_memory_mb,
            max_rows=settings.max_result_rows,
            max_bytes=settings.max_result_bytes,
        )


Form = Literal["select", "ask", "graph"]

#: A quad pattern: ``None`` is a wildcard (for the graph: any graph, named or default).
Pattern = tuple[
    ox.NamedNode | ox.BlankNode | None,
    ox.NamedNode | None,
    ox.NamedNode | ox.BlankNode | ox.Literal | None,
    ox.NamedNode | ox.BlankNode | ox.DefaultGraph | None,
]


def quad_pattern(quad: ox.Quad, *, any_graph: bool = False) -> Pattern:
    """The pattern that matches exactly ``quad`` (in any graph, with ``any_graph``)."""
    subject, obj = quad.subject, quad.object
    if isinstance(subject, ox.Triple) or isinstance(obj, ox.Triple):
        raise ValueError("quoted triples are not supported")
    return (subject, quad.predicate, obj, None if any_graph else quad.graph_name)


@dataclass(frozen=True)
class Answer:
    """A query's answer, already serialised in ``media_type``."""

    form: Form
    media_type: str
    body: bytes
    rows: int
    version: int


@dataclass(frozen=True)
class Delta:
    """A change to the graph: quads to remove, then quads to add."""

    removes: tuple[ox.Quad, ...] = ()
    adds: tuple[ox.Quad, ...] = ()

    def inverse(self) -> Delta:
        return Delta(removes=self.adds, adds=self.removes)

    def __bool__(self) -> bool:
        return bool(self.removes or self.adds)


@dataclass(frozen=True)
class Commit:
    """What a commit did. ``removed``/``added`` count the quads that really changed."""

    version_before: int
    version_after: int
    removed: int
    added: int


@dataclass(frozen=True)
class VersionInfo:
    """One version of the graph, as the commit that made it left it. ``time`` is the commit's
    UTC time as ``xsd:dateTime`` text (``None`` for versions committed before times were kept);
    ``who``/``why``/``change`` come from the commit's metadata (``change`` is the slug of the
    change it merged, if any); ``removed``/``added`` count the quads that really changed and
    ``quads`` the quads of the store after it (bookkeeping excluded; ``None`` if not known)."""

    version: int
    time: str | None
    who: str | None
    why: str | None
    change: str | None
    removed: int
    added: int
    quads: int | None


@dataclass(frozen=True)
class Patch:
    """Exactly what the commit that made ``info.version`` did: the quads it removed, then the
    quads it added (every graph, the history's own included; blank nodes as the store knows them).
    Applying ``removes`` then ``adds`` to the graph at ``info.version - 1`` gives the graph at
    ``info.version``, and the inverse goes back."""

    info: VersionInfo
    removes: tuple[ox.Quad, ...]
    adds: tuple[ox.Quad, ...]


@dataclass(frozen=True)
class StoreStats:
    kind: str
    store_id: str
    version: int
    quads: int
    details: dict[str, Any] = field(default_factory=dict)


class Store(ABC):
    """A triple store behind ijkg. All methods are coroutines; implementations are task-safe."""

    limits: QueryLimits

    @abstractmethod
    async def query(
        self,
        sparql: str,
        *,
        results: ResultsFormat | None = RESULTS_JSON,
        rdf: RdfSyntax | None = NTRIPLES,
        dataset: Dataset | None = None,
        base_iri: str | None = None,
        limits: QueryLimits | None = None,
        prefixes: bool = False,
        at_version: int | None = None,
    ) -> Answer:
        """Run a SPARQL query and serialise its answer.

        ``at_version`` runs it on the graph exactly as it was at that version (``None``: the
        current graph); ``VersionNotFound`` when the store cannot rebuild that version. The
        answer's ``version`` is then ``at_version``. The same limits hold as at the head.

        ``results`` is the format for SELECT/ASK and ``rdf`` the syntax for CONSTRUCT/DESCRIBE;
        ``None`` means the caller accepts no such answer (``UnsupportedFormat`` with the form).
        ``prefixes=True`` predeclares the project prefixes (``ijkg:``, ``skos:`` ...).

        Raises ``QuerySyntaxError``, ``QueryTimeout``, ``QueryOverloaded``, ``QueryAborted``,
        ``ResultTooLarge``, ``QueryError`` (evaluation), ``StoreUnavailable``.
        """

    @abstractmethod
    async def update_effect(
        self,
        update: str,
        *,
        write_graph: str,
        max_quads: int,
        keep_graphs: Collection[str] = (),
        limits: QueryLimits | None = None,
        base_iri: str | None = None,
        using: Dataset | None = None,
    ) -> tuple[Delta, int]:
        """What the SPARQL Update ``update`` would remove and add, computed on the current graph
        without writing anything (by ``ijkg.graph.store.effects``, the same for every store), and
        the version it was computed on. ``CLEAR ALL`` and the like leave ``keep_graphs`` alone.
        ``base_iri`` resolves relative IRIs; ``using`` is the protocol's using-graph-uri /
        using-named-graph-uri dataset.
        Raises the query errors, with ``ResultTooLarge`` when the effect is over ``max_quads``."""

    @abstractmethod
    async def match(self, patterns: Sequence[Pattern]) -> list[ox.Quad]:
        """Every quad that matches one of ``patterns`` (each quad once). Blank nodes in patterns
        are the store's own blank nodes, not variables: this is how the validation gate reads the
        neighbourhood of the nodes a change touches."""

    def stored_forms(self, quads: Sequence[ox.Quad]) -> list[ox.Quad]:
        """``quads`` (in order) as this store holds them and gives them back from ``match``: a
        typed literal in its datatype's canonical form (Oxigraph keeps the value, so ``"007"``
        comes back as ``"7"``). Compare quads a writer sent with quads read back in this form."""
        return canonical(quads)

    @abstractmethod
    async def version(self) -> int:
        """The current graph version (it grows by one with every commit that changes something)."""

    @abstractmethod
    async def commit(
        self,
        delta: Delta,
        *,
        expected_version: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Commit:
        """Apply ``delta`` atomically and durably. Raises ``VersionConflict`` when
        ``expected_version`` is given and the graph is no longer at it (nothing is written)."""

    @abstractmethod
    async def stats(self) -> StoreStats:
        """Store identity, version and size, for /health/ready and ETags."""

    # --- versions: the graph as it was ---------------------------------------------------------

    async def version_range(self) -> tuple[int, int]:
        """``(first, head)``: the oldest version the store can still rebuild (query, dump, list)
        and the current one. Version 0 is the empty store."""
        raise VersionsUnsupported(f"{type(self).__name__} keeps no history of its versions")

    async def history(self, *, after: int = 0, limit: int = 100) -> list[VersionInfo]:
        """The versions after ``after``, oldest first, at most ``limit`` of them (only those
        the store can rebuild: from ``version_range()[0] + 1`` on)."""
        raise VersionsUnsupported(f"{type(self).__name__} keeps no history of its versions")

    async def patch(self, version: int) -> Patch:
        """What the commit that made ``version`` did; ``VersionNotFound`` outside
        ``first + 1 .. head``."""
        raise VersionsUnsupported(f"{type(self).__name__} keeps no history of its versions")

    def known_down(self) -> str | None:
        """Why the store cannot answer, when this process knows it without asking (an engine
        process that exited), in a sentence; ``None`` otherwise. Never a round trip: the
        liveness probe asks it on every call."""
        return None

    @abstractmethod
    async def close(self) -> None:
        """Release the store (processes, connections)."""

    # --- conveniences over ``query`` ---------------------------------------------------------

    async def select(
        self,
        sparql: str,
        *,
        dataset: Dataset | None = None,
        prefixes: bool = True,
        at_version: int | None = None,
    ) -> list[dict[str, Node]]:
        """Run a SELECT and return its rows as ``{variable: rdflib term}`` (unbound omitted)."""
        answer = await self.query(sparql, dataset=dataset, prefixes=prefixes, at_version=at_version)
        data = json.loads(answer.body)
        return [
            {name: from_sparql_json(value) for name, value in row.items()}
            for row in data["results"]["bindings"]
        ]

    async def ask(
        self, sparql: str, *, dataset: Dataset | None = None, at_version: int | None = None
    ) -> bool:
        answer = await self.query(sparql, dataset=dataset, prefixes=True, at_version=at_version)
        return bool(json.loads(answer.body)["boolean"])

    async def construct(
        self, sparql: str, *, dataset: Dataset | None = None, at_version: int | None = None
    ) -> Graph:
        """Run a CONSTRUCT or DESCRIBE and return the triples as an rdflib Graph."""
        answer = await self.query(
            sparql, dataset=dataset, rdf=NTRIPLES, prefixes=True, at_version=at_version
        )
        graph = Graph()
        graph.parse(data=answer.body, format="nt")
        return graph

    def internal_limits(self) -> QueryLimits:
        """Limits for the service's own whole-graph reads (validation, export, bundle loading):
        the time limit is generous and the result caps, meant for researchers' answers, are off."""
        return QueryLimits(
            timeout_s=max(self.limits.timeout_s, 600.0),
            memory_mb=self.limits.memory_mb,
            max_rows=2**62,
            max_bytes=2**62,
        )

    async def graph_names(self) -> list[str]:
        """Names of the named graphs that hold at least one triple."""
        rows = await self.select(
            "SELECT ?g WHERE { GRAPH ?g { } FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }",
            prefixes=False,
        )
        return sorted(str(r["g"]) for r in rows if "g" in r)

    async def graph_quads(self, graph: str) -> list[ox.Quad]:
        """Every quad of one named graph (blank nodes as the store knows them)."""
        answer = await self.query(
            "CONSTRUCT WHERE { ?s ?p ?o }",
            rdf=NQUADS,
            dataset=Dataset(default_graphs=(graph,), named_graphs=()),
            limits=self.internal_limits(),
        )
        name = ox.NamedNode(graph)
        return [
            ox.Quad(q.subject, q.predicate, q.object, name)
            for q in ox.parse(input=answer.body, format=ox.RdfFormat.N_QUADS)
        ]
