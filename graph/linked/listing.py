"""Lists of entities by kind, with filters, sorting and keyset (cursor) paging.

A page is asked for with a cursor, the sort key and IRI of the last item seen, never with an
offset, and a cursor stays valid, and points at the same place, while items are added or removed
around it. Two ways to the same pages:

- Unfiltered lists: every member's sort key is read with one query per graph version and kept
  sorted (``ListCache``); a page is a binary search for the cursor and a slice, so it costs the
  same on the first page and the last, however long the list (``bench/paging.py`` measures it at a
  million triples). The first page after a commit pays for reading the keys again.
- Filtered lists: one query per page keeps the items after the cursor (``FILTER``/``HAVING
  (?key > cursor)``) and takes the first ``limit + 1`` in order; its cost follows the size of the
  filtered set, not the position of the page (no ``OFFSET``, which must produce and drop every
  item before the page).

The sort key of an entity is its label in lower case (the best of ``skos:prefLabel``,
``rdfs:label``, ``dcterms:title``, ``ijkg:shortName``, ``skos:altLabel``), ties broken by IRI; or
the IRI alone (``sort=id``). ``-`` in front reverses the order.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ijkg.graph.core.errors import BadRequest, NotFound
from ijkg.graph.core.namespaces import ID_BASE, IJKG, PREFIXES
from ijkg.graph.linked.entities import LABEL_PROPERTIES, Resource, link, summaries
from ijkg.graph.linked.vocabulary import Vocabulary
from ijkg.graph.sparql.build import parse_entity_ref, sparql_iri, sparql_string
from ijkg.graph.store.base import Store

SKOS: Final = PREFIXES["skos"]
RDF: Final = PREFIXES["rdf"]
PROV: Final = PREFIXES["prov"]

DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 200

Sort = Literal["label", "-label", "id", "-id"]
SORTS: Final[tuple[Sort, ...]] = ("label", "-label", "id", "-id")


@dataclass(frozen=True)
class Filter:
    """A filter of a list: the entities linked to a given entity by one of ``predicates``
    (``out``: entity -> value; ``in``: value -> entity)."""

    name: str
    predicates: tuple[str, ...]
    direction: Literal["out", "in"]
    description: str
    example: str

    def pattern(self, value_iri: str) -> str:
        path = "|".join(sparql_iri(p) for p in self.predicates)
        value = sparql_iri(value_iri)
        if self.direction == "out":
            return f"?e {path} {value} ."
        return f"{value} {path} ?e ."


_SOURCE = Filter(
    "source",
    (PROV + "wasDerivedFrom",),
    "out",
    "derived from this source",
    "source/india-japan-new-chapter",
)


@dataclass(frozen=True)
class Collection:
    """A kind of entity listed under ``/api/{name}``: the instances of ``classes`` (and of their
    subclasses, as the ontology says)."""

    name: str
    title: str
    classes: tuple[str, ...]
    filters: tuple[Filter, ...] = ()
    description: str = ""

    @property
    def filter_names(self) -> dict[str, Filter]:
        return {f.name: f for f in (*self.filters, _SOURCE)}


def _f(
    name: str, predicates: tuple[str, ...], direction: Literal["out", "in"], text: str, ex: str
) -> Filter:
    return Filter(name, predicates, direction, text, ex)


_PILLAR = _f("pillar", (IJKG + "coversPillar",), "out", "covers this pillar", "pillar/health")
_SECTOR = _f(
    "sector", (IJKG + "coversSector",), "out", "covers this sector", "sector/semiconductors"
)

COLLECTIONS: Final[dict[str, Collection]] = {
    c.name: c
    for c in (
        Collection(
            "pillars",
            "Pillars",
            (IJKG + "Pillar",),
            (
                _f(
                    "scheme",
                    (SKOS + "inScheme",),
                    "out",
                    "in this scheme",
                    "scheme/joint-vision-pillars",
                ),
                _f(
                    "agreement",
                    (IJKG + "coversPillar",),
                    "in",
                    "covered by this agreement",
                    "agreement/india-japan-joint-vision-for-the-next-decade",
                ),
            ),
            "The pillars (directions) of cooperation of the agreements.",
        ),
        Collection(
            "sectors",
            "Sectors",
            (IJKG + "Sector",),
            (
                _f("scheme", (SKOS + "inScheme",), "out", "in this scheme", "scheme/sectors"),
                _f(
                    "broader",
                    (SKOS + "broader",),
                    "out",
                    "narrower than",
                    "sector/traditional-medicine",
                ),
                _f(
                    "cooperation",
                    (IJKG + "coversSector",),
                    "in",
                    "covered by this line of cooperation",
                    "cooperation/holistic-wellness",
                ),
            ),
            "Economic sectors, technologies and fields of cooperation.",
        ),
        Collection(
            "actors",
            "Actors",
            (IJKG + "Actor",),
            description="States, people, organisations and subnational regions.",
        ),
        Collection("states", "States", (IJKG + "State",)),
        Collection(
            "people",
            "People",
            (IJKG + "Person",),
            (
                _f(
                    "represents",
                    (IJKG + "represents",),
                    "out",
                    "represents this state",
                    "state/japan",
                ),
            ),
        ),
        Collection("organizations", "Organisations", (IJKG + "Organization",)),
        Collection(
            "agreements",
            "Agreements",
            (IJKG + "Agreement",),
            (
                _PILLAR,
                _SECTOR,
                _f("party", (IJKG + "party",), "out", "with this party", "state/india"),
                _f(
                    "target",
                    (IJKG + "hasTarget",),
                    "out",
                    "with this target",
                    "target/jpy-10-trillion-private-investment",
                ),
            ),
            "Vision documents, declarations, action plans, memoranda and treaties.",
        ),
        Collection(
            "targets",
            "Targets",
            (IJKG + "Target",),
            (
                _f(
                    "actor",
                    (IJKG + "setBy", IJKG + "recipient", IJKG + "origin", IJKG + "between"),
                    "out",
                    "set by, for, from or between this actor",
                    "state/japan",
                ),
                _PILLAR,
                _f(
                    "agreement",
                    (IJKG + "hasTarget",),
                    "in",
                    "a target of this agreement",
                    "agreement/india-japan-joint-vision-for-the-next-decade",
                ),
            ),
            "Quantified commitments: who sets them, for whom, how much, over what period.",
        ),
        Collection(
            "meetings",
            "Meetings",
            (IJKG + "Meeting",),
            (
                _f(
                    "participant",
                    (IJKG + "participant",),
                    "out",
                    "attended by",
                    "person/narendra-modi",
                ),
                _f("place", (IJKG + "place",), "out", "held at this place", "place/johannesburg"),
            ),
        ),
        Collection(
            "events",
            "Events",
            (IJKG + "Event",),
            (
                _f(
                    "participant",
                    (IJKG + "participant",),
                    "out",
                    "attended by",
                    "person/narendra-modi",
                ),
                _f(
                    "instrument",
                    (IJKG + "instrument",),
                    "out",
                    "about this instrument",
                    "agreement/india-japan-joint-vision-for-the-next-decade",
                ),
            ),
            "Meetings, summits, calls, adoptions, signings and entries into force.",
        ),
        Collection("initiatives", "Initiatives", (IJKG + "Initiative",)),
        Collection(
            "cooperation-areas",
            "Lines of cooperation",
            (IJKG + "CooperationArea",),
            (_PILLAR, _SECTOR),
        ),
        Collection("goals", "Goals", (IJKG + "Goal",)),
        Collection("partnerships", "Partnerships", (IJKG + "Partnership",)),
        Collection("places", "Places", (IJKG + "Place",)),
        Collection(
            "claims",
            "Claims",
            (IJKG + "Claim",),
            (
                _f("subject", (RDF + "subject",), "out", "about this subject", "state/japan"),
                _f("object", (RDF + "object",), "out", "with this object", "pillar/health"),
                _f(
                    "about",
                    (RDF + "subject", RDF + "object", IJKG + "about"),
                    "out",
                    "that mention this entity",
                    "person/sanae-takaichi",
                ),
            ),
            "What the sources claim, each with its evidence.",
        ),
        Collection("conflicts", "Conflicts", (IJKG + "Conflict",)),
        Collection("sources", "Sources", (IJKG + "Source",)),
        Collection("concepts", "Concepts", (SKOS + "Concept",)),
    )
}


def collection(name: str) -> Collection:
    found = COLLECTIONS.get(name)
    if found is None:
        raise NotFound(f"no list called {name!r}; the lists are {', '.join(COLLECTIONS)}")
    return found


# --- cursors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A place in a sorted list: the sort key and IRI of an item."""

    sort: Sort
    key: str
    iri: str

    def encode(self) -> str:
        """An opaque, URL-safe token.

        >>> c = Cursor("label", "health", "https://w3id.org/ijkg/id/pillar/health")
        >>> Cursor.decode(c.encode(), "label") == c
        True
        """
        raw = json.dumps([self.sort, self.key, self.iri], ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort: Sort) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw.decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadRequest("the cursor is not one this service gave out") from None
        if (
            not isinstance(data, list)
            or len(data) != 3
            or not all(isinstance(x, str) for x in data)
            or data[0] not in SORTS
        ):
            raise BadRequest("the cursor is not one this service gave out")
        if data[0] != sort:
            raise BadRequest(f"the cursor belongs to sort={data[0]}, not sort={sort}")
        iri = parse_entity_ref(data[2], name="cursor")
        return cls(sort, data[1], iri)


# --- pages -----------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a list, and the cursors around it."""

    items: list[dict[str, Any]]
    next: Cursor | None
    prev: Cursor | None
    version: int
    applied: dict[str, str] = field(default_factory=dict)


def _label_key() -> str:
    """SPARQL that binds ``?k0`` to an entity's sort label (lower case), one row per label."""
    optionals = " ".join(
        f"OPTIONAL {{ ?e {sparql_iri(p)} ?l{i} }}" for i, p in enumerate(LABEL_PROPERTIES)
    )
    chain = ", ".join(f"?l{i}" for i in range(len(LABEL_PROPERTIES)))
    return f'{optionals} BIND(LCASE(STR(COALESCE({chain}, ""))) AS ?k0)'


def build_query(
    classes: list[str],
    patterns: list[str],
    sort: Sort,
    limit: int,
    cursor: Cursor | None,
    backwards: bool,
) -> str:
    """The SPARQL of one page (``limit + 1`` rows, to tell whether there are more)."""
    values = " ".join(sparql_iri(c) for c in sorted(classes))
    where = (
        f"VALUES ?t {{ {values} }} ?e a ?t . "
        f"FILTER(isIRI(?e) && STRSTARTS(STR(?e), {sparql_string(ID_BASE)})) " + " ".join(patterns)
    )
    descending = sort.startswith("-") != backwards
    before, order = ("<", "DESC") if descending else (">", "ASC")
    if sort in ("id", "-id"):
        keep = f"FILTER(STR(?e) {before} {sparql_string(cursor.iri)})" if cursor else ""
        return (
            f"SELECT DISTINCT ?e (STR(?e) AS ?key) WHERE {{ {where} {keep} }} "
            f"ORDER BY {order}(STR(?e)) LIMIT {limit + 1}"
        )
    having = ""
    if cursor is not None:
        key = sparql_string(cursor.key)
        having = (
            f"HAVING (MIN(?k0) {before} {key} || "
            f"(MIN(?k0) = {key} && STR(?e) {before} {sparql_string(cursor.iri)}))"
        )
    return (
        f"SELECT ?e (MIN(?k0) AS ?key) WHERE {{ {where} {_label_key()} }} GROUP BY ?e {having} "
        f"ORDER BY {order}(?key) {order}(STR(?e)) LIMIT {limit + 1}"
    )


class SortedKeys:
    """Every member of a list with its sort keys, in order, at one graph version: a page is a
    binary search and a slice. Built with one query (the same keys as ``build_query``)."""

    def __init__(self, rows: list[tuple[str, str]], version: int) -> None:
        self.by_label = sorted((key, iri) for iri, key in rows)
        self.by_id = sorted((iri, iri) for iri, _ in rows)
        self.version = version

    def __len__(self) -> int:
        return len(self.by_label)

    def rows(
        self, sort: Sort, cursor: Cursor | None, backwards: bool, limit: int
    ) -> list[tuple[str, str]]:
        """``limit + 1`` (key, iri) pairs after (or before) ``cursor`` in the order the page
        query would give them."""
        keys = self.by_id if sort in ("id", "-id") else self.by_label
        mark = (cursor.key, cursor.iri) if cursor else None
        if sort in ("id", "-id") and cursor:
            mark = (cursor.iri, cursor.iri)
        if sort.startswith("-") == backwards:  # ascending from the cursor
            start = bisect_right(keys, mark) if mark else 0
            return keys[start : start + limit + 1]
        end = bisect_left(keys, mark) if mark else len(keys)
        return keys[max(0, end - limit - 1) : end][::-1]


class ListCache:
    """The sorted keys of the unfiltered lists at the store's current version, each read again
    (once) after a commit: an unfiltered page then costs a binary search whatever its place and
    however long the list. Filtered lists are paged by SPARQL (``build_query``)."""

    def __init__(self, max_lists: int = 32) -> None:
        self._lists: OrderedDict[str, SortedKeys] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self.max_lists = max_lists

    async def get(self, store: Store, name: str, classes: list[str]) -> SortedKeys:
        version = await store.version()
        found = self._lists.get(name)
        if found is not None and found.version == version:
            self._lists.move_to_end(name)
            return found
        async with self._locks.setdefault(name, asyncio.Lock()):
            found = self._lists.get(name)
            if found is None or found.version != version:
                found = await read_keys(store, classes)
                self._lists[name] = found
                while len(self._lists) > self.max_lists:
                    self._lists.popitem(last=False)
        return found


async def read_keys(store: Store, classes: list[str]) -> SortedKeys:
    """Every member of the classes with its label sort key (one query)."""
    values = " ".join(sparql_iri(c) for c in sorted(classes))
    answer = await store.query(
        f"SELECT ?e (MIN(?k0) AS ?key) WHERE {{ VALUES ?t {{ {values} }} ?e a ?t . "
        f"FILTER(isIRI(?e) && STRSTARTS(STR(?e), {sparql_string(ID_BASE)})) {_label_key()} }} "
        "GROUP BY ?e",
        limits=store.internal_limits(),
    )
    rows = [
        (row["e"]["value"], row["key"]["value"])
        for row in json.loads(answer.body)["results"]["bindings"]
    ]
    return SortedKeys(rows, answer.version)


async def list_entities(
    store: Store,
    vocabulary: Vocabulary,
    listed: Collection,
    *,
    filters: dict[str, str] | None = None,
    sort: Sort = "label",
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
    before: str | None = None,
    cache: ListCache | None = None,
) -> Page:
    """One page of ``listed``. ``after``/``before`` are cursor tokens from an earlier page.
    With a ``cache``, unfiltered lists are paged from its sorted keys; otherwise (and for
    filtered lists) by one SPARQL query per page.

    Raises ``BadRequest`` for an unknown filter or sort, a malformed reference or cursor."""
    if sort not in SORTS:
        raise BadRequest(f"sort is one of {', '.join(SORTS)}, not {sort!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit is between 1 and {MAX_LIMIT}")
    if after and before:
        raise BadRequest("give after or before, not both")
    known = listed.filter_names
    patterns: list[str] = []
    applied: dict[str, str] = {}
    for name, value in sorted((filters or {}).items()):
        if name not in known:
            raise BadRequest(
                f"{listed.name} has no filter {name!r}; it has {', '.join(sorted(known))}"
            )
        iri = parse_entity_ref(value, name=name)
        patterns.append(known[name].pattern(iri))
        applied[name] = iri
    classes: set[str] = set()
    for cls in listed.classes:
        classes |= vocabulary.descendants(cls)
    token = after or before
    cursor = Cursor.decode(token, sort) if token else None
    backwards = before is not None
    if cache is not None and not patterns:
        keys = await cache.get(store, listed.name, sorted(classes))
        version = keys.version
        keyed = [(iri, key) for key, iri in keys.rows(sort, cursor, backwards, limit)]
    else:
        query = build_query(sorted(classes), patterns, sort, limit, cursor, backwards)
        answer = await store.query(query, limits=store.internal_limits())
        version = answer.version
        keyed = [
            (row["e"]["value"], row["key"]["value"])
            for row in json.loads(answer.body)["results"]["bindings"]
        ]
    more = len(keyed) > limit
    keyed = keyed[:limit]
    if backwards:
        keyed.reverse()
    nodes = await summaries(store, {iri for iri, _ in keyed})
    items = [
        {**link(iri, nodes.get(iri, Resource(iri)), vocabulary), "sortKey": key}
        for iri, key in keyed
    ]
    first = Cursor(sort, keyed[0][1], keyed[0][0]) if keyed else None
    last = Cursor(sort, keyed[-1][1], keyed[-1][0]) if keyed else None
    if backwards:
        prev = first if more else None
        nxt = last if keyed else None
    else:
        nxt = last if more else None
        prev = first if cursor is not None and keyed else None
    if not keyed and cursor is not None:
        # Past the end (or before the start): the way back is the cursor itself.
        nxt, prev = (cursor, None) if backwards else (None, cursor)
    return Page(items, nxt, prev, version, applied)


async def overview(
    store: Store, vocabulary: Vocabulary, cache: ListCache | None = None
) -> dict[str, Any]:
    """What the index page shows: the pillars in their order, the agreements, the sectors, and
    how many claims and sources the graph has."""
    first: dict[str, Any] = {"limit": MAX_LIMIT, "cache": cache}
    pillars = await list_entities(store, vocabulary, COLLECTIONS["pillars"], **first)
    agreements = await list_entities(store, vocabulary, COLLECTIONS["agreements"], **first)
    sectors = await list_entities(store, vocabulary, COLLECTIONS["sectors"], **first)
    counts: dict[str, int] = {}
    for name in ("claims", "sources"):
        classes: set[str] = set()
        for cls in COLLECTIONS[name].classes:
            classes |= vocabulary.descendants(cls)
        if cache is not None:
            counts[name] = len(await cache.get(store, name, sorted(classes)))
            continue
        values = " ".join(sparql_iri(c) for c in sorted(classes))
        answer = await store.query(
            f"SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ VALUES ?t {{ {values} }} ?e a ?t }}",
            limits=store.internal_limits(),
        )
        counts[name] = int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"])

    def by_notation(item: dict[str, Any]) -> tuple[int, str]:
        notation = item.get("notation") or ""
        return (int(notation) if notation.isdigit() else 1 << 30, item["label"])

    return {
        "pillars": sorted(pillars.items, key=by_notation),
        "agreements": agreements.items,
        "sectors": sectors.items,
        "counts": counts,
        "version": pillars.version,
    }
