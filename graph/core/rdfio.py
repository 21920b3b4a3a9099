"""Reading RDF that users submit: any supported syntax, safely, with errors that say where.

Parsing is pyoxigraph's (fast, and its errors carry line and column). Before the parser runs, the
input is checked for what parsers do badly with: RDF/XML DOCTYPEs (entity expansion), JSON-LD
remote contexts (a fetch), and nesting deep enough to exhaust a parser's stack.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import pyoxigraph as ox

from ijkg.graph.core.errors import RdfSyntaxError
from ijkg.graph.core.formats import JSONLD, RDFXML, RdfSyntax

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MAX_NESTING = 256
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True)
class ParseOptions:
    """How to read one input."""

    syntax: RdfSyntax
    base_iri: str | None = None
    # Where triples outside any named graph go (Turtle, N-Triples, RDF/XML, JSON-LD without
    # @graph names). ``None`` keeps them in the default graph.
    default_graph: str | None = None
    # Refuse named graphs in the input (a single-graph write such as Graph Store PUT).
    single_graph: bool = False
    source: str | None = None  # a file name, for messages


def _location(exc: SyntaxError) -> tuple[int | None, int | None]:
    details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], tuple) else ()
    line = details[1] if len(details) > 1 else None
    column = details[2] if len(details) > 2 else None
    return line, column


def _message(exc: SyntaxError) -> str:
    message = str(exc.args[0]) if exc.args else str(exc)
    # "Parser error at line 3 column 1: Unexpected end" -> "Unexpected end"
    return re.sub(r"^Parser error (at|between) [^:]*: ", "", message)


def _max_nesting(data: bytes) -> int:
    """Deepest bracket nesting outside strings (good enough to refuse stack bombs early)."""
    depth = deepest = 0
    in_string: int | None = None
    escaped = False
    for byte in data:
        if in_string is not None:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == in_string:
                in_string = None
            continue
        if byte in (0x22, 0x27):  # " '
            in_string = byte
        elif byte in (0x5B, 0x7B, 0x28):  # [ { (
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D, 0x29):
            depth -= 1
    return deepest


def precheck(data: bytes, options: ParseOptions) -> None:
    """Refuse input that is unsafe to hand to a parser. Raises ``RdfSyntaxError``."""
    if options.syntax is RDFXML and _DOCTYPE.search(data):
        raise RdfSyntaxError(
            "RDF/XML with a DOCTYPE or entity declarations is refused (entity expansion)",
            source=options.source,
        )
    if options.syntax is not RDFXML:
        depth = _max_nesting(data)
        if depth > MAX_NESTING:
            raise RdfSyntaxError(
                f"brackets nest {depth} deep; the limit is {MAX_NESTING}", source=options.source
            )


class _CountingReader(io.RawIOBase):
    """Feeds bytes to the parser and reports how far it has read (for progress bars)."""

    def __init__(self, data: bytes, progress: Callable[[int], None]) -> None:
        self._data = memoryview(data)
        self._position = 0
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        n = min(len(target), len(self._data) - self._position)
        target[:n] = self._data[self._position : self._position + n]
        self._position += n
        self._progress(n)
        return n


def iter_quads(
    data: bytes, options: ParseOptions, *, progress: Callable[[int], None] | None = None
) -> Iterator[ox.Quad]:
    """Parse ``data``, yielding quads as they are read. Raises ``RdfSyntaxError``.

    Blank-node labels are replaced by fresh ones, so two submissions never share a blank node.
    ``progress`` is called with the number of bytes read, as the parser reads them.
    """
    precheck(data, options)
    target = ox.NamedNode(options.default_graph) if options.default_graph else None
    source: bytes | IO[bytes] = data
    if progress is not None:
        source = io.BufferedReader(_CountingReader(data, progress), buffer_size=1 << 20)
    try:
        for quad in ox.parse(
            input=source,
            format=options.syntax.oxigraph,
            base_iri=options.base_iri,
            rename_blank_nodes=True,
            without_named_graphs=options.single_graph,
        ):
            if target is not None and isinstance(quad.graph_name, ox.DefaultGraph):
                yield ox.Quad(quad.subject, quad.predicate, quad.object, target)
            else:
                yield quad
    except SyntaxError as exc:
        line, column = _location(exc)
        message = _message(exc)
        if options.syntax is JSONLD and "remote context" in message:
            message = "remote JSON-LD contexts are refused: inline the @context"
        raise RdfSyntaxError(message, line, column, options.source) from None


def write_nquads(quads: Iterable[ox.Quad]) -> bytes:
    """Quads as N-Quads, blank-node labels kept: the text the store's log, its snapshots and the
    change history hold (``read_nquads`` reads it back)."""
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b""


def read_nquads(data: bytes) -> list[ox.Quad]:
    """N-Quads written by ``write_nquads``, blank-node labels kept. Unlike ``parse_quads`` (RDF
    that users submit), the text is trusted: no checks before the parser."""
    if not data:
        return []
    return list(ox.parse(input=data, format=ox.RdfFormat.N_QUADS))


def parse_quads(data: bytes, options: ParseOptions) -> list[ox.Quad]:
    """Parse all of ``data``. Raises ``RdfSyntaxError``."""
    return list(iter_quads(data, options))


_PREFIX_DECL = re.compile(r"(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)


def find_line(text: str, iri: str) -> int | None:
    """The first line of ``text`` that mentions ``iri`` (in full or as a prefixed name)."""
    patterns = [re.escape(f"<{iri}>"), re.escape(f'"{iri}"')]
    for prefix, namespace in _PREFIX_DECL.findall(text):
        if namespace and iri.startswith(namespace) and len(iri) > len(namespace):
            # a prefixed name ends where name characters end
            patterns.append(re.escape(f"{prefix}:{iri[len(namespace) :]}") + r"(?![\w:%-])")
    mention = re.compile("|".join(patterns))
    for number, line in enumerate(text.splitlines(), start=1):
        if mention.search(line) and not _PREFIX_DECL.search(line):
            return number
    return None
