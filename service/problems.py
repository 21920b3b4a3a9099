"""Errors as problem details (RFC 9457): one mapping from the graph layer's errors to HTTP.

Every error response is ``application/problem+json`` with a ``type`` under
``https://w3id.org/ijkg/problems/``, a ``title``, the ``status``, a ``detail`` a person can act on,
the ``requestId`` the logs know the request by, and extra members where they help
(``line``/``column`` of a syntax error, the SHACL ``report``).

A browser (``text/html`` asked for explicitly, liked at least as much as JSON) gets the same
problem as a page instead: the same status, headers, title and detail, and the SHACL report's
results with their suggested fixes. Every other client gets problem+json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from ijkg.graph import (
    BadRequest,
    Conflict,
    Forbidden,
    IjkgError,
    NotAcceptable,
    NotFound,
    QueryAborted,
    QueryError,
    QueryOverloaded,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    QueryTooLarge,
    RdfSyntaxError,
    ResultTooLarge,
    StorageFailed,
    StorageFull,
    StoreLocked,
    StoreUnavailable,
    TooLarge,
    UnsupportedFormat,
    ValidationFailed,
    ValidationLimit,
    ValidationOverloaded,
    ValidationReport,
    ValidationTimeout,
    VersionConflict,
    VersionNotFound,
    VersionsUnsupported,
)
from ijkg.service.auth import AuthError
from ijkg.service.bodies import BodyTimeout
from ijkg.service.clients import ClientBusy
from ijkg.service.etags import PreconditionFailed
from ijkg.service.linked import HTML, JSON, page, render
from ijkg.service.logs import REQUEST_ID
from ijkg.service.negotiation import prefers

PROBLEM_BASE = "https://w3id.org/ijkg/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_S = 2


def wants_page(request: Request) -> bool:
    """A browser's request: ``text/html`` asked for explicitly and liked at least as much as
    JSON. API clients, ``*/*`` and no ``Accept`` at all get JSON.

    >>> from starlette.requests import Request
    >>> def asking(accept):
    ...     return Request({"type": "http", "headers": [(b"accept", accept.encode())]})
    >>> wants_page(asking("text/html,application/xhtml+xml,*/*;q=0.8"))
    True
    >>> wants_page(asking("application/json")), wants_page(asking("*/*"))
    (False, False)
    """
    return prefers(request.headers.get("accept"), HTML, (JSON, PROBLEM_MEDIA_TYPE))


def _body(status: int, slug: str, title: str, detail: str, extra: dict[str, Any]) -> dict[str, Any]:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    rid = REQUEST_ID.get()
    if rid is not None:
        body["requestId"] = rid  # also in the X-Request-Id header and in the logs
    return body


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = _body(status, slug, title, detail, extra)
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1).encode(),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def answer(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """The problem for this client: a page for a browser, problem+json for everyone else (the
    answer varies with ``Accept``, and says so to caches)."""
    if wants_page(request):
        body = _body(status, slug, title, detail, extra)
        response = page(render("problem.html", problem=body), status=status)
        response.headers.update(headers or {})
    else:
        response = problem(status, slug, title, detail, headers=headers, **extra)
    response.headers["Vary"] = "Accept"
    return response


def report_json(report: ValidationReport) -> dict[str, Any]:
    """A SHACL report as JSON for people and programs."""
    return {
        "conforms": report.conforms,
        "violations": len(report.violations),
        "warnings": len(report.warnings),
        "results": [
            {
                "severity": r.severity,
                "focusNode": r.focus_node,
                "path": r.path,
                "value": r.value,
                "sourceShape": r.source_shape,
                "constraint": r.constraint,
                "message": r.message,
            }
            for r in report.results
        ],
    }


_RETRY = {"Retry-After": str(RETRY_AFTER_S)}


@dataclass(frozen=True)
class Kind:
    """How one class of error answers: its status, problem type (``slug``) and title, the
    headers it sends, and the attributes of the error that go into the body as they are (tuples
    as lists, empty or ``None`` ones left out)."""

    status: int
    slug: str
    title: str
    headers: dict[str, str] | None = None
    members: tuple[str, ...] = ()


#: Every error class the service answers for, looked up along the error's class hierarchy (its
#: MRO), so a subclass answers like its nearest listed ancestor. ``ValidationFailed`` is not here:
#: it has a handler of its own (``install``), which explains the SHACL report.
KINDS: dict[type[IjkgError], Kind] = {
    QuerySyntaxError: Kind(
        400,
        "query-syntax",
        "Malformed query",
        members=("line", "column", "expected", "excerpt", "hint"),
    ),
    RdfSyntaxError: Kind(400, "rdf-syntax", "Malformed RDF", members=("line", "column")),
    QueryRefused: Kind(400, "query-refused", "Query refused"),
    QueryTooLarge: Kind(413, "query-too-large", "Query too large"),
    QueryTimeout: Kind(503, "query-timeout", "Query timed out", _RETRY),
    QueryOverloaded: Kind(503, "overloaded", "Too many queries", _RETRY),
    QueryAborted: Kind(503, "query-aborted", "Query stopped", _RETRY),
    ResultTooLarge: Kind(422, "result-too-large", "Result too large"),
    QueryError: Kind(400, "query-evaluation", "Query could not be evaluated"),
    ClientBusy: Kind(429, "too-many-requests", "Too many requests", _RETRY),
    ValidationTimeout: Kind(503, "validation-timeout", "Validation timed out", _RETRY),
    ValidationOverloaded: Kind(503, "overloaded", "Too many validations", _RETRY),
    ValidationLimit: Kind(503, "validation-aborted", "Validation stopped", _RETRY),
    NotAcceptable: Kind(406, "not-acceptable", "Not acceptable", members=("form", "available")),
    UnsupportedFormat: Kind(415, "unsupported-media-type", "Unsupported media type"),
    VersionConflict: Kind(
        409, "version-conflict", "The graph changed", members=("expected", "actual")
    ),
    VersionNotFound: Kind(404, "version-not-found", "No such version", members=("first", "head")),
    VersionsUnsupported: Kind(501, "versions-unsupported", "Versions not kept"),
    NotFound: Kind(404, "not-found", "Not found"),
    Conflict: Kind(409, "conflict", "Conflict"),
    TooLarge: Kind(413, "too-large", "Too large"),
    BodyTimeout: Kind(408, "request-timeout", "Request timeout", {"Connection": "close"}),
    BadRequest: Kind(400, "bad-request", "Bad request"),
    Forbidden: Kind(403, "forbidden", "Forbidden"),
    PreconditionFailed: Kind(
        412, "precondition-failed", "Precondition failed", members=("current",)
    ),
    StorageFull: Kind(507, "insufficient-storage", "Insufficient storage"),
    StorageFailed: Kind(503, "storage-unavailable", "Storage unavailable"),
    StoreUnavailable: Kind(503, "store-unavailable", "Store unavailable", _RETRY),
    StoreLocked: Kind(503, "store-unavailable", "Store unavailable", _RETRY),
    IjkgError: Kind(500, "store-error", "Store error"),
}


def _member(value: Any) -> Any:
    return (list(value) or None) if isinstance(value, tuple) else value


def to_problem(exc: IjkgError, request: Request | None = None) -> Response:
    """The problem details for one of the graph layer's errors (a page, when ``request`` is a
    browser's)."""
    kind = next(KINDS[cls] for cls in type(exc).__mro__ if cls in KINDS)
    respond = problem if request is None else partial(answer, request)
    return respond(
        kind.status,
        kind.slug,
        kind.title,
        str(exc),
        headers=kind.headers,
        **{name: _member(getattr(exc, name)) for name in kind.members},
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path takes. Starlette's 405 names only the methods of the
    first route that matched the path, and a path may have one route per method (nested in
    included routers), so each method is tried against the routes."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


def install(app: FastAPI) -> None:
    """Route every error through problem details."""

    async def on_ijkg_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IjkgError)  # noqa: S101 - registered for this type only
        return to_problem(exc, request)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return answer(
            request,
            exc.status_code,
            slug,
            str(exc.detail) if exc.status_code != 404 else "Not found",
            str(exc.detail),
            headers=headers or None,
        )

    async def on_request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
        return answer(request, 400, "bad-request", "Bad request", detail, errors=problems)

    async def on_auth_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)  # noqa: S101
        if exc.status == 401:
            return answer(
                request,
                401,
                "unauthorized",
                "Unauthorized",
                str(exc),
                headers={"WWW-Authenticate": 'Bearer realm="ijkg"'},
            )
        return answer(request, 403, "forbidden", "Forbidden", str(exc))

    async def on_validation_failed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationFailed)  # noqa: S101
        report = report_json(exc.report)
        graph = getattr(request.app.state, "graph", None)
        if graph is not None:
            report["results"] = await graph.curation.explain(exc.report)
        return answer(
            request,
            422,
            "shacl-violation",
            "The change violates the shapes",
            str(exc),
            report=report,
        )

    app.add_exception_handler(IjkgError, on_ijkg_error)
    app.add_exception_handler(ValidationFailed, on_validation_failed)
    app.add_exception_handler(AuthError, on_auth_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
