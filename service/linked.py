"""What the linked-data routes share: caches on ``app.state``, the page templates, formats.

- ``LinkedData``: the vocabulary, the label index and the sorted lists of the current graph
  version, recent entity descriptions, and the store's id (for entity tags); one per application,
  made on first use.
- ``render``: the Jinja2 templates in ``ijkg.service/templates`` (autoescaped), for the index,
  entity, list, search, ontology and shapes pages. The pages load only the package's own
  stylesheet; ``PAGE_POLICY`` tells the browser so.
- The representations of an entity and the names ``?format=`` accepts for each.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import Response

from ijkg.graph.core.errors import NotAcceptable
from ijkg.graph.core.formats import JSONLD, NTRIPLES, RDFXML, TURTLE
from ijkg.graph.linked.entities import EntityDescription, describe
from ijkg.graph.linked.listing import ListCache
from ijkg.graph.linked.search import SearchIndex
from ijkg.graph.linked.vocabulary import Vocabulary, VocabularyCache
from ijkg.graph.store.base import Store
from ijkg.service.conditional import Validators, VersionClock, answer_etag
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
#: ``?format=`` names (a media type is accepted too).
FORMAT_NAMES: Final[dict[str, str]] = {
    "html": HTML,
    "json": JSON,
    "jsonld": JSONLD.media_type,
    "json-ld": JSONLD.media_type,
    "turtle": TURTLE.media_type,
    "ttl": TURTLE.media_type,
    "ntriples": NTRIPLES.media_type,
    "n-triples": NTRIPLES.media_type,
    "nt": NTRIPLES.media_type,
    "rdfxml": RDFXML.media_type,
    "rdf+xml": RDFXML.media_type,
    "rdf": RDFXML.media_type,
    "xml": RDFXML.media_type,
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


def content_type(media_type: str) -> str:
    return media_type if "json" in media_type else f"{media_type}; charset=utf-8"


@dataclass
class LinkedData:
    """Per-application state of the linked-data routes."""

    vocabulary_cache: VocabularyCache = field(default_factory=VocabularyCache)
    search_index: SearchIndex = field(default_factory=SearchIndex)
    list_cache: ListCache = field(default_factory=ListCache)
    clock: VersionClock = field(default_factory=VersionClock)
    store_id: str | None = None
    #: Recent entity descriptions by (IRI, graph version): a client that asks for the page, then
    #: the JSON, then the Turtle of an entity has it read once. A commit makes them all stale.
    descriptions: OrderedDict[tuple[str, int], EntityDescription] = field(
        default_factory=OrderedDict
    )
    max_descriptions: int = 256

    async def describe(self, store: Store, iri: str) -> EntityDescription:
        key = (iri, await store.version())
        found = self.descriptions.get(key)
        if found is not None:
            self.descriptions.move_to_end(key)
            return found
        description = await describe(store, iri)
        self.descriptions[(iri, description.version)] = description
        while len(self.descriptions) > self.max_descriptions:
            self.descriptions.popitem(last=False)
        return description

    async def vocabulary(self, store: Store) -> Vocabulary:
        return await self.vocabulary_cache.get(store)

    async def id_of(self, store: Store) -> str:
        if self.store_id is None:
            self.store_id = (await store.stats()).store_id
        return self.store_id

    async def validators(self, store: Store, version: int, *key: str) -> Validators:
        """Weak ETag (per representation) and Last-Modified of an answer at ``version``."""
        etag = answer_etag(await self.id_of(store), version, *key)
        return Validators(etag, self.clock.modified(version))

    async def fresh(self, request: Request, store: Store, *key: str) -> Response | None:
        """304 when the client's copy is of the current graph version, else ``None``."""
        if "if-none-match" not in request.headers and "if-modified-since" not in request.headers:
            return None
        current = await self.validators(store, await store.version(), *key)
        if current.fresh_for(
            request.headers.get("if-none-match"), request.headers.get("if-modified-since")
        ):
            return current.not_modified()
        return None


async def get_linked(request: Request) -> LinkedData:
    state: LinkedData | None = getattr(request.app.state, "linked_data", None)
    if state is None:
        state = LinkedData()
        request.app.state.linked_data = state
    return state


LinkedDep = Annotated[LinkedData, Depends(get_linked)]


# --- pages ---------------------------------------------------------------------------------------


def entity_path(iri: str) -> str:
    """The service path of an entity IRI (``/id/{kind}/{slug}``), or the IRI itself."""
    from ijkg.graph.core.namespaces import ID_BASE

    if iri.startswith(ID_BASE):
        return "/id/" + iri[len(ID_BASE) :]
    return iri


def href(iri: str) -> str:
    """Where a link to ``iri`` goes on a page: entities and ontology terms within the service,
    anything else to itself."""
    from ijkg.graph.core.namespaces import ID_BASE, IJKG, ONTOLOGY_IRI

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
