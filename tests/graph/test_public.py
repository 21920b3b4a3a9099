"""``ijkg.graph``'s public names: one table (``_PUBLIC``), which the type checker's imports and
``__all__`` repeat exactly, every name resolving to what its module defines."""

from __future__ import annotations

import ast
import importlib
from importlib.resources import files

import ijkg.graph


def _type_checking_imports() -> dict[str, str]:
    """``name -> module`` of the imports under ``if TYPE_CHECKING:`` in graph/__init__.py."""
    tree = ast.parse(files("ijkg.graph").joinpath("__init__.py").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module
                for alias in statement.names:
                    found[alias.asname or alias.name] = statement.module
    return found


def test_the_type_checkers_view_is_the_table() -> None:
    assert _type_checking_imports() == ijkg.graph._PUBLIC


def test_all_is_the_table() -> None:
    assert sorted(ijkg.graph.__all__) == sorted(ijkg.graph._PUBLIC)


def test_every_public_name_is_its_modules() -> None:
    for name, module in ijkg.graph._PUBLIC.items():
        assert getattr(ijkg.graph, name) is getattr(importlib.import_module(module), name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        ijkg.graph.no_such_name  # noqa: B018 - the lookup is the test
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")
