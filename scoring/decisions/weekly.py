"""The weekly decisions: which alerts go to whom, with which playbook, in what order.

Pure: frames in, plain data out. The pipeline (bot/jobs/weekly.py) loads the frames and sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from scoring.config import Model
from scoring.decisions.alert_cooldown import apply_cooldown
from scoring.decisions.alert_schema import HEALTH_RULES, RULES
from scoring.decisions.alerts import decide_alerts
from scoring.decisions.card import band_display, band_thresholds
from scoring.decisions.feed_stale import stopped_feeds
from scoring.decisions.history import COMPARISON_COLUMNS
from scoring.decisions.lost_score import lost_score_notices
from scoring.decisions.metric_drop import champion_values, metric_drops
from scoring.decisions.placed_history import InPlaceSignals
from scoring.decisions.playbooks import (
    choose_playbooks,
    order_by_urgency,
    playbook_dict,
    playbook_inputs,
)
from scoring.decisions.portfolio_moves import account_segments, move_records, segment_moves

# The default of `alerts.max_per_dm`: more than this in one DM and the last ones go unread.
MAX_ACCOUNTS_PER_DM = 10


@dataclass(frozen=True)
class OwnerAlerts:
    owner_email: str
    items: list[dict[str, Any]]
    more: int
    key: str
    # Segment-wide dips among the owner's accounts (portfolio_moves.move_records): one line
    # each, so a quiet DM in a holiday week is not read as a quiet week.
    moves: list[dict[str, Any]] = field(default_factory=list)

    @property
    def owner_name(self) -> str:
        return owner_name(self.owner_email)


def owner_name(email: str) -> str:
    """A greeting name from an email's local part: ann.lee@x.com → Ann Lee."""
    local = email.split("@", 1)[0]
    return " ".join(p.capitalize() for p in local.replace("_", ".").split(".") if p)


def dm_key(period: str, owner_email: str) -> str:
    """One alert DM per owner and period, whatever it carries: a rerun revises it, never
    sends a second one."""
    return f"alert:{period}:{owner_email}"


@dataclass(frozen=True)
class WeeklyDecision:
    alerts: pd.DataFrame
    suppressed: pd.DataFrame
    playbooks: pd.Series
    batches: list[OwnerAlerts]
    moves: list[dict[str, Any]] = field(default_factory=list)

    @property
    def health_alerts(self) -> pd.DataFrame:
        """The alerts about a customer's health (HEALTH_RULES), without renewal and data
        notices: what alert volumes count."""
        return self.alerts[self.alerts["rule"].isin(HEALTH_RULES)]

    @property
    def keys_by_account(self) -> dict[str, str]:
        """Which outbox message carries each alerted account."""
        return {item["account_id"]: b.key for b in self.batches for item in b.items}


def decide_week(
    model: Model,
    as_of: date,
    view: Any,
    accounts: pd.DataFrame,
    signals: pd.DataFrame,
    last_signal: pd.Series,
    history: pd.DataFrame | None = None,
    snoozes: pd.DataFrame | None = None,
    recent: pd.DataFrame | None = None,
    lost_scores: bool = False,
    in_place: InPlaceSignals | None = None,
    freshness: pd.DataFrame | None = None,
) -> WeeklyDecision:
    """`view`: scoring.batch.views.PeriodView of the period being run; `recent`: shown scores
    of the runs before it (scoring.batch.views.recent_scores), which band hysteresis needs to
    confirm a slow slide (None: judged as a first run); `lost_scores`: add the lost-score data
    notices (scoring/decisions/lost_score.py; the weekly job does, the replay of health alerts
    does not); `in_place`: signals not among `signals`, read where they are stored;
    `freshness`: the period's metric freshness (scoring.decisions.freshness), from which a
    stopped feed turns an account's health alerts into a data notice (feed_stale.py)."""
    scores = view.scores
    comparison = scores[[c for c in COMPARISON_COLUMNS if c != "model_changed"]]
    segments = account_segments(scores)  # the same segments the score's dip is judged in
    drops = metric_drops(
        model, scores["account_id"], signals, as_of, segments=segments, in_place=in_place
    )
    last = pd.to_datetime(last_signal) if len(last_signal) else last_signal
    champion = (
        champion_values(model, scores["account_id"], signals, as_of, in_place=in_place)
        if model.alerts.champion_left is not None
        else None
    )
    raw = decide_alerts(
        model,
        as_of,
        scores,
        comparison,
        view.drivers,
        accounts,
        metric_drop_frame=drops,
        champion=champion,
        last_signal=last,
        recent=recent,
        stopped=stopped_feeds(model, freshness),
    )
    if lost_scores:
        raw = _with_notices(raw, lost_score_notices(model, scores, getattr(view, "metrics", None)))
    to_send, suppressed = apply_cooldown(raw, history, snoozes, as_of, model.alerts, recent)
    inputs = playbook_inputs(comparison, accounts, view.drivers)
    inputs["previous_delta"] = inputs["account_id"].map(
        scores.set_index("account_id")["previous_delta"]
    )
    playbooks = choose_playbooks(model, as_of, inputs)
    playbooks.index = inputs["account_id"].to_numpy()
    moves = segment_moves(scores, model)
    batches = owner_batches(model, view.period, to_send, scores, playbooks, as_of, moves)
    return WeeklyDecision(to_send, suppressed, playbooks, batches, move_records(moves))


def _with_notices(raw: pd.DataFrame, notices: pd.DataFrame) -> pd.DataFrame:
    """The rules' alerts plus the lost-score notices, in rule order per account."""
    if notices.empty:
        return raw
    both = pd.concat([raw, notices], ignore_index=True) if len(raw) else notices
    order = both["rule"].map({r: i for i, r in enumerate(RULES)})
    return (
        both.assign(_o=order)
        .sort_values(["account_id", "_o"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def _owner_moves(scores: pd.DataFrame, moves: pd.DataFrame | None) -> dict[str, list[dict]]:
    """Each owner's segment-wide dips: the moves of segments the owner has accounts in."""
    if moves is None or moves.empty:
        return {}
    owners = scores["owner_email"].fillna("").astype(str)
    segment = account_segments(scores)
    pairs = pd.DataFrame({"owner": owners, "segment": segment}).drop_duplicates()
    records = dict(zip(moves["segment"], move_records(moves), strict=True))
    pairs = pairs[pairs["segment"].isin(records)]
    return {
        owner: [records[s] for s in group["segment"]]
        for owner, group in pairs.groupby("owner", sort=False)
    }


def owner_batches(
    model: Model,
    period: str,
    alerts: pd.DataFrame,
    scores: pd.DataFrame,
    playbooks: pd.Series,
    as_of: date | None = None,
    moves: pd.DataFrame | None = None,
) -> list[OwnerAlerts]:
    """One message per owner listing each alerted account once, most urgent first, at most
    `alerts.max_per_dm` in full. A renewal date before `as_of` is a data problem, shown as
    such (`renewal_past`), never as a coming renewal."""
    if alerts.empty:
        return []
    cap = model.alerts.max_per_dm
    owner_moves = _owner_moves(scores, moves)
    info = scores.set_index("account_id")
    reasons = alerts.groupby("account_id")["reason"].agg(list)
    accounts = info.loc[reasons.index].reset_index()
    accounts["owner_email"] = accounts["owner_email"].fillna("").astype(str)
    ordered = order_by_urgency(accounts)
    out = []
    for owner, group in ordered.groupby("owner_email", sort=True):
        items = []
        for row in group.head(cap).to_dict("records"):
            emoji, label = band_display(model, row["band"])
            renewal = row.get("renewal_date")
            renewal = None if renewal is None or pd.isna(renewal) else str(renewal)[:10]
            past = as_of is not None and renewal is not None and renewal < as_of.isoformat()
            items.append(
                {
                    "account_id": row["account_id"],
                    "name": str(row["name"]),
                    "emoji": emoji,
                    "band_label": label,
                    "thresholds": band_thresholds(model, row.get("segment_rule")),
                    "score": None if pd.isna(row["score_shown"]) else row["score_shown"],
                    "previous_score": None
                    if pd.isna(row["previous_score"])
                    else row["previous_score"],
                    "delta": None if pd.isna(row["delta"]) else row["delta"],
                    "arr": None if pd.isna(row["arr"]) else row["arr"],
                    "renewal_date": None if past else renewal,
                    "renewal_past": renewal if past else None,
                    "reasons": reasons[row["account_id"]],
                    "playbook": playbook_dict(model, playbooks.get(row["account_id"])),
                }
            )
        moved = owner_moves.get(owner, [])
        owner = owner or "(no owner)"
        more = max(len(group) - cap, 0)
        out.append(OwnerAlerts(owner, items, more, dm_key(period, owner), moved))
    return out


def alert_history_rows(alerts: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """What to remember of sent alerts for the next weeks' cooldown."""
    return alerts.assign(sent_on=as_of)[
        ["account_id", "rule", "sent_on", "score_shown", "band_rank"]
    ]


def stale_days(last_signal: pd.Series, as_of: date, threshold: int | None) -> pd.Series:
    if threshold is None or last_signal.empty:
        return pd.Series(dtype=float)
    days = (pd.Timestamp(as_of) - pd.to_datetime(last_signal)).dt.days
    return days[days >= threshold]
