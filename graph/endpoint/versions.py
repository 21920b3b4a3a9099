"""The graph's versions as the service shows them: their range, their list, one version, and the
version in force at a moment (the Memento way of naming one).

Every commit that changes something makes the next version, and the store keeps what each one
did (``Store.history``). Versions here are the ones the store can still rebuild:
``first .. head`` from ``Store.version_range``; a number outside that range is
``VersionNotFound`` with the range, so the client's message says which versions there are.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import pyoxigraph as ox

from ijkg.graph.core.errors import BadRequest, VersionNotFound
from ijkg.graph.core.formats import RdfSyntax
from ijkg.graph.core.namespaces import ID_BASE, PREFIXES, version_iri
from ijkg.graph.endpoint.description import serialize_description
from ijkg.graph.store.base import Store, VersionInfo

#: The most versions one page of the list holds.
MAX_PAGE: Final = 1000
#: Versions whose record is kept in memory for the queries that cite them.
KEPT_INFOS: Final = 1024


def commit_time(info: VersionInfo) -> datetime | None:
    """When the commit that made ``info`` happened, in UTC (``None`` when not kept)."""
    if info.time is None:
        return None
    try:
        moment = datetime.fromisoformat(info.time)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class VersionRange:
    first: int
    head: int

    def text(self) -> str:
        return f"versions {self.first} to {self.head}"


class Versions:
    """The versions of one store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        # What made each version never changes: kept, so that a cited version's queries (the
        # same ones, over and over) ask the store only for its range.
        self._infos: OrderedDict[int, VersionInfo] = OrderedDict()

    async def range(self) -> VersionRange:
        """The versions the store can rebuild (``VersionsUnsupported`` when it keeps none)."""
        first, head = await self._store.version_range()
        return VersionRange(first, head)

    async def check(self, version: int) -> VersionRange:
        """``version`` if the store can rebuild it, else ``VersionNotFound`` naming the range."""
        known = await self.range()
        if not known.first <= version <= known.head:
            raise VersionNotFound(
                f"no version {version} of the graph: there are {known.text()}",
                first=known.first,
                head=known.head,
            )
        return known

    async def listed(self, *, after: int = 0, limit: int = 100) -> list[VersionInfo]:
        """The versions after ``after``, oldest first, at most ``limit`` (capped at
        ``MAX_PAGE``)."""
        if limit < 1:
            raise BadRequest("limit must be at least 1")
        return await self._store.history(after=after, limit=min(limit, MAX_PAGE))

    async def info(self, version: int) -> VersionInfo | None:
        """What made ``version`` (``VersionNotFound`` outside the range); ``None`` for the
        oldest version, whose commit the store no longer lists."""
        known = await self.check(version)
        if version == known.first:
            return None
        kept = self._infos.get(version)
        if kept is not None:
            self._infos.move_to_end(version)
            return kept
        found = await self._store.history(after=version - 1, limit=1)
        if not found or found[0].version != version:
            raise VersionNotFound(
                f"version {version} of the graph is not in its history: there are {known.text()}",
                first=known.first,
                head=known.head,
            )
        self._infos[version] = found[0]
        if len(self._infos) > KEPT_INFOS:
            self._infos.popitem(last=False)
        return found[0]

    async def at(self, moment: datetime) -> VersionInfo:
        """The version in force at ``moment``: the last one committed at or before it, to the
        second (HTTP dates have no fractions). ``VersionNotFound`` naming the range of dates when
        ``moment`` is before the first version listed. A binary search over the history: a few
        look-ups, whatever its length."""
        known = await self.range()
        low, high = known.first + 1, known.head
        if high < low:
            raise VersionNotFound(
                f"the graph has no dated versions yet: there are {known.text()}",
                first=known.first,
                head=known.head,
            )
        first_info = await self._one(low)
        if _seconds(first_info) > moment.timestamp():
            last_info = await self._one(high)
            raise VersionNotFound(
                f"{_http_text(moment)} is before the first version of the graph: there are "
                f"{known.text()}, dated {_date_text(first_info)} to {_date_text(last_info)}",
                first=known.first,
                head=known.head,
            )
        found = first_info
        low += 1
        while low <= high:
            middle = (low + high) // 2
            info = await self._one(middle)
            if _seconds(info) <= moment.timestamp():
                found, low = info, middle + 1
            else:
                high = middle - 1
        return found

    @staticmethod
    def citation(version: int, info: VersionInfo | None) -> str:
        """A citation of ``version`` to paste (see ``citation``)."""
        return citation(version, info)

    @staticmethod
    def rdf(versions: list[tuple[int, VersionInfo | None]], syntax: RdfSyntax) -> bytes:
        """``versions`` (number and what made it) as RDF in ``syntax``."""
        return serialize([t for n, info in versions for t in version_triples(n, info)], syntax)

    async def _one(self, version: int) -> VersionInfo:
        found = await self._store.history(after=version - 1, limit=1)
        if not found:
            first, head = await self._store.version_range()
            raise VersionNotFound(f"no version {version} of the graph", first=first, head=head)
        return found[0]


def _seconds(info: VersionInfo) -> float:
    """The commit's time to the second (an undated commit counts as the earliest)."""
    moment = commit_time(info)
    return float("-inf") if moment is None else float(int(moment.timestamp()))


def _date_text(info: VersionInfo) -> str:
    moment = commit_time(info)
    return "an unknown date" if moment is None else _http_text(moment)


def _http_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


# --- versions as data: the citation and the RDF --------------------------------------------------

#: What a citation calls the graph.
TITLE: Final = "ijkg — the India–Japan knowledge graph"
#: The graph as one dataset, whatever its version (every version ``dcterms:isVersionOf`` it).
DATASET_IRI: Final = "https://w3id.org/ijkg/dataset"
_DCTERMS: Final = PREFIXES["dcterms"]
_PROV: Final = PREFIXES["prov"]
_XSD: Final = PREFIXES["xsd"]
_RDF_TYPE: Final = PREFIXES["rdf"] + "type"
_VOID: Final = "http://rdfs.org/ns/void#"
_DCAT: Final = "http://www.w3.org/ns/dcat#"
RDF_PREFIXES: Final = {
    "dcterms": _DCTERMS,
    "prov": _PROV,
    "xsd": _XSD,
    "rdf": PREFIXES["rdf"],
    "rdfs": PREFIXES["rdfs"],
    "void": _VOID,
    "dcat": _DCAT,
    "ijkg": PREFIXES["ijkg"],
    "owl": PREFIXES["owl"],
}


def citation(version: int, info: VersionInfo | None) -> str:
    """A citation of one version a researcher can paste: title, version, date, IRI.

    >>> citation(42, None)
    'ijkg — the India–Japan knowledge graph, version 42. https://w3id.org/ijkg/version/42'
    """
    moment = None if info is None else commit_time(info)
    date = f" ({moment.date().isoformat()})" if moment is not None else ""
    return f"{TITLE}, version {version}{date}. {version_iri(version)}"


def change_iri(slug: str) -> str:
    return f"{ID_BASE}change/{slug}"


class Triples(list[ox.Triple]):
    """Triples written one statement at a time, the predicate as IRI text."""

    def add(
        self,
        s: ox.NamedNode | ox.BlankNode,
        p: str,
        o: ox.NamedNode | ox.BlankNode | ox.Literal,
    ) -> None:
        self.append(ox.Triple(s, ox.NamedNode(p), o))


def integer(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(_XSD + "integer"))


def version_triples(version: int, info: VersionInfo | None) -> list[ox.Triple]:
    """One version as PROV/DCTERMS/VoID: what it is a version of, when the commit that made it
    happened, the version before it, the change that made it and how many quads it added and
    removed, and the quads it holds."""
    node = ox.NamedNode(version_iri(version))
    out = Triples()
    add = out.add

    add(node, _RDF_TYPE, ox.NamedNode(_PROV + "Entity"))
    add(node, _RDF_TYPE, ox.NamedNode(_VOID + "Dataset"))
    add(node, _DCTERMS + "isVersionOf", ox.NamedNode(DATASET_IRI))
    add(ox.NamedNode(DATASET_IRI), _DCTERMS + "hasVersion", node)
    add(node, _DCTERMS + "title", ox.Literal(f"{TITLE}, version {version}", language="en"))
    add(node, PREFIXES["owl"] + "versionInfo", ox.Literal(str(version)))
    add(node, _DCTERMS + "bibliographicCitation", ox.Literal(citation(version, info)))
    if version > 0:
        add(node, _PROV + "wasRevisionOf", ox.NamedNode(version_iri(version - 1)))
    if info is None:
        return out
    moment = commit_time(info)
    if moment is not None:
        stamp = ox.Literal(moment.isoformat(), datatype=ox.NamedNode(_XSD + "dateTime"))
        add(node, _PROV + "generatedAtTime", stamp)
        add(node, _DCTERMS + "issued", stamp)
    if info.quads is not None:
        add(node, _VOID + "triples", integer(info.quads))
    # The commit that made it: the change it merged, if any, else an activity of its own.
    activity: ox.NamedNode | ox.BlankNode = (
        ox.NamedNode(change_iri(info.change)) if info.change else ox.BlankNode()
    )
    add(node, _PROV + "wasGeneratedBy", activity)
    add(activity, _RDF_TYPE, ox.NamedNode(_PROV + "Activity"))
    add(activity, PREFIXES["ijkg"] + "addedCount", integer(info.added))
    add(activity, PREFIXES["ijkg"] + "removedCount", integer(info.removed))
    if info.who:
        add(activity, _PROV + "wasAssociatedWith", ox.Literal(info.who))
    if info.why:
        add(activity, PREFIXES["rdfs"] + "comment", ox.Literal(info.why))
    return out


def serialize(triples: list[ox.Triple], syntax: RdfSyntax) -> bytes:
    """``triples`` in ``syntax``, prefixed where the syntax has prefixes."""
    return serialize_description(triples, syntax, RDF_PREFIXES)
