"""The store package imports its modules, never the other way round (no import cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

import scoring.store

STORE_DIR = Path(scoring.store.__file__).parent


def _imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_store_module_imports_the_store_package_itself() -> None:
    """`scoring/store/__init__.py` imports its modules; one importing `scoring.store` back
    would only work while the package happens to be half-initialised."""
    offenders = [
        path.name
        for path in sorted(STORE_DIR.rglob("*.py"))
        if path != STORE_DIR / "__init__.py" and "scoring.store" in _imports_of(path)
    ]
    assert offenders == []


def test_forget_still_finds_the_tables_of_every_store_module() -> None:
    from scoring.store.forget import account_tables

    assert {"accounts", "signals", "alert_log", "account_actions", "csm_inputs"} <= set(
        account_tables()
    )
