"""``GET /health``: liveness and the store's state."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter

from ijkg.graph.bundle import bundle_version
from ijkg.service.deps import StoreDep

router = APIRouter(tags=["service"])


@router.get("/health", summary="Liveness and store status")
async def health(store: StoreDep) -> dict[str, Any]:
    """Whether the service is up, and the store's kind, version and size.

    Example answer: ``{"status": "ok", "store": {"kind": "embedded", "version": 3, "quads": 4210}}``
    """
    stats = await store.stats()
    return {
        "status": "ok",
        "worker": os.getpid(),  # which service process answered (several may share a port)
        "store": {
            "kind": stats.kind,
            "id": stats.store_id,
            "version": stats.version,
            "quads": stats.quads,
            **stats.details,
        },
        "bundle": bundle_version(),
    }
