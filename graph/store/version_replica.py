"""Older versions of an external store's graph, answered from a local replica.

An external store holds only its current graph, and the patch of every version (``remote_history``).
To answer a query as the graph was at an older version, a service process rebuilds the store
locally, once, on its first such query: it reads the head (every named graph's quads, bookkeeping
left out, in one query so that they and the version agree), undoes the recorded patches down to
the oldest recorded version ``first``, and writes what the embedded store keeps on disk — a sealed
snapshot at ``first`` and a change log of the versions after it — into a directory of its own
under ``IJKG_DATA_DIR/version-replicas`` (removed when the store closes, or by the next build on
the host if the process died). An ``EmbeddedStore`` opened on it recovers to the head with the
whole history on disk, and answers queries at any version in it, in killable workers and with
the same limits as any query.
Later versions are applied to it as they are asked for, each as one commit checked against the
version before, so its version numbers stay those of the external store.

The cost is one more copy of the graph (in the replica's engine and workers) in each service
process that answers an old version, and the time to read the graph and its history once.
Blank nodes are skolem IRIs in the replica, as they are in the external store.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ijkg.graph.core.rdfio import write_nquads
from ijkg.graph.core.settings import Settings
from ijkg.graph.store import remote_history as records
from ijkg.graph.store import union
from ijkg.graph.store.base import Answer, Delta, Patch
from ijkg.graph.store.changelog import encode_record, log_path, seal_snapshot, snapshot_path
from ijkg.graph.store.embedded import EmbeddedStore
from ijkg.graph.store.history import not_in_history
from ijkg.graph.store.lexical import canonical

#: The external store's head: its version and every quad of its named graphs, read together.
Head = Callable[[], Awaitable[tuple[int, list[ox.Quad]]]]
Version = Callable[[], Awaitable[int]]
Slot = Callable[[], AbstractAsyncContextManager[None]]


def _meta(patch: Patch) -> dict[str, Any]:
    """A record's metadata as the embedded engine stamps it (``history.stamped``)."""
    info = patch.info
    meta = {
        "who": info.who,
        "why": info.why,
        "change": info.change,
        "at": info.time,
        "removed": info.removed,
        "added": info.added,
        "quads": info.quads,
    }
    return {key: value for key, value in meta.items() if value is not None}


def write_history(directory: Path, head: list[ox.Quad], first: int, patches: list[Patch]) -> None:
    """The embedded store's files for a graph whose head is ``head`` and whose versions after
    ``first`` are ``patches`` (oldest first): the snapshot at ``first`` (the head with every
    patch undone, newest first; with the union in the default graph, as the engine keeps it) and
    the log of the patches."""
    # Compared as Oxigraph keeps them (``lexical``): a store of another make may give literals
    # back in forms of its own.
    graph = set(canonical(head))
    for patch in reversed(patches):
        graph.difference_update(canonical(patch.adds))
        graph.update(canonical(patch.removes))
    target = snapshot_path(directory, first)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as snapshot:
        for part in _chunks(list(graph)):
            snapshot.write(write_nquads(part))
        for part in _chunks(list(dict.fromkeys(union.in_default(q) for q in graph))):
            snapshot.write(write_nquads(part))
    del graph
    seal_snapshot(partial)
    partial.replace(target)
    with log_path(directory, first).open("wb") as log:
        for patch in patches:
            log.write(
                encode_record(
                    patch.info.version,
                    write_nquads(patch.removes),
                    write_nquads(patch.adds),
                    _meta(patch),
                )
            )


def _chunks(quads: list[ox.Quad], size: int = 50_000) -> list[list[ox.Quad]]:
    return [quads[start : start + size] for start in range(0, len(quads), size)]


#: Under the data directory (on disk, beside the host's shared state): the replicas' files.
REPLICAS = "version-replicas"


def _new_directory(parent: Path) -> Path:
    """A private directory for this process's replica under ``parent``, named for the process;
    those of processes that are gone (a crash leaves its replica behind) are removed first."""
    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.iterdir():
        pid = old.name.split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=parent))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class VersionReplica:
    """A local, versioned copy of an external store, built on first use (see the module)."""

    def __init__(
        self,
        settings: Settings,
        *,
        head: Head,
        version: Version,
        solutions: records.Solutions,
        slot: Slot,
    ) -> None:
        self.settings = settings
        self._slot = slot
        self._head = head
        self._remote_version = version
        self._solutions = solutions
        self._lock = asyncio.Lock()
        self._store: EmbeddedStore | None = None
        self._directory: Path | None = None
        self._first = 0
        self._version = 0

    async def query(self, sparql: str, *, at_version: int, **kwargs: Any) -> Answer:
        """``sparql`` on the graph as it was at ``at_version`` (``Store.query``'s arguments)."""
        store = await self._ready(at_version)
        # A query slot of the external store's host, as any query there takes: older versions
        # are no way around the limit of concurrent queries.
        async with self._slot():
            return await store.query(sparql, at_version=at_version, **kwargs)

    async def _ready(self, version: int) -> EmbeddedStore:
        async with self._lock:
            store = self._store
            if store is not None and store.known_down() is not None:
                # Its engine died (killed, out of memory): a copy, so build it again.
                await self.close()
                store = None
            if store is None:
                store = self._store = await self._build()
            elif version > self._version:
                await self._catch_up(store)
            if version < self._first or version > self._version:
                raise not_in_history(version, self._first, await self._remote_version())
            return store

    async def _build(self) -> EmbeddedStore:
        version, head = await self._head()
        first = await records.first_version(self._solutions, version)
        patches = await records.patches(self._solutions, first, version)
        directory = _new_directory(self.settings.data_dir / REPLICAS)
        try:
            # Writing the files is CPU and disk work on the whole graph: off the event loop.
            await asyncio.to_thread(write_history, directory, head, first, patches)
            del head, patches
            store = await EmbeddedStore.open(self._replica_settings(directory))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        self._directory = directory
        self._first, self._version = first, version
        return store

    def _replica_settings(self, directory: Path) -> Settings:
        return self.settings.model_copy(
            update={
                "store": "embedded",
                "data_dir": directory,
                "engine_socket": None,
                # A copy rebuilt from the external store whenever it is lost: nothing to sync.
                "fsync": False,
            }
        )

    async def _catch_up(self, store: EmbeddedStore) -> None:
        """Apply the versions committed to the external store since the replica's."""
        head = await self._remote_version()
        for patch in await records.patches(self._solutions, self._version, head):
            await store.commit(
                Delta(removes=patch.removes, adds=patch.adds),
                expected_version=patch.info.version - 1,
                meta=_meta(patch),
            )
            self._version = patch.info.version

    async def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            await store.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
