"""The curator's workspace over HTTP: ``/changes`` and ``/changes/{id}`` are pages for browsers
and JSON for everyone else, their filters narrow the list, and errors are pages for browsers and
problem+json for API clients. On the app in this process (fast tier) and on a real server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from anyio.from_thread import BlockingPortal

from tests.conftest import Service, start_in_process, start_server, stop_server
from tests.e2e.test_curator import ADMIN_TOKENS, AGREEMENT, TOKEN, WRITE_TOKENS, agreement

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
EDITOR = {"Authorization": "Bearer editor-secret"}
OTHER = "https://w3id.org/ijkg/id/agreement/test-workspace-other"


@pytest.fixture(
    scope="module", params=["in-process", pytest.param("server", marks=pytest.mark.slow)]
)
def writable(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    portal: BlockingPortal,
) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("workspace-http")
    if request.param == "in-process":
        yield from start_in_process(
            portal, root / "store", write_tokens=WRITE_TOKENS, admin_tokens=ADMIN_TOKENS
        )
        return
    server = start_server(
        root / "store",
        root / "server.log",
        {"IJKG_WRITE_TOKENS": WRITE_TOKENS, "IJKG_ADMIN_TOKENS": ADMIN_TOKENS},
    )
    yield server
    stop_server(server)


def rows(html: str) -> list[str]:
    """The ids of the changes a list page shows."""
    return re.findall(r'<tr data-id="([^"]+)"', html)


def propose(client: httpx.Client, body: str, headers: dict[str, str], title: str) -> str:
    answer = client.post(
        "/changes",
        params={"title": title},
        content=body,
        headers={**headers, "Content-Type": "text/turtle"},
    )
    assert answer.status_code == 201, answer.text
    change_id: str = answer.json()["id"]
    return change_id


def test_pages_for_browsers_json_for_api_clients(writable: Service) -> None:
    with writable.client() as client:
        change = propose(client, agreement('"2025-08-29"^^xsd:date'), TOKEN, "Semiconductors")
        for path in ("/changes", f"/changes/{change}"):
            page = client.get(path, headers=BROWSER)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert "Accept" in page.headers["vary"].split(", ")
            assert "Semiconductors" in page.text
            for headers in (JSON, {"Accept": "*/*"}, {}):
                data = client.get(path, headers=headers)
                assert data.status_code == 200
                assert data.headers["content-type"] == "application/json"
        listed = client.get("/changes", headers=JSON).json()
        assert change in [c["id"] for c in listed]
        detail = client.get(f"/changes/{change}", headers=JSON).json()
        assert detail["status"] == "proposed" and AGREEMENT in detail["additions"]
        # The change's page: the diff by entity, with labels from the change and the graph.
        page = client.get(f"/changes/{change}", headers=BROWSER).text
        assert f'data-subject="{AGREEMENT}"' in page
        assert "Memorandum of Cooperation on semiconductors (test)</a>" in page
        assert ">India</a>" in page and ">Japan</a>" in page
        assert 'class="report conforms"' in page
        assert 'id="merge-button"' in page
        client.post(f"/changes/{change}/reject", headers=TOKEN)


def test_filters_narrow_the_list(writable: Service) -> None:
    with writable.client() as client:
        mine = propose(client, agreement('"2025-08-29"^^xsd:date'), TOKEN, "By the curator")
        other = agreement('"2025-08-30"^^xsd:date').replace(AGREEMENT, OTHER)
        theirs = propose(client, other, EDITOR, "By the editor")
        assert client.post(f"/changes/{theirs}/merge", headers=EDITOR).status_code == 200

        def shown(**params: str) -> list[str]:
            answer = client.get("/changes", params=params, headers=BROWSER)
            assert answer.status_code == 200, answer.text
            return rows(answer.text)

        everything = shown()
        assert {mine, theirs} <= set(everything)
        by_status = shown(status="merged")
        assert theirs in by_status and mine not in by_status
        by_author = shown(author="editor")
        assert theirs in by_author and mine not in by_author
        assert mine in shown(author="curator")
        # The entity by kind/slug, as a curator types it, or by its IRI.
        assert shown(touching="agreement/test-workspace-other") == [theirs]
        # A proposal is found by what it would touch (a rejected one is not).
        assert shown(touching="agreement/test-semiconductor-moc") == [mine]
        assert shown(touching=OTHER) == [theirs]
        assert shown(status="", author="", touching="") == everything
        # The form shows the filters it applies.
        page = client.get(
            "/changes", params={"status": "merged", "author": "editor"}, headers=BROWSER
        )
        assert '<option value="merged" selected>' in page.text
        assert 'id="filter-author" value="editor"' in page.text
        # The JSON API filters by author too.
        api = client.get("/changes", params={"author": "editor"}).json()
        assert [c["id"] for c in api] == [theirs]
        client.post(f"/changes/{mine}/reject", headers=TOKEN)


def test_a_rejected_change_shows_its_reason(writable: Service) -> None:
    with writable.client() as client:
        change = propose(client, agreement('"2025-08-29"^^xsd:date'), TOKEN, "To reject")
        rejected = client.post(
            f"/changes/{change}/reject",
            params={"reason": "duplicate of the MEA entry"},
            headers=TOKEN,
        )
        assert rejected.status_code == 200
        page = client.get(f"/changes/{change}", headers=BROWSER).text
        assert "duplicate of the MEA entry" in page and 'id="merge-button"' not in page
        # API clients read it too, in the answer to the rejection and later.
        assert rejected.json()["rejectionReason"] == "duplicate of the MEA entry"
        later = client.get(f"/changes/{change}", headers=JSON).json()
        assert later["rejectionReason"] == "duplicate of the MEA entry"
        listed = client.get("/changes", params={"status": "rejected"}, headers=JSON).json()
        assert {c["id"]: c["rejectionReason"] for c in listed}[change] == later["rejectionReason"]


def test_errors_are_pages_for_browsers(writable: Service) -> None:
    with writable.client() as client:
        for path in ("/changes/20990101-000000-000-abcdef", "/no/such/page"):
            page = client.get(path, headers=BROWSER)
            assert page.status_code == 404
            assert page.headers["content-type"].startswith("text/html")
            assert "<h1>Not found</h1>" in page.text
            assert "default-src 'none'" in page.headers["content-security-policy"]
            for headers in (JSON, {}):
                problem = client.get(path, headers=headers)
                assert problem.status_code == 404
                assert problem.headers["content-type"] == "application/problem+json"
                assert problem.json()["title"] == "Not found"
                assert "Accept" in problem.headers["vary"].split(", ")
        # A change that violates the shapes: the report and its fix on the page.
        body = agreement('"2025-08-29"^^xsd:date').replace(
            "semiconductors>", "semiconductor-chips>"
        )
        wrong = client.post(
            "/changes",
            params={"title": "Wrong"},
            content=body,
            headers={**TOKEN, **BROWSER, "Content-Type": "text/turtle"},
        )
        assert wrong.status_code == 422
        assert wrong.headers["content-type"].startswith("text/html")
        assert "The change violates the shapes" in wrong.text
        assert 'class="report violates"' in wrong.text
        assert "Suggested fix:" in wrong.text
        problem = client.post(
            "/changes",
            params={"title": "Wrong"},
            content=body,
            headers={**TOKEN, **JSON, "Content-Type": "text/turtle"},
        )
        assert problem.status_code == 422
        assert problem.headers["content-type"] == "application/problem+json"
        assert problem.json()["report"]["violations"] >= 1
        # 401 keeps its challenge on the page too.
        unauthorised = client.post("/changes/x/merge", headers=BROWSER)
        assert unauthorised.status_code == 401
        assert unauthorised.headers["www-authenticate"].startswith("Bearer")
        assert unauthorised.headers["content-type"].startswith("text/html")


def test_a_large_change_shows_its_first_triples(writable: Service) -> None:
    notes = "".join(
        f'<https://w3id.org/ijkg/id/state/japan> skos:editorialNote "note {i}"@en .\n'
        for i in range(1005)
    )
    body = "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n" + notes
    with writable.client() as client:
        change = propose(client, body, TOKEN, "Many notes")
        page = client.get(f"/changes/{change}", headers=BROWSER).text
        assert page.count('<tr class="added">') == 1000
        assert "Showing 1000 of the 1005 triples" in page
        assert 'data-subject="https://w3id.org/ijkg/id/state/japan"' in page
        assert len(client.get(f"/changes/{change}").json()["additions"].splitlines()) == 1005
        client.post(f"/changes/{change}/reject", headers=TOKEN)


def test_whoami_names_the_writer_a_token_stands_for(writable: Service) -> None:
    with writable.client() as client:
        assert client.get("/whoami", headers=TOKEN).json() == {"name": "curator", "admin": False}
        admin = client.get("/whoami", headers={"Authorization": "Bearer admin-secret"})
        assert admin.json() == {"name": "admin", "admin": True}
        for headers in ({"Authorization": "Bearer wrong"}, {}):
            refused = client.get("/whoami", headers={**JSON, **headers})
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
