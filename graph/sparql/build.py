"""Building SPARQL from values that came from outside: entity references, strings, IRIs.

Nothing a client sends is pasted into a query as it is. Entity references are checked against the
entity IRI pattern (``https://w3id.org/ijkg/id/{kind}/{slug}``, as shape S45 says); other IRIs are
refused when they hold a character that could end an ``<...>`` (or that SPARQL does not allow in
one); strings are written as SPARQL string literals with every character that could end or break
one escaped.
"""

from __future__ import annotations

import re
from typing import Final

from ijkg.graph.core.errors import BadRequest, NotFound
from ijkg.graph.core.namespaces import ID_BASE

#: ``{kind}``: lower-case letters; ``{slug}``: kebab-case (shape S45).
KIND_PATTERN: Final = re.compile(r"[a-z]+")
SLUG_PATTERN: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
ENTITY_IRI_PATTERN: Final = re.compile(
    re.escape(ID_BASE) + r"(?P<kind>[a-z]+)/(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)"
)
MAX_SLUG_LENGTH: Final = 200
# Characters SPARQL's IRIREF does not allow between < and >.
_IRI_FORBIDDEN: Final = re.compile(r'[<>"{}|^`\\\x00-\x20]')


class InvalidReference(BadRequest):
    """A value that should name an entity does not have the form of an entity IRI."""


def is_entity_iri(iri: str) -> bool:
    """Whether ``iri`` has the form of an entity IRI.

    >>> is_entity_iri("https://w3id.org/ijkg/id/pillar/health")
    True
    >>> is_entity_iri("https://w3id.org/ijkg/id/pillar/Health"), is_entity_iri("http://x/a")
    (False, False)
    """
    return ENTITY_IRI_PATTERN.fullmatch(iri) is not None and len(iri) <= len(ID_BASE) + 250


def entity_path_iri(kind: str, slug: str) -> str:
    """The IRI that ``/id/{kind}/{slug}`` names; ``NotFound`` when it cannot be an entity IRI
    (a request for ``/id/Pillar/x`` or ``/id/pillar/a b`` names nothing this service could hold).

    >>> entity_path_iri("pillar", "health")
    'https://w3id.org/ijkg/id/pillar/health'
    >>> entity_path_iri("pillar", "x> } ; DROP ALL #")
    Traceback (most recent call last):
    ...
    ijkg.graph.core.errors.NotFound: no entity has the IRI ...
    """
    if (
        KIND_PATTERN.fullmatch(kind) is None
        or SLUG_PATTERN.fullmatch(slug) is None
        or len(kind) > 50
        or len(slug) > MAX_SLUG_LENGTH
    ):
        raise NotFound(
            f"no entity has the IRI {ID_BASE}{kind}/{slug}: entity IRIs are "
            f"{ID_BASE}{{kind}}/{{slug}} with a lower-case kind and a kebab-case slug"
        )
    return f"{ID_BASE}{kind}/{slug}"


def parse_entity_ref(value: str, *, name: str = "value") -> str:
    """An entity given as its full IRI or as ``kind/slug``; ``InvalidReference`` otherwise.

    >>> parse_entity_ref("pillar/health")
    'https://w3id.org/ijkg/id/pillar/health'
    >>> parse_entity_ref("https://w3id.org/ijkg/id/state/japan")
    'https://w3id.org/ijkg/id/state/japan'
    >>> parse_entity_ref('state/japan> ?p ?o } #', name="actor")
    Traceback (most recent call last):
    ...
    ijkg.graph.sparql.build.InvalidReference: actor: ...
    """
    text = value.strip()
    iri = text if text.startswith(ID_BASE) else ID_BASE + text
    if not is_entity_iri(iri):
        raise InvalidReference(
            f"{name}: {value!r} is not an entity; give its IRI ({ID_BASE}{{kind}}/{{slug}}) "
            "or kind/slug, e.g. pillar/health"
        )
    return iri


def sparql_iri(iri: str) -> str:
    """``<iri>`` for a query; ``ValueError`` when ``iri`` could break out of the brackets.

    >>> sparql_iri("https://w3id.org/ijkg/ontology#Pillar")
    '<https://w3id.org/ijkg/ontology#Pillar>'
    >>> sparql_iri("http://x/> } DROP ALL")
    Traceback (most recent call last):
    ...
    ValueError: not a safe IRI: 'http://x/> } DROP ALL'
    """
    if not iri or _IRI_FORBIDDEN.search(iri) or ":" not in iri:
        raise ValueError(f"not a safe IRI: {iri!r}")
    return f"<{iri}>"


def sparql_string(value: str) -> str:
    """A SPARQL string literal holding exactly ``value``.

    Quotes, backslashes, line breaks and every other control character are escaped, so no input
    ends the literal early; lone surrogates (which no RDF literal may hold) are refused.

    >>> sparql_string('say "hi"\\n\\\\')
    '"say \\\\"hi\\\\"\\\\n\\\\\\\\"'
    >>> sparql_string("a\\x00b")
    '"a\\\\u0000b"'
    """
    out = ['"']
    for char in value:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            raise InvalidReference("text with an unpaired surrogate cannot be searched for")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
