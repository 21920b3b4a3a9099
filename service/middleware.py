"""HTTP concerns that apply to every route: CORS for browser apps, gzip for large answers.

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

CORS_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
CORS_HEADERS = ("Accept", "Accept-Language", "Content-Type", "If-None-Match", "If-Modified-Since")
CORS_EXPOSED = ("ETag", "Last-Modified", "Retry-After", "Content-Location", "Link", "Location")
GZIP_MINIMUM_BYTES = 1024


def install(app: FastAPI) -> None:
    """Add gzip and CORS to ``app`` (CORS outermost, so even errors carry its headers)."""
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
