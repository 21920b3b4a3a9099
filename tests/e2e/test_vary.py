"""Every negotiated route says so: ``Vary: Accept`` on each of its answers (errors and 304s too),
so a shared cache never hands one client's representation to another.

The routes are walked from the OpenAPI document, not listed here: a new route is checked the day
it is added. Each is asked with several ``Accept`` headers; where the answers differ (media type
or status), every one of them must carry ``Vary: Accept``, and so must every answer of a route
whose OpenAPI operation offers more than one media type.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import Service

ACCEPTS = (
    None,
    "*/*",
    "text/html",
    "application/json",
    "text/turtle",
    "application/ld+json",
    "text/csv",
    "text/plain",
    "image/png",
)
#: A value for each path parameter of the bundled graph's routes.
PATH_VALUES = {
    "kind": "pillar",
    "slug": "health",
    "name": "pillars",
    "change_id": "none",
    "version": "1",
    "number": "1",
    "path": "id/pillar/health",
}
#: Required query parameters, and extra variants of a route (a query on /sparql).
QUERY_VALUES: dict[str, list[dict[str, str]]] = {
    "/api/search": [{"q": "health"}],
    "/sparql": [{}, {"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"}, {"query": "ASK {}"}],
}


def varies_by_accept(response: httpx.Response) -> bool:
    fields = [f.strip().lower() for f in response.headers.get("vary", "").split(",")]
    return "accept" in fields or "*" in fields


def read_routes(client: httpx.Client) -> list[tuple[str, str, bool]]:
    """(method, path, offers several media types) of every GET and HEAD operation."""
    document: dict[str, Any] = client.get("/openapi.json").json()
    routes = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "head"):
                continue
            offered = operation["responses"].get("200", {}).get("content", {})
            if "text/event-stream" in offered:
                continue  # a live stream never ends: no answer to compare
            concrete = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
            routes.append((method.upper(), concrete, len(offered) > 1))
    return routes


def test_the_walk_covers_the_negotiated_routes(service: Service) -> None:
    with service.client() as client:
        negotiated = {path for _, path, several in read_routes(client) if several}
    assert {"/sparql", "/id/pillar/health", "/api/search", "/api/pillars", "/store"} <= negotiated


def test_every_negotiated_answer_varies_by_accept(service: Service) -> None:
    failures = []
    with service.client() as client:
        for method, path, several in read_routes(client):
            for params in QUERY_VALUES.get(path, [{}]):
                answers = {}
                for accept in ACCEPTS:
                    headers = {"Accept": accept} if accept is not None else {}
                    answer = client.request(method, path, params=params, headers=headers)
                    answers[accept] = answer
                kinds = {
                    (a.status_code, a.headers.get("content-type", "").split(";")[0])
                    for a in answers.values()
                }
                if len(kinds) > 1 or several:
                    failures += [
                        f"{method} {path} {params} Accept: {accept} -> {a.status_code} "
                        f"{a.headers.get('content-type')}, Vary: {a.headers.get('vary')}"
                        for accept, a in answers.items()
                        if not varies_by_accept(a)
                    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", ["/health", "/context.jsonld", "/api"])
def test_a_route_with_one_media_type_does_not_vary(service: Service, path: str) -> None:
    with service.client() as client:
        answer = client.get(path, headers={"Accept": "text/html"})
    assert answer.status_code == 200
    assert not varies_by_accept(answer)
