"""One alert DM per owner and period, updated in place when a rerun changes it, and the
cooldown rule: only alerts that were shown start it. Real database, real slack_sdk client,
the local Slack double."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.jobs.weekly import run_weekly
from scoring.store.alert_shown import ALERT_SHOWN, listed_accounts
from scoring.store.clicks import ACTIONS, record_action
from scoring.store.outbox import get_row, list_outbox
from tests.pipeline_fixtures import END, owners, prepare
from tests.slack_double import SlackDouble
from tests.test_pipeline import alerted, workspace

HERE = Path(".")
FAST = {"in_run_seconds": 0, "read_back_grace_seconds": 0}


def posts_by_key(double: SlackDouble) -> dict[str, int]:
    """How many chat.postMessage calls Slack accepted, per outbox key."""
    counts: dict[str, int] = {}
    for call in double.calls("chat.postMessage"):
        if call.status == 200 and call.response and call.response.get("ok"):
            key = call.params["metadata"]["event_payload"]["key"]
            counts[key] = counts.get(key, 0) + 1
    return counts


def shown(engine: Engine, period: str) -> set[str]:
    with engine.connect() as conn:
        query = sa.select(ALERT_SHOWN.c.account_id).where(ALERT_SHOWN.c.period == period)
        return set(conn.execute(query).scalars())


def test_a_rerun_after_the_alerts_changed_updates_the_dm_in_place(engine, slack_double):
    prepared = prepare(engine, delivery=FAST)
    transport = workspace(slack_double, owners(prepared.portfolio))
    run_weekly(engine, prepared.model, HERE, END - timedelta(days=7), transport, sync=False)
    # Snooze one account that alerts this week, so the first run leaves it out of the DM.
    first_try = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    target = sorted(alerted(engine, "2026-W47"))[0]
    owner = prepared.portfolio.accounts.set_index("account_id").loc[target, "owner_email"]
    name = prepared.portfolio.accounts.set_index("account_id").loc[target, "name"]
    key = f"alert:2026-W47:{owner}"
    assert first_try.status == "succeeded"
    record_action(engine, target, "snooze", user_id="U1", until=END + timedelta(days=7))
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)  # target removed
    with engine.begin() as conn:  # the snooze is lifted: the next rerun adds it back
        conn.execute(sa.delete(ACTIONS).where(ACTIONS.c.account_id == target))
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)

    counts = posts_by_key(slack_double)
    assert counts and all(n == 1 for n in counts.values()), counts  # never a second DM
    row = get_row(engine, key)
    assert row is not None and row["status"] == "sent" and row["revision"] == 2
    assert row["posted_revision"] == 2, "every revision reached Slack"
    updates = [c for c in slack_double.calls("chat.update") if c.params["ts"] == row["ts"]]
    assert len(updates) == 2
    assert "no longer alerting: " + name in updates[0].params["text"]
    assert f"now also {name}" not in updates[0].params["text"]
    # Back in the list with the same alerts as when it was posted: the line says what changed
    # since the post, and the message in Slack shows the latest content.
    stored = [m for m in slack_double.messages(row["channel_id"]) if m["ts"] == row["ts"]]
    assert stored and stored[0]["text"] == row["text"]


def test_an_unchanged_rerun_updates_nothing(engine, slack_double):
    prepared = prepare(engine, delivery=FAST)
    transport = workspace(slack_double, owners(prepared.portfolio))
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    before = {r["key"]: r["revision"] for r in list_outbox(engine)}
    again = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert again.delivery.sent == again.delivery.updated == 0
    assert slack_double.calls("chat.update") == []
    assert {r["key"]: r["revision"] for r in list_outbox(engine)} == before


def alerting_this_week(tmp_path: Path, as_of=END, **overrides: object) -> set[str]:  # noqa: ANN001
    """Which accounts alert in the week of `as_of` with nothing snoozed: the same data in a
    database of its own, run through the terminal."""
    from bot.delivery.terminal import TerminalTransport
    from scoring.store import make_engine, upgrade

    probe = make_engine(f"sqlite:///{tmp_path / 'probe.db'}")
    upgrade(probe)
    prepared = prepare(probe, delivery=FAST, **overrides)
    quiet = TerminalTransport(tmp_path / "probe-out", io.StringIO())
    result = run_weekly(probe, prepared.model, HERE, as_of, quiet, sync=False)
    found = alerted(probe, result.period)
    probe.dispose()
    return found


def test_accounts_added_by_an_update_are_not_shown(engine, slack_double, tmp_path):
    prepared = prepare(engine, delivery=FAST)
    transport = workspace(slack_double, owners(prepared.portfolio))
    accounts = prepared.portfolio.accounts.set_index("account_id")
    alerting = sorted(alerting_this_week(tmp_path))
    by_owner = accounts.loc[alerting].groupby("owner_email").groups
    owner, mine = max(by_owner.items(), key=lambda kv: len(kv[1]))
    assert len(mine) >= 2, "an owner with two alerting accounts"
    held = list(mine)[1:]
    for account in held:
        record_action(engine, account, "snooze", user_id="U1", until=END + timedelta(days=7))
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    with engine.begin() as conn:
        conn.execute(sa.delete(ACTIONS))
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    row = get_row(engine, f"alert:2026-W47:{owner}")
    assert set(listed_accounts(row["accounts"])) >= set(held), "the update lists them"
    assert row["revision"] == 1 and row["posted_revision"] == 1
    assert len(slack_double.calls("chat.update")) >= 1
    assert not set(held) & shown(engine, "2026-W47"), "added by an update: not shown"
    assert list(mine)[0] in shown(engine, "2026-W47")


def test_the_cooldown_starts_only_for_alerts_that_were_shown(engine, slack_double, tmp_path):
    """Owner A is not in Slack (no fallback channel), so A's DM fails: A's alerts were never
    shown and fire again next week; the others' repeat alerts are held back. What counts as
    shown is exactly what the delivered DMs listed in full (their `posted_accounts`)."""
    rules = {"renewal_days": 120, "cooldown_days": 14}
    prepared = prepare(engine, delivery=FAST, alerts=rules)
    everyone = owners(prepared.portfolio)
    week1_alerts = alerting_this_week(tmp_path, END - timedelta(days=7), alerts=rules)
    by_owner = prepared.portfolio.accounts.set_index("account_id").loc[sorted(week1_alerts)]
    missing = by_owner["owner_email"].value_counts().index[-1]  # one with few alerts
    everyone.remove(missing)
    everyone.insert(0, missing)
    transport = workspace(slack_double, everyone[1:])
    week1 = run_weekly(engine, prepared.model, HERE, END - timedelta(days=7), transport, sync=False)
    assert week1.status == "succeeded"
    assert get_row(engine, f"alert:2026-W46:{missing}")["status"] == "failed"
    seen = shown(engine, "2026-W46")
    listed = set()
    for row in list_outbox(engine, "sent"):
        if row["kind"] == "alert_dm" and row["period"] == "2026-W46":
            listed |= set(listed_accounts(row["posted_accounts"]))
    assert seen == listed, "shown = what the delivered DMs listed in full"
    slack_double.add_user(missing)
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select period, account_id, rule from alert_log")).all()
    week1_renewals = {a for p, a, r in rows if p == "2026-W46" and r == "renewal"}
    week2_renewals = {a for p, a, r in rows if p == "2026-W47" and r == "renewal"}
    assert week1_renewals - seen, "some renewal alerts were not shown"
    assert week1_renewals - seen <= week2_renewals, "alerts never shown fire again"
    assert not (week1_renewals & seen) & week2_renewals, "shown ones are held back"
