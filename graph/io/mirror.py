"""A mirror: a local embedded store kept in step with a running service, from its feed.

The mirror holds the source's versions under the source's numbers. A new mirror starts at the
oldest version the source can rebuild: at version 0 (the empty store) when the source keeps its
whole history, else from the source's dump of that version, written as the local store's
snapshot at that version. It then applies each patch ``N`` as one commit conditional on being at
``N - 1`` — a local store that moved (someone wrote to it) stops the mirror, it never guesses —
and checks the commit did exactly what the patch says (each removed quad was there, each added one
was not): a mirror that differs from its source is said so, not carried on.

Patches carry blank nodes as the source's store knows them, so a mirror replayed from version 0
holds the very same quads. A dump gives blank nodes canonical labels instead: a mirror started
from one can follow every patch that does not remove a blank node of the dump, and stops with
``MirrorFailed`` at the first that does.

Following: the source's live stream (``/changes/feed/stream``) names each new version; the mirror
reconnects with ``Last-Event-ID`` set to its own version whenever the connection drops (the source
restarted, the network failed), so nothing is lost or applied twice, whichever side restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox

from ijkg.graph.core.errors import IjkgError, VersionConflict
from ijkg.graph.core.rdfio import read_nquads
from ijkg.graph.core.settings import Settings
from ijkg.graph.io import dump as dumping
from ijkg.graph.io.patches import read_patch_json
from ijkg.graph.store import changelog, open_store, union
from ijkg.graph.store.base import Delta, Store
from ijkg.graph.store.storage import holds_store

log = logging.getLogger("ijkg")

#: Beside the store: the source and the version the mirror last applied. A store whose version
#: is another was written to by something else (or the mirror stopped between a commit and this
#: file): it is compared with the source by the dumps' digests before anything is applied.
STATE_FILE = "mirror.json"
_TIMEOUT_S = 120.0
_RETRY_FIRST_S = 0.5
_RETRY_MOST_S = 10.0


class MirrorFailed(IjkgError):
    """The mirror cannot go on: the source refused or answered what is not its feed, the local
    store moved, or a patch did not apply exactly."""


class SourceUnreachable(MirrorFailed):
    """The source does not answer, or answers that it cannot now (5xx): a restart, a network
    failure. A mirror that follows waits and tries again."""


@dataclass(frozen=True)
class MirrorStep:
    """A version applied: the mirror's version now, the source's newest known one, and whether
    it came from following the live stream (rather than catching up)."""

    version: int
    head: int
    live: bool = False


class Mirror:
    """Keeps the embedded store in ``settings.data_dir`` in step with the service at ``source``.
    ``progress`` is told each version applied, ``following`` the version it starts following
    the live stream at, and ``notice`` what a person watching should know (a lost connection)."""

    def __init__(
        self,
        source: str,
        settings: Settings,
        *,
        progress: Callable[[MirrorStep], None] | None = None,
        following: Callable[[int], None] | None = None,
        notice: Callable[[str], None] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.source = source.rstrip("/")
        self.settings = settings.model_copy(update={"store": "embedded", "engine_socket": None})
        self.progress = progress or (lambda step: None)
        self.following = following or (lambda version: None)
        self.notice = notice or log.info
        self._client = client or httpx.AsyncClient(base_url=self.source, timeout=_TIMEOUT_S)
        self._store: Store | None = None

    async def run(self, *, once: bool = False) -> int:
        """Catch up with the source; then, unless ``once``, follow it until cancelled. Returns
        the mirror's version."""
        try:
            store = await self._open()
            version = await self.catch_up(store)
            if not once:
                self.following(version)
                await self.follow(store)
                version = await store.version()
            return version
        finally:
            await self.close()

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None
        await self._client.aclose()

    # --- the source ----------------------------------------------------------------------------

    async def _get(self, path: str, **params: Any) -> httpx.Response:
        try:
            answer = await self._client.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise SourceUnreachable(f"cannot reach {self.source}{path} ({exc})") from None
        if answer.status_code >= 500:
            raise SourceUnreachable(f"{self.source}{path} answered {answer.status_code}")
        if answer.status_code != 200:
            detail = answer.text[:300]
            with contextlib.suppress(ValueError):
                detail = str(answer.json().get("detail", detail))
            raise MirrorFailed(f"{self.source}{path} answered {answer.status_code}: {detail}")
        return answer

    async def source_range(self) -> tuple[int, int]:
        """``(first, head)`` of the source, from its feed."""
        feed = (await self._get("/changes/feed")).json()
        try:
            return int(feed["oldestVersion"]), int(feed["version"])
        except (KeyError, TypeError, ValueError):
            raise MirrorFailed(f"{self.source}/changes/feed is not an ijkg feed") from None

    async def _patch(self, version: int) -> tuple[list[ox.Quad], list[ox.Quad], dict[str, Any]]:
        data = (await self._get(f"/version/{version}/patch", format="json")).json()
        try:
            number, removes, adds = read_patch_json(data)
        except (ValueError, SyntaxError) as exc:
            raise MirrorFailed(f"the patch of version {version} is not readable: {exc}") from None
        if number != version:
            raise MirrorFailed(f"asked for the patch of version {version}, got {number}'s")
        meta = {k: data[k] for k in ("who", "why", "change") if isinstance(data.get(k), str)}
        return removes, adds, meta

    # --- the local store -----------------------------------------------------------------------

    async def _open(self) -> Store:
        data_dir = self.settings.data_dir
        if not holds_store(data_dir):
            first, _ = await self.source_range()
            if first > 0:
                await self._seed(data_dir, first)
        self._store = await open_store(self.settings)
        return self._store

    async def _seed(self, data_dir: Path, version: int) -> None:
        """Write the source's dump of ``version`` as the new store's snapshot at that version
        (and the empty log that follows it), so that the store opens at the source's number."""
        answer = await self._get(f"/version/{version}/dump")
        digest = hashlib.sha256(answer.content).hexdigest()
        published = (await self._get(f"/version/{version}/dump.sha256")).text.split()
        if not published or published[0] != digest:
            raise MirrorFailed(f"the dump of version {version} does not match its SHA-256")
        quads = await asyncio.to_thread(_unzip_quads, answer.content)
        await asyncio.to_thread(write_seed, data_dir, version, quads)
        self._record(version)

    async def apply(self, store: Store, version: int) -> None:
        """Apply the source's patch ``version`` to a store at ``version - 1``."""
        removes, adds, meta = await self._patch(version)
        try:
            commit = await store.commit(
                Delta(removes=tuple(removes), adds=tuple(adds)),
                expected_version=version - 1,
                meta={**meta, "mirrored": self.source},
            )
        except VersionConflict:
            local = await store.version()
            raise MirrorFailed(
                f"the mirror's store is at version {local}, not {version - 1}: something else "
                "wrote to it; a mirror is written by the mirror alone"
            ) from None
        if (commit.version_after, commit.removed, commit.added) != (
            version,
            len(set(removes)),
            len(set(adds)),
        ):
            raise MirrorFailed(
                f"the patch of version {version} did not apply exactly (it removes "
                f"{len(removes)} and adds {len(adds)} quads; the mirror removed {commit.removed} "
                f"and added {commit.added}): the mirror no longer holds what its source held"
            )
        self._record(version)

    def _record(self, version: int) -> None:
        path = self.settings.data_dir / STATE_FILE
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps({"source": self.source, "version": version}))
        os.replace(partial, path)

    def _recorded(self) -> int | None:
        try:
            state = json.loads((self.settings.data_dir / STATE_FILE).read_text())
            return int(state["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    async def _check_same(self, store: Store, version: int) -> None:
        """Compare the store at ``version`` with the source's, by their dumps' digests."""
        published = (await self._get(f"/version/{version}/dump.sha256")).text.splitlines()
        theirs = published[1].split()[0] if len(published) > 1 else None
        ours = (await dumping.dump(store, version, store.internal_limits())).nquads_sha256
        if theirs != ours:
            raise MirrorFailed(
                f"the mirror's store holds other data than the source at version {version}: it "
                "is not a mirror of this source (something else wrote to it)"
            )
        self._record(version)

    async def catch_up(self, store: Store) -> int:
        """Apply every patch from the store's version to the source's head; return the version."""
        version = await store.version()
        first, head = await self.source_range()
        if version > head:
            raise MirrorFailed(
                f"the mirror is at version {version}, ahead of its source ({head}): it is not a "
                "mirror of this source"
            )
        if version < first:
            raise MirrorFailed(
                f"the mirror is at version {version}, but the source keeps versions {first} to "
                f"{head} only: start a new mirror"
            )
        if version > 0 and self._recorded() != version:
            await self._check_same(store, version)
        while version < head:
            await self.apply(store, version + 1)
            version += 1
            self.progress(MirrorStep(version, head))
        return version

    # --- following the live stream -------------------------------------------------------------

    async def follow(self, store: Store) -> None:
        """Apply each version the source's stream announces, reconnecting (with the mirror's
        version as ``Last-Event-ID``) whenever the stream ends; returns only when cancelled."""
        wait = _RETRY_FIRST_S
        while True:
            version = await store.version()
            try:
                async for announced in self._events(version):
                    wait = _RETRY_FIRST_S
                    while version < announced:
                        await self.apply(store, version + 1)
                        version += 1
                        self.progress(MirrorStep(version, announced, live=True))
            except (httpx.HTTPError, SourceUnreachable) as exc:
                self.notice(f"the source's stream stopped ({exc}); trying again in {wait:.1f} s")
            await asyncio.sleep(wait)
            wait = min(wait * 2, _RETRY_MOST_S)

    async def _events(self, after: int) -> AsyncIterator[int]:
        """The versions the source's stream announces after ``after``."""
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(after)}
        timeout = httpx.Timeout(_TIMEOUT_S, read=60.0)  # heartbeats come every ~15 s
        async with self._client.stream(
            "GET", "/changes/feed/stream", headers=headers, timeout=timeout
        ) as answer:
            if answer.status_code != 200:
                await answer.aread()
                failed = SourceUnreachable if answer.status_code >= 500 else MirrorFailed
                raise failed(f"{self.source}/changes/feed/stream answered {answer.status_code}")
            event_id: str | None = None
            async for line in answer.aiter_lines():
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line == "" and event_id is not None:
                    if event_id.isdigit():
                        yield int(event_id)
                    event_id = None


def _unzip_quads(gzipped: bytes) -> list[ox.Quad]:
    return read_nquads(gzip.decompress(gzipped))


def write_seed(data_dir: Path, version: int, quads: list[ox.Quad]) -> None:
    """Make ``data_dir`` an embedded store that starts at ``version`` holding ``quads`` (named
    graphs): its snapshot at that version, and the empty log that follows it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    seed = ox.Store()
    union.add(seed, quads)
    # The log first: a snapshot without the log that follows it is damage to recovery.
    changelog.log_path(data_dir, version).touch()
    changelog.write_snapshot(seed, changelog.snapshot_path(data_dir, version))
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["Mirror", "MirrorFailed", "MirrorStep", "write_seed"]
