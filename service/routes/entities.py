"""``/id/{kind}/{slug}``: every entity of the graph, dereferenceable, by content negotiation.

The service answers for the IRI ``https://w3id.org/ijkg/id/{kind}/{slug}`` whatever host it runs
on: a page for people (``text/html``), plain JSON for apps (``application/json``), JSON-LD
(``application/ld+json``, compacted with the context at ``/context.jsonld``), Turtle, N-Triples
and RDF/XML; ``?format=`` overrides ``Accept``. Every answer carries ``Vary: Accept``, a weak
``ETag`` of the graph version and representation, ``Last-Modified``, and ``Link`` headers to the
other representations; a conditional request for a current copy gets ``304``.

``version=N`` (or ``Accept-Datetime``) gives the entity as it was at version N of the graph, with
the Memento headers (``service.memento``) and, on the page and in the JSON, a link to it now.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ijkg.graph import Entity, LinkedData, content_type
from ijkg.service.deps import ClockDep, GraphDep
from ijkg.service.linked import (
    ENTITY_MEDIA_TYPES,
    FORMAT_NAMES,
    HTML,
    JSON,
    choose_media_type,
    conditional,
    json_bytes,
    page,
    render,
)
from ijkg.service.memento import (
    Pinned,
    memento_headers,
    pinned_version,
    versioned_fresh,
    versioned_validators,
    with_version,
)
from ijkg.service.models import EXAMPLE_ENTITY, EntityJson
from ijkg.service.svg import neighbourhood_svg

router = APIRouter(tags=["entities"])

_FORMAT_KEYS: Final = {v: k for k, v in reversed(FORMAT_NAMES.items())}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


#: What ``include=`` may add to the plain JSON (comma-separated; other words are ignored).
INCLUDES: Final = ("claims", "evidence")


def included(include: str | None) -> tuple[str, ...]:
    """The known words of an ``include`` parameter, in a fixed order (a cache key).

    >>> included("evidence, claims,nonsense"), included(None)
    (('claims', 'evidence'), ())
    """
    asked = {p.strip() for p in (include or "").split(",")}
    return tuple(i for i in INCLUDES if i in asked)


def alternates(path: str) -> str:
    """``Link`` header values naming every representation of ``path``."""
    return ", ".join(
        f'<{path}?format={_FORMAT_KEYS[m]}>; rel="alternate"; type="{m}"'
        for m in ENTITY_MEDIA_TYPES
    )


def json_body(found: Entity, base: str, include: tuple[str, ...]) -> bytes:
    """The plain JSON of an entity with links under ``base`` and what ``include`` adds (see
    ``included``), made once per graph version and kept with the entity (building and encoding
    it costs far more than the request around it)."""

    def make() -> bytes:
        data = EntityJson.model_validate(
            found.json(
                base_url=base,
                include_evidence="evidence" in include,
                include_claims="claims" in include,
            )
        )
        return json_bytes(data)

    return found.rendered((JSON, base, ",".join(include)), make)


def as_of(body: bytes, pinned: Pinned | None, current: str) -> bytes:
    """The JSON of an entity at a pinned version says where it is now (``current``)."""
    if pinned is None:
        return body
    data = json.loads(body)
    data["current"] = current
    return json.dumps(data, ensure_ascii=False, indent=1).encode()


FormatQuery = Annotated[
    str | None,
    Query(
        description="Representation, overriding Accept: html, json, jsonld, turtle, ntriples, "
        "rdfxml (or a media type).",
        examples=["turtle"],
    ),
]
VersionQuery = Annotated[
    str | None,
    Query(
        description="The entity as it was at this version of the graph (see /versions); "
        "Accept-Datetime picks one by date.",
        examples=["42"],
    ),
]
IncludeQuery = Annotated[
    str | None,
    Query(
        description="Plain JSON only, comma-separated. `evidence`: add, for each statement a "
        "claim reifies, its sources and exact sentences (the page shows them under each "
        "statement). `claims`: keep in `incoming` the links from claims, evidence and selectors "
        "(`rdf:subject`, `rdf:object`, `ijkg:about`, `oa:hasSource` ...), which are left out by "
        "default and counted in `incomingClaimLinks`.",
        examples=["evidence", "claims", "evidence,claims"],
    ),
]

_RDF_CONTENT: Final[dict[str, dict[str, Any]]] = {
    m: {} for m in ENTITY_MEDIA_TYPES if m not in (JSON, HTML)
}


@router.get(
    "/id/{kind}/{slug}",
    summary="An entity, by content negotiation",
    response_model=EntityJson,
    response_class=Response,
    responses={
        200: {
            "description": "The entity as plain JSON (shown), JSON-LD, HTML, Turtle, N-Triples "
            "or RDF/XML",
            "content": {
                JSON: {"example": EXAMPLE_ENTITY},
                HTML: {},
                **_RDF_CONTENT,
            },
        },
        304: {"description": "The graph has not changed since the ETag or date sent"},
        400: {"description": "A malformed version or Accept-Datetime"},
        404: {"description": "No such entity, or no such version (problem details)"},
        406: {"description": "None of the accepted media types is available (with the list)"},
    },
)
async def entity(
    kind: str,
    slug: str,
    request: Request,
    graph: GraphDep,
    clock: ClockDep,
    format: FormatQuery = None,
    include: IncludeQuery = None,
    version: VersionQuery = None,
) -> Response:
    """The entity `https://w3id.org/ijkg/id/{kind}/{slug}`: its properties (typed values and
    links), what links to it, and the evidence for what is said about it.

    Example: `curl -H 'Accept: text/turtle'
    http://127.0.0.1:8000/id/pillar/economic-security`
    """
    iri = LinkedData.entity_iri(kind, slug)
    media_type = choose_media_type(request.headers.get("accept"), format)
    wanted = included(include) if media_type == JSON else ()
    key = (iri, media_type, ",".join(wanted))
    tags = conditional(graph, clock)
    path = f"/id/{kind}/{slug}"
    pinned = await pinned_version(request, graph, version)
    memento = memento_headers(with_version(path, request.query_params.multi_items(), None), pinned)
    links = {"Link": ", ".join(filter(None, (alternates(path), memento.pop("Link", None))))}
    fresh = await versioned_fresh(tags, pinned, request, *key)
    if fresh is not None:
        return Response(status_code=304, headers={**fresh.headers(), **memento, **links})
    found = await graph.linked.entity(iri, at_version=pinned.version if pinned else None)
    validators = await versioned_validators(tags, pinned, found.version, *key)
    headers = {**validators.headers(), **memento, **links}
    if media_type == HTML:
        view = found.view()
        body = render(
            "entity.html",
            view=view,
            svg=neighbourhood_svg(view["picture"]),
            path=path,
            formats=[(k, m) for m, k in _FORMAT_KEYS.items() if m != HTML],
            as_of=pinned.version if pinned else None,
        )
        response = page(body, validators)
        response.headers.update({**memento, **links})
        return response
    base = base_url(request)
    if media_type == JSON:
        body_bytes = as_of(json_body(found, base, wanted), pinned, base + path)
    else:

        def rdf() -> bytes:
            if media_type == "application/ld+json":
                return found.jsonld(base + LinkedData.CONTEXT_PATH)
            return found.rdf(media_type)

        body_bytes = found.rendered((media_type, base), rdf)
    return Response(body_bytes, media_type=content_type(media_type), headers=headers)


# HEAD answers like GET without a body (one operation in OpenAPI).
router.add_api_route(
    "/id/{kind}/{slug}",
    entity,
    methods=["HEAD"],
    include_in_schema=False,
    response_class=Response,
    responses={200: {"content": {m: {} for m in ENTITY_MEDIA_TYPES}}},
)


@router.get(
    LinkedData.CONTEXT_PATH,
    summary="The JSON-LD context of the entity documents",
    response_class=Response,
    responses={200: {"content": {"application/ld+json": {}}}},
)
async def jsonld_context(request: Request) -> Response:
    """The `@context` every JSON-LD entity document refers to: the project prefixes, a term for
    every `ijkg:` property (object properties typed `@id`) and short names for the reused
    vocabularies' common terms. The same terms are the keys of the plain JSON."""
    body = LinkedData.jsonld_context()
    headers: dict[str, Any] = {"Cache-Control": "public, max-age=3600"}
    return Response(body, media_type="application/ld+json", headers=headers)
