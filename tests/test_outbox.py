"""The outbox tables and their functions, on SQLite and PostgreSQL, plus its CLI commands.

Every state change of a row is a compare-and-set; these tests pin the "exactly one winner"
rules that delivery relies on, and the migration that creates the tables.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.cli import main
from scoring.store import current_revision, downgrade, head_revision, upgrade
from scoring.store.leases import LEASES, heartbeat, live_holders, take_lease
from scoring.store.outbox import (
    OUTBOX,
    OutboxMessage,
    count_by_status,
    enqueue,
    get_row,
    is_paused,
    list_outbox,
    set_paused,
)
from scoring.store.outbox_moves import (
    STALE_CLAIM,
    claim,
    due_rows,
    in_doubt_rows,
    mark_delivered,
    postpone,
    transition,
)
from scoring.store.tables import utcnow
from tests.databases import BACKENDS, migrated_database


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    with migrated_database(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def engine(db: tuple[str, Engine]) -> Engine:
    return db[1]


def dm(
    key: str,
    email: str = "alice@example.com",
    text: str = "hello",
    accounts: list[str] | None = None,
) -> OutboxMessage:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return OutboxMessage(
        key,
        "alert_dm",
        "email",
        email,
        text,
        blocks,
        period="2026-W47",
        accounts=accounts,
        revisable=accounts is not None,
    )


def pending(engine: Engine) -> list[dict]:
    return due_rows(engine, utcnow(), ("pending",))


def test_migration_creates_exactly_the_model_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    import scoring.store.alert_log  # noqa: F401  (registers the 0003 tables for the comparison)
    import scoring.store.alert_shown  # noqa: F401  (0007)
    import scoring.store.clicks  # noqa: F401
    import scoring.store.csm_inputs  # noqa: F401

    names = (
        "outbox",
        "delivery_settings",
        "alert_log",
        "account_actions",
        "csm_inputs",
        "alert_shown",
        "leases",
    )
    ours = [d for d in diff if any(n in repr(d) for n in names)]
    assert ours == []
    assert current_revision(engine) == head_revision()
    downgrade(engine, "0001_initial")
    assert not {"outbox", "delivery_settings", "alert_shown"} & set(
        sa.inspect(engine).get_table_names()
    )
    upgrade(engine)
    assert {"outbox", "delivery_settings", "alert_shown"} <= set(
        sa.inspect(engine).get_table_names()
    )


def test_enqueue_skips_existing_keys_and_repeats(engine: Engine) -> None:
    assert enqueue(engine, [dm("digest:W47:a"), dm("digest:W47:a", text="dup")]) == 1
    assert enqueue(engine, [dm("digest:W47:a", text="again"), dm("digest:W47:b")]) == 1
    assert enqueue(engine, []) == 0
    rows = {r["key"]: r for r in list_outbox(engine)}
    assert set(rows) == {"digest:W47:a", "digest:W47:b"}
    first = rows["digest:W47:a"]
    assert first["text"] == "hello"  # not revisable: the first version is kept
    assert first["revision"] == 0
    assert json.loads(first["blocks"])[0]["type"] == "section"
    assert (first["status"], first["attempts"], first["period"]) == ("pending", 0, "2026-W47")


def test_a_rerun_revises_the_same_row_instead_of_adding_one(engine: Engine) -> None:
    """One alert DM per owner and period: a rerun with other alerts gives the same row new
    content (a new revision); the same content again changes nothing."""
    key = "alert:2026-W47:alice@example.com"
    assert enqueue(engine, [dm(key, text="two accounts", accounts=["a1", "a2"])]) == 1
    assert enqueue(engine, [dm(key, text="two accounts", accounts=["a1", "a2"])]) == 0
    assert get_row(engine, key)["revision"] == 0  # unchanged content: no revision

    assert enqueue(engine, [dm(key, text="three accounts", accounts=["a1", "a2", "a3"])]) == 0
    [row] = list_outbox(engine)
    assert row["key"] == key and row["text"] == "three accounts"
    assert json.loads(row["blocks"])[0]["text"]["text"] == "three accounts"
    assert json.loads(row["accounts"]) == ["a1", "a2", "a3"]
    assert (row["revision"], row["status"], row["attempts"]) == (1, "pending", 0)

    # Only the accounts changed: still a revision (who is listed in full decides the cooldown).
    enqueue(engine, [dm(key, text="three accounts", accounts=["a1", "a3", "a4"])])
    assert get_row(engine, key)["revision"] == 2
    assert count_by_status(engine)["pending"] == 1


def test_a_revision_after_the_claim_is_not_the_posted_one(engine: Engine) -> None:
    """The claim records which revision (and which accounts) go out, so a rerun that revises
    a row in flight leaves it for an update in place, and only the posted accounts are shown."""
    key = "alert:2026-W47:alice@example.com"
    enqueue(engine, [dm(key, text="v0", accounts=["a1"])])
    row = pending(engine)[0]
    assert claim(engine, row, "U1", holder="worker-1")
    assert (row["posted_revision"], json.loads(row["posted_accounts"])) == (0, ["a1"])
    enqueue(engine, [dm(key, text="v1", accounts=["a1", "a2"])])
    assert mark_delivered(engine, row, "slack", "D1", "1.000001")
    sent = get_row(engine, key)
    assert (sent["status"], sent["revision"], sent["posted_revision"]) == ("sent", 1, 0)
    assert (sent["delivered_via"], sent["claimed_by"]) == ("slack", "worker-1")
    with engine.connect() as conn:
        shown = conn.exec_driver_sql("SELECT account_id, how, outbox_key FROM alert_shown")
        assert shown.all() == [("a1", "dm", key)]


def test_enqueue_of_many_rows_in_one_call(engine: Engine) -> None:
    messages = [dm(f"alert:W47:u{i}", f"u{i}@example.com") for i in range(1200)]
    assert enqueue(engine, messages) == 1200
    assert enqueue(engine, messages[:10] + [dm("new")]) == 1
    assert count_by_status(engine)["pending"] == 1201


def test_enqueue_rejects_malformed_messages(engine: Engine) -> None:
    with pytest.raises(ValueError, match="target_kind"):
        enqueue(engine, [OutboxMessage("k", "admin", "user", "x", "t")])
    with pytest.raises(ValueError, match="needs key"):
        enqueue(engine, [OutboxMessage("", "admin", "channel", "x", "t")])
    assert list_outbox(engine) == []


def test_only_one_claim_wins(engine: Engine) -> None:
    enqueue(engine, [dm("k1")])
    mine, theirs = pending(engine), pending(engine)
    assert claim(engine, mine[0], "U1", holder="worker-1")
    assert not claim(engine, theirs[0], "U1", holder="worker-2")
    row = get_row(engine, "k1")
    assert row is not None
    assert (row["status"], row["attempts"], row["channel_id"]) == ("sending", 1, "U1")
    assert row["claimed_by"] == "worker-1"


def test_claim_refused_while_paused(engine: Engine) -> None:
    enqueue(engine, [dm("k1")])
    set_paused(engine, True)
    assert is_paused(engine)
    assert not claim(engine, pending(engine)[0], "U1")
    set_paused(engine, False)
    assert not is_paused(engine)
    assert claim(engine, pending(engine)[0], "U1")


def test_transition_is_compare_and_set(engine: Engine) -> None:
    enqueue(engine, [dm("k1"), dm("k2")])
    row, other = pending(engine)
    assert claim(engine, row, "U1")
    stale = dict(row, attempts=0)
    assert not mark_delivered(engine, stale, "slack", "D1", "1.000001")
    assert mark_delivered(engine, row, "slack", "D1", "1.000001")
    assert not mark_delivered(engine, row, "slack", "D1", "1.000002")  # already moved on
    sent = get_row(engine, "k1")
    assert sent is not None
    assert (sent["status"], sent["ts"], sent["delivered_via"]) == ("sent", "1.000001", "slack")
    assert sent["sent_at"] is not None and sent["error"] is None

    assert claim(engine, other, "U1")
    assert not transition(engine, dict(other, attempts=0), "failed", error="x")
    assert transition(engine, other, "failed", error="channel_not_found")
    assert get_row(engine, "k2")["status"] == "failed"
    with pytest.raises(ValueError):
        transition(engine, sent, "lost")


def test_a_terminal_delivery_is_printed_not_sent(engine: Engine) -> None:
    enqueue(engine, [dm("k1")])
    row = pending(engine)[0]
    assert claim(engine, row, "alice@example.com")
    assert mark_delivered(engine, row, "terminal", "terminal", "1.5")
    printed = get_row(engine, "k1")
    assert (printed["status"], printed["delivered_via"]) == ("printed", "terminal")
    # A printed row is still due for Slack (never a Slack delivery), not for the terminal.
    assert [r["key"] for r in due_rows(engine, utcnow(), ("pending", "printed"))] == ["k1"]
    assert due_rows(engine, utcnow(), ("pending",)) == []


def test_postponed_rows_are_not_due_until_their_next_attempt(engine: Engine) -> None:
    enqueue(engine, [dm("k1"), dm("k2")])
    first = pending(engine)[0]
    later = utcnow() + dt.timedelta(seconds=30)
    assert postpone(engine, first, later, "rate limited (HTTP 429)")
    assert [r["key"] for r in pending(engine)] == ["k2"]
    assert [r["key"] for r in due_rows(engine, later, ("pending",))] == ["k1", "k2"]
    assert get_row(engine, "k1")["error"] == "rate limited (HTTP 429)"


def _claim_at(engine: Engine, key: str, holder: str | None, age: dt.timedelta) -> None:
    row = next(r for r in pending(engine) if r["key"] == key)
    assert claim(engine, row, "U1", holder=holder)
    with engine.begin() as conn:
        when = utcnow() - age
        conn.execute(sa.update(OUTBOX).where(OUTBOX.c.key == key).values(updated_at=when))


def test_in_doubt_rows_after_grace_or_once_their_worker_is_gone(engine: Engine) -> None:
    """A post in doubt is read back once its grace is over; a post in flight is read back
    only when the worker that claimed it holds no live lease (and the claim is `grace` old);
    a claim by no known worker after STALE_CLAIM."""
    keys = [
        "doubt-due",
        "doubt-in-grace",
        "live-worker",
        "dead-worker",
        "dead-worker-just-claimed",
        "no-holder-old",
        "no-holder-recent",
        "waiting",
    ]
    enqueue(engine, [dm(k) for k in keys])
    stale = dt.timedelta(minutes=2)
    grace = dt.timedelta(seconds=60)
    assert take_lease(engine, "weekly:2026-W47", "live", stale).won
    assert take_lease(engine, "sweep", "dead", stale).won
    with engine.begin() as conn:  # the dead worker's heartbeat stopped long ago
        old = utcnow() - dt.timedelta(minutes=5)
        conn.execute(sa.update(LEASES).where(LEASES.c.holder == "dead").values(heartbeat_at=old))
    assert heartbeat(engine, "live", stale) == 1
    live = live_holders(engine, stale)
    assert live == {"live"}

    hour = dt.timedelta(hours=1)
    for key in ("doubt-due", "doubt-in-grace"):
        _claim_at(engine, key, "live", hour)
    rows = {r["key"]: r for r in list_outbox(engine)}
    now = utcnow()
    assert transition(
        engine, rows["doubt-due"], "sending", error="in doubt: HTTP 500", next_attempt_at=now
    )
    assert transition(
        engine,
        rows["doubt-in-grace"],
        "sending",
        error="in doubt: HTTP 500",
        next_attempt_at=now + grace,
    )
    _claim_at(engine, "live-worker", "live", hour)
    _claim_at(engine, "dead-worker", "dead", dt.timedelta(seconds=90))
    _claim_at(engine, "dead-worker-just-claimed", "dead", dt.timedelta(seconds=10))
    _claim_at(engine, "no-holder-old", None, STALE_CLAIM + dt.timedelta(seconds=5))
    _claim_at(engine, "no-holder-recent", None, STALE_CLAIM - dt.timedelta(minutes=5))

    found = in_doubt_rows(engine, utcnow(), live, grace)
    assert [r["key"] for r in found] == ["doubt-due", "dead-worker", "no-holder-old"]
    # The recorded error keeps the claim time, where the read-back starts looking.
    doubt = get_row(engine, "doubt-due")
    assert doubt["updated_at"] == rows["doubt-due"]["updated_at"]
    # Later: the grace is over and the just-claimed post of the dead worker is old enough.
    later = in_doubt_rows(engine, utcnow() + grace + dt.timedelta(seconds=1), live, grace)
    assert [r["key"] for r in later] == [
        "doubt-due",
        "doubt-in-grace",
        "dead-worker",
        "dead-worker-just-claimed",
        "no-holder-old",
    ]
    # Once the live worker is gone too, its claims are in doubt as well.
    everyone_gone = in_doubt_rows(engine, utcnow(), set(), grace)
    assert "live-worker" in {r["key"] for r in everyone_gone}


def test_cli_pause_resume_and_outbox_listing(
    db: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = db
    monkeypatch.setenv("DATABASE_URL", url)
    enqueue(engine, [dm("alert:W47:alice"), dm("alert:W47:bob", "bob@example.com")])
    row = pending(engine)[0]
    claim(engine, row, "U1")
    transition(engine, row, "failed", error="channel_not_found")

    assert main(["pause"]) == 0
    assert "paused" in capsys.readouterr().out and is_paused(engine)
    assert main(["outbox"]) == 0
    text = capsys.readouterr().out
    assert "PAUSED" in text and "1 pending, 1 failed" in text and "channel_not_found" in text
    assert main(["resume"]) == 0
    assert "resumed: 1 pending" in capsys.readouterr().out and not is_paused(engine)

    assert main(["outbox", "--status", "failed", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["key"], r["error"]) for r in listed] == [("alert:W47:alice", "channel_not_found")]
    assert listed[0]["created_at"][:4].isdigit()
    assert main(["outbox", "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("id,key,run_id,period,kind") and len(csv) == 3
    assert main(["outbox", "--status", "unknown", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("id,key,")
