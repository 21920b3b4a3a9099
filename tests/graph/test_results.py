"""The SPARQL results writers against pyoxigraph's parsers: same solutions, same booleans, and
the row cap counted exactly in the written bytes."""

from __future__ import annotations

from xml.etree import ElementTree

import pyoxigraph as ox
import pytest

from ijkg.graph.core.errors import ResultTooLarge
from ijkg.graph.core.formats import (
    NQUADS,
    NTRIPLES,
    RESULTS_CSV,
    RESULTS_JSON,
    RESULTS_TSV,
    RESULTS_XML,
    TURTLE,
    RdfSyntax,
    ResultsFormat,
)
from ijkg.graph.store.results import (
    CappedBuffer,
    RowCounter,
    write_boolean,
    write_solutions,
    write_triples,
)

EX = "http://example.com/"
XSD = "http://www.w3.org/2001/XMLSchema#"
LIBRARY = {
    RESULTS_JSON.name: ox.QueryResultsFormat.JSON,
    RESULTS_XML.name: ox.QueryResultsFormat.XML,
    RESULTS_CSV.name: ox.QueryResultsFormat.CSV,
    RESULTS_TSV.name: ox.QueryResultsFormat.TSV,
}
FORMATS = [RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV]
QUERY = "SELECT ?s ?o ?unbound WHERE { ?s ?p ?o OPTIONAL { ?s <urn:none> ?unbound } } ORDER BY ?o"


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    p = ox.NamedNode(EX + "p")
    objects = [
        ox.Literal('quotes " and \\ , commas;\ttabs\nand <&> lines\r\n'),
        ox.Literal("Tōkyō 東京", language="ja-latn"),
        ox.Literal("1", datatype=ox.NamedNode(XSD + "integer")),
        ox.Literal("2.5e0", datatype=ox.NamedNode(XSD + "double")),
        ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean")),
        ox.Literal("odd", datatype=ox.NamedNode(EX + "type?a=1&b=2")),
        ox.Literal(""),
        ox.NamedNode(EX + "o?x=1&y=%222%22"),
        ox.BlankNode("o1"),
    ]
    for i, obj in enumerate(objects):
        subject = ox.BlankNode(f"s{i}") if i % 2 else ox.NamedNode(f"{EX}s{i}")
        store.add(ox.Quad(subject, p, obj))
    return store


def _rows(results: ox.QuerySolutions) -> list[tuple[str, ...]]:
    names = [v.value for v in results.variables]
    # Blank node labels are the writer's choice; each kind of term is kept with its text.
    return [
        tuple(
            "" if row[n] is None else ("_:" if isinstance(row[n], ox.BlankNode) else str(row[n]))
            for n in names
        )
        for row in results
    ]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_solutions_read_back_as_the_librarys(store: ox.Store, fmt: ResultsFormat) -> None:
    ours, count = write_solutions(store.query(QUERY), fmt, max_rows=100, max_bytes=1 << 20)
    library = store.query(QUERY).serialize(format=LIBRARY[fmt.name])
    assert library is not None
    if fmt is RESULTS_CSV:  # lossy, so not read back: the very bytes pyoxigraph writes
        assert (ours, count) == (library, 9)
        return
    expected = _rows(ox.parse_query_results(library, LIBRARY[fmt.name]))
    assert count == len(expected) == 9
    assert _rows(ox.parse_query_results(ours, LIBRARY[fmt.name])) == expected


@pytest.mark.parametrize("fmt", [RESULTS_JSON, RESULTS_XML], ids=lambda f: f.name)
@pytest.mark.parametrize("value", [True, False])
def test_booleans_read_back_as_the_librarys(fmt: ResultsFormat, value: bool) -> None:
    parsed = ox.parse_query_results(write_boolean(value, fmt), LIBRARY[fmt.name])
    assert isinstance(parsed, ox.QueryBoolean) and bool(parsed) is value


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_the_caps_hold_at_their_edge(store: ox.Store, fmt: ResultsFormat) -> None:
    whole, count = write_solutions(store.query(QUERY), fmt, max_rows=9, max_bytes=1 << 20)
    assert count == 9
    assert write_solutions(store.query(QUERY), fmt, max_rows=9, max_bytes=len(whole))[0] == whole
    with pytest.raises(ResultTooLarge, match="more than 8 rows"):
        write_solutions(store.query(QUERY), fmt, max_rows=8, max_bytes=1 << 20)
    with pytest.raises(ResultTooLarge, match="larger than"):
        write_solutions(store.query(QUERY), fmt, max_rows=9, max_bytes=len(whole) - 1)


def test_xml_literals_read_back_unchanged_by_a_standard_xml_parser(store: ox.Store) -> None:
    ours, _ = write_solutions(store.query(QUERY), RESULTS_XML, max_rows=100, max_bytes=1 << 20)
    root = ElementTree.fromstring(ours)  # noqa: S314 - the writer's own output
    found = root.iter("{http://www.w3.org/2005/sparql-results#}literal")
    expected = [row["o"].value for row in store.query(QUERY) if isinstance(row["o"], ox.Literal)]
    assert [element.text or "" for element in found] == expected


#: Literals that look like a row's end in one format or another.
TRICKY = [
    '},{"s":{}}',
    'a,b\r\nc,"d"\r\n',
    "<result><binding/></result>",
    "},{},{}]}}",
    "x\ny\n",
    "\\",
    '\\"},{',
]


@pytest.fixture(scope="module")
def tricky() -> ox.Store:
    store = ox.Store()
    p = ox.NamedNode(EX + "p")
    for i, text in enumerate(TRICKY):
        subject = ox.NamedNode(f"{EX}s{i}")
        store.add(ox.Quad(subject, p, ox.Literal(text)))
        # The same text inside a triple term: nested objects and elements.
        store.add(ox.Quad(subject, p, ox.Triple(subject, p, ox.Literal(text))))
    return store


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("SELECT ?s ?o WHERE { ?s ?p ?o }", 2 * len(TRICKY)),
        ("SELECT ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }", len(TRICKY)),
        ("SELECT * {}", 1),
        ("SELECT ?x {}", 1),
        ("SELECT * WHERE { VALUES ?x { UNDEF UNDEF 1 } }", 3),
        ("SELECT ?s WHERE { ?s ?p ?o FILTER(false) }", 0),
        ("SELECT * WHERE { FILTER(false) }", 0),
    ],
)
def test_rows_are_counted_exactly(
    tricky: ox.Store, fmt: ResultsFormat, query: str, rows: int
) -> None:
    body, count = write_solutions(tricky.query(query), fmt, max_rows=rows, max_bytes=1 << 20)
    assert count == rows
    if rows:
        with pytest.raises(ResultTooLarge, match=f"more than {rows - 1} rows"):
            write_solutions(tricky.query(query), fmt, max_rows=rows - 1, max_bytes=1 << 20)
    if fmt is not RESULTS_CSV:
        parsed = ox.parse_query_results(body, LIBRARY[fmt.name])
        assert isinstance(parsed, ox.QuerySolutions) and len(list(parsed)) == rows


def test_xml_literals_in_triple_terms_read_back_unchanged(tricky: ox.Store) -> None:
    store = ox.Store()
    s, p = ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p")
    store.add(ox.Quad(s, p, ox.Triple(s, p, ox.Literal("one\r\ntwo"))))
    ours, _ = write_solutions(
        store.query("SELECT ?o { ?s ?p ?o }"), RESULTS_XML, max_rows=9, max_bytes=1 << 20
    )
    root = ElementTree.fromstring(ours)  # noqa: S314 - the writer's own output
    found = root.iter("{http://www.w3.org/2005/sparql-results#}literal")
    assert [element.text for element in found] == ["one\r\ntwo"]


@pytest.mark.parametrize("syntax", [NTRIPLES, NQUADS, TURTLE], ids=lambda s: s.name)
def test_constructed_triples_are_counted_exactly(tricky: ox.Store, syntax: RdfSyntax) -> None:
    query = "CONSTRUCT WHERE { ?s ?p ?o }"
    body, count = write_triples(
        tricky.query(query), syntax, max_rows=2 * len(TRICKY), max_bytes=1 << 20
    )
    assert count == 2 * len(TRICKY)
    assert len(list(ox.parse(body, syntax.oxigraph))) == count
    with pytest.raises(ResultTooLarge, match=f"more than {count - 1} rows"):
        write_triples(tricky.query(query), syntax, max_rows=count - 1, max_bytes=1 << 20)
    with pytest.raises(ResultTooLarge, match="larger than"):
        write_triples(tricky.query(query), syntax, max_rows=count, max_bytes=len(body) - 1)


def test_json_rows_are_counted_exactly_where_text_ends_like_a_row() -> None:
    store = ox.Store()
    s, p = ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p")
    for text in ("ends },{", '\\"},{', '},{"x":{}}'):
        store.add(ox.Quad(s, p, ox.Literal(text)))
    query = "SELECT ?o WHERE { ?s ?p ?o }"
    assert write_solutions(store.query(query), RESULTS_JSON, max_rows=3, max_bytes=1 << 20)[1] == 3
    with pytest.raises(ResultTooLarge, match="more than 2 rows"):
        write_solutions(store.query(query), RESULTS_JSON, max_rows=2, max_bytes=1 << 20)


class _Sink(CappedBuffer):
    """A capped buffer that remembers how much had been written when it refused."""

    written = 0

    def write(self, data: bytes) -> int:
        type(self).written = len(self.getvalue()) + len(data)
        return super().write(data)


def _product(size: int) -> ox.Store:
    store = ox.Store()
    p = ox.NamedNode(EX + "p")
    for i in range(size):
        store.add(ox.Quad(ox.NamedNode(f"{EX}s{i}"), p, ox.Literal(str(i))))
    return store


@pytest.mark.parametrize(
    ("pattern", "before", "fmt"),
    [(b"\n", 1, ox.QueryResultsFormat.TSV), (b"<result>", 0, ox.QueryResultsFormat.XML)],
    ids=["tsv", "xml"],
)
def test_a_select_over_the_row_cap_is_stopped_while_it_is_written(
    pattern: bytes, before: int, fmt: ox.QueryResultsFormat
) -> None:
    # 90,000 rows, a cap of 1,000: the writer is stopped within a few of its buffers of the cap,
    # not at the end of an answer many times larger.
    query = "SELECT ?a ?b WHERE { ?a ?p ?x . ?b ?q ?y }"
    sink = _Sink(1 << 30, rows=RowCounter(pattern, before=before), max_rows=1_000)
    with pytest.raises(ResultTooLarge, match="more than 1,000 rows"):
        _product(300).query(query).serialize(sink, fmt)
    assert _Sink.written < len(_product(300).query(query + " LIMIT 2000").serialize(format=fmt))


def test_a_construct_over_the_row_cap_is_stopped_while_it_is_written() -> None:
    query = "CONSTRUCT { ?a <urn:q> ?b } WHERE { ?a ?p ?x . ?b ?q ?y }"
    sink = _Sink(1 << 30, rows=RowCounter(b"\n"), max_rows=1_000)
    with pytest.raises(ResultTooLarge, match="more than 1,000 rows"):
        _product(300).query(query).serialize(sink, ox.RdfFormat.N_TRIPLES)
    whole = _product(300).query(query).serialize(format=ox.RdfFormat.N_TRIPLES)
    assert whole is not None and _Sink.written < len(whole) // 10
    with pytest.raises(ResultTooLarge, match="more than 1,000 rows"):
        write_triples(_product(300).query(query), NTRIPLES, max_rows=1_000, max_bytes=1 << 30)


def test_a_row_mark_split_between_two_writes_is_counted_once() -> None:
    counter = RowCounter(b"<result>")
    assert [counter.feed(chunk) for chunk in (b"<res", b"ult><result", b">", b"<result>")] == [
        0,
        1,
        2,
        3,
    ]
