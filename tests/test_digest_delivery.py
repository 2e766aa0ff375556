"""Threaded outbox rows (the digest's overflow reply) and file rows (its chart) in a delivery
pass: real slack_sdk clients against the local Slack double, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import CHART_KIND, deliver_pending
from bot.delivery.slack_client import make_clients
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.terminal import TerminalTransport, safe_key
from bot.delivery.transport_types import FileUpload
from scoring.store.outbox import OUTBOX, OutboxMessage, claim, enqueue, get_row, pending_rows
from tests.slack_double import SlackDouble

PARENT, REPLY = "digest:2026-W47:#general", "digest-thread:2026-W47:#general"


@pytest.fixture
def transport(slack_double: SlackDouble) -> SlackTransport:
    return SlackTransport(make_clients(slack_double.token, slack_double.url + "/api/", timeout=5))


def message(key: str, thread_key: str | None = None, channel: str = "general") -> OutboxMessage:
    kind = "digest_thread" if thread_key else "digest"
    return OutboxMessage(key, kind, "channel", channel, f"text of {key}", thread_key=thread_key)


def deliver(engine: Engine, transport: object, **kwargs: object):  # noqa: ANN201
    return deliver_pending(engine, transport, fallback_channel=None, **kwargs)  # type: ignore[arg-type]


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
    settled = deliver(engine, transport)
    assert (settled.sent, settled.in_doubt, settled.pending) == (1, 0, 0)
    [replies] = slack_double.calls("conversations.replies")
    assert replies.params["ts"] == get_row(engine, PARENT)["ts"]
    assert str(replies.params["include_all_metadata"]).lower() in ("1", "true")
    assert slack_double.calls("conversations.history") == []  # history hides replies
    assert len(slack_double.messages("general")) == 2
    assert get_row(engine, REPLY)["ts"] == slack_double.messages("general")[1]["ts"]


def test_file_rows_are_never_posted_and_an_orphan_becomes_unknown(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    chart = OutboxMessage("digest-chart:x", CHART_KIND, "channel", "general", "chart")
    enqueue(engine, [chart, message(PARENT)])
    report = deliver(engine, transport)
    assert report.sent == 1 and get_row(engine, chart.key)["status"] == "pending"
    assert len(slack_double.calls("chat.postMessage")) == 1
    assert claim(engine, pending_rows(engine)[0], "C1")  # a digest job claims it and dies
    with engine.begin() as conn:
        old = get_row(engine, chart.key)["updated_at"] - dt.timedelta(minutes=11)
        conn.execute(sa.update(OUTBOX).where(OUTBOX.c.key == chart.key).values(updated_at=old))
    settled = deliver(engine, transport)
    assert settled.unknown == 1
    row = get_row(engine, chart.key)
    assert row["status"] == "unknown" and "file share cannot be read back" in row["error"]
    assert slack_double.calls("conversations.history") == []


def test_terminal_transport_marks_replies_and_keeps_files(engine: Engine, tmp_path: Path) -> None:
    out, stream = tmp_path / "out", io.StringIO()
    terminal = TerminalTransport(out, stream)
    enqueue(engine, [message(PARENT), message(REPLY, PARENT)])
    assert deliver(engine, terminal).sent == 2
    parent = json.loads((out / f"{safe_key(PARENT)}.json").read_text())
    reply = json.loads((out / f"{safe_key(REPLY)}.json").read_text())
    assert "thread_ts" not in parent and reply["thread_ts"] == get_row(engine, PARENT)["ts"]
    assert f"── to #general in thread ({REPLY}) ──" in stream.getvalue()
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
