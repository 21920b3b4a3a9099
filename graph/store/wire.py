"""Framing of the messages between the service, the store engine and its query workers.

A message is a JSON header and an opaque body (serialised results, N-Quads):
``!II`` (header length, body length), the UTF-8 JSON header, then the body.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any, BinaryIO

Header = dict[str, Any]

_PREFIX = struct.Struct("!II")


def encode(header: Header, body: bytes = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return _PREFIX.pack(len(head), len(body)) + head + body


def _decode_header(raw: bytes) -> Header:
    header = json.loads(raw)
    if not isinstance(header, dict):
        raise ValueError("message header is not a JSON object")
    return header


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


def read_file(stream: BinaryIO) -> tuple[Header, bytes]:
    """Read one message from a pipe."""
    head_len, body_len = _PREFIX.unpack(_read_exact_file(stream, _PREFIX.size))
    header = _decode_header(_read_exact_file(stream, head_len))
    return header, _read_exact_file(stream, body_len)


def write_file(stream: BinaryIO, header: Header, body: bytes = b"") -> None:
    stream.write(encode(header, body))
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


def recv(sock: socket.socket) -> tuple[Header, bytes]:
    """Read one message from a socket."""
    head_len, body_len = _PREFIX.unpack(_recv_exact(sock, _PREFIX.size))
    header = _decode_header(_recv_exact(sock, head_len))
    return header, _recv_exact(sock, body_len)


def send(sock: socket.socket, header: Header, body: bytes = b"") -> None:
    sock.sendall(encode(header, body))


# --- asyncio side (the service) -----------------------------------------------------------------


async def aread(reader: asyncio.StreamReader) -> tuple[Header, bytes]:
    """Read one message; raises ``asyncio.IncompleteReadError`` when the peer is gone."""
    head_len, body_len = _PREFIX.unpack(await reader.readexactly(_PREFIX.size))
    header = _decode_header(await reader.readexactly(head_len))
    body = await reader.readexactly(body_len) if body_len else b""
    return header, body


async def awrite(writer: asyncio.StreamWriter, header: Header, body: bytes = b"") -> None:
    writer.write(encode(header, body))
    await writer.drain()
