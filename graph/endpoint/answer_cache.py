"""Answers of repeated queries, kept per graph version.

The graph changes only on a commit, and every answer carries the version it was computed on: an
answer is the same bytes for as long as the version is, given everything else that shapes it
(the query text, its dataset, base IRI, formats, limits). So the endpoint keeps recent answers,
keyed by all of that and the version, and serves one only while the store's version is still the
one it was computed at. Queries whose answer changes between runs on the same graph (``NOW()``,
``RAND()``, ``BNODE()`` ...) are never kept, nor errors, nor answers over ``MAX_ENTRY_BYTES``.
The whole is bounded in bytes (answers and keys) and evicts the least recently used.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ijkg.graph.endpoint.query import VOLATILE_FUNCTIONS
from ijkg.graph.store.base import Answer

#: Largest answer (with its key) kept: bigger ones cost more to run than to look up anyway.
MAX_ENTRY_BYTES = 256 * 1024
#: Queries calling these are not kept: the volatile functions, and ``BNODE()``, whose fresh
#: blank nodes a repeated query must not share with an earlier answer.
UNCACHED_FUNCTIONS = VOLATILE_FUNCTIONS | {"BNODE"}

Key = tuple[Any, ...]


@dataclass
class AnswerCache:
    """A bounded LRU of answers by key; ``max_bytes`` 0 keeps nothing."""

    max_bytes: int
    used_bytes: int = 0
    #: ``hit``, ``miss`` and ``evicted`` since start-up (a ``miss`` is a query run on the store).
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("hit", "miss", "evicted"), 0)
    )
    _entries: OrderedDict[Key, tuple[Answer, int]] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, version: int) -> Answer | None:
        """The answer kept for ``key`` if it was computed at ``version``; counts a hit or miss."""
        entry = self._entries.get(key)
        if entry is not None and entry[0].version == version:
            self._entries.move_to_end(key)
            self.counts["hit"] += 1
            return entry[0]
        self.counts["miss"] += 1
        return None

    def put(self, key: Key, key_bytes: int, answer: Answer) -> None:
        """Keep ``answer`` under ``key`` (replacing an older version's), evicting the least
        recently used past the budget; an answer over ``MAX_ENTRY_BYTES`` is not kept."""
        cost = len(answer.body) + key_bytes
        if cost > min(MAX_ENTRY_BYTES, self.max_bytes):
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.used_bytes -= old[1]
        self._entries[key] = (answer, cost)
        self.used_bytes += cost
        while self.used_bytes > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.used_bytes -= evicted
            self.counts["evicted"] += 1
