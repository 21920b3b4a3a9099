"""The curator's workspace in headless Chromium, on a real server with the bundled graph: sign in
with a token, check a change (a violation shows its message and fix and cannot be proposed),
propose it, read its diff by entity with labels, merge it, revert it — the graph answers each
step in SPARQL — and reject another with a reason. The token stays in the tab's session storage,
never in a cookie; nothing is requested from other sites; nothing is logged as an error.

With ``IJKG_SCREENSHOTS=<folder>``, the round saves the change's page as ``workspace.png`` there
(the picture in the README's tour).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.browser import Browser
from tests.conftest import Server, start_server, stop_server
from tests.e2e.test_curator import ADMIN_TOKENS, AGREEMENT, TOKEN, WRITE_TOKENS, agreement, select

SECRET = TOKEN["Authorization"].removeprefix("Bearer ")
#: A sector that does not exist, one the graph knows a close match for.
MISTYPED = agreement('"2025-08-29"^^xsd:date').replace("semiconductors>", "semiconductor-chips>")
CORRECT = agreement('"2025-08-29"^^xsd:date')
SOURCE = "A New Chapter in India Japan Relations: Momentum, Vision, and Strategic Partnership"


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``ijkg serve`` with the bundled graph that takes writes."""
    root = tmp_path_factory.mktemp("workspace")
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


def open_page(browser: Browser, server: Server, path: str) -> None:
    browser.open(server.base_url + path)
    browser.wait_for(lambda: browser.script("return document.readyState") == "complete")


def text(browser: Browser, selector: str) -> str:
    found: str = browser.driver.find_element(By.CSS_SELECTOR, selector).text
    return found


def sign_in(browser: Browser, secret: str = SECRET) -> None:
    field = browser.driver.find_element(By.ID, "signin-token")
    field.clear()  # a refused token stays in the field to be corrected
    field.send_keys(secret)
    browser.driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    browser.wait_for(lambda: browser.driver.find_element(By.ID, "signed-in").is_displayed())
    assert not browser.driver.find_element(By.ID, "signin-form").is_displayed()
    assert text(browser, "#signed-in-name") == "curator"  # the token's name, asked of the service


def test_a_mistyped_token_is_refused_as_the_curator_signs_in(
    curated: Server, browser: Browser
) -> None:
    open_page(browser, curated, "/changes")
    browser.driver.find_element(By.ID, "signin-token").send_keys("not-" + SECRET)
    browser.driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    browser.wait_for(
        lambda: "does not know this token" in text(browser, "#workspace-message"),
        what="the refusal",
    )
    assert browser.driver.find_element(By.ID, "signin-form").is_displayed()
    assert browser.script("return sessionStorage.length") == 0  # nothing kept
    assert not browser.driver.find_element(By.ID, "propose-button").is_enabled()
    sign_in(browser)
    browser.driver.find_element(By.ID, "signout").click()
    assert browser.script("return sessionStorage.length") == 0


def paste(browser: Browser, element_id: str, value: str) -> None:
    """Put text in a field as a paste does (one input event), not key by key."""
    browser.script(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event('input', {bubbles: true}));",
        element_id,
        value,
    )


def in_graph(client: httpx.Client) -> bool:
    return bool(select(client, f"SELECT * WHERE {{ <{AGREEMENT}> a ?type }}"))


def assert_safe(browser: Browser) -> None:
    """The token is in the tab's session storage only; nothing left; nothing went wrong."""
    assert browser.script("return sessionStorage.getItem('ijkg-token')") == SECRET
    assert browser.script("return document.cookie") == ""
    assert browser.driver.get_cookies() == []
    assert browser.console_errors() == []
    assert browser.offsite_requests() == []


def reload_done(browser: Browser, status: str) -> None:
    browser.wait_for(
        lambda: (
            browser.script("return document.querySelector('article.change').dataset.status")
            == status
            and browser.script("return document.readyState") == "complete"
        ),
        what=f"the change to be {status}",
    )


def test_propose_review_merge_revert(curated: Server, browser: Browser) -> None:
    with curated.client() as client:
        round_trip(curated, browser, client)


def round_trip(curated: Server, browser: Browser, client: httpx.Client) -> None:
    open_page(browser, curated, "/changes")
    assert browser.driver.title.startswith("Changes")
    # Not signed in: the propose button waits for a token and a clean check.
    assert browser.driver.find_element(By.ID, "signin-form").is_displayed()
    assert not browser.driver.find_element(By.ID, "propose-button").is_enabled()
    sign_in(browser)

    # A violation: its message and fix are shown, and it cannot be proposed.
    browser.driver.find_element(By.ID, "propose-title-input").send_keys("Semiconductor MoC")
    paste(browser, "propose-source", "https://www.mea.gov.in/semiconductors")
    paste(browser, "propose-description", "Signed at the annual summit, August 2025.")
    paste(browser, "propose-add", MISTYPED)
    browser.driver.find_element(By.ID, "check-button").click()
    browser.wait_for(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, "#check-report .report"),
        what="the report",
    )
    report = text(browser, "#check-report .report")
    assert "Does not conform" in report
    assert "ijkg:coversSector must point to an ijkg:Sector." in report
    fix = text(browser, "#check-report .suggestion")
    assert fix.startswith("Suggested fix:") and "sector/semiconductors" in fix
    assert not browser.driver.find_element(By.ID, "propose-button").is_enabled()
    # Submitting anyway (Enter in the title) proposes nothing.
    browser.script("document.getElementById('propose-form').requestSubmit()")
    assert "Check the change first" in text(browser, "#workspace-message")
    assert client.get("/changes", params={"status": "proposed"}).json() == []

    # Fixed: it conforms, and then it can be proposed.
    paste(browser, "propose-add", CORRECT)
    assert not browser.driver.find_element(By.ID, "propose-button").is_enabled()
    browser.driver.find_element(By.ID, "check-button").click()
    browser.wait_for(
        lambda: browser.driver.find_element(By.ID, "propose-button").is_enabled(),
        what="the propose button to be enabled",
    )
    assert "Conforms to the shapes" in text(browser, "#check-report .report")
    browser.driver.find_element(By.ID, "propose-button").click()
    browser.wait_for(lambda: "/changes/" in browser.driver.current_url, what="the change's page")
    reload_done(browser, "proposed")
    change_id = browser.script("return document.querySelector('article.change').dataset.id")
    assert not in_graph(client)

    # The change's page: the diff by entity, with labels; the report; the evidence.
    assert text(browser, "h1") == "Semiconductor MoC"
    assert text(browser, ".description") == "Signed at the annual summit, August 2025."
    assert "Proposed." in text(browser, "#workspace-message")
    group = browser.driver.find_element(By.CSS_SELECTOR, f"section[data-subject='{AGREEMENT}']")
    assert group.find_element(By.TAG_NAME, "h3").text.startswith(
        "Memorandum of Cooperation on semiconductors (test)"
    )
    cells = browser.script(
        "return [...arguments[0].querySelectorAll('tr.added')].map(tr =>"
        " [tr.querySelector('th').textContent.trim(), tr.querySelector('td:last-child').textContent.trim()])",
        group,
    )
    pairs = {(predicate, value) for predicate, value in cells}
    values = {value for _, value in pairs}
    assert {"India", "Japan"} <= values
    assert {("is a", "agreement"), ("party", "India"), ("derived from", SOURCE)} <= pairs
    assert not any(value.startswith("https://") for value in values)
    assert "Conforms to the shapes" in text(browser, ".report")
    evidence = text(browser, ".evidence-list")
    assert "https://www.mea.gov.in/semiconductors" in evidence
    assert f"derived from: {SOURCE}" in evidence
    screenshots = os.environ.get("IJKG_SCREENSHOTS")
    if screenshots:
        browser.driver.set_window_size(1400, 1500)
        browser.screenshot(Path(screenshots) / "workspace.png")

    # Merged: in the graph, and in the history.
    browser.driver.find_element(By.ID, "merge-button").click()
    reload_done(browser, "merged")
    assert in_graph(client)
    assert "Merged by curator" in text(browser, "ol.history")
    assert "Merged into the graph." in text(browser, "#workspace-message")
    merged = [c["id"] for c in client.get("/changes", params={"status": "merged"}).json()]
    assert change_id in merged

    # Reverted: gone from the graph; the history links the revert.
    browser.driver.find_element(By.ID, "revert-button").click()
    browser.wait_for(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, ".reverted-entry"),
        what="the revert in the history",
    )
    assert not in_graph(client)
    revert_link = browser.driver.find_element(By.CSS_SELECTOR, ".reverted-entry a")
    revert_link.click()
    browser.wait_for(
        lambda: (
            browser.script("return document.querySelector('article.change') !== null")
            and "Reverts" in text(browser, "ol.history")
        ),
        what="the revert's page",
    )
    removed = browser.script("return document.querySelectorAll('tr.removed').length")
    assert removed == len(cells)
    assert_safe(browser)


def test_reject_with_a_reason(curated: Server, browser: Browser) -> None:
    with curated.client() as client:
        proposed = client.post(
            "/changes",
            params={"title": "A duplicate"},
            content=CORRECT,
            headers={**TOKEN, "Content-Type": "text/turtle"},
        )
        assert proposed.status_code == 201, proposed.text
        change_id = proposed.json()["id"]
    open_page(browser, curated, f"/changes/{change_id}")
    assert not browser.driver.find_element(By.ID, "merge-button").is_enabled()
    sign_in(browser)
    assert browser.driver.find_element(By.ID, "merge-button").is_enabled()
    browser.driver.find_element(By.ID, "reject-reason-input").send_keys(
        "duplicate of the MEA entry"
    )
    browser.driver.find_element(By.ID, "reject-button").click()
    reload_done(browser, "rejected")
    assert text(browser, "#reject-reason") == "Rejected: duplicate of the MEA entry"
    assert "Rejected: duplicate of the MEA entry." in text(browser, "ol.history")
    assert browser.driver.find_elements(By.ID, "merge-button") == []
    # The list shows it, filtered by status.
    open_page(browser, curated, "/changes?status=rejected")
    ids = browser.script(
        "return [...document.querySelectorAll('tr[data-id]')].map(r => r.dataset.id)"
    )
    assert change_id in ids
    browser.driver.find_element(By.ID, "signout").click()
    assert browser.script("return sessionStorage.getItem('ijkg-token')") is None
    assert browser.console_errors() == []
    assert browser.offsite_requests() == []


def test_an_error_in_the_browser_is_a_page(curated: Server, browser: Browser) -> None:
    open_page(browser, curated, "/changes/20990101-000000-000-abcdef")
    assert text(browser, "h1") == "Not found"
    assert "no change" in text(browser, ".problem-detail")
    assert browser.driver.find_element(By.CSS_SELECTOR, "a[href='/changes']")
    open_page(browser, curated, "/no/such/page")
    assert text(browser, "h1") == "Not found"
    # (Chromium logs the 404 of the page itself; nothing else.)
    errors = [e for e in browser.console_errors() if "404" not in e.get("message", "")]
    assert errors == []
    assert browser.offsite_requests() == []


def test_upload_json_ld_then_propose(curated: Server, browser: Browser, tmp_path: Path) -> None:
    uploaded = "https://w3id.org/ijkg/id/agreement/test-uploaded-moc"
    document = {
        "@context": {
            "ijkg": "https://w3id.org/ijkg/ontology#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
            "prov": "http://www.w3.org/ns/prov#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@id": uploaded,
        "@type": "ijkg:Agreement",
        "rdfs:label": {"@value": "An uploaded memorandum (test)", "@language": "en"},
        "prov:wasDerivedFrom": {"@id": "https://w3id.org/ijkg/id/source/india-japan-new-chapter"},
        "ijkg:party": [
            {"@id": "https://w3id.org/ijkg/id/state/india"},
            {"@id": "https://w3id.org/ijkg/id/state/japan"},
        ],
        "ijkg:publicationDate": {"@value": "2025-08-29", "@type": "xsd:date"},
    }
    path = tmp_path / "memorandum.jsonld"
    path.write_text(json.dumps(document), encoding="utf-8")
    open_page(browser, curated, "/changes")
    sign_in(browser)
    browser.driver.find_element(By.ID, "propose-title-input").send_keys("Uploaded MoC")
    browser.driver.find_element(By.ID, "propose-file").send_keys(str(path))
    browser.wait_for(
        lambda: uploaded in browser.script("return document.getElementById('propose-add').value"),
        what="the file in the text area",
    )
    assert browser.script("return document.getElementById('propose-format').value") == (
        "application/ld+json"
    )
    browser.driver.find_element(By.ID, "check-button").click()
    browser.wait_for(
        lambda: browser.driver.find_element(By.ID, "propose-button").is_enabled(),
        what="a clean check",
    )
    browser.driver.find_element(By.ID, "propose-button").click()
    browser.wait_for(lambda: "/changes/" in browser.driver.current_url, what="the change's page")
    reload_done(browser, "proposed")
    group = browser.driver.find_element(By.CSS_SELECTOR, f"section[data-subject='{uploaded}']")
    assert group.find_element(By.TAG_NAME, "h3").text.startswith("An uploaded memorandum (test)")
    browser.driver.find_element(By.ID, "reject-button").click()
    reload_done(browser, "rejected")
    assert browser.console_errors() == []
    assert browser.offsite_requests() == []
