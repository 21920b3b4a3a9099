"""``SparqlEndpoint``: what the SPARQL endpoint and the graph store protocol's reads ask of the
graph, for the facade (``KnowledgeGraph.sparql``)."""

from __future__ import annotations

from ijkg.graph.core.settings import Settings
from ijkg.graph.store.base import Store


class SparqlEndpoint:
    """Queries with their limits, the service description, reads of named graphs."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
