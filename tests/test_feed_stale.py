"""A regular feed that stopped while the account's other data still arrives is a data notice,
never a health alert (scoring/decisions/feed_stale.py): its score moves because a window holds
fewer, older days, not because the customer changed."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from scoring.decisions.feed_stale import STOPPED_COLUMNS, stopped_feed_reasons, stopped_feeds
from scoring.decisions.freshness import metric_freshness
from scoring.validation.replay import alert_spans
from scoring.validation.week_freshness import week_freshness
from scoring.validation.windows import SignalWindows
from tests.test_alerts import AS_OF, decide, metric, model, one, rules

METRICS = {
    "product_usage": metric("active_users", "mean", 30, label="Product usage"),
    "support_tickets": metric(
        "tickets", "sum", 90, scale={"worst": 12, "best": 0}, fill=0, label="Tickets"
    ),
    "payments": metric("overdue", "max", 90, scale={"worst": 3, "best": 0}, label="Payments"),
    "nps": metric("nps", "last", 180, label="NPS"),
}


def daily(account: str, signal: str, first: date, last: date, every: int = 1) -> list[tuple]:
    """One value every `every` days, the last one on `last`."""
    count = (last - first).days // every + 1
    return [
        (account, signal, pd.Timestamp(last - timedelta(days=k * every)), 1.0) for k in range(count)
    ]


def signal_rows(*parts: list[tuple]) -> pd.DataFrame:
    rows = [r for part in parts for r in part]
    return pd.DataFrame(rows, columns=["account_id", "signal", "date", "value"])


def freshness_of(frame: pd.DataFrame, stale_days: int | None = 14) -> pd.DataFrame:
    m = model(METRICS, stale_days=stale_days)
    return stopped_feeds(m, metric_freshness(m, frame, AS_OF))


START = AS_OF - timedelta(days=120)


def test_a_daily_feed_silent_for_stale_days_while_billing_arrives_has_stopped():
    stopped_on = AS_OF - timedelta(days=20)
    rows = signal_rows(
        daily("a", "active_users", START, stopped_on),
        daily("a", "overdue", START, AS_OF, every=7),
        daily("b", "active_users", START, AS_OF),
        daily("b", "overdue", START, AS_OF, every=7),
    )
    got = freshness_of(rows)
    assert got[["account_id", "metric"]].values.tolist() == [["a", "product_usage"]]
    assert int(got["age_days"].iloc[0]) == 20
    assert float(got["cadence_days"].iloc[0]) == 1.0


def test_a_feed_silent_for_less_than_stale_days_has_not_stopped():
    rows = signal_rows(daily("a", "active_users", START, AS_OF - timedelta(days=13)))
    assert freshness_of(rows).empty


def test_sparse_signals_and_signals_with_a_fill_never_count_as_stopped():
    # NPS every 60 days, last one 50 days ago: old, but it never comes more often than that.
    # Tickets: no rows means no tickets (fill: 0), so silence says nothing about the feed.
    rows = signal_rows(
        daily("a", "nps", START, AS_OF - timedelta(days=50), every=60),
        daily("a", "tickets", START, AS_OF - timedelta(days=60), every=2),
    )
    assert freshness_of(rows).empty


def test_a_weekly_feed_counts_when_it_missed_two_weeks():
    rows = signal_rows(daily("a", "overdue", START, AS_OF - timedelta(days=21), every=7))
    got = freshness_of(rows)
    assert got["metric"].tolist() == ["payments"]


def test_a_metric_without_weight_anywhere_is_not_watched():
    metrics = {**METRICS, "product_usage": {**METRICS["product_usage"], "weight": 0}}
    m = model(metrics, stale_days=14)
    rows = signal_rows(daily("a", "active_users", START, AS_OF - timedelta(days=30)))
    assert stopped_feeds(m, metric_freshness(m, rows, AS_OF)).empty


def test_nothing_stops_without_stale_days():
    rows = signal_rows(daily("a", "active_users", START, AS_OF - timedelta(days=30)))
    assert freshness_of(rows, stale_days=None).empty


def test_the_reason_names_each_stopped_feed_with_its_date_age_and_cadence():
    rows = signal_rows(
        daily("a", "active_users", START, AS_OF - timedelta(days=27)),
        daily("a", "overdue", START, AS_OF - timedelta(days=21), every=7),
    )
    m = model(METRICS, stale_days=14)
    reasons = stopped_feed_reasons(m, stopped_feeds(m, metric_freshness(m, rows, AS_OF)))
    first = (AS_OF - timedelta(days=21)).isoformat()
    assert reasons["a"] == (
        f"Payments: no data since {first} (21 days; it usually comes every 7 days); "
        f"Product usage: no data since {(AS_OF - timedelta(days=27)).isoformat()} "
        "(27 days; it usually comes every day)"
    )


def stopped_frame(account: str, days: int = 27) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": [account],
            "metric": ["product_usage"],
            "latest": [pd.Timestamp(AS_OF - timedelta(days=days))],
            "cadence_days": [1.0],
            "age_days": [days],
        }
    )


def test_an_account_with_a_stopped_feed_gets_the_notice_instead_of_health_alerts():
    m = model(METRICS, score_drop=10, band_downgrade=True, stale_days=14)
    last = pd.Series(pd.to_datetime([AS_OF, AS_OF]), index=["a", "b"])
    alerts = decide(
        m, {"a": 40, "b": 40}, {"a": 90, "b": 90}, last_signal=last, stopped=stopped_frame("a")
    )
    assert rules(alerts, "a") == ["stale"]
    row = one(alerts, "stale", "a")
    assert row.severity == "data"
    assert row.reason.startswith("Product usage: no data since")
    assert rules(alerts, "b") == ["score_drop", "band_downgrade"]


def test_an_account_whose_data_stopped_altogether_gets_one_notice_not_two():
    m = model(METRICS, score_drop=10, stale_days=14)
    last = pd.Series([pd.Timestamp(AS_OF - timedelta(days=27))], index=["a"])
    alerts = decide(m, {"a": 40}, {"a": 90}, last_signal=last, stopped=stopped_frame("a"))
    assert rules(alerts) == ["stale"]
    assert one(alerts, "stale").reason == "No data for 27 days"
    assert np.isclose(one(alerts, "stale").score_shown, 40)


def test_a_replayed_week_finds_exactly_the_stopped_feeds_a_full_freshness_pass_finds():
    """week_freshness judges only suspect accounts; the answer must be the full pass's for
    every account the notice can reach (one with other data within stale_days: an account
    with none gets the account-level notice instead), also when a suspect has a single date
    (its cadence is then its signal's median over all accounts)."""
    rng = np.random.default_rng(3)
    metrics = {**METRICS, "logins": metric("logins", "count", 10, label="Logins")}
    parts = []
    for i in range(60):
        account = f"acc-{i:02d}"
        parts.append(daily(account, "active_users", START, AS_OF - timedelta(days=i % 20)))
        # Logins that keep coming come every 5 days, the ones that stop every 2: the usual
        # cadence over all accounts (5) is not the one over the suspects alone (2).
        stop = AS_OF - timedelta(days=0 if i < 45 else [10, 15, 20, 40][i % 4])
        parts.append(daily(account, "logins", START, stop, every=5 if i < 45 else 2))
        # Billing stops for a few accounts too (a weekly feed missing two weeks).
        billed = AS_OF - timedelta(days=int(rng.integers(15, 25)) if i % 9 == 0 else i % 7)
        parts.append(daily(account, "overdue", START, billed, every=7))
        parts.append(daily(account, "tickets", START, AS_OF, every=int(rng.integers(3, 30))))
    # One login 18 days ago: its cadence is the usual 5 days, which with a 10-day window
    # makes one value a feed that stopped.
    parts.append([("acc-lone", "logins", pd.Timestamp(AS_OF - timedelta(days=18)), 1.0)])
    parts.append(daily("acc-lone", "overdue", START, AS_OF, every=7))
    frame = signal_rows(*parts)
    ids = pd.Index(sorted(frame["account_id"].unique()))
    # The metric-drop rule reads 8 weeks more, so a feed silent past its window is still seen.
    m = model(metrics, stale_days=14, metric_drop={"percent": 30})
    span = alert_spans(m)
    windows = SignalWindows(frame, ids, "long")
    for as_of in (AS_OF, AS_OF - timedelta(days=7)):
        full = stopped_feeds(m, metric_freshness(m, windows.upto(as_of, span), as_of))
        dated = frame[frame["date"] <= pd.Timestamp(as_of)]
        last = dated.groupby("account_id")["date"].max()
        fresh = last[last > pd.Timestamp(as_of - timedelta(days=14))].index
        full = full[full["account_id"].isin(fresh)]
        fast = stopped_feeds(m, week_freshness(m, windows, as_of, span))
        key = ["account_id", "metric"]
        if as_of == AS_OF:
            assert set(full["metric"]) == {"product_usage", "payments", "logins"}
            assert "acc-lone" in set(full["account_id"])
        assert len(full) > 0
        pd.testing.assert_frame_equal(
            fast.sort_values(key, ignore_index=True)[STOPPED_COLUMNS],
            full.sort_values(key, ignore_index=True)[STOPPED_COLUMNS],
            check_dtype=False,
        )


def test_two_survey_answers_a_few_days_apart_are_not_a_feed_that_stopped():
    rows = signal_rows(
        [("a", "nps", pd.Timestamp(AS_OF - timedelta(days=d)), 8.0) for d in (40, 35, 31)],
        daily("a", "overdue", START, AS_OF, every=7),
    )
    m = model(METRICS, stale_days=14)
    fresh = metric_freshness(m, rows, AS_OF).set_index("metric")
    assert fresh.loc["nps", "cadence_days"] <= 7 and fresh.loc["nps", "age_days"] >= 14
    assert stopped_feeds(m, fresh.reset_index()).empty


def test_a_stopped_feed_silences_the_score_and_its_own_drops_but_not_other_news():
    m = model(
        METRICS,
        score_drop=10,
        band_downgrade=True,
        stale_days=14,
        metric_drop={"percent": 10},
        champion_left={},
    )
    drops = pd.DataFrame(
        {
            "account_id": ["a", "a"],
            "metric": ["product_usage", "support_tickets"],
            "usual": [60.0, 1.0],
            "raw": [20.0, 6.0],
            "change_percent": [-66.7, 500.0],
            "segment_percent": [0.0, 0.0],
        }
    )
    champion = pd.DataFrame({"account_id": ["a"], "current": [0.0], "previous": [1.0]})
    last = pd.Series([pd.Timestamp(AS_OF)], index=["a"])
    alerts = decide(
        m,
        {"a": 40},
        {"a": 90},
        last_signal=last,
        stopped=stopped_frame("a"),
        metric_drop_frame=drops,
        champion=champion,
    )
    assert rules(alerts) == ["metric_drop", "champion_left", "stale"]
    reason = one(alerts, "metric_drop").reason
    assert "Tickets" in reason and "Product usage" not in reason
