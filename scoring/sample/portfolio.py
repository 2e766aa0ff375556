"""The demo portfolio's entry point: one seed in, accounts, signals and outcomes out.

One seeded generator draws everything, so a seed always gives the same frames. The draws
share that generator's stream, so the order of the `draw_*` calls below is part of the output:
changing it changes every portfolio the demo, the tests and the docs rely on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.sample.accounts import (
    accounts_table,
    draw_names,
    draw_owners,
    draw_profiles,
    draw_renewals,
    draw_storylines,
)
from scoring.sample.outcomes import draw_outcomes
from scoring.sample.signals import draw_signals
from scoring.sample.trajectory import draw_trajectory


@dataclass(frozen=True, eq=False)
class Portfolio:
    """Frames in the frames.py contract, plus each account's storyline.

    `storylines` (account_id -> name) is ground truth for tests and the demo narrative; it is not
    an account column so that it never leaks into exports or scoring.
    """

    accounts: pd.DataFrame
    signals: pd.DataFrame
    outcomes: pd.DataFrame
    end: dt.date
    storylines: pd.Series


def generate_portfolio(
    seed: int = 7, accounts: int = 300, weeks: int = 26, end: dt.date | None = None
) -> Portfolio:
    """Draw a portfolio whose signals run daily for `weeks * 7` days up to and including `end`.

    `end` defaults to yesterday, so that a demo run looks current; pass it explicitly (the demo
    and the tests do) when the output must be reproducible across days.
    """
    if accounts < 1 or weeks < 4:
        raise ValueError("need at least 1 account and 4 weeks of data")
    end = end or dt.date.today() - dt.timedelta(days=1)
    rng = np.random.default_rng(seed)
    n, days = accounts, weeks * 7
    dates = pd.date_range(end=pd.Timestamp(end), periods=days, freq="D").as_unit("ns")
    ids = np.array([f"acc-{i:04d}" for i in range(1, n + 1)])
    names = draw_names(rng, n)
    story = draw_storylines(rng, n, names)
    profiles = draw_profiles(rng, story, names)
    trajectory = draw_trajectory(rng, story, profiles.depth, days)
    signals = draw_signals(rng, ids, story, profiles, trajectory, dates)

    end_ts = pd.Timestamp(end).as_unit("ns")
    churned = story == "churned"
    churn_date = dates.to_numpy()[np.minimum(trajectory.churn_day, days - 1)]
    renewal = draw_renewals(rng, end_ts, churned, churn_date)
    health_now = profiles.health * trajectory.level[:, -1]
    outcomes = draw_outcomes(rng, ids, story, health_now, renewal, end_ts)
    owners = draw_owners(rng, n)
    accounts_df = accounts_table(ids, names, owners, profiles, renewal, churned, churn_date)
    return Portfolio(accounts_df, signals, outcomes, end, pd.Series(story, index=ids, name="story"))
