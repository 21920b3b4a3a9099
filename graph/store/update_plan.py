"""SPARQL 1.1 Update as a plan: the steps of an update request, read from its text.

Every write goes through the validation gate, so an update is not executed on the store: its
effect is computed first (``ijkg.graph.store.effects``: the quads it would remove and add, each
operation seeing the effect of the ones before it), validated, and only then committed like any
other change. This module turns the text into steps that computation interprets, the same for
every store: data steps, pattern steps (whose ``WHERE`` runs as a ``SELECT`` and whose templates
are instantiated with its solutions), clearing a graph and copying one into another.

Graphs: the default graph a query reads is the union of all graphs. In an update, triples written
without ``GRAPH`` (and without ``WITH``) go to the write graph (``IJKG_WRITE_GRAPH``); triples
deleted without ``GRAPH`` are deleted from every graph that holds them, so they are gone from the
union. ``CLEAR DEFAULT`` therefore clears every graph, like ``CLEAR ALL``. ``COPY DEFAULT TO g``
and ``ADD DEFAULT TO g`` copy the union as it was before ``g`` is cleared; ``... TO DEFAULT`` and
``MOVE DEFAULT TO g`` are refused (the union cannot be written as one graph, nor emptied into
one of its own graphs); the same graph on both sides does nothing. ``LOAD`` is refused: the
service never fetches. ``CREATE`` does nothing (graphs exist while they hold triples).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin

import pyoxigraph as ox

from ijkg.graph.core.errors import QueryRefused, QuerySyntaxError
from ijkg.graph.sparql.text import Token, tokenize

VARIABLE = "urn:x-ijkg-template-variable:"

GraphRef = str | Literal["DEFAULT", "NAMED", "ALL"]


@dataclass
class PatternStep:
    """``DELETE {..} INSERT {..} WHERE {..}`` (and ``DELETE WHERE``)."""

    prologue: str
    where: str
    default_graphs: list[str] | None
    named_graphs: list[str] | None
    delete: list[ox.Quad]
    insert: list[ox.Quad]
    kind: Literal["pattern"] = "pattern"

    @property
    def select(self) -> str:
        """The WHERE as a query: its solutions instantiate the templates."""
        return f"{self.prologue}SELECT * WHERE {self.where}"

    def bounded_select(self, limit: int) -> str:
        """The WHERE as a query of only what the templates use, at most ``limit`` solutions.

        Solutions that differ only in variables the templates do not use instantiate the same
        quads, so they are asked for once (``DISTINCT``) — unless the INSERT template has blank
        nodes, which are new for every solution. Asking for at most ``limit`` lets an update
        whose effect is too large be refused after ``limit`` solutions, not all of them.
        """
        used = sorted({name for quad in self.delete + self.insert for name in _variables(quad)})
        fresh = any(_has_blank_node(quad) for quad in self.insert)
        if fresh:
            head = "SELECT *"
        elif used:
            head = "SELECT DISTINCT " + " ".join(f"?{name}" for name in used)
        else:
            head, limit = "SELECT *", 1  # every solution instantiates the same quads
        return f"{self.prologue}{head} WHERE {self.where} LIMIT {limit}"


@dataclass
class DataStep:
    """``INSERT DATA`` / ``DELETE DATA``."""

    delete: list[ox.Quad] = field(default_factory=list)
    insert: list[ox.Quad] = field(default_factory=list)
    kind: Literal["data"] = "data"


@dataclass
class ClearStep:
    """``CLEAR``/``DROP`` of a graph, the default graph, all named graphs or everything."""

    target: GraphRef
    kind: Literal["clear"] = "clear"


@dataclass
class CopyStep:
    """``ADD``, ``COPY`` (``replace``) and the copying part of ``MOVE``: all of ``source`` into
    ``target``. With ``replace``, ``target`` is cleared first, after ``source`` has been read
    (the default graph as a source holds ``target`` too)."""

    source: GraphRef
    target: str
    replace: bool = False
    kind: Literal["copy"] = "copy"


Step = PatternStep | DataStep | ClearStep | CopyStep


# --- planning ----------------------------------------------------------------------------------


class _Reader:
    """Walks the tokens of one update request."""

    def __init__(self, text: str, base: str | None = None) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.prefixes: dict[str, str] = {}
        self.base: str | None = base

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def peek_word(self, offset: int = 0) -> str | None:
        token = self.peek(offset)
        return token.value if token is not None and token.kind == "word" else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("the update ends too early")
        self.i += 1
        return token

    def expect_word(self, *words: str) -> str:
        token = self.next()
        if token.kind != "word" or token.value not in words:
            raise QuerySyntaxError(f"expected {' or '.join(words)} at {_where(self.text, token)}")
        return token.value

    def accept_word(self, word: str) -> bool:
        if self.peek_word() == word:
            self.i += 1
            return True
        return False

    def iri(self) -> str:
        token = self.next()
        if token.kind == "iri":
            return self._resolve(token.value)
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            if prefix not in self.prefixes:
                raise QuerySyntaxError(f"undeclared prefix {prefix}: at {_where(self.text, token)}")
            return self.prefixes[prefix] + local.replace("\\", "")
        raise QuerySyntaxError(f"expected an IRI at {_where(self.text, token)}")

    def _resolve(self, iri: str) -> str:
        if self.base is None or ":" in iri.split("/", 1)[0]:
            return iri
        return urljoin(self.base, iri)

    def block(self) -> tuple[int, int]:
        """The character span of the ``{ ... }`` block at the cursor, braces included."""
        opening = self.next()
        if opening.text != "{":
            raise QuerySyntaxError(f"expected {{ at {_where(self.text, opening)}")
        depth = 1
        while depth:
            token = self.next()
            if token.kind == "open":
                depth += 1
            elif token.kind == "close":
                depth -= 1
        return opening.start, self.tokens[self.i - 1].end

    def prologue(self) -> None:
        while True:
            word = self.peek_word()
            if word == "PREFIX":
                self.i += 1
                name = self.next()
                if name.kind != "pname" or not name.text.endswith(":"):
                    raise QuerySyntaxError(f"expected a prefix name at {_where(self.text, name)}")
                self.prefixes[name.text[:-1]] = self.iri()
            elif word == "BASE":
                self.i += 1
                self.base = self.iri()
            else:
                return

    def prologue_text(self) -> str:
        lines = [f"BASE <{self.base}>"] if self.base else []
        lines += [f"PREFIX {p}: <{iri}>" for p, iri in self.prefixes.items()]
        return "\n".join(lines) + "\n"

    def turtle_prologue(self) -> str:
        lines = [f"@base <{self.base}> ."] if self.base else []
        lines += [f"@prefix {p}: <{iri}> ." for p, iri in self.prefixes.items()]
        return "\n".join(lines) + "\n"


def _where(text: str, token: Token) -> str:
    line = text.count("\n", 0, token.start) + 1
    column = token.start - (text.rfind("\n", 0, token.start) + 1) + 1
    return f"line {line}, column {column} ({token.text!r})"


def _template_trig(reader: _Reader, span: tuple[int, int], *, variables: bool) -> str:
    """The inside of a quad block as TriG: variables become placeholder IRIs, and the dots that
    SPARQL lets one leave out before ``GRAPH`` are put back."""
    start, end = span
    parts: list[str] = []
    depth = 0
    last_at_top: Token | None = None
    inner = [t for t in reader.tokens if start < t.start and t.end < end]
    for token in inner:
        at_graph = depth == 0 and token.kind == "word" and token.value == "GRAPH"
        if at_graph and last_at_top is not None and last_at_top.text not in (".", "}"):
            parts.append(" .")
        if token.kind == "var":
            if not variables:
                raise QuerySyntaxError(
                    f"variables are not allowed in DATA blocks: {_where(reader.text, token)}"
                )
            parts.append(f" <{VARIABLE}{token.text[1:]}>")
        else:
            parts.append(" " + token.text)
        if token.kind == "open" and token.text == "{":
            depth += 1
        elif token.kind == "close" and token.text == "}":
            depth -= 1
        if depth == 0:
            last_at_top = token
    if last_at_top is not None and last_at_top.text not in (".", "}"):
        parts.append(" .")
    return reader.turtle_prologue() + "".join(parts)


def _quads(
    reader: _Reader, span: tuple[int, int], *, variables: bool, fresh: bool
) -> list[ox.Quad]:
    trig = _template_trig(reader, span, variables=variables)
    try:
        return list(
            ox.parse(input=trig.encode(), format=ox.RdfFormat.TRIG, rename_blank_nodes=fresh)
        )
    except SyntaxError as exc:
        raise QuerySyntaxError(f"malformed quads in the update: {exc}") from None


def _no_blank_nodes(quads: list[ox.Quad], what: str) -> None:
    for quad in quads:
        if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
            raise QuerySyntaxError(f"blank nodes are not allowed in {what}")


def _regraph(quads: list[ox.Quad], graph: str | None) -> list[ox.Quad]:
    """Put default-graph template quads into ``graph`` (the WITH graph), if any."""
    if graph is None:
        return quads
    name = ox.NamedNode(graph)
    return [
        ox.Quad(q.subject, q.predicate, q.object, name)
        if isinstance(q.graph_name, ox.DefaultGraph)
        else q
        for q in quads
    ]


def _graph_ref(reader: _Reader, *, allow_named_all: bool) -> GraphRef:
    word = reader.peek_word()
    if word == "DEFAULT":
        reader.i += 1
        return "DEFAULT"
    if allow_named_all and word in ("NAMED", "ALL"):
        reader.i += 1
        return "NAMED" if word == "NAMED" else "ALL"
    reader.accept_word("GRAPH")
    return reader.iri()


def plan_update(
    text: str,
    *,
    base_iri: str | None = None,
    using: tuple[list[str], list[str]] | None = None,
) -> list[Step]:
    """The steps of an update request, in order. Raises ``QuerySyntaxError``/``QueryRefused``.

    ``base_iri`` resolves relative IRIs (the protocol's request IRI); ``using`` is the dataset
    of the protocol's ``using-graph-uri``/``using-named-graph-uri`` parameters, for operations
    that name none themselves (an operation that does is an error, as the protocol says).
    """
    reader = _Reader(text, base_iri)
    steps: list[Step] = []
    while True:
        reader.prologue()
        if reader.peek() is None:
            break
        word = reader.peek_word()
        if word == "LOAD":
            raise QueryRefused(
                "LOAD is refused: this service never fetches data from the web or disk"
            )
        if word in ("CLEAR", "DROP"):
            reader.i += 1
            reader.accept_word("SILENT")
            steps.append(ClearStep(_graph_ref(reader, allow_named_all=True)))
        elif word == "CREATE":
            reader.i += 1
            reader.accept_word("SILENT")
            reader.expect_word("GRAPH")
            reader.iri()
        elif word in ("ADD", "MOVE", "COPY"):
            reader.i += 1
            reader.accept_word("SILENT")
            source = _graph_ref(reader, allow_named_all=False)
            reader.expect_word("TO")
            target = _graph_ref(reader, allow_named_all=False)
            if source == target:
                pass  # the same graph on both sides: nothing to do, as SPARQL says
            elif target == "DEFAULT":
                raise QueryRefused(
                    f"{word} ... TO DEFAULT is refused: the default graph is the union of all "
                    "graphs; name the target graph"
                )
            elif word == "MOVE" and source == "DEFAULT":
                raise QueryRefused(
                    "MOVE DEFAULT is refused: the default graph is the union of all graphs, so it "
                    "cannot be emptied into one of them; COPY DEFAULT TO the graph, then DROP the "
                    "others"
                )
            else:
                steps.append(CopyStep(source, str(target), replace=word in ("MOVE", "COPY")))
                if word == "MOVE":
                    steps.append(ClearStep(source))
        elif word in ("INSERT", "DELETE") and reader.peek_word(1) == "DATA":
            reader.i += 2
            span = reader.block()
            if word == "INSERT":
                steps.append(DataStep(insert=_quads(reader, span, variables=False, fresh=True)))
            else:
                quads = _quads(reader, span, variables=False, fresh=False)
                _no_blank_nodes(quads, "DELETE DATA")
                steps.append(DataStep(delete=quads))
        elif word == "DELETE" and reader.peek_word(1) == "WHERE":
            reader.i += 2
            span = reader.block()
            template = _quads(reader, span, variables=True, fresh=False)
            _no_blank_nodes(template, "DELETE WHERE")
            where = text[span[0] : span[1]]
            steps.append(
                PatternStep(
                    prologue=reader.prologue_text(),
                    where=where,
                    default_graphs=using[0] if using else None,
                    named_graphs=using[1] if using else None,
                    delete=template,
                    insert=[],
                )
            )
        elif word in ("WITH", "INSERT", "DELETE"):
            steps.append(_modify(reader, using))
        else:
            unexpected = reader.next()
            raise QuerySyntaxError(f"expected an update operation at {_where(text, unexpected)}")
        separator = reader.peek()
        if separator is None:
            break
        if separator.text != ";":
            raise QuerySyntaxError(f"expected ; between operations at {_where(text, separator)}")
        reader.i += 1
    return steps


def _modify(reader: _Reader, using: tuple[list[str], list[str]] | None) -> PatternStep:
    with_graph = reader.iri() if reader.accept_word("WITH") else None
    delete: list[ox.Quad] = []
    insert: list[ox.Quad] = []
    if reader.accept_word("DELETE"):
        delete = _quads(reader, reader.block(), variables=True, fresh=False)
        _no_blank_nodes(delete, "DELETE templates")
    if reader.accept_word("INSERT"):
        insert = _quads(reader, reader.block(), variables=True, fresh=False)
    default_graphs: list[str] = []
    named_graphs: list[str] = []
    while reader.accept_word("USING"):
        if reader.accept_word("NAMED"):
            named_graphs.append(reader.iri())
        else:
            default_graphs.append(reader.iri())
    reader.expect_word("WHERE")
    span = reader.block()
    where = reader.text[span[0] : span[1]]
    if using is not None and (with_graph or default_graphs or named_graphs):
        raise QueryRefused(
            "the update names its dataset (USING or WITH) and the request names one too "
            "(using-graph-uri / using-named-graph-uri): give only one"
        )
    if using is not None:
        dataset: tuple[list[str] | None, list[str] | None] = using
    elif default_graphs or named_graphs:
        dataset = (default_graphs, named_graphs)
    elif with_graph is not None:
        dataset = ([with_graph], None)
    else:
        dataset = (None, None)
    return PatternStep(
        prologue=reader.prologue_text(),
        where=where,
        default_graphs=dataset[0],
        named_graphs=dataset[1],
        delete=_regraph(delete, with_graph),
        insert=_regraph(insert, with_graph),
    )


# --- templates ----------------------------------------------------------------------------------


_TemplateTerm = ox.Quad | ox.Triple | ox.NamedNode | ox.BlankNode | ox.Literal | ox.DefaultGraph


def _variables(term: _TemplateTerm) -> Iterator[str]:
    """The names of the template variables in a template quad or term."""
    if isinstance(term, ox.Quad | ox.Triple):
        for part in (term.subject, term.predicate, term.object):
            yield from _variables(part)
        if isinstance(term, ox.Quad):
            yield from _variables(term.graph_name)
    elif isinstance(term, ox.NamedNode) and term.value.startswith(VARIABLE):
        yield term.value[len(VARIABLE) :]


def _has_blank_node(term: _TemplateTerm) -> bool:
    if isinstance(term, ox.Quad | ox.Triple):
        return any(_has_blank_node(part) for part in (term.subject, term.predicate, term.object))
    return isinstance(term, ox.BlankNode)


def _bind(
    term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.DefaultGraph | ox.Triple,
    solution: ox.QuerySolution,
    fresh: dict[str, ox.BlankNode] | None,
) -> ox.NamedNode | ox.BlankNode | ox.Literal | ox.DefaultGraph | ox.Triple | None:
    if isinstance(term, ox.NamedNode) and term.value.startswith(VARIABLE):
        value: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None = solution[
            term.value[len(VARIABLE) :]
        ]
        return value
    if isinstance(term, ox.BlankNode) and fresh is not None:
        return fresh.setdefault(term.value, ox.BlankNode())
    return term


def instantiate(
    template: list[ox.Quad], solution: ox.QuerySolution, *, fresh_blank_nodes: bool
) -> Iterator[ox.Quad]:
    """The quads of ``template`` for one solution (as SPARQL Update instantiates templates)."""
    fresh: dict[str, ox.BlankNode] | None = {} if fresh_blank_nodes else None
    for quad in template:
        subject = _bind(quad.subject, solution, fresh)
        predicate = _bind(quad.predicate, solution, fresh)
        obj = _bind(quad.object, solution, fresh)
        graph = _bind(quad.graph_name, solution, fresh)
        # Unbound variables and ill-typed positions drop the quad, as SPARQL says.
        if not isinstance(subject, ox.NamedNode | ox.BlankNode):
            continue
        if not isinstance(predicate, ox.NamedNode) or obj is None:
            continue
        if isinstance(obj, ox.DefaultGraph):
            continue
        if not isinstance(graph, ox.NamedNode | ox.DefaultGraph):
            continue
        yield ox.Quad(subject, predicate, obj, graph)


def check_syntax(text: str, base_iri: str | None = None) -> None:
    """Parse ``text`` with Oxigraph's own update parser (on an empty, throwaway store) so that
    syntax errors are reported exactly as for queries, with line and column."""
    try:
        ox.Store().update(text, base_iri=base_iri)
    except SyntaxError:
        raise
    except (OSError, RuntimeError, ValueError):
        pass  # evaluation against an empty store says nothing about the real one
