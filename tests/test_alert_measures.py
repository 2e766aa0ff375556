"""Measured alert quality: the measures on hand-made cases, the replay's delivered alerts
(cooldown and DM cap carried week to week as the weekly run does), the backtest's report of
them, and the held-out alert-quality benchmark on a tiny portfolio so it cannot rot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import bench_alert_quality
from benchmarks.alert_portfolio import held_out_portfolio
from scoring.config import load_model, parse_model
from scoring.sample import generate_portfolio
from scoring.validation.alert_quality import ALL_HEALTH, alert_quality
from scoring.validation.backtest import run_backtest
from scoring.validation.replay import replay_weeks
from scoring.validation.summary import summarize
from scoring.validation.text import backtest_text

DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"
END = dt.date(2026, 6, 28)  # a Sunday
D1, D2, D3 = (pd.Timestamp(END - dt.timedelta(weeks=w)) for w in (2, 1, 0))


def _rows() -> pd.DataFrame:
    """Three accounts over three weeks; c churns after D1, b's last week is censored."""
    return pd.DataFrame(
        {
            "account_id": ["a", "b", "c"] * 3,
            "as_of": [D1] * 3 + [D2] * 3 + [D3] * 3,
            "status": "scored",
            "score": 50.0,
            "churned": [False, False, True, False, False, True, False, False, False],
            "censored": [False, False, False, False, False, False, False, True, False],
        }
    )


def test_measures_on_hand_made_alerts() -> None:
    owners = pd.Series({"a": "ann@x", "b": "bob@x", "c": "ann@x"})
    fired = pd.DataFrame(
        {
            "account_id": ["c", "c", "b", "b", "a", "a"],
            "as_of": [D1, D1, D2, D3, D3, D3],
            "rule": ["score_drop", "metric_drop", "metric_drop", "metric_drop", "renewal", "stale"],
        }
    )
    delivered = fired.iloc[[0, 1, 2]]
    table = alert_quality(_rows(), owners, {"fired": fired, "delivered": delivered})
    t = table.set_index(["mode", "rule"])
    every = t.loc[("fired", ALL_HEALTH)]
    # c@D1 (two rules, one account-week), b@D2, b@D3: renewal and stale are not health alerts.
    assert every["alerts"] == 3
    assert every["per_100_accounts_week"] == pytest.approx(100 * 3 / 9)
    # Owner-weeks: ann and bob in each of 3 weeks; counts 1,0 / 0,1 / 0,1 -> median 0.5.
    assert every["per_owner_week_median"] == 0.5
    assert every["per_owner_week_p95"] == 1.0
    # b@D3 is censored: judged 2, one followed by churn (c@D1).
    assert (every["judged"], every["followed_by_churn"]) == (2, 1)
    assert every["precision"] == 0.5
    assert every["base_rate"] == pytest.approx(2 / 8)
    assert every["lift"] == pytest.approx(2.0)
    assert every["recall"] == 1.0  # c, the one churned account, was caught
    assert t.loc[("fired", "renewal"), "alerts"] == 1
    assert t.loc[("delivered", ALL_HEALTH), "alerts"] == 2
    assert t.loc[("delivered", "metric_drop"), "precision"] == 0.5


CAP_MODEL = """
bands:
  - {name: healthy, min: 80}
  - {name: at_risk, min: 0}
metrics:
  logins: {signal: logins, window_days: 7, scale: {worst: 0, best: 10}, weight: 1}
alerts:
  renewal_days: 90
  cooldown_days: 14
"""


def test_replay_carries_cooldown_and_the_dm_cap_week_to_week() -> None:
    """15 accounts of one owner all renew soon while at risk, every week. Week 1's DM lists
    the most urgent ones and leaves the rest in "and N more"; week 2 holds the listed ones
    (cooldown) and delivers exactly the ones left out; week 3 (14 days on) lists the first
    ones again. That is the weekly run's rule: a cooldown starts only for an alert shown."""
    model = parse_model(CAP_MODEL)
    ids = [f"acc-{i:02d}" for i in range(15)]
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "name": ids,
            "owner_email": "ann@x.com",
            "arr": np.arange(15, 0, -1) * 1000.0,  # acc-00 is the most urgent
            "renewal_date": pd.Timestamp(END + dt.timedelta(days=30)),
        }
    )
    days = pd.date_range(END - dt.timedelta(days=40), END, freq="D")
    signals = pd.DataFrame(
        {
            "account_id": np.repeat(ids, len(days)),
            "date": np.tile(days, len(ids)),
            "signal": "logins",
            "value": 5.0,
        }
    )
    weeks = replay_weeks(model, accounts, signals, [D1.date(), D2.date(), D3.date()]).weeks
    first, second, third = (set(w.delivered["account_id"]) for w in weeks)
    assert all(len(w.fired) == 15 for w in weeks)
    assert weeks[0].overflow > 0
    assert len(first) == 15 - weeks[0].overflow
    assert first == set(ids[: len(first)])  # most ARR at stake first
    assert second == set(ids) - first
    assert weeks[1].held_back == len(first)
    assert third == first
    assert set(weeks[0].delivered["owner_email"]) == {"ann@x.com"}


@pytest.fixture(scope="module")
def backtest():
    model = load_model(DEMO_MODEL)
    portfolio = generate_portfolio(seed=3, accounts=150, weeks=40, end=END)
    as_ofs = [END - dt.timedelta(weeks=w) for w in range(7, -1, -1)]
    args = (model, portfolio.accounts, portfolio.signals, portfolio.outcomes, as_ofs)
    return model, run_backtest(*args, replay_weeks=4), run_backtest(*args, replay_weeks=0)


def test_backtest_replays_the_last_weeks_with_the_same_rules(backtest) -> None:
    model, replayed, plain = backtest
    assert replayed.replayed_as_ofs == [END - dt.timedelta(weeks=w) for w in range(3, -1, -1)]
    # The replay decides with decide_week, the plain path with decide_alerts: same firings.
    pd.testing.assert_frame_equal(replayed.alerts, plain.alerts)
    fired, delivered = replayed.replayed["fired"], replayed.replayed["delivered"]
    keys = ["account_id", "as_of", "rule"]
    assert set(map(tuple, delivered[keys].to_numpy())) <= set(map(tuple, fired[keys].to_numpy()))
    assert len(delivered) < len(fired)  # cooldown and the cap hold some back
    summary = summarize(replayed, model)
    table = summary.alert_quality.set_index(["mode", "rule"])
    assert summary.replayed_weeks == 4
    both = (
        table.loc[("fired", ALL_HEALTH), "alerts"],
        table.loc[("delivered", ALL_HEALTH), "alerts"],
    )
    assert both[0] >= both[1] > 0
    assert not plain.replayed and summarize(plain, model).alert_quality.empty
    text = backtest_text(summary, "demo-model.yml")
    assert "Alert quality:" in text and "The last 4 week(s) replayed" in text
    assert "delivered  all health alerts" in text
    assert summary.to_dict()["alert_quality_weeks"] == 4


def test_held_out_portfolio_has_the_promised_shape() -> None:
    held = held_out_portfolio(accounts=600, measured_weeks=8, warm_up_weeks=14, seed=5)
    assert 0.02 < len(held.slide_start) / 600 < 0.09
    per_owner = held.accounts["owner_email"].value_counts()
    assert per_owner.min() >= 140 and per_owner.max() <= 160
    usage = held.signals[held.signals["signal"] == "active_users"]
    weekly = usage.groupby(pd.to_datetime(usage["date"]).dt.to_period("W"))["value"].mean()
    holiday = weekly[pd.Period(held.holiday, "W")]
    assert holiday < 0.8 * weekly.drop(pd.Period(held.holiday, "W")).median()
    starts = pd.to_datetime(held.slide_start)
    assert (starts >= pd.Timestamp(held.as_ofs[0]) - pd.Timedelta(days=7)).all()
    assert (starts + pd.Timedelta(days=21) <= pd.Timestamp(held.as_ofs[-1])).all()


def test_alert_quality_benchmark_runs_on_a_tiny_portfolio(capsys) -> None:
    assert bench_alert_quality.main(["--accounts", "300", "--weeks", "8"]) == 0
    out = capsys.readouterr().out
    assert out.count("stable accounts alerted over 8 weeks") == 2
    runs = [line for line in out.splitlines() if line.startswith("demo run ")]
    assert len(runs) == 2 and all("scored" in r for r in runs)
