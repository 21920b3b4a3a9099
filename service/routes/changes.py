"""``POST /validate`` and ``/changes``: the curator's workflow.

Validate RDF as if merged (nothing changes); propose a change; inspect it (diff, report as of now);
merge it (re-validated on the current graph, applied atomically with its history), reject it, or
revert a merged one. Reads are open; every write needs a bearer token.
"""

from __future__ import annotations

from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from ijkg.graph.core.errors import BadRequest, RdfSyntaxError, UnsupportedFormat, ValidationFailed
from ijkg.graph.core.formats import JSONLD, TURTLE, bare_media_type, rdf_syntax_for_media_type
from ijkg.graph.core.rdfio import ParseOptions, parse_quads
from ijkg.graph.curation.changes import (
    Change,
    Changes,
    Status,
    check_metadata,
    get_change,
    list_changes,
)
from ijkg.graph.curation.explain import Explainer, gate_report_json, submitted_graph
from ijkg.graph.curation.gate import Gate, GateReport
from ijkg.graph.curation.protection import ProtectedTerm, check_write, needs_admin
from ijkg.graph.curation.validation_pool import Part, Submission, ValidationPool
from ijkg.graph.store.base import Delta
from ijkg.graph.store.changelog import serialize_quads
from ijkg.service.auth import WriterDep
from ijkg.service.bodies import read_body
from ijkg.service.clients import client_address, client_slots
from ijkg.service.deps import SettingsDep, StoreDep
from ijkg.service.etags import expected_version, graph_etag
from ijkg.service.negotiation import negotiate
from ijkg.service.rdf_bodies import is_rdf

router = APIRouter(tags=["changes"])


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


class ResultOut(BaseModel):
    severity: str
    focusNode: str
    focusLabel: str | None
    path: str | None
    value: str | None
    message: str
    expected: str
    found: str
    suggestion: str | None
    shape: str
    sourceShape: str
    constraint: str
    details: list[str]


class ReportOut(BaseModel):
    conforms: bool
    violations: int
    warnings: int
    method: str = Field(description="incremental, mixed or whole-graph")
    focusNodes: int
    neighbourhoodTriples: int
    shapesValidatedOnTheWholeGraph: dict[str, str]
    results: list[ResultOut]


class MergeOut(BaseModel):
    id: str
    who: str
    started: str
    ended: str
    versionBefore: int
    versionAfter: int
    report: dict[str, Any]


class ChangeOut(BaseModel):
    id: str
    iri: str
    title: str
    description: str
    source: str | None
    author: str
    created: str
    status: str
    writePath: str
    targetGraph: str | None
    reverts: str | None
    revertedBy: str | None
    merge: MergeOut | None


class ChangeDetail(ChangeOut):
    additions: str = Field(description="The quads the change adds, as N-Quads.")
    removals: str = Field(description="The quads the change removes, as N-Quads.")
    report: ReportOut | None = Field(
        None, description="Validation against the graph as it is now (proposed changes)."
    )


def change_out(change: Change) -> dict[str, Any]:
    merge = change.merge
    return {
        "id": change.slug,
        "iri": change.iri,
        "title": change.title,
        "description": change.description,
        "source": change.source,
        "author": change.author,
        "created": change.created,
        "status": change.status,
        "writePath": change.write_path,
        "targetGraph": change.target_graph,
        "reverts": change.reverts,
        "revertedBy": change.reverted_by,
        "merge": None
        if merge is None
        else {
            "id": merge.iri,
            "who": merge.who,
            "started": merge.started,
            "ended": merge.ended,
            "versionBefore": merge.version_before,
            "versionAfter": merge.version_after,
            "report": merge.report,
        },
    }


# --- helpers ------------------------------------------------------------------------------------


def changes_of(request: Request) -> Changes:
    changes: Changes = request.app.state.changes
    return changes


def gate_of(request: Request) -> Gate:
    gate: Gate = request.app.state.gate
    return gate


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


async def read_change(
    request: Request, max_bytes: int, *, removing: bool = False
) -> tuple[ChangeDocument | None, Delta]:
    """The change in a request, parsed: a JSON change document, or an RDF body."""
    document, parts = await read_parts(request, max_bytes, removing=removing)
    removes: list[ox.Quad] = []
    adds: list[ox.Quad] = []
    for part in parts:
        options = ParseOptions(
            rdf_syntax_for_media_type(part.media_type),
            default_graph=part.graph,
            source=part.source,
        )
        (removes if part.role == "remove" else adds).extend(parse_quads(part.data, options))
    return document, Delta(removes=tuple(removes), adds=tuple(adds))


async def report_out(request: Request, gate: GateReport, delta: Delta) -> dict[str, Any]:
    explainer: Explainer = request.app.state.explainer
    submitted = submitted_graph(list(delta.adds))
    explained = await explainer.explain(request.app.state.store, gate.report, submitted)
    return gate_report_json(gate, explained)


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
    store: StoreDep,
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
    pool: ValidationPool = request.app.state.validation_pool
    submission = Submission(parts, wanted or "application/json")
    with client_slots(request).hold(client_address(request)):
        verdict = await pool.validate(store, submission, graph=settings.write_graph)
    return Response(verdict.body, media_type=verdict.media_type)


# --- /changes -----------------------------------------------------------------------------------


@router.get("/changes", summary="List changes, newest first", response_model=list[ChangeOut])
async def get_changes(
    store: StoreDep,
    status: Annotated[Status | None, Query()] = None,
    touching: Annotated[str | None, Query(description="Only changes that touched this IRI")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        str | None, Query(description="Cursor: the id of the last change seen")
    ] = None,
) -> Response:
    """The history: changes with their status, author, time and merge (who, versions)."""
    if touching is not None:
        try:
            touching = ox.NamedNode(touching).value  # only an IRI reaches the query
        except ValueError as exc:
            raise BadRequest(f"'touching' is an IRI, not {touching[:80]!r} ({exc})") from None
    found = await list_changes(
        store,
        status=status,
        touching=touching,
        limit=limit,
        before=before,
    )
    headers = {}
    if len(found) == limit:
        query = f"?limit={limit}&before={found[-1].slug}" + (f"&status={status}" if status else "")
        headers["Link"] = f'</changes{query}>; rel="next"'
    return JSONResponse([change_out(c) for c in found], headers=headers)


@router.post(
    "/changes",
    summary="Propose a change",
    status_code=201,
    response_model=ChangeDetail,
    responses={401: {"description": "No or unknown token"}, 403: {"description": "Read-only"}},
)
async def propose(
    request: Request,
    writer: WriterDep,
    settings: SettingsDep,
    title: Annotated[str | None, Query(description="Title, when the body is RDF")] = None,
    description: Annotated[str, Query()] = "",
    source: Annotated[str | None, Query()] = None,
    graph: Annotated[str | None, Query(description="Target graph, when the body is RDF")] = None,
) -> Response:
    """Propose triples to add (and remove): a JSON change document, or an RDF body with the
    title, description and source as query parameters. A proposal that would not conform with
    the graph as it is now is refused (422, with the report); nothing enters the graph until the
    proposal is merged.

    Example: `curl -X POST 'http://127.0.0.1:8000/changes?title=New+MoC&source=https://...'
    -H 'Authorization: Bearer s3cret' -H 'Content-Type: text/turtle' --data-binary @moc.ttl`
    """
    document, delta = await read_change(request, settings.max_body_bytes)
    if document is not None:
        title, description, source, graph = (
            document.title,
            document.description,
            document.source,
            document.graph,
        )
    if not title:
        raise RdfSyntaxError("a change needs a title (the 'title' parameter)")
    check_metadata(title=title, description=description, source=source, author=writer.name)
    placed = await changes_of(request).placed(delta, graph)
    check_write(placed, admin=writer.admin)
    # A proposal that would break the graph as it is now is refused with its report; fix it and
    # propose again. (It is validated again at merge time, against the graph as it is then.)
    gate = await gate_of(request).check(request.app.state.store, placed)
    if not gate.conforms:
        raise ValidationFailed(gate.report)
    change = await changes_of(request).propose(
        delta,
        title=title,
        author=writer.name,
        description=description,
        source=source,
        target_graph=graph,
    )
    return await _detail(request, change, status_code=201)


async def _detail(request: Request, change: Change, status_code: int = 200) -> Response:
    body = change_out(change)
    body["additions"] = serialize_quads(change.adds).decode()
    body["removals"] = serialize_quads(change.removes).decode()
    body["report"] = None
    if change.status == "proposed":
        gate = await gate_of(request).check(request.app.state.store, change.delta)
        body["report"] = await report_out(request, gate, change.delta)
    return JSONResponse(
        body, status_code=status_code, headers={"Location": f"/changes/{change.slug}"}
    )


@router.get("/changes/{change_id}", summary="Inspect a change", response_model=ChangeDetail)
async def inspect(request: Request, change_id: str, store: StoreDep) -> Response:
    """A change: its diff (N-Quads), status and history, and — while proposed — its validation
    report against the graph as it is now."""
    return await _detail(request, await get_change(store, change_id))


async def write_response(
    request: Request, change: Change, gate: GateReport, delta: Delta
) -> Response:
    store = request.app.state.store
    stats = await store.stats()
    body = change_out(change)
    body["report"] = await report_out(request, gate, delta)
    return JSONResponse(body, headers={"ETag": graph_etag(stats.store_id, stats.version)})


@router.post(
    "/changes/{change_id}/merge", summary="Merge a proposed change", response_model=ChangeOut
)
async def merge(
    request: Request,
    change_id: str,
    writer: WriterDep,
    store: StoreDep,
    if_match: Annotated[str | None, Header(description="Only if the graph is at this ETag")] = None,
) -> Response:
    """Re-validate the change on the current graph and apply it atomically with its history
    (who, when, why, versions, report). 422 with the report if it no longer conforms; 409 if it
    is not proposed or the graph moved; 412 if `If-Match` names another version."""
    stats = await store.stats()
    expected = expected_version(if_match, stats.store_id, stats.version)
    original = await get_change(store, change_id)
    check_write(original.delta, admin=writer.admin)
    change, _commit, gate = await changes_of(request).merge(
        change_id, who=writer.name, expected_version=expected
    )
    return await write_response(request, change, gate, change.delta)


@router.post(
    "/changes/{change_id}/reject", summary="Reject a proposed change", response_model=ChangeOut
)
async def reject(
    request: Request,
    change_id: str,
    writer: WriterDep,
    store: StoreDep,
    reason: Annotated[str, Query()] = "",
) -> Response:
    """Close a proposal without merging it. A change only the admin may write (to the ontology,
    the shapes or the project's terms) is merged or rejected by the admin only (403)."""
    original = await get_change(store, change_id)
    if not writer.admin and needs_admin(original.delta):
        raise ProtectedTerm(
            f"change {change_id} writes what only the admin may write (the ontology, the shapes "
            "or the project's own terms): merging or rejecting it needs the admin role"
        )
    change = await changes_of(request).reject(change_id, who=writer.name, reason=reason)
    return JSONResponse(change_out(change))


@router.post(
    "/changes/{change_id}/revert", summary="Revert a merged change", response_model=ChangeOut
)
async def revert(
    request: Request,
    change_id: str,
    writer: WriterDep,
    store: StoreDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Undo a merged change with a new change that removes what it added and restores what it
    removed — validated like any other, and recorded in the history."""
    stats = await store.stats()
    expected = expected_version(if_match, stats.store_id, stats.version)
    original = await get_change(store, change_id)
    check_write(original.delta, admin=writer.admin)
    change, _commit, gate = await changes_of(request).revert(
        change_id, who=writer.name, expected_version=expected
    )
    return await write_response(request, change, gate, change.delta)
