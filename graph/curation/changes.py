"""Changes: proposals of triples to add and remove, merged through the gate with their history.

A change is proposed (stored as text in the changes graph, so it asserts nothing yet), inspected
(its diff and its validation report as of now), then merged — validated against the current graph
and applied atomically together with its PROV-O record — or rejected. A merged change is reverted by
a new change that undoes it, validated like any other. Writes that do not start as proposals (SPARQL
Update, the Graph Store Protocol, ``ijkg load``) are recorded the same way, as changes merged on
arrival, so the history covers every write.

In the changes graph, for each change ``<.../id/change/{slug}>`` and its merge
``<.../id/merge/{slug}>``: title, description, source, author, time, status, the quads as N-Quads
text, the version before and after, the report that cleared it; and ``<entity> ijkg:changedBy
<merge>`` for every resource the merge touched.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import pyoxigraph as ox

from ijkg.graph.core.errors import BadRequest, Conflict, NotFound, TooLarge, VersionConflict
from ijkg.graph.core.ingest import PoisonTerm, problem_with
from ijkg.graph.core.namespaces import CHANGES_GRAPH, ID_BASE, IJKG, entity_iri
from ijkg.graph.core.rdfio import read_nquads, write_nquads
from ijkg.graph.core.terms import to_rdflib
from ijkg.graph.curation.gate import Gate, GateReport, is_data
from ijkg.graph.sparql.build import sparql_iri, sparql_string
from ijkg.graph.store.base import Commit, Delta, Store, quad_pattern

T = TypeVar("T")
Status = Literal["proposed", "merged", "rejected"]
WritePath = Literal["change", "update", "graph-store", "load", "revert"]


class ChangeNotFound(NotFound):
    """No change with that id."""


class ChangeConflict(Conflict):
    """The change is not in a state that allows this (e.g. merging a rejected change)."""


class ChangeTooLarge(TooLarge):
    """The change has more quads than a change may have."""


class BadMetadata(BadRequest):
    """A change's title, description, source, author or a rejection's reason is too long, or
    holds a control character or a bidirectional-text control."""


#: Limits of a change's metadata, in characters.
MAX_TITLE_CHARS = 300
MAX_DESCRIPTION_CHARS = 10_000
MAX_SOURCE_CHARS = 4_096
MAX_AUTHOR_CHARS = 200
MAX_REASON_CHARS = 2_000
#: Bidirectional-text controls: they make text display as other text (a title that reads
#: "exe.txt" shown as "txt.exe").
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MULTILINE = frozenset({"description", "reason"})


def _refused_char(char: str, *, multiline: bool) -> bool:
    if multiline and char in "\n\t":
        return False
    return char in _BIDI or unicodedata.category(char) in ("Cc", "Cs")


def check_metadata(
    *,
    title: str | None = None,
    description: str | None = None,
    source: str | None = None,
    author: str | None = None,
    reason: str | None = None,
) -> None:
    """Raise ``BadMetadata`` if a piece of a change's metadata is over its limit or holds a
    control character (NUL, ESC ...; a description and a reason may have lines and tabs), a
    lone surrogate or a bidirectional-text control (U+202E ...).

    >>> check_metadata(title="Semiconductor MoC", description="Signed.\\nAt the summit.")
    >>> check_metadata(title="evil\\u202etxt.exe")
    Traceback (most recent call last):
    ...
    ijkg.graph.curation.changes.BadMetadata: the title holds the control character U+202E at 4 ...
    """
    fields = (
        ("title", title, MAX_TITLE_CHARS),
        ("description", description, MAX_DESCRIPTION_CHARS),
        ("source", source, MAX_SOURCE_CHARS),
        ("author", author, MAX_AUTHOR_CHARS),
        ("reason", reason, MAX_REASON_CHARS),
    )
    for name, value, limit in fields:
        if value is None:
            continue
        if len(value) > limit:
            raise BadMetadata(
                f"the {name} has {len(value):,} characters; a change's {name} may have {limit:,}"
            )
        multiline = name in _MULTILINE
        for position, char in enumerate(value):
            if _refused_char(char, multiline=multiline):
                raise BadMetadata(
                    f"the {name} holds the control character U+{ord(char):04X} at {position} "
                    "(control characters and bidirectional-text controls are refused)"
                )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def clean_metadata(text: str, limit: int, *, multiline: bool = True) -> str:
    """Metadata the service writes from other text (an update's text as its description): the
    characters ``check_metadata`` refuses replaced by U+FFFD, cut to ``limit``.

    >>> clean_metadata("INSERT DATA { <a> <b> \\"\\x1b[31m\\" }", 100)
    'INSERT DATA { <a> <b> "\ufffd[31m" }'
    """
    cleaned = "".join(
        "\ufffd" if _refused_char(c, multiline=multiline) else c for c in text[: limit + 1]
    )
    return _clip(cleaned, limit)


_GRAPH = ox.NamedNode(CHANGES_GRAPH)
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
_XSD = "http://www.w3.org/2001/XMLSchema#"
_DC = "http://purl.org/dc/terms/"
_PROV = "http://www.w3.org/ns/prov#"
_STATUS_CONCEPT = ID_BASE + "concept/change-"


def _ijkg(name: str) -> ox.NamedNode:
    return ox.NamedNode(IJKG + name)


def _dc(name: str) -> ox.NamedNode:
    return ox.NamedNode(_DC + name)


def _prov(name: str) -> ox.NamedNode:
    return ox.NamedNode(_PROV + name)


def _typed(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(_XSD + datatype))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _arriving(
    delta: Delta, who: str, via: WritePath, title: str, description: str, source: str | None
) -> Change:
    """A write that does not start as a proposal, as the change merged on arrival."""
    return Change(
        slug=new_slug(),
        title=title,
        description=description,
        source=source,
        author=who,
        created=_now(),
        status="merged",
        write_path=via,
        removes=delta.removes,
        adds=delta.adds,
    )


def new_slug() -> str:
    """Sortable by time, unique: ``20261126-061530-123-3f9a1c``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")[:-3]
    return f"{stamp}-{secrets.token_hex(3)}"


def agent_iri(name: str) -> str:
    return entity_iri("agent", "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-"))


@dataclass(frozen=True)
class MergeRecord:
    iri: str
    who: str
    started: str
    ended: str
    version_before: int
    version_after: int
    report: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """A change and where it is in its life."""

    slug: str
    title: str
    description: str
    source: str | None
    author: str
    created: str
    status: Status
    write_path: WritePath
    removes: tuple[ox.Quad, ...] = ()
    adds: tuple[ox.Quad, ...] = ()
    reverts: str | None = None
    reverted_by: str | None = None
    merge: MergeRecord | None = None
    target_graph: str | None = None
    #: Why a rejected change was rejected, as the curator wrote it ("" when no reason was given).
    reason: str | None = None

    @property
    def iri(self) -> str:
        return entity_iri("change", self.slug)

    @property
    def delta(self) -> Delta:
        return Delta(removes=self.removes, adds=self.adds)


@dataclass
class _Record:
    """Quads of the changes graph being written for one change."""

    quads: list[ox.Quad] = field(default_factory=list)

    def add(self, s: str, p: ox.NamedNode, o: ox.NamedNode | ox.Literal) -> None:
        self.quads.append(ox.Quad(ox.NamedNode(s), p, o, _GRAPH))


def _status(status: Status) -> ox.NamedNode:
    return ox.NamedNode(_STATUS_CONCEPT + status)


def _describe_change(change: Change) -> list[ox.Quad]:
    record = _Record()
    iri = change.iri
    record.add(iri, _RDF_TYPE, _ijkg("Change"))
    record.add(iri, _dc("title"), ox.Literal(change.title))
    if change.description:
        record.add(iri, _dc("description"), ox.Literal(change.description))
    if change.source:
        record.add(iri, _dc("source"), source_term(change.source))
    record.add(iri, _dc("creator"), ox.NamedNode(agent_iri(change.author)))
    record.add(iri, _prov("wasAttributedTo"), ox.NamedNode(agent_iri(change.author)))
    record.add(agent_iri(change.author), _RDF_TYPE, _prov("Agent"))
    record.add(agent_iri(change.author), _RDFS_LABEL, ox.Literal(change.author))
    record.add(iri, _dc("created"), _typed(change.created, "dateTime"))
    record.add(iri, _ijkg("changeStatus"), _status(change.status))
    record.add(iri, _ijkg("writePath"), ox.Literal(change.write_path))
    for chunk in _chunks(write_nquads(change.adds)):
        record.add(iri, _ijkg("additions"), ox.Literal(chunk))
    for chunk in _chunks(write_nquads(change.removes)):
        record.add(iri, _ijkg("removals"), ox.Literal(chunk))
    record.add(iri, _ijkg("addedCount"), _typed(str(len(change.adds)), "integer"))
    record.add(iri, _ijkg("removedCount"), _typed(str(len(change.removes)), "integer"))
    if change.target_graph:
        record.add(iri, _ijkg("targetGraph"), ox.NamedNode(change.target_graph))
    if change.reverts:
        record.add(iri, _ijkg("reverts"), ox.NamedNode(entity_iri("change", change.reverts)))
    return record.quads


def source_term(source: str) -> ox.NamedNode | ox.Literal:
    """A change's source as it is recorded: a link when it is written as one (``scheme://``),
    otherwise text. A link must be a valid IRI the graph accepts (``ijkg.graph.core.ingest``): the
    history is shown on pages like any other data, so a ``javascript:`` link is refused here.

    >>> source_term("https://www.mea.gov.in/x"), source_term("the minister's speech")
    (<NamedNode value=https://www.mea.gov.in/x>, <Literal value=the minister's speech ...>)
    >>> source_term("javascript://%0Aalert(1)")
    Traceback (most recent call last):
    ...
    ijkg.graph.core.ingest.PoisonTerm: source: <javascript://%0Aalert(1)>: the IRI scheme ...
    """
    if "://" not in source:
        return ox.Literal(source)
    try:
        node = ox.NamedNode(source)
    except ValueError as exc:
        raise PoisonTerm(f"source: {source[:80]!r} is not a valid IRI ({exc})") from None
    problem = problem_with(node)
    if problem is not None:
        raise PoisonTerm(f"source: {problem}")
    return node


def is_slug(text: str) -> bool:
    """Whether ``text`` can be the id of a change (what ``new_slug`` makes, or a hand-made id of
    letters, digits and dashes): the only ids that are ever put into a query.

    >>> is_slug("20261126-061530-123-3f9a1c"), is_slug('x") || true || ("')
    (True, False)
    """
    return _SLUG.fullmatch(text) is not None


_SLUG = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,79}")


#: Largest piece of a change's N-Quads kept in one literal (a store's parsers cap line length).
_CHUNK_BYTES = 1 << 20


def _chunks(nquads: bytes) -> list[str]:
    """N-Quads text in pieces of at most about a megabyte, cut between lines. Lines of N-Quads
    do not depend on each other, so the pieces can be stored as separate values of one property
    (in any order) and read back by joining them."""
    if not nquads:
        return [""]
    pieces = []
    start = 0
    while start < len(nquads):
        end = min(start + _CHUNK_BYTES, len(nquads))
        if end < len(nquads):
            end = nquads.rfind(b"\n", start, end) + 1 or nquads.find(b"\n", end) + 1 or len(nquads)
        pieces.append(nquads[start:end].decode())
        start = end
    return pieces


def _touched(delta: Delta) -> set[ox.NamedNode]:
    """The resources a change says something about (IRIs only)."""
    touched: set[ox.NamedNode] = set()
    for quad in (*delta.removes, *delta.adds):
        for term in (quad.subject, quad.object):
            if isinstance(term, ox.NamedNode):
                touched.add(term)
    return touched


def _describe_merge(change: Change, merge: MergeRecord) -> list[ox.Quad]:
    record = _Record()
    iri = merge.iri
    record.add(iri, _RDF_TYPE, _ijkg("Merge"))
    record.add(iri, _RDF_TYPE, _prov("Activity"))
    record.add(iri, _RDFS_LABEL, ox.Literal(f"merge of {change.title}"))
    record.add(iri, _prov("used"), ox.NamedNode(change.iri))
    record.add(iri, _prov("wasAssociatedWith"), ox.NamedNode(agent_iri(merge.who)))
    record.add(agent_iri(merge.who), _RDF_TYPE, _prov("Agent"))
    record.add(agent_iri(merge.who), _RDFS_LABEL, ox.Literal(merge.who))
    record.add(iri, _prov("startedAtTime"), _typed(merge.started, "dateTime"))
    record.add(iri, _prov("endedAtTime"), _typed(merge.ended, "dateTime"))
    record.add(iri, _ijkg("versionBefore"), _typed(str(merge.version_before), "integer"))
    record.add(iri, _ijkg("versionAfter"), _typed(str(merge.version_after), "integer"))
    record.add(iri, _ijkg("validationReport"), ox.Literal(json.dumps(merge.report)))
    if change.description:
        record.add(iri, _dc("description"), ox.Literal(change.description))
    for node in _touched(change.delta):
        record.quads.append(ox.Quad(node, _ijkg("changedBy"), ox.NamedNode(iri), _GRAPH))
    return record.quads


def _check_size(delta: Delta, max_quads: int) -> None:
    size = len(delta.adds) + len(delta.removes)
    if size > max_quads:
        raise ChangeTooLarge(f"the change has {size:,} quads; a change may have {max_quads:,}")


# --- reading ------------------------------------------------------------------------------------


def _slug_of(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


#: How the label of a rejected change starts; the curator's reason follows.
_REJECTED = "rejected: "
_CHANGE_FIELDS = f"""
  ?change a ijkg:Change ; dcterms:title ?title ; dcterms:created ?created ;
          ijkg:changeStatus ?status ; ijkg:writePath ?path ; dcterms:creator/rdfs:label ?author ;
          ijkg:addedCount ?added ; ijkg:removedCount ?removed .
  OPTIONAL {{ ?change dcterms:description ?description }}
  OPTIONAL {{ ?change dcterms:source ?source }}
  OPTIONAL {{ ?change ijkg:targetGraph ?target }}
  OPTIONAL {{ ?change ijkg:reverts ?reverts }}
  OPTIONAL {{ ?change rdfs:label ?rejection FILTER(STRSTARTS(STR(?rejection), "{_REJECTED}")) }}
  OPTIONAL {{ ?revert ijkg:reverts ?change ; ijkg:changeStatus <{_STATUS_CONCEPT}merged> }}
  OPTIONAL {{ ?merge prov:used ?change ; prov:wasAssociatedWith/rdfs:label ?who ;
              prov:startedAtTime ?started ; prov:endedAtTime ?ended ;
              ijkg:versionBefore ?before ; ijkg:versionAfter ?after ;
              ijkg:validationReport ?report }}
"""


def _iso(value: Any) -> str:
    """An xsd:dateTime from a query as ``2026-11-26T06:05:40.614Z``."""
    moment = value.toPython() if hasattr(value, "toPython") else value
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def _change_from_row(
    row: dict[str, Any], removes: tuple[ox.Quad, ...] = (), adds: tuple[ox.Quad, ...] = ()
) -> Change:
    merge = None
    if "merge" in row:
        merge = MergeRecord(
            iri=str(row["merge"]),
            who=str(row["who"]),
            started=_iso(row["started"]),
            ended=_iso(row["ended"]),
            version_before=int(row["before"]),
            version_after=int(row["after"]),
            report=json.loads(str(row["report"])),
        )
    return Change(
        slug=_slug_of(str(row["change"])),
        title=str(row["title"]),
        description=str(row.get("description", "")),
        source=str(row["source"]) if "source" in row else None,
        author=str(row["author"]),
        created=_iso(row["created"]),
        status=str(row["status"]).removeprefix(_STATUS_CONCEPT),  # type: ignore[arg-type]
        write_path=str(row["path"]),  # type: ignore[arg-type]
        removes=removes,
        adds=adds,
        reverts=_slug_of(str(row["reverts"])) if "reverts" in row else None,
        reverted_by=_slug_of(str(row["revert"])) if "revert" in row else None,
        merge=merge,
        target_graph=str(row["target"]) if "target" in row else None,
        reason=str(row["rejection"]).removeprefix(_REJECTED) if "rejection" in row else None,
    )


async def get_change(store: Store, slug: str, *, with_quads: bool = True) -> Change:
    """One change, with its quads. Raises ``ChangeNotFound``."""
    if not is_slug(slug):
        raise ChangeNotFound(f"no change {slug[:80]!r}")
    iri = entity_iri("change", slug)
    rows = await store.select(
        f"""SELECT * WHERE {{ GRAPH <{CHANGES_GRAPH}> {{
              VALUES ?change {{ <{iri}> }} {_CHANGE_FIELDS} }} }} LIMIT 1"""
    )
    if not rows:
        raise ChangeNotFound(f"no change {slug!r}")
    if not with_quads:
        return _change_from_row(rows[0])
    return _change_from_row(
        rows[0],
        removes=await _quads_of(store, iri, "removals"),
        adds=await _quads_of(store, iri, "additions"),
    )


async def _quads_of(store: Store, iri: str, prop: str) -> tuple[ox.Quad, ...]:
    """The quads a change adds or removes, from the pieces its record holds them in."""
    rows = await store.select(
        f"SELECT ?piece WHERE {{ GRAPH <{CHANGES_GRAPH}> {{ <{iri}> ijkg:{prop} ?piece }} }}"
    )
    return tuple(read_nquads("".join(str(r["piece"]) for r in rows).encode()))


async def list_changes(
    store: Store,
    *,
    status: Status | None = None,
    touching: str | None = None,
    author: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[Change]:
    """Changes, newest first, without their quads. ``before`` is a slug (keyset paging);
    ``touching`` keeps the merged changes that touched that resource and the proposals that
    would, ``author`` those its writer (by name) proposed."""
    filters = []
    if status is not None:
        filters.append(f"FILTER(?status = <{_STATUS_CONCEPT}{status}>)")
    if author is not None:
        filters.append(f"FILTER(STR(?author) = {sparql_string(author)})")
    if before is not None:
        if not is_slug(before):
            raise BadRequest(f"'before' is the id of a change, not {before[:80]!r}")
        filters.append(f'FILTER(STR(?change) < "{entity_iri("change", before)}")')
    touch = ""
    if touching:
        # A merge of its own (joined to the merge of the OPTIONAL above, a change never merged
        # would pair with every merge that touched the resource); a proposal by its text.
        touch = f"""FILTER EXISTS {{
          {{ <{touching}> ijkg:changedBy ?touched . ?touched prov:used ?change }}
          UNION
          {{ ?change ijkg:changeStatus <{_STATUS_CONCEPT}proposed> ;
                     ijkg:additions|ijkg:removals ?piece .
             FILTER(CONTAINS(?piece, {sparql_string(f"<{touching}>")})) }} }}"""
    where = f"{_CHANGE_FIELDS} {touch} {' '.join(filters)}"
    rows = await store.select(
        f"""SELECT * WHERE {{ GRAPH <{CHANGES_GRAPH}> {{ {where} }} }}
            ORDER BY DESC(STR(?change)) LIMIT {int(limit)}"""
    )
    return [_change_from_row(row) for row in rows]


# --- writing ------------------------------------------------------------------------------------


_ATTEMPTS = 3


async def _retrying(attempt: Callable[[], Awaitable[T]], *, pinned: bool) -> T:
    """Run a validate-and-commit attempt again when another writer (another service worker on
    the same external store) moved the graph in between: each attempt validates against the
    graph as it is then. A client that pinned the version (``If-Match``) gets the conflict."""
    for remaining in range(_ATTEMPTS - 1, -1, -1):
        try:
            return await attempt()
        except VersionConflict:
            if pinned or not remaining:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class Changes:
    """The change workflow over one store and its gate."""

    def __init__(self, store: Store, gate: Gate, *, max_quads: int, default_graph: str) -> None:
        self.store = store
        self.gate = gate
        self.max_quads = max_quads
        self.default_graph = default_graph

    async def propose(
        self,
        delta: Delta,
        *,
        title: str,
        author: str,
        description: str = "",
        source: str | None = None,
        target_graph: str | None = None,
        reverts: str | None = None,
    ) -> Change:
        """Record a proposal (nothing enters the data until it is merged).

        Raises ``BadMetadata`` for a title, description, source or author over its limit or with
        control characters, before anything else is looked at."""
        check_metadata(title=title, description=description, source=source, author=author)
        if not title.strip():
            raise ChangeConflict("a change needs a title")
        if source:
            source_term(source)  # refused before anything is validated
        target = target_graph or self.default_graph
        delta = await self.placed(delta, target)
        _check_size(delta, self.max_quads)
        change = Change(
            slug=new_slug(),
            title=title.strip(),
            description=description.strip(),
            source=source,
            author=author,
            created=_now(),
            status="proposed",
            write_path="revert" if reverts else "change",
            removes=delta.removes,
            adds=delta.adds,
            reverts=reverts,
            target_graph=target,
        )
        await self.store.commit(
            Delta(adds=tuple(_describe_change(change))),
            meta={"who": author, "why": f"propose change {change.slug}"},
        )
        return change

    async def placed(self, delta: Delta, target_graph: str | None = None) -> Delta:
        """A submission with its graphs made explicit: triples to add that name no graph go to
        the target graph; triples to remove that name no graph are removed from every data graph
        that holds them (the default graph is the union, as in SPARQL Update)."""
        try:
            target = ox.NamedNode(target_graph or self.default_graph)
        except ValueError as exc:
            raise BadRequest(f"the target graph {target_graph!r} is not an IRI ({exc})") from None
        adds = tuple(
            ox.Quad(q.subject, q.predicate, q.object, target)
            if isinstance(q.graph_name, ox.DefaultGraph)
            else q
            for q in delta.adds
        )
        unplaced = [q for q in delta.removes if isinstance(q.graph_name, ox.DefaultGraph)]
        removes = [q for q in delta.removes if not isinstance(q.graph_name, ox.DefaultGraph)]
        if unplaced:
            patterns = [quad_pattern(q, any_graph=True) for q in unplaced]
            removes += [q for q in await self.store.match(patterns) if is_data(q)]
        return Delta(removes=tuple(dict.fromkeys(removes)), adds=adds)

    async def check(self, change: Change) -> GateReport:
        """The change's validation report against the graph as it is now."""
        return await self.gate.check(self.store, change.delta)

    async def merge(
        self, slug: str, *, who: str, expected_version: int | None = None
    ) -> tuple[Change, Commit, GateReport]:
        """Validate a proposed change against the current graph and apply it with its history,
        atomically. Raises ``ValidationFailed`` (nothing written), ``VersionConflict``,
        ``ChangeConflict``, ``ChangeNotFound``."""

        async def attempt() -> tuple[Change, Commit, GateReport]:
            async with self.gate.lock:
                # The version first, then the change's state: the commit is conditional on that
                # version, so a transition another process made after it is seen on the retry.
                version = await self.store.version()
                change = await get_change(self.store, slug)
                if change.status != "proposed":
                    raise ChangeConflict(f"change {slug} is {change.status}, not proposed")
                return await self._apply(
                    change,
                    who=who,
                    expected_version=expected_version,
                    status_from="proposed",
                    version=version,
                )

        return await _retrying(attempt, pinned=expected_version is not None)

    async def _apply(
        self,
        change: Change,
        *,
        who: str,
        expected_version: int | None,
        status_from: Status | None,
        version: int | None = None,
        report: GateReport | None = None,
    ) -> tuple[Change, Commit, GateReport]:
        """Validate and commit ``change`` with its history, on ``version`` (read now if not
        given; a caller that checked the change's state reads it before that). ``report`` is
        the change's report on that version, when the caller has it already."""
        started = _now()
        if version is None:
            version = await self.store.version()
        if expected_version is not None and expected_version != version:
            raise VersionConflict(expected_version, version)
        history_removes: list[ox.Quad] = []
        history_adds: list[ox.Quad] = []
        status = _ijkg("changeStatus")
        if status_from is None:
            history_adds += _describe_change(change)
        else:
            history_removes.append(
                ox.Quad(ox.NamedNode(change.iri), status, _status(status_from), _GRAPH)
            )
        history_adds.append(ox.Quad(ox.NamedNode(change.iri), status, _status("merged"), _GRAPH))
        gate_report = (
            report if report is not None else await self.gate.check(self.store, change.delta)
        )
        merge = MergeRecord(
            iri=entity_iri("merge", change.slug),
            who=who,
            started=started,
            ended=_now(),
            version_before=version,
            version_after=version + 1,
            report={
                **gate_report.describe(),
                "conforms": gate_report.conforms,
                "warnings": len(gate_report.report.warnings),
            },
        )
        history_adds += _describe_merge(change, merge)
        # The gate re-validates under its lock on exactly this version, then commits data and
        # history in one commit.
        commit, gate_report = await self.gate.commit_locked(
            self.store,
            change.delta,
            expected_version=version,
            extra=Delta(removes=tuple(history_removes), adds=tuple(history_adds)),
            meta={"who": who, "why": change.title, "change": change.slug},
            version=version,
            report=gate_report,
        )
        merged = Change(
            **{
                **change.__dict__,
                "status": "merged",
                "merge": MergeRecord(**{**merge.__dict__, "version_after": commit.version_after}),
            }
        )
        return merged, commit, gate_report

    async def write(
        self,
        delta: Delta,
        *,
        who: str,
        via: WritePath,
        title: str,
        description: str = "",
        source: str | None = None,
        expected_version: int | None = None,
    ) -> tuple[Change, Commit, GateReport]:
        """A write that does not start as a proposal (update, graph store, load): validated,
        applied and recorded as a change merged on arrival."""
        check_metadata(title=title, description=description, source=source, author=who)
        _check_size(delta, self.max_quads)
        if source:
            source_term(source)
        change = _arriving(delta, who, via, title, description, source)
        async with self.gate.lock:
            return await self._apply(
                change, who=who, expected_version=expected_version, status_from=None
            )

    async def write_computed(
        self,
        effect: Callable[[bool], Awaitable[tuple[Delta, int]]],
        *,
        check: Callable[[Delta], None],
        who: str,
        via: WritePath,
        title: str,
        description: str = "",
        expected_version: int | None = None,
    ) -> tuple[Change, Commit, GateReport, Delta]:
        """A write whose change depends on the graph (a SPARQL Update's effect, a Graph Store PUT
        that replaces what a graph holds): ``effect`` computes it and the version it was computed
        on, ``check`` vets it (graph protections), then it is validated and applied like
        ``write``.

        The effect is computed, and validated, *outside* the writers' lock — a slow update does
        not hold up every other writer for its whole time limit — and applied under the lock
        only if the graph is still at the version it was computed on. When other writes landed
        meanwhile it is computed again; after ``_ATTEMPTS`` such rounds it is computed under the
        lock, where ``effect(True)`` must bound its time more tightly, so that it cannot be
        overtaken for ever. A writer in another process (an external store) is caught by the
        store's version check the same way. A client that pinned a version
        (``expected_version``) gets the conflict instead.
        """
        check_metadata(title=title, description=description, author=who)

        def vetted(delta: Delta, version: int) -> Change:
            if expected_version is not None and version != expected_version:
                raise VersionConflict(expected_version, version)
            check(delta)
            _check_size(delta, self.max_quads)
            return _arriving(delta, who, via, title, description, None)

        async def optimistic() -> tuple[Change, Commit, GateReport, Delta] | None:
            delta, version = await effect(False)
            change = vetted(delta, version)
            report = await self.gate.check(self.store, change.delta)
            async with self.gate.lock:
                if await self.store.version() != version:
                    return None  # overtaken: computed again
                applied = await self._apply(
                    change, who=who, expected_version=version, status_from=None, report=report
                )
                return (*applied, delta)

        async def locked() -> tuple[Change, Commit, GateReport, Delta]:
            async with self.gate.lock:
                delta, version = await effect(True)
                change = vetted(delta, version)
                applied = await self._apply(
                    change, who=who, expected_version=version, status_from=None
                )
                return (*applied, delta)

        for _attempt in range(_ATTEMPTS):
            try:
                done = await optimistic()
            except VersionConflict:
                if expected_version is not None:
                    raise
                continue
            if done is not None:
                return done
            if expected_version is not None:
                raise VersionConflict(expected_version, await self.store.version())
        return await _retrying(locked, pinned=expected_version is not None)

    async def reject(self, slug: str, *, who: str, reason: str = "") -> Change:
        """Close a proposal. Checked and applied under the writers' lock, on the version its
        state was read at: a change merged or rejected meanwhile (here or by another process)
        is a ``ChangeConflict``."""
        check_metadata(reason=reason)

        async def attempt() -> None:
            async with self.gate.lock:
                version = await self.store.version()
                change = await get_change(self.store, slug, with_quads=False)
                if change.status != "proposed":
                    raise ChangeConflict(f"change {slug} is {change.status}, not proposed")
                iri = ox.NamedNode(change.iri)
                status = _ijkg("changeStatus")
                adds = [ox.Quad(iri, status, _status("rejected"), _GRAPH)]
                if reason:
                    label = ox.Literal(f"{_REJECTED}{reason}")
                    adds.append(ox.Quad(iri, _RDFS_LABEL, label, _GRAPH))
                removes = (ox.Quad(iri, status, _status("proposed"), _GRAPH),)
                await self.store.commit(
                    Delta(removes=removes, adds=tuple(adds)),
                    expected_version=version,
                    meta={"who": who, "why": f"reject change {slug}"},
                )

        await _retrying(attempt, pinned=False)
        return await get_change(self.store, slug, with_quads=False)

    async def revert(
        self, slug: str, *, who: str, expected_version: int | None = None
    ) -> tuple[Change, Commit, GateReport]:
        """Undo a merged change with a new change (its inverse), validated and merged.

        Checked and applied under the writers' lock, on the version the change's state was read
        at: a change that is not merged, was reverted already, or whose triples changed since
        (a later write added or removed one of them) is a ``ChangeConflict`` — a revert never
        undoes a later write, and a change is reverted once."""

        async def attempt() -> tuple[Change, Commit, GateReport]:
            async with self.gate.lock:
                version = await self.store.version()
                original = await get_change(self.store, slug)
                if original.status != "merged":
                    raise ChangeConflict(
                        f"change {slug} is {original.status}; only merged changes revert"
                    )
                if original.reverted_by:
                    raise ChangeConflict(
                        f"change {slug} was already reverted by {original.reverted_by}"
                    )
                await self._check_unchanged_since(original)
                inverse = original.delta.inverse()
                change = Change(
                    slug=new_slug(),
                    title=_clip(f"Revert: {original.title}", MAX_TITLE_CHARS),
                    description=f"Undoes change {slug}.",
                    source=original.source,
                    author=who,
                    created=_now(),
                    status="merged",
                    write_path="revert",
                    removes=inverse.removes,
                    adds=inverse.adds,
                    reverts=slug,
                )
                return await self._apply(
                    change,
                    who=who,
                    expected_version=expected_version,
                    status_from=None,
                    version=version,
                )

        return await _retrying(attempt, pinned=expected_version is not None)

    async def _check_unchanged_since(self, original: Change) -> None:
        """Raise ``ChangeConflict`` if the triples ``original`` added or removed are not as it
        left them: one of its additions is gone or one of its removals is back, or a later merge
        wrote one of them (even if it ended as it was)."""
        adds, removes = set(original.adds), set(original.removes)
        if adds or removes:
            written = [*adds, *removes]
            present = set(await self.store.match([quad_pattern(q) for q in written]))
            # The store gives back its own form of what was written (blank nodes as an external
            # store holds them, typed literals in canonical form): compare in that form.
            held = dict(zip(written, self.store.stored_forms(written), strict=True))
            gone = {q for q in adds if held[q] not in present}
            back = {q for q in removes if held[q] in present}
            if gone or back:
                changed = sorted(gone | back, key=str)
                raise ChangeConflict(
                    f"change {original.slug} cannot be reverted: {len(changed)} of its triples "
                    f"changed since it was merged (e.g. {_quad_text(changed[0])}); a revert "
                    "would undo a later write. Propose the change you want instead."
                )
        merge = original.merge
        touched = sorted(n.value for n in _touched(original.delta))
        if merge is None or not touched:
            return
        entities = " ".join(sparql_iri(iri) for iri in touched)
        rows = await self.store.select(
            f"""SELECT DISTINCT ?change WHERE {{ GRAPH <{CHANGES_GRAPH}> {{
                  VALUES ?entity {{ {entities} }}
                  ?entity ijkg:changedBy ?merge .
                  ?merge prov:used ?change ; ijkg:versionBefore ?before .
                  FILTER(?before >= {int(merge.version_after)}) }} }}"""
        )
        mine = adds | removes
        for row in rows:
            later = _slug_of(str(row["change"]))
            if later == original.slug:
                continue
            quads = await _quads_of(self.store, str(row["change"]), "additions")
            quads += await _quads_of(self.store, str(row["change"]), "removals")
            if mine & set(quads):
                raise ChangeConflict(
                    f"change {original.slug} cannot be reverted: change {later}, merged after "
                    "it, wrote the same triples; a revert would undo it. Propose the change "
                    "you want instead."
                )


def _quad_text(quad: ox.Quad) -> str:
    return write_nquads([quad]).decode().strip()[:300]


def rdflib_touched(delta: Delta) -> list[str]:
    """The touched resources as strings (for messages and API answers)."""
    return sorted(str(to_rdflib(n)) for n in _touched(delta))
