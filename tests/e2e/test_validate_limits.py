"""POST /validate under limits, on a real server: submitted RDF is validated in killable processes
of their own, with a quad cap, a time limit, a memory cap and a bounded number at once, so big
anonymous submissions never hold up SPARQL (and the pool recovers from every kill)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, start_server, stop_server
from tests.hostile.procs import children, is_validator

pytestmark = pytest.mark.slow  # starts real servers of its own

QUAD_CAP = 40_000
TIMEOUT_S = 10.0
PROBLEM = "application/problem+json"
ONTOLOGY = "https://w3id.org/ijkg/ontology#"
SMALL = f"<https://example.org/lonely> a <{ONTOLOGY}BilateralAgreement> .".encode()


def agreements(n: int) -> bytes:
    """``n`` agreements (three quads each) whose parties are nowhere: slow to validate (each is a
    focus node with violations to explain), well under the quad cap for n = 12,000."""
    lines = [f"@prefix ijkg: <{ONTOLOGY}> ."]
    lines += [
        f"<https://example.org/a{i}> a ijkg:BilateralAgreement ; "
        f'ijkg:party <https://example.org/p{i}> ; <http://www.w3.org/2000/01/rdf-schema#label> "a{i}"@en .'
        for i in range(n)
    ]
    return "\n".join(lines).encode()


BIG = agreements(12_000)


@pytest.fixture(scope="module")
def validating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("validating")
    env = {
        "IJKG_FSYNC": "false",
        "IJKG_MAX_VALIDATE_QUADS": str(QUAD_CAP),
        "IJKG_VALIDATE_TIMEOUT_S": str(TIMEOUT_S),
        "IJKG_VALIDATE_WORKERS": "1",
        "IJKG_QUERY_WORKERS": "2",
    }
    server = start_server(root / "store", root / "server.log", env)
    yield server
    stop_server(server)


def validate(server: Server, body: bytes, content_type: str = "text/turtle") -> httpx.Response:
    with server.client() as client:
        return client.post("/validate", content=body, headers={"Content-Type": content_type})


def problem(response: httpx.Response, status: int, *slugs: str) -> dict[str, object]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert str(body["type"]).rsplit("/", 1)[-1] in slugs, body
    return body


def small_validation_works(server: Server) -> None:
    answer = validate(server, SMALL)
    assert answer.status_code == 200, answer.text[:500]
    report = answer.json()
    assert report["conforms"] is False
    assert any(r["shape"] == "S07-Agreement-party" for r in report["results"])


def test_validation_workers_start_with_the_first_submission(validating: Server) -> None:
    """A service that is never asked to validate holds no validation process (each costs tens of
    MB); the first submission starts them, and is answered."""
    assert not [p for p in children(validating.process.pid) if is_validator(p)]
    small_validation_works(validating)
    assert len([p for p in children(validating.process.pid) if is_validator(p)]) == 1


def test_a_submission_over_the_quad_cap_is_refused(validating: Server) -> None:
    over = b"".join(
        f"<https://example.org/s{i}> <https://example.org/p> <https://example.org/o> .\n".encode()
        for i in range(QUAD_CAP + 1)
    )
    body = problem(validate(validating, over, "application/n-triples"), 413, "too-large")
    assert f"{QUAD_CAP:,} quads" in str(body["detail"])
    assert "IJKG_MAX_VALIDATE_QUADS" in str(body["detail"])
    # The same cap holds for a JSON change document's texts taken together.
    half = over.decode().splitlines(keepends=True)
    document = httpx.Request(
        "POST",
        "/",
        json={
            "title": "t",
            "add": {"format": "application/n-triples", "data": "".join(half[: QUAD_CAP // 2 + 1])},
            "remove": {"format": "application/n-triples", "data": "".join(half[QUAD_CAP // 2 :])},
        },
    ).content
    problem(validate(validating, document, "application/json"), 413, "too-large")
    small_validation_works(validating)


def replaced(server: Server) -> int:
    with server.client() as client:
        return int(client.get("/health/ready").json()["validation"]["replaced"])


def test_a_refused_submission_does_not_cost_a_worker(validating: Server) -> None:
    before = replaced(validating)
    for body, content_type in [
        (b"<https://example.org/a> <https://example.org/p> .", "text/turtle"),
        (
            b'{"title": "t", "add": {"format": "text/turtle", "data": "@prefix"}}',
            "application/json",
        ),
        (b'<javascript:alert(1)> <https://example.org/p> "x" .', "application/n-triples"),
    ]:
        assert validate(validating, body, content_type).status_code in (400, 415, 422)
    small_validation_works(validating)
    assert replaced(validating) == before


def test_a_validation_past_its_time_limit_is_stopped_and_the_pool_recovers(
    validating: Server,
) -> None:
    body = problem(validate(validating, BIG), 503, "validation-timeout")
    assert f"{TIMEOUT_S:g} s" in str(body["detail"])
    assert validating.alive()
    # Its process was killed and replaced: the next submission is validated.
    small_validation_works(validating)
    assert replaced(validating) >= 1


def test_sparql_is_answered_while_big_validations_run(validating: Server) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        running = [pool.submit(validate, validating, BIG) for _ in range(3)]
        answers = []
        with validating.client() as client:
            while not all(f.done() for f in running):
                answer = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
                answers.append((answer.status_code, answer.json().get("boolean")))
        validations = [f.result() for f in running]
    assert answers and all(answer == (200, True) for answer in answers)
    kinds = {
        problem(response, 503, "validation-timeout", "overloaded")["type"]
        for response in validations
    }
    # One ran into its time limit; the others found the one validator busy.
    assert {str(k).rsplit("/", 1)[-1] for k in kinds} == {"validation-timeout", "overloaded"}
    for response in validations:
        assert int(response.headers["retry-after"]) > 0
    small_validation_works(validating)


def test_validators_run_below_queries_with_a_memory_cap(validating: Server) -> None:
    """The validation processes run at a lower CPU priority than the service (queries first),
    with an address-space limit, and off the network where the system allows it (as the query
    workers are)."""
    small_validation_works(validating)  # the first submission starts them
    validators = [p for p in children(validating.process.pid) if is_validator(p)]
    assert len(validators) == 1  # IJKG_VALIDATE_WORKERS
    (pid,) = validators
    service_nice = int(Path(f"/proc/{validating.process.pid}/stat").read_text().split()[18])
    assert int(Path(f"/proc/{pid}/stat").read_text().split()[18]) == service_nice + 10
    limits = Path(f"/proc/{pid}/limits").read_text()
    address_space = next(line for line in limits.splitlines() if "address space" in line)
    assert address_space.split()[3] != "unlimited", address_space
    net = os.readlink(f"/proc/{pid}/ns/net")
    engine_isolated = [
        w for e in children(validating.process.pid) if not is_validator(e) for w in children(e)
    ]
    if any(
        os.readlink(f"/proc/{w}/ns/net") != os.readlink("/proc/self/ns/net")
        for w in engine_isolated
    ):
        assert net != os.readlink("/proc/self/ns/net")


def test_a_validation_past_its_memory_cap_is_stopped_alone(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("validating-memory")
    env = {"IJKG_FSYNC": "false", "IJKG_VALIDATE_MEMORY_MB": "64", "IJKG_VALIDATE_TIMEOUT_S": "300"}
    server = start_server(root / "store", root / "server.log", env)
    try:
        body = problem(validate(server, BIG), 503, "validation-aborted")
        assert "memory" in str(body["detail"])
        assert server.alive()
        small_validation_works(server)
    finally:
        stop_server(server)
