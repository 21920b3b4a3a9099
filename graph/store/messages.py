"""The typed messages between the service, the store engine, its query workers and the
validation workers, and the one table of the errors that cross between them.

Each message is a frozen dataclass with an ``op`` of its own; ``to_header`` and ``from_header``
turn it into the JSON header ``wire`` frames and back. Decoding names the messages it expects
and checks the op and every field's type, so a malformed header is refused with
``ProtocolError`` where it arrives, not as a ``KeyError`` somewhere later. Bodies (N-Quads,
serialised results) stay opaque bytes beside the header.

A failure travels as ``ErrorReply``: an error kind from ``ERRORS`` with the error's message and
attributes. ``error_reply`` makes one from an exception, ``error_of`` turns it back into the same
exception class with the same message; nothing else encodes or decodes error kinds.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import (
    Any,
    ClassVar,
    Literal,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

from ijkg.graph.core.errors import (
    BadRequest,
    Forbidden,
    IjkgError,
    NotAcceptable,
    QueryAborted,
    QueryError,
    QueryRefused,
    QuerySyntaxError,
    RdfSyntaxError,
    ResultTooLarge,
    StorageFailed,
    StorageFull,
    StoreDamaged,
    StoreError,
    StoreLocked,
    TooLarge,
    UnsupportedFormat,
    ValidationAborted,
    VersionConflict,
    VersionNotFound,
)
from ijkg.graph.core.ingest import PoisonTerm
from ijkg.graph.store.base import Form

Header = dict[str, Any]


class ProtocolError(StoreError):
    """A message that is not one the receiver expects: an unknown op, a missing field, a field
    of the wrong type, an unknown error kind (a bug, or a peer of another version)."""


@dataclass(frozen=True)
class Message:
    """Base of every message; ``op`` names it on the wire."""

    op: ClassVar[str]


M = TypeVar("M", bound=Message)
T = TypeVar("T")


# --- the engine's control channel (service -> engine, on its stdin/stdout) ----------------------


@dataclass(frozen=True)
class CommitRequest(Message):
    """Apply a change; the body is the removed N-Quads (``rm`` bytes), then the added ones."""

    op: ClassVar[str] = "commit"
    rm: int
    expected: int | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True)
class SpawnRequest(Message):
    """Fork ``n`` query workers; they connect to the Unix socket ``socket`` of the service
    process that asks (several processes may share one engine)."""

    op: ClassVar[str] = "spawn"
    n: int
    socket: str


@dataclass(frozen=True)
class StatsRequest(Message):
    op: ClassVar[str] = "stats"


@dataclass(frozen=True)
class SnapshotRequest(Message):
    """Write a snapshot now."""

    op: ClassVar[str] = "snapshot"


@dataclass(frozen=True)
class EngineStats(Message):
    """The engine's state: its first message (once it has recovered the store), and the reply to
    ``stats`` and ``snapshot``."""

    op: ClassVar[str] = "engine_stats"
    version: int
    quads: int
    triples: int
    store_id: str
    log_bytes: int
    recovery: dict[str, Any]
    write_error: dict[str, Any] | None = None
    snapshot_error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Committed(Message):
    op: ClassVar[str] = "committed"
    version: int
    removed: int
    added: int


@dataclass(frozen=True)
class Spawned(Message):
    op: ClassVar[str] = "spawned"
    pids: tuple[int, ...]


# --- a query worker's channel (service <-> worker, on the workers' socket) ----------------------


@dataclass(frozen=True)
class WorkerHello(Message):
    """A worker's first message: who it is, its version, whether it is off the network."""

    op: ClassVar[str] = "worker_hello"
    pid: int
    version: int
    isolated: bool = False


@dataclass(frozen=True)
class QueryRequest(Message):
    """Run a query. ``default``/``named``: the dataset's graphs (both ``None``: the union);
    ``results``/``rdf``: the names of the formats to answer in (``None``: that form is not
    acceptable)."""

    op: ClassVar[str] = "query"
    sparql: str
    base_iri: str | None
    default: tuple[str, ...] | None
    named: tuple[str, ...] | None
    results: str | None
    rdf: str | None
    max_rows: int
    max_bytes: int
    memory_mb: int
    min_version: int
    prefixes: bool = False
    #: Answer on the graph as it was at this version (``None``: the head).
    at_version: int | None = None


@dataclass(frozen=True)
class MatchRequest(Message):
    """The quads matching the patterns in the body (see ``worker.encode_patterns``)."""

    op: ClassVar[str] = "match"
    min_version: int


@dataclass(frozen=True)
class EffectRequest(Message):
    """Compute what an update would remove and add, without applying it."""

    op: ClassVar[str] = "update_effect"
    update: str
    write_graph: str
    max_quads: int
    keep: tuple[str, ...]
    base_iri: str | None
    using: tuple[tuple[str, ...], tuple[str, ...]] | None
    memory_mb: int
    min_version: int


@dataclass(frozen=True)
class VersionRequest(Message):
    op: ClassVar[str] = "version"
    min_version: int


@dataclass(frozen=True)
class QueryReply(Message):
    """A query's answer; the body is the serialised result."""

    op: ClassVar[str] = "answer"
    form: Form
    media_type: str
    rows: int
    version: int


@dataclass(frozen=True)
class MatchReply(Message):
    """The matching quads are the body (N-Quads)."""

    op: ClassVar[str] = "quads"
    version: int


@dataclass(frozen=True)
class EffectReply(Message):
    """The body is the removed N-Quads (``rm`` bytes), then the added ones."""

    op: ClassVar[str] = "effect"
    version: int
    rm: int


@dataclass(frozen=True)
class VersionReply(Message):
    op: ClassVar[str] = "at_version"
    version: int


# --- a validation worker's channel (service <-> worker, on its stdin/stdout) --------------------


@dataclass(frozen=True)
class PartHeader:
    """One part of a submission; its ``bytes`` bytes follow the previous part's in the body."""

    role: str
    media_type: str
    bytes: int
    source: str
    graph: str | None = None


@dataclass(frozen=True)
class ValidatorReady(Message):
    """A validation worker's first message, once it has loaded the shapes."""

    op: ClassVar[str] = "validator_ready"
    pid: int
    isolated: bool = False


@dataclass(frozen=True)
class ValidateRequest(Message):
    """Validate a submission (the body is its parts' data, one after the other). The worker
    answers with any number of reads, then ``Validated`` or an ``ErrorReply``."""

    op: ClassVar[str] = "validate"
    parts: tuple[PartHeader, ...]
    graph: str
    target_graph: str | None
    max_quads: int
    wanted: str


@dataclass(frozen=True)
class ReadMatch(Message):
    """A validation worker's read: the quads matching the patterns in the body."""

    op: ClassVar[str] = "read_match"


@dataclass(frozen=True)
class ReadSelect(Message):
    """A validation worker's read: a SELECT query with the store's default limits."""

    op: ClassVar[str] = "read_select"
    sparql: str
    prefixes: bool = False


@dataclass(frozen=True)
class ReadQuads(Message):
    """The answer to ``ReadMatch``: the quads are the body."""

    op: ClassVar[str] = "read_quads"


@dataclass(frozen=True)
class ReadRows(Message):
    """The answer to ``ReadSelect``: the body is the serialised result."""

    op: ClassVar[str] = "read_rows"
    media_type: str
    rows: int


@dataclass(frozen=True)
class ReadFailed(Message):
    """The service could not answer a read (it raises the store's own error itself)."""

    op: ClassVar[str] = "read_failed"
    message: str


@dataclass(frozen=True)
class Validated(Message):
    """The validation's answer; the body is the report in ``media_type``."""

    op: ClassVar[str] = "validated"
    media_type: str


# --- failures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorReply(Message):
    """A request's failure: an error kind of ``ERRORS``, the error's message and its attributes.
    ``fatal``: the sender stops after this reply (a validation worker out of memory)."""

    op: ClassVar[str] = "error"
    kind: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    fatal: bool = False

    def __post_init__(self) -> None:
        entry = _BY_KIND.get(self.kind)
        if entry is None:
            raise ProtocolError(f"unknown error kind {self.kind!r}")
        if set(self.details) != set(entry.fields):
            raise ProtocolError(
                f"error {self.kind!r} carries {sorted(self.details)}, not {sorted(entry.fields)}"
            )
        for name, hint in entry.fields.items():
            _value(self.details[name], hint, f"error {self.kind!r} field {name!r}")


@dataclass(frozen=True)
class ErrorKind:
    """One row of the error table: the kind on the wire, the exception class, the attributes
    that travel with the message, and how the class is built from them (``None``:
    ``cls(message, *attributes)``)."""

    kind: str
    cls: type[IjkgError]
    fields: Mapping[str, Any] = field(default_factory=dict)
    build: Callable[[str, dict[str, Any]], IjkgError] | None = None

    def make(self, message: str, details: dict[str, Any]) -> IjkgError:
        if self.build is not None:
            return self.build(message, details)
        return self.cls(message, *(details[name] for name in self.fields))


#: Every error that crosses a channel. A raised error travels as the kind of its class (or of
#: its nearest base in the table) and comes back as that class with the same message.
ERRORS: tuple[ErrorKind, ...] = (
    ErrorKind("store", StoreError),
    ErrorKind("locked", StoreLocked),
    ErrorKind("damaged", StoreDamaged),
    ErrorKind("storage_failed", StorageFailed),
    ErrorKind("storage_full", StorageFull),
    ErrorKind(
        "conflict",
        VersionConflict,
        {"expected": int, "actual": int},
        lambda _message, d: VersionConflict(d["expected"], d["actual"]),
    ),
    ErrorKind(
        "version_not_found",
        VersionNotFound,
        {"first": int, "head": int},
        lambda message, d: VersionNotFound(message, first=d["first"], head=d["head"]),
    ),
    ErrorKind("protocol", ProtocolError),
    ErrorKind("query", QueryError),
    ErrorKind("syntax", QuerySyntaxError, {"line": int | None, "column": int | None}),
    ErrorKind("refused", QueryRefused),
    ErrorKind("result_too_large", ResultTooLarge),
    ErrorKind("aborted", QueryAborted),
    ErrorKind("not_acceptable", NotAcceptable, {"form": str, "available": tuple[str, ...]}),
    ErrorKind(
        "rdf_syntax",
        RdfSyntaxError,
        {"line": int | None, "column": int | None, "source": str | None},
    ),
    ErrorKind("unsupported_format", UnsupportedFormat),
    ErrorKind("bad_request", BadRequest),
    ErrorKind("poison_term", PoisonTerm),
    ErrorKind("too_large", TooLarge),
    ErrorKind("forbidden", Forbidden),
    ErrorKind("validation_aborted", ValidationAborted),
)

_BY_KIND = {entry.kind: entry for entry in ERRORS}
_BY_CLASS = {entry.cls: entry for entry in ERRORS}


def error_reply(exc: IjkgError, *, fatal: bool = False) -> ErrorReply:
    """``exc`` as the reply the receiver turns back into the same error (``error_of``)."""
    entry = next((_BY_CLASS[cls] for cls in type(exc).__mro__ if cls in _BY_CLASS), None)
    if entry is None:
        raise ProtocolError(f"{type(exc).__name__} has no error kind on the wire")
    # The message proper: ``RdfSyntaxError`` prefixes its location when shown.
    message = str(exc.args[0]) if exc.args else str(exc)
    details = {name: _to_json(getattr(exc, name)) for name in entry.fields}
    return ErrorReply(entry.kind, message, details, fatal)


def error_of(reply: ErrorReply) -> IjkgError:
    """The error a failure reply names (``error_reply``'s inverse)."""
    entry = _BY_KIND[reply.kind]
    details = {name: _value(reply.details[name], hint, name) for name, hint in entry.fields.items()}
    return entry.make(reply.message, details)


def expect(reply: Message, cls: type[M]) -> M:
    """``reply`` as the ``cls`` answer a request expects; a failure reply is raised as its
    error, any other message as a ``ProtocolError``."""
    if isinstance(reply, ErrorReply):
        raise error_of(reply)
    if not isinstance(reply, cls):
        raise ProtocolError(f"expected {cls.op!r}, got {reply.op!r}")
    return reply


# --- to and from the wire header -----------------------------------------------------------------
#
# Every query crosses the wire twice (request and reply), so each message class's fields and each
# type hint's check are worked out once and kept: reading hints per message cost more than the
# query of a point lookup.

Check = Callable[[Any, str], Any]


@dataclass(frozen=True)
class _Plan:
    """How to build one message or header dataclass from decoded JSON."""

    fields: tuple[tuple[str, Check, bool], ...]  # name, check, required
    names: frozenset[str]


_PLANS: dict[type, _Plan] = {}
_CHECKS: dict[Any, Check] = {}
_NAMES: dict[type, tuple[str, ...]] = {}
_SCALARS = (str, int, bool, float, type(None))


def _field_names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cast(Any, cls)))
    return names


def to_header(message: Message) -> Header:
    """The JSON header of ``message``."""
    header: Header = {"op": message.op}
    for name in _field_names(type(message)):
        header[name] = _to_json(getattr(message, name))
    return header


def from_header(header: object, *expected: type[M]) -> M:
    """The message a header holds, which must be one of ``expected``; raises ``ProtocolError``
    on an unknown op, a missing or unknown field, or a field of the wrong type."""
    if not isinstance(header, dict):
        raise ProtocolError("a message header is not a JSON object")
    op = header.get("op")
    for cls in expected:
        if cls.op == op:
            fields = {key: value for key, value in header.items() if key != "op"}
            return _build(cls, fields, f"message {op!r}")
    wanted = ", ".join(repr(cls.op) for cls in expected)
    raise ProtocolError(f"unexpected message {op!r} (expected {wanted})")


def _to_json(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _to_json(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    return value


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = get_type_hints(cls)
        fields = tuple(
            (
                f.name,
                _check(hints[f.name]),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(cast(Any, cls))
        )
        plan = _PLANS[cls] = _Plan(fields, frozenset(name for name, _, _ in fields))
    return plan


def _build(cls: type[T], values: dict[str, Any], where: str) -> T:
    plan = _plan(cls)
    if not plan.names.issuperset(values):
        unknown = set(values) - plan.names
        raise ProtocolError(f"{where}: unknown field(s) {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, check, required in plan.fields:
        if name not in values:
            if required:
                raise ProtocolError(f"{where}: missing field {name!r}")
            continue
        kwargs[name] = check(values[name], f"{where} field {name!r}")
    try:
        return cls(**kwargs)
    except ProtocolError as exc:
        raise ProtocolError(f"{where}: {exc}") from None


def _value(value: Any, hint: Any, where: str) -> Any:
    """``value`` (decoded JSON) checked against the type ``hint``, lists made tuples."""
    return _check(hint)(value, where)


def _check(hint: Any) -> Check:
    """The check of a value against ``hint``: the value (lists made tuples), or
    ``ProtocolError``. Made once per hint."""
    check = _CHECKS.get(hint)
    if check is None:
        check = _CHECKS[hint] = _make_check(hint)
    return check


def _make_check(hint: Any) -> Check:
    origin, args = get_origin(hint), get_args(hint)
    name = getattr(hint, "__name__", hint)

    def refuse(value: Any, where: str) -> Any:
        raise ProtocolError(f"{where}: {value!r} is not {name}")

    def simple(test: Callable[[Any], bool]) -> Check:
        def check(value: Any, where: str) -> Any:
            return value if test(value) else refuse(value, where)

        return check

    if hint is Any:
        return lambda value, _where: value
    if origin is Union or origin is types.UnionType:
        checks = tuple(_check(arg) for arg in args)
        optional = type(None) in args

        def either(value: Any, where: str) -> Any:
            if value is None and optional:
                return None
            for check in checks:
                try:
                    return check(value, where)
                except ProtocolError:
                    continue
            raise ProtocolError(f"{where}: {value!r} is not {hint}")

        return either
    if origin is Literal:
        return simple(lambda value: value in args)
    if hint is type(None):
        return simple(lambda value: value is None)
    if hint is bool:
        return simple(lambda value: isinstance(value, bool))
    if hint is int:
        return simple(lambda value: isinstance(value, int) and not isinstance(value, bool))
    if hint is str:
        return simple(lambda value: isinstance(value, str))
    if origin is dict:
        return simple(
            lambda value: isinstance(value, dict) and all(isinstance(k, str) for k in value)
        )
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _check(args[0])

            def many(value: Any, where: str) -> Any:
                if isinstance(value, list | tuple):
                    return tuple(item(v, where) for v in value)
                return refuse(value, where)

            return many
        items = tuple(_check(arg) for arg in args)

        def fixed(value: Any, where: str) -> Any:
            if isinstance(value, list | tuple) and len(value) == len(items):
                return tuple(check(v, where) for v, check in zip(value, items, strict=True))
            return refuse(value, where)

        return fixed
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):

        def nested(value: Any, where: str) -> Any:
            if isinstance(value, dict):
                return _build(hint, value, where)
            return refuse(value, where)

        return nested
    return refuse
