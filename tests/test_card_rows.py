"""An account's own rows for its card come back in one statement, right and typed alike on
SQLite and PostgreSQL (scoring/store/card_rows.py): notes in force only, the newest audit
entries across notes, overrides and clicks, the period's freshness, another account's rows
never."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.slack.cards import account_rows
from scoring.store.card_rows import card_rows
from scoring.store.clicks import ACTIONS
from scoring.store.csm_inputs import CSM_INPUTS
from scoring.store.freshness import save_freshness
from scoring.store.tables import ScoreSnapshot

TODAY = dt.date(2026, 12, 7)
T0 = dt.datetime(2026, 12, 1, 9, 30)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def day(days: int) -> dt.date:
    return TODAY + dt.timedelta(days=days)


def note(account: str, created: dt.datetime, entered: int, until: int, **kw: object) -> dict:
    """A csm_inputs row: a note unless `kind` says otherwise."""
    values = {"kind": "note", "user_email": "alice@example.com", "reason": "why"}
    values |= dict.fromkeys(("sentiment", "champion_status", "override_score", "revoked_at"))
    values |= kw
    return values | {
        "account_id": account,
        "created_at": created,
        "entered_on": day(entered),
        "valid_until": day(until),
    }


def click(account: str, kind: str, created: dt.datetime, **kw: object) -> dict:
    values = {"account_id": account, "kind": kind, "created_at": created, "user_id": "U1"}
    return values | dict.fromkeys(("user_email", "until", "note", "outcome")) | kw


def fill(engine: Engine) -> None:
    """acme's rows of every kind, and a few of globex's that acme's card must never show."""
    snapshot = {"as_of": TODAY, "model_version": "v1", "band": "healthy", "completeness": 1.0}
    snapshot |= {"status": "scored", "created_at": T0}
    with engine.begin() as conn:
        conn.execute(
            sa.insert(ScoreSnapshot.__table__),
            [
                snapshot | {"period": "2026-W49", "account_id": "acme", "score_shown": 71.0},
                snapshot | {"period": "2026-W47", "account_id": "acme", "score_shown": 64.0},
                snapshot | {"period": "2026-W48", "account_id": "acme", "score_shown": None},
                snapshot | {"period": "2026-W49", "account_id": "globex", "score_shown": 12.0},
            ],
        )
        conn.execute(
            sa.text(
                "INSERT INTO signals (account_id, signal, date, value, source)"
                " VALUES (:a, :s, :d, 1.0, 'test')"
            ),
            [
                {"a": "acme", "s": "logins", "d": day(-9)},
                {"a": "acme", "s": "nps", "d": day(-2)},
                {"a": "globex", "s": "logins", "d": day(0)},
            ],
        )
        conn.execute(
            sa.insert(CSM_INPUTS),
            [
                note("acme", at(0), -6, 20, sentiment=2, reason="in force, older"),
                note("acme", at(1), -30, -1, sentiment=5, reason="expired"),
                note("acme", at(2), 3, 20, sentiment=1, reason="not yet"),
                note("acme", at(3), -1, 20, champion_status=0, reason="revoked", revoked_at=at(4)),
                note("acme", at(5), -1, 3, champion_status=1, sentiment=4, reason="in force, new"),
                note("acme", at(6), 0, 2, kind="override", override_score=40.0, reason="ovr"),
                note("globex", at(9), -1, 20, sentiment=3, reason="globex's"),
            ],
        )
        conn.execute(
            sa.insert(ACTIONS),
            [
                click("acme", "snooze", at(0.5), until=day(4)),
                click("acme", "ack", at(1.5), user_email="bob@example.com"),
                click("acme", "outreach", at(6), note="called", outcome="reached"),
                click("globex", "ack", at(10)),
            ],
        )
    fresh = pd.DataFrame(
        {
            "account_id": ["acme", "acme", "globex"],
            "metric": ["nps", "logins", "nps"],
            "latest": pd.to_datetime([day(-40), day(-2), day(-1)]),
            "cadence_days": [30.0, None, 30.0],
            "age_days": [40, 2, 1],
            "stale": [False, False, False],
        }
    )
    save_freshness(engine, "2026-W49", fresh.assign(stale=[True, False, False]))
    save_freshness(engine, "2026-W48", fresh)


def test_one_account_rows_in_one_statement(engine: Engine) -> None:
    fill(engine)
    with engine.connect() as conn:
        rows = card_rows(conn, "acme", TODAY, "2026-W49", 3)
    assert rows.history == [64.0, None, 71.0]  # by period, oldest first
    assert rows.last_signal == day(-2)
    assert [(c.kind, c.created_at, c.until) for c in rows.clicks] == [
        ("snooze", at(0.5), day(4)),
        ("ack", at(1.5), None),
        ("outreach", at(6), None),
    ]
    assert [(n["reason"], n["sentiment"], n["champion"]) for n in rows.notes] == [
        ("in force, new", 4, "at_risk"),
        ("in force, older", 2, None),
    ]
    assert rows.notes[0] == {
        "id": rows.notes[0]["id"],
        "by": "alice@example.com",
        "written": "2026-12-01 14:30",
        "entered_on": str(day(-1)),
        "until": str(day(3)),
        "sentiment": 4,
        "champion": "at_risk",
        "reason": "in force, new",
    }
    # The override and the outreach share an instant: the CSM input counts as the newer.
    assert [(e["what"], e["why"], e["score"], e["outcome"]) for e in rows.audit] == [
        ("override", "ovr", 40.0, None),
        ("outreach", "called", None, "reached"),
        ("note", "in force, new", None, None),
    ]
    assert rows.audit[0]["until"] == str(day(2)) and rows.audit[0]["by"] == "alice@example.com"
    assert rows.freshness == [
        {"metric": "logins", "latest": str(day(-2)), "cadence_days": None, "age_days": 2}
        | {"stale": False},
        {"metric": "nps", "latest": str(day(-40)), "cadence_days": 30.0, "age_days": 40}
        | {"stale": True},
    ]


def test_revoked_inputs_stay_in_the_audit_and_no_period_means_no_freshness(
    engine: Engine,
) -> None:
    fill(engine)
    with engine.connect() as conn:
        rows = card_rows(conn, "acme", TODAY, None, 6)
    assert rows.freshness == []
    assert [e["why"] for e in rows.audit] == [
        "ovr",
        "called",
        "in force, new",
        "revoked",
        "not yet",
        "",  # the ack: older than every input but the expired note and the first one
    ]
    assert [e["revoked"] for e in rows.audit[:4]] == [False, False, False, True]


def test_an_account_without_rows_has_an_empty_card_part(engine: Engine) -> None:
    fill(engine)
    with engine.connect() as conn:
        rows = card_rows(conn, "initech", TODAY, "2026-W49", 3)
    assert (rows.history, rows.last_signal, rows.clicks) == ([], None, [])
    assert (rows.notes, rows.audit, rows.freshness) == ([], [], [])


def test_account_rows_reads_the_alert_state_from_the_clicks(engine: Engine) -> None:
    fill(engine)
    own = account_rows(engine, "acme", TODAY, "2026-W49")
    assert own.state == {
        "acknowledged_by": "bob@example.com",
        "acknowledged_at": "2026-12-01 11:00",
        "snoozed_until": str(day(4)),
        "last_note": "called (reached)",
    }
    assert "snoozed_until" not in account_rows(engine, "acme", day(5)).state  # it ended


def test_the_card_read_is_one_round_trip_and_leaves_the_pool_as_it_was(engine: Engine) -> None:
    """On PostgreSQL the card's one statement runs in autocommit, so psycopg sends no BEGIN
    before it and the pool no ROLLBACK after it (two round trips per lookup): the connection
    comes back idle, not inside a transaction. It goes back to the pool in its usual
    isolation, so the next user of it still gets a transaction."""
    fill(engine)
    sent: list[str] = []
    states: list[str] = []

    def statement(conn: sa.Connection, cursor: object, text: str, *rest: object) -> None:
        sent.append(text)
        info = getattr(conn.connection.dbapi_connection, "info", None)  # psycopg's
        states.append(getattr(getattr(info, "transaction_status", None), "name", "n/a"))

    sa.event.listen(engine, "after_cursor_execute", statement)
    try:
        rows = account_rows(engine, "acme", TODAY, "2026-W49")
    finally:
        sa.event.remove(engine, "after_cursor_execute", statement)
    assert rows.history == [64.0, None, 71.0]
    assert len([t for t in sent if t != "BEGIN"]) == 1, "the card's rows are one statement"
    if engine.dialect.name == "postgresql":
        assert states == ["IDLE"], "no transaction is open around the card's statement"
        with engine.connect() as conn:
            assert conn.get_isolation_level() != "AUTOCOMMIT"
            conn.exec_driver_sql("SELECT 1")
            raw = conn.connection.dbapi_connection
            assert raw is not None and raw.info.transaction_status.name == "INTRANS"
