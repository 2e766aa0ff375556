"""The signs of the advisor's metrics, and the scale its held-out folds are judged on.

A metric's direction is first chosen alone (candidate_scales.py), but a signal can be "bad
given the others" (more seconds of use at the same number of calls came before churn): the
search offers each line read both ways (`_variants`), ranks candidates by a logistic fit with
any sign (`signed_sets`), and nets a metric chosen both ways (`_one_way`). A metric read
against its own way says so in the proposal. `on_training_scale` puts each fold's proposal on
its training log-odds, so folds that proposed different models can be pooled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.validation.candidate_scales import FittedScale
from scoring.validation.fitting import column_means, fit_logistic, impute

SIGNED_PENALTY = 1e-5  # light: the signed fit only ranks candidates, weights come later
CALIBRATION_PENALTY = 1e-6  # one slope on a 0-1 score: next to no shrinkage needed
UNSCORED = 50.0  # a row the proposal cannot score (too little weight with data)


@dataclass(frozen=True)
class Screened:
    column: int
    scale: FittedScale
    train_auc: float


def _variants(shortlist: list[Screened]) -> list[Screened]:
    """Each shortlisted candidate as it is, plus its straight line read the other way: the
    way a metric points can differ once another one is in (more calls at the same call time)."""
    out = list(shortlist)
    for cand in shortlist:
        line = cand.scale if cand.scale.kind == "linear" else None
        if line is not None:
            turned = FittedScale("linear", worst=line.best, best=line.worst)
            out.append(Screened(cand.column, turned, 1.0 - cand.train_auc))
    return out


def signed_sets(
    sub: np.ndarray, y: np.ndarray, shortlist: list[Screened], originals: int, most: int
) -> list[list[int]]:
    """Sets of at most `most` candidates (most, ..., 1) from a logistic fit with ANY sign on the
    first `originals` (each as screened), as positions in `shortlist` (`_variants`' list): a
    candidate whose fitted sign says "riskier when higher, given the others" enters read the
    other way (its reversed line). The non-negative L1 path sees such a candidate only when its
    reversed line enters on its own; the signed fit weighs every orientation at once. Backward
    elimination: refit, drop the candidate that moves the fitted score least (|weight| x
    spread), until 1 is left; a step scale that fits the wrong way is dropped at once (it has
    no reversed variant)."""
    unit = sub[:, :originals] / 100.0
    full = impute(unit, column_means(unit))
    spread = full.std(axis=0)
    reversed_at = {
        (c.column, c.scale.best, c.scale.worst): i
        for i, c in enumerate(shortlist[originals:], start=originals)
    }
    seen: set[int] = set()
    left = []
    for j in range(originals):  # one scale per candidate: the screened one before the model's
        if spread[j] > 0 and shortlist[j].column not in seen:
            seen.add(shortlist[j].column)
            left.append(j)
    sets: list[list[int]] = []
    while left:
        _, w = fit_logistic(full[:, left], y.astype(float), SIGNED_PENALTY, nonnegative=False)
        pull = np.abs(w) * spread[left]
        stuck = [i for i, j in enumerate(left) if w[i] < 0 and shortlist[j].scale.kind != "linear"]
        if len(left) <= most and not stuck:
            sets.append(
                [
                    j if wt > 0 else reversed_at[(shortlist[j].column, *_ends(shortlist[j]))]
                    for j, wt in zip(left, w, strict=True)
                    if wt != 0
                ]
            )
        drop = stuck[0] if stuck else int(np.argmin(pull))
        left = left[:drop] + left[drop + 1 :]
    return sets


def _ends(cand: Screened) -> tuple[float, float]:
    return cand.scale.worst, cand.scale.best


def _one_way(picked: list[Screened], weights: np.ndarray) -> tuple[list[Screened], np.ndarray]:
    """A candidate chosen both ways keeps only its heavier way, with the lighter way's weight
    taken off: w1 * s + w2 * (100 - s) ranks accounts as (w1 - w2) * s does."""
    heaviest: dict[int, int] = {}
    for i, cand in enumerate(picked):
        j = heaviest.get(cand.column)
        if j is None or weights[i] > weights[j]:
            heaviest[cand.column] = i
    net = np.array(weights, dtype=float)
    for i, cand in enumerate(picked):
        j = heaviest[cand.column]
        if j != i and _opposite(cand.scale, picked[j].scale):
            net[j] -= weights[i]
    keep = sorted(heaviest.values())
    return [picked[i] for i in keep], np.maximum(net[keep], 0.0)


def _opposite(a: FittedScale, b: FittedScale) -> bool:
    """The same straight line read the other way."""
    return a.kind == b.kind == "linear" and (a.worst, a.best) == (b.best, b.worst)


def on_training_scale(test: np.ndarray, train: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    """A fold's proposal scores as the churn log-odds its training rows give them (higher =
    healthier; unscored rows count as 50 on both sides).

    Each fold proposes its own metrics and weights, so a score of 60 in one fold is not a 60 in
    another; pooling raw scores across folds would rank accounts of different folds against
    each other on scales that never meet in use. The map is monotone (within a fold it changes
    no ranking) and fitted on training rows only, as the baseline's logistic regression puts
    its own held-out rows on its training log-odds. Falls back to the raw scores when the
    training rows show no slope."""
    fill_train = np.where(np.isfinite(train), train, UNSCORED) / 100.0
    fill_test = np.where(np.isfinite(test), test, UNSCORED) / 100.0
    b, w = fit_logistic(fill_train[:, None], y_train.astype(float), CALIBRATION_PENALTY)
    if not w[0] > 0:
        return fill_test * 100.0
    return w[0] * fill_test - b
