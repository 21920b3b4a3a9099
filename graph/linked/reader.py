"""``LinkedData``: entities, lists, search and the vocabulary for apps and pages, with the caches
they keep per graph version, for the facade (``KnowledgeGraph.linked``)."""

from __future__ import annotations

from ijkg.graph.core.settings import Settings
from ijkg.graph.store.base import Store


class LinkedData:
    """The linked-data reads of one graph."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
