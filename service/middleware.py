"""HTTP concerns that apply to every route: request ids and the request log, CORS for browser
apps, gzip for large answers.

- Request ids and logs (``ijkg.service.request_log``), outermost, so every answer carries its
  ``X-Request-Id`` and every request leaves one log line.
- CORS: reads are open to any origin (``Access-Control-Allow-Origin: *``), without credentials.
  Only the headers reads need may be sent cross-origin; ``Authorization`` is not among them, so a
  page on another origin cannot write with a token a browser holds. The validators and
  ``Retry-After`` are exposed to scripts.
- gzip: answers over a kilobyte are compressed for clients that accept it (``Vary:
  Accept-Encoding``).
- ``Vary: Accept`` on every answer of a negotiated route (one whose OpenAPI operation offers more
  than one media type), errors and 304s included, so no cache hands one client's representation
  to another; the routes need not remember it one by one.
- Hosts (inside the request context, so its refusals carry a request id): a request whose
  ``Host`` is not an allowed one (``Settings.host_patterns``) gets 400 before any route sees it, so
  no link, redirect or cached answer ever points at a host a client made up; with
  ``IJKG_BASE_URL`` set, the request is seen with that scheme and host, so every absolute link the
  service writes (JSON-LD ``@context``, JSON links, ``sd:endpoint``, redirects) uses it.
- Security headers (outermost, so even the last-resort answers carry them): every answer says
  ``X-Content-Type-Options: nosniff``; every HTML answer has a ``Content-Security-Policy`` (its
  own, or ``HTML_POLICY``) and may not be framed by any page (``frame-ancestors 'none'``,
  ``X-Frame-Options: DENY``).
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ijkg.graph import Settings
from ijkg.service.metrics import Metrics
from ijkg.service.problems import answer
from ijkg.service.request_log import RequestContext

CORS_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
CORS_HEADERS = (
    "Accept",
    "Accept-Language",
    "Content-Type",
    "If-None-Match",
    "If-Modified-Since",
    "X-Request-Id",
)
CORS_EXPOSED = (
    "ETag",
    "Last-Modified",
    "Retry-After",
    "Content-Location",
    "Link",
    "Location",
    "X-Request-Id",
)
GZIP_MINIMUM_BYTES = 1024
#: The policy of an HTML answer that brings none of its own: nothing but its own styles and
#: images, no script, and no framing.
HTML_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


_HOST = re.compile(
    r"^(?:\[(?P<ip6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::(?P<port>[0-9]{1,5}))?$"
)


def host_name(value: str) -> str | None:
    """The host name of a ``Host`` header (lower case, without port or trailing dot), or
    ``None`` when it is not a host name at all.

    >>> host_name("Example.ORG:8000"), host_name("[::1]:80"), host_name("a b") is None
    ('example.org', '::1', True)
    """
    match = _HOST.match(value.strip().lower())
    if match is None:
        return None
    return (match.group("ip6") or match.group("name")).rstrip(".")


def host_allowed(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``name`` is allowed by one of ``patterns``: the name itself, ``.domain`` (the
    domain and its subdomains) or ``*``.

    >>> allowed = (".example.org",)
    >>> host_allowed("api.example.org", allowed), host_allowed("example.org.evil", allowed)
    (True, False)
    """
    for pattern in patterns:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith(".") and (name == pattern[1:] or name.endswith(pattern)):
            return True
    return False


class HostGuard:
    """ASGI middleware: 400 for a ``Host`` that is not allowed; the public base URL, if set, in
    place of the request's own scheme and host."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.patterns = settings.host_patterns()
        self.base: tuple[str, bytes, tuple[str, int]] | None = None
        if settings.base_url is not None:
            parts = urlsplit(settings.base_url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            self.base = (parts.scheme, parts.netloc.encode("latin-1"), (parts.hostname or "", port))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        given = [value for name, value in headers if name == b"host"]
        if given:
            name = host_name(given[0].decode("latin-1")) if len(given) == 1 else None
            if name is None or not host_allowed(name, self.patterns):
                shown = b", ".join(given).decode("latin-1")[:100]
                refusal = answer(
                    Request(scope),
                    400,
                    "bad-host",
                    "Host not allowed",
                    f"this service does not answer for the host {shown!r}; its operator lists "
                    "the names it answers for in IJKG_ALLOWED_HOSTS (or IJKG_BASE_URL)",
                )
                await refusal(scope, receive, send)
                return
        if self.base is not None:
            # Changed in place, not copied: the request context outside reads the route the
            # router records in this scope.
            scheme, netloc, server = self.base
            scope["scheme"] = scheme
            scope["server"] = server
            scope["headers"] = [(n, v) for n, v in headers if n != b"host"] + [(b"host", netloc)]
        await self.app(scope, receive, send)


def negotiated(route: APIRoute) -> bool:
    """Whether ``route`` answers in more than one media type, as its OpenAPI operation says:
    the media types of its 200 response, and JSON when it has a response model."""
    declared: dict[Any, Any] = route.responses.get(200) or route.responses.get("200") or {}
    offered = set(declared.get("content", {}))
    if route.response_model is not None:
        offered.add("application/json")
    return len(offered) > 1


def add_vary(headers: MutableHeaders, field: str) -> None:
    """Add ``field`` to the ``Vary`` header unless it is there already (any case)."""
    present = [v.strip() for value in headers.getlist("vary") for v in value.split(",")]
    present = [v for v in present if v]
    if any(v.lower() in (field.lower(), "*") for v in present):
        return
    headers["Vary"] = ", ".join([*present, field])


class VaryAccept:
    """ASGI middleware: ``Vary: Accept`` on every answer of a negotiated route (see
    ``negotiated``). Inside the routing, so the matched route is known when the answer starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                if isinstance(route, APIRoute) and negotiated(route):
                    add_vary(MutableHeaders(scope=message), "Accept")
            await send(message)

        await self.app(scope, receive, send_with_vary)


class SecurityHeaders:
    """ASGI middleware: ``nosniff`` on every answer; a CSP and no framing on every HTML answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", HTML_POLICY)
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings, metrics: Metrics | None = None) -> None:
    """Add ``Vary: Accept`` (innermost), gzip, CORS (outside it, so even errors carry its
    headers), the host guard, the request context, and the security headers (outermost) to
    ``app``."""
    app.add_middleware(VaryAccept)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=6)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=False,
        allow_methods=list(CORS_METHODS),
        allow_headers=list(CORS_HEADERS),
        expose_headers=list(CORS_EXPOSED),
        max_age=3600,
    )
    app.add_middleware(HostGuard, settings=settings)
    app.add_middleware(RequestContext, metrics=metrics)
    app.add_middleware(SecurityHeaders)
