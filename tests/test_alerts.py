"""Alert rules, reasons, metric drops and the cooldown/snooze filter, on tiny inline frames."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scoring.config import Model
from scoring.decisions.alert_cooldown import apply_cooldown
from scoring.decisions.alert_schema import ALERT_COLUMNS
from scoring.decisions.alert_words import driver_summary
from scoring.decisions.alerts import decide_alerts
from scoring.decisions.history import compare
from scoring.decisions.metric_drop import METRIC_DROP_COLUMNS, champion_values, metric_drops

AS_OF = date(2026, 11, 22)
NO_DRIVERS = pd.DataFrame({"account_id": [], "metric": [], "delta_points": []})
BANDS = [("healthy", 80), ("at_risk", 50), ("critical", 0)]


def metric(
    signal: str,
    aggregate: str = "mean",
    window_days: int = 7,
    scale: dict[str, Any] | None = None,
    **more: Any,
) -> dict[str, Any]:
    return {
        "signal": signal,
        "aggregate": aggregate,
        "window_days": window_days,
        "scale": scale or {"worst": 0, "best": 100},
        "weight": 1,
        **more,
    }


def model(metrics: dict[str, dict[str, Any]] | None = None, **alerts: Any) -> Model:
    metrics = metrics or {
        "product_usage": metric("active_users", label="Product usage"),
        "support_tickets": metric("tickets", "sum", scale={"worst": 12, "best": 0}),
        "nps": metric("nps", "last", label="Engagement (NPS)"),
    }
    return Model.model_validate({"metrics": metrics, "alerts": alerts})


def snapshot(scores: dict[str, float | None]) -> pd.DataFrame:
    """Engine-shaped account rows; None is an insufficient-data account."""
    rows = []
    for account, score in scores.items():
        if score is None:
            rows.append((account, np.nan, "insufficient_data", pd.NA, "insufficient_data"))
            continue
        rank = next(i for i, (_, low) in enumerate(BANDS) if score >= low)
        rows.append((account, float(score), BANDS[rank][0], rank, "scored"))
    frame = pd.DataFrame(rows, columns=["account_id", "score_shown", "band", "band_rank", "status"])
    return frame.assign(band_rank=frame["band_rank"].astype("Int64"))


def decide(
    m: Model,
    now: dict[str, float | None],
    before: dict[str, float | None],
    drivers: pd.DataFrame = NO_DRIVERS,
    accounts: pd.DataFrame | None = None,
    **more: Any,
) -> pd.DataFrame:
    current = snapshot(now)
    accounts = accounts if accounts is not None else pd.DataFrame({"account_id": list(now)})
    return decide_alerts(
        m, AS_OF, current, compare(current, snapshot(before)), drivers, accounts, **more
    )


def rules(alerts: pd.DataFrame, account: str = "a") -> list[str]:
    return alerts.loc[alerts["account_id"] == account, "rule"].tolist()


def one(alerts: pd.DataFrame, rule: str, account: str = "a") -> pd.Series:
    hits = alerts[(alerts["account_id"] == account) & (alerts["rule"] == rule)]
    assert len(hits) == 1, alerts
    return hits.iloc[0]


def renewing_in(days: int | None, account: str = "a") -> pd.DataFrame:
    when = pd.NaT if days is None else pd.Timestamp(AS_OF + timedelta(days=days))
    return pd.DataFrame({"account_id": [account], "renewal_date": [when]})


# --- score drop -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score_drop", "before", "now", "severity"),
    [
        (10, 75, 65, "high"),
        (10, 75, 65.1, None),
        (10, 75, 55.1, "high"),
        (10, 75, 55, "critical"),
        (0, 95, 10, None),
        (10, 60, 75, None),
    ],
    ids=[
        "exactly-score-drop-fires",
        "just-under",
        "under-double",
        "double-is-critical",
        "zero-is-off",
        "rise",
    ],
)
def test_score_drop_threshold(score_drop, before, now, severity):
    alerts = decide(model(score_drop=score_drop), {"a": now}, {"a": before})
    if severity is None:
        assert "score_drop" not in rules(alerts)
    else:
        assert one(alerts, "score_drop").severity == severity


def test_score_drop_reason_names_the_falling_drivers_by_label():
    drivers = pd.DataFrame(
        {
            "account_id": ["a"] * 4,
            "metric": ["product_usage", "nps", "support_tickets", "support_tickets"],
            "delta_points": [-11.4, 3.0, -4.6, -0.2],
        }
    )
    alerts = decide(model(score_drop=10), {"a": 64}, {"a": 81}, drivers)
    assert one(alerts, "score_drop").reason == (
        "Score 81 \u2192 64 (\u221217), mostly Product usage \u221211, Support tickets \u22125"
    )


def test_driver_summary_keeps_top_three_and_drops_moves_that_round_to_zero():
    drivers = pd.DataFrame(
        {
            "account_id": ["a"] * 4 + ["b"],
            "metric": ["nps", "product_usage", "support_tickets", "x", "nps"],
            "delta_points": [-2.5, -8.0, -1.0, -0.4, -0.49],
        }
    )
    text = driver_summary(model(), drivers)
    assert text["a"] == "Product usage \u22128, Engagement (NPS) \u22123, Support tickets \u22121"
    assert "b" not in text.index


def test_score_drop_reason_keeps_a_decimal_and_has_no_drivers_clause_without_drivers():
    alerts = decide(model(score_drop=5), {"a": 64}, {"a": 81.3})
    assert one(alerts, "score_drop").reason == "Score 81.3 \u2192 64 (\u221217.3)"


# --- band downgrade -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enabled", "before", "now", "severity"),
    [
        (True, 85, 77, "high"),
        (True, 85, 79, None),
        (True, 55, 45, "critical"),
        (True, 79, 51, None),
        (True, 45, 55, None),
        (False, 85, 20, None),
    ],
    # 85 → 79 is 1 point below the healthy minimum of 80: hysteresis (margin 3) holds it.
    ids=["healthy-to-at-risk", "within-margin", "into-lowest-band", "same-band", "upgrade", "off"],
)
def test_band_downgrade(enabled, before, now, severity):
    alerts = decide(model(band_downgrade=enabled), {"a": now}, {"a": before})
    if severity is None:
        assert "band_downgrade" not in rules(alerts)
    else:
        assert one(alerts, "band_downgrade").severity == severity


def test_band_downgrade_reason():
    alerts = decide(model(band_downgrade=True), {"a": 40}, {"a": 60})
    assert one(alerts, "band_downgrade").reason == "Band at risk \u2192 critical"


def test_alert_frame_columns_and_context():
    alerts = decide(
        model(score_drop=10, band_downgrade=True), {"a": 40, "b": 90}, {"a": 60, "b": 90}
    )
    assert list(alerts.columns) == ALERT_COLUMNS
    assert rules(alerts) == ["score_drop", "band_downgrade"] and rules(alerts, "b") == []
    row = one(alerts, "band_downgrade")
    assert (row.score_shown, row.previous_score, row.delta) == (40, 60, -20)
    assert (row.band, row.previous_band, row.band_rank) == ("critical", "at_risk", 2)


# --- renewal --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "days", "severity"),
    [
        (60, 45, "medium"),
        (60, 90, "medium"),
        (60, 0, "medium"),
        (30, 10, "high"),
        (85, 10, None),
        (60, 91, None),
        (60, -1, None),
        (60, None, None),
    ],
    ids=[
        "at-risk",
        "boundary-days",
        "today",
        "lowest-band",
        "top-band",
        "too-far",
        "past",
        "unknown-date",
    ],
)
def test_renewal_only_below_the_top_band(score, days, severity):
    alerts = decide(model(renewal_days=90), {"a": score}, {"a": score}, accounts=renewing_in(days))
    if severity is None:
        assert "renewal" not in rules(alerts)
    else:
        assert one(alerts, "renewal").severity == severity


@pytest.mark.parametrize(
    ("days", "reason"),
    [
        (45, "Renews in 45 days (2027-01-06) while at risk"),
        (1, "Renews in 1 day (2026-11-23) while at risk"),
        (0, "Renews today (2026-11-22) while at risk"),
    ],
    ids=["days", "one-day", "today"],
)
def test_renewal_reason(days, reason):
    alerts = decide(model(renewal_days=90), {"a": 60}, {"a": 60}, accounts=renewing_in(days))
    assert one(alerts, "renewal").reason == reason


# --- stale data and insufficient data -------------------------------------------------------


@pytest.mark.parametrize(
    ("ago", "reason"),
    [
        (21, "No data for 21 days"),
        (14, "No data for 14 days"),
        (13, None),
        (None, "No data received yet"),
    ],
    ids=["stale", "exactly-stale-days", "fresh", "never"],
)
def test_stale_is_a_data_problem(ago, reason):
    last = pd.Series(
        [pd.NaT if ago is None else pd.Timestamp(AS_OF - timedelta(days=ago))], index=["a"]
    )
    alerts = decide(model(stale_days=14), {"a": 70}, {"a": 70}, last_signal=last)
    if reason is None:
        assert alerts.empty
    else:
        row = one(alerts, "stale")
        assert (row.severity, row.reason) == ("data", reason)


def test_stale_account_gets_no_health_alerts_but_fresh_one_does():
    last = pd.DataFrame(
        {
            "account_id": ["a", "b"],
            "last_signal": pd.to_datetime([AS_OF - timedelta(days=30), AS_OF]),
        }
    )
    m = model(score_drop=10, band_downgrade=True, stale_days=14)
    alerts = decide(m, {"a": 40, "b": 40}, {"a": 90, "b": 90}, last_signal=last)
    assert rules(alerts, "a") == ["stale"]
    assert rules(alerts, "b") == ["score_drop", "band_downgrade"]


def test_insufficient_data_gets_only_data_problems():
    m = model(
        score_drop=10,
        band_downgrade=True,
        renewal_days=90,
        stale_days=14,
        metric_drop={"percent": 10},
        champion_left={},
    )
    drops = pd.DataFrame(
        {
            "account_id": ["a"],
            "metric": ["product_usage"],
            "usual": [30.0],
            "raw": [10.0],
            "change_percent": [-66.7],
            "segment_percent": [0.0],
        }
    )
    champion = pd.DataFrame({"account_id": ["a"], "current": [0.0], "previous": [1.0]})
    last = pd.Series([pd.Timestamp(AS_OF - timedelta(days=20))], index=["a"])
    alerts = decide(
        m,
        {"a": None},
        {"a": 90},
        accounts=renewing_in(10),
        metric_drop_frame=drops,
        champion=champion,
        last_signal=last,
    )
    assert rules(alerts) == ["stale"]
    assert np.isnan(one(alerts, "stale").score_shown)


# --- metric drop ----------------------------------------------------------------------------

DROP_METRICS = {
    "product_usage": metric("usage", label="Product usage"),
    "support_tickets": metric("tickets", "sum", scale={"worst": 12, "best": 0}),
    "momentum": metric("usage", "trend"),
    "tier": metric(
        "tier",
        "last",
        scale={"steps": [{"below": 2, "score": 0}, {"below": 5, "score": 50}, {"score": 100}]},
    ),
}


def signals(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """(account, signal, value in the earlier window, value in the current window)."""
    out = []
    for account, signal, before, now in rows:
        out.append((account, AS_OF - timedelta(days=13), signal, before))
        out.append((account, AS_OF - timedelta(days=3), signal, now))
    frame = pd.DataFrame(out, columns=["account_id", "date", "signal", "value"])
    return frame.assign(date=pd.to_datetime(frame["date"]))


def drops_for(rows: list[tuple[str, str, float, float]], percent: float = 40) -> pd.DataFrame:
    m = model(DROP_METRICS, metric_drop={"percent": percent})
    ids = sorted({r[0] for r in rows})
    return metric_drops(m, ids, signals(rows), AS_OF)


@pytest.mark.parametrize(
    ("signal", "before", "now", "metric", "change"),
    [
        ("usage", 30, 18, "product_usage", -40.0),
        ("usage", 30, 18.3, None, None),
        ("usage", 30, 50, None, None),
        ("tickets", 4, 6, "support_tickets", 50.0),
        ("tickets", 6, 3, None, None),
        ("tickets", 0, 5, "support_tickets", np.inf),
        ("tickets", 4, 5, None, None),
        ("tier", 6, 3, "tier", -50.0),
        ("tier", 4, 2.4, "tier", -40.0),
        ("tier", 3, 6, None, None),
    ],
    ids=[
        "higher-better-falls-exactly-P",
        "falls-under-P",
        "higher-better-rises",
        "lower-better-rises-is-a-drop",
        "lower-better-falls",
        "lower-better-rises-from-zero",
        "lower-better-rises-under-min-change",
        "steps-lower-step",
        "steps-same-step-falls",
        "steps-higher-step",
    ],
)
def test_metric_drop_direction_and_threshold(signal, before, now, metric, change):
    drops = drops_for([("a", signal, before, now)])
    assert list(drops.columns) == METRIC_DROP_COLUMNS
    found = drops[drops["metric"] != "momentum"]
    if metric is None:
        assert found.empty, found
    else:
        row = found.iloc[0]
        assert (len(found), row.metric, row.usual, row.raw) == (1, metric, before, now)
        assert row.history_weeks == 1 and np.isnan(row.z)  # too few weeks: no z-score
        assert row.change_percent == pytest.approx(change)


def test_metric_drop_skips_trend():
    # The mean is 25 in both windows; the weekly slope goes from +42 to -42.
    days_and_values = [(13, 10.0), (8, 40.0), (6, 40.0), (1, 10.0)]
    rows = pd.DataFrame(
        {
            "account_id": "a",
            "date": pd.to_datetime([AS_OF - timedelta(days=d) for d, _ in days_and_values]),
            "signal": "usage",
            "value": [v for _, v in days_and_values],
        }
    )
    m = model(DROP_METRICS, metric_drop={"percent": 10})
    assert metric_drops(m, ["a"], rows, AS_OF).empty


def test_metric_drop_skips_an_empty_earlier_window():
    only_now = signals([("a", "usage", 90, 5)]).iloc[[1]]
    m = model(DROP_METRICS, metric_drop={"percent": 10})
    assert metric_drops(m, ["a"], only_now, AS_OF).empty


def test_metric_drops_empty_without_the_rule():
    assert metric_drops(model(DROP_METRICS), ["a"], signals([("a", "usage", 90, 5)]), AS_OF).empty


def test_metric_drop_alert_reason_joins_metrics_biggest_first():
    m = model(DROP_METRICS, metric_drop={"percent": 40})
    drops = drops_for([("a", "usage", 31, 18), ("a", "tickets", 4, 12), ("b", "usage", 30, 29)])
    alerts = decide(m, {"a": 70, "b": 70}, {"a": 70, "b": 70}, metric_drop_frame=drops)
    row = one(alerts, "metric_drop")
    assert row.severity == "medium" and rules(alerts, "b") == []
    assert row.reason == (
        "Support tickets rose from a usual 4 to 12 (last 7 days); "
        "Product usage fell from a usual 31 to 18 (7-day average)"
    )


def test_metric_drop_rule_off_ignores_the_frame():
    drops = drops_for([("a", "usage", 31, 18)])
    alerts = decide(model(DROP_METRICS), {"a": 70}, {"a": 70}, metric_drop_frame=drops)
    assert alerts.empty


# --- champion left --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "within", "renewal", "fires"),
    [
        (0, 1, None, None, True),
        (1, 1, None, None, False),
        (0, 0, None, None, False),
        (0, np.nan, None, None, False),
        (0, 1, 60, 30, True),
        (0, 1, 60, 61, False),
        (0, 1, 60, None, False),
    ],
    ids=[
        "left",
        "still-there",
        "already-gone",
        "unknown-before",
        "renewal-within",
        "renewal-too-far",
        "renewal-unknown",
    ],
)
def test_champion_left(current, previous, within, renewal, fires):
    m = model(champion_left={"renewal_within_days": within})
    champion = pd.DataFrame({"account_id": ["a"], "current": [current], "previous": [previous]})
    alerts = decide(m, {"a": 70}, {"a": 70}, accounts=renewing_in(renewal), champion=champion)
    assert ("champion_left" in rules(alerts)) is fires
    if fires:
        row = one(alerts, "champion_left")
        assert row.severity == "high"
        assert row.reason == (
            "Champion left" if within is None else "Champion left; renews in 30 days (2026-12-22)"
        )


def test_champion_values_this_week_and_last_week():
    rows = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "date": pd.to_datetime(
                [AS_OF - timedelta(days=20), AS_OF - timedelta(days=2), AS_OF - timedelta(days=9)]
            ),
            "signal": ["champion_status"] * 3,
            "value": [1.0, 0.0, 1.0],
        }
    )
    m = model({"u": metric("usage", window_days=30)})
    values = champion_values(m, ["a", "b", "c"], rows, AS_OF).set_index("account_id")
    assert values.loc["a"].tolist() == [0.0, 1.0]
    assert values.loc["b"].tolist() == [1.0, 1.0]
    assert values.loc["c"].isna().all()


# --- cooldown and snooze --------------------------------------------------------------------


def sent(days_ago: int, score: float = 60, rank: int = 1, rule: str = "score_drop") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["a"],
            "rule": [rule],
            "sent_on": [AS_OF - timedelta(days=days_ago)],
            "score_shown": [score],
            "band_rank": [rank],
        }
    )


def alert_now(score: float = 60, rank: int = 1, rule: str = "score_drop") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["a"],
            "rule": [rule],
            "severity": ["high"],
            "reason": ["x"],
            "score_shown": [score],
            "band_rank": [rank],
        }
    )


@pytest.mark.parametrize(
    ("history", "now", "score_drop", "quiet"),
    [
        (sent(5), alert_now(), 10, True),
        (sent(13), alert_now(), 10, True),
        (sent(14), alert_now(), 10, False),
        (sent(5, score=70), alert_now(score=60), 10, False),
        (sent(5, score=70), alert_now(score=60.1), 10, True),
        (sent(5, score=70), alert_now(score=10), 0, True),
        (sent(5, rank=1), alert_now(score=55, rank=2), 10, False),
        (sent(5, rule="renewal"), alert_now(), 10, False),
        (pd.concat([sent(30), sent(3)]), alert_now(), 10, True),
        (None, alert_now(), 10, False),
    ],
    ids=[
        "within-cooldown",
        "last-quiet-day",
        "cooldown-over",
        "fell-score-drop-further",
        "fell-less",
        "score-drop-off-never-refires",
        "lower-band",
        "other-rule",
        "latest-send-counts",
        "no-history",
    ],
)
def test_cooldown(history, now, score_drop, quiet):
    # The cooldown alone: the slide rule after it is tests/test_alert_realert.py.
    config = model(score_drop=score_drop, cooldown_days=14, realert=False).alerts
    to_send, suppressed = apply_cooldown(now, history, None, AS_OF, config)
    assert (len(to_send), len(suppressed)) == ((0, 1) if quiet else (1, 0))
    if quiet:
        assert suppressed.iloc[0].why.startswith("cooldown: same alert sent on ")


def test_cooldown_zero_days_never_holds():
    config = model(cooldown_days=0).alerts
    to_send, _ = apply_cooldown(alert_now(), sent(0), None, AS_OF, config)
    assert len(to_send) == 1


@pytest.mark.parametrize(
    ("until", "quiet"),
    [(AS_OF + timedelta(days=3), True), (AS_OF, True), (AS_OF - timedelta(days=1), False)],
    ids=["snoozed", "last-snoozed-day", "snooze-ended"],
)
def test_snooze_silences_every_rule_until_it_ends(until, quiet):
    alerts = pd.concat(
        [alert_now(), alert_now(rule="stale"), alert_now().assign(account_id="b")],
        ignore_index=True,
    )
    snoozes = pd.DataFrame({"account_id": ["a", "a"], "until": [AS_OF - timedelta(days=9), until]})
    to_send, suppressed = apply_cooldown(alerts, None, snoozes, AS_OF, model().alerts)
    assert "b" in to_send["account_id"].tolist()
    assert len(suppressed) == (2 if quiet else 0)
    if quiet:
        assert set(suppressed["why"]) == {f"snoozed until {until:%Y-%m-%d}"}
