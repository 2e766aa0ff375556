"""Band downgrades with hysteresis: a score hovering at a band's minimum must not alert each
time it wobbles across it (79.9 ▼ −0.6 is not news).

A downgrade alerts when the score is at least `margin` points below the minimum of the band it
left (a clear fall, at once), or when it has stayed below that minimum for `confirm_runs`
consecutive runs (a slow slide, confirmed). Either way it must also be a real fall: the score
at least `margin` points, and `z` times what scores in its segment commonly move in a week
(`portfolio_moves.segment_spread`), below its usual score (the median of the `usual_runs` runs
before the streak), so a noisy score that always sat near a threshold stays quiet.
Thresholds are each account's own segment bands. The previous runs come in as `recent`
(RECENT_COLUMNS, read in one query by scoring/batch/views.py `recent_scores`); without them
only the margin applies (and the fall from last week's score), as on a first run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.config.sections import BandDowngrade
from scoring.decisions.alert_schema import EPS
from scoring.decisions.metric_history import nan_median
from scoring.decisions.portfolio_moves import segment_spread

RECENT_COLUMNS = ["account_id", "runs_ago", "score_shown"]


def recent_frame(earlier: list[pd.DataFrame]) -> pd.DataFrame:
    """RECENT_COLUMNS from the score frames of the runs before this one, oldest first (what a
    replay or backtest holds in memory instead of reading `recent_scores`)."""
    parts = [
        frame[["account_id", "score_shown"]].assign(runs_ago=len(earlier) - i)
        for i, frame in enumerate(earlier)
    ]
    if not parts:
        return pd.DataFrame(columns=RECENT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[RECENT_COLUMNS]


@dataclass(frozen=True)
class Downgrades:
    """Per account (aligned with the base frame): whether a downgrade alerts, the band it left,
    that band's minimum and, when only the confirmation fired, the runs spent below it."""

    fired: np.ndarray
    left_band: pd.Series
    threshold: np.ndarray
    confirmed_runs: np.ndarray  # 0: the margin fired (or nothing did)


def runs_needed(model: Model) -> int:
    """How many previous runs the rule reads (0: none, the rule is off)."""
    rule = model.alerts.band_downgrade
    return 0 if rule is None else _runs_read(rule)


def _runs_read(rule: BandDowngrade) -> int:
    """Runs before this one the rule reads: the streak's earlier runs, then the usual runs
    (at least one: the run before the streak, whose band the streak left)."""
    return rule.confirm_runs - 1 + max(rule.usual_runs, 1)


def band_minimums(model: Model, segments: pd.Series) -> np.ndarray:
    """(accounts x bands) minimum of each band by rank, from each account's segment bands."""
    top = np.array([b.min for b in model.bands], dtype=float)
    out = np.tile(top, (len(segments), 1))
    names = segments.astype(object).to_numpy()
    for name in model.segments:
        hit = names == name
        if hit.any():
            out[hit] = [b.min for b in model.segment_bands(name)]
    return out


def _rank_of(scores: np.ndarray, minimums: np.ndarray) -> np.ndarray:
    """Band rank each score falls in (the count of band minimums above it); NaN stays NaN."""
    with np.errstate(invalid="ignore"):
        rank = (minimums > scores[:, None] + EPS).sum(axis=1).astype(float)
    return np.where(np.isnan(scores), np.nan, rank)


def _pick(matrix: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """matrix[i, rank[i]] (NaN where rank is NaN)."""
    safe = np.nan_to_num(rank, nan=0).astype(int).clip(0, matrix.shape[1] - 1)
    return np.where(np.isnan(rank), np.nan, matrix[np.arange(len(rank)), safe])


def _recent_matrix(recent: pd.DataFrame, ids: pd.Series, runs: int) -> np.ndarray:
    """(accounts x runs) shown score 1..runs runs ago; NaN where a run has no score. Filled by
    position (a hash lookup per row), not pivoted: 100,000 accounts x N runs stay cheap."""
    out = np.full((len(ids), runs), np.nan)
    ago = pd.to_numeric(recent["runs_ago"], errors="coerce").to_numpy(dtype=float)
    row = pd.Index(ids.astype(str).to_numpy()).get_indexer(recent["account_id"].astype(str))
    keep = (row >= 0) & (ago >= 1) & (ago <= runs)
    score = pd.to_numeric(recent["score_shown"], errors="coerce").to_numpy(dtype=float)
    out[row[keep], ago[keep].astype(int) - 1] = score[keep]
    return out


def _fell_from_usual(score: np.ndarray, usual_runs: np.ndarray, need: np.ndarray) -> np.ndarray:
    """The score lies `need` (per account) below its usual one, the median of `usual_runs`
    (accounts x runs); True where no run is known (nothing to compare with) or none is asked
    for (`usual_runs: 0`)."""
    if usual_runs.shape[1] == 0:
        return np.ones(len(score), dtype=bool)
    usual = nan_median(usual_runs.T)
    with np.errstate(invalid="ignore"):
        return np.isnan(usual) | (score <= usual - need + EPS)


def band_downgrades(
    model: Model, rule: BandDowngrade, base: pd.DataFrame, recent: pd.DataFrame | None
) -> Downgrades:
    """Which accounts' downgrades alert this run (see the module docstring).

    base: account_id, score_shown, previous_score, previous_band, band_change, segment_rule.
    """
    segments = base.get("segment_rule", pd.Series(None, index=base.index, dtype=object))
    minimums = band_minimums(model, segments)
    score = pd.to_numeric(base["score_shown"], errors="coerce").to_numpy(dtype=float)
    ranks = {b.name: float(i) for i, b in enumerate(model.bands)}
    left = base["previous_band"].map(ranks).to_numpy(dtype=float)
    down = (base["band_change"] == "down").to_numpy(dtype=bool)
    threshold = _pick(minimums, left)
    # A fall worth a word: `margin` points, and beyond what scores in the segment commonly
    # move in a week (a noisy score wanders 3 points without anything happening).
    need = np.maximum(rule.margin, rule.z * segment_spread(base, model))
    previous = pd.to_numeric(base["previous_score"], errors="coerce").to_numpy(float)
    runs = rule.confirm_runs
    before = np.full((len(base), _runs_read(rule)), np.nan)  # runs 1, 2, ... ago
    if recent is not None and len(base):
        before = _recent_matrix(recent, base["account_id"], before.shape[1])
    before[:, 0] = previous
    with np.errstate(invalid="ignore"):
        at_once = down & (score <= threshold - rule.margin + EPS)
    at_once &= _fell_from_usual(score, before[:, : rule.usual_runs], need)
    confirmed = np.zeros(len(base), dtype=bool)
    if runs == 1:
        confirmed = down & _fell_from_usual(score, before[:, : rule.usual_runs], need)
    elif recent is not None and len(base):
        start = _rank_of(before[:, runs - 1], minimums)  # the band before the streak began
        floor = _pick(minimums, start)
        streak = np.column_stack([score, before[:, : runs - 1]])
        with np.errstate(invalid="ignore"):
            below = (streak < floor[:, None] - EPS).all(axis=1)
            alerted = (before[:, : runs - 1] <= floor[:, None] - rule.margin + EPS).any(axis=1)
        fell = _fell_from_usual(score, before[:, runs - 1 : runs - 1 + rule.usual_runs], need)
        confirmed = below & ~alerted & ~at_once & fell
        threshold = np.where(confirmed, floor, threshold)
        left = np.where(confirmed, start, left)
    names = np.array([b.name for b in model.bands], dtype=object)
    safe = np.nan_to_num(left, nan=0).astype(int).clip(0, len(names) - 1)
    left_band = pd.Series(np.where(np.isnan(left), None, names[safe]), index=base.index)
    confirmed_runs = np.where(confirmed & (runs > 1), runs, 0)
    return Downgrades(at_once | confirmed, left_band, threshold, confirmed_runs)
