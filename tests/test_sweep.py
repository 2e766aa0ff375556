"""The worker's sweep and schedule: undelivered messages keep going out, posts in doubt are
read back, stuck messages stop and are reported once, dead runs are abandoned and their period
taken over, failed runs retried then reported. Real database, real client, the Slack double."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bot.delivery.slack_client import make_clients
from bot.delivery.slack_transport import SlackTransport
from bot.jobs.control import RunControl
from bot.jobs.scheduler import run_if_due
from bot.jobs.sweep import sweep
from bot.jobs.weekly import run_weekly
from scoring.store.leases import LEASES, take_lease
from scoring.store.outbox import OUTBOX, get_row, list_outbox
from scoring.store.runs import RUNS, period_runs
from scoring.store.tables import utcnow
from tests.pipeline_fixtures import END, owners, prepare
from tests.slack_double import TEST_TOKEN
from tests.test_dm_revisions import FAST, posts_by_key
from tests.test_pipeline import workspace

HERE = Path(".")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the demo schedule fired at 08:00: W47 due


def unreachable() -> SlackTransport:
    """Slack where nothing listens: every call is refused before it leaves this machine."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return SlackTransport(make_clients(TEST_TOKEN, f"http://127.0.0.1:{port}/api/", timeout=2))


def expected_keys(engine) -> set[str]:  # noqa: ANN001
    """Every message the period posts (admin reports and the chart, a file, aside)."""
    return {r["key"] for r in list_outbox(engine) if r["kind"] not in ("admin", "digest_chart")}


def test_a_500_leaves_the_run_delivering_and_the_sweep_delivers_it_once(engine, slack_double):
    prepared = prepare(engine, delivery=FAST)
    transport = workspace(slack_double, owners(prepared.portfolio))
    slack_double.fail_next("chat.postMessage", status=500)
    result = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert result.status == "delivering" and len(result.waiting) == 1
    doubt = get_row(engine, result.waiting[0]["key"])
    assert doubt["status"] == "sending" and "in doubt" in doubt["error"]
    report = sweep(engine, prepared.model, transport, RunControl())
    assert report.delivery.sent == 1 and report.completed == [result.run_id]
    counts = posts_by_key(slack_double)
    assert set(counts) == expected_keys(engine) and all(n == 1 for n in counts.values())
    assert len(slack_double.calls("files.completeUploadExternal")) == 1
    assert period_runs(engine, "2026-W47")[-1]["status"] == "succeeded"


def test_a_lost_answer_is_read_back_after_the_grace_not_before(engine, slack_double):
    prepared = prepare(engine, delivery={"in_run_seconds": 0, "read_back_grace_seconds": 2})
    transport = workspace(slack_double, owners(prepared.portfolio))
    slack_double.fail_next("chat.postMessage", hang=True)
    result = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert result.status == "delivering"
    early = sweep(engine, prepared.model, transport, RunControl())
    assert early.delivery.sent == 0 and not early.completed, "inside the grace: hands off"
    time.sleep(2.1)
    late = sweep(engine, prepared.model, transport, RunControl())
    assert late.delivery.sent == 1 and late.completed == [result.run_id]
    assert all(n == 1 for n in posts_by_key(slack_double).values())
    assert slack_double.calls("conversations.history"), "found by reading the DM back"


def test_messages_stuck_too_long_stop_and_are_reported_once(engine, slack_double):
    prepared = prepare(engine, delivery=FAST)
    workspace(slack_double, owners(prepared.portfolio))
    down = unreachable()
    result = run_weekly(engine, prepared.model, HERE, END, down, sync=False)
    assert result.status == "delivering" and result.waiting
    with engine.begin() as conn:
        conn.execute(sa.update(OUTBOX).values(created_at=utcnow() - timedelta(hours=49)))
    up = SlackTransport(make_clients(TEST_TOKEN, slack_double.url + "/api/"))
    first = sweep(engine, prepared.model, up, RunControl())
    assert first.given_up == len(result.waiting) and first.reported == first.given_up
    assert {r["status"] for r in list_outbox(engine) if r["kind"] != "admin"} == {"failed"}
    report = [m for m in slack_double.messages("healthbot-admin") if "stopped trying" in m["text"]]
    assert len(report) == 1, "delivered by the sweep that stopped them"
    second = sweep(engine, prepared.model, up, RunControl())
    assert second.given_up == 0 and second.reported == 0
    report = [m for m in slack_double.messages("healthbot-admin") if "stopped trying" in m["text"]]
    assert len(report) == 1 and "outbox retry" in report[0]["text"]
    stopped = sorted(r["id"] for r in list_outbox(engine) if r["kind"] != "admin")
    assert len(stopped) == len(result.waiting)
    only = f"admin:undelivered:{stopped[0]}-{stopped[-1]}:{len(stopped)}"  # one report of all
    assert set(posts_by_key(slack_double)) == {only}, "only the report"


def test_a_dead_workers_run_is_abandoned_and_the_period_taken_over(engine, slack_double):
    prepared = prepare(
        engine, delivery=FAST, schedule={"stale_after_seconds": 1, "heartbeat_seconds": 0.5}
    )
    transport = workspace(slack_double, owners(prepared.portfolio))
    with engine.begin() as conn:  # a worker started W47, then died: its lease stopped beating
        run = conn.execute(
            sa.insert(RUNS).values(
                period="2026-W47",
                kind="weekly",
                status="running",
                started_at=utcnow(),
                holder="ghost:1:dead",
                transport="slack",
                attempt=1,
            )
        ).inserted_primary_key[0]
    assert take_lease(engine, "weekly:2026-W47", "ghost:1:dead", timedelta(seconds=1)).won
    assert run_if_due(engine, prepared.model, HERE, transport, MONDAY) is None, "still fresh"
    time.sleep(1.2)
    result = run_if_due(engine, prepared.model, HERE, transport, MONDAY)
    assert result is not None and result.status == "succeeded" and result.period == "2026-W47"
    statuses = [r["status"] for r in period_runs(engine, "2026-W47")]
    assert statuses == ["abandoned", "succeeded"], statuses
    assert period_runs(engine, "2026-W47")[0]["id"] == run
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(LEASES)).scalar() == 0
    admin = [m["text"] for m in slack_double.messages("healthbot-admin")]
    assert sum("abandoned" in t for t in admin) == 1


def test_a_failed_run_is_retried_then_reported_once(engine, slack_double, tmp_path):
    broken = [{"kind": "signals", "path": str(tmp_path / "missing.csv")}]
    prepared = prepare(
        engine,
        delivery=FAST,
        sources=broken,
        schedule={"retries": 2, "retry_minutes": 0.01},
    )
    transport = workspace(slack_double, owners(prepared.portfolio))
    assert run_if_due(engine, prepared.model, HERE, transport, MONDAY) is None
    assert run_if_due(engine, prepared.model, HERE, transport, MONDAY) is None  # too soon
    assert len(period_runs(engine, "2026-W47")) == 1
    for _ in range(4):  # two retries, then no more
        time.sleep(0.7)
        run_if_due(engine, prepared.model, HERE, transport, MONDAY)
    runs = period_runs(engine, "2026-W47")
    assert [r["status"] for r in runs] == ["failed"] * 3
    assert [r["attempt"] for r in runs] == [1, 2, 3]
    admin = [m["text"] for m in slack_double.messages("healthbot-admin")]
    assert sum("will not be retried" in t for t in admin) == 1, admin
    assert "missing.csv" in runs[-1]["error"]


def test_a_blocked_period_waits_for_a_person(engine, slack_double):
    """A refusal retrying cannot fix (the data guardrails' kind) is not retried by workers;
    `healthbot run-weekly` by a person runs it."""
    prepared = prepare(engine, delivery=FAST, schedule={"retry_minutes": 0.001})
    transport = workspace(slack_double, owners(prepared.portfolio))
    with engine.begin() as conn:
        conn.execute(
            sa.insert(RUNS).values(
                period="2026-W47",
                kind="weekly",
                status="blocked",
                started_at=utcnow(),
                finished_at=utcnow(),
                error="Blocked: the export would deactivate 96%",
                transport="slack",
                attempt=1,
            )
        )
    time.sleep(0.2)
    assert run_if_due(engine, prepared.model, HERE, transport, MONDAY) is None
    assert [r["status"] for r in period_runs(engine, "2026-W47")] == ["blocked"]
    assert slack_double.calls("chat.postMessage") == []
