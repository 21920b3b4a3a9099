"""RDF in request bodies: the syntax from ``Content-Type``, parsed safely, sized."""

from __future__ import annotations

import pyoxigraph as ox
from fastapi import Request

from ijkg.graph.core.errors import UnsupportedFormat
from ijkg.graph.core.formats import bare_media_type, rdf_syntax_for_media_type
from ijkg.graph.core.rdfio import ParseOptions, parse_quads
from ijkg.graph.core.settings import Settings
from ijkg.service.bodies import read_body


async def read_rdf(
    request: Request,
    settings: Settings,
    *,
    default_graph: str | None = None,
    single_graph: bool = False,
    body: bytes | None = None,
    media_type: str | None = None,
) -> list[ox.Quad]:
    """The quads of an RDF request body. Raises ``UnsupportedFormat`` (415), ``RdfSyntaxError``
    (400, with line and column) and ``BodyTooLarge`` (413)."""
    syntax = rdf_syntax_for_media_type(media_type or request.headers.get("content-type", ""))
    data = body if body is not None else await read_body(request, settings.max_body_bytes)
    return parse_quads(
        data,
        ParseOptions(
            syntax=syntax,
            default_graph=default_graph,
            single_graph=single_graph,
            source="request body",
        ),
    )


def is_rdf(media_type: str) -> bool:
    """True for an RDF media type (``application/json`` is a change document, not JSON-LD)."""
    if bare_media_type(media_type) == "application/json":
        return False
    try:
        rdf_syntax_for_media_type(media_type)
    except UnsupportedFormat:
        return False
    return True
