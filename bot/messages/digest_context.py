"""Turn the digest's numbers into what its templates show: capped lists, labels, emoji."""

from __future__ import annotations

from typing import Any

import pandas as pd

from scoring.config import Model
from scoring.decisions.card import band_display
from scoring.decisions.digest import Digest

LIST_LIMIT = 5
THREAD_LIMIT = 200  # rows of a list in its thread reply; past that, the whole list as a CSV
SECTIONS = ("drops", "gains", "downgrades", "renewals", "expansion", "data_quality")
CSV_COLUMNS = {  # the section's frame column -> the CSV's header
    "account_id": "account_id",
    "name": "name",
    "owner_email": "owner",
    "segment": "segment",
    "score_shown": "score",
    "band": "band",
    "delta": "delta",
    "arr": "arr",
    "renewal_date": "renewal_date",
    "days_left": "days_left",
    "driver_label": "driver",
    "stale_days": "days_without_data",
}


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


def overflow_contexts(model: Model, digest: Digest) -> list[dict[str, Any]]:
    """One thread reply per list that the digest cut short: up to THREAD_LIMIT more of its
    rows (a reply of 10-row blocks stays under Slack's 50 blocks), and, when even that cuts
    it, `csv`: the name of the file holding the whole list (section_csv), shared in the same
    thread. The first reply also carries the "More from the digest" line."""
    out = []
    for key in SECTIONS:
        whole = getattr(digest, key)
        rows, more = _rows(model, whole.iloc[LIST_LIMIT:], THREAD_LIMIT)
        if rows:
            csv = csv_name(digest.period, key) if more else None
            section = {"key": key, "rows": rows, "more": more, "csv": csv, "total": len(whole)}
            out.append({"period": digest.period, "first": not out, "sections": [section]})
    return out


def csv_name(period: str, key: str) -> str:
    return f"healthbot-digest-{period}-{key.replace('_', '-')}.csv"


def section_csv(digest: Digest, key: str) -> bytes:
    """A digest list in full as CSV (UTF-8 with a BOM, so spreadsheets read names right).
    A text cell that a spreadsheet would run as a formula (=, +, -, @) starts with a `'`."""
    frame = getattr(digest, key)
    columns = [c for c in CSV_COLUMNS if c in frame.columns]
    out = frame[columns].rename(columns=CSV_COLUMNS)
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            text = out[column].astype("string")
            risky = text.str.match(r"^[=+\-@\t\r]").fillna(False).to_numpy(dtype=bool)
            out[column] = text.where(~risky, "'" + text)
    return out.to_csv(index=False).encode("utf-8-sig")
