"""``/metrics``: the Prometheus text exposition, read by Prometheus's own parser. Requests are
counted by route template (never the raw path), queries by outcome, the gate's verdicts and the
commits by kind; the store's size and version are there, and the scrape needs no token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from anyio.from_thread import BlockingPortal
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import (
    TEST_STORE,
    InProcess,
    Service,
    start_in_process,
    start_server,
    stop_server,
)

TOKEN = "metrics-test-token"  # noqa: S105 - a test app's token


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def fresh(portal: BlockingPortal, tmp_path: Path) -> Iterator[InProcess]:
    """An app of its own: counters that no other test moved."""
    yield from start_in_process(portal, tmp_path / "store", write_tokens=f"curator={TOKEN}")


def test_requests_are_counted_by_route_template(fresh: InProcess) -> None:
    with fresh.client() as client:
        before = scrape(client)
        for slug in ("health", "mobility", "no-such-pillar"):
            client.get(f"/id/pillar/{slug}", headers={"Accept": "application/json"})
        client.get("/no/such/path")
        after = scrape(client)
    route = "/id/{kind}/{slug}"
    ok = value(after, "ijkg_http_requests_total", route=route, method="GET", status="200")
    assert (
        ok - value(before, "ijkg_http_requests_total", route=route, method="GET", status="200") == 2
    )
    assert value(after, "ijkg_http_requests_total", route=route, method="GET", status="404") >= 1
    assert (
        value(after, "ijkg_http_requests_total", route="unmatched", method="GET", status="404") >= 1
    )
    assert value(after, "ijkg_http_request_duration_seconds_count", route=route) >= 3
    assert not any("/id/pillar/health" in str(key) for key in after)


def test_queries_by_outcome(fresh: InProcess) -> None:
    with fresh.client() as client:
        before = scrape(client)
        client.get(
            "/sparql",
            params={"query": "ASK {}"},
            headers={"Accept": "application/sparql-results+json"},
        )
        client.get(
            "/sparql",
            params={"query": "SELECT * WHERE {"},
            headers={"Accept": "application/sparql-results+json"},
        )
        after = scrape(client)
    for outcome in ("ok", "syntax_error"):
        grew = value(after, "ijkg_sparql_queries_total", outcome=outcome) - value(
            before, "ijkg_sparql_queries_total", outcome=outcome
        )
        assert grew == 1, outcome
    assert value(after, "ijkg_sparql_queries_running") == 0
    assert value(after, "ijkg_store_quads") > 1000
    assert value(after, "ijkg_store_up", kind="memory") == 1


def test_repeated_queries_are_answered_from_the_cache(
    fresh: InProcess, portal: BlockingPortal, tmp_path: Path
) -> None:
    query = {"query": "SELECT ?p ?o WHERE { <https://w3id.org/ijkg/ontology> ?p ?o }"}
    accept = {"Accept": "application/sparql-results+json"}
    with fresh.client() as client:
        before = scrape(client)
        first = client.get("/sparql", params=query, headers=accept)
        second = client.get("/sparql", params=query, headers=accept)
        after = scrape(client)
        assert first.status_code == second.status_code == 200
        assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
        not_modified = client.get(
            "/sparql", params=query, headers={**accept, "If-None-Match": first.headers["etag"]}
        )
        assert not_modified.status_code == 304
    for result, grew in (("hit", 1), ("miss", 1), ("evicted", 0)):
        name = "ijkg_sparql_query_cache_total"
        assert value(after, name, result=result) - value(before, name, result=result) == grew
    assert value(after, "ijkg_sparql_query_cache_bytes") >= len(first.content)
    ok = "ijkg_sparql_queries_total"
    assert value(after, ok, outcome="ok") - value(before, ok, outcome="ok") == 2
    # Off: no cache series, every query runs.
    for off in start_in_process(portal, tmp_path / "off", query_cache_mb=0):
        with off.client() as client:
            for _ in range(2):
                assert client.get("/sparql", params=query, headers=accept).content == first.content
            assert not any(name.startswith("ijkg_sparql_query_cache") for name, _ in scrape(client))


def test_gate_verdicts_and_commits(fresh: InProcess) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/turtle"}
    good = b"<https://example.org/a> <https://example.org/p> 'x' ."
    bad = b"<https://w3id.org/ijkg/id/concept/x> a <http://www.w3.org/2004/02/skos/core#Concept> ."
    target = {"graph": "https://example.org/g"}
    with fresh.client() as client:
        before = scrape(client)
        refused = client.put("/store", params=target, content=bad, headers=headers)
        assert refused.status_code == 422, refused.text
        written = client.put("/store", params=target, content=good, headers=headers)
        assert written.status_code in (200, 201), written.text
        after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("ijkg_commits_total", kind="graph_store") == 1
    assert grew("ijkg_commits_total", kind="merge") == 0
    assert grew("ijkg_gate_verdicts_total", verdict="violation") == 1
    assert grew("ijkg_gate_verdicts_total", verdict="conforms") == 1
    assert grew("ijkg_graph_version") >= 1


def test_metrics_on_the_shared_service(service: Service) -> None:
    with service.client() as client:
        samples = scrape(client)
        kind = client.get("/health/ready").json()["store"]["kind"]
    assert value(samples, "ijkg_store_up", kind=kind) == 1
    assert any(name == "process_resident_memory_bytes" for name, _ in samples)
    if kind == "embedded":
        # The embedded store's query workers: their queue, kills and restarts.
        assert ("ijkg_sparql_queries_queued", ()) in samples
        assert ("ijkg_query_worker_restarts_total", ()) in samples
        assert ("ijkg_sparql_queries_killed_total", (("reason", "time_limit"),)) in samples
        # The validation workers, started by the first submission.
        with service.client() as client:
            client.post(
                "/validate",
                content=b"<https://example.org/a> <https://example.org/p> 1 .",
                headers={"Content-Type": "text/turtle"},
            )
            samples = scrape(client)
        assert value(samples, "ijkg_validation_workers", state="workers") >= 1


def test_route_templates_behind_a_public_base_url(portal: BlockingPortal, tmp_path: Path) -> None:
    """With IJKG_BASE_URL the host guard rewrites the request; the route is still known."""
    for app in start_in_process(portal, tmp_path / "store", base_url="https://kg.example.org"):
        with app.client() as client:
            client.get("/id/pillar/health", headers={"Accept": "application/json"})
            samples = scrape(client)
        route = "/id/{kind}/{slug}"
        assert value(samples, "ijkg_http_requests_total", route=route, method="GET", status="200")


@pytest.mark.slow
@pytest.mark.skipif(TEST_STORE != "embedded", reason="the embedded store's query workers")
def test_a_query_killed_at_its_time_limit_is_counted(tmp_path: Path) -> None:
    env = {"IJKG_FSYNC": "false", "IJKG_QUERY_TIMEOUT_S": "1", "IJKG_QUERY_WORKERS": "1"}
    server = start_server(tmp_path / "store", tmp_path / "server.log", env)
    cartesian = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    try:
        with server.client() as client:
            before = scrape(client)
            stopped = client.get("/sparql", params={"query": cartesian})
            assert stopped.status_code == 503, stopped.text
            after = scrape(client)
    finally:
        stop_server(server)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("ijkg_sparql_queries_total", outcome="time_limit") == 1
    assert grew("ijkg_sparql_queries_killed_total", reason="time_limit") == 1
    assert grew("ijkg_query_worker_restarts_total") == 1
