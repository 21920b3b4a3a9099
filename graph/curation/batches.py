"""Validating a bulk change's batches of focus nodes on every core.

pyshacl is pure Python: one process validates on one core, and a bulk load is mostly validation.
A change whose focus nodes fill more than one batch has its batches validated by a pool of
processes while this one fetches the next batches' neighbourhoods. Each batch is validated by the
same function on the same inputs as in-process (``TargetedShapes.validate``), so the verdict is the
same; the pool only exists for the length of one check.

Terms cross to the pool as rdflib terms (pickled with their blank-node labels, so a shape that is
a blank node is the same shape on both sides); the shapes go once per process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rdflib import Graph

from ijkg.graph.core.reports import ValidationReport
from ijkg.graph.curation.validation import TargetedShapes
from ijkg.graph.store.sandbox import die_with_parent

Triples = list[tuple[Any, Any, Any]]

#: The untargeted shapes of this pool process (set once, by ``_start``).
_SHAPES: TargetedShapes | None = None


def processes() -> int:
    """How many processes validate batches: the cores this process may run on."""
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True)
class Batch:
    """One batch: the neighbourhood of its focus nodes, the (shape, node) pairs to validate, the
    class hierarchy mixed in, and the focus nodes whose results count (as N3)."""

    triples: Triples
    pairs: list[tuple[Any, Any]]
    hierarchy: Triples
    keep: frozenset[str]
    done: int  # focus nodes validated once this batch is, for progress


def _graph(triples: Triples, namespaces: Sequence[tuple[str, Any]] = ()) -> Graph:
    graph = Graph()
    for prefix, namespace in namespaces:
        graph.bind(prefix, namespace, override=True)
    for triple in triples:
        graph.add(triple)
    return graph


def _start(shapes: Triples, namespaces: list[tuple[str, Any]]) -> None:
    global _SHAPES
    die_with_parent()  # a killed command or service takes its pool with it
    _SHAPES = TargetedShapes(_graph(shapes, namespaces))


def _validate(batch: Batch) -> ValidationReport:
    if _SHAPES is None:
        raise RuntimeError("the pool process was not started with the shapes")
    return _SHAPES.validate(_graph(batch.triples), batch.pairs, _graph(batch.hierarchy))


@contextmanager
def _pool(shapes: Graph, workers: int) -> Iterator[ProcessPoolExecutor]:
    # Spawned, not forked: the service process runs threads (the event loop's executor, pyshacl's
    # own thread), and forking a process with threads can copy a lock in its held state.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start,
        initargs=(list(shapes), list(shapes.namespaces())),
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def validate_batches(
    batches: AsyncIterator[Batch],
    shapes: Graph,
    *,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> list[Any]:
    """Validate every batch ``batches`` yields in a pool of ``workers`` processes, at most
    ``workers`` batches in flight beyond the one being fetched (so memory stays bounded), and
    return the results about each batch's own focus nodes, in batch order."""
    results: list[Any] = []
    loop = asyncio.get_running_loop()
    in_flight: deque[tuple[asyncio.Future[ValidationReport], Batch]] = deque()

    async def collect() -> None:
        future, batch = in_flight.popleft()
        report = await future
        results.extend(r for r in report.results if r.focus_node in batch.keep)
        if progress is not None:
            progress(batch.done)

    with _pool(shapes, workers) as pool:
        try:
            async for batch in batches:
                submitted: Future[ValidationReport] = pool.submit(_validate, batch)
                in_flight.append((asyncio.wrap_future(submitted, loop=loop), batch))
                while len(in_flight) > workers:
                    await collect()
            while in_flight:
                await collect()
        finally:
            for future, _batch in in_flight:
                future.cancel()
    return results
