"""Reading a resource as it was at a version of the graph: ``version=N`` and Memento (RFC 7089).

A researcher cites ``/sparql?query=...&version=42``; a Memento client sends ``Accept-Datetime``
to the resource itself. Each resource here (an endpoint's query, an entity) is its own TimeGate
(RFC 7089 section 4.1.2, the original resource answering datetime negotiation with 200), and:

- every answer links ``rel="original timegate"`` (the resource) and ``rel="timemap"`` (its
  TimeMap at ``/timemap/{path}``) and says ``Vary: accept-datetime``;
- an answer at a version is a Memento: ``Memento-Datetime`` (the commit's time) and a link
  ``rel="memento"`` to its own URL with ``version=N``, which is also its ``Content-Location``.
  Its bytes never change, so it is cacheable for ever (``Cache-Control: immutable``).

``Accept-Datetime`` picks the last version committed at or before that moment; a moment before
the first version, or a malformed date, is a problem that names what there is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request

from ijkg.graph import BadRequest, KnowledgeGraph, VersionInfo, commit_time, parse_version
from ijkg.service.conditional import Conditional, Validators, answer_etag

LINK_FORMAT: Final = "application/link-format"
#: What every answer of a resource that negotiates datetime varies on.
VARY: Final = "Accept, Accept-Datetime"
TIMEMAP_PREFIX: Final = "/timemap"
#: The longest resource URL the headers link to (it appears three times in ``Link``).
MAX_LINKED_CHARS: Final = 2048


def http_datetime(moment: datetime) -> str:
    """An HTTP date (RFC 7231 IMF-fixdate), as ``Memento-Datetime`` has it.

    >>> http_datetime(datetime(2026, 12, 8, 1, 2, 3, 500, tzinfo=UTC))
    'Tue, 08 Dec 2026 01:02:03 GMT'
    """
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def parse_datetime(text: str) -> datetime:
    """An ``Accept-Datetime`` value (an HTTP date); ``BadRequest`` when it is not one."""
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None or moment.tzinfo is None or not text.rstrip().endswith("GMT"):
        raise BadRequest(
            f"Accept-Datetime must be an HTTP date such as 'Tue, 08 Dec 2026 01:02:03 GMT', "
            f"not {text!r}"
        )
    return moment


@dataclass(frozen=True)
class Pinned:
    """A request's version: its number, what made it (``None`` for the oldest kept, whose
    commit is no longer listed), and whether ``Accept-Datetime`` chose it."""

    version: int
    info: VersionInfo | None
    negotiated: bool

    @property
    def moment(self) -> datetime | None:
        return None if self.info is None else commit_time(self.info)


async def pinned_version(
    request: Request, graph: KnowledgeGraph, version: str | None
) -> Pinned | None:
    """The version a read asks for: ``version=N`` first (a citation is exact), else the one in
    force at ``Accept-Datetime``; ``None`` for the current graph. Problems: a malformed number
    or date (400), a version or moment outside the history (404 with the range)."""
    if version is not None:
        number = parse_version(version)
        return Pinned(number, await graph.versions.info(number), negotiated=False)
    accept_datetime = request.headers.get("accept-datetime")
    if accept_datetime is None:
        return None
    info = await graph.versions.at(parse_datetime(accept_datetime))
    return Pinned(info.version, info, negotiated=True)


def single_param(request: Request, name: str) -> str | None:
    """A query parameter given at most once (``BadRequest`` when repeated)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"the '{name}' parameter was given {len(values)} times; give it once")
    return values[0] if values else None


def with_version(path: str, params: Iterable[tuple[str, str]], version: int | None) -> str:
    """``path`` with ``params`` (``version`` dropped) and, if given, ``version=N`` last.

    >>> with_version("/id/a/b", [("format", "json"), ("version", "3")], 7)
    '/id/a/b?format=json&version=7'
    """
    kept = [(k, v) for k, v in params if k != "version"]
    if version is not None:
        kept.append(("version", str(version)))
    return f"{path}?{urlencode(kept)}" if kept else path


def timemap_url(original: str) -> str:
    """Where the TimeMap of the resource at ``original`` (a path with its query) is served."""
    return TIMEMAP_PREFIX + original


def memento_headers(original: str, pinned: Pinned | None) -> dict[str, str]:
    """The Memento headers of an answer for the resource at ``original`` (path and query, the
    version left out): as it is now (``pinned`` ``None``) or at a version. ``Vary`` is the
    validators' (``VARY``)."""
    headers: dict[str, str] = {}
    if len(original) > MAX_LINKED_CHARS:
        # A query this long would make headers no proxy passes: the date alone, then.
        moment = pinned.moment if pinned is not None else None
        if moment is not None:
            headers["Memento-Datetime"] = http_datetime(moment)
        return headers
    links = [
        f'<{original}>; rel="original timegate"',
        f'<{timemap_url(original)}>; rel="timemap"; type="{LINK_FORMAT}"',
    ]
    if pinned is not None:
        memento = _with_version_of(original, pinned.version)
        moment = pinned.moment
        link = f'<{memento}>; rel="memento"'
        if moment is not None:
            headers["Memento-Datetime"] = http_datetime(moment)
            link += f'; datetime="{http_datetime(moment)}"'
        links.append(link)
        if pinned.negotiated:
            headers["Content-Location"] = memento
    headers["Link"] = ", ".join(links)
    return headers


def _with_version_of(original: str, version: int) -> str:
    return original + ("&" if "?" in original else "?") + f"version={version}"


def timemap(original: str, base: str, versions: Sequence[VersionInfo]) -> bytes:
    """The TimeMap (RFC 7089 section 5, ``application/link-format``) of the resource at
    ``original``: one memento per version in ``versions`` (oldest first). ``base`` is the
    service's URL, for absolute links."""
    lines = [
        f'<{base}{original}>;rel="original"',
        f'<{base}{timemap_url(original)}>;rel="self";type="{LINK_FORMAT}"' + _span(versions),
        f'<{base}{original}>;rel="timegate"',
    ]
    for index, info in enumerate(versions):
        rel = "memento"
        if index == 0:
            rel = "first memento"
        if index == len(versions) - 1:
            rel = "last memento" if index else "first last memento"
        line = f'<{base}{_with_version_of(original, info.version)}>;rel="{rel}"'
        moment = commit_time(info)
        if moment is not None:
            line += f';datetime="{http_datetime(moment)}"'
        lines.append(line)
    return (",\n".join(lines) + "\n").encode()


def _span(versions: Sequence[VersionInfo]) -> str:
    moments = [m for m in (commit_time(i) for i in versions) if m is not None]
    if not moments:
        return ""
    return f';from="{http_datetime(moments[0])}";until="{http_datetime(moments[-1])}"'


async def refuse_version_on_write(request: Request) -> None:
    """A write changes the graph as it is now: a version (``version=``, ``Accept-Datetime``)
    on one is a mistake, refused (400) before anything is read or written."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if "version" in request.query_params or "accept-datetime" in request.headers:
        raise BadRequest(
            "a write changes the current graph: it takes no version (drop version= and "
            "Accept-Datetime); past versions are read-only"
        )


async def versioned_validators(
    tags: Conditional, pinned: Pinned | None, version: int, *key: str
) -> Validators:
    """The validators of an answer read at ``version``: as ``tags`` gives them for the current
    graph, or, at a pinned version, an entity tag of that version and the commit's date, for
    ever (``immutable``)."""
    if pinned is None:
        current = await tags.validators(version, *key)
        return Validators(current.etag, current.last_modified, VARY)
    moment = pinned.moment
    etag = answer_etag(await tags.graph.store_id(), pinned.version, *key)
    return Validators(etag, moment.timestamp() if moment else None, VARY, immutable=True)


async def versioned_fresh(
    tags: Conditional, pinned: Pinned | None, request: Request, *key: str
) -> Validators | None:
    """The validators when the client's copy is current (answer 304 with them), else
    ``None``."""
    if_none_match = request.headers.get("if-none-match")
    if_modified_since = request.headers.get("if-modified-since")
    if if_none_match is None and if_modified_since is None:
        return None
    version = pinned.version if pinned is not None else await tags.graph.version()
    current = await versioned_validators(tags, pinned, version, *key)
    return current if current.fresh_for(if_none_match, if_modified_since) else None
