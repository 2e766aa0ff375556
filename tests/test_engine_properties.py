"""Invariants of the score that must hold for any data and any weights (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.engine.score import score_accounts
from tests.engine_helpers import AS_OF, accounts, metric, model, signals

KEYS = ["m0", "m1", "m2", "m3"]
values = st.floats(min_value=-50, max_value=150, allow_nan=False)
# Zero or a weight someone could write: a subnormal weight (5e-324) scaled by 0.5 underflows to
# zero, a property of floats rather than of the score.
weights = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1000)), min_size=4, max_size=4
).filter(lambda w: sum(w) > 0.01)
observed = st.lists(st.one_of(st.none(), values), min_size=4, max_size=4)


def build(ws: list[float], lower: list[bool]):
    return model(
        {
            k: metric(
                k,
                "last",
                30,
                {"worst": 100, "best": 0} if lo else {"worst": 0, "best": 100},
                weight=w,
            )
            for k, w, lo in zip(KEYS, ws, lower, strict=True)
        },
        min_completeness=0,
    )


def score_of(m, obs: list[float | None]) -> float:
    """Account a's score; account z has every signal, so a signal a lacks is a gap in a's
    data (the completeness rules), not a signal absent entirely (which the engine refuses)."""
    rows = [("a", 0, k, v) for k, v in zip(KEYS, obs, strict=True) if v is not None]
    rows += [("z", 0, k, 50.0) for k in KEYS]
    result = score_accounts(m, accounts("a", "z"), signals(rows), AS_OF)
    return float(result.accounts.set_index("account_id").at["a", "score"])


@settings(max_examples=150, deadline=None)
@given(weights, observed, st.lists(st.booleans(), min_size=4, max_size=4))
def test_score_is_always_within_0_and_100(ws, obs, lower):
    score = score_of(build(ws, lower), obs)
    assert np.isnan(score) or 0.0 <= score <= 100.0


@settings(max_examples=150, deadline=None)
@given(
    weights, observed, st.integers(min_value=0, max_value=3), st.floats(min_value=0, max_value=60)
)
def test_score_never_falls_when_one_metric_improves(ws, obs, index, gain):
    m = build(ws, [False] * 4)
    if obs[index] is None:
        return
    better = list(obs)
    better[index] = obs[index] + gain
    before, after = score_of(m, obs), score_of(m, better)
    if not np.isnan(before):
        assert after >= before - 1e-9


@settings(max_examples=100, deadline=None)
@given(weights, observed, st.floats(min_value=0.01, max_value=1000))
def test_score_unchanged_when_all_weights_scale_by_a_constant(ws, obs, factor):
    a = score_of(build(ws, [False] * 4), obs)
    b = score_of(build([w * factor for w in ws], [False] * 4), obs)
    if np.isnan(a):
        assert np.isnan(b)
    else:
        assert b == pytest.approx(a, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(weights, observed)
def test_contributions_always_add_up_to_the_score(ws, obs):
    m = build(ws, [False] * 4)
    rows = [("a", 0, k, v) for k, v in zip(KEYS, obs, strict=True) if v is not None]
    rows += [("z", 0, k, 50.0) for k in KEYS]  # as in score_of: a's gaps are gaps
    result = score_accounts(m, accounts("a", "z"), signals(rows), AS_OF)
    score = float(result.accounts.set_index("account_id").at["a", "score"])
    if not np.isnan(score):
        points = result.metrics.loc[result.metrics["account_id"] == "a", "points"]
        assert points.sum() == pytest.approx(score, abs=1e-9)
