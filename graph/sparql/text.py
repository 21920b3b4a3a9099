"""A light lexical pass over SPARQL text, run before the real parser ever sees it.

It decodes ``\\u``/``\\U`` escapes the way SPARQL does before parsing (so ``\\u0053ERVICE`` is
``SERVICE``), tokenises the text (strings, IRIs, prefixed names, variables, brackets; comments
dropped), measures bracket nesting (deep nesting crashes some parsers), and lists the keywords and
``FROM`` graph names. It never evaluates anything; the update planner builds on the tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import pyoxigraph as ox

from ijkg.graph.core.errors import QueryRefused, QuerySyntaxError, QueryTooLarge

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_IRI = re.compile(r'<([^<>"{}|^`\\\x00-\x20]*)>')
_NAME_CHAR = re.compile(r"[A-Za-z0-9_\-.:%\\\u00b7\u00c0-\U000effff]")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_NAME_START = re.compile(r"[A-Za-z_:\u00c0-\U000effff]")

Kind = Literal[
    "word", "pname", "iri", "var", "bnode", "string", "lang", "number", "open", "close", "punct"
]


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str  # as written (a word is upper-cased in ``value``)
    start: int
    end: int

    @property
    def value(self) -> str:
        if self.kind == "word":
            return self.text.upper()
        if self.kind == "iri":
            return self.text[1:-1]
        return self.text


def decode_escapes(text: str) -> str:
    """Apply SPARQL's codepoint escapes (section 19.2 of SPARQL 1.1 Query)."""

    def replace(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise QuerySyntaxError(f"invalid escape {match.group(0)}: not a Unicode scalar value")
        return chr(code)

    return _ESCAPE.sub(replace, text)


def _string_end(text: str, i: int) -> int:
    quote = text[i]
    if text.startswith(quote * 3, i):
        j = i + 3
        while j < len(text):
            if text[j] == "\\":
                j += 2
                continue
            if text.startswith(quote * 3, j):
                return j + 3
            j += 1
        return len(text)
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == quote or ch == "\n":
            return j + 1
        j += 1
    return j


def _name_end(text: str, i: int) -> int:
    n = len(text)
    while i < n and _NAME_CHAR.match(text[i]):
        i += 1
    # a name never ends with '.': that dot ends the triple
    while text[i - 1] == ".":
        i -= 1
    return i


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` (escape-decoded SPARQL), without comments and whitespace."""
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    """``tokenize``, one token at a time: a reader that needs only the first few (the form of a
    query after its prologue) does not tokenise the rest."""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        start = i
        kind: Kind
        if c in "\"'":
            i, kind = _string_end(text, i), "string"
        elif c == "<" and (match := _IRI.match(text, i)):
            i, kind = match.end(), "iri"
        elif c in "({[":
            i, kind = i + 1, "open"
        elif c in ")}]":
            i, kind = i + 1, "close"
        elif c in "?$" and i + 1 < n and _NAME_CHAR.match(text[i + 1]):
            i, kind = _name_end(text, i + 1), "var"
        elif c == "@" and i + 1 < n and text[i + 1].isalpha():
            i, kind = _name_end(text, i + 1), "lang"
        elif c == "_" and text.startswith("_:", i):
            i, kind = _name_end(text, i + 2), "bnode"
        elif (match := _NUMBER.match(text, i)) and (c.isdigit() or match.end() > i + 1):
            i, kind = match.end(), "number"
        elif _NAME_START.match(c):
            i = _name_end(text, i)
            kind = "pname" if ":" in text[start:i] else "word"
        elif text.startswith(("^^", "&&", "||", "!=", "<=", ">="), i):
            i, kind = i + 2, "punct"
        else:
            i, kind = i + 1, "punct"
        yield Token(kind, text[start:i], start, i)


@dataclass
class Scan:
    """What the lexical pass found."""

    keywords: list[str] = field(default_factory=list)  # upper-cased, in order
    max_depth: int = 0
    # (keyword, IRI) for FROM / FROM NAMED / USING / USING NAMED / WITH / INTO / GRAPH <iri>
    graph_iris: list[tuple[str, str]] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)


def _graph_role(words: list[str]) -> str | None:
    """``FROM``, ``FROM NAMED``, ``USING NAMED``, ``INTO GRAPH`` ... for the IRI after ``words``."""
    if not words:
        return None
    last = words[-1]
    before = words[-2] if len(words) > 1 else ""
    if last == "NAMED" and before in ("FROM", "USING"):
        return f"{before} NAMED"
    if last == "GRAPH" and before == "INTO":
        return "INTO GRAPH"
    if last in ("FROM", "USING", "WITH", "GRAPH"):
        return last
    return None


def scan(text: str) -> Scan:
    """Tokenise ``text`` (already escape-decoded) and find keywords, nesting and graph IRIs."""
    result = Scan(tokens=tokenize(text))
    depth = 0
    last_words: list[str] = []
    for token in result.tokens:
        if token.kind == "word":
            result.keywords.append(token.value)
            last_words = [*last_words[-1:], token.value]
            continue
        if token.kind == "iri":
            role = _graph_role(last_words)
            if role:
                result.graph_iris.append((role, token.value))
        elif token.kind == "open":
            depth += 1
            result.max_depth = max(result.max_depth, depth)
        elif token.kind == "close":
            depth -= 1
        last_words = []
    return result


def check_limits(text: str, *, max_bytes: int, max_depth: int) -> tuple[str, Scan]:
    """Decode escapes and enforce the size and nesting limits; returns the decoded text and scan.

    Raises ``QueryTooLarge`` over a limit.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise QueryTooLarge(f"the query is {size:,} bytes; the limit is {max_bytes:,}")
    decoded = decode_escapes(text)
    result = scan(decoded)
    if result.max_depth > max_depth:
        raise QueryTooLarge(
            f"the query nests brackets {result.max_depth} deep; the limit is {max_depth}"
        )
    return decoded, result


def query_form(text: str) -> str | None:
    """``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``: the form of a query (after its prologue),
    or ``None`` when the text does not start like a query.

    >>> query_form("PREFIX ex: <http://e/> CONSTRUCT WHERE { ?s ?p ?o }")
    'CONSTRUCT'
    """
    for token in iter_tokens(text):
        if token.kind == "word" and token.value in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
            return token.value
        if token.kind == "word" and token.value not in ("PREFIX", "BASE"):
            return None
    return None


#: Schemes of graph names a dataset may use. Graphs of this store are named with these.
GRAPH_NAME_SCHEMES = ("http", "https", "urn", "tag")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def check_graph_name(iri: str, role: str, *, relative: bool = False) -> None:
    """Refuse a dataset graph name that is not an absolute IRI in one of ``GRAPH_NAME_SCHEMES``.

    ``role`` says where it came from (``FROM``, ``default-graph-uri`` ...) for the message;
    ``relative`` allows a relative reference (in a query, resolved against its base IRI).

    >>> check_graph_name("http://127.0.0.1:9/g", "FROM")  # a name, never fetched: fine
    >>> check_graph_name("data.ttl", "FROM", relative=True)
    >>> check_graph_name("file:///etc/passwd", "default-graph-uri")
    Traceback (most recent call last):
    ...
    ijkg.graph.core.errors.QueryRefused: default-graph-uri <file:///etc/passwd> is refused: ...
    """
    match = _SCHEME.match(iri)
    if match is None:
        if relative:
            return
        raise QueryRefused(f"{role} <{iri}> is refused: a graph name must be an absolute IRI")
    if match.group(1).lower() not in GRAPH_NAME_SCHEMES:
        raise QueryRefused(
            f"{role} <{iri}> is refused: graph names are {'/'.join(GRAPH_NAME_SCHEMES)} IRIs "
            "of graphs in this store, and are never fetched"
        )
    try:
        ox.NamedNode(iri)
    except ValueError as exc:
        raise QueryRefused(f"{role} <{iri}> is not a valid IRI: {exc}") from None
