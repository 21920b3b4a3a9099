"""Recent entity descriptions by (IRI, graph version), with the representations made of them.

A client that asks for the page, then the JSON, then the Turtle of an entity has it read once; one
that asks for the same representation again gets the bytes made the first time (building and
encoding the JSON of a well-linked entity costs far more than the request around it). A commit
makes them all stale: the first description read at a newer version drops those of older ones.

The cache is bounded three ways: by the number of descriptions, by the representations kept per
description (their keys include the request's base URL, which a client chooses), and by the bytes
of all representations together; the least recently used description goes first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from ijkg.graph.linked.entities import EntityDescription

#: A representation's key: what the bytes depend on besides the description (media type, base
#: URL, options).
RenderingKey = tuple[str, ...]

MAX_DESCRIPTIONS: Final = 256
MAX_RENDERINGS: Final = 16
MAX_BYTES: Final = 64 * 1024 * 1024


class CachedEntity:
    """One description and the representations made of it, most recently used last."""

    def __init__(self, description: EntityDescription) -> None:
        self.description = description
        self.renderings: OrderedDict[RenderingKey, bytes] = OrderedDict()

    @property
    def size(self) -> int:
        return sum(len(body) for body in self.renderings.values())


class EntityCache:
    """Descriptions and their representations, bounded (see the module)."""

    def __init__(
        self,
        *,
        max_descriptions: int = MAX_DESCRIPTIONS,
        max_renderings: int = MAX_RENDERINGS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self._entries: OrderedDict[tuple[str, int], CachedEntity] = OrderedDict()
        self._max_descriptions = max_descriptions
        self._max_renderings = max_renderings
        self._max_bytes = max_bytes
        self._bytes = 0
        self._version: int | None = None

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """The bytes of all representations kept."""
        return self._bytes

    def get(self, iri: str, version: int) -> CachedEntity | None:
        entry = self._entries.get((iri, version))
        if entry is not None:
            self._entries.move_to_end((iri, version))
        return entry

    def put(self, description: EntityDescription) -> CachedEntity:
        """Keep ``description``; descriptions of older graph versions are dropped."""
        version = description.version
        if self._version is None or version > self._version:
            self._version = version
            for key in [k for k in self._entries if k[1] < version]:
                self._drop(key)
        key = (description.iri, version)
        if key in self._entries:
            self._drop(key)
        entry = CachedEntity(description)
        self._entries[key] = entry
        while len(self._entries) > self._max_descriptions:
            self._drop(next(iter(self._entries)))
        return entry

    def rendering(self, entry: CachedEntity, key: RenderingKey) -> bytes | None:
        """The representation ``key`` of ``entry``, if it was kept."""
        body = entry.renderings.get(key)
        if body is not None:
            entry.renderings.move_to_end(key)
        return body

    def keep(self, entry: CachedEntity, key: RenderingKey, body: bytes) -> None:
        """Keep a representation of ``entry`` (not if it alone is over the byte budget, nor if
        the entry has left the cache meanwhile)."""
        description = entry.description
        key_of_entry = (description.iri, description.version)
        if len(body) > self._max_bytes or self._entries.get(key_of_entry) is not entry:
            return
        self._entries.move_to_end(key_of_entry)
        old = entry.renderings.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        entry.renderings[key] = body
        self._bytes += len(body)
        while len(entry.renderings) > self._max_renderings:
            _, dropped = entry.renderings.popitem(last=False)
            self._bytes -= len(dropped)
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[str, int]) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size
