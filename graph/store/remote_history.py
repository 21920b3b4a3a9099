"""The history of an external SPARQL store: one record per version, kept in the store itself.

A remote store cannot read its own past, so every commit writes, in the same conditional update
request that makes the version (see ``remote``), a record of it in the system graph::

    <…/graph/system#version-N> sys:recordedVersion N ;
        sys:committedAt "2026-…Z"^^xsd:dateTime ; sys:committedBy "…" ; sys:reason "…" ;
        sys:mergedChange "…" ; sys:removedCount 2 ; sys:addedCount 5 ; sys:quadCount 1234 ;
        sys:removedQuads "…N-Quads…" ; sys:addedQuads "…N-Quads…" .

The record lands with the commit or not at all (a commit that loses the version race matches
nothing, record included). The quads are those that really changed, as the store holds them: blank
nodes as their skolem IRIs (``…/.well-known/genid/…``), which is what a later record removes;
whoever needs blank nodes back (a canonical dump) maps them. History grows with the changes, not
with the graph: a record holds only its own patch.

Like the version triple, records are bookkeeping: in the system graph only (never in the union copy
of the default graph), left out of backups and of ``stats().quads``, and not writable by anyone but
``commit`` (the system graph is a service graph; see ``curation.protection``).

Stores written before records were kept start their history at the version recording began:
``first`` is the newest version with no record (0 on a store recorded from the start), and only
versions after it can be listed, patched or rebuilt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox

from ijkg.graph.core.errors import StoreError
from ijkg.graph.core.namespaces import SYSTEM_GRAPH
from ijkg.graph.core.rdfio import read_nquads, write_nquads
from ijkg.graph.store.base import Patch, VersionInfo
from ijkg.graph.store.history import no_patch

SYS = SYSTEM_GRAPH + "#"
RECORD_PREFIX = SYS + "version-"
_GRAPH = f"<{SYSTEM_GRAPH}>"
_XSD = "http://www.w3.org/2001/XMLSchema#"

VERSION = f"<{SYS}recordedVersion>"
_TIME = f"<{SYS}committedAt>"
_WHO = f"<{SYS}committedBy>"
_WHY = f"<{SYS}reason>"
_CHANGE = f"<{SYS}mergedChange>"
_REMOVED = f"<{SYS}removedCount>"
_ADDED = f"<{SYS}addedCount>"
QUADS = f"<{SYS}quadCount>"
_REMOVES = f"<{SYS}removedQuads>"
_ADDS = f"<{SYS}addedQuads>"

#: Versions read per request (their IRIs are in the query).
PAGE = 100

Solutions = Callable[[str], Awaitable[list[ox.QuerySolution]]]


def is_record(subject: Any) -> bool:
    """Whether ``subject`` (in the system graph) is a version record."""
    return isinstance(subject, ox.NamedNode) and subject.value.startswith(RECORD_PREFIX)


def now() -> str:
    """The UTC time of a commit, as ``xsd:dateTime`` text (milliseconds, like the history's)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(text: str | None) -> str | None:
    """A record's time as ``now`` wrote it: stores give back an ``xsd:dateTime`` in their own
    canonical form (Oxigraph drops trailing zeros of the fraction)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _string(value: str) -> str:
    return str(ox.Literal(value))


def record_triples(
    version: int,
    removes: Sequence[ox.Quad],
    adds: Sequence[ox.Quad],
    meta: Mapping[str, Any] | None,
    *,
    quads: int,
    time: str,
) -> str:
    """The record of ``version`` as triples for an update template (inside the system graph):
    ``removes`` and ``adds`` are what really changed, ``quads`` the count after."""
    meta = meta or {}
    parts = [
        f"{VERSION} {version}",
        f'{_TIME} "{time}"^^<{_XSD}dateTime>',
        f"{_REMOVED} {len(removes)}",
        f"{_ADDED} {len(adds)}",
        f"{QUADS} {quads}",
        f"{_REMOVES} {_string(write_nquads(removes).decode('utf-8'))}",
        f"{_ADDS} {_string(write_nquads(adds).decode('utf-8'))}",
    ]
    for predicate, key in ((_WHO, "who"), (_WHY, "why"), (_CHANGE, "change")):
        value = meta.get(key)
        if value is not None and str(value) != "":
            parts.append(f"{predicate} {_string(str(value))}")
    return f"<{RECORD_PREFIX}{version}> " + " ;\n  ".join(parts) + " ."


def _value(row: ox.QuerySolution, name: str) -> str | None:
    term = row[name]
    return None if term is None else str(term.value)


def _int(row: ox.QuerySolution, name: str) -> int | None:
    text = _value(row, name)
    return None if text is None else int(text)


def _info(row: ox.QuerySolution) -> VersionInfo:
    return VersionInfo(
        version=int(_value(row, "v") or 0),
        time=_time(_value(row, "t")),
        who=_value(row, "who"),
        why=_value(row, "why"),
        change=_value(row, "change"),
        removed=_int(row, "r") or 0,
        added=_int(row, "a") or 0,
        quads=_int(row, "q"),
    )


def _info_query(versions: range, *, patches: bool = False) -> str:
    """The records of ``versions``, named by their IRIs (index lookups, however long the
    history), oldest first."""
    records = " ".join(f"<{RECORD_PREFIX}{version}>" for version in versions)
    quads = " ?rm ?add" if patches else ""
    patch = f"; {_REMOVES} ?rm ; {_ADDS} ?add " if patches else ""
    return (
        f"SELECT ?v ?t ?who ?why ?change ?r ?a ?q{quads} WHERE {{ VALUES ?rec {{ {records} }} "
        f"GRAPH {_GRAPH} {{ ?rec {VERSION} ?v ; {_REMOVED} ?r ; {_ADDED} ?a {patch}"
        f"OPTIONAL {{ ?rec {_TIME} ?t }} OPTIONAL {{ ?rec {_WHO} ?who }} "
        f"OPTIONAL {{ ?rec {_WHY} ?why }} OPTIONAL {{ ?rec {_CHANGE} ?change }} "
        f"OPTIONAL {{ ?rec {QUADS} ?q }} }} }} ORDER BY ?v"
    )


def _patch(row: ox.QuerySolution) -> Patch:
    return Patch(
        info=_info(row),
        removes=tuple(read_nquads((_value(row, "rm") or "").encode("utf-8"))),
        adds=tuple(read_nquads((_value(row, "add") or "").encode("utf-8"))),
    )


async def first_version(solutions: Solutions, head: int) -> int:
    """The oldest version from which every later version up to ``head`` has its record: the
    newest version at or below ``head`` without one (version 0, the empty store, has none)."""
    rows = await solutions(
        f"SELECT (MIN(?v) AS ?lo) (MAX(?v) AS ?hi) (COUNT(DISTINCT ?v) AS ?n) WHERE {{ "
        f"GRAPH {_GRAPH} {{ ?rec {VERSION} ?v }} FILTER(?v <= {head}) }}"
    )
    row = rows[0] if rows else None
    count = _int(row, "n") if row is not None else 0
    if not count or row is None:
        return head
    low, high = _int(row, "lo") or 0, _int(row, "hi") or 0
    if high == head and high - low + 1 == count:
        return low - 1  # the usual case: one unbroken run of records up to the head
    # A gap (versions committed by a writer that kept no records): the history starts after it.
    found = {
        _int(r, "v")
        for r in await solutions(
            f"SELECT ?v WHERE {{ GRAPH {_GRAPH} {{ ?rec {VERSION} ?v }} FILTER(?v <= {head}) }}"
        )
    }
    version = head
    while version in found:
        version -= 1
    return version


async def history(
    solutions: Solutions, first: int, head: int, *, after: int, limit: int
) -> list[VersionInfo]:
    start = max(after, first) + 1
    versions = range(start, min(head, start + limit - 1) + 1)
    found: list[VersionInfo] = []
    for page in range(0, len(versions), PAGE):
        found += [_info(row) for row in await solutions(_info_query(versions[page : page + PAGE]))]
    return found


async def patch(solutions: Solutions, version: int, first: int, head: int) -> Patch:
    if not first < version <= head:
        raise no_patch(version, first, head)
    rows = await solutions(_info_query(range(version, version + 1), patches=True))
    if not rows:
        raise no_patch(version, first, head)
    return _patch(rows[0])


async def patches(solutions: Solutions, after: int, upto: int) -> list[Patch]:
    """The patches of versions ``after + 1 .. upto``, oldest first, read a page at a time."""
    found: list[Patch] = []
    start = after
    while start < upto:
        stop = min(upto, start + PAGE)
        rows = await solutions(_info_query(range(start + 1, stop + 1), patches=True))
        found += [_patch(row) for row in rows]
        start = stop
    if [p.info.version for p in found] != list(range(after + 1, upto + 1)):
        raise StoreError(
            f"the SPARQL store's history between versions {after} and {upto} is incomplete: "
            "a version record is missing"
        )
    return found
