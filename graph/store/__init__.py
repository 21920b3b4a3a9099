"""Stores behind ijkg: the ``Store`` interface and its implementations, chosen by settings."""

from __future__ import annotations

from ijkg.graph.core.settings import Settings
from ijkg.graph.store.base import Store


async def open_store(settings: Settings) -> Store:
    """Open the store the settings ask for (``IJKG_STORE``)."""
    if settings.store == "sparql":
        from ijkg.graph.store.remote import SparqlStore

        return await SparqlStore.open(settings)
    if settings.store == "memory":
        from ijkg.graph.store.memory import MemoryStore

        return await MemoryStore.open(settings)
    from ijkg.graph.store.embedded import EmbeddedStore

    return await EmbeddedStore.open(settings)


__all__ = ["Store", "open_store"]
