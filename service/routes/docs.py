"""``/docs``: the OpenAPI document in Swagger UI, from the package's own copy of Swagger UI.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline script; this one
loads it from ``/static/swagger/`` (see its ``NOTICE.md``) and starts it from a script there too,
so the API documentation works offline, asks no other host, and runs under a Content-Security-Policy
that allows no inline script and no framing.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

router = APIRouter()

SWAGGER = "/static/swagger"

#: Swagger UI's own scripts and styles (it sets element styles from script), the OpenAPI document
#: from this origin, and no framing.
DOCS_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link type="text/css" rel="stylesheet" href="{swagger}/swagger-ui.css">
<link rel="icon" href="data:,">
<title>{title}</title>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{swagger}/swagger-ui-bundle.js"></script>
<script src="{swagger}/ijkg-docs.js"></script>
</body>
</html>
"""


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    page = _PAGE.format(
        swagger=SWAGGER,
        title=f"{request.app.title} — API".replace("<", "&lt;"),
        openapi_url=(request.app.openapi_url or "/openapi.json").replace('"', "&quot;"),
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_POLICY})
