"""Everything an account card shows, gathered from stored data into one plain dict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from scoring.config import INSUFFICIENT_DATA, Model
from scoring.config.metrics import COLOR_EMOJI
from scoring.decisions.history import sparkline

SPARK_WEEKS = 12
TOP_DRIVERS = 3


def band_display(model: Model, band: str) -> tuple[str, str]:
    """(emoji, readable label) of a band: its own emoji, else its colour's."""
    for b in model.bands:
        if b.name == band:
            return b.emoji or COLOR_EMOJI.get(model.band_color(band), "⚪"), b.name.replace(
                "_", " "
            )
    return "⚪", "insufficient data" if band == INSUFFICIENT_DATA else band


def band_thresholds(model: Model, segment: Any = None) -> dict[str, Any]:
    """The band thresholds that apply to an account of model segment `segment` (its
    `segment_rule`; None or unknown: the top level): `segment` is named only when it has bands
    of its own, `bands` lists each band above the floor, top band first, with its minimum."""
    own = model.segments.get(segment) if isinstance(segment, str) else None
    named = segment if own is not None and own.bands is not None else None
    bands = model.segment_bands(named)
    return {
        "segment": named,
        "bands": [
            {"name": b.name, "label": b.name.replace("_", " "), "min": float(b.min)}
            for b in bands
            if b.min > 0
        ],
    }


def segments_with_own_bands(model: Model, rules: Any) -> list[dict[str, Any]]:
    """band_thresholds of each model segment among `rules` (segment_rule values) that has
    bands of its own, by name: what a picture drawn with the top-level thresholds must add."""
    present = {r for r in rules if isinstance(r, str)}
    return [
        band_thresholds(model, name)
        for name in sorted(present)
        if name in model.segments and model.segments[name].bands is not None
    ]


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


@dataclass(frozen=True)
class AccountRows:
    """One account's slice of a period as plain records: a card is a few dozen lookups, which
    cost microseconds on dicts and tens of microseconds each on one-row pandas frames."""

    period: str
    row: Mapping[str, Any]  # its row of PeriodView.scores
    metrics: list[Mapping[str, Any]]  # its rows of PeriodView.metrics
    drivers: list[Mapping[str, Any]]  # its rows of PeriodView.drivers, largest move first


def _override(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """Who overrode the score, why, until when, and what the data alone says."""
    if _num(row.get("override_id")) is None:
        return None
    return {
        "by": row.get("override_by"),
        "reason": row.get("override_reason"),
        "until": str(row.get("override_until"))[:10],
        "computed_score": _num(row.get("computed_score")),
        "computed_band": str(row.get("computed_band", "")).replace("_", " "),
    }


def _no_score(
    model: Model, row: Mapping[str, Any], table: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Why an account has no score (None: it has one): its weighted metrics without data, the
    share of the weight that has data and the share a score needs."""
    if _num(row["score_shown"]) is not None:
        return None
    return {
        "missing": [m["label"] for m in table if not m["has_data"] and (m["weight"] or 0) > 0],
        "have": (_num(row["completeness"]) or 0.0) * 100,
        "need": model.min_completeness * 100,
    }


def csm_view(notes: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The CSM input in force: the latest active note that sets the sentiment and the latest
    that sets the champion status (one entry when one note sets both), latest first, each with
    who wrote it, when, until when and why. `notes`: active notes, latest first
    (scoring.store.card_rows.card_rows)."""
    sentiment = next((n for n in notes if n.get("sentiment") is not None), None)
    champion = next((n for n in notes if n.get("champion") is not None), None)
    out: list[dict[str, Any]] = []
    for key, note in (("sentiment", sentiment), ("champion", champion)):
        if note is None:
            continue
        entry = next((e for e in out if e["id"] == note["id"]), None)
        if entry is None:
            entry = dict(note) | {"sentiment": None, "champion": None}
            out.append(entry)
        entry[key] = note[key]
    order = [n["id"] for n in notes]
    return sorted(out, key=lambda e: order.index(e["id"]))  # latest first


def card_context(
    model: Model,
    account: AccountRows,
    history: list[float | None],
    playbook: dict[str, Any] | None = None,
    last_signal: date | None = None,
    alert_state: dict[str, Any] | None = None,
    notes: list[Mapping[str, Any]] | None = None,
    audit: list[dict[str, Any]] | None = None,
    freshness: list[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """`history`: the account's shown score per stored week, oldest first (the sparkline);
    `notes`: its active CSM notes, latest first; `audit`: its latest audit entries;
    `freshness`: its metrics' data freshness this period (scoring.decisions.freshness)."""
    fresh = {f["metric"]: f for f in freshness or []}
    row = account.row
    emoji, label = band_display(model, row["band"])
    by_metric = {m["metric"]: m for m in account.metrics}
    table = []
    for key in model.metric_keys:
        m = by_metric.get(key)
        table.append(
            {
                "key": key,
                "label": model.metrics[key].label,
                "raw": None if m is None else _num(m["raw"]),
                "score": None if m is None else _num(m["metric_score"]),
                "weight": None if m is None else _num(m["weight"]),
                "points": None if m is None else _num(m["points"]),
                "has_data": bool(m is not None and m["has_data"]),
                "latest": fresh.get(key, {}).get("latest"),
                "stale_days": fresh[key]["age_days"] if fresh.get(key, {}).get("stale") else None,
                "cadence_days": fresh.get(key, {}).get("cadence_days"),
            }
        )
    drivers = [
        {"label": model.metrics[d["metric"]].label, "delta": float(d["delta_points"])}
        for d in account.drivers[:TOP_DRIVERS]
        if abs(d["delta_points"]) >= 0.05
    ]
    recent = history[-SPARK_WEEKS:]
    renewal = _text(row.get("renewal_date"))
    renewal = None if renewal is None else renewal[:10]
    as_of = str(row["as_of"])[:10]
    return {
        "account_id": str(row["account_id"]),
        "name": str(row["name"]),
        "period": account.period,
        "as_of": as_of,
        "score": _num(row["score_shown"]),
        "previous_score": _num(row["previous_score"]),
        "delta": _num(row["delta"]),
        "band": row["band"],
        "band_label": label,
        "emoji": emoji,
        "sparkline": sparkline(recent) if recent else "",
        "weeks": len(recent),
        "metrics": table,
        "drivers": drivers,
        "completeness": _num(row["completeness"]) or 0.0,
        "last_signal": str(last_signal) if last_signal else None,
        "model_changed": bool(row.get("model_changed", False)),
        "owner": _text(row.get("owner_email")) or None,
        "segment": _text(row.get("segment")) or None,
        "arr": _num(row.get("arr")),
        "renewal_date": renewal,
        # A renewal date before the scoring date is stale CRM data, not a renewal to come.
        "renewal_past": renewal is not None and renewal < as_of,
        "playbook": playbook,
        "alert_state": alert_state or {},
        "override": _override(row),
        "thresholds": band_thresholds(model, row.get("segment_rule")),
        "no_score": _no_score(model, row, table),
        "csm_notes": csm_view(notes or []),
        "audit": list(audit or []),
    }


def past_renewals(accounts: pd.DataFrame, today: date) -> pd.DataFrame:
    """Accounts whose renewal date is before `today` (account_id, name, renewal_date), the
    latest first: a renewal date in the past is stale CRM data, reported by `healthbot
    check`, on cards and in the digest's data quality, never as a renewal to come."""
    when = pd.to_datetime(accounts["renewal_date"], errors="coerce").dt.normalize()
    past = (when < pd.Timestamp(today)).fillna(False).to_numpy(dtype=bool)
    name = accounts["name"] if "name" in accounts else accounts["account_id"]
    out = pd.DataFrame(
        {
            "account_id": accounts["account_id"].astype(str).to_numpy()[past],
            "name": name.astype(str).to_numpy()[past],
            "renewal_date": when.dt.strftime("%Y-%m-%d").to_numpy()[past],
        }
    )
    return out.sort_values("renewal_date", ascending=False, kind="stable", ignore_index=True)
