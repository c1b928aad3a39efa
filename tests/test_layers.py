"""The package's layers: language → engine → views → api → cli, each importing only the layers
below it.

Read from the source with ast, every import counted, a function's lazy ones too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

from bptrace.engine.ops import FUNCTIONS
from bptrace.language.functions import ARITY

PACKAGE = ROOT / "bptrace"
LAYERS = ("language", "engine", "views", "api", "cli")
# What each layer may import, beyond itself, the standard library and bptrace.errors.
ALLOWED = {
    "language": set(),
    "engine": {"language", "numpy"},
    "views": {"language", "engine", "numpy"},
    "views/terminal": {"language", "engine", "views", "views/terminal", "numpy", "rich"},
    # the public API: pure, as the engine is; no terminal
    "api": {"language", "engine", "views", "numpy"},
    "cli": {"language", "engine", "views", "views/terminal", "api", "numpy", "rich", "typer"},
}
THIRD_PARTY = {"numpy", "rich", "typer"}


def layer(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    if parts[:2] == ("views", "terminal"):
        return "views/terminal"
    return parts[0] if len(parts) > 1 else "top"


def imports(path: Path) -> set[str]:
    """Return the layers (views/terminal apart from views) and third-party packages `path` uses."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "bptrace" and len(parts) > 1 and parts[1] in LAYERS:
                terminal = parts[1:3] == ["views", "terminal"]
                found.add("views/terminal" if terminal else parts[1])
            elif parts[0] in THIRD_PARTY:
                found.add(parts[0])
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if layer(p) in ALLOWED)


def test_the_folders_show_the_pipeline():
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} >= set(
        LAYERS
    )
    assert len(MODULES) > 30  # the walk found the modules


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_the_layers_below_it(path: Path):
    own = layer(path)
    below = ALLOWED[own] | {own.split("/")[0]}
    assert imports(path) - below == set(), (
        f"{path.relative_to(ROOT)} ({own}) reaches above its layer"
    )


def test_the_layer_check_catches_an_engine_that_imports_a_view(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from bptrace.views.terminal import steps\n    import rich.table\n"
    )
    assert imports(bad) == {"views/terminal", "rich"}
    assert not {"views/terminal", "rich"} <= ALLOWED["engine"] | ALLOWED["api"]


def test_the_parser_knows_every_function_the_math_table_computes_with_its_arity():
    assert {name: op.arity for name, op in FUNCTIONS.items()} == ARITY
