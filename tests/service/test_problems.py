"""Each of the graph layer's errors answers with its own status, problem type and title."""

from __future__ import annotations

import json

import pytest

from ijkg.graph.core import errors
from ijkg.service.bodies import BodyTimeout, BodyTooLarge
from ijkg.service.clients import ClientBusy
from ijkg.service.etags import PreconditionFailed
from ijkg.service.problems import PROBLEM_BASE, to_problem

RETRY = {"retry-after": "2"}

CASES = [
    (
        errors.QuerySyntaxError("bad", 2, 5, expected=("WHERE",), excerpt="x\n^", hint="h"),
        400,
        "query-syntax",
        "Malformed query",
        {"line": 2, "column": 5, "expected": ["WHERE"], "excerpt": "x\n^", "hint": "h"},
        {},
    ),
    (errors.QuerySyntaxError("bad"), 400, "query-syntax", "Malformed query", {}, {}),
    (
        errors.RdfSyntaxError("bad", 3, 1),
        400,
        "rdf-syntax",
        "Malformed RDF",
        {"line": 3, "column": 1},
        {},
    ),
    (errors.QueryRefused("x"), 400, "query-refused", "Query refused", {}, {}),
    (errors.QueryTooLarge("x"), 413, "query-too-large", "Query too large", {}, {}),
    (errors.QueryTimeout(5), 503, "query-timeout", "Query timed out", {}, RETRY),
    (errors.QueryOverloaded("x"), 503, "overloaded", "Too many queries", {}, RETRY),
    (errors.QueryAborted("x"), 503, "query-aborted", "Query stopped", {}, RETRY),
    (ClientBusy("x"), 429, "too-many-requests", "Too many requests", {}, RETRY),
    (errors.ValidationTimeout(5), 503, "validation-timeout", "Validation timed out", {}, RETRY),
    (errors.ValidationOverloaded("x"), 503, "overloaded", "Too many validations", {}, RETRY),
    (errors.ValidationAborted("x"), 503, "validation-aborted", "Validation stopped", {}, RETRY),
    (errors.ResultTooLarge("x"), 422, "result-too-large", "Result too large", {}, {}),
    (
        errors.NotAcceptable("x", "select", ("text/csv",)),
        406,
        "not-acceptable",
        "Not acceptable",
        {"form": "select", "available": ["text/csv"]},
        {},
    ),
    (
        errors.NotAcceptable("x", "graph"),
        406,
        "not-acceptable",
        "Not acceptable",
        {"form": "graph"},
        {},
    ),
    (
        errors.UnsupportedFormat("x"),
        415,
        "unsupported-media-type",
        "Unsupported media type",
        {},
        {},
    ),
    (errors.QueryError("x"), 400, "query-evaluation", "Query could not be evaluated", {}, {}),
    (
        errors.VersionConflict(3, 4),
        409,
        "version-conflict",
        "The graph changed",
        {"expected": 3, "actual": 4},
        {},
    ),
    (errors.NotFound("x"), 404, "not-found", "Not found", {}, {}),
    (errors.Conflict("x"), 409, "conflict", "Conflict", {}, {}),
    (errors.TooLarge("x"), 413, "too-large", "Too large", {}, {}),
    (BodyTooLarge("x"), 413, "too-large", "Too large", {}, {}),
    (
        BodyTimeout("x"),
        408,
        "request-timeout",
        "Request timeout",
        {},
        {"connection": "close"},
    ),
    (errors.BadRequest("x"), 400, "bad-request", "Bad request", {}, {}),
    (errors.Forbidden("x"), 403, "forbidden", "Forbidden", {}, {}),
    (
        PreconditionFailed("x", '"s-1"'),
        412,
        "precondition-failed",
        "Precondition failed",
        {"current": '"s-1"'},
        {},
    ),
    (errors.StorageFull("x"), 507, "insufficient-storage", "Insufficient storage", {}, {}),
    (errors.StorageFailed("x"), 503, "storage-unavailable", "Storage unavailable", {}, {}),
    (errors.StoreLocked("x"), 503, "store-unavailable", "Store unavailable", {}, RETRY),
    (errors.StoreUnavailable("x"), 503, "store-unavailable", "Store unavailable", {}, RETRY),
    (errors.StoreDamaged("x"), 503, "store-unavailable", "Store unavailable", {}, RETRY),
    (errors.StoreError("x"), 500, "store-error", "Store error", {}, {}),
    (errors.IjkgError("x"), 500, "store-error", "Store error", {}, {}),
]


@pytest.mark.parametrize(
    ("exc", "status", "slug", "title", "extra", "headers"),
    CASES,
    ids=[f"{type(case[0]).__name__}-{i}" for i, case in enumerate(CASES)],
)
def test_each_error_has_its_problem(
    exc: errors.IjkgError,
    status: int,
    slug: str,
    title: str,
    extra: dict[str, object],
    headers: dict[str, str],
) -> None:
    response = to_problem(exc)
    body = json.loads(response.body)
    assert response.status_code == status
    assert response.media_type == "application/problem+json"
    assert body == {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": str(exc),
        **extra,
    }
    for name, value in headers.items():
        assert response.headers[name] == value
    if not headers:
        assert "retry-after" not in response.headers
