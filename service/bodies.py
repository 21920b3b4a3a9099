"""Reading request bodies with a size cap (uvicorn has none) and a deadline: 413 before the body is
all read, 408 when it does not arrive within ``IJKG_BODY_TIMEOUT_S``."""

from __future__ import annotations

import asyncio

from fastapi import Request
from starlette.requests import ClientDisconnect

from ijkg.graph import BadRequest, Settings, TooLarge


class BodyTooLarge(TooLarge):
    """The request body is over its cap."""


class BodyTimeout(BadRequest):
    """The request body did not arrive in time (a slow or stalled client): 408."""


class ClientGone(BadRequest):
    """The client closed the connection before its body was read."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or ``BodyTooLarge`` as soon as it passes ``limit`` bytes, or
    ``BodyTimeout`` when it is not all in within the body time limit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the request body is {int(declared):,} bytes; the limit is {limit:,}")
    settings: Settings = request.app.state.settings
    chunks = []
    size = 0
    try:
        async with asyncio.timeout(settings.body_timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"the request body is over the limit of {limit:,} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTimeout(
            f"the request body did not arrive within {settings.body_timeout_s:g} s "
            f"({size:,} bytes came)"
        ) from None
    except ClientDisconnect:
        raise ClientGone("the client closed the connection before sending its body") from None
    return b"".join(chunks)
