"""Pages for people: the index at ``/``, and ``/ontology`` and ``/shapes`` (HTML documentation for
browsers, Turtle for machines, by content negotiation or ``?format=``)."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ijkg.graph.core.formats import TURTLE
from ijkg.graph.core.namespaces import ONTOLOGY_GRAPH, SHAPES_GRAPH
from ijkg.graph.linked.docs import graph_turtle, named_graph, ontology_view, shapes_view
from ijkg.graph.linked.listing import COLLECTIONS, overview
from ijkg.service.deps import StoreDep
from ijkg.service.linked import HTML, LinkedDep, choose_media_type, content_type, page, render

router = APIRouter(tags=["pages"])

_DOC_FORMATS: Final = (TURTLE.media_type, HTML)
FormatQuery = Annotated[str | None, Query(description="html or turtle, overriding Accept.")]


@router.get(
    "/",
    summary="The index page",
    response_class=Response,
    responses={200: {"content": {HTML: {}}}},
)
async def index(request: Request, store: StoreDep, linked: LinkedDep) -> Response:
    """What the service is, with links to the pillars, sectors and agreements, the query page,
    the ontology, the shapes and this API documentation."""
    key = ("index",)
    fresh = await linked.fresh(request, store, *key)
    if fresh is not None:
        return fresh
    vocabulary = await linked.vocabulary(store)
    data = await overview(store, vocabulary, linked.list_cache)
    validators = await linked.validators(store, data["version"], *key)
    return page(render("index.html", collections=list(COLLECTIONS.values()), **data), validators)


async def _document(
    request: Request,
    store: StoreDep,
    linked: LinkedDep,
    graph_name: str,
    template: str,
    format_name: str | None,
) -> Response:
    media_type = choose_media_type(request.headers.get("accept"), format_name, _DOC_FORMATS)
    key = (graph_name, media_type)
    fresh = await linked.fresh(request, store, *key)
    if fresh is not None:
        return fresh
    version = await store.version()
    graph = await named_graph(store, graph_name)
    validators = await linked.validators(store, version, *key)
    if media_type == HTML:
        view = ontology_view(graph) if template == "ontology.html" else shapes_view(graph)
        return page(render(template, view=view), validators)
    return Response(
        graph_turtle(graph), media_type=content_type(media_type), headers=validators.headers()
    )


_DOC_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {TURTLE.media_type: {}, HTML: {}}},
    406: {},
}


@router.get(
    "/ontology",
    summary="The ontology: HTML documentation or Turtle",
    response_class=Response,
    responses=_DOC_RESPONSES,
)
async def ontology(
    request: Request, store: StoreDep, linked: LinkedDep, format: FormatQuery = None
) -> Response:
    """The ontology graph: documentation for browsers (`text/html`), Turtle for everyone else.
    Example: `curl http://127.0.0.1:8000/ontology` (Turtle)."""
    return await _document(request, store, linked, ONTOLOGY_GRAPH, "ontology.html", format)


@router.get(
    "/shapes",
    summary="The SHACL shapes: HTML documentation or Turtle",
    response_class=Response,
    responses=_DOC_RESPONSES,
)
async def shapes(
    request: Request, store: StoreDep, linked: LinkedDep, format: FormatQuery = None
) -> Response:
    """The shapes graph: documentation for browsers (`text/html`), Turtle for everyone else.
    Example: `curl http://127.0.0.1:8000/shapes?format=turtle`."""
    return await _document(request, store, linked, SHAPES_GRAPH, "shapes.html", format)
