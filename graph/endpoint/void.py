"""The dataset description at ``/.well-known/void`` (VoID and DCAT): what the graph is, where to
query it, where to download it at each version, its named graphs with their sizes, its
versions, and the licences and sources it states.

Licences are the ones the graph itself states (``dcterms:license``) on what it states them for
(the ontology and its vocabularies); none is made up for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyoxigraph as ox

from ijkg.graph.core.namespaces import IJKG, ONTOLOGY_IRI, PREFIXES, version_iri
from ijkg.graph.endpoint.description import Contents
from ijkg.graph.endpoint.versions import DATASET_IRI, TITLE, Triples, integer
from ijkg.graph.store.base import Store

_VOID: Final = "http://rdfs.org/ns/void#"
_DCAT: Final = "http://www.w3.org/ns/dcat#"
_SD: Final = "http://www.w3.org/ns/sparql-service-description#"
_DCTERMS: Final = PREFIXES["dcterms"]
_RDFS: Final = PREFIXES["rdfs"]
_RDF_TYPE: Final = PREFIXES["rdf"] + "type"
#: Sources listed at most (a graph with many sources names them in the graph itself).
MAX_SOURCES: Final = 200


@dataclass(frozen=True)
class Stated:
    """What the graph states about itself: licences (subject, licence) and sources (IRI,
    title)."""

    licences: tuple[tuple[str, str], ...]
    sources: tuple[tuple[str, str | None], ...]


async def stated(store: Store) -> Stated:
    """The licences and sources the graph states, read from it."""
    licences = await store.select(
        f"SELECT DISTINCT ?s ?l WHERE {{ ?s <{_DCTERMS}license> ?l FILTER(isIRI(?s)) }} "
        "ORDER BY ?s ?l LIMIT 100",
        prefixes=False,
    )
    sources = await store.select(
        f"""SELECT ?s (SAMPLE(?t) AS ?title) WHERE {{
              ?s a ?c . ?c <{_RDFS}subClassOf>* <{IJKG}Source> . FILTER(isIRI(?s))
              OPTIONAL {{ ?s <{_DCTERMS}title> ?t }}
            }} GROUP BY ?s ORDER BY ?s LIMIT {MAX_SOURCES}""",
        prefixes=False,
    )
    return Stated(
        tuple((str(row["s"]), str(row["l"])) for row in licences if "l" in row),
        tuple((str(row["s"]), str(row["title"]) if "title" in row else None) for row in sources),
    )


def void_triples(
    base: str, contents: Contents, stated: Stated, *, first: int | None, head: int
) -> list[ox.Triple]:
    """The description, for a service at ``base``; ``first`` is ``None`` when the store keeps
    no versions (no dumps nor versions to point at then)."""
    out = Triples()
    add = out.add
    dataset = ox.NamedNode(DATASET_IRI)

    add(dataset, _RDF_TYPE, ox.NamedNode(_VOID + "Dataset"))
    add(dataset, _RDF_TYPE, ox.NamedNode(_DCAT + "Dataset"))
    add(dataset, _DCTERMS + "title", ox.Literal(TITLE, language="en"))
    add(dataset, _VOID + "sparqlEndpoint", ox.NamedNode(f"{base}/sparql"))
    add(dataset, _VOID + "uriSpace", ox.Literal(PREFIXES["id"]))
    add(dataset, _VOID + "vocabulary", ox.NamedNode(ONTOLOGY_IRI))
    add(dataset, _VOID + "triples", integer(contents.union_triples))
    service = ox.NamedNode(f"{base}/sparql")
    add(service, _RDF_TYPE, ox.NamedNode(_DCAT + "DataService"))
    add(service, _RDF_TYPE, ox.NamedNode(_SD + "Service"))
    add(service, _DCAT + "endpointURL", service)
    add(service, _DCAT + "servesDataset", dataset)
    add(dataset, _DCAT + "version", ox.Literal(str(head)))
    if first is not None:
        add(dataset, _RDFS + "seeAlso", ox.NamedNode(f"{base}/versions"))
        add(dataset, _DCTERMS + "hasVersion", ox.NamedNode(version_iri(head)))
        dump = ox.NamedNode(f"{base}/version/{head}/dump")
        add(dataset, _VOID + "dataDump", dump)
        distribution = ox.NamedNode(f"{base}/version/{head}/dump#distribution")
        add(dataset, _DCAT + "distribution", distribution)
        add(distribution, _RDF_TYPE, ox.NamedNode(_DCAT + "Distribution"))
        add(distribution, _DCAT + "downloadURL", dump)
        add(distribution, _DCAT + "mediaType", ox.Literal("application/n-quads"))
        add(distribution, _DCAT + "compressFormat", ox.Literal("application/gzip"))
        add(
            distribution,
            _DCTERMS + "description",
            ox.Literal(
                f"The whole graph at version {head} as gzipped N-Quads in a stable order; "
                f"every other version's at {base}/version/{{N}}/dump.",
                language="en",
            ),
        )
    for graph in contents.graphs:
        subset = ox.NamedNode(graph.name)
        add(dataset, _VOID + "subset", subset)
        add(subset, _RDF_TYPE, ox.NamedNode(_VOID + "Dataset"))
        add(subset, _RDF_TYPE, ox.NamedNode(_SD + "NamedGraph"))
        add(subset, _SD + "name", subset)
        add(subset, _VOID + "triples", integer(graph.triples))
    for subject, licence in stated.licences:
        add(ox.NamedNode(subject), _DCTERMS + "license", ox.NamedNode(licence))
    for source, title in stated.sources:
        add(dataset, _DCTERMS + "source", ox.NamedNode(source))
        if title is not None:
            add(ox.NamedNode(source), _DCTERMS + "title", ox.Literal(title))
    return out
