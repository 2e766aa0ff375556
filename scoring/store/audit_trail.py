"""The audit trail: who did what to an account, when and why, as one timeline.

CSM input (notes, overrides) and button clicks live in two tables with different columns;
`healthbot history` and `healthbot export audit` show them side by side, oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from scoring.store.clicks import load_actions
from scoring.store.csm_inputs import CHAMPION_NAMES, CHAMPION_VALUES, load_csm_inputs


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


def input_entry(
    row: Any, until: Any, why: Any, sentiment: Any, champion: Any, score: Any, revoked: bool
) -> dict[str, Any]:
    """A CSM input (note or override) as an audit entry of a card: `row` has id, kind, user_id,
    user_email and created_at; the rest is passed by value (its columns are named per query)."""
    return _entry(row, until, why) | {
        "sentiment": sentiment,
        "champion": CHAMPION_NAMES.get(champion),
        "score": None if score is None else float(score),
        "revoked": revoked,
    }


def click_entry(row: Any, until: Any, why: Any, outcome: Any) -> dict[str, Any]:
    """A button click as an audit entry of a card (`row` as for input_entry)."""
    return _entry(row, until, why) | {"outcome": outcome}


def newest_entries(entries: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The `limit` newest of input and click entries, newest first; at the same instant an
    input sorts after (newer than) a click, then by id."""
    entries = sorted(entries, key=lambda e: e["sort"], reverse=True)
    return [{k: v for k, v in e.items() if k != "sort"} for e in entries[:limit]]


def _entry(row: Any, until: Any, why: Any) -> dict[str, Any]:
    """The columns every audit entry has; the rest default to None."""
    return {
        "what": row.kind,
        "by": row.user_email or row.user_id,
        "when": str(row.created_at)[:16],
        "until": None if until is None else str(until)[:10],
        "why": why or "",
        "sentiment": None,
        "champion": None,
        "score": None,
        "revoked": False,
        "outcome": None,
        "sort": (row.created_at, row.kind in ("note", "override"), row.id),
    }
