"""How each demo account's usage moves over time, and on which days it reports at all.

The storyline becomes an (accounts x days) `level` that multiplies usage: flat for stable
accounts, a linear ramp down (or up, for growth) over the last one to two months for the
trending ones, a ramp towards the churn day for churned ones, and a final-week step down for
the "cliff" accounts, so that week-over-week alerts fire on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Trajectory:
    """`level` (accounts x days) multiplies usage; `alive` is False from the churn day on and
    `reports_usage` also from the day a stale feed stopped; `cliff` marks the cliff accounts."""

    level: np.ndarray
    churn_day: np.ndarray
    alive: np.ndarray
    reports_usage: np.ndarray
    cliff: np.ndarray


def draw_trajectory(
    rng: np.random.Generator, story: np.ndarray, depth: np.ndarray, days: int
) -> Trajectory:
    """Draw churn days, ramp starts, cliff steps and stale-feed cut-offs (in that order: the
    draws share the portfolio's random stream)."""
    n = len(story)
    t = np.arange(days)
    # `level` moves linearly from `start` to the end of the data (stable accounts drift a
    # little over the whole period), or to the churn day.
    churned = story == "churned"
    churn_day = np.where(churned, rng.integers(days // 3, days - 7, n), days)
    trend = np.isin(story, ["sliding", "cliff", "expanding"])
    start = np.where(trend, days - rng.integers(28, 57, n), 0)
    start = np.where(churned, np.maximum(churn_day - rng.integers(28, 71, n), 0), start)
    ramp = np.clip((t - start[:, None]) / (churn_day - start)[:, None], 0, 1)
    level = 1 - depth[:, None] * ramp
    cliff = story == "cliff"
    level[cliff, -7:] *= 1 - rng.uniform(0.4, 0.6, cliff.sum())[:, None]
    alive = t < churn_day[:, None]  # churned accounts send nothing from their churn day on
    stale_from = np.where(story == "stale", days - rng.integers(21, 36, n), days)
    reports_usage = alive & (t < stale_from[:, None])
    return Trajectory(level, churn_day, alive, reports_usage, cliff)
