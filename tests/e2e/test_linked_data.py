"""Linked data over HTTP against a real server (and, but for the every-entity checks, on the app
in this process too, for the fast tier): every entity of the bundled graph in every format,
JSON-LD against Turtle, the links of every page, problems, caching, the OpenAPI document."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic, to_isomorphic

from ijkg.graph.core.terms import quads_to_graph
from tests.conftest import ENTITY_EVERY, Server, Service

# Every entity in every format is some thousands of requests: more than the default time limit
# on a busy two-core machine.
pytestmark = pytest.mark.timeout(1200)

ID = "https://w3id.org/ijkg/id/"
FORMATS = {
    "json": "application/json",
    "jsonld": "application/ld+json",
    "html": "text/html",
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "rdfxml": "application/rdf+xml",
}
RDFLIB = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml"}


def sparql_column(server: Service, query: str) -> list[str]:
    with server.client() as client:
        answer = client.get(
            "/sparql",
            params={"query": query},
            headers={"Accept": "application/sparql-results+json"},
        )
    answer.raise_for_status()
    rows = answer.json()["results"]["bindings"]
    return [next(iter(row.values()))["value"] for row in rows]


@pytest.fixture(scope="module")
def entity_iris(server: Server) -> list[str]:
    """Every entity IRI of the bundled graph, as subject or object."""
    iris = sparql_column(
        server,
        f"""SELECT DISTINCT ?e WHERE {{ {{ ?e ?p ?o }} UNION {{ ?s ?p ?e }}
             FILTER(isIRI(?e) && STRSTARTS(STR(?e), "{ID}")) }} ORDER BY ?e""",
    )
    assert len(iris) > 800, "the bundled graph has hundreds of entities"
    named = {ID + "agreement/india-japan-joint-vision-for-the-next-decade"}  # tests look at it
    return [iri for i, iri in enumerate(iris) if i % ENTITY_EVERY == 0 or iri in named]


def path_of(iri: str) -> str:
    assert iri.startswith(ID)
    return "/id/" + iri[len(ID) :]


def fetch_all(server: Service, urls: list[str], **kwargs: Any) -> dict[str, httpx.Response]:
    """GET every URL (four at a time, over kept-alive connections); the responses by URL."""
    local = threading.local()
    clients: list[httpx.Client] = []

    def get(url: str) -> tuple[str, httpx.Response]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = server.client()
            clients.append(client)
        return url, client.get(url, **kwargs)

    try:
        with ThreadPoolExecutor(4) as pool:
            return dict(pool.map(get, urls))
    finally:
        for client in clients:
            client.close()


@pytest.fixture(scope="module")
def representations(server: Server, entity_iris: list[str]) -> dict[str, dict[str, httpx.Response]]:
    """Every entity in every format: {format: {iri: response}}."""
    # Formats of one entity one after another, so the server reads each entity once.
    urls = [f"{path_of(iri)}?format={name}" for iri in entity_iris for name in FORMATS]
    fetched = fetch_all(server, urls)
    return {
        name: {iri: fetched[f"{path_of(iri)}?format={name}"] for iri in entity_iris}
        for name in FORMATS
    }


@pytest.fixture(scope="module")
def context_object(server: Server) -> dict[str, Any]:
    with server.client() as client:
        answer = client.get("/context.jsonld")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/ld+json"
    document = answer.json()
    assert set(document) == {"@context"}
    return dict(document["@context"])


# --- every entity, every format ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_entity_answers_in_every_format(
    name: str, representations: dict[str, dict[str, httpx.Response]]
) -> None:
    answers = representations[name]
    assert answers
    for iri, answer in answers.items():
        assert answer.status_code == 200, (iri, answer.text[:300])
        assert answer.headers["content-type"].split(";")[0] == FORMATS[name], iri
        assert "Accept" in answer.headers["vary"].split(", ")
        assert answer.headers["etag"].startswith('W/"')
        if name == "json":
            body = answer.json()
            assert body["id"] == iri
            assert body["kind"] == iri[len(ID) :].split("/")[0]
            assert isinstance(body["label"], str) and body["label"]
        elif name == "html":
            assert f"<code>{iri}</code>" in answer.text
        elif name in RDFLIB:
            graph = Graph().parse(data=answer.text, format=RDFLIB[name])
            assert any(URIRef(iri) in (s, o) for s, _, o in graph), iri


def test_jsonld_and_turtle_describe_the_same_triples(
    representations: dict[str, dict[str, httpx.Response]],
    context_object: dict[str, Any],
    server: Server,
) -> None:
    checked = 0
    for iri, answer in representations["jsonld"].items():
        document = answer.json()
        # The document refers to the served context by its URL, never embeds or fetches another.
        assert document["@context"] == server.base_url + "/context.jsonld"
        document["@context"] = context_object
        # Read back by another JSON-LD processor than the one that wrote it (Oxigraph's).
        from_jsonld = quads_to_graph(
            ox.parse(input=json.dumps(document).encode(), format=ox.RdfFormat.JSON_LD)
        )
        from_turtle = Graph().parse(data=representations["turtle"][iri].text, format="turtle")
        from_nt = Graph().parse(data=representations["ntriples"][iri].text, format="nt")
        assert len(from_turtle) > 0
        assert isomorphic(from_jsonld, from_turtle), iri
        assert to_isomorphic(from_turtle) == to_isomorphic(from_nt), iri
        checked += 1
    assert checked > 800 // ENTITY_EVERY


def test_jsonld_uses_the_context_terms(
    representations: dict[str, dict[str, httpx.Response]],
) -> None:
    answer = representations["jsonld"][
        ID + "agreement/india-japan-joint-vision-for-the-next-decade"
    ]
    nodes = answer.json()["@graph"]
    (agreement,) = [
        n for n in nodes if n["@id"].endswith("india-japan-joint-vision-for-the-next-decade")
    ]
    assert "coversPillar" in agreement and len(agreement["coversPillar"]) == 8
    assert "party" in agreement
    assert not any(k.startswith("https://w3id.org/ijkg/ontology#") for k in agreement)


# --- plain JSON ------------------------------------------------------------------------------------


def test_a_target_has_typed_values_and_money(service: Service) -> None:
    with service.client() as client:
        body = client.get(
            "/id/target/jpy-10-trillion-private-investment", headers={"Accept": "application/json"}
        ).json()
    (amount,) = body["properties"]["amount"]
    assert amount["quantity"] == {
        "value": 10_000_000_000_000,
        "currency": "JPY",
        "approximate": False,
    }
    assert amount["type"] == "MonetaryAmount"
    assert {r["id"] for r in body["properties"]["recipient"]} == {ID + "state/india"}
    assert ID + "agreement/india-japan-joint-vision-for-the-next-decade" in {
        a["id"] for a in body["incoming"]["hasTarget"]
    }
    with service.client() as client:
        period = client.get("/id/period/next-decade-jpy-10-trillion-target?format=json").json()
        approx = client.get("/id/amount/usd-68-billion-approximate-equivalent?format=json").json()
    assert period["properties"]["hasXSDDuration"] == ["P10Y"]
    assert approx["quantity"] == {"value": 68_000_000_000, "currency": "USD", "approximate": True}
    assert approx["properties"]["approximate"] == [True]


def test_a_pillar_lists_the_agreements_that_cover_it(service: Service) -> None:
    with service.client() as client:
        body = client.get("/id/pillar/health", headers={"Accept": "application/json"}).json()
    covering = {a["id"]: a for a in body["incoming"]["coversPillar"]}
    joint_vision = covering[ID + "agreement/india-japan-joint-vision-for-the-next-decade"]
    assert joint_vision["type"] in ("VisionDocument", "BilateralAgreement")
    assert joint_vision["label"] == "India–Japan Joint Vision for the Next Decade"
    assert body["properties"]["notation"] == ["6"]


def test_dates_are_iso_strings_and_counts_numbers(service: Service) -> None:
    dated = sparql_column(
        service,
        f"""SELECT ?e WHERE {{ ?e <https://w3id.org/ijkg/ontology#startDate> ?d
             FILTER(STRSTARTS(STR(?e), "{ID}")) }} ORDER BY ?e LIMIT 1""",
    )
    with service.client() as client:
        event = client.get(path_of(dated[0]) + "?format=json").json()
        collection = client.get("/id/collection/joint-vision-pillars?format=json").json()
    (start,) = event["properties"]["startDate"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", start)
    assert collection["properties"]["statedCount"] == [8]


def test_evidence_gives_the_source_and_the_exact_sentence(service: Service) -> None:
    with service.client() as client:
        body = client.get(
            "/id/pillar/health", params={"include": "evidence", "format": "json"}
        ).json()
    statements = body["statements"]
    covered = [
        s
        for s in statements
        if s["property"] == "coversPillar"
        and s["direction"] == "in"
        and s["value"]["id"] == ID + "agreement/india-japan-joint-vision-for-the-next-decade"
    ]
    assert covered and covered[0]["asserted"] is True
    article = [
        e
        for c in covered[0]["claims"]
        for e in c["evidence"]
        if e["source"] and e["source"]["id"] == ID + "source/india-japan-new-chapter"
    ]
    assert article, covered
    assert article[0]["sentence"] == "6. Health,"
    assert article[0]["segment"] == "S10"
    source_text = (
        __import__("importlib.resources").resources.files("ijkg.graph")
        / "sources"
        / "india-japan-new-chapter.txt"
    ).read_text(encoding="utf-8")
    assert article[0]["sentence"] in source_text
    # Without include=evidence, no statements.
    with service.client() as client:
        plain = client.get("/id/pillar/health?format=json").json()
    assert "statements" not in plain


def test_incoming_has_no_claim_bookkeeping_unless_included(service: Service) -> None:
    with service.client() as client:
        plain = client.get("/id/state/japan", params={"format": "json"}).json()
        full = client.get("/id/state/japan", params={"format": "json", "include": "claims"}).json()
        api = client.get("/api/entities/state/japan", params={"include": "claims,evidence"}).json()
        spec = client.get("/openapi.json").json()
    bookkeeping = ("claim", "evidence", "selector")
    assert not {"subject", "object", "about"} & set(plain["incoming"])
    assert not [i for v in plain["incoming"].values() for i in v if i.get("kind") in bookkeeping]
    assert plain["incomingClaimLinks"] > 20
    assert {"subject", "object"} <= set(full["incoming"]) and full["incomingClaimLinks"] == 0
    assert (
        sum(map(len, full["incoming"].values()))
        == sum(map(len, plain["incoming"].values())) + plain["incomingClaimLinks"]
    )
    assert api["incoming"] == full["incoming"] and api["statements"]
    # The parameter says so in OpenAPI.
    (include,) = [
        p for p in spec["paths"]["/id/{kind}/{slug}"]["get"]["parameters"] if p["name"] == "include"
    ]
    assert "`claims`" in include["description"] and "claims" in include["schema"]["examples"]


def test_disputed_claims_are_not_asserted(service: Service) -> None:
    disputed = sparql_column(
        service,
        """PREFIX ijkg: <https://w3id.org/ijkg/ontology#>
           PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
           SELECT ?s WHERE { ?c ijkg:curationStatus <https://w3id.org/ijkg/id/concept/status-disputed> ;
             rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o .
             FILTER NOT EXISTS { ?s ?p ?o } } LIMIT 1""",
    )
    assert disputed, "the context graph has a disputed claim whose triple is left out"
    with service.client() as client:
        body = client.get(
            path_of(disputed[0]), params={"include": "evidence", "format": "json"}
        ).json()
    assert any(s["asserted"] is False for s in body["statements"])


# --- problems, negotiation and caching --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/id/pillar/no-such-pillar",
        "/id/Pillar/health",
        "/id/pillar/health%3E%20%7D",
        "/api/entities/state/atlantis",
    ],
)
def test_unknown_entities_are_404_problems(service: Service, path: str) -> None:
    with service.client() as client:
        answer = client.get(path, headers={"Accept": "application/json"})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "https://w3id.org/ijkg/problems/not-found"
    assert problem["status"] == 404


@pytest.mark.parametrize(
    ("headers", "params"),
    [({"Accept": "image/png"}, {}), ({}, {"format": "pdf"}), ({"Accept": "text/csv"}, {})],
)
def test_nothing_acceptable_is_406_with_the_alternatives(
    service: Service, headers: dict[str, str], params: dict[str, str]
) -> None:
    with service.client() as client:
        answer = client.get("/id/state/japan", headers=headers, params=params)
    assert answer.status_code == 406
    problem = answer.json()
    assert problem["type"] == "https://w3id.org/ijkg/problems/not-acceptable"
    assert set(FORMATS.values()) <= set(problem["available"])


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("*/*", "application/json"),
        (None, "application/json"),
        ("text/turtle;q=0.9, application/ld+json", "application/ld+json"),
        ("application/rdf+xml, text/turtle;q=0.5", "application/rdf+xml"),
        ("application/n-triples", "application/n-triples"),
    ],
)
def test_content_negotiation(service: Service, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept else {}
    with service.client() as client:
        answer = client.get("/id/state/japan", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == expected
    links = answer.headers["link"]
    for name, media in FORMATS.items():
        assert f'</id/state/japan?format={name}>; rel="alternate"; type="{media}"' in links


def test_format_parameter_wins_over_accept(service: Service) -> None:
    with service.client() as client:
        answer = client.get("/id/state/japan?format=ttl", headers={"Accept": "text/html"})
    assert answer.headers["content-type"].startswith("text/turtle")
    assert "\nstate:japan " in answer.text


def test_conditional_requests(service: Service) -> None:
    with service.client() as client:
        first = client.get("/id/state/japan", headers={"Accept": "text/turtle"})
        etag = first.headers["etag"]
        again = client.get(
            "/id/state/japan", headers={"Accept": "text/turtle", "If-None-Match": etag}
        )
        other = client.get(
            "/id/state/japan", headers={"Accept": "application/json", "If-None-Match": etag}
        )
        # Last-Modified is never in the future: within the second the graph reached its version
        # it says the second before, and echoing it gets the whole answer (it may have changed
        # after). Past that second it is the time of the change, and echoing it gets 304.
        time.sleep(max(0.0, math.ceil(time.time()) - time.time() + 0.05))
        settled = client.get("/id/state/japan", headers={"Accept": "text/turtle"})
        dated = client.get(
            "/id/state/japan",
            headers={
                "Accept": "text/turtle",
                "If-Modified-Since": settled.headers["last-modified"],
            },
        )
        head = client.head("/id/state/japan", headers={"Accept": "text/turtle"})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and "Accept" in again.headers["vary"]
    assert other.status_code == 200, "another representation has another tag"
    assert other.headers["etag"] != etag
    assert dated.status_code == 304
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag


# --- the links of every page -----------------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag in ("a", "link") and values.get("href"):
            self.hrefs.append(values["href"] or "")
        if values.get("src"):
            self.srcs.append(values["src"] or "")


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def page_links(pages: dict[str, str]) -> Iterator[tuple[str, str]]:
    for url, html in pages.items():
        for href in parse(html).hrefs:
            yield url, href


def test_every_iri_in_the_html_resolves_within_the_service(
    server: Server, representations: dict[str, dict[str, httpx.Response]]
) -> None:
    pages = {path_of(iri): r.text for iri, r in representations["html"].items()}
    with server.client() as client:
        for extra in (
            "/",
            "/api/pillars",
            "/api/agreements",
            "/api/sectors",
            "/ontology",
            "/shapes",
        ):
            answer = client.get(extra, headers={"Accept": "text/html"})
            assert answer.status_code == 200, extra
            pages[extra] = answer.text
    local: set[str] = set()
    fragments: dict[str, set[str]] = {}
    for url, href in page_links(pages):
        assert not href.startswith("https://w3id.org/ijkg/"), (url, href)
        parts = urlsplit(urljoin(server.base_url + url, href))
        if parts.scheme == "data":
            continue
        if parts.netloc != urlsplit(server.base_url).netloc:
            assert parts.scheme in ("http", "https"), (url, href)  # a link out, never loaded
            continue
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        local.add(target)
        if parts.fragment:
            fragments.setdefault(parts.path, set()).add(parts.fragment)
    assert len(local) > 900 // ENTITY_EVERY
    fetched = fetch_all(server, sorted(local), headers={"Accept": "text/html"})
    broken = {u: r.status_code for u, r in fetched.items() if r.status_code != 200}
    assert not broken
    for path, wanted in fragments.items():
        if path not in ("/ontology", "/shapes"):
            continue
        ids = parse(fetched[path].text if path in fetched else pages[path]).ids
        assert wanted <= ids, (path, sorted(wanted - ids)[:10])
    # Pages load nothing from elsewhere.
    for html in pages.values():
        for src in parse(html).srcs:
            assert not urlsplit(src).netloc, src


def test_the_entity_page_shows_evidence_picture_and_formats(service: Service) -> None:
    with service.client() as client:
        answer = client.get(
            "/id/agreement/india-japan-joint-vision-for-the-next-decade",
            headers={"Accept": "text/html"},
        )
    html = answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<h1>India–Japan Joint Vision for the Next Decade</h1>" in html
    assert "<svg" in html and 'class="ijkg-node"' in html
    # The sentence highlighted in its context, the surface words in bold.
    assert '<mark class="sentence">' in html
    assert '<strong class="surface">Next Generation Economic Partnership</strong>' in html
    assert "confidence:" in html
    for name in ("json", "jsonld", "turtle", "ntriples", "rdfxml"):
        assert f"?format={name}" in html


# --- lists, search and schemas over HTTP -----------------------------------------------------------


def test_paging_over_http_follows_link_headers(service: Service) -> None:
    seen: list[str] = []
    url: str | None = "/api/claims?limit=37"
    pages = 0
    with service.client() as client:
        while url:
            answer = client.get(url)
            assert answer.status_code == 200
            body = answer.json()
            seen += [item["id"] for item in body["items"]]
            link = answer.headers.get("link", "")
            match = re.search(r'<([^>]+)>; rel="next"', link)
            url = match.group(1) if match else None
            assert url == body["next"]
            pages += 1
    total = sparql_column(
        service,
        "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a <https://w3id.org/ijkg/ontology#Claim> }",
    )
    assert len(seen) == len(set(seen)) == int(total[0])
    assert pages == -(-len(seen) // 37)


def test_list_problems(service: Service) -> None:
    with service.client() as client:
        unknown = client.get("/api/unicorns")
        bad_filter = client.get("/api/agreements?colour=red")
        bad_ref = client.get("/api/agreements", params={"pillar": "pillar/x> } ; DROP ALL #"})
        bad_cursor = client.get("/api/agreements?after=not-a-cursor")
        bad_sort = client.get("/api/agreements?sort=colour")
    assert unknown.status_code == 404
    for answer in (bad_filter, bad_ref, bad_cursor, bad_sort):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"


def test_search_over_http(service: Service) -> None:
    with service.client() as client:
        answer = client.get("/api/search", params={"q": "AYURVÉDA"})
        page = client.get("/api/search", params={"q": "japan"}, headers={"Accept": "text/html"})
        empty = client.get("/api/search", params={"q": "  "})
    assert answer.status_code == 200
    first = answer.json()["results"][0]
    assert first["id"] == ID + "sector/ayurveda" and first["match"] == "exact"
    assert page.headers["content-type"].startswith("text/html")
    assert '<a href="/id/state/japan">Japan</a>' in page.text
    assert empty.status_code == 400


def test_openapi_documents_every_route_with_examples(service: Service) -> None:
    with service.client() as client:
        spec = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = spec["paths"]
    mine = {
        "/id/{kind}/{slug}": True,
        "/context.jsonld": False,
        "/api": False,
        "/api/{name}": True,
        "/api/search": True,
        "/api/entities/{kind}/{slug}": True,
        "/api/schemas": False,
        "/api/schemas/{kind}": True,
        "/": False,
        "/ontology": True,
        "/shapes": True,
    }
    for path, needs_example in mine.items():
        assert path in paths, path
        for method, operation in paths[path].items():
            assert operation.get("summary"), (path, method)
            assert operation.get("description"), (path, method)
            text = operation["description"] + json.dumps(operation.get("responses", {}))
            if needs_example:
                assert "Example" in text or "example" in text, (path, method)
    schemas = spec["components"]["schemas"]
    assert {"EntityJson", "LinkedEntity", "PageJson", "SearchJson", "Quantity"} <= set(schemas)


def test_the_readme_example_is_what_the_service_answers(service: Service) -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Plain JSON** (`GET ", 1)[1]
    path = section.split("`", 1)[0]
    example = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    with service.client() as client:
        real = client.get(path, headers={"Accept": "application/json"}).json()
    for key in ("id", "kind", "type", "label"):
        assert real[key] == example[key], key
    for group in ("properties", "incoming"):
        for name, values in example[group].items():
            for value in values:
                assert value in real[group][name], (group, name, value)
