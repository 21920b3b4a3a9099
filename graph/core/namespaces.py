"""The project's fixed identifiers (DESIGN.md): ontology, entity and named-graph IRIs, prefixes."""

from __future__ import annotations

from typing import Final

from ijkg.graph.core.errors import BadRequest

ONTOLOGY_IRI: Final = "https://w3id.org/ijkg/ontology"
IJKG: Final = "https://w3id.org/ijkg/ontology#"
ID_BASE: Final = "https://w3id.org/ijkg/id/"
GRAPH_BASE: Final = "https://w3id.org/ijkg/graph/"
#: The graph's versions: ``{VERSION_BASE}{N}`` is version N (served at ``/version/{N}``).
VERSION_BASE: Final = "https://w3id.org/ijkg/version/"

# Named graphs of the bundled content. Every other graph is curator data.
ONTOLOGY_GRAPH: Final = GRAPH_BASE + "ontology"
SHAPES_GRAPH: Final = GRAPH_BASE + "shapes"
ARTICLE_GRAPH: Final = GRAPH_BASE + "india-japan-new-chapter"
CONTEXT_GRAPH: Final = GRAPH_BASE + "context"
# Bookkeeping the service writes itself: bundle versions, change history.
SYSTEM_GRAPH: Final = GRAPH_BASE + "system"
#: The history of changes (written by the service itself, never validated as data).
CHANGES_GRAPH: Final = GRAPH_BASE + "changes"
#: Blank nodes a store hands out skolemised are IRIs under this base (an external store's answers
#: and the shapes' lists and nested shapes).
GENID: Final = "https://w3id.org/ijkg/.well-known/genid/"

# Prefixes offered to every query and used when serialising.
PREFIXES: Final[dict[str, str]] = {
    "ijkg": IJKG,
    "id": ID_BASE,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "schema": "https://schema.org/",
    "org": "http://www.w3.org/ns/org#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "time": "http://www.w3.org/2006/time#",
    "oa": "http://www.w3.org/ns/oa#",
    "sh": "http://www.w3.org/ns/shacl#",
    "qudt": "http://qudt.org/schema/qudt/",
    "unit": "http://qudt.org/vocab/unit/",
    "cur": "http://qudt.org/vocab/currency/",
    "wd": "http://www.wikidata.org/entity/",
    "vann": "http://purl.org/vocab/vann/",
}


def entity_iri(kind: str, slug: str) -> str:
    """The IRI of an entity.

    >>> entity_iri("pillar", "economic-security")
    'https://w3id.org/ijkg/id/pillar/economic-security'
    """
    return f"{ID_BASE}{kind}/{slug}"


def graph_iri(slug: str) -> str:
    """The IRI of a named graph.

    >>> graph_iri("context")
    'https://w3id.org/ijkg/graph/context'
    """
    return GRAPH_BASE + slug


def version_iri(version: int) -> str:
    """The IRI of a version of the graph (the service answers it at ``/version/N``).

    >>> version_iri(42)
    'https://w3id.org/ijkg/version/42'
    """
    return f"{VERSION_BASE}{version}"


def parse_version(text: str) -> int:
    """A version number as a client wrote it; ``BadRequest`` unless it is a whole number (no
    sign, no spaces, at most 18 digits).

    >>> parse_version("42")
    42
    >>> parse_version("4.2")
    Traceback (most recent call last):
    ...
    ijkg.graph.core.errors.BadRequest: a version is a whole number (0, 1, 2 ...), not '4.2'
    """
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise BadRequest(f"a version is a whole number (0, 1, 2 ...), not {text[:40]!r}")
    return int(text)
