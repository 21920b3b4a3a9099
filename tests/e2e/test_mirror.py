"""``ijkg mirror --from URL DIR`` against a real ``ijkg serve``: after a run of merges, deletions
of blank nodes and a revert, and restarts of either side, the mirror holds the same quads as its
source under the same version (the same dump, byte for byte)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest

from ijkg.graph.io.mirror import write_seed
from tests.conftest import Server, start_server, stop_server

pytestmark = pytest.mark.slow  # real servers and commands

TOKEN = "mirror-writer-token"  # noqa: S105 - a test server's token
WRITE = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
THING = "https://example.org/mirror/thing"
VALUE = "https://example.org/mirror/value"
ENV = {"IJKG_FSYNC": "false", "IJKG_WRITE_TOKENS": f"tester={TOKEN}"}


def serve(root: Path) -> Server:
    root.mkdir(parents=True, exist_ok=True)
    return start_server(root / "store", root / "server.log", ENV)


def restart(server: Server) -> Server:
    """The same service again, on the same port and store (an external store stays up)."""
    server.process.terminate()
    server.process.wait(timeout=30)
    port = urlsplit(server.base_url).port
    return start_server(server.data_dir, server.log, ENV, port=port)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[list[Server]]:
    """The source service, in a list so that a test can replace it with its restarted self."""
    running = [serve(tmp_path / "source")]
    yield running
    stop_server(running[0])


def update(server: Server, text: str) -> str:
    with server.client() as client:
        answer = client.post("/update", content=text, headers=WRITE)
    assert answer.status_code == 200, answer.text
    change: str = answer.json()["id"]
    return change


def add(server: Server, n: int, *, blank: bool = True) -> str:
    """A merge: a thing with a value, and (unless not ``blank``) a blank node with another."""
    inner = f'; <{VALUE}> [ <{VALUE}> "inner {n}" ]' if blank else ""
    return update(server, f'INSERT DATA {{ <{THING}/{n}> <{VALUE}> "value {n}" {inner} }}')


def remove(server: Server, n: int | str) -> str:
    return update(
        server,
        f"DELETE {{ <{THING}/{n}> <{VALUE}> ?o . ?o <{VALUE}> ?x }} "
        f"WHERE {{ <{THING}/{n}> <{VALUE}> ?o OPTIONAL {{ ?o <{VALUE}> ?x }} }}",
    )


def revert(server: Server, change: str) -> None:
    with server.client() as client:
        answer = client.post(
            f"/changes/{change}/revert", headers={"Authorization": WRITE["Authorization"]}
        )
    assert answer.status_code == 200, answer.text


def head_of(server: Server) -> int:
    with server.client() as client:
        return int(client.get("/changes/feed").json()["version"])


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ijkg.service", *args]


def mirror_env() -> dict[str, str]:
    # The mirror is an embedded store whatever store the suite's pass puts services on.
    return {**os.environ, "IJKG_FSYNC": "false", "IJKG_STORE": "embedded", "COLUMNS": "200"}


def mirror_once(server: Server, directory: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command("mirror", "--from", server.base_url, str(directory), "--once"),
        capture_output=True,
        text=True,
        env=mirror_env(),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def local_dump(directory: Path, version: int, tmp: Path) -> bytes:
    target = tmp / f"mirror-{version}.nq.gz"
    done = subprocess.run(
        command(
            "export", "--version", str(version), "-o", str(target), "--data-dir", str(directory)
        ),
        capture_output=True,
        text=True,
        env=mirror_env(),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return target.read_bytes()


def assert_same(server: Server, directory: Path, tmp: Path) -> int:
    """The mirror is at the source's version and holds the same quads (the same dump)."""
    version = head_of(server)
    with server.client() as client:
        theirs = client.get(f"/version/{version}/dump")
    assert theirs.status_code == 200, theirs.text
    assert local_dump(directory, version, tmp) == theirs.content
    with pytest.raises(AssertionError):  # and no later version is there
        local_dump(directory, version + 1, tmp)
    return version


class Follower:
    """``ijkg mirror`` following a source, its stderr read in a thread."""

    def __init__(self, server: Server, directory: Path) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command("mirror", "--from", server.base_url, str(directory)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=mirror_env(),
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            assert self.process.poll() is None, "\n".join(self.lines)
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen in: " + "\n".join(self.lines))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self._thread.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()


def test_a_mirror_equals_its_source_after_merges_reverts_and_restarts(
    source: list[Server], tmp_path: Path
) -> None:
    directory = tmp_path / "mirror"
    changes = [add(source[0], n) for n in range(3)]
    remove(source[0], 0)  # blank nodes the mirror must find under the source's labels
    revert(source[0], changes[1])

    # a new mirror catches up from version 0
    done = mirror_once(source[0], directory)
    version = assert_same(source[0], directory, tmp_path)
    assert f"at version {version}" in done.stdout

    # following: merges and a revert arrive as they are made
    follower = Follower(source[0], directory)
    try:
        follower.wait_for(f"at version {version}; following")
        changes.append(add(source[0], 3, blank=False))
        revert(source[0], changes[-1])
        remove(source[0], 2)
        follower.wait_for(f"mirrored version {head_of(source[0])}")
        # the source restarts: the mirror reconnects and misses nothing
        source[0] = restart(source[0])
        add(source[0], 4)
        changes.append(add(source[0], 5, blank=False))
        follower.wait_for(f"mirrored version {head_of(source[0])}")
    finally:
        follower.stop()
    assert follower.process.returncode == 0, "\n".join(follower.lines)
    assert_same(source[0], directory, tmp_path)

    # the mirror restarts after merges it missed
    remove(source[0], 4)
    revert(source[0], changes[-1])
    mirror_once(source[0], directory)
    assert_same(source[0], directory, tmp_path)


def test_a_mirror_written_to_by_another_stops(source: list[Server], tmp_path: Path) -> None:
    directory = tmp_path / "mirror"
    add(source[0], 1)
    mirror_once(source[0], directory)
    # someone loads a file into the mirror's store: it is no longer the source's
    extra = tmp_path / "extra.ttl"
    extra.write_text(f'<{THING}/local> <{VALUE}> "local" .\n')
    loaded = subprocess.run(
        command("load", str(extra), "--data-dir", str(directory)),
        capture_output=True,
        text=True,
        env=mirror_env(),
        timeout=300,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    add(source[0], 2)
    add(source[0], 3)
    failed = subprocess.run(
        command("mirror", "--from", source[0].base_url, str(directory), "--once"),
        capture_output=True,
        text=True,
        env=mirror_env(),
        timeout=300,
        check=False,
    )
    assert failed.returncode == 1
    assert "not a mirror of this source" in failed.stderr, failed.stderr


def test_a_mirror_of_a_source_that_is_not_there(tmp_path: Path) -> None:
    failed = subprocess.run(
        command("mirror", "--from", "http://127.0.0.1:9", str(tmp_path / "m"), "--once"),
        capture_output=True,
        text=True,
        env=mirror_env(),
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in failed.stderr
    assert not (tmp_path / "m" / "store.json").exists()


@pytest.mark.embedded  # a store on disk whose older logs are gone
def test_a_mirror_of_a_source_whose_history_starts_later_starts_from_its_dump(
    tmp_path: Path,
) -> None:
    # A store whose history starts at version 5 (its older logs are gone): its snapshot there.
    root = tmp_path / "source"
    graph = ox.NamedNode("https://example.org/mirror/graph")
    value = ox.NamedNode(VALUE)
    kept = [
        ox.Quad(ox.NamedNode(f"{THING}/old{i}"), value, ox.Literal(f"old {i}"), graph)
        for i in range(3)
    ]
    inner = ox.BlankNode("kept0")  # a blank node from before the history, removed after it
    kept += [
        ox.Quad(ox.NamedNode(f"{THING}/old0"), value, inner, graph),
        ox.Quad(inner, value, ox.Literal("inner old 0"), graph),
    ]
    write_seed(root / "store", 5, kept)
    server = serve(root)
    try:
        with server.client() as client:
            feed = client.get("/changes/feed").json()
        assert feed["oldestVersion"] == 5
        directory = tmp_path / "mirror"
        mirror_once(server, directory)
        assert_same(server, directory, tmp_path)
        add(server, 1)
        old = kept[0]
        update(
            server,
            f"DELETE DATA {{ GRAPH {graph} {{ {old.subject} {old.predicate} {old.object} }} }}",
        )
        remove(server, "old0")  # the blank node, named by the source's store in the patch
        mirror_once(server, directory)
        assert_same(server, directory, tmp_path)
    finally:
        stop_server(server)
