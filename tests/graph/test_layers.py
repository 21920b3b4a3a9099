"""The store layer imports nothing above it: only itself and the leaf modules of ``ijkg.graph``
(errors, formats, names, settings, terms and the two SPARQL text readers), as
docs/architecture.md says."""

from __future__ import annotations

import ast
from importlib.resources import files

STORE = "ijkg.graph.store"
LEAVES = {
    "ijkg.graph.errors",
    "ijkg.graph.formats",
    "ijkg.graph.namespaces",
    "ijkg.graph.settings",
    "ijkg.graph.terms",
    "ijkg.graph.sparql_text",
    "ijkg.graph.shape_reads",
}


def imports(source: str) -> set[str]:
    """Every ``ijkg`` module a module's text imports (at any depth, type-checking ones too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "ijkg"}


def test_the_store_layer_imports_nothing_above_it() -> None:
    modules = [f for f in files(STORE).iterdir() if f.name.endswith(".py")]
    assert len(modules) > 10
    upward = {
        f"{f.name}: {name}"
        for f in modules
        for name in imports(f.read_text(encoding="utf-8"))
        if not (name == STORE or name.startswith(STORE + ".") or name in LEAVES)
    }
    assert not upward


def test_the_leaves_import_only_leaves() -> None:
    graph = files("ijkg.graph")
    for leaf in LEAVES:
        source = graph.joinpath(leaf.rsplit(".", 1)[1] + ".py").read_text(encoding="utf-8")
        tree = ast.parse(source)
        # top-level imports (``if TYPE_CHECKING:`` ones aside: they name types for the reader)
        running = [node for node in tree.body if isinstance(node, ast.ImportFrom | ast.Import)]
        names = imports(ast.unparse(ast.Module(body=running, type_ignores=[])))
        assert names <= LEAVES, (leaf, names - LEAVES)
