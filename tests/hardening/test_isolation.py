"""Isolation over HTTP on a real server: readers never see half a change, conflicting writers
never both land, and a second process on the same store is told so clearly.

- A writer replaces the 40 triples of a graph again and again (Graph Store PUT and SPARQL Update
  in turn) while readers count them by round: every answer is 0 (before the first) or exactly 40
  triples of one round, in the named graph and in the union default graph alike.
- Write skew: an agreement's English label is held in two graphs; two writers each remove one
  copy (each change is valid alone, both together leave no label). Raced through /update and
  /store (DELETE and PUT): exactly one lands, the other is refused with the SHACL report, and
  the label is still there.
- ``ijkg serve`` and the other commands on a store another process holds stop at once with one
  sentence that names the process, and no traceback.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, run_ijkg, start_server, stop_server
from tests.hostile.procs import engine_of

TOKEN = "isolation-writer-token"  # noqa: S105 - a test server's token
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "https://w3id.org/ijkg/graph/isolation"
P = "urn:x-isolation:p"
BATCH = 40
ROUNDS = 16
READERS = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("isolation")
    running = start_server(
        root / "store",
        root / "server.log",
        {"IJKG_FSYNC": "false", "IJKG_WRITE_TOKENS": f"writer={TOKEN}", "IJKG_QUERY_WORKERS": "2"},
    )
    yield running
    stop_server(running)


def batch(round_number: int) -> str:
    return "\n".join(f'<urn:x-isolation:s{i}> <{P}> "round {round_number}" .' for i in range(BATCH))


def write_round(client: httpx.Client, round_number: int) -> None:
    """Replace the graph's triples with this round's, as one change."""
    if round_number % 2:
        answer = client.put(
            "/store",
            params={"graph": GRAPH},
            content=batch(round_number),
            headers={**AUTH, "Content-Type": "application/n-triples"},
        )
    else:
        answer = client.post(
            "/update",
            content=f"DELETE {{ GRAPH <{GRAPH}> {{ ?s <{P}> ?o }} }} "
            f"INSERT {{ GRAPH <{GRAPH}> {{ {batch(round_number)} }} }} "
            f"WHERE {{ OPTIONAL {{ GRAPH <{GRAPH}> {{ ?s <{P}> ?o }} }} }}",
            headers={**AUTH, "Content-Type": "application/sparql-update"},
        )
    assert answer.status_code in (200, 201), answer.text


def counts(client: httpx.Client, *, union: bool) -> dict[str, int]:
    pattern = f"?s <{P}> ?round" if union else f"GRAPH <{GRAPH}> {{ ?s <{P}> ?round }}"
    answer = client.get(
        "/sparql",
        params={"query": f"SELECT ?round (COUNT(*) AS ?n) WHERE {{ {pattern} }} GROUP BY ?round"},
    )
    assert answer.status_code == 200, answer.text
    rows = answer.json()["results"]["bindings"]
    return {row["round"]["value"]: int(row["n"]["value"]) for row in rows}


def test_readers_never_see_half_a_change(server: Server) -> None:
    done = threading.Event()
    seen: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def reader(union: bool) -> None:
        try:
            with server.client() as client:
                while not done.is_set():
                    seen.append(counts(client, union=union))
        except BaseException as exc:  # reported below, with the answers seen
            errors.append(exc)

    readers = [threading.Thread(target=reader, args=(i % 2 == 1,)) for i in range(READERS)]
    for thread in readers:
        thread.start()
    try:
        with server.client() as client:
            for round_number in range(ROUNDS):
                write_round(client, round_number)
    finally:
        done.set()
        for thread in readers:
            thread.join(60)
    assert not errors, errors
    torn = [answer for answer in seen if answer and list(answer.values()) != [BATCH]]
    assert not torn, f"readers saw half a change: {torn[:5]}"
    rounds = Counter(next(iter(answer)) for answer in seen if answer)
    # The readers really ran alongside the writer: they saw several rounds come and go.
    assert len(seen) >= 2 * ROUNDS and len(rounds) >= 3, (len(seen), rounds)
    with server.client() as client:
        assert counts(client, union=False) == {f"round {ROUNDS - 1}": BATCH}
        assert counts(client, union=True) == {f"round {ROUNDS - 1}": BATCH}


def test_concurrent_puts_of_a_graph_leave_exactly_one_of_them(server: Server) -> None:
    """A PUT replaces what the graph holds when it lands: racing PUTs of one graph all land, one
    after the other, and the graph ends as the last one left it, never as their union."""
    name = GRAPH + "-put-race"
    bodies = {
        f"writer-{w}": "\n".join(
            f'<urn:x-isolation:w{w}-{i}> <{P}> "writer {w}" .' for i in range(20)
        )
        for w in range(6)
    }
    for _attempt in range(3):
        answers = at_once(
            server,
            [
                lambda client, body=body: client.put(
                    "/store",
                    params={"graph": name},
                    content=body,
                    headers={**AUTH, "Content-Type": "application/n-triples"},
                )
                for body in bodies.values()
            ],
        )
        statuses = [answer.status_code for answer in answers]
        assert all(status in (200, 201) for status in statuses), statuses
        with server.client() as client:
            answer = client.get(
                "/sparql",
                params={
                    "query": f"SELECT ?w (COUNT(*) AS ?n) WHERE {{ GRAPH <{name}> {{ ?s <{P}> ?w }} }}"
                    " GROUP BY ?w"
                },
            )
        rows = answer.json()["results"]["bindings"]
        assert len(rows) == 1 and rows[0]["n"]["value"] == "20", rows


# --- write skew ---------------------------------------------------------------------------------

LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def agreement(n: int) -> str:
    return f"https://w3id.org/ijkg/id/agreement/isolation-test-{n}"


def description(n: int) -> str:
    return f"""<{agreement(n)}> a <https://w3id.org/ijkg/ontology#Agreement> ;
    <http://www.w3.org/ns/prov#wasDerivedFrom> <https://w3id.org/ijkg/id/source/india-japan-new-chapter> ;
    <https://w3id.org/ijkg/ontology#party> <https://w3id.org/ijkg/id/state/india>, <https://w3id.org/ijkg/id/state/japan> ."""


def label(n: int) -> str:
    return f'<{agreement(n)}> <{LABEL}> "Isolation test agreement {n}"@en .'


def graph(n: int, part: str) -> str:
    return f"https://w3id.org/ijkg/graph/isolation-{n}-{part}"


def put(client: httpx.Client, name: str, turtle: str) -> httpx.Response:
    return client.put(
        "/store",
        params={"graph": name},
        content=turtle,
        headers={**AUTH, "Content-Type": "text/turtle"},
    )


def set_up(client: httpx.Client, n: int) -> None:
    """Agreement ``n``: its English label in two graphs, the rest in a third."""
    for part, turtle in (("a", label(n)), ("b", label(n)), ("rest", description(n))):
        answer = put(client, graph(n, part), turtle)
        assert answer.status_code == 201, answer.text


def update(client: httpx.Client, text: str) -> httpx.Response:
    return client.post(
        "/update", content=text, headers={**AUTH, "Content-Type": "application/sparql-update"}
    )


Remove = Callable[[httpx.Client, int, str], httpx.Response]
WAYS: dict[str, tuple[Remove, Remove]] = {
    "update": (
        lambda c, n, part: update(c, f"DROP GRAPH <{graph(n, part)}>"),
        lambda c, n, part: update(
            c, f"DELETE DATA {{ GRAPH <{graph(n, part)}> {{ {label(n)} }} }}"
        ),
    ),
    "graph-store-delete": (
        lambda c, n, part: c.delete("/store", params={"graph": graph(n, part)}, headers=AUTH),
        lambda c, n, part: c.delete("/store", params={"graph": graph(n, part)}, headers=AUTH),
    ),
    "graph-store-put": (
        lambda c, n, part: put(c, graph(n, part), f'<urn:x-isolation:other> <{P}> "{part}" .'),
        lambda c, n, part: update(c, f"CLEAR GRAPH <{graph(n, part)}>"),
    ),
}


def at_once(
    server: Server, calls: list[Callable[[httpx.Client], httpx.Response]]
) -> list[httpx.Response]:
    """Run ``calls`` in threads of their own, released together; their answers, in order."""
    start = threading.Barrier(len(calls))
    answers: dict[int, httpx.Response] = {}

    def one(index: int) -> None:
        with server.client() as client:
            start.wait()
            answers[index] = calls[index](client)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return [answers[i] for i in range(len(calls))]


@pytest.mark.parametrize("way", list(WAYS))
def test_conflicting_writers_cannot_both_land(server: Server, way: str) -> None:
    first, second = WAYS[way]
    for attempt in range(3):
        n = 10 * list(WAYS).index(way) + attempt
        with server.client() as client:
            set_up(client, n)
            version = client.get("/health/ready").json()["store"]["version"]
        outcomes = at_once(
            server, [lambda c, n=n: first(c, n, "a"), lambda c, n=n: second(c, n, "b")]
        )
        statuses = sorted(answer.status_code for answer in outcomes)
        assert statuses == [200, 422], [answer.text[:300] for answer in outcomes]
        refused = next(answer.json() for answer in outcomes if answer.status_code == 422)
        assert refused["type"].endswith("/shacl-violation")
        assert {r["focusNode"] for r in refused["report"]["results"]} == {agreement(n)}
        with server.client() as client:
            labels = client.get(
                "/sparql",
                params={"query": f"SELECT ?l WHERE {{ <{agreement(n)}> <{LABEL}> ?l }}"},
            ).json()["results"]["bindings"]
            assert [row["l"]["value"] for row in labels] == [f"Isolation test agreement {n}"]
            assert client.get("/health/ready").json()["store"]["version"] == version + 1


# --- one process per store ----------------------------------------------------------------------


@pytest.mark.embedded
@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "9"],
        ["query", "ASK { ?s ?p ?o }"],
        ["load", "{file}"],
        ["export"],
        ["restore", "{file}"],
        ["validate", "{file}"],
    ],
    ids=lambda command: command[0],
)
def test_a_second_process_on_the_store_is_told_who_has_it(
    server: Server, command: list[str], tmp_path: Path
) -> None:
    data = tmp_path / "data.nq"
    data.write_text(f'<urn:x-isolation:a> <{P}> "x" <{GRAPH}> .\n')
    args = [part.replace("{file}", str(data)) for part in command]
    engine = engine_of(server.process.pid)
    started = time.monotonic()
    done = run_ijkg(*args, data_dir=server.data_dir)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"in use by process {engine}" in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert time.monotonic() - started < 60
    with server.client() as client:  # the running service is untouched
        assert client.get("/health/ready").json()["status"] == "ok"
