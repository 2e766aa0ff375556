"""Calibrate: bounded fit, honest held-out check, and a proposal that never touches the model."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from scoring.config import parse_model
from scoring.errors import HealthbotError
from scoring.periods import weekly_as_ofs
from scoring.sample import generate_portfolio
from scoring.validation.backtest import Backtest, run_backtest
from scoring.validation.calibrate import calibrate
from scoring.validation.fitting import fit_logistic, model_weights, weighted_score
from scoring.validation.proposal import (
    check_proposal,
    diff,
    propose_text,
    proposed_path,
    write_proposal,
)
from scoring.validation.split import account_folds, holdout_split

END = dt.date(2026, 6, 28)
NOISY_MODEL = """\
# A first guess: the coin gets most of the weight.
metrics:
  usage: {signal: active_users, window_days: 30, scale: {worst: 10, best: 70}, weight: 30}
  tickets:
    signal: tickets_opened
    aggregate: sum
    window_days: 90
    scale: {worst: 12, best: 0}
    fill: 0
    weight: 10  # fewer is better
  coin: {signal: coin, aggregate: last, window_days: 30, scale: {worst: 0, best: 1}, weight: 60}
  backwards:
    signal: features_used
    aggregate: last
    window_days: 30
    scale: {worst: 12, best: 0}
    weight: 10
segments:
  big:
    where: {segment: Enterprise}
    bands:
      - {name: healthy, min: 85}
      - {name: at_risk, min: 60}
      - {name: critical, min: 0}
sources:
  - name: warehouse
    kind: signals
    url: "postgresql://reader:${WAREHOUSE_PASSWORD}@db/prod"
    query: select * from usage
"""


@pytest.fixture(scope="module")
def noisy() -> tuple[Backtest, object]:
    """Generated history plus a weekly coin-toss signal, scored by a model that trusts the coin
    and reads feature adoption backwards."""
    portfolio = generate_portfolio(seed=5, accounts=300, weeks=26, end=END)
    rng = np.random.default_rng(1)
    sig = portfolio.signals
    weekly = sig[(sig["signal"] == "active_users") & (sig["date"].dt.day_of_week == 0)]
    coin = weekly.assign(signal="coin", value=rng.random(len(weekly)))
    signals = pd.concat([sig, coin], ignore_index=True)
    model = parse_model(NOISY_MODEL, environ={"WAREHOUSE_PASSWORD": "hunter2"})
    as_ofs = weekly_as_ofs(END - dt.timedelta(days=150), END - dt.timedelta(days=91))
    return run_backtest(model, portfolio.accounts, signals, portfolio.outcomes, as_ofs), model


def test_bounded_fit_keeps_weights_non_negative() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((2000, 3))
    risk = 2.0 - 4.0 * x[:, 0] + 3.0 * x[:, 1]  # metric 1 raises risk: the wrong way
    y = (rng.random(2000) < 1 / (1 + np.exp(-risk))).astype(float)
    _, free = fit_logistic(x, y, 1e-4, nonnegative=False)
    _, bounded = fit_logistic(x, y, 1e-4)
    assert free[1] < -1.0  # unbounded, the wrong-way metric gets a negative weight
    assert (bounded >= 0).all() and bounded[1] == 0.0 and bounded[0] > 2.0


def test_weights_on_the_file_scale_and_the_engine_score() -> None:
    assert model_weights(np.array([3.0, 1.0, 0.001]), 100).tolist() == [75.0, 25.0, 0.0]
    assert model_weights(np.zeros(3), 100) is None
    x = np.array([[80.0, 20.0], [np.nan, 40.0], [np.nan, np.nan]])
    score = weighted_score(x, np.array([3.0, 1.0]))
    assert score[0] == pytest.approx(65.0) and score[1] == 40.0 and np.isnan(score[2])


def test_calibrate_improves_held_out_auc_and_flags_the_inverted_metric(noisy) -> None:
    backtest, model = noisy
    result = calibrate(model, backtest)
    assert all(w >= 0 for w in result.proposed.values())
    assert sum(result.proposed.values()) == pytest.approx(110, abs=0.5)  # the file's total
    assert result.proposed["coin"] < 30 and result.proposed["usage"] > 30
    assert result.auc_after >= result.auc_before - 0.005
    assert result.auc_after > 0.75 and result.heldout_rows > 1000
    assert len(result.flags) == 1 and "backwards" in result.flags[0]
    assert "not inverted automatically" in result.flags[0]
    verdicts = result.metrics.set_index("metric")["verdict"]
    assert verdicts["backwards"] == "wrong_way" and verdicts["coin"] == "noise"


def test_held_out_split_by_time_or_by_account(noisy) -> None:
    backtest, _ = noisy
    rows = backtest.rows
    few = holdout_split(rows[rows["as_of"].isin(pd.to_datetime(backtest.as_ofs[:3]))], 90)
    assert few.method == "account_cv" and "fewer than 4 periods" in few.description
    assert few.folds == 5
    by_time = holdout_split(rows, 7)
    assert by_time.method == "latest_periods" and "held out the latest" in by_time.description
    test = rows["as_of"][by_time.fold == 0]
    train = rows["as_of"][by_time.fold == -1]
    assert test.min() > train.max() and test.nunique() == len(backtest.as_ofs) // 4
    assert (train + pd.Timedelta(days=7) <= test.min()).all()  # no horizon overlaps the test


def test_account_folds_keep_accounts_together_and_spread_churners() -> None:
    accounts = np.repeat(np.array([f"a{i}" for i in range(23)]), 3)
    churned = np.isin(accounts, [f"a{i}" for i in range(7)]) & (np.arange(69) % 3 == 2)
    fold = account_folds(accounts, churned, 5, seed=0)
    per_account = pd.Series(fold).groupby(accounts).nunique()
    assert (per_account == 1).all()
    churners = pd.Series(fold[::3][:7]).value_counts()
    assert churners.max() - churners.min() <= 1 and len(churners) == 5


def test_too_little_history_is_a_user_error(noisy) -> None:
    backtest, model = noisy
    none_churned = backtest.subset(~backtest.rows["churned"].to_numpy())
    with pytest.raises(HealthbotError, match="too little history to calibrate"):
        calibrate(model, none_churned)
    with pytest.raises(HealthbotError, match="takes a model segment"):
        calibrate(model, backtest, segment="SMB")


def test_proposal_keeps_secrets_and_comments_and_never_overwrites(noisy, tmp_path) -> None:
    backtest, model = noisy
    result = calibrate(model, backtest)
    path = tmp_path / "healthbot.yml"
    path.write_text(NOISY_MODEL)
    text = propose_text(NOISY_MODEL, result.proposed, None, result.bands_proposed)
    assert "${WAREHOUSE_PASSWORD}" in text and "hunter2" not in text
    assert "# fewer is better" in text and "# A first guess" in text
    checked = check_proposal(text, "proposal", {"WAREHOUSE_PASSWORD": "hunter2"})
    assert {k: m.weight for k, m in checked.metrics.items()} == result.proposed
    target = write_proposal(path, text)
    assert target == tmp_path / "healthbot.proposed.yml" == proposed_path(path)
    assert path.read_text() == NOISY_MODEL
    assert "${WAREHOUSE_PASSWORD}" in target.read_text()
    changes = diff(NOISY_MODEL, text, "healthbot.yml", "healthbot.proposed.yml")
    assert "-  coin: {signal: coin" in changes and "+  coin: {signal: coin" in changes
    with pytest.raises(HealthbotError, match="refusing to write the proposal over the model"):
        write_proposal(path, text, tmp_path / "." / "healthbot.yml")
    assert path.read_text() == NOISY_MODEL


def test_proposal_for_a_segment_adds_its_weights_and_edits_its_bands() -> None:
    weights = {"usage": 50.0, "tickets": 20.0, "coin": 0.0, "backwards": 40.5}
    text = propose_text(NOISY_MODEL, weights, "big", {"healthy": 90, "at_risk": 55, "critical": 0})
    model = check_proposal(text, "proposal")
    assert model.segment_weights("big") == weights
    assert [b.min for b in model.segment_bands("big")] == [90, 55, 0]
    assert model.metrics["coin"].weight == 60  # the top level is untouched
    again = propose_text(text, {**weights, "coin": 5.0}, "big")
    assert check_proposal(again, "proposal").segment_weights("big")["coin"] == 5.0
    assert again.count("weights:") == 1
