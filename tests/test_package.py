"""The distribution: one import root, data files inside the wheel, the console script."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds and installs the wheel in subprocesses

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("ijkg-*.whl")
    return zipfile.ZipFile(built)


def test_everything_installs_under_the_ijkg_namespace(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    assert tops == {"ijkg", next(t for t in tops if t.endswith(".dist-info"))}
    names = set(wheel.namelist())
    for module in ("graph", "service", "ontology", "shapes"):
        assert f"ijkg/{module}/__init__.py" in names
        assert f"ijkg/{module}/py.typed" in names


def test_every_module_ships_inside_the_wheel(wheel: zipfile.ZipFile) -> None:
    """Each Python module of the four folders, subpackages included (an installed package that
    lacks one fails on its first import of it)."""
    names = set(wheel.namelist())
    local = {
        f"ijkg/{path.relative_to(ROOT).as_posix()}"
        for folder in ("graph", "service", "ontology", "shapes")
        for path in (ROOT / folder).rglob("*.py")
    }
    assert local - names == set()


def test_the_bundled_data_ships_inside_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for folder, pattern in (("ontology", ".ttl"), ("shapes", ".ttl"), ("graph/data", ".trig")):
        shipped = {n for n in names if n.startswith(f"ijkg/{folder}/") and n.endswith(pattern)}
        local = {f"ijkg/{folder}/{p.name}" for p in (ROOT / folder).glob(f"*{pattern}")}
        assert shipped == local
    assert "ijkg/graph/sources/india-japan-new-chapter.txt" in names
    assert "ijkg/graph/sources/india-japan-new-chapter.sentences.json" in names


def test_the_query_page_ships_inside_the_wheel(wheel: zipfile.ZipFile) -> None:
    """The editor, the page's script and style, its template and every example: offline."""
    names = set(wheel.namelist())
    static = ROOT / "service" / "static"
    local = {
        "ijkg/service/static/" + str(p.relative_to(static))
        for p in static.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {
        "ijkg/service/static/yasgui/yasgui.min.js",
        "ijkg/service/static/yasgui/yasgui.min.css",
        "ijkg/service/static/yasgui/NOTICE.md",
        "ijkg/service/static/sparql/query-page.js",
        "ijkg/service/static/sparql/query-page.css",
    } <= local
    assert any(n.endswith(".rq") for n in local)
    assert local <= names
    assert "ijkg/service/templates/sparql-query.html" in names
    # Byte for byte what the repository holds (the editor is vendored unchanged).
    editor = "ijkg/service/static/yasgui/yasgui.min.js"
    assert wheel.read(editor) == (static / "yasgui" / "yasgui.min.js").read_bytes()


def test_the_console_script_is_declared(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "ijkg = ijkg.service.cli:main" in text


@pytest.mark.parametrize("command", ["serve", "load", "validate", "query", "export"])
def test_every_command_explains_itself(command: str) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "ijkg.service", command, "--help"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "Usage:" in shown.stdout
    assert len(shown.stdout.splitlines()) > 5


def test_the_entity_pages_ship_inside_the_wheel(wheel: zipfile.ZipFile) -> None:
    """Every template and the pages' stylesheet: the pages need nothing from elsewhere."""
    names = set(wheel.namelist())
    templates = {p.name for p in (ROOT / "service" / "templates").glob("*.html")}
    assert {"base.html", "entity.html", "index.html", "list.html", "ontology.html"} <= templates
    assert {f"ijkg/service/templates/{name}" for name in templates} <= names
    css = "ijkg/service/static/pages/site.css"
    assert wheel.read(css) == (ROOT / "service" / "static" / "pages" / "site.css").read_bytes()


def test_the_api_explorer_ships_inside_the_wheel_as_its_notice_says(
    wheel: zipfile.ZipFile,
) -> None:
    """/docs uses the package's Swagger UI: the files are in the wheel, with the checksums that
    NOTICE.md records."""
    import hashlib
    import re

    folder = ROOT / "service" / "static" / "swagger"
    notice = (folder / "NOTICE.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\| `([^`]+)` \| `([0-9a-f]{64})` \|", notice))
    assert set(listed) == {"swagger-ui-bundle.js", "swagger-ui.css"}
    for name, digest in listed.items():
        data = wheel.read(f"ijkg/service/static/swagger/{name}")
        assert hashlib.sha256(data).hexdigest() == digest, name
        assert b"sourceMappingURL" not in data
    for name in ("LICENSE", "NOTICE", "NOTICE.md"):
        assert f"ijkg/service/static/swagger/{name}" in wheel.namelist()
