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
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

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


def install(app: FastAPI) -> None:
    """Add gzip, CORS (outside it, so even errors carry its headers) and the request context
    (outermost) to ``app``."""
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
