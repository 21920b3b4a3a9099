"""Serialising query answers with hard caps on rows and bytes (never a silent truncation).

CONSTRUCT and DESCRIBE go through pyoxigraph's RDF serialiser: it takes any iterable of triples,
so a counting generator keeps the row cap and a ``CappedBuffer`` as its output the byte cap.

SELECT answers go through pyoxigraph's results writers (``QuerySolutions.serialize``) into a
``CappedBuffer``, which keeps the byte cap. The writer drains the solutions inside the engine with
no hook per solution, so the row cap is kept by counting the rows in the bytes it wrote, exactly for
each format (``write_solutions``). The text table (a column per variable, prefixed names) is
written here. ASK answers are written here too: they arrive as a plain ``bool`` (the external
store's are parsed first), ``QueryBoolean`` cannot be made from one, and its CSV/TSV form is a bare
``true`` where ours has the ``_askResult`` header row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Final, cast

import pyoxigraph as ox

from ijkg.graph.core.curies import document_prefixes
from ijkg.graph.core.errors import ResultTooLarge
from ijkg.graph.core.formats import (
    RESULTS_CSV,
    RESULTS_JSON,
    RESULTS_TEXT,
    RESULTS_TSV,
    RESULTS_XML,
    RdfSyntax,
    ResultsFormat,
)

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


class CappedBuffer:
    """A binary sink that refuses to grow past ``max_bytes``, and, given a ``rows`` counter,
    past ``max_rows`` rows as that counter finds them in what is written."""

    def __init__(
        self, max_bytes: int, *, rows: RowCounter | None = None, max_rows: int = 0
    ) -> None:
        self.max_bytes = max_bytes
        self._chunks: list[bytes] = []
        self._size = 0
        self._rows = rows
        self._max_rows = max_rows

    def write(self, data: bytes) -> int:
        self.expect(len(data))
        self._size += len(data)
        self._chunks.append(bytes(data))
        if self._rows is not None and self._rows.feed(self._chunks[-1]) > self._max_rows:
            raise _too_many_rows(self._max_rows)
        return len(data)

    def expect(self, more: int) -> None:
        """Refuse now an answer that will be more than ``more`` bytes over what is written."""
        if self._size + more > self.max_bytes:
            raise ResultTooLarge(
                f"the result is larger than {self.max_bytes:,} bytes; "
                "add a LIMIT or narrow the query"
            )

    def flush(self) -> None:
        """File-like no-op (serialisers call it)."""

    def getvalue(self) -> bytes:
        return b"".join(self._chunks)


class RowCounter:
    """Rows found so far in a writer's output, chunk by chunk, never more than there are: how
    an answer over the row cap is stopped while pyoxigraph writes it, not after (a CONSTRUCT keeps
    the triples it wrote to leave out repeats, a DISTINCT its rows; left to run to the byte cap,
    that memory would reach the query's memory cap first). ``pattern`` marks a row's start or end
    and is never found inside a term; ``before`` is how many marks precede the first row (a
    header's line end) or follow the last."""

    def __init__(self, pattern: bytes, before: int = 0) -> None:
        self._pattern = re.compile(re.escape(pattern)) if len(pattern) > 1 else None
        self._mark = pattern
        self._tail = b""
        self._found = -before

    def feed(self, chunk: bytes) -> int:
        if self._pattern is None:
            self._found += chunk.count(self._mark)
            return self._found
        # A mark split between two chunks is found in the previous chunk's tail and this one;
        # the tail is shorter than a mark, so no mark is found twice.
        text = self._tail + chunk
        self._found += len(self._pattern.findall(text))
        self._tail = text[-(len(self._mark) - 1) :]
        return self._found


def _capped_rows(rows: Iterable[Any], max_rows: int, counter: list[int]) -> Iterator[Any]:
    for row in rows:
        counter[0] += 1
        if counter[0] > max_rows:
            raise _too_many_rows(max_rows)
        yield row


def _too_many_rows(max_rows: int) -> ResultTooLarge:
    return ResultTooLarge(
        f"the result has more than {max_rows:,} rows; add a LIMIT or narrow the query"
    )


# --- the text table ------------------------------------------------------------------------


#: Literals of these datatypes read as themselves in the text table when their form is canonical
#: enough to be parsed back (Turtle's abbreviations: ``42``, ``1.5``, ``true``).
_BARE_LITERALS: Final = {
    "http://www.w3.org/2001/XMLSchema#integer": re.compile(r"[+-]?[0-9]+"),
    "http://www.w3.org/2001/XMLSchema#decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    "http://www.w3.org/2001/XMLSchema#boolean": re.compile(r"true|false"),
}


def _text_term(term: Term | None, prefixes: dict[str, str]) -> str:
    """A term as Turtle writes it: prefixed names, bare numbers, ``"text"@en``."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return _text_iri(term.value, prefixes)
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if term.language or datatype == XSD_STRING:
            return str(term)
        bare = _BARE_LITERALS.get(datatype)
        if bare is not None and bare.fullmatch(term.value):
            return term.value
        return f"{ox.Literal(term.value)}^^{_text_iri(datatype, prefixes)}"
    if isinstance(term, ox.Triple):
        parts = (term.subject, term.predicate, term.object)
        return "<< " + " ".join(_text_term(t, prefixes) for t in parts) + " >>"
    return str(term)


def _text_iri(iri: str, prefixes: dict[str, str]) -> str:
    best = max((ns for ns in prefixes.values() if iri.startswith(ns)), key=len, default=None)
    if best is None:
        return f"<{iri}>"
    name = next(n for n, ns in prefixes.items() if ns == best)
    return f"{name}:{iri[len(best) :]}"


# --- writers ------------------------------------------------------------------------------------


def _write_text(variables: list[str], rows: Iterable[ox.QuerySolution], out: CappedBuffer) -> None:
    """A table with a column per variable, as Jena's text output (one row a line, ``|`` between
    cells). Every row is read before the first is written: the widths depend on all of them, so
    the byte cap is kept while they are read too."""
    solutions = []
    size = 0
    for solution in rows:
        solutions.append([solution[v] for v in variables])
        size += sum(len(str(t)) + 3 for t in solutions[-1] if t is not None)
        out.expect(size)
    iris = (
        iri for row in solutions for term in row if term is not None for iri in _term_iris(term)
    )
    prefixes = document_prefixes(iris)
    cells = [[_text_term(term, prefixes) for term in row] for row in solutions]
    header = list(variables)
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(header)]

    def line(values: list[str]) -> bytes:
        padded = " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))
        return f"| {padded} |\n".encode()

    rule_width = sum(widths) + 3 * len(widths) + 1 if widths else 2
    out.write(b"-" * rule_width + b"\n")
    out.write(line(header) if variables else b"||\n")
    out.write(b"=" * rule_width + b"\n")
    for row in cells:
        out.write(line(row) if variables else b"||\n")
    out.write(b"-" * rule_width + b"\n")


#: The results formats pyoxigraph writes; the text table is written here.
_LIBRARY: Final = {
    RESULTS_JSON.name: ox.QueryResultsFormat.JSON,
    RESULTS_XML.name: ox.QueryResultsFormat.XML,
    RESULTS_CSV.name: ox.QueryResultsFormat.CSV,
    RESULTS_TSV.name: ox.QueryResultsFormat.TSV,
}


def _outside_quotes(body: bytes) -> bytes:
    """``body`` without the text between its quotes, every quote in it opening or closing some
    (a CSV field's doubled quote splits the field in two, and both halves are dropped)."""
    return b"".join(body.split(b'"')[::2])


#: Where a row that binds something follows another in pyoxigraph's compact SPARQL JSON: ``},{"``
#: and the first letter of a variable. In a string a quote is escaped, so ``},{"`` there is the
#: string's closing quote, followed by ``:``, ``,`` or ``}``.
_JSON_NEXT_ROW = re.compile(rb'\},\{"[^:,}]')


def _json_rows(body: bytes) -> int:
    if body.endswith(b"[]}}"):
        return 0
    if b"},{}" not in body:
        return len(_JSON_NEXT_ROW.findall(body)) + 1
    # A row that binds nothing (``{}``) follows another: as ``},{}`` may be text too, the strings
    # are taken out (escapes first, escaped backslashes before escaped quotes: ``\\"`` ends a
    # string), and then ``},{`` is found only between two rows (a row's bindings are
    # ``key:{...}``, and objects sit in no other array).
    bare = _outside_quotes(body.replace(b"\\\\", b"").replace(b'\\"', b""))
    return bare.count(b"},{") + 1


def _csv_rows(body: bytes) -> int:
    # A quoted field may hold line breaks; each row ends with CRLF, the header too.
    return _outside_quotes(body).count(b"\r\n") - 1


_ROWS: Final[dict[str, Callable[[bytes], int]]] = {
    RESULTS_JSON.name: _json_rows,
    # Markup in text is escaped, so the tag is found only where a row opens.
    RESULTS_XML.name: lambda body: body.count(b"<result>"),
    RESULTS_CSV.name: _csv_rows,
    # Terms are in N-Triples form (line breaks escaped): a line per row after the header.
    RESULTS_TSV.name: lambda body: body.count(b"\n") - 1,
}


#: Formats whose rows are counted while they are written, not only after (``RowCounter``): the
#: line ends of TSV (after its header line) and XML's ``<result>``. JSON and CSV are counted once
#: written (``_ROWS``); the byte cap bounds the work before then.
_EARLY_ROWS: Final[dict[str, Callable[[], RowCounter]]] = {
    RESULTS_TSV.name: lambda: RowCounter(b"\n", before=1),
    RESULTS_XML.name: lambda: RowCounter(b"<result>"),
}


def write_solutions(
    solutions: ox.QuerySolutions, fmt: ResultsFormat, *, max_rows: int, max_bytes: int
) -> tuple[bytes, int]:
    """Serialise SELECT solutions; returns the bytes and the row count.

    pyoxigraph writes every format but the text table, into a ``CappedBuffer`` (its exception goes
    through the writer: over the byte cap, the answer is an error). Its writer has no hook per
    row, so the rows are counted in what it wrote, without a step per row in Python: exact for
    each format (``_ROWS``), and the work before an answer over the row cap fails is bounded by
    the byte cap.
    """
    out = CappedBuffer(max_bytes)
    library = _LIBRARY.get(fmt.name)
    if library is None:
        counter = [0]
        variables = [v.value for v in solutions.variables]
        _write_text(variables, _capped_rows(solutions, max_rows, counter), out)
        return out.getvalue(), counter[0]
    early = _EARLY_ROWS.get(fmt.name)
    out = CappedBuffer(max_bytes, rows=early(), max_rows=max_rows) if early else out
    solutions.serialize(cast(IO[bytes], out), library)
    body = out.getvalue()
    rows = _ROWS[fmt.name](body)
    if rows > max_rows:
        raise _too_many_rows(max_rows)
    if fmt is RESULTS_XML and b"\r" in body:
        # pyoxigraph writes a carriage return inside a triple term's literal as it is, which an
        # XML parser reads as a line feed; as a character reference it reads back unchanged.
        body = body.replace(b"\r", b"&#13;")
        CappedBuffer(max_bytes).write(body)
    return body, rows


_XML_HEAD = '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'


def write_boolean(value: bool, fmt: ResultsFormat) -> bytes:
    """Serialise an ASK answer."""
    if fmt is RESULTS_JSON:
        return b'{"head":{},"boolean":' + (b"true" if value else b"false") + b"}"
    if fmt is RESULTS_XML:
        word = "true" if value else "false"
        return f"{_XML_HEAD}<head/>\n<boolean>{word}</boolean>\n</sparql>\n".encode()
    if fmt is RESULTS_CSV:
        return b"_askResult\r\n" + (b"true" if value else b"false") + b"\r\n"
    if fmt is RESULTS_TEXT:
        return b"true\n" if value else b"false\n"
    return b"?_askResult\n" + (b"true" if value else b"false") + b"\n"


def write_triples(
    triples: Iterable[ox.Triple], syntax: RdfSyntax, *, max_rows: int, max_bytes: int
) -> tuple[bytes, int]:
    """Serialise CONSTRUCT/DESCRIBE triples; returns the bytes and the triple count.

    In the syntaxes with prefixes (Turtle, TriG, RDF/XML) the triples are grouped
    (``group_triples``), so each subject is written once with its predicates grouped, and the
    prefixes are those of ``document_prefixes``: ``state:japan``, never ``id:state\\/japan``.
    The others stream as they come; a query's triples in N-Triples or N-Quads are written by
    pyoxigraph without a step per triple in Python (a line per triple: the count is the lines).
    """
    if isinstance(triples, ox.QueryTriples) and syntax.oxigraph in _LINE_PER_TRIPLE:
        lines = CappedBuffer(max_bytes, rows=RowCounter(b"\n"), max_rows=max_rows)
        triples.serialize(cast(IO[bytes], lines), syntax.oxigraph)
        body = lines.getvalue()
        return body, body.count(b"\n")
    out = CappedBuffer(max_bytes)
    counter = [0]
    capped = _capped_rows(triples, max_rows, counter)
    if syntax.oxigraph not in _PREFIXED:
        ox.serialize(capped, output=cast(IO[bytes], out), format=syntax.oxigraph)
        return out.getvalue(), counter[0]
    rows = group_triples(capped)
    ox.serialize(
        rows,
        output=cast(IO[bytes], out),
        format=syntax.oxigraph,
        prefixes=document_prefixes(_iris(rows)),
    )
    return out.getvalue(), counter[0]


_PREFIXED = {ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML}
#: Syntaxes that write each triple on a line of its own (line breaks in literals are escaped).
_LINE_PER_TRIPLE = {ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_QUADS}


def group_triples(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """Each subject's triples together, and each predicate's among them, in the order they first
    appear: pyoxigraph's serialiser groups (``;`` and ``,``) only triples that are neighbours.

    >>> s, p, q = ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.NamedNode("urn:q")
    >>> grouped = group_triples([ox.Triple(s, p, s), ox.Triple(p, p, s), ox.Triple(s, q, s),
    ...                          ox.Triple(s, p, p)])
    >>> [(str(t.subject), str(t.predicate)) for t in grouped]
    [('<urn:s>', '<urn:p>'), ('<urn:s>', '<urn:p>'), ('<urn:s>', '<urn:q>'), ('<urn:p>', '<urn:p>')]
    """
    subjects: dict[Any, dict[ox.NamedNode, list[ox.Triple]]] = {}
    for triple in triples:
        subjects.setdefault(triple.subject, {}).setdefault(triple.predicate, []).append(triple)
    return [t for predicates in subjects.values() for group in predicates.values() for t in group]


def _iris(triples: Iterable[ox.Triple]) -> Iterator[str]:
    for triple in triples:
        yield from _term_iris(triple.subject)
        if triple.predicate.value != RDF_TYPE:  # written as ``a``
            yield triple.predicate.value
        yield from _term_iris(triple.object)


#: Datatypes a literal is written without (``"x"``, ``"x"@en``): no prefix is needed for them.
_WRITTEN_BARE = frozenset({XSD_STRING, RDF_LANGSTRING})


def _term_iris(term: Term) -> Iterator[str]:
    if isinstance(term, ox.NamedNode):
        yield term.value
    elif isinstance(term, ox.Literal) and term.datatype.value not in _WRITTEN_BARE:
        yield term.datatype.value
    elif isinstance(term, ox.Triple):
        yield from _iris([term])
