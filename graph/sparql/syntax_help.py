"""Syntax errors a person can act on: where, what the parser expected, and what is probably wrong.

The parser (Oxigraph's) reports the furthest position it reached and the tokens it could have read
there, mixed with character classes only a grammar writer reads. ``explain`` keeps the tokens,
shows the line with a caret under the column, and adds a hint for the usual mistakes: a prefix used
but not declared (with the declaration to add when it is one of the project's), and brackets that
are never closed or closed once too often.
"""

from __future__ import annotations

import re

from ijkg.graph.core.errors import QuerySyntaxError
from ijkg.graph.core.namespaces import PREFIXES

_POSITION = re.compile(r"^error at \d+:\d+:\s*")
_EXPECTED = re.compile(r"expected (?:one of )?(.*)$", re.DOTALL)
_KEYWORD = re.compile(r"^[A-Za-z][A-Za-z_]*$")
_DECLARED = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?:\s*<", re.IGNORECASE)
# Strings, IRIs and comments, which hide everything in them from the checks below.
_OPAQUE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*(?:"""|$)'
    r"|'''(?:[^'\\]|\\.|'(?!''))*(?:'''|$)"
    r'|"(?:[^"\\\n]|\\.)*"?'
    r"|'(?:[^'\\\n]|\\.)*'?"
    r"|<[^<>\"{}|^`\\\x00-\x20]*>"
    r"|#[^\n]*",
    re.DOTALL,
)
_PREFIXED = re.compile(r"(?<![\w?$:.\-])([A-Za-z][\w.-]*)?:(?=[\w%\\]|[\s;,.)}\]]|$)")
_OPEN = {"{": "}", "(": ")", "[": "]"}
_CLOSE = {v: k for k, v in _OPEN.items()}
_EXCERPT_WIDTH = 100


def expected_tokens(message: str) -> tuple[str, ...]:
    """The tokens a parser message says it expected, without character classes.

    >>> expected_tokens('error at 1:27: expected one of ",", ".", "}", [_], LATERAL')
    (',', '.', '}', 'LATERAL')
    """
    match = _EXPECTED.search(message)
    if match is None:
        return ()
    tokens: list[str] = []
    depth = 0
    current = ""
    quote = ""
    for char in match.group(1):
        if quote:
            current += char
            if char == quote:
                quote = ""
            continue
        if char in "\"'" and depth == 0:
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            tokens.append(current.strip())
            current = ""
            continue
        current += char
    tokens.append(current.strip())
    out: list[str] = []
    for token in tokens:
        if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
            out.append(token[1:-1])
        elif _KEYWORD.match(token):
            out.append(token)
    return tuple(dict.fromkeys(out))


def _blank_opaque(text: str) -> str:
    """``text`` with strings, IRIs and comments replaced by spaces (positions kept)."""
    return _OPAQUE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def undeclared_prefixes(text: str) -> list[str]:
    """Prefixes used in ``text`` that no ``PREFIX`` declares, in order of first use.

    >>> undeclared_prefixes('PREFIX ex: <http://e/> SELECT * { ?s ex:p "a:b" ; ijkg:q <x:y> }')
    ['ijkg']
    """
    declared = {m.group(1) or "" for m in _DECLARED.finditer(text)}
    used: list[str] = []
    for match in _PREFIXED.finditer(_blank_opaque(text)):
        name = match.group(1) or ""
        if name.upper() == "PREFIX" or name in declared or name in used:
            continue
        # "PREFIX ex:" itself is a declaration, not a use.
        before = text[: match.start()].rstrip()
        if before.upper().endswith("PREFIX"):
            continue
        used.append(name)
    return used


def unbalanced_bracket(text: str) -> str | None:
    """Describe the first bracket that is never closed, or closed without being opened."""
    stack: list[tuple[str, int]] = []
    for number, line in enumerate(_blank_opaque(text).splitlines(), start=1):
        for char in line:
            if char in _OPEN:
                stack.append((char, number))
            elif char in _CLOSE:
                if not stack or stack[-1][0] != _CLOSE[char]:
                    return f"'{char}' on line {number} closes nothing that is open"
                stack.pop()
    if stack:
        char, number = stack[-1]
        return f"the '{char}' opened on line {number} is never closed with '{_OPEN[char]}'"
    return None


def excerpt(text: str, line: int, column: int) -> str | None:
    """The line, cut around the column if long, with a caret under the column (1-based)."""
    lines = text.splitlines()
    if text.endswith(("\n", "\r")):
        lines.append("")  # the parser may stop at the very end, on the line after the last
    if not 1 <= line <= len(lines):
        return None
    content = lines[line - 1].expandtabs(1)
    offset = max(0, min(column - 1 - _EXCERPT_WIDTH // 2, len(content) - _EXCERPT_WIDTH))
    shown = content[offset : offset + _EXCERPT_WIDTH]
    caret = max(0, min(column - 1 - offset, len(shown)))
    return f"{shown}\n{' ' * caret}^"


def _prefix_hint(names: list[str]) -> str:
    parts = []
    for name in names:
        if name in PREFIXES:
            parts.append(f"add PREFIX {name}: <{PREFIXES[name]}>")
        else:
            parts.append(f"declare it with PREFIX {name}: <...>")
    listed = ", ".join(f"{n}:" for n in names)
    if len(names) == 1:
        return f"the prefix {listed} is used but not declared: {parts[0]}"
    return f"the prefixes {listed} are used but not declared: {'; '.join(parts)}"


def _shown(token: str) -> str:
    return token if _KEYWORD.match(token) else f"'{token}'"


def explain(text: str, error: QuerySyntaxError) -> QuerySyntaxError:
    """A clearer ``QuerySyntaxError`` for ``error`` raised by the parser on ``text``.

    >>> explained = explain("SELECT ?x WHERE { ?x a ijkg:Pillar }",
    ...     QuerySyntaxError("error at 1:29: expected one of Prefix not found, ['.']", 1, 29))
    >>> explained.hint
    'the prefix ijkg: is used but not declared: add PREFIX ijkg: <https://w3id.org/ijkg/ontology#>'
    >>> print(explained.excerpt)
    SELECT ?x WHERE { ?x a ijkg:Pillar }
                                ^
    """
    message = str(error)
    expected = expected_tokens(message)
    hint: str | None = None
    missing = undeclared_prefixes(text)
    if missing and ("Prefix not found" in message or not expected):
        hint = _prefix_hint(missing)
    if hint is None:
        hint = unbalanced_bracket(text)
    where = ""
    if error.line is not None:
        where = f"line {error.line}" + (f", column {error.column}" if error.column else "") + ": "
    if "Prefix not found" in message:
        detail = where + (hint or "a prefix is used without being declared")
    elif expected:
        shown = [_shown(token) for token in expected]
        detail = (
            where + "expected " + (shown[0] if len(shown) == 1 else "one of " + ", ".join(shown))
        )
    else:
        detail = where + _POSITION.sub("", message).strip()
    if hint and hint not in detail:
        detail += f" ({hint})"
    quoted = excerpt(text, error.line, error.column or 1) if error.line is not None else None
    return QuerySyntaxError(
        detail, error.line, error.column, expected=expected, excerpt=quoted, hint=hint
    )
