"""Label search for autocomplete: case- and accent-insensitive, ranked exact > prefix > substring.

SPARQL cannot compare text without accents, so the labels (``skos:prefLabel``, ``rdfs:label``,
``skos:altLabel``, ``ijkg:shortName``) of every entity are read once per graph version, with one
query, into an index of normalised forms (Unicode NFKD, combining marks dropped, case folded,
spaces collapsed). A search normalises the query the same way and never builds SPARQL from it;
only the labels of the few hits it returns are looked up again (one query, by IRI).

Ranking: an exact match of the whole label first, then labels that start with the query, then
labels with a word that starts with it, then labels that contain it; among equals the preferred
label before alternative ones, the shorter label first, then alphabetical, then by IRI.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from ijkg.graph.core.errors import BadRequest
from ijkg.graph.core.namespaces import ID_BASE, IJKG, PREFIXES
from ijkg.graph.linked.entities import link, summaries
from ijkg.graph.linked.vocabulary import Vocabulary
from ijkg.graph.sparql.build import ENTITY_IRI_PATTERN, KIND_PATTERN, sparql_iri, sparql_string
from ijkg.graph.store.base import Store

#: Searched label properties, preferred first.
SEARCHED: Final = (
    PREFIXES["skos"] + "prefLabel",
    PREFIXES["rdfs"] + "label",
    PREFIXES["skos"] + "altLabel",
    IJKG + "shortName",
)
MAX_QUERY_CHARS: Final = 200
MAX_RESULTS: Final = 100
MATCHES: Final = ("exact", "prefix", "word", "substring")
#: Kinds left out unless asked for by name: the reified statements and their evidence, whose
#: labels repeat the labels of the entities they are about.
HIDDEN_KINDS: Final = frozenset({"claim", "evidence", "selector", "list"})


def normalise(text: str) -> str:
    """The form labels and queries are compared in.

    >>> normalise("  Économie  SÉCURITÉ ")
    'economie securite'
    >>> normalise("ﬁnance") == normalise("FINANCE")
    True
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


@dataclass(frozen=True)
class Entry:
    iri: str
    kind: str
    label: str
    norm: str
    words: tuple[str, ...]
    preference: int  # index in SEARCHED


@dataclass(frozen=True)
class Hit:
    iri: str
    label: str
    match: str
    rank: tuple[int, int, int, str, str]


class LabelIndex:
    """Normalised labels of every entity at one graph version."""

    def __init__(self, entries: list[Entry], version: int) -> None:
        self.entries = entries
        self.version = version

    def __len__(self) -> int:
        return len(self.entries)

    def search(
        self, text: str, *, kinds: frozenset[str] = frozenset(), limit: int = 10
    ) -> list[Hit]:
        """The best ``limit`` entities whose labels match ``text`` (one hit per entity), of
        ``kinds`` if given, else of every kind but ``HIDDEN_KINDS``."""
        query = normalise(text)
        if not query:
            return []
        best: dict[str, Hit] = {}
        for entry in self.entries:
            if (kinds and entry.kind not in kinds) or (not kinds and entry.kind in HIDDEN_KINDS):
                continue
            norm = entry.norm
            if query not in norm:
                continue
            if norm == query:
                level = 0
            elif norm.startswith(query):
                level = 1
            elif any(word.startswith(query) for word in entry.words):
                level = 2
            else:
                level = 3
            rank = (level, entry.preference, len(norm), norm, entry.iri)
            held = best.get(entry.iri)
            if held is None or rank < held.rank:
                best[entry.iri] = Hit(entry.iri, entry.label, MATCHES[level], rank)
        return sorted(best.values(), key=lambda h: h.rank)[:limit]


async def build_index(store: Store) -> LabelIndex:
    """Read every entity label (one query) and normalise it."""
    wanted = " ".join(sparql_iri(p) for p in SEARCHED)
    answer = await store.query(
        f"SELECT ?e ?p ?l WHERE {{ VALUES ?p {{ {wanted} }} ?e ?p ?l . "
        f"FILTER(isIRI(?e) && isLITERAL(?l) && STRSTARTS(STR(?e), {sparql_string(ID_BASE)})) }}",
        limits=store.internal_limits(),
    )
    preference = {p: i for i, p in enumerate(SEARCHED)}
    entries = []
    for row in json.loads(answer.body)["results"]["bindings"]:
        iri = row["e"]["value"]
        match = ENTITY_IRI_PATTERN.fullmatch(iri)
        if match is None:
            continue
        label = row["l"]["value"]
        norm = normalise(label)
        entries.append(
            Entry(
                iri=iri,
                kind=match.group("kind"),
                label=label,
                norm=norm,
                words=tuple(norm.replace("-", " ").split()),
                preference=preference[row["p"]["value"]],
            )
        )
    return LabelIndex(entries, answer.version)


class SearchIndex:
    """The label index of the store's current version, rebuilt (once) after a commit."""

    def __init__(self) -> None:
        self._index: LabelIndex | None = None
        self._lock = asyncio.Lock()

    async def get(self, store: Store) -> LabelIndex:
        version = await store.version()
        if self._index is not None and self._index.version == version:
            return self._index
        async with self._lock:
            if self._index is None or self._index.version != version:
                self._index = await build_index(store)
        return self._index


async def search(
    store: Store,
    index: SearchIndex,
    vocabulary: Vocabulary,
    text: str,
    *,
    kinds: list[str] | None = None,
    limit: int = 10,
) -> dict[str, Any]:
    """Search the labels; the hits as links with the label that matched and how."""
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequest(f"a search is at most {MAX_QUERY_CHARS} characters")
    if not normalise(text):
        raise BadRequest("q: give some text to search for")
    if not 1 <= limit <= MAX_RESULTS:
        raise BadRequest(f"limit is between 1 and {MAX_RESULTS}")
    for kind in kinds or ():
        if KIND_PATTERN.fullmatch(kind) is None:
            raise BadRequest(f"kind: {kind!r} is not a kind (lower-case letters, e.g. pillar)")
    labels = await index.get(store)
    hits = labels.search(text, kinds=frozenset(kinds or ()), limit=limit)
    nodes = await summaries(store, {h.iri for h in hits})
    return {
        "query": text,
        "normalised": normalise(text),
        "version": labels.version,
        "results": [
            {**link(h.iri, nodes.get(h.iri), vocabulary), "matched": h.label, "match": h.match}
            for h in hits
        ],
    }
