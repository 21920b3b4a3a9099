"""The validation gate: would the graph still conform after this change?

A change is validated on the graph as it would be after it (current data, minus the removed
quads, plus the added ones) against the trusted data shapes, with the ontology mixed in for class
reasoning. Only a conforming change may be committed; ``commit_validated`` does both, and commits
only if the graph did not move in between (the version it validated is the version it writes on).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from ijkg.graph.errors import ValidationFailed
from ijkg.graph.namespaces import ONTOLOGY_GRAPH, SHAPES_GRAPH, SYSTEM_GRAPH
from ijkg.graph.store.base import Commit, Delta, Store
from ijkg.graph.terms import to_rdflib
from ijkg.graph.validation import ValidationReport, validate

#: Graphs that hold no instance data: the gate never validates them as data.
NON_DATA_GRAPHS = frozenset({ONTOLOGY_GRAPH, SHAPES_GRAPH, SYSTEM_GRAPH})


async def data_graph_names(store: Store) -> list[str]:
    """Names of the graphs that hold instance data."""
    return [g for g in await store.graph_names() if g not in NON_DATA_GRAPHS]


async def data_quads(store: Store) -> set[ox.Quad]:
    """Every quad of instance data."""
    quads: set[ox.Quad] = set()
    for name in await data_graph_names(store):
        quads.update(await store.graph_quads(name))
    return quads


def _is_data(quad: ox.Quad) -> bool:
    name = quad.graph_name
    return not (isinstance(name, ox.NamedNode) and name.value in NON_DATA_GRAPHS)


def _triple(quad: ox.Quad) -> tuple[Any, Any, Any]:
    return to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)


async def validate_change(store: Store, delta: Delta) -> ValidationReport:
    """The SHACL report for the data graph as it would be after ``delta``; changes nothing."""
    quads = await data_quads(store)
    quads.difference_update(delta.removes)
    quads.update(q for q in delta.adds if _is_data(q))
    graph = Graph()
    for quad in quads:
        graph.add(_triple(quad))
    return await asyncio.to_thread(validate, graph)


async def commit_validated(
    store: Store, delta: Delta, *, meta: dict[str, Any] | None = None
) -> tuple[Commit, ValidationReport]:
    """Validate ``delta`` and commit it if it conforms, on the very version it was validated on.

    Raises ``ValidationFailed`` (nothing written) or ``VersionConflict`` (the graph moved).
    """
    version = await store.version()
    report = await validate_change(store, delta)
    if not report.conforms:
        raise ValidationFailed(report)
    commit = await store.commit(delta, expected_version=version, meta=meta)
    return commit, report
