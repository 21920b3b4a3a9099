"""Bearer tokens for writes. Reads are open; every write needs ``Authorization: Bearer <token>``.

Tokens come from settings (``IJKG_WRITE_TOKENS``, ``IJKG_ADMIN_TOKENS``: ``name=token`` pairs).
They are compared in constant time against every configured token and never logged; the name of
the matching token is the ``who`` of the change. 401: no or unknown token. 403: a known token that
may not do this (e.g. write the ontology without the admin role), or a read-only service.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ijkg.graph import Settings


class AuthError(Exception):
    """A write was refused: ``status`` 401 (who are you?) or 403 (not allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Writer:
    """Who is writing, and whether they hold the admin role."""

    name: str
    admin: bool


def _pairs(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, token = item.partition("=")
        if not sep or not name.strip() or not token.strip():
            raise ValueError("tokens are configured as name=token pairs separated by commas")
        pairs.append((name.strip(), token.strip()))
    return pairs


@dataclass(frozen=True)
class TokenTable:
    entries: tuple[tuple[str, bytes, bool], ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenTable:
        entries = [(n, t.encode(), False) for n, t in _pairs(settings.write_tokens)]
        entries += [(n, t.encode(), True) for n, t in _pairs(settings.admin_tokens)]
        return cls(tuple(entries))

    @property
    def read_only(self) -> bool:
        return not self.entries

    def lookup(self, token: str) -> Writer | None:
        presented = token.encode()
        found: Writer | None = None
        # Compare against every token so timing does not tell which (or whether one) matched.
        for name, secret, admin in self.entries:
            if hmac.compare_digest(presented, secret) and found is None:
                found = Writer(name, admin)
        return found


def tokens(request: Request) -> TokenTable:
    table: TokenTable | None = getattr(request.app.state, "tokens", None)
    if table is None:
        settings: Settings = request.app.state.settings
        table = TokenTable.from_settings(settings)
        request.app.state.tokens = table
    return table


async def require_writer(request: Request) -> Writer:
    """The writer behind this request, or ``AuthError``."""
    table = tokens(request)
    if table.read_only:
        raise AuthError(403, "this service is read-only: no write tokens are configured")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "writes need an 'Authorization: Bearer <token>' header")
    writer = table.lookup(token.strip())
    if writer is None:
        raise AuthError(401, "unknown token")
    return writer


WriterDep = Annotated[Writer, Depends(require_writer)]
