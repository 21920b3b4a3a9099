"""The store the competency queries run against.

``run_select(sparql)`` runs a SELECT query over the bundled graph, with the default graph being
the union of all named graphs, and returns one dict per solution: every projected variable is a
key; an unbound variable is ``None``; IRIs are ``str``; integers (``xsd:integer`` and its derived
types) are ``int``, ``xsd:decimal`` is ``Decimal``, ``xsd:double``/``xsd:float`` are ``float``,
``xsd:boolean`` is ``bool``; every other literal (strings, ``xsd:date`` as its ISO form,
durations ...) is its lexical form as ``str``, language tags dropped.

For now the store is an in-memory pyoxigraph ``Store`` loaded with ``bundle_quads()``; the fixture
is the one place to change to run the same questions against another store.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pyoxigraph as ox
import pytest

from ijkg.graph.core.bundle import bundle_quads

XSD = "http://www.w3.org/2001/XMLSchema#"
INTEGER_TYPES = {
    XSD + name
    for name in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
}

RunSelect = Callable[[str], list[dict[str, object]]]


def to_python(term: object) -> object:
    """A query result term as a plain Python value (see the module docstring)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if datatype in INTEGER_TYPES:
            return int(term.value)
        if datatype == XSD + "decimal":
            return Decimal(term.value)
        if datatype in (XSD + "double", XSD + "float"):
            return float(term.value)
        if datatype == XSD + "boolean":
            return term.value in ("true", "1")
        return term.value
    raise TypeError(f"unexpected term in a SELECT result: {term!r}")


@pytest.fixture(scope="session")
def bundled_store() -> ox.Store:
    store = ox.Store()
    store.bulk_extend(bundle_quads())
    return store


@pytest.fixture(scope="session")
def run_select(bundled_store: ox.Store) -> RunSelect:
    def run(sparql: str) -> list[dict[str, object]]:
        result = bundled_store.query(sparql, use_default_graph_as_union=True)
        if not isinstance(result, ox.QuerySolutions):
            raise TypeError("run_select runs SELECT queries only")
        names = [variable.value for variable in result.variables]
        return [{name: to_python(solution[name]) for name in names} for solution in result]

    return run
