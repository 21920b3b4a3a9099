"""The graph as it changes, over a real ``ijkg serve``: the feed of versions (ActivityStreams 2.0),
each version's patch, dumps that hash the same every time and after a restart, and the live stream
of changes resuming from ``Last-Event-ID`` without losing or repeating one."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from ijkg.graph.core.namespaces import GENID
from tests.conftest import Server, start_server, stop_server

pytestmark = pytest.mark.slow  # real servers

TOKEN = "feed-writer-token"  # noqa: S105 - a test server's token
WRITE = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
AS2 = "application/activity+json"
THING = "https://example.org/feed/thing"
LABEL = "https://example.org/feed/value"


ENV = {"IJKG_FSYNC": "false", "IJKG_WRITE_TOKENS": f"tester={TOKEN}"}


def serve(root: Path) -> Server:
    return start_server(root / "store", root / "server.log", ENV)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = serve(tmp_path_factory.mktemp("feed"))
    yield server
    stop_server(server)


def write(server: Server, n: int, *, blank: bool = False) -> dict[str, object]:
    """One merge: a comment on a thing of its own (with a blank node, if asked)."""
    extra = f'; <{LABEL}> [ <{LABEL}> "inner {n}" ]' if blank else ""
    update = f'INSERT DATA {{ <{THING}/{n}> <{LABEL}> "comment {n}" {extra} }}'
    with server.client() as client:
        answer = client.post("/update", content=update, headers=WRITE)
    assert answer.status_code == 200, answer.text
    written: dict[str, object] = answer.json()
    return written


def head(server: Server) -> int:
    with server.client() as client:
        feed = client.get("/changes/feed", headers={"Accept": AS2}).json()
    return int(feed["version"])


# --- the feed ----------------------------------------------------------------------------------


def test_the_feed_is_an_ordered_collection_of_every_version(source: Server) -> None:
    write(source, 1)
    write(source, 2)
    with source.client() as client:
        answer = client.get("/changes/feed", headers={"Accept": AS2})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(AS2)
        feed = answer.json()
        assert feed["type"] == "OrderedCollection"
        assert "https://www.w3.org/ns/activitystreams" in feed["@context"]
        top = feed["version"]
        assert feed["totalItems"] == top - feed["oldestVersion"]
        assert feed["first"].endswith("/changes/feed?page=1")
        page = client.get(feed["first"], headers={"Accept": AS2}).json()
        assert page["type"] == "OrderedCollectionPage"
        assert page["partOf"] == feed["id"]
        items = page["orderedItems"]
        assert [i["version"] for i in items] == list(range(1, top + 1))
        last = items[-1]
        assert last["id"] == f"https://w3id.org/ijkg/version/{top}"
        assert last["type"] == "Update"
        assert last["actor"]["name"] == "tester"
        assert last["published"].endswith("Z")
        assert last["added"] >= 1 and last["removed"] == 0
        assert last["change"].startswith(source.base_url + "/changes/")
        hrefs = {link["mediaType"]: link["href"] for link in last["url"]}
        assert hrefs["application/rdf-patch"] == f"{source.base_url}/version/{top}/patch"
        assert hrefs["application/gzip"] == f"{source.base_url}/version/{top}/dump"
        # the change it merged is there to follow
        assert client.get(last["change"], headers={"Accept": "application/json"}).status_code == 200
        ld = client.get("/changes/feed", headers={"Accept": "application/ld+json"})
        assert 'profile="https://www.w3.org/ns/activitystreams"' in ld.headers["content-type"]


def test_pages_are_stable_as_versions_are_added(source: Server) -> None:
    write(source, 3)
    with source.client() as client:
        before = client.get("/changes/feed", params={"page": 1}).json()["orderedItems"]
        write(source, 4)
        after = client.get("/changes/feed", params={"page": 1}).json()["orderedItems"]
        assert after[: len(before)] == before
        assert len(after) == len(before) + 1
        top = head(source)
        newer = client.get("/changes/feed", params={"after": top - 2, "limit": 1}).json()
        assert [i["version"] for i in newer["orderedItems"]] == [top - 1]
        assert newer["next"].endswith(f"after={top - 1}&limit=1")
        assert "next" not in client.get("/changes/feed", params={"after": top - 1}).json()


def test_the_feed_refuses_what_is_not_in_it(source: Server) -> None:
    top = head(source)
    with source.client() as client:
        for params in ({"page": 99}, {"after": top + 1}):
            answer = client.get("/changes/feed", params=params)
            assert answer.status_code == 404, answer.text
            assert f"versions 1 to {top}" in answer.json()["detail"]
        for params in ({"page": 0}, {"after": "x"}, {"page": 1, "after": 0}):
            answer = client.get("/changes/feed", params=params)
            assert answer.status_code == 400, (params, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"


# --- patches ---------------------------------------------------------------------------------


def test_a_patch_in_both_forms(source: Server) -> None:
    write(source, 5, blank=True)
    top = head(source)
    with source.client() as client:
        text = client.get(f"/version/{top}/patch", headers={"Accept": "application/rdf-patch"})
        assert text.status_code == 200
        assert text.headers["content-type"].startswith("application/rdf-patch")
        assert text.headers["cache-control"] == "public, max-age=31536000, immutable"
        lines = text.text.splitlines()
        assert lines[:3] == [
            f"H id <https://w3id.org/ijkg/version/{top}> .",
            f"H prev <https://w3id.org/ijkg/version/{top - 1}> .",
            "TX .",
        ]
        assert lines[-1] == "TC ."
        assert any(line.startswith("A ") and "comment 5" in line for line in lines)
        as_json = client.get(f"/version/{top}/patch", params={"format": "json"}).json()
        assert as_json["version"] == top and as_json["previous"] == top - 1
        added = list(ox.parse(input=as_json["added"].encode(), format=ox.RdfFormat.N_QUADS))
        assert sum(line.startswith("A ") for line in lines) == len(added)
        # blank nodes as the store holds them: its own, or an external store's skolem IRIs
        assert any(
            isinstance(q.object, ox.BlankNode) or q.object.value.startswith(GENID) for q in added
        )
        again = client.get(
            f"/version/{top}/patch",
            params={"format": "json"},
            headers={"If-None-Match": text.headers["etag"]},
        )
        assert again.status_code == 200  # the other form's tag
        cached = client.get(
            f"/version/{top}/patch",
            headers={"Accept": "application/rdf-patch", "If-None-Match": text.headers["etag"]},
        )
        assert cached.status_code == 304


def test_a_patch_that_is_not_there(source: Server) -> None:
    top = head(source)
    with source.client() as client:
        for version in (0, top + 1):
            answer = client.get(f"/version/{version}/patch")
            assert answer.status_code == 404
            assert f"versions 1 to {top} have one" in answer.json()["detail"]
        bad = client.get("/version/two/patch")
        assert bad.status_code == 400 and "whole number" in bad.json()["detail"]
        wrong = client.get("/version/1/patch", headers={"Accept": "image/png"})
        assert wrong.status_code == 406


# --- dumps -----------------------------------------------------------------------------------


def test_a_dump_is_the_same_every_time_and_after_later_merges(source: Server) -> None:
    write(source, 6, blank=True)
    version = head(source)
    with source.client() as client:
        one = client.get(f"/version/{version}/dump")
        assert one.status_code == 200, one.text
        assert one.headers["content-type"] == "application/gzip"
        assert f'filename="ijkg-version-{version}.nq.gz"' in one.headers["content-disposition"]
        digest = hashlib.sha256(one.content).digest()
        assert one.headers["repr-digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
        assert one.headers["etag"] == f'"sha256-{digest.hex()}"'
        assert "immutable" in one.headers["cache-control"]
        sums = client.get(f"/version/{version}/dump.sha256").text.splitlines()
        assert sums[0] == f"{digest.hex()}  ijkg-version-{version}.nq.gz"
        nquads = gzip.decompress(one.content)
        assert sums[1] == f"{hashlib.sha256(nquads).hexdigest()}  ijkg-version-{version}.nq"
        assert b"comment 6" in nquads and b"_:c14n" in nquads
        lines = nquads.splitlines()
        assert lines == sorted(lines)
        write(source, 7)
        later = client.get(f"/version/{version}/dump")
        assert later.content == one.content
        assert b"comment 7" not in gzip.decompress(later.content)
        same = client.get(
            f"/version/{version}/dump", headers={"If-None-Match": one.headers["etag"]}
        )
        assert same.status_code == 304


def test_a_dump_that_is_not_there(source: Server) -> None:
    top = head(source)
    with source.client() as client:
        answer = client.get(f"/version/{top + 5}/dump")
        assert answer.status_code == 404
        assert f"versions 0 to {top} can be read" in answer.json()["detail"]
        assert client.get("/version/-1/dump").status_code == 400


def test_a_dump_hashes_the_same_after_a_restart(tmp_path: Path) -> None:
    server = serve(tmp_path)
    try:
        write(server, 1, blank=True)
        version = head(server)
        with server.client() as client:
            before = client.get(f"/version/{version}/dump").content
    finally:
        # the service alone: an external store behind it stays up, as it would
        server.process.terminate()
        server.process.wait(timeout=30)
    server = serve(tmp_path)
    try:
        write(server, 2)
        with server.client() as client:
            assert client.get(f"/version/{version}/dump").content == before
    finally:
        stop_server(server)


# --- the live stream -------------------------------------------------------------------------


class Listener:
    """Reads a stream in a thread: the events (id, item) as they come."""

    def __init__(self, server: Server, **headers: str) -> None:
        self.events: list[tuple[int, dict[str, object]]] = []
        self.comments = 0
        self.ended = threading.Event()
        self._client = httpx.Client(base_url=server.base_url, timeout=httpx.Timeout(30, read=60))
        self._headers = {"Accept": "text/event-stream", **headers}
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self._client.stream("GET", "/changes/feed/stream", headers=self._headers) as got:
                assert got.status_code == 200
                assert got.headers["content-type"].startswith("text/event-stream")
                event_id: int | None = None
                for line in got.iter_lines():
                    if line.startswith("id: "):
                        event_id = int(line[4:])
                    elif line.startswith("data: ") and event_id is not None:
                        self.events.append((event_id, json.loads(line[6:])))
                        event_id = None
                    elif line.startswith(":"):
                        self.comments += 1
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    def ids(self) -> list[int]:
        return [number for number, _ in self.events]

    def wait_for(self, count: int, timeout_s: float = 15) -> list[int]:
        deadline = time.monotonic() + timeout_s
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.ids()

    def close(self) -> None:
        self._client.close()
        self._thread.join(timeout=5)


def test_the_stream_resumes_without_losing_or_repeating_a_version(source: Server) -> None:
    start = head(source)
    listener = Listener(source, **{"Last-Event-ID": str(start)})
    try:
        time.sleep(0.5)
        write(source, 10)
        write(source, 11)
        seen = listener.wait_for(2)
        assert seen == [start + 1, start + 2]
        assert listener.events[-1][1]["id"] == f"https://w3id.org/ijkg/version/{start + 2}"
    finally:
        listener.close()
    # merges while no one listens
    write(source, 12)
    write(source, 13, blank=True)
    again = Listener(source, **{"Last-Event-ID": str(seen[-1])})
    try:
        assert again.wait_for(2) == [start + 3, start + 4]
        write(source, 14)
        assert again.wait_for(3) == [start + 3, start + 4, start + 5]
        time.sleep(1)
        assert again.ids() == [start + 3, start + 4, start + 5]  # nothing twice
    finally:
        again.close()
    from_query = Listener(source)  # no Last-Event-ID: from now on
    try:
        time.sleep(0.5)
        write(source, 15)
        assert from_query.wait_for(1) == [start + 6]
    finally:
        from_query.close()


def test_the_stream_refuses_a_version_it_cannot_resume_from(source: Server) -> None:
    top = head(source)
    with source.client() as client:
        ahead = client.get("/changes/feed/stream", headers={"Last-Event-ID": str(top + 10)})
        assert ahead.status_code == 404
        assert f"versions 1 to {top}" in ahead.json()["detail"]
        bad = client.get("/changes/feed/stream", params={"after": "soon"})
        assert bad.status_code == 400


def test_shutting_down_ends_the_streams(tmp_path: Path) -> None:
    server = serve(tmp_path)
    listener = Listener(server, **{"Last-Event-ID": "0"})
    try:
        assert listener.wait_for(1)  # the bundle's version
        started = time.monotonic()
        server.process.terminate()
        server.process.wait(timeout=20)
        assert time.monotonic() - started < 10
        assert listener.ended.wait(5)
    finally:
        listener.close()
        stop_server(server)


def test_a_quiet_stream_outlives_the_connection_deadlines(tmp_path: Path) -> None:
    env = {"IJKG_HEADER_TIMEOUT_S": "1", "IJKG_SEND_TIMEOUT_S": "1"}
    server = start_server(tmp_path / "store", tmp_path / "server.log", {**ENV, **env})
    listeners = [Listener(server, **{"Last-Event-ID": "1"}) for _ in range(3)]
    try:
        time.sleep(3)  # past both deadlines, with nothing to send
        write(server, 1)
        for listener in listeners:
            assert listener.wait_for(1) == [2]
        deadline = time.monotonic() + 20
        while listeners[0].comments == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert listeners[0].comments >= 1  # the heartbeat
        assert not any(listener.ended.is_set() for listener in listeners)
    finally:
        for listener in listeners:
            listener.close()
        stop_server(server)


def test_a_stream_hears_of_merges_made_through_any_service_process(tmp_path: Path) -> None:
    server = start_server(tmp_path / "store", tmp_path / "server.log", ENV, workers=2)
    try:
        start = head(server)
        listener = Listener(server, **{"Last-Event-ID": str(start)})
        try:
            for n in range(8):  # each on a new connection: some land on the other process
                write(server, n)
            assert listener.wait_for(8) == list(range(start + 1, start + 9))
        finally:
            listener.close()
    finally:
        stop_server(server)
