"""Reading the W3C SPARQL 1.1 test suites (kept as data in ``sparql11/``) and judging answers.

Manifests are parsed with their published base IRI, so every file a test names has the IRI the
suite gives it (``http://www.w3.org/2009/sparql/docs/tests/data-sparql11/...``) and is found on
disk under ``sparql11/``; nothing is ever dereferenced.

Query answers are compared the way the suite means them: solutions as a multiset (as a sequence
when the query orders them), blank nodes up to a consistent renaming, graphs up to isomorphism,
and ``xsd:string`` literals equal to plain ones (RDF 1.1).
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.query import Result
from rdflib.term import BNode, Literal, Node, URIRef

HERE = Path(__file__).resolve().parent / "sparql11"
BASE = "http://www.w3.org/2009/sparql/docs/tests/data-sparql11/"

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
DAWGT = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#")
RS = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/result-set#")


def local_path(iri: str) -> Path:
    """The file of the suite that ``iri`` names."""
    if not iri.startswith(BASE):
        raise ValueError(f"{iri} is not a file of the suite")
    return HERE / iri[len(BASE) :]


def parse_manifest(relative: str) -> rdflib.Graph:
    return rdflib.Graph().parse(HERE / relative, format="turtle", publicID=BASE + relative)


def entries(graph: rdflib.Graph) -> list[Node]:
    """The manifest's entries, in their order."""
    (head,) = graph.objects(None, MF.entries)
    return list(Collection(graph, head))


def included(relative: str) -> list[str]:
    """The manifests a manifest includes (relative paths)."""
    graph = parse_manifest(relative)
    out: list[str] = []
    for head in graph.objects(None, MF.include):
        out += [str(m)[len(BASE) :] for m in Collection(graph, head)]
    return out


# --- query evaluation tests ---------------------------------------------------------------------


@dataclass(frozen=True)
class QueryTest:
    """One test of the query manifests."""

    id: str  # "<folder>/<local name>", e.g. "aggregates/agg01"
    kind: str  # QueryEvaluationTest, PositiveSyntaxTest11, NegativeSyntaxTest11
    name: str
    query: str  # IRI of the query file
    data: tuple[str, ...] = ()
    graph_data: tuple[str, ...] = ()
    result: str | None = None
    approval: str = ""

    @property
    def query_text(self) -> str:
        return local_path(self.query).read_text(encoding="utf-8")


def query_tests(root: str = "manifest-sparql11-query.ttl") -> list[QueryTest]:
    """Every test of the manifests ``root`` includes, in manifest order."""
    tests: list[QueryTest] = []
    for relative in included(root):
        graph = parse_manifest(relative)
        folder = relative.rsplit("/", 1)[0]
        for entry in entries(graph):
            kind = str(graph.value(entry, RDF.type)).rsplit("#", 1)[-1]
            action = graph.value(entry, MF.action)
            assert action is not None, entry
            if kind.endswith("SyntaxTest11"):
                query, data, graph_data = str(action), (), ()
            else:
                query = str(graph.value(action, QT.query))
                data = tuple(sorted(str(d) for d in graph.objects(action, QT.data)))
                graph_data = tuple(sorted(str(d) for d in graph.objects(action, QT.graphData)))
            result = graph.value(entry, MF.result)
            approval = graph.value(entry, DAWGT.approval)
            tests.append(
                QueryTest(
                    id=f"{folder}/{str(entry).rsplit('#', 1)[-1]}",
                    kind=kind,
                    name=str(graph.value(entry, MF.name)),
                    query=query,
                    data=data,
                    graph_data=graph_data,
                    result=str(result) if result is not None else None,
                    approval=str(approval).rsplit("#", 1)[-1] if approval else "",
                )
            )
    return tests


_SYNTAX = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".trig": ox.RdfFormat.TRIG,
    ".nq": ox.RdfFormat.N_QUADS,
}


def read_graph(iri: str, name: str | None = None) -> list[ox.Quad]:
    """The triples of the file ``iri`` as quads in the graph ``name`` (default: ``iri``).

    Blank nodes are renamed, so two files never share one."""
    path = local_path(iri)
    target = ox.NamedNode(name or iri)
    return [
        ox.Quad(q.subject, q.predicate, q.object, target)
        for q in ox.parse(
            input=path.read_bytes(),
            format=_SYNTAX[path.suffix],
            base_iri=iri,
            rename_blank_nodes=True,
        )
    ]


# --- comparing answers --------------------------------------------------------------------------

Row = dict[str, Node]


def normal(term: Node) -> Node:
    """RDF 1.1: a simple literal is an ``xsd:string``; language tags are case-insensitive."""
    if isinstance(term, Literal):
        if term.language:
            return Literal(str(term), lang=term.language.lower())
        if term.datatype == XSD.string:
            return Literal(str(term))
    return term


@dataclass
class Solutions:
    """A parsed SELECT or ASK answer."""

    variables: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    boolean: bool | None = None


def parse_results(body: bytes, media_type: str) -> Solutions:
    """Parse SPARQL results (JSON, XML, CSV or TSV) with rdflib's parsers."""
    kind = {
        "application/sparql-results+json": "json",
        "application/sparql-results+xml": "xml",
        "text/csv": "csv",
        "text/tab-separated-values": "tsv",
    }[media_type.split(";")[0].strip()]
    result = Result.parse(io.BytesIO(body), format=kind)
    if result.type == "ASK":
        return Solutions(boolean=bool(result.askAnswer))
    variables = [str(v) for v in (result.vars or [])]
    rows = []
    for binding in result.bindings:
        rows.append({str(k): normal(v) for k, v in binding.items() if v is not None})
    return Solutions(variables, rows)


def read_expected(iri: str) -> Solutions | rdflib.Graph:
    path = local_path(iri)
    if path.suffix == ".srx":
        return parse_results(path.read_bytes(), "application/sparql-results+xml")
    if path.suffix == ".srj":
        return parse_results(path.read_bytes(), "application/sparql-results+json")
    if path.suffix == ".tsv":
        return parse_results(path.read_bytes(), "text/tab-separated-values")
    if path.suffix == ".csv":
        return parse_results(path.read_bytes(), "text/csv")
    fmt = {".ttl": "turtle", ".nt": "nt", ".rdf": "xml"}[path.suffix]
    graph = rdflib.Graph().parse(path, format=fmt, publicID=iri)
    result_set = next(iter(graph.subjects(RDF.type, RS.ResultSet)), None)
    if result_set is None:
        return graph
    return _from_result_set(graph, result_set)


def _from_result_set(graph: rdflib.Graph, result_set: Node) -> Solutions:
    """A result set written in RDF with the suite's ``rs:`` vocabulary."""
    boolean = graph.value(result_set, RS.boolean)
    if boolean is not None:
        return Solutions(boolean=bool(boolean.toPython()))
    variables = sorted(str(v) for v in graph.objects(result_set, RS.resultVariable))
    solutions = []
    for solution in graph.objects(result_set, RS.solution):
        row = {}
        for binding in graph.objects(solution, RS.binding):
            value = graph.value(binding, RS.value)
            name = graph.value(binding, RS.variable)
            if value is not None and name is not None:
                row[str(name)] = normal(value)
        index = graph.value(solution, RS.index)
        solutions.append((int(index.toPython()) if index is not None else 0, row))
    solutions.sort(key=lambda pair: pair[0])
    return Solutions(variables, [row for _, row in solutions])


def _bnodes(row: Row) -> set[BNode]:
    return {v for v in row.values() if isinstance(v, BNode)}


def _key(row: Row, mapping: dict[BNode, BNode]) -> tuple[tuple[str, Node], ...]:
    return tuple(
        sorted((k, mapping.get(v, v) if isinstance(v, BNode) else v) for k, v in row.items())
    )  # type: ignore[arg-type]


def same_solutions(expected: Sequence[Row], actual: Sequence[Row], *, ordered: bool) -> bool:
    """Equal up to a bijective renaming of blank nodes; in order when ``ordered``."""
    if len(expected) != len(actual):
        return False
    plain = all(not _bnodes(r) for r in expected) and all(not _bnodes(r) for r in actual)
    if plain:
        if ordered:
            return [_key(r, {}) for r in expected] == [_key(r, {}) for r in actual]
        return Counter(_key(r, {}) for r in expected) == Counter(_key(r, {}) for r in actual)
    return _match(list(expected), list(actual), {}, set(), ordered)


def _compatible(
    expected: Row, actual: Row, mapping: dict[BNode, BNode]
) -> dict[BNode, BNode] | None:
    if expected.keys() != actual.keys():
        return None
    extended = dict(mapping)
    used = set(extended.values())
    for name, value in expected.items():
        other = actual[name]
        if isinstance(value, BNode):
            if not isinstance(other, BNode):
                return None
            if value in extended:
                if extended[value] != other:
                    return None
            elif other in used:
                return None
            else:
                extended[value] = other
                used.add(other)
        elif value != other:
            return None
    return extended


def _match(
    expected: list[Row],
    actual: list[Row],
    mapping: dict[BNode, BNode],
    taken: set[int],
    ordered: bool,
) -> bool:
    """Backtracking search for a row matching and a blank-node bijection."""
    if not expected:
        return True
    first, rest = expected[0], expected[1:]
    candidates = [len(taken)] if ordered else range(len(actual))
    for index in candidates:
        if index in taken:
            continue
        extended = _compatible(first, actual[index], mapping)
        if extended is not None and _match(rest, actual, extended, taken | {index}, ordered):
            return True
    return False


def same_graph(expected: rdflib.Graph, actual: rdflib.Graph) -> bool:
    def normalised(graph: rdflib.Graph) -> rdflib.Graph:
        out = rdflib.Graph()
        for s, p, o in graph:
            out.add((s, p, normal(o)))
        return out

    return isomorphic(normalised(expected), normalised(actual))


_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)


def is_ordered(query: str) -> bool:
    """Whether the (outermost) query orders its solutions; the suite compares those in order."""
    # An ORDER BY in a subquery only orders the subquery; the suite's ordered tests order the
    # outer query, which is the last ORDER BY before the end of the text.
    text = re.sub(r"#[^\n]*", "", query)
    matches = list(_ORDER_BY.finditer(text))
    if not matches:
        return False
    tail = text[matches[-1].end() :]
    return tail.count("}") <= tail.count("{")


# --- protocol tests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # with the query string, as the manifest writes it (``/sparql/?...``)
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    expected_status: frozenset[int]  # status classes: 2, 3, 4 ...
    expected_format: str | None  # "boolean", "tabular", "RDF"
    expected_boolean: bool | None


@dataclass(frozen=True)
class ProtocolTest:
    id: str
    name: str
    requests: tuple[HttpRequest, ...]
    graph_data: tuple[tuple[str, str], ...]  # (file IRI, graph name)


_STATUS = re.compile(r"StatusCode(\d)xx$")


def _literal(graph: rdflib.Graph, subject: Node, predicate: URIRef) -> str | None:
    value = graph.value(subject, predicate)
    return None if value is None else str(value)


def protocol_tests() -> list[ProtocolTest]:
    graph = parse_manifest("protocol/manifest.ttl")
    tests: list[ProtocolTest] = []
    for entry in entries(graph):
        action = graph.value(entry, MF.action)
        assert action is not None, entry
        (head,) = graph.objects(action, HT.requests)
        requests = []
        for node in Collection(graph, head):
            headers: list[tuple[str, str]] = []
            header_list = graph.value(node, HT.headers)
            if header_list is not None:
                for header in Collection(graph, header_list):
                    name = _literal(graph, header, HT.fieldName)
                    value = _literal(graph, header, HT.fieldValue)
                    assert name is not None and value is not None
                    headers.append((name, value))
            body = None
            body_node = graph.value(node, HT.body)
            if body_node is not None:
                chars = _literal(graph, body_node, CNT.chars) or ""
                encoding = _literal(graph, body_node, CNT.characterEncoding) or "UTF-8"
                body = chars.encode(encoding)
            response = graph.value(node, HT.resp)
            assert response is not None
            statuses = frozenset(
                int(match.group(1))
                for status in graph.objects(response, MF.expectedStatus)
                if (match := _STATUS.search(str(status)))
            )
            boolean = graph.value(response, MF.expectedBoolean)
            requests.append(
                HttpRequest(
                    method=str(graph.value(node, HT.methodName)),
                    path=str(graph.value(node, HT.absolutePath)),
                    headers=tuple(headers),
                    body=body,
                    expected_status=statuses,
                    expected_format=_literal(graph, response, MF.expectedFormat),
                    expected_boolean=None if boolean is None else bool(boolean.toPython()),
                )
            )
        graph_data = tuple(
            sorted(
                (str(graph.value(node, UT.graph)), str(graph.value(node, RDFS.label)))
                for node in graph.objects(entry, UT.graphData)
            )
        )
        tests.append(
            ProtocolTest(
                id=str(entry).rsplit("#", 1)[-1],
                name=str(graph.value(entry, MF.name)),
                requests=tuple(requests),
                graph_data=graph_data,
            )
        )
    return tests


def iter_all_data(tests: Sequence[QueryTest]) -> Iterator[str]:
    """Every data file the tests read, once."""
    seen: set[str] = set()
    for test in tests:
        for iri in (*test.data, *test.graph_data):
            if iri not in seen:
                seen.add(iri)
                yield iri
