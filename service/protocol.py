"""uvicorn's HTTP/1.1 protocols, guarded: deadlines, per-address connection caps, strict framing.

Two parsers, the same guards (``_Guards``, shared): ``GuardedHttpToolsProtocol`` on httptools
(llhttp, in C; the default, ``IJKG_HTTP=httptools``) and ``GuardedH11Protocol`` on h11 (pure
Python, ``IJKG_HTTP=h11``, and where httptools is not installed). The C parser, with uvloop under
it, takes a fifth to a third less of the service process's CPU per request than h11 on asyncio
(a SPARQL point lookup, the hello-world route), where uvloop alone takes next to nothing off;
h11 stays for operators who want a parser in Python.

The head of a request is bounded in size: at most ``h11_max_incomplete_event_size`` bytes of an
unfinished head are held (h11 holds that itself; llhttp has no bound, so the httptools protocol
counts), past it the answer is 400 and the connection is closed; a complete head over the cap
that came at once is refused with 431 or 414 by ``ijkg.service.request_log``.

uvicorn bounds the memory of a connection but not its time: a connection that sends nothing, or a
header byte every few seconds (slowloris), or the rest of a body nobody reads any more, is kept
open for as long as the client likes, and enough of them exhaust the process's connections. Both
protocols close such connections:

- the request head (request line and headers) must be complete within ``IJKG_HEADER_TIMEOUT_S``
  of the connection opening or of the previous response; if not, the client gets
  ``408 Request Timeout`` and the connection is closed;
- once the response is sent, a client still sending a request body the handler did not read (a
  401 or 413 answered early) has the same time to finish, then the connection is closed;
- a client that stops reading its answer is cut off when ``IJKG_SEND_TIMEOUT_S`` pass without it
  taking any more of it (uvicorn would otherwise hold the unsent part of the answer, up to the
  result byte cap, in memory for as long as the client likes).

A request with both ``Content-Length`` and ``Transfer-Encoding`` (the stuff of request smuggling:
a proxy in front may frame it by the other header) is refused with 400 and the connection closed,
as RFC 9112 (section 6.1) asks; h11 would frame it by ``Transfer-Encoding`` and keep the
connection open for whatever follows. So is a ``Transfer-Encoding`` other than ``chunked`` (h11
refuses it; llhttp would read ``gzip, chunked`` as chunks).

One client address may hold at most ``IJKG_MAX_CONNECTIONS_PER_CLIENT`` connections at once (the
connection's peer; the address of a proxy uvicorn trusts is not capped, see
``ijkg.service.clients``); a connection past it is answered ``429`` and closed as soon as it opens,
so a slowloris from one address cannot take the process's connections from everyone else.

A body that the handler does read has its own deadline (``IJKG_BODY_TIMEOUT_S``, in
``ijkg.service.bodies``): 408 problem details. ``IJKG_MAX_CONNECTIONS`` (uvicorn's
``limit_concurrency``) caps the connections a process holds at once; past it new requests get 503.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ijkg.graph import Settings
from ijkg.service.clients import is_trusted_proxy

try:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # the h11 protocol works without it (IJKG_HTTP=h11)
    HAVE_HTTPTOOLS = False
else:
    HAVE_HTTPTOOLS = True

if TYPE_CHECKING:
    from uvicorn.config import Config

    class _Uvicorn(asyncio.Protocol):
        """What the guards use of uvicorn's HTTP protocols (both have it)."""

        config: Config
        loop: asyncio.AbstractEventLoop
        logger: logging.Logger
        transport: asyncio.Transport

        def eof_received(self) -> None: ...
        def send_400_response(self, msg: str) -> None: ...
        def on_response_complete(self) -> None: ...
        def shutdown(self) -> None: ...
else:
    _Uvicorn = object

_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"X-Content-Type-Options: nosniff\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 41\r\n\r\n"
    b"the request did not arrive in time (408)\n"
)


#: How long a refused connection is kept to let its answer reach the client, at most.
_LINGER_S = 2.0
#: Connections open from each client address, in this process (both protocols count here).
_OPEN: Counter[str] = Counter()
#: What uvicorn answers (400) to a request its parser cannot take, a head over the cap included.
_INVALID = "Invalid HTTP request received."
#: The head cap when the server is not given one: h11's own default.
_DEFAULT_MAX_HEAD = 16 * 1024
#: Set when the server begins to shut down (it asks every connection to finish): answers that
#: would never end by themselves (a live stream) end then, or the shutdown would wait for them.
_STOPPING = [False]


def stopping() -> bool:
    """Whether this process's server is shutting down."""
    return _STOPPING[0]


@functools.cache
def _too_many_connections(per_client: int) -> bytes:
    body = json.dumps(
        {
            "type": "https://w3id.org/ijkg/problems/too-many-connections",
            "title": "Too many connections",
            "status": 429,
            "detail": f"this client address already holds {per_client} connections, the most one "
            "address may (IJKG_MAX_CONNECTIONS_PER_CLIENT); reuse them, or close some",
        }
    ).encode()
    head = (
        "HTTP/1.1 429 Too Many Requests\r\n"
        "Content-Type: application/problem+json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Retry-After: 2\r\n"
        "Connection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_BOTH_LENGTHS = (
    "a request may not have both Content-Length and Transfer-Encoding (RFC 9112, section 6.1)"
)
_CODINGS = "a request body may only be framed by Transfer-Encoding: chunked"


@functools.cache
def _settings() -> Settings:
    """The settings, read once per process (``ijkg serve --workers N`` starts each worker from
    the environment, so the protocol reads them there too)."""
    return Settings()


class _Guards(_Uvicorn):
    """The guards, for either of uvicorn's HTTP protocols: each protocol says, from its parser's
    state, whether the connection waits on its client (``_waiting_for_client``), whether nothing
    of an answer to the awaited head went out yet (``_awaiting_head``), and which framing rule a
    refused request broke (``_refusal``)."""

    def _guard(self) -> None:
        self.deadline_s = _settings().header_timeout_s
        self.send_timeout_s = _settings().send_timeout_s
        self.per_client = _settings().max_connections_per_client
        self._peer: str | None = None  # the address this connection is counted under
        self._refused = False  # answered 429 at once (too many connections from its address)
        self._linger: asyncio.TimerHandle | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None
        self._unsent = 0

    def _waiting_for_client(self) -> bool:
        """Whether the connection waits on the client: for a request head, or for the rest of a
        body whose response is already sent (not while a request is being answered)."""
        raise NotImplementedError

    def _awaiting_head(self) -> bool:
        """Whether the connection waits for a request head, nothing of its answer sent."""
        raise NotImplementedError

    def _refusal(self) -> str | None:
        """Why the parser refused the request, where it is one of ijkg's rules."""
        raise NotImplementedError

    # --- the deadline ---------------------------------------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.deadline_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or not self._waiting_for_client():
            return
        if self._awaiting_head():
            self.transport.write(_TIMEOUT_ANSWER)  # no response started: say why
        self.logger.info("closed a connection whose request did not arrive in time")
        self.transport.close()

    # --- a client that does not read ----------------------------------------------------------

    def _watch_unsent(self) -> None:
        self._unsent = self.transport.get_write_buffer_size()
        self._stall = self.loop.call_later(self.send_timeout_s, self._check_unsent)

    def _check_unsent(self) -> None:
        self._stall = None
        if self.transport.is_closing():
            return
        if self.transport.get_write_buffer_size() >= self._unsent:
            self.logger.info("cut off a client that stopped reading its answer")
            self.transport.abort()  # drops what it would not take
            return
        self._watch_unsent()  # it took some: watch on

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall is None:
            self._watch_unsent()

    def resume_writing(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        super().resume_writing()

    # --- uvicorn's protocol hooks ---------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers every malformed request with the same words; say which rule it broke.
        super().send_400_response(self._refusal() or msg)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else None
        if isinstance(address, str) and not is_trusted_proxy(address, self._proxies()):
            if _OPEN[address] >= self.per_client:
                self.logger.info("refused a connection: its address holds too many already")
                self._refuse()
                return
            _OPEN[address] += 1
            self._peer = address
        self._arm()

    def _proxies(self) -> str:
        trusted = self.config.forwarded_allow_ips
        return trusted if isinstance(trusted, str) else ",".join(trusted)

    def _refuse(self) -> None:
        """Answer 429 and close. Closing a socket with unread input resets it, which can destroy
        the answer before the client reads it: so the write side is shut after the answer, what
        the client sends meanwhile is dropped, and the socket is closed when the client closes
        its side or after ``_LINGER_S`` at most."""
        self._refused = True
        self.transport.write(_too_many_connections(self.per_client))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger = self.loop.call_later(_LINGER_S, self.transport.close)

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()  # the client read its answer and hung up
            return
        super().eof_received()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # a refused connection's input is dropped
        super().data_received(data)
        # Once the head is in, the handler (and its body deadline) is in charge, until the
        # response is complete.
        if not self._waiting_for_client():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            self._disarm()
            return
        # Either the next request's head, or the rest of an unread body: the client has the same
        # time for either. (A pipelined request may be in already.)
        if self._waiting_for_client():
            self._arm()
        else:
            self._disarm()

    def shutdown(self) -> None:
        _STOPPING[0] = True
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self._peer is not None:
            _OPEN[self._peer] -= 1
            if _OPEN[self._peer] <= 0:
                del _OPEN[self._peer]
            self._peer = None
        self._disarm()
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        super().connection_lost(exc)


class _StrictConnection(h11.Connection):
    """h11's server side, refusing a request whose body is framed twice."""

    refusal: str | None = None

    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            names = {name.lower() for name, _value in event.headers}
            if b"content-length" in names and b"transfer-encoding" in names:
                self.refusal = _BOTH_LENGTHS
                raise h11.RemoteProtocolError(_BOTH_LENGTHS, 400)
        return event


class GuardedH11Protocol(_Guards, H11Protocol):
    """``H11Protocol`` (pure Python) that closes connections whose request does not arrive in
    time, refuses a client address more connections than its share, and refuses bodies framed
    twice. h11 itself holds at most ``h11_max_incomplete_event_size`` bytes of an unfinished
    head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _StrictConnection(
            h11.SERVER, self.config.h11_max_incomplete_event_size or _DEFAULT_MAX_HEAD
        )
        self._guard()

    def _waiting_for_client(self) -> bool:
        head = self.conn.their_state is h11.IDLE
        unread_body = self.conn.our_state is h11.DONE and self.conn.their_state is h11.SEND_BODY
        return head or unread_body

    def _awaiting_head(self) -> bool:
        return self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE

    def _refusal(self) -> str | None:
        return self.conn.refusal if isinstance(self.conn, _StrictConnection) else None


if HAVE_HTTPTOOLS:

    class _StrictParser(httptools.HttpRequestParser):
        """llhttp's request parser, remembering a refusal of a body framed twice (llhttp refuses
        it, in its own words)."""

        refusal: str | None = None

        def feed_data(self, data: Any) -> None:
            try:
                super().feed_data(data)
            except httptools.HttpParserError as exc:
                said = str(exc).lower()
                if "content-length" in said and "transfer-encoding" in said:
                    self.refusal = self.refusal or _BOTH_LENGTHS
                raise

    class GuardedHttpToolsProtocol(_Guards, HttpToolsProtocol):
        """``HttpToolsProtocol`` (llhttp, in C) with the same guards as ``GuardedH11Protocol``.
        llhttp holds no bound on a head: the bytes of an unfinished head are counted here and a
        head past ``h11_max_incomplete_event_size`` is answered as h11 answers it (400, closed).
        A coding other than ``chunked`` is refused as h11 refuses it (llhttp would take
        ``gzip, chunked`` as chunks)."""

        parser: _StrictParser

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.parser = _StrictParser(self)
            # As uvicorn sets it: an answer to the first of pipelined requests that closes.
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
            self.max_head = self.config.h11_max_incomplete_event_size or _DEFAULT_MAX_HEAD
            self._owed = 0  # requests whose head is in and whose response is not complete
            self._head_open = True  # the next thing the client sends is a request head
            self._head_bytes = 0  # received since that head began (whole reads: an upper bound)
            self._guard()

        def _waiting_for_client(self) -> bool:
            return self._owed == 0

        def _awaiting_head(self) -> bool:
            return self._owed == 0 and self._head_open

        def _refusal(self) -> str | None:
            return self.parser.refusal

        def data_received(self, data: bytes) -> None:
            if self._head_open:
                self._head_bytes += len(data)
            super().data_received(data)
            over = self._head_open and self._head_bytes > self.max_head
            if over and not self.transport.is_closing():
                self.logger.warning(_INVALID)
                self.send_400_response(_INVALID)

        def on_header(self, name: bytes, value: bytes) -> None:
            if name.lower() == b"transfer-encoding" and value.strip().lower() != b"chunked":
                self.parser.refusal = _CODINGS
                raise ValueError(_CODINGS)  # the parser stops; uvicorn answers 400
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._head_open = False
            self._owed += 1
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._head_open = True
            self._head_bytes = 0

        def on_response_complete(self) -> None:
            self._owed -= 1
            super().on_response_complete()


def uvicorn_protocol(choice: str) -> str:
    """The protocol ``ijkg serve`` hands uvicorn for ``IJKG_HTTP``: httptools' where it is
    installed, else h11's.

    >>> uvicorn_protocol("h11")
    'ijkg.service.protocol:GuardedH11Protocol'
    """
    if choice == "httptools" and HAVE_HTTPTOOLS:
        return f"{__name__}:GuardedHttpToolsProtocol"
    return f"{__name__}:GuardedH11Protocol"
