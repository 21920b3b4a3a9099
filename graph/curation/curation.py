"""``Curation``: every way of changing the graph — proposals, the workflow's transitions, SPARQL
Update, the graph store protocol, validation of submitted RDF — for the facade
(``KnowledgeGraph.curation``). Permission checks, the writers' lock and retries live here, once.

Each write takes the ``Writer`` asking for it: what only the admin may write (the ontology, the
shapes, the project's own terms, updates that empty every graph) is refused here, whichever way
the write arrives.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from ijkg.graph.core.errors import (
    BadRequest,
    GraphNotFound,
    QueryRefused,
    RdfSyntaxError,
    ValidationFailed,
)
from ijkg.graph.core.formats import rdf_syntax_for_media_type
from ijkg.graph.core.namespaces import graph_iri
from ijkg.graph.core.rdfio import ParseOptions, parse_quads, write_nquads
from ijkg.graph.core.reports import ValidationReport
from ijkg.graph.core.settings import Settings
from ijkg.graph.core.writer import Writer
from ijkg.graph.curation.changes import (
    MAX_TITLE_CHARS,
    Change,
    Changes,
    Status,
    check_metadata,
    clean_metadata,
    get_change,
    list_changes,
    new_slug,
)
from ijkg.graph.curation.explain import Explainer, gate_report_json, submitted_graph
from ijkg.graph.curation.gate import Gate, GateReport
from ijkg.graph.curation.protection import (
    SERVICE_GRAPHS,
    ProtectedTerm,
    check_update_text,
    check_write,
    needs_admin,
)
from ijkg.graph.curation.validation_pool import Part, Submission, ValidationPool, Verdict
from ijkg.graph.sparql.text import check_graph_name, check_limits
from ijkg.graph.store.base import Dataset, Delta, Store


@dataclass(frozen=True)
class ChangeDiff:
    """A change with its diff as N-Quads and, while proposed, its report as of now."""

    change: Change
    additions: str
    removals: str
    report: dict[str, Any] | None


@dataclass(frozen=True)
class Written:
    """A write that was applied: the change recording it, the delta it applied, its explained
    report, and the graph's version after it."""

    change: Change
    delta: Delta
    report: dict[str, Any]
    store_id: str
    version: int


@dataclass(frozen=True)
class Loaded:
    """A bulk load that was applied: the change recording it, the graph's version after it and
    the warnings its report gave."""

    change: Change
    version: int
    warnings: int


@dataclass(frozen=True)
class CheckedUpdate:
    """A SPARQL Update whose text passed the checks: its text (escapes decoded) and the dataset
    the protocol's using-graph-uri parameters name."""

    text: str
    using: Dataset | None


def parse_parts(parts: Sequence[Part]) -> Delta:
    """The quads of a submission's RDF texts: what to remove and what to add."""
    removes: list[ox.Quad] = []
    adds: list[ox.Quad] = []
    for part in parts:
        options = ParseOptions(
            rdf_syntax_for_media_type(part.media_type),
            default_graph=part.graph,
            source=part.source,
        )
        (removes if part.role == "remove" else adds).extend(parse_quads(part.data, options))
    return Delta(removes=tuple(removes), adds=tuple(adds))


def _protocol_dataset(params: dict[str, list[str]]) -> Dataset | None:
    """The dataset of the protocol's using-graph-uri / using-named-graph-uri parameters (graph
    names of this store, never fetched), for operations that name none themselves."""
    default = params.get("using-graph-uri", [])
    named = params.get("using-named-graph-uri", [])
    if not default and not named:
        return None
    for iri in default:
        check_graph_name(iri, "using-graph-uri")
    for iri in named:
        check_graph_name(iri, "using-named-graph-uri")
    return Dataset(tuple(default), tuple(named))


#: The kinds of write ``Curation.commits`` counts.
COMMIT_KINDS = ("merge", "revert", "update", "graph_store")


class Curation:
    """The write side of one graph."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        gate: Gate,
        *,
        validation_pool: ValidationPool | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate
        self._explainer = Explainer(gate.shapes)
        self._changes = Changes(
            store, gate, max_quads=settings.max_change_quads, default_graph=settings.write_graph
        )
        self._validation_pool = validation_pool
        #: Writes committed by this process since start-up, by kind.
        self.commits = dict.fromkeys(COMMIT_KINDS, 0)

    async def close(self) -> None:
        if self._validation_pool is not None:
            await self._validation_pool.close()

    # --- validation and reports ------------------------------------------------------------

    async def validate(self, parts: tuple[Part, ...], wanted: str) -> Verdict:
        """The report on ``parts`` as if applied, in the ``wanted`` media type, from a validation
        worker (time- and memory-limited); nothing is written."""
        if self._validation_pool is None:
            raise RuntimeError("this graph was opened without validation workers")
        return await self._validation_pool.validate(
            self._store, Submission(parts, wanted), graph=self._settings.write_graph
        )

    def validation_stats(self) -> dict[str, int] | None:
        """The validation workers running, idle, starting and replaced since start-up (``None``
        when this graph was opened without them)."""
        if self._validation_pool is None:
            return None
        return self._validation_pool.stats()

    async def check(self, delta: Delta) -> ValidationReport:
        """The report on ``delta`` as if applied to the graph as it is now (in this process)."""
        return (await self._gate.check(self._store, delta)).report

    async def explain(self, report: ValidationReport) -> list[dict[str, Any]]:
        """A report's results, each explained (labels, what was expected and found, a
        suggestion), as JSON."""
        explained = await self._explainer.explain(self._store, report)
        return [e.as_json() for e in explained]

    async def _report_json(self, gate: GateReport, delta: Delta) -> dict[str, Any]:
        submitted = submitted_graph(list(delta.adds))
        explained = await self._explainer.explain(self._store, gate.report, submitted)
        return gate_report_json(gate, explained)

    async def _written(self, kind: str, change: Change, gate: GateReport, delta: Delta) -> Written:
        self.commits[kind] += 1
        stats = await self._store.stats()
        report = await self._report_json(gate, delta)
        return Written(change, delta, report, stats.store_id, stats.version)

    # --- the change workflow ------------------------------------------------------------------

    async def changes(
        self,
        *,
        status: Status | None = None,
        touching: str | None = None,
        author: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[Change]:
        """Changes, newest first: only those with ``status``, only those that touched the IRI
        ``touching`` (merged) or would (proposed), only those ``author`` proposed, at most
        ``limit`` of them, after the change ``before``."""
        if touching is not None:
            try:
                touching = ox.NamedNode(touching).value  # only an IRI reaches the query
            except ValueError as exc:
                raise BadRequest(f"'touching' is an IRI, not {touching[:80]!r} ({exc})") from None
        return await list_changes(
            self._store,
            status=status,
            touching=touching,
            author=author,
            limit=limit,
            before=before,
        )

    async def inspect(self, slug: str) -> ChangeDiff:
        """A change with its diff, and — while proposed — its report against the graph now."""
        return await self._detail(await get_change(self._store, slug))

    async def _detail(self, change: Change) -> ChangeDiff:
        report = None
        if change.status == "proposed":
            gate = await self._gate.check(self._store, change.delta)
            report = await self._report_json(gate, change.delta)
        return ChangeDiff(
            change,
            write_nquads(change.adds).decode(),
            write_nquads(change.removes).decode(),
            report,
        )

    async def propose(
        self,
        writer: Writer,
        parts: tuple[Part, ...],
        *,
        title: str | None,
        description: str = "",
        source: str | None = None,
        graph: str | None = None,
    ) -> ChangeDiff:
        """Record a proposal of ``parts``. One that would not conform with the graph as it is
        now is refused (``ValidationFailed``, with the report); it is validated again when it is
        merged, against the graph as it is then."""
        delta = parse_parts(parts)
        if not title:
            raise RdfSyntaxError("a change needs a title (the 'title' parameter)")
        check_metadata(title=title, description=description, source=source, author=writer.name)
        placed = await self._changes.placed(delta, graph)
        check_write(placed, admin=writer.admin)
        gate = await self._gate.check(self._store, placed)
        if not gate.conforms:
            raise ValidationFailed(gate.report)
        change = await self._changes.propose(
            delta,
            title=title,
            author=writer.name,
            description=description,
            source=source,
            target_graph=graph,
        )
        return await self._detail(change)

    async def merge(
        self, writer: Writer, slug: str, *, expected_version: int | None = None
    ) -> Written:
        """Re-validate a proposed change on the current graph and apply it with its history."""
        original = await get_change(self._store, slug)
        check_write(original.delta, admin=writer.admin)
        change, _commit, gate = await self._changes.merge(
            slug, who=writer.name, expected_version=expected_version
        )
        return await self._written("merge", change, gate, change.delta)

    async def reject(self, writer: Writer, slug: str, *, reason: str = "") -> Change:
        """Close a proposal without merging it; one only the admin may write, the admin only may
        close (``ProtectedTerm``)."""
        original = await get_change(self._store, slug)
        if not writer.admin and needs_admin(original.delta):
            raise ProtectedTerm(
                f"change {slug} writes what only the admin may write (the ontology, the shapes "
                "or the project's own terms): merging or rejecting it needs the admin role"
            )
        return await self._changes.reject(slug, who=writer.name, reason=reason)

    async def revert(
        self, writer: Writer, slug: str, *, expected_version: int | None = None
    ) -> Written:
        """Undo a merged change with a new, validated change recorded in the history."""
        original = await get_change(self._store, slug)
        check_write(original.delta, admin=writer.admin)
        change, _commit, gate = await self._changes.revert(
            slug, who=writer.name, expected_version=expected_version
        )
        return await self._written("revert", change, gate, change.delta)

    # --- SPARQL Update --------------------------------------------------------------------------

    def check_update(
        self, writer: Writer, text: str, params: dict[str, list[str]]
    ) -> CheckedUpdate:
        """Check an update's text before anything runs: its size and nesting, ``SERVICE`` and
        ``LOAD`` (refused), the graph names of its dataset, and what only the admin may do."""
        using = _protocol_dataset(params)
        settings = self._settings
        decoded, scan = check_limits(
            text, max_bytes=settings.max_body_bytes, max_depth=settings.max_query_depth
        )
        if "SERVICE" in scan.keywords:
            raise QueryRefused("SERVICE is refused: updates never reach other endpoints")
        if "LOAD" in scan.keywords:
            raise QueryRefused("LOAD is refused: this service never fetches from the web or disk")
        for role, iri in scan.graph_iris:
            # The dataset an update reads, named in its text: graphs of this store, never
            # fetched, and never file: or the like (as FROM in a query, and the using-graph-uri
            # parameters).
            if role in ("USING", "USING NAMED", "WITH"):
                check_graph_name(iri, role, relative=True)
        check_update_text(scan.keywords, admin=writer.admin)
        return CheckedUpdate(decoded, using)

    async def update(
        self,
        writer: Writer,
        update: CheckedUpdate,
        *,
        base_iri: str,
        expected_version: int | None = None,
    ) -> Written:
        """Apply a checked update: its effect computed, vetted, validated and applied with its
        history, computed again when other writes overtook it."""
        store = self._store
        settings = self._settings

        async def effect(under_lock: bool) -> tuple[Delta, int]:
            # Computed outside the writers' lock with the query time limit; under it (when other
            # writes kept overtaking it) with the shorter limit, so other writers wait no longer.
            limits = store.limits
            if under_lock:
                timeout = min(limits.timeout_s, settings.update_lock_timeout_s)
                limits = dataclasses.replace(limits, timeout_s=timeout)
            return await store.update_effect(
                update.text,
                write_graph=settings.write_graph,
                max_quads=settings.max_change_quads,
                keep_graphs=SERVICE_GRAPHS,
                limits=limits,
                base_iri=base_iri,
                using=update.using,
            )

        change, _commit, gate, delta = await self._changes.write_computed(
            effect,
            check=lambda delta: check_write(delta, admin=writer.admin),
            who=writer.name,
            via="update",
            title="SPARQL Update",
            description=clean_metadata(update.text, 2000),
            expected_version=expected_version,
        )
        return await self._written("update", change, gate, delta)

    # --- the graph store protocol ---------------------------------------------------------------

    def new_graph_name(self) -> str:
        """A fresh graph IRI for an upload that names no graph."""
        return graph_iri("upload-" + new_slug())

    async def write_graph(
        self,
        writer: Writer,
        target: str,
        *,
        body: Part | None,
        replace: bool,
        what: str,
        expected_version: int | None = None,
    ) -> Written:
        """Replace (``replace``) or add to the graph ``target`` with the triples of ``body``
        (one graph's only), or with none: remove it (``GraphNotFound`` when it holds none)."""
        adds: list[ox.Quad] = []
        if body is not None:
            adds = parse_quads(
                body.data,
                ParseOptions(
                    syntax=rdf_syntax_for_media_type(body.media_type),
                    default_graph=target,
                    single_graph=True,
                    source=body.source,
                ),
            )
        store = self._store

        async def effect(_under_lock: bool) -> tuple[Delta, int]:
            # What the graph holds now: a PUT replaces exactly that (applied only if the graph is
            # still at this version, otherwise read again).
            version = await store.version()
            existing = await store.graph_quads(target) if replace else []
            if body is None and not existing:
                raise GraphNotFound(f"no graph <{target}> in this store")
            return Delta(removes=tuple(existing), adds=tuple(adds)), version

        change, _commit, gate, delta = await self._changes.write_computed(
            effect,
            check=lambda delta: check_write(delta, admin=writer.admin),
            who=writer.name,
            via="graph-store",
            title=clean_metadata(
                f"Graph Store {what} <{target}>", MAX_TITLE_CHARS, multiline=False
            ),
            expected_version=expected_version,
        )
        return await self._written("graph_store", change, gate, delta)

    # --- the operator's bulk load ------------------------------------------------------------

    async def load(
        self,
        delta: Delta,
        *,
        who: str,
        title: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> Loaded:
        """Add ``delta`` through the gate, recorded as a change merged on arrival. The local
        operator may load any graph but the service's own history and bookkeeping, and is not
        held to the size limit of an HTTP change. ``progress(done, total)`` follows a long
        validation's focus nodes. ``title`` is cut to a title's length."""
        title = clean_metadata(title, MAX_TITLE_CHARS, multiline=False)
        check_write(delta, admin=True)
        changes = Changes(
            self._store, self._gate, max_quads=sys.maxsize, default_graph=self._settings.write_graph
        )
        self._gate.progress = progress
        try:
            change, commit, gate = await changes.write(delta, who=who, via="load", title=title)
        finally:
            self._gate.progress = None
        return Loaded(change, commit.version_after, len(gate.report.warnings))
