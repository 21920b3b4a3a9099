"""``Curation``: every way of changing the graph — proposals, the workflow's transitions, SPARQL
Update, the graph store protocol, validation of submitted RDF — for the facade
(``KnowledgeGraph.curation``). Permission checks, the writers' lock and retries live here, once."""

from __future__ import annotations

from ijkg.graph.core.settings import Settings
from ijkg.graph.curation.changes import Changes
from ijkg.graph.curation.explain import Explainer
from ijkg.graph.curation.gate import Gate
from ijkg.graph.curation.validation_pool import ValidationPool
from ijkg.graph.store.base import Store


class Curation:
    """The write side of one graph."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        gate: Gate,
        *,
        validation_pool: ValidationPool | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate
        self._explainer = Explainer(gate.shapes)
        self._changes = Changes(
            store, gate, max_quads=settings.max_change_quads, default_graph=settings.write_graph
        )
        self._validation_pool = validation_pool

    async def close(self) -> None:
        if self._validation_pool is not None:
            await self._validation_pool.close()
