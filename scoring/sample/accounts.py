"""Who the demo customers are: names, storylines, segment, size, health, renewal and owner.

Each `draw_*` function takes the portfolio's one seeded generator and must be called in the
order `generate_portfolio` calls it: the draws share one random stream, so reordering them
would change every account after the first moved draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.frames import accounts_frame
from scoring.sample.catalog import (
    ARR_RANGE,
    CSMS,
    PREFIXES,
    SEAT_PRICE,
    SEGMENT_SHARES,
    SEGMENTS,
    SPECIAL_NAMES,
    STORYLINES,
    SUFFIXES,
)


@dataclass(frozen=True, eq=False)
class Profiles:
    """Per account (arrays of length n): segment position in SEGMENTS, ARR, licensed seats,
    underlying health 0..1 and how deep its storyline's usage change goes."""

    segment: np.ndarray
    arr: np.ndarray
    seats: np.ndarray
    health: np.ndarray
    depth: np.ndarray


def draw_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique company names: the special ones (demo favourites and Slack escaping traps) at seeded
    positions, the rest "Prefix Suffix" combinations, numbered if the pool runs out."""
    pool = [f"{a} {b}" for a in PREFIXES for b in SUFFIXES]
    pool = [p for p in pool if p not in SPECIAL_NAMES]
    order = rng.permutation(len(pool))
    special = SPECIAL_NAMES[:n]
    rest = [
        pool[order[i % len(pool)]] + (f" {i // len(pool) + 1}" if i >= len(pool) else "")
        for i in range(n - len(special))
    ]
    names = np.empty(n, dtype=object)
    at = rng.choice(n, size=len(special), replace=False)
    names[at] = special
    names[np.setdiff1d(np.arange(n), at)] = rest
    return names.astype(str)


def draw_storylines(rng: np.random.Generator, n: int, names: np.ndarray) -> np.ndarray:
    """Exact shares (rounded) in a seeded order, so even a small portfolio has every story.

    The two named demo accounts get fixed roles: Acme Corp is the healthy reference customer and
    Northwind Logistics is the one whose usage falls off a cliff this week.
    """
    counts = {k: round(v[0] * n) for k, v in STORYLINES.items() if k != "stable"}
    story = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))[:n]
    story = rng.permutation(np.concatenate([story, ["stable"] * (n - len(story))]))
    for name, role in (("Northwind Logistics", "cliff"), ("Acme Corp", "stable")):
        mine, others = np.flatnonzero(names == name), np.flatnonzero(story == role)
        if len(mine) and len(others) and story[mine[0]] != role:
            story[others[0]], story[mine[0]] = story[mine[0]], role
    return story.astype(str)


def draw_profiles(rng: np.random.Generator, story: np.ndarray, names: np.ndarray) -> Profiles:
    """Segment, ARR (log-uniform within the segment's range), seats priced by segment, and the
    storyline's health and usage-change depth; Acme Corp is kept healthy for the demo."""
    n = len(story)
    kinds = list(STORYLINES)
    code = np.array([kinds.index(s) for s in story])
    _share, beta_a, beta_b, depth_lo, depth_hi = np.array(list(STORYLINES.values()))[code].T

    seg = rng.choice(3, size=n, p=SEGMENT_SHARES)
    lo, hi = ARR_RANGE[seg].T
    arr = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))) / 100) * 100
    seats = np.maximum(3, np.round(arr / SEAT_PRICE[seg] * rng.uniform(0.8, 1.25, n))).astype(int)
    health = rng.beta(beta_a, beta_b)
    health[names == "Acme Corp"] = np.maximum(health[names == "Acme Corp"], 0.85)
    depth = rng.uniform(depth_lo, depth_hi)
    return Profiles(seg, arr, seats, health, depth)


def draw_renewals(
    rng: np.random.Generator, end: pd.Timestamp, churned: np.ndarray, churn_date: np.ndarray
) -> np.ndarray:
    """Renewal dates from half a year past to a year ahead; a churned account's is its churn
    date, so that the demo's renewal outcomes and churn agree."""
    renewal = end + pd.to_timedelta(rng.integers(-180, 366, len(churned)), unit="D")
    return np.where(churned, churn_date, renewal.to_numpy())


def draw_owners(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uneven books of business, as in a real CS team, each with a mix of segments."""
    load = rng.uniform(0.6, 1.4, len(CSMS))
    return np.array([f"{c}@example.com" for c in CSMS])[
        rng.choice(len(CSMS), n, p=load / load.sum())
    ]


def accounts_table(
    ids: np.ndarray,
    names: np.ndarray,
    owners: np.ndarray,
    profiles: Profiles,
    renewal: np.ndarray,
    churned: np.ndarray,
    churn_date: np.ndarray,
) -> pd.DataFrame:
    """The accounts frame in the frames.py contract (no storyline: that is ground truth only)."""
    return accounts_frame(
        pd.DataFrame(
            {
                "account_id": ids,
                "name": names,
                "owner_email": owners,
                "segment": SEGMENTS[profiles.segment],
                "arr": profiles.arr,
                "renewal_date": renewal,
                "status": np.where(churned, "churned", "active"),
                "churned_on": np.where(churned, churn_date, np.datetime64("NaT", "ns")),
                "seats": profiles.seats,
            }
        )
    )
