"""Finer step scales for the advisor's metrics: the shape of a signal, not just its line.

A straight line (or quintile steps) forces one shape on every signal; a skewed one (seconds of
use) or one whose risk sits in a narrow range (one or two complaints) then adds up badly with
the others. Each shortlisted line gets a step twin (`fine_steps`: up to decile cuts on the
TRAINING rows the search is given, scored on monotone churn log-odds), and every candidate set
the search builds (L1 path, forward selection, signed fit) is also tried with its lines swapped
for their twins. The inner cross-validation (`_best_set`, folds by account within the training
rows) then judges each set both ways, so steps are chosen only where they rank accounts the
fit did not see better. Only the chosen sets are doubled, not the shortlist: the search's cost
grows by the inner cross-validation of those sets alone. A step twin is an ordinary `steps`
scale in the model file, so the points still add up to the score.
"""

from __future__ import annotations

import numpy as np

from scoring.validation.advise_signs import Screened
from scoring.validation.candidate_scales import fine_steps
from scoring.validation.metrics import auc


def step_twins(
    x: np.ndarray, y: np.ndarray, shortlist: list[Screened], originals: int
) -> dict[int, Screened]:
    """For each of the first `originals` shortlisted candidates with a line, its fine step
    scale fitted on (`x`, `y`): {shortlist position: the step twin}."""
    twins: dict[int, Screened] = {}
    for i, cand in enumerate(shortlist[:originals]):
        if cand.scale.kind != "linear":
            continue
        higher = cand.scale.best > cand.scale.worst
        column = x[:, cand.column].astype(float)
        steps = fine_steps(column, y, higher)
        if steps is not None:
            twins[i] = Screened(cand.column, steps, auc(steps.apply(column), y))
    return twins


def stepped_sets(sets: list[list[int]], twin_at: dict[int, int]) -> list[list[int]]:
    """Each set with every member that has a step twin swapped for it (`twin_at`: shortlist
    position -> the twin's position); sets with no such member are left out."""
    out = []
    for chosen in sets:
        swapped = [twin_at.get(j, j) for j in chosen]
        if swapped != chosen:
            out.append(swapped)
    return out
