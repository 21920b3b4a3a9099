"""Conversions between pyoxigraph terms (the store), rdflib terms (the toolkit) and SPARQL JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal
OxGraphName = ox.NamedNode | ox.BlankNode | ox.DefaultGraph


def to_rdflib(term: OxTerm | ox.Triple) -> Node:
    """A pyoxigraph term as an rdflib term (quoted triples are not supported by rdflib)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == XSD_STRING else URIRef(datatype))
    raise TypeError(f"quoted triples are not supported here: {term}")


def to_oxigraph(term: Node) -> OxTerm:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def graph_name(name: str | None) -> OxGraphName:
    return ox.DefaultGraph() if name is None else ox.NamedNode(name)


def from_sparql_json(value: dict[str, Any]) -> Node:
    """One binding of the SPARQL 1.1 JSON results format as an rdflib term."""
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in value:
            return Literal(value["value"], lang=value["xml:lang"])
        datatype = value.get("datatype")
        if datatype in (None, XSD_STRING):
            return Literal(value["value"])
        return Literal(value["value"], datatype=URIRef(datatype))
    raise ValueError(f"unsupported term in results: {kind}")


def quads_to_dataset(quads: Iterable[ox.Quad]) -> Dataset:
    """pyoxigraph quads as an rdflib Dataset (named graphs kept)."""
    dataset = Dataset()
    for quad in quads:
        name = quad.graph_name
        if isinstance(name, ox.DefaultGraph):
            context = dataset.default_context
        elif isinstance(name, ox.NamedNode):
            context = dataset.graph(URIRef(name.value))
        else:
            context = dataset.graph(BNode(name.value))
        context.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return dataset


def quads_to_graph(quads: Iterable[ox.Quad]) -> Graph:
    """pyoxigraph quads merged into one rdflib Graph (graph names dropped)."""
    graph = Graph()
    for quad in quads:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph
