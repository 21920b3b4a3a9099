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


@dataclass(frozen=True)
class RdfSyntax:
    """An RDF syntax (CONSTRUCT/DESCRIBE results, uploads, exports)."""

    name: str
    media_type: str
    oxigraph: ox.RdfFormat
    extensions: tuple[str, ...]

    @property
    def datasets(self) -> bool:
        """True when the syntax can carry named graphs."""
        return bool(self.oxigraph.supports_datasets)


RESULTS_JSON: Final = ResultsFormat("json", "application/sparql-results+json")
RESULTS_XML: Final = ResultsFormat("xml", "application/sparql-results+xml")
RESULTS_CSV: Final = ResultsFormat("csv", "text/csv")
RESULTS_TSV: Final = ResultsFormat("tsv", "text/tab-separated-values")
#: A table for people (as Jena's ``text`` output): no standard, never chosen over the others by a
#: wildcard, asked for by name (``text/plain``, ``format=text``).
RESULTS_TEXT: Final = ResultsFormat("text", "text/plain")
RESULTS_FORMATS: Final = (RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV, RESULTS_TEXT)

TURTLE: Final = RdfSyntax("turtle", "text/turtle", ox.RdfFormat.TURTLE, (".ttl",))
NTRIPLES: Final = RdfSyntax("ntriples", "application/n-triples", ox.RdfFormat.N_TRIPLES, (".nt",))
JSONLD: Final = RdfSyntax(
    "jsonld", "application/ld+json", ox.RdfFormat.JSON_LD, (".jsonld", ".json-ld")
)
RDFXML: Final = RdfSyntax(
    "rdfxml", "application/rdf+xml", ox.RdfFormat.RDF_XML, (".rdf", ".owl", ".xml")
)
TRIG: Final = RdfSyntax("trig", "application/trig", ox.RdfFormat.TRIG, (".trig",))
NQUADS: Final = RdfSyntax("nquads", "application/n-quads", ox.RdfFormat.N_QUADS, (".nq",))
RDF_SYNTAXES: Final = (TURTLE, NTRIPLES, JSONLD, RDFXML, TRIG, NQUADS)

#: Media types seen in the wild, and the format each means in a SPARQL answer.
RESULTS_MEDIA_ALIASES: Final = {
    "application/json": RESULTS_JSON,
    "application/xml": RESULTS_XML,
    "text/xml": RESULTS_XML,
}
#: Media types seen in the wild for the RDF syntaxes.
RDF_MEDIA_ALIASES: Final = {
    "application/x-turtle": TURTLE,
    "text/n3": TURTLE,
    "text/plain": NTRIPLES,
    "application/json": JSONLD,
    "application/xml": RDFXML,
    "text/xml": RDFXML,
    "application/x-trig": TRIG,
    "text/x-nquads": NQUADS,
}
#: Short names of formats (``?format=``, as SPARQLWrapper and people write them): the results
#: format and the RDF syntax each names, for SELECT/ASK and for graphs.
FORMAT_NAMES: Final[dict[str, tuple[ResultsFormat | None, RdfSyntax | None]]] = {
    "jsonld": (None, JSONLD),
    "json-ld": (None, JSONLD),
    "turtle": (None, TURTLE),
    "ttl": (None, TURTLE),
    "n3": (None, TURTLE),
    "ntriples": (None, NTRIPLES),
    "n-triples": (None, NTRIPLES),
    "nt": (None, NTRIPLES),
    "rdfxml": (None, RDFXML),
    "rdf+xml": (None, RDFXML),
    "rdf": (None, RDFXML),
    "trig": (None, TRIG),
    "nquads": (None, NQUADS),
    "n-quads": (None, NQUADS),
    "nq": (None, NQUADS),
    "json": (RESULTS_JSON, JSONLD),
    "xml": (RESULTS_XML, RDFXML),
    "csv": (RESULTS_CSV, None),
    "tsv": (RESULTS_TSV, None),
    "text": (RESULTS_TEXT, NTRIPLES),
    "txt": (RESULTS_TEXT, NTRIPLES),
}


def content_type(media_type: str) -> str:
    """The ``Content-Type`` of an answer in ``media_type``: text formats say they are UTF-8 (JSON
    is UTF-8 by definition and takes no charset).

    >>> content_type("text/turtle")
    'text/turtle; charset=utf-8'
    >>> content_type("application/ld+json")
    'application/ld+json'
    """
    return media_type if media_type.endswith("json") else f"{media_type}; charset=utf-8"


def bare_media_type(value: str) -> str:
    """``'text/turtle; charset=UTF-8'`` -> ``'text/turtle'``."""
    return value.split(";", 1)[0].strip().lower()


def rdf_syntax_for_media_type(media_type: str) -> RdfSyntax:
    """The RDF syntax of a ``Content-Type`` (an alias too); raises ``UnsupportedFormat``."""
    syntax = rdf_syntax_of(media_type)
    if syntax is None:
        raise UnsupportedFormat(
            f"unsupported RDF media type {bare_media_type(media_type)!r}; use one of "
            + ", ".join(s.media_type for s in RDF_SYNTAXES)
        )
    return syntax


def rdf_syntax_for_name(name: str) -> RdfSyntax:
    """The RDF syntax a ``--format``/``format=`` value names (``turtle``, ``nt``, ``jsonld`` ...,
    or a media type); raises ``UnsupportedFormat``."""
    syntax = formats_named(name)[1]
    if syntax is None:
        raise UnsupportedFormat(
            f"unknown RDF format {name!r}; use one of " + ", ".join(s.name for s in RDF_SYNTAXES)
        )
    return syntax


def rdf_syntax_for_path(path: str) -> RdfSyntax:
    """The RDF syntax of a file, by extension; raises ``UnsupportedFormat``."""
    lower = path.lower()
    for syntax in RDF_SYNTAXES:
        if lower.endswith(syntax.extensions):
            return syntax
    known = ", ".join(ext for syntax in RDF_SYNTAXES for ext in syntax.extensions)
    raise UnsupportedFormat(
        f"cannot tell the RDF syntax of {path!r} from its extension ({known}); name it with "
        "--input-format (-i): " + ", ".join(s.name for s in RDF_SYNTAXES)
    )


def results_format_of(media_type: str) -> ResultsFormat | None:
    """The results format of a media type (an alias too), or ``None``."""
    bare = bare_media_type(media_type)
    return RESULTS_MEDIA_ALIASES.get(bare) or next(
        (f for f in RESULTS_FORMATS if f.media_type == bare), None
    )


def rdf_syntax_of(media_type: str) -> RdfSyntax | None:
    """The RDF syntax of a media type (an alias too), or ``None``."""
    bare = bare_media_type(media_type)
    return RDF_MEDIA_ALIASES.get(bare) or next(
        (s for s in RDF_SYNTAXES if s.media_type == bare), None
    )


def formats_named(value: str) -> tuple[ResultsFormat | None, RdfSyntax | None]:
    """The results format and the RDF syntax a ``format=`` value names: a short name
    (``FORMAT_NAMES``) or a media type (aliases too); ``(None, None)`` for neither.

    >>> formats_named("json")[1] is JSONLD
    True
    >>> formats_named("text/csv") == (RESULTS_CSV, None)
    True
    """
    key = bare_media_type(value)
    if key in FORMAT_NAMES:
        return FORMAT_NAMES[key]
    return results_format_of(key), rdf_syntax_of(key)


def results_format_for(name_or_media_type: str) -> ResultsFormat:
    """The results format a ``--format``/``format=`` value names (``json``, ``csv`` ..., or a
    media type); raises ``UnsupportedFormat``."""
    fmt = formats_named(name_or_media_type)[0]
    if fmt is None:
        raise UnsupportedFormat(
            f"unknown results format {name_or_media_type!r}; use one of "
            + ", ".join(f.media_type for f in RESULTS_FORMATS)
        )
    return fmt
