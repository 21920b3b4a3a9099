"""The ``>>>`` examples in the package's docstrings run as tests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ijkg.graph
import ijkg.service

MODULES = sorted(
    info.name
    for package in (ijkg.graph, ijkg.service)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    if not info.name.endswith("__main__")
)


def test_modules_were_found() -> None:
    assert "ijkg.graph.core.namespaces" in MODULES
    assert "ijkg.service.negotiation" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
