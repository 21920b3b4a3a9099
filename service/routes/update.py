"""``POST /update``: SPARQL 1.1 Update, through the validation gate.

The update's effect is computed first (what it would remove and add, without writing), checked
against the graph protections and the shapes, and only then committed — with its history — like any
other change. A rejected update answers 422 with the report and leaves the store as it was.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import Response

from ijkg.graph import QueryRefused, UnsupportedFormat, bare_media_type
from ijkg.service.auth import WriterDep
from ijkg.service.bodies import read_body
from ijkg.service.change_json import written_out
from ijkg.service.deps import GraphDep, SettingsDep
from ijkg.service.etags import expected_version
from ijkg.service.memento import refuse_version_on_write
from ijkg.service.models import WrittenOut

router = APIRouter(tags=["sparql"], dependencies=[Depends(refuse_version_on_write)])

FORM = "application/x-www-form-urlencoded"
SPARQL_UPDATE = "application/sparql-update"


@router.post(
    "/update",
    summary="SPARQL 1.1 Update (authenticated, validated before it is applied)",
    response_model=WrittenOut,
    responses={
        200: {"description": "Applied; the change record with its validation report"},
        400: {"description": "Malformed or refused update (LOAD, SERVICE ...)"},
        401: {"description": "No or unknown token"},
        403: {"description": "Read-only service, or a protected graph"},
        412: {"description": "If-Match names another graph version"},
        422: {"description": "The graph would not conform: the SHACL report, nothing written"},
    },
)
async def update(
    request: Request,
    response: Response,
    writer: WriterDep,
    graph: GraphDep,
    settings: SettingsDep,
    if_match: Annotated[str | None, Header()] = None,
) -> WrittenOut:
    """Send the update as `application/sparql-update`, or as a form with `update=`. Triples
    written without `GRAPH` go to the write graph; triples deleted without `GRAPH` are deleted
    from every graph (the default graph is the union). `LOAD` and `SERVICE` are refused.
    `DROP ALL` and the like need the admin role and leave the service's history alone.

    Example: `curl -X POST http://127.0.0.1:8000/update -H 'Authorization: Bearer s3cret'
    -H 'Content-Type: application/sparql-update' --data 'INSERT DATA { ... }'`
    """
    media_type = bare_media_type(request.headers.get("content-type", ""))
    body = await read_body(request, settings.max_body_bytes)
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    if media_type == SPARQL_UPDATE:
        text = body.decode("utf-8", "replace")
    elif media_type == FORM:
        for key, values in parse_qs(body.decode("utf-8", "replace")).items():
            params.setdefault(key, []).extend(values)
        if len(params.get("update", [])) != 1:
            raise QueryRefused("send exactly one 'update' parameter")
        text = params["update"][0]
    else:
        raise UnsupportedFormat(f"send the update as {SPARQL_UPDATE} or {FORM}")
    checked = graph.curation.check_update(writer, text, params)
    stats = await graph.stats()
    insisted = expected_version(if_match, stats.store_id, stats.version)
    # The endpoint's own URL is the base IRI of relative references in the update.
    base_iri = str(request.url.replace(query="", fragment=""))
    written = await graph.curation.update(
        writer, checked, base_iri=base_iri, expected_version=insisted
    )
    return written_out(written, response)
