"""A query worker that starts after the service has gone (a command that ended right after one
answer, such as a refused SERVICE query) stops quietly: no stray ``ijkg query worker N:
ConnectionRefusedError`` line under the command's own output."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, cast

from ijkg.graph.store.worker import Worker, serve

#: ``serve`` touches the worker only once it is connected; these services never answer.
NO_WORKER = cast(Worker, cast(Any, None))


def test_no_socket_left(tmp_path: Path) -> None:
    assert serve(NO_WORKER, str(tmp_path / "gone.sock")) is None


def test_a_socket_no_one_listens_on(tmp_path: Path) -> None:
    path = tmp_path / "closed.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bound:
        bound.bind(str(path))  # bound, never listening: connecting is refused
        assert serve(NO_WORKER, str(path)) is None
