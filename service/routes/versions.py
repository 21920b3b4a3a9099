"""The graph's versions as data, their TimeMaps, and the dataset description.

- ``/versions``: every version the store keeps (number, time, the change that made it, who,
  quads added and removed, quads after), paged with ``after``/``limit``; JSON, a page, or RDF.
- ``/version/{N}``: one version (the IRI ``https://w3id.org/ijkg/version/N``) with a citation to
  paste, links to its dump and patch, in JSON, HTML or RDF (PROV, DCTERMS, VoID).
- ``/timemap/{path}``: the TimeMap (RFC 7089, ``application/link-format``) of ``/sparql?...``
  or ``/id/...``: one memento per version.
- ``/.well-known/void``: VoID and DCAT (Turtle by default, JSON-LD, a page).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ijkg.graph import (
    RDF_SYNTAXES,
    TURTLE,
    BadRequest,
    NotFound,
    VersionInfo,
    Versions,
    commit_time,
    content_type,
    parse_version,
    rdf_syntax_of,
    version_iri,
)
from ijkg.service.deps import GraphDep
from ijkg.service.linked import HTML, JSON, choose_media_type, page, render
from ijkg.service.memento import LINK_FORMAT, TIMEMAP_PREFIX, timemap

router = APIRouter(tags=["versions"])

RDF_TYPES: Final = tuple(s.media_type for s in RDF_SYNTAXES)
VERSION_TYPES: Final = (JSON, HTML, *RDF_TYPES)
VOID_TYPES: Final = (TURTLE.media_type, *(t for t in RDF_TYPES if t != TURTLE.media_type), HTML)
#: The versions one page lists by default.
DEFAULT_LIMIT: Final = 100
#: Where the entities that have TimeMaps are (besides the query endpoint's queries).
ENTITY_PATHS: Final = ("id/", "api/entities/")
#: The most mementos a TimeMap lists (the newest ones).
TIMEMAP_MAX: Final = 10_000

FormatQuery = Annotated[
    str | None,
    Query(description="Representation, overriding Accept: json, html, turtle, jsonld ..."),
]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def version_json(version: int, info: VersionInfo | None, base: str) -> dict[str, Any]:
    """One version as the JSON lists it (links absolute, under ``base``)."""
    moment = None if info is None else commit_time(info)
    out: dict[str, Any] = {
        "version": version,
        "iri": version_iri(version),
        "url": f"{base}/version/{version}",
        "time": moment.isoformat() if moment is not None else None,
        "change": None,
        "changeUrl": None,
        "who": None,
        "why": None,
        "added": None,
        "removed": None,
        "quads": None,
        "dump": f"{base}/version/{version}/dump",
        "patch": f"{base}/version/{version}/patch" if version > 0 else None,
        "sparql": f"{base}/sparql?version={version}",
        "citation": Versions.citation(version, info),
    }
    if info is not None:
        out.update(
            change=info.change,
            changeUrl=f"{base}/changes/{info.change}" if info.change else None,
            who=info.who,
            why=info.why,
            added=info.added,
            removed=info.removed,
            quads=info.quads,
        )
    return out


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1).encode()


def _rdf(versions: list[tuple[int, VersionInfo | None]], media_type: str) -> Response:
    syntax = rdf_syntax_of(media_type) or TURTLE
    body = Versions.rdf(versions, syntax)
    return Response(body, media_type=content_type(syntax.media_type))


def _int_param(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise BadRequest(f"{name} must be a whole number, not {value!r}")
    return int(value)


@router.get(
    "/versions",
    summary="The graph's versions",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m in VERSION_TYPES}},
        400: {"description": "A malformed after or limit"},
        501: {"description": "The store keeps no versions"},
    },
)
async def versions(
    request: Request,
    graph: GraphDep,
    after: Annotated[str | None, Query(description="List the versions after this one")] = None,
    limit: Annotated[str | None, Query(description="At most this many (1 to 1000)")] = None,
    format: FormatQuery = None,
) -> Response:
    """Every version of the graph the store keeps, oldest first: its number, the time of the
    commit that made it, the change it merged (with a link), who made it and why, the quads it
    added and removed, and the quads after it, with links to its dump, patch and a query at it.
    Paged: `after=N&limit=M`; the JSON's `next` is the following page."""
    media_type = choose_media_type(request.headers.get("accept"), format, VERSION_TYPES)
    known = await graph.versions.range()
    start = _int_param(after, "after", known.first)
    count = _int_param(limit, "limit", DEFAULT_LIMIT)
    if not 1 <= count <= 1000:
        raise BadRequest(f"limit must be 1 to 1000, not {count}")
    infos = await graph.versions.listed(after=start, limit=count)
    base = base_url(request)
    if media_type in RDF_TYPES:
        return _rdf([(info.version, info) for info in infos], media_type)
    items = [version_json(info.version, info, base) for info in infos]
    last = infos[-1].version if infos else start
    next_url = f"{base}/versions?after={last}&limit={count}" if last < known.head else None
    if media_type == HTML:
        body = render(
            "versions.html",
            versions=items,
            first=known.first,
            head=known.head,
            next_url=next_url,
        )
        return page(body)
    data = {"first": known.first, "head": known.head, "versions": items, "next": next_url}
    return Response(_json(data), media_type=JSON)


@router.get(
    "/version/{version}",
    summary="One version of the graph, with a citation",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m in VERSION_TYPES}},
        400: {"description": "A malformed version number"},
        404: {"description": "No such version (with the range there is)"},
    },
)
async def version_page(
    version: str, request: Request, graph: GraphDep, format: FormatQuery = None
) -> Response:
    """Version N of the graph (its IRI is `https://w3id.org/ijkg/version/N`): when and by what
    change it was made, its size, a citation a researcher can paste, and links to the whole
    graph at N (dump), what changed (patch) and a query at N."""
    media_type = choose_media_type(request.headers.get("accept"), format, VERSION_TYPES)
    wanted = parse_version(version)
    info = await graph.versions.info(wanted)
    if media_type in RDF_TYPES:
        return _rdf([(wanted, info)], media_type)
    data = version_json(wanted, info, base_url(request))
    head = (await graph.versions.range()).head
    data["head"] = head
    if media_type == HTML:
        return page(render("version.html", v=data))
    return Response(_json(data), media_type=JSON)


@router.get(
    TIMEMAP_PREFIX + "/{path:path}",
    summary="The TimeMap of a query or an entity (RFC 7089)",
    response_class=Response,
    responses={200: {"content": {LINK_FORMAT: {}}}, 404: {"description": "No TimeMap here"}},
)
async def timemap_of(path: str, request: Request, graph: GraphDep) -> Response:
    """Every memento of `/sparql?query=...`, `/id/{kind}/{slug}` or
    `/api/entities/{kind}/{slug}`: one per version of the graph, with its datetime, in
    `application/link-format`."""
    entity = next((path[len(p) :] for p in ENTITY_PATHS if path.startswith(p)), None)
    if path != "sparql" and entity is None:
        raise NotFound(f"no TimeMap of /{path}: only /sparql queries and entities have one")
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "version"]
    if path == "sparql" and not any(k == "query" for k, _ in params):
        raise BadRequest("a TimeMap of /sparql is of one query: give it as query=")
    if entity is not None:
        kind, _, slug = entity.partition("/")
        graph.linked.entity_iri(kind, slug)  # NotFound for what cannot name an entity
    original = f"/{path}" + (f"?{urlencode(params)}" if params else "")
    known = await graph.versions.range()
    after = max(known.first, known.head - TIMEMAP_MAX)
    infos: list[VersionInfo] = []
    while after < known.head:
        batch = await graph.versions.listed(after=after, limit=1000)
        if not batch:
            break
        infos += batch
        after = batch[-1].version
    body = timemap(original, base_url(request), infos)
    return Response(body, media_type=LINK_FORMAT)


@router.get(
    "/.well-known/void",
    summary="The dataset description (VoID, DCAT)",
    response_class=Response,
    responses={200: {"content": {m: {} for m in VOID_TYPES}}},
)
async def void(request: Request, graph: GraphDep, format: FormatQuery = None) -> Response:
    """The graph as a dataset (VoID and DCAT): its SPARQL endpoint, its dump at each version,
    its versions, its named graphs with their sizes, and the licences and sources it states.
    Turtle by default; JSON-LD and the other RDF syntaxes by negotiation; a page for people."""
    accept = request.headers.get("accept")
    media_type = choose_media_type("text/turtle" if accept is None else accept, format, VOID_TYPES)
    base = base_url(request)
    if media_type == HTML:
        body = await graph.sparql.void(base=base, syntax=TURTLE)
        return page(render("void.html", turtle=body.decode()))
    syntax = rdf_syntax_of(media_type) or TURTLE
    body = await graph.sparql.void(base=base, syntax=syntax)
    return Response(body, media_type=content_type(syntax.media_type))
