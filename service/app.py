"""The FastAPI application: ``create_app(settings)`` builds it; nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from ijkg.graph import IjkgError, KnowledgeGraph, ServiceLimits, Settings
from ijkg.service import middleware, openapi, problems
from ijkg.service.clients import ClientSlots
from ijkg.service.metrics import Metrics
from ijkg.service.routes import (
    api,
    changes,
    docs,
    entities,
    feed,
    graph_store,
    health,
    pages,
    sparql,
    update,
    versions,
)

log = logging.getLogger("ijkg")


def app_from_environment() -> FastAPI:
    """The app for a worker process started by ``ijkg serve --workers N`` (settings from the
    ``IJKG_*`` environment the command set up)."""
    return create_app(Settings())


def create_app(settings: Settings) -> FastAPI:
    """The service for ``settings``: the store opens at start-up and closes at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            graph = await KnowledgeGraph.open(settings, validation_workers=True)
        except IjkgError as exc:
            log.error("the store could not be opened: %s", exc)
            raise
        app.state.graph = graph
        try:
            yield
        finally:
            await graph.close()

    app = FastAPI(
        title="ijkg — the India–Japan knowledge graph",
        summary="SPARQL, linked entities and validated changes over the India–Japan partnership",
        description=sparql.openapi_description(ServiceLimits.from_settings(settings)),
        version="0.1.0",
        lifespan=lifespan,
        # /docs is served from the package's own Swagger UI (service/routes/docs.py).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.client_slots = ClientSlots(settings.queries_per_client())
    app.state.metrics = Metrics()
    problems.install(app)
    middleware.install(app, settings, app.state.metrics)
    # The package's static assets (the query page's editor, scripts, styles) at /static/.
    app.mount(sparql.STATIC_PATH, StaticFiles(packages=[("ijkg.service", "static")]), name="static")
    app.include_router(health.router)
    app.include_router(sparql.router)
    app.include_router(update.router)
    app.include_router(graph_store.router)
    # Before the changes' routes: /changes/feed is not a change named "feed".
    app.include_router(feed.router)
    app.include_router(changes.router)
    # Linked data: the entities, the JSON API, the pages for people.
    app.include_router(entities.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.include_router(versions.router)
    openapi.install(app)
    return app
