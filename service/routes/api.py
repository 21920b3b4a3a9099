"""``/api``: the JSON API for apps — lists by kind, label search, entities, JSON Schemas.

Lists and search answer HTML too when a browser asks for it (the same data, as a page with links),
so the index page's links work for people and programs alike.
"""

from __future__ import annotations

import json
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from ijkg.graph import BadRequest, LinkedData
from ijkg.service.deps import ClockDep, GraphDep
from ijkg.service.linked import (
    HTML,
    JSON,
    choose_media_type,
    conditional,
    json_bytes,
    page,
    query_string,
    render,
)
from ijkg.service.memento import (
    memento_headers,
    pinned_version,
    versioned_fresh,
    versioned_validators,
    with_version,
)
from ijkg.service.models import (
    EXAMPLE_ENTITY,
    ApiIndexJson,
    EntityJson,
    LinkedEntity,
    PageJson,
    SchemasJson,
    SearchJson,
)
from ijkg.service.routes.entities import (
    IncludeQuery,
    VersionQuery,
    as_of,
    base_url,
    included,
    json_body,
)

router = APIRouter(prefix="/api", tags=["api"])

_LIST_FORMATS: Final = (JSON, HTML)
_RESERVED: Final = frozenset({"sort", "limit", "after", "before", "format"})


def _json(answer: BaseModel, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(answer), media_type=JSON, headers=headers)


def _collections_doc() -> str:
    lines = []
    for c in LinkedData.collections():
        filters = ", ".join(
            f"`{f.name}` ({f.description}, e.g. `{f.example}`)" for f in c.filter_names.values()
        )
        lines.append(f"- `{c.name}`: {c.title}. Filters: {filters}.")
    return "\n".join(lines)


@router.get("", summary="What the API offers")
async def api_index(request: Request) -> ApiIndexJson:
    """The lists, with their filters, and the other endpoints of the API."""
    base = base_url(request)
    return ApiIndexJson.model_validate(
        {
            "lists": [
                {
                    "name": c.name,
                    "title": c.title,
                    "description": c.description,
                    "classes": [LinkedData.curie(k) for k in c.classes],
                    "filters": {
                        f.name: {"description": f.description, "example": f.example}
                        for f in c.filter_names.values()
                    },
                    "url": f"{base}/api/{c.name}",
                }
                for c in LinkedData.collections()
            ],
            "search": f"{base}/api/search?q=",
            "entity": f"{base}/api/entities/{{kind}}/{{slug}}",
            "schemas": f"{base}/api/schemas",
            "context": f"{base}/context.jsonld",
            "sorts": list(LinkedData.SORTS),
        }
    )


@router.get(
    "/search",
    summary="Label search (autocomplete)",
    response_model=SearchJson,
    responses={200: {"content": {HTML: {}}}, 400: {"description": "No or too long query"}},
)
async def search_labels(
    request: Request,
    graph: GraphDep,
    q: Annotated[str, Query(description="Text to find in labels.", examples=["ayurveda"])],
    kind: Annotated[
        list[str] | None,
        Query(description="Only these kinds (repeatable); default: all but claims and evidence."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Most results.")] = 10,
    format: Annotated[str | None, Query(description="json or html.")] = None,
) -> Response:
    """Entities whose `skos:prefLabel`, `rdfs:label`, `skos:altLabel` or `ijkg:shortName`
    contains the text, ignoring case and accents (`securite` finds `Sécurité`), ranked exact >
    prefix > word prefix > substring. Claims, evidence, selectors and list nodes are left out
    unless asked for with `kind=`. Example: `GET /api/search?q=cepa&limit=5`"""
    media_type = choose_media_type(request.headers.get("accept"), format, _LIST_FORMATS)
    found = await graph.linked.search(q, kinds=kind, limit=limit)
    if media_type == HTML:
        return page(
            render(
                "list.html",
                title=f"Search: {q}",
                description=None,
                items=found["results"],
                sort="relevance",
                filters={},
                json_url=f"/api/search{query_string(q=q, limit=limit, format='json')}",
                available_filters=[],
                base_path="/api/search",
                search_text=q,
                prev=None,
                next=None,
            )
        )
    return _json(SearchJson.model_validate(found))


@router.get("/schemas", summary="The JSON Schemas of the entity JSON, by kind")
async def schemas_index(request: Request) -> SchemasJson:
    """One schema per kind of entity, generated from the SHACL shapes."""
    base = base_url(request)
    return SchemasJson.model_validate(
        {
            "schemas": {
                kind: {
                    "classes": [LinkedData.curie(c) for c in classes],
                    "url": f"{base}/api/schemas/{kind}",
                }
                for kind, classes in LinkedData.kinds().items()
            }
        }
    )


@router.get(
    "/schemas/{kind}",
    summary="The JSON Schema of one kind's entity JSON",
    response_class=Response,
    responses={
        200: {"content": {"application/schema+json": {}}},
        404: {"description": "No such kind"},
    },
)
async def kind_schema(kind: str, request: Request) -> Response:
    """The plain JSON of an entity of this kind (`/id/{kind}/{slug}` with `Accept:
    application/json`), with its `properties` as the SHACL shapes say (`x-shapes` names them).
    Example: `GET /api/schemas/agreement`"""
    properties = LinkedData.kind_properties(kind)
    schema = EntityJson.model_json_schema(ref_template="#/$defs/{model}")
    defs = schema.pop("$defs", {})
    defs["LinkedEntity"] = LinkedEntity.model_json_schema(ref_template="#/$defs/{model}")
    defs.update(defs["LinkedEntity"].pop("$defs", {}))
    schema["properties"]["properties"] = properties
    schema["properties"]["kind"] = {"const": kind}
    out = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url(request)}/api/schemas/{kind}",
        "title": f"ijkg {kind}",
        **schema,
        "$defs": defs,
    }
    assert LinkedData.LINK_REF == "#/$defs/LinkedEntity"  # noqa: S101 - the two modules agree
    return Response(
        json.dumps(out, ensure_ascii=False, indent=1).encode(),
        media_type="application/schema+json",
    )


@router.get(
    "/entities/{kind}/{slug}",
    summary="An entity as plain JSON",
    response_model=EntityJson,
    responses={
        200: {"content": {JSON: {"example": EXAMPLE_ENTITY}}},
        404: {"description": "No such entity (problem details)"},
    },
)
async def entity_as_json(
    kind: str,
    slug: str,
    request: Request,
    graph: GraphDep,
    clock: ClockDep,
    include: IncludeQuery = None,
    version: VersionQuery = None,
) -> Response:
    """The same as `/id/{kind}/{slug}` with `Accept: application/json`: properties with typed
    values, linked entities both ways, and with `include=evidence` the sources and exact
    sentences of every statement. Example: `GET /api/entities/pillar/health?include=evidence`"""
    iri = LinkedData.entity_iri(kind, slug)
    wanted = included(include)
    key = (iri, JSON, ",".join(wanted), "api")
    tags = conditional(graph, clock)
    path = f"/api/entities/{kind}/{slug}"
    pinned = await pinned_version(request, graph, version)
    memento = memento_headers(with_version(path, request.query_params.multi_items(), None), pinned)
    fresh = await versioned_fresh(tags, pinned, request, *key)
    if fresh is not None:
        return Response(status_code=304, headers={**fresh.headers(), **memento})
    found = await graph.linked.entity(iri, at_version=pinned.version if pinned else None)
    base = base_url(request)
    body = as_of(json_body(found, base, wanted), pinned, base + path)
    validators = await versioned_validators(tags, pinned, found.version, *key)
    return Response(body, media_type=JSON, headers={**validators.headers(), **memento})


@router.get(
    "/{name}",
    summary="A list of entities of one kind, with filters and cursor paging",
    response_model=PageJson,
    responses={
        200: {"content": {HTML: {}}},
        400: {"description": "Unknown filter or sort, malformed reference or cursor"},
        404: {"description": "No such list"},
    },
    description=(
        "Entities of one kind, sorted by label (or `sort=id`; `-` reverses), `limit` at a time. "
        "Follow `next`/`prev` (also in the `Link` header): they carry a cursor (`after`/`before`),"
        " so a page costs the same wherever it is in the list, and a cursor stays valid while "
        "the graph changes. Filters are query parameters whose value is an entity (its IRI or "
        "`kind/slug`); several are combined with AND. Example: "
        "`GET /api/agreements?pillar=pillar/health&limit=5`\n\n" + _collections_doc()
    ),
)
async def list_entities(
    name: str,
    request: Request,
    graph: GraphDep,
    clock: ClockDep,
    sort: Annotated[str, Query(description="label, -label, id or -id.")] = "label",
    limit: Annotated[
        int, Query(ge=1, le=LinkedData.MAX_LIMIT, description="Items per page.")
    ] = LinkedData.DEFAULT_LIMIT,
    after: Annotated[str | None, Query(description="Cursor: the page after it.")] = None,
    before: Annotated[str | None, Query(description="Cursor: the page before it.")] = None,
    format: Annotated[str | None, Query(description="json or html.")] = None,
) -> Response:
    listed = LinkedData.collection(name)
    media_type = choose_media_type(request.headers.get("accept"), format, _LIST_FORMATS)
    filters: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in _RESERVED:
            continue
        if key in filters:
            raise BadRequest(f"the filter {key!r} was given twice")
        filters[key] = value
    if sort not in LinkedData.SORTS:
        raise BadRequest(f"sort is one of {', '.join(LinkedData.SORTS)}, not {sort!r}")
    cache_key: tuple[str, ...] = (
        "list", name, media_type, sort, str(limit), after or "", before or "",
        *(f"{k}={v}" for k, v in sorted(filters.items())),
    )  # fmt: skip
    tags = conditional(graph, clock)
    fresh = await tags.fresh(request, *cache_key)
    if fresh is not None:
        return fresh
    result = await graph.linked.list_page(
        listed, filters=filters, sort=sort, limit=limit, after=after, before=before
    )
    path = f"/api/{name}"

    def url(**cursor: str) -> str:
        fmt = format if format else None
        return path + query_string(**filters, sort=sort, limit=limit, **cursor, format=fmt)

    next_url = url(after=result.next.encode()) if result.next else None
    prev_url = url(before=result.prev.encode()) if result.prev else None
    links = []
    if next_url:
        links.append(f'<{next_url}>; rel="next"')
    if prev_url:
        links.append(f'<{prev_url}>; rel="prev"')
    validators = await tags.validators(result.version, *cache_key)
    headers = validators.headers()
    if links:
        headers["Link"] = ", ".join(links)
    if media_type == HTML:
        response = page(
            render(
                "list.html",
                title=listed.title,
                description=listed.description,
                items=result.items,
                sort=sort,
                filters=result.applied,
                json_url=path + query_string(**filters, sort=sort, limit=limit, format="json"),
                available_filters=list(listed.filter_names.values()),
                base_path=path,
                prev=prev_url,
                next=next_url,
            ),
            validators,
        )
        if links:
            response.headers["Link"] = ", ".join(links)
        return response
    return _json(
        PageJson.model_validate(
            {
                "collection": name,
                "sort": sort,
                "limit": limit,
                "filters": result.applied,
                "items": result.items,
                "next": next_url,
                "prev": prev_url,
                "version": result.version,
            }
        ),
        headers,
    )
