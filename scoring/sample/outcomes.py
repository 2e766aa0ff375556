"""What happened to the demo customers: churn, and the result of each past renewal.

Outcomes lean on health without following it exactly, so a backtest of the demo finds real
but imperfect signal, as it would on a real book of business.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def draw_outcomes(
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
