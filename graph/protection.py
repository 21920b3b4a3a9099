"""Which graphs a writer may touch.

The ontology and shapes graphs may only be written with the admin role (they are reloaded from the
package on upgrade anyway); the system and changes graphs are written by the service itself and by
no write path.
"""

from __future__ import annotations

import pyoxigraph as ox

from ijkg.graph.errors import Forbidden
from ijkg.graph.gate import CHANGES_GRAPH
from ijkg.graph.namespaces import ONTOLOGY_GRAPH, SHAPES_GRAPH, SYSTEM_GRAPH
from ijkg.graph.store.base import Delta

ADMIN_GRAPHS = frozenset({ONTOLOGY_GRAPH, SHAPES_GRAPH})
SERVICE_GRAPHS = frozenset({SYSTEM_GRAPH, CHANGES_GRAPH})


class ProtectedGraph(Forbidden):
    """A write would touch a graph this writer may not write."""


def graphs_of(delta: Delta) -> set[str]:
    names = set()
    for quad in (*delta.removes, *delta.adds):
        name = quad.graph_name
        names.add(name.value if isinstance(name, ox.NamedNode | ox.BlankNode) else "DEFAULT")
    return names


def check_write(delta: Delta, *, admin: bool) -> None:
    """Raise ``ProtectedGraph`` if ``delta`` touches a graph its writer may not write."""
    touched = graphs_of(delta)
    service = sorted(touched & SERVICE_GRAPHS)
    if service:
        raise ProtectedGraph(
            f"{', '.join(service)} is written by the service itself; no write may change it"
        )
    admin_only = sorted(touched & ADMIN_GRAPHS)
    if admin_only and not admin:
        raise ProtectedGraph(f"writing {', '.join(admin_only)} needs a token with the admin role")
