"""Reading RDF files for ``ijkg load`` and ``ijkg validate``: syntax by extension, graph by name.

Triples outside a named graph go to the graph given, or else to the file's own graph
``https://w3id.org/ijkg/graph/<file-name-as-slug>`` (one named graph per source document).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from ijkg.graph.core.formats import RdfSyntax, rdf_syntax_for_path
from ijkg.graph.core.namespaces import graph_iri
from ijkg.graph.core.rdfio import ParseOptions, iter_quads

Progress = Callable[[int], None]


def slugify(name: str) -> str:
    """``'India Japan 2025.ttl'`` -> ``'india-japan-2025-ttl'``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "data"


def default_graph_for(path: Path) -> str:
    """The named graph a file's triples go to when no graph is given."""
    stem = path.name
    for suffix in reversed(path.suffixes):
        stem = stem.removesuffix(suffix)
    return graph_iri(slugify(stem))


def read_rdf_file(
    path: Path,
    *,
    syntax: RdfSyntax | None = None,
    graph: str | None = None,
    progress: Progress | None = None,
) -> list[ox.Quad]:
    """Parse one file. Raises ``UnsupportedFormat``, ``RdfSyntaxError`` (with line and column) or
    ``OSError`` (unreadable)."""
    syntax = syntax or rdf_syntax_for_path(str(path))
    data = path.read_bytes()
    options = ParseOptions(
        syntax=syntax,
        default_graph=graph or default_graph_for(path),
        source=str(path),
    )
    return list(iter_quads(data, options, progress=progress))
