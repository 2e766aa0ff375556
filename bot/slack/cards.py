"""Assemble account cards and list lines from the store (shared by `/health` and `healthbot
lookup`). The CLI loads the period once per run (`account_card`); the Slack app keeps it in
memory (bot/slack/portfolio.py) and comes here for the account's own rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.batch.views import PeriodView, load_period
from scoring.config import Model
from scoring.decisions.card import AccountRows, band_display, card_context
from scoring.decisions.playbooks import choose_playbooks, playbook_dict, playbook_inputs
from scoring.errors import HealthbotError
from scoring.store.card_rows import card_rows
from scoring.store.db import one_statement

WRITTEN_SQL = sa.text("SELECT created_at FROM score_snapshots WHERE period = :p LIMIT 1")
AUDIT_ENTRIES = 3  # the latest audit entries a card shows


def today_in(model: Model) -> date:
    """Today in the model's time zone (snoozes end on a local day)."""
    return datetime.now(ZoneInfo(model.timezone)).date()


def _value(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def playbook_names(model: Model, scores: pd.DataFrame, drivers: pd.DataFrame) -> pd.Series:
    """Each account's recommended playbook name (None: no rule matches), by account_id.

    `scores` and `drivers` are (some of) a PeriodView's."""
    if not model.playbooks or scores.empty:
        return pd.Series(None, index=scores["account_id"].astype(str), dtype=object)
    inputs = playbook_inputs(scores, scores, drivers)
    inputs["previous_delta"] = inputs["account_id"].map(
        scores.set_index(scores["account_id"].astype(str))["previous_delta"]
    )
    as_of = pd.Timestamp(scores["as_of"].iloc[0]).date()
    chosen = choose_playbooks(model, as_of, inputs)
    chosen.index = inputs["account_id"].to_numpy()
    return chosen


def account_slice(view: PeriodView, account_id: str) -> AccountRows:
    """One account's rows of a period view (raises when it has no score this period)."""
    mask = (view.scores["account_id"] == account_id).to_numpy()
    if not mask.any():
        raise not_scored(account_id, view.period)
    metrics = view.metrics[(view.metrics["account_id"] == account_id).to_numpy()]
    drivers = view.drivers[(view.drivers["account_id"] == account_id).to_numpy()]
    return AccountRows(
        view.period,
        view.scores[mask].to_dict("records")[0],
        metrics.to_dict("records"),
        drivers.to_dict("records"),
    )


def not_scored(account_id: str, period: str) -> HealthbotError:
    return HealthbotError(
        f"{account_id} has no score in {period} (churned, or added since the last scoring run)"
    )


@dataclass(frozen=True)
class OwnRows:
    """What a card reads of one account per request (indexed queries on one connection)."""

    history: list[float | None]  # its shown score per stored period, oldest first
    last_signal: date | None
    state: dict[str, Any]  # the keys of scoring.store.clicks.alert_state
    notes: list[dict[str, Any]]  # active CSM notes, latest first
    audit: list[dict[str, Any]]  # the latest AUDIT_ENTRIES audit entries, newest first
    freshness: list[dict[str, Any]]  # per metric: latest data date, cadence, stale


def account_rows(
    engine: Engine, account_id: str, today: date, period: str | None = None
) -> OwnRows:
    """One account's own rows in one round trip (scoring/store/card_rows.py; it runs on every
    lookup and is never cached, so a note or a click shows on the next card in every web
    process): its shown score per stored period (the sparkline), its latest signal date, what
    the clicks on it say (the last acknowledgement, an active snooze, the last outreach note),
    its CSM notes in force and its latest audit entries; with `period`, each metric's data
    freshness in it (precomputed)."""
    with one_statement(engine) as conn:
        rows = card_rows(conn, account_id, today, period, AUDIT_ENTRIES)
    state: dict[str, Any] = {}
    for row in rows.clicks:  # oldest first, so the latest of each kind wins
        if row.kind == "ack":
            state["acknowledged_by"] = row.user_email or row.user_id
            state["acknowledged_at"] = str(row.created_at)[:16]
        elif row.kind == "snooze" and row.until is not None and row.until >= today:
            state["snoozed_until"] = str(row.until)
        elif row.kind == "outreach":
            state["last_note"] = f"{row.words}" + (f" ({row.outcome})" if row.outcome else "")
    return OwnRows(rows.history, rows.last_signal, state, rows.notes, rows.audit, rows.freshness)


def card_for(
    engine: Engine, model: Model, one: AccountRows, playbook: Any = None
) -> dict[str, Any]:
    """The card context from an account's slice of the period plus its own rows in the store."""
    own = account_rows(engine, str(one.row["account_id"]), today_in(model), one.period)
    return card_context(
        model,
        one,
        own.history,
        playbook=playbook_dict(model, playbook),
        last_signal=own.last_signal,
        alert_state=own.state,
        notes=own.notes,
        audit=own.audit,
        freshness=own.freshness,
    )


def current_alert_state(engine: Engine, account_id: str, today: date) -> dict[str, Any]:
    return account_rows(engine, account_id, today).state


def account_card(
    engine: Engine, model: Model, account_id: str, view: PeriodView | None = None
) -> dict[str, Any]:
    view = view or load_period(engine)
    one = account_slice(view, account_id)
    scores = view.scores[(view.scores["account_id"] == account_id).to_numpy()]
    drivers = view.drivers[(view.drivers["account_id"] == account_id).to_numpy()]
    return card_for(engine, model, one, playbook_names(model, scores, drivers).get(account_id))


def list_item(model: Model, row: dict[str, Any]) -> dict[str, Any]:
    """What one line of a list (mine, at-risk, App Home) shows about an account."""
    emoji, label = band_display(model, row["band"])
    renewal = _value(row.get("renewal_date"))
    return {
        "account_id": str(row["account_id"]),
        "name": str(row["name"]),
        "emoji": emoji,
        "band_label": label,
        "score": _value(row.get("score_shown")),
        "delta": _value(row.get("delta")),
        "arr": _value(row.get("arr")),
        "renewal_date": None if renewal is None else str(renewal)[:10],
        "owner": _value(row.get("owner_email")),
    }
