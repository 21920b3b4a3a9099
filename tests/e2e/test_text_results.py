"""``Accept: text/plain`` on /sparql: a table for people for SELECT (as Jena's text output),
``true``/``false`` for ASK, N-Triples for CONSTRUCT and DESCRIBE."""

from __future__ import annotations

import pytest
from rdflib import Graph

from tests.conftest import Service

PILLARS = (
    "PREFIX ijkg: <https://w3id.org/ijkg/ontology#> PREFIX skos: "
    "<http://www.w3.org/2004/02/skos/core#> SELECT ?pillar ?label WHERE { ?pillar a ijkg:Pillar ; "
    'skos:prefLabel ?label FILTER(lang(?label) = "en") } ORDER BY ?pillar'
)


def ask(service: Service, query: str, **params: str) -> tuple[int, str, str]:
    with service.client() as client:
        answer = client.get(
            "/sparql",
            params={"query": query, **params},
            headers={} if params else {"Accept": "text/plain"},
        )
    return answer.status_code, answer.headers.get("content-type", ""), answer.text


@pytest.mark.parametrize("params", [{}, {"format": "text"}])
def test_select_as_a_text_table(service: Service, params: dict[str, str]) -> None:
    status, media_type, text = ask(service, PILLARS, **params)
    assert status == 200, text
    assert media_type == "text/plain; charset=utf-8"
    lines = text.splitlines()
    assert lines[0] == "-" * len(lines[0]) and lines[2] == "=" * len(lines[0])
    assert lines[-1] == lines[0]
    assert [c.strip() for c in lines[1].strip("|").split("|")] == ["pillar", "label"]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[3:-1]]
    assert ["pillar:health", '"Investing in Next Gen Health"@en'] in rows, text
    assert all(len(line) == len(lines[0]) for line in lines)


def test_ask_as_text(service: Service) -> None:
    assert ask(service, "ASK { ?s ?p ?o }")[::2] == (200, "true\n")
    assert ask(service, "ASK { <urn:x:none> ?p ?o }")[::2] == (200, "false\n")


def test_construct_as_text_is_ntriples(service: Service) -> None:
    status, media_type, text = ask(
        service, "CONSTRUCT WHERE { <https://w3id.org/ijkg/id/state/japan> ?p ?o }"
    )
    assert status == 200
    assert media_type.startswith("application/n-triples")
    assert len(Graph().parse(data=text, format="nt")) > 3


def test_wildcards_still_get_the_standard_formats(service: Service) -> None:
    with service.client() as client:
        anything = client.get("/sparql", params={"query": PILLARS}, headers={"Accept": "*/*"})
        text = client.get("/sparql", params={"query": PILLARS}, headers={"Accept": "text/*"})
    assert anything.headers["content-type"].startswith("application/sparql-results+json")
    assert text.headers["content-type"].startswith("text/csv")
