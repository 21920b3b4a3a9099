"""Typed errors of the graph layer. The service maps each to one HTTP status (problem details).

IjkgError
├── StoreError
│   ├── StoreLocked ............ another process has the data directory open
│   ├── StoreUnavailable ....... the store engine is down or unreachable
│   │   ├── StoreDamaged ....... the store's files are damaged: it did not start (ijkg repair)
│   │   └── StorageFailed ...... the data directory cannot be written (read-only, I/O error)
│   │       └── StorageFull .... no space left for the store's files (disk full, quota)
│   └── VersionConflict ........ the graph moved since the version the writer expected
├── QueryError
│   ├── QuerySyntaxError ....... malformed SPARQL (line, column)
│   ├── QueryRefused ........... a feature that is switched off (SERVICE, LOAD, remote FROM ...)
│   ├── QueryTooLarge .......... query text over its size or nesting limit
│   ├── QueryTimeout ........... stopped at the time limit
│   ├── QueryOverloaded ........ too many queries at once
│   ├── QueryAborted ........... the query's worker died (memory limit or crash)
│   └── ResultTooLarge ......... the result is over its row or byte cap
├── ValidationLimit
│   ├── ValidationTimeout ...... a validation stopped at its time limit
│   ├── ValidationOverloaded ... too many validations at once
│   └── ValidationAborted ...... the validation's process died (memory limit or crash)
├── RdfSyntaxError ............. malformed RDF (line, column)
├── UnsupportedFormat .......... no parser/serialiser for a media type or file
│   └── NotAcceptable .......... no acceptable serialisation for this kind of answer
└── ValidationFailed ........... SHACL violations (carries the report)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ijkg.graph.core.reports import ValidationReport


class IjkgError(Exception):
    """Base of every error the graph layer raises on purpose."""


class StoreError(IjkgError):
    """The store could not do what was asked."""


class StoreLocked(StoreError):
    """Another process has this data directory open (one writer process per store)."""


class StoreUnavailable(StoreError):
    """The store engine is not running or stopped answering."""


class StoreDamaged(StoreUnavailable):
    """The store's files are damaged in a way that is not a torn tail (a record or snapshot that
    fails its checksum, a missing log file): the store did not start and nothing was changed on
    disk. ``ijkg repair`` rebuilds it from what is readable."""


class StorageFailed(StoreUnavailable):
    """The store's files could not be written (a read-only file system, permissions, an I/O
    error); nothing was written. Reads go on."""


class StorageFull(StorageFailed):
    """No space is left for the store's files (the disk or a quota is full); nothing was
    written. Reads go on; writes work again once space is freed."""


class VersionConflict(StoreError):
    """The graph changed since the version the caller based its change on."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"the graph is at version {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


class QueryError(IjkgError):
    """A SPARQL query or update could not be run."""


class QuerySyntaxError(QueryError):
    """Malformed SPARQL; ``line`` and ``column`` are 1-based where known. ``expected`` lists what
    the parser could have read there, ``excerpt`` shows the line with a caret under the column,
    and ``hint`` says what is probably wrong, where that can be told."""

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        *,
        expected: tuple[str, ...] = (),
        excerpt: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.expected = expected
        self.excerpt = excerpt
        self.hint = hint


class QueryRefused(QueryError):
    """The query uses something this service does not allow (e.g. SERVICE or LOAD)."""


class QueryTooLarge(QueryError):
    """The query text is over the size or nesting limit (checked before parsing)."""


class QueryTimeout(QueryError):
    """The query was stopped at its time limit."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"the query was stopped after its time limit of {timeout_s:g} s")
        self.timeout_s = timeout_s


class QueryOverloaded(QueryError):
    """Too many queries are running or waiting; try again shortly."""


class QueryAborted(QueryError):
    """The process running the query died (memory limit or crash); the service goes on."""


class ResultTooLarge(QueryError):
    """The result is over the configured row or byte cap (never truncated silently)."""


class ValidationLimit(IjkgError):
    """A validation of submitted RDF was stopped by one of its limits; nothing was written."""


class ValidationTimeout(ValidationLimit):
    """The validation was stopped at its time limit (its process was killed)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            f"the validation was stopped after its time limit of {timeout_s:g} s; "
            "send a smaller submission"
        )
        self.timeout_s = timeout_s


class ValidationOverloaded(ValidationLimit):
    """Every validation process is busy; try again shortly."""


class ValidationAborted(ValidationLimit):
    """The process running the validation died (memory limit or crash); the service goes on."""


class RdfSyntaxError(IjkgError):
    """Malformed RDF input; ``line`` and ``column`` are 1-based where known."""

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.source = source

    def __str__(self) -> str:
        where = self.source or "input"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.args[0]}"


class UnsupportedFormat(IjkgError):
    """No parser or serialiser for the requested media type or file extension."""


class NotAcceptable(UnsupportedFormat):
    """None of the accepted media types can carry this answer (``form``: select, ask or graph);
    ``available`` lists the media types that could."""

    def __init__(self, message: str, form: str, available: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.form = form
        self.available = available


class ValidationFailed(IjkgError):
    """A change would make the graph violate its shapes; nothing was written."""

    def __init__(self, report: ValidationReport) -> None:
        n = len(report.violations)
        super().__init__(f"{n} SHACL violation{'s' if n != 1 else ''}; nothing was written")
        self.report = report


class NotFound(IjkgError):
    """No such change, graph or entity."""


class GraphNotFound(NotFound):
    """No graph with that name holds any triple."""


class VersionNotFound(NotFound):
    """No such version of the graph, or one the store can no longer rebuild. ``first`` and
    ``head`` are the range of versions there are, for the message a client sees."""

    def __init__(self, message: str, *, first: int, head: int) -> None:
        super().__init__(message)
        self.first = first
        self.head = head


class VersionsUnsupported(IjkgError):
    """This store keeps no history of its versions (it cannot read the graph as it was)."""


class Conflict(IjkgError):
    """The thing asked for is not allowed in the current state."""


class TooLarge(IjkgError):
    """A change or request body is over its size limit."""


class BadRequest(IjkgError):
    """A request that makes no sense as given."""


class Forbidden(IjkgError):
    """The writer may not do this (e.g. write a protected graph)."""
