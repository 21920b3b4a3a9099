"""The query page's versions, in headless Chromium: the picker lists the graph's versions and
pins queries to one, and "Copy citable link" gives the query at the version it ran on, which
opens the same query at the same version."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from tests.browser import Browser
from tests.conftest import Server
from tests.e2e.test_query_page import assert_clean, open_page, result_cells, run_current_tab

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def shown_count(browser: Browser) -> str:
    """The count in the results table (its cells: the row number, then the typed literal)."""
    rows = browser.wait_for(lambda: result_cells(browser), what="the count")
    assert len(rows) == 1
    return str(rows[0][-1]).split('"')[1]


def citable_link(browser: Browser) -> str:
    link: str = browser.wait_for(
        lambda: browser.script("return document.getElementById('ijkg-citable-link').value"),
        what="the citable link",
    )
    return link


def test_a_query_is_cited_at_the_version_it_ran_on(server: Server, browser: Browser) -> None:
    with server.client() as client:
        head = client.get("/versions", params={"limit": "1"}).json()["head"]
        expected = client.get(
            "/sparql", params={"query": COUNT, "version": str(head)}, headers={"Accept": "text/csv"}
        ).text.split()[1]
    open_page(browser, server)
    browser.wait_for(
        lambda: (
            browser.script(
                "return [...document.querySelectorAll('#ijkg-version option')].map(o => o.value)"
            )[1:2]
            == [str(head)]
        ),
        what="the newest version first in the picker",
    )
    assert browser.script("return document.getElementById('ijkg-cite').disabled")
    browser.script("window.ijkgQueryPage.yasgui.getTab().setQuery(arguments[0])", COUNT)
    run_current_tab(browser)
    assert shown_count(browser) == expected
    link = citable_link(browser)
    params = parse_qs(urlsplit(link).query)
    assert params == {"query": [COUNT], "version": [str(head)]}
    assert link.startswith(server.base_url + "/sparql?")
    assert not browser.script("return document.getElementById('ijkg-cite').disabled")

    # The link opens the query at that version, and the picker pins the tab's queries to it.
    open_page(browser, server, link.removeprefix(server.base_url))
    browser.wait_for(
        lambda: browser.script("return document.getElementById('ijkg-version').value") == str(head),
        what="the cited version picked",
    )
    assert browser.script("return window.ijkgQueryPage.yasgui.getTab().getQuery()") == COUNT
    assert browser.script(
        "return window.ijkgQueryPage.yasgui.getTab().getRequestConfig().args"
    ) == [{"name": "version", "value": str(head)}]
    run_current_tab(browser)
    assert shown_count(browser) == expected

    # Back to the current version: the tab's queries are no longer pinned.
    Select(browser.driver.find_element(By.ID, "ijkg-version")).select_by_value("")
    assert (
        browser.script("return window.ijkgQueryPage.yasgui.getTab().getRequestConfig().args") == []
    )
    assert_clean(browser)
