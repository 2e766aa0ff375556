"""The audit trail: who did what to an account, when and why, as one timeline.

CSM input (notes, overrides) and button clicks live in two tables with different columns;
`healthbot history` and `healthbot export audit` show them side by side, oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy.engine import Engine

from scoring.store.clicks import load_actions
from scoring.store.csm_inputs import CHAMPION_VALUES, load_csm_inputs


def audit_trail(engine: Engine, account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Who did what, when and why, for every account: CSM input and button clicks together."""
    inputs = load_csm_inputs(engine, account_ids)
    actions = load_actions(engine, account_ids)
    a = pd.DataFrame(
        {
            "when": inputs["created_at"],
            "account_id": inputs["account_id"],
            "who": inputs["user_email"].fillna(inputs["user_id"]),
            "what": inputs["kind"],
            "detail": _input_detail(inputs),
            "why": inputs["reason"],
            "valid_until": inputs["valid_until"],
        }
    )
    b = pd.DataFrame(
        {
            "when": actions["created_at"],
            "account_id": actions["account_id"],
            "who": actions["user_email"].fillna(actions["user_id"]),
            "what": actions["kind"],
            "detail": actions["outcome"].fillna(""),
            "why": actions["note"].fillna(""),
            "valid_until": actions["until"],
        }
    )
    frames = [f for f in (a, b) if len(f)]
    if not frames:
        return a.iloc[0:0]
    return (
        pd.concat(frames, ignore_index=True)
        .sort_values("when", kind="stable")
        .reset_index(drop=True)
    )


def _input_detail(inputs: pd.DataFrame) -> pd.Series:
    """One readable line per CSM input: "score set to 40.0" or "sentiment 2; champion left"."""
    champion = {v: k.replace("_", " ") for k, v in CHAMPION_VALUES.items()}
    sentiment = "sentiment " + inputs["sentiment"].astype("Int64").astype(str)
    champ = "champion " + inputs["champion_status"].map(champion).fillna("")
    score = "score set to " + inputs["override_score"].astype(str)
    note = (
        sentiment.where(inputs["sentiment"].notna(), "")
        + "; "
        + champ.where(inputs["champion_status"].notna(), "")
    ).str.strip("; ")
    return score.where(inputs["kind"] == "override", note)
