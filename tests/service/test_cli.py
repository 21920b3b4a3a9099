"""The ``ijkg`` command as people and CI scripts use it: real processes, real stores."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from tests.conftest import Server, run_ijkg

pytestmark = pytest.mark.slow  # runs the ijkg command on real stores

ROOT = Path(__file__).resolve().parents[2]
GOOD = """@prefix ijkg: <https://w3id.org/ijkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix agreement: <https://w3id.org/ijkg/id/agreement/> .
agreement:cli-test a ijkg:Agreement ;
    rdfs:label "An agreement loaded from the command line"@en ;
    prov:wasDerivedFrom <https://w3id.org/ijkg/id/source/india-japan-new-chapter> ;
    ijkg:party <https://w3id.org/ijkg/id/state/india>, <https://w3id.org/ijkg/id/state/japan> .
"""
BROKEN = GOOD.replace(
    "ijkg:party <https://w3id.org/ijkg/id/state/india>",
    "ijkg:coversSector <https://w3id.org/ijkg/id/state/india> ;\n    ijkg:party <https://w3id.org/ijkg/id/state/india>",
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("cli-store")
    made = run_ijkg("init", data_dir=store)
    assert made.returncode == 0, made.stderr
    return store


def test_validate_the_bundled_graph_exits_0(data_dir: Path) -> None:
    done = run_ijkg(
        "validate",
        str(ROOT / "graph" / "data" / "context.trig"),
        str(ROOT / "graph" / "data" / "india-japan-new-chapter.trig"),
        data_dir=data_dir,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^0 violations, [0-9,]+ warnings?: the graph conforms", done.stdout, re.M)


def test_a_file_that_breaks_a_shape_exits_1_naming_shape_node_and_line(
    data_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text(BROKEN)
    done = run_ijkg("validate", str(broken), data_dir=data_dir)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "S07-Agreement-coversSector" in done.stdout
    assert "<https://w3id.org/ijkg/id/agreement/cli-test>" in done.stdout
    assert f"{broken}:5:" in done.stdout  # the line where the node is described
    as_json = run_ijkg("validate", "--format", "json", str(broken), data_dir=data_dir)
    assert as_json.returncode == 1
    assert '"conforms": false' in as_json.stdout
    as_turtle = run_ijkg("validate", "--format", "turtle", str(broken), data_dir=data_dir)
    assert "sh:ValidationReport" in as_turtle.stdout


def test_a_syntax_error_exits_2_with_line_and_column(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(GOOD + "\nagreement:x ijkg:party .\n")
    done = run_ijkg("validate", str(bad), data_dir=data_dir)
    assert done.returncode == 2
    assert f"{bad}:10:" in done.stderr.replace("\n", "")


def test_load_goes_through_the_gate_and_query_sees_it(data_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text(BROKEN)
    refused = run_ijkg("load", str(broken), data_dir=data_dir)
    assert refused.returncode == 1
    assert "nothing was loaded" in refused.stderr
    good = tmp_path / "good.ttl"
    good.write_text(GOOD)
    loaded = run_ijkg("load", str(good), data_dir=data_dir)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert (
        "loaded 5 triples into <https://w3id.org/ijkg/graph/good> from 1 file as change"
        in loaded.stdout
    )
    csv = run_ijkg(
        "query",
        "--format",
        "csv",
        "SELECT ?g WHERE { GRAPH ?g { <https://w3id.org/ijkg/id/agreement/cli-test> a ?t } }",
        data_dir=data_dir,
    )
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.splitlines() == ["g", "https://w3id.org/ijkg/graph/good"]
    history = run_ijkg(
        "query",
        "--format",
        "csv",
        "SELECT ?path WHERE { ?c <https://w3id.org/ijkg/ontology#writePath> ?path ; <http://purl.org/dc/terms/title> ?t FILTER(CONTAINS(?t, 'good.ttl')) }",
        data_dir=data_dir,
    )
    assert history.stdout.splitlines() == ["path", "load"]
    table = run_ijkg(
        "query",
        "-",
        data_dir=data_dir,
        stdin="SELECT (COUNT(*) AS ?n) WHERE { <https://w3id.org/ijkg/id/agreement/cli-test> ?p ?o }",
    )
    assert table.stdout.endswith("\n1 row\n")


def test_query_errors_say_where(data_dir: Path) -> None:
    done = run_ijkg("query", "SELECT * WHERE { ?s ?p }", data_dir=data_dir)
    assert done.returncode == 1
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: line 1, column 25: ")
    assert error.count("line 1") == 1  # the location is said once


def test_export_writes_every_graph_as_nquads(data_dir: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.nq"
    done = run_ijkg("export", "-o", str(backup), data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    graphs = {line.rsplit(" ", 2)[-2] for line in backup.read_text().splitlines() if line}
    assert "<https://w3id.org/ijkg/graph/context>" in graphs
    assert "<https://w3id.org/ijkg/graph/ontology>" in graphs


def test_validate_against_a_running_service(server: Server, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text(BROKEN)
    done = run_ijkg(
        "validate", "--against", server.base_url, str(broken), data_dir=tmp_path / "unused"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "S07-Agreement-coversSector" in done.stdout
    good = tmp_path / "good.ttl"
    good.write_text(GOOD)
    assert (
        run_ijkg(
            "validate", "--against", server.base_url, str(good), data_dir=tmp_path / "unused"
        ).returncode
        == 0
    )


def test_changes_from_the_command_line(server: Server, tmp_path: Path) -> None:
    done = run_ijkg("changes", "list", "--url", server.base_url, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    refused = run_ijkg(
        "changes",
        "merge",
        "20990101-000000-000-abcdef",
        "--url",
        server.base_url,
        "--token",
        "nope",
        data_dir=tmp_path,
    )
    assert refused.returncode == 1
    assert "403" in refused.stderr  # the shared test server is read-only


def canonical(path: Path) -> set[str]:
    dataset = ox.Dataset(ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return {str(q) for q in dataset}


def test_backup_and_restore_round_trip(data_dir: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.nq"
    assert run_ijkg("export", "-o", str(backup), data_dir=data_dir).returncode == 0
    fresh = tmp_path / "fresh-store"
    restored = run_ijkg("restore", str(backup), data_dir=fresh)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    again = tmp_path / "again.nq"
    assert run_ijkg("export", "-o", str(again), data_dir=fresh).returncode == 0
    assert canonical(again) == canonical(backup)
    # the history came along: the change `ijkg load` made in this module's store is there
    found = run_ijkg(
        "query",
        "--format",
        "csv",
        "SELECT (COUNT(*) AS ?n) WHERE { ?c <https://w3id.org/ijkg/ontology#writePath> 'load' }",
        data_dir=fresh,
    )
    assert found.stdout.splitlines()[1] != "0"


def test_restore_refuses_a_backup_that_does_not_conform(data_dir: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.nq"
    assert run_ijkg("export", "-o", str(backup), data_dir=data_dir).returncode == 0
    lines = [
        line
        for line in backup.read_text().splitlines()
        if "rdf-schema#label" not in line or "/state/japan>" not in line
    ]
    broken = tmp_path / "broken.nq"
    broken.write_text("\n".join(lines) + "\n")
    fresh = tmp_path / "fresh-store"
    refused = run_ijkg("restore", str(broken), data_dir=fresh)
    assert refused.returncode == 1
    assert "nothing was restored" in refused.stderr
