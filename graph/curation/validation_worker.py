"""A validation worker: a process of its own that validates RDF submitted to ``POST /validate``.

Validating an arbitrary body is the costliest thing an anonymous client can ask for: parsing it,
finding what it touches, building rdflib graphs and running pyshacl are all CPU and memory in
proportion to the body. None of it runs in the service process. The service keeps a small pool of
these workers (``ijkg.graph.curation.validation_pool``) and hands each submission to one; the worker

- runs at a lower CPU priority than the service and its query workers (queries go first),
- has a memory cap (``RLIMIT_AS``: what it maps after start-up plus ``IJKG_VALIDATE_MEMORY_MB``),
- counts the quads as it parses and stops past ``IJKG_MAX_VALIDATE_QUADS``,
- is off the network, like a query worker (``ijkg.graph.store.sandbox``),
- is killed by the service at the time limit (``IJKG_VALIDATE_TIMEOUT_S``) and replaced.

It reads the graph through the service (``ReadMatch`` and ``ReadSelect`` on its channel), which
answers them from the store with the store's own limits. The channel is stdin/stdout, framed by
``ijkg.graph.store.wire`` with the messages of ``ijkg.graph.store.messages``: the service sends a
``ValidateRequest`` with the submission's parts; the worker answers with any number of reads,
then ``Validated`` or an ``ErrorReply``.

``python -m ijkg.graph.curation.validation_worker --memory-mb N`` starts one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
from collections.abc import Collection, Sequence
from typing import Any, BinaryIO

import pyoxigraph as ox

from ijkg.graph.core import errors
from ijkg.graph.core.formats import JSONLD, TURTLE, rdf_syntax_for_media_type
from ijkg.graph.core.ingest import PoisonTerm
from ijkg.graph.core.rdfio import ParseOptions, iter_quads, read_nquads
from ijkg.graph.curation.changes import Changes
from ijkg.graph.curation.explain import Explainer, gate_report_json, submitted_graph
from ijkg.graph.curation.gate import Gate
from ijkg.graph.curation.validation import report_graph
from ijkg.graph.store import wire
from ijkg.graph.store.base import (
    Answer,
    Commit,
    Dataset,
    Delta,
    Pattern,
    QueryLimits,
    Store,
    StoreStats,
)
from ijkg.graph.store.messages import (
    M,
    Message,
    ReadFailed,
    ReadMatch,
    ReadQuads,
    ReadRows,
    ReadSelect,
    Validated,
    ValidateRequest,
    ValidatorReady,
    error_reply,
    expect,
)
from ijkg.graph.store.sandbox import die_with_parent, leave_network
from ijkg.graph.store.worker import encode_patterns

#: How much lower than the service a worker runs (``nice``): queries go first.
NICENESS = 10

_PAGE = os.sysconf("SC_PAGE_SIZE")


# --- errors across the channel -----------------------------------------------------------------

#: The errors a validation answers as themselves (the submission is at fault); any other comes
#: back as ``ValidationAborted`` with its message.
ANSWERED: tuple[type[errors.IjkgError], ...] = (
    errors.RdfSyntaxError,
    errors.UnsupportedFormat,
    errors.BadRequest,
    errors.TooLarge,
    errors.Forbidden,
    PoisonTerm,
)

#: Why a validation that ran out of memory stopped (its worker exits after saying so).
OUT_OF_MEMORY = (
    "the validation was stopped: it needed more memory than one validation may use; "
    "send a smaller submission"
)


def answered(exc: errors.IjkgError) -> errors.IjkgError:
    """The error the service is to raise for a validation that failed with ``exc``."""
    if type(exc) in ANSWERED:
        return exc
    return errors.ValidationAborted(f"the validation failed: {exc}")


# --- the graph, read through the service --------------------------------------------------------


class _StoreFailed(errors.StoreError):
    """The service could not answer a read (it raises the store's own error itself)."""


class Channel:
    """The worker's side of the channel: one request to the service at a time."""

    def __init__(self, inp: BinaryIO, out: BinaryIO) -> None:
        self.inp = inp
        self.out = out

    def ask(self, request: Message, expected: type[M], body: bytes = b"") -> tuple[M, bytes]:
        """Send a read, return the service's answer (``expected``)."""
        wire.write_file(self.out, request, body)
        reply, payload = wire.read_file(self.inp, expected, ReadFailed)
        if isinstance(reply, ReadFailed):
            raise _StoreFailed(reply.message)
        return expect(reply, expected), payload

    def send(self, message: Message, body: bytes = b"") -> None:
        wire.write_file(self.out, message, body)

    def receive(self) -> tuple[ValidateRequest, bytes]:
        return wire.read_file(self.inp, ValidateRequest)


class ServiceStore(Store):
    """The graph as the service shows it to a validation worker: reads only."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.limits = QueryLimits(timeout_s=1.0, memory_mb=64, max_rows=1, max_bytes=1)

    async def match(self, patterns: Sequence[Pattern]) -> list[ox.Quad]:
        if not patterns:
            return []
        _reply, body = self.channel.ask(ReadMatch(), ReadQuads, encode_patterns(patterns))
        return read_nquads(body)

    async def query(
        self,
        sparql: str,
        *,
        results: Any = None,
        rdf: Any = None,
        dataset: Dataset | None = None,
        base_iri: str | None = None,
        limits: QueryLimits | None = None,
        prefixes: bool = False,
        at_version: int | None = None,
    ) -> Answer:
        if (
            dataset is not None
            or base_iri is not None
            or limits is not None
            or at_version is not None
        ):
            raise _StoreFailed("a validation worker reads with the service's defaults only")
        reply, body = self.channel.ask(ReadSelect(sparql, prefixes), ReadRows)
        return Answer("select", reply.media_type, body, reply.rows, 0)

    async def update_effect(
        self,
        update: str,
        *,
        write_graph: str,
        max_quads: int,
        keep_graphs: Collection[str] = (),
        limits: QueryLimits | None = None,
        base_iri: str | None = None,
        using: Dataset | None = None,
    ) -> tuple[Delta, int]:
        raise _StoreFailed("a validation worker does not evaluate updates")

    async def version(self) -> int:
        raise _StoreFailed("a validation worker does not ask for versions")

    async def commit(
        self,
        delta: Delta,
        *,
        expected_version: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Commit:
        raise _StoreFailed("a validation worker writes nothing")

    async def stats(self) -> StoreStats:
        raise _StoreFailed("a validation worker has no store statistics")

    async def close(self) -> None:
        return None


# --- the work ------------------------------------------------------------------------------------


class Validator:
    """What a worker holds for its life: the gate (shapes, ontology) and the explainer."""

    def __init__(self) -> None:
        # Validated in this process alone: the worker's time limit and memory cap hold for all
        # of it (a pool of processes would escape both).
        self.gate = Gate(processes=1)
        self.explainer = Explainer(self.gate.shapes)

    def parse(self, request: ValidateRequest, body: bytes) -> Delta:
        """The submission's parts as a change, refusing more than ``max_quads`` quads."""
        max_quads = request.max_quads
        adds: list[ox.Quad] = []
        removes: list[ox.Quad] = []
        offset = 0
        for part in request.parts:
            data = body[offset : offset + part.bytes]
            offset += part.bytes
            into = removes if part.role == "remove" else adds
            options = ParseOptions(
                rdf_syntax_for_media_type(part.media_type),
                default_graph=part.graph,
                source=part.source,
            )
            for quad in iter_quads(data, options):
                into.append(quad)
                if len(adds) + len(removes) > max_quads:
                    raise errors.TooLarge(
                        f"the submission has more than {max_quads:,} quads, the most one "
                        "validation may check (IJKG_MAX_VALIDATE_QUADS); send it in parts"
                    )
        return Delta(removes=tuple(removes), adds=tuple(adds))

    async def validate(
        self, store: Store, request: ValidateRequest, body: bytes
    ) -> tuple[Validated, bytes]:
        delta = self.parse(request, body)
        changes = Changes(
            store, self.gate, max_quads=request.max_quads, default_graph=request.graph
        )
        delta = await changes.placed(delta, request.target_graph)
        gate = await self.gate.check(store, delta)
        wanted = request.wanted
        if wanted in (TURTLE.media_type, JSONLD.media_type):
            syntax = "turtle" if wanted == TURTLE.media_type else "json-ld"
            answer = report_graph(gate.report).serialize(format=syntax)
            return Validated(wanted), answer.encode()
        submitted = submitted_graph(list(delta.adds))
        explained = await self.explainer.explain(store, gate.report, submitted)
        document = gate_report_json(gate, explained)
        return Validated("application/json"), json.dumps(document, ensure_ascii=False).encode()


def _virtual_memory() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * _PAGE


def serve(inp: BinaryIO, out: BinaryIO, memory_mb: int, *, isolated: bool) -> int:
    """Build the validator, say so, then validate one submission at a time until the service
    hangs up. A validation that runs out of memory ends the worker (the service replaces it)."""
    validator = Validator()
    # The cap covers what a validation allocates, not the libraries and shapes loaded above.
    resource.setrlimit(
        resource.RLIMIT_AS,
        (_virtual_memory() + memory_mb * 1024 * 1024, resource.RLIM_INFINITY),
    )
    channel = Channel(inp, out)
    store = ServiceStore(channel)
    channel.send(ValidatorReady(os.getpid(), isolated))
    loop = asyncio.new_event_loop()
    try:
        while True:
            reply: Message
            try:
                request, body = channel.receive()
                reply, payload = loop.run_until_complete(validator.validate(store, request, body))
            except EOFError:
                return 0
            except errors.IjkgError as exc:  # a malformed request (``ProtocolError``) included
                reply, payload = error_reply(answered(exc)), b""
            except MemoryError:
                channel.send(error_reply(errors.ValidationAborted(OUT_OF_MEMORY), fatal=True))
                return 1
            channel.send(reply, payload)
    finally:
        loop.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ijkg.graph.curation.validation_worker")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument(
        "--network", action=argparse.BooleanOptionalAction, default=False, help="stay online"
    )
    args = parser.parse_args(argv)
    die_with_parent()
    os.nice(NICENESS)
    isolated = False if args.network else leave_network()
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    # Nothing else may write to the channel: stray prints go to the service's log instead.
    sys.stdout = sys.stderr
    return serve(inp, out, args.memory_mb, isolated=isolated)


if __name__ == "__main__":
    sys.exit(main())
