"""/sparql over HTTP, on the app in this process (fast tier) and on a real server: the three
ways to send a query, every format, negotiation, datasets, the service description, caching
validators, CORS, gzip and problem details."""

from __future__ import annotations

import gzip
import io
import json
import math
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.query import Result

from ijkg.graph.core.namespaces import ARTICLE_GRAPH, CONTEXT_GRAPH, ONTOLOGY_GRAPH, SHAPES_GRAPH
from ijkg.graph.core.terms import to_rdflib
from tests.conftest import Service

PILLARS = """PREFIX ijkg: <https://w3id.org/ijkg/ontology#>
SELECT DISTINCT ?pillar WHERE { ?pillar a ijkg:Pillar } ORDER BY ?pillar"""
GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
JAPAN = "https://w3id.org/ijkg/id/state/japan"
DESCRIBE = f"DESCRIBE <{JAPAN}>"
CONSTRUCT = f"CONSTRUCT {{ <{JAPAN}> ?p ?o }} WHERE {{ <{JAPAN}> ?p ?o }}"
PROBLEM = "application/problem+json"

RESULTS = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
RDF = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-quads": ox.RdfFormat.N_QUADS,
}


@pytest.fixture
def client(service: Service) -> Iterator[httpx.Client]:
    with service.client() as running:
        yield running


def media(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def rows(response: httpx.Response) -> list[dict[str, str]]:
    """SELECT rows, whatever the results format, as {variable: lexical value}."""
    result = Result.parse(io.BytesIO(response.content), format=RESULTS[media(response)])
    return [{str(k): str(v) for k, v in b.items() if v is not None} for b in result.bindings]


def graph_of(response: httpx.Response) -> rdflib.Graph:
    """The triples of an RDF answer (parsed by Oxigraph, compared with rdflib)."""
    graph = rdflib.Graph()
    for quad in ox.parse(input=response.content, format=RDF[media(response)]):
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert media(response) == PROBLEM
    body: dict[str, object] = response.json()
    assert body["type"] == f"https://w3id.org/ijkg/problems/{slug}", body
    assert body["status"] == status
    return body


# --- the three ways to send a query -------------------------------------------------------------


def test_get_form_post_and_direct_post_give_the_same_answer(client: httpx.Client) -> None:
    accept = {"Accept": "application/sparql-results+json"}
    by_get = client.get("/sparql", params={"query": PILLARS}, headers=accept)
    by_form = client.post(
        "/sparql",
        content=urlencode({"query": PILLARS}),
        headers={**accept, "Content-Type": "application/x-www-form-urlencoded"},
    )
    by_direct = client.post(
        "/sparql",
        content=PILLARS.encode(),
        headers={**accept, "Content-Type": "application/sparql-query; charset=UTF-8"},
    )
    answers = [rows(r) for r in (by_get, by_form, by_direct)]
    assert answers[0] == answers[1] == answers[2]
    assert len(answers[0]) >= 8  # the eight pillars of the Joint Vision, at least


@pytest.mark.parametrize(
    ("content_type", "body", "status", "slug"),
    [
        ("text/plain", b"ASK {}", 415, "unsupported-media-type"),
        (None, b"query=ASK%20%7B%7D", 415, "unsupported-media-type"),
        ("application/sparql-query; charset=UTF-16", "ASK {}".encode("utf-16"), 415, None),
        ("application/sparql-query", b"ASK { \xff }", 400, "bad-request"),
        ("application/x-www-form-urlencoded", b"query=ASK%7B%7D&query=ASK%7B%7D", 400, None),
        ("application/x-www-form-urlencoded", b"default-graph-uri=http%3A%2F%2Fg", 400, None),
        ("application/x-www-form-urlencoded", b"update=CLEAR%20ALL", 400, "bad-request"),
    ],
)
def test_malformed_protocol_requests_are_refused_precisely(
    client: httpx.Client, content_type: str | None, body: bytes, status: int, slug: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/sparql", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert media(response) == PROBLEM
    if slug:
        assert response.json()["type"].endswith("/" + slug)


def test_other_methods_are_not_allowed(client: httpx.Client) -> None:
    response = client.put("/sparql", params={"query": "ASK {}"})
    problem(response, 405, "method-not-allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


# --- formats and negotiation ----------------------------------------------------------------------


@pytest.mark.parametrize("media_type", list(RESULTS))
def test_select_in_every_results_format(client: httpx.Client, media_type: str) -> None:
    reference = rows(client.get("/sparql", params={"query": PILLARS}))
    response = client.get("/sparql", params={"query": PILLARS}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert media(response) == media_type
    assert rows(response) == reference


@pytest.mark.parametrize("media_type", list(RESULTS))
def test_ask_in_every_results_format(client: httpx.Client, media_type: str) -> None:
    query = f"ASK {{ <{JAPAN}> ?p ?o }}"
    response = client.get("/sparql", params={"query": query}, headers={"Accept": media_type})
    assert media(response) == media_type
    if media_type.startswith("application/"):
        parsed = Result.parse(io.BytesIO(response.content), format=RESULTS[media_type])
        assert parsed.askAnswer is True
    else:  # CSV and TSV carry the boolean as a one-cell table
        assert response.text.split()[-1] == "true"


@pytest.mark.parametrize("media_type", list(RDF))
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
def test_construct_and_describe_in_every_rdf_syntax(
    client: httpx.Client, media_type: str, query: str
) -> None:
    reference = graph_of(
        client.get("/sparql", params={"query": query}, headers={"Accept": "application/n-triples"})
    )
    assert len(reference) > 3
    response = client.get("/sparql", params={"query": query}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert media(response) == media_type
    assert isomorphic(graph_of(response), reference)


@pytest.mark.parametrize(
    ("accept", "select_type", "construct_type"),
    [
        (None, "application/sparql-results+json", "text/turtle"),
        ("*/*", "application/sparql-results+json", "text/turtle"),
        ("application/json", "application/sparql-results+json", "application/ld+json"),
        ("application/xml", "application/sparql-results+xml", "application/rdf+xml"),
        (
            "text/csv;q=0.5, application/sparql-results+xml;q=0.9, text/turtle;q=0.1",
            "application/sparql-results+xml",
            "text/turtle",
        ),
        ("text/*", "text/csv", "text/turtle"),
        (
            "application/n-triples, */*;q=0.1",
            "application/sparql-results+json",
            "application/n-triples",
        ),
    ],
)
def test_negotiation_honours_q_values_and_wildcards(
    client: httpx.Client, accept: str | None, select_type: str, construct_type: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    select = client.get("/sparql", params={"query": PILLARS}, headers=headers)
    construct = client.get("/sparql", params={"query": CONSTRUCT}, headers=headers)
    assert (media(select), media(construct)) == (select_type, construct_type)
    assert select.headers["vary"].startswith("Accept")


@pytest.mark.parametrize(
    ("fmt", "select_type", "construct_type"),
    [
        ("json", "application/sparql-results+json", "application/ld+json"),
        ("xml", "application/sparql-results+xml", "application/rdf+xml"),
        ("csv", "text/csv", None),
        ("tsv", "text/tab-separated-values", None),
        ("turtle", None, "text/turtle"),
        ("text/turtle", None, "text/turtle"),
        ("application/sparql-results+json", "application/sparql-results+json", None),
    ],
)
def test_the_format_parameter_wins_over_accept(
    client: httpx.Client, fmt: str, select_type: str | None, construct_type: str | None
) -> None:
    headers = {"Accept": "text/tab-separated-values"}
    for query, expected in ((PILLARS, select_type), (CONSTRUCT, construct_type)):
        response = client.get("/sparql", params={"query": query, "format": fmt}, headers=headers)
        if expected is None:
            problem(response, 406, "not-acceptable")
        else:
            assert media(response) == expected, response.text
    output = client.get("/sparql", params={"query": PILLARS, "output": "csv"})
    assert media(output) == "text/csv"


def test_nothing_acceptable_is_406_with_what_is_available(client: httpx.Client) -> None:
    construct = client.get("/sparql", params={"query": CONSTRUCT}, headers={"Accept": "text/csv"})
    body = problem(construct, 406, "not-acceptable")
    assert body["form"] == "graph"
    assert set(body["available"]) == set(RDF)  # type: ignore[arg-type]
    select = client.get("/sparql", params={"query": PILLARS}, headers={"Accept": "image/png"})
    body = problem(select, 406, "not-acceptable")
    assert set(body["available"]) >= set(RESULTS)  # type: ignore[arg-type]
    unknown = client.get("/sparql", params={"query": PILLARS, "format": "yaml"})
    problem(unknown, 406, "not-acceptable")


# --- datasets ----------------------------------------------------------------------------------


def count(client: httpx.Client, query: str, **params: str | list[str]) -> int:
    response = client.get("/sparql", params={"query": query, **params})
    assert response.status_code == 200, response.text
    return int(rows(response)[0]["n"])


def test_the_default_graph_is_the_union_of_the_named_graphs(client: httpx.Client) -> None:
    names = [r["g"] for r in rows(client.get("/sparql", params={"query": GRAPHS}))]
    assert {ARTICLE_GRAPH, CONTEXT_GRAPH, ONTOLOGY_GRAPH, SHAPES_GRAPH} <= set(names)
    everything = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    distinct = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
    per_graph = [
        count(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"default-graph-uri": g})
        for g in names
    ]
    # Every triple of every graph is in the default graph, once (it is a set: a triple two
    # sources state counts once), and nothing else is.
    assert count(client, distinct) == count(client, everything) <= sum(per_graph)
    assert count(client, distinct) >= max(per_graph)
    in_a_graph = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ARTICLE_GRAPH}> {{ ?s ?p ?o }} }}"
    assert count(client, in_a_graph) == per_graph[names.index(ARTICLE_GRAPH)]


def test_dataset_parameters_narrow_the_dataset(client: httpx.Client) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    ontology_only = count(client, query, **{"default-graph-uri": ONTOLOGY_GRAPH})
    both = count(client, query, **{"default-graph-uri": [ONTOLOGY_GRAPH, SHAPES_GRAPH]})
    assert 0 < ontology_only < both
    named = client.get(
        "/sparql", params={"query": GRAPHS, "named-graph-uri": [SHAPES_GRAPH, ONTOLOGY_GRAPH]}
    )
    assert [r["g"] for r in rows(named)] == sorted([ONTOLOGY_GRAPH, SHAPES_GRAPH])
    # Only named graphs given: the default graph is empty.
    assert count(client, query, **{"named-graph-uri": ONTOLOGY_GRAPH}) == 0
    # A graph the store does not have is an empty graph, not an error (and nothing is fetched).
    assert count(client, query, **{"default-graph-uri": "http://127.0.0.1:9/nothing"}) == 0


def test_from_in_the_query_names_its_dataset(client: httpx.Client) -> None:
    in_ontology = f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY_GRAPH}> WHERE {{ ?s ?p ?o }}"
    assert count(client, in_ontology) == count(
        client,
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        **{"default-graph-uri": ONTOLOGY_GRAPH},
    )
    only_named = f"SELECT ?g FROM NAMED <{SHAPES_GRAPH}> WHERE {{ GRAPH ?g {{ }} }}"
    assert [r["g"] for r in rows(client.get("/sparql", params={"query": only_named}))] == [
        SHAPES_GRAPH
    ]
    # The protocol's dataset wins over the query's.
    overridden = client.get(
        "/sparql", params={"query": in_ontology, "default-graph-uri": SHAPES_GRAPH}
    )
    assert int(rows(overridden)[0]["n"]) == count(
        client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"default-graph-uri": SHAPES_GRAPH}
    )


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"query": "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }"}, "FROM <file:"),
        ({"query": "SELECT * FROM NAMED <jar:file:///x!/y> WHERE { }"}, "FROM NAMED <jar:"),
        ({"query": "ASK {}", "default-graph-uri": "file:///etc/passwd"}, "default-graph-uri"),
        ({"query": "ASK {}", "named-graph-uri": "relative/name"}, "named-graph-uri"),
    ],
)
def test_graph_names_that_look_like_files_are_refused(
    client: httpx.Client, params: dict[str, str], where: str
) -> None:
    body = problem(client.get("/sparql", params=params), 400, "query-refused")
    assert where in str(body["detail"])
    assert "never fetched" in str(body["detail"]) or "absolute IRI" in str(body["detail"])


def test_relative_iris_resolve_against_the_endpoint(client: httpx.Client, service: Service) -> None:
    answer = client.get(
        "/sparql", params={"query": "SELECT ?x WHERE { BIND(<thing> AS ?x) }"}, headers={}
    )
    assert rows(answer) == [{"x": service.base_url + "/thing"}]


# --- errors --------------------------------------------------------------------------------------


def test_a_syntax_error_says_where_and_what_was_expected(client: httpx.Client) -> None:
    query = "SELECT ?s\nWHERE { ?s ?p ?o \n"
    body = problem(client.get("/sparql", params={"query": query}), 400, "query-syntax")
    assert body["line"] == 2 or body["line"] == 3
    assert isinstance(body["column"], int)
    assert "}" in body["expected"]  # type: ignore[operator]
    assert "never closed" in str(body["hint"])
    assert str(body["detail"]).startswith(f"line {body['line']}, column {body['column']}: expected")
    assert str(body["excerpt"]).endswith("^")


def test_an_undeclared_project_prefix_is_named_with_its_declaration(client: httpx.Client) -> None:
    body = problem(
        client.get("/sparql", params={"query": "SELECT * WHERE { ?s a skos:Concept }"}),
        400,
        "query-syntax",
    )
    assert "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>" in str(body["detail"])


def test_no_query_in_a_post_is_400(client: httpx.Client) -> None:
    problem(
        client.post(
            "/sparql", content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        400,
        "bad-request",
    )


# --- the service description -----------------------------------------------------------------

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
LIMITS = rdflib.Namespace("https://w3id.org/ijkg/service#")


@pytest.mark.parametrize("media_type", list(RDF))
def test_the_service_description_in_every_rdf_syntax(
    client: httpx.Client, service: Service, media_type: str
) -> None:
    response = client.get("/sparql", headers={"Accept": media_type})
    assert response.status_code == 200
    assert media(response) == media_type
    graph = graph_of(response)
    endpoint = rdflib.URIRef(service.base_url + "/sparql")
    assert (endpoint, rdflib.RDF.type, SD.Service) in graph
    assert (endpoint, SD.endpoint, endpoint) in graph
    assert (endpoint, SD.feature, SD.UnionDefaultGraph) in graph
    assert (endpoint, SD.feature, SD.BasicFederatedQuery) not in graph
    assert (endpoint, SD.supportedLanguage, SD.SPARQL11Query) in graph
    formats = {str(o).rsplit("/", 1)[-1] for o in graph.objects(endpoint, SD.resultFormat)}
    assert formats == {
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N-Triples",
        "JSON-LD",
        "RDF_XML",
        "TriG",
        "N-Quads",
    }


def test_the_service_description_lists_graphs_and_limits(
    client: httpx.Client, service: Service
) -> None:
    graph = graph_of(client.get("/sparql"))
    endpoint = rdflib.URIRef(service.base_url + "/sparql")
    dataset = graph.value(endpoint, SD.defaultDataset)
    named = {
        str(graph.value(n, SD.name)): int(graph.value(graph.value(n, SD.graph), VOID.triples))
        for n in graph.objects(dataset, SD.namedGraph)
    }
    listed = rows(
        client.get(
            "/sparql",
            params={
                "query": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
            },
        )
    )
    assert named == {r["g"]: int(r["n"]) for r in listed}
    limits = {
        str(p).rsplit("#", 1)[-1]: o.toPython()
        for p, o in graph.predicate_objects(endpoint)
        if str(p).startswith(str(LIMITS))
    }
    assert limits == {
        "queryTimeout": 10,
        "queryMemory": 1024 * 1024 * 1024,
        "maxResultRows": 100_000,
        "maxResultBytes": 64 * 1024 * 1024,
        "maxConcurrentQueries": 32,
        "queryWorkers": 2,
        "maxQueryBytes": 65536,
        "maxQueryDepth": 64,
        "federation": False,
    }
    # The limit terms define themselves.
    for name in limits:
        assert graph.value(LIMITS[name], rdflib.RDFS.comment) is not None
    comments = " ".join(str(c) for c in graph.objects(endpoint, rdflib.RDFS.comment))
    assert "nothing is ever fetched" in comments and "SERVICE is refused" in comments


def test_the_limits_are_in_the_openapi_document(client: httpx.Client) -> None:
    description = client.get("/openapi.json").json()["info"]["description"]
    for words in (
        "10 s per query",
        "100,000 solutions",
        "67,108,864 bytes",
        "IJKG_QUERY_TIMEOUT_S",
    ):
        assert words in description


def test_the_service_description_is_not_acceptable_as_results(client: httpx.Client) -> None:
    body = problem(client.get("/sparql", headers={"Accept": "text/csv"}), 406, "not-acceptable")
    assert "text/html" in body["available"]  # type: ignore[operator]


# --- caching validators ----------------------------------------------------------------------------


def test_answers_carry_validators_and_revalidate_with_304(client: httpx.Client) -> None:
    first = client.get("/sparql", params={"query": PILLARS})
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert first.headers["cache-control"] == "no-cache"
    modified = parsedate_to_datetime(first.headers["last-modified"])
    again = client.get("/sparql", params={"query": PILLARS}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # Last-Modified is never in the future: within the second the graph reached its version it
    # says the second before (echoing it gets the whole answer); past that second, 304.
    time.sleep(max(0.0, math.ceil(time.time()) - time.time() + 0.05))
    settled = client.get("/sparql", params={"query": PILLARS})
    by_date = client.get(
        "/sparql",
        params={"query": PILLARS},
        headers={"If-Modified-Since": settled.headers["last-modified"]},
    )
    assert by_date.status_code == 304
    assert modified.timestamp() > 0
    # Another representation of the same query is another entity.
    csv = client.get(
        "/sparql", params={"query": PILLARS}, headers={"Accept": "text/csv", "If-None-Match": etag}
    )
    assert csv.status_code == 200 and csv.headers["etag"] != etag
    other = client.get("/sparql", params={"query": GRAPHS}, headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_an_answer_that_changes_by_itself_is_never_cached(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": "SELECT (NOW() AS ?t) (RAND() AS ?r) {}"})
    assert response.status_code == 200
    assert "etag" not in response.headers
    assert response.headers["cache-control"] == "no-store"


# --- CORS and gzip -------------------------------------------------------------------------------


def test_any_origin_may_read_without_credentials(client: httpx.Client) -> None:
    origin = {"Origin": "https://notebook.example"}
    response = client.get("/sparql", params={"query": PILLARS}, headers=origin)
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "etag" in exposed and "retry-after" in exposed
    preflight = client.options(
        "/sparql",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
    errors = client.get("/sparql", params={"query": "SELECT"}, headers=origin)
    assert errors.headers["access-control-allow-origin"] == "*"  # errors are readable too


def test_a_page_elsewhere_cannot_send_a_token(client: httpx.Client) -> None:
    preflight = client.options(
        "/update",
        headers={
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 400
    assert "authorization" not in preflight.headers.get("access-control-allow-headers", "").lower()


def test_large_answers_are_gzipped(service: Service) -> None:
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 2000"
    with service.client() as raw:
        compressed = raw.get(
            "/sparql", params={"query": query}, headers={"Accept-Encoding": "gzip"}
        )
        plain = raw.get("/sparql", params={"query": query}, headers={"Accept-Encoding": "identity"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in compressed.headers["vary"].lower()
    assert "content-encoding" not in plain.headers
    # httpx decodes for us; the bytes on the wire were smaller.
    assert json.loads(compressed.content) == json.loads(plain.content)
    assert int(compressed.headers["content-length"]) < len(plain.content) / 3
    assert len(gzip.compress(plain.content)) < len(plain.content)
