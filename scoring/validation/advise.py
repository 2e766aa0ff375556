"""`healthbot calibrate --advise`: which signals belong in the score, with which aggregate,
window, scale and weight, judged on held-out data against the current model and a baseline.

Calibrate re-weights the metrics a model has; it cannot add a signal the model left out. The
advisor builds candidates from every synced signal except `advise.exclude_signals` (every
aggregate over each of `advise.windows_days`, candidates.py; a signal read in place from a
warehouse table is aggregated there, by compiled queries per as-of day), searches on training
rows for at most 7 scaled, non-negatively weighted metrics (advise_search.py), and scores
held-out rows with them exactly as the engine would. The held-out rows are calibrate's
(split.py: the latest periods when there are 4 or more, else folds grouped by account), and
the search is rerun inside every fold, so no held-out churn ever steers a choice. The same
rows score:
- the current model (its backtest score),
- the proposal (rows it cannot score, too little weight with data, count as 50),
- a baseline: a logistic regression on the same candidates' raw values, standardized, any
  sign (scikit-learn), fitted on the same training rows;
with standard errors and paired differences from resampling accounts (paired_auc.py).
Account-periods whose horizon is not over (censored) are neither fitted nor judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.decisions.placed_history import InPlaceSignals
from scoring.errors import HealthbotError
from scoring.validation.advise_search import Chosen, advised_score, sample_rows, search
from scoring.validation.advise_signs import UNSCORED, on_training_scale
from scoring.validation.backtest import Backtest
from scoring.validation.calibrate import suggest_bands
from scoring.validation.candidate_scales import FittedScale, from_model
from scoring.validation.candidates import CandidateSpec, candidate_frame, candidate_specs
from scoring.validation.metrics import auc
from scoring.validation.paired_auc import bootstrap_aucs
from scoring.validation.split import Split, holdout_split

# The search is bounded: beyond this many account-periods it runs on a random sample of the
# accounts (every churned account while they are at most half of it), as many as keep it
# within the bound: ~1,900 accounts of a 52-week history, every one of 2,850 with one period.
# The cost then stays the same for 10,000 accounts or 100,000.
MAX_ROWS = 100_000
BASELINE_ROWS = 40_000  # the baseline's training rows, at most (drawn like the search's)
BASELINE_C = 1.0  # scikit-learn's default L2 strength
NAMES = ("current", "proposal", "baseline")


@dataclass
class Advice:
    specs: list[CandidateSpec]
    chosen: list[Chosen]
    candidates: pd.DataFrame  # key, signal, aggregate, window_days, coverage, heldout_auc
    auc: dict[str, float]
    se: dict[str, float]
    pair_se: dict[tuple[str, str], float]
    split: Split
    heldout_rows: int
    heldout_churned: int
    heldout_accounts: int
    unscored_share: float
    bands: dict[str, float] | None
    excluded: list[str]
    windows: list[int]
    accounts: int = 0
    sampled: bool = False  # a random sample of the accounts (MAX_ROWS), not all of them
    notes: list[str] = field(default_factory=list)

    @property
    def not_worse(self) -> bool:
        """The proposal does at least as well as the current model on held-out rows."""
        cur, new = self.auc["current"], self.auc["proposal"]
        return bool(np.isfinite(new) and (not np.isfinite(cur) or new >= cur))

    @property
    def meets_target(self) -> bool:
        """Within one standard error (of the paired difference) of the baseline, or above."""
        gap = self.auc["baseline"] - self.auc["proposal"]
        return bool(gap <= self.pair_se[("proposal", "baseline")] + 1e-12)

    def spec(self, chosen: Chosen) -> CandidateSpec:
        return self.specs[chosen.column]


def advise(
    model: Model,
    backtest: Backtest,
    signals: pd.DataFrame,
    accounts: pd.Index,
    seed: int = 0,
    in_place: InPlaceSignals | None = None,
) -> Advice:
    """Search, check and propose (see the module docstring). `signals`: every synced signal
    (long layout) dated up to the last backtested as-of day, enough days back for the longest
    window; `accounts`: the backtest's account ids; `in_place`: the signals read in place
    (a warehouse table, no rows in `signals`), candidates like the others, computed there."""
    keep = (backtest.rows["status"] == "scored").to_numpy() & backtest.rows["score"].notna()
    keep &= ~backtest.rows["censored"].to_numpy(dtype=bool)
    in_sample = _account_sample(backtest.rows, seed)
    keep = keep.to_numpy() & in_sample
    sub = backtest.subset(keep)
    rows = sub.rows
    y = rows["churned"].to_numpy(dtype=bool)
    if rows.empty or y.sum() < 2 or (~y).sum() < 2:
        raise HealthbotError(
            "too little history to advise on: need at least 2 account-periods followed by churn"
            " within the horizon and 2 that were not (widen --from/--to or --horizon-days)"
        )
    excluded = sorted(set(model.advise.exclude_signals))
    names = {str(s) for s in pd.unique(signals["signal"].astype(str))}
    names = (names | (in_place.signals if in_place else set())) - set(excluded)
    if not names:
        raise HealthbotError("no synced signal left to advise on (all are in exclude_signals)")
    specs = candidate_specs(names, model.advise.windows_days)
    specs, fixed = _with_current(model, specs, excluded)
    sampled = pd.Index(pd.unique(rows["account_id"].astype(str)))
    accounts = sampled if len(sampled) < len(accounts) else accounts
    x = _features(signals, accounts, backtest.as_ofs, specs, rows, in_place)
    ids = rows["account_id"].astype(str).to_numpy()
    of_signal = [s.signal for s in specs]
    split = holdout_split(rows, backtest.horizon_days, seed)
    rng = np.random.default_rng(seed)
    proposal = np.full(len(rows), np.nan)
    baseline = np.full(len(rows), np.nan)
    unscored_rows = np.zeros(len(rows), dtype=bool)
    heldout_auc = np.full(len(specs), np.nan)
    for k in range(split.folds):
        test = split.fold == k
        train = (split.fold == -1) if split.method == "latest_periods" else ~test
        chosen = search(x[train], y[train], ids[train], of_signal, seed, fixed)
        raw = advised_score(x[test], chosen, model.min_completeness)
        unscored_rows[test] = ~np.isfinite(raw)
        proposal[test] = on_training_scale(
            raw, advised_score(x[train], chosen, model.min_completeness), y[train]
        )
        fit_on = np.flatnonzero(train)[sample_rows(y[train], rng, BASELINE_ROWS)]
        baseline[test] = _baseline(x[fit_on], y[fit_on], x[test])
        if split.method == "latest_periods":
            heldout_auc = _own_aucs(x[train], y[train], x[test], y[test])
    held = split.fold >= 0
    if split.method != "latest_periods":
        heldout_auc = _pooled_own_aucs(x, y, split)
    unscored = unscored_rows[held]
    scores = {
        "current": rows["score"].to_numpy(dtype=float)[held],
        "proposal": np.where(np.isfinite(proposal[held]), proposal[held], UNSCORED),
        "baseline": baseline[held],
    }
    point, se, pair = bootstrap_aucs(scores, y[held], ids[held], seed)
    chosen = search(x, y, ids, of_signal, seed, fixed)
    if not chosen:
        raise HealthbotError(
            "no synced signal predicts churn on this history: nothing to propose (see each"
            " metric's own AUC in `healthbot backtest`)"
        )
    final = advised_score(x, chosen, model.min_completeness)
    return Advice(
        specs=specs,
        chosen=chosen,
        candidates=_candidate_table(specs, x, heldout_auc),
        auc=point,
        se=se,
        pair_se=pair,
        split=split,
        heldout_rows=int(held.sum()),
        heldout_churned=int(y[held].sum()),
        heldout_accounts=len(np.unique(ids[held])),
        unscored_share=float(unscored.mean()) if len(unscored) else 0.0,
        bands=suggest_bands(model, None, rows, final),
        excluded=excluded,
        windows=list(model.advise.windows_days),
        accounts=int(rows["account_id"].nunique()),
        sampled=not bool(in_sample.all()),
    )


def _account_sample(rows: pd.DataFrame, seed: int) -> np.ndarray:
    """Rows of as many accounts as keep the rows within MAX_ROWS: all of them when fewer."""
    ids = rows["account_id"].astype(str)
    ever = rows["churned"].astype(bool).groupby(ids).any()
    most = max(MAX_ROWS // max(rows["as_of"].nunique(), 1), 1)
    if len(ever) <= most:
        return np.ones(len(rows), dtype=bool)
    picked = sample_rows(ever.to_numpy(), np.random.default_rng(seed), most)
    return ids.isin(ever.index[picked]).to_numpy()


def _with_current(
    model: Model, specs: list[CandidateSpec], excluded: list[str]
) -> tuple[list[CandidateSpec], list[tuple[int, FittedScale]]]:
    """The candidates plus the current model's metrics (any window), each of those with its
    own scale, so the search can keep a metric exactly as it is."""
    specs = list(specs)
    position = {s.key: i for i, s in enumerate(specs)}
    fixed = []
    for metric in model.metrics.values():
        scale = from_model(metric.scale)
        if metric.signal in excluded or scale is None:
            continue
        spec = CandidateSpec(metric.signal, metric.aggregate, metric.window_days)
        if spec.key not in position:
            position[spec.key] = len(specs)
            specs.append(spec)
        fixed.append((position[spec.key], scale))
    return specs, fixed


def _features(
    signals: pd.DataFrame,
    accounts: pd.Index,
    as_ofs: list,
    specs: list[CandidateSpec],
    rows: pd.DataFrame,
    in_place: InPlaceSignals | None,
) -> np.ndarray:
    """The candidates' raw values for `rows` (a sum over no rows is 0: nothing happened)."""
    frame = candidate_frame(signals, accounts, as_ofs, specs, in_place)
    n = len(accounts)
    day = pd.Index(pd.to_datetime(pd.Series(as_ofs))).get_indexer(rows["as_of"])
    who = pd.Index(accounts.astype(str)).get_indexer(rows["account_id"].astype(str))
    if (day < 0).any() or (who < 0).any():
        raise AssertionError("a backtest row has no candidate values")
    x = frame.to_numpy()[day * n + who]
    sums = [j for j, s in enumerate(specs) if s.aggregate == "sum"]
    x[:, sums] = np.where(np.isnan(x[:, sums]), 0.0, x[:, sums])
    return x


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    has = np.isfinite(train)
    count = has.sum(axis=0)
    zeroed = np.where(has, train, 0.0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = zeroed.sum(axis=0) / count
        std = np.sqrt(np.maximum((zeroed * zeroed).sum(axis=0) / count - mean * mean, 0.0))
    usable = np.isfinite(mean) & (np.nan_to_num(std) > 0)
    mean, std = mean[usable], std[usable]

    def scaled(part: np.ndarray) -> np.ndarray:
        out = (part[:, usable].astype(float) - mean) / std
        return np.where(np.isfinite(out), out, 0.0)  # missing: the training mean

    return scaled(train), scaled(test)


def _baseline(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """A plain logistic regression on the standardized raw candidates; higher = healthier."""
    from sklearn.linear_model import LogisticRegression  # heavy; only the advisor needs it

    train, test = _standardize(x_train, x_test)
    fit = LogisticRegression(C=BASELINE_C, max_iter=500).fit(train, y_train)
    return -fit.decision_function(test)


def _own_aucs(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> np.ndarray:
    """Each candidate's held-out AUC, read in the direction its training rows showed (a sample
    of them: the direction is all they decide)."""
    rows = sample_rows(y_train, np.random.default_rng(0))
    x_train, y_train = x_train[rows], y_train[rows]
    out = np.full(x_train.shape[1], np.nan)
    for j in range(x_train.shape[1]):
        has_train, has_test = np.isfinite(x_train[:, j]), np.isfinite(x_test[:, j])
        if has_train.sum() < 10 or has_test.sum() < 10:
            continue
        value = auc(x_test[has_test, j], y_test[has_test])
        higher = auc(x_train[has_train, j], y_train[has_train]) >= 0.5
        out[j] = value if higher else 1.0 - value
    return out


def _pooled_own_aucs(x: np.ndarray, y: np.ndarray, split: Split) -> np.ndarray:
    """Held-out AUC per candidate over account folds: each fold read in its training
    direction, pooled by weighting folds by their rows."""
    total = np.zeros(x.shape[1])
    weight = np.zeros(x.shape[1])
    for k in range(split.folds):
        test = split.fold == k
        values = _own_aucs(x[~test], y[~test], x[test], y[test])
        ok = np.isfinite(values)
        total[ok] += values[ok] * test.sum()
        weight[ok] += test.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan)


def _candidate_table(specs: list[CandidateSpec], x: np.ndarray, held: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": [s.key for s in specs],
            "signal": [s.signal for s in specs],
            "aggregate": [s.aggregate for s in specs],
            "window_days": [s.window_days for s in specs],
            "coverage": np.isfinite(x).mean(axis=0),
            "heldout_auc": held,
        }
    )
