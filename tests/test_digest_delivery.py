"""Threaded outbox rows (the digest's overflow reply) and file rows (its chart) in a delivery
pass: real slack_sdk clients against the local Slack double, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import CHART_KIND, DeliveryReport, PassOptions, deliver_pending
from bot.delivery.slack_client import make_clients
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.terminal import TerminalTransport, safe_key
from bot.delivery.transport_types import FileUpload
from scoring.store.leases import LEASES, take_lease
from scoring.store.outbox import OutboxMessage, enqueue, get_row
from scoring.store.outbox_moves import claim, due_rows
from scoring.store.tables import utcnow
from tests.slack_double import SlackDouble

PARENT, REPLY = "digest:2026-W47:#general", "digest-thread:2026-W47:#general"
CHART = "digest-chart:2026-W47:#general"
PNG = b"\x89PNG\r\n\x1a\n chart bytes"
GRACE = dt.timedelta(seconds=1)  # the read-back grace of these tests (60 s in production)


@pytest.fixture
def transport(slack_double: SlackDouble) -> SlackTransport:
    return SlackTransport(make_clients(slack_double.token, slack_double.url + "/api/", timeout=5))


def message(key: str, thread_key: str | None = None, channel: str = "general") -> OutboxMessage:
    kind = "digest_thread" if thread_key else "digest"
    return OutboxMessage(key, kind, "channel", channel, f"text of {key}", thread_key=thread_key)


def chart(thread_key: str | None = PARENT) -> OutboxMessage:
    """The digest's chart: a file row shared into the digest's thread by the pass."""
    return OutboxMessage(
        CHART,
        CHART_KIND,
        "channel",
        "general",
        "Health this week",
        thread_key=thread_key,
        file_data=PNG,
        file_name="healthbot-digest-2026-W47.png",
        file_alt="a chart",
    )


def deliver(engine: Engine, transport: object, **options: Any) -> DeliveryReport:
    options.setdefault("grace", GRACE)
    return deliver_pending(engine, transport, PassOptions(**options))  # type: ignore[arg-type]


def after_grace(engine: Engine, key: str) -> None:
    """Wait until the read-back grace of `key`'s post in doubt is over."""
    until = get_row(engine, key)["next_attempt_at"]
    assert until is not None, key
    time.sleep(max(0.0, (until - utcnow()).total_seconds()) + 0.05)


def test_a_reply_waits_for_its_parent_then_goes_into_its_thread(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [message(REPLY, PARENT)])  # enqueued first: considered before its parent
    enqueue(engine, [message(PARENT)])
    first = deliver(engine, transport)
    assert (first.sent, first.pending) == (1, 1)
    assert get_row(engine, REPLY)["status"] == "pending"
    assert get_row(engine, REPLY)["attempts"] == 0  # never claimed while waiting
    second = deliver(engine, transport)
    assert (second.sent, second.pending) == (1, 0)
    parent, reply = get_row(engine, PARENT), get_row(engine, REPLY)
    [posted_parent, posted_reply] = slack_double.messages("general")
    assert posted_parent["ts"] == parent["ts"]
    assert posted_reply["thread_ts"] == parent["ts"] == posted_parent["thread_ts"]
    assert posted_reply["metadata"]["event_payload"]["key"] == REPLY
    assert reply["channel_id"] == parent["channel_id"] == "C1"
    [_, call] = slack_double.calls("chat.postMessage")
    assert call.params["thread_ts"] == parent["ts"]


def test_a_reply_in_the_same_pass_as_its_parent_follows_it(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [message(PARENT), message(REPLY, PARENT)])
    assert deliver(engine, transport).sent == 2
    top = [m for m in slack_double.messages("general") if m.get("thread_ts", m["ts"]) == m["ts"]]
    assert [m["text"] for m in top] == [f"text of {PARENT}"]  # the reply is not top level


@pytest.mark.parametrize("fault", ["channel_not_found", None])
def test_a_reply_to_a_failed_or_missing_parent_fails_with_the_reason(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble, fault: str | None
) -> None:
    if fault:
        enqueue(engine, [message(PARENT)])
        slack_double.fail_next("chat.postMessage", error=fault)
    enqueue(engine, [message(REPLY, PARENT)])
    report = deliver(engine, transport)
    assert report.failed == (2 if fault else 1) and report.pending == 0
    reply = get_row(engine, REPLY)
    state = "failed" if fault else "missing"
    assert reply["status"] == "failed" and reply["error"] == f"thread parent {PARENT} is {state}"
    assert len(slack_double.calls("chat.postMessage")) == int(bool(fault))


def test_a_reply_in_doubt_is_read_back_from_its_thread_and_not_posted_twice(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [message(PARENT), message(REPLY, PARENT)])
    assert deliver(engine, transport, limit=1).sent == 1
    slack_double.fail_next("chat.postMessage", hang=True)  # stored, answer lost
    doubtful = deliver(engine, transport)
    assert (doubtful.sent, doubtful.in_doubt) == (0, 1)
    after_grace(engine, REPLY)
    settled = deliver(engine, transport)
    assert (settled.sent, settled.in_doubt, settled.pending) == (1, 0, 0)
    [replies] = slack_double.calls("conversations.replies")
    assert replies.params["ts"] == get_row(engine, PARENT)["ts"]
    assert str(replies.params["include_all_metadata"]).lower() in ("1", "true")
    assert slack_double.calls("conversations.history") == []  # history hides replies
    assert len(slack_double.messages("general")) == 2
    assert get_row(engine, REPLY)["ts"] == slack_double.messages("general")[1]["ts"]


def test_a_file_row_waits_for_its_parent_then_is_shared_into_its_thread_once(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [chart(), message(PARENT)])  # the chart first: it still waits
    slack_double.fail_next("chat.postMessage", status=429, retry_after=60)  # the digest waits
    held = deliver(engine, transport)
    assert (held.sent, held.pending) == (0, 2)
    assert get_row(engine, CHART)["attempts"] == 0  # never claimed while its parent waits
    assert slack_double.calls("files.getUploadURLExternal") == []

    with engine.begin() as conn:  # Retry-After is over
        conn.exec_driver_sql("UPDATE outbox SET next_attempt_at = NULL")
    posted = deliver(engine, transport)  # the chart was considered before its parent
    assert (posted.sent, posted.pending) == (1, 1)
    assert get_row(engine, CHART)["attempts"] == 0
    report = deliver(engine, transport)
    assert (report.sent, report.pending, report.unknown) == (1, 0, 0)
    parent, shared = get_row(engine, PARENT), get_row(engine, CHART)
    assert (shared["status"], shared["delivered_via"], shared["attempts"]) == ("sent", "slack", 1)
    assert shared["channel_id"] == parent["channel_id"] == "C1"
    [complete] = slack_double.calls("files.completeUploadExternal")
    assert (complete.params["channel_id"], complete.params["thread_ts"]) == ("C1", parent["ts"])
    [upload] = slack_double.uploads.values()
    assert (upload.data, upload.title, upload.thread_ts) == (PNG, "Health this week", parent["ts"])
    assert upload.filename == "healthbot-digest-2026-W47.png"
    assert deliver(engine, transport) == DeliveryReport()  # shared once
    assert len(slack_double.calls("files.completeUploadExternal")) == 1
    assert len(slack_double.uploads) == 1


def test_a_share_in_doubt_is_unknown_at_once_and_never_repeated(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [message(PARENT), chart()])
    slack_double.fail_next("files.completeUploadExternal", hang=True)  # shared, answer lost
    report = deliver(engine, transport)
    assert (report.sent, report.unknown, report.in_doubt, report.pending) == (1, 1, 0, 0)
    row = get_row(engine, CHART)
    assert row["status"] == "unknown" and "never shared twice" in row["error"]
    time.sleep(GRACE.total_seconds() + 0.05)
    assert deliver(engine, transport) == DeliveryReport()
    assert len(slack_double.calls("files.completeUploadExternal")) == 1
    assert [u.completed for u in slack_double.uploads.values()] == [True]


def test_a_file_share_whose_worker_died_becomes_unknown_not_read_back(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [message(PARENT), chart()])
    assert deliver(engine, transport, limit=1).sent == 1  # the digest only
    stale = dt.timedelta(minutes=2)
    assert take_lease(engine, "weekly:2026-W47", "worker-1", stale).won
    [row] = due_rows(engine, utcnow(), ("pending",))
    assert claim(engine, row, "C1", holder="worker-1")  # claims the share, then dies
    time.sleep(GRACE.total_seconds() + 0.05)
    assert deliver(engine, transport).in_doubt == 1  # its lease is fresh: hands off
    with engine.begin() as conn:
        old = utcnow() - stale - dt.timedelta(seconds=1)
        conn.execute(
            sa.update(LEASES).where(LEASES.c.holder == "worker-1").values(heartbeat_at=old)
        )
    settled = deliver(engine, transport)
    assert (settled.unknown, settled.sent, settled.in_doubt) == (1, 0, 0)
    row = get_row(engine, CHART)
    assert row["status"] == "unknown" and "file share cannot be read back" in row["error"]
    assert slack_double.calls("conversations.history") == []
    assert slack_double.calls("files.getUploadURLExternal") == []  # never shared by anyone


def test_a_file_row_with_no_message_to_share_into_fails(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    enqueue(engine, [chart(thread_key=None)])
    report = deliver(engine, transport)
    assert (report.failed, report.sent) == (1, 0)
    assert "delivered message to share into" in get_row(engine, CHART)["error"]
    assert slack_double.all_calls == []


def test_terminal_transport_marks_replies_and_keeps_files(engine: Engine, tmp_path: Path) -> None:
    out, stream = tmp_path / "out", io.StringIO()
    terminal = TerminalTransport(out, stream)
    enqueue(engine, [message(PARENT), message(REPLY, PARENT)])
    assert deliver(engine, terminal).sent == 2
    parent = json.loads((out / f"{safe_key(PARENT)}.json").read_text())
    reply = json.loads((out / f"{safe_key(REPLY)}.json").read_text())
    assert "thread_ts" not in parent and reply["thread_ts"] == get_row(engine, PARENT)["ts"]
    assert f"── to #general in thread ({REPLY}) ──" in stream.getvalue()
    assert {get_row(engine, k)["status"] for k in (PARENT, REPLY)} == {"printed"}
    done = terminal.upload_file(FileUpload("digest-chart:x", "terminal", "c.png", b"PNG", "T"))
    assert (out / done.file_id).read_bytes() == b"PNG" and done.file_id == "digest-chart_x.png"


def test_slack_upload_resolves_a_channel_name_once(
    transport: SlackTransport, slack_double: SlackDouble
) -> None:
    for n in range(2):
        done = transport.upload_file(FileUpload(f"k{n}", "#cs-alerts", "c.png", b"x" * 10, "T"))
        assert done.channel_id == "C2"
    assert len(slack_double.calls("conversations.list")) == 1
    completes = slack_double.calls("files.completeUploadExternal")
    assert [c.params["channel_id"] for c in completes] == ["C2", "C2"]
    assert all("thread_ts" not in c.params for c in completes)
    assert [u.data for u in slack_double.uploads.values()] == [b"x" * 10] * 2
