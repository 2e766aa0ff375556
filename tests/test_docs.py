"""Docs that fail when the code moves on without them."""

from __future__ import annotations

from pathlib import Path

from scoring.config.reference import DESCRIPTIONS, fields, reference_markdown
from scoring.engine.aggregates import AGGREGATES
from scoring.engine.scales import SCALES

ROOT = Path(__file__).resolve().parents[1]


def test_every_model_file_key_is_documented():
    paths = [path for path, _ in fields()]
    assert [p for p in paths if p not in DESCRIPTIONS] == []
    assert [p for p in DESCRIPTIONS if p not in paths] == [], "documented keys that do not exist"


def test_the_committed_reference_is_current():
    committed = (ROOT / "docs" / "model-reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), (
        "run: healthbot reference --output docs/model-reference.md"
    )


def test_every_aggregate_and_scale_is_documented_and_tested():
    doc = DESCRIPTIONS["metrics.<key>.aggregate"][0]
    tests = (ROOT / "tests" / "test_engine.py").read_text(encoding="utf-8")
    for name in AGGREGATES:
        assert name in doc, f"aggregate {name} missing from the reference"
        assert f'"{name}"' in tests, f"aggregate {name} has no engine test"
    scale_doc = DESCRIPTIONS["metrics.<key>.scale"][0]
    for name, marker in {"linear": "worst", "steps": "steps", "percentile": "percentile"}.items():
        assert name in SCALES and marker in scale_doc and f'"{marker}"' in tests


def test_readme_names_the_two_setup_commands_and_ci_calls_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
