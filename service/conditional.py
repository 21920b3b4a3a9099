"""Conditional GET for answers computed from the graph: ``ETag``, ``Last-Modified`` and 304.

An answer depends on the graph's state (the store's id and version) and on what was asked (the
query, its dataset, the representation chosen). Its entity tag is weak (``W/``): the same answer
may come out with other blank-node labels or compressed, and is still the same answer. Every commit
moves the version, so a cache revalidating an old tag gets the new answer; one whose tag is still
current gets ``304 Not Modified`` without the query being run again.

``Last-Modified`` is when this process first saw the graph at that version: never earlier than the
commit that made it, so an ``If-Modified-Since`` answered with 304 is always right.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response


def answer_etag(store_id: str, version: int, *key: str) -> str:
    """The weak entity tag of an answer at a graph version.

    >>> answer_etag("3f9a", 12, "SELECT * {}", "application/sparql-results+json")
    'W/"3f9a-12-..."'
    """
    digest = hashlib.sha256("\x00".join(key).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f'W/"{store_id}-{version}-{digest}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison of ``If-None-Match`` with ``etag`` (RFC 9110 section 13.1.2).

    >>> etag_matches('W/"a-1-x", "b"', 'W/"a-1-x"')
    True
    >>> etag_matches('"a-1-x"', 'W/"a-1-x"')
    True
    >>> etag_matches("*", 'W/"a-1-x"')
    True
    >>> etag_matches('W/"a-2-x"', 'W/"a-1-x"')
    False
    """
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


class VersionClock:
    """When this process first saw each graph version (the clock behind ``Last-Modified``)."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._since = 0.0

    def modified(self, version: int) -> float:
        """The time the graph has been at ``version`` since, as far as this process knows."""
        if self._version is None or version > self._version:
            self._version, self._since = version, time.time()
        elif version < self._version:
            # An answer from a replica that had not caught up yet: it is at least this old.
            return self._since
        return self._since


def http_date(modified: float, now: float | None = None) -> str:
    """``Last-Modified`` for a state reached at ``modified``: that time rounded up to the second
    (HTTP dates have no fractions), but never later than ``now``.

    >>> http_date(1_000_000_000.25, now=1_000_000_005.0)
    'Sun, 09 Sep 2001 01:46:41 GMT'
    """
    now = time.time() if now is None else now
    return _http_date(min(math.ceil(modified), math.floor(now)))


@lru_cache(maxsize=64)  # every answer at one graph version carries the same date
def _http_date(seconds: int) -> str:
    return formatdate(float(seconds), usegmt=True)


def not_modified_since(if_modified_since: str | None, modified: float) -> bool:
    """True when ``If-Modified-Since`` is at or after ``modified`` rounded up to the second, so a
    date within the second the state changed never counts as fresh (malformed dates: False)."""
    if not if_modified_since:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError, IndexError):
        return False
    return since >= math.ceil(modified)


#: How long an answer at a fixed graph version may be reused: it never changes (a year, the
#: customary "for ever" of RFC 9111).
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Validators:
    """The validators and caching headers of one answer; ``immutable`` for an answer at a fixed
    graph version, whose bytes never change."""

    etag: str | None
    last_modified: float | None
    vary: str = "Accept"
    immutable: bool = False

    def headers(self) -> dict[str, str]:
        out = {"Vary": self.vary}
        if self.etag is None:
            # An answer that changes from one run to the next (NOW(), RAND() ...): never reuse it.
            out["Cache-Control"] = "no-store"
            return out
        out["ETag"] = self.etag
        # Reusable, but only after revalidation, unless the answer is of a fixed version.
        out["Cache-Control"] = IMMUTABLE if self.immutable else "no-cache"
        if self.last_modified is not None:
            out["Last-Modified"] = http_date(self.last_modified)
        return out

    def fresh_for(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        """Whether the client's copy is current (RFC 9110 section 13.2.2: If-None-Match first)."""
        if self.etag is None:
            return False
        if if_none_match is not None:
            return etag_matches(if_none_match, self.etag)
        return self.last_modified is not None and not_modified_since(
            if_modified_since, self.last_modified
        )

    def not_modified(self) -> Response:
        return Response(status_code=304, headers=self.headers())


class VersionedGraph(Protocol):
    """A part of the graph layer whose answers depend on the store and its version."""

    async def store_id(self) -> str: ...

    async def version(self) -> int: ...


@dataclass(frozen=True)
class Conditional:
    """The validators of the answers read from ``graph``, and the 304 for a current copy."""

    graph: VersionedGraph
    clock: VersionClock

    async def validators(self, version: int, *key: str) -> Validators:
        """Weak ETag (per representation) and Last-Modified of an answer at ``version``."""
        etag = answer_etag(await self.graph.store_id(), version, *key)
        return Validators(etag, self.clock.modified(version))

    async def fresh(self, request: Request, *key: str) -> Response | None:
        """304 when the client's copy is of the current graph version, else ``None``."""
        if "if-none-match" not in request.headers and "if-modified-since" not in request.headers:
            return None
        current = await self.validators(await self.graph.version(), *key)
        if current.fresh_for(
            request.headers.get("if-none-match"), request.headers.get("if-modified-since")
        ):
            return current.not_modified()
        return None
