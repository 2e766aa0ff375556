"""A held-out portfolio for alert-quality targets, written apart from `scoring/sample/`.

The alert rules must be judged on data they were never tuned to, so this generator shares no
code, constants or storylines with the demo generator. Every account has a latent health
h(day) in (0, 1]; its signals are drawn from h, with the demo model's signal names:
- stable accounts (about 95%): h = 1 with weekly seasonality (weekends are quiet), daily
  noise, Poisson tickets, a weekly billing snapshot, sparse NPS (about one answer a quarter);
- sliders (about 5%): from a start day, h falls linearly to about half over 3-5 weeks and
  stays there: usage and features fall, tickets rise, NPS answers sink;
- one holiday week in which every account's usage dips by a third (a portfolio-wide move,
  not a reason to call anyone).
Owners carry about 150 accounts each. Everything is drawn as flat numpy arrays (row = account
x day), no loop over accounts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

SEGMENT_NAMES = np.array(["SMB", "Mid-Market", "Enterprise"])


@dataclass(frozen=True)
class HeldOut:
    accounts: pd.DataFrame
    signals: pd.DataFrame  # long: account_id, date, signal, value
    slide_start: pd.Series  # account_id -> first day of the slide (sliders only)
    holiday: dt.date  # Monday of the holiday week
    as_ofs: list[dt.date]  # the weekly runs to measure (Sundays), oldest first


def held_out_portfolio(
    accounts: int = 2_000,
    measured_weeks: int = 12,
    warm_up_weeks: int = 30,
    slider_share: float = 0.05,
    per_owner: int = 150,
    seed: int = 2027,
    end: dt.date = dt.date(2027, 3, 28),
    slide_weeks: tuple[int, int] = (3, 5),
    noise: float = 1.0,
) -> HeldOut:
    """`warm_up_weeks` of history fill the longest windows (twice, for metric drops) before
    the `measured_weeks` whose weekly runs are measured; `end` is the last run's Sunday.
    Variants for checking that figures hold in general: `slide_weeks` (shortest, longest
    slide), `noise` (multiplies the daily usage, feature and NPS noise)."""
    rng = np.random.default_rng(seed)
    n, days = accounts, 7 * (warm_up_weeks + measured_weeks)
    first = end - dt.timedelta(days=days - 1)
    dates = pd.date_range(first, periods=days, freq="D")
    ids = np.array([f"ho-{i:05d}" for i in range(n)])
    measured_start = days - 7 * measured_weeks  # day index of the first measured week's Monday
    # Sliders start in the measured weeks, early enough that three weeks after are measured.
    sliders = rng.random(n) < slider_share
    start_day = np.where(
        sliders, measured_start + rng.integers(0, 7 * (measured_weeks - 4), n), days + 1
    )
    length = rng.integers(slide_weeks[0], slide_weeks[1] + 1, n) * 7  # 3-5 weeks by default
    day = np.arange(days)[None, :]
    progress = np.clip((day - start_day[:, None]) / length[:, None], 0.0, 1.0)
    health = 1.0 - 0.5 * progress  # (accounts x days)
    holiday_day = measured_start + 7 * (measured_weeks // 2)
    holiday = np.zeros(days, dtype=bool)
    holiday[holiday_day : holiday_day + 7] = True
    weekday = dates.day_of_week.to_numpy()
    season = np.where(weekday >= 5, 0.45, 1.0) * np.where(holiday, 0.65, 1.0)
    usage_level = rng.uniform(35, 75, n)[:, None]
    usage = usage_level * health * season[None, :] * rng.lognormal(0.0, 0.12 * noise, (n, days))
    features_level = rng.uniform(6, 12, n)[:, None]
    tickets_rate = rng.uniform(0.03, 0.25, n)[:, None] * (1.0 + 4.0 * (1.0 - health))
    tickets = rng.poisson(tickets_rate * np.where(weekday >= 5, 0.3, 1.0)[None, :])
    nps_level = rng.uniform(6, 9.5, n)[:, None]
    nps_answer = rng.random((n, days)) < 1 / 90
    parts = [_long(ids, dates, "active_users", np.clip(usage, 0, 100).round(1))]
    monday = weekday == 0
    features = np.clip(
        np.round(features_level * health + rng.normal(0, 0.6 * noise, (n, days))), 0, 12
    )
    parts.append(_long(ids, dates, "features_used", features, monday))
    parts.append(_long(ids, dates, "tickets_opened", tickets.astype(float), tickets > 0))
    overdue = (rng.random((n, days)) < 0.01 + 0.2 * (1.0 - health)).astype(float)
    parts.append(_long(ids, dates, "invoices_overdue", overdue, monday))
    nps = np.clip(np.round(nps_level * health**1.5 + rng.normal(0, 1.0 * noise, (n, days))), 0, 10)
    parts.append(_long(ids, dates, "nps", nps, nps_answer))
    signals = pd.concat(parts, ignore_index=True)
    owners = np.array([f"owner{i:02d}@heldout.example" for i in range(max(n // per_owner, 1))])
    table = pd.DataFrame(
        {
            "account_id": ids,
            "name": [f"Held-out {i:05d}" for i in range(n)],
            "owner_email": owners[rng.permutation(n) % len(owners)],
            "segment": SEGMENT_NAMES[rng.choice(3, n, p=[0.5, 0.35, 0.15])],
            "arr": rng.lognormal(10.5, 0.8, n).round(0),
            "renewal_date": pd.Timestamp(end) + pd.to_timedelta(rng.integers(120, 480, n), "D"),
            "churned_on": pd.NaT,
        }
    )
    starts = pd.Series(
        np.asarray(dates[np.minimum(start_day[sliders], days - 1)].date), index=ids[sliders]
    )
    as_ofs = [end - dt.timedelta(weeks=w) for w in range(measured_weeks - 1, -1, -1)]
    return HeldOut(table, signals, starts, dates[holiday_day].date(), as_ofs)


def _long(
    ids: np.ndarray,
    dates: pd.DatetimeIndex,
    signal: str,
    values: np.ndarray,
    keep: np.ndarray | None = None,
) -> pd.DataFrame:
    """An (accounts x days) array as long rows, only where `keep` (a day or cell mask)."""
    n, days = values.shape
    mask = np.ones((n, days), dtype=bool) if keep is None else np.broadcast_to(keep, (n, days))
    rows, cols = np.nonzero(mask)
    return pd.DataFrame(
        {
            "account_id": ids[rows],
            "date": dates.to_numpy()[cols],
            "signal": signal,
            "value": values[rows, cols],
        }
    )
