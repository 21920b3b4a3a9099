"""The W3C suites report their pass rate at the end of the run."""

from __future__ import annotations

from collections import Counter

import pytest

_OUTCOMES: dict[str, Counter[str]] = {}
_SUITES = {
    "test_query_evaluation.py::test_query_evaluation": "SPARQL 1.1 query evaluation",
    "test_protocol.py::test_protocol": "SPARQL 1.1 Protocol",
}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    for key, suite in _SUITES.items():
        if key in report.nodeid:
            outcome = "listed" if hasattr(report, "wasxfail") else report.outcome
            _OUTCOMES.setdefault(suite, Counter())[outcome] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for suite, counts in _OUTCOMES.items():
        total = sum(counts.values())
        passed = counts["passed"]
        terminalreporter.write_line(
            f"W3C {suite} over HTTP: {passed}/{total} passed ({100 * passed / total:.1f}%), "
            f"{counts['listed']} listed failures, {counts['failed']} unexpected failures"
        )
