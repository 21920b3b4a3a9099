"""Versions over HTTP, end to end: a query's answer at version N stays the same after later
merges and a revert, Memento (RFC 7089) headers and TimeMaps, entities as of a version,
``/versions`` and ``/version/N`` in each format, the dataset description, and the problems of
bad versions and of a version on a write. On the app in this process (fast tier) and on a real
``ijkg serve`` (full suite)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from anyio.from_thread import BlockingPortal

from tests.conftest import Service, start_in_process, start_server, stop_server

TOKEN = {"Authorization": "Bearer curator-secret"}
JAPAN = "https://w3id.org/ijkg/id/state/japan"
ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
QUERY = f'SELECT ?l WHERE {{ <{JAPAN}> <{ALT}> ?l FILTER(STRSTARTS(STR(?l), "v-")) }} ORDER BY ?l'
RESULTS_JSON = {"Accept": "application/sparql-results+json"}
#: RFC 7231's IMF-fixdate, the form of Memento-Datetime.
HTTP_DATE = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")


@dataclass
class History:
    """The service and the versions the module's writes made: ``before`` is the version before
    the first write; ``one`` holds "v-one", ``two`` "v-one" and "v-two", ``reverted`` only
    "v-two" again (the revert of "v-one")."""

    service: Service
    before: int
    one: int
    two: int
    reverted: int
    #: The answer to ``QUERY`` at ``one``, read as soon as ``one`` was made.
    first_answer: bytes


def update(client: httpx.Client, text: str) -> dict[str, object]:
    answer = client.post(
        "/update", content=text, headers={**TOKEN, "Content-Type": "application/sparql-update"}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def head(client: httpx.Client) -> int:
    version: int = client.get("/health/ready").json()["store"]["version"]
    return version


def parse(body: bytes, media_type: str) -> rdflib.Graph:
    """RDF in Turtle or JSON-LD as an rdflib graph (JSON-LD read by pyoxigraph: rdflib's
    reader warns of its own deprecations)."""
    syntax = {"text/turtle": ox.RdfFormat.TURTLE, "application/ld+json": ox.RdfFormat.JSON_LD}
    nt = ox.serialize(
        [q.triple for q in ox.parse(body, format=syntax[media_type])],
        format=ox.RdfFormat.N_TRIPLES,
    )
    return rdflib.Graph().parse(data=nt, format="nt")


def labels(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["l"]["value"] for row in answer.json()["results"]["bindings"]]


def running_service(kind: str, root: Path, portal: BlockingPortal) -> Iterator[Service]:
    """A service that takes a curator's writes: the app in this process or ``ijkg serve``."""
    if kind == "in-process":
        yield from start_in_process(portal, root / "store", write_tokens="curator=curator-secret")
        return
    server = start_server(
        root / "store",
        root / "server.log",
        {"IJKG_WRITE_TOKENS": "curator=curator-secret", "IJKG_FSYNC": "false"},
    )
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(
    scope="module", params=["in-process", pytest.param("server", marks=pytest.mark.slow)]
)
def history(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    portal: BlockingPortal,
) -> Iterator[History]:
    services = running_service(request.param, tmp_path_factory.mktemp("versions"), portal)
    service = next(services)
    try:
        with service.client() as client:
            before = head(client)
            first = update(client, f'INSERT DATA {{ <{JAPAN}> <{ALT}> "v-one"@en }}')
            one = head(client)
            first_answer = client.get(
                "/sparql", params={"query": QUERY, "version": str(one)}, headers=RESULTS_JSON
            ).content
            # A second apart: Accept-Datetime names a second, and picks the last version in it.
            time.sleep(1.1)
            update(client, f'INSERT DATA {{ <{JAPAN}> <{ALT}> "v-two"@en }}')
            two = head(client)
            time.sleep(1.1)
            reverted = client.post(f"/changes/{first['id']}/revert", headers=TOKEN)
            assert reverted.status_code == 200, reverted.text
            made = History(service, before, one, two, head(client), first_answer)
        yield made
    finally:
        services.close()


def test_an_answer_at_a_version_stays_the_same_after_merges_and_a_revert(
    history: History,
) -> None:
    with history.service.client() as client:
        now = client.get("/sparql", params={"query": QUERY}, headers=RESULTS_JSON)
        assert labels(now) == ["v-two"]
        assert now.headers["cache-control"] == "no-cache"
        expected = {
            history.before: [],
            history.one: ["v-one"],
            history.two: ["v-one", "v-two"],
            history.reverted: ["v-two"],
        }
        later = client.get(
            "/sparql", params={"query": QUERY, "version": str(history.one)}, headers=RESULTS_JSON
        )
        assert later.content == history.first_answer
        for version, wanted in expected.items():
            params = {"query": QUERY, "version": str(version)}
            got = client.get("/sparql", params=params, headers=RESULTS_JSON)
            assert labels(got) == wanted, version
            assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert f"-{version}-" in got.headers["etag"]
            # Every form of the protocol names the same answer.
            form = client.post(
                "/sparql", data=params, headers={**RESULTS_JSON, "Accept-Encoding": "identity"}
            )
            direct = client.post(
                "/sparql",
                params={"version": str(version)},
                content=QUERY,
                headers={**RESULTS_JSON, "Content-Type": "application/sparql-query"},
            )
            assert form.content == got.content == direct.content
            assert form.headers["etag"] == got.headers["etag"] == direct.headers["etag"]
            # A cache that kept it may use it for ever, and revalidates to 304.
            again = client.get(
                "/sparql",
                params=params,
                headers={**RESULTS_JSON, "If-None-Match": got.headers["etag"]},
            )
            assert again.status_code == 304
        # The old answer as CSV and a CONSTRUCT at a version as Turtle.
        csv = client.get(
            "/sparql",
            params={"query": QUERY, "version": str(history.one)},
            headers={"Accept": "text/csv"},
        )
        assert csv.text.split() == ["l", "v-one"]
        construct = client.get(
            "/sparql",
            params={
                "query": f"CONSTRUCT WHERE {{ <{JAPAN}> <{ALT}> ?l }}",
                "version": str(history.two),
            },
            headers={"Accept": "text/turtle"},
        )
        graph = rdflib.Graph().parse(data=construct.text, format="turtle")
        assert {str(o) for o in graph.objects()} >= {"v-one", "v-two"}


def test_memento_headers_as_rfc_7089_says(history: History) -> None:
    with history.service.client() as client:
        original = client.get("/sparql", params={"query": QUERY}, headers=RESULTS_JSON)
        assert "accept-datetime" in original.headers["vary"].lower()
        links = original.headers["link"]
        assert 'rel="original timegate"' in links and 'rel="timemap"' in links
        assert "memento-datetime" not in original.headers

        pinned = client.get(
            "/sparql", params={"query": QUERY, "version": str(history.one)}, headers=RESULTS_JSON
        )
        moment = pinned.headers["memento-datetime"]
        assert HTTP_DATE.match(moment), moment
        assert 'rel="memento"' in pinned.headers["link"]
        assert f"version={history.one}" in pinned.headers["link"]
        # Last-Modified rounds the commit's time up, Memento-Datetime down: the same second or so.
        modified = parsedate_to_datetime(pinned.headers["last-modified"])
        assert 0 <= (modified - parsedate_to_datetime(moment)).total_seconds() <= 1

        # Datetime negotiation on the original: the version in force at that moment.
        negotiated = client.get(
            "/sparql",
            params={"query": QUERY},
            headers={**RESULTS_JSON, "Accept-Datetime": moment},
        )
        assert labels(negotiated) == ["v-one"]
        assert negotiated.headers["memento-datetime"] == moment
        assert negotiated.headers["content-location"].endswith(f"version={history.one}")
        assert "accept-datetime" in negotiated.headers["vary"].lower()
        later = parsedate_to_datetime(moment).timestamp() + 1.05
        between = client.get(
            "/sparql",
            params={"query": QUERY},
            headers={**RESULTS_JSON, "Accept-Datetime": format_datetime_gmt(later)},
        )
        assert labels(between) in (["v-one"], ["v-one", "v-two"])

        # Before the first version: 404 naming the range; a malformed date: 400.
        early = client.get(
            "/sparql",
            params={"query": QUERY},
            headers={**RESULTS_JSON, "Accept-Datetime": "Thu, 01 Jan 1970 00:00:00 GMT"},
        )
        assert early.status_code == 404
        problem = early.json()
        assert problem["head"] == history.reverted and "first" in problem
        assert "before the first version" in problem["detail"]
        bad = client.get(
            "/sparql",
            params={"query": QUERY},
            headers={**RESULTS_JSON, "Accept-Datetime": "yesterday"},
        )
        assert bad.status_code == 400 and "Accept-Datetime" in bad.json()["detail"]

        # The TimeMap lists one memento per version, with its datetime.
        timemap_url = re.search(r'<([^>]+)>; rel="timemap"', links)
        assert timemap_url is not None
        timemap = client.get(timemap_url.group(1))
        assert timemap.status_code == 200
        assert timemap.headers["content-type"].startswith("application/link-format")
        assert 'rel="original"' in timemap.text and 'rel="timegate"' in timemap.text
        for version in (history.one, history.two, history.reverted):
            assert f"version={version}>" in timemap.text
        assert timemap.text.count("memento") >= 3 and 'datetime="' in timemap.text


def format_datetime_gmt(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, UTC), usegmt=True)


def test_bad_versions_are_problems_that_name_the_range(history: History) -> None:
    with history.service.client() as client:
        for text in ("abc", "-1", "1.5", " 3"):
            bad = client.get("/sparql", params={"query": QUERY, "version": text})
            assert bad.status_code == 400, text
            assert bad.headers["content-type"] == "application/problem+json"
        missing = client.get(
            "/sparql", params={"query": QUERY, "version": str(history.reverted + 1000)}
        )
        assert missing.status_code == 404
        problem = missing.json()
        assert problem["head"] == history.reverted
        assert f"to {history.reverted}" in problem["detail"]
        twice = client.get("/sparql", params=[("query", QUERY), ("version", "1"), ("version", "2")])
        assert twice.status_code == 400


def test_a_write_refuses_a_version(history: History) -> None:
    with history.service.client() as client:
        version = head(client)
        for path, headers, content in (
            ("/update", {"Content-Type": "application/sparql-update"}, "INSERT DATA { }"),
            ("/store?default", {"Content-Type": "text/turtle"}, ""),
            ("/changes", {"Content-Type": "text/turtle"}, ""),
        ):
            refused = client.post(
                path + ("&" if "?" in path else "?") + f"version={history.one}",
                content=content,
                headers={**TOKEN, **headers},
            )
            assert refused.status_code == 400, (path, refused.text)
            assert "version" in refused.json()["detail"]
        dated = client.post(
            "/update",
            content=f'INSERT DATA {{ <{JAPAN}> <{ALT}> "v-never"@en }}',
            headers={
                **TOKEN,
                "Content-Type": "application/sparql-update",
                "Accept-Datetime": "Thu, 01 Jan 2026 00:00:00 GMT",
            },
        )
        assert dated.status_code == 400
        assert head(client) == version


def test_an_entity_as_of_a_version(history: History) -> None:
    with history.service.client() as client:
        path = "/id/state/japan"
        old = client.get(path, params={"version": str(history.one), "format": "turtle"})
        assert old.status_code == 200, old.text
        graph = rdflib.Graph().parse(data=old.text, format="turtle")
        names = {str(o) for o in graph.objects(rdflib.URIRef(JAPAN), rdflib.URIRef(ALT))}
        assert "v-one" in names and "v-two" not in names
        assert old.headers["cache-control"].endswith("immutable")
        assert HTTP_DATE.match(old.headers["memento-datetime"])
        assert 'rel="alternate"' in old.headers["link"] and 'rel="memento"' in old.headers["link"]
        current = client.get(path, params={"format": "turtle"})
        graph = rdflib.Graph().parse(data=current.text, format="turtle")
        names = {str(o) for o in graph.objects(rdflib.URIRef(JAPAN), rdflib.URIRef(ALT))}
        assert "v-two" in names and "v-one" not in names

        as_json = client.get(path, params={"version": str(history.one), "format": "json"})
        body = as_json.json()
        assert body["version"] == history.one
        assert body["current"].endswith(path)
        api = client.get(f"/api/entities/state/japan?version={history.one}")
        assert api.json()["version"] == history.one and api.json()["current"]
        page = client.get(
            path, params={"version": str(history.one)}, headers={"Accept": "text/html"}
        )
        assert f'As of <a href="/version/{history.one}">version {history.one}</a>' in page.text
        assert f'href="{path}" rel="latest-version"' in page.text
        negotiated = client.get(
            path,
            params={"format": "json"},
            headers={"Accept-Datetime": old.headers["memento-datetime"]},
        )
        assert negotiated.json()["version"] == history.one
        before = client.get(path, params={"version": "999999", "format": "json"})
        assert before.status_code == 404 and "head" in before.json()


def test_versions_as_data(history: History) -> None:
    with history.service.client() as client:
        listed = client.get("/versions", params={"after": str(history.before)})
        assert listed.status_code == 200
        data = listed.json()
        assert data["head"] == history.reverted
        by_number = {v["version"]: v for v in data["versions"]}
        assert set(by_number) == {history.one, history.two, history.reverted}
        one = by_number[history.one]
        assert one["who"] == "curator" and one["added"] >= 1
        assert one["quads"] is not None and one["time"]
        assert one["iri"] == f"https://w3id.org/ijkg/version/{history.one}"
        assert one["dump"].endswith(f"/version/{history.one}/dump")
        assert one["patch"].endswith(f"/version/{history.one}/patch")
        reverted = by_number[history.reverted]
        assert reverted["removed"] >= 1

        paged = client.get("/versions", params={"after": str(history.before), "limit": "1"})
        assert [v["version"] for v in paged.json()["versions"]] == [history.one]
        assert paged.json()["next"].endswith(f"after={history.one}&limit=1")
        assert client.get("/versions", params={"limit": "0"}).status_code == 400

        page = client.get(
            "/versions", params={"after": str(history.before)}, headers={"Accept": "text/html"}
        )
        assert page.headers["content-type"].startswith("text/html")
        assert f'href="/version/{history.two}"' in page.text
        for media in ("text/turtle", "application/ld+json"):
            rdf = client.get(
                "/versions", params={"after": str(history.before)}, headers={"Accept": media}
            )
            assert rdf.headers["content-type"].startswith(media)
            graph = parse(rdf.content, media)
            node = rdflib.URIRef(f"https://w3id.org/ijkg/version/{history.two}")
            assert (node, rdflib.URIRef("http://purl.org/dc/terms/isVersionOf"), None) in graph
            assert (node, rdflib.URIRef("http://www.w3.org/ns/prov#generatedAtTime"), None) in graph

        single = client.get(f"/version/{history.two}")
        body = single.json()
        assert body["version"] == history.two and body["head"] == history.reverted
        assert f"version {history.two}" in body["citation"]
        assert body["citation"].endswith(f"https://w3id.org/ijkg/version/{history.two}")
        assert re.search(r"\(\d{4}-\d{2}-\d{2}\)", body["citation"])
        html = client.get(f"/version/{history.two}", headers={"Accept": "text/html"})
        assert body["citation"] in html.text.replace("&#39;", "'")
        turtle = client.get(f"/version/{history.two}", params={"format": "turtle"})
        graph = rdflib.Graph().parse(data=turtle.text, format="turtle")
        citation = graph.value(
            rdflib.URIRef(f"https://w3id.org/ijkg/version/{history.two}"),
            rdflib.URIRef("http://purl.org/dc/terms/bibliographicCitation"),
        )
        assert str(citation) == body["citation"]
        assert client.get("/version/x").status_code == 400
        gone = client.get(f"/version/{history.reverted + 5}")
        assert gone.status_code == 404 and gone.json()["head"] == history.reverted


def test_the_dataset_description(history: History) -> None:
    with history.service.client() as client:
        void = client.get("/.well-known/void")
        assert void.status_code == 200
        assert void.headers["content-type"].startswith("text/turtle")
        graph = rdflib.Graph().parse(data=void.text, format="turtle")
        dataset = rdflib.URIRef("https://w3id.org/ijkg/dataset")
        endpoint = graph.value(dataset, rdflib.URIRef("http://rdfs.org/ns/void#sparqlEndpoint"))
        assert str(endpoint) == f"{history.service.base_url}/sparql"
        dump = graph.value(dataset, rdflib.URIRef("http://rdfs.org/ns/void#dataDump"))
        assert str(dump).endswith(f"/version/{history.reverted}/dump")
        subsets = list(graph.objects(dataset, rdflib.URIRef("http://rdfs.org/ns/void#subset")))
        assert rdflib.URIRef("https://w3id.org/ijkg/graph/india-japan-new-chapter") in subsets
        for subset in subsets:
            assert graph.value(subset, rdflib.URIRef("http://rdfs.org/ns/void#triples"))
        licence = rdflib.URIRef("http://purl.org/dc/terms/license")
        assert (None, licence, rdflib.URIRef("https://spdx.org/licenses/MIT")) in graph
        assert list(graph.objects(dataset, rdflib.URIRef("http://purl.org/dc/terms/source")))
        jsonld = client.get("/.well-known/void", headers={"Accept": "application/ld+json"})
        assert len(parse(jsonld.content, "application/ld+json")) == len(graph)
        page = client.get("/.well-known/void", headers={"Accept": "text/html"})
        assert page.headers["content-type"].startswith("text/html")
        assert json.dumps("void:sparqlEndpoint")[1:-1] in page.text


@pytest.mark.slow
# The suite's external store lives in memory and stops with its service; an external store and
# its service restarting on disk: tests/graph/test_version_replica.py.
@pytest.mark.embedded
def test_an_answer_at_a_version_survives_a_restart(
    tmp_path_factory: pytest.TempPathFactory, portal: BlockingPortal
) -> None:
    root = tmp_path_factory.mktemp("restart")
    services = running_service("server", root, portal)
    service = next(services)
    with service.client() as client:
        update(client, f'INSERT DATA {{ <{JAPAN}> <{ALT}> "v-kept"@en }}')
        version = head(client)
        params = {"query": QUERY, "version": str(version)}
        answer = client.get("/sparql", params=params, headers=RESULTS_JSON)
        update(client, f'DELETE DATA {{ <{JAPAN}> <{ALT}> "v-kept"@en }}')
    services.close()
    services = running_service("server", root, portal)
    service = next(services)
    try:
        with service.client() as client:
            assert head(client) == version + 1
            again = client.get("/sparql", params=params, headers=RESULTS_JSON)
            assert again.content == answer.content and labels(again) == ["v-kept"]
            assert again.headers["etag"] == answer.headers["etag"]
            assert again.headers["memento-datetime"] == answer.headers["memento-datetime"]
            assert (
                labels(client.get("/sparql", params={"query": QUERY}, headers=RESULTS_JSON)) == []
            )
    finally:
        services.close()
