"""The advisor's finer step scales: a signal whose risk sits in a narrow range (very low usage)
gets steps that a line cannot draw, fitted on training rows only, written as an ordinary
`steps` scale whose points the engine adds up as the advisor did."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from scoring.config import parse_model
from scoring.engine.score import score_accounts
from scoring.validation.advise_search import advised_score, search
from scoring.validation.advise_signs import Screened
from scoring.validation.advise_steps import step_twins, stepped_sets
from scoring.validation.candidate_scales import (
    FINE_CHURNED_PER_LEVEL,
    FINE_MIN_LEVELS,
    FittedScale,
    fine_steps,
    from_model,
    linear_scale,
    nice,
)
from scoring.validation.fitting import weighted_score
from scoring.validation.metrics import auc

SIGNALS = ["usage", "calls", "complaints"]


def _threshold(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Skewed usage (a line over its 1st-99th percentiles saturates) whose churn risk sits in
    its lowest 30%, calls that follow usage, and complaints."""
    rng = np.random.default_rng(seed)
    usage = rng.lognormal(7, 1.2, n)
    calls = usage**0.5 * rng.lognormal(0, 0.3, n)
    complaints = (rng.random(n) < 0.1).astype(float)
    low, lower = np.quantile(usage, [0.15, 0.3])
    logit = -2.5 + 3.0 * (usage < low) + 1.0 * (usage < lower) + 2.0 * complaints
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    return np.column_stack([usage, calls, complaints]), churned


def _lines_only(x: np.ndarray, y: np.ndarray, xt: np.ndarray) -> np.ndarray:
    """Held-out scores of the best the lines can do: every signal's line, logistic weights."""
    from scoring.validation.advise_search import _refit

    scales = []
    for j in range(x.shape[1]):
        scales.append(linear_scale(x[:, j], auc(x[:, j], y) >= 0.5))
    sub = np.column_stack([s.apply(x[:, j]) for j, s in enumerate(scales)])
    weights = _refit(sub, y)
    return weighted_score(
        np.column_stack([s.apply(xt[:, j]) for j, s in enumerate(scales)]), weights
    )


def test_fine_steps_beat_the_lines_on_held_out_rows() -> None:
    x, y = _threshold(3000, 1)
    xt, yt = _threshold(3000, 2)
    chosen = search(x, y, np.arange(len(y)).astype(str), SIGNALS, 0)
    usage = next(c for c in chosen if c.column == 0)
    assert usage.scale.kind == "steps" and 4 <= len(usage.scale.scores) <= 10
    scores = np.array(usage.scale.scores)
    assert (np.diff(scores) > 0).all()  # monotone: more usage never scores lower
    assert scores[0] == 0 and scores[-1] == 100
    held = auc(advised_score(xt, chosen, 0.5), yt)
    assert held > auc(_lines_only(x, y, xt), yt) + 0.02


def test_steps_are_fitted_on_the_rows_given_only() -> None:
    """No leakage: the cuts are the training values' quantiles and the scores their churn;
    rows the fit never saw (here with the opposite pattern) change nothing."""
    x, y = _threshold(3000, 1)
    steps = fine_steps(x[:, 0], y, True)
    assert steps is not None
    deciles = {float(nice(c)) for c in np.quantile(x[:, 0], np.arange(1, 10) / 10)}
    assert set(steps.cuts) <= deciles
    xt, yt = _threshold(3000, 2)
    flipped = ~yt  # held-out churn the other way round
    again = fine_steps(x[:, 0], y, True)
    assert again == steps
    both = fine_steps(np.concatenate([x[:, 0], xt[:, 0]]), np.concatenate([y, flipped]), True)
    assert both != steps  # had the held-out rows reached the fit, the steps would differ
    found = [Screened(0, linear_scale(x[:, 0], True), auc(x[:, 0], y))]
    twins = step_twins(x, y, found, 1)
    assert twins[0].scale == steps  # the search's twin is this training-only fit


def test_too_few_churned_rows_keep_the_line() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(size=2000)
    few = np.zeros(2000, dtype=bool)
    few[np.argsort(values)[: FINE_MIN_LEVELS * FINE_CHURNED_PER_LEVEL - 1]] = True
    assert fine_steps(values, few, True) is None
    enough = few.copy()
    enough[np.argsort(values)[FINE_MIN_LEVELS * FINE_CHURNED_PER_LEVEL]] = True
    found = fine_steps(values, enough, True)
    assert found is not None and len(found.scores) >= 2


def test_every_set_is_also_tried_with_its_lines_swapped_for_steps() -> None:
    sets = [[0, 2], [1], [0, 1, 3]]
    assert stepped_sets(sets, {0: 5, 3: 6}) == [[5, 2], [5, 1, 6]]


def test_fine_steps_are_an_ordinary_steps_scale_in_the_model_file() -> None:
    x, y = _threshold(3000, 1)
    steps = fine_steps(x[:, 0], y, True)
    text = f"""\
bands:
  - {{name: healthy, min: 70}}
  - {{name: critical, min: 0}}
metrics:
  usage:
    signal: usage
    aggregate: last
    window_days: 30
    scale: {steps.yaml()}
    weight: 100
"""
    model = parse_model(text)
    again = from_model(model.metrics["usage"].scale)
    assert again is not None and again.kind == "steps"
    assert np.array_equal(again.apply(x[:, 0]), steps.apply(x[:, 0]))
    # The engine reading the file scores each account as the advisor's scale does, on the
    # cuts themselves too (`below: c` puts c in the next step up).
    values = np.array([*steps.cuts, *x[:40, 0]])
    ids = [f"a{i}" for i in range(len(values))]
    accounts = pd.DataFrame({"account_id": ids, "name": ids})
    signals = pd.DataFrame(
        {"account_id": ids, "signal": "usage", "date": pd.Timestamp("2026-01-10"), "value": values}
    )
    scores = score_accounts(model, accounts, signals, dt.date(2026, 1, 15))
    engine = scores.accounts.set_index("account_id")["score"].reindex(ids).to_numpy(float)
    assert np.allclose(engine, steps.apply(values))


def test_a_float32_value_on_a_cut_scores_as_the_engine_does() -> None:
    """The advisor reads candidates as float32: 10.7 comes back as 10.69999980926...; `below:
    10.7` still puts it in the step above, as the engine does with the float64 10.7."""
    scale = FittedScale("steps", cuts=(10.7,), scores=(0.0, 100.0))
    on_cut = np.array([10.7], dtype=np.float32)
    assert float(on_cut[0]) < 10.7  # the hair below
    assert scale.apply(on_cut).tolist() == [100.0]
    assert scale.apply(np.array([10.69])).tolist() == [0.0]
