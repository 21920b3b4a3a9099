"""What the ontology says about classes and properties, read from the store for labels and kinds.

The entity views need, for every class and property they show, its label and definition; for
classes, which is more specific than which (to pick an entity's main type and to list a kind with
its subclasses); for properties, whether values are resources or literals. All of it is in the
ontology graph, read with one query and kept until the graph's version moves.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from ijkg.graph.core.namespaces import IJKG, ONTOLOGY_GRAPH, PREFIXES
from ijkg.graph.sparql.build import sparql_iri
from ijkg.graph.store.base import Store

RDF: Final = PREFIXES["rdf"]
RDFS: Final = PREFIXES["rdfs"]
OWL: Final = PREFIXES["owl"]
SKOS: Final = PREFIXES["skos"]

_WANTED = (
    RDF + "type",
    RDFS + "label",
    SKOS + "prefLabel",
    SKOS + "definition",
    RDFS + "subClassOf",
    RDFS + "subPropertyOf",
    RDFS + "domain",
    RDFS + "range",
    OWL + "deprecated",
)


def local_name(iri: str) -> str:
    """The part after the last ``#`` or ``/``.

    >>> local_name("https://w3id.org/ijkg/ontology#coversPillar"), local_name("http://x/a/b")
    ('coversPillar', 'b')
    """
    for sep in ("#", "/"):
        if sep in iri:
            tail = iri.rsplit(sep, 1)[1]
            if tail:
                return tail
    return iri


def curie(iri: str) -> str:
    """``ijkg:Pillar`` for an IRI in a known namespace, else the IRI itself.

    >>> curie("http://www.w3.org/2004/02/skos/core#prefLabel")
    'skos:prefLabel'
    """
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            rest = iri[len(namespace) :]
            if rest and all(c.isalnum() or c in "-_." for c in rest):
                best = prefix
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else iri


def term_name(iri: str) -> str:
    """The short name of a term in JSON: the local name for the project's ontology, a CURIE for
    other vocabularies (``rdfs:label`` -> ``label`` is the JSON-LD context's business).

    >>> term_name("https://w3id.org/ijkg/ontology#VisionDocument")
    'VisionDocument'
    >>> term_name("http://www.w3.org/2004/02/skos/core#Concept")
    'skos:Concept'
    """
    if iri.startswith(IJKG):
        return iri[len(IJKG) :]
    return curie(iri)


@dataclass(frozen=True)
class Term:
    """A class or property of the ontology (or one the ontology refers to)."""

    iri: str
    label: str
    definition: str | None = None
    kinds: frozenset[str] = frozenset()
    parents: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    ranges: frozenset[str] = frozenset()
    deprecated: bool = False

    @property
    def is_class(self) -> bool:
        return bool(self.kinds & {OWL + "Class", RDFS + "Class"})

    @property
    def is_object_property(self) -> bool:
        return OWL + "ObjectProperty" in self.kinds


@dataclass
class Vocabulary:
    """Classes and properties by IRI, with the class hierarchy."""

    terms: dict[str, Term] = field(default_factory=dict)
    version: int = -1

    def term(self, iri: str) -> Term:
        found = self.terms.get(iri)
        if found is not None:
            return found
        return Term(iri, _humanise(local_name(iri)))

    def label(self, iri: str) -> str:
        return self.term(iri).label

    def ancestors(self, iri: str) -> set[str]:
        """Every class (or property) ``iri`` is a sub-class (sub-property) of, itself excluded."""
        seen: set[str] = set()
        todo = list(self.term(iri).parents)
        while todo:
            parent = todo.pop()
            if parent not in seen and parent != iri:
                seen.add(parent)
                todo.extend(self.term(parent).parents)
        return seen

    def descendants(self, iri: str) -> set[str]:
        """``iri`` and every class known to be below it."""
        return {iri} | {t for t in self.terms if iri in self.ancestors(t)}

    def main_types(self, types: Iterable[str]) -> list[str]:
        """The most specific of ``types`` (none is an ancestor of another), project terms first,
        then by name: the first is an entity's main type.

        >>> v = Vocabulary({IJKG + "A": Term(IJKG + "A", "a"),
        ...                 IJKG + "B": Term(IJKG + "B", "b", parents=frozenset({IJKG + "A"}))})
        >>> [local_name(t) for t in v.main_types([IJKG + "A", IJKG + "B"])]
        ['B']
        """
        given = set(types)
        covered: set[str] = set()
        for t in given:
            covered |= self.ancestors(t)
        specific = [t for t in given if t not in covered]
        return sorted(specific, key=lambda t: (not t.startswith(IJKG), term_name(t)))


def _humanise(name: str) -> str:
    """``coversPillar`` -> ``covers pillar``."""
    out: list[str] = []
    for i, char in enumerate(name):
        if char.isupper() and i and not name[i - 1].isupper():
            out.append(" ")
        out.append(char.lower() if char.isupper() and not name[i + 1 : i + 2].isupper() else char)
    return "".join(out).replace("_", " ")


class VocabularyCache:
    """The vocabulary of the store's current version, read again only after a commit."""

    def __init__(self) -> None:
        self._vocabulary = Vocabulary()
        self._lock = asyncio.Lock()

    async def get(self, store: Store) -> Vocabulary:
        version = await store.version()
        if self._vocabulary.version == version:
            return self._vocabulary
        async with self._lock:
            if self._vocabulary.version != version:
                self._vocabulary = await load_vocabulary(store)
        return self._vocabulary


async def load_vocabulary(store: Store) -> Vocabulary:
    """Read the ontology graph's classes and properties (one query)."""
    wanted = " ".join(sparql_iri(p) for p in _WANTED)
    answer = await store.query(
        f"""SELECT ?t ?p ?v WHERE {{ GRAPH {sparql_iri(ONTOLOGY_GRAPH)} {{
              ?t ?p ?v . FILTER(isIRI(?t) && ?p IN ({wanted.replace(" ", ", ")})) }} }}""",
        limits=store.internal_limits(),
    )
    facts: dict[str, dict[str, list[tuple[str, str | None]]]] = {}
    for row in json.loads(answer.body)["results"]["bindings"]:
        value = row["v"]
        facts.setdefault(row["t"]["value"], {}).setdefault(row["p"]["value"], []).append(
            (value["value"], value.get("xml:lang"))
        )
    terms: dict[str, Term] = {}

    def english(props: dict[str, list[tuple[str, str | None]]], name: str) -> str | None:
        ranked = sorted(props.get(name, []), key=lambda v: (v[1] not in ("en", None), v[0]))
        return ranked[0][0] if ranked else None

    for iri, props in facts.items():
        terms[iri] = Term(
            iri=iri,
            label=english(props, RDFS + "label")
            or english(props, SKOS + "prefLabel")
            or _humanise(local_name(iri)),
            definition=english(props, SKOS + "definition"),
            kinds=frozenset(v for v, _ in props.get(RDF + "type", [])),
            parents=frozenset(
                v
                for v, _ in props.get(RDFS + "subClassOf", [])
                + props.get(RDFS + "subPropertyOf", [])
            ),
            domains=frozenset(v for v, _ in props.get(RDFS + "domain", [])),
            ranges=frozenset(v for v, _ in props.get(RDFS + "range", [])),
            deprecated=any(v == "true" for v, _ in props.get(OWL + "deprecated", [])),
        )
    return Vocabulary(terms, answer.version)
