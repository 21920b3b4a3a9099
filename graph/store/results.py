"""Serialising query answers with hard caps on rows and bytes (never a silent truncation).

CONSTRUCT and DESCRIBE go through pyoxigraph's RDF serialiser: it takes any iterable of triples,
so a counting generator keeps the row cap and a ``CappedBuffer`` as its output the byte cap.

SELECT and ASK results are written here (SPARQL JSON, XML, CSV, TSV) because pyoxigraph's
``QuerySolutions.serialize`` cannot keep the row cap: it drains the solutions inside the engine,
with no hook per solution, so rows can be neither counted nor stopped at the cap (a capped output
would keep only the byte cap), and a ``QuerySolutions`` cannot be made from counted rows. ASK
answers arrive as a plain ``bool`` (the external store's are parsed first) and ``QueryBoolean``
cannot be made from one; its CSV/TSV form is also a bare ``true`` where ours has the
``_askResult`` header row. The terms themselves come from pyoxigraph (``str(term)`` is the
N-Triples form TSV asks for).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Final, cast
from xml.sax.saxutils import escape, quoteattr

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
    """A binary sink that refuses to grow past ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._chunks: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> int:
        self.expect(len(data))
        self._size += len(data)
        self._chunks.append(bytes(data))
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


def _capped_rows(rows: Iterable[Any], max_rows: int, counter: list[int]) -> Iterator[Any]:
    for row in rows:
        counter[0] += 1
        if counter[0] > max_rows:
            raise ResultTooLarge(
                f"the result has more than {max_rows:,} rows; add a LIMIT or narrow the query"
            )
        yield row


# --- terms in each results format ---------------------------------------------------------------


def _json_term(term: Term) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {
        "type": "triple",
        "value": {
            "subject": _json_term(term.subject),
            "predicate": _json_term(term.predicate),
            "object": _json_term(term.object),
        },
    }


_XML_SPACE = " \t\n\r"


def _xml_text(text: str) -> str:
    """Element text that reads back unchanged: a carriage return goes as a character reference
    (XML parsers read a raw one as a line feed), and so does white space at either end (some
    parsers trim it, pyoxigraph's among them)."""
    lead = len(text) - len(text.lstrip(_XML_SPACE))
    trail = 0 if lead == len(text) else len(text) - len(text.rstrip(_XML_SPACE))
    middle = escape(text[lead : len(text) - trail], {"\r": "&#13;"})
    edges = [text[:lead], text[len(text) - trail :]]
    head, tail = ("".join(f"&#{ord(c)};" for c in edge) for edge in edges)
    return head + middle + tail


def _xml_term(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{_xml_text(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return (
                f"<literal datatype={quoteattr(term.datatype.value)}>"
                f"{_xml_text(term.value)}</literal>"
            )
        return f"<literal>{_xml_text(term.value)}</literal>"
    return (
        f"<triple><subject>{_xml_term(term.subject)}</subject>"
        f"<predicate>{_xml_term(term.predicate)}</predicate>"
        f"<object>{_xml_term(term.object)}</object></triple>"
    )


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_term(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return _csv_field("_:" + term.value)
    if isinstance(term, ox.NamedNode | ox.Literal):
        return _csv_field(term.value)
    return _csv_field(str(term))


def _tsv_term(term: Term | None) -> str:
    # N-Triples syntax, as the TSV results format asks; str() of a term gives exactly that.
    return "" if term is None else str(term)


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


def _write_json(variables: list[str], rows: Iterable[ox.QuerySolution], out: CappedBuffer) -> None:
    out.write(b'{"head":{"vars":' + json.dumps(variables).encode() + b'},"results":{"bindings":[')
    first = True
    for solution in rows:
        binding = {}
        for name in variables:
            value = solution[name]
            if value is not None:
                binding[name] = _json_term(value)
        out.write((b"" if first else b",") + json.dumps(binding, ensure_ascii=False).encode())
        first = False
    out.write(b"]}}")


_XML_HEAD = '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'


def _write_xml(variables: list[str], rows: Iterable[ox.QuerySolution], out: CappedBuffer) -> None:
    head = "".join(f"<variable name={quoteattr(v)}/>" for v in variables)
    out.write(f"{_XML_HEAD}<head>{head}</head>\n<results>\n".encode())
    for solution in rows:
        parts = []
        for name in variables:
            value = solution[name]
            if value is not None:
                parts.append(f"<binding name={quoteattr(name)}>{_xml_term(value)}</binding>")
        out.write(("<result>" + "".join(parts) + "</result>\n").encode())
    out.write(b"</results>\n</sparql>\n")


def _write_csv(variables: list[str], rows: Iterable[ox.QuerySolution], out: CappedBuffer) -> None:
    out.write((",".join(_csv_field(v) for v in variables) + "\r\n").encode())
    for solution in rows:
        out.write((",".join(_csv_term(solution[v]) for v in variables) + "\r\n").encode())


def _write_tsv(variables: list[str], rows: Iterable[ox.QuerySolution], out: CappedBuffer) -> None:
    out.write(("\t".join("?" + v for v in variables) + "\n").encode())
    for solution in rows:
        out.write(("\t".join(_tsv_term(solution[v]) for v in variables) + "\n").encode())


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


_WRITERS: dict[str, Callable[[list[str], Iterable[ox.QuerySolution], CappedBuffer], None]] = {
    RESULTS_JSON.name: _write_json,
    RESULTS_XML.name: _write_xml,
    RESULTS_CSV.name: _write_csv,
    RESULTS_TSV.name: _write_tsv,
    RESULTS_TEXT.name: _write_text,
}


def write_solutions(
    solutions: ox.QuerySolutions, fmt: ResultsFormat, *, max_rows: int, max_bytes: int
) -> tuple[bytes, int]:
    """Serialise SELECT solutions; returns the bytes and the row count."""
    variables = [v.value for v in solutions.variables]
    out = CappedBuffer(max_bytes)
    counter = [0]
    _WRITERS[fmt.name](variables, _capped_rows(solutions, max_rows, counter), out)
    return out.getvalue(), counter[0]


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
    The others stream as they come.
    """
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
