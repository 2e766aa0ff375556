"""The Slack double must behave like Slack for the real slack_sdk/bolt clients, or bot tests lie."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.error

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.slack_double import (
    TEST_SIGNING_SECRET,
    TEST_TOKEN,
    SlackDouble,
    interaction_body,
    sign,
    slash_command_body,
)

METADATA = {"event_type": "health_alert", "event_payload": {"account_id": "acct-42", "score": 37}}


def client_for(double: SlackDouble, token: str | None = TEST_TOKEN, **kwargs) -> WebClient:
    """A real WebClient aimed at the double; no retry handlers unless a test adds them."""
    kwargs.setdefault("retry_handlers", [])
    return WebClient(token=token, base_url=double.url + "/api/", timeout=5, **kwargs)


@pytest.fixture
def client(slack_double: SlackDouble) -> WebClient:
    return client_for(slack_double)


def test_post_by_name_and_read_history_with_metadata(slack_double, client) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Acme* dropped to 37"}}]
    posted = client.chat_postMessage(
        channel="#cs-alerts", text="Acme at risk", blocks=blocks, metadata=METADATA
    )

    assert posted["channel"] == "C2"
    assert re.fullmatch(r"\d{10}\.\d{6}", posted["ts"])
    assert posted["message"]["metadata"] == METADATA
    with_meta = client.conversations_history(channel="C2", include_all_metadata=True)
    assert [m["ts"] for m in with_meta["messages"]] == [posted["ts"]]
    assert with_meta["messages"][0]["metadata"] == METADATA
    assert with_meta["messages"][0]["blocks"] == blocks
    plain = client.conversations_history(channel="C2")
    assert "metadata" not in plain["messages"][0]  # Slack hides it unless asked
    assert slack_double.messages("cs-alerts")[0]["bot_id"] == slack_double.bot_id


def test_form_body_json_strings_and_token_param_are_understood(slack_double) -> None:
    anonymous = client_for(slack_double, token=None)
    blocks = [{"type": "divider"}]

    anonymous.api_call(
        "chat.postMessage",
        params={"token": TEST_TOKEN, "channel": "C1", "text": "hi", "blocks": json.dumps(blocks)},
    )

    (call,) = slack_double.calls("chat.postMessage")
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert slack_double.messages("C1")[0]["blocks"] == blocks


def test_channel_resolution_matches_slack(slack_double, client) -> None:
    dm = client.chat_postMessage(channel="U1", text="your accounts")
    opened = client.conversations_open(users="U1")

    assert dm["channel"].startswith("D")
    assert opened["channel"]["id"] == dm["channel"] and opened["already_open"] is True
    with pytest.raises(SlackApiError) as unknown:
        client.chat_postMessage(channel="#nope", text="x")
    assert unknown.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as by_name:  # history needs an id, as on real Slack
        client.conversations_history(channel="cs-alerts")
    assert by_name.value.response["error"] == "channel_not_found"


def test_bad_or_missing_token_is_rejected(slack_double) -> None:
    with pytest.raises(SlackApiError) as bad:
        client_for(slack_double, token="xoxb-wrong").auth_test()
    with pytest.raises(SlackApiError) as missing:
        client_for(slack_double, token=None).auth_test()

    assert bad.value.response["error"] == "invalid_auth"
    assert missing.value.response["error"] == "not_authed"
    assert client_for(slack_double).auth_test()["user_id"] == slack_double.bot_user_id


def test_rate_limit_is_retried_by_slack_sdk_handler(slack_double) -> None:
    slack_double.fail_next("chat.postMessage", status=429, retry_after=0)
    client = client_for(slack_double, retry_handlers=[RateLimitErrorRetryHandler()])

    posted = client.chat_postMessage(channel="C1", text="after the storm")

    statuses = [c.status for c in slack_double.calls("chat.postMessage")]
    assert statuses == [429, 200]
    assert [m["ts"] for m in slack_double.messages("C1")] == [posted["ts"]]
    assert slack_double.pending_faults() == {}


def test_rate_limit_without_handler_surfaces_retry_after(slack_double, client) -> None:
    slack_double.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="x")

    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"
    assert slack_double.messages("C1") == []


def test_server_error_and_injected_errors_in_fifo_order(slack_double, client) -> None:
    slack_double.fail_next("chat.postMessage", status=500)
    slack_double.fail_next("chat.postMessage", error="is_archived")

    with pytest.raises(SlackApiError) as first:
        client.chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError) as second:
        client.chat_postMessage(channel="C1", text="x")
    client.chat_postMessage(channel="C1", text="third time lucky")

    assert first.value.response.status_code == 500
    assert second.value.response.status_code == 200
    assert second.value.response["error"] == "is_archived"
    assert [m["text"] for m in slack_double.messages("C1")] == ["third time lucky"]


def test_hang_stores_message_but_client_sees_connection_error(slack_double, client) -> None:
    slack_double.fail_next("chat.postMessage", hang=True)
    started = time.monotonic()

    with pytest.raises((OSError, http.client.HTTPException)):
        client.chat_postMessage(channel="C1", text="did it land?")

    assert time.monotonic() - started < 2
    assert [m["text"] for m in slack_double.messages("C1")] == ["did it land?"]
    assert slack_double.calls("chat.postMessage")[0].response is None


def test_hang_plus_connection_retry_duplicates_the_post(slack_double) -> None:
    """slack_sdk's default retry re-sends a post whose answer was lost: bots must dedupe."""
    retry = ConnectionErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0))
    client = client_for(slack_double, retry_handlers=[retry])
    slack_double.fail_next("chat.postMessage", hang=True)

    client.chat_postMessage(channel="C1", text="weekly digest")

    assert [m["text"] for m in slack_double.messages("C1")] == ["weekly digest"] * 2


def test_delay_applies_to_every_answer(slack_double, client) -> None:
    slack_double.delay_seconds = 0.3
    started = time.monotonic()

    client.auth_test()

    assert time.monotonic() - started >= 0.3


def test_users_and_usergroups(slack_double, client) -> None:
    found = client.users_lookupByEmail(email="Alice@example.com")
    with pytest.raises(SlackApiError) as missing:
        client.users_lookupByEmail(email="ghost@example.com")

    assert found["user"]["id"] == "U1"
    assert found["user"]["profile"]["email"] == "alice@example.com"
    assert missing.value.response["error"] == "users_not_found"
    assert client.users_info(user="U2")["user"]["name"] == "bob"
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]


def test_update_delete_and_ephemeral(slack_double, client) -> None:
    posted = client.chat_postMessage(channel="C1", text="score 40")
    client.chat_update(channel="C1", ts=posted["ts"], text="score 45")
    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="only you")

    assert slack_double.messages("C1")[0]["text"] == "score 45"
    assert slack_double.ephemeral_messages("C1")[0]["ts"] == ephemeral["message_ts"]
    client.chat_delete(channel="C1", ts=posted["ts"])
    assert slack_double.messages("C1") == []
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel="C1", ts=posted["ts"], text="again")
    assert gone.value.response["error"] == "message_not_found"


def test_history_paginates_newest_first_and_hides_thread_replies(slack_double, client) -> None:
    tss = [client.chat_postMessage(channel="C1", text=f"m{i}")["ts"] for i in range(5)]
    client.chat_postMessage(channel="C1", text="reply", thread_ts=tss[0])

    pages = [
        [m["text"] for m in page["messages"]]
        for page in client.conversations_history(channel="C1", limit=2)
    ]
    replies = client.conversations_replies(channel="C1", ts=tss[0])["messages"]
    since = client.conversations_history(channel="C1", oldest=tss[2])["messages"]

    assert pages == [["m4", "m3"], ["m2", "m1"], ["m0"]]
    assert [m["text"] for m in replies] == ["m0", "reply"]
    assert [m["text"] for m in since] == ["m4", "m3"]


def test_conversations_list_join_and_info(slack_double, client) -> None:
    private = slack_double.add_channel("csm-leads", is_private=True)
    outside = slack_double.add_channel("renewals", is_member=False)

    public_ids = [c["id"] for page in client.conversations_list(limit=1) for c in page["channels"]]
    with pytest.raises(SlackApiError) as not_in:
        client.chat_postMessage(channel=outside, text="x")
    client.conversations_join(channel=outside)

    assert public_ids == ["C1", "C2", outside]
    assert not_in.value.response["error"] == "not_in_channel"
    assert client.conversations_info(channel=outside)["channel"]["is_member"] is True
    listed = client.conversations_list(types="private_channel")["channels"]
    assert [c["id"] for c in listed] == [private]


def test_views_open_update_and_publish(slack_double, client) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Account"}, "blocks": []}
    opened = client.views_open(trigger_id="123.456.abc", view=modal)["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)["view"]
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    client.views_publish(user_id="U1", view={"type": "home", "blocks": []})

    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert stale.value.response["error"] == "hash_conflict"
    assert slack_double.home_view("U1")["type"] == "home"


def test_files_upload_v2_three_steps_store_the_bytes(slack_double, client) -> None:
    data = b"account,score\nacme,37\n" * 100

    result = client.files_upload_v2(
        content=data, filename="scores.csv", title="Scores", channel="C2", initial_comment="Weekly"
    )

    file_id = result["file"]["id"]
    upload = slack_double.uploads[file_id]
    assert upload.data == data and upload.length == len(data)
    assert (upload.title, upload.channels, upload.completed) == ("Scores", ["C2"], True)
    shared = slack_double.messages("C2")[-1]
    assert (shared["text"], shared["files"][0]["id"]) == ("Weekly", file_id)
    methods = [c.method for c in slack_double.all_calls]
    assert methods == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_complete_upload_rejects_files_never_uploaded(slack_double, client) -> None:
    ticket = client.files_getUploadURLExternal(filename="x.csv", length=3)

    with pytest.raises(SlackApiError) as err:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="C1")

    assert err.value.response["error"] == "file_not_found"


def test_upload_url_fault_stops_files_upload_v2_before_completion(slack_double, client) -> None:
    slack_double.fail_next("upload_url", status=500)

    with pytest.raises(urllib.error.HTTPError):  # slack_sdk lets urllib's error escape here
        client.files_upload_v2(content=b"abc", filename="a.csv", channel="C1")

    assert slack_double.calls("files.completeUploadExternal") == []
    assert [u.data for u in slack_double.uploads.values()] == [None]


def test_fail_next_rejects_a_fault_that_cannot_fail(slack_double) -> None:
    with pytest.raises(ValueError):
        slack_double.fail_next("chat.postMessage", status=200)


def test_slack_env_points_a_client_at_the_double(slack_double, slack_env) -> None:
    client = WebClient(token=slack_env["SLACK_BOT_TOKEN"], base_url=slack_env["SLACK_API_URL"])

    assert client.auth_test()["team_id"] == slack_double.team_id
    assert slack_env["SLACK_SIGNING_SECRET"] == TEST_SIGNING_SECRET


def test_response_url_records_json_posts(slack_double) -> None:
    url = slack_double.response_url("cmd-1")

    sent = WebhookClient(url).send(text="working on it", response_type="ephemeral")

    assert sent.status_code == 200
    assert slack_double.responses("cmd-1") == [
        {"text": "working on it", "response_type": "ephemeral"}
    ]


def test_unknown_method(client) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.teleport")

    assert err.value.response["error"] == "unknown_method"


def test_concurrent_posts_get_unique_increasing_ts(slack_double) -> None:
    client = client_for(slack_double)
    threads = [
        threading.Thread(target=client.chat_postMessage, kwargs={"channel": "C1", "text": str(i)})
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    tss = [m["ts"] for m in slack_double.messages("C1")]
    assert len(tss) == len(set(tss)) == 20
    assert tss == sorted(tss)


def test_all_messages_lists_channels_dms_thread_replies_and_hung_posts(slack_double, client):
    parent = client.chat_postMessage(channel="C1", text="digest", metadata=METADATA)["ts"]
    client.chat_postMessage(channel="C1", text="overflow", thread_ts=parent)
    client.chat_postMessage(channel="U2", text="your accounts")
    slack_double.fail_next("chat.postMessage", hang=True)
    with pytest.raises((OSError, http.client.HTTPException)):
        client.chat_postMessage(channel="C2", text="answer lost")

    found = slack_double.all_messages()

    assert [(m["channel"], m["text"]) for m in found] == [
        ("C1", "digest"),
        ("C1", "overflow"),
        ("D2", "your accounts"),
        ("C2", "answer lost"),
    ]
    assert found[1]["thread_ts"] == parent and found[0]["metadata"] == METADATA


def test_restart_refuses_connections_while_down_then_serves_the_same_state(slack_double, client):
    client.chat_postMessage(channel="C1", text="before the outage")
    url = slack_double.url
    slack_double.stop()

    with pytest.raises(urllib.error.URLError):
        client.chat_postMessage(channel="C1", text="refused")
    slack_double.start(port=int(url.rsplit(":", 1)[1]))
    client.chat_postMessage(channel="C1", text="after the outage")
    slack_double.restart(down_seconds=0.1)

    assert slack_double.url == url
    assert [m["text"] for m in slack_double.messages("C1")] == [
        "before the outage",
        "after the outage",
    ]
    assert client.auth_test()["ok"] is True
    assert len(slack_double.calls("chat.postMessage")) == 2  # the refused one never arrived


def test_reset_keeps_directory_but_forgets_traffic(slack_double, client) -> None:
    client.chat_postMessage(channel="C1", text="x")
    slack_double.fail_next("auth.test", error="invalid_auth")

    slack_double.reset()

    assert slack_double.messages("C1") == [] and slack_double.all_calls == []
    assert slack_double.pending_faults() == {}
    assert client.users_info(user="U1")["ok"] is True


def test_sign_matches_slack_sdk_verifier() -> None:
    body = slash_command_body(text="acme")
    headers = sign(body, TEST_SIGNING_SECRET)
    verifier = SignatureVerifier(TEST_SIGNING_SECRET)
    stale = sign(body, TEST_SIGNING_SECRET, timestamp=int(time.time()) - 600)

    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + "&x=1", headers)
    assert not verifier.is_valid_request(body, sign(body, "other-secret"))
    assert not verifier.is_valid_request(body, stale)


def test_signed_requests_drive_a_real_bolt_app(slack_double) -> None:
    app = App(
        client=client_for(slack_double),
        signing_secret=TEST_SIGNING_SECRET,
        process_before_response=True,
    )

    @app.command("/health")
    def health(ack, say, respond, command) -> None:
        ack()
        say(f"score for {command['text']}")
        respond("done")

    @app.action("refresh")
    def refresh(ack, respond) -> None:
        ack()
        respond("refreshed")

    command = slash_command_body(text="acme", response_url=slack_double.response_url("cmd"))
    action = interaction_body(
        {
            "type": "block_actions",
            "team": {"id": "T0TEAM0001"},
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "actions": [{"action_id": "refresh", "block_id": "b", "type": "button"}],
            "response_url": slack_double.response_url("action"),
            "trigger_id": "1.2.3",
        }
    )

    ok = app.dispatch(BoltRequest(body=command, headers=sign(command, TEST_SIGNING_SECRET)))
    forged = app.dispatch(BoltRequest(body=command, headers=sign(command, "wrong-secret")))
    clicked = app.dispatch(BoltRequest(body=action, headers=sign(action, TEST_SIGNING_SECRET)))

    assert (ok.status, forged.status, clicked.status) == (200, 401, 200)
    assert [m["text"] for m in slack_double.messages("C1")] == ["score for acme"]
    assert slack_double.responses("cmd") == [{"text": "done"}]
    assert slack_double.responses("action")[0]["text"] == "refreshed"
