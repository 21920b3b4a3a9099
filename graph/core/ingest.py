"""Terms the graph refuses at the door, so that nothing stored can break a later answer.

A term that parses is not always a term the service can safely hand on: an IRI with a
``javascript:`` scheme becomes a link in every page that shows it; bidirectional-text controls in
an IRI make it display as another IRI; an integer of 100,000 digits cannot be converted by Python
(which caps int parsing at 4,300 digits) nor sorted cheaply. Every write path checks the quads it
adds with ``check_terms`` before anything is validated or stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import pyoxigraph as ox

from ijkg.graph.core.errors import BadRequest

#: IRI schemes the graph accepts (everything the sources and standard vocabularies use).
SCHEMES = frozenset({"http", "https", "urn", "mailto", "tag", "doi", "info", "geo"})
MAX_IRI_CHARS = 4096
MAX_LITERAL_CHARS = 1_000_000
MAX_NUMBER_CHARS = 100  # digits and signs of an xsd numeric literal
_XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMERIC = frozenset(
    _XSD + t
    for t in [
        "integer",
        "decimal",
        "double",
        "float",
        "long",
        "int",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "negativeInteger",
        "nonPositiveInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    ]
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# Bidirectional formatting (RFC 3987 section 4.1 forbids them in IRIs), zero-width characters.
_INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
# What of ASCII the check refuses (control characters, the space): an ASCII IRI, nearly every
# one, is searched at C speed, and only a refused character reaches the loop that names it.
_ASCII_REFUSED = re.compile(r"[\x00-\x20\x7f]")


class PoisonTerm(BadRequest):
    """A term the graph refuses to store (see the module docstring)."""


def _check_iri(iri: str) -> str | None:
    if len(iri) > MAX_IRI_CHARS:
        return f"an IRI of {len(iri):,} characters (the limit is {MAX_IRI_CHARS:,})"
    match = _SCHEME.match(iri)
    if match is None:
        return f"<{iri[:80]}> is not an absolute IRI"
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        return (
            f"<{iri[:80]}>: the IRI scheme {scheme!r} is not accepted (use one of "
            + ", ".join(sorted(SCHEMES))
            + ")"
        )
    chars: str = iri
    if iri.isascii():
        refused = _ASCII_REFUSED.search(iri)
        chars = refused.group() if refused else ""
    for char in chars:
        if char in _INVISIBLE or unicodedata.category(char) in ("Cc", "Zs", "Zl", "Zp"):
            return f"<{iri[:80]}> contains the invisible or control character U+{ord(char):04X}"
    return None


def _check_literal(literal: ox.Literal) -> str | None:
    value = literal.value
    if len(value) > MAX_LITERAL_CHARS:
        return f"a literal of {len(value):,} characters (the limit is {MAX_LITERAL_CHARS:,})"
    if literal.datatype.value in _NUMERIC and len(value.strip()) > MAX_NUMBER_CHARS:
        return f"a number of {len(value):,} characters (the limit is {MAX_NUMBER_CHARS})"
    if "\x00" in value:
        return "a literal with a NUL character"
    return None


def problem_with(term: object) -> str | None:
    """Why ``term`` is refused, or ``None``."""
    if isinstance(term, ox.NamedNode):
        return _check_iri(term.value)
    if isinstance(term, ox.Literal):
        return _check_literal(term) or _check_iri(term.datatype.value)
    if isinstance(term, ox.Triple):
        return "quoted triples are not accepted"
    return None


def check_terms(quads: Iterable[ox.Quad]) -> None:
    """Raise ``PoisonTerm`` naming the first few refused terms, if any."""
    problems: list[str] = []
    for quad in quads:
        for term in (quad.subject, quad.predicate, quad.object, quad.graph_name):
            problem = problem_with(term)
            if problem is not None and problem not in problems:
                problems.append(problem)
        if len(problems) >= 5:
            break
    if problems:
        raise PoisonTerm("refused: " + "; ".join(problems))
