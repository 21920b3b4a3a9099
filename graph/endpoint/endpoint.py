"""``SparqlEndpoint``: what the SPARQL endpoint and the graph store protocol's reads ask of the
graph, for the facade (``KnowledgeGraph.sparql``)."""

from __future__ import annotations

from dataclasses import dataclass

from ijkg.graph.core.errors import GraphNotFound
from ijkg.graph.core.formats import rdf_syntax_for_media_type
from ijkg.graph.core.settings import Settings
from ijkg.graph.store.base import Dataset, Store


@dataclass(frozen=True)
class GraphDocument:
    """A graph serialised, and the store and version it was read at."""

    body: bytes
    store_id: str
    version: int


class SparqlEndpoint:
    """Queries with their limits, the service description, reads of named graphs."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store

    async def read_graph(self, graph: str | None, media_type: str) -> GraphDocument:
        """A named graph (``None``: the default graph, the union of all graphs) in the RDF
        syntax of ``media_type``; ``GraphNotFound`` when no graph of that name holds a triple."""
        dataset = Dataset() if graph is None else Dataset(default_graphs=(graph,), named_graphs=())
        if graph is not None and graph not in await self._store.graph_names():
            raise GraphNotFound(f"no graph <{graph}> in this store")
        answer = await self._store.query(
            "CONSTRUCT WHERE { ?s ?p ?o }",
            rdf=rdf_syntax_for_media_type(media_type),
            dataset=dataset,
        )
        stats = await self._store.stats()
        return GraphDocument(answer.body, stats.store_id, answer.version)
