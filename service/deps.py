"""Typed dependencies: the settings, the graph (the facade) and the clock of graph versions live
on ``app.state`` and reach handlers here.

Dependencies are coroutines (they only read ``app.state``): a plain function would cost each
request a hop through the thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ijkg.graph import KnowledgeGraph, Settings
from ijkg.service.conditional import VersionClock


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_graph(request: Request) -> KnowledgeGraph:
    graph: KnowledgeGraph = request.app.state.graph
    return graph


async def get_clock(request: Request) -> VersionClock:
    """When this process first saw each graph version (``Last-Modified``); one per application,
    made on first use."""
    clock: VersionClock | None = getattr(request.app.state, "version_clock", None)
    if clock is None:
        clock = VersionClock()
        request.app.state.version_clock = clock
    return clock


SettingsDep = Annotated[Settings, Depends(get_settings)]
GraphDep = Annotated[KnowledgeGraph, Depends(get_graph)]
ClockDep = Annotated[VersionClock, Depends(get_clock)]
