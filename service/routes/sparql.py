"""``/sparql``: the SPARQL 1.1 Protocol query operation, its service description and query page.

A query arrives as ``GET ?query=``, as a form ``POST`` (``query=`` in the body) or as a direct
``POST`` of ``application/sparql-query`` (UTF-8); ``default-graph-uri`` and ``named-graph-uri``
narrow the dataset to graphs of the store (never fetched). The answer's format comes from
``format``/``output``/``results`` (as SPARQLWrapper sends them) or from ``Accept``; with no
acceptable format for the query's form the answer is 406 with the formats that are available.

Without a query, ``GET /sparql`` is the SPARQL 1.1 Service Description (Turtle, or any RDF syntax
by negotiation), or the query page for a browser that asks for HTML.

Answers carry a weak ``ETag`` and ``Last-Modified`` from the graph's version, so caches revalidate
and get ``304 Not Modified`` while the graph has not changed.

``version=N`` (or ``Accept-Datetime``, the Memento way) runs the query on the graph as it was at
version N: the answer a researcher cites, the same bytes whatever merges came after, so it is
cacheable for ever (``service.memento``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import Response

from ijkg.graph import (
    FORMAT_NAMES,
    RDF_MEDIA_ALIASES,
    RDF_SYNTAXES,
    RESULTS_FORMATS,
    RESULTS_MEDIA_ALIASES,
    TURTLE,
    BadRequest,
    Dataset,
    KnowledgeGraph,
    NotAcceptable,
    RdfSyntax,
    ResultsFormat,
    ServiceLimits,
    UnsupportedFormat,
    bare_media_type,
    content_type,
    formats_named,
    rdf_syntax_of,
    results_format_of,
)
from ijkg.service.bodies import read_body
from ijkg.service.clients import client_address, client_slots
from ijkg.service.conditional import Validators, VersionClock, answer_etag
from ijkg.service.deps import get_clock, get_graph, get_settings
from ijkg.service.memento import VARY, Pinned, memento_headers, pinned_version, with_version
from ijkg.service.negotiation import CACHED_HEADER_CHARS, negotiate, prefers
from ijkg.service.query_page import CONTENT_SECURITY_POLICY, render_query_page

router = APIRouter(tags=["sparql"])

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
HTML = "text/html"
STATIC_PATH = "/static"

RESULTS_MEDIA_TYPES = tuple(f.media_type for f in RESULTS_FORMATS)
RDF_MEDIA_TYPES = tuple(s.media_type for s in RDF_SYNTAXES)


@dataclass(frozen=True)
class ProtocolRequest:
    """One query operation, whatever the HTTP form it came in."""

    query: str | None
    default_graph_uris: tuple[str, ...]
    named_graph_uris: tuple[str, ...]
    formats: tuple[str, ...]
    #: ``version=`` as given (checked when the query is answered).
    version: str | None = None

    @property
    def dataset(self) -> Dataset:
        """The protocol dataset: none given means the query's own (FROM) or the union default."""
        if not self.default_graph_uris and not self.named_graph_uris:
            return Dataset()
        return Dataset(self.default_graph_uris, self.named_graph_uris)


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise BadRequest(f"the '{name}' parameter was given {len(values)} times; give it once")
    return values[0] if values else None


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


async def protocol_request(request: Request, max_bytes: int) -> ProtocolRequest:
    """Read the query operation from ``request`` (SPARQL 1.1 Protocol section 2.1)."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    query: str | None
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        media_type = bare_media_type(content_type)
        charset = _charset(content_type)
        if media_type not in (FORM, SPARQL_QUERY):
            raise UnsupportedFormat(
                f"POST a query as {FORM} or {SPARQL_QUERY}, "
                f"not {media_type or 'without a Content-Type'}"
            )
        if charset not in (None, "utf-8", "utf8"):
            raise UnsupportedFormat(f"send the query in UTF-8, not {charset}")
        # Room for the query and a dataset's worth of graph names around it.
        body = await read_body(request, max_bytes * 4)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"the request body is not UTF-8 (byte {exc.start})") from None
        if media_type == FORM:
            if "query" in params:
                raise BadRequest("with a form POST the query goes in the body, not the URL")
            for key, values in parse_qs(text, keep_blank_values=True).items():
                params.setdefault(key, []).extend(values)
            query = _single(params, "query")
        else:
            if "query" in params:
                raise BadRequest(f"with a {SPARQL_QUERY} POST the body is the query; drop ?query=")
            query = text
    else:
        query = _single(params, "query")
    if "update" in params:
        raise BadRequest("SPARQL Update goes to /update (POST), not to the query endpoint")
    formats = tuple(v for name in ("format", "output", "results") for v in params.get(name, []))
    return ProtocolRequest(
        query=query,
        default_graph_uris=tuple(params.get("default-graph-uri", [])),
        named_graph_uris=tuple(params.get("named-graph-uri", [])),
        formats=formats,
        version=_single(params, "version"),
    )


def original_url(operation: ProtocolRequest, path: str) -> str:
    """The query as a GET URL without a version: the Memento original resource of its answers
    (a form or direct POST of the same query names the same resource)."""
    assert operation.query is not None  # noqa: S101 - the caller checked
    params = [("query", operation.query)]
    params += [("default-graph-uri", iri) for iri in operation.default_graph_uris]
    params += [("named-graph-uri", iri) for iri in operation.named_graph_uris]
    params += [("format", name) for name in operation.formats]
    return with_version(path, params, None)


def choose_formats(
    accept: str | None, formats: Sequence[str] = ()
) -> tuple[ResultsFormat | None, RdfSyntax | None]:
    """The results format (SELECT/ASK) and RDF syntax (CONSTRUCT/DESCRIBE) the client takes.

    ``formats`` (the ``format``/``output``/``results`` parameters: names such as ``json`` or media
    types) win over ``Accept``; the first results format and the first RDF syntax they name count.
    SPARQLWrapper, for one, sends a name and a media type for the same format.

    >>> choose_formats("text/csv;q=0.5, application/sparql-results+xml")
    (ResultsFormat(name='xml', ...), None)
    >>> choose_formats(None, ["json"])
    (ResultsFormat(name='json', ...), RdfSyntax(name='jsonld', ...))
    >>> choose_formats(None, ["json-ld", "application/ld+json"])
    (None, RdfSyntax(name='jsonld', ...))
    """
    wanted = [value for value in formats if value.strip()]
    if wanted:
        results: ResultsFormat | None = None
        rdf: RdfSyntax | None = None
        for value in wanted:
            named_results, named_rdf = formats_named(value)
            results = results or named_results
            rdf = rdf or named_rdf
        if results is None and rdf is None:
            raise NotAcceptable(
                f"unknown format {', '.join(wanted)}",
                "any",
                tuple(FORMAT_NAMES) + RESULTS_MEDIA_TYPES + RDF_MEDIA_TYPES,
            )
        return results, rdf
    if accept is not None and len(accept) <= CACHED_HEADER_CHARS:
        return _negotiated(accept)
    return _negotiate_formats(accept)


@lru_cache(maxsize=256)  # a client sends the same Accept with every query
def _negotiated(accept: str) -> tuple[ResultsFormat | None, RdfSyntax | None]:
    return _negotiate_formats(accept)


def _negotiate_formats(accept: str | None) -> tuple[ResultsFormat | None, RdfSyntax | None]:
    chosen_results = negotiate(accept, [*RESULTS_MEDIA_TYPES, *RESULTS_MEDIA_ALIASES])
    chosen_rdf = negotiate(accept, [*RDF_MEDIA_TYPES, *RDF_MEDIA_ALIASES])
    return (
        results_format_of(chosen_results) if chosen_results else None,
        rdf_syntax_of(chosen_rdf) if chosen_rdf else None,
    )


def endpoint_url(request: Request) -> str:
    """The endpoint's absolute URL: the base IRI of queries and the subject of its description.

    The request's URL up to its query string (this route's path holds neither ``?`` nor ``#``),
    cut rather than parsed again.
    """
    return str(request.url).partition("?")[0]


# --- the three answers ---------------------------------------------------------------------------


def query_page(request: Request, settings_limits: ServiceLimits) -> Response:
    body = render_query_page(
        endpoint=request.url.path, static=STATIC_PATH, limits=settings_limits
    ).encode()
    validators = Validators(f'W/"page-{hashlib.sha256(body).hexdigest()[:16]}"', None)
    headers = {
        **validators.headers(),
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if validators.fresh_for(request.headers.get("if-none-match"), None):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


async def service_description(
    request: Request, graph: KnowledgeGraph, clock: VersionClock
) -> Response:
    offered = [*RDF_MEDIA_TYPES, *RDF_MEDIA_ALIASES]
    chosen = negotiate(request.headers.get("accept"), offered)
    if chosen is None:
        raise NotAcceptable(
            "the service description is RDF; ask for one of "
            + ", ".join(RDF_MEDIA_TYPES)
            + " (or text/html for the query page)",
            "graph",
            (*RDF_MEDIA_TYPES, HTML),
        )
    syntax = rdf_syntax_of(chosen) or TURTLE
    endpoint = endpoint_url(request)
    version = await graph.version()
    etag = answer_etag(await graph.store_id(), version, "service-description", endpoint, chosen)
    validators = Validators(etag, clock.modified(version))
    if validators.fresh_for(
        request.headers.get("if-none-match"), request.headers.get("if-modified-since")
    ):
        return validators.not_modified()
    body = await graph.sparql.description(endpoint=endpoint, syntax=syntax)
    return Response(body, media_type=content_type(syntax.media_type), headers=validators.headers())


async def answer_query(
    request: Request,
    operation: ProtocolRequest,
    graph: KnowledgeGraph,
    clock: VersionClock,
    pinned: Pinned | None = None,
) -> Response:
    """The answer to ``operation``, on the current graph or, ``pinned``, at a version."""
    assert operation.query is not None  # noqa: S101 - the caller checked
    results, rdf = choose_formats(request.headers.get("accept"), operation.formats)
    if results is None and rdf is None:
        raise NotAcceptable(
            "no format the client accepts can carry a SPARQL answer",
            "any",
            RESULTS_MEDIA_TYPES + RDF_MEDIA_TYPES,
        )
    key = (
        operation.query,
        "\x01".join(operation.default_graph_uris),
        "\x01".join(operation.named_graph_uris),
        results.media_type if results else "",
        rdf.media_type if rdf else "",
    )
    # Checked once, here: the one lexical pass says whether the answer may change between runs
    # and goes along with the text to the store.
    checked = graph.sparql.check(operation.query)
    volatile = checked.volatile
    store_id = await graph.store_id()
    memento = memento_headers(original_url(operation, request.url.path), pinned)

    def validators(version: int) -> Validators:
        if pinned is None:
            return Validators(answer_etag(store_id, version, *key), clock.modified(version), VARY)
        moment = pinned.moment
        return Validators(
            answer_etag(store_id, version, *key),
            moment.timestamp() if moment is not None else None,
            VARY,
            immutable=True,
        )

    if not volatile and (
        "if-none-match" in request.headers or "if-modified-since" in request.headers
    ):
        current = validators(pinned.version if pinned is not None else await graph.version())
        if current.fresh_for(
            request.headers.get("if-none-match"), request.headers.get("if-modified-since")
        ):
            return Response(status_code=304, headers={**current.headers(), **memento})
    try:
        answer = await graph.sparql.query(
            checked,
            results=results,
            rdf=rdf,
            dataset=operation.dataset,
            base_iri=endpoint_url(request),
            at_version=pinned.version if pinned is not None else None,
        )
    except NotAcceptable as exc:
        if exc.form == "graph":
            raise NotAcceptable(
                "a CONSTRUCT or DESCRIBE answer is RDF: ask for one of "
                + ", ".join(RDF_MEDIA_TYPES),
                exc.form,
                RDF_MEDIA_TYPES,
            ) from None
        article = "an" if exc.form == "ask" else "a"
        raise NotAcceptable(
            f"{article} {exc.form.upper()} answer is a SPARQL result: ask for one of "
            + ", ".join(RESULTS_MEDIA_TYPES),
            exc.form,
            RESULTS_MEDIA_TYPES,
        ) from None
    kept = validators(answer.version)
    if volatile:
        kept = Validators(None, kept.last_modified, VARY)
    return Response(
        answer.body,
        media_type=content_type(answer.media_type),
        headers={**kept.headers(), **memento},
    )


_SUMMARY = "SPARQL 1.1 query, service description, query page"


# One route per method, each with its own operation id (one route for the three methods gave
# them all the same id, which OpenAPI does not allow).
_SPARQL_ROUTE: dict[str, Any] = dict(
    summary=_SUMMARY,
    response_class=Response,
    responses={
        200: {
            "description": "The answer in the negotiated format; without a query, the service "
            "description (RDF) or the query page (HTML)",
            "content": {m: {} for m in (*RESULTS_MEDIA_TYPES, *RDF_MEDIA_TYPES, HTML)},
        },
        304: {"description": "The graph has not changed since the ETag or date sent"},
        400: {
            "description": "Malformed query (with line and column), refused feature (SERVICE, "
            "file: graph names), a malformed version or Accept-Datetime, or a malformed "
            "protocol request"
        },
        404: {
            "description": "No such version, or an Accept-Datetime before the first one (with "
            "the range of versions there are)"
        },
        406: {"description": "No acceptable format for this kind of answer (with the list)"},
        413: {"description": "Query text over its size or nesting limit"},
        415: {"description": "POST body that is neither a form nor application/sparql-query"},
        422: {"description": "Answer over the row or byte cap (never truncated)"},
        503: {"description": "Time limit, memory limit or too many queries (Retry-After)"},
    },
)


@router.get("/sparql", operation_id="sparql_get", **_SPARQL_ROUTE)
@router.head("/sparql", operation_id="sparql_head", **_SPARQL_ROUTE)
@router.post("/sparql", operation_id="sparql_post", **_SPARQL_ROUTE)
async def sparql(request: Request) -> Response:
    """Run a SPARQL query: `GET /sparql?query=SELECT...`, or POST it as a form (`query=`) or as
    `application/sparql-query`. `default-graph-uri` and `named-graph-uri` narrow the dataset to
    graphs of the store; without them the default graph is the union of all named graphs.

    SELECT and ASK answer in SPARQL JSON, XML, CSV or TSV; CONSTRUCT and DESCRIBE in Turtle,
    N-Triples, JSON-LD, RDF/XML, TriG or N-Quads — by `Accept` (q-values and wildcards honoured) or
    by `format=` (`json`, `xml`, `csv`, `tsv`, `turtle`, `json-ld` or a media type).

    `version=N` runs the query on the graph exactly as it was at version N (see `/versions`):
    the answer to cite, unchanged by any later merge, served with `Cache-Control: immutable`.
    `Accept-Datetime` (Memento, RFC 7089) picks the version in force at that moment; answers
    carry `Memento-Datetime` and `Link` headers to the original, its TimeMap and the memento.

    Without a query: the SPARQL 1.1 Service Description (Turtle by default), or the query page for
    a browser. Every query runs under hard limits (time, memory, rows, bytes, concurrency; see the
    service description and the top of this document); SERVICE is refused unless federation is
    switched on, and graph names are never fetched.

    Example: `curl -G http://127.0.0.1:8000/sparql -H 'Accept: text/csv' --data-urlencode
    'query=SELECT ?pillar WHERE { ?pillar a <https://w3id.org/ijkg/ontology#Pillar> }'`
    """
    # The app's parts are read directly, not declared as dependencies: resolving them cost
    # every query more than the rest of its handling here.
    graph = await get_graph(request)
    settings = await get_settings(request)
    clock = await get_clock(request)
    operation = await protocol_request(request, settings.max_query_bytes)
    limits = graph.sparql.limits
    accept = request.headers.get("accept")
    if operation.query is None:
        if request.method == "POST":
            raise BadRequest("no query: send it as the 'query' form field or as the body")
        if not operation.formats and prefers(accept, HTML, RDF_MEDIA_TYPES):
            return query_page(request, limits)
        return await service_description(request, graph, clock)
    if (
        request.method != "POST"
        and not operation.formats
        and prefers(accept, HTML, RESULTS_MEDIA_TYPES + RDF_MEDIA_TYPES)
    ):
        # A browser following a link to a query: the page, with the query in the editor.
        return query_page(request, limits)
    with client_slots(request).hold(client_address(request)):
        # The version is looked up under the client's slot too: it asks the store.
        pinned = await pinned_version(request, graph, operation.version)
        return await answer_query(request, operation, graph, clock, pinned)


def openapi_description(settings: ServiceLimits) -> str:
    """The limits section of the OpenAPI document, with this service's values."""
    lines = "\n".join(f"- {line}" for line in settings.as_text())
    return (
        "SPARQL 1.1 (Protocol, every result format, a query page), linked entities and validated "
        "changes over the India–Japan partnership.\n\n"
        "## Limits of every query at `/sparql`\n\n"
        f"{lines}\n\n"
        "Graph names in `FROM`, `FROM NAMED`, `default-graph-uri` and `named-graph-uri` name "
        "graphs of this store and are never fetched; `file:` and other non-web schemes are "
        "refused."
    )
