"""OpenAPI fuzzing with schemathesis against a running service: every operation of the OpenAPI
document gets generated requests (valid and invalid parameters, with a writer's token so the write
paths are reached too), and none may be answered with a 5xx.

The document is the app's own (``create_app(...).openapi()``, the one ``/openapi.json`` serves,
which a test checks), read when the tests are collected: schemathesis' lazily loaded schemas do
not work with this pytest.

Bounded for CI: a fixed number of examples per operation, derandomized (the same requests every
run), no example database, no time limit per example (timings are not asserted).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from ijkg.graph.core.settings import Settings
from ijkg.service.app import create_app
from tests.conftest import Server, start_server, stop_server

TOKEN = "fuzz-writer-token"  # noqa: S105 - a test server's token
EXAMPLES = 25
#: Paths whose JSON answers the handlers build from the models that document them: every such
#: answer must validate against its schema in the OpenAPI document.
MODELLED = ("/api", "/id/", "/health")

OPENAPI = create_app(Settings(write_tokens=f"fuzzer={TOKEN}")).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("fuzz")
    server = start_server(
        root / "store",
        root / "server.log",
        {
            "IJKG_FSYNC": "false",
            "IJKG_WRITE_TOKENS": f"fuzzer={TOKEN}",
            "IJKG_QUERY_TIMEOUT_S": "5",
        },
    )
    yield server
    stop_server(server)


def test_the_schema_is_the_one_served_and_has_the_operations(fuzz_server: Server) -> None:
    with fuzz_server.client() as client:
        served = client.get("/openapi.json").json()
    assert served["paths"] == OPENAPI["paths"]
    operations = {
        (method.upper(), path) for path, item in OPENAPI["paths"].items() for method in item
    }
    assert len(operations) >= 25
    assert {("POST", "/update"), ("PUT", "/store"), ("GET", "/sparql")} <= operations


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case: schemathesis.Case, fuzz_server: Server) -> None:
    response = case.call(
        base_url=fuzz_server.base_url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert response.status_code < 500, (
        f"{response.status_code} for {case.as_curl_command()}:\n{response.text[:2000]}"
    )
    if (
        case.method == "GET"
        and case.path.startswith(MODELLED)
        and response.status_code == 200
        and response.headers.get("content-type", [""])[0].startswith("application/json")
    ):
        case.validate_response(response, checks=[response_schema_conformance])
    assert fuzz_server.alive()
