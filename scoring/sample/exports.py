"""The demo portfolio as the files a customer would export, for `healthbot sync` to read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scoring.frames import SIGNAL_COLUMNS
from scoring.sample.catalog import USAGE_SIGNALS
from scoring.sample.portfolio import Portfolio


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
