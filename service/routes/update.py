"""``POST /update``: SPARQL 1.1 Update, through the validation gate.

The update's effect is computed first (what it would remove and add, without writing), checked
against the graph protections and the shapes, and only then committed — with its history — like any
other change. A rejected update answers 422 with the report and leaves the store as it was.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Request
from starlette.responses import Response

from ijkg.graph.core.errors import QueryRefused, UnsupportedFormat
from ijkg.graph.core.formats import bare_media_type
from ijkg.graph.curation.changes import clean_metadata
from ijkg.graph.curation.protection import SERVICE_GRAPHS, check_update_text, check_write
from ijkg.graph.endpoint.query import check_graph_name
from ijkg.graph.sparql.text import check_limits
from ijkg.graph.store.base import Dataset, Delta
from ijkg.service.auth import WriterDep
from ijkg.service.bodies import read_body
from ijkg.service.deps import SettingsDep, StoreDep
from ijkg.service.etags import expected_version
from ijkg.service.routes.changes import changes_of, write_response
from ijkg.service.routes.sparql import endpoint_url

router = APIRouter(tags=["sparql"])

FORM = "application/x-www-form-urlencoded"
SPARQL_UPDATE = "application/sparql-update"


def _protocol_dataset(params: dict[str, list[str]]) -> Dataset | None:
    """The dataset of the protocol's using-graph-uri / using-named-graph-uri parameters (graph
    names of this store, never fetched), for operations that name none themselves."""
    default = params.get("using-graph-uri", [])
    named = params.get("using-named-graph-uri", [])
    if not default and not named:
        return None
    for iri in default:
        check_graph_name(iri, "using-graph-uri")
    for iri in named:
        check_graph_name(iri, "using-named-graph-uri")
    return Dataset(tuple(default), tuple(named))


@router.post(
    "/update",
    summary="SPARQL 1.1 Update (authenticated, validated before it is applied)",
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
    writer: WriterDep,
    store: StoreDep,
    settings: SettingsDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
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
    using = _protocol_dataset(params)
    decoded, scan = check_limits(
        text, max_bytes=settings.max_body_bytes, max_depth=settings.max_query_depth
    )
    if "SERVICE" in scan.keywords:
        raise QueryRefused("SERVICE is refused: updates never reach other endpoints")
    if "LOAD" in scan.keywords:
        raise QueryRefused("LOAD is refused: this service never fetches from the web or disk")
    for role, iri in scan.graph_iris:
        # The dataset an update reads, named in its text: graphs of this store, never fetched,
        # and never file: or the like (as FROM in a query, and the using-graph-uri parameters).
        if role in ("USING", "USING NAMED", "WITH"):
            check_graph_name(iri, role, relative=True)
    check_update_text(scan.keywords, admin=writer.admin)
    stats = await store.stats()
    insisted = expected_version(if_match, stats.store_id, stats.version)

    async def effect(under_lock: bool) -> tuple[Delta, int]:
        # Computed outside the writers' lock with the query time limit; under it (when other
        # writes kept overtaking it) with the shorter limit, so other writers wait no longer.
        limits = store.limits
        if under_lock:
            timeout = min(limits.timeout_s, settings.update_lock_timeout_s)
            limits = dataclasses.replace(limits, timeout_s=timeout)
        return await store.update_effect(
            decoded,
            write_graph=settings.write_graph,
            max_quads=settings.max_change_quads,
            keep_graphs=SERVICE_GRAPHS,
            limits=limits,
            base_iri=endpoint_url(request),
            using=using,
        )

    change, _commit, gate, delta = await changes_of(request).write_computed(
        effect,
        check=lambda delta: check_write(delta, admin=writer.admin),
        who=writer.name,
        via="update",
        title="SPARQL Update",
        description=clean_metadata(decoded, 2000),
        expected_version=insisted,
    )
    return await write_response(request, change, gate, delta)
