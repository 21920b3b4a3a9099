"""Per-client fairness: one client address may not take every shared resource.

The service's shared limits (query workers, validation workers, connections) are first come,
first served, so one client could take them all: four anonymous cartesian products, or hundreds of
slowloris sockets, and everyone else waits. Two caps per client address keep a share for others:

- ``IJKG_MAX_QUERIES_PER_CLIENT``: SPARQL queries and validations one address may have running
  or waiting at once (by default half the query workers, at least one); past it, ``429`` with
  ``Retry-After`` (``ClientSlots``, here);
- ``IJKG_MAX_CONNECTIONS_PER_CLIENT``: connections one address may hold open; past it the
  connection is answered ``429`` and closed at once (``ijkg.service.protocol``).

The address is the connection's peer, or the client a trusted proxy names in
``X-Forwarded-For`` (uvicorn's handling; the proxies it trusts are ``FORWARDED_ALLOW_IPS``, by
default the loopback addresses 127.0.0.1 and ::1). A trusted proxy's own address is not capped: it
speaks for many clients, names each of them for the query cap, and caps their connections itself
(a ``*`` there trusts every address as a proxy but exempts none). Counts are kept per service
process.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterator
from functools import cache, lru_cache

from starlette.requests import Request

from ijkg.graph import IjkgError


class ClientBusy(IjkgError):
    """This client address already has as many queries running as one address may."""


DEFAULT_PROXIES = "127.0.0.1,::1"  # uvicorn's default for FORWARDED_ALLOW_IPS
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def trusted_proxies(
    value: str | None = None,
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The networks of the proxies uvicorn trusts (``value``, else ``FORWARDED_ALLOW_IPS``, else
    loopback); entries that are not addresses or networks (``*``, names) are left out."""
    raw = value if value is not None else os.environ.get("FORWARDED_ALLOW_IPS", DEFAULT_PROXIES)
    networks = []
    for entry in raw.split(","):
        with contextlib.suppress(ValueError):
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
    return tuple(networks)


@lru_cache(maxsize=1024)  # asked on every query, mostly about the same few addresses
def is_trusted_proxy(address: str, proxies: str | None = None) -> bool:
    """Whether ``address`` is a trusted proxy's (and so not capped).

    >>> is_trusted_proxy("127.0.0.1"), is_trusted_proxy("127.0.0.2"), is_trusted_proxy("::1")
    (True, False, True)
    >>> is_trusted_proxy("10.1.2.3", "10.0.0.0/8"), is_trusted_proxy("10.1.2.3", "*")
    (True, False)
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted_proxies(proxies))


class ClientSlots:
    """Counts of what each client address has running, capped at ``per_client``."""

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self._running: dict[str, int] = {}

    def running(self, client: str) -> int:
        return self._running.get(client, 0)

    @contextlib.contextmanager
    def hold(self, client: str | None) -> Iterator[None]:
        """Count one more for ``client`` for the duration; ``ClientBusy`` past the cap. (No
        address, as over a Unix socket, or a trusted proxy's own: not counted.)"""
        if client is None or is_trusted_proxy(client):
            yield
            return
        held = self._running.get(client, 0)
        if held >= self.per_client:
            raise ClientBusy(
                f"this client address already has {held} queries or validations running, the most "
                "one address may (IJKG_MAX_QUERIES_PER_CLIENT); wait for an answer, then send "
                "the next"
            )
        self._running[client] = held + 1
        try:
            yield
        finally:
            left = self._running[client] - 1
            if left:
                self._running[client] = left
            else:
                del self._running[client]


def client_slots(request: Request) -> ClientSlots:
    """The app's per-client counts."""
    slots: ClientSlots = request.app.state.client_slots
    return slots


def client_address(request: Request) -> str | None:
    """The address a request is counted under."""
    return request.client.host if request.client is not None else None
