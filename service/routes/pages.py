"""Pages for people: the index at ``/``, and ``/ontology`` and ``/shapes`` (HTML documentation for
browsers, Turtle for machines, by content negotiation or ``?format=``)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ijkg.graph import TURTLE, LinkedData, content_type
from ijkg.service.deps import ClockDep, GraphDep
from ijkg.service.linked import HTML, choose_media_type, conditional, page, render

router = APIRouter(tags=["pages"])

Document = Literal["ontology", "shapes"]
_DOC_FORMATS: Final = (TURTLE.media_type, HTML)
FormatQuery = Annotated[str | None, Query(description="html or turtle, overriding Accept.")]


@router.get(
    "/",
    summary="The index page",
    response_class=Response,
    responses={200: {"content": {HTML: {}}}},
)
async def index(request: Request, graph: GraphDep, clock: ClockDep) -> Response:
    """What the service is, with links to the pillars, sectors and agreements, the query page,
    the ontology, the shapes and this API documentation."""
    key = ("index",)
    tags = conditional(graph, clock)
    fresh = await tags.fresh(request, *key)
    if fresh is not None:
        return fresh
    data = await graph.linked.overview()
    validators = await tags.validators(data["version"], *key)
    return page(render("index.html", collections=LinkedData.collections(), **data), validators)


async def _document(
    request: Request,
    graph: GraphDep,
    clock: ClockDep,
    which: Document,
    template: str,
    format_name: str | None,
) -> Response:
    media_type = choose_media_type(request.headers.get("accept"), format_name, _DOC_FORMATS)
    key = (LinkedData.DOCUMENT_GRAPHS[which], media_type)
    tags = conditional(graph, clock)
    fresh = await tags.fresh(request, *key)
    if fresh is not None:
        return fresh
    document = await graph.linked.document(which)
    validators = await tags.validators(document.version, *key)
    if media_type == HTML:
        return page(render(template, view=document.view()), validators)
    return Response(
        document.turtle(), media_type=content_type(media_type), headers=validators.headers()
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
    request: Request, graph: GraphDep, clock: ClockDep, format: FormatQuery = None
) -> Response:
    """The ontology graph: documentation for browsers (`text/html`), Turtle for everyone else.
    Example: `curl http://127.0.0.1:8000/ontology` (Turtle)."""
    return await _document(request, graph, clock, "ontology", "ontology.html", format)


@router.get(
    "/shapes",
    summary="The SHACL shapes: HTML documentation or Turtle",
    response_class=Response,
    responses=_DOC_RESPONSES,
)
async def shapes(
    request: Request, graph: GraphDep, clock: ClockDep, format: FormatQuery = None
) -> Response:
    """The shapes graph: documentation for browsers (`text/html`), Turtle for everyone else.
    Example: `curl http://127.0.0.1:8000/shapes?format=turtle`."""
    return await _document(request, graph, clock, "shapes", "shapes.html", format)
