"""The lexical pass that runs before any parser: escapes, keywords, nesting, FROM graphs."""

from __future__ import annotations

import pytest

from ijkg.graph.core.errors import QueryRefused, QuerySyntaxError, QueryTooLarge
from ijkg.graph.endpoint.query import QueryPolicy, check_query
from ijkg.graph.sparql.text import check_limits, decode_escapes, scan

POLICY = QueryPolicy(max_query_bytes=10_000, max_query_depth=20)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
        "select * where { service <http://x/> { } }",
        "SELECT * WHERE { SeRvIcE SILENT <http://x/> { } }",
        r"SELECT * WHERE { \u0053ERVICE <http://x/> { } }",
        r"SELECT * WHERE { \U00000053\U00000045RVICE <http://x/> { } }",
        "SELECT * WHERE { ?s ?p ?o . SERVICE ?endpoint { ?s ?p ?o } }",
    ],
)
def test_service_in_any_spelling_is_refused(query: str) -> None:
    with pytest.raises(QueryRefused, match="SERVICE"):
        check_query(query, POLICY)


@pytest.mark.parametrize(
    "query",
    [
        'SELECT * WHERE { ?s <http://e/p> "SERVICE <http://x/>" }',
        "SELECT * WHERE { ?service ?p ?o } # SERVICE <http://x/>",
        "PREFIX ex: <http://e/> SELECT * WHERE { ?s ex:SERVICE ?o }",
        "SELECT * WHERE { ?s <http://e/SERVICE> ?o }",
        "SELECT * WHERE { ?s ?p 'it''s a SERVICE' }",
    ],
)
def test_the_word_service_inside_strings_iris_names_and_comments_is_fine(query: str) -> None:
    assert check_query(query, POLICY)


def test_federation_can_be_switched_on() -> None:
    policy = QueryPolicy(10_000, 20, allow_federation=True)
    assert check_query("SELECT * WHERE { SERVICE <http://x/> { } }", policy)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
        "SELECT * FROM NAMED <ftp://x/y> WHERE { GRAPH ?g { ?s ?p ?o } }",
    ],
)
def test_from_with_a_file_iri_is_refused(query: str) -> None:
    with pytest.raises(QueryRefused, match="never fetched"):
        check_query(query, POLICY)


def test_load_is_refused() -> None:
    with pytest.raises(QueryRefused, match="LOAD"):
        check_query("LOAD <http://127.0.0.1:9/data.ttl>", POLICY)


def test_nesting_and_size_are_limited_before_parsing() -> None:
    deep = "SELECT * WHERE " + "{" * 30 + "}" * 30
    with pytest.raises(QueryTooLarge, match="30 deep"):
        check_query(deep, POLICY)
    with pytest.raises(QueryTooLarge, match="bytes"):
        check_query("SELECT * WHERE { ?s ?p ?o }" + " " * 10_000, POLICY)


def test_escapes_are_decoded_as_sparql_does() -> None:
    assert decode_escapes(r"\u0041\U0001F600") == "A\U0001f600"
    with pytest.raises(QuerySyntaxError, match="scalar"):
        decode_escapes(r"\uD800")


def test_scan_lists_graph_names_by_role() -> None:
    found = scan(
        "SELECT ?x FROM <http://a/> FROM NAMED <http://b/> WHERE { GRAPH <http://c/> { ?x ?p ?o } "
        "FILTER(?o < 3 && ?o > 1) }"
    )
    assert found.graph_iris == [
        ("FROM", "http://a/"),
        ("FROM NAMED", "http://b/"),
        ("GRAPH", "http://c/"),
    ]
    assert found.max_depth == 2
    _, limited = check_limits("SELECT * { }", max_bytes=100, max_depth=5)
    assert limited.keywords == ["SELECT"]
