"""The prefixes of one RDF document: only those under which every name reads plainly.

A Turtle prefixed name is written only when its local part is a valid PN_LOCAL without escapes:
``state:japan``, never ``id:state\\/japan`` (valid Turtle, but not what anyone writes by hand). The
entities get a prefix per kind (``pillar:``, ``state:`` ...: the first path segment under
``https://w3id.org/ijkg/id/``); a prefix under which some IRI of the document would need an escape
is left out, and those IRIs are written whole. Only the prefixes the document uses are declared.

Serialisers pick the longest matching namespace (pyoxigraph and rdflib both), so the choice here is
made the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from rdflib import Graph, Literal, URIRef

from ijkg.graph.core.namespaces import ID_BASE, PREFIXES

# Turtle 1.1 grammar, productions 163-168, without the PLX escapes and percent encodings.
_BASE: Final = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_CHARS_U: Final = _BASE + "_"
_CHARS: Final = _CHARS_U + "\\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PN_LOCAL: Final = re.compile(f"(?:[{_CHARS_U}:0-9](?:[{_CHARS}.:]*[{_CHARS}:])?)?")
_PN_PREFIX: Final = re.compile(f"[{_BASE}](?:[{_CHARS}.]*[{_CHARS}])?")


def plain_local_name(text: str) -> bool:
    """Whether ``text`` can follow ``prefix:`` in Turtle as it is (no backslash, no ``%``).

    >>> [plain_local_name(t) for t in ("japan", "2024-summit", "", "state/japan", "a.", "a~b")]
    [True, True, True, False, False, False]
    """
    return _PN_LOCAL.fullmatch(text) is not None


def kind_prefixes(iris: Iterable[str]) -> dict[str, str]:
    """A prefix per kind of entity among ``iris`` (``pillar`` for ``.../id/pillar/``), unless the
    kind is not a valid prefix name or is the name of a project prefix already."""
    found: dict[str, str] = {}
    for iri in iris:
        if not iri.startswith(ID_BASE):
            continue
        kind, slash, _ = iri[len(ID_BASE) :].partition("/")
        if slash and kind not in found and kind not in PREFIXES and _PN_PREFIX.fullmatch(kind):
            found[kind] = f"{ID_BASE}{kind}/"
    return found


def _longest(iri: str, by_namespace: Mapping[str, str]) -> str | None:
    """The longest namespace of ``by_namespace`` that ``iri`` starts with (namespaces end in
    ``/`` or ``#``, so only those cut points are tried)."""
    end = len(iri)
    while True:
        cut = max(iri.rfind("/", 0, end), iri.rfind("#", 0, end))
        if cut < 0:
            return None
        namespace = iri[: cut + 1]
        if namespace in by_namespace:
            return namespace
        end = cut


def document_prefixes(iris: Iterable[str], known: Mapping[str, str] = PREFIXES) -> dict[str, str]:
    """The prefixes to declare for a document naming ``iris``: the ``known`` ones and one per
    kind of entity, each used by some IRI and giving every IRI it is chosen for a plain local name.

    >>> document_prefixes(["https://w3id.org/ijkg/id/state/japan",
    ...                    "https://w3id.org/ijkg/ontology#State",
    ...                    "https://w3id.org/ijkg/id/pillar/a~b"])
    {'ijkg': 'https://w3id.org/ijkg/ontology#', 'state': 'https://w3id.org/ijkg/id/state/'}
    """
    distinct = set(iris)
    candidates = {**known, **kind_prefixes(distinct)}
    while True:
        by_namespace = {namespace: name for name, namespace in candidates.items()}
        used: set[str] = set()
        refused: set[str] = set()
        for iri in distinct:
            namespace = _longest(iri, by_namespace)
            if namespace is None:
                continue
            name = by_namespace[namespace]
            if plain_local_name(iri[len(namespace) :]):
                used.add(name)
            else:
                refused.add(name)
        if not refused:
            return {name: candidates[name] for name in sorted(used, key=list(candidates).index)}
        # Without a refused prefix its IRIs may fall to a shorter namespace: check them again.
        candidates = {n: ns for n, ns in candidates.items() if n not in refused}


def bind_document_prefixes(graph: Graph) -> Graph:
    """Bind ``document_prefixes`` of ``graph``'s IRIs on it, for rdflib's serialisers (which
    declare only the prefixes they use); returns ``graph``."""
    iris: set[str] = set()
    for triple in graph:
        for term in triple:
            if isinstance(term, URIRef):
                iris.add(str(term))
            elif isinstance(term, Literal) and term.datatype is not None:
                iris.add(str(term.datatype))
    for name, namespace in document_prefixes(iris).items():
        graph.bind(name, namespace, override=True, replace=True)
    return graph
