"""Every Turtle the service writes reads as a person would write it: prefixed names only where
the local name needs no escape (``state:japan``, never ``id:state\\/japan``), each subject written
once with its predicates grouped, only the prefixes it uses declared, and the same triples as the
N-Triples of the same request."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from tests.conftest import Service

JAPAN = "https://w3id.org/ijkg/id/state/japan"
#: (path, parameters) of each kind of Turtle answer: DESCRIBE, CONSTRUCT, the service description,
#: graph store (default and a named graph), an entity, the ontology and the shapes.
TURTLE_ANSWERS = [
    ("/sparql", {"query": f"DESCRIBE <{JAPAN}>"}),
    (
        "/sparql",
        {
            "query": "PREFIX ijkg: <https://w3id.org/ijkg/ontology#> "
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s a ijkg:Pillar ; ?p ?o }"
        },
    ),
    ("/sparql", {}),  # the service description
    ("/store", {"default": ""}),
    ("/store", {"graph": "https://w3id.org/ijkg/graph/india-japan-new-chapter"}),
    ("/id/state/japan", {}),
    ("/ontology", {}),
    ("/shapes", {}),
]
#: String literals and IRIs, left out before prefixed names are looked at.
QUOTED = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|<[^>\s]*>')
ESCAPED_NAME = re.compile(r"(?<![\w.-])[A-Za-z][\w.-]*:\S*\\")


def statements_heads(text: str) -> list[str]:
    """The first token of each top-level statement (unindented lines that are not prefixes)."""
    heads = []
    for line in text.splitlines():
        if not line.strip() or line[0].isspace() or line.startswith(("@prefix", "PREFIX", "#")):
            continue
        heads.append(line.split()[0])
    return heads


@pytest.mark.parametrize(("path", "params"), TURTLE_ANSWERS)
def test_turtle_reads_plainly(service: Service, path: str, params: dict[str, str]) -> None:
    with service.client() as client:
        turtle = client.get(path, params=params, headers={"Accept": "text/turtle"})
        ntriples = client.get(path, params=params, headers={"Accept": "application/n-triples"})
    assert turtle.status_code == 200, turtle.text
    assert turtle.headers["content-type"].startswith("text/turtle")
    text = turtle.text
    escaped = ESCAPED_NAME.search(QUOTED.sub('""', text))
    assert escaped is None, escaped
    heads = statements_heads(text)
    repeated = {h for h in heads if heads.count(h) > 1 and not h.startswith(("[", "("))}
    assert not repeated, f"subjects written more than once: {sorted(repeated)[:5]}"
    declared = re.findall(r"^@prefix (\w*):", text, flags=re.MULTILINE)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("@prefix"))
    unused = [name for name in declared if not re.search(rf"(?<![\w.-]){name}:", body)]
    assert not unused, f"prefixes declared but not used: {unused}"
    graph = Graph().parse(data=text, format="turtle")
    if ntriples.status_code == 200:
        assert isomorphic(graph, Graph().parse(data=ntriples.text, format="nt"))


@pytest.mark.parametrize(
    ("path", "params"), [("/sparql", {"query": f"DESCRIBE <{JAPAN}>"}), ("/id/state/japan", {})]
)
def test_entities_get_a_prefix_per_kind(
    service: Service, path: str, params: dict[str, str]
) -> None:
    with service.client() as client:
        answer = client.get(path, params=params, headers={"Accept": "text/turtle"})
    assert "@prefix state: <https://w3id.org/ijkg/id/state/> ." in answer.text
    assert re.search(r"^state:japan ", answer.text, flags=re.MULTILINE)
