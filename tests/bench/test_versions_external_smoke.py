"""The external store's versions benchmark runs end to end at a tiny size against a real
``oxigraph serve`` and writes its JSON and Markdown (no timings are checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_and_reports(tmp_path: Path) -> None:
    tiny = ["--triples", "300", "--merges", "110", "--rounds", "1", "--out", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.versions_external", *tiny],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "versions-external.json").read_text())
    assert data["head"] == 111 and list(data["versions"]) == ["N", "N-1", "N-100"]
    assert data["history_chars"] > 0 and data["build_s"] > 0
    assert "| point |" in (tmp_path / "versions-external.md").read_text()
