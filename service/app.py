"""The FastAPI application: ``create_app(settings)`` builds it; nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ijkg.graph.bootstrap import ensure_bundle
from ijkg.graph.settings import Settings
from ijkg.graph.store import open_store
from ijkg.service import problems
from ijkg.service.routes import health, sparql

log = logging.getLogger("ijkg")


def create_app(settings: Settings) -> FastAPI:
    """The service for ``settings``: the store opens at start-up and closes at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await open_store(settings)
        try:
            status = await ensure_bundle(store)
            if status.loaded:
                log.info("loaded the bundled graph %s", status.version[:12])
            app.state.store = store
            yield
        finally:
            await store.close()

    app = FastAPI(
        title="ijkg — the India–Japan knowledge graph",
        summary="SPARQL, linked entities and validated changes over the India–Japan partnership",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    problems.install(app)
    app.include_router(health.router)
    app.include_router(sparql.router)
    return app
