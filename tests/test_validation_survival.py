"""Lead time (weeks before churn of the first warning) and Kaplan-Meier churn per band."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from scoring.validation.survival import ANY_ALERT, lead_times, survival_by_band

BANDS = ["healthy", "at_risk", "critical"]
D0 = pd.Timestamp("2026-01-04")


def _rows(spec: list[tuple[str, int, int, str | None, bool]]) -> pd.DataFrame:
    """(account, week, band_rank, churn date, censored) -> backtest-like rows."""
    out = pd.DataFrame(spec, columns=["account_id", "week", "band_rank", "churn", "censored"])
    out["as_of"] = D0 + pd.to_timedelta(out["week"] * 7, unit="D")
    out["churn_date"] = pd.to_datetime(out["churn"])
    ahead = (out["churn_date"] - out["as_of"]).dt.days
    out["churned"] = (ahead <= 90).fillna(False)
    out["band"] = out["band_rank"].map(dict(enumerate(BANDS)))
    return out.assign(status="scored", score=50.0)


def test_lead_time_is_the_first_warning_within_the_horizon_before_churn() -> None:
    churn_a = str((D0 + pd.Timedelta(weeks=10)).date())  # a churns in week 10
    churn_b = str((D0 + pd.Timedelta(weeks=12)).date())
    rows = _rows(
        # a: critical 15 weeks before its churn (outside the 90-day horizon: not a warning),
        # at risk 10 weeks before (70 days: inside), healthy again, then critical from week 6.
        [("a", -5, 2, churn_a, False), ("a", 0, 1, churn_a, False)]
        + [("a", w, 0, churn_a, False) for w in (1, 2)]
        + [("a", w, 1, churn_a, False) for w in (3, 4, 5)]
        + [("a", w, 2, churn_a, False) for w in (6, 7, 8, 9)]
        # b: never left healthy before it churned: missed by every band.
        + [("b", w, 0, churn_b, False) for w in range(12)]
        + [("c", w, 1, None, False) for w in range(12)]  # at risk but never churned
    )
    alerts = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "c"],
            "as_of": [D0 + pd.Timedelta(weeks=w) for w in (7, 9, 11, 2)],
            "rule": ["score_drop", "stale", "band_downgrade", "score_drop"],
        }
    )
    table = lead_times(rows, alerts, BANDS).set_index("warning")
    assert list(table.index) == ["at risk or worse", "critical", ANY_ALERT]
    assert (table["churns"] == 2).all()
    # a was at risk in week 0, 10 weeks (70 days, inside the horizon) before its churn.
    assert table.loc["at risk or worse", "warned"] == 1
    assert table.loc["at risk or worse", "median"] == 10.0
    assert table.loc["at risk or worse", "at_first_period"] == 0
    assert table.loc["critical", "median"] == 4.0  # first critical in week 6
    # Health alerts only (stale is a notice): a in week 7 (3 weeks), b in week 11 (1 week).
    assert table.loc[ANY_ALERT, "warned"] == 2
    assert sorted([table.loc[ANY_ALERT, "q1"], table.loc[ANY_ALERT, "q3"]]) == [1.5, 2.5]


def test_unfinished_horizons_are_censored_not_stayers() -> None:
    observed = (D0 + pd.Timedelta(days=5)).date()
    churn = str((D0 + pd.Timedelta(days=3)).date())
    # critical: one churn on day 3; three account-periods seen for 5 days only (censored);
    # the naive rate is 1 in 4, but nobody was followed long enough to be a stayer.
    spec = [("x", 0, 2, churn, False)] + [(f"y{i}", 0, 2, None, True) for i in range(3)]
    rows = _rows(spec)
    rows.loc[0, "as_of"] = D0
    table, curves = survival_by_band(rows, BANDS, 90, observed)
    critical = table.set_index("band").loc["critical"]
    assert critical["rows"] == 4 and critical["censored"] == 3 and critical["churned"] == 1
    assert np.isclose(critical["km_churn"], 0.25)  # day 3: 1 of 4 at risk
    # With the censored rows followed past day 3 the answer is the same; shorten them to
    # day 2 and only the churned row is still at risk on day 3: KM says 100%, naive 25%.
    table, _ = survival_by_band(rows, BANDS, 90, (D0 + pd.Timedelta(days=2)).date())
    assert np.isclose(table.set_index("band").loc["critical", "km_churn"], 1.0)
    assert np.isnan(table.set_index("band").loc["healthy", "km_churn"])
    days, churn_share = curves["critical"]
    assert days[0] == 0 and churn_share[0] == 0 and np.isclose(churn_share[-1], 0.25)


def test_durations_cap_at_the_horizon() -> None:
    rows = _rows([("z", 0, 0, None, False)])
    table, curves = survival_by_band(rows, BANDS, 30, dt.date(2027, 1, 1))
    assert table.set_index("band").loc["healthy", "km_churn"] == 0.0
    assert curves["healthy"][0].max() <= 30
