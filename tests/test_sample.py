"""The demo portfolio and the benchmark data: reproducible, in the frame contract, and telling the
stories the demo relies on (alerts fire, churn is predictable, exports round-trip through the
model file's sources)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.data import WIDE_COLUMNS, benchmark_wide
from scoring.config import load_model
from scoring.frames import ACCOUNT_COLUMNS, SIGNAL_COLUMNS, wide_to_long
from scoring.sample import Portfolio, generate_portfolio, write_exports
from scoring.sample.catalog import SIGNALS

END = dt.date(2026, 11, 22)
DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return generate_portfolio(seed=7, end=END)


def weekly_usage(p: Portfolio, story: str | tuple[str, ...]) -> pd.DataFrame:
    """Mean active_users per account and week (week 0 = the final 7 days), for one storyline."""
    ids = p.storylines.index[p.storylines.isin([story] if isinstance(story, str) else story)]
    s = p.signals
    usage = s[(s["signal"] == "active_users") & s["account_id"].isin(ids)]
    week = (pd.Timestamp(END) - usage["date"]).dt.days // 7
    return usage.groupby([usage["account_id"], week])["value"].mean().unstack()


def test_same_seed_same_frames_and_other_seed_differs(portfolio: Portfolio) -> None:
    again = generate_portfolio(seed=7, end=END)
    pd.testing.assert_frame_equal(portfolio.accounts, again.accounts)
    pd.testing.assert_frame_equal(portfolio.signals, again.signals)
    pd.testing.assert_frame_equal(portfolio.outcomes, again.outcomes)
    pd.testing.assert_series_equal(portfolio.storylines, again.storylines)
    other = generate_portfolio(seed=8, end=END)
    assert not portfolio.accounts["name"].equals(other.accounts["name"])
    assert not portfolio.signals["value"].equals(other.signals["value"])


def test_generation_is_fast() -> None:
    started = time.perf_counter()
    generate_portfolio(seed=3, end=END)
    assert time.perf_counter() - started < 2.0


def test_accounts_follow_the_frame_contract(portfolio: Portfolio) -> None:
    acc = portfolio.accounts
    assert list(acc.columns[: len(ACCOUNT_COLUMNS)]) == ACCOUNT_COLUMNS
    assert len(acc) == 300 and acc["account_id"].is_unique and acc["name"].is_unique
    assert acc["account_id"].str.fullmatch(r"acc-\d{4}").all()
    assert acc["renewal_date"].dtype == "datetime64[ns]"
    assert acc["churned_on"].dtype == "datetime64[ns]"
    assert acc["arr"].dtype == "float64" and (acc["arr"] % 100 == 0).all()
    names = set(acc["name"])
    assert {"Acme Corp", "Northwind Logistics"} <= names
    assert any("&" in name for name in names)
    assert any("<" in name or "🚀" in name for name in names)
    assert acc["owner_email"].str.fullmatch(r"[a-z]+\.[a-z]+@example\.com").all()
    assert 8 <= acc["owner_email"].nunique() <= 10
    assert acc.groupby("owner_email")["segment"].nunique().min() >= 2
    share = acc["segment"].value_counts(normalize=True)
    assert 0.5 < share["SMB"] < 0.7 and 0.2 < share["Mid-Market"] < 0.4
    assert 0.04 < share["Enterprise"] < 0.16
    arr = acc.groupby("segment")["arr"].agg(["min", "max"])
    assert arr.loc["SMB", "min"] >= 5_000 and arr.loc["SMB", "max"] <= 30_000
    assert arr.loc["Mid-Market", "min"] >= 30_000 and arr.loc["Mid-Market", "max"] <= 150_000
    assert arr.loc["Enterprise", "min"] >= 150_000 and arr.loc["Enterprise", "max"] <= 1_200_000
    days_to_renewal = (acc["renewal_date"] - pd.Timestamp(END)).dt.days
    assert days_to_renewal.between(-366, 366).all()
    assert (days_to_renewal < 0).any() and (days_to_renewal > 180).any()
    churned = acc["status"] == "churned"
    assert set(acc["status"]) == {"active", "churned"}
    assert acc["churned_on"].notna().equals(churned)


def test_signals_follow_the_frame_contract(portfolio: Portfolio) -> None:
    s = portfolio.signals
    assert list(s.columns) == SIGNAL_COLUMNS
    assert s["date"].dtype == "datetime64[ns]" and s["value"].dtype == "float64"
    assert (s["date"] == s["date"].dt.normalize()).all()
    assert set(s["signal"]) == set(SIGNALS)
    assert s["date"].min() == pd.Timestamp(END) - pd.Timedelta(days=26 * 7 - 1)
    assert s["date"].max() == pd.Timestamp(END)
    assert not s.duplicated(["account_id", "date", "signal"]).any()
    assert set(s["account_id"]) <= set(portfolio.accounts["account_id"])
    by = {name: g["value"] for name, g in s.groupby("signal")}
    assert by["active_users"].between(0, 100).all()
    assert by["features_used"].between(0, 12).all()
    assert by["nps"].between(0, 10).all() and by["invoices_overdue"].between(0, 3).all()
    assert (by["tickets_opened"] >= 1).all()
    for name in ("features_used", "tickets_opened", "invoices_overdue", "nps"):
        assert (by[name] % 1 == 0).all(), name
    billing_days = s.loc[s["signal"] == "invoices_overdue", "date"].dt.day_of_week
    assert set(billing_days) == {0}
    stable = portfolio.storylines.index[portfolio.storylines == "stable"]
    daily = s[(s["signal"] == "active_users") & s["account_id"].isin(stable)]
    assert (daily.groupby("account_id").size() == 26 * 7).all()
    weekend = daily["date"].dt.day_of_week >= 5
    assert daily.loc[weekend, "value"].mean() < 0.5 * daily.loc[~weekend, "value"].mean()
    answered = s.loc[s["signal"] == "nps"].groupby("account_id").size()
    assert answered.max() <= 4 and len(answered) < len(portfolio.accounts)


def test_storyline_shares(portfolio: Portfolio) -> None:
    share = portfolio.storylines.value_counts(normalize=True)
    assert share["stable"] == pytest.approx(0.71, abs=0.02)
    assert share["sliding"] + share["cliff"] == pytest.approx(0.12, abs=0.01)
    assert share["cliff"] == pytest.approx(0.04, abs=0.01)
    assert share["expanding"] == pytest.approx(0.08, abs=0.01)
    assert share["no_feedback"] + share["stale"] == pytest.approx(0.04, abs=0.01)
    assert share["churned"] == pytest.approx(0.05, abs=0.01)
    named = dict(zip(portfolio.accounts["name"], portfolio.accounts["account_id"], strict=True))
    assert portfolio.storylines[named["Northwind Logistics"]] == "cliff"
    assert portfolio.storylines[named["Acme Corp"]] == "stable"


def test_sliding_accounts_decline_and_cliffs_drop_in_the_last_week(portfolio: Portfolio) -> None:
    sliding = weekly_usage(portfolio, ("sliding", "cliff"))
    assert len(sliding) == 36
    early = sliding.loc[:, 12:].mean(axis=1)  # three months and more before the end
    assert (sliding[0] < early).all()
    cliff = weekly_usage(portfolio, "cliff")
    assert (cliff[0] <= 0.8 * cliff[1]).all()
    gradual = weekly_usage(portfolio, "sliding")
    assert (gradual[0] > 0.8 * gradual[1]).mean() > 0.5  # a slide, not a cliff
    expanding = weekly_usage(portfolio, "expanding")
    assert (expanding.loc[:, :3].mean(axis=1) > expanding.loc[:, 22:].mean(axis=1)).all()


def test_churned_accounts_go_silent_and_have_a_churn_outcome(portfolio: Portfolio) -> None:
    acc = portfolio.accounts.set_index("account_id")
    churned = acc.index[acc["status"] == "churned"]
    assert set(churned) == set(portfolio.storylines.index[portfolio.storylines == "churned"])
    s = portfolio.signals.join(acc["churned_on"], on="account_id")
    assert not (s["date"] >= s["churned_on"]).any()
    assert s.loc[s["account_id"].isin(churned), "date"].min() < acc.loc[churned, "churned_on"].min()
    outcomes = portfolio.outcomes
    churn_rows = outcomes[outcomes["outcome"] == "churned"].set_index("account_id")["date"]
    pd.testing.assert_series_equal(
        churn_rows.sort_index(), acc.loc[churned, "churned_on"].sort_index(), check_names=False
    )
    assert set(outcomes["outcome"]) == {"churned", "renewed", "expanded", "downgraded"}
    renewals = outcomes[outcomes["outcome"] != "churned"].join(acc, on="account_id")
    assert (renewals["date"] == renewals["renewal_date"]).all()
    assert (renewals["date"] <= pd.Timestamp(END)).all()
    upcoming = acc[(acc["renewal_date"] > pd.Timestamp(END)) & (acc["status"] == "active")]
    assert not outcomes["account_id"].isin(upcoming.index).any()


def test_missing_sources(portfolio: Portfolio) -> None:
    s, story = portfolio.signals, portfolio.storylines
    quiet = s[s["account_id"].isin(story.index[story == "no_feedback"])]
    assert len(quiet) and not quiet["signal"].isin(["nps", "invoices_overdue"]).any()
    stale = s[s["account_id"].isin(story.index[story == "stale"])]
    last_usage = stale[stale["signal"] == "active_users"].groupby("account_id")["date"].max()
    assert len(last_usage) == 6
    assert (last_usage <= pd.Timestamp(END) - pd.Timedelta(days=21)).all()
    assert stale["signal"].eq("invoices_overdue").any()  # other sources keep sending


def test_low_usage_before_churn_predicts_it_but_not_perfectly(portfolio: Portfolio) -> None:
    """A crude backtest: mean usage over the 30 days before a cut-off vs churn within 90 days."""
    acc = portfolio.accounts.set_index("account_id")
    usage = portfolio.signals[portfolio.signals["signal"] == "active_users"]
    aucs = []
    for cut in pd.date_range(end=pd.Timestamp(END) - pd.Timedelta(days=7), periods=6, freq="14D"):
        window = usage[(usage["date"] <= cut) & (usage["date"] > cut - pd.Timedelta(days=30))]
        mean = window.groupby("account_id")["value"].mean()
        gone = acc["churned_on"].reindex(mean.index)
        mean = mean[~(gone <= cut)]
        churns = ((gone > cut) & (gone <= cut + pd.Timedelta(days=90))).reindex(mean.index)
        if churns.any():
            ranks = (-mean).rank().to_numpy()
            n1, n0 = churns.sum(), (~churns).sum()
            aucs.append((ranks[churns.to_numpy()].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    assert len(aucs) >= 3
    assert 0.65 < np.mean(aucs) < 0.99


def test_exports_round_trip_through_the_demo_model(portfolio: Portfolio, tmp_path: Path) -> None:
    shutil.copy(DEMO_MODEL, tmp_path / "healthbot.yml")
    write_exports(portfolio, tmp_path)
    model = load_model(tmp_path / "healthbot.yml")
    assert {m.signal for m in model.metrics.values()} == set(SIGNALS)
    for source in model.sources:
        assert (tmp_path / source.path).is_file(), source.path
    exports = tmp_path / "exports"

    accounts = pd.read_csv(exports / "accounts.csv")
    assert "csm_email" in accounts.columns and "owner_email" not in accounts.columns
    assert accounts["csm_email"].tolist() == portfolio.accounts["owner_email"].tolist()
    assert accounts["name"].tolist() == portfolio.accounts["name"].tolist()
    assert accounts["arr"].tolist() == portfolio.accounts["arr"].tolist()

    usage = pd.read_parquet(exports / "usage.parquet")
    assert list(usage.columns) == ["account_id", "date", "active_users", "features_used"]
    assert not usage.duplicated(["account_id", "date"]).any()
    assert usage[["active_users", "features_used"]].notna().any(axis=1).all()
    long = [wide_to_long(usage)]
    for name in ("tickets.csv", "billing.csv", "nps_responses.csv"):
        frame = pd.read_csv(exports / name, parse_dates=["date"])
        assert list(frame.columns) == SIGNAL_COLUMNS, name
        long.append(frame)
    nps = long[-1]
    assert nps.duplicated(["account_id", "date"]).sum() >= 3
    assert (nps["value"] % 1 == 0).all()
    combined = (
        pd.concat(long)
        .groupby(["account_id", "date", "signal"], as_index=False)["value"]
        .mean()
        .astype({"date": "datetime64[ns]", "value": "float64"})
    )
    expected = portfolio.signals.sort_values(["account_id", "date", "signal"])
    pd.testing.assert_frame_equal(
        combined.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )

    outcomes = pd.read_csv(exports / "outcomes.csv", parse_dates=["date"])
    assert len(outcomes) == len(portfolio.outcomes)
    assert set(outcomes["outcome"]) == set(portfolio.outcomes["outcome"])


def test_small_and_edge_sizes() -> None:
    tiny = generate_portfolio(seed=1, accounts=12, weeks=4, end=END)
    assert len(tiny.accounts) == 12 and tiny.accounts["name"].is_unique
    assert tiny.signals["date"].min() == pd.Timestamp(END) - pd.Timedelta(days=27)
    big = generate_portfolio(seed=1, accounts=1_500, weeks=8, end=END)
    assert big.accounts["name"].is_unique
    with pytest.raises(ValueError):
        generate_portfolio(accounts=0, end=END)


def test_default_end_is_yesterday() -> None:
    p = generate_portfolio(accounts=5, weeks=4)
    today = dt.date.today()  # after generating: a run across midnight makes yesterday 2 days ago
    assert p.end in (today - dt.timedelta(days=1), today - dt.timedelta(days=2))
    assert p.signals["date"].max() <= pd.Timestamp(p.end)


def test_benchmark_wide_at_small_size() -> None:
    accounts, wide = benchmark_wide(accounts=1_000, days=90)
    assert len(accounts) == 1_000 and list(accounts.columns) == ACCOUNT_COLUMNS
    assert accounts["account_id"].is_unique
    assert accounts["account_id"].iloc[[0, -1]].tolist() == ["a000001", "a001000"]
    assert list(wide.columns) == WIDE_COLUMNS and len(wide) == 90_000
    assert wide["date"].dtype == "datetime64[ns]"
    assert wide["date"].max() == pd.Timestamp(2026, 11, 21)
    assert wide.groupby("account_id").size().eq(90).all()
    values = wide.columns[2:]
    assert (wide[values].dtypes == "float64").all()
    present = wide[values].notna().mean()
    assert present["active_users"] == 1 and present["features_used"] == 1
    assert present["tickets_opened"] == pytest.approx(0.10, abs=0.02)
    assert present["nps"] == pytest.approx(0.02, abs=0.005)
    assert present["invoices_overdue"] == pytest.approx(1 / 7, abs=0.02)
    again = benchmark_wide(accounts=1_000, days=90)[1]
    pd.testing.assert_frame_equal(wide, again)
