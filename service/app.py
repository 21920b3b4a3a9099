"""The FastAPI application: ``create_app(settings)`` builds it; nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from ijkg.graph.bootstrap import ensure_bundle
from ijkg.graph.changes import Changes
from ijkg.graph.errors import IjkgError
from ijkg.graph.explain import Explainer
from ijkg.graph.gate import Gate
from ijkg.graph.service_description import ServiceLimits
from ijkg.graph.settings import Settings
from ijkg.graph.store import open_store
from ijkg.graph.validation_pool import ValidationPool
from ijkg.service import middleware, problems
from ijkg.service.clients import ClientSlots
from ijkg.service.routes import (
    api,
    changes,
    docs,
    entities,
    graph_store,
    health,
    pages,
    sparql,
    update,
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
            store = await open_store(settings)
        except IjkgError as exc:
            log.error("the store could not be opened: %s", exc)
            raise
        try:
            status = await ensure_bundle(store)
            if status.loaded:
                log.info("loaded the bundled graph %s", status.version[:12])
            gate = Gate()
            app.state.store = store
            app.state.gate = gate
            app.state.explainer = Explainer(gate.shapes)
            app.state.changes = Changes(
                store, gate, max_quads=settings.max_change_quads, default_graph=settings.write_graph
            )
            # Submitted RDF is validated in processes of their own (POST /validate).
            pool = ValidationPool(settings)
            app.state.validation_pool = pool
            pool.start()
            try:
                yield
            finally:
                await pool.close()
        finally:
            await store.close()

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
    problems.install(app)
    middleware.install(app, settings)
    # The package's static assets (the query page's editor, scripts, styles) at /static/.
    app.mount(sparql.STATIC_PATH, StaticFiles(packages=[("ijkg.service", "static")]), name="static")
    app.include_router(health.router)
    app.include_router(sparql.router)
    app.include_router(update.router)
    app.include_router(graph_store.router)
    app.include_router(changes.router)
    # Linked data: the entities, the JSON API, the pages for people.
    app.include_router(entities.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    return app
