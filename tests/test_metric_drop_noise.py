"""The metric_drop rule tells news from noise: each case is a portfolio a CSM would recognise.

Every account gets a daily signal for as many weeks as the case says (its weekly level, one
row a day), so the rule reads each week's window through the engine's own aggregates, exactly
as the weekly run does.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from scoring.config import Model, parse_model
from scoring.decisions.alert_words import metric_drop_reasons
from scoring.decisions.metric_drop import METRIC_DROP_COLUMNS, metric_drops
from scoring.errors import HealthbotError
from scoring.validation.backtest import run_backtest

AS_OF = date(2026, 11, 22)
METRICS = {
    "product_usage": {
        "label": "Product usage",
        "signal": "usage",
        "aggregate": "mean",
        "window_days": 7,
        "scale": {"worst": 0, "best": 100},  # default minimum change: 10
        "weight": 1,
    },
    "support_tickets": {
        "label": "Support tickets",
        "signal": "tickets",
        "aggregate": "sum",
        "window_days": 7,
        "scale": {"worst": 12, "best": 0},  # default minimum change: 1.2 tickets
        "fill": 0,
        "weight": 1,
    },
}


def model(**rule: Any) -> Model:
    return Model.model_validate({"metrics": METRICS, "alerts": {"metric_drop": rule}})


def weekly(signal: str, levels: dict[str, list[float]]) -> pd.DataFrame:
    """One account per key; its levels run oldest week first, the last one is this week.

    usage: the level every day of the week; tickets: the week's count, all filed on the
    week's first day (so the data covers the oldest week's window from its start).
    """
    rows = []
    for account, weeks in levels.items():
        for back, level in enumerate(reversed(weeks)):
            end = AS_OF - timedelta(days=7 * back)
            days = range(7) if signal == "usage" else [6]
            for day in days:
                if signal == "tickets" and level == 0:
                    continue
                rows.append((account, end - timedelta(days=day), signal, float(level)))
    frame = pd.DataFrame(rows, columns=["account_id", "date", "signal", "value"])
    return frame.assign(date=pd.to_datetime(frame["date"]))


def drops(m: Model, signals: pd.DataFrame, segments: dict[str, str] | None = None) -> pd.DataFrame:
    ids = sorted(signals["account_id"].unique())
    labels = None if segments is None else pd.Series([segments[a] for a in ids])
    return metric_drops(m, ids, signals, AS_OF, segments=labels)


def alerted(found: pd.DataFrame) -> set[str]:
    return set(found["account_id"])


# --- 1 -> 2 tickets ---------------------------------------------------------------------------


def test_one_more_ticket_is_no_alert_but_six_are():
    signals = weekly("tickets", {"one_more": [1] * 8 + [2], "six": [1] * 8 + [6]})
    found = drops(model(), signals)
    assert alerted(found) == {"six"}
    row = found.iloc[0]
    assert (row.metric, row.usual, row.raw, row.history_weeks) == ("support_tickets", 1, 6, 8)
    assert metric_drop_reasons(model(), found)["six"] == (
        "Support tickets rose from a usual 1 to 6 (last 7 days)"
    )


def test_one_more_ticket_is_no_alert_even_on_a_first_run():
    # One week of history: only the absolute minimums judge, and +1 ticket is under 1.2.
    assert drops(model(), weekly("tickets", {"a": [1, 2]})).empty
    # ... a minimum change the model file sets is obeyed.
    found = drops(model(min_change={"support_tickets": 1}), weekly("tickets", {"a": [1, 2]}))
    assert alerted(found) == {"a"}


def test_a_min_base_holds_back_a_fall_from_a_level_too_low_to_matter():
    signals = weekly("usage", {"a": [20] * 8 + [8]})
    assert alerted(drops(model(), signals)) == {"a"}
    assert drops(model(min_base={"product_usage": 25}), signals).empty


# --- the account's own variability ------------------------------------------------------------

NOISY = [30, 70, 40, 65, 35, 70, 30, 60]  # median 50, MAD 17.5
STEADY = [50] * 8


def test_a_usual_swing_of_a_noisy_account_is_no_alert_the_same_drop_of_a_steady_one_is():
    signals = weekly("usage", {"noisy": NOISY + [30], "steady": STEADY + [30]})
    found = drops(model(), signals)
    assert alerted(found) == {"steady"}
    row = found.iloc[0]
    assert row.usual == 50 and row.raw == 30 and row.history_weeks == 8
    # A flat history counts as varying by min_change / z: 20 / (10 / 3) = 6 spreads.
    assert row.z == pytest.approx(6.0)


def test_the_noisy_account_alerts_once_the_drop_is_far_outside_its_swings():
    found = drops(model(), weekly("usage", {"noisy": NOISY + [2]}))
    # 48 below a median of 50, MAD 17.5 x 1.4826 = 25.9: z = 1.85, under 3 ...
    assert found.empty
    # ... while z: 1.5 lets it through.
    found = drops(model(z=1.5), weekly("usage", {"noisy": NOISY + [2]}))
    assert alerted(found) == {"noisy"} and found.iloc[0].z == pytest.approx(48 / (17.5 * 1.4826))


def test_with_fewer_than_four_weeks_only_the_absolute_minimums_apply():
    signals = weekly("usage", {"noisy": NOISY[-3:] + [30], "small": [50, 50, 50, 45]})
    found = drops(model(), signals)
    # The noisy account's swings are not known yet, so its fall from a usual 60 to 30 alerts;
    # 50 -> 45 is under both the 30% and the minimum change.
    assert alerted(found) == {"noisy"}
    row = found.iloc[0]
    assert row.history_weeks == 3 and np.isnan(row.z) and row.usual == 60


def test_weeks_before_the_data_starts_are_no_history():
    # Data began 2 weeks ago; tickets' filled zeros before that are not a usual 0.
    signals = weekly("tickets", {"new": [3, 3, 9]})
    found = drops(model(), signals)
    assert list(found["history_weeks"]) == [2]
    assert found.iloc[0].usual == 3


# --- segment-wide moves -----------------------------------------------------------------------


def holiday_week() -> tuple[pd.DataFrame, dict[str, str]]:
    """20 SMB accounts all 30% down this week (a holiday), one SMB account sliding hard, and 10
    Enterprise accounts with a normal week but one of them 30% down."""
    levels = {f"smb{i:02}": [50 + i] * 8 + [(50 + i) * 0.7] for i in range(20)}
    levels["smb_slider"] = [50] * 8 + [10]
    levels |= {f"ent{i:02}": [60 + i] * 9 for i in range(10)}
    levels["ent_dip"] = [60] * 8 + [42]
    segments = {a: "SMB" if a.startswith("smb") else "Enterprise" for a in levels}
    return weekly("usage", levels), segments


def test_a_holiday_dip_of_the_whole_segment_alerts_only_its_real_slider():
    signals, segments = holiday_week()
    found = drops(model(), signals, segments)
    assert alerted(found) == {"smb_slider", "ent_dip"}
    slider = found.set_index("account_id").loc["smb_slider"]
    assert slider.segment_percent == pytest.approx(-30.0)
    # 10 against an expected 35 (the usual 50, 30% down like its segment).
    assert slider.change_percent == pytest.approx(100 * (10 - 35) / 35)
    reasons = metric_drop_reasons(model(), found)
    assert reasons["smb_slider"] == (
        "Product usage fell from a usual 50 to 10 (7-day average); its segment fell 30% this week"
    )
    assert reasons["ent_dip"] == "Product usage fell from a usual 60 to 42 (7-day average)"


def test_without_segments_the_portfolio_is_one_segment():
    signals, _ = holiday_week()
    found = drops(model(), signals)
    # The portfolio's median account is an SMB one (30% down): only the slider stands out.
    assert alerted(found) == {"smb_slider"}


def test_a_flat_account_in_a_rising_segment_is_not_falling():
    levels = {f"up{i}": [40] * 8 + [60] for i in range(10)} | {"flat": [40] * 9}
    signals = weekly("usage", levels)
    assert drops(model(), signals, dict.fromkeys(levels, "SMB")).empty


# --- the model file ---------------------------------------------------------------------------


def test_the_frame_has_its_columns_and_defaults_hold():
    rule = model().alerts.metric_drop
    assert rule is not None
    assert (rule.percent, rule.z, rule.history_weeks) == (30, 3, 8)
    assert list(drops(model(), weekly("usage", {"a": STEADY + [50]})).columns) == (
        METRIC_DROP_COLUMNS
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"min_change": {"tickts": 3}}, "alerts.metric_drop.min_change.tickts: unknown metric"),
        ({"min_base": {"product_usage": -1}}, "product_usage: must be 0 or more, got -1"),
        ({"history_weeks": 2}, "history_weeks"),
    ],
    ids=["unknown-metric", "negative-base", "too-few-weeks"],
)
def test_a_bad_rule_is_one_clear_line(rule: dict[str, Any], message: str) -> None:
    text = yaml.safe_dump({"metrics": METRICS, "alerts": {"metric_drop": rule}})
    with pytest.raises(HealthbotError) as error:
        parse_model(text)
    assert message in str(error.value)


def test_the_backtest_fires_metric_drop_as_the_rule_does():
    """Both judge an account in its model segment (the segment's `where`), as the weekly run
    judges the score's dip."""
    signals, crm = holiday_week()
    accounts = pd.DataFrame(
        {"account_id": list(crm), "segment": list(crm.values()), "status": "active"}
    )
    segmented = Model.model_validate(
        {
            "metrics": METRICS,
            "alerts": {"metric_drop": {}},
            "segments": {
                "smb": {"where": {"segment": "SMB"}},
                "enterprise": {"where": {"segment": "Enterprise"}},
            },
        }
    )
    outcomes = pd.DataFrame({"account_id": [], "date": [], "outcome": []})
    result = run_backtest(segmented, accounts, signals, outcomes, [AS_OF], horizon_days=30)
    fired = result.alerts.loc[result.alerts["rule"] == "metric_drop", "account_id"]
    rules = {a: "smb" if s == "SMB" else "enterprise" for a, s in crm.items()}
    assert set(fired) == alerted(drops(segmented, signals, rules)) == {"smb_slider", "ent_dip"}
