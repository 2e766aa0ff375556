"""A deterministic demo portfolio: accounts, daily signals and outcomes that tell stories.

The demo, the tests and the docs need data that behaves like a real B2B SaaS book of business
without shipping anyone's customer data: most accounts are steady, some slide (a few fall off a
cliff in the final week so week-over-week alerts fire), some expand, some have a broken data feed
and some already churned - after sliding, so a backtest finds signal, but not perfectly. One seeded
generator draws everything, so a seed always gives the same frames, and every signal is built as
an (accounts x days) array at once so that 300 accounts x 26 weeks takes a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.frames import SIGNAL_COLUMNS, accounts_frame

SIGNALS = ("active_users", "features_used", "tickets_opened", "invoices_overdue", "nps")
USAGE_SIGNALS = ["active_users", "features_used"]
# Storyline -> (share of accounts, health Beta(a, b), usage decline lo..hi; negative = growth).
# "cliff" accounts are sliding ones whose usage steps down in the final week; "no_feedback" and
# "stale" are the accounts with a missing source. Whatever the shares leave over is "stable".
STORYLINES: dict[str, tuple[float, float, float, float, float]] = {
    "stable": (0.0, 6.0, 2.0, -0.10, 0.10),
    "sliding": (0.08, 4.0, 2.5, 0.30, 0.60),
    "cliff": (0.04, 4.0, 2.5, 0.00, 0.15),
    "expanding": (0.08, 4.0, 3.0, -0.50, -0.20),
    "no_feedback": (0.02, 4.0, 2.5, -0.10, 0.10),
    "stale": (0.02, 4.0, 2.5, -0.10, 0.10),
    "churned": (0.05, 2.5, 3.0, 0.00, 0.70),
}
SPECIAL_NAMES = [
    "Acme Corp",
    "Northwind Logistics",
    "Bright & Early Bakeries",
    "Rocket 🚀 Labs",
    "Signal <> Noise Analytics",
]
PREFIXES = (
    "Blue Harbor, Brookfield, Larkspur, Summit, Evergreen, Redwood, Silverline, Brightpath, "
    "Ironclad, Cedar, Lighthouse, Granite, Horizon, Pioneer, Riverstone, Copperleaf, Atlas, "
    "Beacon, Falcon, Meridian, Oakridge, Pinnacle, Quantum, Sterling, Tidewater, Vantage, "
    "Willow, Zenith, Maple, Crescent, Harborview, Juniper, Lakeshore, Keystone, Nimbus, Orchid, "
    "Polaris, Sapphire, Bluebird, Trailhead, Coastal, Driftwood, Everest, Foxglove, Highland"
).split(", ")
SUFFIXES = (
    "Logistics, Analytics, Health, Dental, Robotics, Foods, Freight, Insurance, Labs, Software, "
    "Systems, Energy, Capital, Media, Retail, Pharma, Manufacturing, Consulting, Realty, Bank, "
    "Telecom, Learning, Security, Travel, Outfitters, Biotech, Partners, Studios, Supply Co"
).split(", ")
CSMS = (
    "maria.lopez james.chen priya.patel tom.becker aisha.khan lucas.silva emma.johansson"
    " kenji.tanaka sofia.rossi"
).split()
SEGMENTS = np.array(["SMB", "Mid-Market", "Enterprise"])
SEGMENT_SHARES = [0.6, 0.3, 0.1]
ARR_RANGE = np.array([[5_000, 30_000], [30_000, 150_000], [150_000, 1_200_000]], dtype=float)
SEAT_PRICE = np.array([400.0, 600.0, 900.0])  # ARR per licensed seat, by segment
TICKET_RATE = np.array([1.0, 1.3, 1.6])  # bigger customers file more tickets
# Monday..Sunday: B2B products are quiet at weekends.
WEEKDAY_FACTOR = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.3, 0.2])


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
    t = np.arange(days)
    ids = np.array([f"acc-{i:04d}" for i in range(1, n + 1)])
    names = _names(rng, n)
    story = _storylines(rng, n, names)
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

    # Trajectory: `level` multiplies usage; it moves linearly from `start` to the end of the data
    # (stable accounts drift a little over the whole period), or to the churn day.
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
    weekday = WEEKDAY_FACTOR[dates.day_of_week.to_numpy()]

    # active_users: percent of licensed seats active that day, so that one scale fits all sizes.
    # Whole users, but not a fresh coin toss per seat: mostly the same people log in every day.
    wobble = np.repeat(rng.lognormal(0, 0.05, (n, weeks)), 7, axis=1)
    wobble[cliff, -7:] = wobble[cliff, -8:-7]  # the cliff alone makes the final week differ
    noise = rng.lognormal(0, 0.1, (n, days))
    p_active = np.clip((0.15 + 0.75 * health)[:, None] * level * wobble * weekday * noise, 0, 0.98)
    active = np.round(100 * np.round(seats[:, None] * p_active) / seats[:, None], 1)

    # features_used: distinct features used over the trailing month (a product analytics rollup),
    # which is why it changes slowly and does not dip at weekends.
    u = rng.random((n, days))
    walk = np.clip(np.cumsum((u < 0.02).astype(int) - (u > 0.98), axis=1), -2, 2)
    features = (1 + 10 * health)[:, None] * level**0.7 + walk
    features[cliff, -7:] -= rng.integers(2, 5, cliff.sum())[:, None]
    features = np.clip(np.round(features), 0, 12)

    # tickets_opened: rare for healthy accounts, more frequent as usage falls away.
    rate = (0.006 + 0.12 * (1 - health) ** 2) * TICKET_RATE[seg]
    lam = rate[:, None] * (1 + 4 * np.clip(1 - level, 0, None)) * weekday
    lam[cliff, -7:] += 0.5
    tickets = rng.poisson(lam).astype(float)
    tickets[(tickets == 0) | ~alive] = np.nan

    # invoices_overdue: a weekly billing snapshot (Mondays); troubled accounts have an episode of
    # 1-3 overdue invoices, recent for the ones that are sliding or churned.
    bill_t = np.flatnonzero(dates.day_of_week == 0)
    troubled = rng.random(n) < (
        0.03
        + 0.4 * (1 - health) ** 3
        + 0.35 * churned
        + 0.15 * np.isin(story, ["sliding", "cliff"])
    )
    last_week = np.searchsorted(bill_t, churn_day) - 1
    ep_end = np.where(
        np.isin(story, ["sliding", "cliff", "churned"]), last_week, rng.integers(0, len(bill_t), n)
    )
    ep_len = rng.integers(2, 9, n)
    overdue = rng.choice([1.0, 2.0, 3.0], size=n, p=[0.6, 0.3, 0.1])
    k = np.arange(len(bill_t))
    in_episode = troubled[:, None] & (k > (ep_end - ep_len)[:, None]) & (k <= ep_end[:, None])
    invoices = np.full((n, days), np.nan)
    invoices[:, bill_t] = np.where(in_episode, overdue[:, None], 0.0)

    # nps: a survey answer every 60-90 days; some accounts never answer.
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
    no_feedback = story == "no_feedback"
    nps[no_feedback], invoices[no_feedback] = np.nan, np.nan
    nps[~alive], invoices[~alive] = np.nan, np.nan
    active[~reports_usage], features[~reports_usage] = np.nan, np.nan

    cube = np.stack([active, features, tickets, invoices, nps], axis=-1)
    a, d, s = np.nonzero(~np.isnan(cube))
    signals = pd.DataFrame(
        {
            "account_id": ids[a],
            "date": dates.to_numpy()[d],
            "signal": np.array(SIGNALS)[s],
            "value": cube[a, d, s],
        }
    )

    end_ts = pd.Timestamp(end).as_unit("ns")
    churn_date = dates.to_numpy()[np.minimum(churn_day, days - 1)]
    renewal = end_ts + pd.to_timedelta(rng.integers(-180, 366, n), unit="D")
    renewal = np.where(churned, churn_date, renewal.to_numpy())
    outcomes = _outcomes(rng, ids, story, health * level[:, -1], renewal, end_ts)
    accounts_df = accounts_frame(
        pd.DataFrame(
            {
                "account_id": ids,
                "name": names,
                "owner_email": _owners(rng, n),
                "segment": SEGMENTS[seg],
                "arr": arr,
                "renewal_date": renewal,
                "status": np.where(churned, "churned", "active"),
                "churned_on": np.where(churned, churn_date, np.datetime64("NaT", "ns")),
                "seats": seats,
            }
        )
    )
    return Portfolio(accounts_df, signals, outcomes, end, pd.Series(story, index=ids, name="story"))


def _storylines(rng: np.random.Generator, n: int, names: np.ndarray) -> np.ndarray:
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


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
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


def _owners(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uneven books of business, as in a real CS team, each with a mix of segments."""
    load = rng.uniform(0.6, 1.4, len(CSMS))
    return np.array([f"{c}@example.com" for c in CSMS])[
        rng.choice(len(CSMS), n, p=load / load.sum())
    ]


def _outcomes(
    rng: np.random.Generator,
    ids: np.ndarray,
    story: np.ndarray,
    health_now: np.ndarray,
    renewal: np.ndarray,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Churn on the churn day; at past renewals, downgrades lean on low health and expansions on
    high health or growing usage, noisily, so health predicts outcomes but not perfectly."""
    churned = story == "churned"
    past = ~churned & (renewal <= end.to_datetime64())
    p_down = 0.05 + 0.45 * (1 - np.clip(health_now, 0, 1)) ** 2
    p_up = np.where(story == "expanding", 0.7, 0.05 + 0.3 * np.clip(health_now, 0, 1) ** 2)
    u = rng.random(len(ids))
    kind = np.where(u < p_down, "downgraded", np.where(u < p_down + p_up, "expanded", "renewed"))
    kind = np.where(churned, "churned", kind)
    keep = churned | past
    out = pd.DataFrame({"account_id": ids[keep], "date": renewal[keep], "outcome": kind[keep]})
    out["date"] = out["date"].astype("datetime64[ns]")
    return out.sort_values(["date", "account_id"], kind="stable").reset_index(drop=True)


def write_exports(portfolio: Portfolio, directory: Path) -> None:
    """Write the files a customer would export, in the shapes the demo model's `sources:` reads.

    The shapes differ on purpose so the demo exercises sync: a renamed owner column, a wide
    Parquet usage table, long CSVs, and NPS with same-day duplicate responses whose mean is the
    portfolio's value (hence `combine: mean`).
    """
    out = Path(directory) / "exports"
    out.mkdir(parents=True, exist_ok=True)
    csv = {"index": False, "date_format": "%Y-%m-%d", "float_format": "%.10g"}
    accounts = portfolio.accounts.rename(columns={"owner_email": "csm_email"})
    accounts.to_csv(out / "accounts.csv", **csv)
    sig = portfolio.signals
    usage = sig[sig["signal"].isin(USAGE_SIGNALS)].pivot(
        index=["account_id", "date"], columns="signal", values="value"
    )
    usage = usage.reset_index()[["account_id", "date", *USAGE_SIGNALS]]
    usage.columns.name = None
    usage.to_parquet(out / "usage.parquet", index=False)
    for signal, file in (("tickets_opened", "tickets.csv"), ("invoices_overdue", "billing.csv")):
        sig.loc[sig["signal"] == signal, SIGNAL_COLUMNS].to_csv(out / file, **csv)
    nps = sig.loc[sig["signal"] == "nps", SIGNAL_COLUMNS].reset_index(drop=True)
    pairs = np.flatnonzero(nps["value"].between(1, 9).to_numpy())[::10]
    second = nps.loc[pairs].assign(value=nps.loc[pairs, "value"] - 1)
    nps.loc[pairs, "value"] += 1
    nps = pd.concat([nps, second]).sort_values(["account_id", "date"], kind="stable")
    nps.to_csv(out / "nps_responses.csv", **csv)
    portfolio.outcomes.to_csv(out / "outcomes.csv", **csv)
