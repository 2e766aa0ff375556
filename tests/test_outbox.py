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
from scoring.store.outbox import (
    OUTBOX,
    OutboxMessage,
    claim,
    count_by_status,
    enqueue,
    get_row,
    in_doubt_rows,
    is_paused,
    list_outbox,
    pending_rows,
    set_paused,
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


def dm(key: str, email: str = "alice@example.com", text: str = "hello") -> OutboxMessage:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return OutboxMessage(key, "alert_dm", "email", email, text, blocks, period="2026-W47")


def test_migration_creates_exactly_the_model_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    import scoring.store.alert_log  # noqa: F401  (registers the 0003 tables for the comparison)
    import scoring.store.clicks  # noqa: F401
    import scoring.store.csm_inputs  # noqa: F401

    names = ("outbox", "delivery_settings", "alert_log", "account_actions", "csm_inputs")
    ours = [d for d in diff if any(n in repr(d) for n in names)]
    assert ours == []
    assert current_revision(engine) == head_revision()
    downgrade(engine, "0001_initial")
    assert not {"outbox", "delivery_settings"} & set(sa.inspect(engine).get_table_names())
    upgrade(engine)
    assert {"outbox", "delivery_settings"} <= set(sa.inspect(engine).get_table_names())


def test_enqueue_skips_existing_keys_and_repeats(engine: Engine) -> None:
    assert enqueue(engine, [dm("alert:W47:alice:1"), dm("alert:W47:alice:1", text="dup")]) == 1
    assert enqueue(engine, [dm("alert:W47:alice:1", text="again"), dm("alert:W47:bob:1")]) == 1
    assert enqueue(engine, []) == 0
    rows = {r["key"]: r for r in list_outbox(engine)}
    assert set(rows) == {"alert:W47:alice:1", "alert:W47:bob:1"}
    first = rows["alert:W47:alice:1"]
    assert first["text"] == "hello"  # the first version is kept, not overwritten
    assert json.loads(first["blocks"])[0]["type"] == "section"
    assert (first["status"], first["attempts"], first["period"]) == ("pending", 0, "2026-W47")


def test_enqueue_of_many_rows_in_one_call(engine: Engine) -> None:
    messages = [dm(f"alert:W47:u{i}:1", f"u{i}@example.com") for i in range(1200)]
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
    mine, theirs = pending_rows(engine), pending_rows(engine)
    assert claim(engine, mine[0], "U1")
    assert not claim(engine, theirs[0], "U1")
    row = get_row(engine, "k1")
    assert row is not None
    assert (row["status"], row["attempts"], row["channel_id"]) == ("sending", 1, "U1")


def test_claim_refused_while_paused(engine: Engine) -> None:
    enqueue(engine, [dm("k1")])
    set_paused(engine, True)
    assert is_paused(engine)
    assert not claim(engine, pending_rows(engine)[0], "U1")
    set_paused(engine, False)
    assert not is_paused(engine)
    assert claim(engine, pending_rows(engine)[0], "U1")


def test_transition_is_compare_and_set(engine: Engine) -> None:
    enqueue(engine, [dm("k1")])
    row = pending_rows(engine)[0]
    assert claim(engine, row, "U1")
    stale = dict(row, attempts=0)
    assert not transition(engine, stale, "sent", channel_id="D1", ts="1.000001")
    assert transition(engine, row, "sent", channel_id="D1", ts="1.000001")
    sent = get_row(engine, "k1")
    assert sent is not None
    assert (sent["status"], sent["ts"]) == ("sent", "1.000001")
    assert sent["sent_at"] is not None
    with pytest.raises(ValueError):
        transition(engine, sent, "lost")


def test_in_doubt_rows_are_given_up_or_stale_ones(engine: Engine) -> None:
    enqueue(engine, [dm("gave-up"), dm("in-flight"), dm("crashed"), dm("waiting")])
    rows = {r["key"]: r for r in pending_rows(engine)}
    for key in ("gave-up", "in-flight", "crashed"):
        assert claim(engine, rows[key], "U1")
    assert transition(engine, rows["gave-up"], "sending", error="in doubt: HTTP 500")
    with engine.begin() as conn:
        old = utcnow() - dt.timedelta(hours=1)
        conn.execute(sa.update(OUTBOX).where(OUTBOX.c.key == "crashed").values(updated_at=old))
    found = in_doubt_rows(engine, utcnow() - dt.timedelta(minutes=10))
    assert sorted(r["key"] for r in found) == ["crashed", "gave-up"]
    claimed = get_row(engine, "gave-up")
    assert claimed is not None and claimed["updated_at"] == rows["gave-up"]["updated_at"]


def test_cli_pause_resume_and_outbox_listing(
    db: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = db
    monkeypatch.setenv("DATABASE_URL", url)
    enqueue(engine, [dm("alert:W47:alice:1"), dm("alert:W47:bob:1", "bob@example.com")])
    row = pending_rows(engine)[0]
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
    assert [(r["key"], r["error"]) for r in listed] == [("alert:W47:alice:1", "channel_not_found")]
    assert listed[0]["created_at"][:4].isdigit()
    assert main(["outbox", "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("id,key,run_id,period,kind") and len(csv) == 3
    assert main(["outbox", "--status", "unknown", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("id,key,")
