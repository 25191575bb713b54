"""The package's layers point down only, and no modules import each other in a circle.

Layers, lowest first (docs/architecture.md draws them): `shisn.domain` (pure rules) → `shisn.store` (the database)
→ `shisn.services` (the network's workflows) → `shisn.render` (pictures and documents) → `shisn.demo` (the demo
data) → `shisn.web` (Streamlit) and `shisn.cli` (the command line). A module may import its own layer and the
layers below it, never one above; `pages/` and `app.py` sit on top and may import anything. Imports inside
functions count too: they are how circles used to hide.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "app.py").exists())
PACKAGE = ROOT / "shisn"
LAYERS = ("domain", "store", "services", "render", "demo", "web", "cli")
RANK = {"domain": 0, "store": 1, "services": 2, "render": 3, "demo": 4, "web": 5, "cli": 5}
# what the lowest layer may never import: it computes, it does not store, draw or serve
DOMAIN_FORBIDDEN = ("streamlit", "duckdb", "psycopg", "plotly", "pydeck", "smtplib")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Every module `path` imports (top level or inside a function), with its line; `from shisn.x import y`
    names the module shisn.x.y when that is a module, else shisn.x."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}:{node.lineno}: a relative import (write the full module name)"
            base = node.module or ""
            for a in node.names:
                full = f"{base}.{a.name}"
                out.append((full if full in MODULES else base, node.lineno))
    return out


def own_imports(path: Path) -> set[str]:
    return {m for m, _ in imports_of(path) if m in MODULES and m != "shisn"}


def test_every_module_is_in_a_layer():
    loose = [n for n in MODULES if n not in ("shisn", "shisn.__main__") and layer_of(n) is None]
    assert not loose, f"modules outside the layers {LAYERS}: {loose}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer_of(n)))
def test_imports_point_down(name):
    mine = RANK[layer_of(name)]
    up = [
        f"line {line}: {m}"
        for m, line in imports_of(MODULES[name])
        if layer_of(m) is not None and RANK[layer_of(m)] > mine
    ]
    assert not up, f"{name} ({layer_of(name)}) imports a higher layer: {up}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer_of(n) == "domain"))
def test_the_domain_layer_stores_draws_and_serves_nothing(name):
    bad = [f"line {line}: {m}" for m, line in imports_of(MODULES[name]) if m.split(".")[0] in DOMAIN_FORBIDDEN]
    assert not bad, f"{name} is pure rules, yet imports {bad}"


def test_no_import_circle():
    graph = {n: own_imports(p) for n, p in MODULES.items()}
    # a package's __init__ importing nothing is not part of a circle; walk every module's imports depth first
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(n):
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                raise AssertionError("import circle: " + " → ".join(path[path.index(m) :] + [m]))
            if m not in state:
                visit(m)
        path.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_pages_reach_the_store_only_through_modules():
    """Pages are layout and widgets: no SQL, no database driver."""
    for page in sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        text = page.read_text(encoding="utf-8")
        names = {m.split(".")[0] for m, _ in imports_of(page)}
        assert not names & {"duckdb", "psycopg"}, f"{page.name} opens the database itself"
        for word in ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM"):
            assert word not in text, f"{page.name} holds SQL ({word.strip()})"


# --- docs/architecture.md matches the tree ---------------------------------------------------------------------------

ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
DOCUMENTED = set(re.findall(r"^- `((?:web/)?[a-z_]+\.py)` —", ARCHITECTURE, flags=re.M))


def _doc_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return f"web/{rel.name}" if rel.parts[0] == "web" else rel.name


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" and p.name != "__main__.py"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_module_has_its_line_in_the_architecture_doc(path):
    heading = "### `shisn/" + (
        path.relative_to(PACKAGE).parts[0] + "/`" if len(path.relative_to(PACKAGE).parts) > 1 else ""
    )
    assert _doc_name(path) in DOCUMENTED, (
        f"{path.relative_to(ROOT)} has no line `- `{_doc_name(path)}` — ...` in docs/architecture.md"
    )
    section = ARCHITECTURE.split(f"- `{_doc_name(path)}` —")[0].rsplit("### ", 1)[1]
    layer = path.relative_to(PACKAGE).parts[0] if len(path.relative_to(PACKAGE).parts) > 1 else path.stem
    assert f"shisn/{layer}" in section.splitlines()[0], f"{path.name} is listed under the wrong layer ({heading})"


def test_every_module_the_architecture_doc_names_exists():
    names = {_doc_name(p) for p in PACKAGE.rglob("*.py")}
    assert DOCUMENTED - names == set(), f"docs/architecture.md lists modules that do not exist: {DOCUMENTED - names}"
