"""`healthbot runs` tells the truth, on SQLite and PostgreSQL: every run status with its
transport and attempt, Slack deliveries apart from terminal prints, the messages still owed to
Slack, and the periods whose latest weekly run did not succeed. Runs and outbox rows are made
with the real ledger and outbox functions; the command runs through `bot.cli.main`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.cli import main
from scoring.store.ledger import RUNS, list_runs, pending_messages, periods_not_done
from scoring.store.outbox import OutboxMessage, enqueue, get_row
from scoring.store.outbox_moves import claim, mark_delivered, postpone, transition
from scoring.store.runs import finish_run, record_run, start_run

STATUSES = ("running", "succeeded", "delivering", "failed", "blocked", "interrupted", "abandoned")


@pytest.fixture
def cli(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("DATABASE_URL", db_url)
    return engine


def run(
    engine: Engine,
    period: str | None,
    status: str,
    kind: str = "weekly",
    error: str | None = None,
    transport: str | None = "slack",
    attempt: int = 1,
) -> int:
    run_id = start_run(engine, kind, period)
    if status != "running":
        finish_run(engine, run_id, status, error=error)
    with engine.begin() as conn:
        conn.execute(
            sa.update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(transport=transport, attempt=attempt, holder="w1")
        )
    return run_id


def message(engine: Engine, key: str, run_id: int, status: str, error: str = "boom") -> None:
    """An outbox row of `run_id` in `status`, moved there the way delivery moves it."""
    enqueue(engine, [OutboxMessage(key, "alert_dm", "email", "ann@x.com", "hi", run_id=run_id)])
    if status == "pending":
        return
    row = get_row(engine, key)
    assert claim(engine, row, "U1", holder="w1")
    if status in ("failed", "unknown"):
        assert transition(engine, row, status, error=error)
    elif status == "in_doubt":
        assert transition(engine, row, "sending", error=error)
        assert postpone(engine, get_row(engine, key), dt.datetime(2026, 12, 7, 8, 5), error)
    elif status in ("sent", "printed"):
        assert mark_delivered(engine, row, "slack" if status == "sent" else "terminal", "U1", "1")
    elif status == "retry_later":  # refused (rate limit): pending again, due at a set time
        assert transition(engine, row, "pending", error=error)
        assert postpone(engine, get_row(engine, key), dt.datetime(2026, 12, 7, 9, 30), error)
    else:
        assert status == "sending"


def runs_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["runs", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_run_status_is_shown_with_its_transport_and_attempt(cli: Engine, capsys) -> None:
    ids = {
        status: run(cli, f"2026-W{40 + i}", status, attempt=i + 1, transport="terminal" * (i % 2))
        for i, status in enumerate(STATUSES)
    }
    with cli.begin() as conn:  # a sync: no period (pandas made it NaN, printed as `nan`)
        record_run(conn, "sync", "succeeded", error=None)
    assert main(["runs"]) == 0
    text = capsys.readouterr().out
    table = text.split("\n\n")[0].splitlines()[1:]
    lines = {int(line.split()[0]): line for line in table}
    for i, status in enumerate(STATUSES):
        fields = lines[ids[status]].split()
        assert fields[1:4] == ["weekly", f"2026-W{40 + i}", status]
        assert ("terminal" in fields) == bool(i % 2) and str(i + 1) in fields
    assert "nan" not in text
    sync = next(line for line in lines.values() if " sync " in line)
    assert sync.split()[1:4] == ["sync", "-", "succeeded"]  # no period: a dash, never `nan`

    listed = runs_json(capsys)
    assert {r["id"]: r["status"] for r in listed if r["kind"] == "weekly"} == {
        ids[s]: s for s in STATUSES
    }
    (sync_row,) = [r for r in listed if r["kind"] == "sync"]
    assert sync_row["period"] is None and sync_row["error"] is None
    assert {r["id"]: r["attempt"] for r in listed if r["kind"] == "weekly"}[ids["failed"]] == 4


def test_messages_are_counted_by_fate_and_the_undelivered_ones_listed(cli: Engine, capsys) -> None:
    run_id = run(cli, "2026-W47", "delivering")
    fates = (
        "sent",
        "printed",
        "failed",
        "unknown",
        "in_doubt",
        "sending",
        "pending",
        "retry_later",
    )
    for fate in fates:
        message(cli, f"alert:2026-W47:{fate}", run_id, fate, error=f"{fate} error")
    (counts,) = list_runs(cli).to_dict("records")
    assert {k: counts[k] for k in ("sent", "printed", "failed", "unknown", "in_doubt")} == {
        "sent": 1,
        "printed": 1,
        "failed": 1,
        "unknown": 1,
        "in_doubt": 1,
    }
    assert counts["pending"] == 3  # two pending (one waiting to retry) and one in flight

    owed = {m["key"]: m for m in pending_messages(cli)}
    assert set(owed) == {f"alert:2026-W47:{f}" for f in fates[3:]}
    assert owed["alert:2026-W47:in_doubt"]["in_doubt"] is True
    assert owed["alert:2026-W47:sending"]["in_doubt"] is False

    assert main(["runs"]) == 0
    text = capsys.readouterr().out
    section = text[text.index("pending messages (5, not yet in Slack):") :]
    later = next(line for line in section.splitlines() if ":retry_later " in line)
    assert later.split()[1:5] == ["pending", "1", "2026-12-07", "09:30"]
    assert "retry_later error" in later and "next delivery sweep sends it" in later
    doubt = next(line for line in section.splitlines() if ":in_doubt " in line)
    assert "in doubt" in doubt and "2026-12-07 08:05" in doubt and "reads it back" in doubt
    unknown = next(line for line in section.splitlines() if ":unknown " in line)
    assert "healthbot outbox resolve alert:2026-W47:unknown --sent" in unknown
    for delivered in ("sent", "printed", "failed"):
        assert f"alert:2026-W47:{delivered} " not in section
    assert "1 failed message(s) wait for a person" in text

    (listed,) = runs_json(capsys)
    assert listed["status"] == "delivering" and listed["printed"] == 1 and listed["sent"] == 1
    assert sorted(m["key"] for m in listed["pending_messages"]) == sorted(owed)
    due = {m["key"]: m["next_attempt_at"] for m in listed["pending_messages"]}
    assert due["alert:2026-W47:retry_later"] == "2026-12-07T09:30:00"


def test_a_period_whose_latest_run_did_not_succeed_is_not_done(cli: Engine, capsys) -> None:
    run(cli, "2026-W44", "failed", error="RuntimeError: warehouse down")
    run(cli, "2026-W44", "failed", error="RuntimeError: still down", attempt=2)
    run(cli, "2026-W45", "failed", error="boom")
    run(cli, "2026-W45", "succeeded", attempt=2)  # retried and done
    run(cli, "2026-W46", "abandoned")
    run(cli, "2026-W46", "delivering", attempt=2)  # done: the sweep finishes the sending
    blocked = run(cli, "2026-W47", "blocked", error="refused: 80% of scores changed")
    earlier = run(cli, "2026-W48", "succeeded")
    rerun = run(cli, "2026-W48", "interrupted", attempt=2)
    with cli.begin() as conn:
        record_run(conn, "sync", "failed", error="bad file")  # not a period's weekly run

    got = {d["period"]: d for d in periods_not_done(cli)}
    assert list(got) == ["2026-W48", "2026-W47", "2026-W44"]
    assert (
        got["2026-W44"]["attempt"] == 2 and got["2026-W44"]["error"] == "RuntimeError: still down"
    )
    assert got["2026-W47"]["run_id"] == blocked and got["2026-W47"]["earlier_success"] is None
    assert got["2026-W48"]["run_id"] == rerun and got["2026-W48"]["earlier_success"] == earlier

    assert main(["runs"]) == 0
    text = capsys.readouterr().out
    section = text[text.index("periods not done:") :].splitlines()[1:]
    assert [line.split()[0] for line in section] == ["2026-W48", "2026-W47", "2026-W44"]
    assert "failed (run" in section[2] and "RuntimeError: still down" in section[2]
    assert "not retried until a person acts" in section[1] and "80% of scores" in section[1]
    assert f"run {earlier} had succeeded before this rerun" in section[0]

    listed = runs_json(capsys)
    not_done = {r["period"]: r["not_done"] for r in listed if r["not_done"]}
    assert set(not_done) == {"2026-W44", "2026-W47", "2026-W48"}
    assert not_done["2026-W47"].startswith("blocked (run")


def test_old_runs_with_pending_messages_or_a_period_not_done_stay_listed(
    cli: Engine, capsys
) -> None:
    old_failed = run(cli, "2026-W30", "failed", error="boom")
    old_owing = run(cli, "2026-W31", "succeeded")
    message(cli, "alert:2026-W31:ann", old_owing, "unknown")
    old_done = run(cli, "2026-W32", "succeeded")
    for week in range(33, 40):
        run(cli, f"2026-W{week}", "succeeded")
    ids = [r["id"] for r in runs_json(capsys, "--limit", "3")]
    assert len(ids) == 5 and old_failed in ids and old_owing in ids and old_done not in ids


def test_no_runs_and_nothing_pending(cli: Engine, capsys) -> None:
    assert main(["runs"]) == 0
    assert capsys.readouterr().out == "no runs yet\n"
    assert runs_json(capsys) == []
    assert pending_messages(cli) == [] and periods_not_done(cli) == []


def test_the_csv_has_the_old_columns_first(cli: Engine, capsys) -> None:
    run(cli, "2026-W47", "succeeded")
    assert main(["runs", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert header[:14] == [
        "id",
        "kind",
        "period",
        "status",
        "started_at",
        "finished_at",
        "accounts_scored",
        "alerts",
        "sent",
        "failed",
        "unknown",
        "pending",
        "error",
        "notes",
    ]
    assert {"transport", "attempt", "printed", "in_doubt", "not_done"} <= set(header)
