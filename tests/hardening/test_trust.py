"""Trust in what the gate lets in and what the history says, over HTTP on a real server.

- The gate judges class axioms: an admin's ``ijkg:Pillar rdfs:subClassOf
  ijkg:BilateralAgreement``, or a new subclass of ``ijkg:Agreement`` with an instance that has no
  party, is refused with the report (a writer may not write them at all: the hostile cases).
- An ontology change is merged or rejected by the admin only.
- Workflow transitions are checked and applied under the writers' lock: of concurrent reverts of
  one change exactly one lands and the others get 409; a revert never undoes a later write (409
  instead). (Concurrent merges and rejections through two service workers: ``tests/e2e/
  test_workers.py``.)
- The history is read from the service's changes graph only: what other graphs say (written there
  before writes of the history's terms were refused) shows on no entity page and in no answer of
  the README's audit query.
- A change's metadata has limits and no control characters.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from anyio.from_thread import BlockingPortal

from ijkg.graph.io.bootstrap import ensure_bundle
from ijkg.graph.store import open_store
from ijkg.graph.store.base import Delta
from tests.conftest import Server, start_server, stop_server, store_settings

WRITER = {"Authorization": "Bearer trust-writer"}
ADMIN = {"Authorization": "Bearer trust-admin"}
UPDATE = {"Content-Type": "application/sparql-update"}
IJKG = "https://w3id.org/ijkg/ontology#"
ID = "https://w3id.org/ijkg/id/"
JAPAN = ID + "state/japan"
CURATED = "https://w3id.org/ijkg/graph/curated"
FORGED_MERGE = ID + "merge/forged"
FORGED_AGENT = ID + "agent/mallory"
README = Path(__file__).resolve().parents[2] / "README.md"
PREFIXES = f"""PREFIX ijkg: <{IJKG}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""


def forgery() -> list[ox.Quad]:
    """A history forged into the curated graph, as a store written before the service refused
    the history's terms could hold it."""
    graph = ox.NamedNode(CURATED)
    prov = "http://www.w3.org/ns/prov#"
    merge, agent = ox.NamedNode(FORGED_MERGE), ox.NamedNode(FORGED_AGENT)
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    when = ox.Literal(
        "2099-01-01T00:00:00Z", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
    )
    return [
        ox.Quad(ox.NamedNode(JAPAN), ox.NamedNode(IJKG + "changedBy"), merge, graph),
        ox.Quad(merge, rdf_type, ox.NamedNode(IJKG + "Merge"), graph),
        ox.Quad(merge, label, ox.Literal("merge of a forgery"), graph),
        ox.Quad(merge, ox.NamedNode(prov + "endedAtTime"), when, graph),
        ox.Quad(merge, ox.NamedNode(prov + "wasAssociatedWith"), agent, graph),
        ox.Quad(agent, label, ox.Literal("the minister"), graph),
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, portal: BlockingPortal) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("trust")
    settings = store_settings(root / "store")
    store = portal.call(open_store, settings)
    try:
        portal.call(ensure_bundle, store)
        portal.call(lambda: store.commit(Delta(adds=tuple(forgery()))))
    finally:
        portal.call(store.close)
    running = start_server(
        root / "store",
        root / "server.log",
        {
            "IJKG_FSYNC": "false",
            "IJKG_WRITE_TOKENS": "writer=trust-writer",
            "IJKG_ADMIN_TOKENS": "admin=trust-admin",
            "IJKG_QUERY_WORKERS": "2",
        },
    )
    yield running
    stop_server(running)


def version(client: httpx.Client) -> str:
    answer = client.head("/store", params={"default": ""})
    assert answer.status_code == 200
    return answer.headers["ETag"]


def update(client: httpx.Client, text: str, headers: dict[str, str] = WRITER) -> httpx.Response:
    return client.post("/update", content=PREFIXES + text, headers={**headers, **UPDATE})


def ask(client: httpx.Client, query: str) -> bool:
    answer = client.get("/sparql", params={"query": PREFIXES + query})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["boolean"])


def at_once(server: Server, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[int]:
    """Send the requests at the same moment (each on its own connection); their statuses."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def run(call: Callable[[httpx.Client], httpx.Response]) -> None:
        try:
            with server.client() as client:
                barrier.wait(30)
                answer = call(client)
                statuses.append(answer.status_code)
                if answer.status_code >= 400:
                    assert answer.status_code == 409, answer.text
                    assert answer.json()["type"].endswith("/conflict"), answer.text
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return statuses


# --- the gate and the schema -----------------------------------------------------------------


def test_an_admins_class_axiom_is_judged_like_the_instances_it_retypes(server: Server) -> None:
    with server.client() as client:
        before = version(client)
        answer = update(
            client, "INSERT DATA { ijkg:Pillar rdfs:subClassOf ijkg:BilateralAgreement }", ADMIN
        )
        assert answer.status_code == 422, answer.text
        focus = {r["focusNode"] for r in answer.json()["report"]["results"]}
        assert any(node.startswith(ID + "pillar/") for node in focus), focus
        # the same axiom through the Graph Store Protocol
        answer = client.post(
            "/store",
            params={"graph": "https://w3id.org/ijkg/graph/axioms"},
            content=f"<{IJKG}Pillar> <http://www.w3.org/2000/01/rdf-schema#subClassOf> "
            f"<{IJKG}BilateralAgreement> .",
            headers={**ADMIN, "Content-Type": "application/n-triples"},
        )
        assert answer.status_code == 422, answer.text
        # the same axiom in the ontology graph itself
        answer = update(
            client,
            """INSERT DATA { GRAPH <https://w3id.org/ijkg/graph/ontology> {
                 ijkg:Pillar rdfs:subClassOf ijkg:BilateralAgreement } }""",
            ADMIN,
        )
        assert answer.status_code == 422, answer.text
        # a new subclass of ijkg:Agreement, with an instance that has no party
        answer = update(
            client,
            """INSERT DATA { <https://example.org/MyAgreement> rdfs:subClassOf ijkg:Agreement .
                 <https://example.org/a1> a <https://example.org/MyAgreement> ;
                     rdfs:label "a1"@en }""",
            ADMIN,
        )
        assert answer.status_code == 422, answer.text
        focus = {r["focusNode"] for r in answer.json()["report"]["results"]}
        assert "https://example.org/a1" in focus, focus
        assert version(client) == before
        assert not ask(client, "ASK { ?pillar a ijkg:Pillar ; a/rdfs:subClassOf* ijkg:Agreement }")


# --- one value, many spellings ----------------------------------------------------------------

AMOUNT = ID + "amount/jpy-10-trillion"
ARTICLE = "https://w3id.org/ijkg/graph/india-japan-new-chapter"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
# The store holds the value 10000000000000 as "10000000000000"; these spell the same value.
SPELLINGS = ("010000000000000", "+10000000000000")


def value_quad(spelling: str) -> str:
    return f'<{AMOUNT}> <{IJKG}numericValue> "{spelling}"^^<{XSD_INTEGER}> <{ARTICLE}> .'


def held_value(client: httpx.Client) -> bool:
    return ask(client, f"ASK {{ <{AMOUNT}> ijkg:numericValue 10000000000000 }}")


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_required_value_removed_in_another_spelling_is_refused_on_every_path(
    server: Server, spelling: str
) -> None:
    """The gate sees a removal as the store will apply it: a required value (an amount's only
    ``ijkg:numericValue``) removed under another lexical form of the same integer is refused —
    as a proposal, through ``/validate``, and as a SPARQL Update — and stays."""
    with server.client() as client:
        before = version(client)
        proposed = client.post(
            "/changes",
            json={
                "title": "drop the amount's value",
                "remove": {"format": "application/n-quads", "data": value_quad(spelling)},
            },
            headers=WRITER,
        )
        assert proposed.status_code == 422, proposed.text  # validated as it is proposed
        checked = client.post(
            "/validate",
            params={"mode": "remove"},
            content=value_quad(spelling),
            headers={"Content-Type": "application/n-quads"},
        )
        assert checked.status_code == 200, checked.text
        assert checked.json()["conforms"] is False, checked.json()
        answer = update(
            client,
            f'DELETE DATA {{ GRAPH <{ARTICLE}> {{ <{AMOUNT}> ijkg:numericValue "{spelling}"^^<{XSD_INTEGER}> }} }}',
        )
        assert answer.status_code == 422, answer.text
        assert held_value(client)
        assert version(client) == before


def test_restating_a_value_in_another_spelling_keeps_it(server: Server) -> None:
    """A write that removes a value and adds it back spelled otherwise changes nothing (it
    used to remove the value: the store took the two spellings for one quad only when adding)."""
    with server.client() as client:
        answer = update(
            client,
            f"""DELETE DATA {{ GRAPH <{ARTICLE}> {{ <{AMOUNT}> ijkg:numericValue 10000000000000 }} }} ;
                INSERT DATA {{ GRAPH <{ARTICLE}> {{ <{AMOUNT}> ijkg:numericValue "010000000000000"^^<{XSD_INTEGER}> }} }}""",
        )
        assert answer.status_code in (200, 422), answer.text
        assert held_value(client)


# --- who may close a proposal -----------------------------------------------------------------


def test_an_ontology_change_is_merged_or_rejected_by_the_admin_only(server: Server) -> None:
    with server.client() as client:
        proposed = client.post(
            "/changes",
            params={
                "title": "A comment on pillars",
                "graph": "https://w3id.org/ijkg/graph/ontology",
            },
            content=f'<{IJKG}Pillar> <http://www.w3.org/2000/01/rdf-schema#comment> "test"@en .',
            headers={**ADMIN, "Content-Type": "application/n-triples"},
        )
        assert proposed.status_code == 201, proposed.text
        slug = proposed.json()["id"]
        for action in ("reject", "merge"):
            answer = client.post(f"/changes/{slug}/{action}", headers=WRITER)
            assert answer.status_code == 403, answer.text
            assert "admin role" in answer.json()["detail"]
        assert client.get(f"/changes/{slug}").json()["status"] == "proposed"
        answer = client.post(f"/changes/{slug}/reject", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "rejected"


# --- concurrent transitions ---------------------------------------------------------------------


def write(client: httpx.Client, triple: str, op: str = "INSERT") -> str:
    answer = update(client, f"{op} DATA {{ {triple} }}")
    assert answer.status_code == 200, answer.text
    slug: str = answer.json()["id"]
    return slug


def reverts_of(client: httpx.Client, slug: str) -> list[dict[str, Any]]:
    changes = client.get("/changes", params={"limit": 500}).json()
    return [c for c in changes if c["reverts"] == slug]


def test_concurrent_reverts_of_one_change_land_once(server: Server) -> None:
    triple = '<https://example.org/revert-race> <https://example.org/p> "x"'
    with server.client() as client:
        slug = write(client, triple)
    statuses = at_once(
        server, [lambda c: c.post(f"/changes/{slug}/revert", headers=WRITER) for _ in range(8)]
    )
    assert Counter(statuses) == {200: 1, 409: 7}, statuses
    with server.client() as client:
        assert len(reverts_of(client, slug)) == 1
        assert not ask(client, f"ASK {{ {triple} }}")
        again = client.post(f"/changes/{slug}/revert", headers=WRITER)
        assert again.status_code == 409, again.text


def test_a_revert_never_undoes_a_later_write(server: Server) -> None:
    triple = '<https://example.org/lost-update> <https://example.org/p> "x"'
    with server.client() as client:
        first = write(client, triple)
        answer = client.post(f"/changes/{first}/revert", headers=WRITER)
        assert answer.status_code == 200, answer.text
        write(client, triple)  # written again, acknowledged
        answer = client.post(f"/changes/{first}/revert", headers=WRITER)
        assert answer.status_code == 409, answer.text
        assert ask(client, f"ASK {{ {triple} }}")

        # a later change took the triple away and another put it back: the first change's
        # revert would take away what the last one wrote
        other = '<https://example.org/lost-update-2> <https://example.org/p> "y"'
        second = write(client, other)
        write(client, other, "DELETE")
        write(client, other)
        answer = client.post(f"/changes/{second}/revert", headers=WRITER)
        assert answer.status_code == 409, answer.text
        assert "merged after it" in answer.json()["detail"]
        assert ask(client, f"ASK {{ {other} }}")

        # a later change rewrote a value: reverting the first would put back a stale one
        label = "<https://example.org/lost-update-3> <https://example.org/p>"
        third = write(client, f'{label} "one"')
        answer = update(
            client, f'DELETE DATA {{ {label} "one" }} ; INSERT DATA {{ {label} "two" }}'
        )
        assert answer.status_code == 200, answer.text
        answer = client.post(f"/changes/{third}/revert", headers=WRITER)
        assert answer.status_code == 409, answer.text
        assert ask(client, f'ASK {{ {label} "two" }}')


# --- the history ----------------------------------------------------------------------------------


def readme_audit_query() -> str:
    blocks = re.findall(r"```sparql\n(.*?)```", README.read_text(), flags=re.DOTALL)
    found = [b for b in blocks if "changedBy" in b]
    assert len(found) == 1, found
    return found[0]


def test_the_history_is_read_from_the_service_s_records_only(server: Server) -> None:
    with server.client() as client:
        # the forgery is in the store (written before such writes were refused) ...
        assert ask(client, f"ASK {{ <{JAPAN}> ijkg:changedBy <{FORGED_MERGE}> }}")
        # ... but neither the entity page nor the README's audit query takes it for history
        page = client.get("/id/state/japan", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "History" in page.text
        assert "merge of a forgery" not in page.text and FORGED_MERGE not in page.text
        answer = client.get("/sparql", params={"query": readme_audit_query()})
        assert answer.status_code == 200, answer.text
        rows = answer.json()["results"]["bindings"]
        assert all(row["merge"]["value"] != FORGED_MERGE for row in rows), rows
        assert all(row["who"]["value"] != "the minister" for row in rows), rows


# --- change metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("title", "x" * 70_000, "characters"),
        ("title", "\U0001f600" * 5_500, "characters"),
        ("title", "evil\x1b[2Jtitle", "U+001B"),
        ("title", "exe.\u202etxt", "U+202E"),
        ("title", "nul\x00", "U+0000"),
        ("title", "two\nlines", "U+000A"),
        ("description", "d" * 5_000_000, "characters"),
        ("description", "bell\x07", "U+0007"),
        ("source", "see \u2066here", "U+2066"),
    ],
)
def test_change_metadata_has_limits_and_no_control_characters(
    server: Server, field: str, value: str, words: str
) -> None:
    document = {
        "title": "metadata test",
        field: value,
        "add": {
            "format": "text/turtle",
            "data": "<https://example.org/m> <https://example.org/p> 1 .",
        },
    }
    with server.client() as client:
        before = version(client)
        answer = client.post(
            "/changes",
            json=document,
            headers={**WRITER},
        )
        assert answer.status_code == 400, answer.text[:500]
        problem = answer.json()
        assert problem["type"].endswith("/bad-request")
        assert field in problem["detail"] and words in problem["detail"], problem["detail"]
        assert version(client) == before


def test_a_rejection_reason_and_a_query_parameter_title_are_checked_too(server: Server) -> None:
    with server.client() as client:
        answer = client.post(
            "/changes",
            params={"title": "fine\u202e"},
            content='<https://example.org/m2> <https://example.org/p> "x" .',
            headers={**WRITER, "Content-Type": "application/n-triples"},
        )
        assert answer.status_code == 400, answer.text
        proposed = client.post(
            "/changes",
            params={"title": "to be rejected", "description": "two\nlines are fine"},
            content='<https://example.org/m3> <https://example.org/p> "x" .',
            headers={**WRITER, "Content-Type": "application/n-triples"},
        )
        assert proposed.status_code == 201, proposed.text
        slug = proposed.json()["id"]
        answer = client.post(
            f"/changes/{slug}/reject",
            params={"reason": "\x1b]8;;https://evil/\x07"},
            headers=WRITER,
        )
        assert answer.status_code == 400, answer.text
        assert client.get(f"/changes/{slug}").json()["status"] == "proposed"
