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

from tests.conftest import InProcess, Service, start_in_process

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
        assert value(samples, "ijkg_validation_workers", state="workers") >= 1
