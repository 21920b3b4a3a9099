"""Errors as problem details (RFC 9457): one mapping from the graph layer's errors to HTTP.

Every error response is ``application/problem+json`` with a ``type`` under
``https://w3id.org/ijkg/problems/``, a ``title``, the ``status``, a ``detail`` a person can act on,
the ``requestId`` the logs know the request by, and extra members where they help
(``line``/``column`` of a syntax error, the SHACL ``report``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from ijkg.graph import ValidationReport
from ijkg.graph.core import errors
from ijkg.service.auth import AuthError
from ijkg.service.bodies import BodyTimeout
from ijkg.service.clients import ClientBusy
from ijkg.service.etags import PreconditionFailed
from ijkg.service.logs import REQUEST_ID

PROBLEM_BASE = "https://w3id.org/ijkg/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_S = 2


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    rid = REQUEST_ID.get()
    if rid is not None:
        body["requestId"] = rid  # also in the X-Request-Id header and in the logs
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1).encode(),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


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


def to_problem(exc: errors.IjkgError) -> Response:
    """The problem details for one of the graph layer's errors."""
    detail = str(exc)
    if isinstance(exc, errors.QuerySyntaxError):
        return problem(
            400,
            "query-syntax",
            "Malformed query",
            detail,
            line=exc.line,
            column=exc.column,
            expected=list(exc.expected) or None,
            excerpt=exc.excerpt,
            hint=exc.hint,
        )
    if isinstance(exc, errors.RdfSyntaxError):
        return problem(
            400,
            "rdf-syntax",
            "Malformed RDF",
            detail,
            line=exc.line,
            column=exc.column,
        )
    if isinstance(exc, errors.QueryRefused):
        return problem(400, "query-refused", "Query refused", detail)
    if isinstance(exc, errors.QueryTooLarge):
        return problem(413, "query-too-large", "Query too large", detail)
    if isinstance(exc, errors.QueryTimeout):
        return problem(503, "query-timeout", "Query timed out", detail, headers=_RETRY)
    if isinstance(exc, errors.QueryOverloaded):
        return problem(503, "overloaded", "Too many queries", detail, headers=_RETRY)
    if isinstance(exc, errors.QueryAborted):
        return problem(503, "query-aborted", "Query stopped", detail, headers=_RETRY)
    if isinstance(exc, ClientBusy):
        return problem(429, "too-many-requests", "Too many requests", detail, headers=_RETRY)
    if isinstance(exc, errors.ValidationTimeout):
        return problem(503, "validation-timeout", "Validation timed out", detail, headers=_RETRY)
    if isinstance(exc, errors.ValidationOverloaded):
        return problem(503, "overloaded", "Too many validations", detail, headers=_RETRY)
    if isinstance(exc, errors.ValidationLimit):
        return problem(503, "validation-aborted", "Validation stopped", detail, headers=_RETRY)
    if isinstance(exc, errors.ResultTooLarge):
        return problem(422, "result-too-large", "Result too large", detail)
    if isinstance(exc, errors.NotAcceptable):
        return problem(
            406,
            "not-acceptable",
            "Not acceptable",
            detail,
            form=exc.form,
            available=list(exc.available) or None,
        )
    if isinstance(exc, errors.UnsupportedFormat):
        return problem(415, "unsupported-media-type", "Unsupported media type", detail)
    if isinstance(exc, errors.QueryError):
        return problem(400, "query-evaluation", "Query could not be evaluated", detail)
    if isinstance(exc, errors.ValidationFailed):
        return problem(
            422,
            "shacl-violation",
            "The change violates the shapes",
            detail,
            report=report_json(exc.report),
        )
    if isinstance(exc, errors.VersionConflict):
        return problem(
            409,
            "version-conflict",
            "The graph changed",
            detail,
            expected=exc.expected,
            actual=exc.actual,
        )
    if isinstance(exc, errors.NotFound):
        return problem(404, "not-found", "Not found", detail)
    if isinstance(exc, errors.Conflict):
        return problem(409, "conflict", "Conflict", detail)
    if isinstance(exc, errors.TooLarge):
        return problem(413, "too-large", "Too large", detail)
    if isinstance(exc, BodyTimeout):
        return problem(
            408, "request-timeout", "Request timeout", detail, headers={"Connection": "close"}
        )
    if isinstance(exc, errors.BadRequest):
        return problem(400, "bad-request", "Bad request", detail)
    if isinstance(exc, errors.Forbidden):
        return problem(403, "forbidden", "Forbidden", detail)
    if isinstance(exc, PreconditionFailed):
        return problem(
            412, "precondition-failed", "Precondition failed", detail, current=exc.current
        )
    if isinstance(exc, errors.StorageFull):
        return problem(507, "insufficient-storage", "Insufficient storage", detail)
    if isinstance(exc, errors.StorageFailed):
        return problem(503, "storage-unavailable", "Storage unavailable", detail)
    if isinstance(exc, errors.StoreLocked | errors.StoreUnavailable):
        return problem(503, "store-unavailable", "Store unavailable", detail, headers=_RETRY)
    return problem(500, "store-error", "Store error", detail)


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

    async def on_ijkg_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.IjkgError)  # noqa: S101 - registered for this type only
        return to_problem(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(
            exc.status_code,
            slug,
            str(exc.detail) if exc.status_code != 404 else "Not found",
            str(exc.detail),
            headers=headers or None,
        )

    async def on_request_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
        return problem(400, "bad-request", "Bad request", detail, errors=problems)

    async def on_auth_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)  # noqa: S101
        if exc.status == 401:
            return problem(
                401,
                "unauthorized",
                "Unauthorized",
                str(exc),
                headers={"WWW-Authenticate": 'Bearer realm="ijkg"'},
            )
        return problem(403, "forbidden", "Forbidden", str(exc))

    async def on_validation_failed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.ValidationFailed)  # noqa: S101
        report = report_json(exc.report)
        graph = getattr(request.app.state, "graph", None)
        if graph is not None:
            report["results"] = await graph.curation.explain(exc.report)
        return problem(
            422, "shacl-violation", "The change violates the shapes", str(exc), report=report
        )

    app.add_exception_handler(errors.IjkgError, on_ijkg_error)
    app.add_exception_handler(errors.ValidationFailed, on_validation_failed)
    app.add_exception_handler(AuthError, on_auth_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
