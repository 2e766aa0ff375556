"""The demo's daily signals, each drawn as a whole (accounts x days) array at once.

Every signal has the rhythm of its real-world source (daily usage that dips at weekends, a
trailing-month feature rollup, sporadic tickets, a Monday billing snapshot, an NPS survey
every two to three months) and follows the account's health and trajectory, so that scores,
alerts and the backtest have something true to find. Drawing arrays instead of looping over
accounts keeps 300 accounts x 26 weeks to a fraction of a second. The `_draw` helpers share
the portfolio's random stream, so `draw_signals` must call them in this order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.sample.accounts import Profiles
from scoring.sample.catalog import SIGNALS, TICKET_RATE, WEEKDAY_FACTOR
from scoring.sample.trajectory import Trajectory


def draw_signals(
    rng: np.random.Generator,
    ids: np.ndarray,
    story: np.ndarray,
    profiles: Profiles,
    trajectory: Trajectory,
    dates: pd.DatetimeIndex,
) -> pd.DataFrame:
    """All signals in the long frames.py shape (account_id, date, signal, value), one row per
    value: churned accounts go silent, "no_feedback" accounts never send billing or NPS, and
    stale feeds stop sending usage."""
    weekday = WEEKDAY_FACTOR[dates.day_of_week.to_numpy()]
    active = _draw_active_users(rng, profiles, trajectory, weekday)
    features = _draw_features_used(rng, profiles.health, trajectory)
    tickets = _draw_tickets_opened(rng, profiles, trajectory, weekday)
    invoices = _draw_invoices_overdue(rng, story, profiles.health, trajectory, dates)
    nps = _draw_nps(rng, profiles.health, trajectory.level)
    no_feedback = story == "no_feedback"
    nps[no_feedback], invoices[no_feedback] = np.nan, np.nan
    alive, reports_usage = trajectory.alive, trajectory.reports_usage
    nps[~alive], invoices[~alive] = np.nan, np.nan
    active[~reports_usage], features[~reports_usage] = np.nan, np.nan

    cube = np.stack([active, features, tickets, invoices, nps], axis=-1)
    a, d, s = np.nonzero(~np.isnan(cube))
    return pd.DataFrame(
        {
            "account_id": ids[a],
            "date": dates.to_numpy()[d],
            "signal": np.array(SIGNALS)[s],
            "value": cube[a, d, s],
        }
    )


def _draw_active_users(
    rng: np.random.Generator, profiles: Profiles, trajectory: Trajectory, weekday: np.ndarray
) -> np.ndarray:
    """Percent of licensed seats active that day, so that one scale fits all sizes.

    Whole users, but not a fresh coin toss per seat: mostly the same people log in every day.
    """
    level, cliff, seats = trajectory.level, trajectory.cliff, profiles.seats
    n, days = level.shape
    wobble = np.repeat(rng.lognormal(0, 0.05, (n, days // 7)), 7, axis=1)
    wobble[cliff, -7:] = wobble[cliff, -8:-7]  # the cliff alone makes the final week differ
    noise = rng.lognormal(0, 0.1, (n, days))
    health = profiles.health
    p_active = np.clip((0.15 + 0.75 * health)[:, None] * level * wobble * weekday * noise, 0, 0.98)
    return np.round(100 * np.round(seats[:, None] * p_active) / seats[:, None], 1)


def _draw_features_used(
    rng: np.random.Generator, health: np.ndarray, trajectory: Trajectory
) -> np.ndarray:
    """Distinct features used over the trailing month (a product analytics rollup), which is
    why it changes slowly and does not dip at weekends."""
    level, cliff = trajectory.level, trajectory.cliff
    u = rng.random(level.shape)
    walk = np.clip(np.cumsum((u < 0.02).astype(int) - (u > 0.98), axis=1), -2, 2)
    features = (1 + 10 * health)[:, None] * level**0.7 + walk
    features[cliff, -7:] -= rng.integers(2, 5, cliff.sum())[:, None]
    return np.clip(np.round(features), 0, 12)


def _draw_tickets_opened(
    rng: np.random.Generator, profiles: Profiles, trajectory: Trajectory, weekday: np.ndarray
) -> np.ndarray:
    """Rare for healthy accounts, more frequent as usage falls away; days without a ticket
    have no row, as in a ticketing export."""
    level, cliff = trajectory.level, trajectory.cliff
    rate = (0.006 + 0.12 * (1 - profiles.health) ** 2) * TICKET_RATE[profiles.segment]
    lam = rate[:, None] * (1 + 4 * np.clip(1 - level, 0, None)) * weekday
    lam[cliff, -7:] += 0.5
    tickets = rng.poisson(lam).astype(float)
    tickets[(tickets == 0) | ~trajectory.alive] = np.nan
    return tickets


def _draw_invoices_overdue(
    rng: np.random.Generator,
    story: np.ndarray,
    health: np.ndarray,
    trajectory: Trajectory,
    dates: pd.DatetimeIndex,
) -> np.ndarray:
    """A weekly billing snapshot (Mondays); troubled accounts have an episode of 1-3 overdue
    invoices, recent for the ones that are sliding or churned."""
    n, days = trajectory.level.shape
    churned = story == "churned"
    bill_t = np.flatnonzero(dates.day_of_week == 0)
    troubled = rng.random(n) < (
        0.03
        + 0.4 * (1 - health) ** 3
        + 0.35 * churned
        + 0.15 * np.isin(story, ["sliding", "cliff"])
    )
    last_week = np.searchsorted(bill_t, trajectory.churn_day) - 1
    ep_end = np.where(
        np.isin(story, ["sliding", "cliff", "churned"]), last_week, rng.integers(0, len(bill_t), n)
    )
    ep_len = rng.integers(2, 9, n)
    overdue = rng.choice([1.0, 2.0, 3.0], size=n, p=[0.6, 0.3, 0.1])
    k = np.arange(len(bill_t))
    in_episode = troubled[:, None] & (k > (ep_end - ep_len)[:, None]) & (k <= ep_end[:, None])
    invoices = np.full((n, days), np.nan)
    invoices[:, bill_t] = np.where(in_episode, overdue[:, None], 0.0)
    return invoices


def _draw_nps(rng: np.random.Generator, health: np.ndarray, level: np.ndarray) -> np.ndarray:
    """A survey answer every 60-90 days that follows health and usage then; some accounts
    never answer."""
    n, days = level.shape
    gaps = np.concatenate(
        [rng.integers(0, 90, (n, 1)), rng.integers(60, 91, (n, days // 60 + 1))], axis=1
    )
    when = np.minimum(np.cumsum(gaps, axis=1), days - 1)
    answered = (np.cumsum(gaps, axis=1) < days) & (rng.random(n) > 0.15)[:, None]
    mood = health[:, None] * np.take_along_axis(level, when, axis=1)
    score = np.clip(np.round(rng.normal(1.5 + 8.5 * np.clip(mood, 0, 1), 1.3)), 0, 10)
    nps = np.full((n, days), np.nan)
    rows = np.broadcast_to(np.arange(n)[:, None], when.shape)
    nps[rows[answered], when[answered]] = score[answered]
    return nps
