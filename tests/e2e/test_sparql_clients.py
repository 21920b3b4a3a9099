"""Real SPARQL clients, unmodified, against a running server: SPARQLWrapper, rdflib's
SPARQLStore, plain httpx (GET, and POST once the query is too long for a URL) and curl."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from urllib.parse import urlencode
from xml.dom.minidom import Document

import httpx
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, POST, TSV, TURTLE, XML, SPARQLWrapper

from ijkg.graph.core.namespaces import ARTICLE_GRAPH, ONTOLOGY_GRAPH
from tests.conftest import Server

IJKG = rdflib.Namespace("https://w3id.org/ijkg/ontology#")
JAPAN = rdflib.URIRef("https://w3id.org/ijkg/id/state/japan")
PILLARS = """PREFIX ijkg: <https://w3id.org/ijkg/ontology#>
SELECT DISTINCT ?pillar WHERE { ?pillar a ijkg:Pillar } ORDER BY ?pillar"""
CONSTRUCT = f"CONSTRUCT {{ <{JAPAN}> ?p ?o }} WHERE {{ <{JAPAN}> ?p ?o }}"


def reference_pillars(server: Server) -> list[str]:
    with server.client() as client:
        answer = client.get("/sparql", params={"query": PILLARS}).json()
    return [b["pillar"]["value"] for b in answer["results"]["bindings"]]


def reference_graph(server: Server) -> rdflib.Graph:
    with server.client() as client:
        answer = client.get(
            "/sparql", params={"query": CONSTRUCT}, headers={"Accept": "application/n-triples"}
        )
    return rdflib.Graph().parse(data=answer.text, format="nt")


# --- SPARQLWrapper -------------------------------------------------------------------------------


def wrapper(server: Server, query: str, fmt: str) -> SPARQLWrapper:
    sparql = SPARQLWrapper(server.base_url + "/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    return sparql


def test_sparqlwrapper_select_as_json_xml_csv_and_tsv(server: Server) -> None:
    expected = reference_pillars(server)
    as_json = wrapper(server, PILLARS, JSON).queryAndConvert()
    assert isinstance(as_json, dict)
    assert [b["pillar"]["value"] for b in as_json["results"]["bindings"]] == expected
    as_xml = wrapper(server, PILLARS, XML).queryAndConvert()
    assert isinstance(as_xml, Document)
    uris = [node.firstChild.data for node in as_xml.getElementsByTagName("uri")]
    assert uris == expected
    as_csv = wrapper(server, PILLARS, CSV).queryAndConvert()
    assert isinstance(as_csv, bytes)
    table = list(csv.reader(io.StringIO(as_csv.decode())))
    assert table[0] == ["pillar"] and [row[0] for row in table[1:]] == expected
    as_tsv = wrapper(server, PILLARS, TSV).queryAndConvert()
    assert isinstance(as_tsv, bytes)
    assert [line.strip("<>") for line in as_tsv.decode().split("\n")[1:] if line] == expected


def test_sparqlwrapper_post_ask_and_dataset(server: Server) -> None:
    sparql = wrapper(server, f"ASK {{ <{JAPAN}> ?p ?o }}", JSON)
    sparql.setMethod(POST)
    assert sparql.queryAndConvert() == {"head": {}, "boolean": True}
    narrowed = wrapper(server, f"ASK {{ <{JAPAN}> a ?type }}", JSON)
    narrowed.addDefaultGraph(ONTOLOGY_GRAPH)  # the ontology does not describe Japan
    assert narrowed.queryAndConvert()["boolean"] is False


def test_sparqlwrapper_construct_as_turtle_and_json_ld(server: Server) -> None:
    expected = reference_graph(server)
    assert len(expected) > 3
    turtle = wrapper(server, CONSTRUCT, TURTLE).query()
    assert turtle.response.headers["Content-Type"].startswith("text/turtle")
    as_turtle = rdflib.Graph().parse(data=turtle.convert(), format="turtle")
    assert isomorphic(as_turtle, expected)
    json_ld = wrapper(server, CONSTRUCT, JSONLD).query()
    assert json_ld.response.headers["Content-Type"].startswith("application/ld+json")
    document = json.loads(json_ld.response.read())
    subjects = {node["@id"] for node in document}
    assert str(JAPAN) in subjects
    as_xml = wrapper(server, CONSTRUCT, XML).query()  # RDF/XML for a CONSTRUCT
    assert as_xml.response.headers["Content-Type"].startswith("application/rdf+xml")
    assert isomorphic(rdflib.Graph().parse(data=as_xml.response.read(), format="xml"), expected)


# --- rdflib's SPARQLStore ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST_FORM"])
def test_rdflib_sparqlstore_queries_with_its_prefix_block(server: Server, method: str) -> None:
    store = SPARQLStore(server.base_url + "/sparql", method=method, returnFormat="xml")
    graph = rdflib.Graph(store)
    # rdflib sends the Accept header of SPARQL XML and puts its whole prefix block in front.
    rows = list(graph.query(PILLARS, initNs={"ijkg": IJKG}))
    assert [str(r[0]) for r in rows] == reference_pillars(server)
    assert len(list(graph.triples((JAPAN, None, None)))) == len(reference_graph(server))
    assert (JAPAN, rdflib.RDF.type, None) in graph


def test_rdflib_sparqlstore_narrows_to_a_named_graph(server: Server) -> None:
    store = SPARQLStore(server.base_url + "/sparql", returnFormat="xml")
    # A graph with an identifier: rdflib sends default-graph-uri for it.
    article = rdflib.Graph(store, identifier=rdflib.URIRef(ARTICLE_GRAPH))
    with server.client() as client:
        counted = client.get(
            "/sparql",
            params={
                "query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ARTICLE_GRAPH}> {{ ?s ?p ?o }} }}"
            },
        ).json()["results"]["bindings"][0]["n"]["value"]
    assert len(article) == int(counted)
    ontology = rdflib.Graph(store, identifier=rdflib.URIRef(ONTOLOGY_GRAPH))
    assert (IJKG.Pillar, rdflib.RDF.type, rdflib.OWL.Class) in ontology
    assert (IJKG.Pillar, rdflib.RDF.type, rdflib.OWL.Class) not in article


# --- plain httpx ---------------------------------------------------------------------------------

URL_LIMIT = 2000  # what browsers and proxies reliably carry


def sparql(client: httpx.Client, query: str, accept: str) -> httpx.Response:
    """GET while the query fits in a URL, POST as a form once it does not."""
    if len(urlencode({"query": query})) <= URL_LIMIT:
        return client.get("/sparql", params={"query": query}, headers={"Accept": accept})
    return client.post(
        "/sparql",
        content=urlencode({"query": query}),
        headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"},
    )


def test_httpx_switches_to_post_for_long_queries(server: Server) -> None:
    expected = reference_pillars(server)
    values = " ".join(f"<https://w3id.org/ijkg/id/pillar/{p.rsplit('/', 1)[-1]}>" for p in expected)
    padding = " ".join(f"<https://example.org/not-a-pillar/{i}>" for i in range(400))
    long_query = (
        f"SELECT ?pillar WHERE {{ VALUES ?pillar {{ {values} {padding} }} "
        "?pillar a <https://w3id.org/ijkg/ontology#Pillar> } ORDER BY ?pillar"
    )
    assert len(long_query) > 5 * URL_LIMIT
    with server.client() as client:
        short = sparql(client, PILLARS, "application/sparql-results+json")
        long = sparql(client, long_query, "application/sparql-results+json")
    assert short.request.method == "GET" and long.request.method == "POST"
    for answer in (short, long):
        assert [b["pillar"]["value"] for b in answer.json()["results"]["bindings"]] == expected


# --- curl ----------------------------------------------------------------------------------------


def curl(*args: str, stdin: bytes | None = None) -> str:
    path = shutil.which("curl")
    if path is None:
        pytest.skip("curl is not installed")
    done = subprocess.run(
        [path, "--silent", "--show-error", "--fail-with-body", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    return done.stdout.decode()


def test_curl_get_post_and_compressed(server: Server) -> None:
    expected = reference_pillars(server)
    as_csv = curl(
        "-G",
        server.base_url + "/sparql",
        "-H",
        "Accept: text/csv",
        "--data-urlencode",
        f"query={PILLARS}",
    )
    assert as_csv.split()[1:] == expected
    posted = curl(
        "-X", "POST", server.base_url + "/sparql",
        "-H", "Content-Type: application/sparql-query",
        "-H", "Accept: application/sparql-results+json",
        "--data-binary", "@-",
        stdin=PILLARS.encode(),
    )  # fmt: skip
    assert [b["pillar"]["value"] for b in json.loads(posted)["results"]["bindings"]] == expected
    compressed = curl(
        "--compressed", "-G", server.base_url + "/sparql", "--data-urlencode", "query=CONSTRUCT WHERE { ?s ?p ?o } LIMIT 300",
        "-H", "Accept: application/n-triples",
    )  # fmt: skip
    assert len(rdflib.Graph().parse(data=compressed, format="nt")) == 300
    description = curl(server.base_url + "/sparql")
    assert "sd:Service" in description
