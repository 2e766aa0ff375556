"""The advisor's signed search and its fold-by-fold held-out scale: a metric that is "bad given
the others" can enter read the other way, a metric chosen both ways keeps its net weight, and
folds that propose different models are judged on one scale (their training log-odds)."""

from __future__ import annotations

import numpy as np

from scoring.validation.advise_search import _refit, screen
from scoring.validation.advise_signs import (
    Screened,
    _one_way,
    _variants,
    on_training_scale,
    signed_sets,
)
from scoring.validation.candidate_scales import FittedScale
from scoring.validation.fitting import weighted_score
from scoring.validation.metrics import auc


def _suppressor(n: int = 6000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Calls (a) and seconds of use (b, which rises with calls): churn falls with calls but
    RISES with seconds at the same number of calls, while seconds alone look healthy."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = a + 0.5 * rng.normal(size=n)
    logit = -1.5 - 3.0 * a + 1.5 * b
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    return np.column_stack([a, b]).astype(float), y


def test_signed_sets_let_a_metric_enter_read_the_other_way() -> None:
    x, y = _suppressor()
    assert auc(x[:, 1], y) > 0.5  # alone, more seconds look healthy
    found = screen(x, y, ["calls", "seconds"])
    assert {c.column for c in found} == {0, 1}
    shortlist = _variants(found)
    sub = np.column_stack([c.scale.apply(x[:, c.column]) for c in shortlist])
    sets = signed_sets(sub, y, shortlist, len(found), 7)
    pair = next(s for s in sets if len(s) == 2)
    seconds = next(shortlist[i] for i in pair if shortlist[i].column == 1)
    # read the other way: more seconds (at the same calls) score lower
    assert seconds.scale.kind == "linear" and seconds.scale.worst > seconds.scale.best
    calls = next(shortlist[i] for i in pair if shortlist[i].column == 0)
    assert calls.scale.best > calls.scale.worst
    two = np.column_stack([shortlist[i].scale.apply(x[:, shortlist[i].column]) for i in pair])
    weights = _refit(two, y)  # non-negative: the reversed line carries the sign
    assert (weights > 0).all()
    assert auc(weighted_score(two, weights), y) > auc(x[:, 0], y) + 0.004  # and it adds


def test_a_metric_chosen_both_ways_keeps_its_net_weight() -> None:
    line = FittedScale("linear", worst=0.0, best=10.0)
    turned = FittedScale("linear", worst=10.0, best=0.0)
    other = FittedScale("linear", worst=0.0, best=5.0)
    picked = [Screened(0, line, 0.7), Screened(1, other, 0.6), Screened(0, turned, 0.3)]
    kept, weights = _one_way(picked, np.array([3.0, 2.0, 1.0]))
    assert [c.column for c in kept] == [0, 1] and kept[0].scale == line
    assert np.allclose(weights, [2.0, 2.0])  # 3 * s + 1 * (100 - s) ranks as 2 * s


def test_folds_with_different_models_are_judged_on_one_scale() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    risk = rng.normal(size=n)
    y = rng.random(n) < 1.0 / (1.0 + np.exp(2.0 + 2.0 * risk))
    fold = np.arange(n) % 2
    # fold 0's model scores 0-40, fold 1's 60-100: the same ranking within each
    raw = np.where(fold == 0, 20 + 10 * np.tanh(risk), 80 + 10 * np.tanh(risk))
    mapped = np.empty(n)
    for k in (0, 1):
        test, train = fold == k, fold != k
        # each fold's training rows are scored by that fold's own model
        own = np.where(fold[train] == 0, raw[train] + 60 * k, raw[train] - 60 * (1 - k))
        mapped[test] = on_training_scale(raw[test], own, y[train])
        assert np.isclose(auc(mapped[test], y[test]), auc(raw[test], y[test]))  # monotone
    assert auc(mapped, y) > auc(raw, y) + 0.02


def test_a_fold_without_a_slope_keeps_its_raw_scores() -> None:
    y = np.array([True, False] * 50)
    flat = np.full(100, 50.0)
    test = np.array([10.0, np.nan, 90.0])
    out = on_training_scale(test, flat, y)
    assert np.allclose(out, [10.0, 50.0, 90.0])  # unscored counts as 50, as before


def test_a_metric_read_against_its_own_way_says_so() -> None:
    from scoring.validation.advice_file import _why
    from scoring.validation.advise_search import Chosen

    line = FittedScale("linear", worst=16100.0, best=0.0)
    turned = Chosen(3, line, 12.5, against_own=True)
    assert "read the other way" in _why("chosen with the others", turned)
    assert _why("chosen again", Chosen(3, line, 12.5)) == "chosen again"
