"""``POST /validate`` and ``/changes``: the curator's workflow.

Validate RDF as if merged (nothing changes); propose a change; inspect it (diff, report as of now);
merge it (re-validated on the current graph, applied atomically with its history), reject it, or
revert a merged one. Reads are open; every write needs a bearer token.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from ijkg.graph import (
    JSONLD,
    TURTLE,
    Part,
    RdfSyntaxError,
    Status,
    UnsupportedFormat,
    bare_media_type,
)
from ijkg.service.auth import WriterDep
from ijkg.service.bodies import read_body
from ijkg.service.change_json import change_out, detail_out, written_out
from ijkg.service.clients import client_address, client_slots
from ijkg.service.deps import GraphDep, SettingsDep
from ijkg.service.etags import expected_version
from ijkg.service.linked import query_string
from ijkg.service.memento import refuse_version_on_write
from ijkg.service.models import ChangeDetail, ChangeOut, ReportOut, WhoAmIOut, WrittenOut
from ijkg.service.negotiation import negotiate
from ijkg.service.problems import wants_page
from ijkg.service.rdf_bodies import is_rdf
from ijkg.service.workspace import change_page, changes_page, entity_filter

router = APIRouter(tags=["changes"], dependencies=[Depends(refuse_version_on_write)])


# --- models (for OpenAPI and for reading JSON bodies) -------------------------------------------


class RdfText(BaseModel):
    """RDF inline in a JSON document."""

    format: str = Field("text/turtle", description="Media type of `data`.")
    data: str = Field(..., description="The RDF text.")


class ChangeDocument(BaseModel):
    """A change as JSON: what to add and remove, and why."""

    title: str = Field(..., min_length=1, examples=["Add the 2025 semiconductor MoC"])
    description: str = Field("", examples=["Signed at the 15th Annual Summit."])
    source: str | None = Field(None, examples=["https://www.mea.gov.in/..."])
    graph: str | None = Field(
        None, description="Named graph for triples that name none (default: the write graph)."
    )
    add: RdfText | None = None
    remove: RdfText | None = None


# --- helpers ------------------------------------------------------------------------------------


def _text_part(role: str, payload: RdfText | None, graph: str | None) -> list[Part]:
    if payload is None:
        return []
    return [Part(role, payload.format, payload.data.encode(), "change document", graph)]


async def read_parts(
    request: Request, max_bytes: int, *, removing: bool = False
) -> tuple[ChangeDocument | None, tuple[Part, ...]]:
    """The change in a request, unparsed: a JSON change document's RDF texts, or an RDF body
    (to add, or to remove)."""
    media_type = request.headers.get("content-type", "")
    body = await read_body(request, max_bytes)
    if bare_media_type(media_type) == "application/json":
        try:
            document = ChangeDocument.model_validate_json(body)
        except ValueError as exc:
            raise RdfSyntaxError(f"not a change document: {exc}") from None
        parts = _text_part("remove", document.remove, document.graph)
        parts += _text_part("add", document.add, document.graph)
        return document, tuple(parts)
    if not is_rdf(media_type):
        raise UnsupportedFormat(
            f"send RDF (text/turtle, application/trig, application/n-triples, "
            f"application/n-quads, application/ld+json, application/rdf+xml) or a JSON change "
            f"document (application/json), not {media_type or 'no content type'}"
        )
    return None, (Part("remove" if removing else "add", media_type, body, "request body"),)


# --- POST /validate -----------------------------------------------------------------------------


@router.post(
    "/validate",
    summary="SHACL report for RDF as if merged; changes nothing",
    response_model=ReportOut,
    responses={
        200: {
            "description": "The report (JSON), or the standard SHACL report as Turtle/JSON-LD",
            "content": {"text/turtle": {}, "application/ld+json": {}},
        },
        400: {"description": "Malformed RDF (line and column)"},
        413: {"description": "Body too large, or more quads than one validation may check"},
        415: {"description": "Unsupported media type"},
        503: {"description": "Stopped at its time or memory limit, or every validator is busy"},
    },
)
async def validate_submission(
    request: Request,
    graph: GraphDep,
    settings: SettingsDep,
    mode: Annotated[
        str, Query(pattern="^(add|remove)$", description="Validate adding (default) or removing.")
    ] = "add",
) -> Response:
    """Send RDF (any syntax, by `Content-Type`) to learn whether the graph would still conform
    with it added — or, with `?mode=remove`, with it removed — or a JSON change document with
    both. Nothing is written.

    Example: `curl -X POST http://127.0.0.1:8000/validate -H 'Content-Type: text/turtle'
    --data-binary @new-agreement.ttl`
    """
    _, parts = await read_parts(request, settings.max_body_bytes, removing=mode == "remove")
    wanted = negotiate(
        request.headers.get("accept"), ["application/json", TURTLE.media_type, JSONLD.media_type]
    )
    with client_slots(request).hold(client_address(request)):
        verdict = await graph.curation.validate(parts, wanted or "application/json")
    return Response(verdict.body, media_type=verdict.media_type)


# --- /changes -----------------------------------------------------------------------------------


_PAGE: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {"text/html": {}}, "description": "JSON; the curator's page for browsers"}
}


@router.get(
    "/changes",
    summary="List changes, newest first",
    response_model=list[ChangeOut],
    responses=_PAGE,
)
async def get_changes(
    request: Request,
    response: Response,
    graph: GraphDep,
    status: Annotated[
        Status | Literal[""] | None, Query(description="Only changes in this state ('': any)")
    ] = None,
    touching: Annotated[
        str | None, Query(description="Only changes that touched this IRI, or would (proposed)")
    ] = None,
    author: Annotated[str | None, Query(description="Only changes this writer proposed")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        str | None, Query(description="Cursor: the id of the last change seen")
    ] = None,
) -> list[ChangeOut] | Response:
    """The history: changes with their status, author, time and merge (who, versions). A browser
    (`Accept: text/html`) gets the curator's workspace: the list with its filters, and a form
    to check and propose a change."""
    status = status or None
    page = wants_page(request)
    if page:
        # Filters as a curator types them: empty fields mean none, an entity by kind/slug.
        touching = entity_filter(touching)
        author = author.strip() or None if author is not None else None
    found = await graph.curation.changes(
        status=status,
        touching=touching,
        author=author,
        limit=limit,
        before=before,
    )
    next_url = None
    if len(found) == limit:
        filters = {"status": status, "touching": touching, "author": author}
        next_url = "/changes" + query_string(limit=limit, before=found[-1].slug, **filters)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    if page:
        answer = await changes_page(
            graph, found, status=status, author=author, touching=touching, next_url=next_url
        )
        answer.headers.update(response.headers)
        return answer
    response.headers["Vary"] = "Accept"
    return [change_out(c) for c in found]


@router.post(
    "/changes",
    summary="Propose a change",
    status_code=201,
    response_model=ChangeDetail,
    responses={401: {"description": "No or unknown token"}, 403: {"description": "Read-only"}},
)
async def propose(
    request: Request,
    response: Response,
    writer: WriterDep,
    graph: GraphDep,
    settings: SettingsDep,
    title: Annotated[str | None, Query(description="Title, when the body is RDF")] = None,
    description: Annotated[str, Query()] = "",
    source: Annotated[str | None, Query()] = None,
    target: Annotated[
        str | None, Query(alias="graph", description="Target graph, when the body is RDF")
    ] = None,
) -> ChangeDetail:
    """Propose triples to add (and remove): a JSON change document, or an RDF body with the
    title, description and source as query parameters. A proposal that would not conform with
    the graph as it is now is refused (422, with the report); nothing enters the graph until the
    proposal is merged.

    Example: `curl -X POST 'http://127.0.0.1:8000/changes?title=New+MoC&source=https://...'
    -H 'Authorization: Bearer s3cret' -H 'Content-Type: text/turtle' --data-binary @moc.ttl`
    """
    document, parts = await read_parts(request, settings.max_body_bytes)
    if document is not None:
        title, description, source, target = (
            document.title,
            document.description,
            document.source,
            document.graph,
        )
    detail = await graph.curation.propose(
        writer, parts, title=title, description=description, source=source, graph=target
    )
    response.headers["Location"] = f"/changes/{detail.change.slug}"
    return detail_out(detail)


@router.get(
    "/whoami",
    summary="Who a write token stands for",
    response_model=WhoAmIOut,
    responses={401: {"description": "No or unknown token"}, 403: {"description": "Read-only"}},
)
async def whoami(writer: WriterDep) -> WhoAmIOut:
    """The name and role of the bearer token sent, without writing anything: the workspace asks
    it as a curator signs in, so a mistyped token is said at once, not at the first action."""
    return WhoAmIOut(name=writer.name, admin=writer.admin)


@router.get(
    "/changes/{change_id}",
    summary="Inspect a change",
    response_model=ChangeDetail,
    responses=_PAGE,
)
async def inspect(
    request: Request, change_id: str, graph: GraphDep, response: Response
) -> ChangeDetail | Response:
    """A change: its diff (N-Quads), status and history, and — while proposed — its validation
    report against the graph as it is now. A browser gets the change's page: the diff as
    labelled triples grouped by entity, the report with its suggested fixes, the evidence, the
    history, and the curator's actions."""
    detail = await graph.curation.inspect(change_id)
    if wants_page(request):
        return await change_page(graph, detail)
    response.headers["Location"] = f"/changes/{change_id}"
    response.headers["Vary"] = "Accept"
    return detail_out(detail)


@router.post(
    "/changes/{change_id}/merge", summary="Merge a proposed change", response_model=WrittenOut
)
async def merge(
    response: Response,
    change_id: str,
    writer: WriterDep,
    graph: GraphDep,
    if_match: Annotated[str | None, Header(description="Only if the graph is at this ETag")] = None,
) -> WrittenOut:
    """Re-validate the change on the current graph and apply it atomically with its history
    (who, when, why, versions, report). 422 with the report if it no longer conforms; 409 if it
    is not proposed or the graph moved; 412 if `If-Match` names another version."""
    stats = await graph.stats()
    expected = expected_version(if_match, stats.store_id, stats.version)
    written = await graph.curation.merge(writer, change_id, expected_version=expected)
    return written_out(written, response)


@router.post(
    "/changes/{change_id}/reject", summary="Reject a proposed change", response_model=ChangeOut
)
async def reject(
    change_id: str,
    writer: WriterDep,
    graph: GraphDep,
    reason: Annotated[str, Query()] = "",
) -> ChangeOut:
    """Close a proposal without merging it. A change only the admin may write (to the ontology,
    the shapes or the project's terms) is merged or rejected by the admin only (403)."""
    change = await graph.curation.reject(writer, change_id, reason=reason)
    return change_out(change)


@router.post(
    "/changes/{change_id}/revert", summary="Revert a merged change", response_model=WrittenOut
)
async def revert(
    response: Response,
    change_id: str,
    writer: WriterDep,
    graph: GraphDep,
    if_match: Annotated[str | None, Header()] = None,
) -> WrittenOut:
    """Undo a merged change with a new change that removes what it added and restores what it
    removed — validated like any other, and recorded in the history."""
    stats = await graph.stats()
    expected = expected_version(if_match, stats.store_id, stats.version)
    written = await graph.curation.revert(writer, change_id, expected_version=expected)
    return written_out(written, response)
