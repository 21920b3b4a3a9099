"""uvicorn's HTTP/1.1 protocol, guarded: deadlines, per-address connection caps, strict framing.

uvicorn bounds the memory of a connection (h11 buffers at most 16 KiB of an unfinished request
head) but not its time: a connection that sends nothing, or a header byte every few seconds
(slowloris), or the rest of a body nobody reads any more, is kept open for as long as the client
likes, and enough of them exhaust the process's connections. This protocol closes such
connections:

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
connection open for whatever follows.

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
from collections import Counter
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ijkg.graph import Settings
from ijkg.service.clients import is_trusted_proxy

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
#: Connections open from each client address, in this process.
_OPEN: Counter[str] = Counter()


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


@functools.cache
def _settings() -> Settings:
    """The settings, read once per process (``ijkg serve --workers N`` starts each worker from
    the environment, so the protocol reads them there too)."""
    return Settings()


class GuardedH11Protocol(H11Protocol):
    """``H11Protocol`` that closes connections whose request does not arrive in time, refuses a
    client address more connections than its share, and refuses bodies framed twice."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _StrictConnection(
            h11.SERVER,
            self.config.h11_max_incomplete_event_size or 16 * 1024,  # h11's own default
        )
        self.deadline_s = _settings().header_timeout_s
        self.send_timeout_s = _settings().send_timeout_s
        self.per_client = _settings().max_connections_per_client
        self._peer: str | None = None  # the address this connection is counted under
        self._refused = False  # answered 429 at once (too many connections from its address)
        self._linger: asyncio.TimerHandle | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None
        self._unsent = 0

    # --- the deadline ---------------------------------------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.deadline_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _waiting_for_client(self) -> bool:
        """Whether the connection waits on the client: for a request head, or for the rest of a
        body whose response is already sent (not while a request is being answered)."""
        head = self.conn.their_state is h11.IDLE
        unread_body = self.conn.our_state is h11.DONE and self.conn.their_state is h11.SEND_BODY
        return head or unread_body

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or not self._waiting_for_client():
            return
        if self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE:
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
        refusal = self.conn.refusal if isinstance(self.conn, _StrictConnection) else None
        super().send_400_response(refusal or msg)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else None
        if isinstance(address, str) and not is_trusted_proxy(address, self._proxies()):
            if _OPEN[address] >= self.per_client:
                self.logger.info("refused a connection: its address holds too many already")
                self._refuse(transport)
                return
            _OPEN[address] += 1
            self._peer = address
        self._arm()

    def _proxies(self) -> str:
        trusted = self.config.forwarded_allow_ips
        return trusted if isinstance(trusted, str) else ",".join(trusted)

    def _refuse(self, transport: asyncio.Transport) -> None:
        """Answer 429 and close. Closing a socket with unread input resets it, which can destroy
        the answer before the client reads it: so the write side is shut after the answer, what
        the client sends meanwhile is dropped, and the socket is closed when the client closes
        its side or after ``_LINGER_S`` at most."""
        self._refused = True
        transport.write(_too_many_connections(self.per_client))
        if transport.can_write_eof():
            transport.write_eof()
        self._linger = self.loop.call_later(_LINGER_S, transport.close)

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()  # the client read its answer and hung up
            return
        super().eof_received()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # a refused connection's input is dropped
        super().data_received(data)
        # The head is in once the client's side has left IDLE; from then on the handler (and its
        # body deadline) is in charge, until the response is complete.
        if not self._waiting_for_client():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            self._disarm()
            return
        # Either the next request's head (IDLE), or the rest of an unread body (SEND_BODY): the
        # client has the same time for either. (A pipelined request may be in already.)
        if self._waiting_for_client():
            self._arm()
        else:
            self._disarm()

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
