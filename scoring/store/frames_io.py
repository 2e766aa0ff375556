"""Load whole frames into an empty store: the demo's shortcut until `healthbot sync` lands.

Real data goes through scoring/sync (validation, staging, merge); generated frames are valid by
construction, so the demo writes them straight in with the same bulk writer.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.engine import Engine

from scoring.frames import ACCOUNT_COLUMNS
from scoring.store.bulk import Kind, write_frame
from scoring.store.reads import ACCOUNT_TYPES

ACCOUNT_WRITE_TYPES: dict[str, Kind] = {c: ACCOUNT_TYPES[c] for c in ACCOUNT_COLUMNS} | {
    "first_seen": "date",
    "updated_at": "datetime",
}


def load_frames(
    engine: Engine,
    accounts: pd.DataFrame,
    signals: pd.DataFrame,
    outcomes: pd.DataFrame,
    today: dt.date,
) -> dict[str, int]:
    acc = accounts.reindex(columns=ACCOUNT_COLUMNS).copy()
    acc["first_seen"] = pd.Timestamp(today)
    acc["updated_at"] = pd.Timestamp(today)
    sig = (
        signals.groupby(["account_id", "signal", "date"], as_index=False)["value"]
        .mean()
        .assign(source="demo")
    )
    out = outcomes.reindex(columns=["account_id", "date", "outcome"]).drop_duplicates()
    with engine.begin() as conn:
        counts = {
            "accounts": write_frame(conn, "accounts", acc, ACCOUNT_WRITE_TYPES),
            "signals": write_frame(
                conn,
                "signals",
                sig,
                {
                    "account_id": "str",
                    "signal": "str",
                    "date": "date",
                    "value": "float",
                    "source": "str",
                },
            ),
            "outcomes": write_frame(
                conn, "outcomes", out, {"account_id": "str", "date": "date", "outcome": "str"}
            ),
        }
    return counts
