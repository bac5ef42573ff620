"""The import directions of ARCHITECTURE.md, checked on the source (an AST walk)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "plugboard"

# package → modules it must never import (prefix match)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "domain": (
        "fastapi",
        "starlette",
        "sqlalchemy",
        "alembic",
        "httpx2",
        "jinja2",
        "uvicorn",
        "typer",
        "rich",
        "plugboard.store",
        "plugboard.usecases",
        "plugboard.server",
        "plugboard.cli",
        "plugboard.client",
        "plugboard.auth",
    ),
    "crypto": (
        "fastapi",
        "sqlalchemy",
        "httpx2",
        "plugboard.store",
        "plugboard.usecases",
        "plugboard.server",
        "plugboard.cli",
    ),
    "catalog": (
        "fastapi",
        "sqlalchemy",
        "httpx2",
        "plugboard.store",
        "plugboard.usecases",
        "plugboard.server",
        "plugboard.cli",
    ),
    "store": (
        "fastapi",
        "httpx2",
        "plugboard.usecases",
        "plugboard.server",
        "plugboard.cli",
        "plugboard.client",
    ),
    "usecases": (
        "fastapi",
        "starlette",
        "jinja2",
        "typer",
        "rich",
        "plugboard.server",
        "plugboard.cli",
        "plugboard.client",
    ),
    "auth": ("fastapi", "sqlalchemy", "plugboard.store", "plugboard.server", "plugboard.cli"),
    "client": ("fastapi", "plugboard.server", "plugboard.cli"),
    "server": ("typer", "plugboard.cli"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(layer: str) -> list[str]:
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in _imports(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return found


@pytest.mark.parametrize("layer", sorted(name for name in FORBIDDEN if (PACKAGE / name).is_dir()))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    assert _violations(layer) == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy\nfrom fastapi import FastAPI\n")
    assert _imports(bad) == {"sqlalchemy", "fastapi"}
