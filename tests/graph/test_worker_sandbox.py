"""Query workers give up the network unless federation is switched on: a SERVICE that got past
the service's own refusal still reaches nothing (defence in depth). The canary listener shows it,
and, as a control, shows that a worker allowed on the network does connect."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from ijkg.graph.core import errors
from ijkg.graph.store.sandbox import leave_network
from tests.canary import Canary
from tests.conftest import SyncStore

pytestmark = pytest.mark.embedded

Opener = Callable[..., SyncStore]


def namespaces_allowed() -> bool:
    """Whether this machine lets a process leave the network (probed in a child)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if leave_network() else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def service_query(canary: Canary) -> str:
    # Sent to the store directly: past the check that refuses SERVICE at the endpoint.
    return f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{canary.port}/sparql> {{ ?s ?p ?o }} }}"


def test_workers_reach_no_network(open_test_store: Opener, canary: Canary) -> None:
    if not namespaces_allowed():
        pytest.skip(
            "this system allows no new network namespace; the endpoint's check stands alone"
        )
    store = open_test_store()
    assert store.run(store.store.stats).details["network_isolated"] is True
    with pytest.raises(errors.QueryError) as raised:
        store.run(store.store.query, service_query(canary))
    assert "unreachable" in str(raised.value).lower() or "network" in str(raised.value).lower()
    time.sleep(0.3)
    assert canary.connections == 0
    assert store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"].toPython() == 0


def test_with_federation_on_workers_do_connect(open_test_store: Opener, canary: Canary) -> None:
    store = open_test_store(allow_federation=True)
    assert store.run(store.store.stats).details["network_isolated"] is False
    with pytest.raises(errors.QueryError):  # the canary answers nothing a SPARQL client can read
        store.run(store.store.query, service_query(canary))
    deadline = time.monotonic() + 5
    while canary.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert canary.connections >= 1
