"""How unusual a metric's move is for one account: against the spread of its own usual
weeks, never finer than the data's own resolution, and for counts of events against their
Poisson noise (0 -> 1 ticket in a week is ordinary, 0 -> 4 is not).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri, pdtr, pdtrc

from scoring.decisions.metric_history import ADDITIVE, MIN_HISTORY_WEEKS, nan_median


def weekly_data(values: np.ndarray, seen: np.ndarray | None) -> np.ndarray:
    """Per account: this week and at least MIN_HISTORY_WEEKS history weeks have a value, so
    the weeks themselves say what is usual (a sparse signal, like a quarterly survey, has
    no usual week and is judged on the metric's own window instead)."""
    history = values[1:] if seen is None else np.where(seen, values[1:], np.nan)
    return np.isfinite(values[0]) & (np.isfinite(history).sum(axis=0) >= MIN_HISTORY_WEEKS)


def _whole(now: np.ndarray, history: np.ndarray) -> np.ndarray:
    """Per account: every known value is a whole number (counts, levels, survey answers)."""
    both = np.vstack([now[None], history])
    with np.errstate(invalid="ignore"):
        off = np.abs(both - np.round(both)) > 1e-9
    return ~np.where(np.isfinite(both), off, False).any(axis=0)


def _count_z(now: np.ndarray, history: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """z of a count `now` under Poisson noise around the history's mean rate (times the
    segment's move), as the normal quantile of the tail probability: 0 -> 1 ticket is
    ordinary, 0 -> 4 is not. A history of zeros counts as half an event over its weeks."""
    weeks = np.maximum(np.isfinite(history).sum(axis=0), 1)
    with np.errstate(invalid="ignore"):
        total = np.nansum(np.where(np.isfinite(history), history, 0.0), axis=0)
        rate = np.maximum(total / weeks, 0.5 / weeks) * ratio
        rate = np.where(np.isfinite(rate) & (rate > 0), rate, 0.5 / weeks)
        count = np.where(np.isfinite(now), np.round(now), 0.0)
        # Poisson tails and the normal quantile from scipy.special (what scipy.stats calls):
        # importing scipy.stats costs every command a second and a half.
        upper = pdtrc(np.maximum(count - 1, 0), rate)  # P(X >= count), count >= 1 here
        tail = np.where(count > rate, upper, pdtr(count, rate))
    return -ndtri(np.clip(tail, 1e-300, 0.5))


def noise_z(
    aggregate: str,
    now: np.ndarray,
    history: np.ndarray,
    expected: np.ndarray,
    ratio: np.ndarray,
    spread: np.ndarray,
    floor: float | np.ndarray,
) -> np.ndarray:
    """How unusual the move from `expected` to `now` is against the account's own weeks:
    |move| / the history's spread, the spread never under `floor` (a flat history) nor, for
    whole-number data, under one unit (a 0 -> 1 overdue invoice is not news by itself). Sums
    and counts of whole events also face their Poisson noise: the smaller z of the two."""
    whole = _whole(now, history)
    scale = np.maximum(spread, floor)
    scale = np.where(whole, np.maximum(scale, 1.0), scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        if aggregate in ADDITIVE:
            # A count varies by about its square root on its own (Poisson), which weekly
            # windows that overlap by all but a week cannot show: 2 -> 4 tickets in 90 days.
            scale = np.maximum(scale, np.sqrt(np.maximum(np.abs(nan_median(history)), 1.0)))
        z = np.abs(now - expected) / scale
    if aggregate in ADDITIVE and whole.any():
        z = np.where(whole, np.minimum(z, _count_z(now, history, ratio)), z)
    return z
