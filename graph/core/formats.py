"""Media types the service reads and writes, and which serialiser handles each.

One table per kind of payload: SPARQL results (SELECT/ASK), RDF graphs and datasets (CONSTRUCT,
DESCRIBE, uploads). Media types are compared without parameters (``; charset=UTF-8``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyoxigraph as ox

from ijkg.graph.core.errors import UnsupportedFormat


@dataclass(frozen=True)
class ResultsFormat:
    """A SPARQL query results format (SELECT and ASK)."""

    name: str
    media_type: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RdfSyntax:
    """An RDF syntax (CONSTRUCT/DESCRIBE results, uploads, exports)."""

    name: str
    media_type: str
    oxigraph: ox.RdfFormat
    extensions: tuple[str, ...]
    aliases: tuple[str, ...] = ()

    @property
    def datasets(self) -> bool:
        """True when the syntax can carry named graphs."""
        return bool(self.oxigraph.supports_datasets)


RESULTS_JSON: Final = ResultsFormat("json", "application/sparql-results+json", ("json",))
RESULTS_XML: Final = ResultsFormat("xml", "application/sparql-results+xml", ("xml",))
RESULTS_CSV: Final = ResultsFormat("csv", "text/csv", ("csv",))
RESULTS_TSV: Final = ResultsFormat("tsv", "text/tab-separated-values", ("tsv",))
RESULTS_FORMATS: Final = (RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV)

TURTLE: Final = RdfSyntax("turtle", "text/turtle", ox.RdfFormat.TURTLE, (".ttl",), ("ttl",))
NTRIPLES: Final = RdfSyntax(
    "ntriples", "application/n-triples", ox.RdfFormat.N_TRIPLES, (".nt",), ("nt", "n-triples")
)
JSONLD: Final = RdfSyntax(
    "jsonld", "application/ld+json", ox.RdfFormat.JSON_LD, (".jsonld", ".json-ld"), ("json-ld",)
)
RDFXML: Final = RdfSyntax(
    "rdfxml", "application/rdf+xml", ox.RdfFormat.RDF_XML, (".rdf", ".owl", ".xml"), ("rdf",)
)
TRIG: Final = RdfSyntax("trig", "application/trig", ox.RdfFormat.TRIG, (".trig",))
NQUADS: Final = RdfSyntax(
    "nquads", "application/n-quads", ox.RdfFormat.N_QUADS, (".nq",), ("nq", "n-quads")
)
RDF_SYNTAXES: Final = (TURTLE, NTRIPLES, JSONLD, RDFXML, TRIG, NQUADS)

# Media types seen in the wild for the same syntaxes.
_RDF_MEDIA_ALIASES: Final = {
    "application/x-turtle": TURTLE,
    "text/n3": TURTLE,
    "text/plain": NTRIPLES,
    "application/json": JSONLD,
    "application/xml": RDFXML,
    "text/xml": RDFXML,
    "application/x-trig": TRIG,
    "text/x-nquads": NQUADS,
}


def bare_media_type(value: str) -> str:
    """``'text/turtle; charset=UTF-8'`` -> ``'text/turtle'``."""
    return value.split(";", 1)[0].strip().lower()


def rdf_syntax_for_media_type(media_type: str) -> RdfSyntax:
    """The RDF syntax of a ``Content-Type``; raises ``UnsupportedFormat``."""
    bare = bare_media_type(media_type)
    for syntax in RDF_SYNTAXES:
        if syntax.media_type == bare:
            return syntax
    if bare in _RDF_MEDIA_ALIASES:
        return _RDF_MEDIA_ALIASES[bare]
    raise UnsupportedFormat(
        f"unsupported RDF media type {bare!r}; use one of "
        + ", ".join(s.media_type for s in RDF_SYNTAXES)
    )


def rdf_syntax_for_name(name: str) -> RdfSyntax:
    """The RDF syntax called ``name`` (``turtle``, ``nt``, ``jsonld`` ...) or of that media type."""
    key = name.strip().lower()
    for syntax in RDF_SYNTAXES:
        if key in (syntax.name, syntax.media_type, *syntax.aliases):
            return syntax
    raise UnsupportedFormat(
        f"unknown RDF format {name!r}; use one of " + ", ".join(s.name for s in RDF_SYNTAXES)
    )


def rdf_syntax_for_path(path: str) -> RdfSyntax:
    """The RDF syntax of a file, by extension; raises ``UnsupportedFormat``."""
    lower = path.lower()
    for syntax in RDF_SYNTAXES:
        if lower.endswith(syntax.extensions):
            return syntax
    raise UnsupportedFormat(
        f"cannot tell the RDF syntax of {path!r} from its extension; pass --format "
        + "/".join(s.name for s in RDF_SYNTAXES)
    )


def results_format_for(name_or_media_type: str) -> ResultsFormat:
    """The results format called ``name`` (``json``, ``csv``...) or with that media type."""
    key = bare_media_type(name_or_media_type)
    for fmt in RESULTS_FORMATS:
        if key in (fmt.name, fmt.media_type, *fmt.aliases):
            return fmt
    raise UnsupportedFormat(
        f"unknown results format {name_or_media_type!r}; use one of "
        + ", ".join(f.media_type for f in RESULTS_FORMATS)
    )
