"""Shared fixtures: real stores on disk (driven from sync tests through a portal) and a real
uvicorn server on 127.0.0.1 started the way users start it (``ijkg serve``).

The store under test is the embedded one, or — with ``IJKG_TEST_STORE=sparql`` — an external
store: a real Oxigraph server on 127.0.0.1 per store directory, which every fixture below (stores
and ``ijkg serve`` alike) then uses instead. ``.ci/run`` runs the whole suite both ways. Tests of
the embedded engine itself are marked ``embedded`` and skipped on an external store.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ijkg.graph.core.settings import Settings
from ijkg.graph.io.bootstrap import ensure_bundle
from ijkg.graph.store import Store, open_store
from tests.browser import Browser, launch, require_browser
from tests.canary import Canary
from tests.net import free_port
from tests.oxigraph_server import OxigraphServer, start_oxigraph

T = TypeVar("T")


class SyncStore:
    """A store driven from synchronous test code: ``s.run(store.select, query)``."""

    def __init__(self, portal: BlockingPortal, store: Store, settings: Settings) -> None:
        self.portal = portal
        self.store = store
        self.settings = settings

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        return self.portal.call(lambda: fn(*args, **kwargs))

    def select(self, sparql: str) -> list[dict[str, Any]]:
        return self.run(self.store.select, sparql)

    def close(self) -> None:
        self.portal.call(self.store.close)


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


TEST_STORE = os.environ.get("IJKG_TEST_STORE", "embedded")
#: The every-entity checks ask for every entity by default; CI's second pass, on an external
#: store, takes every third (IJKG_ENTITY_EVERY=3): the first pass has checked all of them.
ENTITY_EVERY = int(os.environ.get("IJKG_ENTITY_EVERY", "1"))
_EXTERNAL: dict[Path, OxigraphServer] = {}


def external_store(
    data_dir: Path, *, query_timeout_s: float = 30, location: Path | None = None
) -> OxigraphServer:
    """The Oxigraph server that holds the store of ``data_dir`` (started on first use, in
    memory or on disk at ``location``, stopping any query after ``query_timeout_s``)."""
    key = data_dir.resolve()
    if key not in _EXTERNAL:
        _EXTERNAL[key] = start_oxigraph(location, query_timeout_s=query_timeout_s)
    return _EXTERNAL[key]


def release_external(data_dir: Path) -> None:
    server = _EXTERNAL.pop(data_dir.resolve(), None)
    if server is not None:
        server.stop()


def external_settings(data_dir: Path) -> dict[str, str]:
    """The ``IJKG_*`` settings that point at ``data_dir``'s store (nothing for embedded)."""
    if TEST_STORE != "sparql":
        return {}
    server = external_store(data_dir)
    return {
        "IJKG_STORE": "sparql",
        "IJKG_SPARQL_QUERY_URL": server.query_url,
        "IJKG_SPARQL_UPDATE_URL": server.update_url,
    }


def store_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "query_workers": 2, "fsync": False}
    external = {} if overrides.get("store") == "memory" else external_settings(data_dir)
    if external:
        values.update(
            store="sparql",
            sparql_query_url=external["IJKG_SPARQL_QUERY_URL"],
            sparql_update_url=external["IJKG_SPARQL_UPDATE_URL"],
        )
    values.update(overrides)
    return Settings(**values)


#: Fixtures that start real processes: a test that uses one (directly or through another fixture)
#: is ``slow`` and left out of the fast tier (``pytest -m "not slow"``).
SLOW_FIXTURES = frozenset({"server", "browser", "canary", "open_test_store"})
#: Folders whose every test runs real servers or processes (hostile clients, crashes, W3C suites
#: over HTTP, benchmarks).
SLOW_FOLDERS = frozenset({"hardening", "hostile", "conformance", "bench"})


def is_slow(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(fixtures & SLOW_FIXTURES) or item.path.parent.name in SLOW_FOLDERS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)
    if TEST_STORE == "embedded":
        return
    skip = pytest.mark.skip(reason="tests the embedded engine itself, not an external store")
    for item in items:
        if item.get_closest_marker("embedded"):
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _stop_external_stores() -> Iterator[None]:
    yield
    for data_dir in list(_EXTERNAL):
        release_external(data_dir)


def _store_opener(
    portal: BlockingPortal, tmp_path: Path, **fixed: Any
) -> Iterator[Callable[..., SyncStore]]:
    opened: list[SyncStore] = []

    def factory(
        data_dir: Path | None = None, *, bundle: bool = False, **overrides: Any
    ) -> SyncStore:
        directory = data_dir or tmp_path / f"store-{len(opened)}"
        settings = store_settings(directory, **overrides, **fixed)
        store = portal.call(open_store, settings)
        sync = SyncStore(portal, store, settings)
        opened.append(sync)
        if bundle:
            sync.run(ensure_bundle, store)
        return sync

    yield factory
    for sync in opened:
        sync.close()
        release_external(sync.settings.data_dir)
    # Anything the stores left open (a socket, a pipe) is found now and reported by this test,
    # not by whichever later test the garbage collector happens to run in.
    gc.collect()


@pytest.fixture
def open_test_store(portal: BlockingPortal, tmp_path: Path) -> Iterator[Callable[..., SyncStore]]:
    """Open stores on fresh directories (or a given one); all are closed after the test."""
    yield from _store_opener(portal, tmp_path)


@pytest.fixture
def open_memory_store(portal: BlockingPortal, tmp_path: Path) -> Iterator[Callable[..., SyncStore]]:
    """Open in-process stores (``IJKG_STORE=memory``): no process, nothing on disk."""
    yield from _store_opener(portal, tmp_path, store="memory")


@pytest.fixture(params=["memory", pytest.param("real", marks=pytest.mark.slow)])
def open_any_store(request: pytest.FixtureRequest) -> Callable[..., SyncStore]:
    """Like ``open_test_store``, for tests of the logic above the store: each runs on the
    in-process store (fast tier) and on the suite's real store (full suite)."""
    name = "open_memory_store" if request.param == "memory" else "open_test_store"
    opener: Callable[..., SyncStore] = request.getfixturevalue(name)
    return opener


@pytest.fixture(scope="session", params=["memory", pytest.param("real", marks=pytest.mark.slow)])
def bundled_store(
    request: pytest.FixtureRequest, portal: BlockingPortal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SyncStore]:
    """One store holding the bundled graph, shared by read-only tests: each test runs on the
    in-process store (fast tier) and on the suite's real store (full suite)."""
    memory = {"store": "memory"} if request.param == "memory" else {}
    settings = store_settings(tmp_path_factory.mktemp("bundled"), **memory)
    store = portal.call(open_store, settings)
    sync = SyncStore(portal, store, settings)
    sync.run(ensure_bundle, store)
    yield sync
    sync.close()


@dataclass
class Server:
    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60, **kwargs)

    def alive(self) -> bool:
        return self.process.poll() is None


def run_ijkg(
    *args: str, data_dir: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``ijkg`` command on the store of ``data_dir`` (on the external store that holds it
    in the external-store pass; fsync off, wide help text)."""
    env = {
        **os.environ,
        **external_settings(data_dir),
        "IJKG_DATA_DIR": str(data_dir),
        "IJKG_FSYNC": "false",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "ijkg.service", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=300,
        check=False,
    )


def start_server(
    data_dir: Path,
    log: Path,
    env: dict[str, str] | None = None,
    *,
    workers: int = 1,
    through_shell: bool = False,
    port: int | None = None,
) -> Server:
    """``ijkg serve`` on ``data_dir``, up and answering; one service process unless asked for
    more (tests read one process's state: its metrics, its worker pids). ``through_shell``: the
    process is a shell that started the command in the background and waits for it. ``port``:
    this one (a server restarted where its clients know it) rather than a free one."""
    port = port or free_port()
    full_env = {**os.environ, **external_settings(data_dir), **(env or {})}
    command = [
        sys.executable,
        "-m",
        "ijkg.service",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--workers",
        str(workers),
    ]
    if through_shell:
        command = ["sh", "-c", '"$@" & wait', "sh", *command]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    server = Server(f"http://127.0.0.1:{port}", data_dir, process, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ijkg serve exited: {log.read_text()}")
        try:
            if httpx.get(server.base_url + "/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"ijkg serve did not come up: {log.read_text()}")


def stop_server(server: Server) -> None:
    """Stop the service and the external store behind it, if any: an Oxigraph server may still be
    working on a query the service gave up on (it cannot stop one that yields nothing before its
    time limit), and left running it would slow every later test."""
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    release_external(server.data_dir)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``ijkg serve`` on 127.0.0.1 with the bundled graph, shared by read-only tests."""
    root = tmp_path_factory.mktemp("server")
    running = start_server(root / "store", root / "server.log", {"IJKG_FSYNC": "false"})
    yield running
    stop_server(running)


class _InProcessTransport(httpx.BaseTransport):
    """A synchronous transport onto an app running in the portal's event loop, through
    ``httpx.ASGITransport``: the body is sent whole and the answer's bytes come back as they were
    on the wire (still compressed, say), for ``httpx.Client`` to decode as it would a server's."""

    def __init__(self, portal: BlockingPortal, app: Any) -> None:
        self.portal = portal
        self.asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def send() -> httpx.Response:
            response = await self.asgi.handle_async_request(request)
            try:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=httpx.ByteStream(raw),
                extensions=response.extensions,
            )

        return self.portal.call(send)


@dataclass
class InProcess:
    """The service in this test process on the in-process store (``IJKG_STORE=memory``), reached
    through ``httpx.ASGITransport``: what ``Server`` is for a real ``ijkg serve``, without the
    server (no sockets, no uvicorn, no store engine)."""

    portal: BlockingPortal
    app: Any
    settings: Settings
    base_url: str = "http://127.0.0.1:8000"

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            timeout=60,
            transport=_InProcessTransport(self.portal, self.app),
            **kwargs,
        )


#: A service under test: a real server or the app in this process (the same tests run on both).
Service = Server | InProcess


def start_in_process(
    portal: BlockingPortal, data_dir: Path, **overrides: Any
) -> Iterator[InProcess]:
    """Start the app in this process on a fresh in-process store (the bundle loaded); stops it
    (the lifespan's shutdown, validation processes and store closed) when resumed."""
    from ijkg.service.app import create_app

    settings = Settings(store="memory", data_dir=data_dir, fsync=False, **overrides)
    app = create_app(settings)
    with portal.wrap_async_context_manager(app.router.lifespan_context(app)):
        yield InProcess(portal, app, settings)


@pytest.fixture(scope="session")
def in_process(
    portal: BlockingPortal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InProcess]:
    """The app in this process with the bundled graph, shared by read-only tests (fast tier)."""
    yield from start_in_process(portal, tmp_path_factory.mktemp("in-process"))


@pytest.fixture(
    scope="session", params=["in-process", pytest.param("server", marks=pytest.mark.slow)]
)
def service(request: pytest.FixtureRequest) -> Service:
    """Each read-only HTTP test twice: on the app in this process (fast tier) and on a real
    ``ijkg serve`` (full suite)."""
    running: Service = request.getfixturevalue(
        "in_process" if request.param == "in-process" else "server"
    )
    return running


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless Chromium with a fresh profile (``tests/browser.py``): skipped without Chromium,
    failed instead when ``IJKG_REQUIRE_BROWSER=1``."""
    chromium, driver = require_browser()
    with launch(chromium, driver) as running:
        yield running


@pytest.fixture
def canary() -> Iterator[Canary]:
    """A listener on 127.0.0.1 that counts connections (``tests/canary.py``)."""
    listener = Canary()
    yield listener
    listener.close()
