"""Keeping worker processes off the network, and tied to the process that started them.

A query worker evaluates researchers' SPARQL, and Oxigraph would call other endpoints for a
``SERVICE`` clause. The service refuses ``SERVICE`` before a query ever reaches a worker
(``ijkg.graph.endpoint.query``); as a second line, a worker that has no use for the network gives it
up when it starts: it moves into a network namespace of its own, where the only interface is a
loopback
that is down, so any connection fails at once. Its channel to the service (a Unix socket bound to a
path) and the files it reads (the change log) are not affected.

Linux only; where the system refuses new namespaces (some containers), the worker says so and
relies on the first line alone.
"""

from __future__ import annotations

import ctypes
import signal
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have the kernel kill this process when the one that started it ends, however it ends: a
    worker must not outlive the process that holds its limits (a service, an engine, a
    validation worker killed at its time limit)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def leave_network() -> bool:
    """Move this process into a new, empty network namespace; ``True`` when it did.

    The process must have a single thread (a forked worker has). As root a network namespace is
    enough; otherwise a user namespace comes with it, which unprivileged processes may create where
    the system allows it.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return any(libc.unshare(flags) == 0 for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET))
