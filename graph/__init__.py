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
    from ijkg.graph.core.settings import Settings
    from ijkg.graph.curation.curation import Curation
    from ijkg.graph.endpoint.endpoint import SparqlEndpoint
    from ijkg.graph.facade import KnowledgeGraph
    from ijkg.graph.linked.reader import LinkedData

#: Public name -> the module that defines it.
_PUBLIC: dict[str, str] = {
    "KnowledgeGraph": "ijkg.graph.facade",
    "Settings": "ijkg.graph.core.settings",
    "SparqlEndpoint": "ijkg.graph.endpoint.endpoint",
    "LinkedData": "ijkg.graph.linked.reader",
    "Curation": "ijkg.graph.curation.curation",
}

__all__ = ["Curation", "KnowledgeGraph", "LinkedData", "Settings", "SparqlEndpoint"]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'ijkg.graph' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
