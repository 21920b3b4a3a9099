"""What the linked-data routes share: their conditional answers, the page templates, formats.

- ``conditional``: the validators of answers read from ``KnowledgeGraph.linked`` (whose caches
  per graph version live in the graph layer) and the 304 for a current copy.
- ``render``: the Jinja2 templates in ``ijkg.service/templates`` (autoescaped), for the index,
  entity, list, search, ontology and shapes pages. The pages load only the package's own
  stylesheet; ``PAGE_POLICY`` tells the browser so.
- The representations of an entity and the names ``?format=`` accepts for each.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Final
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel
from starlette.responses import Response

from ijkg.graph import (
    FORMAT_NAMES as GRAPH_FORMAT_NAMES,
)
from ijkg.graph import (
    ID_BASE,
    IJKG,
    JSONLD,
    NTRIPLES,
    ONTOLOGY_IRI,
    RDFXML,
    TURTLE,
    KnowledgeGraph,
    NotAcceptable,
    content_type,
)
from ijkg.service.conditional import Conditional, Validators, VersionClock
from ijkg.service.negotiation import negotiate

HTML: Final = "text/html"
JSON: Final = "application/json"
#: What ``/id/{kind}/{slug}`` offers, in the order ties are broken (``*/*`` gets JSON).
ENTITY_MEDIA_TYPES: Final = (
    JSON,
    JSONLD.media_type,
    HTML,
    TURTLE.media_type,
    NTRIPLES.media_type,
    RDFXML.media_type,
)
#: ``?format=`` names (a media type is accepted too): the graph's names of the RDF syntaxes an
#: entity comes in, and ``json`` for the plain JSON (not JSON-LD, as a SPARQL answer has it).
FORMAT_NAMES: Final[dict[str, str]] = {
    "html": HTML,
    "json": JSON,
    **{
        name: rdf.media_type
        for name, (_, rdf) in GRAPH_FORMAT_NAMES.items()
        if rdf is not None and rdf.media_type in ENTITY_MEDIA_TYPES and name != "json"
    },
}
#: Where the pages may load from and talk to: their own origin. They run no script of their own.
PAGE_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def choose_media_type(
    accept: str | None, format_name: str | None, offered: tuple[str, ...] = ENTITY_MEDIA_TYPES
) -> str:
    """The representation to send: ``?format=`` wins over ``Accept``; ``NotAcceptable`` (406,
    with what is available) when neither names one of ``offered``.

    >>> choose_media_type("text/turtle, */*;q=0.1", None)
    'text/turtle'
    >>> choose_media_type(None, "jsonld")
    'application/ld+json'
    >>> choose_media_type("image/png", None)
    Traceback (most recent call last):
    ...
    ijkg.graph.core.errors.NotAcceptable: ...
    """
    if format_name:
        key = format_name.strip().lower()
        chosen = FORMAT_NAMES.get(key, key.split(";")[0].strip())
        if chosen in offered:
            return chosen
        raise NotAcceptable(
            f"format={format_name!r} is not available here; use one of "
            + ", ".join(k for k, v in FORMAT_NAMES.items() if v in offered),
            "entity",
            offered,
        )
    negotiated = negotiate(accept, offered)
    if negotiated is None:
        raise NotAcceptable(
            "none of the media types in Accept is available; this resource is available as "
            + ", ".join(offered),
            "entity",
            offered,
        )
    return negotiated


def json_bytes(answer: BaseModel) -> bytes:
    """The JSON of an answer model: the keys the graph layer gave (defaults are not added)."""
    data = answer.model_dump(mode="json", exclude_unset=True)
    return json.dumps(data, ensure_ascii=False, indent=1).encode()


def conditional(graph: KnowledgeGraph, clock: VersionClock) -> Conditional:
    """The validators of answers read from the graph's linked data."""
    return Conditional(graph, clock)


# --- pages ---------------------------------------------------------------------------------------


def entity_path(iri: str) -> str:
    """The service path of an entity IRI (``/id/{kind}/{slug}``), or the IRI itself."""
    if iri.startswith(ID_BASE):
        return "/id/" + iri[len(ID_BASE) :]
    return iri


def href(iri: str) -> str:
    """Where a link to ``iri`` goes on a page: entities and ontology terms within the service,
    anything else to itself."""
    if iri.startswith(ID_BASE):
        return entity_path(iri)
    if iri.startswith(IJKG):
        return "/ontology#" + iri[len(IJKG) :]
    if iri == ONTOLOGY_IRI:
        return "/ontology"
    if iri.startswith("https://w3id.org/ijkg/shapes"):
        return "/shapes" + (("#" + iri.split("#", 1)[1]) if "#" in iri else "")
    return iri


def query_string(**params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return ("?" + urlencode(clean, quote_via=quote)) if clean else ""


_BOUNDS: Final = (
    ("minExclusive", "more than"),
    ("minInclusive", "at least"),
    ("maxExclusive", "less than"),
    ("maxInclusive", "at most"),
)


def quantity_text(quantity: dict[str, Any] | None) -> str:
    """An amount's figures in words.

    >>> quantity_text({"value": 10000000000000, "currency": "JPY", "approximate": False})
    'JPY 10,000,000,000,000'
    >>> quantity_text({"minExclusive": 500000, "unit": "NUM", "approximate": False})
    'more than 500,000'
    >>> quantity_text({"value": 68000000000, "currency": "USD", "approximate": True})
    'about USD 68,000,000,000'
    """
    if not quantity:
        return ""

    def number(value: Any) -> str:
        return f"{value:,}" if isinstance(value, int | float) else str(value)

    parts = []
    if quantity.get("value") is not None:
        parts.append(number(quantity["value"]))
    parts += [f"{words} {number(quantity[key])}" for key, words in _BOUNDS if key in quantity]
    text = " and ".join(parts)
    if quantity.get("currency"):
        text = f"{quantity['currency']} {text}"
    elif quantity.get("unit") and quantity["unit"] != "NUM":
        text = f"{text} {quantity['unit']}"
    return ("about " if quantity.get("approximate") else "") + text


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ijkg.service", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["href"] = href
    env.filters["quantity"] = quantity_text
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, ensure_ascii=False, indent=1)
    env.globals["query_string"] = query_string
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def page(body: str, validators: Validators | None = None, status: int = 200) -> Response:
    headers = {"Content-Security-Policy": PAGE_POLICY}
    if validators is not None:
        headers.update(validators.headers())
    return Response(
        body.encode(), status_code=status, media_type=content_type(HTML), headers=headers
    )
