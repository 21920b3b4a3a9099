"""The typed engine/worker/validation protocol: every message survives the wire, a malformed one
is refused with ``ProtocolError``, and every error that crosses a channel comes back as the same
class with the same message."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import io
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from ijkg.graph.core import errors
from ijkg.graph.core.ingest import PoisonTerm
from ijkg.graph.curation.protection import ProtectedGraph
from ijkg.graph.curation.validation_worker import ANSWERED, answered
from ijkg.graph.store import wire
from ijkg.graph.store.messages import (
    ERRORS,
    CommitRequest,
    Committed,
    EffectReply,
    EffectRequest,
    EngineStats,
    ErrorReply,
    MatchReply,
    MatchRequest,
    Message,
    PartHeader,
    ProtocolError,
    QueryReply,
    QueryRequest,
    ReadFailed,
    ReadMatch,
    ReadQuads,
    ReadRows,
    ReadSelect,
    SnapshotRequest,
    Spawned,
    SpawnRequest,
    StatsRequest,
    Validated,
    ValidateRequest,
    ValidatorReady,
    VersionReply,
    VersionRequest,
    WorkerHello,
    error_of,
    error_reply,
    expect,
    from_header,
    to_header,
)
from ijkg.graph.store.worker import Worker, serve

QUERY = QueryRequest(
    sparql="SELECT * { ?s ?p ?o }",
    base_iri=None,
    default=("https://example.org/g",),
    named=(),
    results="json",
    rdf=None,
    max_rows=10,
    max_bytes=1000,
    memory_mb=64,
    min_version=3,
    prefixes=True,
)

EFFECT = EffectRequest(
    update="INSERT DATA { <a:s> <a:p> <a:o> }",
    write_graph="https://example.org/g",
    max_quads=100,
    keep=("https://example.org/k",),
    base_iri="https://example.org/",
    using=(("https://example.org/d",), ()),
    memory_mb=64,
    min_version=2,
)

VALIDATE = ValidateRequest(
    parts=(
        PartHeader("add", "text/turtle", 10, "body", None),
        PartHeader("remove", "application/n-quads", 5, "remove.nq", "https://example.org/g"),
    ),
    graph="https://example.org/g",
    target_graph=None,
    max_quads=1000,
    wanted="application/json",
)

#: One of each message, its optional fields set where it has any.
SAMPLES: list[Message] = [
    CommitRequest(rm=12, expected=4, meta={"author": "a", "tags": ["x"]}),
    CommitRequest(rm=0),
    SpawnRequest(2, "/run/workers.sock"),
    StatsRequest(),
    SnapshotRequest(),
    EngineStats(
        version=3,
        quads=10,
        triples=8,
        store_id="abc",
        log_bytes=99,
        recovery={"seconds": 0.1, "torn_file": None},
        write_error={"errno": 28, "message": "No space left on device", "at": "2026"},
        snapshot_error=None,
    ),
    Committed(version=4, removed=1, added=2),
    Spawned((101, 102)),
    WorkerHello(pid=7, version=3, isolated=True),
    QUERY,
    dataclasses.replace(QUERY, at_version=2),
    MatchRequest(min_version=1),
    EFFECT,
    VersionRequest(min_version=0),
    QueryReply(form="select", media_type="application/sparql-results+json", rows=2, version=3),
    MatchReply(version=3),
    EffectReply(version=3, rm=40),
    VersionReply(version=3),
    ValidatorReady(pid=8, isolated=False),
    VALIDATE,
    ReadMatch(),
    ReadSelect(sparql="SELECT * {}", prefixes=True),
    ReadQuads(),
    ReadRows(media_type="application/sparql-results+json", rows=0),
    ReadFailed(message="the query was stopped"),
    Validated(media_type="text/turtle"),
    ErrorReply(kind="syntax", message="bad", details={"line": 1, "column": None}),
    ErrorReply(kind="validation_aborted", message="out of memory", fatal=True),
]


def all_messages() -> set[type[Message]]:
    found: set[type[Message]] = set()
    todo = [Message]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return found


def framed(header: object, body: bytes = b"") -> io.BytesIO:
    raw = json.dumps(header).encode()
    return io.BytesIO(len(raw).to_bytes(4, "big") + len(body).to_bytes(4, "big") + raw + body)


# --- messages ------------------------------------------------------------------------------------


def test_there_is_a_sample_of_every_message() -> None:
    assert {type(m) for m in SAMPLES} == all_messages()


def test_the_ops_are_unique() -> None:
    ops = [cls.op for cls in all_messages()]
    assert len(ops) == len(set(ops))


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_the_wire(message: Message) -> None:
    stream = io.BytesIO(wire.encode(message, b"body bytes"))
    decoded, body = wire.read_file(stream, type(message))
    assert decoded == message
    assert type(decoded) is type(message)
    assert body == b"body bytes"


def test_a_reader_names_the_messages_it_expects() -> None:
    decoded, _ = wire.read_file(io.BytesIO(wire.encode(Committed(1, 0, 1))), Spawned, Committed)
    assert decoded == Committed(1, 0, 1)
    with pytest.raises(ProtocolError, match="unexpected message 'committed'"):
        wire.read_file(io.BytesIO(wire.encode(Committed(1, 0, 1))), Spawned, ErrorReply)


MALFORMED: list[tuple[object, str]] = [
    ({"op": "frobnicate"}, "unexpected message 'frobnicate'"),
    ({"rm": 1}, "unexpected message None"),
    (["commit"], "not a JSON object"),
    ({"op": "commit"}, "missing field 'rm'"),
    ({"op": "commit", "rm": "12"}, "field 'rm'"),
    ({"op": "commit", "rm": True}, "field 'rm'"),
    ({"op": "commit", "rm": 1.5}, "field 'rm'"),
    ({"op": "commit", "rm": 1, "expected": "4"}, "field 'expected'"),
    ({"op": "commit", "rm": 1, "meta": ["a"]}, "field 'meta'"),
    ({"op": "commit", "rm": 1, "extra": 1}, "unknown field"),
    ({"op": "spawned", "pids": [1, "2"]}, "field 'pids'"),
    ({**to_header(QUERY), "default": "https://example.org/g"}, "field 'default'"),
    ({**to_header(QUERY), "prefixes": 1}, "field 'prefixes'"),
    ({"op": "answer", "form": "table", "media_type": "x", "rows": 1, "version": 1}, "form"),
    ({**to_header(EFFECT), "using": [["a"]]}, "field 'using'"),
    (
        {**to_header(VALIDATE), "parts": [{"role": "add", "media_type": "text/turtle"}]},
        "missing field 'bytes'",
    ),
    ({"op": "error", "kind": "gremlins", "message": "m"}, "unknown error kind 'gremlins'"),
    ({"op": "error", "kind": "syntax", "message": "m"}, "carries"),
    (
        {"op": "error", "kind": "syntax", "message": "m", "details": {"line": "1", "column": 2}},
        "line",
    ),
]


@pytest.mark.parametrize(("header", "why"), MALFORMED, ids=lambda v: str(v)[:40])
def test_a_malformed_header_is_refused(header: object, why: str) -> None:
    expected = tuple(cls for cls in all_messages())
    with pytest.raises(ProtocolError, match=why.replace("(", r"\(")):
        wire.read_file(framed(header), *expected)
    with pytest.raises(ProtocolError):
        from_header(header, *expected)


def test_a_header_that_is_not_json_is_refused() -> None:
    raw = b"{not json"
    stream = io.BytesIO(len(raw).to_bytes(4, "big") + (0).to_bytes(4, "big") + raw)
    with pytest.raises(ProtocolError, match="not JSON"):
        wire.read_file(stream, StatsRequest)


def test_a_refused_message_is_read_whole_so_the_channel_stays_in_step() -> None:
    stream = framed({"op": "commit", "rm": "x"}, b"a body")
    stream.seek(0, io.SEEK_END)
    stream.write(wire.encode(StatsRequest()))
    stream.seek(0)
    with pytest.raises(ProtocolError):
        wire.read_file(stream, CommitRequest, StatsRequest)
    assert wire.read_file(stream, CommitRequest, StatsRequest) == (StatsRequest(), b"")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_write_to_a_process_that_exited_says_the_peer_is_gone(loop: str) -> None:
    """Either event loop ``ijkg serve`` may run on: the caller maps ``ConnectionError`` to "the
    engine stopped" (uvloop alone would raise ``RuntimeError``)."""

    async def write_to_the_exited() -> None:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "pass", stdin=asyncio.subprocess.PIPE
        )
        await child.wait()
        assert child.stdin is not None
        while not child.stdin.transport.is_closing():
            await asyncio.sleep(0.01)  # the loop notices the closed pipe
        with pytest.raises(ConnectionResetError):
            await wire.awrite(child.stdin, StatsRequest())

    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        uvloop.run(write_to_the_exited())
    else:
        asyncio.run(write_to_the_exited())


# --- the error table -----------------------------------------------------------------------------

#: One instance of every class in the table, its attributes set.
ERROR_SAMPLES: list[errors.IjkgError] = [
    errors.StoreError("the commit failed"),
    errors.StoreLocked("the store in /srv is in use by process 12"),
    errors.StoreDamaged("the store in /srv did not start: damaged"),
    errors.StorageFailed("the store in /srv cannot be written"),
    errors.StorageFull("no space left for the store in /srv"),
    errors.VersionConflict(3, 5),
    ProtocolError("unknown request 'x'"),
    errors.QueryError("bad regex"),
    errors.QuerySyntaxError("error at 1:5: expected", 1, 5),
    errors.QuerySyntaxError("somewhere", None, None),
    errors.QueryRefused("SERVICE is switched off"),
    errors.ResultTooLarge("over 10 rows"),
    errors.QueryAborted("the request needed more memory than one may use"),
    errors.NotAcceptable("no acceptable format for a graph answer", "graph", ("text/turtle",)),
    errors.RdfSyntaxError("unexpected end", 3, 7, "body.ttl"),
    errors.RdfSyntaxError("unexpected end"),
    errors.UnsupportedFormat("no parser for text/x-nope"),
    errors.BadRequest("makes no sense"),
    PoisonTerm("an IRI of 9,000 characters"),
    errors.TooLarge("more than 10 quads"),
    errors.Forbidden("the graph is protected"),
    errors.ValidationAborted("the validation failed: no"),
    errors.VersionNotFound("version 7 is not in this graph's history", first=0, head=5),
]

_ATTRIBUTES = (
    "expected",
    "actual",
    "line",
    "column",
    "form",
    "available",
    "source",
    "first",
    "head",
)


def test_there_is_a_sample_of_every_error_kind() -> None:
    assert {type(e) for e in ERROR_SAMPLES} == {entry.cls for entry in ERRORS}


def test_kinds_and_classes_are_unique() -> None:
    assert len({entry.kind for entry in ERRORS}) == len(ERRORS)
    assert len({entry.cls for entry in ERRORS}) == len(ERRORS)


@pytest.mark.parametrize("error", ERROR_SAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_kind_round_trips(error: errors.IjkgError) -> None:
    sent = wire.encode(error_reply(error))
    reply, _ = wire.read_file(io.BytesIO(sent), ErrorReply)
    back = error_of(reply)
    assert type(back) is type(error)
    assert str(back) == str(error)
    for name in _ATTRIBUTES:
        assert getattr(back, name, None) == getattr(error, name, None)
    with pytest.raises(type(error)) as raised:
        expect(reply, Committed)
    assert str(raised.value) == str(error)


def test_a_subclass_travels_as_its_nearest_kind() -> None:
    class Unreadable(errors.QueryRefused):
        pass

    back = error_of(error_reply(Unreadable("no")))
    assert type(back) is errors.QueryRefused and str(back) == "no"


def test_an_error_without_a_kind_is_refused_at_the_sender() -> None:
    with pytest.raises(ProtocolError, match="NotFound has no error kind"):
        error_reply(errors.NotFound("nothing"))


#: The graph layer's errors that never cross a channel, and why.
NEVER_SENT: dict[type[errors.IjkgError], str] = {
    errors.IjkgError: "a base class",
    errors.StoreUnavailable: "raised by the service when the engine stops answering",
    errors.QueryTooLarge: "checked by the service before a query is sent",
    errors.QueryTimeout: "the service kills the worker at the time limit",
    errors.QueryOverloaded: "the service's own queue",
    errors.ValidationLimit: "a base class",
    errors.ValidationTimeout: "the service kills the validation worker at the time limit",
    errors.ValidationOverloaded: "the service's own queue",
    errors.ValidationFailed: "a validation answers with its report, not this error",
    errors.NotFound: "raised by the service",
    errors.GraphNotFound: "raised by the service when a named graph holds nothing",
    errors.Conflict: "raised by the service",
    errors.VersionsUnsupported: "raised by a store that keeps no history, in the service",
}


def test_the_table_covers_every_error_that_can_cross_the_wire() -> None:
    in_table = {entry.cls for entry in ERRORS}
    graph_errors = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.IjkgError)
    }
    # Every error class of the graph layer is on the wire or named as never sent (a new one
    # needs a decision), ...
    assert graph_errors - set(NEVER_SENT) <= in_table, graph_errors - set(NEVER_SENT) - in_table
    assert not set(NEVER_SENT) & in_table
    # ... and so is every error a validation answers as itself.
    assert set(ANSWERED) <= in_table


# --- a query worker's channel --------------------------------------------------------------------


class _Fixed:
    version = 0

    def catch_up(self, store: ox.Store, min_version: int) -> int:
        return 0


def test_a_worker_answers_a_malformed_request_and_goes_on(tmp_path: Path) -> None:
    path = str(tmp_path / "workers.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    worker = Worker(ox.Store(), _Fixed(), memory_budget=False)
    thread = threading.Thread(target=serve, args=(worker, path), daemon=True)
    thread.start()
    conn, _ = listener.accept()
    with conn, listener:
        hello, _ = wire.recv(conn, WorkerHello)
        assert hello.version == 0 and not hello.isolated
        bad: dict[str, Any] = {**to_header(QUERY), "max_rows": "ten"}
        conn.sendall(framed(bad, b"ignored").getvalue())
        reply, _ = wire.recv(conn, ErrorReply)
        with pytest.raises(ProtocolError, match="max_rows"):
            expect(reply, QueryReply)
        wire.send(conn, VersionRequest(min_version=0))
        assert wire.recv(conn, VersionReply, ErrorReply) == (VersionReply(0), b"")
        wire.send(conn, QueryRequest(**{**vars(QUERY), "sparql": "SELEKT"}))
        reply, _ = wire.recv(conn, QueryReply, ErrorReply)
        with pytest.raises(errors.QuerySyntaxError):
            expect(reply, QueryReply)
    thread.join(5)
    assert not thread.is_alive()


# --- the engine's control channel ----------------------------------------------------------------


def engine_command(data_dir: Path) -> list[str]:
    """An engine on ``data_dir`` (no workers are asked for)."""
    return [sys.executable, "-m", "ijkg.graph.store.engine", "--data-dir", str(data_dir)]


@pytest.mark.slow
@pytest.mark.embedded
def test_the_engine_answers_a_malformed_request_and_goes_on(tmp_path: Path) -> None:
    engine = subprocess.Popen(
        engine_command(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert engine.stdin is not None and engine.stdout is not None
    try:
        ready, _ = wire.read_file(engine.stdout, EngineStats, ErrorReply)
        assert expect(ready, EngineStats).version == 0
        engine.stdin.write(framed({"op": "commit", "rm": -1.5}, b"x").getvalue())
        engine.stdin.flush()
        reply, _ = wire.read_file(engine.stdout, Committed, ErrorReply)
        with pytest.raises(ProtocolError, match="field 'rm'"):
            expect(reply, Committed)
        wire.write_file(engine.stdin, CommitRequest(rm=0, expected=7))
        reply, _ = wire.read_file(engine.stdout, Committed, ErrorReply)
        with pytest.raises(errors.VersionConflict, match="at version 0, not 7"):
            expect(reply, Committed)
        wire.write_file(engine.stdin, StatsRequest())
        stats, _ = wire.read_file(engine.stdout, EngineStats, ErrorReply)
        assert expect(stats, EngineStats).version == 0
    finally:
        engine.stdin.close()
        assert engine.wait(30) == 0
        engine.stdout.close()


@pytest.mark.slow
@pytest.mark.embedded
def test_a_second_engine_on_the_directory_says_it_is_locked(tmp_path: Path) -> None:
    command = engine_command(tmp_path)
    first = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert first.stdin is not None and first.stdout is not None
    try:
        wire.read_file(first.stdout, EngineStats)
        second = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        assert second.returncode == 3
        reply, _ = wire.read_file(io.BytesIO(second.stdout), EngineStats, ErrorReply)
        with pytest.raises(errors.StoreLocked, match=f"in use by process {first.pid}"):
            expect(reply, EngineStats)
    finally:
        first.stdin.close()
        first.wait(30)
        first.stdout.close()


# --- a validation worker's answers ---------------------------------------------------------------


def test_a_validation_answers_the_submissions_faults_and_aborts_on_anything_else() -> None:
    poison = PoisonTerm("an IRI of 9,000 characters")
    assert answered(poison) is poison
    protected = ProtectedGraph("the graph is protected")  # a Forbidden, but not the submission's
    aborted = answered(protected)
    assert type(aborted) is errors.ValidationAborted
    assert str(aborted) == "the validation failed: the graph is protected"
