"""Hosts, on real servers: a request naming a host the service does not answer for gets 400
(never links, redirects or cacheable answers that point at it), and with IJKG_BASE_URL set every
absolute link uses the public base URL whatever Host a request names."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError

from ijkg.graph.core.settings import Settings
from tests.conftest import Server, start_server, stop_server

BASE = "https://ijkg.example.org"
EVIL = ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil.example"]
EVIL += ["127.0.0.1@evil.example", "evil.example/x", ""]
#: Answers with absolute links: (path, Accept).
LINKED = [
    ("/api", "application/json"),
    ("/api/schemas/state", "application/json"),
    ("/id/state/japan", "application/json"),
    ("/id/state/japan", "application/ld+json"),
    ("/sparql", "text/turtle"),
]


def get(server: Server, path: str, host: str | None = None, **headers: str) -> httpx.Response:
    if host is not None:
        headers["Host"] = host
    with server.client() as client:
        return client.get(path, headers=headers)


def port_of(server: Server) -> int:
    port = urlsplit(server.base_url).port
    assert port is not None
    return port


def assert_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 400, answer.text[:300]
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == "https://w3id.org/ijkg/problems/bad-host"
    assert "IJKG_ALLOWED_HOSTS" in body["detail"]


def absolute_links(answer: httpx.Response) -> set[str]:
    """The scheme and host of every absolute link in an answer that points at this service under
    any name a test uses (terms' IRIs and other sites are left out)."""
    found = set(re.findall(r"https?://[^\s\"'<>/]+", answer.text))
    names = ("127.0.0.1", "localhost", "::1", "ijkg.example.org", "evil.example")
    return {f for f in found if (urlsplit(f).hostname or "").rstrip(".").endswith(names)}


# --- by default: the bound address and loopback names -------------------------------------------


@pytest.mark.parametrize("host", EVIL)
@pytest.mark.parametrize(("path", "accept"), [*LINKED, ("/api/", "application/json")])
def test_a_host_the_service_does_not_answer_for_gets_400(
    server: Server, host: str, path: str, accept: str
) -> None:
    assert_refused(get(server, path, host, Accept=accept))


def test_a_browser_naming_a_host_not_answered_for_gets_a_page_without_links_to_it(
    server: Server,
) -> None:
    browser = "text/html,application/xhtml+xml,*/*;q=0.8"
    answer = get(server, "/id/state/japan", "evil.example", Accept=browser)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "IJKG_ALLOWED_HOSTS" in answer.text
    assert not any("evil.example" in link for link in absolute_links(answer))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST.", "api.localhost", "[::1]"])
def test_loopback_names_and_the_bound_address_are_answered(server: Server, host: str) -> None:
    name = f"{host}:{port_of(server)}"
    answer = get(server, "/api", name, Accept="application/json")
    assert answer.status_code == 200, answer.text[:300]
    assert absolute_links(answer) == {f"http://{name}"}


def test_two_host_headers_are_refused(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(
            b"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n"
            b"Connection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    assert b"evil.example/" not in data


# --- with a public base URL ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("public")
    env = {
        "IJKG_FSYNC": "false",
        "IJKG_BASE_URL": BASE + "/",
        "IJKG_ALLOWED_HOSTS": "127.0.0.1, ijkg.example.org",
    }
    server = start_server(root / "store", root / "server.log", env)
    yield server
    stop_server(server)


@pytest.mark.parametrize("host", [None, "ijkg.example.org", "localhost:8000"])
@pytest.mark.parametrize(("path", "accept"), LINKED)
def test_every_absolute_link_uses_the_base_url(
    public: Server, host: str | None, path: str, accept: str
) -> None:
    answer = get(public, path, host, Accept=accept)
    assert answer.status_code == 200, answer.text[:300]
    assert absolute_links(answer) == {BASE}, absolute_links(answer)


def test_links_in_detail_and_redirects_use_the_base_url(public: Server) -> None:
    japan = get(public, "/id/state/japan", Accept="application/ld+json").json()
    assert japan["@context"] == f"{BASE}/context.jsonld"
    endpoint = get(public, "/sparql", Accept="text/turtle").text
    assert f"sd:endpoint <{BASE}/sparql>" in endpoint
    entity = get(public, "/id/state/japan", Accept="application/json").json()
    assert entity["links"]["changes"].startswith(f"{BASE}/changes?touching=")
    redirect = get(public, "/api/")
    assert redirect.status_code == 307
    assert redirect.headers["location"] == f"{BASE}/api"


@pytest.mark.parametrize("host", ["evil.example", "ijkg.example.org.evil.example", "10.0.0.1"])
def test_hosts_outside_the_list_are_refused_with_a_base_url_too(public: Server, host: str) -> None:
    assert_refused(get(public, "/api", host, Accept="application/json"))


# --- the settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["ftp://example.org", "https://example.org/ijkg", "https://example.org/?x", "example"]
)
def test_a_base_url_is_scheme_and_host_only(value: str) -> None:
    with pytest.raises(ValidationError, match="IJKG_BASE_URL"):
        Settings(base_url=value)


def test_the_allowed_hosts_are_derived_when_not_listed() -> None:
    loopback = (".localhost", "localhost", "127.0.0.1", "::1")
    assert Settings().host_patterns() == ("127.0.0.1", *loopback)
    assert Settings(host="0.0.0.0").host_patterns() == loopback  # noqa: S104
    assert Settings(base_url="https://A.example:8443").host_patterns() == ("a.example", *loopback)
    assert Settings(allowed_hosts=" .Example.org , x ").host_patterns() == (
        ".example.org",
        "x",
        *loopback,
    )
