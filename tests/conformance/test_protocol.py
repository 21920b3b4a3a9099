"""The W3C SPARQL 1.1 Protocol suite (``protocol/manifest.ttl``, 34 tests) against a real server.

The graphs the tests name in ``ut:graphData`` are loaded from the suite's local files, through
``Store.commit``, into a fresh store before the server starts; nothing is dereferenced. The
manifest writes every request to ``/sparql/`` and lets an endpoint use other paths for query and
update: queries go to ``/sparql`` and updates to ``/update``, with an admin token (updates are
authenticated here, and the suite clears the whole store). The tests run in manifest order on one
server, as the suite means them to.

A test passes when every response has an expected status class, the expected kind of body
(boolean, tabular or RDF, parsed) and the expected boolean; a 4xx must also be problem details
from the operation itself (a 404 for a missing route would otherwise pass for a refusal).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from anyio.from_thread import BlockingPortal

from ijkg.graph.store import open_store
from ijkg.graph.store.base import Delta
from tests.conformance.suite import (
    BASE,
    HttpRequest,
    ProtocolTest,
    parse_results,
    protocol_tests,
    read_graph,
)
from tests.conftest import Server, start_server, stop_server, store_settings

TESTS = protocol_tests()
ADMIN_TOKEN = "protocol-suite-admin"  # noqa: S105 - a test server's token

RESULTS_TYPES = {
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
}
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}

#: Tests that fail, each with the reason. None do: the list stays so that a regression shows up
#: here with its reason, and the README's figure is checked against it.
KNOWN_FAILURES: dict[str, str] = {}


def test_the_suite_was_found() -> None:
    assert len(TESTS) == 34
    assert sum(len(t.requests) for t in TESTS) >= 38
    assert not set(KNOWN_FAILURES) - {t.id for t in TESTS}


@pytest.fixture(scope="module")
def protocol_server(
    portal: BlockingPortal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("sparql11-protocol")
    graphs = {pair for test in TESTS for pair in test.graph_data}
    assert graphs, "the manifest names no graph data"
    quads: list[ox.Quad] = []
    for iri, name in sorted(graphs):
        quads += read_graph(iri, name)
    store = portal.call(open_store, store_settings(root / "store"))
    try:
        portal.call(lambda: store.commit(Delta(adds=tuple(quads))))
    finally:
        portal.call(store.close)
    env = {"IJKG_FSYNC": "false", "IJKG_ADMIN_TOKENS": f"w3c={ADMIN_TOKEN}"}
    server = start_server(root / "store", root / "server.log", env)
    yield server
    stop_server(server)


def is_update(test: ProtocolTest) -> bool:
    return test.id.startswith(("update_", "bad_update_"))


def send(client: httpx.Client, test: ProtocolTest, request: HttpRequest) -> httpx.Response:
    update = is_update(test) and not _is_query_request(request)
    path = request.path.replace("/sparql/", "/update" if update else "/sparql", 1)
    headers = dict(request.headers)
    if update:
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    # The raw target, as the manifest writes it: httpx must not re-encode the query string.
    url = httpx.URL(client.base_url.join(path.split("?", 1)[0]))
    if "?" in path:
        url = url.copy_with(query=path.split("?", 1)[1].encode())
    return client.request(request.method, url, headers=headers, content=request.body)


def _is_query_request(request: HttpRequest) -> bool:
    """An update test's follow-up ASK, which checks what the update did, is a query."""
    content_type = dict((k.lower(), v) for k, v in request.headers).get("content-type", "")
    return content_type.startswith("application/sparql-query")


def check(request: HttpRequest, response: httpx.Response) -> None:
    status_class = response.status_code // 100
    assert status_class in request.expected_status, (
        f"{request.method} {request.path}: {response.status_code}, expected "
        f"{sorted(f'{c}xx' for c in request.expected_status)}: {response.text[:400]}"
    )
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if status_class == 4:
        assert media_type == "application/problem+json", media_type
        problem = response.json()
        assert problem["status"] == response.status_code
        assert not problem["type"].endswith("/not-found"), problem
        return
    if request.expected_format in ("boolean", "tabular"):
        assert media_type in RESULTS_TYPES, media_type
        answer = parse_results(response.content, media_type)
        if request.expected_format == "boolean":
            assert answer.boolean is not None
        else:
            assert answer.boolean is None and answer.variables
        if request.expected_boolean is not None:
            assert answer.boolean is request.expected_boolean
    elif request.expected_format == "RDF":
        assert media_type in RDF_TYPES, media_type
        graph = rdflib.Graph().parse(data=response.content, format=RDF_TYPES[media_type])
        # CONSTRUCT { <s> <p> 1 } is one triple; DESCRIBE of an IRI no graph mentions, none.
        assert len(graph) == (1 if b"CONSTRUCT" in (request.body or b"") else 0)


def _param(test: ProtocolTest) -> object:
    marks = []
    if test.id in KNOWN_FAILURES:
        marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[test.id], strict=True))
    return pytest.param(test, id=test.id, marks=marks)


@pytest.mark.parametrize("test", [_param(t) for t in TESTS])
def test_protocol(protocol_server: Server, test: ProtocolTest) -> None:
    with protocol_server.client() as client:
        for request in test.requests:
            check(request, send(client, test, request))


def test_graph_data_is_read_from_the_suite_not_the_web() -> None:
    iris = {iri for test in TESTS for iri, _ in test.graph_data}
    assert iris and all(iri.startswith(BASE + "protocol/") for iri in iris)


def test_the_readme_states_this_pass_rate() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    passing = len(TESTS) - len(KNOWN_FAILURES)
    assert "**Protocol**" in readme
    assert f"{passing} of {len(TESTS)} pass" in readme, "update the conformance section"
