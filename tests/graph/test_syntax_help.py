"""Syntax errors explained: expected tokens, undeclared prefixes, brackets, excerpts."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from ijkg.graph.core.errors import QuerySyntaxError
from ijkg.graph.sparql.syntax_help import (
    excerpt,
    expected_tokens,
    explain,
    unbalanced_bracket,
    undeclared_prefixes,
)
from ijkg.graph.store.worker import syntax_location


def parser_error(query: str) -> QuerySyntaxError:
    """The error Oxigraph's parser raises for ``query``, as the store reports it."""
    with pytest.raises(SyntaxError) as raised:
        ox.Store().query(query)
    line, column = syntax_location(str(raised.value))
    return QuerySyntaxError(str(raised.value), line, column)


def test_expected_tokens_drop_character_classes() -> None:
    message = (
        "error at 1:27: expected one of \",\", \".\", \"}\", ['-' | '0' ..= '9'], [_], "
        "LATERAL, ['\\u{00C0}'..='\\u{00D6}', 'x']"
    )
    assert expected_tokens(message) == (",", ".", "}", "LATERAL")
    assert expected_tokens("error at 1:10: expected CONSTRUCT") == ("CONSTRUCT",)
    assert expected_tokens("something else") == ()


@pytest.mark.parametrize(
    ("query", "missing"),
    [
        ("SELECT * { ?s a ijkg:Pillar ; skos:prefLabel ?l }", ["ijkg", "skos"]),
        ("PREFIX skos: <http://x/> SELECT * { ?s skos:a :b }", [""]),
        ('SELECT * { ?s <http://e/p> "ex:not-a-name" } # ex:comment', []),
        ("PREFIX ex: <http://e/> SELECT * { ?s ex:p <urn:isbn:1> ; ex:q 'a:b' }", []),
        ("SELECT ?s { ?s ?p ?o FILTER(?o < 3) }", []),
    ],
)
def test_undeclared_prefixes(query: str, missing: list[str]) -> None:
    assert undeclared_prefixes(query) == missing


def test_unbalanced_brackets_are_located() -> None:
    assert unbalanced_bracket("SELECT * {\n  ?s ?p ?o\n") == (
        "the '{' opened on line 1 is never closed with '}'"
    )
    assert (
        unbalanced_bracket("SELECT * { ?s ?p ?o } }") == "'}' on line 1 closes nothing that is open"
    )
    assert unbalanced_bracket('SELECT * { ?s ?p "}" }') is None  # inside a string
    assert unbalanced_bracket("SELECT (1 AS ?x) { }") is None


def test_excerpt_puts_a_caret_under_the_column_even_on_long_lines() -> None:
    assert excerpt("SELECT\nWHERE { ?s }", 2, 11) == "WHERE { ?s }\n          ^"
    long_line = "x" * 300 + "!" + "y" * 300
    shown = excerpt(long_line, 1, 301)
    assert shown is not None
    text, caret = shown.split("\n")
    assert len(text) == 100 and text[caret.index("^")] == "!"
    assert excerpt("SELECT", 5, 1) is None


def test_a_missing_prefix_is_explained_with_the_declaration_to_add() -> None:
    query = "SELECT ?p WHERE {\n  ?p a ijkg:Pillar\n}"
    explained = explain(query, parser_error(query))
    assert explained.line == 2
    assert "PREFIX ijkg: <https://w3id.org/ijkg/ontology#>" in str(explained)
    assert explained.hint is not None and "ijkg:" in explained.hint
    assert explained.excerpt is not None and explained.excerpt.startswith("  ?p a ijkg:Pillar\n")


def test_an_unclosed_group_is_explained_with_what_was_expected() -> None:
    query = "SELECT * WHERE { ?s ?p ?o "
    explained = explain(query, parser_error(query))
    assert "}" in explained.expected
    assert str(explained).startswith("line 1, column ")
    assert "never closed" in str(explained)
    assert "[_]" not in str(explained)  # no grammar character classes for people


def test_a_plain_message_is_kept_when_nothing_better_is_known() -> None:
    explained = explain("SELECT", QuerySyntaxError("unexpected end of input"))
    assert str(explained) == "unexpected end of input"
    assert explained.line is None and explained.excerpt is None
