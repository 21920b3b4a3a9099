"""A version's patch as text: RDF Patch (https://afs.github.io/rdf-patch/) and N-Quads sets.

A patch is exactly what the commit that made a version did (``Store.patch``): the quads it
removed, then the quads it added, blank nodes as the store knows them, so that a copy that applied
every earlier patch can apply this one too. Applying the removals then the additions to the graph
at ``version - 1`` gives the graph at ``version``.
"""

from __future__ import annotations

from typing import Any, Final

import pyoxigraph as ox

from ijkg.graph.core.namespaces import version_iri
from ijkg.graph.core.rdfio import read_nquads, write_nquads
from ijkg.graph.store.base import Patch

RDF_PATCH: Final = "application/rdf-patch"


def _row(code: str, quad: ox.Quad) -> str:
    # N-Quads terms, one row per quad; a quad of the default graph has no fourth term.
    terms = [str(quad.subject), str(quad.predicate), str(quad.object)]
    if not isinstance(quad.graph_name, ox.DefaultGraph):
        terms.append(str(quad.graph_name))
    return f"{code} {' '.join(terms)} .\n"


def rdf_patch(patch: Patch) -> bytes:
    """``patch`` in RDF Patch: its id and the previous version's as headers, then one
    transaction of deletions and additions.

    >>> from ijkg.graph.store.base import VersionInfo
    >>> info = VersionInfo(2, None, None, None, None, 1, 1, None)
    >>> g = ox.NamedNode("g:g")
    >>> old = ox.Quad(ox.NamedNode("s:a"), ox.NamedNode("p:p"), ox.Literal("1"), g)
    >>> new = ox.Quad(ox.NamedNode("s:a"), ox.NamedNode("p:p"), ox.BlankNode("b0"), g)
    >>> print(rdf_patch(Patch(info, (old,), (new,))).decode(), end="")
    H id <https://w3id.org/ijkg/version/2> .
    H prev <https://w3id.org/ijkg/version/1> .
    TX .
    D <s:a> <p:p> "1" <g:g> .
    A <s:a> <p:p> _:b0 <g:g> .
    TC .
    """
    version = patch.info.version
    lines = [f"H id <{version_iri(version)}> .\n"]
    if version > 0:
        lines.append(f"H prev <{version_iri(version - 1)}> .\n")
    lines.append("TX .\n")
    lines += (_row("D", q) for q in patch.removes)
    lines += (_row("A", q) for q in patch.adds)
    lines.append("TC .\n")
    return "".join(lines).encode()


def patch_json(patch: Patch) -> dict[str, Any]:
    """``patch`` as JSON: the version, the one before, who made it when and why, and the
    removed and added quads as N-Quads text (``read_patch_json`` reads it back)."""
    info = patch.info
    version = info.version
    return {
        "version": version,
        "previous": version - 1,
        "id": version_iri(version),
        "time": info.time,
        "who": info.who,
        "why": info.why,
        "change": info.change,
        "removed": write_nquads(patch.removes).decode(),
        "added": write_nquads(patch.adds).decode(),
    }


def read_patch_json(data: dict[str, Any]) -> tuple[int, list[ox.Quad], list[ox.Quad]]:
    """The version, removals and additions of a patch written by ``patch_json`` (blank-node
    labels kept). Raises ``ValueError`` (``SyntaxError`` for broken N-Quads) on anything else."""
    version, removed, added = data.get("version"), data.get("removed"), data.get("added")
    if not isinstance(version, int) or not isinstance(removed, str) or not isinstance(added, str):
        raise ValueError("not a patch: version, removed and added are missing")
    return version, read_nquads(removed.encode()), read_nquads(added.encode())
