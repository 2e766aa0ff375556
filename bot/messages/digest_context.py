"""Turn the digest's numbers into what its templates show: capped lists, labels, emoji."""

from __future__ import annotations

from typing import Any

import pandas as pd

from scoring.config import Model
from scoring.decisions.card import band_display
from scoring.decisions.digest import Digest

LIST_LIMIT = 5
THREAD_LIMIT = 50


def _text(value: Any) -> str | None:
    """A text cell, or None when missing (pandas gives NaN, which must not print as "nan")."""
    return value if isinstance(value, str) and value else None


def _rows(model: Model, frame: pd.DataFrame, limit: int) -> tuple[list[dict[str, Any]], int]:
    rows = []
    for r in frame.head(limit).to_dict("records"):
        emoji, label = band_display(model, r["band"])
        rows.append(
            {
                "name": _text(r.get("name")) or str(r["account_id"]),
                "account_id": r["account_id"],
                "emoji": emoji,
                "band_label": label,
                "score": None if pd.isna(r["score_shown"]) else r["score_shown"],
                "delta": None if pd.isna(r.get("delta")) else r["delta"],
                "arr": None if pd.isna(r.get("arr")) else r["arr"],
                "owner": _text(r.get("owner_email")) or "—",
                "override": None
                if pd.isna(r.get("override_id", float("nan")))
                else {"by": _text(r.get("override_by")), "reason": _text(r.get("override_reason"))},
                "driver": r.get("driver_label") if isinstance(r.get("driver_label"), str) else None,
                "renewal_date": None
                if pd.isna(r.get("renewal_date"))
                else str(r["renewal_date"])[:10],
                "days_left": None
                if pd.isna(r.get("days_left", float("nan")))
                else int(r["days_left"]),
                "stale_days": None
                if pd.isna(r.get("stale_days", float("nan")))
                else int(r["stale_days"]),
                "renewal_past": bool(r.get("renewal_past") is True),
            }
        )
    return rows, max(len(frame) - limit, 0)


def digest_context(
    model: Model,
    digest: Digest,
    limit: int = LIST_LIMIT,
    quiet_line: bool = True,
    where: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What templates/digest.* show. `quiet_line` and `where` come from the digest target:
    whether a week where nothing moved gets a line saying so rather than silence, and the
    scope named in the header (two digests to one channel must be told apart)."""
    sections = []
    for key in ("drops", "gains", "downgrades", "renewals", "expansion", "data_quality"):
        rows, more = _rows(model, getattr(digest, key), limit)
        if rows:
            sections.append({"key": key, "rows": rows, "more": more})
    bands = [
        {
            **b,
            "emoji": band_display(model, b["name"])[0],
            "label": band_display(model, b["name"])[1],
        }
        for b in digest.bands
    ]
    return {
        "period": digest.period,
        "accounts": digest.accounts,
        "bands": bands,
        "arr_at_risk": digest.arr_at_risk,
        "arr_at_risk_change": digest.arr_at_risk_change,
        "average_score": digest.average_score,
        "quiet": digest.quiet,
        "quiet_line": quiet_line,
        "where": dict(where or {}),
        "sections": sections,
        "moves": digest.moves,
    }


def overflow_context(model: Model, digest: Digest) -> dict[str, Any] | None:
    """The thread reply listing up to 50 more of each long list, or None when nothing is cut."""
    sections = []
    for key in ("drops", "gains", "downgrades", "renewals", "expansion", "data_quality"):
        frame = getattr(digest, key).iloc[LIST_LIMIT:]
        rows, more = _rows(model, frame, THREAD_LIMIT)
        if rows:
            sections.append({"key": key, "rows": rows, "more": more})
    return {"period": digest.period, "sections": sections} if sections else None
