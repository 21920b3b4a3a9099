"""Documentation of the ontology and the shapes, read from their named graphs in the store.

``ontology_view`` and ``shapes_view`` arrange a graph for a documentation page (header, table of
contents, one entry per class, property and shape, each with an anchor named after the term's
local name so ``/ontology#Pillar`` lands on it); ``graph_turtle`` is the same graph for machines.
"""

from __future__ import annotations

from typing import Any, Final

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection as RdfList
from rdflib.namespace import DCTERMS, SH, SKOS

from ijkg.graph.core.curies import bind_document_prefixes
from ijkg.graph.core.namespaces import IJKG, PREFIXES
from ijkg.graph.core.terms import quads_to_graph
from ijkg.graph.linked.vocabulary import curie, local_name
from ijkg.graph.store.base import Store

VANN: Final = PREFIXES["vann"]


async def named_graph(store: Store, name: str) -> Graph:
    """One named graph of the store as an rdflib graph (one query)."""
    graph = quads_to_graph(await store.graph_quads(name))
    known = {**PREFIXES, "shapes": "https://w3id.org/ijkg/shapes#"}
    for prefix, namespace in known.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return bind_document_prefixes(graph)


def graph_turtle(graph: Graph) -> bytes:
    return bytes(graph.serialize(format="turtle", encoding="utf-8"))


def _text(graph: Graph, node: Any, *predicates: URIRef) -> str | None:
    for predicate in predicates:
        values = sorted(
            (v for v in graph.objects(node, predicate) if isinstance(v, Literal)),
            key=lambda v: (v.language not in ("en", None), str(v)),
        )
        if values:
            return str(values[0])
    return None


def _refs(graph: Graph, node: Any, predicate: URIRef) -> list[dict[str, str]]:
    return [
        _ref(v) for v in sorted(graph.objects(node, predicate), key=str) if isinstance(v, URIRef)
    ]


def _ref(iri: URIRef | str) -> dict[str, str]:
    text = str(iri)
    return {
        "iri": text,
        "name": curie(text),
        "anchor": local_name(text) if text.startswith(IJKG) else "",
    }


def _header(graph: Graph, iri: URIRef) -> dict[str, Any]:
    return {
        "iri": str(iri),
        "title": _text(graph, iri, DCTERMS.title, RDFS.label) or str(iri),
        "description": _text(graph, iri, DCTERMS.description, RDFS.comment),
        "version": _text(graph, iri, OWL.versionInfo),
        "version_iri": next((str(v) for v in graph.objects(iri, OWL.versionIRI)), None),
        "modified": _text(graph, iri, DCTERMS.modified),
        "created": _text(graph, iri, DCTERMS.created),
        "license": next((str(v) for v in graph.objects(iri, DCTERMS.license)), None),
        "prefix": _text(graph, iri, URIRef(VANN + "preferredNamespacePrefix")),
        "namespace": _text(graph, iri, URIRef(VANN + "preferredNamespaceUri")),
    }


def _term(graph: Graph, iri: URIRef) -> dict[str, Any]:
    return {
        **_ref(iri),
        "label": _text(graph, iri, RDFS.label, SKOS.prefLabel) or local_name(str(iri)),
        "definition": _text(graph, iri, SKOS.definition, RDFS.comment),
        "note": _text(graph, iri, SKOS.editorialNote, SKOS.scopeNote),
        "deprecated": (iri, OWL.deprecated, Literal(True)) in graph,
        "supers": _refs(graph, iri, RDFS.subClassOf) + _refs(graph, iri, RDFS.subPropertyOf),
        "subs": [
            _ref(s)
            for s in sorted(
                set(graph.subjects(RDFS.subClassOf, iri))
                | set(graph.subjects(RDFS.subPropertyOf, iri)),
                key=str,
            )
            if isinstance(s, URIRef)
        ],
        "domains": _refs(graph, iri, RDFS.domain),
        "ranges": _refs(graph, iri, RDFS.range),
        "matches": _refs(graph, iri, SKOS.exactMatch) + _refs(graph, iri, SKOS.closeMatch),
    }


def ontology_view(graph: Graph) -> dict[str, Any]:
    """The ontology page: header, classes, properties by kind, concept schemes."""
    ontologies = sorted(
        (o for o in graph.subjects(RDF.type, OWL.Ontology) if isinstance(o, URIRef)), key=str
    )
    sections: list[dict[str, Any]] = []
    for title, kind in (
        ("Classes", OWL.Class),
        ("Object properties", OWL.ObjectProperty),
        ("Datatype properties", OWL.DatatypeProperty),
        ("Annotation properties", OWL.AnnotationProperty),
    ):
        terms: list[dict[str, Any]] = [
            _term(graph, t)
            for t in graph.subjects(RDF.type, kind)
            if isinstance(t, URIRef) and str(t).startswith(IJKG)
        ]
        if kind == OWL.Class:
            for term in terms:
                iri = URIRef(term["iri"])
                term["properties"] = [
                    _ref(p)
                    for p in sorted(graph.subjects(RDFS.domain, iri), key=str)
                    if isinstance(p, URIRef)
                ]
        sections.append({"title": title, "terms": sorted(terms, key=lambda t: t["name"].lower())})
    concepts = []
    for scheme in sorted(graph.subjects(RDF.type, SKOS.ConceptScheme), key=str):
        if not isinstance(scheme, URIRef):
            continue
        members = sorted(
            (c for c in graph.subjects(SKOS.inScheme, scheme) if isinstance(c, URIRef)), key=str
        )
        concepts.append(
            {
                **_term(graph, scheme),
                "members": [
                    {
                        **_ref(c),
                        "label": _text(graph, c, SKOS.prefLabel, RDFS.label) or local_name(str(c)),
                        "definition": _text(graph, c, SKOS.definition),
                    }
                    for c in members
                ],
            }
        )
    return {
        "headers": [_header(graph, o) for o in ontologies],
        "sections": sections,
        "schemes": concepts,
        "triples": len(graph),
    }


def _describe_constraints(graph: Graph, shape: Any) -> list[str]:
    """The constraints of a shape, in words (``min 1``, ``class ijkg:Actor`` ...)."""
    out = []
    for predicate, word in (
        (SH.minCount, "at least"),
        (SH.maxCount, "at most"),
        (SH.minInclusive, "≥"),
        (SH.maxInclusive, "≤"),
        (SH.minExclusive, ">"),
        (SH.maxExclusive, "<"),
        (SH.pattern, "matches"),
        (SH.qualifiedMinCount, "qualified at least"),
    ):
        for value in graph.objects(shape, predicate):
            out.append(f"{word} {value}")
    for predicate, word in (
        (SH["class"], "class"),
        (SH.datatype, "datatype"),
        (SH.nodeKind, "node kind"),
        (SH.languageIn, "languages"),
    ):
        for value in graph.objects(shape, predicate):
            if isinstance(value, BNode):
                items = ", ".join(str(v) for v in RdfList(graph, value))
                out.append(f"{word} ({items})")
            else:
                out.append(f"{word} {curie(str(value))}")
    for predicate, word in (
        (SH.equals, "same values as"),
        (SH.disjoint, "no value in common with"),
        (SH.lessThan, "less than"),
        (SH.lessThanOrEquals, "at most the value of"),
    ):
        for value in graph.objects(shape, predicate):
            out.append(f"{word} {curie(str(value))}")
    for value in graph.objects(shape, SH["in"]):
        items = ", ".join(curie(str(v)) for v in RdfList(graph, value))
        out.append(f"one of ({items})")
    if (shape, SH.uniqueLang, Literal(True)) in graph:
        out.append("one value per language")
    for kind, word in ((SH["or"], "or"), (SH["not"], "not"), (SH.sparql, "SPARQL constraint")):
        if next(iter(graph.objects(shape, kind)), None) is not None:
            out.append(f"{word} (see the Turtle)")
    return out


def shapes_view(graph: Graph) -> dict[str, Any]:
    """The shapes page: header and one entry per node shape with its property shapes."""
    headers = [
        _header(graph, o)
        for o in sorted(graph.subjects(RDF.type, OWL.Ontology), key=str)
        if isinstance(o, URIRef)
    ]
    shapes = []
    for shape in graph.subjects(RDF.type, SH.NodeShape):
        if not isinstance(shape, URIRef):
            continue
        targets = []
        for predicate, word in (
            (SH.targetClass, "instances of"),
            (SH.targetSubjectsOf, "subjects of"),
            (SH.targetObjectsOf, "objects of"),
            (SH.targetNode, "the node"),
        ):
            targets += [
                {"word": word, **_ref(v)}
                for v in sorted(graph.objects(shape, predicate), key=str)
                if isinstance(v, URIRef)
            ]
        properties = []
        for prop in sorted(graph.objects(shape, SH.property), key=str):
            path = next(iter(graph.objects(prop, SH.path)), None)
            properties.append(
                {
                    "iri": str(prop) if isinstance(prop, URIRef) else "",
                    "anchor": local_name(str(prop)) if isinstance(prop, URIRef) else "",
                    "name": _text(graph, prop, SH.name) or "",
                    "path": _ref(path)
                    if isinstance(path, URIRef)
                    else {"name": "(complex path)", "iri": "", "anchor": ""},
                    "description": _text(graph, prop, SH.description),
                    "message": _text(graph, prop, SH.message),
                    "severity": local_name(
                        str(next(iter(graph.objects(prop, SH.severity)), SH.Violation))
                    ),
                    "constraints": _describe_constraints(graph, prop),
                }
            )
        shapes.append(
            {
                "iri": str(shape),
                "anchor": local_name(str(shape)),
                "label": _text(graph, shape, RDFS.label) or local_name(str(shape)),
                "description": _text(graph, shape, SH.description),
                "message": _text(graph, shape, SH.message),
                "severity": local_name(
                    str(next(iter(graph.objects(shape, SH.severity)), SH.Violation))
                ),
                "deprecated": (shape, OWL.deprecated, Literal(True)) in graph,
                "targets": targets,
                "constraints": _describe_constraints(graph, shape),
                "properties": properties,
            }
        )
    return {
        "headers": headers,
        "shapes": sorted(shapes, key=lambda s: s["anchor"]),
        "triples": len(graph),
    }
