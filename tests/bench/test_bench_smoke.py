"""The benchmark's own checks (no timings here: those live in bench/, never in tests).

- The synthetic graph conforms to the shapes together with the bundled graph (full pyshacl
  validation at 10k triples), is deterministic, and the gate benchmark's good and bad changes get
  the verdicts they are meant to get.
- The harness runs end to end at a tiny size against a real ``ijkg serve`` and the framework
  ceiling, with the built-in load generator, and writes its JSON and Markdown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from bench.synthetic import SIZES, Manifest, change_quads, generate
from bench.writes import bad_change
from ijkg.graph.core.bundle import bundle_quads
from ijkg.graph.core.reports import ValidationReport
from ijkg.graph.core.terms import to_rdflib
from ijkg.graph.curation.gate import is_data
from ijkg.graph.curation.validation import validate

ROOT = Path(__file__).resolve().parents[2]


def _validate(*quad_sets: list[ox.Quad]) -> ValidationReport:
    graph = Graph()
    for quads in quad_sets:
        for q in quads:
            graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return validate(graph)


@pytest.fixture(scope="module")
def bundle_data() -> list[ox.Quad]:
    return [q for q in bundle_quads() if is_data(q)]


@pytest.fixture(scope="module")
def synthetic_10k(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    path = tmp_path_factory.mktemp("synthetic") / "10k.nq"
    return path, generate(path, SIZES["10k"], size="10k")


def _parse(path: Path) -> list[ox.Quad]:
    return list(ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS))


def test_synthetic_graph_conforms_with_the_bundle(
    synthetic_10k: tuple[Path, Manifest], bundle_data: list[ox.Quad]
) -> None:
    path, manifest = synthetic_10k
    quads = _parse(path)
    assert len(quads) == manifest.triples
    assert 10_000 <= manifest.triples < 10_200
    kinds = {"agreement", "target", "amount", "period", "meeting", "claim", "evidence", "state"}
    assert kinds <= set(manifest.counts)
    report = _validate(bundle_data, quads)
    assert report.violations == ()
    assert report.conforms


def test_synthetic_graph_is_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a.nq", SIZES["tiny"], size="tiny")
    b = generate(tmp_path / "b.nq", SIZES["tiny"], size="tiny")
    assert (tmp_path / "a.nq").read_bytes() == (tmp_path / "b.nq").read_bytes()
    assert a == b
    assert a.agreements and a.states and a.targets


def test_the_gate_benchmark_changes_get_the_verdicts_they_are_meant_to(
    synthetic_10k: tuple[Path, Manifest], bundle_data: list[ox.Quad]
) -> None:
    path, manifest = synthetic_10k
    lines = list(change_quads(manifest, 1))
    assert 90 <= len(lines) <= 110
    graph = _parse(path)
    good = list(ox.parse(input="\n".join(lines).encode(), format=ox.RdfFormat.N_QUADS))
    bad = list(ox.parse(input="\n".join(bad_change(lines)).encode(), format=ox.RdfFormat.N_QUADS))
    assert _validate(bundle_data, graph, good).conforms
    report = _validate(bundle_data, graph, bad)
    assert not report.conforms
    assert any("S43-Dates" in r.source_shape for r in report.violations), report.violations


def test_the_harness_runs_end_to_end_against_a_real_server(tmp_path: Path) -> None:
    out = tmp_path / "results"
    options = [
        "--sizes", "tiny", "--systems", "ijkg,ijkg-nocache,hello", "--wrk", "no", "--duration", "0.4",
        "--rounds", "1", "--restarts", "1", "--gate-reps", "1", "--merges", "2",
        "--queries", "point,join3,aggregate,construct,mix,entity-json",
        "--full-gate-max", "0", "--load-budget-s", "120", "--skip-paging", "--no-plots",
    ]  # fmt: skip
    command = [
        sys.executable, "-m", "bench", *options,
        "--work", str(tmp_path / "work"), "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    tiny = results["sizes"]["tiny"]
    cells = tiny["queries"]["cells"]
    queried = {c["query"] for c in cells if c["system"] == "ijkg"}
    assert {"point", "join3", "aggregate", "construct", "mix"} <= queried
    for cell in cells:
        assert cell["requests"] > 0, cell
        assert cell["errors"] == 0, cell
        assert cell["generator"] == "asyncio-httpx"
    assert {"point", "join3"} <= {c["query"] for c in cells if c["system"] == "ijkg-nocache"}
    # Every query answered 200 with rows on ijkg before it was loaded, the same without the cache.
    for name, info in tiny["queries"]["queries"].items():
        if "ijkg" in info["systems"]:
            assert info["systems"]["ijkg"]["status"] == 200, (name, info)
        if "ijkg-nocache" in info["systems"]:
            nocache, ijkg = info["systems"]["ijkg-nocache"], info["systems"]["ijkg"]
            assert (nocache["status"], nocache["rows"]) == (200, ijkg["rows"]), (name, info)
    assert tiny["load"]["ijkg_engine_commit"]["ok"]
    # The load is measured against a raw load plus one full validation of the same graph.
    full = tiny["load"]["full_validation"]
    assert full["ok"] and full["detail"]["conforms"] is True, full
    assert tiny["load"]["ijkg_load"]["ok"], tiny["load"]["ijkg_load"]
    assert tiny["gate"]["ok"] and tiny["gate"]["detail"]["verdict_good"] is True
    assert tiny["gate"]["detail"]["verdict_bad"] is False
    assert tiny["merges"]["detail"]["changes"] == 2
    assert tiny["startup"]["startup_s"] > 0
    markdown = (out / "results.md").read_text()
    assert "## Targets" in markdown and "| `point` |" in markdown
    assert "raw pyoxigraph load + one full pyshacl validation" in markdown


def test_the_soak_runs_end_to_end_and_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    command = [
        sys.executable, "-m", "bench.soak", "--concurrency", "4", "--duration", "3",
        "--out", str(out), "--work", str(tmp_path / "work"), "--no-plots",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    result = json.loads((out / "soak.json").read_text())
    assert result["errors"] == 0, result
    assert result["writes"]["acknowledged"] > 0 and result["writes"]["lost"] == [], result
    assert "acknowledged writes found afterwards" in (out / "soak.md").read_text()


def test_the_versions_bench_runs_end_to_end_and_its_answers_differ_by_version(
    tmp_path: Path,
) -> None:
    out = tmp_path / "versions"
    command = [
        sys.executable, "-m", "bench.versions", "--triples", "1500", "--merges", "120",
        "--rounds", "1", "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    result = json.loads((out / "versions.json").read_text())
    assert result["versions"] == {"N": 121, "N-1": 120, "N-100": 21}
    rows = result["results"]["notes"]
    # one note per merge, the query lists 50 of them: fewer at the version after 20 merges
    assert [rows[label]["rows"] for label in ("N", "N-1", "N-100")] == [50, 50, 20]
    assert "| count |" in (out / "versions.md").read_text()
