"""The competency questions: every question in questions.json has a SPARQL query CQxx.rq that
answers it from the graph, and the answer matches ``expected_answer``.

Comparison convention, per ``answer_type`` (rows come from ``run_select``, see conftest.py; a
query must return at least one row):

- ``count``: one row with one variable, whose value is the expected integer.
- ``ordered_list``: one variable; its values, row by row, equal the expected list in order.
- ``list`` of strings: one variable; its values equal the expected items as a set, with no
  duplicate rows.
- ``list`` of objects: the query's variables are the objects' keys; the rows, as a set, equal the
  expected objects.
- ``entity``: the variables are ``entity`` and ``label``; all rows name one entity; the expected
  text equals one of its labels, or (for a descriptive answer such as "the Comprehensive Economic
  Partnership (CEPA) between India and Japan") contains one of them as a phrase.
- any other type (``quantity``, ``duration``, ``date``, ``temporal...``, ``provenance...``): the
  query's variables are exactly the expected keys. The values of a key are the bound values of
  that variable over all rows, as a set:
  - a number: the values are exactly that number;
  - ``sources``: every expected URL is among the values (the graph may cite more);
  - any other list: the values equal the expected items as a set;
  - a text that starts with "not stated": the variable is unbound in every row;
  - any other text: there is at least one value, and each value equals the text or occurs in it
    as a phrase (so "both directions" answers "between India and Japan (both directions)"); an
    ISO date also occurs in a text as "15 Feb 2011".
  Texts compare after folding white space (a non-breaking space is a space); phrases compare
  case-insensitively on letters and digits only.

Queries navigate the model and never carry the answer: a test checks that no expected value
appears in a query's text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
QUESTIONS: list[dict[str, Any]] = json.loads((HERE / "questions.json").read_text(encoding="utf-8"))
QUERY_FILES = sorted(HERE.glob("CQ*.rq"))
Row = dict[str, object]
RunSelect = Callable[[str], list[Row]]


def _text(value: object) -> str:
    return " ".join(str(value).replace("\u00a0", " ").split())


def _phrase(value: object) -> str:
    return " " + " ".join(re.sub(r"[^0-9a-z]+", " ", str(value).casefold()).split()) + " "


def _renderings(value: object) -> list[str]:
    text = str(value)
    out = [text]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = dt.date.fromisoformat(text)
        out.append(f"{day.day} {day.strftime('%b')} {day.year}")
    return out


def _describes(value: object, expected: str) -> bool:
    """``value`` equals ``expected`` or occurs in it as a phrase."""
    if _text(value) == _text(expected):
        return True
    return any(_phrase(r) in _phrase(expected) for r in _renderings(value))


def _number(value: object) -> Decimal:
    assert isinstance(value, int | float | Decimal) and not isinstance(value, bool), value
    return Decimal(str(value))


def _values(rows: list[Row], key: str) -> set[object]:
    return {row[key] for row in rows if row[key] is not None}


def check_answer(answer_type: str, expected: Any, rows: list[Row]) -> None:
    """Assert that ``rows`` answer the question (the convention in the module docstring)."""
    assert rows, "the query returned no rows"
    variables = list(rows[0])
    if answer_type == "count":
        assert len(rows) == 1 and len(variables) == 1, rows
        assert _number(rows[0][variables[0]]) == _number(expected)
    elif answer_type == "ordered_list":
        assert len(variables) == 1, variables
        assert [_text(row[variables[0]]) for row in rows] == [_text(e) for e in expected]
    elif answer_type == "list" and all(isinstance(e, str) for e in expected):
        assert len(variables) == 1, variables
        items = [_text(row[variables[0]]) for row in rows]
        assert len(items) == len(set(items)), f"duplicate rows: {items}"
        assert set(items) == {_text(e) for e in expected}
    elif answer_type == "list":
        keys = sorted(expected[0])
        assert sorted(variables) == keys, variables
        tuples = {tuple(_text(row[k]) for k in keys) for row in rows}
        assert tuples == {tuple(_text(e[k]) for k in keys) for e in expected}
    elif answer_type == "entity":
        assert sorted(variables) == ["entity", "label"], variables
        assert len(_values(rows, "entity")) == 1, _values(rows, "entity")
        labels = _values(rows, "label")
        assert any(_describes(label, expected) for label in labels), (labels, expected)
    else:
        assert isinstance(expected, dict), expected
        assert sorted(variables) == sorted(expected), (variables, sorted(expected))
        for key, want in expected.items():
            got = _values(rows, key)
            if isinstance(want, int | float):
                assert {_number(v) for v in got} == {_number(want)}, (key, got)
            elif isinstance(want, list) and key == "sources":
                assert set(want) <= {str(v) for v in got}, (key, got)
            elif isinstance(want, list):
                assert {_text(v) for v in got} == {_text(w) for w in want}, (key, got)
            elif want.startswith("not stated"):
                assert got == set(), (key, got)
            else:
                assert got, f"{key}: no value"
                assert all(_describes(v, want) for v in got), (key, got, want)


def _query_path(question_id: str) -> Path:
    return HERE / f"{question_id}.rq"


def _body(sparql: str) -> str:
    """The query without its comment lines."""
    return "\n".join(line for line in sparql.splitlines() if not line.lstrip().startswith("#"))


def _expected_values(expected: Any) -> list[str]:
    if isinstance(expected, dict):
        return [v for value in expected.values() for v in _expected_values(value)]
    if isinstance(expected, list):
        return [v for value in expected for v in _expected_values(value)]
    return [str(expected)]


def test_the_folder_has_the_questions_and_a_query_for_each() -> None:
    assert len(QUESTIONS) == 34
    assert QUERY_FILES, "no CQ*.rq files found"
    assert {q["id"] for q in QUESTIONS} == {p.stem for p in QUERY_FILES}


@pytest.mark.parametrize("question", QUESTIONS, ids=[q["id"] for q in QUESTIONS])
def test_competency_question(question: dict[str, Any], run_select: RunSelect) -> None:
    sparql = _query_path(question["id"]).read_text(encoding="utf-8")
    assert re.search(r"^\s*SELECT\b", _body(sparql), re.MULTILINE | re.IGNORECASE)
    check_answer(question["answer_type"], question["expected_answer"], run_select(sparql))


@pytest.mark.parametrize("question", QUESTIONS, ids=[q["id"] for q in QUESTIONS])
def test_query_does_not_carry_its_answer(question: dict[str, Any]) -> None:
    body = _body(_query_path(question["id"]).read_text(encoding="utf-8")).casefold()
    for value in _expected_values(question["expected_answer"]):
        if re.fullmatch(r"\d+", value) and len(value) < 4:
            continue  # small numbers occur in any query text
        if len(value) < 4:
            continue
        pattern = r"(?<![0-9a-z])" + re.escape(value.casefold()) + r"(?![0-9a-z])"
        assert not re.search(pattern, body), f"{question['id']} query contains {value!r}"


# -- the convention itself: it accepts right answers and rejects wrong ones ----------------------

CONVENTION_CASES: list[tuple[str, Any, list[Row], bool]] = [
    ("count", 8, [{"n": 8}], True),
    ("count", 8, [{"n": 7}], False),
    ("ordered_list", ["a", "b"], [{"x": "a"}, {"x": "b"}], True),
    ("ordered_list", ["a", "b"], [{"x": "b"}, {"x": "a"}], False),
    ("list", ["a", "b"], [{"x": "b"}, {"x": "a"}], True),
    ("list", ["a", "b"], [{"x": "a"}], False),
    ("list", ["a"], [{"x": "a"}, {"x": "a"}], False),
    ("list", [{"p": "x", "q": "y"}], [{"p": "x", "q": "y"}], True),
    ("list", [{"p": "x", "q": "y"}], [{"p": "x", "q": "z"}], False),
    ("entity", "the Thing (T) between A and B", [{"entity": "i", "label": "Thing (T)"}], True),
    ("entity", "Thing", [{"entity": "i", "label": "Other"}], False),
    (
        "entity",
        "Thing",
        [{"entity": "i", "label": "Thing"}, {"entity": "j", "label": "Thing"}],
        False,
    ),
    ("quantity", {"n": 5, "d": "both ways (x)"}, [{"n": 5, "d": "both ways"}], True),
    ("quantity", {"n": 5, "d": "both ways (x)"}, [{"n": 5, "d": "one way"}], False),
    ("quantity", {"n": 5}, [{"n": 5, "extra": 1}], False),
    ("duration", {"start": "not stated in the source"}, [{"start": None}], True),
    ("duration", {"start": "not stated in the source"}, [{"start": "2020-01-01"}], False),
    (
        "date",
        {"d": "2011-02-16", "sources": ["u1"]},
        [{"d": "2011-02-16", "sources": "u1"}, {"d": "2011-02-16", "sources": "u2"}],
        True,
    ),
    ("date", {"d": "2011-02-16", "sources": ["u1"]}, [{"d": "2011-02-16", "sources": "u2"}], False),
    ("temporal", {"note": "X gives 15 Feb 2011"}, [{"note": "2011-02-15"}, {"note": "X"}], True),
    ("temporal", {"note": "X gives 15 Feb 2011"}, [{"note": "2011-02-14"}], False),
]


@pytest.mark.parametrize(("answer_type", "expected", "rows", "accepted"), CONVENTION_CASES)
def test_convention(answer_type: str, expected: Any, rows: list[Row], accepted: bool) -> None:
    if accepted:
        check_answer(answer_type, expected, rows)
    else:
        with pytest.raises(AssertionError):
            check_answer(answer_type, expected, rows)
