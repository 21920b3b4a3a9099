"""Per-client fairness on a real server, with real sockets from several client addresses
(127.0.0.2 and 127.0.0.3 are loopback on Linux too): one address cannot take every query worker or
every connection, and another address is served meanwhile. 127.0.0.1 plays a trusted reverse
proxy: it is not capped itself, and the clients it names in X-Forwarded-For are."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Server, start_server, stop_server

PER_CLIENT_CONNECTIONS = 8
SLOWLORIS = 20
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?o ?q }"
GREEDY = "127.0.0.2"
OTHER = "127.0.0.3"
PROXY = "127.0.0.1"


@pytest.fixture(scope="module")
def fair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server on the default HTTP implementation (httptools)."""
    yield from fair_server(tmp_path_factory.mktemp("fair"), {})


@pytest.fixture(scope="module")
def fair_h11(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same on h11, for the connection cap (each protocol keeps its own)."""
    yield from fair_server(tmp_path_factory.mktemp("fair-h11"), {"IJKG_HTTP": "h11"})


def fair_server(root: Path, http: dict[str, str]) -> Iterator[Server]:
    env = {
        "IJKG_FSYNC": "false",
        "IJKG_QUERY_WORKERS": "2",
        "IJKG_QUERY_TIMEOUT_S": "3",
        "IJKG_MAX_QUERIES_PER_CLIENT": "1",
        "IJKG_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT_CONNECTIONS),
        "IJKG_HEADER_TIMEOUT_S": "60",
        **http,
    }
    server = start_server(root / "store", root / "server.log", env)
    yield server
    stop_server(server)


#: The connection tests run on either HTTP implementation.
ON_EITHER = pytest.mark.parametrize("on", ["fair", "fair_h11"])


def client_from(server: Server, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.base_url, timeout=60, transport=transport)


def ask(server: Server, query: str, address: str = GREEDY, **headers: str) -> httpx.Response:
    with client_from(server, address) as client:
        return client.get("/sparql", params={"query": query}, headers=headers)


def problem_type(answer: httpx.Response) -> str:
    assert answer.headers["content-type"] == "application/problem+json", answer.text[:300]
    return str(answer.json()["type"]).rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    "greedy",
    [{"address": GREEDY}, {"address": PROXY, "X-Forwarded-For": "203.0.113.9"}],
    ids=["direct", "behind-a-proxy"],
)
def test_one_address_cannot_take_every_query_worker(fair: Server, greedy: dict[str, str]) -> None:
    address = greedy.pop("address")
    with ThreadPoolExecutor(max_workers=3) as pool:
        running = [pool.submit(ask, fair, CARTESIAN, address, **greedy) for _ in range(3)]
        others = []
        while not all(f.done() for f in running):
            answer = ask(fair, "ASK { ?s ?p ?o }", OTHER)
            others.append((answer.status_code, answer.json().get("boolean")))
        answers = [f.result() for f in running]
    # The other address was answered all along; the greedy one had one query at a time.
    assert others and all(other == (200, True) for other in others)
    kinds = sorted((a.status_code, problem_type(a)) for a in answers)
    assert (429, "too-many-requests") in kinds
    assert all(k in ((429, "too-many-requests"), (503, "query-timeout")) for k in kinds), kinds
    for answer in answers:
        assert int(answer.headers["retry-after"]) > 0
        if answer.status_code == 429:
            assert "IJKG_MAX_QUERIES_PER_CLIENT" in answer.json()["detail"]
    # Its slot is free again once its query is over.
    assert ask(fair, "ASK { ?s ?p ?o }", address, **greedy).status_code == 200


def test_a_validation_counts_against_the_same_cap(fair: Server) -> None:
    validation = None
    for _attempt in range(5):  # until the long query got the address's slot (a quick one may)
        with ThreadPoolExecutor(max_workers=1) as pool, client_from(fair, GREEDY) as client:
            running = pool.submit(ask, fair, CARTESIAN)
            # A head start for the long query. A quick query sent at the same moment takes the
            # slot first and has the long one refused, which costs an attempt; on an external
            # store (a quick query holds the slot for a round trip to the store) five such
            # collisions in a row once failed a run.
            wait([running], timeout=0.5)
            while validation is None and not running.done():
                # Once a quick query is refused, the long one holds the slot: validate now.
                if client.get("/sparql", params={"query": "ASK {}"}).status_code == 429:
                    validation = client.post(
                        "/validate", content=b"", headers={"Content-Type": "text/turtle"}
                    )
            running.result()
        if validation is not None:
            break
    assert validation is not None
    assert validation.status_code == 429
    assert problem_type(validation) == "too-many-requests"


def _read_answer(sock: socket.socket) -> bytes:
    data = b""
    sock.settimeout(30)
    while chunk := sock.recv(65536):
        data += chunk
    return data


def slow_sockets(server: Server, address: str, count: int) -> list[socket.socket]:
    """``count`` connections from ``address``, each with a request head that never ends."""
    port = urlsplit(server.base_url).port
    assert port is not None
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(
            ("127.0.0.1", port), timeout=30, source_address=(address, 0)
        )
        sockets.append(sock)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sockets


def finish(sock: socket.socket) -> bytes:
    sock.sendall(b"Connection: close\r\n\r\n")
    return _read_answer(sock)


@ON_EITHER
def test_a_slowloris_from_one_address_leaves_connections_for_others(
    on: str, request: pytest.FixtureRequest
) -> None:
    fair: Server = request.getfixturevalue(on)
    sockets = slow_sockets(fair, GREEDY, SLOWLORIS)
    try:
        # The connections past the cap are answered and closed at once; wait for all of them.
        refused: dict[socket.socket, bytes] = {}
        expected = SLOWLORIS - PER_CLIENT_CONNECTIONS
        while len(refused) < expected:
            ready, _, _ = select.select([s for s in sockets if s not in refused], [], [], 30)
            assert ready, f"only {len(refused)} of {expected} connections were refused"
            for sock in ready:
                refused[sock] = _read_answer(sock)
        for answer in refused.values():
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 429 "), answer[:200]
            assert b"Retry-After: 2" in head and b"Connection: close" in head
            problem = json.loads(body)
            assert problem["type"].endswith("/too-many-connections")
            assert "IJKG_MAX_CONNECTIONS_PER_CLIENT" in problem["detail"]
        # Another address is served while the slow ones hold their connections.
        with client_from(fair, OTHER) as client:
            assert client.get("/health").status_code == 200
        # The connections within the cap were kept: each gets its answer once its head is done.
        held = [s for s in sockets if s not in refused]
        assert len(held) == PER_CLIENT_CONNECTIONS
        for sock in held:
            assert finish(sock).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in sockets:
            sock.close()
    # And the address may connect again once its connections are closed.
    with client_from(fair, GREEDY) as client:
        assert client.get("/health").status_code == 200


@ON_EITHER
def test_a_trusted_proxy_is_not_capped(on: str, request: pytest.FixtureRequest) -> None:
    fair: Server = request.getfixturevalue(on)
    sockets = slow_sockets(fair, PROXY, PER_CLIENT_CONNECTIONS + 4)
    try:
        for sock in sockets:
            assert finish(sock).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in sockets:
            sock.close()
