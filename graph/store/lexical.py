"""Literals in the form Oxigraph keeps them.

Oxigraph stores a literal of a type it knows (``xsd:dateTime``, ``xsd:integer`` ...) as its value
and gives it back in the type's canonical form: ``"2026-01-01T00:00:00.680Z"`` comes back as
``"…00.68Z"``, ``"01"^^xsd:integer`` as ``"1"``. A quad as written and the same quad as read back
are then equal in the store but not as Python objects, so whoever compares quads it wrote with
quads it read (an exact change, a patch undone on a copy of the graph) compares them in this form.

>>> dt = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
>>> q = ox.Quad(ox.NamedNode("s:s"), ox.NamedNode("p:p"), ox.Literal("2026-01-01T00:00:00.680Z",
...     datatype=dt), ox.NamedNode("g:g"))
>>> canonical([q])[0].object.value
'2026-01-01T00:00:00.68Z'
"""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox

_PLAIN = frozenset(
    {
        "http://www.w3.org/2001/XMLSchema#string",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#dirLangString",
    }
)
_KEY = ox.NamedNode("urn:ijkg:canonical")


def _typed(quad: ox.Quad) -> bool:
    obj = quad.object
    return isinstance(obj, ox.Literal) and obj.datatype.value not in _PLAIN


def canonical(quads: Sequence[ox.Quad]) -> list[ox.Quad]:
    """``quads`` (in order) with every typed literal in Oxigraph's form: one scratch store for
    all of them, and nothing to do for quads without a typed literal."""
    typed = [i for i, quad in enumerate(quads) if _typed(quad)]
    if not typed:
        return list(quads)
    scratch = ox.Store()
    scratch.extend(ox.Quad(ox.NamedNode(f"urn:ijkg:{i}"), _KEY, quads[i].object) for i in typed)
    kept = {int(q.subject.value.rsplit(":", 1)[1]): q.object for q in scratch}
    found = list(quads)
    for i in typed:
        quad = quads[i]
        if kept[i] != quad.object:
            found[i] = ox.Quad(quad.subject, quad.predicate, kept[i], quad.graph_name)
    return found
