"""A curator's session over HTTP, end to end, on a real server and (fast tier) on the app in
this process: validate, propose, fix, merge,
see it in SPARQL and in the history, revert; and the rules every write path follows."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from anyio.from_thread import BlockingPortal

from tests.conftest import Server, Service, start_in_process, start_server, stop_server

TOKEN = {"Authorization": "Bearer curator-secret"}
ADMIN = {"Authorization": "Bearer admin-secret"}
AGREEMENT = "https://w3id.org/ijkg/id/agreement/test-semiconductor-moc"
PREFIXES = """@prefix ijkg: <https://w3id.org/ijkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def agreement(date: str) -> str:
    return (
        PREFIXES
        + f"""
<{AGREEMENT}> a ijkg:Agreement ;
    rdfs:label "Memorandum of Cooperation on semiconductors (test)"@en ;
    prov:wasDerivedFrom <https://w3id.org/ijkg/id/source/india-japan-new-chapter> ;
    ijkg:party <https://w3id.org/ijkg/id/state/india>, <https://w3id.org/ijkg/id/state/japan> ;
    ijkg:coversSector <https://w3id.org/ijkg/id/sector/semiconductors> ;
    ijkg:publicationDate {date} .
"""
    )


WRITE_TOKENS = "curator=curator-secret,editor=editor-secret"
ADMIN_TOKENS = "admin=admin-secret"


@pytest.fixture(
    scope="module", params=["in-process", pytest.param("server", marks=pytest.mark.slow)]
)
def writable(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    portal: BlockingPortal,
) -> Iterator[Service]:
    """A service that takes writes: the app in this process, or a real ``ijkg serve``."""
    root = tmp_path_factory.mktemp("writable")
    if request.param == "in-process":
        yield from start_in_process(
            portal, root / "store", write_tokens=WRITE_TOKENS, admin_tokens=ADMIN_TOKENS
        )
        return
    server = start_server(
        root / "store",
        root / "server.log",
        {
            "IJKG_WRITE_TOKENS": WRITE_TOKENS,
            "IJKG_ADMIN_TOKENS": ADMIN_TOKENS,
            "IJKG_FSYNC": "false",
        },
    )
    yield server
    stop_server(server)


def select(client: httpx.Client, query: str) -> list[dict[str, str]]:
    answer = client.get(
        "/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    assert answer.status_code == 200, answer.text
    return [{k: v["value"] for k, v in row.items()} for row in answer.json()["results"]["bindings"]]


def test_a_curator_session(writable: Service) -> None:
    with writable.client() as client:
        # 1. a wrong date type: the report names the shape, the path and the fix; nothing stored
        wrong = client.post(
            "/changes",
            params={"title": "Semiconductor MoC", "source": "https://example.org/moc"},
            content=agreement('"29 August 2025"'),
            headers={**TOKEN, "Content-Type": "text/turtle"},
        )
        assert wrong.status_code == 422
        assert wrong.headers["content-type"] == "application/problem+json"
        problem = wrong.json()
        assert problem["type"].endswith("/shacl-violation")
        (result,) = problem["report"]["results"]
        assert result["shape"].startswith("S43-Dates")
        assert result["path"] == "https://w3id.org/ijkg/ontology#publicationDate"
        assert result["focusNode"] == AGREEMENT
        assert result["suggestion"] and "xsd:date" in result["suggestion"]
        assert client.get("/changes", params={"status": "proposed"}).json() == []

        # 2. corrected: it conforms and is proposed (but not yet in the graph)
        fixed = client.post(
            "/changes",
            params={"title": "Semiconductor MoC", "source": "https://example.org/moc"},
            content=agreement('"2025-08-29"^^xsd:date'),
            headers={**TOKEN, "Content-Type": "text/turtle"},
        )
        assert fixed.status_code == 201, fixed.text
        change = fixed.json()
        assert change["status"] == "proposed" and change["report"]["conforms"]
        assert change["report"]["method"] == "incremental"
        assert not select(client, f"SELECT * WHERE {{ <{AGREEMENT}> ?p ?o }}")

        # 3. merged: in SPARQL, with a PROV-O record (who, when, why, versions) and a link from the entity
        before = client.get("/health/ready").json()["store"]["version"]
        merged = client.post(f"/changes/{change['id']}/merge", headers=TOKEN)
        assert merged.status_code == 200, merged.text
        body = merged.json()
        assert body["status"] == "merged"
        assert body["merge"]["who"] == "curator"
        assert body["merge"]["versionBefore"] == before
        assert body["merge"]["versionAfter"] == before + 1
        assert merged.headers["ETag"].endswith(f'-{before + 1}"')
        labels = select(
            client,
            f"SELECT ?l WHERE {{ <{AGREEMENT}> rdfs:label ?l }}".replace(
                "rdfs:label", "<http://www.w3.org/2000/01/rdf-schema#label>"
            ),
        )
        assert labels == [{"l": "Memorandum of Cooperation on semiconductors (test)"}]
        history = select(
            client,
            f"""
            PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX ijkg: <https://w3id.org/ijkg/ontology#>
            SELECT ?merge ?who ?before ?after ?why WHERE {{
              <{AGREEMENT}> ijkg:changedBy ?merge .
              ?merge prov:wasAssociatedWith/<http://www.w3.org/2000/01/rdf-schema#label> ?who ;
                     ijkg:versionBefore ?before ; ijkg:versionAfter ?after ;
                     prov:used/<http://purl.org/dc/terms/title> ?why }}""",
        )
        assert history == [
            {
                "merge": body["merge"]["id"],
                "who": "curator",
                "before": str(before),
                "after": str(before + 1),
                "why": "Semiconductor MoC",
            }
        ]

        # 4. merging again is a conflict
        again = client.post(f"/changes/{change['id']}/merge", headers=TOKEN)
        assert again.status_code == 409 and again.json()["type"].endswith("/conflict")

        # 5. reverted: gone from the data, and the history says so
        reverted = client.post(f"/changes/{change['id']}/revert", headers=TOKEN)
        assert reverted.status_code == 200, reverted.text
        assert reverted.json()["reverts"] == change["id"]
        assert not select(client, f"SELECT * WHERE {{ <{AGREEMENT}> a ?type }}")
        original = client.get(f"/changes/{change['id']}").json()
        assert original["revertedBy"] == reverted.json()["id"]
        touching = client.get("/changes", params={"touching": AGREEMENT}).json()
        assert {c["id"] for c in touching} == {change["id"], reverted.json()["id"]}


def test_reads_are_open_and_writes_need_a_known_token(writable: Service) -> None:
    with writable.client() as client:
        assert client.get("/changes").status_code == 200
        missing = client.post(
            "/update",
            content="INSERT DATA { }",
            headers={"Content-Type": "application/sparql-update"},
        )
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = client.post(
            "/update",
            content="INSERT DATA { }",
            headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer nope"},
        )
        assert wrong.status_code == 401 and wrong.json()["type"].endswith("/unauthorized")


def test_a_read_only_service_says_so(server: Server) -> None:
    # (on the real server only: a session-wide parametrised service here would have pytest
    # regroup this module's tests and start ``writable`` twice)
    with server.client() as client:
        refused = client.post(
            "/update",
            content="INSERT DATA { }",
            headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer x"},
        )
        assert refused.status_code == 403
        assert "read-only" in refused.json()["detail"]


@pytest.mark.parametrize(
    "update",
    [
        "DROP ALL",
        "CLEAR GRAPH <https://w3id.org/ijkg/graph/ontology>",
        "INSERT DATA { GRAPH <https://w3id.org/ijkg/graph/shapes> { <urn:x:a> <urn:x:b> <urn:x:c> } }",
        "MOVE <https://w3id.org/ijkg/graph/ontology> TO <https://w3id.org/ijkg/graph/x>",
    ],
)
def test_protected_graphs_need_the_admin_role(writable: Service, update: str) -> None:
    with writable.client() as client:
        version = client.get("/health/ready").json()["store"]["version"]
        refused = client.post(
            "/update",
            content=update,
            headers={**TOKEN, "Content-Type": "application/sparql-update"},
        )
        assert refused.status_code == 403, refused.text
        assert "admin" in refused.json()["detail"]
        assert client.get("/health/ready").json()["store"]["version"] == version


def test_history_graphs_cannot_be_written_even_by_an_admin(writable: Service) -> None:
    with writable.client() as client:
        refused = client.post(
            "/update",
            headers={**ADMIN, "Content-Type": "application/sparql-update"},
            content="CLEAR GRAPH <https://w3id.org/ijkg/graph/changes>",
        )
        assert refused.status_code == 403


def test_a_violating_update_changes_nothing_and_reports(writable: Service) -> None:
    with writable.client() as client:
        version = client.get("/health/ready").json()["store"]["version"]
        refused = client.post(
            "/update",
            headers={**TOKEN, "Content-Type": "application/sparql-update"},
            content="DELETE WHERE { <https://w3id.org/ijkg/id/state/japan> <http://www.w3.org/2000/01/rdf-schema#label> ?l }",
        )
        assert refused.status_code == 422
        report = refused.json()["report"]
        assert not report["conforms"]
        assert {r["focusNode"] for r in report["results"]} == {
            "https://w3id.org/ijkg/id/state/japan"
        }
        assert client.get("/health/ready").json()["store"]["version"] == version
        assert select(
            client,
            "SELECT ?l WHERE { <https://w3id.org/ijkg/id/state/japan> <http://www.w3.org/2000/01/rdf-schema#label> ?l }",
        )


def test_a_conforming_update_is_applied_and_recorded(writable: Service) -> None:
    with writable.client() as client:
        label = '"Nihon-koku"@ja'
        applied = client.post(
            "/update",
            headers={**TOKEN, "Content-Type": "application/sparql-update"},
            content=f"INSERT DATA {{ <https://w3id.org/ijkg/id/state/japan> <http://www.w3.org/2004/02/skos/core#altLabel> {label} }}",
        )
        assert applied.status_code == 200, applied.text
        assert applied.json()["writePath"] == "update"
        rows = select(
            client,
            'SELECT ?g WHERE { GRAPH ?g { <https://w3id.org/ijkg/id/state/japan> <http://www.w3.org/2004/02/skos/core#altLabel> "Nihon-koku"@ja } }',
        )
        assert rows == [{"g": "https://w3id.org/ijkg/graph/curated"}]


def test_a_change_that_made_blank_nodes_is_reverted(writable: Service) -> None:
    """A revert finds the change's triples as the store holds them — blank nodes as skolem IRIs
    on an external store, typed literals in canonical form on any — so they do not look changed
    since the merge."""
    thing = "https://example.org/curator/with-blank-nodes"
    value = "https://example.org/curator/value"
    with writable.client() as client:
        made = client.post(
            "/update",
            headers={**TOKEN, "Content-Type": "application/sparql-update"},
            content=f'INSERT DATA {{ <{thing}> <{value}> [ <{value}> "inner" ; <{value}> [] ] ; '
            f'<{value}> "007"^^<http://www.w3.org/2001/XMLSchema#integer> }}',
        )
        assert made.status_code == 200, made.text
        assert select(client, f"SELECT ?x WHERE {{ <{thing}> <{value}>/<{value}> ?x }}")
        reverted = client.post(f"/changes/{made.json()['id']}/revert", headers=TOKEN)
        assert reverted.status_code == 200, reverted.text
        assert not select(client, f"SELECT ?o WHERE {{ <{thing}> <{value}> ?o }}")
        assert not select(client, f'SELECT ?s WHERE {{ ?s <{value}> "inner" }}')


def test_if_match_guards_against_a_moved_graph(writable: Service) -> None:
    with writable.client() as client:
        stale = '"0000-1"'
        refused = client.post(
            "/update",
            headers={**TOKEN, "Content-Type": "application/sparql-update", "If-Match": stale},
            content='INSERT DATA { GRAPH <https://w3id.org/ijkg/graph/curated> { <https://w3id.org/ijkg/id/state/india> <http://www.w3.org/2004/02/skos/core#altLabel> "Bharat"@hi } }',
        )
        assert refused.status_code == 412
        current = refused.json()["current"]
        ok = client.post(
            "/update",
            headers={**TOKEN, "Content-Type": "application/sparql-update", "If-Match": current},
            content='INSERT DATA { GRAPH <https://w3id.org/ijkg/graph/curated> { <https://w3id.org/ijkg/id/state/india> <http://www.w3.org/2004/02/skos/core#altLabel> "Bharat"@hi } }',
        )
        assert ok.status_code == 200, ok.text


def test_two_conflicting_merges_do_not_both_land(writable: Service) -> None:
    """Each proposal is valid alone; together they give Japan two English labels... so the second
    one to be merged must be refused (422), and the graph still conforms."""
    with writable.client() as client:
        japan = "https://w3id.org/ijkg/id/state/japan"
        current = select(
            client,
            f"SELECT ?l WHERE {{ <{japan}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}",
        )
        assert current
        ids = []
        for name in ("Japan (A)", "Japan (B)"):
            body = {
                "title": f"rename to {name}",
                "remove": {
                    "format": "application/n-triples",
                    "data": f'<{japan}> <http://www.w3.org/2000/01/rdf-schema#label> "Japan"@en .',
                },
                "add": {
                    "format": "application/n-triples",
                    "data": f'<{japan}> <http://www.w3.org/2000/01/rdf-schema#label> "{name}"@en .',
                },
            }
            proposed = client.post(
                "/changes",
                content=json.dumps(body),
                headers={**TOKEN, "Content-Type": "application/json"},
            )
            assert proposed.status_code == 201, proposed.text
            ids.append(proposed.json()["id"])
        version = client.get("/health/ready").json()["store"]["version"]
        outcomes: list[int] = []

        def merge(change_id: str) -> None:
            with writable.client() as own:
                outcomes.append(own.post(f"/changes/{change_id}/merge", headers=TOKEN).status_code)

        threads = [threading.Thread(target=merge, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == [200, 422], outcomes
        labels = select(
            client,
            f"SELECT ?l WHERE {{ <{japan}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}",
        )
        assert len(labels) == 1
        assert client.get("/health/ready").json()["store"]["version"] == version + 1


def test_graph_store_protocol(writable: Service, tmp_path: Path) -> None:
    graph = "https://w3id.org/ijkg/graph/test-upload"
    data = PREFIXES + """<https://w3id.org/ijkg/id/state/india> rdfs:comment "A test note"@en ."""
    with writable.client() as client:
        assert client.get("/store", params={"graph": graph}).status_code == 404
        created = client.put(
            "/store",
            params={"graph": graph},
            content=data,
            headers={**TOKEN, "Content-Type": "text/turtle"},
        )
        assert created.status_code == 201, created.text
        got = client.get(
            "/store", params={"graph": graph}, headers={"Accept": "application/n-triples"}
        )
        assert got.status_code == 200 and got.headers["content-type"].startswith(
            "application/n-triples"
        )
        assert (
            got.text.strip()
            == '<https://w3id.org/ijkg/id/state/india> <http://www.w3.org/2000/01/rdf-schema#comment> "A test note"@en .'
        )
        assert client.head("/store", params={"graph": graph}).status_code == 200
        # graph injection: a TriG body naming another graph is refused
        injected = client.put(
            "/store",
            params={"graph": graph},
            headers={**TOKEN, "Content-Type": "application/trig"},
            content="<https://w3id.org/ijkg/graph/ontology> { <urn:a> <urn:b> <urn:c> }",
        )
        assert injected.status_code == 400
        deleted = client.delete("/store", params={"graph": graph}, headers=TOKEN)
        assert deleted.status_code == 200
        assert client.get("/store", params={"graph": graph}).status_code == 404
        assert client.delete("/store", params={"graph": graph}, headers=TOKEN).status_code == 404
