"""Hard limits over HTTP on a real server: time, memory, rows, bytes, concurrency, query size and
nesting; and no query reaches the network (a canary listener counts connections)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.canary import Canary
from tests.conftest import Server, start_server, stop_server

pytestmark = pytest.mark.slow  # starts real servers of its own

TIMEOUT_S = 3.0
TOKEN = "limits-writer-token"  # noqa: S105 - a test server's token
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?o ?q }"
SIMPLE = "ASK { ?s ?p ?o }"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the bundled graph and tight limits."""
    root = tmp_path_factory.mktemp("limited")
    env = {
        "IJKG_FSYNC": "false",
        "IJKG_QUERY_TIMEOUT_S": str(TIMEOUT_S),
        "IJKG_QUERY_WORKERS": "2",
        "IJKG_MAX_CONCURRENT_QUERIES": "3",
        "IJKG_MAX_RESULT_ROWS": "500",
        "IJKG_MAX_RESULT_BYTES": "200000",
        "IJKG_QUERY_MEMORY_MB": "64",
        "IJKG_MAX_QUERY_BYTES": "4096",
        "IJKG_MAX_QUERY_DEPTH": "16",
        "IJKG_WRITE_TOKENS": f"tester={TOKEN}",
    }
    server = start_server(root / "store", root / "server.log", env)
    yield server
    stop_server(server)


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["type"] == f"https://w3id.org/ijkg/problems/{slug}", body
    return body


def ask(server: Server, query: str, **headers: str) -> httpx.Response:
    with server.client() as client:
        return client.get("/sparql", params={"query": query}, headers=headers)


def test_a_query_past_its_time_limit_is_stopped_while_others_are_answered(limited: Server) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        slow = pool.submit(ask, limited, CARTESIAN)
        time.sleep(0.5)  # the slow query holds one worker now
        quick_answers = []
        while not slow.done():
            quick = ask(limited, SIMPLE)
            quick_answers.append((quick.status_code, quick.json().get("boolean")))
            time.sleep(0.2)
        stopped = slow.result()
        elapsed = time.monotonic() - started
    body = problem(stopped, 503, "query-timeout")
    assert f"{TIMEOUT_S:g} s" in str(body["detail"])
    assert int(stopped.headers["retry-after"]) > 0
    assert TIMEOUT_S - 0.2 < elapsed < TIMEOUT_S + 1  # the limit plus a second at most
    # Others were served while it ran: a 200 with the answer, never a cut one.
    assert quick_answers and all(answer == (200, True) for answer in quick_answers)
    assert limited.alive()
    assert ask(limited, SIMPLE).json()["boolean"] is True


def test_too_many_queries_at_once_get_503(limited: Server) -> None:
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: ask(limited, CARTESIAN), range(5)))
    kinds = sorted(a.json()["type"].rsplit("/", 1)[-1] for a in answers)
    assert all(a.status_code == 503 and "retry-after" in a.headers for a in answers)
    assert kinds.count("overloaded") >= 2  # 2 running + 1 waiting is the cap
    assert "query-timeout" in kinds
    assert limited.alive()
    assert ask(limited, SIMPLE).status_code == 200


@pytest.mark.embedded  # the external store has its own memory limits
def test_a_query_over_its_memory_budget_is_stopped_alone(limited: Server) -> None:
    hungry = (
        "SELECT (GROUP_CONCAT(?big) AS ?x) WHERE { ?a ?b ?c . ?d ?e ?f "
        "BIND(CONCAT(STR(?a), STR(?c), STR(?d), STR(?f), STR(?a), STR(?c)) AS ?big) }"
    )
    body = problem(ask(limited, hungry), 503, "query-aborted")
    assert "memory" in str(body["detail"])
    assert limited.alive()
    assert ask(limited, SIMPLE).status_code == 200


def test_results_over_the_row_cap_are_an_error_not_a_truncation(limited: Server) -> None:
    at_cap = ask(limited, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 500")
    assert at_cap.status_code == 200
    assert len(at_cap.json()["results"]["bindings"]) == 500
    body = problem(ask(limited, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 501"), 422, "result-too-large")
    assert "500 rows" in str(body["detail"])


def test_results_over_the_byte_cap_are_an_error(limited: Server) -> None:
    # Some 480 rows of 600-odd bytes each: within the row cap, over the byte cap.
    wide = (
        "SELECT (CONCAT(" + ", ".join(["STR(?s), STR(?p), STR(?o)"] * 4) + ") AS ?x) "
        "WHERE { ?s ?p ?o } LIMIT 480"
    )
    body = problem(ask(limited, wide, Accept="text/csv"), 422, "result-too-large")
    assert "200,000 bytes" in str(body["detail"])
    assert ask(limited, wide.replace("480", "20"), Accept="text/csv").status_code == 200


def test_query_size_and_nesting_are_limited_before_parsing(limited: Server) -> None:
    big = "SELECT * WHERE { ?s ?p ?o }" + " " * 4100
    with limited.client() as client:
        response = client.post(
            "/sparql", content=big, headers={"Content-Type": "application/sparql-query"}
        )
    assert "4,096" in str(problem(response, 413, "query-too-large")["detail"])
    deep = "SELECT * WHERE " + "{ " * 20 + "}" * 20
    assert "20 deep" in str(problem(ask(limited, deep), 413, "query-too-large")["detail"])
    # The nesting limit stops what would crash a parser, long before it could.
    crash = "SELECT * WHERE " + "(" * 50_000
    with limited.client() as client:
        response = client.post(
            "/sparql", content=crash, headers={"Content-Type": "application/sparql-query"}
        )
    assert response.status_code == 413
    assert limited.alive()


def test_a_commit_moves_the_etag(limited: Server) -> None:
    query = 'ASK { <https://example.org/etag-test> <https://example.org/p> "x" }'
    with limited.client() as client:
        before = client.get("/sparql", params={"query": query})
        assert before.json()["boolean"] is False
        etag = before.headers["etag"]
        unchanged = client.get("/sparql", params={"query": query}, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304
        written = client.post(
            "/update",
            content=b'INSERT DATA { <https://example.org/etag-test> <https://example.org/p> "x" }',
            headers={
                "Content-Type": "application/sparql-update",
                "Authorization": f"Bearer {TOKEN}",
            },
        )
        assert written.status_code == 200, written.text
        after = client.get("/sparql", params={"query": query}, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["boolean"] is True
    assert after.headers["etag"] != etag


# --- nothing reaches the network ----------------------------------------------------------------


def test_service_makes_no_connection_in_any_spelling(limited: Server, canary: Canary) -> None:
    url = f"http://127.0.0.1:{canary.port}/sparql"
    spellings = [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SeRvIcE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ \\U00000053\\U00000045RVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE\t<{url}>{{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ # a comment\nSERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"PREFIX e: <http://127.0.0.1:{canary.port}/> SELECT * WHERE {{ SERVICE e:sparql {{ }} }}",
        f"SELECT * WHERE {{ BIND(<{url}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o . SERVICE <{url}> {{ ?s ?p ?o }} }} LIMIT 1",
    ]
    with limited.client() as client:
        for query in spellings:
            for response in (
                client.get("/sparql", params={"query": query}),
                client.post(
                    "/sparql",
                    content=query.encode(),
                    headers={"Content-Type": "application/sparql-query"},
                ),
            ):
                body = problem(response, 400, "query-refused")
                assert "SERVICE" in str(body["detail"]), query
    time.sleep(0.5)
    assert canary.connections == 0


def test_graph_names_on_this_machine_are_never_fetched(limited: Server, canary: Canary) -> None:
    url = f"http://127.0.0.1:{canary.port}/data.ttl"
    with limited.client() as client:
        answers = [
            client.get("/sparql", params={"query": f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}"}),
            client.get(
                "/sparql",
                params={
                    "query": f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
                },
            ),
            client.get("/sparql", params={"query": "ASK { ?s ?p ?o }", "default-graph-uri": url}),
            client.get("/sparql", params={"query": "ASK { GRAPH ?g {} }", "named-graph-uri": url}),
            client.get("/sparql", params={"query": f"DESCRIBE <{url}>"}),
        ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
    # Names of graphs the store does not have: empty, and nothing was fetched.
    assert answers[0].json()["results"]["bindings"] == []
    assert answers[2].json()["boolean"] is False
    time.sleep(0.5)
    assert canary.connections == 0
