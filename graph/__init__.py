"""The knowledge graph: its bundled data, and the engine that stores, queries, validates and
merges it.

The public surface is ``KnowledgeGraph`` (``ijkg.graph.facade``) and the types named in
``__all__``; the service and the command import nothing else of the graph layer (a test over the
import graph holds them to it). The packages below are layered, each importing only those under
it (docs/architecture.md):

- ``core``: errors, settings, IRIs, term conversions, formats, the bundled files, RDF parsing;
- ``sparql``: SPARQL as text (limits, building, syntax help, what the shapes read);
- ``store``: the ``Store`` interface and its embedded, in-memory and external implementations;
- ``endpoint``, ``curation``, ``linked``, ``io``: the query endpoint's logic, the gate and the
  change workflow, linked-data reads, bulk loading and backup.

Names are resolved on first use, so a process that needs only a corner of the layer (the store's
engine, a validation worker) does not import the rest.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ijkg.graph.core.errors import (
        BadRequest,
        IjkgError,
        NotAcceptable,
        QueryError,
        StoreError,
        TooLarge,
        UnsupportedFormat,
    )
    from ijkg.graph.core.formats import (
        FORMAT_NAMES,
        JSONLD,
        NTRIPLES,
        RDF_MEDIA_ALIASES,
        RDF_SYNTAXES,
        RDFXML,
        RESULTS_FORMATS,
        RESULTS_MEDIA_ALIASES,
        TURTLE,
        RdfSyntax,
        ResultsFormat,
        bare_media_type,
        content_type,
        formats_named,
        rdf_syntax_of,
        results_format_of,
    )
    from ijkg.graph.core.namespaces import (
        ID_BASE,
        IJKG,
        ONTOLOGY_IRI,
        PREFIXES,
    )
    from ijkg.graph.core.settings import Settings
    from ijkg.graph.curation.curation import Curation
    from ijkg.graph.endpoint.description import ServiceLimits
    from ijkg.graph.endpoint.endpoint import SparqlEndpoint
    from ijkg.graph.facade import KnowledgeGraph
    from ijkg.graph.linked.reader import (
        Entity,
        GraphDocument,
        LinkedData,
    )
    from ijkg.graph.store.base import Dataset, StoreStats

#: Public name -> the module that defines it.
_PUBLIC: dict[str, str] = {
    "BadRequest": "ijkg.graph.core.errors",
    "IjkgError": "ijkg.graph.core.errors",
    "NotAcceptable": "ijkg.graph.core.errors",
    "QueryError": "ijkg.graph.core.errors",
    "StoreError": "ijkg.graph.core.errors",
    "TooLarge": "ijkg.graph.core.errors",
    "UnsupportedFormat": "ijkg.graph.core.errors",
    "FORMAT_NAMES": "ijkg.graph.core.formats",
    "JSONLD": "ijkg.graph.core.formats",
    "NTRIPLES": "ijkg.graph.core.formats",
    "RDF_MEDIA_ALIASES": "ijkg.graph.core.formats",
    "RDF_SYNTAXES": "ijkg.graph.core.formats",
    "RDFXML": "ijkg.graph.core.formats",
    "RESULTS_FORMATS": "ijkg.graph.core.formats",
    "RESULTS_MEDIA_ALIASES": "ijkg.graph.core.formats",
    "TURTLE": "ijkg.graph.core.formats",
    "RdfSyntax": "ijkg.graph.core.formats",
    "ResultsFormat": "ijkg.graph.core.formats",
    "bare_media_type": "ijkg.graph.core.formats",
    "content_type": "ijkg.graph.core.formats",
    "formats_named": "ijkg.graph.core.formats",
    "rdf_syntax_of": "ijkg.graph.core.formats",
    "results_format_of": "ijkg.graph.core.formats",
    "ID_BASE": "ijkg.graph.core.namespaces",
    "IJKG": "ijkg.graph.core.namespaces",
    "ONTOLOGY_IRI": "ijkg.graph.core.namespaces",
    "PREFIXES": "ijkg.graph.core.namespaces",
    "Settings": "ijkg.graph.core.settings",
    "Curation": "ijkg.graph.curation.curation",
    "ServiceLimits": "ijkg.graph.endpoint.description",
    "SparqlEndpoint": "ijkg.graph.endpoint.endpoint",
    "KnowledgeGraph": "ijkg.graph.facade",
    "Entity": "ijkg.graph.linked.reader",
    "GraphDocument": "ijkg.graph.linked.reader",
    "LinkedData": "ijkg.graph.linked.reader",
    "Dataset": "ijkg.graph.store.base",
    "StoreStats": "ijkg.graph.store.base",
}

__all__ = [
    "FORMAT_NAMES",
    "ID_BASE",
    "IJKG",
    "JSONLD",
    "NTRIPLES",
    "ONTOLOGY_IRI",
    "PREFIXES",
    "RDFXML",
    "RDF_MEDIA_ALIASES",
    "RDF_SYNTAXES",
    "RESULTS_FORMATS",
    "RESULTS_MEDIA_ALIASES",
    "TURTLE",
    "BadRequest",
    "Curation",
    "Dataset",
    "Entity",
    "GraphDocument",
    "IjkgError",
    "KnowledgeGraph",
    "LinkedData",
    "NotAcceptable",
    "QueryError",
    "RdfSyntax",
    "ResultsFormat",
    "ServiceLimits",
    "Settings",
    "SparqlEndpoint",
    "StoreError",
    "StoreStats",
    "TooLarge",
    "UnsupportedFormat",
    "bare_media_type",
    "content_type",
    "formats_named",
    "rdf_syntax_of",
    "results_format_of",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'ijkg.graph' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
