"""The OpenAPI document says what errors look like: problem details, on every operation.

FastAPI documents a ``422`` with its own ``HTTPValidationError`` body on every operation that
takes parameters, but this service answers a malformed request with ``400`` and every error with
``application/problem+json`` (``service.problems``). Left alone, the document would promise a body
no client ever gets. ``install`` rewrites the generated document once: the ``Problem`` schema in
the components, every documented error status answered with it, a ``default`` response for the
statuses an operation does not list, and FastAPI's validation schemas gone. The fuzz test
(tests/hardening/test_fuzz.py) validates real answers against this document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details; extra members where they help (``line`` and
    ``column`` of a syntax error, the SHACL ``report``, ``errors`` of a malformed request)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="an IRI under https://w3id.org/ijkg/problems/")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what went wrong, in words a person can act on")
    requestId: str | None = Field(
        default=None, description="the id the logs know the request by (also X-Request-Id)"
    )


def _problem_content(ref: str) -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": ref}}}


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with problem details on every error response (changed in place, returned)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    ref = "#/components/schemas/Problem"
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                if not (status.isdigit() and int(status) >= 400):
                    continue
                content = response.get("content", {})
                generated = content.get("application/json", {}).get("schema", {}).get("$ref", "")
                if generated.rsplit("/", 1)[-1] in _FASTAPI_VALIDATION:
                    if "description" not in response or response["description"] in (
                        "Validation Error",
                        "",
                    ):
                        # FastAPI's own entry: the service answers request errors with 400.
                        del responses[status]
                        continue
                    content.pop("application/json")
                response["content"] = {**content, **_problem_content(ref)}
            responses.setdefault(
                "default",
                {"description": "An error, as problem details", "content": _problem_content(ref)},
            )
    return document


def install(app: FastAPI) -> None:
    """Serve the rewritten document at ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = document_problems(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
