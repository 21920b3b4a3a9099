"""The validation pool: a few killable processes that validate submitted RDF (``POST /validate``).

Each submission goes to one idle worker (``ijkg.graph.curation.validation_worker``) with the time
limit ``IJKG_VALIDATE_TIMEOUT_S`` over all of it; past it, the worker is killed and replaced and the
caller gets ``ValidationTimeout``. A worker that dies (its memory cap, a crash) gives
``ValidationAborted`` and is replaced too. There are ``IJKG_VALIDATE_WORKERS`` workers, started by
the first submission; a submission that finds none free within a second gets
``ValidationOverloaded`` (503), and at most as many again may wait, so validations never queue up
behind each other for long.

The worker reads the graph through the pool, one read at a time, with the store's own limits:
so however many validations run, they hold at most one query worker each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections import deque
from dataclasses import dataclass, field

from ijkg.graph.core.errors import (
    IjkgError,
    StoreUnavailable,
    ValidationAborted,
    ValidationOverloaded,
    ValidationTimeout,
)
from ijkg.graph.core.rdfio import write_nquads
from ijkg.graph.core.settings import Settings
from ijkg.graph.store import wire
from ijkg.graph.store.base import Store
from ijkg.graph.store.messages import (
    ErrorReply,
    Message,
    PartHeader,
    ProtocolError,
    ReadFailed,
    ReadMatch,
    ReadQuads,
    ReadRows,
    ReadSelect,
    Validated,
    ValidateRequest,
    ValidatorReady,
    error_of,
    expect,
)
from ijkg.graph.store.worker import decode_patterns

log = logging.getLogger("ijkg")

_WAIT_S = 1.0  # how long a submission may wait for a free worker before the service says busy
_START_S = 120.0  # how long a worker may take to start (it loads the shapes and the ontology)
_RETRY_S = 5.0  # how long after a failed start the pool tries again

#: What a validation worker may say during a validation: reads, then its answer.
_FROM_WORKER = (ReadMatch, ReadSelect, Validated, ErrorReply)


@dataclass(frozen=True)
class Part:
    """One RDF text of a submission: what to add or remove, in which syntax, and where triples
    that name no graph go."""

    role: str  # "add" or "remove"
    media_type: str
    data: bytes
    source: str
    graph: str | None = None


@dataclass(frozen=True)
class Submission:
    """What to validate and how to answer."""

    parts: tuple[Part, ...]
    wanted: str  # the answer's media type: application/json, text/turtle, application/ld+json
    target_graph: str | None = None


@dataclass(frozen=True)
class Verdict:
    """A validation's answer, already serialised."""

    media_type: str
    body: bytes


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    isolated: bool = False
    reader: asyncio.StreamReader = field(init=False)
    writer: asyncio.StreamWriter = field(init=False)

    def __post_init__(self) -> None:
        assert self.process.stdout is not None and self.process.stdin is not None  # noqa: S101
        self.reader = self.process.stdout
        self.writer = self.process.stdin

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class ValidationPool:
    """``settings.validate_workers`` validation processes, started by the first submission: a
    service that is never asked to validate does not hold them (each holds the interpreter,
    pyoxigraph, rdflib and pyshacl: tens of MB)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.size = settings.validate_workers
        self.timeout_s = settings.validate_timeout_s
        self._idle: deque[_Worker] = deque()
        self._waiters: deque[asyncio.Future[_Worker]] = deque()
        self._workers: set[_Worker] = set()
        self._starting = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._started = False
        self.replaced = 0  # workers killed (past a limit, dead, abandoned) and started again

    def _start(self) -> None:
        """Start the workers (in the background: the first submissions wait for them)."""
        self._started = True
        for _ in range(self.size):
            self._spawn()

    def stats(self) -> dict[str, int]:
        """For ``/health``: the workers running, idle, starting, and replaced since start-up."""
        return {
            "workers": len(self._workers),
            "idle": len(self._idle),
            "starting": self._starting,
            "replaced": self.replaced,
        }

    # --- workers -------------------------------------------------------------------------------

    def _spawn(self) -> None:
        if self._closed:
            return
        self._starting += 1
        task = asyncio.create_task(self._start_one())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_one(self) -> None:
        worker: _Worker | None = None
        try:
            command = [
                sys.executable,
                "-m",
                "ijkg.graph.curation.validation_worker",
                "--memory-mb",
                str(self.settings.validate_memory_mb),
            ]
            if self.settings.allow_federation:
                command.append("--network")
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
            worker = _Worker(process)
            self._workers.add(worker)
            hello, _ = await asyncio.wait_for(wire.aread(worker.reader, ValidatorReady), _START_S)
            worker.isolated = hello.isolated
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError) as exc:
            log.error("a validation worker did not start (trying again shortly): %r", exc)
            if worker is not None:
                await self._bury(worker)
            worker = None
        finally:
            self._starting -= 1
        if worker is None:
            await asyncio.sleep(_RETRY_S)
            self._spawn()
            return
        if self._closed:
            await self._bury(worker)
            return
        self._release(worker)

    async def _bury(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.discard(worker)
        worker.writer.close()
        await worker.process.wait()

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker (past its limit, dead, or in an unknown state) and start another."""
        self.replaced += 1
        worker.kill()
        task = asyncio.create_task(self._bury(worker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._spawn()

    def _release(self, worker: _Worker) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    async def _acquire(self) -> _Worker:
        if self._closed:
            raise StoreUnavailable("the service is shutting down")
        if not self._started:
            self._start()
        if self._idle:
            return self._idle.popleft()
        if len(self._waiters) >= self.size:
            raise ValidationOverloaded(
                f"{self.size} validation(s) are running and as many are waiting; try again shortly"
            )
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        # Workers that are starting (the first ones, or replacements) take a few seconds.
        wait_s = _START_S if self._starting else _WAIT_S
        try:
            return await asyncio.wait_for(waiter, wait_s)
        except TimeoutError:
            raise ValidationOverloaded(
                f"all {self.size} validation worker(s) are busy; try again shortly"
            ) from None
        except BaseException:
            # Cancelled (the client went away) just as a worker was handed over: pass it on.
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    # --- one validation ------------------------------------------------------------------------

    async def validate(self, store: Store, submission: Submission, *, graph: str) -> Verdict:
        """Validate ``submission`` as if merged into ``store`` (triples that name no graph go to
        ``graph``), within the limits. Raises ``ValidationTimeout``, ``ValidationOverloaded``,
        ``ValidationAborted``, ``TooLarge`` (past the quad cap), ``RdfSyntaxError``,
        ``UnsupportedFormat``, ``BadRequest``, or the store's errors."""
        worker = await self._acquire()
        try:
            verdict = await asyncio.wait_for(
                self._exchange(worker, store, submission, graph), self.timeout_s
            )
        except TimeoutError:
            self._replace(worker)
            raise ValidationTimeout(self.timeout_s) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            self._replace(worker)
            raise ValidationAborted(
                "the validation was stopped: it needed more memory than one validation may "
                "use, or crashed its process; send a smaller submission"
            ) from None
        except _Fatal as exc:
            self._replace(worker)
            raise exc.error from None
        except _Answered as exc:
            # The worker finished and said what was wrong (malformed RDF, over the quad cap, a
            # store error): it is ready for the next submission.
            self._release(worker)
            raise exc.error from None
        except BaseException:
            # Cancelled (the client went away) or a store error mid-way: its state is unknown.
            self._replace(worker)
            raise
        self._release(worker)
        return verdict

    async def _exchange(
        self, worker: _Worker, store: Store, submission: Submission, graph: str
    ) -> Verdict:
        request = ValidateRequest(
            parts=tuple(
                PartHeader(p.role, p.media_type, len(p.data), p.source, p.graph)
                for p in submission.parts
            ),
            graph=graph,
            target_graph=submission.target_graph,
            max_quads=self.settings.max_validate_quads,
            wanted=submission.wanted,
        )
        await wire.awrite(worker.writer, request, b"".join(p.data for p in submission.parts))
        failed: IjkgError | None = None
        while True:
            message, body = await wire.aread(worker.reader, *_FROM_WORKER)
            if isinstance(message, Validated | ErrorReply):
                break
            reply: Message
            if failed is not None:
                await wire.awrite(worker.writer, ReadFailed(str(failed)))
                continue
            try:
                reply, payload = await self._read(store, message, body)
            except IjkgError as exc:
                failed = exc
                reply, payload = ReadFailed(str(exc)), b""
            await wire.awrite(worker.writer, reply, payload)
        if failed is not None:
            raise _Answered(failed)  # the store's own error (timeout, overload), not the worker's
        if isinstance(message, ErrorReply):
            if message.fatal:  # the worker exits: out of memory
                raise _Fatal(error_of(message))
            raise _Answered(error_of(message))
        return Verdict(expect(message, Validated).media_type, body)

    async def _read(self, store: Store, request: Message, body: bytes) -> tuple[Message, bytes]:
        if isinstance(request, ReadSelect):
            answer = await store.query(request.sparql, prefixes=request.prefixes)
            return ReadRows(answer.media_type, answer.rows), answer.body
        expect(request, ReadMatch)
        quads = await store.match(decode_patterns(body))
        return ReadQuads(), write_nquads(quads)

    async def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for worker in list(self._workers):
            await self._bury(worker)
        self._idle.clear()


class _Fatal(Exception):
    """A worker's answer after which the worker is not reused."""

    def __init__(self, error: IjkgError) -> None:
        super().__init__(str(error))
        self.error = error


class _Answered(Exception):
    """A worker's answer that is an error, after which the worker is reused."""

    def __init__(self, error: IjkgError) -> None:
        super().__init__(str(error))
        self.error = error
