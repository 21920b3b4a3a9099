"""Text from the service or the store, made safe to print on a curator's terminal.

Titles, descriptions, authors and data are written by other people. Printed as they are, a title
could carry terminal escape sequences (``ESC [ ...``: colours, cursor moves, window titles,
hyperlinks; or the 8-bit CSI, U+009B), bidirectional overrides (U+202E shows text reversed),
or line breaks that forge extra lines of output; and ``rich`` would read ``[bold red]...[/]`` in
it as markup. ``printable`` shows every such character as a visible escape instead; print its
result with ``markup=False`` (or through ``rich.text.Text``).
"""

from __future__ import annotations

import unicodedata

#: Categories shown escaped: controls (C0, DEL, C1), format characters (bidirectional controls,
#: invisible characters), lone surrogates, line and paragraph separators.
_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Format characters that are part of ordinary text: the zero-width joiner of emoji sequences.
_KEPT = frozenset({"\u200d"})


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control, format and separator character shown as an escape (line
    breaks kept when ``multiline``).

    >>> printable("ok \\x1b[2J\\u202egnp.exe")
    'ok \\\\x1b[2J\\\\u202egnp.exe'
    >>> printable("two\\nlines"), printable("two\\nlines", multiline=True)
    ('two\\\\x0alines', 'two\\nlines')
    >>> printable("Japan 🇯🇵 and family 👩\\u200d👧")
    'Japan 🇯🇵 and family 👩\\u200d👧'
    """
    out = []
    for char in text:
        if multiline and char == "\n":
            out.append(char)
        elif char not in _KEPT and unicodedata.category(char) in _ESCAPED:
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)


__all__ = ["printable"]
