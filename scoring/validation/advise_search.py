"""The advisor's search on training rows: candidates in, at most 7 scaled, weighted metrics out.

1. Each candidate gets a direction and a scale from its training values (candidate_scales.py)
   and its training AUC; candidates with data on under half the rows, no spread, or an AUC
   within 0.02 of a coin toss are left out.
2. The strongest 40 are kept, at most 4 per signal, skipping any whose sub-score ranks rows
   almost exactly like a stronger one's (Spearman > 0.97): a near-copy adds nothing to explain.
3. Forward selection: add the candidate that raises the AUC of the engine's score (the
   weighted mean of sub-scores with data, weights from a non-negative logistic fit) the most;
   stop at 7 metrics or when the best addition adds less than 0.002. With the L1 path and the
   signed fit, these give candidate sets; each is also tried with its lines swapped for finer
   step scales fitted on the same training rows (advise_steps.py), and the set that ranks
   best under an inner cross-validation by account is kept.
4. The final weights: the same non-negative fit with its penalty chosen by cross-validation
   grouped by account, on the file's scale (weights add up to 100, tiny ones dropped).

Steps 1-3 read a sample of at most 20,000 training rows (every churned row kept when they fit,
the rest drawn at random): AUC does not depend on the class balance, and the search costs the
same on 10,000 accounts as on 1,000. Step 4 reads every training row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from scoring.validation.advise_signs import Screened, _one_way, _variants, signed_sets
from scoring.validation.advise_steps import step_twins, stepped_sets
from scoring.validation.candidate_scales import FittedScale, fit_scale
from scoring.validation.fitting import (
    choose_penalty,
    column_means,
    fit_logistic,
    impute,
    model_weights,
    weighted_score,
)
from scoring.validation.metrics import auc
from scoring.validation.sparse_fit import l1_path
from scoring.validation.split import account_folds

MAX_METRICS = 7
MIN_COVERAGE = 0.5
MIN_EDGE = 0.005
SHORTLIST = 40
PER_SIGNAL = 4
NEAR_COPY = 0.97
MIN_GAIN = 0.002
SAMPLE_ROWS = 20_000
SEARCH_PENALTY = 1e-3
WEIGHT_GRID = (1.0, 2.0)
FINALISTS = 3
INNER_FOLDS = 3
STEPPED_TOP = 8  # best candidate sets also judged with finer step scales
TOTAL_WEIGHT = 100.0


@dataclass(frozen=True)
class Chosen:
    """A metric of the advised model: candidate column, its scale and weight (file scale)."""

    column: int
    scale: FittedScale
    weight: float
    # read against the way it points alone (it helps only beside the others): the proposal
    # says so in its comment
    against_own: bool = False


def sample_rows(y: np.ndarray, rng: np.random.Generator, limit: int = SAMPLE_ROWS) -> np.ndarray:
    """Row positions: all of them when few, else every churned row (up to half the sample)
    and a random draw of the rest."""
    if len(y) <= limit:
        return np.arange(len(y))
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    pos = pos if len(pos) <= limit // 2 else rng.choice(pos, limit // 2, replace=False)
    neg = rng.choice(neg, min(len(neg), limit - len(pos)), replace=False)
    return np.sort(np.concatenate([pos, neg]))


def screen(
    x: np.ndarray, y: np.ndarray, signals: list[str], prefer: frozenset[int] = frozenset()
) -> list[Screened]:
    """Steps 1-2: candidates with data, spread and an edge, strongest first, near-copies out;
    on a tie (AUC to 3 decimals) a `prefer`red candidate (one the model already has) first, so
    a copy of a current metric keeps the current metric's name."""
    found = []
    for j in range(x.shape[1]):
        column = x[:, j].astype(float)
        if np.isfinite(column).mean() < MIN_COVERAGE:
            continue
        fitted = fit_scale(column, y)
        if fitted is not None and fitted[1] >= 0.5 + MIN_EDGE:
            found.append(Screened(j, fitted[0], fitted[1]))
    found.sort(key=lambda s: (-round(s.train_auc, 3), s.column not in prefer, s.column))
    kept: list[Screened] = []
    ranks: list[np.ndarray] = []
    per_signal: dict[str, int] = {}
    for cand in found:
        if len(kept) >= SHORTLIST or per_signal.get(signals[cand.column], 0) >= PER_SIGNAL:
            continue
        sub = cand.scale.apply(x[:, cand.column])
        rank = rankdata(np.where(np.isfinite(sub), sub, np.nanmean(sub)))
        rank = (rank - rank.mean()) / (rank.std() or 1.0)
        if any(abs(float(np.mean(rank * r))) > NEAR_COPY for r in ranks):
            continue
        kept.append(cand)
        ranks.append(rank)
        per_signal[signals[cand.column]] = per_signal.get(signals[cand.column], 0) + 1
    return kept


def _refit(sub: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative logistic weights for these sub-scores (0 where the fit drops one)."""
    unit = sub / 100.0
    _, w = fit_logistic(impute(unit, column_means(unit)), y.astype(float), SEARCH_PENALTY)
    return w


def forward_select(sub: np.ndarray, y: np.ndarray) -> list[int]:
    """Step 3: positions (in `sub`'s columns) of the chosen candidates, in the order added.

    Each step first tries every remaining candidate beside the chosen ones at a few relative
    weights (half, equal, double their mean weight), reading the AUC of the engine's score
    directly; the best few are then refitted with the chosen ones (non-negative logistic
    weights) and the one whose fitted score ranks best is added."""
    chosen: list[int] = []
    weights = np.zeros(0)
    best = 0.5
    while len(chosen) < min(MAX_METRICS, sub.shape[1]):
        unit = float(weights.mean()) if len(weights) and weights.sum() > 0 else 1.0
        quick: dict[int, float] = {}
        for j in range(sub.shape[1]):
            if j in chosen:
                continue
            for factor in WEIGHT_GRID if chosen else (1.0,):
                value = auc(
                    weighted_score(sub[:, [*chosen, j]], np.append(weights, factor * unit)), y
                )
                if np.isfinite(value) and value > quick.get(j, -1.0):
                    quick[j] = value
        finalists = sorted(quick, key=lambda j: -quick[j])[:FINALISTS]
        trials = []
        for j in finalists:
            w = _refit(sub[:, [*chosen, j]], y)
            if w[-1] > 0 and w.sum() > 0:
                trials.append((auc(weighted_score(sub[:, [*chosen, j]], w), y), j, w))
        if not trials:
            break
        value, j, w = max(trials, key=lambda t: t[0])
        if chosen and value < best + MIN_GAIN:
            break
        chosen.append(j)
        weights, best = w, value
    return chosen


def _cv_auc(sub: np.ndarray, y: np.ndarray, fold: np.ndarray) -> float:
    """AUC of the refitted score on rows each refit did not see (folds by account)."""
    score = np.full(len(y), np.nan)
    for k in range(int(fold.max()) + 1):
        test = fold == k
        w = _refit(sub[~test], y[~test])
        if w.sum() > 0:
            score[test] = weighted_score(sub[test], w)
    return auc(np.where(np.isfinite(score), score, 50.0), y)


def _best_set(
    sub: np.ndarray,
    y: np.ndarray,
    ids: np.ndarray,
    sets: list[list[int]],
    twin_at: dict[int, int] | None = None,
) -> list[int]:
    """The set whose refitted score ranks best on rows its fit did not see (3 folds by
    account); a bigger set must add MIN_GAIN per extra metric. With `twin_at` (a line's
    position -> its step twin's), the STEPPED_TOP best sets are also judged with their lines
    swapped for step twins: the sets that rank well are the ones whose shape matters, and
    judging only those keeps the search's cost bounded."""
    fold = account_folds(ids, y, INNER_FOLDS, 7)
    judged = {c: _cv_auc(sub[:, list(c)], y, fold) for c in {tuple(c) for c in sets if c}}
    if twin_at:
        top = sorted(judged, key=lambda c: -judged[c] if np.isfinite(judged[c]) else 0.0)
        for stepped in stepped_sets([list(c) for c in top[:STEPPED_TOP]], twin_at):
            if tuple(stepped) not in judged:
                judged[tuple(stepped)] = _cv_auc(sub[:, stepped], y, fold)
    best: tuple[float, list[int]] = (0.5, [])
    for chosen in sorted(judged, key=len):
        value = judged[chosen]
        extra = len(chosen) - len(best[1])
        if np.isfinite(value) and (not best[1] or value >= best[0] + MIN_GAIN * max(extra, 0)):
            w = _refit(sub[:, list(chosen)], y)
            best = (value, [j for j, wt in zip(chosen, w, strict=True) if wt > 0])
    return best[1]


def search(
    x: np.ndarray,
    y: np.ndarray,
    ids: np.ndarray,
    signals: list[str],
    seed: int,
    fixed: list[tuple[int, FittedScale]] = (),
) -> list[Chosen]:
    """Steps 1-4 on training rows `x` (rows x candidates, raw values), labels `y`, accounts
    `ids`; `signals[j]`: the signal of candidate j; `fixed`: (candidate, scale) pairs always
    on the shortlist (the current model's metrics with their own scales, so a good metric
    can stay as it is). Empty when nothing predicts churn."""
    rng = np.random.default_rng(seed)
    rows = sample_rows(y, rng)
    own = [
        Screened(j, scale, auc(scale.apply(x[rows, j]), y[rows]))
        for j, scale in fixed
        if np.isfinite(x[rows, j]).mean() >= MIN_COVERAGE
    ]
    found = screen(x[rows], y[rows], signals, frozenset(j for j, _ in fixed))
    shortlist = _variants(found + own)
    if not shortlist:
        return []
    sub = np.column_stack([c.scale.apply(x[rows, c.column]) for c in shortlist])
    unit = sub / 100.0
    sets = l1_path(impute(unit, column_means(unit)), y[rows], MAX_METRICS)
    sets.append(forward_select(sub, y[rows]))
    sets.extend(signed_sets(sub, y[rows], shortlist, len(found) + len(own), MAX_METRICS))
    twins = step_twins(x[rows], y[rows], shortlist, len(found))
    twin_at = {i: len(shortlist) + k for k, i in enumerate(twins)}
    if twins:
        shortlist = shortlist + list(twins.values())
        sub = np.column_stack([sub, *(t.scale.apply(x[rows, t.column]) for t in twins.values())])
    sets.append(list(range(len(found), len(found) + len(own))))  # the current model as it is
    best = _best_set(sub, y[rows], ids[rows], sets, twin_at)
    picked = [shortlist[i] for i in best]
    if not picked:
        return []
    full = np.column_stack([c.scale.apply(x[:, c.column]) for c in picked]) / 100.0
    penalty = choose_penalty(full, y.astype(float), ids, seed)
    _, w = fit_logistic(impute(full, column_means(full)), y.astype(float), penalty)
    picked, w = _one_way(picked, w)
    weights = model_weights(w, TOTAL_WEIGHT)
    if weights is None:
        return []
    return [
        Chosen(c.column, c.scale, float(wt), against_own=c.train_auc < 0.5)
        for c, wt in zip(picked, weights, strict=True)
        if wt > 0
    ]


def advised_score(x: np.ndarray, chosen: list[Chosen], min_completeness: float) -> np.ndarray:
    """The engine's score for the advised metrics: weighted mean of the sub-scores with data,
    NaN where less than `min_completeness` of the weight has data."""
    if not chosen:
        return np.full(len(x), np.nan)
    sub = np.column_stack([c.scale.apply(x[:, c.column]) for c in chosen])
    weights = np.array([c.weight for c in chosen])
    score = weighted_score(sub, weights)
    share = (np.isfinite(sub) * weights).sum(axis=1) / weights.sum()
    return np.where(share + 1e-9 >= min_completeness, score, np.nan)
