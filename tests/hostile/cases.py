"""The hostile cases, as data: ``cases/*.toml``, one file per category of attack.

A file names its ``category`` and says what the category is about; each ``[[case]]`` has an
``id``, a ``why``, a ``driver`` (how the request is made, default ``http``), the request, and
``expect``: the safe answer (status, problem type, words of the detail, what the body must or
must not hold) and ``changes`` (default ``false``: the store must be exactly as it was — same
version, same number of quads). ``after`` lists ASK queries that must be false (or true) once the
case has run: that nothing poisonous got in, for cases that are accepted. ``expect_external``
replaces ``expect`` on an external store where that store answers differently (with a comment
that says why); ``embedded_only`` cases need what only the embedded store does.

Long inputs are written as parts to repeat, ``[["[ ", 5000], ["]", 5000]]``: ``body_parts``,
``params_parts`` and, for the raw driver, ``raw_parts``. Strings may name the test's fixtures:
``{canary}`` (a listener on 127.0.0.1 that must never see a connection), ``{self}`` (the service's
own URL), ``{secret_path}``/``{secret_url}`` (a local file whose token must never be answered),
``{secret}`` (that token).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CASES_DIR = Path(__file__).with_name("cases")

#: Every category the issue names; each must have cases.
CATEGORIES = (
    "network-and-files",
    "parser-bombs",
    "query-dos",
    "write-amplification",
    "protected-graphs",
    "graph-injection",
    "poison-terms",
    "sparql-injection",
    "oversized",
    "slow-clients",
    "project-terms",
    "forged-history",
    "request-smuggling",
)
DRIVERS = ("http", "raw", "concurrent", "slow")


@dataclass(frozen=True)
class Case:
    category: str
    id: str
    why: str
    driver: str
    request: dict[str, Any]
    expect: dict[str, Any]
    after: dict[str, Any] = field(default_factory=dict)
    embedded_only: bool = False
    source: str = ""

    @property
    def name(self) -> str:
        return f"{self.category}/{self.id}"

    @property
    def changes(self) -> bool:
        return bool(self.expect.get("changes", False))


def expand(value: Any, fill: dict[str, str]) -> Any:
    """``value`` with ``{name}`` placeholders filled (strings, lists and tables, recursively)."""
    if isinstance(value, str):
        for name, text in fill.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, list):
        return [expand(v, fill) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, fill) for k, v in value.items()}
    return value


def joined(parts: list[list[Any]]) -> str:
    """``[["ab", 2], ["c", 1]]`` -> ``"ababc"``."""
    return "".join(str(text) * int(count) for text, count in parts)


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of every file, in file order. Raises ``ValueError`` on a malformed case."""
    found: list[Case] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        category = data.get("category")
        if category not in CATEGORIES:
            raise ValueError(f"{path.name}: unknown category {category!r}")
        for raw in data.get("case", []):
            case = Case(
                category=category,
                id=raw["id"],
                why=raw["why"],
                driver=raw.get("driver", "http"),
                request=raw.get("request", {}),
                # An external store may answer a case differently, and says why in the case.
                expect=raw.get("expect_external", raw["expect"])
                if os.environ.get("IJKG_TEST_STORE") == "sparql"
                else raw["expect"],
                after=raw.get("after", {}),
                embedded_only=bool(raw.get("embedded_only", False)),
                source=path.name,
            )
            if case.driver not in DRIVERS:
                raise ValueError(f"{path.name}: {case.id}: unknown driver {case.driver!r}")
            if case.name in seen:
                raise ValueError(f"{path.name}: {case.id} is not unique")
            seen.add(case.name)
            found.append(case)
    return found
