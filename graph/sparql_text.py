"""A light lexical pass over SPARQL text, run before the real parser ever sees it.

It decodes ``\\u``/``\\U`` escapes the way SPARQL does before parsing (so ``\\u0053ERVICE`` is
``SERVICE``), measures bracket nesting (deep nesting crashes some parsers), and lists the keywords
and ``FROM`` graph names outside strings, IRIs and comments. It never evaluates anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ijkg.graph.errors import QuerySyntaxError, QueryTooLarge

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_IRI = re.compile(r'<([^<>"{}|^`\\\x00-\x20]*)>')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_\-.:\u00b7\u00c0-\U000effff]")


def decode_escapes(text: str) -> str:
    """Apply SPARQL's codepoint escapes (section 19.2 of SPARQL 1.1 Query)."""

    def replace(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise QuerySyntaxError(f"invalid escape {match.group(0)}: not a Unicode scalar value")
        return chr(code)

    return _ESCAPE.sub(replace, text)


@dataclass
class Scan:
    """What the lexical pass found."""

    keywords: list[str] = field(default_factory=list)  # upper-cased, in order
    max_depth: int = 0
    # (keyword, IRI) for FROM / FROM NAMED / USING / USING NAMED / WITH / INTO / GRAPH <iri>
    graph_iris: list[tuple[str, str]] = field(default_factory=list)


def scan(text: str) -> Scan:
    """Tokenise just enough of ``text`` (already escape-decoded) to find keywords and nesting."""
    result = Scan()
    depth = 0
    i = 0
    n = len(text)
    last_words: list[str] = []
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if c in "\"'":
            i = _skip_string(text, i)
            continue
        if c == "<":
            match = _IRI.match(text, i)
            if match:
                iri = match.group(1)
                role = _graph_role(last_words)
                if role:
                    result.graph_iris.append((role, iri))
                last_words = []
                i = match.end()
                continue
            i += 1
            continue
        if c in "({[":
            depth += 1
            result.max_depth = max(result.max_depth, depth)
            last_words = []
            i += 1
            continue
        if c in ")}]":
            depth -= 1
            last_words = []
            i += 1
            continue
        if c in "?$@" or (c == "_" and i + 1 < n and text[i + 1] == ":"):
            # variable, language tag or blank node label: skip the name
            i += 1
            while i < n and _NAME_CHAR.match(text[i]):
                i += 1
            continue
        match = _WORD.match(text, i)
        if match:
            end = match.end()
            # A prefixed name (ex:SERVICE, SERVICE:x) or a longer name is not a keyword.
            if (
                end < n
                and text[end] in ":-.\u00b7"
                and end + 1 <= n
                and (text[end] == ":" or (end + 1 < n and _NAME_CHAR.match(text[end + 1])))
            ):
                i = end
                while i < n and _NAME_CHAR.match(text[i]):
                    i += 1
                last_words = []
                continue
            word = match.group(0).upper()
            result.keywords.append(word)
            last_words = [*last_words[-1:], word]
            i = end
            continue
        if not c.isspace():
            last_words = []
        i += 1
    return result


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


def _skip_string(text: str, i: int) -> int:
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = i + 3
        while True:
            end = text.find(quote * 3, end)
            if end < 0:
                return len(text)
            # an escaped quote just before the closing triple does not close it
            backslashes = len(text[:end]) - len(text[:end].rstrip("\\"))
            if backslashes % 2 == 0:
                return end + 3
            end += 1
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
