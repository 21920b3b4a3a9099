"""Accept headers: q-values, wildcards and specificity."""

from __future__ import annotations

import pytest

from ijkg.service.negotiation import negotiate, prefers

OFFERED = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv"]


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("text/csv", "text/csv"),
        ("text/*", "text/csv"),
        ("application/sparql-results+xml;q=0.9, text/csv;q=0.5", "application/sparql-results+xml"),
        ("text/csv;q=0.5, */*;q=0.1", "text/csv"),
        ("*/*;q=0.1, application/sparql-results+json;q=0", "application/sparql-results+xml"),
        ("text/html", None),
        ("text/csv;q=0", None),
        ("garbage, text/csv", "text/csv"),
    ],
)
def test_negotiate(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept, OFFERED) == chosen


def test_prefers_html_only_when_asked_explicitly() -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert prefers(browser, "text/html", OFFERED)
    assert not prefers("*/*", "text/html", OFFERED)
    assert not prefers("application/sparql-results+json, text/html;q=0.5", "text/html", OFFERED)
