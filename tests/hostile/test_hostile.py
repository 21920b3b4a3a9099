"""Hostile requests against a real server: each case (``cases/*.toml``, see ``cases.py``) is sent
as an attacker would send it and must get its safe answer; after every case the service is alive,
its processes hold no more memory than their caps, the store answers, the store is unchanged
where the request was refused, nothing reached the canary listener, and no answer ever held the
secret file's token.

The server runs with tight limits (``SERVER_ENV``) so that the slow cases are quick: a query stops
after 2 s, a client has 2 s to send a request head or a body and to take its answer.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.canary import Canary
from tests.conftest import TEST_STORE, Server, external_store, start_server, stop_server
from tests.hostile.cases import CATEGORIES, Case, expand, joined, load_cases
from tests.hostile.procs import usage
from tests.oxigraph_server import OxigraphServer

WRITER = "hostile-writer-token"
ADMIN = "hostile-admin-token"
TIMEOUT_S = 2.0  # query, request head, request body, unread answer
SERVER_ENV = {
    "IJKG_FSYNC": "false",
    "IJKG_QUERY_TIMEOUT_S": str(TIMEOUT_S),
    "IJKG_QUERY_WORKERS": "2",
    "IJKG_MAX_CONCURRENT_QUERIES": "4",
    "IJKG_QUERY_MEMORY_MB": "128",
    "IJKG_MAX_BODY_BYTES": str(2 * 1024 * 1024),
    "IJKG_MAX_CHANGE_QUADS": "20000",
    "IJKG_VALIDATE_MEMORY_MB": "256",
    "IJKG_HEADER_TIMEOUT_S": str(TIMEOUT_S),
    "IJKG_BODY_TIMEOUT_S": str(TIMEOUT_S),
    "IJKG_SEND_TIMEOUT_S": str(TIMEOUT_S),
    "IJKG_MAX_CONNECTIONS": "48",
    "IJKG_WRITE_TOKENS": f"writer={WRITER}",
    "IJKG_ADMIN_TOKENS": f"admin={ADMIN}",
    "IJKG_LOG_FORMAT": "json",
}
#: Resident memory each process may hold after any case. The store holds the bundled graph
#: (~11k quads); a query may use 128 MB more in its worker, and bodies are capped at 2 MiB.
MEMORY_CAP_MB = {"service": 400, "engine": 300, "worker": 300, "validator": 400}
#: Time a timeout may take beyond its limit (the event loop's timer, a loaded CI machine).
GRACE_S = 1.5
PROBLEM = "https://w3id.org/ijkg/problems/"
CASES = load_cases()


@dataclass
class Target:
    """The server under attack, and what the cases may refer to."""

    server: Server
    canary: Canary
    secret: str
    fill: dict[str, str]
    oxigraph: OxigraphServer | None  # the external store, on that pass
    peaks: dict[str, float] = field(default_factory=dict)  # RSS after a case, by role

    def client(self) -> httpx.Client:
        return self.server.client()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The server on the default HTTP implementation (httptools)."""
    yield from attacked(tmp_path_factory.mktemp("hostile"), {})


@pytest.fixture(scope="module")
def h11_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The same server on the other HTTP implementation, h11, for the connection guards."""
    yield from attacked(tmp_path_factory.mktemp("hostile-h11"), {"IJKG_HTTP": "h11"})


def attacked(root: Path, env: dict[str, str]) -> Iterator[Target]:
    secret = "ijkg-secret-" + secrets.token_hex(8)
    secret_file = root / "secret.ttl"
    # Valid Turtle, so that anything that loaded the file would answer the token.
    secret_file.write_text(f'<urn:x-secret:s> <urn:x-secret:p> "{secret}" .\n')
    oxigraph = None
    if TEST_STORE == "sparql":
        # The external store stops its own queries at the same limit (else they run on there);
        # on disk, so that it can be restarted (see settle_external_store).
        oxigraph = external_store(
            root / "store", query_timeout_s=TIMEOUT_S + 1, location=root / "oxigraph"
        )
    canary = Canary()
    server = start_server(root / "store", root / "server.log", {**SERVER_ENV, **env})
    fill = {
        "canary": f"http://127.0.0.1:{canary.port}",
        "self": server.base_url,
        "secret_path": str(secret_file),
        "secret_url": secret_file.as_uri(),
        "secret": secret,
    }
    with server.client() as client:
        # A legitimate write first (a control, and the history is not empty from then on).
        control = client.post(
            "/store",
            params={"graph": "https://w3id.org/ijkg/graph/hostile"},
            content='<https://example.org/control> <https://example.org/p> "a fair write" .',
            headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {WRITER}"},
        )
        assert control.status_code in (200, 201), control.text
    yield Target(server, canary, secret, fill, oxigraph)
    stop_server(server)
    canary.close()
    log = (root / "server.log").read_text(errors="replace")
    assert WRITER not in log and ADMIN not in log, "a token reached the log"


# --- what holds after every case ------------------------------------------------------------------


@dataclass(frozen=True)
class StoreState:
    version: int
    quads: int


def store_state(target: Target) -> StoreState:
    with target.client() as client:
        health = client.get("/health/ready")
    assert health.status_code == 200, health.text
    store = health.json()["store"]
    return StoreState(int(store["version"]), int(store["quads"]))


def settle(target: Target) -> dict[str, Any]:
    """Wait (a bounded while) until the service is healthy again: a query worker killed by a
    case is replaced in milliseconds, a slow client's connection closes at its deadline."""
    deadline = time.monotonic() + 20
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        with target.client() as client:
            response = client.get("/health/ready")
        body = response.json()
        if response.status_code == 200 and body["status"] == "ok":
            return body
        time.sleep(0.2)
    raise AssertionError(f"the service did not become healthy again: {body}")


def check_invariants(target: Target, case: Case, before: StoreState) -> None:
    assert target.server.alive(), f"the service died on {case.name}"
    settle(target)
    with target.client() as client:
        answer = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert answer.status_code == 200 and answer.json()["boolean"] is True, answer.text
    after = store_state(target)
    if not case.changes:
        assert after == before, f"{case.name} changed the store: {before} -> {after}"
    for query in case.after.get("ask_false", []):
        assert not ask(target, expand(query, target.fill)), f"{case.name}: {query}"
    for query in case.after.get("ask_true", []):
        assert ask(target, expand(query, target.fill)), f"{case.name}: {query}"
    processes = usage(target.server.process.pid)
    roles = {p.role for p in processes}
    assert roles >= ({"service", "engine", "worker"} if TEST_STORE == "embedded" else {"service"})
    for process in processes:
        cap = MEMORY_CAP_MB[process.role]
        target.peaks[process.role] = max(target.peaks.get(process.role, 0.0), process.rss_mb)
        assert process.rss_mb < cap, f"{case.name}: {process} is over {cap} MB"
    assert target.canary.connections == 0, f"{case.name} reached the canary"


def ask(target: Target, query: str) -> bool:
    with target.client() as client:
        answer = client.get("/sparql", params={"query": query})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["boolean"])


# --- what a case expects of an answer -------------------------------------------------------------


@dataclass
class Answer:
    status: int
    content_type: str
    text: str
    elapsed_s: float = 0.0
    closed: bool = False

    def json(self) -> Any:
        return json.loads(self.text)


def check_answer(target: Target, case: Case, answer: Answer) -> None:
    expect = case.expect
    where = f"{case.name} ({case.source}): {answer.status} {answer.text[:600]}"
    statuses = expect.get("status_in") or [expect["status"]]
    assert answer.status in statuses, where
    assert target.secret not in answer.text, f"{case.name} answered the secret"
    problem = expect.get("problem")
    problems = expect.get("problem_in") or ([problem] if problem else [])
    if problems:
        assert answer.content_type.startswith("application/problem+json"), where
        body = answer.json()
        assert body["type"] in [PROBLEM + p for p in problems], where
        assert body["status"] == answer.status, where
        assert body.get("requestId"), where
    if "detail" in expect:
        assert expect["detail"].lower() in answer.json()["detail"].lower(), where
    for text in expect.get("body_has", []):
        assert expand(text, target.fill) in answer.text, where
    for text in expect.get("body_lacks", []):
        assert expand(text, target.fill) not in answer.text, where
    if "rows" in expect:
        assert len(answer.json()["results"]["bindings"]) == expect["rows"], where
    if "boolean" in expect:
        assert answer.json()["boolean"] is expect["boolean"], where
    for path, value in expect.get("json", {}).items():
        assert dig(answer.json(), path) == value, f"{where}: {path}"


def dig(data: Any, path: str) -> Any:
    for key in path.split("."):
        data = data[int(key)] if isinstance(data, list) else data[key]
    return data


# --- drivers: how a case's request is made --------------------------------------------------------


def auth_headers(request: dict[str, Any]) -> dict[str, str]:
    token = {"writer": WRITER, "admin": ADMIN, "wrong": "not-a-token"}.get(request.get("auth", ""))
    return {"Authorization": f"Bearer {token}"} if token else {}


def http_request(target: Target, request: dict[str, Any]) -> Answer:
    request = expand(request, target.fill)
    params = dict(request.get("params", {}))
    for name, parts in request.get("params_parts", {}).items():
        params[name] = joined(parts)
    body: bytes | None = None
    encoding = request.get("encoding", "utf-8")
    if "body" in request:
        body = request["body"].encode(encoding, "surrogatepass")
    elif "body_parts" in request:
        body = joined(request["body_parts"]).encode(encoding, "surrogatepass")
    elif "body_hex" in request:
        body = bytes.fromhex(request["body_hex"])
    headers = {**request.get("headers", {}), **auth_headers(request)}
    headers.update({f"X-Filler-{i}": str(i) for i in range(int(request.get("filler_headers", 0)))})
    path = joined(request["path_parts"]) if "path_parts" in request else request["path"]
    content: bytes | Iterator[bytes] | None = body
    if body is not None and request.get("chunked"):
        # Sent in pieces with no length declared (Transfer-Encoding: chunked).
        content = (body[i : i + 65536] for i in range(0, len(body), 65536))
    started = time.monotonic()
    with target.client() as client:
        response = client.request(
            request.get("method", "GET"),
            path,
            params=params or None,
            content=content,
            headers=headers,
        )
    return Answer(
        response.status_code,
        response.headers.get("content-type", ""),
        response.text,
        time.monotonic() - started,
    )


def connect(target: Target, receive_buffer: int | None = None) -> socket.socket:
    host, port = target.server.base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((host, int(port)))
    return sock


def read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, bool, float]:
    """Everything the server sends until it closes the connection (or ``limit_s`` passes)."""
    started = time.monotonic()
    data = b""
    sock.settimeout(0.2)
    while time.monotonic() - started < limit_s:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data, True, time.monotonic() - started
        if not chunk:
            return data, True, time.monotonic() - started
        data += chunk
    return data, False, time.monotonic() - started


def parse_raw(data: bytes, closed: bool, elapsed: float) -> Answer:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    content_type = next(
        (
            line.split(":", 1)[1].strip()
            for line in lines
            if line.lower().startswith("content-type")
        ),
        "",
    )
    return Answer(status, content_type, body.decode("utf-8", "replace"), elapsed, closed)


def raw_bytes(request: dict[str, Any], fill: dict[str, str]) -> bytes:
    raw = request["raw"] if "raw" in request else joined(request["raw_parts"])
    return expand(raw, fill).replace("\n", "\r\n").encode("utf-8", "surrogatepass")


def raw_request(target: Target, request: dict[str, Any]) -> Answer:
    sock = connect(target)
    try:
        sock.sendall(raw_bytes(request, target.fill))
        data, closed, elapsed = read_until_closed(sock, 15)
    finally:
        sock.close()
    return parse_raw(data, closed, elapsed)


def concurrent_requests(target: Target, case: Case) -> list[Answer]:
    copies = int(case.request["copies"])
    with ThreadPoolExecutor(max_workers=copies) as pool:
        return list(pool.map(lambda _: http_request(target, case.request), range(copies)))


def slow_client(target: Target, case: Case) -> list[Answer]:
    """``connections`` clients at once, each sending ``head`` (and then ``body``) a byte at a
    time every ``interval_s`` (``idle``: nothing at all; ``unread``: the whole request, then
    never reading the answer), while the service must go on answering others."""
    request = case.request
    plan = request["plan"]
    interval = float(request.get("interval_s", 0.2))
    count = int(request.get("connections", 1))
    head = raw_bytes({"raw": request.get("head", "")}, target.fill)
    body = raw_bytes({"raw": request.get("body", "")}, target.fill)
    answers: list[Answer] = []
    lock = threading.Lock()

    def one() -> None:
        sock = connect(target, receive_buffer=4096 if plan == "unread" else None)
        started = time.monotonic()
        try:
            if plan == "unread":
                sock.sendall(head + body)
                time.sleep(float(request["stall_s"]))  # take nothing of the answer meanwhile
            else:
                if plan == "body":
                    sock.sendall(head)
                trickle = head if plan == "head" else body if plan == "body" else b""
                sock.settimeout(interval)
                for byte in trickle:
                    try:
                        sock.send(bytes([byte]))
                        if sock.recv(1, socket.MSG_PEEK):
                            break  # the server answered: stop sending
                    except TimeoutError:
                        continue
                    except (BrokenPipeError, ConnectionResetError):
                        break
            data, closed, _ = read_until_closed(sock, 20)
        finally:
            sock.close()
        answer = parse_raw(data, closed, time.monotonic() - started)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(min(0.5, TIMEOUT_S / 2))
    during = request.get("meanwhile_status")
    if during is not None:
        # While the slow clients hold their connections, others are answered as said.
        with target.client() as client:
            assert client.get("/health").status_code == during
    for thread in threads:
        thread.join(60)
    return answers


# --- the tests ------------------------------------------------------------------------------------


def test_the_cases_were_found_and_every_category_has_some() -> None:
    assert len(CASES) >= 100
    counts = {category: sum(c.category == category for c in CASES) for category in CATEGORIES}
    assert all(n >= 3 for n in counts.values()), counts
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"{len(CASES)} cases as data" in readme, "the README says how many cases there are"


#: The cases the HTTP protocol answers itself (its guards: deadlines, framing, head size), which
#: run on h11 too: every slow client, every smuggling attempt, and the raw oversized requests.
GUARD_CASES = [
    c
    for c in CASES
    if c.category in ("slow-clients", "request-smuggling")
    or (c.category == "oversized" and c.driver == "raw")
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(target: Target, case: Case) -> None:
    attack(target, case)


@pytest.mark.parametrize("case", GUARD_CASES, ids=[c.name for c in GUARD_CASES])
def test_guard_case_on_h11(h11_target: Target, case: Case) -> None:
    attack(h11_target, case)


def attack(target: Target, case: Case) -> None:
    if case.embedded_only and TEST_STORE != "embedded":
        pytest.skip("only the embedded store caps the memory of a query")
    before = store_state(target)
    answers: list[Answer] = []
    if case.driver == "http":
        answers = [http_request(target, case.request)]
        check_answer(target, case, answers[0])
    elif case.driver == "raw":
        answer = raw_request(target, case.request)
        answers = [answer]
        check_answer(target, case, answer)
        if case.expect.get("closed"):
            assert answer.closed, f"{case.name}: the connection stayed open"
    elif case.driver == "concurrent":
        answers = concurrent_requests(target, case)
        for answer in answers:
            check_answer(target, case, answer)
        kinds = {a.json()["type"].removeprefix(PROBLEM) for a in answers if a.status >= 400}
        for required in case.expect.get("problems_seen", []):
            assert required in kinds, f"{case.name}: no {required} among {kinds}"
    else:
        limit = TIMEOUT_S + GRACE_S
        for answer in slow_client(target, case):
            assert answer.closed, f"{case.name}: the server kept a slow connection open"
            if case.expect.get("cut_off"):
                # A client that stopped reading: cut off, with part of its answer.
                assert answer.elapsed_s < float(case.request["stall_s"]) + limit, answer
                assert len(answer.text) < int(case.expect["cut_off"]), answer.elapsed_s
                continue
            assert answer.elapsed_s < limit, f"{case.name}: closed after {answer.elapsed_s:.1f} s"
            check_answer(target, case, answer)
    check_invariants(target, case, before)
    if target.oxigraph is not None and any(a.status == 503 for a in answers):
        settle_external_store(target.oxigraph)


def settle_external_store(oxigraph: OxigraphServer) -> None:
    """After the service gave up on a query at its limit: the external store may still be
    evaluating it. Oxigraph stops such a query at its own limit only if it yields results as it
    goes; one that yields nothing until the end (a COUNT over a product) runs on, and would
    share the machine with every later case. Wait for the store's limit, then restart a store
    that is still at work, as its operator would (see docs/deployment.md)."""
    deadline = time.monotonic() + TIMEOUT_S + 1.5
    while oxigraph.busy():
        if time.monotonic() > deadline:
            oxigraph.restart()
            return
