"""Imports point one way, as docs/architecture.md draws the layers: every module of ``ijkg``
imports only its own package and the packages below it, and the service sees the graph layer only
through ``ijkg.graph`` (the facade and the public types it exports).

The check reads every import in the source, at any depth, ``if TYPE_CHECKING:`` ones included: a
type named from above is still a dependency on above.
"""

from __future__ import annotations

import ast
from importlib.resources import files
from importlib.resources.abc import Traversable

import pytest

#: Each package of ``ijkg.graph`` and the packages it may import (besides itself).
GRAPH_LAYERS: dict[str, set[str]] = {
    "core": set(),
    "sparql": {"core"},
    "store": {"core", "sparql"},
    "endpoint": {"core", "sparql", "store"},
    "curation": {"core", "sparql", "store"},
    "linked": {"core", "sparql", "store"},
    "io": {"core", "sparql", "store", "curation"},
}

#: What the service may import of the graph layer: the package itself (the facade and the public
#: types it re-exports), nothing below it.
SERVICE_MAY_IMPORT = {"ijkg.graph"}


def imports(source: str) -> set[str]:
    """Every ``ijkg`` module a module's text imports, at any depth (``from ijkg.graph import x``
    counts as ``ijkg.graph``: that is the module it reads ``x`` from)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "ijkg"}


def modules(package: str) -> list[tuple[str, Traversable]]:
    """``(dotted name, file)`` for every module of ``package``, its subpackages included."""
    found: list[tuple[str, Traversable]] = []

    def walk(name: str, folder: Traversable) -> None:
        for entry in folder.iterdir():
            if entry.is_dir() and entry.joinpath("__init__.py").is_file():
                walk(f"{name}.{entry.name}", entry)
            elif entry.name.endswith(".py"):
                stem = entry.name.removesuffix(".py")
                found.append((name if stem == "__init__" else f"{name}.{stem}", entry))

    walk(package, files(package))
    return found


def layer_of(module: str) -> str | None:
    """The graph package a module belongs to (``None``: ``ijkg.graph``'s own modules, the facade)."""
    parts = module.split(".")
    if parts[:2] != ["ijkg", "graph"] or len(parts) < 3 or parts[2] not in GRAPH_LAYERS:
        return None
    return parts[2]


def test_every_graph_package_is_in_the_layer_table() -> None:
    packages = {name.split(".")[2] for name, _ in modules("ijkg.graph") if name.count(".") >= 3}
    assert packages == set(GRAPH_LAYERS)


def test_graph_packages_import_only_downward() -> None:
    upward = []
    for name, source in modules("ijkg.graph"):
        layer = layer_of(name)
        if layer is None:
            continue
        allowed = GRAPH_LAYERS[layer] | {layer}
        for imported in imports(source.read_text(encoding="utf-8")):
            target = layer_of(imported)
            if (
                imported.startswith("ijkg.graph") and (target is None or target not in allowed)
            ) or imported.startswith("ijkg.service"):
                upward.append(f"{name} imports {imported}")
    assert not upward, "\n".join(upward)


def public_names(source: str) -> set[str]:
    """The names a module's text takes from ``ijkg.graph`` itself (``from ijkg.graph import x``)."""
    return {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module == "ijkg.graph" and node.level == 0
        for alias in node.names
    }


@pytest.mark.parametrize("package", ["ijkg.service"])
def test_the_service_imports_only_the_facade(package: str) -> None:
    below = [
        f"{name} imports {imported}"
        for name, source in modules(package)
        for imported in imports(source.read_text(encoding="utf-8"))
        if imported.startswith("ijkg.graph") and imported not in SERVICE_MAY_IMPORT
    ]
    assert not below, "\n".join(below)


@pytest.mark.parametrize("package", ["ijkg.service"])
def test_the_service_takes_only_public_names(package: str) -> None:
    """``from ijkg.graph import core`` would pass the test above: names must be public ones."""
    import ijkg.graph

    private = [
        f"{name} takes {taken}"
        for name, source in modules(package)
        for taken in public_names(source.read_text(encoding="utf-8"))
        if taken not in ijkg.graph.__all__
    ]
    assert not private, "\n".join(private)
    for name in ijkg.graph.__all__:
        assert getattr(ijkg.graph, name) is not None


def test_the_facade_module_imports_nothing_of_the_service() -> None:
    for name, source in modules("ijkg.graph"):
        assert not any(i.startswith("ijkg.service") for i in imports(source.read_text("utf-8"))), (
            name
        )


def test_the_check_sees_an_upward_import() -> None:
    """The walker finds nested and type-checking imports (the test above can fail)."""
    source = "if TYPE_CHECKING:\n    from ijkg.graph.curation.gate import Gate\n"
    source += "def f():\n    import ijkg.service.app\n"
    assert imports(source) == {"ijkg.graph.curation.gate", "ijkg.service.app"}
    assert layer_of("ijkg.graph.curation.gate") == "curation"
    assert "curation" not in GRAPH_LAYERS["store"]
