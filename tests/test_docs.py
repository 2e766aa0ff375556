"""Docs that fail when the code moves on without them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tests.test_engine_registry as engine_registry
from scoring.config.reference import DESCRIPTIONS, fields, reference_markdown
from scoring.engine.aggregates import AGGREGATES
from scoring.engine.scales import SCALES

ROOT = Path(__file__).resolve().parents[1]
# What the scale reference says for a scale whose name it does not use.
SCALE_DOC_MARKERS = {"linear": "worst"}


def test_every_model_file_key_is_documented():
    paths = [path for path, _ in fields()]
    assert [p for p in paths if p not in DESCRIPTIONS] == []
    assert [p for p in DESCRIPTIONS if p not in paths] == [], "documented keys that do not exist"


def test_the_committed_reference_is_current():
    committed = (ROOT / "docs" / "model-reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), (
        "run: healthbot reference --output docs/model-reference.md"
    )


def test_every_aggregate_and_scale_is_documented():
    doc = DESCRIPTIONS["metrics.<key>.aggregate"][0]
    for name in AGGREGATES:
        assert name in doc, f"aggregate {name} missing from the reference"
    scale_doc = DESCRIPTIONS["metrics.<key>.scale"][0]
    for name in SCALES:  # the linear scale is documented by its keys
        marker = SCALE_DOC_MARKERS.get(name, name)
        assert marker in scale_doc, f"scale {name} missing from the reference"


def _cases(test: Callable[..., None]) -> list[tuple[str | None, Any]]:
    """(id, case) of every parameter set in the test's parametrize mark."""
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
    assert len(marks) == 1, f"{test.__name__} must be parametrized once"
    return [(param.id, param.values[0]) for param in marks[0].args[1]]


@pytest.mark.parametrize(
    ("registered", "test"),
    [(AGGREGATES, engine_registry.test_aggregate), (SCALES, engine_registry.test_scale)],
    ids=["aggregates", "scales"],
)
def test_every_aggregate_and_scale_has_an_engine_case_with_an_expected_value(
    registered: dict[str, Any], test: Callable[..., None]
) -> None:
    cases = _cases(test)
    names = [name for name, _ in cases]
    assert sorted(names) == sorted(registered), (
        f"one case per registered name in tests/test_engine_registry.py ({test.__name__})"
    )
    for name, case in cases:
        assert case.name == name, f"case {case.name} runs under the id {name}"
        expected = np.atleast_1d(np.asarray(case.expected, dtype=float))
        assert expected.size and np.isfinite(expected).all(), f"{name} has no expected value"


def test_readme_names_the_two_setup_commands_and_ci_calls_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_path_the_architecture_and_contributing_docs_name_exists():
    import re

    pattern = re.compile(r"(?<![\w/.])((?:bot|scoring|tests|benchmarks|templates)/[\w/.-]*\w)")
    for doc in ("docs/architecture.md", "CONTRIBUTING.md"):
        named = set(pattern.findall((ROOT / doc).read_text(encoding="utf-8")))
        assert named, doc
        assert sorted(p for p in named if not (ROOT / p).exists()) == [], doc


def test_the_architecture_doc_names_every_package():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = {
        str(init.parent.relative_to(ROOT))
        for top in ("bot", "scoring")
        for init in (ROOT / top).rglob("__init__.py")
        if init.parent != ROOT / top
    }
    assert sorted(p for p in packages if f"{p}/" not in doc) == []
