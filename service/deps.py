"""Typed dependencies: the settings and the store live on ``app.state`` and reach handlers here.

Dependencies are coroutines (they only read ``app.state``): a plain function would cost each
request a hop through the thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ijkg.graph import KnowledgeGraph
from ijkg.graph.core.settings import Settings
from ijkg.graph.store.base import Store


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_graph(request: Request) -> KnowledgeGraph:
    graph: KnowledgeGraph = request.app.state.graph
    return graph


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
GraphDep = Annotated[KnowledgeGraph, Depends(get_graph)]
