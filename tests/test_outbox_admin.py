"""`healthbot outbox retry` and `outbox resolve`, on SQLite and PostgreSQL.

Rows reach each status through the real state machine (enqueue, claim, transition,
mark_delivered); the commands run through `bot.cli.main`. A refusal must name the key and its
status, exit 1 and leave every table as it was; a change must record who and when, and two
people acting on one row at once must change it once.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.cli import main
from scoring.errors import OutboxActionRefused
from scoring.store.alert_shown import ALERT_SHOWN
from scoring.store.outbox import OutboxMessage, enqueue, get_row
from scoring.store.outbox_admin import resolve, retry
from scoring.store.outbox_moves import claim, mark_delivered, transition
from scoring.store.tables import utcnow
from tests.db_fixtures import dump_tables

W47, W48 = "2026-W47", "2026-W48"


def dm(key: str, period: str = W47, accounts: list[str] | None = None) -> OutboxMessage:
    return OutboxMessage(
        key,
        "alert_dm",
        "email",
        key.rsplit(":", 1)[-1],
        f"alerts for {key}",
        period=period,
        accounts=accounts,
        revisable=True,
    )


def digest(key: str, period: str = W47) -> OutboxMessage:
    return OutboxMessage(key, "digest", "channel", "cs-health", "digest", period=period)


def claimed(engine: Engine, message: OutboxMessage) -> dict[str, Any]:
    enqueue(engine, [message])
    row = get_row(engine, message.key)
    assert row is not None and claim(engine, row, "U1", holder="w1")
    return row


def make(engine: Engine, message: OutboxMessage, status: str, error: str = "boom") -> str:
    """A row in `status`, reached the way delivery reaches it."""
    if status == "pending":
        enqueue(engine, [message])
        return message.key
    row = claimed(engine, message)
    if status == "failed":
        assert transition(engine, row, "failed", error=error)
    elif status == "unknown":
        assert transition(engine, row, "unknown", error=error)
    elif status == "in_doubt":  # sending, post in doubt: the error recorded, status kept
        assert transition(engine, row, "sending", error=error)
    elif status == "sent":
        assert mark_delivered(engine, row, "slack", "U1", "1700000000.000100")
    elif status == "printed":
        assert mark_delivered(engine, row, "terminal", "U1", None)
    else:
        assert status == "sending"
    return message.key


@pytest.fixture
def cli(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HEALTHBOT_USER", "ann")
    return engine


def shown(engine: Engine) -> set[tuple[str, str, str | None]]:
    query = sa.select(ALERT_SHOWN.c.period, ALERT_SHOWN.c.account_id, ALERT_SHOWN.c.outbox_key)
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(query)}


def recent(when: dt.datetime | None) -> bool:
    return when is not None and abs(utcnow() - when) < dt.timedelta(minutes=1)


def test_retry_one_key_requeues_it_and_records_who_and_when(cli: Engine, capsys) -> None:
    key = make(cli, dm("alert:W47:ann@x.com"), "failed", error="channel_not_found")
    with cli.begin() as conn:  # a failure already reported: the next one must be reported too
        conn.execute(sa.text("UPDATE outbox SET reported_at = :t"), {"t": utcnow()})
    assert main(["outbox", "retry", key]) == 0
    out = capsys.readouterr().out
    assert f"requeued {key} (was failed: channel_not_found)" in out
    assert "next delivery sweep sends it" in out
    row = get_row(cli, key)
    assert row["status"] == "pending" and row["error"] is None
    assert row["next_attempt_at"] is None and row["reported_at"] is None
    assert row["resolution"] == "requeued (was: channel_not_found)"
    assert row["resolved_by"] == "ann" and recent(row["resolved_at"])
    assert row["attempts"] == 1  # the history of tries is kept


def test_retry_failed_requeues_every_failed_row_and_only_those(cli: Engine, capsys) -> None:
    failed = [make(cli, dm(f"alert:{p}:{n}@x.com", p), "failed") for p in (W47, W48) for n in "ab"]
    others = {
        make(cli, dm("alert:W47:c@x.com"), "sent"): "sent",
        make(cli, dm("alert:W47:d@x.com"), "unknown"): "unknown",
        make(cli, dm("alert:W47:e@x.com"), "pending"): "pending",
    }
    assert main(["outbox", "retry", "--failed", "--by", "bob"]) == 0
    out = capsys.readouterr().out
    assert "4 message(s) requeued by bob" in out
    assert all(get_row(cli, k)["status"] == "pending" for k in failed)
    assert all(get_row(cli, k)["resolved_by"] == "bob" for k in failed)
    assert {k: get_row(cli, k)["status"] for k in others} == others
    assert main(["outbox", "retry", "--failed"]) == 0
    assert "no failed outbox rows: nothing to retry" in capsys.readouterr().out


def test_retry_failed_of_one_period_leaves_other_periods(cli: Engine, capsys) -> None:
    w47 = make(cli, dm("alert:W47:a@x.com", W47), "failed")
    w48 = make(cli, dm("alert:W48:a@x.com", W48), "failed")
    assert main(["outbox", "retry", w47, "--period", W47]) == 1  # a key names one row already
    assert "--period goes with --failed" in capsys.readouterr().err
    assert main(["outbox", "retry", "--failed", "--period", W48]) == 0
    assert f"requeued {w48}" in capsys.readouterr().out
    assert get_row(cli, w48)["status"] == "pending"
    assert get_row(cli, w47)["status"] == "failed" and get_row(cli, w47)["resolved_by"] is None


def test_retry_a_printed_row_sends_it_to_slack(cli: Engine, capsys) -> None:
    key = make(cli, digest("digest:W47:cs-health"), "printed")
    assert get_row(cli, key)["delivered_via"] == "terminal"
    assert main(["outbox", "retry", "--failed"]) == 0  # --failed alone leaves printed rows
    assert get_row(cli, key)["status"] == "printed"
    assert main(["outbox", "retry", key]) == 0
    row = get_row(cli, key)
    assert row["status"] == "pending" and row["delivered_via"] is None and row["sent_at"] is None
    assert row["resolution"].startswith("requeued for Slack (was: printed in the terminal")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("sent", "outbox row alert:W47:ann@x.com is sent, not failed: nothing to retry"),
        ("pending", "is pending, not failed: nothing to retry (the next delivery sweep"),
        ("unknown", "is unknown, not failed: nothing to retry (look in Slack, then"),
        ("in_doubt", "is sending, not failed: nothing to retry"),
    ],
)
def test_retry_refuses_a_row_that_is_not_failed_and_changes_nothing(
    cli: Engine, capsys, status: str, message: str
) -> None:
    key = make(cli, dm("alert:W47:ann@x.com"), status)
    make(cli, dm("alert:W47:bob@x.com"), "failed")
    before = dump_tables(cli)
    assert main(["outbox", "retry", key]) == 1
    err = capsys.readouterr().err
    assert err.startswith("healthbot: ") and message in err and err.count("\n") == 1
    assert dump_tables(cli) == before


def test_an_unknown_key_names_the_closest_keys_and_changes_nothing(cli: Engine, capsys) -> None:
    make(cli, dm("alert:2026-W47:ann@x.com"), "failed")
    make(cli, dm("alert:2026-W47:bob@x.com"), "unknown")
    before = dump_tables(cli)
    assert main(["outbox", "retry", "alert:2026-W47:Ann@x.con"]) == 1
    err = capsys.readouterr().err
    assert "no outbox row with key 'alert:2026-W47:Ann@x.con'" in err
    assert "(closest: alert:2026-W47:ann@x.com" in err
    assert main(["outbox", "resolve", "nothing-like-it", "--sent"]) == 1
    err = capsys.readouterr().err
    assert "no outbox row with key 'nothing-like-it'" in err and "closest" not in err
    assert main(["outbox", "retry", "--failed", "--period", "2026-W99"]) == 1
    assert "no outbox rows of period '2026-W99'" in capsys.readouterr().err
    assert dump_tables(cli) == before


def test_resolve_sent_marks_it_sent_and_counts_only_the_posted_accounts_as_shown(
    cli: Engine, capsys
) -> None:
    key = make(cli, dm("alert:W47:ann@x.com", accounts=["a1", "a2"]), "unknown")
    enqueue(cli, [dm(key, accounts=["a1", "a2", "a3"])])  # revised after the post: a3 not shown
    row = get_row(cli, key)
    assert row["accounts"] == '["a1", "a2", "a3"]' and row["posted_accounts"] == '["a1", "a2"]'
    assert main(["outbox", "resolve", key, "--sent"]) == 0
    out = capsys.readouterr().out
    assert f"marked {key} sent (was unknown: boom), by ann" in out
    assert "2 account(s) it listed now count as shown" in out
    row = get_row(cli, key)
    assert row["status"] == "sent" and row["delivered_via"] == "slack" and row["error"] is None
    assert recent(row["sent_at"]) and recent(row["resolved_at"])
    assert (
        row["resolved_by"] == "ann" and row["resolution"] == "resolved as sent (was: unknown: boom)"
    )
    assert shown(cli) == {(W47, "a1", key), (W47, "a2", key)}


def test_resolve_sent_of_a_digest_records_no_alerts_shown(cli: Engine) -> None:
    key = make(cli, digest("digest:W47:cs-health"), "in_doubt")
    assert main(["outbox", "resolve", key, "--sent", "--by", "bob"]) == 0
    row = get_row(cli, key)
    assert row["status"] == "sent" and row["resolved_by"] == "bob"
    assert shown(cli) == set()


def test_resolve_not_sent_makes_it_pending_for_the_next_sweep(cli: Engine, capsys) -> None:
    unknown = make(cli, dm("alert:W47:ann@x.com", accounts=["a1"]), "unknown", error="gave up")
    in_doubt = make(cli, dm("alert:W47:bob@x.com", accounts=["b1"]), "in_doubt")
    assert main(["outbox", "resolve", unknown, "--not-sent"]) == 0
    assert f"marked {unknown} not sent (was unknown: gave up)" in capsys.readouterr().out
    assert main(["outbox", "resolve", in_doubt, "--not-sent", "--by", "bob"]) == 0
    for key, by in ((unknown, "ann"), (in_doubt, "bob")):
        row = get_row(cli, key)
        assert row["status"] == "pending" and row["error"] is None and row["reported_at"] is None
        assert row["resolved_by"] == by and recent(row["resolved_at"])
        assert row["resolution"].startswith("resolved as not sent (was: ")
    assert shown(cli) == set()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("sent", "is sent, not unknown: nothing to resolve"),
        ("failed", "is failed, not unknown: nothing to resolve (requeue it with `healthbot"),
        ("sending", "is sending, not unknown: nothing to resolve (its post is in flight"),
        ("printed", "is printed, not unknown: nothing to resolve"),
        ("pending", "is pending, not unknown: nothing to resolve"),
    ],
)
def test_resolve_refuses_a_row_not_in_doubt_and_changes_nothing(
    cli: Engine, capsys, status: str, message: str
) -> None:
    key = make(cli, dm("alert:W47:ann@x.com", accounts=["a1"]), status)
    before = dump_tables(cli)
    assert main(["outbox", "resolve", key, "--sent"]) == 1
    err = capsys.readouterr().err
    assert f"outbox row {key} {message}" in err
    assert dump_tables(cli) == before


def test_two_people_retrying_one_key_at_once_requeue_it_once(engine: Engine) -> None:
    key = make(engine, dm("alert:W47:ann@x.com"), "failed")
    barrier = threading.Barrier(2)
    won: list[str] = []
    refused: list[str] = []

    def person(name: str) -> None:
        barrier.wait()
        try:
            won.extend(r["resolved_by"] for r in retry(engine, name, key=key))
        except OutboxActionRefused as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=person, args=(n,)) for n in ("ann", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(won) == 1 and len(refused) == 1, (won, refused)
    assert key in refused[0] and "pending" in refused[0]
    assert get_row(engine, key)["resolved_by"] == won[0]


def test_two_people_resolving_one_row_at_once_settle_it_once(engine: Engine) -> None:
    key = make(engine, dm("alert:W47:ann@x.com", accounts=["a1"]), "unknown")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def person(sent: bool) -> None:
        barrier.wait()
        try:
            outcomes.append(resolve(engine, key, sent, "ann" if sent else "bob")["status"])
        except OutboxActionRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=person, args=(s,)) for s in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 2 and outcomes.count("refused") == 1, outcomes
    final = get_row(engine, key)["status"]
    assert final in outcomes
    assert (shown(engine) != set()) == (final == "sent")


def test_the_listing_shows_printed_rows_and_resolutions(cli: Engine, capsys) -> None:
    make(cli, digest("digest:W47:cs-health"), "printed")
    failed = make(cli, dm("alert:W47:ann@x.com"), "failed", error="channel_not_found")
    assert main(["outbox", "retry", failed]) == 0
    capsys.readouterr()
    assert main(["outbox"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("outbox: 1 pending, 1 printed")
    assert "printed: shown by the terminal transport only" in text
    assert "requeued (was: channel_not_found), by ann" in text
    assert main(["outbox", "--status", "pending", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["resolved_by"] == "ann" and listed["resolution"].startswith("requeued")


def test_a_row_moved_after_it_was_read_is_left_alone(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compare-and-set itself: a stale read (a worker moved the row in between, on a
    database that did not lock it) changes nothing and says so."""
    import scoring.store.outbox_admin as admin

    key = make(engine, dm("alert:W47:ann@x.com"), "failed")
    stale = get_row(engine, key)
    retry(engine, "bob", key=key)
    moved = dump_tables(engine)
    monkeypatch.setattr(admin, "_read", lambda conn, key: dict(stale))
    with pytest.raises(OutboxActionRefused, match="changed while this ran"):
        retry(engine, "ann", key=key)
    assert dump_tables(engine) == moved and get_row(engine, key)["resolved_by"] == "bob"
