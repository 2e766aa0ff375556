"""One account's own rows for its card, read in ONE round trip.

The Slack app keeps the period in memory (bot/slack/portfolio.py) but reads an account's own
rows on every lookup, so a note or a click shows on the very next card in every web process
(no cache to invalidate). Those rows live in five tables; reading them with one statement per
table cost six round trips and six SQLAlchemy executions per lookup, which halved PostgreSQL
throughput (issue #22's CSM view). `CARD_SQL` is one UNION ALL over the account indexes,
written once as text (no per-call statement building or cache-key work) and typed by
position, so SQLite's strings come back as dates, datetimes and booleans like PostgreSQL's.

Every branch fills the same columns (what each means depends on `part`):

| part   | rows                              | used columns                                        |
|--------|-----------------------------------|-----------------------------------------------------|
| signal | exactly one: its latest signal    | day = max(date)                                     |
| score  | its shown score per stored period | name = period, num = score_shown                    |
| click  | every button click on it          | id, kind, who, created_at, until, words = note,     |
|        |                                   | outcome                                             |
| note   | its CSM notes in force on :today  | id, who, created_at, day = entered_on, until,       |
|        |                                   | int_a = sentiment, int_b = champion, words = reason |
| input  | its latest :n CSM inputs          | as note, num = override_score, flag = revoked       |
| fresh  | its metrics' freshness in :period | name = metric, day = latest, num = cadence_days,    |
|        |                                   | int_a = age_days, flag = stale                      |

The first branch casts every column: PostgreSQL types a UNION's columns pair by pair from the
left, and a bare NULL in the first two branches would become text and clash with a date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from scoring.store.audit_trail import click_entry, input_entry, newest_entries
from scoring.store.csm_inputs import CHAMPION_NAMES

_INPUT = (
    " id, kind, NULL, user_id, user_email, created_at, entered_on, valid_until, {num},"
    " sentiment, champion_status, reason, NULL, {flag} FROM csm_inputs WHERE account_id = :a"
)
CARD_SQL = (
    sa.text(
        "SELECT 'signal' AS part, CAST(NULL AS INTEGER) AS id, CAST(NULL AS VARCHAR) AS kind,"
        " CAST(NULL AS VARCHAR) AS name, CAST(NULL AS VARCHAR) AS user_id,"
        " CAST(NULL AS VARCHAR) AS user_email, CAST(NULL AS TIMESTAMP) AS created_at,"
        " (SELECT max(date) FROM signals WHERE account_id = :a) AS day,"
        " CAST(NULL AS DATE) AS until, CAST(NULL AS DOUBLE PRECISION) AS num,"
        " CAST(NULL AS INTEGER) AS int_a, CAST(NULL AS INTEGER) AS int_b,"
        " CAST(NULL AS TEXT) AS words, CAST(NULL AS VARCHAR) AS outcome,"
        " CAST(NULL AS BOOLEAN) AS flag"
        " UNION ALL SELECT 'score', NULL, NULL, period, NULL, NULL, NULL, NULL, NULL,"
        " score_shown, NULL, NULL, NULL, NULL, NULL FROM score_snapshots WHERE account_id = :a"
        " UNION ALL SELECT 'click', id, kind, NULL, user_id, user_email, created_at, NULL,"
        " until, NULL, NULL, NULL, note, outcome, NULL FROM account_actions"
        " WHERE account_id = :a"
        " UNION ALL SELECT 'note'," + _INPUT.format(num="NULL", flag="NULL") + " AND kind = 'note'"
        " AND revoked_at IS NULL AND entered_on <= :today AND valid_until >= :today"
        " UNION ALL SELECT 'input',"
        + _INPUT.format(num="override_score", flag="revoked_at IS NOT NULL")
        + " AND id IN (SELECT id FROM csm_inputs WHERE account_id = :a"
        " ORDER BY created_at DESC, id DESC LIMIT :n)"
        " UNION ALL SELECT 'fresh', NULL, NULL, metric, NULL, NULL, NULL, latest, NULL,"
        " cadence_days, age_days, NULL, NULL, NULL, stale FROM metric_freshness"
        " WHERE period = :period AND account_id = :a"
    )
    .bindparams(sa.bindparam("today", type_=sa.Date), sa.bindparam("n", type_=sa.Integer))
    .columns(
        sa.column("part", sa.String),
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("name", sa.String),
        sa.column("user_id", sa.String),
        sa.column("user_email", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("day", sa.Date),
        sa.column("until", sa.Date),
        sa.column("num", sa.Float),
        sa.column("int_a", sa.Integer),
        sa.column("int_b", sa.Integer),
        sa.column("words", sa.Text),
        sa.column("outcome", sa.String),
        sa.column("flag", sa.Boolean),
    )
)


@dataclass(frozen=True)
class CardRows:
    """What a card reads of one account per request, decoded."""

    history: list[float | None]  # its shown score per stored period, oldest first
    last_signal: dt.date | None
    clicks: list[Any]  # its button clicks, oldest first (kind, who, created_at, until, ...)
    notes: list[dict[str, Any]]  # active CSM notes, latest first
    audit: list[dict[str, Any]]  # its latest audit entries, newest first
    freshness: list[dict[str, Any]]  # per metric: latest data date, cadence, stale


def card_rows(
    conn: sa.Connection, account_id: str, today: dt.date, period: str | None, audit: int
) -> CardRows:
    """One account's own rows (see the module docstring) with one statement: notes in force
    on `today`, its `audit` latest audit entries, freshness in `period` (None: none)."""
    params = {"a": account_id, "today": today, "n": audit, "period": period}
    parts: dict[str, list[Any]] = {p: [] for p in ("signal", "score", "click", "note", "input")}
    parts["fresh"] = []
    for row in conn.execute(CARD_SQL, params):
        parts[row.part].append(row)
    scores = sorted(parts["score"], key=lambda r: r.name)
    clicks = sorted(parts["click"], key=lambda r: (r.created_at, r.id))
    latest = next((r.day for r in parts["signal"]), None)
    return CardRows(
        history=[None if r.num is None else float(r.num) for r in scores],
        last_signal=None if latest is None else dt.date.fromisoformat(str(latest)[:10]),
        clicks=clicks,
        notes=[_note(r) for r in _newest_first(parts["note"])],
        audit=newest_entries(
            [_input(r) for r in parts["input"]] + [_click(r) for r in clicks[-audit:]], audit
        ),
        freshness=[_fresh(r) for r in sorted(parts["fresh"], key=lambda r: r.name)],
    )


def _newest_first(rows: Sequence[Any]) -> list[Any]:
    return sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)


def _note(r: Any) -> dict[str, Any]:
    """A note in force, as the card's CSM view wants it (scoring.decisions.card.csm_view)."""
    return {
        "id": r.id,
        "by": r.user_email or r.user_id,
        "written": str(r.created_at)[:16],
        "entered_on": str(r.day)[:10],
        "until": str(r.until)[:10],
        "sentiment": r.int_a,
        "champion": CHAMPION_NAMES.get(r.int_b),
        "reason": r.words,
    }


def _input(r: Any) -> dict[str, Any]:
    return input_entry(r, r.until, r.words, r.int_a, r.int_b, r.num, bool(r.flag))


def _click(r: Any) -> dict[str, Any]:
    return click_entry(r, r.until, r.words, r.outcome)


def _fresh(r: Any) -> dict[str, Any]:
    return {
        "metric": r.name,
        "latest": str(r.day)[:10],
        "cadence_days": None if r.num is None else float(r.num),
        "age_days": int(r.int_a),
        "stale": bool(r.flag),
    }
