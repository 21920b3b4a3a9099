"""The graph as it changes: the feed of versions, its live stream, patches and dumps.

- ``GET /changes/feed``: an ActivityStreams 2.0 ``OrderedCollection`` of the versions, oldest
  first, in pages of versions fixed by their numbers (``?page=P`` holds versions
  ``(P-1)*SIZE+1 .. P*SIZE``), so a page's items never move as versions are added; ``?after=N``
  gives the versions after N. Each item is one version: who made it, when, why, the change it
  merged, its counts, and links to its patch and its dump.
- ``GET /changes/feed/stream``: the same items as Server-Sent Events, ``id:`` the version;
  ``Last-Event-ID`` (or ``?after=``) resumes after a version: every later one is sent first, then
  each new one as it is made, none twice.
- ``GET /version/{N}/patch``: what the commit that made version N did, as RDF Patch or JSON.
- ``GET /version/{N}/dump`` and ``/version/{N}/dump.sha256``: the graph at version N as gzipped
  N-Quads with a stable byte order, and its SHA-256 (``ijkg.graph.io.dump``).

Everything at a fixed version is immutable: cached for ever, validated by its digest.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from ijkg.graph import (
    IJKG,
    RDF_PATCH,
    BadRequest,
    KnowledgeGraph,
    NotFound,
    StoreError,
    VersionInfo,
    parse_version,
    patch_json,
    rdf_patch,
    version_iri,
)
from ijkg.service.clients import client_address, client_slots
from ijkg.service.conditional import etag_matches
from ijkg.service.deps import GraphDep
from ijkg.service.linked import choose_media_type
from ijkg.service.protocol import stopping

router = APIRouter(tags=["versions"])

#: Versions per page of the feed.
PAGE_SIZE: Final = 100
#: How often a stream looks for a new version, and how long it stays silent at most.
POLL_S: Final = 0.5
HEARTBEAT_S: Final = 15.0
#: Versions read from the history at once by a stream catching up.
_BATCH: Final = 100
AS_MEDIA_TYPE: Final = "application/activity+json"
AS_LD_MEDIA_TYPE: Final = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
_FEED_TYPES: Final = (AS_MEDIA_TYPE, "application/ld+json", "application/json")
_PATCH_TYPES: Final = ("application/json", RDF_PATCH)
IMMUTABLE: Final = "public, max-age=31536000, immutable"
_NO_CACHE: Final = "no-cache"
_CONTEXT: Final = [
    "https://www.w3.org/ns/activitystreams",
    {
        "ijkg": IJKG,
        "version": {"@id": "ijkg:versionNumber"},
        "oldestVersion": {"@id": "ijkg:oldestVersion"},
        "added": {"@id": "ijkg:quadsAdded"},
        "removed": {"@id": "ijkg:quadsRemoved"},
        "quads": {"@id": "ijkg:quadsAfter"},
        "change": {"@id": "ijkg:change", "@type": "@id"},
        "stream": {"@id": "ijkg:stream", "@type": "@id"},
    },
]


def _base(request: Request) -> str:
    # The public base URL where one is set (the host guard rewrites the request's), else the
    # request's own.
    return str(request.base_url).rstrip("/")


def page_of(version: int) -> int:
    """The feed page that holds ``version`` (versions 1..PAGE_SIZE are page 1).

    >>> page_of(1), page_of(PAGE_SIZE), page_of(PAGE_SIZE + 1)
    (1, 1, 2)
    """
    return (max(version, 1) - 1) // PAGE_SIZE + 1


def item(base: str, info: VersionInfo) -> dict[str, Any]:
    """One version as an ActivityStreams activity: an ``Update`` of the version before it."""
    version = info.version
    who = info.who or "unknown"
    entry: dict[str, Any] = {
        "id": version_iri(version),
        "type": "Update",
        "name": f"version {version}",
        "version": version,
        "actor": {
            "type": "Application" if who.startswith("ijkg") else "Person",
            "name": who,
        },
        "object": version_iri(version - 1),
        "added": info.added,
        "removed": info.removed,
        "url": [
            _link(f"{base}/version/{version}/patch", RDF_PATCH, "patch"),
            _link(f"{base}/version/{version}/patch?format=json", "application/json", "patch"),
            _link(f"{base}/version/{version}/dump", "application/gzip", "dump"),
        ],
    }
    if info.time is not None:
        entry["published"] = info.time
    if info.why:
        entry["summary"] = info.why
    if info.change:
        entry["change"] = entry["context"] = f"{base}/changes/{info.change}"
    if info.quads is not None:
        entry["quads"] = info.quads
    return entry


def _link(href: str, media_type: str, rel: str) -> dict[str, str]:
    return {"type": "Link", "href": href, "mediaType": media_type, "rel": rel}


def _json(body: dict[str, Any], media_type: str, cache: str) -> Response:
    if media_type == "application/ld+json":
        media_type = AS_LD_MEDIA_TYPE
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        media_type=media_type,
        headers={"Cache-Control": cache},
    )


# --- the feed ----------------------------------------------------------------------------------


@router.get(
    "/changes/feed",
    summary="The feed of the graph's versions (ActivityStreams 2.0)",
    response_class=Response,
    responses={
        200: {"content": {AS_MEDIA_TYPE: {}, "application/ld+json": {}, "application/json": {}}},
        400: {"description": "A page or version that is not a whole number, or both given"},
        404: {"description": "A page or version outside the history the graph keeps"},
    },
)
async def feed(
    request: Request,
    graph: GraphDep,
    page: Annotated[int | None, Query(ge=1, description="A page: versions of that page.")] = None,
    after: Annotated[
        int | None, Query(ge=0, description="The versions after this one (instead of a page).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="With after: how many.")] = PAGE_SIZE,
) -> Response:
    """The versions of the graph as an ActivityStreams 2.0 ``OrderedCollection``, oldest first.
    Without ``page`` or ``after``: the collection (``totalItems``, ``first`` and ``last`` pages,
    the live ``stream``). A page's items are fixed by their numbers (page P holds versions
    (P-1)*100+1 to P*100), so pages are stable as versions are added. Each item: the version IRI,
    ``published``, ``actor``, ``summary`` (why), the ``change`` it merged, counts, and links to
    its patch (RDF Patch, JSON) and dump. Example: `curl -H 'Accept: application/activity+json'
    http://127.0.0.1:8000/changes/feed?page=1`"""
    media_type = choose_media_type(request.headers.get("accept"), None, _FEED_TYPES)
    base = _base(request)
    first, head = await graph.feed.range()
    collection = f"{base}/changes/feed"
    if page is not None and after is not None:
        raise BadRequest("ask for a page or for the versions after one, not both")
    if page is None and after is None:
        body = {
            "@context": _CONTEXT,
            "id": collection,
            "type": "OrderedCollection",
            "summary": "The versions of the graph, oldest first: each one a merge of changes",
            "totalItems": head - first,
            "oldestVersion": first,
            "version": head,
            "first": f"{collection}?page={page_of(first + 1)}",
            "last": f"{collection}?page={page_of(max(head, first + 1))}",
            "stream": f"{collection}/stream",
        }
        return _json(body, media_type, _NO_CACHE)
    if page is not None:
        low, high = (page - 1) * PAGE_SIZE, page * PAGE_SIZE
        if high <= first or (page > page_of(max(head, first + 1))):
            raise _versions_not_found(f"page {page} (versions {low + 1} to {high})", first, head)
        start, count = max(low, first), high - max(low, first)
        page_id = f"{collection}?page={page}"
    else:
        assert after is not None  # noqa: S101 - one of the two, checked above
        if not first <= after <= head:
            raise _versions_not_found(f"the versions after {after}", first, head)
        start, count = after, limit
        page_id = f"{collection}?after={after}&limit={limit}"
    infos = await graph.feed.history(after=start, limit=count)
    body = {
        "@context": _CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection,
        "startIndex": start - first,
        "orderedItems": [item(base, info) for info in infos],
    }
    last = infos[-1].version if infos else start
    if page is not None:
        if page > page_of(first + 1):
            body["prev"] = f"{collection}?page={page - 1}"
        if high < head:
            body["next"] = f"{collection}?page={page + 1}"
        full = high <= head
    else:
        if last < head:
            body["next"] = f"{collection}?after={last}&limit={limit}"
        full = start + count <= head
    # A page whose every version exists already never changes.
    return _json(body, media_type, IMMUTABLE if full else _NO_CACHE)


def _versions_not_found(what: str, first: int, head: int) -> NotFound:
    return NotFound(
        f"{what} is not in this graph's feed: it holds versions {first + 1} to {head} "
        f"(pages {page_of(first + 1)} to {page_of(max(head, first + 1))})"
    )


# --- the live stream ---------------------------------------------------------------------------


@router.get(
    "/changes/feed/stream",
    summary="New versions as they are made (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        400: {"description": "A Last-Event-ID or after that is not a version number"},
        404: {"description": "A version outside the history the graph keeps"},
    },
)
async def stream(
    request: Request,
    graph: GraphDep,
    after: Annotated[
        str | None, Query(description="Resume after this version (as Last-Event-ID does).")
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Each new version as an event: ``id:`` the version, ``data:`` its feed item (JSON). A
    client that reconnects with ``Last-Event-ID: N`` (EventSource does it by itself) or
    ``?after=N`` gets versions N+1 onwards first, then each new one, none lost or repeated;
    without either it gets the versions made from now on. A comment line every 15 s keeps
    the connection open through proxies. Example: `curl -N
    http://127.0.0.1:8000/changes/feed/stream?after=0`"""
    resume = last_event_id if last_event_id is not None else after
    first, head = await graph.feed.range()
    start = head if resume is None else parse_version(resume.strip())
    if not first <= start <= head:
        raise _versions_not_found(f"the versions after {start}", first, head)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _events(graph, version_watch(request, graph), _base(request), start),
        media_type="text/event-stream",
        headers=headers,
    )


class VersionWatch:
    """One look at the store's version every ``POLL_S`` for all of a process's streams, however
    many there are (on an external store a look is a round trip). It runs while a stream
    watches, and wakes every stream waiting when the version moves."""

    def __init__(self, graph: KnowledgeGraph) -> None:
        self._graph = graph
        self._version = -1
        self._error: StoreError | None = None
        self._moved = asyncio.Event()
        self._streams = 0
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        self._streams += 1
        if self._task is None:
            self._task = asyncio.create_task(self._look())
        try:
            yield
        finally:
            self._streams -= 1

    async def _look(self) -> None:
        try:
            while self._streams:
                try:
                    version, self._error = await self._graph.feed.version(), None
                except StoreError as exc:
                    version, self._error = -1, exc
                if version != self._version or self._error is not None:
                    self._version = version
                    moved, self._moved = self._moved, asyncio.Event()
                    moved.set()
                await asyncio.sleep(POLL_S)
        finally:
            self._task = None

    async def past(self, version: int, wait_s: float) -> int:
        """The store's version once it is past ``version``, or as it is after ``wait_s``.
        Raises the ``StoreError`` of the last look, if it failed."""
        if self._version <= version and self._error is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), wait_s)
        if self._error is not None:
            raise self._error
        return self._version


def version_watch(request: Request, graph: KnowledgeGraph) -> VersionWatch:
    """The process's ``VersionWatch`` (made on first use)."""
    watch: VersionWatch | None = getattr(request.app.state, "version_watch", None)
    if watch is None:
        watch = request.app.state.version_watch = VersionWatch(graph)
    return watch


async def _events(
    graph: KnowledgeGraph, watch: VersionWatch, base: str, after: int
) -> AsyncIterator[bytes]:
    """The stream after version ``after``, until the service shuts down or the store fails (the
    client reconnects where it was)."""
    last = after
    quiet = 0.0
    yield b"retry: 2000\n\n"
    async with watch.watching():
        while not stopping():
            try:
                head = await watch.past(last, POLL_S)
                infos = await graph.feed.history(after=last, limit=_BATCH) if head > last else []
            except StoreError:
                return  # the client reconnects with its Last-Event-ID
            for info in infos:
                data = json.dumps(item(base, info), ensure_ascii=False)
                yield f"id: {info.version}\ndata: {data}\n\n".encode()
                last = info.version
            if infos:
                quiet = 0.0
                continue
            quiet += POLL_S
            if quiet >= HEARTBEAT_S:
                yield b": still here\n\n"
                quiet = 0.0


# --- patches -----------------------------------------------------------------------------------


@router.get(
    "/version/{version}/patch",
    summary="What the commit that made a version did (RDF Patch or JSON)",
    response_class=Response,
    responses={
        200: {"content": {"application/json": {}, RDF_PATCH: {}}},
        400: {"description": "A version that is not a whole number"},
        404: {"description": "A version outside the history the graph keeps"},
    },
)
async def patch(
    request: Request,
    graph: GraphDep,
    version: str,
    format_name: Annotated[
        str | None, Query(alias="format", description="json or rdf-patch, overriding Accept.")
    ] = None,
) -> Response:
    """The quads the commit that made version N removed and added, applied in that order to
    version N-1: as RDF Patch (``application/rdf-patch``: ``H id``, ``H prev``, ``TX``, ``D`` and
    ``A`` rows, ``TC``) or as JSON (``{"version", "previous", "removed", "added"}``, the quads as
    N-Quads text). Blank nodes are as the store knows them, so a copy that applied the earlier
    patches applies this one. Immutable. Example: `curl
    http://127.0.0.1:8000/version/2/patch?format=rdf-patch`"""
    number = parse_version(version)
    chosen = {"json": "application/json", "rdf-patch": RDF_PATCH, "rdfpatch": RDF_PATCH}
    wanted = chosen.get((format_name or "").strip().lower(), format_name)
    media_type = choose_media_type(request.headers.get("accept"), wanted, _PATCH_TYPES)
    etag = f'"{await graph.store_id()}-{number}-{"json" if media_type != RDF_PATCH else "rdfp"}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    found = await graph.feed.patch(number)
    if media_type == RDF_PATCH:
        return Response(rdf_patch(found), media_type=RDF_PATCH, headers=headers)
    body = json.dumps(patch_json(found), ensure_ascii=False).encode()
    return Response(body, media_type="application/json", headers=headers)


# --- dumps -------------------------------------------------------------------------------------


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


@router.get(
    "/version/{version}/dump",
    summary="The whole graph at a version, as gzipped N-Quads with a stable byte order",
    response_class=Response,
    responses={
        200: {"content": {"application/gzip": {}}},
        400: {"description": "A version that is not a whole number"},
        404: {"description": "A version outside the history the graph keeps"},
        422: {"description": "The graph is larger than one answer may be (rows or bytes)"},
        503: {"description": "The dump passed the query time limit, or too many queries run"},
    },
)
async def dump(request: Request, graph: GraphDep, version: str) -> Response:
    """Every quad of every named graph at version N as N-Quads — blank nodes with canonical
    (RDFC-1.0) labels, lines sorted — gzipped with no name and no time: the same bytes from any
    store and on every request, so two people can compare what they hold by its SHA-256 (the
    ``Repr-Digest`` header, and ``/version/N/dump.sha256``). Read with one query under the
    limits of any query. Immutable. Example: `curl -O -J http://127.0.0.1:8000/version/2/dump`"""
    number = parse_version(version)
    with client_slots(request).hold(client_address(request)):
        made = await graph.feed.dump(number)
    etag = f'"sha256-{made.gzip_sha256}"'
    digest = _b64(made.gzip_sha256)
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE,
        "Content-Disposition": f'attachment; filename="{made.filename}"',
        "Repr-Digest": f"sha-256=:{digest}:",
        "Digest": f"sha-256={digest}",
        "X-Quads": str(made.quads),
        "X-Nquads-Sha256": made.nquads_sha256,
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(made.gzipped, media_type="application/gzip", headers=headers)


@router.get(
    "/version/{version}/dump.sha256",
    summary="The SHA-256 of a version's dump, as sha256sum writes it",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def dump_digest(request: Request, graph: GraphDep, version: str) -> Response:
    """Two lines in ``sha256sum`` form: the digest of the gzip file (``ijkg-version-N.nq.gz``)
    and of the N-Quads inside it (``ijkg-version-N.nq``): `sha256sum -c --ignore-missing`
    checks a download."""
    number = parse_version(version)
    with client_slots(request).hold(client_address(request)):
        made = await graph.feed.dump(number)
    text = (
        f"{made.gzip_sha256}  {made.filename}\n"
        f"{made.nquads_sha256}  {made.filename.removesuffix('.gz')}\n"
    )
    return Response(
        text, media_type="text/plain; charset=utf-8", headers={"Cache-Control": IMMUTABLE}
    )
