"""``ChangeFeed``: the graph's versions as a feed, each version's patch, and dumps.

The facade's part for everything that follows the graph as it changes: the service's
``/changes/feed``, its live stream, ``/version/N/patch`` and ``/version/N/dump``, ``ijkg export
--version`` and a mirror's source all read through it. It checks a version against the range the
store can rebuild before asking for it (a 404 that names the range, and no query slot spent on a
version there is not).
"""

from __future__ import annotations

from collections import OrderedDict

from ijkg.graph.core.errors import ResultTooLarge, VersionNotFound
from ijkg.graph.io import dump as dumping
from ijkg.graph.store.base import Patch, Store, VersionInfo

#: Dumps kept per process, newest use last: a version's dump never changes, and a mirror or a
#: second person checking the digest asks for the same one again.
_KEPT_DUMPS = 2
#: Dumps over this size are not kept (one copy each in every service process).
_KEPT_DUMP_BYTES = 64 * 1024 * 1024


def not_found(version: int, first: int, head: int) -> VersionNotFound:
    return VersionNotFound(
        f"version {version} is not in this graph's history: versions {first} to {head} can be read",
        first=first,
        head=head,
    )


class ChangeFeed:
    """Versions, patches and dumps of the graph in ``store``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._dumps: OrderedDict[int, dumping.Dump] = OrderedDict()

    async def version(self) -> int:
        """The current version (no query: the engine's published number on the embedded
        store)."""
        return await self._store.version()

    async def range(self) -> tuple[int, int]:
        """``(first, head)``: the oldest version the store can rebuild, and the current one."""
        return await self._store.version_range()

    async def history(self, *, after: int = 0, limit: int = 100) -> list[VersionInfo]:
        """The versions after ``after``, oldest first, at most ``limit``."""
        return await self._store.history(after=after, limit=limit)

    async def patch(self, version: int) -> Patch:
        """What the commit that made ``version`` did. ``VersionNotFound`` outside
        ``first + 1 .. head`` (version ``first`` has no patch this store can give)."""
        first, head = await self.range()
        if not first < version <= head:
            raise VersionNotFound(
                f"version {version} has no patch in this graph's history: versions {first + 1} "
                f"to {head} have one (versions {first} to {head} can be read)",
                first=first,
                head=head,
            )
        return await self._store.patch(version)

    async def dump(self, version: int, *, operator: bool = False) -> dumping.Dump:
        """The dump of the graph at ``version``. A client's dump is one query with the limits of
        any query; the operator's (``ijkg export``) has the store's generous internal ones."""
        first, head = await self.range()
        if not first <= version <= head:
            raise not_found(version, first, head)
        kept = self._dumps.get(version)
        if kept is not None:
            self._dumps.move_to_end(version)
            return kept
        limits = self._store.internal_limits() if operator else None
        try:
            made = await dumping.dump(self._store, version, limits)
        except ResultTooLarge as exc:
            raise ResultTooLarge(
                f"the graph at version {version} is larger than one answer may be ({exc}); the "
                f"store's operator can write it with `ijkg export --version {version}`"
            ) from None
        if len(made.gzipped) <= _KEPT_DUMP_BYTES:
            self._dumps[version] = made
            while len(self._dumps) > _KEPT_DUMPS:
                self._dumps.popitem(last=False)
        return made
