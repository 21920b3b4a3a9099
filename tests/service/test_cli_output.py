"""What the ``ijkg`` command prints, as people and scripts read it.

``ijkg changes list/show`` print what other people wrote (titles, descriptions, authors, diffs)
safely: terminal escapes, C1 controls, bidirectional overrides and line breaks are shown as
visible escapes, and rich markup is printed as text, never interpreted. Piped (no terminal, no
COLUMNS), every message is one line a CI log can grep; errors are one sentence with the hint that
helps; ``--format json`` parses; and a data directory that holds no store is said to be one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, external_settings, run_ijkg, start_server, stop_server

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


# --- piped output: the real ``ijkg`` command, no terminal, no COLUMNS ---------------------------

IJKG = Path(sys.executable).parent / "ijkg"
BROKEN = """@prefix ijkg: <https://w3id.org/ijkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
<https://w3id.org/ijkg/id/agreement/piped-output-with-a-rather-long-name> a ijkg:Agreement ;
    rdfs:label "An agreement checked in a CI job"@en ;
    prov:wasDerivedFrom <https://w3id.org/ijkg/id/source/india-japan-new-chapter> ;
    ijkg:coversSector <https://w3id.org/ijkg/id/sector/semiconductorz> ;
    ijkg:party <https://w3id.org/ijkg/id/state/india>, <https://w3id.org/ijkg/id/state/japan> .
"""


def piped(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``ijkg`` command as a CI job would: output to pipes, no COLUMNS."""
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    environment.update(external_settings(data_dir))
    environment.update({"IJKG_DATA_DIR": str(data_dir), "IJKG_FSYNC": "false", **env})
    return subprocess.run(
        [str(IJKG), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("piped") / "store"
    made = piped("init", data_dir=directory)
    assert made.returncode == 0, made.stderr
    return directory


def test_version_and_help_read_well(tmp_path: Path) -> None:
    done = piped("--version", data_dir=tmp_path / "unused")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ijkg 0.") and "bundled graph" in done.stdout
    wide = piped("--help", data_dir=tmp_path / "unused", COLUMNS="200")
    assert wide.returncode == 0, wide.stderr
    assert "``" not in wide.stdout  # no reStructuredText quoting shown literally
    # each command's summary is one sentence on one line, not cut where the source line ended
    assert "Add FILES to the store, through the same SHACL gate as every other write." in (
        wide.stdout
    )
    assert "--version" in wide.stdout
    restore = piped("restore", "--help", data_dir=tmp_path / "unused", COLUMNS="200")
    assert "The backup is validated like any write. A data directory without a store" in (
        restore.stdout
    )
    assert "``" not in restore.stdout


def test_a_validation_report_is_one_line_per_result_with_its_fix(
    store: Path, tmp_path: Path
) -> None:
    data = tmp_path / "a-data-file-with-a-long-name-in-a-ci-checkout.ttl"
    data.write_text(BROKEN)
    done = piped("validate", str(data), data_dir=store)
    assert done.returncode == 1, done.stdout + done.stderr
    (result,) = [line for line in done.stdout.splitlines() if "Violation" in line]
    assert result.startswith(f"{data}:4: Violation S07-Agreement-coversSector: ")
    assert result.endswith(
        "(fix: use <https://w3id.org/ijkg/id/sector/semiconductors>, the closest existing Sector)"
    )
    assert done.stdout.splitlines()[-1] == (
        "1 violation, 0 warnings: the graph does not conform with these files merged in."
    )
    as_json = piped("validate", "--format", "json", str(data), data_dir=store)
    report = json.loads(as_json.stdout)
    assert report["conforms"] is False
    (explained,) = report["results"]
    assert explained["suggestion"].startswith(
        "use <https://w3id.org/ijkg/id/sector/semiconductors>"
    )


def test_errors_are_one_sentence_with_the_right_hint(store: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("<urn:a> <urn:b> <urn:c> .\n")
    unknown = piped("load", str(notes), data_dir=store)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: cannot tell the RDF syntax of")
    assert "--input-format (-i)" in unknown.stderr and "--format" not in unknown.stderr.replace(
        "--input-format", ""
    )
    assert len(unknown.stderr.splitlines()) == 1
    syntax = piped("query", "SELECT * WHERE { ?s ?p }", data_dir=store)
    assert syntax.returncode == 1
    errors = [line for line in syntax.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].count("column") == 1, syntax.stderr
    setting = piped("query", "ASK {}", data_dir=store, IJKG_QUERY_WORKERS="0")
    assert setting.returncode == 2
    assert setting.stderr.startswith("error: a setting is not valid: IJKG_QUERY_WORKERS: ")
    assert len(setting.stderr.splitlines()) == 1, setting.stderr


def test_a_refused_service_query_is_one_error_and_nothing_else(store: Path) -> None:
    for _ in range(3):
        done = piped(
            "query",
            "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
            data_dir=store,
        )
        assert done.returncode == 1
        lines = done.stderr.splitlines()
        assert [line for line in lines if not line.startswith("ijkg query: using")] == [
            "error: SERVICE (federated query) is switched off on this service: queries never "
            "reach other endpoints"
        ], done.stderr


def test_query_and_changes_speak_json_to_scripts(store: Path, writable: Server) -> None:
    answer = piped(
        "query", "--format", "json", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", data_dir=store
    )
    assert answer.returncode == 0, answer.stderr
    assert int(json.loads(answer.stdout)["results"]["bindings"][0]["n"]["value"]) > 1000
    listed = piped(
        "changes", "list", "--format", "json", "--url", writable.base_url, data_dir=store
    )
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)


def test_a_table_off_a_terminal_is_not_wrapped(store: Path) -> None:
    done = piped(
        "query",
        "SELECT ?claim ?label WHERE { ?claim a <https://w3id.org/ijkg/ontology#Claim> ; "
        "<http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY DESC(STRLEN(?label)) "
        "LIMIT 1",
        data_dir=store,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if "/id/claim/" in line]
    assert "…" not in row and len(row) > 100  # the IRI and the label whole, on one line


def test_changes_revert_without_a_token_names_the_option(writable: Server, tmp_path: Path) -> None:
    done = piped(
        "changes",
        "revert",
        "20261207-101010-000-abcdef",
        "--url",
        writable.base_url,
        data_dir=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: {writable.base_url} needs a write token for this (401): pass --token TOKEN or "
        "set IJKG_TOKEN"
    )


def test_restoring_the_backup_just_exported_changes_nothing(store: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.nq"
    assert piped("export", "-o", str(backup), data_dir=store).returncode == 0
    same = piped("restore", str(backup), data_dir=store)
    assert same.returncode == 0, same.stderr
    assert "the store already held exactly these" in same.stdout, same.stdout
    # a real difference is counted quad by quad: Japan's English label (one in each graph that
    # names it) changed is two quads removed and two added
    label = '<https://w3id.org/ijkg/id/state/japan> <http://www.w3.org/2000/01/rdf-schema#label> "'
    lines = [
        line.replace('"Japan"@en', '"Nippon"@en') if line.startswith(label) else line
        for line in backup.read_text().splitlines()
    ]
    changed = tmp_path / "changed.nq"
    changed.write_text("\n".join(lines) + "\n")
    restored = piped("restore", str(changed), data_dir=store)
    assert restored.returncode == 0, restored.stderr
    assert "(2 removed, 2 added)" in restored.stdout, restored.stdout


@pytest.mark.embedded
def test_a_data_directory_without_a_store_is_said_and_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "forgotten"
    for command in (["query", "ASK { ?s ?p ?o }"], ["export"]):
        done = piped(*command, data_dir=missing)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.strip() == (
            f"error: there is no store in {missing} (from IJKG_DATA_DIR), and ijkg {command[0]} "
            "does not make one: point --data-dir or IJKG_DATA_DIR at the data directory the "
            "service uses (ijkg serve prints it as it starts), or run `ijkg init` to make a new "
            "store there"
        )
        assert not missing.exists()
    made = piped("init", data_dir=missing)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"made a new store in {missing} with the bundled graph")
    again = piped("init", data_dir=missing)
    assert again.stdout.startswith(f"there is a store in {missing} already")
    found = piped("query", "ASK { ?s ?p ?o }", data_dir=missing)
    assert found.returncode == 0, found.stderr
    assert found.stderr == f"ijkg query: using the store in {missing} (from IJKG_DATA_DIR)\n"


@pytest.mark.embedded
def test_a_store_the_service_holds_is_named_with_the_service(server: Server) -> None:
    done = piped("query", "ASK { ?s ?p ?o }", data_dir=server.data_dir)
    assert done.returncode == 2
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert f"error: the store in {server.data_dir} is in use by process " in error
    assert "(the store engine of `ijkg serve" in error
    assert error.endswith("one process owns a store; use that service's HTTP API, or stop it first")


@pytest.mark.embedded
def test_serve_says_which_store_it_uses_and_that_it_is_new(writable: Server) -> None:
    (line,) = [
        line for line in writable.log.read_text().splitlines() if line.startswith("ijkg: serving")
    ]
    assert (
        f"(1 worker, store: {writable.data_dir}, from --data-dir; a new store: the bundled graph "
        "is loaded into it)" in line
    )
