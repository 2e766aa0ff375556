"""Templates, the demo model and migrations must ship inside a built wheel and be found there."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_built_wheel_finds_its_templates_demo_model_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("healthbot-*.whl"))
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        f"import sys; sys.path.insert(0, {str(site)!r})\n"
        "from bot.messages.render import templates_dir, render_text\n"
        "from bot.cli.demo import demo_model_path\n"
        "from scoring.store.schema import head_revision\n"
        "print(templates_dir()); print(demo_model_path()); print(head_revision())\n"
        "print(render_text('admin_failure', period='2026-W47', error='x'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    templates, demo, head, text = out.split("\n", 3)
    assert templates == str(site / "bot" / "templates")
    assert demo == str(site / "bot" / "demo-model.yml")
    assert head[:4].isdigit() and head[4] == "_" and "weekly run for 2026-W47 failed" in text
