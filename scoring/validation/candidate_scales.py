"""A direction and a 0-100 scale for a candidate metric, from its training values' quantiles.

Two forms, both ones a person writes in a model file:
- linear: worst = the 1st percentile on the risky side, best = the 99th on the healthy side
  (the lowest/highest value when those coincide), rounded to three significant digits (a
  narrower range, the 5th to 95th, ranked worse on the Iranian churn data: the clamp hides
  the extremes where churners sit);
- steps: the quintile cuts, each step scored by the churn rate of its training rows made
  monotone in the chosen direction (pool adjacent violators), worst step 0, best 100.
Steps are kept only when they rank clearly better than the straight line (a skewed signal such
as seconds of use, whose line saturates), since a line is easier to read, and only with at
least 100 churned training rows: their scores are churn rates, noise on fewer.
Beside each line the search also tries finer steps (`fine_steps`: up to deciles, one level per
10 churned training rows, scored on monotone churn log-odds): alone they rank no better than
the line (a monotone map keeps the order), but their shape can add up better with the other
metrics, which only the search's cross-validated sets can tell (advise_steps.py).
The direction is the one in which higher sub-scores came before less churn on training rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scoring.config import Scale
from scoring.validation.metrics import auc

STEP_QUANTILES = (0.2, 0.4, 0.6, 0.8)
STEPS_MUST_WIN_BY = 0.01  # AUC a step scale must add over the line to be chosen
STEPS_MIN_CHURNED = 100  # churned rows a step scale needs: its scores are churn rates
CUT_TOLERANCE = 1e-6  # relative: float32 rounding of a value that sits on a step's cut
FINE_LEVELS = 10  # the search's finer steps: deciles at most,
FINE_MIN_LEVELS = 4  # at least quartiles,
FINE_CHURNED_PER_LEVEL = 10  # and 10 churned training rows per level on average


@dataclass(frozen=True)
class FittedScale:
    """`kind` "linear" (worst, best) or "steps" (cuts ascending, scores per cut-bin: below the
    first cut, ..., at least the last)."""

    kind: str
    worst: float = 0.0
    best: float = 0.0
    cuts: tuple[float, ...] = ()
    scores: tuple[float, ...] = ()

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """0-100 sub-scores as the engine computes them (NaN stays NaN)."""
        raw = np.asarray(raw, dtype=float)
        if self.kind == "linear":
            with np.errstate(invalid="ignore"):
                out = 100.0 * (raw - self.worst) / (self.best - self.worst)
            return np.clip(out, 0.0, 100.0)
        # The advisor reads candidates as float32, the engine as float64: a value ON a cut
        # (cuts are rounded, so data often sits on one) may come back a hair below it, and
        # would fall a whole step lower than the engine puts it. Within float32 precision of a
        # cut counts as at the cut, as `below: c` treats c.
        cuts = np.asarray(self.cuts, dtype=float)
        bins = np.searchsorted(cuts - np.abs(cuts) * CUT_TOLERANCE, raw, side="right")
        out = np.asarray(self.scores, dtype=float)[np.clip(bins, 0, len(self.scores) - 1)]
        return np.where(np.isnan(raw), np.nan, out)

    def yaml(self) -> str:
        """The scale as a flow mapping for the model file."""
        if self.kind == "linear":
            return f"{{worst: {nice(self.worst)}, best: {nice(self.best)}}}"
        steps = [
            f"{{below: {nice(c)}, score: {nice(s)}}}"
            for c, s in zip(self.cuts, self.scores, strict=False)
        ]
        steps.append(f"{{score: {nice(self.scores[-1])}}}")
        return f"{{steps: [{', '.join(steps)}]}}"


def nice(value: float) -> str:
    """Three significant digits, no trailing zeros: 12345.6 -> 12300, 0.01234 -> 0.0123."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return "0"
    digits = 2 - int(math.floor(math.log10(abs(value))))
    rounded = round(value, digits)
    text = f"{rounded:.{max(digits, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _parse(text: str) -> float:
    return float(text)


def linear_scale(values: np.ndarray, higher_is_better: bool) -> FittedScale | None:
    """worst/best at the 1st/99th percentiles (min/max when equal); None for a constant."""
    for low, high in ((1, 99), (0, 100)):
        lo, hi = (_parse(nice(v)) for v in np.percentile(values, [low, high]))
        if hi > lo:
            worst, best = (lo, hi) if higher_is_better else (hi, lo)
            return FittedScale("linear", worst=worst, best=best)
    return None


def _monotone(rates: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pool adjacent violators: the non-increasing sequence closest to `rates` (weighted)."""
    blocks = [[float(r), float(w), 1] for r, w in zip(rates, weights, strict=True)]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] < blocks[i + 1][0]:  # churn must not rise with the bin
            a, b = blocks[i], blocks[i + 1]
            total = a[1] + b[1]
            mean = (a[0] * a[1] + b[0] * b[1]) / total if total else (a[0] + b[0]) / 2
            blocks[i : i + 2] = [[mean, total, a[2] + b[2]]]
            i = max(i - 1, 0)
        else:
            i += 1
    return np.repeat([b[0] for b in blocks], [b[2] for b in blocks])


def step_scale(
    values: np.ndarray,
    churned: np.ndarray,
    higher_is_better: bool,
    quantiles: tuple[float, ...] = STEP_QUANTILES,
    log_odds: bool = False,
) -> FittedScale | None:
    """Cuts at the `quantiles` of `values` (rounded to three digits, ties merged), each bin
    scored by its churn rate made monotone in the chosen direction (pool adjacent violators),
    worst step 0, best 100; None with fewer than 2 distinct scores.

    `log_odds`: score the bins on the churn log-odds of the monotone rates (half a churned
    and half a kept row added to every bin, so an empty-of-churn bin stays finite) instead of
    the rates: the score is a weighted sum of sub-scores fitted as log-odds, so a sub-score
    linear in a metric's own log-odds is the one that adds up with the others (the weight of
    evidence of credit scorecards)."""
    cuts = np.unique([_parse(nice(c)) for c in np.quantile(values, quantiles)])
    if len(cuts) < 1:
        return None
    bins = np.searchsorted(cuts, values, side="right")
    n = np.bincount(bins, minlength=len(cuts) + 1).astype(float)
    hit = np.bincount(bins, weights=churned.astype(float), minlength=len(cuts) + 1)
    if (n == 0).any():
        return None
    rate = (hit + 0.5) / (n + 1.0) if log_odds else hit / n
    ordered = rate if higher_is_better else rate[::-1]
    fitted = _monotone(ordered, n)
    fitted = fitted if higher_is_better else fitted[::-1]
    if log_odds:
        fitted = np.log(fitted / (1.0 - fitted))
    top, bottom = fitted.max(), fitted.min()
    if top <= bottom:
        return None
    scores = np.round(100.0 * (top - fitted) / (top - bottom))
    # a cut between two steps of the same score changes no score: leave it out of the file
    keep = np.flatnonzero(np.diff(scores) != 0)
    return FittedScale(
        "steps",
        cuts=tuple(float(c) for c in cuts[keep]),
        scores=tuple(float(s) for s in np.append(scores[keep], scores[-1])),
    )


def fine_steps(
    values: np.ndarray, churned: np.ndarray, higher_is_better: bool
) -> FittedScale | None:
    """The finer step scale the search offers beside a candidate's line: one level per
    FINE_CHURNED_PER_LEVEL churned rows, FINE_LEVELS at most (deciles), scored on monotone
    log-odds; None with fewer than FINE_MIN_LEVELS levels' worth of churned rows or values.
    Fitted on whatever rows it is given: the search gives it training rows only."""
    has = np.isfinite(values)
    levels = min(FINE_LEVELS, int(churned[has].sum()) // FINE_CHURNED_PER_LEVEL)
    if levels < FINE_MIN_LEVELS:
        return None
    quantiles = tuple(np.arange(1, levels) / levels)
    return step_scale(values[has], churned[has], higher_is_better, quantiles, log_odds=True)


def fit_scale(values: np.ndarray, churned: np.ndarray) -> tuple[FittedScale, float] | None:
    """The candidate's scale and its training AUC (of the sub-score), or None when it has no
    spread or no rows with data."""
    has = np.isfinite(values)
    if has.sum() < 10:
        return None
    v, y = values[has], churned[has]
    raw = auc(v, y)
    if not math.isfinite(raw):
        return None
    higher = raw >= 0.5
    line = linear_scale(v, higher)
    if line is None:
        return None
    best, best_auc = line, auc(line.apply(v), y)
    steps = step_scale(v, y, higher) if y.sum() >= STEPS_MIN_CHURNED else None
    if steps is not None:
        steps_auc = auc(steps.apply(v), y)
        if steps_auc > best_auc + STEPS_MUST_WIN_BY:
            best, best_auc = steps, steps_auc
    return best, best_auc


def from_model(scale: Scale) -> FittedScale | None:
    """A model file's own scale in this form: linear, or steps of ascending `below` cuts;
    None for the others (percentile, `at_least` steps), which the advisor refits instead."""
    if scale.kind == "linear" and scale.worst is not None and scale.best is not None:
        return FittedScale("linear", worst=float(scale.worst), best=float(scale.best))
    if scale.kind != "steps" or not scale.steps:
        return None
    cuts = [step.below for step in scale.steps[:-1]]
    if any(c is None for c in cuts) or cuts != sorted(cuts) or not scale.steps[-1].matches_all:
        return None
    scores = tuple(float(step.score) for step in scale.steps)
    return FittedScale("steps", cuts=tuple(float(c) for c in cuts), scores=scores)
