"""``GET /health``: liveness; ``GET /health/ready``: readiness, the store's state;
``GET /metrics``: the Prometheus metrics (``ijkg.service.metrics``).

``/health`` answers from what the process knows already (its id, the bundled graph's version),
with no round trip to the store: a probe that asks every few seconds, or a load balancer that asks
often, costs what a hello-world route costs. It says the process and its event loop answer, or
``unavailable`` (503) when the process knows its store cannot (the embedded store's engine
exited): a restart mends both.

``/health/ready`` asks the store and the validation workers. Three states, for people and for
whatever routes traffic to or restarts services:

- ``ok`` (200): the store answers, and its last write and snapshot went through;
- ``degraded`` (200): the store answers reads, but something needs an operator: the file system
  refused the last write (disk full, read-only) or the last snapshot, or no query worker runs;
  ``problems`` says what, in sentences;
- ``unavailable`` (503): the store does not answer (its engine stopped, the external store is
  unreachable); a restart or the external store's operator is needed.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from ijkg.graph import KnowledgeGraph, QueryError, StoreError, StoreStats
from ijkg.service.deps import GraphDep, SettingsDep
from ijkg.service.metrics import CONTENT_TYPE, Metrics
from ijkg.service.models import HealthJson, LivenessJson

router = APIRouter(tags=["service"])

_NO_STORE = {"Cache-Control": "no-store"}


def store_problems(stats: StoreStats) -> list[str]:
    """What is wrong with a store that answers, in sentences (empty: nothing)."""
    found = []
    details = stats.details
    write_error = details.get("write_error")
    if write_error:
        found.append(
            f"writes fail: the file system refused the last one ({write_error['message']}, at "
            f"{write_error['at']}); reads go on"
        )
    snapshot_error = details.get("snapshot_error")
    if snapshot_error:
        found.append(
            f"snapshots fail ({snapshot_error['message']}, at {snapshot_error['at']}): writes "
            "are safe in the change log, but it grows and start-up slows until one succeeds"
        )
    if stats.kind == "embedded" and details.get("workers") == 0:
        found.append("no query worker is running (they are being replaced)")
    return found


_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The store does not answer (status: unavailable)"}
}

# (process id, the answer's bytes): built once per process, on its first call (a worker process
# started by forking must not answer with its parent's id).
_live: tuple[int, bytes] | None = None


@router.get("/health", summary="Liveness", response_model=LivenessJson, responses=_UNAVAILABLE)
async def health(request: Request) -> Response:
    """Whether the service process answers, from what it knows, with no question to the store
    (``/health/ready`` asks it): ``unavailable`` (503) only when the process knows its store
    cannot answer (its engine stopped), which a restart mends.

    Example answer: ``{"status": "ok", "problems": [], "worker": 4242, "bundle": "3f1c..."}``
    """
    global _live
    graph: KnowledgeGraph = request.app.state.graph
    down = graph.known_down()
    pid = os.getpid()
    if down is not None:
        body = LivenessJson(
            status="unavailable", problems=[down], worker=pid, bundle=_bundle_version()
        )
        return Response(
            body.model_dump_json(),
            status_code=503,
            media_type="application/json",
            headers={**_NO_STORE, "Retry-After": "5"},
        )
    if _live is None or _live[0] != pid:
        body = LivenessJson(status="ok", problems=[], worker=pid, bundle=_bundle_version())
        _live = (pid, body.model_dump_json().encode())
    return Response(_live[1], media_type="application/json", headers=_NO_STORE)


@router.get(
    "/health/ready",
    summary="Readiness and store status",
    response_model=HealthJson,
    responses=_UNAVAILABLE,
)
async def ready(graph: GraphDep, settings: SettingsDep) -> JSONResponse:
    """Whether the service can answer, and the store's kind, version, size and state.

    Example answer: ``{"status": "ok", "problems": [], "store": {"kind": "embedded",
    "version": 3, "quads": 4210, "writable": true, ...}}``
    """
    try:
        stats = await graph.stats()
    except (StoreError, QueryError) as exc:
        body = _body("unavailable", [f"the store does not answer: {exc}"], {"kind": settings.store})
        return JSONResponse(_json(body), status_code=503, headers={**_NO_STORE, "Retry-After": "5"})
    problems = store_problems(stats)
    state = {
        "kind": stats.kind,
        "id": stats.store_id,
        "version": stats.version,
        "quads": stats.quads,
        "writable": not stats.details.get("write_error"),
        **stats.details,
    }
    body = _body("degraded" if problems else "ok", problems, state)
    validation = graph.validation_stats()
    if validation is not None:
        body.validation = validation  # the processes of POST /validate
    return JSONResponse(_json(body), headers=_NO_STORE)


def _body(status: str, problems: list[str], store: dict[str, Any]) -> HealthJson:
    return HealthJson(
        status=status,
        problems=problems,
        worker=os.getpid(),  # which service process answered (several may share a port)
        store=store,
        bundle=_bundle_version(),
    )


@functools.cache
def _bundle_version() -> str:
    # A digest of every bundled file: computed once per process, not once per call.
    return KnowledgeGraph.bundle_version()


def _json(body: HealthJson) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_unset=True)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request, graph: GraphDep) -> Response:
    """This process's metrics in the Prometheus text format: HTTP requests by route template
    and status, latency histograms by route, SPARQL queries running, queued, killed and their
    outcomes, query-worker restarts, the gate's verdicts, commits by kind, the validation
    workers, the store's size and version, and the process's CPU and memory. One question to
    the store per scrape. Example: `curl http://127.0.0.1:8000/metrics`"""
    counted: Metrics = request.app.state.metrics
    body = await counted.exposition(graph)
    return Response(body, media_type=CONTENT_TYPE, headers=_NO_STORE)
