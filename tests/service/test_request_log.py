"""The request context middleware on its own: ids, the last-resort problem, head limits, logs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ijkg.service.logs import JsonFormatter
from ijkg.service.request_log import MAX_HEADERS, MAX_TARGET_BYTES, RequestContext


async def fine(_request: Request) -> PlainTextResponse:
    logging.getLogger("ijkg.test").info("inside the handler", extra={"answer": 42})
    return PlainTextResponse("fine")


async def broken(_request: Request) -> PlainTextResponse:
    raise RuntimeError("a bug nobody handled")


class Client:
    """Requests to a tiny app behind the middleware, in process."""

    def __init__(self) -> None:
        app = Starlette(routes=[Route("/fine", fine), Route("/broken", broken)])
        app.add_middleware(RequestContext)
        self.transport = httpx.ASGITransport(app=app)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://t") as c:
                return await c.get(path, **kwargs)

        return asyncio.run(call())


def client() -> Client:
    return Client()


def test_an_unhandled_error_is_a_problem_with_the_request_id_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="ijkg"):
        answer = client().get("/broken", headers={"X-Request-Id": "req-1"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-request-id"] == "req-1"
    body = answer.json()
    assert body["type"].endswith("/internal-error") and body["requestId"] == "req-1"
    assert "RuntimeError" not in answer.text  # the details go to the log, not to the client
    (failure,) = [r for r in caplog.records if r.exc_info]
    assert "a bug nobody handled" in JsonFormatter().format(failure)
    line = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert (line["request_id"], line["status"], line["level"]) == ("req-1", 500, "error")


def test_log_lines_written_while_serving_carry_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        answer = client().get("/fine", headers={"X-Request-Id": "req-2"})
    assert answer.text == "fine"
    inner = next(r for r in caplog.records if r.getMessage() == "inside the handler")
    line = json.loads(JsonFormatter().format(inner))
    assert (line["request_id"], line["answer"], line["logger"]) == ("req-2", 42, "ijkg.test")


def test_a_url_or_headers_over_their_limits_are_refused_before_the_app() -> None:
    long_url = client().get("/fine", params={"q": "x" * (MAX_TARGET_BYTES + 1)})
    assert long_url.status_code == 414
    assert long_url.json()["type"].endswith("/uri-too-long")
    assert long_url.headers["connection"] == "close"
    many = client().get("/fine", headers={f"X-H{i}": "v" for i in range(MAX_HEADERS + 1)})
    assert many.status_code == 431
    assert many.json()["type"].endswith("/headers-too-large")
    big = client().get("/fine", headers={"X-Big": "b" * 40_000})
    assert big.status_code == 431
    assert client().get("/fine", headers={"X-Fine": "f" * 1000}).text == "fine"


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_gets_the_last_resort_answers_as_pages() -> None:
    failed = client().get("/broken", headers={"Accept": BROWSER, "X-Request-Id": "req-3"})
    long_url = client().get(
        "/fine", params={"q": "x" * (MAX_TARGET_BYTES + 1)}, headers={"Accept": BROWSER}
    )
    for answer, status in ((failed, 500), (long_url, 414)):
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.headers["vary"] == "Accept"
        assert "<html" in answer.text and str(status) in answer.text
    assert "req-3" in failed.text  # the id a person quotes when reporting it
    assert "a bug nobody handled" not in failed.text
