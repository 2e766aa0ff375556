"""Delivery through the outbox: the real slack_sdk clients against the local Slack double.

Faults are injected at the HTTP level (429, 500, ok=false errors, an answer that never comes
after Slack stored the message), and the assertions are on what the double recorded and
stored, so "sent exactly once" means one message in the Slack channel, not a mock's count.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import DeliveryReport, PassOptions, deliver_pending
from bot.delivery.slack_client import DEFAULT_TIMEOUT, RATE_LIMIT_BUDGET, make_clients
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.terminal import TerminalTransport, safe_key
from bot.delivery.transports import TransportNotChosen, transport_from_env
from scoring.store.leases import LEASES, take_lease
from scoring.store.outbox import OUTBOX, OutboxMessage, enqueue, get_row, list_outbox, set_paused
from scoring.store.outbox_moves import claim, due_rows
from scoring.store.tables import utcnow
from tests.slack_double import SlackDouble

PERIOD = "2026-W47"
GRACE = dt.timedelta(seconds=1)  # the read-back grace of these tests (60 s in production)


@pytest.fixture
def transport(slack_double: SlackDouble) -> SlackTransport:
    return SlackTransport(make_clients(slack_double.token, slack_double.url + "/api", timeout=5))


def alert(email: str, n: int = 1, text: str | None = None) -> OutboxMessage:
    text = text or f"Your accounts need attention ({email})"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return OutboxMessage(f"alert:{PERIOD}:{email}:{n}", "alert_dm", "email", email, text, blocks)


def owner_dm(email: str, accounts: list[str]) -> OutboxMessage:
    """The week's one DM for `email` (bot/jobs/owner_dms.py): keyed by owner and period only,
    revised by a rerun that decides other alerts."""
    text = f"{len(accounts)} accounts need attention: {', '.join(accounts)}"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return OutboxMessage(
        f"alert:{PERIOD}:{email}",
        "alert_dm",
        "email",
        email,
        text,
        blocks,
        period=PERIOD,
        accounts=accounts,
        revisable=True,
    )


def digest(channel: str) -> OutboxMessage:
    return OutboxMessage(f"digest:{PERIOD}:{channel}", "digest", "channel", channel, "Digest")


def row(engine: Engine, key: str) -> dict:
    found = get_row(engine, key)
    assert found is not None, key
    return found


def keys_posted(double: SlackDouble, channel: str) -> list[str]:
    return [m["metadata"]["event_payload"]["key"] for m in double.messages(channel)]


def deliver(engine: Engine, transport: object, **options: Any) -> DeliveryReport:
    options.setdefault("grace", GRACE)
    return deliver_pending(engine, transport, PassOptions(**options))  # type: ignore[arg-type]


def after_grace(engine: Engine, key: str) -> None:
    """Wait until the read-back grace of `key`'s post in doubt is over."""
    until = row(engine, key)["next_attempt_at"]
    assert until is not None, key
    time.sleep(max(0.0, (until - utcnow()).total_seconds()) + 0.05)


def shown(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        query = "SELECT account_id, outbox_key FROM alert_shown ORDER BY account_id"
        return [tuple(r) for r in conn.exec_driver_sql(query)]


def test_dm_to_found_owner_carries_metadata_key(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    msg = alert("alice@example.com")
    enqueue(engine, [msg])
    report = deliver(engine, transport)
    assert (report.sent, report.failed, report.pending, report.in_doubt) == (1, 0, 0, 0)
    [stored] = slack_double.messages("U1")
    assert stored["metadata"] == {
        "event_type": "healthbot_message",
        "event_payload": {"key": msg.key},
    }
    assert stored["text"] == msg.text and stored["blocks"] == msg.blocks
    sent = row(engine, msg.key)
    assert (sent["status"], sent["channel_id"], sent["ts"]) == ("sent", "D1", stored["ts"])
    assert sent["attempts"] == 1 and sent["sent_at"] is not None and sent["error"] is None
    [lookup] = slack_double.calls("users.lookupByEmail")
    assert lookup.params["email"] == "alice@example.com"


def test_lookups_are_cached_per_pass(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [alert("alice@example.com", n) for n in (1, 2, 3)])
    assert deliver(engine, transport).sent == 3
    assert len(slack_double.calls("users.lookupByEmail")) == 1
    assert len(slack_double.messages("U1")) == 3


def test_owner_not_in_slack_goes_to_fallback_channel_with_reason(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    msg = alert("maria@example.com")
    enqueue(engine, [msg, alert("alice@example.com")])
    report = deliver(engine, transport, fallback_channel="cs-alerts")
    assert (report.sent, report.fallbacks, report.failed) == (2, 1, 0)
    [posted] = slack_double.messages("cs-alerts")
    assert "for maria@example.com" in posted["text"] and msg.text in posted["text"]
    assert posted["blocks"][0]["type"] == "context"
    assert "maria@example.com" in posted["blocks"][0]["elements"][0]["text"]
    assert posted["metadata"]["event_payload"]["key"] == msg.key
    sent = row(engine, msg.key)
    assert (sent["status"], sent["channel_id"]) == ("sent", "C2")
    assert "no active Slack user" in sent["fallback_reason"]
    assert row(engine, alert("alice@example.com").key)["fallback_reason"] is None


def test_owner_not_in_slack_without_fallback_fails_with_reason(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    msg = alert("maria@example.com")
    enqueue(engine, [msg])
    report = deliver(engine, transport)
    assert (report.sent, report.failed, report.pending) == (0, 1, 0)
    failed = row(engine, msg.key)
    assert failed["status"] == "failed" and "maria@example.com" in failed["error"]
    assert slack_double.calls("chat.postMessage") == []


def test_permanent_errors_are_recorded_and_the_rest_still_sent(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    slack_double.add_channel("old-news", "C9", is_archived=True)
    slack_double.add_channel("outside", "C8", is_member=False)
    messages = [
        digest("no-such-channel"),
        digest("old-news"),
        digest("outside"),
        alert("alice@example.com", text="too long"),
        alert("bob@example.com"),
    ]
    enqueue(engine, messages)
    slack_double.fail_next("chat.postMessage", error="channel_not_found")  # the first post
    report = deliver(engine, transport)
    assert (report.sent, report.failed, report.pending, report.in_doubt) == (2, 3, 0, 0)
    errors = {m.key: row(engine, m.key)["error"] for m in messages[:3]}
    assert errors == {
        messages[0].key: "channel_not_found",
        messages[1].key: "is_archived",
        messages[2].key: "not_in_channel",
    }
    assert keys_posted(slack_double, "U1") == [messages[3].key]
    assert keys_posted(slack_double, "U2") == [messages[4].key]
    assert deliver(engine, transport).sent == 0  # failed rows are not retried
    assert len(slack_double.calls("chat.postMessage")) == 5


def test_rate_limited_post_waits_for_retry_after_then_sends_once(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    msg = digest("general")
    enqueue(engine, [msg])
    slack_double.fail_next("chat.postMessage", status=429, retry_after=0)
    report = deliver(engine, transport)
    assert report.sent == 1
    assert [c.status for c in slack_double.calls("chat.postMessage")] == [429, 200]
    assert keys_posted(slack_double, "general") == [msg.key]
    assert row(engine, msg.key)["attempts"] == 1


def test_retry_after_beyond_the_call_budget_makes_the_row_wait_until_then(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    """A call waits out Retry-After only within its budget; a longer one surfaces, the pass
    stops and the row is not tried before Slack said, then sent once."""
    msg, other = digest("general"), digest("cs-alerts")
    enqueue(engine, [msg, other])
    wait = int(RATE_LIMIT_BUDGET) + 20
    slack_double.fail_next("chat.postMessage", status=429, retry_after=wait)
    started = utcnow()
    first = deliver(engine, transport)
    assert (first.sent, first.pending, first.in_doubt, first.stopped) == (0, 2, 0, True)
    assert "rate limited" in (first.waiting_reason or "")
    assert [c.status for c in slack_double.calls("chat.postMessage")] == [429]  # no waiting
    limited = row(engine, msg.key)
    assert limited["status"] == "pending" and "rate limited" in limited["error"]
    expected = started + dt.timedelta(seconds=wait)
    assert abs((limited["next_attempt_at"] - expected).total_seconds()) < 5
    assert row(engine, other.key)["attempts"] == 0  # the pass stopped: Slack is not taking any

    assert [r["key"] for r in due_rows(engine, utcnow(), ("pending",))] == [other.key]
    deliver(engine, transport)  # before Retry-After: that row is left alone
    assert keys_posted(slack_double, "general") == []
    assert row(engine, msg.key)["attempts"] == 1

    with engine.begin() as conn:  # Retry-After is over
        conn.execute(
            sa.update(OUTBOX).where(OUTBOX.c.key == msg.key).values(next_attempt_at=utcnow())
        )
    deliver(engine, transport)
    assert keys_posted(slack_double, "general") == [msg.key]
    assert keys_posted(slack_double, "cs-alerts") == [other.key]
    assert {r["status"] for r in list_outbox(engine)} == {"sent"}
    assert len(slack_double.calls("chat.postMessage")) == 3  # the 429, then one post each


def test_server_error_on_post_is_read_back_after_the_grace_and_sent_once(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    msg = alert("alice@example.com")
    enqueue(engine, [msg])
    slack_double.fail_next("chat.postMessage", status=500)
    first = deliver(engine, transport)
    assert (first.sent, first.in_doubt, first.pending) == (0, 1, 0)
    doubtful = row(engine, msg.key)
    assert doubtful["status"] == "sending" and "HTTP 500" in doubtful["error"]
    assert len(slack_double.calls("chat.postMessage")) == 1  # no blind retry
    assert doubtful["next_attempt_at"] > doubtful["updated_at"]  # the grace: history catches up

    early = deliver(engine, transport)  # within the grace: not read back, not posted
    assert (early.sent, early.in_doubt) == (0, 1)
    assert slack_double.calls("conversations.history") == []

    after_grace(engine, msg.key)
    second = deliver(engine, transport)
    assert (second.sent, second.in_doubt, second.pending) == (1, 0, 0)
    [history] = slack_double.calls("conversations.history")
    assert history.params["channel"] == "D1"
    assert str(history.params["include_all_metadata"]).lower() in ("1", "true")
    claimed = doubtful["updated_at"].replace(tzinfo=dt.UTC).timestamp()
    assert claimed - 90 < float(history.params["oldest"]) < claimed
    assert keys_posted(slack_double, "U1") == [msg.key]
    assert row(engine, msg.key)["attempts"] == 2


def test_lost_answer_is_found_by_metadata_and_not_posted_again(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    msg, other = digest("cs-alerts"), digest("general")
    enqueue(engine, [msg, other])
    slack_double.fail_next("chat.postMessage", hang=True)  # stored, answer lost
    first = deliver(engine, transport)
    assert (first.sent, first.in_doubt) == (1, 1)
    assert row(engine, msg.key)["status"] == "sending"

    after_grace(engine, msg.key)
    second = deliver(engine, transport)
    assert (second.sent, second.in_doubt, second.pending) == (1, 0, 0)
    [stored] = slack_double.messages("cs-alerts")
    found = row(engine, msg.key)
    assert (found["status"], found["channel_id"], found["ts"]) == ("sent", "C2", stored["ts"])
    assert len(slack_double.calls("chat.postMessage")) == 2  # one per message, ever
    assert deliver(engine, transport).sent == 0


@pytest.mark.parametrize("fault", [{"error": "internal_error"}, {"hang": True, "times": 3}])
def test_failed_read_back_marks_unknown_and_never_resends(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble, fault: dict
) -> None:
    msg = digest("general")
    enqueue(engine, [msg])
    slack_double.fail_next("chat.postMessage", status=503)
    deliver(engine, transport)
    after_grace(engine, msg.key)
    slack_double.fail_next("conversations.history", **fault)
    report = deliver(engine, transport)
    assert (report.unknown, report.sent, report.in_doubt, report.pending) == (1, 0, 0, 0)
    assert slack_double.pending_faults() == {}
    unknown = row(engine, msg.key)
    assert unknown["status"] == "unknown" and "read-back failed" in unknown["error"]
    again = deliver(engine, transport)
    assert (again.sent, again.unknown) == (0, 0)
    assert len(slack_double.calls("chat.postMessage")) == 1
    assert len(slack_double.calls("conversations.history")) == fault.get("times", 1)


def test_worker_that_died_mid_post_is_read_back_once_its_lease_is_stale(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    msg = alert("bob@example.com")
    enqueue(engine, [msg])
    stale_after = dt.timedelta(minutes=2)
    assert take_lease(engine, "weekly:2026-W47", "worker-1", stale_after).won
    [pending] = due_rows(engine, utcnow(), ("pending",))
    assert claim(engine, pending, "U2", holder="worker-1")  # a worker claims, then dies
    time.sleep(GRACE.total_seconds() + 0.05)  # the claim is older than the grace...
    live = deliver(engine, transport, holder="worker-2")  # ...but its heartbeat is fresh
    assert (live.sent, live.in_doubt) == (0, 1)
    assert slack_double.all_calls == []
    with engine.begin() as conn:  # no heartbeat for longer than `stale`: the worker is gone
        old = utcnow() - stale_after - dt.timedelta(seconds=1)
        conn.execute(
            sa.update(LEASES).where(LEASES.c.holder == "worker-1").values(heartbeat_at=old)
        )
    stale = deliver(engine, transport, holder="worker-2")
    assert (stale.sent, stale.in_doubt) == (1, 0)
    sent = row(engine, msg.key)
    assert (sent["claimed_by"], sent["attempts"]) == ("worker-2", 2)
    assert [c.method for c in slack_double.all_calls] == [
        "conversations.open",
        "conversations.history",
        "users.lookupByEmail",
        "chat.postMessage",
    ]
    assert keys_posted(slack_double, "U2") == [msg.key]


def test_second_pass_and_rerun_send_nothing_new(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    week = [owner_dm("alice@example.com", ["a1"]), owner_dm("bob@example.com", ["b1"])]
    week.append(digest("general"))
    assert enqueue(engine, week) == 3
    assert deliver(engine, transport).sent == 3
    assert deliver(engine, transport) == DeliveryReport()
    assert enqueue(engine, week) == 0  # a rerun deciding the same: nothing new, no revision
    assert deliver(engine, transport) == DeliveryReport()
    assert len(slack_double.calls("chat.postMessage")) == 3
    assert slack_double.calls("chat.update") == []
    assert shown(engine) == [("a1", week[0].key), ("b1", week[1].key)]


def test_rerun_with_a_new_alert_updates_the_same_dm_in_place(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    """One DM per owner and period: a rerun whose alerts changed revises the row and the DM
    already in Slack is updated (chat.update), never posted a second time; an account added
    by the update is not shown (the owner was not notified of an edit)."""
    first = owner_dm("alice@example.com", ["a1"])
    enqueue(engine, [first])
    assert deliver(engine, transport).sent == 1
    [posted] = slack_double.messages("U1")

    rerun = owner_dm("alice@example.com", ["a1", "a2"])
    assert rerun.key == first.key
    assert enqueue(engine, [rerun]) == 0  # the same row, revised
    report = deliver(engine, transport)
    assert (report.sent, report.updated, report.pending) == (0, 1, 0)
    assert len(slack_double.calls("chat.postMessage")) == 1
    [update] = slack_double.calls("chat.update")
    assert (update.params["channel"], update.params["ts"]) == ("D1", posted["ts"])
    [edited] = slack_double.messages("U1")
    assert edited["ts"] == posted["ts"] and edited["text"] == rerun.text
    assert edited["blocks"] == rerun.blocks and "edited" in edited
    assert edited["metadata"]["event_payload"]["key"] == first.key  # still found by key
    done = row(engine, first.key)
    assert (done["status"], done["revision"], done["posted_revision"]) == ("sent", 1, 1)
    assert shown(engine) == [("a1", first.key)]  # a2 came with the update: not shown
    assert deliver(engine, transport) == DeliveryReport()  # updated once
    assert len(slack_double.calls("chat.update")) == 1


def test_rerun_before_the_dm_was_sent_sends_the_latest_content_once(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [owner_dm("alice@example.com", ["a1"])])
    rerun = owner_dm("alice@example.com", ["a1", "a2"])
    assert enqueue(engine, [rerun]) == 0
    report = deliver(engine, transport)
    assert (report.sent, report.updated) == (1, 0)
    [posted] = slack_double.messages("U1")
    assert posted["text"] == rerun.text
    assert slack_double.calls("chat.update") == []
    assert shown(engine) == [("a1", rerun.key), ("a2", rerun.key)]


def test_concurrent_passes_send_each_message_once(
    engine: Engine, slack_double: SlackDouble
) -> None:
    emails = [f"owner{i}@example.com" for i in range(12)]
    for i, email in enumerate(emails):
        slack_double.add_user(email, f"U9{i:03d}")
    messages = [alert(e, n) for e in emails for n in (1, 2)] + [digest("general")]
    enqueue(engine, messages)
    slack_double.delay_seconds = 0.01  # each worker alone would take ~0.5 s: they overlap
    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def work() -> None:
        clients = make_clients(slack_double.token, slack_double.url + "/api/", timeout=5)
        start.wait()
        reports.append(deliver(engine, SlackTransport(clients)))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(reports) == 2 and all(r.sent for r in reports)  # both did some of the work
    assert sum(r.sent for r in reports) == len(messages)
    posted = [
        c.params["metadata"]["event_payload"]["key"] for c in slack_double.calls("chat.postMessage")
    ]
    assert sorted(posted) == sorted(m.key for m in messages)
    assert {r["status"] for r in list_outbox(engine)} == {"sent"}


def test_pause_holds_messages_and_resume_sends_them(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [alert("alice@example.com"), digest("general")])
    set_paused(engine, True)
    held = deliver(engine, transport)
    assert (held.paused, held.sent, held.pending) == (True, 0, 2)
    assert slack_double.all_calls == []
    set_paused(engine, False)
    resumed = deliver(engine, transport)
    assert (resumed.paused, resumed.sent, resumed.pending) == (False, 2, 0)


def test_redirect_sends_everything_to_the_test_channel(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [alert("alice@example.com"), alert("maria@example.com"), digest("cs-alerts")])
    report = deliver(engine, transport, redirect="general", fallback_channel="cs-alerts")
    assert (report.sent, report.fallbacks) == (3, 0)
    texts = [m["text"] for m in slack_double.messages("general")]
    assert [t.splitlines()[0] for t in texts] == [
        "_for alice@example.com_",
        "_for maria@example.com_",
        "_for #cs-alerts_",
    ]
    assert slack_double.messages("U1") == [] and slack_double.messages("cs-alerts") == []
    assert slack_double.calls("users.lookupByEmail") == []
    assert {r["channel_id"] for r in list_outbox(engine)} == {"C1"}


def test_terminal_transport_prints_and_writes_json(engine: Engine, tmp_path: Path) -> None:
    out, stream = tmp_path / "out", io.StringIO()
    dm, channel = alert("maria@example.com"), digest("cs-alerts")
    enqueue(engine, [dm, channel])
    report = deliver(engine, TerminalTransport(out, stream))
    assert (report.sent, report.pending) == (2, 0)
    assert json.loads((out / f"{safe_key(dm.key)}.json").read_text()) == {
        "to": "maria@example.com",
        "text": dm.text,
        "blocks": dm.blocks,
    }
    assert json.loads((out / f"{safe_key(channel.key)}.json").read_text()) == {
        "channel": "cs-alerts",
        "text": "Digest",
        "blocks": [],
    }
    printed = stream.getvalue()
    assert f"── to maria@example.com ({dm.key}) ──\n{dm.text}\n" in printed
    assert "── to #cs-alerts" in printed
    # Printed, never a Slack delivery: a Slack pass still sends them.
    rows = list_outbox(engine)
    assert {(r["status"], r["channel_id"], r["delivered_via"]) for r in rows} == {
        ("printed", "terminal", "terminal")
    }
    assert safe_key(dm.key) == "alert_2026-W47_maria@example.com_1"
    assert deliver(engine, TerminalTransport(out, stream)).sent == 0  # printed once
    assert stream.getvalue().count(f"({dm.key})") == 1


def test_transport_from_env(slack_double: SlackDouble, tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": slack_double.token, "SLACK_API_URL": slack_double.url + "/api"}
    slack = transport_from_env(env, tmp_path)
    assert isinstance(slack, SlackTransport)
    assert slack.clients.post.base_url == slack_double.url + "/api/"
    assert slack.resolve_user("bob@example.com") == "U2"
    assert slack_double.token not in repr(slack)
    with pytest.raises(TransportNotChosen, match="SLACK_BOT_TOKEN is not set"):
        transport_from_env({"SLACK_BOT_TOKEN": " "}, tmp_path)  # never the terminal silently
    chosen = transport_from_env({"SLACK_BOT_TOKEN": " "}, tmp_path, terminal=True)
    assert isinstance(chosen, TerminalTransport)


def test_clients_retry_posts_only_on_rate_limits_within_a_capped_time() -> None:
    clients = make_clients("xoxb-secret", environ={})
    assert [type(h).__name__ for h in clients.post.retry_handlers] == [
        "CappedRateLimitRetryHandler"
    ]
    assert [type(h).__name__ for h in clients.read.retry_handlers] == [
        "CappedRateLimitRetryHandler",
        "ConnectionErrorRetryHandler",
        "ServerErrorRetryHandler",
    ]
    for client in (clients.post, clients.read):  # SIGTERM: every call ends within ~20 s
        assert client.timeout == DEFAULT_TIMEOUT <= 10
        assert client.retry_handlers[0].budget == RATE_LIMIT_BUDGET <= 10
    assert clients.post.base_url == "https://slack.com/api/"
    assert "xoxb-secret" not in repr(clients)


def test_tokens_never_reach_rows_or_reports(
    engine: Engine, slack_double: SlackDouble, unused_port_url: str
) -> None:
    enqueue(engine, [digest("general"), alert("alice@example.com")])
    wrong = SlackTransport(make_clients("xoxb-wrong-secret", slack_double.url + "/api/"))
    report = deliver(engine, wrong)
    assert (report.failed, report.sent) == (2, 0)
    assert {r["error"] for r in list_outbox(engine)} == {"invalid_auth"}

    enqueue(engine, [digest("cs-alerts"), alert("bob@example.com")])
    down = SlackTransport(make_clients(slack_double.token, unused_port_url, timeout=2))
    report = deliver(engine, down)
    assert (report.pending, report.in_doubt) == (2, 0)  # refused: certainly not sent
    waiting = row(engine, digest("cs-alerts").key)
    assert waiting["status"] == "pending" and "refused" in waiting["error"].lower()
    assert row(engine, alert("bob@example.com").key)["error"] is None  # the pass stopped
    for r in list_outbox(engine):
        assert "secret" not in json.dumps(r, default=str)
        assert slack_double.token not in json.dumps(r, default=str)
    assert "secret" not in repr(report)


@pytest.fixture
def unused_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


def test_a_printed_dm_counts_as_shown_and_slack_later_keeps_that_record(
    engine: Engine, transport: SlackTransport, tmp_path: Path
) -> None:
    """Run without Slack (the demo, --terminal), the printed DM is what its reader saw: its
    accounts start their cooldown. A Slack pass later still posts the printed row, and the
    first record (how = printed) stands."""
    dm = owner_dm("alice@example.com", ["acct-1", "acct-2"])
    enqueue(engine, [dm])
    assert deliver(engine, TerminalTransport(tmp_path / "out", io.StringIO())).sent == 1
    query = "SELECT account_id, how, outbox_key FROM alert_shown ORDER BY account_id"
    with engine.connect() as conn:
        printed = [tuple(r) for r in conn.exec_driver_sql(query)]
    assert printed == [("acct-1", "printed", dm.key), ("acct-2", "printed", dm.key)]
    assert deliver(engine, transport).sent == 1  # Slack gets it too
    assert row(engine, dm.key)["status"] == "sent"
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql(query)] == printed
