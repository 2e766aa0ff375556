"""The digest job end to end: real database, real slack_sdk client, the local Slack double.

Assertions are on what the double recorded and stored: the digest in the channel, its overflow
in its thread, and the chart's bytes that reached the upload URL and were shared there.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy.engine import Engine

from bot.cli import main
from bot.delivery.slack_client import make_clients
from bot.delivery.slack_transport import SlackTransport
from bot.jobs.digest import post_digests
from bot.jobs.weekly import run_weekly
from bot.messages.digest_context import LIST_LIMIT, SECTIONS, THREAD_LIMIT, csv_name
from bot.messages.render import money, unescape
from scoring.batch.views import load_period
from scoring.store.outbox import get_row, list_outbox, set_paused
from scoring.store.runs import last_run
from tests.pipeline_fixtures import END, demo_model
from tests.slack_double import TEST_TOKEN, SlackDouble
from tests.test_chart import png_size
from tests.test_digest import PERIOD, prepare_weeks, stored

HERE = Path(".")
KEY = f"digest:{PERIOD}:#cs-health"


@pytest.fixture
def transport(slack_double: SlackDouble) -> SlackTransport:
    slack_double.add_channel("cs-health", "C0HEALTH1")
    return SlackTransport(make_clients(TEST_TOKEN, slack_double.url + "/api/", timeout=5))


def top_level(double: SlackDouble, channel: str = "cs-health") -> list[dict]:
    return [m for m in double.messages(channel) if m.get("thread_ts", m["ts"]) == m["ts"]]


def replies(double: SlackDouble, parent: dict, channel: str = "cs-health") -> list[dict]:
    found = double.messages(channel)
    return [m for m in found if m.get("thread_ts") == parent["ts"] != m["ts"]]


def methods(double: SlackDouble) -> list[str]:
    return [c.method for c in double.all_calls]


def test_weekly_run_posts_the_digest_then_its_thread_and_chart(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    prepared = prepare_weeks(engine)
    result = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    [digest] = top_level(slack_double)
    assert digest["metadata"]["event_payload"]["key"] == KEY
    now = stored(engine, PERIOD)
    distribution = digest["blocks"][2]["text"]["text"]
    for band in ("healthy", "at_risk", "critical"):
        mine = now[now["band"] == band]
        assert f"{len(mine)} accounts, {money(mine['arr'].sum())}" in distribution, band
    at_risk = now["arr"][now["rank"] > 0].sum()
    assert f"ARR at risk *{money(at_risk)}*" in digest["blocks"][1]["text"]["text"]

    *overflow, shared = replies(slack_double, digest)  # one reply per list cut short
    keys = [m["metadata"]["event_payload"]["key"] for m in overflow]
    assert keys[0] == f"digest-thread:{PERIOD}:#cs-health"
    assert all(k.startswith("digest-thread-") for k in keys[1:])
    assert "More from the" in overflow[0]["text"] and shared.get("upload") is True
    reply_call = slack_double.calls("chat.postMessage")[-1]
    assert reply_call.params["thread_ts"] == digest["ts"]

    chart = result.digest.rendered[0].chart
    [ticket] = slack_double.calls("files.getUploadURLExternal")
    assert int(ticket.params["length"]) == len(chart)
    assert ticket.params["filename"] == f"healthbot-digest-{PERIOD}.png"
    assert "health scores" in ticket.params["alt_txt"]
    [complete] = slack_double.calls("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C0HEALTH1"  # an id: file shares take no names
    assert complete.params["thread_ts"] == digest["ts"]
    [upload] = slack_double.uploads.values()
    assert complete.params["files"][0]["id"] == upload.file_id
    assert upload.data == chart and png_size(upload.data) == (1200, 600)
    assert upload.completed and upload.channels == ["C0HEALTH1"]
    assert upload.thread_ts == digest["ts"] and upload.title == f"Portfolio health · {PERIOD}"
    assert methods(slack_double)[-2:] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert "conversations.list" not in methods(slack_double)  # the id came with the post

    details = last_run(engine, "weekly")["details"]
    [outcome] = details["digests"]
    assert (outcome["status"], outcome["chart"], outcome["chart_error"]) == (
        "sent",
        "uploaded",
        None,
    )
    assert "notes" not in details
    assert get_row(engine, f"digest-chart:{PERIOD}:#cs-health")["status"] == "sent"


def test_a_list_longer_than_its_reply_comes_whole_as_a_csv_shared_once(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    """600 accounts: lists over 205 rows show 5 in the digest, 200 in their reply, and all of
    them in a CSV file in the same thread; the first file's upload URL fails (nothing shared),
    the run tries again, and each file is shared exactly once, also after a rerun."""
    prepared = prepare_weeks(engine, accounts=600)
    slack_double.fail_next("upload_url", status=500)
    result = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert slack_double.pending_faults() == {} and result.status == "succeeded"
    [digest] = top_level(slack_double)
    rendered = result.digest.rendered[0]
    long = {k for k in SECTIONS if len(getattr(rendered.digest, k)) > LIST_LIMIT + THREAD_LIMIT}
    assert long, "600 accounts must overflow a reply"
    shared = [u for u in slack_double.uploads.values() if u.completed]
    names = sorted(u.filename for u in shared)
    assert names == sorted([csv_name(PERIOD, k) for k in long] + [f"healthbot-digest-{PERIOD}.png"])
    for upload in shared:
        assert upload.thread_ts == digest["ts"] and upload.channels == ["C0HEALTH1"]
    for key in long:
        [upload] = [u for u in shared if u.filename == csv_name(PERIOD, key)]
        frame = pd.read_csv(io.BytesIO(upload.data), encoding="utf-8-sig")
        assert frame["account_id"].tolist() == getattr(rendered.digest, key)["account_id"].tolist()
        [reply] = [
            m for m in replies(slack_double, digest) if csv_name(PERIOD, key) in m.get("text", "")
        ]
        assert reply["text"].count(" · ARR ") == THREAD_LIMIT
    assert get_row(engine, f"digest-csv-{sorted(long)[0]}:{PERIOD}:#cs-health")["status"] == "sent"

    completes = len(slack_double.calls("files.completeUploadExternal"))
    assert completes == len(long) + 1
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert len(slack_double.calls("files.completeUploadExternal")) == completes


def test_a_rerun_posts_and_uploads_nothing_new(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    prepared = prepare_weeks(engine)
    run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    posts, uploads = len(slack_double.calls("chat.postMessage")), len(slack_double.uploads)
    again = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert len(slack_double.calls("chat.postMessage")) == posts
    assert len(slack_double.uploads) == uploads == 1
    assert again.digest.posts[0].already_sent and again.digest.posts[0].chart == "already uploaded"


@pytest.mark.parametrize(
    ("method", "fault", "chart", "reason"),
    [
        (
            "files.getUploadURLExternal",
            {"error": "file_uploads_disabled"},
            "failed",
            "disabled",
        ),
        ("files.completeUploadExternal", {"status": 500}, "unknown", "in doubt: HTTP 500"),
        ("files.completeUploadExternal", {"error": "not_in_channel"}, "failed", "not_in_ch"),
    ],
)
def test_a_failed_upload_still_posts_the_digest_and_records_why(
    engine: Engine,
    transport: SlackTransport,
    slack_double: SlackDouble,
    method: str,
    fault: dict,
    chart: str,
    reason: str,
) -> None:
    """A chart that cannot be shared (refused for good, or shared in doubt) never holds back
    the digest, is reported in the run, and is never shared again: at most once."""
    prepared = prepare_weeks(engine)
    slack_double.fail_next(method, **fault)
    result = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert slack_double.pending_faults() == {}
    assert result.status == "succeeded"  # nothing is left to deliver: the chart is settled
    [digest] = top_level(slack_double)
    assert digest["metadata"]["event_payload"]["key"] == KEY
    assert not [u for u in slack_double.uploads.values() if u.completed]
    [post] = result.digest.posts
    assert post.status == "sent" and post.chart == chart and reason in post.chart_error
    details = last_run(engine, "weekly")["details"]
    assert reason in details["notes"] and details["digests"][0]["chart"] == chart
    row = get_row(engine, f"digest-chart:{PERIOD}:#cs-health")
    assert row["status"] == chart and reason in row["error"]

    posts = len(slack_double.calls("chat.postMessage"))
    completes = len(slack_double.calls("files.completeUploadExternal"))
    again = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert len(slack_double.calls("chat.postMessage")) == posts  # the digest is not resent
    assert len(slack_double.calls("files.completeUploadExternal")) == completes  # nor the chart
    assert not [u for u in slack_double.uploads.values() if u.completed]
    assert again.digest.posts[0].chart == chart


def test_an_upload_slack_did_not_take_is_retried_within_the_run_and_shared_once(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    """The upload URL answered 500: nothing was shared, so the run's next delivery pass
    shares the chart (the old design left it for the next run)."""
    prepared = prepare_weeks(engine)
    slack_double.fail_next("upload_url", status=500)
    result = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert slack_double.pending_faults() == {}
    assert result.status == "succeeded" and result.waiting == []
    [digest] = top_level(slack_double)
    [post] = result.digest.posts
    assert (post.status, post.chart, post.chart_error) == ("sent", "uploaded", None)
    assert len(slack_double.calls("files.getUploadURLExternal")) == 2  # one ticket per try
    [shared] = [u for u in slack_double.uploads.values() if u.completed]
    assert shared.thread_ts == digest["ts"] and shared.data == result.digest.rendered[0].chart
    row = get_row(engine, f"digest-chart:{PERIOD}:#cs-health")
    assert (row["status"], row["error"], row["attempts"]) == ("sent", None, 2)
    details = last_run(engine, "weekly")["details"]
    assert "notes" not in details and details["digests"][0]["chart"] == "uploaded"

    again = run_weekly(engine, prepared.model, HERE, END, transport, sync=False)
    assert len(top_level(slack_double)) == 1
    assert len(slack_double.calls("files.completeUploadExternal")) == 1
    assert again.digest.posts[0].chart == "already uploaded"


def test_the_chart_waits_while_the_digest_is_not_sent(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    prepared = prepare_weeks(engine)
    set_paused(engine, True)
    held = post_digests(engine, prepared.model, transport, load_period(engine, PERIOD))
    [post] = held.posts
    assert (post.status, post.chart) == ("pending", "waiting")
    assert "the digest is pending" in post.chart_error and "sweep" in post.chart_error
    assert slack_double.all_calls == []
    # The chart is queued with the digest, its bytes on the row, for whichever pass comes next.
    chart = get_row(engine, f"digest-chart:{PERIOD}:#cs-health")
    assert (chart["status"], chart["thread_key"], chart["attempts"]) == ("pending", KEY, 0)
    assert chart["file_data"] == held.rendered[0].chart
    set_paused(engine, False)
    sent = post_digests(engine, prepared.model, transport, load_period(engine, PERIOD))
    assert (sent.posts[0].status, sent.posts[0].chart) == ("sent", "uploaded")
    [digest] = top_level(slack_double)
    [shared] = slack_double.uploads.values()
    assert shared.completed and shared.thread_ts == digest["ts"]


def test_two_targets_in_one_channel_get_their_own_digests(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    prepared = prepare_weeks(engine)
    targets = [
        {"channel": "#cs-health"},
        {"channel": "#cs-health", "where": {"segment": "Enterprise"}, "quiet_line": False},
    ]
    model = prepared.model.model_copy(update={"digest": demo_model(digest=targets).digest})
    result = post_digests(engine, model, transport, load_period(engine, PERIOD))
    assert [p.key for p in result.posts] == [KEY, f"{KEY}:segment=Enterprise"]
    everyone, enterprise = top_level(slack_double)
    assert enterprise["blocks"][0]["text"]["text"].endswith("· segment: Enterprise")
    count = prepared.portfolio.accounts.set_index("account_id")["segment"] == "Enterprise"
    scored = stored(engine, PERIOD).index
    expected = int(count[count.index.isin(scored)].sum())
    assert enterprise["blocks"][1]["text"]["text"].startswith(f"*{expected}* accounts")
    assert everyone["blocks"][1]["text"]["text"].startswith(f"*{len(scored)}* accounts")
    shared = sorted(u.thread_ts for u in slack_double.uploads.values() if u.completed)
    assert shared == sorted([everyone["ts"], enterprise["ts"]])


@pytest.fixture
def cli_env(
    db_url: str,
    engine: Engine,
    slack_double: SlackDouble,
    transport: SlackTransport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Engine:
    """`healthbot` run in-process against the database and the Slack double."""
    prepare_weeks(engine)
    raw = yaml.safe_load(demo_model().model_dump_json())
    config = tmp_path / "healthbot.yml"
    config.write_text(yaml.safe_dump(raw))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HEALTHBOT_CONFIG", str(config))
    monkeypatch.setenv("SLACK_BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack_double.url + "/api/")
    return engine


def test_digest_command_posts_again_only_with_force(
    cli_env: Engine, slack_double: SlackDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--period", PERIOD]) == 0
    assert f"digest {PERIOD} posted to #cs-health; chart uploaded" in capsys.readouterr().out
    assert main(["digest"]) == 0  # the latest period is the same one
    assert "already posted to #cs-health (--force posts it again)" in capsys.readouterr().out
    assert len(top_level(slack_double)) == 1 and len(slack_double.uploads) == 1
    assert main(["digest", "--force"]) == 0
    first, forced = top_level(slack_double)
    forced_key = forced["metadata"]["event_payload"]["key"]
    assert forced_key.startswith(KEY + ":forced-") and forced_key != KEY
    assert forced["blocks"] == first["blocks"]
    assert sorted(u.thread_ts for u in slack_double.uploads.values()) == [first["ts"], forced["ts"]]
    run = last_run(cli_env, "digest")
    assert run["status"] == "succeeded" and run["details"]["digests"][0]["key"] == forced_key


def test_digest_preview_writes_three_files_and_sends_nothing(
    cli_env: Engine, slack_double: SlackDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "preview"
    assert main(["digest", "--preview", str(out)]) == 0
    printed = capsys.readouterr().out
    blocks = yaml.safe_load((out / "digest.json").read_text())  # JSON is YAML
    assert blocks[0]["text"]["text"] == f"Portfolio health · {PERIOD}" and len(blocks) <= 50
    text = (out / "digest.txt").read_text()
    # The file is Slack's text (escaped); the terminal shows it as a person reads it.
    assert text.startswith(f"Portfolio health · {PERIOD}\n")
    assert printed.strip() == unescape(text).strip()
    assert png_size((out / "digest.png").read_bytes()) == (1200, 600)
    assert slack_double.all_calls == [] and list_outbox(cli_env) == []


def test_digest_command_without_a_channel_says_how_to_set_one(
    cli_env: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = yaml.safe_load((tmp_path / "healthbot.yml").read_text())
    raw["digest"] = []
    (tmp_path / "healthbot.yml").write_text(yaml.safe_dump(raw))
    assert main(["digest"]) == 1
    assert "no digest channel" in capsys.readouterr().err
    assert main(["digest", "--preview", str(tmp_path / "p")]) == 0  # preview needs no channel
    assert (tmp_path / "p" / "digest.png").exists()


def test_a_digest_to_a_missing_channel_fails_the_command(
    cli_env: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = yaml.safe_load((tmp_path / "healthbot.yml").read_text())
    raw["digest"] = [{"channel": "#nowhere"}]
    (tmp_path / "healthbot.yml").write_text(yaml.safe_dump(raw))
    assert main(["digest", "--period", PERIOD]) == 1
    assert "channel_not_found" in capsys.readouterr().err
    assert last_run(cli_env, "digest")["status"] == "failed"


def test_week_before_has_its_own_digest(
    engine: Engine, transport: SlackTransport, slack_double: SlackDouble
) -> None:
    prepared = prepare_weeks(engine)
    week = post_digests(
        engine,
        prepared.model,
        transport,
        load_period(engine, "2026-W46"),
        as_of=END - timedelta(days=7),
    )
    assert week.posts[0].key == "digest:2026-W46:#cs-health" and week.posts[0].status == "sent"
