"""``/metrics``: the Prometheus text exposition of what this process has counted.

Two sources, one registry per app (so two apps in one process, as in the tests, keep apart):

- HTTP, observed here: requests by route template (``/id/{kind}/{slug}``, never the raw path, so
  the number of series stays bounded), method and status, and a latency histogram by route. The
  request log (``ijkg.service.request_log``) reports each request once it is answered.
- The graph layer's own counters (``KnowledgeGraph.metrics``): SPARQL queries running, queued,
  killed and how they ended, query-worker restarts, the gate's verdicts, commits by kind, the
  validation workers, the store's size and version. They are plain numbers kept where they
  happen; a scrape reads them once (one question to the store) and writes them out here.

Each process counts its own: with ``ijkg serve --workers N`` every worker answers ``/metrics``
with its numbers (docs/deployment.md says how to scrape them).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from ijkg.graph import GraphMetrics, KnowledgeGraph

#: The exposition format's media type (Prometheus text format 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds: from a cached entity page to a query at its time limit.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
#: The route of a request no route matched (404s, refused hosts): one series, whatever the path.
UNMATCHED = "unmatched"


class _GraphCollector(Collector):
    """The graph layer's numbers as metric families, from the snapshot taken for this scrape."""

    def __init__(self) -> None:
        self.snapshot: GraphMetrics | None = None

    def collect(self) -> Iterator[Metric]:
        m = self.snapshot
        if m is None:
            return
        up = GaugeMetricFamily(
            "ijkg_store_up", "1 when the store answered this scrape", labels=["kind"]
        )
        up.add_metric([m.store_kind], 1 if m.store_up else 0)
        yield up
        if m.quads is not None:
            yield GaugeMetricFamily("ijkg_store_quads", "Quads in the store", value=m.quads)
        if m.version is not None:
            yield GaugeMetricFamily(
                "ijkg_graph_version", "The graph's version (one more per commit)", value=m.version
            )
        yield GaugeMetricFamily(
            "ijkg_sparql_queries_running",
            "SPARQL queries at /sparql running now in this process",
            value=m.queries_running,
        )
        outcomes = CounterMetricFamily(
            "ijkg_sparql_queries",
            "SPARQL queries at /sparql by how they ended (ok, time_limit, client_gone, "
            "too_large, syntax_error ...)",
            labels=["outcome"],
        )
        for outcome, count in m.query_outcomes.items():
            outcomes.add_metric([outcome], count)
        yield outcomes
        if m.query_cache is not None:
            cache = CounterMetricFamily(
                "ijkg_sparql_query_cache",
                "Answer cache lookups of repeated SPARQL queries (hit: served with no query run; "
                "miss: run on the store) and answers evicted to stay in IJKG_QUERY_CACHE_MB",
                labels=["result"],
            )
            for result in ("hit", "miss", "evicted"):
                cache.add_metric([result], m.query_cache[result])
            yield cache
            yield GaugeMetricFamily(
                "ijkg_sparql_query_cache_bytes",
                "Bytes of answers (and their keys) the answer cache holds now",
                value=m.query_cache["bytes"],
            )
        if m.queries_queued is not None:
            yield GaugeMetricFamily(
                "ijkg_sparql_queries_queued",
                "Queries waiting for a free query worker (embedded store)",
                value=m.queries_queued,
            )
        if m.queries_killed is not None:
            killed = CounterMetricFamily(
                "ijkg_sparql_queries_killed",
                "Queries whose worker was killed: at the time limit, when the client went away, "
                "or when the worker died (memory limit, crash)",
                labels=["reason"],
            )
            for reason, count in m.queries_killed.items():
                killed.add_metric([reason], count)
            yield killed
        if m.worker_restarts is not None:
            yield CounterMetricFamily(
                "ijkg_query_worker_restarts",
                "Query workers replaced (embedded store)",
                value=m.worker_restarts,
            )
        verdicts = CounterMetricFamily(
            "ijkg_gate_verdicts", "The write gate's SHACL verdicts", labels=["verdict"]
        )
        for verdict, count in m.gate_verdicts.items():
            verdicts.add_metric([verdict], count)
        yield verdicts
        commits = CounterMetricFamily(
            "ijkg_commits",
            "Writes committed (merge, revert, update, graph_store)",
            labels=["kind"],
        )
        for kind, count in m.commits.items():
            commits.add_metric([kind], count)
        yield commits
        if m.validation is not None:
            workers = GaugeMetricFamily(
                "ijkg_validation_workers",
                "Validation worker processes by state (workers: all running, idle, starting)",
                labels=["state"],
            )
            for state in ("workers", "idle", "starting"):
                workers.add_metric([state], m.validation.get(state, 0))
            yield workers
            yield CounterMetricFamily(
                "ijkg_validation_worker_restarts",
                "Validation workers replaced",
                value=m.validation.get("replaced", 0),
            )


class Metrics:
    """The registry of one app: HTTP observations, the graph layer's numbers, the process's."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "ijkg_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ijkg_http_request_duration_seconds",
            "Time to answer a request (to its last byte), by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._graph = _GraphCollector()
        self.registry.register(self._graph)
        ProcessCollector(registry=self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    async def exposition(self, graph: KnowledgeGraph) -> bytes:
        """Every metric in the text format, the graph's read for this scrape."""
        snapshot = await graph.metrics()
        # No await between taking the snapshot and writing it: no other scrape interleaves.
        self._graph.snapshot = snapshot
        return generate_latest(self.registry)
