"""`healthbot run-weekly` tells the truth in its exit code: 0 succeeded, 3 delivering (and
which messages wait, and until when), 1 failed; a period a live worker is running is refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.cli.demo import demo_model_path
from scoring.store import make_engine, upgrade
from scoring.store.leases import take_lease
from scoring.store.runs import period_runs
from tests.pipeline_fixtures import owners, prepare
from tests.slack_double import TEST_TOKEN, SlackDouble
from tests.test_sweep import unreachable


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack_double: SlackDouble):
    """A prepared SQLite database and a model file in the working directory."""
    url = f"sqlite:///{tmp_path / 'healthbot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    prepared = prepare(engine)
    for email in owners(prepared.portfolio):
        slack_double.add_user(email)
    for name in ("cs-health", "healthbot-admin", "cs-alerts"):
        slack_double.add_channel(name)
    raw = yaml.safe_load(demo_model_path().read_text())
    raw.pop("sources", None)
    raw["delivery"] = {"in_run_seconds": 0, "read_back_grace_seconds": 0}
    (tmp_path / "healthbot.yml").write_text(yaml.safe_dump(raw))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack_double.url + "/api/")
    yield engine
    engine.dispose()


ARGS = ["run-weekly", "--no-sync", "--as-of", "2026-11-22"]


def test_everything_delivered_exits_0(app, capsys):
    assert main(ARGS) == 0
    assert "2026-W47 (as of 2026-11-22): succeeded" in capsys.readouterr().out
    assert period_runs(app, "2026-W47")[-1]["status"] == "succeeded"


def test_slack_unreachable_exits_3_and_says_what_waits(app, capsys, monkeypatch):
    down = unreachable().clients.post.base_url
    monkeypatch.setenv("SLACK_API_URL", down)
    assert main(ARGS) == 3
    out = capsys.readouterr().out
    assert ": delivering;" in out and "still on their way" in out
    assert "alert:2026-W47:" in out and "Connection refused" in out
    assert period_runs(app, "2026-W47")[-1]["status"] == "delivering"


def test_a_failed_run_exits_1(app, capsys):
    import sqlalchemy as sa

    with app.begin() as conn:
        conn.execute(sa.text("drop table signals"))
    assert main(ARGS) == 1
    assert "weekly run for 2026-11-22 failed" in capsys.readouterr().out
    assert period_runs(app, "2026-W47")[-1]["status"] == "failed"


def test_a_period_a_live_worker_runs_is_refused(app, capsys):
    assert take_lease(app, "weekly:2026-W47", "worker-7", timedelta(minutes=2)).won
    assert main(ARGS) == 1
    assert "is being run right now by worker-7" in capsys.readouterr().err
    assert period_runs(app, "2026-W47") == []
