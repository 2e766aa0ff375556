"""One metric's move this week, for every account at once, and several metrics taken together.

`judge_metric` measures each account's move against its usual weeks (after its segment's
common move) and says whether it is large in every way on its own: percent, absolute minimums
and robust z. `together` combines the metrics' z-scores, weighted as the account's score
weighs them (Stouffer's method): a slide moves usage, adoption and tickets a little each, weeks
before any one of them is large alone, while noise in one metric is not echoed by the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.config import Metric, Model, Scale
from scoring.config.sections import MetricDrop
from scoring.decisions.metric_history import (
    ADDITIVE,
    MIN_HISTORY_WEEKS,
    default_min_change,
    flat_history_floor,
    pooled_spread,
    segment_ratio,
    usual_and_spread,
)
from scoring.decisions.metric_noise import noise_z
from scoring.engine.scales import apply_scale, steps

# A metric within this many spreads of its usual adds nothing worth naming to a joint move.
PART_Z = 1.0


def _step_direction(scale: Scale) -> int:
    """+1 if a step scale rewards high values, -1 if low ones, 0 if it cannot tell.

    Scores a value below every threshold against one above every threshold.
    """
    assert scale.steps is not None
    cuts = [s.below if s.below is not None else s.at_least for s in scale.steps]
    cuts = [c for c in cuts if c is not None]
    if not cuts:
        return 0
    low, high = steps(scale, np.array([min(cuts) - 1.0, max(cuts) + 1.0]), pd.Series())
    return int(np.sign(high - low))


def worse(scale: Scale, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Whether each move from `previous` to `current` goes the metric's bad way.

    linear: best < worst means lower is better; percentile: its direction; steps: the step
    score fell, or (same step) the raw value moved against the scale's overall direction.
    """
    with np.errstate(invalid="ignore"):
        if scale.kind == "linear":
            assert scale.best is not None and scale.worst is not None
            return current > previous if scale.best < scale.worst else current < previous
        if scale.kind == "percentile":
            lower_is_better = scale.percentile == "lower_is_better"
            return current > previous if lower_is_better else current < previous
        empty = pd.Series(dtype=object)
        before = apply_scale(scale, previous, empty)
        after = apply_scale(scale, current, empty)
        direction = _step_direction(scale)
        same = after == before
        against = (current < previous) if direction > 0 else (current > previous)
        return (after < before) | (same & (direction != 0) & against)


@dataclass(frozen=True)
class Moves:
    """One metric's move per account (arrays aligned with the accounts)."""

    key: str
    window_days: int
    usual: np.ndarray
    now: np.ndarray
    percent: np.ndarray  # the move beyond the segment's, against usual x that ratio
    segment_percent: np.ndarray
    z: np.ndarray  # unsigned; NaN with fewer than MIN_HISTORY_WEEKS weeks
    weeks: np.ndarray
    bad: np.ndarray  # moved the metric's bad way (beyond the segment's move and in itself)
    large: np.ndarray  # usable, at least min_change and min_base
    alone: np.ndarray  # large in every way on its own: the rule fires on this metric

    def signed_z(self) -> np.ndarray:
        """z, positive the bad way, negative the good way; NaN where there is none."""
        return np.where(self.bad, self.z, -self.z)

    def expand(self, columns: np.ndarray, n: int) -> Moves:
        """These moves of accounts `columns` placed among `n` accounts (the rest not judged)."""
        out = {}
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                full = np.zeros(n, dtype=value.dtype) if value.dtype == bool else None
                if full is None:
                    full = np.full(n, np.nan if value.dtype.kind == "f" else 0, dtype=value.dtype)
                full[columns] = value
                value = full
            out[name] = value
        return Moves(**out)

    def rows(self, mask: np.ndarray) -> pd.DataFrame:
        """METRIC_DROP_COLUMNS (+ _order) for the accounts in `mask`."""
        return pd.DataFrame(
            {
                "metric": self.key,
                "usual": self.usual[mask],
                "raw": self.now[mask],
                "change_percent": self.percent[mask],
                "segment_percent": self.segment_percent[mask],
                "z": self.z[mask],
                "history_weeks": self.weeks[mask],
                "window_days": self.window_days,
                "_order": np.flatnonzero(mask),
            }
        )


def judge_metric(
    key: str,
    metric: Metric,
    rule: MetricDrop,
    values: np.ndarray,
    seen: np.ndarray | None,
    groups: np.ndarray | None,
    window_days: int,
) -> Moves:
    """Each account's move of `metric`; `values` are (weeks + 1) x accounts over
    `window_days` (row 0 this week; NaN: not judged here)."""
    now = values[0]
    history = np.where(seen, values[1:], np.nan) if seen is not None else values[1:]
    usual, spread, weeks = usual_and_spread(history)
    spread = pooled_spread(usual, spread, weeks, groups)
    counts = metric.aggregate in ADDITIVE
    rate = usual
    if counts:  # a count's usual rate is its mean (the median of 0s and 1s is 0)
        known = np.isfinite(history)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(known, history, 0.0).sum(axis=0) / known.sum(axis=0)
    ratio = segment_ratio(rate, now, groups, pooled=counts)
    expected = usual * ratio
    min_change = rule.min_change.get(key, default_min_change(metric.scale, now))
    min_base = rule.min_base.get(key, 0.0)
    if counts:  # a sum over fewer days than the metric's window: the same rate, fewer events
        share = window_days / metric.window_days
        min_change, min_base = min_change * share, min_base * share
    with np.errstate(invalid="ignore", divide="ignore"):
        change = now - expected
        percent = 100.0 * change / np.abs(expected)
    floor = min_change / rule.z
    if window_days > 7:  # overlapping weekly windows: a flat history may just repeat itself
        floor = np.maximum(floor, flat_history_floor(usual, now, spread, groups))
    z = noise_z(metric.aggregate, now, history, expected, ratio, spread, floor)
    usable = np.isfinite(usual) & np.isfinite(now)
    size = np.abs(np.where(usable, change, 0.0))
    # Round away float noise so that a move of exactly P percent (or the minimum) counts.
    big = np.round(np.abs(np.where(usable, percent, 0.0)), 6) >= rule.percent
    large = usable & (size > 0) & (np.round(size, 9) >= min_change)
    large &= np.maximum(np.abs(usual), np.abs(now)) >= min_base
    known = weeks >= MIN_HISTORY_WEEKS
    unusual = ~known | (np.round(z, 9) >= rule.z)
    # The bad way beyond the segment's move, and the bad way in itself: a flat account in a
    # rising segment is not "falling".
    bad = worse(metric.scale, expected, now) & worse(metric.scale, usual, now)
    return Moves(
        key=key,
        window_days=window_days,
        usual=usual,
        now=now,
        percent=percent,
        segment_percent=100.0 * (ratio - 1.0),
        z=np.where(known & usable, z, np.nan),
        weeks=weeks,
        bad=bad,
        large=large,
        alone=large & big & unusual & bad,
    )


def metric_weights(model: Model, key: str, segments: np.ndarray | None, n: int) -> np.ndarray:
    """Each account's weight of metric `key`: its model segment's, else the top level's."""
    weight = np.full(n, float(model.metrics[key].weight))
    if segments is None:
        return weight
    for name, segment in model.segments.items():
        if key in segment.weights:
            weight[segments == name] = float(segment.weights[key])
    return weight


def combined_z(moves: list[tuple[Moves, np.ndarray]]) -> np.ndarray:
    """The metrics' signed z-scores combined, weighted as the score weighs them: sum w z /
    sqrt(sum w^2) over the metrics with a z (Stouffer); NaN where none has one."""
    n = len(moves[0][0].now)
    total, squares = np.zeros(n), np.zeros(n)
    for move, weight in moves:
        z = move.signed_z()
        known = np.isfinite(z) & (weight > 0)
        total += np.where(known, weight * z, 0.0)
        squares += np.where(known, weight**2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(squares > 0, total / np.sqrt(squares), np.nan)


def together(
    moves: list[tuple[Moves, np.ndarray]],
    rule: MetricDrop,
    last_week: list[tuple[Moves, np.ndarray]] | None = None,
) -> list[np.ndarray]:
    """Per metric, the accounts to name for a joint move: where the metrics' combined z
    (`combined_z`) reaches `rule.combined_z` this week, or over this week and last together
    ((this + last) / sqrt 2: a slide that went on for two weeks), the metrics that moved the
    bad way by PART_Z or more this week, when at least two did, one of them large in absolute
    terms, and none alerts alone.

    moves: (a metric's Moves, its weight per account); a metric judged on two windows comes
    as two entries whose accounts do not overlap. last_week: the same, judged a week earlier."""
    if not moves or rule.combined_z <= 0:
        return [np.zeros(0, dtype=bool) for _ in moves]
    n = len(moves[0][0].now)
    combined = combined_z(moves)
    if last_week:
        with np.errstate(invalid="ignore"):
            combined = np.fmax(combined, (combined + combined_z(last_week)) / np.sqrt(2))
    alone, large = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    parts = []
    for move, _ in moves:
        alone |= move.alone
        with np.errstate(invalid="ignore"):
            parts.append(np.isfinite(move.z) & move.bad & (move.z >= PART_Z))
        large |= parts[-1] & move.large
    named = np.sum(parts, axis=0)
    with np.errstate(invalid="ignore"):
        joint = (np.round(combined, 9) >= rule.combined_z) & (named >= 2) & large & ~alone
    return [part & joint for part in parts]
