"""The query mix: what researchers and apps ask, with parameters drawn from the synthetic graph.

Each query has variants (different entities, words, years) that the load generator sends in
rotation, so no system answers the same request over and over. SPARQL queries go to every SPARQL
system; ``entity-json`` and ``list-api`` only to ijkg (its JSON entity and list endpoints, when
the service has them: they are found in its OpenAPI document); ``hello`` only to the framework
ceiling. ``mix`` interleaves every SPARQL query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.load import Request
from bench.synthetic import CUR, Manifest
from bench.systems import GRAPH, SELECT, System

PREFIXES = """PREFIX ijkg: <https://w3id.org/ijkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""

#: Which queries the targets speak of (see README): list, join and aggregate vs point lookups.
TARGET_GROUPS = {
    "point": "point",
    "list-early": "list",
    "list-deep": "list",
    "join3": "join",
    "aggregate": "aggregate",
}


@dataclass
class Query:
    name: str
    description: str
    kind: str  # sparql | entity-json | list-api | hello
    sparql: list[str] = field(default_factory=list)
    accept: str = SELECT
    paths: list[str] = field(default_factory=list)  # for non-SPARQL kinds

    def requests(self, system: System) -> list[Request]:
        if self.kind == "sparql":
            return [Request(system.query_path(q), self.accept) for q in self.sparql]
        return [Request(p, "application/json") for p in self.paths]


def sparql_queries(m: Manifest) -> list[Query]:
    agreements = m.agreements
    n_agreements = m.counts.get("agreement", len(agreements))
    deep = max(0, n_agreements - 20)
    first_year = int(m.first_date[:4]) if m.first_date else 2000
    last_year = int(m.last_date[:4]) if m.last_date else 2024
    years = list(range(first_year, last_year + 1))
    list_q = """SELECT ?agreement ?label WHERE {{
  ?agreement a ijkg:BilateralAgreement ; rdfs:label ?label }}
ORDER BY ?agreement LIMIT 20 OFFSET {offset}"""
    return [
        Query(
            "point",
            "every triple of one agreement (an entity lookup)",
            "sparql",
            [f"SELECT ?p ?o WHERE {{ <{a}> ?p ?o }}" for a in agreements],
        ),
        Query(
            "list-early",
            "first pages of agreements by IRI (ORDER BY ... LIMIT 20 OFFSET 0..60)",
            "sparql",
            [PREFIXES + list_q.format(offset=o) for o in (0, 20, 40, 60)],
        ),
        Query(
            "list-deep",
            f"last pages of agreements by IRI (OFFSET {max(0, deep - 60)}..{deep})",
            "sparql",
            [PREFIXES + list_q.format(offset=max(0, deep - o)) for o in (0, 20, 40, 60)],
        ),
        Query(
            "join3",
            "one state's agreements, their targets and amounts, largest first",
            "sparql",
            [
                PREFIXES
                + f"""SELECT ?agreement ?target ?value WHERE {{
  ?agreement ijkg:party <{s}> ; ijkg:hasTarget ?target .
  ?target ijkg:amount ?amount . ?amount ijkg:numericValue ?value }}
ORDER BY DESC(?value) LIMIT 20"""
                for s in m.states
            ],
        ),
        Query(
            "aggregate",
            "agreements and money per pillar in one currency (GROUP BY)",
            "sparql",
            [
                PREFIXES
                + f"""SELECT ?pillar (COUNT(DISTINCT ?agreement) AS ?agreements)
  (SUM(?value) AS ?total) WHERE {{
  ?agreement ijkg:coversPillar ?pillar ; ijkg:hasTarget ?target .
  ?target ijkg:amount ?amount .
  ?amount ijkg:currency <{CUR}{currency}> ; ijkg:numericValue ?value }}
GROUP BY ?pillar ORDER BY ?pillar"""
                for currency in ("JPY", "USD", "INR")
            ],
        ),
        Query(
            "optional-filter",
            "agreements of one year over an amount, with the target they succeed if any",
            "sparql",
            [
                PREFIXES
                + f"""SELECT ?agreement ?date ?value ?previous WHERE {{
  ?agreement ijkg:startDate ?date ; ijkg:hasTarget ?target .
  ?target ijkg:amount ?amount . ?amount ijkg:numericValue ?value .
  OPTIONAL {{ ?target ijkg:succeeds ?previous }}
  FILTER(?date >= "{y}-01-01"^^xsd:date && ?date < "{y + 1}-01-01"^^xsd:date
         && ?value > 1000000000) }}
ORDER BY ?date LIMIT 50"""
                for y in years
            ],
        ),
        Query(
            "label-search",
            "labels containing a word, shortest first (ranked search)",
            "sparql",
            [
                PREFIXES
                + f"""SELECT ?entity ?label WHERE {{
  ?entity rdfs:label ?label FILTER(CONTAINS(LCASE(STR(?label)), "{word}")) }}
ORDER BY STRLEN(STR(?label)) ?entity LIMIT 20"""
                for word in m.words[:16]
            ],
        ),
        Query(
            "property-path",
            "every target a target succeeds, transitively (ijkg:succeeds+)",
            "sparql",
            [
                PREFIXES + f"SELECT ?earlier WHERE {{ <{t}> ijkg:succeeds+ ?earlier }}"
                for t in m.targets
            ],
        ),
        Query(
            "construct",
            "an agreement and its target as a graph (CONSTRUCT, N-Triples)",
            "sparql",
            [
                PREFIXES
                + f"""CONSTRUCT {{ ?a ?p ?o . ?t ?tp ?to }} WHERE {{
  VALUES ?a {{ <{a}> }} ?a ?p ?o . ?a ijkg:hasTarget ?t . ?t ?tp ?to }}"""
                for a in agreements
            ],
            accept=GRAPH,
        ),
    ]


def mix_query(queries: list[Query]) -> Query:
    """Every SPARQL query of the mix, interleaved (first variant of each, then the second ...)."""
    interleaved: list[tuple[str, str]] = []
    depth = max(len(q.sparql) for q in queries)
    for i in range(depth):
        for q in queries:
            if q.kind == "sparql" and i < len(q.sparql):
                interleaved.append((q.sparql[i], q.accept))
    mix = Query("mix", "all SPARQL queries above, interleaved", "sparql")
    mix.sparql = [s for s, _ in interleaved]
    mix_accepts = [a for _, a in interleaved]

    def requests(system: System) -> list[Request]:
        return [
            Request(system.query_path(s), a) for s, a in zip(mix.sparql, mix_accepts, strict=True)
        ]

    mix.requests = requests  # type: ignore[method-assign]
    return mix


def ijkg_queries(base: str, m: Manifest) -> tuple[list[Query], dict[str, Any]]:
    """The JSON entity and list endpoints of a running ijkg, if it has them."""
    found: dict[str, Any] = {}
    out: list[Query] = []
    entity_paths = ["/id/" + a.removeprefix("https://w3id.org/ijkg/id/") for a in m.agreements]
    try:
        probe = httpx.get(
            base + entity_paths[0], headers={"Accept": "application/json"}, timeout=30
        )
        ok = probe.status_code == 200 and probe.headers.get("content-type", "").startswith(
            "application/json"
        )
    except httpx.HTTPError:
        ok = False
    found["entity-json"] = "GET /id/{kind}/{slug} (Accept: application/json)" if ok else None
    if ok:
        out.append(
            Query(
                "entity-json",
                "an agreement as plain JSON (GET /id/...)",
                "entity-json",
                paths=entity_paths,
            )
        )
    list_path = _list_endpoint(base)
    found["list-api"] = list_path
    if list_path:
        out.append(
            Query(
                "list-api",
                f"first page of agreements (GET {list_path})",
                "list-api",
                paths=[list_path],
            )
        )
    try:
        search = httpx.get(base + "/api/search?q=harbour", timeout=30)
        has_search = search.status_code == 200
    except httpx.HTTPError:
        has_search = False
    found["search-api"] = "GET /api/search?q=" if has_search else None
    if has_search:
        out.append(
            Query(
                "search-api",
                "label search for a word (GET /api/search?q=)",
                "list-api",
                paths=[f"/api/search?q={word}" for word in m.words[:16]],
            )
        )
    return out, found


def _list_endpoint(base: str) -> str | None:
    """A list-by-kind route under /api/ in the service's OpenAPI document, if any."""
    import re

    try:
        spec = httpx.get(base + "/openapi.json", timeout=30).json()
    except (httpx.HTTPError, ValueError):
        return None
    for path, item in spec.get("paths", {}).items():
        if not path.startswith("/api/") or "get" not in item:
            continue
        if re.fullmatch(r"/api/\{[a-z_]+\}", path):
            candidates = [path.rsplit("/", 1)[0] + "/" + k for k in ("agreements", "agreement")]
        elif path.rstrip("/").endswith(("/agreements", "/agreement")):
            candidates = [path]
        else:
            continue
        for attempt in candidates:
            try:
                answer = httpx.get(
                    base + attempt, headers={"Accept": "application/json"}, timeout=30
                )
            except httpx.HTTPError:
                continue
            if answer.status_code == 200 and "json" in answer.headers.get("content-type", ""):
                return attempt
    return None


def walk_pages(base: str, first: str, *, max_pages: int = 20_000) -> list[float]:
    """Follow ``rel="next"`` links from ``first`` to the last page; seconds per page."""
    times: list[float] = []
    url: str | None = base + first
    with httpx.Client(timeout=60) as http:
        while url and len(times) < max_pages:
            answer = http.get(url, headers={"Accept": "application/json"})
            answer.raise_for_status()
            times.append(answer.elapsed.total_seconds())
            nxt = answer.links.get("next", {}).get("url")
            url = str(httpx.URL(url).join(nxt)) if nxt else None
    return times
