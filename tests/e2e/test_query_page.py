"""The query page at /sparql: in headless Chromium, and what it is made of."""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By

from ijkg.graph.core.namespaces import PREFIXES
from ijkg.service.query_page import Example, examples, parse_example
from tests.browser import Browser
from tests.conftest import Server

ROOT = Path(__file__).resolve().parents[2]
STATIC = files("ijkg.service") / "static"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what browsers send


def open_page(browser: Browser, server: Server, path: str = "/sparql") -> None:
    browser.open(server.base_url + path)
    browser.wait_for(
        lambda: browser.script(
            "return !!(window.ijkgQueryPage && document.querySelector('.CodeMirror'))"
        ),
        what="the editor",
    )


def run_current_tab(browser: Browser) -> None:
    browser.driver.find_element(By.CSS_SELECTOR, ".tabPanel.active .yasqe_queryButton").click()


def result_cells(browser: Browser) -> list[list[str]]:
    return browser.script(
        "return [...document.querySelectorAll('.tabPanel.active .yasr table.dataTable tbody tr')]"
        ".map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText.trim()))"
    )


def assert_clean(browser: Browser) -> None:
    assert browser.console_errors() == []
    assert browser.offsite_requests() == []
    assert any(url.endswith("/static/yasgui/yasgui.min.js") for url in browser.requests)


def test_the_first_query_is_in_view_and_its_results_link_here(
    server: Server, browser: Browser
) -> None:
    open_page(browser, server)
    query = browser.script("return window.ijkgQueryPage.yasgui.getTab().getQuery()")
    # Only the prefixes it uses: the query itself starts within the first lines on screen.
    lines = query.splitlines()
    declared = [line for line in lines if line.startswith("PREFIX ")]
    assert 0 < len(declared) <= 4
    assert next(i for i, line in enumerate(lines) if line.startswith("SELECT")) < 10
    assert "rdfs:label" in query
    visible = browser.script(
        "return [...document.querySelectorAll('.tabPanel.active .CodeMirror-line')]"
        ".filter(l => { const r = l.getBoundingClientRect();"
        " return r.height > 0 && r.bottom <= window.innerHeight; }).map(l => l.textContent)"
    )
    assert any(line.startswith("SELECT") for line in visible), visible
    run_current_tab(browser)
    rows = browser.wait_for(lambda: result_cells(browser), what="the first query's results")
    assert len(rows) == 8
    # Entity IRIs link to this service's pages, and those pages answer.
    links = browser.script(
        "return [...document.querySelectorAll('.tabPanel.active .yasr a.iri')]"
        ".map(a => [a.getAttribute('href'), a.title])"
    )
    assert links and all(href.startswith("/id/pillar/") for href, _ in links), links
    assert all(title == "https://w3id.org/ijkg" + href for href, title in links)
    with server.client() as client:
        assert client.get(links[0][0], headers={"Accept": HTML}).status_code == 200
    # A prefix typed is declared.
    browser.script(
        "const y = window.ijkgQueryPage.yasgui.getTab().getYasqe();"
        "y.setValue('SELECT * WHERE { ?s ?p ?o }'); y.focus(); y.setCursor({line: 0, ch: 24});"
    )
    browser.driver.find_element(By.CSS_SELECTOR, ".tabPanel.active .CodeMirror textarea").send_keys(
        " prov:"
    )
    browser.wait_for(
        lambda: (
            "PREFIX prov: <http://www.w3.org/ns/prov#>"
            in browser.script("return window.ijkgQueryPage.yasgui.getTab().getQuery()")
        ),
        what="the prov: prefix declared",
    )
    assert_clean(browser)


def test_the_page_runs_a_query_and_shows_its_results(server: Server, browser: Browser) -> None:
    open_page(browser, server)
    browser.script(
        "window.ijkgQueryPage.yasgui.getTab().setQuery(arguments[0])",
        "PREFIX ijkg: <https://w3id.org/ijkg/ontology#>\n"
        "SELECT ?graph (COUNT(*) AS ?triples) WHERE { GRAPH ?graph { ?s ?p ?o } }\n"
        "GROUP BY ?graph ORDER BY ?graph",
    )
    run_current_tab(browser)
    rows = browser.wait_for(lambda: result_cells(browser), what="the results table")
    with server.client() as client:
        expected = client.get(
            "/sparql",
            params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { } } ORDER BY ?g"},
            headers={"Accept": "text/csv"},
        ).text.split()[1:]
    shown = [cell for row in rows for cell in row]
    assert len(rows) == len(expected)
    for graph in expected:  # every graph, shown (YASGUI abbreviates with the prefixes it knows)
        assert any(graph.rsplit("/", 1)[-1] in cell for cell in shown), (graph, shown)
    assert_clean(browser)


def test_an_example_opens_in_its_own_tab_and_answers(server: Server, browser: Browser) -> None:
    example = next(e for e in examples() if e.id.startswith("CQ"))
    open_page(browser, server)
    browser.driver.find_element(By.CSS_SELECTOR, f'button[data-example="{example.id}"]').click()
    browser.wait_for(
        lambda: (
            browser.script("return window.ijkgQueryPage.yasgui.getTab().getName()") == example.id
        ),
        what="the example's tab",
    )
    assert browser.script("return window.ijkgQueryPage.yasgui.getTab().getQuery()") == example.query
    run_current_tab(browser)
    rows = browser.wait_for(lambda: result_cells(browser), what="the example's results")
    with server.client() as client:
        answer = client.get(
            "/sparql", params={"query": example.query}, headers={"Accept": "text/csv"}
        )
    assert answer.status_code == 200
    assert len(rows) == len(answer.text.strip().splitlines()) - 1
    assert_clean(browser)


def test_a_link_with_a_query_opens_it_in_the_editor(server: Server, browser: Browser) -> None:
    query = "ASK { ?s ?p ?o }"
    open_page(browser, server, "/sparql?query=" + quote(query))
    browser.wait_for(
        lambda: browser.script("return window.ijkgQueryPage.yasgui.getTab().getQuery()") == query,
        what="the linked query in the editor",
    )
    assert_clean(browser)


def test_a_malformed_query_shows_where_it_is_wrong(server: Server, browser: Browser) -> None:
    open_page(browser, server)
    browser.script(
        "window.ijkgQueryPage.yasgui.getTab().setQuery(arguments[0])",
        "SELECT ?x WHERE { ?x a ijkg:Pillar }",
    )
    run_current_tab(browser)
    shown = browser.wait_for(
        lambda: browser.script(
            "const e = document.querySelector('.tabPanel.active .yasr .ijkg-problem');"
            "return e && e.innerText"
        ),
        what="the problem",
    )
    # The problem details, read: title and status, what to do, and a caret under the place.
    assert shown.startswith("Malformed query (400)")
    assert "line 1, column 35" in shown
    assert "add PREFIX ijkg: <https://w3id.org/ijkg/ontology#>" in shown
    assert "SELECT ?x WHERE { ?x a ijkg:Pillar }\n" + " " * 34 + "^" in shown
    assert browser.offsite_requests() == []


def test_completion_offers_the_project_prefixes_and_asks_no_one_else(
    server: Server, browser: Browser
) -> None:
    open_page(browser, server)
    completers = browser.script("return window.Yasgui.Yasqe.defaults.autocompleters")
    assert completers == ["ijkgPrefixes", "variables"]  # no lookups on remote vocabularies
    offered = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.Yasgui.Yasqe.Autocompleters.ijkgPrefixes.get().then(done)"
    )
    assert sorted(offered) == sorted(f"{n}: <{iri}>" for n, iri in PREFIXES.items())
    assert_clean(browser)


# --- without a browser -------------------------------------------------------------------------


def test_browsers_get_the_page_and_scripts_get_the_description(server: Server) -> None:
    with server.client() as client:
        page = client.get("/sparql", headers={"Accept": HTML})
        description = client.get("/sparql", headers={"Accept": "*/*"})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "script-src 'self'" in policy  # no inline script, no other origin
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["vary"].startswith("Accept")
    assert description.headers["content-type"] == "text/turtle; charset=utf-8"
    # Everything the page loads is the service's own.
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert url.startswith(("/", "data:")), url
    with server.client() as client:
        for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].split(";")[0] in (
                "text/css",
                "text/javascript",
                "application/javascript",
            )


def test_the_page_is_cached_by_its_etag(server: Server) -> None:
    with server.client() as client:
        first = client.get("/sparql", headers={"Accept": HTML})
        again = client.get(
            "/sparql", headers={"Accept": HTML, "If-None-Match": first.headers["etag"]}
        )
    assert again.status_code == 304
    assert again.content == b""


def test_the_examples_are_the_competency_questions() -> None:
    """The page ships the competency queries (tests/competency/) as examples, unchanged."""
    questions = sorted((ROOT / "tests" / "competency").glob("CQ*.rq"))
    assert questions, "no competency questions found"
    shipped = {e.id: e for e in examples()}
    for path in questions:
        example = shipped.get(path.stem)
        assert example is not None, f"copy {path.name} to service/static/examples/"
        assert example.query == path.read_text(encoding="utf-8"), (
            f"service/static/examples/{path.name} differs from tests/competency/{path.name}: "
            "copy it again"
        )
        assert example.title and example.title.endswith(("?", "."))
    stale = {i for i in shipped if i.startswith("CQ")} - {p.stem for p in questions}
    assert not stale, f"examples of competency questions that no longer exist: {stale}"


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.id)
def test_every_example_answers_on_the_bundled_graph(server: Server, example: Example) -> None:
    with server.client() as client:
        answer = client.get(
            "/sparql",
            params={"query": example.query},
            headers={"Accept": "application/sparql-results+json, text/turtle"},
        )
    assert answer.status_code == 200, answer.text
    if answer.headers["content-type"].startswith("application/sparql-results+json"):
        body = answer.json()
        assert body.get("boolean") is True or body["results"]["bindings"], example.id
    else:
        assert answer.text.count(" .") >= 1, example.id


def test_example_titles_come_from_the_comment_block() -> None:
    example = parse_example(
        "CQ99.rq", "# CQ99 Which pillars are there,\n# and in which order?\n# Explained.\nASK {}\n"
    )
    assert (example.id, example.title) == ("CQ99", "Which pillars are there, and in which order?")
    assert example.description == "Explained."
    general = parse_example("00-x.rq", "# Graphs and sizes.\nSELECT * {}")
    assert (general.id, general.title, general.description) == ("00-x", "Graphs and sizes.", "")


def test_the_vendored_editor_is_the_published_package() -> None:
    notice = (STATIC / "yasgui" / "NOTICE.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"\| `([\w.]+)` \| `([0-9a-f]{64})` \|", notice))
    assert set(table) == {"yasgui.min.js", "yasgui.min.css"}
    for name, digest in table.items():
        assert hashlib.sha256((STATIC / "yasgui" / name).read_bytes()).hexdigest() == digest, name
