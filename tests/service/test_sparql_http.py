"""The HTTP pieces of /sparql that need no server: format choice and conditional requests."""

from __future__ import annotations

import pytest

from ijkg.graph.core.errors import NotAcceptable
from ijkg.graph.core.formats import (
    JSONLD,
    NTRIPLES,
    RDFXML,
    RESULTS_CSV,
    RESULTS_JSON,
    RESULTS_TSV,
    RESULTS_XML,
    TURTLE,
    content_type,
)
from ijkg.service.conditional import (
    Validators,
    VersionClock,
    answer_etag,
    etag_matches,
    http_date,
    not_modified_since,
)
from ijkg.service.routes.sparql import choose_formats


@pytest.mark.parametrize(
    ("formats", "expected"),
    [
        (["json"], (RESULTS_JSON, JSONLD)),
        (["xml"], (RESULTS_XML, RDFXML)),
        (["csv"], (RESULTS_CSV, None)),
        (["tsv", "text/tab-separated-values"], (RESULTS_TSV, None)),
        (["rdf+xml", "application/rdf+xml"], (None, RDFXML)),
        (["json-ld", ""], (None, JSONLD)),
        (["nt"], (None, NTRIPLES)),
        (["text/turtle"], (None, TURTLE)),
        (["unknown", "csv"], (RESULTS_CSV, None)),
        (["csv", "turtle"], (RESULTS_CSV, TURTLE)),
    ],
)
def test_format_parameters(formats: list[str], expected: tuple[object, object]) -> None:
    assert choose_formats("image/png", formats) == expected


def test_an_unknown_format_is_not_acceptable() -> None:
    with pytest.raises(NotAcceptable) as raised:
        choose_formats(None, ["yaml"])
    assert "application/sparql-results+json" in raised.value.available


def test_accept_picks_each_form_separately() -> None:
    assert choose_formats("application/json") == (RESULTS_JSON, JSONLD)
    assert choose_formats("text/turtle") == (None, TURTLE)
    assert choose_formats("text/html") == (None, None)


def test_text_answers_say_utf8() -> None:
    assert content_type("text/csv") == "text/csv; charset=utf-8"
    assert content_type("text/html") == "text/html; charset=utf-8"
    assert content_type("application/sparql-results+json") == "application/sparql-results+json"
    assert content_type("application/json") == "application/json"


def test_etags_differ_by_version_query_and_format() -> None:
    base = answer_etag("s", 1, "q", "json")
    assert base != answer_etag("s", 2, "q", "json")
    assert base != answer_etag("s", 1, "q2", "json")
    assert base != answer_etag("s", 1, "q", "csv")
    assert base != answer_etag("t", 1, "q", "json")
    assert etag_matches(f'"x", {base}', base)
    assert not etag_matches(None, base)


def test_dates_are_never_later_than_now_and_never_too_early() -> None:
    assert http_date(100.5, now=100.9) == http_date(100.0, now=200)
    assert not_modified_since(http_date(101.0, now=200), 100.5)
    assert not not_modified_since(http_date(100.0, now=200), 100.5)  # within the second: stale
    assert not not_modified_since("not a date", 1.0)


def test_the_clock_keeps_the_first_time_a_version_was_seen() -> None:
    clock = VersionClock()
    first = clock.modified(3)
    assert clock.modified(3) == first
    assert clock.modified(2) == first  # an older replica answer is not newer than that
    assert clock.modified(4) >= first


def test_a_volatile_answer_has_no_validators() -> None:
    volatile = Validators(None, 10.0)
    assert volatile.headers() == {"Vary": "Accept", "Cache-Control": "no-store"}
    assert not volatile.fresh_for("*", None)
    cached = Validators('W/"a"', 10.0)
    assert cached.fresh_for('W/"a"', None)
    assert not cached.fresh_for('W/"b"', http_date(20.0, now=30))  # If-None-Match wins
    assert cached.not_modified().status_code == 304
