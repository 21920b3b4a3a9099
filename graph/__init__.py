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
        Forbidden,
        IjkgError,
        NotAcceptable,
        QueryError,
        QueryRefused,
        QuerySyntaxError,
        RdfSyntaxError,
        StoreError,
        StoreLocked,
        TooLarge,
        UnsupportedFormat,
        ValidationFailed,
    )
    from ijkg.graph.core.formats import (
        JSONLD,
        RDF_SYNTAXES,
        RESULTS_JSON,
        TURTLE,
        RdfSyntax,
        bare_media_type,
        rdf_syntax_for_media_type,
        rdf_syntax_for_name,
        results_format_for,
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
    from ijkg.graph.facade import KnowledgeGraph, plan_repair, preflight, repair_store
    from ijkg.graph.io.loading import read_rdf_file
    from ijkg.graph.linked.reader import LinkedData
    from ijkg.graph.store.base import Delta
    from ijkg.graph.store.changelog import ChangeLogCorrupt

#: Public name -> the module that defines it.
_PUBLIC: dict[str, str] = {
    "KnowledgeGraph": "ijkg.graph.facade",
    "Settings": "ijkg.graph.core.settings",
    "SparqlEndpoint": "ijkg.graph.endpoint.endpoint",
    "LinkedData": "ijkg.graph.linked.reader",
    "Curation": "ijkg.graph.curation.curation",
    "Writer": "ijkg.graph.core.writer",
    "Change": "ijkg.graph.curation.changes",
    "ChangeDiff": "ijkg.graph.curation.curation",
    "Written": "ijkg.graph.curation.curation",
    "Loaded": "ijkg.graph.curation.curation",
    "Part": "ijkg.graph.curation.validation_pool",
    "Status": "ijkg.graph.curation.changes",
    "Delta": "ijkg.graph.store.base",
    "ValidationReport": "ijkg.graph.core.reports",
    "ValidationResult": "ijkg.graph.core.reports",
    "ServiceLimits": "ijkg.graph.endpoint.description",
    "RdfSyntax": "ijkg.graph.core.formats",
    "RDF_SYNTAXES": "ijkg.graph.core.formats",
    "RESULTS_JSON": "ijkg.graph.core.formats",
    "TURTLE": "ijkg.graph.core.formats",
    "JSONLD": "ijkg.graph.core.formats",
    "bare_media_type": "ijkg.graph.core.formats",
    "rdf_syntax_for_media_type": "ijkg.graph.core.formats",
    "rdf_syntax_for_name": "ijkg.graph.core.formats",
    "results_format_for": "ijkg.graph.core.formats",
    "find_line": "ijkg.graph.core.rdfio",
    "write_nquads": "ijkg.graph.core.rdfio",
    "from_sparql_json": "ijkg.graph.core.terms",
    "read_rdf_file": "ijkg.graph.io.loading",
    "report_graph": "ijkg.graph.curation.validation",
    "preflight": "ijkg.graph.facade",
    "plan_repair": "ijkg.graph.facade",
    "repair_store": "ijkg.graph.facade",
    "IjkgError": "ijkg.graph.core.errors",
    "BadRequest": "ijkg.graph.core.errors",
    "Forbidden": "ijkg.graph.core.errors",
    "NotAcceptable": "ijkg.graph.core.errors",
    "QueryError": "ijkg.graph.core.errors",
    "QueryRefused": "ijkg.graph.core.errors",
    "QuerySyntaxError": "ijkg.graph.core.errors",
    "RdfSyntaxError": "ijkg.graph.core.errors",
    "StoreError": "ijkg.graph.core.errors",
    "StoreLocked": "ijkg.graph.core.errors",
    "TooLarge": "ijkg.graph.core.errors",
    "UnsupportedFormat": "ijkg.graph.core.errors",
    "ValidationFailed": "ijkg.graph.core.errors",
    "BadMetadata": "ijkg.graph.curation.changes",
    "ChangeTooLarge": "ijkg.graph.curation.changes",
    "ChangeLogCorrupt": "ijkg.graph.store.changelog",
}

__all__ = [
    "JSONLD",
    "RDF_SYNTAXES",
    "RESULTS_JSON",
    "TURTLE",
    "BadMetadata",
    "BadRequest",
    "Change",
    "ChangeDiff",
    "ChangeLogCorrupt",
    "ChangeTooLarge",
    "Curation",
    "Delta",
    "Forbidden",
    "IjkgError",
    "KnowledgeGraph",
    "LinkedData",
    "Loaded",
    "NotAcceptable",
    "Part",
    "QueryError",
    "QueryRefused",
    "QuerySyntaxError",
    "RdfSyntax",
    "RdfSyntaxError",
    "ServiceLimits",
    "Settings",
    "SparqlEndpoint",
    "Status",
    "StoreError",
    "StoreLocked",
    "TooLarge",
    "UnsupportedFormat",
    "ValidationFailed",
    "ValidationReport",
    "ValidationResult",
    "Writer",
    "Written",
    "bare_media_type",
    "find_line",
    "from_sparql_json",
    "plan_repair",
    "preflight",
    "rdf_syntax_for_media_type",
    "rdf_syntax_for_name",
    "read_rdf_file",
    "repair_store",
    "report_graph",
    "results_format_for",
    "write_nquads",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'ijkg.graph' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
