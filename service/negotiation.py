"""HTTP content negotiation (RFC 9110 section 12.5.1): ``Accept`` with q-values and wildcards.

Hand-written on purpose: none of our dependencies parses ``Accept`` (Starlette and FastAPI leave
it to the application), and the small maintained parser, python-mimeparse, differs where it
matters here: a malformed range raises for the whole header (one odd entry would cost the client
its answer; here it is skipped), a negative or unreadable q counts as 1 (here as 0), and ties go
to the last offered type rather than the server's first choice. Wrapping it to undo each of these
would leave more code than this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """How specifically this range matches ``media_type`` (-1: no match)."""
        main, _, sub = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 0
        if self.type == main and self.subtype == "*":
            return 1
        if self.type == main and self.subtype == sub:
            return 2
        return -1


#: ``Accept`` headers up to this long are parsed once: a client sends the same one every time.
CACHED_HEADER_CHARS = 512


def parse_accept(header: str | None) -> list[MediaRange]:
    """Parse an ``Accept`` header; malformed ranges are skipped. No header accepts anything."""
    return list(_ranges(header))


def _ranges(header: str | None) -> tuple[MediaRange, ...]:
    if header is not None and len(header) <= CACHED_HEADER_CHARS:
        return _cached_ranges(header)
    return _parse(header)


@lru_cache(maxsize=256)
def _cached_ranges(header: str) -> tuple[MediaRange, ...]:
    return _parse(header)


def _parse(header: str | None) -> tuple[MediaRange, ...]:
    if not header or not header.strip():
        return (MediaRange("*", "*", 1.0),)
    ranges = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if "/" not in media:
            continue
        main, _, sub = media.partition("/")
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value.strip())))
                except ValueError:
                    q = 0.0
        ranges.append(MediaRange(main.strip(), sub.strip(), q))
    return tuple(ranges)


def quality(ranges: Sequence[MediaRange], media_type: str) -> float:
    """The q-value the client gives ``media_type``: that of the most specific matching range."""
    best_specificity = -1
    best_q = 0.0
    for media_range in ranges:
        specificity = media_range.specificity(media_type)
        if specificity > best_specificity:
            best_specificity, best_q = specificity, media_range.q
    return best_q


def negotiate(header: str | None, offered: Sequence[str]) -> str | None:
    """The offered media type the client prefers most, ties going to the server's order.

    >>> negotiate("text/csv;q=0.5, application/sparql-results+json", ["text/csv",
    ...           "application/sparql-results+json"])
    'application/sparql-results+json'
    >>> negotiate("text/html", ["text/csv"]) is None
    True
    """
    ranges = _ranges(header)
    best: str | None = None
    best_q = 0.0
    for media_type in offered:
        q = quality(ranges, media_type)
        if q > best_q:
            best, best_q = media_type, q
    return best


def prefers(header: str | None, media_type: str, over: Sequence[str]) -> bool:
    """True when the client asks for ``media_type`` explicitly and likes it at least as much as
    every one of ``over`` (used to send browsers a page and scripts data from one URL)."""
    ranges = _ranges(header)
    if not any(r.specificity(media_type) == 2 for r in ranges):
        return False
    q = quality(ranges, media_type)
    return q > 0 and all(q >= quality(ranges, other) for other in over)
