"""Lint, format and strict typing are part of the test suite, so the README's one test command
checks them too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs ruff and mypy in subprocesses

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, check=False)


def test_ruff_lint() -> None:
    done = run(sys.executable, "-m", "ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    done = run(bash, str(ROOT / ".ci" / "typecheck"))
    assert done.returncode == 0, done.stdout + done.stderr
