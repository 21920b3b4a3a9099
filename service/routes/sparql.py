"""``/sparql``: the SPARQL 1.1 Protocol query operation.

A query arrives as ``GET ?query=``, as a form ``POST`` (``query=``) or as a direct ``POST`` of
``application/sparql-query``; ``default-graph-uri`` and ``named-graph-uri`` name graphs of the
store (never fetched). The answer's format comes from ``format``/``output`` (as SPARQLWrapper sends
them) or from ``Accept``; with no acceptable format for the query's form the answer is 406.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import Response

from ijkg.graph.errors import NotAcceptable, QueryRefused, UnsupportedFormat
from ijkg.graph.formats import (
    RDF_SYNTAXES,
    RESULTS_FORMATS,
    RdfSyntax,
    ResultsFormat,
    bare_media_type,
    rdf_syntax_for_name,
    results_format_for,
)
from ijkg.graph.query import QueryPolicy, run_query
from ijkg.graph.store.base import Dataset
from ijkg.service.bodies import read_body
from ijkg.service.deps import SettingsDep, StoreDep
from ijkg.service.negotiation import negotiate

router = APIRouter(tags=["sparql"])

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
# application/json is what many scripts send for SELECT results.
_RESULTS_OFFERED = [f.media_type for f in RESULTS_FORMATS] + ["application/json"]
_RDF_OFFERED = [s.media_type for s in RDF_SYNTAXES]


@dataclass(frozen=True)
class ProtocolRequest:
    """One query operation, whatever the HTTP form it came in."""

    query: str | None
    default_graph_uris: tuple[str, ...]
    named_graph_uris: tuple[str, ...]
    format: str | None

    @property
    def dataset(self) -> Dataset:
        if not self.default_graph_uris and not self.named_graph_uris:
            return Dataset()
        return Dataset(self.default_graph_uris, self.named_graph_uris)


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise QueryRefused(f"the '{name}' parameter was given {len(values)} times")
    return values[0] if values else None


async def protocol_request(request: Request, max_bytes: int) -> ProtocolRequest:
    """Read the query operation from ``request`` (SPARQL 1.1 Protocol section 2.1)."""
    url_params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        url_params.setdefault(key, []).append(value)
    params = url_params
    query: str | None
    if request.method == "POST":
        media_type = bare_media_type(request.headers.get("content-type", ""))
        body = await read_body(request, max_bytes * 4)
        if media_type == FORM:
            if "query" in url_params:
                raise QueryRefused("with a form POST the query goes in the body, not the URL")
            params = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            for key, values in url_params.items():
                params.setdefault(key, values)
            query = _single(params, "query")
        elif media_type == SPARQL_QUERY:
            try:
                query = body.decode("utf-8")
            except UnicodeDecodeError:
                raise QueryRefused("the query is not valid UTF-8") from None
        else:
            raise UnsupportedFormat(
                f"POST a query as {FORM} or {SPARQL_QUERY}, not {media_type or 'no content type'}"
            )
    else:
        query = _single(params, "query")
    if "update" in params:
        raise QueryRefused("updates go to /update, not /sparql")
    return ProtocolRequest(
        query=query,
        default_graph_uris=tuple(params.get("default-graph-uri", [])),
        named_graph_uris=tuple(params.get("named-graph-uri", [])),
        format=_single(params, "format") or _single(params, "output"),
    )


def choose_formats(
    accept: str | None, format_param: str | None
) -> tuple[ResultsFormat | None, RdfSyntax | None]:
    """The results format and RDF syntax the client takes, from ``format=`` or ``Accept``."""
    if format_param:
        results: ResultsFormat | None = None
        rdf: RdfSyntax | None = None
        try:
            results = results_format_for(format_param)
        except UnsupportedFormat:
            results = None
        try:
            rdf = rdf_syntax_for_name(format_param)
        except UnsupportedFormat:
            rdf = None
        if format_param.lower() in ("json", "application/json"):
            # format=json means SPARQL JSON for SELECT/ASK and JSON-LD for CONSTRUCT/DESCRIBE.
            rdf = rdf_syntax_for_name("jsonld")
        if results is None and rdf is None:
            raise NotAcceptable(f"unknown format {format_param!r}", "any")
        return results, rdf
    chosen_results = negotiate(accept, _RESULTS_OFFERED)
    chosen_rdf = negotiate(accept, _RDF_OFFERED)
    return (
        results_format_for(chosen_results) if chosen_results else None,
        rdf_syntax_for_name(chosen_rdf) if chosen_rdf else None,
    )


def _content_type(media_type: str) -> str:
    return media_type if media_type.endswith("json") else f"{media_type}; charset=utf-8"


@router.api_route(
    "/sparql",
    methods=["GET", "POST"],
    summary="SPARQL 1.1 query",
    response_class=Response,
    responses={
        200: {
            "description": "The answer in the negotiated format",
            "content": {m: {} for m in _RESULTS_OFFERED[:4] + _RDF_OFFERED},
        },
        400: {"description": "Malformed or refused query (problem details, line and column)"},
        406: {"description": "No acceptable format for this kind of answer"},
        503: {"description": "Time limit, overload or a stopped query (Retry-After)"},
    },
)
async def sparql(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Run a SPARQL query: ``GET /sparql?query=SELECT...``, or POST it as a form or as
    ``application/sparql-query``. SELECT/ASK answer in SPARQL JSON, XML, CSV or TSV;
    CONSTRUCT/DESCRIBE in Turtle, N-Triples, JSON-LD, RDF/XML, TriG or N-Quads.

    Example: ``curl -G http://127.0.0.1:8000/sparql --data-urlencode
    'query=SELECT ?pillar WHERE { ?pillar a <https://w3id.org/ijkg/ontology#Pillar> }'``
    """
    operation = await protocol_request(request, settings.max_query_bytes)
    if operation.query is None:
        raise QueryRefused("no query: pass it as the 'query' parameter")
    results, rdf = choose_formats(request.headers.get("accept"), operation.format)
    try:
        answer = await run_query(
            store,
            operation.query,
            policy=QueryPolicy.from_settings(settings),
            results=results,
            rdf=rdf,
            dataset=operation.dataset,
        )
    except NotAcceptable as exc:
        offered = _RDF_OFFERED if exc.form == "graph" else _RESULTS_OFFERED[:4]
        raise NotAcceptable(
            f"a {exc.form.upper() if exc.form != 'graph' else 'CONSTRUCT/DESCRIBE'} answer is "
            f"available as {', '.join(offered)}",
            exc.form,
        ) from None
    return Response(answer.body, media_type=_content_type(answer.media_type))
