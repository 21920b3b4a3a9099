"""``ijkg changes list/show`` print what other people wrote (titles, descriptions, authors, diffs)
safely: terminal escapes, C1 controls, bidirectional overrides and line breaks are shown as
visible escapes, and rich markup is printed as text, never interpreted."""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, run_ijkg, start_server, stop_server

pytestmark = pytest.mark.slow  # runs the ijkg command against real servers

HOSTILE = (
    "title \x1b[2J\x1b]0;owned\x07 \x9b31m \u202eexe.gnp \x00 \u2066x\u2069 \r\nforged line "
    "[bold red]MERGED by admin[/] [link=https://evil.example]click[/link] 👩\u200d👧"
)
MARKUP = "[bold red]MERGED by admin[/] [link=https://evil.example]click[/link] [/]"


def unsafe(text: str) -> list[str]:
    """Characters a terminal would act on (a line break is fine between lines)."""
    return [
        f"U+{ord(c):04X}"
        for c in text
        if c != "\n" and c != "\u200d" and unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"}
    ]


def change(title: str, author: str, description: str) -> dict[str, Any]:
    return {
        "id": "20261207-101010-000-abcdef",
        "iri": "https://w3id.org/ijkg/id/change/20261207-101010-000-abcdef",
        "title": title,
        "description": description,
        "source": None,
        "author": author,
        "created": "2026-12-07T10:10:10Z",
        "status": "proposed",
        "writePath": "change",
        "targetGraph": None,
        "reverts": None,
        "revertedBy": None,
        "merge": None,
        "additions": '<https://example.org/s> <https://example.org/p> "\x1b[31mred\u202e" .\n',
        "removals": "",
        "report": None,
    }


class _Hostile(BaseHTTPRequestHandler):
    """A service answering with metadata that no input check cleaned (stored before there were
    limits, or a service that is not ijkg at all)."""

    def do_GET(self) -> None:
        item = change(HOSTILE, "mallory\x1b[8m", HOSTILE + "\nsecond line \x1b[1A")
        body = json.dumps([item] if self.path.startswith("/changes?") else item).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_service() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=httpd.serve_forever)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join()
    httpd.server_close()


def test_changes_list_and_show_print_controls_as_visible_escapes(
    hostile_service: str, tmp_path: Path
) -> None:
    listed = run_ijkg("changes", "list", "--url", hostile_service, data_dir=tmp_path)
    shown = run_ijkg(
        "changes", "show", "20261207-101010-000-abcdef", "--url", hostile_service, data_dir=tmp_path
    )
    for done in (listed, shown):
        assert done.returncode == 0, done.stderr
        assert unsafe(done.stdout) == []
        assert "\\x1b[2J" in done.stdout and "\\u202eexe.gnp" in done.stdout
        assert "\\x9b31m" in done.stdout and "\\x0d\\x0aforged line" in done.stdout
        assert "mallory\\x1b[8m" in done.stdout
        assert MARKUP.replace(" [/]", "") in done.stdout  # printed, not interpreted
        assert "👩\u200d👧" in done.stdout  # an emoji sequence is left alone
    assert len(listed.stdout.splitlines()) == 1  # the title's line break forged no line
    assert "second line \\x1b[1A" in shown.stdout  # a description keeps its line breaks only
    assert '"\\x1b[31mred\\u202e" .' in shown.stdout  # the diff too


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("cli-output")
    server = start_server(
        root / "store",
        root / "server.log",
        {"IJKG_WRITE_TOKENS": "curator=curator-secret", "IJKG_FSYNC": "false"},
    )
    yield server
    stop_server(server)


def test_rich_markup_in_a_real_change_is_printed_as_text(writable: Server, tmp_path: Path) -> None:
    with writable.client() as client:
        proposed = client.post(
            "/changes",
            json={
                "title": MARKUP,
                "description": f"why: {MARKUP}",
                "add": {
                    "format": "text/turtle",
                    "data": "<https://w3id.org/ijkg/id/state/japan> "
                    "<http://www.w3.org/2004/02/skos/core#altLabel> '[red]Nippon[/]'@en .",
                },
            },
            headers={"Authorization": "Bearer curator-secret"},
        )
    assert proposed.status_code == 201, proposed.text
    change_id = proposed.json()["id"]
    listed = run_ijkg("changes", "list", "--url", writable.base_url, data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert MARKUP in listed.stdout
    shown = run_ijkg("changes", "show", change_id, "--url", writable.base_url, data_dir=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert MARKUP in shown.stdout.splitlines()[0]
    assert f"why: {MARKUP}" in shown.stdout
    assert '"[red]Nippon[/]"@en' in shown.stdout
