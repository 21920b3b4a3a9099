"""The pages for people in headless Chromium: the index, a pillar, an agreement, a list, search,
the ontology. They render, their links lead to working pages, nothing is logged as an error, and
no request leaves the machine."""

from __future__ import annotations

from urllib.parse import urlsplit

from selenium.webdriver.common.by import By

from tests.browser import Browser
from tests.conftest import Server

ID = "https://w3id.org/ijkg/id/"


def open_page(browser: Browser, server: Server, path: str) -> None:
    browser.open(server.base_url + path)
    browser.wait_for(lambda: browser.script("return document.readyState") == "complete")


def local_links(browser: Browser, server: Server) -> list[str]:
    hrefs: list[str] = browser.script(
        "return [...document.querySelectorAll('a[href]')]"
        ".map(a => new URL(a.getAttribute('href'), location.href).href)"
    )
    host = urlsplit(server.base_url).netloc
    return sorted({h.split("#")[0] for h in hrefs if urlsplit(h).netloc == host})


def statuses(browser: Browser, urls: list[str]) -> dict[str, int]:
    """Fetch every URL from the page itself (same origin) and return the statuses."""
    result: dict[str, int] = browser.driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           Promise.all(arguments[0].map(u => fetch(u, {headers: {Accept: 'text/html'}})
             .then(r => [u, r.status]).catch(e => [u, 0])))
             .then(pairs => done(Object.fromEntries(pairs)));""",
        urls,
    )
    return result


def assert_clean(browser: Browser) -> None:
    assert browser.console_errors() == []
    assert browser.offsite_requests() == []
    assert any(url.endswith("/static/pages/site.css") for url in browser.requests)


def test_the_index_page(server: Server, browser: Browser) -> None:
    browser.driver.set_script_timeout(60)
    open_page(browser, server, "/")
    assert browser.driver.title.startswith("Home")
    heading = browser.driver.find_element(By.TAG_NAME, "h1").text
    assert heading == "The India–Japan knowledge graph"
    pillars = browser.script(
        "return [...document.querySelectorAll('ol.pillars a')].map(a => a.textContent)"
    )
    assert len(pillars) == 8 and pillars[0] == "Next Generation Economic Partnership"
    for path in (
        "/sparql",
        "/ontology",
        "/shapes",
        "/docs",
        "/api/pillars",
        "/api/sectors",
        "/api/agreements",
    ):
        assert browser.script(f"return !!document.querySelector('a[href=\"{path}\"]')"), path
    links = local_links(browser, server)
    assert len(links) > 40
    broken = {u: s for u, s in statuses(browser, links).items() if s != 200}
    assert not broken
    # The stylesheet applies (no unstyled page): the header is laid out as a flex row.
    assert (
        browser.script("return getComputedStyle(document.querySelector('.site-header')).display")
        == "flex"
    )
    assert_clean(browser)


def test_a_pillar_page_and_its_links(server: Server, browser: Browser) -> None:
    browser.driver.set_script_timeout(60)
    open_page(browser, server, "/")
    browser.driver.find_element(By.LINK_TEXT, "Investing in Next Gen Health").click()
    browser.wait_for(
        lambda: browser.driver.current_url.endswith("/id/pillar/health"), what="the pillar page"
    )
    assert browser.driver.find_element(By.TAG_NAME, "h1").text == "Investing in Next Gen Health"
    article = browser.driver.find_element(By.CSS_SELECTOR, "article.entity")
    assert article.get_attribute("data-iri") == ID + "pillar/health"
    # The picture is drawn, and its nodes are links.
    nodes = browser.script(
        "return [...document.querySelectorAll('svg.ijkg-picture a')].map(a => a.getAttribute('href'))"
    )
    assert "/id/agreement/india-japan-joint-vision-for-the-next-decade" in nodes
    size = browser.script(
        "const r = document.querySelector('svg.ijkg-picture').getBoundingClientRect(); return [r.width, r.height]"
    )
    assert size[0] > 300 and size[1] > 150
    # Evidence: the sentence, highlighted.
    marks = browser.script(
        "return [...document.querySelectorAll('mark.sentence')].map(m => m.textContent)"
    )
    assert "6. Health," in marks
    links = local_links(browser, server)
    broken = {u: s for u, s in statuses(browser, links).items() if s != 200}
    assert not broken
    # Follow the link to the agreement that covers it.
    browser.driver.find_element(
        By.CSS_SELECTOR,
        "table.incoming a[href='/id/agreement/india-japan-joint-vision-for-the-next-decade']",
    ).click()
    browser.wait_for(
        lambda: browser.driver.current_url.endswith(
            "/id/agreement/india-japan-joint-vision-for-the-next-decade"
        ),
        what="the agreement page",
    )
    assert_clean(browser)


def test_an_agreement_page(server: Server, browser: Browser) -> None:
    browser.driver.set_script_timeout(60)
    open_page(browser, server, "/id/agreement/india-japan-joint-vision-for-the-next-decade")
    assert (
        browser.driver.find_element(By.TAG_NAME, "h1").text
        == "India–Japan Joint Vision for the Next Decade"
    )
    rows = browser.script(
        "return [...document.querySelectorAll('table.properties:not(.incoming) th')].map(th => th.textContent.trim())"
    )
    assert {"party", "covers pillar", "has target"} <= set(rows)
    covered = browser.script(
        "return [...document.querySelectorAll('table.properties tr')].filter(tr => tr.querySelector('th').textContent.trim() === 'covers pillar')[0].querySelectorAll('td > ul > li > a').length"
    )
    assert covered == 8
    surface = browser.script(
        "return [...document.querySelectorAll('strong.surface')].map(s => s.textContent)"
    )
    assert "Next Generation Economic Partnership" in surface
    links = local_links(browser, server)
    broken = {u: s for u, s in statuses(browser, links).items() if s != 200}
    assert not broken
    # The Turtle link gives Turtle.
    turtle = browser.driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           fetch(document.querySelector('a[type="text/turtle"]').href)
             .then(r => r.text().then(t => done([r.headers.get('content-type'), t])));"""
    )
    assert turtle[0].startswith("text/turtle")
    assert "coversPillar" in turtle[1]
    assert_clean(browser)


def test_a_state_page_reads_as_facts_with_the_evidence_folded(
    server: Server, browser: Browser
) -> None:
    open_page(browser, server, "/id/state/japan")
    # The properties come first and the page stays short: the claims and their sentences are
    # folded under the values they support, closed until asked for.
    height = browser.script("return document.documentElement.scrollHeight")
    assert height < 5000, height
    folds = browser.script(
        "return [...document.querySelectorAll('details.support')].map(d => [d.open, "
        "d.closest('table, ul.other-claims').className, d.querySelectorAll('figure').length])"
    )
    assert len(folds) > 20
    assert not [f for f in folds if f[0]], "every fold starts closed"
    assert sum(f[2] for f in folds) >= 50, "the evidence is all there, folded"
    assert {f[1] for f in folds} >= {"properties", "properties incoming"}
    marks = browser.script(
        "return [...document.querySelectorAll('mark.sentence')].filter(m => m.checkVisibility()).length"
    )
    assert marks == 0, "no sentence shows before a fold is opened"
    # Each value once: Sanae Takaichi represents Japan in two graphs, one row with both claims.
    rows = browser.script(
        "return [...document.querySelectorAll('table.properties tr')].map(tr => "
        "[tr.querySelector('th').textContent.trim(), "
        "[...tr.querySelectorAll('td > ul > li > a.ijkg-link')].map(a => a.getAttribute('href'))])"
    )
    for label, hrefs in rows:
        assert len(hrefs) == len(set(hrefs)), (label, hrefs)
    represents = dict(rows)["represents of"]
    assert represents.count("/id/person/sanae-takaichi") == 1
    fold = browser.driver.find_element(
        By.XPATH,
        "//tr[th[normalize-space()='represents of']]"
        "//li[a[@href='/id/person/sanae-takaichi']]/details",
    )
    assert fold.find_element(By.TAG_NAME, "summary").text.startswith("2 claims")
    fold.find_element(By.TAG_NAME, "summary").click()
    browser.wait_for(lambda: fold.get_attribute("open") is not None, what="the fold to open")
    shown = browser.script(
        "return [...arguments[0].querySelectorAll('mark.sentence')].filter(m => m.checkVisibility())"
        ".map(m => m.textContent)",
        fold,
    )
    assert shown and any("Takaichi" in m for m in shown)
    # No claim bookkeeping in the link table.
    assert not [label for label, _ in rows if label in ("subject of", "object of", "about of")]
    assert_clean(browser)


def test_the_picture_labels_are_readable(server: Server, browser: Browser) -> None:
    for path in (
        "/id/state/japan",
        "/id/agreement/india-japan-joint-vision-for-the-next-decade",
        "/id/pillar/economic-security",
    ):
        open_page(browser, server, path)
        title = browser.driver.find_element(By.TAG_NAME, "h1").text
        boxes = browser.script(
            """const box = e => { const b = e.getBBox(); return [b.x, b.y, b.width, b.height]; };
               const g = document.querySelector('svg.ijkg-picture g.ijkg-center');
               return [box(g.querySelector('rect')), box(g.querySelector('text')),
                       [...g.querySelectorAll('tspan')].map(t => t.textContent)];"""
        )
        rect, text, lines = boxes
        # The centre label is inside its box, and whole when it fits two lines.
        assert rect[0] <= text[0] and text[0] + text[2] <= rect[0] + rect[2], (path, rect, text)
        assert rect[1] <= text[1] and text[1] + text[3] <= rect[1] + rect[3], (path, rect, text)
        if len(title) <= 60:
            assert " ".join(lines) == title
        # Neighbours' labels: whole words, each line inside its box.
        nodes = browser.script(
            """return [...document.querySelectorAll('svg.ijkg-picture a.ijkg-node')].map(a => {
                 const r = a.querySelector('rect').getBBox(), t = a.querySelector('text').getBBox();
                 return [a.querySelector('title').textContent,
                         [...a.querySelectorAll('tspan')].map(s => s.textContent),
                         t.x >= r.x && t.x + t.width <= r.x + r.width]; });"""
        )
        assert nodes
        for full, shown, inside in nodes:
            label = full.rsplit(" (", 1)[0]
            assert inside, (path, label, shown)
            words = " ".join(shown).removesuffix("…").split()
            assert words == label.split()[: len(words)] or len(label.split()[0]) > 20, (
                label,
                shown,
            )
        assert_clean(browser)


def test_lists_search_and_the_ontology(server: Server, browser: Browser) -> None:
    open_page(browser, server, "/api/claims?limit=10")
    items = browser.script("return document.querySelectorAll('ol.entity-list li').length")
    assert items == 10
    browser.driver.find_element(By.CSS_SELECTOR, "a[rel='next']").click()
    browser.wait_for(lambda: "after=" in browser.driver.current_url, what="the next page")
    assert browser.script("return document.querySelectorAll('ol.entity-list li').length") == 10
    # Search from the header form.
    box = browser.driver.find_element(By.ID, "site-q")
    box.clear()
    box.send_keys("ayurvéda")
    box.submit()
    browser.wait_for(lambda: "/api/search" in browser.driver.current_url, what="the search page")
    first = browser.script("return document.querySelector('ol.entity-list a').getAttribute('href')")
    assert first == "/id/sector/ayurveda"
    # The ontology page, and an anchor in it.
    open_page(browser, server, "/ontology#Pillar")
    assert browser.script(
        "return document.getElementById('Pillar').querySelector('h3').textContent"
    ).startswith("pillar")
    open_page(browser, server, "/shapes#S07-Agreement")
    assert "S07 Agreement" in browser.script(
        "return document.getElementById('S07-Agreement').textContent"
    )
    # A concept's label rule reads as what it checks.
    assert "same values as skos:prefLabel" in browser.script(
        "return document.getElementById('S27-Concept-label').textContent"
    )
    assert_clean(browser)


def test_the_api_documentation_loads_nothing_from_elsewhere(
    server: Server, browser: Browser
) -> None:
    open_page(browser, server, "/docs")
    browser.wait_for(
        lambda: (
            browser.script("return document.querySelectorAll('.swagger-ui .opblock').length") > 10
        ),
        what="the operations in Swagger UI",
    )
    paths = browser.script(
        "return [...document.querySelectorAll('.opblock-summary-path')].map(p => p.getAttribute('data-path'))"
    )
    assert {"/id/{kind}/{slug}", "/api/{name}", "/api/search"} <= set(paths)
    assert browser.console_errors() == []
    assert browser.offsite_requests() == []
    assert any(url.endswith("/static/swagger/swagger-ui-bundle.js") for url in browser.requests)
