"""JSON-LD: the project's ``@context`` and compacted entity documents that point at it.

The context is generated from the bundled ontology: every ``ijkg:`` property becomes a term named
after it (``party``, ``coversPillar`` ...; object properties typed ``@id``), common terms of the
reused vocabularies get short names (``label``, ``prefLabel``, ``wasDerivedFrom`` ...), and every
project prefix but one is declared. The entities' namespace (``id:``) is not: its local names are
paths, and ``id:pillar/health`` reads worse than the entity's IRI, which is also its address on the
web. (A prefix per kind, ``pillar:health``, cannot be had: five kinds are named like properties
whose terms the plain JSON uses as keys — ``place``, ``amount``, ``period``, ``quote``,
``evidence`` — and a term is either a property or a prefix.) So entity IRIs are written whole,
vocabulary terms short. The service publishes it at a stable URL (``/context.jsonld``) and
entity documents refer to it by that URL, never to a remote context. The same terms are the keys of
the plain JSON, so an app that reads one can read the other.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any, Final

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from ijkg.graph.core.namespaces import IJKG, PREFIXES

CONTEXT_PATH: Final = "/context.jsonld"
#: The prefix of the entities' namespace, left out of the context (see above).
ENTITIES: Final = "id"

# Terms of reused vocabularies, with their short names; True: values are resources.
_COMMON: Final[dict[str, tuple[str, bool]]] = {
    "label": (PREFIXES["rdfs"] + "label", False),
    "comment": (PREFIXES["rdfs"] + "comment", False),
    "seeAlso": (PREFIXES["rdfs"] + "seeAlso", True),
    "prefLabel": (PREFIXES["skos"] + "prefLabel", False),
    "altLabel": (PREFIXES["skos"] + "altLabel", False),
    "notation": (PREFIXES["skos"] + "notation", False),
    "definition": (PREFIXES["skos"] + "definition", False),
    "editorialNote": (PREFIXES["skos"] + "editorialNote", False),
    "note": (PREFIXES["skos"] + "note", False),
    "inScheme": (PREFIXES["skos"] + "inScheme", True),
    "topConceptOf": (PREFIXES["skos"] + "topConceptOf", True),
    "hasTopConcept": (PREFIXES["skos"] + "hasTopConcept", True),
    "broader": (PREFIXES["skos"] + "broader", True),
    "narrower": (PREFIXES["skos"] + "narrower", True),
    "related": (PREFIXES["skos"] + "related", True),
    "member": (PREFIXES["skos"] + "member", True),
    "memberList": (PREFIXES["skos"] + "memberList", True),
    "exactMatch": (PREFIXES["skos"] + "exactMatch", True),
    "closeMatch": (PREFIXES["skos"] + "closeMatch", True),
    "sameAs": (PREFIXES["owl"] + "sameAs", True),
    "wasDerivedFrom": (PREFIXES["prov"] + "wasDerivedFrom", True),
    "title": (PREFIXES["dcterms"] + "title", False),
    "hasXSDDuration": (PREFIXES["time"] + "hasXSDDuration", False),
    "hasSource": (PREFIXES["oa"] + "hasSource", True),
    "hasSelector": (PREFIXES["oa"] + "hasSelector", True),
    "exact": (PREFIXES["oa"] + "exact", False),
    "prefix": (PREFIXES["oa"] + "prefix", False),
    "suffix": (PREFIXES["oa"] + "suffix", False),
    "subject": (PREFIXES["rdf"] + "subject", True),
    "predicate": (PREFIXES["rdf"] + "predicate", True),
    "object": (PREFIXES["rdf"] + "object", False),
    "first": (PREFIXES["rdf"] + "first", True),
    "rest": (PREFIXES["rdf"] + "rest", True),
}


@cache
def _ontology_properties() -> dict[str, bool]:
    """The bundled ontology's ``ijkg:`` properties; True for object properties."""
    graph = Graph()
    for entry in sorted(files("ijkg.ontology").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".ttl"):
            graph.parse(data=entry.read_text(encoding="utf-8"), format="turtle")
    found: dict[str, bool] = {}
    for kind, is_object in (
        (OWL.ObjectProperty, True),
        (OWL.DatatypeProperty, False),
        (OWL.AnnotationProperty, False),
    ):
        for prop in graph.subjects(RDF.type, kind):
            if isinstance(prop, URIRef) and str(prop).startswith(IJKG):
                found[str(prop)] = found.get(str(prop), False) or is_object
    return dict(sorted(found.items()))


@cache
def context() -> dict[str, Any]:
    """The ``@context`` object (without the outer ``{"@context": ...}``)."""
    out: dict[str, Any] = {"@version": 1.1}
    out.update({name: namespace for name, namespace in PREFIXES.items() if name != ENTITIES})
    taken = set(out)
    for name, (iri, is_object) in _COMMON.items():
        out[name] = {"@id": iri, "@type": "@id"} if is_object else {"@id": iri}
        taken.add(name)
    for iri, is_object in _ontology_properties().items():
        name = iri[len(IJKG) :]
        if name in taken:  # never shadow a common term or a prefix
            continue
        out[name] = {"@id": iri, "@type": "@id"} if is_object else {"@id": iri}
        taken.add(name)
    return out


@cache
def context_terms() -> dict[str, str]:
    """Property IRI -> its term in the context (the keys of the plain JSON)."""
    out: dict[str, str] = {}
    for name, definition in context().items():
        if isinstance(definition, dict):
            out.setdefault(definition["@id"], name)
    return out


def context_document() -> bytes:
    """The document served at ``CONTEXT_PATH``."""
    return json.dumps({"@context": context()}, ensure_ascii=False, indent=1).encode()


def compact(graph: Graph, context_url: str) -> bytes:
    """``graph`` as compacted JSON-LD whose ``@context`` is the URL of the served context.

    The terms are chosen with the context itself, then the context object is replaced by its URL:
    a processor that fetches that URL reads the same triples back.
    """
    text = graph.serialize(format="json-ld", context=context(), auto_compact=True)
    document = json.loads(text)
    if isinstance(document, dict):
        document["@context"] = context_url
        if "@graph" not in document:
            body = {k: v for k, v in document.items() if k != "@context"}
            document = {"@context": context_url, "@graph": [body] if body else []}
    else:  # a bare list of nodes
        document = {"@context": context_url, "@graph": document}
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


def expand_with(document: dict[str, Any], context_object: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its ``@context`` URL replaced by ``context_object`` (what a processor
    does after fetching it): for readers that must not fetch, such as tests and offline tools."""
    return {**document, "@context": context_object}
