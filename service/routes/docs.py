"""``/docs``: the OpenAPI document in Swagger UI, from the package's own copy of Swagger UI.

FastAPI's built-in page loads Swagger UI from a CDN; this one loads it from ``/static/swagger/``
(see its ``NOTICE.md``), so the API documentation works offline and asks no other host.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

router = APIRouter()

SWAGGER = "/static/swagger"


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} — API",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url="data:,",
        # No badge from the public validator service: nothing leaves the machine.
        swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": False},
    )
