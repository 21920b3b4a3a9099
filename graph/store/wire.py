"""Framing of the messages between the service, the store engine and its query workers.

A message (see ``messages``) is a JSON header and an opaque body (serialised results, N-Quads):
``!II`` (header length, body length), the UTF-8 JSON header, then the body. A reader names the
messages it expects; anything else is refused with ``ProtocolError`` once the whole frame is read,
so the channel stays in step.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import BinaryIO, TypeVar

from ijkg.graph.store.messages import Message, ProtocolError, from_header, to_header

M = TypeVar("M", bound=Message)

_PREFIX = struct.Struct("!II")


def encode(message: Message, body: bytes = b"") -> bytes:
    head = json.dumps(to_header(message), separators=(",", ":")).encode()
    return _PREFIX.pack(len(head), len(body)) + head + body


def decode(raw: bytes, expected: tuple[type[M], ...]) -> M:
    """The message in a raw header, one of ``expected``."""
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError(f"a message header is not JSON: {exc}") from None
    return from_header(header, *expected)


# --- blocking side (engine and workers are single-threaded) ------------------------------------


def _read_exact_file(stream: BinaryIO, n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("peer closed the channel")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_file(stream: BinaryIO, *expected: type[M]) -> tuple[M, bytes]:
    """Read one message from a pipe."""
    head_len, body_len = _PREFIX.unpack(_read_exact_file(stream, _PREFIX.size))
    raw = _read_exact_file(stream, head_len)
    body = _read_exact_file(stream, body_len)
    return decode(raw, expected), body


def write_file(stream: BinaryIO, message: Message, body: bytes = b"") -> None:
    stream.write(encode(message, body))
    stream.flush()


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise EOFError("peer closed the channel")
        got += k
    return bytes(buf)


def recv(sock: socket.socket, *expected: type[M]) -> tuple[M, bytes]:
    """Read one message from a socket."""
    head_len, body_len = _PREFIX.unpack(_recv_exact(sock, _PREFIX.size))
    raw = _recv_exact(sock, head_len)
    body = _recv_exact(sock, body_len)
    return decode(raw, expected), body


def send(sock: socket.socket, message: Message, body: bytes = b"") -> None:
    sock.sendall(encode(message, body))


# --- asyncio side (the service) -----------------------------------------------------------------


async def aread(reader: asyncio.StreamReader, *expected: type[M]) -> tuple[M, bytes]:
    """Read one message; raises ``asyncio.IncompleteReadError`` when the peer is gone."""
    head_len, body_len = _PREFIX.unpack(await reader.readexactly(_PREFIX.size))
    raw = await reader.readexactly(head_len)
    body = await reader.readexactly(body_len) if body_len else b""
    return decode(raw, expected), body


async def awrite(writer: asyncio.StreamWriter, message: Message, body: bytes = b"") -> None:
    """Write one message; raises ``ConnectionResetError`` when the peer is gone."""
    if writer.transport.is_closing():
        # asyncio says so at drain(), uvloop raises RuntimeError at write(): the same error for
        # both event loops.
        raise ConnectionResetError("Connection lost")
    writer.write(encode(message, body))
    await writer.drain()
