"""The OpenAPI document describes the errors the service really sends: problem details.

The fuzz test validates answers against the document; these tests pin the part of the document
that says what an error looks like, and check real error answers against it.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.conftest import Service


def problem_schema(document: dict[str, Any]) -> dict[str, Any]:
    """The document's Problem schema, resolvable on its own (its refs point into the document)."""
    return {**document["components"]["schemas"]["Problem"], "components": document["components"]}


def test_every_operation_describes_its_errors_as_problems(service: Service) -> None:
    with service.client() as client:
        document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len(operations) >= 25
    for operation in operations:
        responses = operation["responses"]
        assert "default" in responses
        for status, response in responses.items():
            if status == "default" or int(status) >= 400:
                content = response["content"]
                assert list(content) == ["application/problem+json"], (operation, status)
                assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/id/state/no-such-state", 404),
        ("GET", "/sparql?query=SELEC", 400),
        ("POST", "/update", 403),  # a read-only service (no write tokens)
        ("GET", "/api/entities?limit=-1", 400),
        ("GET", "/sparql?query=ASK{}&format=no-such-format", 406),
    ],
)
def test_real_errors_match_the_documented_problem(
    service: Service, method: str, path: str, status: int
) -> None:
    with service.client() as client:
        document = client.get("/openapi.json").json()
        response = client.request(method, path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    jsonschema.validate(response.json(), problem_schema(document))


def test_the_schema_refuses_what_is_not_a_problem(service: Service) -> None:
    """The check above can fail: a body without the members of problem details is refused."""
    with service.client() as client:
        document = client.get("/openapi.json").json()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"detail": [{"loc": ["query"], "msg": "x"}]}, problem_schema(document))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"type": "t", "title": "t", "status": 200, "detail": "d"}, problem_schema(document)
        )
