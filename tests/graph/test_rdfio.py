"""Reading submitted RDF: each syntax, errors with line and column, refusals of unsafe input."""

from __future__ import annotations

import pytest

from ijkg.graph.core.errors import RdfSyntaxError, UnsupportedFormat
from ijkg.graph.core.formats import (
    JSONLD,
    NQUADS,
    NTRIPLES,
    RDFXML,
    TRIG,
    TURTLE,
    RdfSyntax,
    rdf_syntax_for_media_type,
    rdf_syntax_for_path,
)
from ijkg.graph.core.rdfio import ParseOptions, find_line, parse_quads

GOOD = {
    TURTLE: b'@prefix ex: <http://e/> .\nex:a ex:p "x"@en .\n',
    NTRIPLES: b'<http://e/a> <http://e/p> "x"@en .\n',
    TRIG: b'<http://e/g> { <http://e/a> <http://e/p> "x"@en . }\n',
    NQUADS: b'<http://e/a> <http://e/p> "x"@en <http://e/g> .\n',
    JSONLD: b'{"@id": "http://e/a", "http://e/p": {"@value": "x", "@language": "en"}}',
    RDFXML: (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://e/">'
        b'<rdf:Description rdf:about="http://e/a"><ex:p xml:lang="en">x</ex:p></rdf:Description>'
        b"</rdf:RDF>"
    ),
}


@pytest.mark.parametrize("syntax", list(GOOD), ids=lambda s: s.name)
def test_each_syntax_reads_the_same_triple(syntax: RdfSyntax) -> None:
    quads = parse_quads(GOOD[syntax], ParseOptions(syntax, default_graph="http://e/default"))
    assert len(quads) == 1
    quad = quads[0]
    assert (quad.subject.value, quad.predicate.value, quad.object.value) == (
        "http://e/a",
        "http://e/p",
        "x",
    )
    expected_graph = "http://e/g" if syntax in (TRIG, NQUADS) else "http://e/default"
    assert quad.graph_name.value == expected_graph


@pytest.mark.parametrize(
    ("syntax", "data", "line"),
    [
        (TURTLE, b'@prefix ex: <http://e/> .\nex:a ex:p "x" .\nex:b ex:p \n', 4),
        (
            NTRIPLES,
            b"<http://e/a> <http://e/p> <http://e/o> .\n<http://e/a> <http://e/p> <bad iri> .\n",
            2,
        ),
        (JSONLD, b'{\n "@id": "http://e/a",\n "http://e/p": \n', 4),
    ],
)
def test_syntax_errors_carry_line_and_column(syntax: RdfSyntax, data: bytes, line: int) -> None:
    with pytest.raises(RdfSyntaxError) as raised:
        parse_quads(data, ParseOptions(syntax, source="upload.x"))
    assert raised.value.line == line
    assert raised.value.column is not None and raised.value.column >= 1
    assert str(raised.value).startswith(f"upload.x:{line}:")


def test_rdfxml_with_a_doctype_is_refused_before_parsing() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
    )
    with pytest.raises(RdfSyntaxError, match="DOCTYPE"):
        parse_quads(bomb, ParseOptions(RDFXML))


def test_remote_jsonld_contexts_are_refused() -> None:
    doc = b'{"@context": "http://127.0.0.1:9/context.jsonld", "@id": "http://e/a", "name": "x"}'
    with pytest.raises(RdfSyntaxError, match="remote JSON-LD contexts are refused"):
        parse_quads(doc, ParseOptions(JSONLD))


def test_deep_nesting_is_refused_before_parsing() -> None:
    deep = b"<http://e/a> <http://e/p> " + b"[ <http://e/p> " * 300 + b"1" + b" ]" * 300 + b" ."
    with pytest.raises(RdfSyntaxError, match="nest"):
        parse_quads(deep, ParseOptions(TURTLE))


def test_single_graph_writes_refuse_named_graphs() -> None:
    with pytest.raises(RdfSyntaxError):
        parse_quads(GOOD[TRIG], ParseOptions(TRIG, single_graph=True))


def test_blank_nodes_of_two_submissions_stay_distinct() -> None:
    data = b"_:x <http://e/p> 1 .\n"
    first = parse_quads(data, ParseOptions(TURTLE))
    second = parse_quads(data, ParseOptions(TURTLE))
    assert first[0].subject != second[0].subject


def test_media_types_and_extensions() -> None:
    assert rdf_syntax_for_media_type("text/turtle; charset=UTF-8") is TURTLE
    assert rdf_syntax_for_media_type("application/ld+json") is JSONLD
    assert rdf_syntax_for_path("data/x.nq") is NQUADS
    with pytest.raises(UnsupportedFormat):
        rdf_syntax_for_media_type("application/pdf")
    with pytest.raises(UnsupportedFormat, match="name it with --input-format"):
        rdf_syntax_for_path("notes.txt")


def test_find_line_knows_prefixed_names() -> None:
    text = "@prefix t: <https://w3id.org/ijkg/id/target/> .\n\nt:x a t:y .\nt:xy a t:y .\n"
    assert find_line(text, "https://w3id.org/ijkg/id/target/xy") == 4
    assert find_line(text, "https://w3id.org/ijkg/id/target/x") == 3
    assert find_line(text, "https://example.org/none") is None
