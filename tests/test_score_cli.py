"""`healthbot score` does only the work it needs: the accounts read once (the model's data
checks and the scoring share them) and no import of what a model without `champion_left`
never uses (scipy, through the metric-drop rule), on a real SQLite file made by the demo."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

import scoring.batch.jobs
import scoring.batch.model_checks
import scoring.store
from bot.cli import main


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("score-demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path)
        mp.delenv("SLACK_BOT_TOKEN", raising=False)
        mp.delenv("DATABASE_URL", raising=False)
        mp.delenv("HEALTHBOT_CONFIG", raising=False)
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["demo", "--seed", "3", "--accounts", "60"]) == 0
    return path


def test_score_reads_the_accounts_once(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(demo_dir)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("HEALTHBOT_CONFIG", raising=False)
    reads: list[int] = []
    real = scoring.store.load_accounts

    def counted(engine: Engine) -> pd.DataFrame:
        frame = real(engine)
        reads.append(len(frame))
        return frame

    for module in (scoring.store, scoring.batch.jobs, scoring.batch.model_checks):
        monkeypatch.setattr(module, "load_accounts", counted)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["score"]) == 0
    assert "accounts scored" in out.getvalue()
    assert reads == [60]


def test_score_does_not_import_scipy_without_champion_left(demo_dir: Path) -> None:
    """In a process of its own: the demo above imported everything in this one."""
    model = (demo_dir / "healthbot.yml").read_text()
    assert "champion_left" not in model
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        "assert main(['score']) == 0\n"
        "print('scipy' in sys.modules, 'jinja2' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HEALTHBOT_CONFIG")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=demo_dir, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"
