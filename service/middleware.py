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
- Security headers (outermost, so even the last-resort answers carry them): every answer says
  ``X-Content-Type-Options: nosniff``; every HTML answer has a ``Content-Security-Policy`` (its
  own, or ``HTML_POLICY``) and may not be framed by any page (``frame-ancestors 'none'``,
  ``X-Frame-Options: DENY``).
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def install(app: FastAPI) -> None:
    """Add gzip, CORS (outside it, so even errors carry its headers), the request context, and
    the security headers (outermost) to ``app``."""
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
    app.add_middleware(RequestContext)
    app.add_middleware(SecurityHeaders)
