"""Entity tags from the graph version: ``"<store id>-<version>"``.

Every commit that changes something moves the version, so the tag says exactly which state of the
graph an answer came from; the store id keeps tags of two different stores apart. Writers send it
back in ``If-Match`` to say "only if the graph is still at this version" (412 when it moved).
"""

from __future__ import annotations

from ijkg.graph import IjkgError


class PreconditionFailed(IjkgError):
    """``If-Match`` named a version the graph is no longer at."""

    def __init__(self, message: str, current: str) -> None:
        super().__init__(message)
        self.current = current


def graph_etag(store_id: str, version: int) -> str:
    """The strong entity tag of a graph version.

    >>> graph_etag("3f9a", 12)
    '"3f9a-12"'
    """
    return f'"{store_id}-{version}"'


def expected_version(if_match: str | None, store_id: str, version: int) -> int | None:
    """The version an ``If-Match`` header insists on (``None`` when absent or ``*``).

    Raises ``PreconditionFailed`` when it names another store, is malformed, or is not the
    current version (the caller then need not even try).

    >>> expected_version('"s-4"', "s", 4)
    4
    >>> expected_version(None, "s", 4) is None
    True
    """
    if if_match is None or if_match.strip() == "*":
        return None
    current = graph_etag(store_id, version)
    for candidate in (t.strip() for t in if_match.split(",")):
        tag = candidate.removeprefix("W/").strip('"')
        prefix, _, number = tag.rpartition("-")
        if prefix == store_id and number.isdigit() and int(number) == version:
            return version
    raise PreconditionFailed(
        f"If-Match {if_match} does not match the graph's current version {current}", current
    )
