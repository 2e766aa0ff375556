"""`healthbot calibrate --advise` on a real store (a SQLite file and PostgreSQL): three AUCs
with errors, a proposal written beside the model only when it does no worse, the model file
never touched."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from scoring.config import load_model
from scoring.sample import generate_portfolio
from scoring.store.frames_io import load_frames
from tests.databases import BACKENDS, migrated_database

END = dt.date(2026, 6, 28)
MODEL = """\
# Payment history and NPS only: product usage, the strongest signal, is left out.
metrics:
  payment_history:
    signal: invoices_overdue
    aggregate: max
    window_days: 90
    scale: {worst: 3, best: 0}
    weight: 60  # judgement
  engagement: {signal: nps, aggregate: last, window_days: 180, scale: {worst: 0, best: 10}}
advise:
  exclude_signals: [tickets_opened]
  windows_days: [30]
"""


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory) -> Iterator[tuple[Path, str]]:
    path = tmp_path_factory.mktemp("advise")
    text = MODEL.replace("best: 10}}", "best: 10}, weight: 40}")
    (path / "healthbot.yml").write_text(text)
    portfolio = generate_portfolio(seed=5, accounts=300, weeks=30, end=END)
    with migrated_database(request.param, path) as (url, engine):
        load_frames(engine, portfolio.accounts, portfolio.signals, portfolio.outcomes, END)
        yield path, url


@pytest.fixture
def cli(store, monkeypatch) -> Path:
    path, url = store
    monkeypatch.chdir(path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("HEALTHBOT_CONFIG", raising=False)
    for written in ("healthbot.proposed.yml", "advised.yml"):
        (path / written).unlink(missing_ok=True)
    return path


def test_advise_prints_three_aucs_and_writes_a_better_model_beside_the_old(cli, capsys) -> None:
    model_file = cli / "healthbot.yml"
    before = model_file.read_bytes()
    assert main(["calibrate", "--advise", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["auc"]) == {"current", "proposal", "baseline"} == set(out["auc_se"])
    assert all(0 < se < 0.2 for se in out["auc_se"].values())
    assert out["not_worse_than_current"] is True and out["auc"]["proposal"] > out["auc"]["current"]
    assert out["proposed_file"] == "healthbot.proposed.yml"
    assert out["excluded_signals"] == ["tickets_opened"]
    changes = {c["metric"]: c for c in out["changes"]}
    assert any(c["change"] == "added" and "active_users" in c["definition"] for c in out["changes"])
    assert not any("tickets_opened" in c["definition"] for c in out["changes"])
    assert model_file.read_bytes() == before
    proposed = load_model(cli / "healthbot.proposed.yml")
    assert 1 <= sum(m.weight > 0 for m in proposed.metrics.values()) <= 7
    assert all(m.weight >= 0 for m in proposed.metrics.values())
    if changes["payment_history"]["change"] == "dropped":
        assert proposed.metrics["payment_history"].weight == 0
        assert "weight: 0  # was 60  # judgement" in (cli / "healthbot.proposed.yml").read_text()


def test_advise_text(cli, capsys) -> None:
    assert main(["calibrate", "--advise", "--output", "advised.yml"]) == 0
    text = capsys.readouterr().out
    assert "Held-out ROC AUC (± standard error, resampling accounts):" in text
    assert "current model" in text and "proposal" in text and "baseline" in text
    assert "What the proposal changes" in text and "Wrote advised.yml" in text
    assert (cli / "advised.yml").exists()


def test_advise_refuses_a_segment(cli, capsys) -> None:
    assert main(["calibrate", "--advise", "--segment", "Enterprise"]) == 1
    assert "calibrate --advise fits one set of metrics" in capsys.readouterr().err
