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
        Conflict,
        Forbidden,
        IjkgError,
        NotAcceptable,
        NotFound,
        QueryAborted,
        QueryError,
        QueryOverloaded,
        QueryRefused,
        QuerySyntaxError,
        QueryTimeout,
        QueryTooLarge,
        RdfSyntaxError,
        ResultTooLarge,
        StorageFailed,
        StorageFull,
        StoreError,
        StoreLocked,
        StoreUnavailable,
        TooLarge,
        UnsupportedFormat,
        ValidationFailed,
        ValidationLimit,
        ValidationOverloaded,
        ValidationTimeout,
        VersionConflict,
        VersionNotFound,
        VersionsUnsupported,
    )
    from ijkg.graph.core.formats import (
        FORMAT_NAMES,
        JSONLD,
        NTRIPLES,
        RDF_MEDIA_ALIASES,
        RDF_SYNTAXES,
        RDFXML,
        RESULTS_FORMATS,
        RESULTS_JSON,
        RESULTS_MEDIA_ALIASES,
        TURTLE,
        RdfSyntax,
        ResultsFormat,
        bare_media_type,
        content_type,
        formats_named,
        rdf_syntax_for_media_type,
        rdf_syntax_for_name,
        rdf_syntax_of,
        results_format_for,
        results_format_of,
    )
    from ijkg.graph.core.namespaces import (
        ID_BASE,
        IJKG,
        ONTOLOGY_IRI,
        PREFIXES,
        VERSION_BASE,
        parse_version,
        version_iri,
    )
    from ijkg.graph.core.rdfio import find_line, write_nquads
    from ijkg.graph.core.reports import ValidationReport, ValidationResult
    from ijkg.graph.core.settings import Settings
    from ijkg.graph.core.terms import from_sparql_json
    from ijkg.graph.core.writer import Writer
    from ijkg.graph.curation.changes import BadMetadata, Change, ChangeTooLarge, Status
    from ijkg.graph.curation.curation import ChangeDiff, Curation, Loaded, Written
    from ijkg.graph.curation.validation import report_graph
    from ijkg.graph.curation.validation_pool import Part
    from ijkg.graph.endpoint.description import ServiceLimits
    from ijkg.graph.endpoint.endpoint import SparqlEndpoint
    from ijkg.graph.endpoint.versions import Versions, commit_time
    from ijkg.graph.facade import (
        GraphMetrics,
        KnowledgeGraph,
        holds_store,
        plan_repair,
        preflight,
        repair_store,
        shared_store,
    )
    from ijkg.graph.io.feed import ChangeFeed
    from ijkg.graph.io.loading import read_rdf_file
    from ijkg.graph.io.mirror import Mirror, MirrorFailed, MirrorStep
    from ijkg.graph.io.patches import RDF_PATCH, patch_json, rdf_patch
    from ijkg.graph.linked.reader import Entity, GraphDocument, LinkedData
    from ijkg.graph.store.base import Dataset, Delta, StoreStats, VersionInfo
    from ijkg.graph.store.changelog import ChangeLogCorrupt

#: Public name -> the module that defines it (the imports above and ``__all__`` say the same,
#: for the type checker; tests/graph/test_public.py holds the three to one table).
_PUBLIC: dict[str, str] = {
    "BadRequest": "ijkg.graph.core.errors",
    "Conflict": "ijkg.graph.core.errors",
    "Forbidden": "ijkg.graph.core.errors",
    "IjkgError": "ijkg.graph.core.errors",
    "NotAcceptable": "ijkg.graph.core.errors",
    "NotFound": "ijkg.graph.core.errors",
    "QueryAborted": "ijkg.graph.core.errors",
    "QueryError": "ijkg.graph.core.errors",
    "QueryOverloaded": "ijkg.graph.core.errors",
    "QueryRefused": "ijkg.graph.core.errors",
    "QuerySyntaxError": "ijkg.graph.core.errors",
    "QueryTimeout": "ijkg.graph.core.errors",
    "QueryTooLarge": "ijkg.graph.core.errors",
    "RdfSyntaxError": "ijkg.graph.core.errors",
    "ResultTooLarge": "ijkg.graph.core.errors",
    "StorageFailed": "ijkg.graph.core.errors",
    "StorageFull": "ijkg.graph.core.errors",
    "StoreError": "ijkg.graph.core.errors",
    "StoreLocked": "ijkg.graph.core.errors",
    "StoreUnavailable": "ijkg.graph.core.errors",
    "TooLarge": "ijkg.graph.core.errors",
    "UnsupportedFormat": "ijkg.graph.core.errors",
    "ValidationFailed": "ijkg.graph.core.errors",
    "ValidationLimit": "ijkg.graph.core.errors",
    "ValidationOverloaded": "ijkg.graph.core.errors",
    "ValidationTimeout": "ijkg.graph.core.errors",
    "VersionConflict": "ijkg.graph.core.errors",
    "VersionNotFound": "ijkg.graph.core.errors",
    "VersionsUnsupported": "ijkg.graph.core.errors",
    "FORMAT_NAMES": "ijkg.graph.core.formats",
    "JSONLD": "ijkg.graph.core.formats",
    "NTRIPLES": "ijkg.graph.core.formats",
    "RDFXML": "ijkg.graph.core.formats",
    "RDF_MEDIA_ALIASES": "ijkg.graph.core.formats",
    "RDF_SYNTAXES": "ijkg.graph.core.formats",
    "RESULTS_FORMATS": "ijkg.graph.core.formats",
    "RESULTS_JSON": "ijkg.graph.core.formats",
    "RESULTS_MEDIA_ALIASES": "ijkg.graph.core.formats",
    "RdfSyntax": "ijkg.graph.core.formats",
    "ResultsFormat": "ijkg.graph.core.formats",
    "TURTLE": "ijkg.graph.core.formats",
    "bare_media_type": "ijkg.graph.core.formats",
    "content_type": "ijkg.graph.core.formats",
    "formats_named": "ijkg.graph.core.formats",
    "rdf_syntax_for_media_type": "ijkg.graph.core.formats",
    "rdf_syntax_for_name": "ijkg.graph.core.formats",
    "rdf_syntax_of": "ijkg.graph.core.formats",
    "results_format_for": "ijkg.graph.core.formats",
    "results_format_of": "ijkg.graph.core.formats",
    "ID_BASE": "ijkg.graph.core.namespaces",
    "IJKG": "ijkg.graph.core.namespaces",
    "ONTOLOGY_IRI": "ijkg.graph.core.namespaces",
    "PREFIXES": "ijkg.graph.core.namespaces",
    "VERSION_BASE": "ijkg.graph.core.namespaces",
    "parse_version": "ijkg.graph.core.namespaces",
    "version_iri": "ijkg.graph.core.namespaces",
    "find_line": "ijkg.graph.core.rdfio",
    "write_nquads": "ijkg.graph.core.rdfio",
    "ValidationReport": "ijkg.graph.core.reports",
    "ValidationResult": "ijkg.graph.core.reports",
    "Settings": "ijkg.graph.core.settings",
    "from_sparql_json": "ijkg.graph.core.terms",
    "Writer": "ijkg.graph.core.writer",
    "BadMetadata": "ijkg.graph.curation.changes",
    "Change": "ijkg.graph.curation.changes",
    "ChangeTooLarge": "ijkg.graph.curation.changes",
    "Status": "ijkg.graph.curation.changes",
    "ChangeDiff": "ijkg.graph.curation.curation",
    "Curation": "ijkg.graph.curation.curation",
    "Loaded": "ijkg.graph.curation.curation",
    "Written": "ijkg.graph.curation.curation",
    "report_graph": "ijkg.graph.curation.validation",
    "Part": "ijkg.graph.curation.validation_pool",
    "ServiceLimits": "ijkg.graph.endpoint.description",
    "SparqlEndpoint": "ijkg.graph.endpoint.endpoint",
    "Versions": "ijkg.graph.endpoint.versions",
    "commit_time": "ijkg.graph.endpoint.versions",
    "GraphMetrics": "ijkg.graph.facade",
    "KnowledgeGraph": "ijkg.graph.facade",
    "plan_repair": "ijkg.graph.facade",
    "preflight": "ijkg.graph.facade",
    "holds_store": "ijkg.graph.facade",
    "repair_store": "ijkg.graph.facade",
    "shared_store": "ijkg.graph.facade",
    "ChangeFeed": "ijkg.graph.io.feed",
    "read_rdf_file": "ijkg.graph.io.loading",
    "Mirror": "ijkg.graph.io.mirror",
    "MirrorFailed": "ijkg.graph.io.mirror",
    "MirrorStep": "ijkg.graph.io.mirror",
    "RDF_PATCH": "ijkg.graph.io.patches",
    "patch_json": "ijkg.graph.io.patches",
    "rdf_patch": "ijkg.graph.io.patches",
    "Entity": "ijkg.graph.linked.reader",
    "GraphDocument": "ijkg.graph.linked.reader",
    "LinkedData": "ijkg.graph.linked.reader",
    "Dataset": "ijkg.graph.store.base",
    "Delta": "ijkg.graph.store.base",
    "StoreStats": "ijkg.graph.store.base",
    "VersionInfo": "ijkg.graph.store.base",
    "ChangeLogCorrupt": "ijkg.graph.store.changelog",
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
    "RDF_PATCH",
    "RDF_SYNTAXES",
    "RESULTS_FORMATS",
    "RESULTS_JSON",
    "RESULTS_MEDIA_ALIASES",
    "TURTLE",
    "VERSION_BASE",
    "BadMetadata",
    "BadRequest",
    "Change",
    "ChangeDiff",
    "ChangeFeed",
    "ChangeLogCorrupt",
    "ChangeTooLarge",
    "Conflict",
    "Curation",
    "Dataset",
    "Delta",
    "Entity",
    "Forbidden",
    "GraphDocument",
    "GraphMetrics",
    "IjkgError",
    "KnowledgeGraph",
    "LinkedData",
    "Loaded",
    "Mirror",
    "MirrorFailed",
    "MirrorStep",
    "NotAcceptable",
    "NotFound",
    "Part",
    "QueryAborted",
    "QueryError",
    "QueryOverloaded",
    "QueryRefused",
    "QuerySyntaxError",
    "QueryTimeout",
    "QueryTooLarge",
    "RdfSyntax",
    "RdfSyntaxError",
    "ResultTooLarge",
    "ResultsFormat",
    "ServiceLimits",
    "Settings",
    "SparqlEndpoint",
    "Status",
    "StorageFailed",
    "StorageFull",
    "StoreError",
    "StoreLocked",
    "StoreStats",
    "StoreUnavailable",
    "TooLarge",
    "UnsupportedFormat",
    "ValidationFailed",
    "ValidationLimit",
    "ValidationOverloaded",
    "ValidationReport",
    "ValidationResult",
    "ValidationTimeout",
    "VersionConflict",
    "VersionInfo",
    "VersionNotFound",
    "Versions",
    "VersionsUnsupported",
    "Writer",
    "Written",
    "bare_media_type",
    "commit_time",
    "content_type",
    "find_line",
    "formats_named",
    "from_sparql_json",
    "holds_store",
    "parse_version",
    "patch_json",
    "plan_repair",
    "preflight",
    "rdf_patch",
    "rdf_syntax_for_media_type",
    "rdf_syntax_for_name",
    "rdf_syntax_of",
    "read_rdf_file",
    "repair_store",
    "report_graph",
    "results_format_for",
    "results_format_of",
    "shared_store",
    "version_iri",
    "write_nquads",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'ijkg.graph' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
