"""The engine's semantics, case by case, on tiny inline frames.

One plain case per aggregate and scale is in tests/test_engine_registry.py; these are the
edge cases and the scoring pass around them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.engine.score import score_accounts, shown
from scoring.errors import DataError
from tests.engine_helpers import AS_OF, accounts, metric, model, signals, techcorp_model


def one(scores, account="a"):
    return scores.accounts.set_index("account_id").loc[account]


def metric_row(scores, name, account="a"):
    m = scores.metrics
    return m[(m.account_id == account) & (m.metric == name)].iloc[0]


def test_techcorp_worked_example_scores_79_at_risk():
    values = {"usage": 8, "adoption": 6, "support": 9, "payment": 10, "engagement": 7}
    rows = [("a", 0, k, v) for k, v in values.items()]
    result = score_accounts(techcorp_model(), accounts("a"), signals(rows), AS_OF)
    row = one(result)
    assert row.score == pytest.approx(79.0, abs=1e-9)
    assert row.score_shown == 79.0
    assert row.band == "at_risk"
    assert result.metrics["points"].sum() == pytest.approx(79.0)


def test_missing_metric_reweights_over_metrics_with_data():
    """Account a has no `v` in its window (b has): a's score is over the metrics it has."""
    m = model({"u": metric("u", weight=60), "v": metric("v", weight=40)}, min_completeness=0.5)
    rows = [("a", 0, "u", 70), ("b", 0, "v", 10)]
    result = score_accounts(m, accounts("a", "b"), signals(rows), AS_OF)
    row = one(result)
    assert row.score == pytest.approx(70.0)
    assert row.completeness == pytest.approx(0.6)
    v = metric_row(result, "v")
    assert not v.has_data and v.points == 0 and np.isnan(v.metric_score)
    assert metric_row(result, "u").share == pytest.approx(1.0)


def test_fill_turns_an_empty_window_into_a_value():
    m = model({"t": metric("t", "sum", 90, {"worst": 12, "best": 0}, fill=0), "u": metric("u")})
    result = score_accounts(m, accounts("a"), signals([("a", 0, "u", 50)]), AS_OF)
    t = metric_row(result, "t")
    assert t.has_data and t.raw == 0 and t.metric_score == 100
    assert one(result).score == pytest.approx(75.0)


def test_insufficient_data_below_min_completeness_gets_no_score():
    m = model({"u": metric("u", weight=40), "v": metric("v", weight=60)}, min_completeness=0.5)
    rows = [("a", 0, "u", 90), ("c", 0, "v", 90)]
    result = score_accounts(m, accounts("a", "b", "c"), signals(rows), AS_OF)
    for account in ("a", "b"):
        row = one(result, account)
        assert row.band == "insufficient_data" and row.status == "insufficient_data"
        assert np.isnan(row.score) and pd.isna(row.band_rank)


def test_completeness_exactly_at_the_minimum_is_enough():
    m = model({"u": metric("u", weight=50), "v": metric("v", weight=50)}, min_completeness=0.5)
    rows = [("a", 0, "u", 90), ("b", 0, "v", 10)]
    result = score_accounts(m, accounts("a", "b"), signals(rows), AS_OF)
    assert one(result, "a").score == pytest.approx(90.0)


def test_lower_is_better_scale():
    m = model({"t": metric("t", "sum", 90, {"worst": 12, "best": 0})})
    result = score_accounts(
        m,
        accounts("a", "b", "c"),
        signals([("a", 1, "t", 3), ("b", 1, "t", 20), ("c", 1, "t", 0)]),
        AS_OF,
    )
    assert one(result, "a").score == pytest.approx(75.0)
    assert one(result, "b").score == 0.0
    assert one(result, "c").score == 100.0


def test_trend_is_seven_times_the_daily_slope():
    m = model({"x": metric("x", "trend", 30, {"worst": -10, "best": 10})})
    rows = [("a", ago, "x", 100 - 2 * ago) for ago in (20, 10, 3, 0)]
    result = score_accounts(m, accounts("a"), signals(rows), AS_OF)
    assert metric_row(result, "x").raw == pytest.approx(14.0)


def test_trend_needs_two_distinct_dates():
    m = model({"x": metric("x", "trend", 30, {"worst": -10, "best": 10})})
    result = score_accounts(m, accounts("a"), signals([("a", 3, "x", 5)]), AS_OF)
    assert not metric_row(result, "x").has_data


def test_days_since_latest_positive_value_or_window_when_none():
    m = model({"x": metric("x", "days_since", 30, {"worst": 30, "best": 0})})
    rows = [("a", 12, "x", 1), ("a", 4, "x", 0), ("b", 2, "x", 0)]
    result = score_accounts(m, accounts("a", "b", "c"), signals(rows), AS_OF)
    assert metric_row(result, "x", "a").raw == 12
    assert metric_row(result, "x", "b").raw == 30
    c = metric_row(result, "x", "c")
    assert c.raw == 30 and c.has_data


def test_count_with_no_rows_is_zero_and_counts_as_data():
    m = model({"x": metric("x", "count", 30, {"worst": 0, "best": 10})})
    result = score_accounts(m, accounts("a"), signals([("b", 0, "x", 1)]), AS_OF)
    row = metric_row(result, "x")
    assert row.raw == 0 and row.has_data and one(result).score == 0


def test_window_edges_row_exactly_w_days_old_is_out_and_as_of_is_in():
    m = model({"x": metric("x", "sum", 30, {"worst": 0, "best": 1000})})
    rows = [("a", 30, "x", 100), ("a", 29, "x", 10), ("a", 0, "x", 1), ("a", -1, "x", 1000)]
    result = score_accounts(m, accounts("a"), signals(rows), AS_OF)
    assert metric_row(result, "x").raw == 11


@pytest.mark.parametrize(
    ("aggregate", "values"),
    [
        ("mean", [float("inf")]),
        ("last", [float("nan")]),
        ("sum", [1e308, 1e308]),  # each finite; the sum is not (issue #18: the best score)
        ("max", [float("-inf"), 3.0]),
    ],
)
def test_a_non_finite_aggregate_is_refused_naming_metric_and_account(
    aggregate: str, values: list[float]
):
    """Read as "no data", an infinite sum used to be filled with `fill: 0`: the best score."""
    m = model({"x": metric("x", aggregate), "y": metric("y")}, min_completeness=0)
    rows = [("b", 1, "x", 2.0), ("b", 1, "y", 50)]
    rows += [("a", day, "x", v) for day, v in enumerate(values, start=1)]
    with pytest.raises(DataError) as caught:
        score_accounts(m, accounts("a", "b"), signals(rows), AS_OF)
    message = str(caught.value)
    assert f"metric 'x' ({aggregate} of signal 'x' over 30 days)" in message
    assert "for account 'a' as of 2026-11-21" in message
    assert "and 1 more" not in message  # b's values are fine


def test_steps_scale_first_matching_step_wins():
    scale = {"steps": [{"below": 1, "score": 100}, {"below": 4, "score": 50}, {"score": 0}]}
    m = model({"x": metric("x", "last", 30, scale)})
    rows = [("a", 0, "x", 0), ("b", 0, "x", 1), ("c", 0, "x", 3.9), ("d", 0, "x", 4)]
    result = score_accounts(m, accounts("a", "b", "c", "d"), signals(rows), AS_OF)
    assert [one(result, k).score for k in "abcd"] == [100, 50, 50, 0]


def test_steps_scale_at_least_for_higher_is_better():
    scale = {"steps": [{"at_least": 10, "score": 100}, {"at_least": 5, "score": 60}, {"score": 0}]}
    m = model({"x": metric("x", "last", 30, scale)})
    rows = [("a", 0, "x", 10), ("b", 0, "x", 7), ("c", 0, "x", 4.99)]
    result = score_accounts(m, accounts("a", "b", "c"), signals(rows), AS_OF)
    assert [one(result, k).score for k in "abc"] == [100, 60, 0]


def test_percentile_scale_with_ties_within_segment():
    m = model({"x": metric("x", "last", 30, {"percentile": "higher_is_better"})})
    ids = ("a", "b", "c", "d", "e")
    segs = ["S", "S", "S", "S", "E"]
    rows = [
        ("a", 0, "x", 1),
        ("b", 0, "x", 5),
        ("c", 0, "x", 5),
        ("d", 0, "x", 9),
        ("e", 0, "x", 1),
    ]
    result = score_accounts(m, accounts(*ids, segment=segs), signals(rows), AS_OF)
    # in S (n=4): a worse than none -> 0; b,c: 1 worse + 0.5 tie -> 1.5/3; d: 3/3
    assert one(result, "a").score == pytest.approx(0.0)
    assert one(result, "b").score == pytest.approx(50.0)
    assert one(result, "c").score == pytest.approx(50.0)
    assert one(result, "d").score == pytest.approx(100.0)
    assert one(result, "e").score == pytest.approx(50.0)  # alone in its segment


def test_percentile_lower_is_better_ignores_accounts_without_data():
    m = model(
        {"x": metric("x", "last", 30, {"percentile": "lower_is_better"}), "y": metric("y")},
        min_completeness=0,
    )
    rows = [("a", 0, "x", 1), ("b", 0, "x", 3), ("c", 0, "x", 2), ("d", 0, "y", 10)]
    result = score_accounts(m, accounts("a", "b", "c", "d"), signals(rows), AS_OF)
    assert metric_row(result, "x", "a").metric_score == pytest.approx(100.0)
    assert metric_row(result, "x", "c").metric_score == pytest.approx(50.0)
    assert metric_row(result, "x", "b").metric_score == pytest.approx(0.0)


def test_segment_override_weights_and_bands_first_match_case_insensitive():
    segments = {
        "ent": {
            "where": {"segment": "enterprise"},
            "weights": {"u": 0},
            "bands": [
                {"name": "healthy", "min": 85},
                {"name": "at_risk", "min": 70},
                {"name": "critical", "min": 0},
            ],
        },
        "ent2": {"where": {"segment": "Enterprise"}, "weights": {"v": 0}},
    }
    m = model({"u": metric("u", weight=50), "v": metric("v", weight=50)}, segments=segments)
    rows = [(a, 0, "u", 100) for a in "ab"] + [(a, 0, "v", 82) for a in "ab"]
    result = score_accounts(
        m, accounts("a", "b", segment=["ENTERPRISE", "SMB"]), signals(rows), AS_OF
    )
    ent, smb = one(result, "a"), one(result, "b")
    assert ent.segment_rule == "ent" and ent.score == pytest.approx(82.0)
    assert ent.band == "at_risk"  # 82 < 85 in the segment's bands
    assert smb.score == pytest.approx(91.0) and smb.band == "healthy"


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (80.0, "healthy"),
        (79.96, "healthy"),
        (79.94, "at_risk"),
        (50.0, "at_risk"),
        (49.95, "at_risk"),
        (49.9, "critical"),
        (0.0, "critical"),
    ],
    ids=str,
)
def test_bands_at_their_boundaries_follow_the_shown_score(value, band):
    m = model({"x": metric("x", "last", 30, {"worst": 0, "best": 100})})
    result = score_accounts(m, accounts("a"), signals([("a", 0, "x", value)]), AS_OF)
    row = one(result)
    assert row.band == band
    mins = {"healthy": 80, "at_risk": 50, "critical": 0}
    assert row.score_shown >= mins[band]


def test_shown_score_rounds_half_up_after_removing_float_noise():
    assert list(shown(np.array([79.95, 79.94999999999, 0.05, 99.999999, 12.25]))) == [
        80.0,
        80.0,
        0.1,
        100.0,
        12.3,
    ]


def test_contributions_add_up_to_the_score():
    m = model({"u": metric("u", weight=3), "v": metric("v", weight=7), "w": metric("w", weight=0)})
    rows = [("a", 0, "u", 33.3), ("a", 0, "v", 71.2), ("a", 0, "w", 5)]
    result = score_accounts(m, accounts("a"), signals(rows), AS_OF)
    assert result.metrics["points"].sum() == pytest.approx(one(result).score)
    zero = metric_row(result, "w")
    assert zero.has_data and zero.points == 0  # shown but does not count


def test_churned_accounts_are_left_out_as_of_their_churn_date_and_included_before():
    m = model({"u": metric("u")})
    acc = accounts("a", "b", churned_on=[pd.Timestamp(AS_OF), pd.NaT])
    rows = [("a", 0, "u", 10), ("b", 0, "u", 20), ("a", 5, "u", 10)]
    now = score_accounts(m, acc, signals(rows), AS_OF)
    assert list(now.accounts.account_id) == ["b"]
    assert list(now.excluded.account_id) == ["a"]
    earlier = score_accounts(m, acc, signals(rows), AS_OF - pd.Timedelta(days=1))
    assert set(earlier.accounts.account_id) == {"a", "b"}


def test_wide_layout_gives_the_same_scores_as_long():
    m = techcorp_model()
    rows = [
        (a, ago, k, (ago + i) % 10)
        for a in "abc"
        for ago in range(5)
        for i, k in enumerate(["usage", "adoption", "support", "payment", "engagement"])
    ]
    long = signals(rows)
    wide = long.pivot_table(
        index=["account_id", "date"], columns="signal", values="value"
    ).reset_index()
    wide.columns.name = None
    a = score_accounts(m, accounts("a", "b", "c"), long, AS_OF)
    b = score_accounts(m, accounts("a", "b", "c"), wide, AS_OF, layout="wide")
    pd.testing.assert_frame_equal(a.accounts, b.accounts)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)


def test_manual_rows_are_ignored_after_valid_until():
    m = model({"s": metric("s", "last", 60, {"worst": 1, "best": 5})}, min_completeness=0)
    rows = signals([("a", 10, "s", 5), ("a", 3, "s", 1)])
    rows["valid_until"] = pd.to_datetime([AS_OF, AS_OF - pd.Timedelta(days=1)])
    result = score_accounts(m, accounts("a"), rows, AS_OF)
    assert metric_row(result, "s").raw == 5


def test_signals_for_unknown_accounts_are_ignored():
    m = model({"u": metric("u")})
    result = score_accounts(
        m, accounts("a"), signals([("a", 0, "u", 40), ("zz", 0, "u", 1)]), AS_OF
    )
    assert list(result.accounts.account_id) == ["a"]
    assert one(result).score == pytest.approx(40.0)


def test_object_and_arrow_account_ids_give_the_same_scores():
    m = model({"u": metric("u")})
    rows = signals([("a", 0, "u", 40), ("b", 0, "u", 70), ("zz", 0, "u", 1)])
    as_object = rows.assign(account_id=rows["account_id"].astype(object))
    as_category = rows.assign(account_id=rows["account_id"].astype("category"))
    expected = score_accounts(m, accounts("a", "b"), rows, AS_OF).accounts
    for variant in (as_object, as_category):
        got = score_accounts(m, accounts("a", "b"), variant, AS_OF).accounts
        pd.testing.assert_frame_equal(got, expected)
