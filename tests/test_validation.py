"""Backtest: the measures on hand-made cases, then re-scoring generated history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.config import load_model, parse_model
from scoring.decisions.alerts import decide_alerts
from scoring.decisions.history import compare
from scoring.decisions.metric_drop import metric_drops
from scoring.engine.score import score_accounts
from scoring.errors import HealthbotError
from scoring.periods import weekly_as_ofs
from scoring.sample import Portfolio, generate_portfolio
from scoring.validation.backtest import (
    Backtest,
    default_range,
    run_backtest,
    segment_mask,
)
from scoring.validation.metrics import auc, is_monotone, lift, lowest_share_rate, roc_points
from scoring.validation.period_alerts import metric_drop_rows
from scoring.validation.summary import alert_table, calibration_table, summarize

END = dt.date(2026, 6, 28)
DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"


def brute_auc(score: np.ndarray, churned: np.ndarray) -> float:
    """P(churner < stayer) + 1/2 P(tie), by comparing every pair (the definition)."""
    a, b = score[churned][:, None], score[~churned][None, :]
    return float(((a < b) + 0.5 * (a == b)).mean())


def test_auc_perfect_inverse_and_ties() -> None:
    churned = np.array([True, True, False, False, False])
    assert auc(np.array([10, 20, 30, 40, 50]), churned) == 1.0
    assert auc(np.array([50, 40, 30, 20, 10]), churned) == 0.0
    assert auc(np.full(5, 42.0), churned) == 0.5
    # One tie between a churner and a stayer: (1 + 1 + 0.5 + 1) / 4.
    assert auc(np.array([10, 20, 20, 30]), np.array([True, True, False, False])) == 0.875
    assert np.isnan(auc(np.array([1.0, 2.0]), np.array([False, False])))
    assert auc(np.array([np.nan, 10, 20]), np.array([False, True, False])) == 1.0


def test_auc_matches_every_pair_on_random_data_with_ties() -> None:
    rng = np.random.default_rng(0)
    score = rng.integers(0, 20, 400).astype(float)
    churned = rng.random(400) < 0.2 + 0.02 * (20 - score)
    assert auc(score, churned) == pytest.approx(brute_auc(score, churned), abs=1e-12)
    fpr, tpr = roc_points(score, churned)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(auc(score, churned), abs=1e-12)


def test_lift_of_the_lowest_decile_counts_ties_fractionally() -> None:
    score = np.arange(10, dtype=float)
    churned = np.array([True, False, False, False, False, False, False, False, False, True])
    result = lift(score, churned)
    assert (result["rate"], result["base_rate"], result["lift"]) == (1.0, 0.2, 5.0)
    # Two accounts tie on the lowest score, one churned: half a place each, rate 0.5.
    tied = np.array([1.0, 1.0, *range(2, 10)])
    assert lowest_share_rate(tied, np.array([True, False, *[False] * 8])) == 0.5
    assert lift(np.full(10, 5.0), churned)["lift"] == pytest.approx(1.0)


def test_monotone_skips_empty_bands() -> None:
    assert is_monotone(np.array([0.01, 0.05, 0.3]))
    assert is_monotone(np.array([0.01, np.nan, 0.3]))
    assert not is_monotone(np.array([0.1, 0.05, 0.3]))


def test_calibration_buckets() -> None:
    score = np.array([5.0, 15.0, 15.0, 19.9, 95.0, 100.0])
    churned = np.array([True, True, False, False, False, False])
    table = calibration_table(score, churned).set_index("bucket")
    assert table.loc["0-10", ["rows", "churned"]].tolist() == [1, 1]
    assert table.loc["10-20", ["rows", "churned"]].tolist() == [3, 1]
    assert table.loc["10-20", "churn_rate"] == pytest.approx(1 / 3)
    assert table.loc["90-100", "rows"] == 2  # a perfect 100 belongs to the top bucket
    assert table["rows"].sum() == 6 and np.isnan(table.loc["50-60", "churn_rate"])


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return generate_portfolio(seed=7, accounts=200, weeks=26, end=END)


@pytest.fixture(scope="module")
def model():
    return load_model(DEMO_MODEL)


@pytest.fixture(scope="module")
def history(portfolio: Portfolio, model) -> Backtest:
    first, last = portfolio.signals["date"].min().date(), END
    start, end = default_range(model, first, last, last, 90)
    as_ofs = weekly_as_ofs(start, end)
    return run_backtest(model, portfolio.accounts, portfolio.signals, portfolio.outcomes, as_ofs)


def test_many_periods_predict_churn_on_generated_history(history: Backtest, model) -> None:
    assert len(history.as_ofs) >= 8
    assert history.rows["as_of"].nunique() == len(history.as_ofs)
    summary = summarize(history, model)
    assert 0.75 <= summary.auc <= 0.97
    assert summary.lift["lift"] > 3
    assert summary.monotone
    bands = summary.bands.set_index("band")
    assert bands.loc["critical", "churn_rate"] > bands.loc["healthy", "churn_rate"]
    assert bands["rows"].sum() == len(history.rows)
    assert summary.calibration["rows"].sum() == summary.overview["scored"]
    assert summary.overview["censored"] == 0  # the default range ends a horizon before the data


def test_single_period(portfolio: Portfolio, model) -> None:
    as_of = END - dt.timedelta(days=91)
    one = run_backtest(model, portfolio.accounts, portfolio.signals, portfolio.outcomes, [as_of])
    assert one.as_ofs == [as_of] and one.rows["as_of"].nunique() == 1
    scores = score_accounts(model, portfolio.accounts, portfolio.signals, as_of)
    assert len(one.rows) == len(scores.accounts)
    summary = summarize(one, model)
    assert summary.overview["periods"] == 1 and 0.6 < summary.auc <= 1.0


def test_signals_after_the_as_of_date_are_never_used(portfolio: Portfolio, model) -> None:
    as_of = END - dt.timedelta(days=100)
    target = portfolio.accounts["account_id"].iloc[0]
    future = pd.DataFrame(
        {
            "account_id": [target, target],
            "date": pd.to_datetime([as_of + dt.timedelta(days=1)] * 2),
            "signal": ["active_users", "features_used"],
            "value": [0.0, 0.0],
        }
    )
    planted = pd.concat([portfolio.signals, future], ignore_index=True)
    # The planted rows would change the score of anyone scoring a day later ...
    later = as_of + dt.timedelta(days=1)
    with_rows = score_accounts(model, portfolio.accounts, planted, later).accounts
    without = score_accounts(model, portfolio.accounts, portfolio.signals, later).accounts
    pick = lambda f: f.set_index("account_id").loc[target, "score"]  # noqa: E731
    assert pick(with_rows) != pytest.approx(pick(without))
    # ... but not the backtest as of the day before them.
    clean = run_backtest(model, portfolio.accounts, portfolio.signals, portfolio.outcomes, [as_of])
    dirty = run_backtest(model, portfolio.accounts, planted, portfolio.outcomes, [as_of])
    pd.testing.assert_frame_equal(clean.rows, dirty.rows)
    pd.testing.assert_frame_equal(clean.metric_scores, dirty.metric_scores)


def test_labels_first_churn_within_the_horizon_and_censoring() -> None:
    model = parse_model(
        "metrics:\n  usage: {signal: u, aggregate: last, window_days: 30,"
        " scale: {worst: 0, best: 10}, weight: 1}\n"
    )
    as_of = dt.date(2026, 3, 1)
    ids = ["soon", "late", "never", "gone"]
    accounts = pd.DataFrame({"account_id": ids, "churned_on": [pd.NaT] * 3 + ["2026-02-01"]})
    signals = pd.DataFrame(
        {"account_id": ids, "date": pd.Timestamp("2026-02-25"), "signal": "u", "value": 5.0}
    )
    outcomes = pd.DataFrame(
        {
            "account_id": ["soon", "late", "never"],
            "date": pd.to_datetime(["2026-03-31", "2026-09-01", "2026-04-01"]),
            "outcome": ["churned", "churned", "renewed"],
        }
    )
    result = run_backtest(model, accounts, signals, outcomes, [as_of], 90, observed_until=END)
    rows = result.rows.set_index("account_id")
    assert "gone" not in rows.index  # churned before the as-of date: not scored
    assert rows["churned"].to_dict() == {"soon": True, "late": False, "never": False}
    cut = run_backtest(model, accounts, signals, outcomes, [as_of], 90, observed_until=as_of)
    assert cut.rows.set_index("account_id")["censored"].to_dict() == {
        "soon": False,
        "late": True,
        "never": True,
    }


def test_per_segment(history: Backtest, model) -> None:
    smb = history.subset(segment_mask(history, model, "smb"))
    assert set(smb.rows["segment"]) == {"SMB"} and len(smb.metric_scores) == len(smb.rows)
    assert set(smb.alerts["account_id"]) <= set(smb.rows["account_id"])
    enterprise = segment_mask(history, model, "enterprise")  # the model segment's rule
    assert set(history.rows.loc[enterprise, "segment"]) == {"Enterprise"}
    assert summarize(smb, model, "SMB").overview["segment"] == "SMB"
    table = summarize(history, model).segments
    assert table["segment"].tolist() == ["Enterprise", "Mid-Market", "SMB"]
    assert table["rows"].sum() == summarize(history, model).overview["scored"]
    with pytest.raises(HealthbotError, match="no scored account is in segment 'Gold'"):
        segment_mask(history, model, "Gold")


def test_per_metric_auc_flags_a_metric_pointing_the_wrong_way(portfolio: Portfolio) -> None:
    rng = np.random.default_rng(3)
    sig = portfolio.signals
    weekly = sig[(sig["signal"] == "active_users") & (sig["date"].dt.day_of_week == 0)]
    coin = weekly.assign(signal="coin", value=rng.random(len(weekly)))
    model = parse_model(
        "metrics:\n"
        "  usage: {signal: active_users, window_days: 30, scale: {worst: 10, best: 70},"
        " weight: 1}\n"
        "  backwards: {signal: active_users, window_days: 30, scale: {worst: 70, best: 10},"
        " weight: 1}\n"
        "  coin: {signal: coin, aggregate: last, window_days: 30, scale: {worst: 0, best: 1},"
        " weight: 1}\n"
    )
    as_ofs = weekly_as_ofs(END - dt.timedelta(days=150), END - dt.timedelta(days=91))
    signals = pd.concat([sig, coin], ignore_index=True)
    result = run_backtest(model, portfolio.accounts, signals, portfolio.outcomes, as_ofs)
    table = summarize(result, model).metrics.set_index("metric")
    assert table.loc["usage", "verdict"] == "informative"
    assert table.loc["backwards", "verdict"] == "wrong_way"
    assert table.loc["usage", "auc"] + table.loc["backwards", "auc"] == pytest.approx(1.0)
    assert table.loc["coin", "verdict"] == "noise"


def test_alert_precision_and_recall_on_a_hand_made_backtest() -> None:
    day1, day2 = pd.Timestamp("2026-01-04"), pd.Timestamp("2026-01-11")
    rows = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "a", "b", "c"],
            "as_of": [day1, day1, day1, day2, day2, day2],
            "churned": [True, False, True, True, False, True],
        }
    )
    alerts = pd.DataFrame(
        {
            "account_id": ["a", "b", "b", "a"],
            "as_of": [day1, day1, day2, day1],
            "rule": ["score_drop", "score_drop", "score_drop", "renewal"],
            "severity": "high",
        }
    )
    backtest = Backtest(rows, pd.DataFrame(index=rows.index), alerts, [], 90, END)
    table = alert_table(backtest).set_index("rule")
    assert table.loc["score_drop", ["fired", "followed_by_churn"]].tolist() == [3, 1]
    assert table.loc["score_drop", "precision"] == pytest.approx(1 / 3)
    assert table.loc["score_drop", "recall"] == pytest.approx(1 / 2)  # caught a, not c
    assert table.loc["renewal", "precision"] == 1.0
    # Any health alert counts an account-period once however many rules fired.
    assert table.loc["any health alert", ["fired", "followed_by_churn"]].tolist() == [3, 1]


def test_metric_drop_shortcut_matches_decide_alerts(portfolio: Portfolio, model) -> None:
    as_of = END - dt.timedelta(days=7)
    scores = score_accounts(model, portfolio.accounts, portfolio.signals, as_of).accounts
    cols = ["account_id", "score_shown", "band", "band_rank"]
    comparison = compare(scores[cols], scores.iloc[:0][cols])
    drops = metric_drops(model, scores["account_id"], portfolio.signals, as_of)
    assert len(drops), "the generated data has metric drops to compare"
    empty = pd.DataFrame(columns=["account_id", "metric", "delta_points"])
    full = decide_alerts(model, as_of, scores, comparison, empty, portfolio.accounts, drops)
    none = decide_alerts(model, as_of, scores, comparison, empty, portfolio.accounts, None)
    expected = set(full.loc[full["rule"] == "metric_drop", "account_id"])
    assert set(metric_drop_rows(scores, drops, none, comparison, model)["account_id"]) == expected


def test_wide_signals_give_the_same_backtest(portfolio: Portfolio, model) -> None:
    as_ofs = [END - dt.timedelta(days=120), END - dt.timedelta(days=113)]
    long = run_backtest(model, portfolio.accounts, portfolio.signals, portfolio.outcomes, as_ofs)
    wide = portfolio.signals.pivot_table(
        index=["account_id", "date"], columns="signal", values="value"
    ).reset_index()
    wide.columns.name = None
    result = run_backtest(
        model, portfolio.accounts, wide, portfolio.outcomes, as_ofs, layout="wide"
    )
    pd.testing.assert_frame_equal(long.rows, result.rows)
    pd.testing.assert_frame_equal(long.metric_scores, result.metric_scores)
    pd.testing.assert_frame_equal(long.alerts, result.alerts)


def test_manual_csm_signals_are_backtested_like_any_metric() -> None:
    """Issue 9's CSM inputs are signals with a `valid_until`: an expired entry is not used, and
    the per-metric table says how well the CSMs' sentiment predicted churn."""
    model = parse_model(
        "metrics:\n"
        "  usage: {signal: u, aggregate: last, window_days: 30, scale: {worst: 0, best: 10},"
        " weight: 3}\n"
        "  sentiment: {signal: csm_sentiment, aggregate: last, window_days: 90,"
        " scale: {worst: 1, best: 5}, weight: 1}\n"
    )
    as_of = dt.date(2026, 3, 1)
    ids = ["a", "b", "c", "d", "e"]
    usage = pd.DataFrame({"account_id": ids, "date": pd.Timestamp("2026-02-27"), "signal": "u"})
    usage = usage.assign(value=[5.0, 6.0, 4.0, 5.0, 7.0], valid_until=pd.NaT)
    manual = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "date": pd.Timestamp("2026-02-01"),
            "signal": "csm_sentiment",
            "value": [1.0, 5.0, 2.0, 1.0],
            "valid_until": pd.to_datetime(["2026-04-01", "2026-04-01", "2026-04-01", "2026-02-15"]),
        }
    )
    outcomes = pd.DataFrame(
        {"account_id": ["a", "c", "d"], "date": pd.Timestamp("2026-04-01"), "outcome": "churned"}
    )
    signals = pd.concat([usage, manual], ignore_index=True)
    result = run_backtest(model, pd.DataFrame({"account_id": ids}), signals, outcomes, [as_of])
    sentiment = result.metric_scores["sentiment"].to_numpy()
    assert np.isnan(sentiment[3])  # d's entry expired on 2026-02-15
    table = summarize(result, model).metrics.set_index("metric")
    assert table.loc["sentiment", "rows_with_data"] == 3
    assert table.loc["sentiment", "auc"] == 1.0  # the CSMs' 1s and 2s churned, the 5 did not


def test_metric_drop_shortcut_matches_decide_alerts_with_stopped_feeds(
    portfolio: Portfolio, model
) -> None:
    """A stopped feed drops only that metric's drop (scoring/decisions/feed_stale.py); the
    backtest's shortcut must agree with the weekly rules."""
    alerts = model.alerts.model_copy(update={"stale_days": 14})
    m = model.model_copy(update={"alerts": alerts})
    as_of = END - dt.timedelta(days=7)
    scores = score_accounts(m, portfolio.accounts, portfolio.signals, as_of).accounts
    cols = ["account_id", "score_shown", "band", "band_rank"]
    comparison = compare(scores[cols], scores.iloc[:0][cols])
    drops = metric_drops(m, scores["account_id"], portfolio.signals, as_of)
    several = drops[drops["account_id"].duplicated(keep=False)]
    assert len(several), "an account drops in two metrics: one stops, the other still alerts"
    stopped = several.head(1)[["account_id", "metric"]].assign(
        latest=pd.Timestamp(as_of - dt.timedelta(days=20)), cadence_days=1.0, age_days=20
    )
    last = pd.Series(pd.Timestamp(as_of), index=scores["account_id"].astype(str))
    empty = pd.DataFrame(columns=["account_id", "metric", "delta_points"])
    accounts = portfolio.accounts
    full = decide_alerts(
        m, as_of, scores, comparison, empty, accounts, drops, last, stopped=stopped
    )
    none = decide_alerts(m, as_of, scores, comparison, empty, accounts, None, last, stopped=stopped)
    expected = set(full.loc[full["rule"] == "metric_drop", "account_id"])
    got = metric_drop_rows(scores, drops, none, comparison, m, stopped)
    assert set(got["account_id"]) == expected
    assert set(stopped["account_id"]) <= expected
    assert set(full.loc[full["rule"] == "stale", "account_id"]) == set(stopped["account_id"])
