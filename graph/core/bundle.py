"""What ships inside the package: ontology, shapes, the sourced data and its source texts.

Files are read with importlib.resources so the same code works from an editable install and from an
installed wheel. Which named graph each file goes to:

- ``ontology/*.ttl`` -> ``https://w3id.org/ijkg/graph/ontology``
- ``shapes/*.ttl``   -> ``https://w3id.org/ijkg/graph/shapes``
- ``graph/data/*.trig`` -> the graphs each TriG file names itself (one per source, never the
  default graph)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

import pyoxigraph as ox

from ijkg.graph.core.namespaces import ONTOLOGY_GRAPH, SHAPES_GRAPH

#: The shapes file that gates data. The other file in ``shapes/`` lints the ontology itself.
DATA_SHAPES_FILE = "ijkg-shapes.ttl"
ONTOLOGY_SHAPES_FILE = "ontology-shapes.ttl"


@dataclass(frozen=True)
class BundleFile:
    """One bundled RDF file and the named graph its triples go to (``None``: named in the file)."""

    name: str
    resource: Traversable
    format: ox.RdfFormat
    graph: str | None

    def read_bytes(self) -> bytes:
        return self.resource.read_bytes()

    def quads(self) -> Iterator[ox.Quad]:
        """Parse the file. Blank nodes are renamed so labels never collide across files."""
        parsed = ox.parse(
            input=self.read_bytes(),
            format=self.format,
            base_iri=None,
            rename_blank_nodes=True,
        )
        if self.graph is None:
            for quad in parsed:
                if isinstance(quad.graph_name, ox.DefaultGraph):
                    raise ValueError(f"{self.name}: triples outside a named graph ({quad})")
                yield quad
        else:
            target = ox.NamedNode(self.graph)
            for quad in parsed:
                yield ox.Quad(quad.subject, quad.predicate, quad.object, target)


def _rdf_files(package: str, suffix: str) -> list[Traversable]:
    return sorted(
        (f for f in files(package).iterdir() if f.name.endswith(suffix) and f.is_file()),
        key=lambda f: f.name,
    )


def bundle_files() -> list[BundleFile]:
    """Every bundled RDF file, in a stable order."""
    result = [
        BundleFile(f"ontology/{f.name}", f, ox.RdfFormat.TURTLE, ONTOLOGY_GRAPH)
        for f in _rdf_files("ijkg.ontology", ".ttl")
    ]
    result += [
        BundleFile(f"shapes/{f.name}", f, ox.RdfFormat.TURTLE, SHAPES_GRAPH)
        for f in _rdf_files("ijkg.shapes", ".ttl")
    ]
    data = files("ijkg.graph").joinpath("data")
    result += [
        BundleFile(f"graph/data/{f.name}", f, ox.RdfFormat.TRIG, None)
        for f in sorted(data.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".trig")
    ]
    return result


def bundle_quads() -> Iterator[ox.Quad]:
    """All bundled quads, each in its named graph."""
    for bundled in bundle_files():
        yield from bundled.quads()


def bundle_version() -> str:
    """A content hash of the bundled files: it changes exactly when the bundled data changes."""
    digest = hashlib.sha256()
    for bundled in bundle_files():
        digest.update(bundled.name.encode())
        digest.update(b"\0")
        digest.update(bundled.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def source_text(name: str) -> str:
    """A bundled source document (e.g. ``india-japan-new-chapter.txt``), decoded as UTF-8."""
    return files("ijkg.graph").joinpath("sources", name).read_text(encoding="utf-8")
