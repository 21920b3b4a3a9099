"""A query worker: a forked copy of the engine's in-memory store that answers queries.

Workers are forked by the engine, so each starts with a copy-on-write replica of the store at the
engine's current version, and follows the change log to stay current. A query that runs past its
time limit is stopped by killing its worker (pyoxigraph cannot cancel a running query); one that
allocates past its memory budget fails inside the worker only. Either way the service goes on and
the engine forks a replacement.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import pyoxigraph as ox

from ijkg.graph.core.errors import (
    IjkgError,
    NotAcceptable,
    QueryAborted,
    QueryError,
    QueryRefused,
    QuerySyntaxError,
    ResultTooLarge,
    VersionNotFound,
)
from ijkg.graph.core.formats import (
    RdfSyntax,
    ResultsFormat,
    rdf_syntax_for_name,
    results_format_for,
)
from ijkg.graph.core.namespaces import PREFIXES
from ijkg.graph.core.rdfio import write_nquads
from ijkg.graph.store import union, wire
from ijkg.graph.store.base import Pattern
from ijkg.graph.store.effects import update_effect
from ijkg.graph.store.history import History, not_in_history, rewind
from ijkg.graph.store.messages import (
    EffectReply,
    EffectRequest,
    MatchReply,
    MatchRequest,
    Message,
    ProtocolError,
    QueryReply,
    QueryRequest,
    VersionReply,
    VersionRequest,
    WorkerHello,
    error_reply,
)
from ijkg.graph.store.results import write_boolean, write_solutions, write_triples

#: The wildcard of a ``match`` pattern.
ANY = "urn:x-ijkg-any"

#: What the service may ask a worker.
REQUESTS = (QueryRequest, MatchRequest, EffectRequest, VersionRequest)

_LOCATION = re.compile(r"(?:error at |line )(\d+)[:, ](?:column )?(\d+)")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _virtual_memory(statm: int) -> int:
    """The process's mapped size, from ``/proc/self/statm`` kept open as ``statm`` (read again
    from its start, the kernel writes it anew)."""
    return int(os.pread(statm, 128, 0).split()[0]) * _PAGE


class _MemoryBudget:
    """Caps what one request may allocate beyond what the process already maps (RLIMIT_AS)."""

    def __init__(self, megabytes: int, statm: int) -> None:
        self.limit = megabytes * 1024 * 1024
        self.statm = statm

    def __enter__(self) -> None:
        resource.setrlimit(
            resource.RLIMIT_AS, (_virtual_memory(self.statm) + self.limit, resource.RLIM_INFINITY)
        )

    def __exit__(self, *exc: object) -> None:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def syntax_location(message: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) in a pyoxigraph SPARQL syntax error message, if any."""
    match = _LOCATION.search(message)
    if match is None:
        return None, None
    return int(match.group(1)), int(match.group(2))


def encode_patterns(patterns: Iterable[Pattern]) -> bytes:
    """Patterns as N-Quads whose wildcard positions hold ``<urn:x-ijkg-any>`` (the body of a
    ``match`` request, here and in the validation workers' channel)."""
    any_term = ox.NamedNode(ANY)
    return write_nquads(
        ox.Quad(
            s if s is not None else any_term,
            p if p is not None else any_term,
            o if o is not None else any_term,
            g if g is not None else any_term,
        )
        for s, p, o, g in patterns
    )


def decode_patterns(data: bytes) -> list[Pattern]:
    """The inverse of ``encode_patterns``."""
    return list(iter_patterns(data))


def iter_patterns(data: bytes) -> Iterator[Pattern]:
    """``decode_patterns`` one pattern at a time (a worker matches each as it is read)."""
    any_term = ox.NamedNode(ANY)

    def term(value: Any) -> Any:
        return None if value == any_term else value

    if not data:
        return
    for q in ox.parse(input=data, format=ox.RdfFormat.N_QUADS):
        yield term(q.subject), term(q.predicate), term(q.object), term(q.graph_name)


def _graphs(
    names: Sequence[str] | None,
) -> list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] | None:
    return None if names is None else [ox.NamedNode(n) for n in names]


class Replica(Protocol):
    """How a worker's store keeps up with the writer: ``ChangeLogReader`` in a forked worker
    (it replays the change log); the in-process store has nothing to catch up with."""

    @property
    def version(self) -> int: ...

    def catch_up(self, store: ox.Store, min_version: int) -> int: ...


class Worker:
    """Answers requests from the service on one socket, one at a time.

    ``memory_budget=False`` leaves the per-request memory cap (``RLIMIT_AS``) off: the cap is set
    on the whole process, which only a worker process of its own can afford. ``history`` is where
    a query at an older version finds the records it takes back (``None``: head only)."""

    def __init__(
        self,
        store: ox.Store,
        log: Replica,
        *,
        memory_budget: bool = True,
        history: History | None = None,
    ) -> None:
        self.store = store
        self.log = log
        self.memory_budget = memory_budget
        self.history = history
        # Opened once (by the process that answers: a worker is made after the fork): opening
        # it for every request cost more than a point lookup itself.
        self._statm = os.open("/proc/self/statm", os.O_RDONLY) if memory_budget else -1

    def _budget(self, megabytes: int) -> AbstractContextManager[None]:
        if self.memory_budget:
            return _MemoryBudget(megabytes, self._statm)
        return contextlib.nullcontext()

    def handle(self, request: Message, body: bytes) -> tuple[Message, bytes]:
        """Answer one request (its failure too, as an ``ErrorReply``)."""
        if not isinstance(request, REQUESTS):
            return error_reply(ProtocolError(f"unknown request {request.op!r}")), b""
        self.log.catch_up(self.store, request.min_version)
        try:
            if isinstance(request, QueryRequest):
                if request.at_version is not None:
                    return self._query_at(request, request.at_version)
                return self._query(request, self.log.version)
            if isinstance(request, VersionRequest):
                return VersionReply(self.log.version), b""
            if isinstance(request, EffectRequest):
                return self._update_effect(request)
            return self._match(body)
        except (
            SyntaxError,
            QuerySyntaxError,
            QueryRefused,
            ResultTooLarge,
            MemoryError,
            OSError,
            ValueError,
            TypeError,
            RuntimeError,
            VersionNotFound,
        ) as exc:
            return error_reply(_failure(exc)), b""

    def _query_at(self, request: QueryRequest, version: int) -> tuple[Message, bytes]:
        """Answer on the graph as it was at ``version``: take back what the records after it
        changed, answer, and put it back before replying, so that no later request ever sees an
        older graph. The cost grows with the changes since ``version`` and counts against the
        query's time limit (a worker stopped in the middle is replaced, as for any query)."""
        head = self.log.version
        if version == head:
            return self._query(request, head)
        if self.history is None or version > head or version < 0:
            first = head if self.history is None else self.history.first(head)
            raise not_in_history(version, first, head)
        gone: set[ox.Quad] = set()
        back: set[ox.Quad] = set()
        try:
            # Under the query's memory budget too: a rewind too large for it fails this query
            # only (or ends this worker, which is replaced).
            with self._budget(request.memory_mb):
                gone, back = rewind(self.history.records(version, head))
                union.remove(self.store, gone)
                union.add(self.store, back)
            return self._query(request, version)
        finally:
            # Whatever the answer (an error too, or a failure half-way through the rewind: both
            # steps are idempotent), the replica is back at the head before it answers anything.
            union.remove(self.store, back)
            union.add(self.store, gone)

    def _query(self, request: QueryRequest, version: int) -> tuple[Message, bytes]:
        results_fmt: ResultsFormat | None = (
            results_format_for(request.results) if request.results else None
        )
        rdf_fmt: RdfSyntax | None = rdf_syntax_for_name(request.rdf) if request.rdf else None
        max_rows = request.max_rows
        max_bytes = request.max_bytes
        kwargs: dict[str, Any] = {"base_iri": request.base_iri, "prefixes": None}
        default = request.default
        named = request.named
        if default is None and named is None:
            # The store's default graph already is the union of the named graphs, as a set (see
            # ``union``); a query that names its own dataset (FROM) gets that dataset instead.
            pass
        else:
            kwargs["default_graph"] = _graphs(default) if default is not None else []
            kwargs["named_graphs"] = _graphs(named) if named is not None else []
        if request.prefixes:
            kwargs["prefixes"] = PREFIXES
        with self._budget(request.memory_mb):
            result = self.store.query(request.sparql, **kwargs)
            if isinstance(result, ox.QuerySolutions):
                if results_fmt is None:
                    return _not_acceptable("select")
                body, rows = write_solutions(
                    result, results_fmt, max_rows=max_rows, max_bytes=max_bytes
                )
                return QueryReply("select", results_fmt.media_type, rows, version), body
            if isinstance(result, ox.QueryBoolean):
                if results_fmt is None:
                    return _not_acceptable("ask")
                body = write_boolean(bool(result), results_fmt)
                return QueryReply("ask", results_fmt.media_type, 1, version), body
            if rdf_fmt is None:
                return _not_acceptable("graph")
            body, rows = write_triples(result, rdf_fmt, max_rows=max_rows, max_bytes=max_bytes)
            return QueryReply("graph", rdf_fmt.media_type, rows, version), body

    def _match(self, body: bytes) -> tuple[Message, bytes]:
        """Quads matching patterns given as N-Quads lines whose wildcard positions hold
        ``<urn:x-ijkg-any>`` (direct index lookups, blank nodes included)."""
        found: dict[ox.Quad, None] = {}
        for subject, predicate, obj, graph in iter_patterns(body):
            for quad in self.store.quads_for_pattern(subject, predicate, obj, graph):
                found[quad] = None
        return MatchReply(self.log.version), write_nquads(found)

    def _update_effect(self, request: EffectRequest) -> tuple[Message, bytes]:
        version = self.log.version
        with self._budget(request.memory_mb):
            removes, adds = update_effect(
                self.store,
                request.update,
                write_graph=request.write_graph,
                max_quads=request.max_quads,
                keep=frozenset(request.keep),
                base_iri=request.base_iri,
                using=_using(request.using),
            )
        removed = write_nquads(removes)
        return EffectReply(version, len(removed)), removed + write_nquads(adds)


def _failure(exc: BaseException) -> IjkgError:
    """A request's failure as the error the service raises."""
    if isinstance(exc, SyntaxError):  # pyoxigraph's, with the location in its message
        line, column = syntax_location(str(exc))
        return QuerySyntaxError(str(exc), line, column)
    if isinstance(exc, QuerySyntaxError | QueryRefused | ResultTooLarge | VersionNotFound):
        return exc
    if isinstance(exc, MemoryError):
        return QueryAborted("the request needed more memory than one may use")
    # pyoxigraph reports evaluation errors (a bad regex, an unsupported feature) as
    # OSError/ValueError/TypeError/RuntimeError.
    return QueryError(str(exc))


def _using(
    value: tuple[tuple[str, ...], tuple[str, ...]] | None,
) -> tuple[list[str], list[str]] | None:
    if value is None:
        return None
    return list(value[0]), list(value[1])


def _not_acceptable(form: str) -> tuple[Message, bytes]:
    return error_reply(NotAcceptable(f"no acceptable format for a {form} answer", form)), b""


def serve(worker: Worker, socket_path: str, *, isolated: bool = False) -> None:
    """Connect to the service, say hello (and whether this worker is off the network), then
    answer until the service hangs up."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(socket_path)
            wire.send(sock, WorkerHello(os.getpid(), worker.log.version, isolated))
        except (ConnectionError, FileNotFoundError):
            # The service stopped while this worker started (a command that ended after one
            # query): nothing to answer, and nothing to report.
            return
        while True:
            try:
                request, body = wire.recv(sock, *REQUESTS)
            except (EOFError, ConnectionError):
                return
            except ProtocolError as exc:
                # The whole frame was read: answer it, and the channel stays in step.
                wire.send(sock, error_reply(exc))
                continue
            reply, payload = worker.handle(request, body)
            wire.send(sock, reply, payload)
