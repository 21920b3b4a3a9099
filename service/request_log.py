"""Every request gets an id and one log line; an error nothing else handled becomes a problem.

The id is the client's ``X-Request-Id`` when it sends a sane one, else a new one; it is echoed in
the ``X-Request-Id`` response header, carried by every problem detail (``requestId``) and every
log line written while the request is served (``ijkg.service.logs``). The request's log line
says the method, the path (never the query string: it may hold anything), the status, the
duration and the bytes sent; no header is ever logged, so no token is.

This is the outermost of the app's own middleware. A request whose head is too big is refused
here (414 for a URL over ``MAX_TARGET_BYTES``, 431 for headers over ``MAX_HEADER_BYTES`` or
``MAX_HEADERS``; uvicorn's HTTP parser holds an unfinished head to the same size, see ``ijkg
serve``). An exception that no handler turned into an answer is logged here with its traceback
and answered as a 500 problem with the request id, instead of the server's bare text.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ijkg.service.logs import REQUEST_ID, request_id, tag_records_with_request_ids
from ijkg.service.metrics import UNMATCHED, Metrics
from ijkg.service.problems import answer, problem

log = logging.getLogger("ijkg.request")

HEADER = "X-Request-Id"
#: A URL past this is refused (414): long queries are POSTed (the SPARQL Protocol says so).
MAX_TARGET_BYTES = 32 * 1024
#: Headers past this size, or count, are refused (431).
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADERS = 128
#: What uvicorn's HTTP parser may buffer of a request head that has not arrived whole.
MAX_HEAD_BYTES = MAX_TARGET_BYTES + MAX_HEADER_BYTES


def head_problem(scope: Scope) -> Response | None:
    """414 or 431 when the request's URL or headers are over their limits, else ``None``."""
    target = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b""))
    if target > MAX_TARGET_BYTES:
        return answer(
            Request(scope),
            414,
            "uri-too-long",
            "URI too long",
            f"the URL is {target:,} bytes; the limit is {MAX_TARGET_BYTES:,} (POST a long query "
            "as application/sparql-query)",
            headers={"Connection": "close"},
        )
    headers = scope.get("headers", ())
    size = sum(len(name) + len(value) + 4 for name, value in headers)
    if size > MAX_HEADER_BYTES or len(headers) > MAX_HEADERS:
        return answer(
            Request(scope),
            431,
            "headers-too-large",
            "Request header fields too large",
            f"{len(headers):,} headers of {size:,} bytes; the limits are {MAX_HEADERS} headers "
            f"and {MAX_HEADER_BYTES:,} bytes",
            headers={"Connection": "close"},
        )
    return None


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/id/{kind}/{slug}``), ``/static/{path}`` for a
    mounted app, ``UNMATCHED`` when none did: what the metrics count by, never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if "app_root_path" in scope:  # a mount (the static files) took it
        mounted = str(scope.get("root_path", "")).removeprefix(str(scope["app_root_path"]))
        return f"{mounted}/{{path}}"
    return UNMATCHED


class RequestContext:
    """ASGI middleware: request id, request log line and metrics, last-resort 500 problem."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics
        tag_records_with_request_ids()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client_value = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                client_value = value.decode("latin-1")
                break
        rid = request_id(client_value)
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        state: dict[str, Any] = {"status": None, "bytes": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                MutableHeaders(scope=message)[HEADER] = rid
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            refused = head_problem(scope)
            if refused is not None:
                await refused(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            # The last line of defence: no handler answered. Log it whole, answer a problem.
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if state["status"] is None:
                args = (
                    500,
                    "internal-error",
                    "Internal error",
                    "the service failed to answer this request; it is logged under its request id",
                )
                try:
                    failure = answer(Request(scope), *args)
                except Exception:  # not even the page could be made: the plain problem
                    failure = problem(*args)
                await failure(scope, receive, send_with_id)
        finally:
            status = state["status"]
            seconds = time.perf_counter() - started
            route = route_template(scope)
            if self.metrics is not None:
                self.metrics.observe(route, scope["method"], status or 500, seconds)
            log.log(
                logging.ERROR if status is None or status >= 500 else logging.INFO,
                "%s %s %s",
                scope["method"],
                scope["path"],
                status if status is not None else "-",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "route": route,
                    "duration_ms": round(seconds * 1000, 1),
                    "bytes": state["bytes"],
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
            REQUEST_ID.reset(token)
