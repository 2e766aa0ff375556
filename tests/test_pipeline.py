"""The weekly pipeline end to end: real database, real slack_sdk client, local Slack double."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery.slack_client import make_clients
from bot.delivery.slack_transport import SlackTransport
from bot.jobs.scheduler import run_if_due
from bot.jobs.weekly import run_weekly, run_weekly_reporting
from scoring.store.clicks import load_actions, record_action
from scoring.store.ledger import list_runs
from scoring.store.outbox import set_paused
from scoring.store.runs import period_done
from tests.pipeline_fixtures import END, owners, prepare
from tests.slack_double import TEST_TOKEN, SlackDouble

HERE = Path(".")


def workspace(double: SlackDouble, emails: list[str]) -> SlackTransport:
    for email in emails:
        double.add_user(email)
    for name in ("cs-health", "healthbot-admin", "healthbot-test"):
        double.add_channel(name)
    return SlackTransport(make_clients(TEST_TOKEN, double.url + "/api/"))


def dm_texts(double: SlackDouble) -> dict[str, list[str]]:
    """Text of every DM, by recipient user id (the double stores DMs under D... channels)."""
    out: dict[str, list[str]] = {}
    for call in double.calls("chat.postMessage"):
        channel = str(call.params.get("channel", ""))
        if channel.startswith("U"):
            out.setdefault(channel, []).append(str(call.params.get("text", "")))
    return out


def alerted(engine: Engine, period: str) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select account_id from alert_log where period = :p"), {"p": period}
        ).all()
    return {r[0] for r in rows}


def test_drops_reach_their_owner_once_with_reason_and_playbook(engine, slack_double):
    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    run_weekly(engine, prepared.model, HERE, END - timedelta(days=7), transport, sync=False)
    slack_double.reset()
    result = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    texts = dm_texts(slack_double)
    assert result.alerts > 0 and texts
    assert all(len(v) == 1 for v in texts.values()), "one DM per owner per run"
    accounts = prepared.portfolio.accounts.set_index("account_id")
    northwind = accounts.index[accounts["name"] == "Northwind Logistics"][0]
    assert northwind in alerted(engine, "2026-W47")
    joined = "\n".join(t for v in texts.values() for t in v)
    assert "Northwind Logistics" in joined and "Playbook:" in joined and "Score " in joined
    quiet = set(accounts.index) - alerted(engine, "2026-W47")
    assert not any(f"{accounts.loc[a, 'name']} (" in joined for a in quiet)


def shares(double: SlackDouble) -> int:
    """Files shared (the digest chart): the delivery pass counts them with the posts."""
    return sum(u.completed for u in double.uploads.values())


def test_a_second_run_for_the_same_period_sends_nothing_new(engine, slack_double):
    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    first = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    posts = len(slack_double.calls("chat.postMessage"))
    assert shares(slack_double) == 1  # the digest's chart, shared by the same pass
    assert first.delivery.sent == posts + 1 and posts > 0
    assert (first.status, first.waiting) == ("succeeded", [])
    second = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert len(slack_double.calls("chat.postMessage")) == posts
    assert slack_double.calls("chat.update") == []  # the same alerts: nothing to update
    assert shares(slack_double) == 1
    assert (second.delivery.sent, second.delivery.updated) == (0, 0)
    assert second.status == "succeeded"


def test_snoozed_accounts_stay_quiet(engine, slack_double):
    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    run_weekly(engine, prepared.model, HERE, END - timedelta(days=7), transport, sync=False)
    target = sorted(alerted(engine, "2026-W46"))[0]
    record_action(engine, target, "snooze", user_id="U1", until=END + timedelta(days=7))
    assert len(load_actions(engine, [target])) == 1
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert target not in alerted(engine, "2026-W47")


def test_cooldown_holds_repeat_alerts_unless_things_got_worse(engine, slack_double):
    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    run_weekly(engine, prepared.model, HERE, END - timedelta(days=7), transport, sync=False)
    result = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select period, account_id, rule, score_shown, band_rank from alert_log")
        ).all()
    first = {(a, r): (s, b) for p, a, r, s, b in rows if p == "2026-W46"}
    repeats = [(a, r, s, b) for p, a, r, s, b in rows if p == "2026-W47" and (a, r) in first]
    drop = prepared.model.alerts.score_drop
    for account, rule, score, band in repeats:
        was_score, was_band = first[(account, rule)]
        assert score <= was_score - drop or band > was_band, (account, rule)
    assert result.suppressed > 0


def test_pause_holds_messages_and_resume_sends_them(engine, slack_double):
    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    set_paused(engine, True)
    held = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert slack_double.calls("chat.postMessage") == [] and held.delivery.pending > 0
    assert slack_double.uploads == {}
    # Everything is queued, nothing delivered: the run says so rather than "succeeded".
    assert held.status == "delivering" and len(held.waiting) == held.delivery.pending
    assert list_runs(engine).iloc[0]["status"] == "delivering"
    set_paused(engine, False)
    resumed = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert resumed.delivery.sent == held.delivery.pending
    assert len(slack_double.calls("chat.postMessage")) + shares(slack_double) == (
        held.delivery.pending
    )
    assert (resumed.status, resumed.waiting) == ("succeeded", [])


def test_redirect_sends_everything_to_the_test_channel(engine, slack_double):
    prepared = prepare(engine, delivery={"redirect": "#healthbot-test"})
    transport = workspace(slack_double, owners(prepared.portfolio))
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    channels = {c.params.get("channel") for c in slack_double.calls("chat.postMessage")}
    assert len(channels) == 1 and channels != {None}
    assert slack_double.messages("healthbot-test")


def test_a_failed_run_reaches_the_admin_channel_and_the_ledger(engine, slack_double):
    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    with engine.begin() as conn:
        conn.execute(sa.text("drop table signals"))
    with pytest.raises(Exception):  # noqa: B017  (the database error itself)
        run_weekly_reporting(engine, prepared.model, HERE, END, transport, sync=False)
    admin = slack_double.messages("healthbot-admin")
    assert len(admin) == 1 and "failed" in admin[0]["text"]
    runs = list_runs(engine)
    assert runs.iloc[0]["status"] == "failed" and runs.iloc[0]["error"]


def test_two_workers_run_a_period_once(engine, slack_double):
    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    monday = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        barrier.wait()
        results.append(run_if_due(engine, prepared.model, HERE, transport, monday, name))

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    ran = [r for r in results if r is not None]
    assert len(results) == 2 and len(ran) == 1
    assert period_done(engine, "2026-W47")
    runs = list_runs(engine)
    assert (runs["period"] == "2026-W47").sum() == 1


def test_a_missed_period_runs_once_when_the_worker_is_back(engine, slack_double):
    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Monday's 08:00 run was missed
    first = run_if_due(engine, prepared.model, HERE, transport, wednesday, "w1")
    assert first is not None and first.period == "2026-W47" and first.as_of == END
    assert run_if_due(engine, prepared.model, HERE, transport, wednesday, "w2") is None


def test_an_override_survives_weekly_runs_and_expires_on_time(engine, slack_double):
    from scoring.batch.views import export_frame, load_period
    from scoring.store.overrides import add_override

    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    accounts = prepared.portfolio.accounts.set_index("account_id")
    acme = accounts.index[accounts["name"] == "Acme Corp"][0]
    add_override(
        engine,
        acme,
        score=12,
        reason="Champion left, renewal lost",
        entered_on=END - timedelta(days=8),
        valid_until=END - timedelta(days=1),
        max_days=90,
        user_email="lead@example.com",
    )
    run_weekly(engine, prepared.model, HERE, END - timedelta(days=7), transport, sync=False)
    during = (
        export_frame(load_period(engine, "2026-W46"), prepared.model)
        .set_index("account_id")
        .loc[acme]
    )
    assert during["score"] == 12.0 and during["band"] == "critical"
    assert during["computed_score"] > 50 and during["override_by"] == "lead@example.com"
    assert during["override_reason"] == "Champion left, renewal lost"
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    after = (
        export_frame(load_period(engine, "2026-W47"), prepared.model)
        .set_index("account_id")
        .loc[acme]
    )
    assert after["score"] == after["computed_score"] > 50 and pd.isna(after["override_by"])
    owner = accounts.loc[acme, "owner_email"]
    user = next(
        u
        for u, texts in dm_texts(slack_double).items()
        if any("override on Acme Corp expired" in t for t in texts)
    )
    info = slack_double.calls("users.lookupByEmail")
    assert any(c.params.get("email") == owner for c in info) and user.startswith("U")
    # The notice is part of the owner's one DM of the week, not a message of its own.
    week = [
        c.params["metadata"]["event_payload"]["key"]
        for c in slack_double.calls("chat.postMessage")
        if c.params.get("channel") == user and "2026-W47" in str(c.params.get("text"))
    ]
    assert week == [f"alert:2026-W47:{owner}"]


def test_a_champion_leaving_is_an_alert_rule(engine, slack_double):
    from scoring.store.csm_inputs import add_note

    prepared = prepare(engine, alerts={"champion_left": {}, "cooldown_days": 14})
    transport = workspace(slack_double, owners(prepared.portfolio))
    accounts = prepared.portfolio.accounts.set_index("account_id")
    acme = accounts.index[accounts["name"] == "Acme Corp"][0]
    until = END + timedelta(days=30)
    add_note(
        engine,
        acme,
        reason="Met the champion",
        entered_on=END - timedelta(days=12),
        valid_until=until,
        sentiment=4,
        champion_status=2,
    )
    add_note(
        engine,
        acme,
        reason="Champion resigned",
        entered_on=END - timedelta(days=2),
        valid_until=until,
        sentiment=2,
        champion_status=0,
    )
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    with engine.connect() as conn:
        rules = {
            r[0]
            for r in conn.execute(
                sa.text("select rule from alert_log where account_id = :a"), {"a": acme}
            ).all()
        }
    assert "champion_left" in rules


def test_a_weekly_run_reads_its_period_view_once(engine, slack_double, monkeypatch):
    """Alerts, override notices and every digest share one period view: the week's snapshot
    rows (with their points, this week and the one before) are read by one load, not three."""
    import scoring.batch.views as views

    prepared = prepare(engine)
    assert prepared.model.digest, "the demo model posts a digest, so the digest job runs too"
    transport = workspace(slack_double, owners(prepared.portfolio))
    reads: list[list[str]] = []
    real = views.snapshot_rows

    def counted(conn, table, types, periods=None, account_ids=None):  # noqa: ANN001, ANN202
        if table == "score_snapshots" and "points" in types:
            reads.append(list(periods or []))
        return real(conn, table, types, periods, account_ids)

    monkeypatch.setattr(views, "snapshot_rows", counted)  # counts; the real read still runs
    result = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert result.digest.posts, "a digest was rendered from the shared view"
    assert reads == [["2026-W47"], ["2026-W46"]], reads  # one load: this week, last week
