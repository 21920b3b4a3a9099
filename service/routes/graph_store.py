"""``/store``: the SPARQL 1.1 Graph Store HTTP Protocol, writes gated and recorded.

``?graph=IRI`` names a graph of this store (never fetched); ``?default`` is the default graph,
which for reading is the union of all graphs and for writing is the write graph (the same rule as
SPARQL Update). PUT replaces a graph, POST adds to it (POST with neither parameter creates a new
graph and answers 201 with its IRI), DELETE removes it. A body may hold one graph's triples only:
named graphs in a body (TriG, N-Quads, JSON-LD ``@graph`` with names) are refused.
"""

from __future__ import annotations

from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import Response

from ijkg.graph import (
    RDF_SYNTAXES,
    BadRequest,
    NotAcceptable,
    Part,
    content_type,
    rdf_syntax_for_media_type,
)
from ijkg.service.auth import WriterDep
from ijkg.service.bodies import read_body
from ijkg.service.change_json import written_out
from ijkg.service.deps import GraphDep, SettingsDep
from ijkg.service.etags import expected_version, graph_etag
from ijkg.service.memento import refuse_version_on_write
from ijkg.service.models import WrittenOut
from ijkg.service.negotiation import negotiate

router = APIRouter(tags=["graph store"], dependencies=[Depends(refuse_version_on_write)])


class BadGraphRequest(BadRequest):
    """``graph`` and ``default`` together, or a name that is not an absolute IRI."""


GraphParam = Annotated[str | None, Query(alias="graph", description="The graph's IRI")]
DefaultParam = Annotated[str | None, Query(alias="default", description="The default graph")]


def _target(graph: str | None, default: str | None) -> str | None:
    """The graph IRI asked for, or ``None`` for the default graph."""
    if graph is not None and default is not None:
        raise BadGraphRequest("give either ?graph=IRI or ?default, not both")
    if graph is None:
        return None
    try:
        name = ox.NamedNode(graph)
    except ValueError:
        raise BadGraphRequest(f"{graph!r} is not an IRI") from None
    if ":" not in name.value:
        raise BadGraphRequest(f"{graph!r} is not an absolute IRI")
    return name.value


async def _read(request: Request, knowledge: GraphDep, graph: str | None, head: bool) -> Response:
    offered = [s.media_type for s in RDF_SYNTAXES if not s.datasets] + [
        s.media_type for s in RDF_SYNTAXES if s.datasets
    ]
    wanted = negotiate(request.headers.get("accept"), offered)
    if wanted is None:
        raise NotAcceptable(f"a graph is available as {', '.join(offered)}", "graph")
    document = await knowledge.sparql.read_graph(graph, rdf_syntax_for_media_type(wanted))
    headers = {"ETag": graph_etag(await knowledge.store_id(), document.version), "Vary": "Accept"}
    media_type = content_type(wanted)
    if head:
        headers["Content-Length"] = str(len(document.body))
        return Response(status_code=200, media_type=media_type, headers=headers)
    return Response(document.body, media_type=media_type, headers=headers)


_READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The graph in the negotiated RDF syntax",
        "content": {s.media_type: {} for s in RDF_SYNTAXES},
    },
    406: {"description": "No RDF syntax the client accepts"},
}


@router.get("/store", summary="Get a graph", response_class=Response, responses=_READ_RESPONSES)
async def get_graph(
    request: Request, knowledge: GraphDep, graph: GraphParam = None, default: DefaultParam = None
) -> Response:
    """A named graph (`?graph=IRI`) or the default graph (`?default`: the union of all graphs),
    in the negotiated RDF syntax (Turtle by default)."""
    return await _read(request, knowledge, _target(graph, default), head=False)


@router.head(
    "/store", summary="Headers of a graph", response_class=Response, responses=_READ_RESPONSES
)
async def head_graph(
    request: Request, knowledge: GraphDep, graph: GraphParam = None, default: DefaultParam = None
) -> Response:
    return await _read(request, knowledge, _target(graph, default), head=True)


async def _write(
    request: Request,
    response: Response,
    writer: WriterDep,
    knowledge: GraphDep,
    settings: SettingsDep,
    *,
    target: str,
    replace: bool,
    body: bool,
    if_match: str | None,
    what: str,
) -> WrittenOut:
    stats = await knowledge.stats()
    expected = expected_version(if_match, stats.store_id, stats.version)
    part = None
    if body:
        media_type = request.headers.get("content-type", "")
        rdf_syntax_for_media_type(media_type)  # an unsupported syntax is refused unread (415)
        data = await read_body(request, settings.max_body_bytes)
        part = Part("add", media_type, data, "request body", target)
    written = await knowledge.curation.write_graph(
        writer, target, body=part, replace=replace, what=what, expected_version=expected
    )
    if body and not written.delta.removes and replace:
        response.status_code = 201
    return written_out(written, response)


@router.put("/store", summary="Replace a graph", status_code=200, response_model=WrittenOut)
async def put_graph(
    request: Request,
    response: Response,
    writer: WriterDep,
    knowledge: GraphDep,
    settings: SettingsDep,
    graph: GraphParam = None,
    default: DefaultParam = None,
    if_match: Annotated[str | None, Header()] = None,
) -> WrittenOut:
    """Replace the graph's triples with the body's (201 if the graph is new). Validated first:
    422 with the report if the graph would not conform, and nothing changes."""
    target = _target(graph, default) or settings.write_graph
    return await _write(
        request,
        response,
        writer,
        knowledge,
        settings,
        target=target,
        replace=True,
        body=True,
        if_match=if_match,
        what="PUT",
    )


@router.post(
    "/store", summary="Add to a graph (or create one)", status_code=200, response_model=WrittenOut
)
async def post_graph(
    request: Request,
    response: Response,
    writer: WriterDep,
    knowledge: GraphDep,
    settings: SettingsDep,
    graph: GraphParam = None,
    default: DefaultParam = None,
    if_match: Annotated[str | None, Header()] = None,
) -> WrittenOut:
    """Add the body's triples to the graph. With neither `graph` nor `default`, create a new
    graph and answer 201 with its IRI in `Location`."""
    created = graph is None and default is None
    target = (
        knowledge.curation.new_graph_name()
        if created
        else (_target(graph, default) or settings.write_graph)
    )
    written = await _write(
        request,
        response,
        writer,
        knowledge,
        settings,
        target=target,
        replace=False,
        body=True,
        if_match=if_match,
        what="POST",
    )
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/store?graph={target}"
    return written


@router.delete("/store", summary="Delete a graph", response_model=WrittenOut)
async def delete_graph(
    request: Request,
    response: Response,
    writer: WriterDep,
    knowledge: GraphDep,
    settings: SettingsDep,
    graph: GraphParam = None,
    default: DefaultParam = None,
    if_match: Annotated[str | None, Header()] = None,
) -> WrittenOut:
    """Remove every triple of the graph (404 if it holds none). Validated like any write."""
    target = _target(graph, default) or settings.write_graph
    return await _write(
        request,
        response,
        writer,
        knowledge,
        settings,
        target=target,
        replace=True,
        body=False,
        if_match=if_match,
        what="DELETE",
    )
