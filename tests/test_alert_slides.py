"""A slide is found early and noise stays quiet: each case is a portfolio a CSM would recognise.

The metric_drop rule judges a metric with a long window on its signal's last 7 days against the
same days of the account's usual weeks, counts against their Poisson noise, whole numbers never
by less than one unit, a sparse survey against the moves of its peers, and several metrics
slipping at once together. A band downgrade must be a fall from the usual score beyond what
scores in the segment commonly move in a week.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scoring.config import Model
from scoring.decisions.alert_words import metric_drop_reasons
from scoring.decisions.band_hysteresis import runs_needed
from scoring.decisions.metric_drop import metric_drops
from scoring.decisions.metric_moves import Moves, together
from tests.test_alert_noise import downgrades_over
from tests.test_alerts import decide, rules
from tests.test_alerts import model as alert_model

AS_OF = date(2026, 11, 22)  # a Sunday
DAYS = 120
METRICS: dict[str, dict[str, Any]] = {
    "product_usage": {
        "label": "Product usage",
        "signal": "usage",
        "aggregate": "mean",
        "window_days": 30,
        "scale": {"worst": 10, "best": 70},
        "weight": 35,
    },
    "feature_adoption": {
        "label": "Feature adoption",
        "signal": "features",
        "aggregate": "last",
        "window_days": 30,
        "scale": {"worst": 0, "best": 12},
        "weight": 20,
    },
    "support_tickets": {
        "label": "Support tickets",
        "signal": "tickets",
        "aggregate": "sum",
        "window_days": 90,
        "scale": {"worst": 12, "best": 0},
        "fill": 0,
        "weight": 15,
    },
    "payment_history": {
        "label": "Payment history",
        "signal": "overdue",
        "aggregate": "max",
        "window_days": 90,
        "scale": {"worst": 3, "best": 0},
        "weight": 15,
    },
    "engagement": {
        "label": "Engagement (NPS)",
        "signal": "nps",
        "aggregate": "last",
        "window_days": 180,
        "scale": {"worst": 0, "best": 10},
        "weight": 15,
    },
}


def model(*names: str, **rule: Any) -> Model:
    metrics = {k: v for k, v in METRICS.items() if k in names}
    return Model.model_validate({"metrics": metrics, "alerts": {"metric_drop": rule}})


def day(back: int) -> pd.Timestamp:
    return pd.Timestamp(AS_OF - timedelta(days=back))


def daily(signal: str, values: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row a day per account, oldest first, the last value on the as-of day."""
    parts = [
        pd.DataFrame(
            {
                "account_id": account,
                "date": [day(len(v) - 1 - i) for i in range(len(v))],
                "signal": signal,
                "value": np.asarray(v, dtype=float),
            }
        )
        for account, v in values.items()
    ]
    return pd.concat(parts, ignore_index=True)


def weekly(signal: str, values: dict[str, list[float]], skip_zero: bool = False) -> pd.DataFrame:
    """One row a week per account (the week's last day), oldest week first."""
    rows = [
        (account, day(7 * back), signal, float(v))
        for account, weeks in values.items()
        for back, v in enumerate(reversed(weeks))
        if not (skip_zero and v == 0)
    ]
    return pd.DataFrame(rows, columns=["account_id", "date", "signal", "value"])


def steady_usage(n: int, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"s{i:02d}": 50 * rng.lognormal(0, 0.05, DAYS) for i in range(n)}


def drops(m: Model, signals: pd.DataFrame) -> pd.DataFrame:
    ids = sorted(signals["account_id"].unique())
    return metric_drops(m, ids, signals, AS_OF)


def alerted(found: pd.DataFrame) -> set[str]:
    return set(found["account_id"])


# --- a slide shows in the last 7 days weeks before a 30-day mean moves ------------------------


def sliding_usage() -> pd.DataFrame:
    usage = steady_usage(20)
    slide = np.full(DAYS, 50.0)
    slide[-14:] = np.linspace(48, 30, 14)  # two weeks into a slide
    return daily("usage", usage | {"slider": slide})


def test_a_slide_alerts_on_its_last_seven_days_before_the_thirty_day_mean_moves():
    signals = sliding_usage()
    found = drops(model("product_usage"), signals)
    assert alerted(found) == {"slider"}
    assert found.iloc[0]["window_days"] == 7
    assert metric_drop_reasons(model("product_usage"), found)["slider"].endswith("(7-day average)")
    # Judged on the metric's own 30-day window (recent_days: 0) the same slide is not news yet.
    assert drops(model("product_usage", recent_days=0), signals).empty


# --- counts: Poisson noise ----------------------------------------------------------------------


def test_a_quiet_account_filing_one_ticket_is_no_alert_four_are():
    # Each account filed one ticket 20 weeks ago (so its quiet weeks are known to be quiet).
    counts = {"one": [0] * 8 + [1], "four": [0] * 8 + [4], "usual": [1, 0, 2, 1, 0, 1, 1, 0, 2]}
    signals = weekly("tickets", {a: [1] + [0] * 10 + c for a, c in counts.items()}, True)
    found = drops(model("support_tickets"), signals)
    assert alerted(found) == {"four"}
    assert metric_drop_reasons(model("support_tickets"), found)["four"] == (
        "Support tickets rose from a usual 0 to 4 (last 7 days)"
    )


def test_one_overdue_invoice_in_whole_numbers_is_no_alert_three_are():
    signals = weekly("overdue", {"one": [0] * 12 + [1], "three": [0] * 12 + [3]})
    assert alerted(drops(model("payment_history"), signals)) == {"three"}


# --- a sparse survey: a new answer against its peers' moves ------------------------------------


def test_a_new_survey_answer_is_judged_against_how_far_answers_move():
    rows = []
    for i in range(29):  # everyone answered again this week, one point off their last answer
        rows += [(f"p{i:02d}", day(100), 8.0), (f"p{i:02d}", day(0), 8.0 + (1 if i % 2 else -1))]
    rows += [("dip", day(100), 8.0), ("dip", day(0), 5.0)]  # -3: two usual moves
    rows += [("fall", day(100), 9.0), ("fall", day(0), 3.0)]  # -6: four usual moves
    signals = pd.DataFrame(rows, columns=["account_id", "date", "value"]).assign(signal="nps")
    assert alerted(drops(model("engagement"), signals)) == {"fall"}
    # Alone, with no peers to learn from, the same dip is three whole points: an alert.
    alone = signals[signals["account_id"] == "dip"]
    assert alerted(drops(model("engagement"), alone)) == {"dip"}


# --- several metrics slipping together ----------------------------------------------------------


def together_portfolio(features_now: dict[str, float]) -> pd.DataFrame:
    """20 steady accounts; 'a' and 'b' lose a fifth of their usage this week (under the 30%
    that alerts a metric alone); their feature count moves as `features_now` says."""
    usage = steady_usage(20)
    for name in features_now:
        fell = np.full(DAYS, 50.0)
        fell[-7:] = 40.0
        usage[name] = fell
    features = {a: [10.0] * 16 for a in usage}
    for name, now in features_now.items():
        features[name] = [10.0] * 15 + [now]
    return pd.concat([daily("usage", usage), weekly("features", features)], ignore_index=True)


def test_two_metrics_slipping_together_alert_before_either_is_large_alone():
    m = model("product_usage", "feature_adoption")
    found = drops(m, together_portfolio({"a": 8.0, "b": 12.0}))
    assert alerted(found) == {"a"}  # b's features rose: its usage dip alone is not enough
    assert set(metric_drop_reasons(m, found)["a"].split("; ")) == {
        "Product usage fell from a usual 50 to 40 (7-day average)",
        "Feature adoption fell from a usual 10 to 8",
    }
    off = model("product_usage", "feature_adoption", combined_z=0)
    assert drops(off, together_portfolio({"a": 8.0})).empty


# --- band downgrades: a real fall, beyond the segment's usual weekly move ----------------------


def test_a_score_that_always_hovered_below_a_threshold_is_no_downgrade():
    hover = [80.5, 80.8, 80.4, 80.6, 80.5, 79.5, 79.2]
    assert downgrades_over(alert_model(band_downgrade=True), hover) == []
    # Without the usual-score check, two runs below 80 confirm it.
    eager = alert_model(band_downgrade={"usual_runs": 0})
    assert downgrades_over(eager, hover) == ["Band healthy \u2192 at risk (below 80 for 2 runs)"]


def test_runs_needed_covers_the_usual_runs():
    assert runs_needed(alert_model(band_downgrade=True)) == 5  # 1 more in the streak + 4 usual
    assert runs_needed(alert_model(band_downgrade={"usual_runs": 0})) == 2  # as before the key
    assert runs_needed(alert_model()) == 0


@pytest.mark.parametrize(("swing", "alerts"), [(0.0, True), (4.0, False)], ids=["calm", "noisy"])
def test_a_downgrade_must_beat_what_scores_in_the_segment_move_in_a_week(swing, alerts):
    m = alert_model(band_downgrade=True)
    before = {f"o{i:02d}": 90.0 for i in range(40)} | {"a": 84.0}
    now = {k: v + (swing if i % 2 else -swing) for i, (k, v) in enumerate(before.items())}
    now["a"] = 76.5  # 3.5 below the healthy minimum, 7.5 below its usual
    assert ("band_downgrade" in rules(decide(m, now, before))) is alerts
    # band_downgrade.z: 0 judges the fall by the margin alone.
    loose = alert_model(band_downgrade={"z": 0})
    assert "band_downgrade" in rules(decide(loose, now, before))


# --- the combination itself ---------------------------------------------------------------------


def moves(key: str, z: list[float], large: bool = True, alone: bool = False) -> Moves:
    """A metric's Moves for len(z) accounts with these signed z-scores (+: the bad way)."""
    n = len(z)
    signed = np.asarray(z, dtype=float)
    return Moves(
        key=key,
        window_days=7,
        usual=np.full(n, 10.0),
        now=np.full(n, 8.0),
        percent=np.full(n, -20.0),
        segment_percent=np.zeros(n),
        z=np.abs(signed),
        weeks=np.full(n, 8),
        bad=signed > 0,
        large=np.full(n, large),
        alone=np.full(n, alone),
    )


def joint(this_week: list[Moves], last_week: list[Moves] | None = None) -> list[bool]:
    rule = model("product_usage").alerts.metric_drop
    weights = np.ones(len(this_week[0].now))
    earlier = None if last_week is None else [(m, weights) for m in last_week]
    named = together([(m, weights) for m in this_week], rule, earlier)
    return list(np.logical_or.reduce(named))


def test_metrics_combine_weighted_and_a_slide_that_went_on_for_two_weeks_counts():
    # (3 + 1) / sqrt 2 = 2.83 >= 2.5; (2 + 1.5) / sqrt 2 = 2.47 is not, alone; a metric that
    # moved the good way counts against the others.
    week = [moves("usage", [3.0, 2.0, 3.0]), moves("features", [1.0, 1.5, -1.0])]
    assert joint(week) == [True, False, False]
    # Last week the second account was already sliding as far: over two weeks it is news.
    before = [moves("usage", [0.0, 2.0, 0.0]), moves("features", [0.0, 1.5, 0.0])]
    assert joint(week, before) == [True, True, False]


def test_a_joint_move_names_two_metrics_one_of_them_large_and_none_alerting_alone():
    one_named = [moves("usage", [4.0]), moves("features", [0.5])]  # features under PART_Z
    assert joint(one_named) == [False]
    small = [moves("usage", [3.0], large=False), moves("features", [1.0], large=False)]
    assert joint(small) == [False]
    already = [moves("usage", [3.0], alone=True), moves("features", [1.0])]
    assert joint(already) == [False]  # usage alerts alone: named as such, not twice
