"""What keeps the app safe: signatures, replays, the access list, tokens, health checks.

A refused request must get 401 and do nothing at all: no reply, no Web API call, no row.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.slack.access import AccessControl
from bot.slack.app import create_app
from bot.slack.token_check import TokenCheck
from bot.slack.web import create_web_app
from scoring.config import Model, parse_model
from scoring.config.sections import Access
from scoring.errors import ConfigError, HealthbotError
from scoring.store import make_engine
from scoring.store.clicks import load_actions
from tests.databases import BACKENDS
from tests.polling import wait_for
from tests.slack_double import TEST_TOKEN, SlackDouble
from tests.slack_signing import TEST_SIGNING_SECRET, sign, slash_command_body
from tests.test_slack_app_support import (
    DEMO_MODEL,
    RunningApp,
    block_action,
    demo_database,
    running_app,
    slack_env,
)


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[tuple[Engine, Model]]:
    with demo_database(request.param, tmp_path_factory.mktemp("db")) as (engine, model, _):
        yield engine, model


@pytest.fixture
def app(demo: tuple[Engine, Model], slack_double: SlackDouble) -> Iterator[RunningApp]:
    with running_app(*demo, slack_double) as running:
        yield running


def add_membership(double: SlackDouble) -> None:
    """#cs-alerts (C2) holds U3, the user group @cs-team (S5) holds U2, #general holds all three;
    the seeded user group @all (S1) holds U1 and U2."""
    double.add_user("carol@example.com", "U3", "carol")
    double.add_usergroup("S5", ["U2"], handle="cs-team")
    double.set_channel_members("C2", ["U3"])
    double.set_channel_members("C1", ["U1", "U2", "U3"])


def command(text: str, url: str, user: str = "U1") -> str:
    return slash_command_body(text=text, user_id=user, response_url=url)


def test_unsigned_forged_and_stale_requests_get_401_and_do_nothing(app: RunningApp) -> None:
    double = app.double
    body = command("acme", double.response_url("unsigned"))
    assert app.client.post(body, headers={})[0] == 401
    body = command("acme", double.response_url("forged"))
    assert app.client.post(body, sign(body, "someone-elses-secret"))[0] == 401
    body = command("acme", double.response_url("stale"))
    stale = sign(body, TEST_SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60)
    assert app.client.post(body, stale)[0] == 401
    tampered = command("acme", double.response_url("tampered"))
    headers = sign(tampered, TEST_SIGNING_SECRET)
    assert app.client.post(tampered.replace("acme", "acmf"), headers)[0] == 401
    assert app.command("acme", "valid")["blocks"][0]["type"] == "header"
    for name in ("unsigned", "forged", "stale", "tampered"):
        assert double.responses(name) == []
    assert not double.calls("users.info")


def test_a_replayed_request_is_refused(app: RunningApp) -> None:
    body = command("mine", app.double.response_url("replayed"))
    headers = sign(body, TEST_SIGNING_SECRET)
    assert app.client.post(body, headers)[0] == 200
    assert app.client.post(body, headers)[0] == 401
    wait_for(lambda: app.double.responses("replayed"), what="the first answer")
    assert app.command("help", "after")["blocks"]
    assert len(app.double.responses("replayed")) == 1


def test_the_access_list_admits_groups_and_channel_members_only(
    demo: tuple[Engine, Model], slack_double: SlackDouble
) -> None:
    add_membership(slack_double)
    engine, model = demo
    limited = model.model_copy(update={"access": Access(allow=["@cs-team", "#cs-alerts"])})
    with running_app(engine, limited, slack_double) as app:
        body = command("acme", slack_double.response_url("alice"))
        status, reply, _ = app.client.post(body)  # cold: acknowledged, refused after look-up
        assert (status, reply) == (200, b"")
        late = wait_for(lambda: slack_double.responses("alice"), what="the late refusal")
        assert late[0]["response_type"] == "ephemeral"
        assert late[0]["text"].startswith("Sorry, healthbot is limited")
        body = command("acme", slack_double.response_url("alice-warm"))
        status, reply, _ = app.client.post(body)  # warm: refused inside the ack
        refused = json.loads(reply)
        assert status == 200 and refused["response_type"] == "ephemeral"
        assert refused["text"].startswith("Sorry, healthbot is limited")
        assert app.command("acme", "bob", user_id="U2")["blocks"][0]["type"] == "header"
        assert app.command("acme", "carol", user_id="U3")["blocks"][0]["type"] == "header"
        before = len(load_actions(engine))
        click = block_action(
            {"action_id": "alert_ack", "value": "acc-0001"},
            response_url=slack_double.response_url("alice-click"),
        )
        assert app.client.interact(click)[0] == 200
        notice = wait_for(lambda: slack_double.responses("alice-click"), what="the refusal")
        assert notice[0]["text"].startswith("Sorry, healthbot is limited")
        assert len(slack_double.responses("alice")) == 1  # the refusal, never an answer
        assert slack_double.responses("alice-warm") == [] and len(load_actions(engine)) == before
        lookups = len(slack_double.calls("usergroups.users.list"))
        assert app.command("help", "bob-again", user_id="U2")["blocks"]
        assert len(slack_double.calls("usergroups.users.list")) == lookups  # cached


def test_admins_and_unresolvable_entries(slack_double: SlackDouble, caplog) -> None:
    add_membership(slack_double)
    client = WebClient(token=TEST_TOKEN, base_url=slack_double.url + "/api/")
    access = AccessControl(Access(allow=["@nobody-here", "U9"], admins=["@S1"]), client)
    assert access.is_admin("U1") and access.is_admin("U2") and not access.is_admin("U3")
    assert access.allowed("U1") and access.allowed("U9") and not access.allowed("U3")
    assert "'@nobody-here' not resolved" in caplog.text
    open_to_all = AccessControl(Access(), client)
    assert open_to_all.allowed("U3") and not open_to_all.is_admin("U3")


def test_an_admin_named_by_email(slack_double: SlackDouble, caplog) -> None:
    add_membership(slack_double)
    client = WebClient(token=TEST_TOKEN, base_url=slack_double.url + "/api/")
    access = AccessControl(Access(admins=["carol@example.com", "nobody@example.com"]), client)
    assert access.is_admin("U3") and not access.is_admin("U1")
    assert "'nobody@example.com' not resolved (users_not_found)" in caplog.text


@pytest.mark.parametrize("entry", ["jane", "@", "#", "cs team", "S0LEADS01", "u123"])
def test_access_entries_are_checked_when_the_model_loads(entry: str) -> None:
    text = DEMO_MODEL.read_text() + f"\naccess:\n  admins: ['@cs-leads', {entry!r}]\n"
    with pytest.raises(ConfigError) as caught:
        parse_model(text, "healthbot.yml", {})
    message = str(caught.value)
    assert "access.admins" in message and f"entry 2 ({entry!r})" in message
    fine = ["@cs-leads", "@S0LEADS01", "#cs-leads", "C0LEADS01", "U3", "carol@example.com"]
    ok = parse_model(DEMO_MODEL.read_text() + f"\naccess:\n  admins: {fine}\n", "m.yml", {})
    assert ok.access.admins == fine


def test_healthz_reports_the_database(app: RunningApp, slack_double: SlackDouble) -> None:
    assert app.client.get("/healthz") == 200
    down = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        check=False,
        connect_args={"connect_timeout": 2},
    )
    bolt = create_app(down, app.model, slack_env(slack_double), warm=False)
    web = create_web_app(bolt, down).test_client()
    response = web.get("/healthz")
    assert response.status_code == 503 and response.json == {"status": "database unreachable"}


def test_tokens_come_from_the_environment_and_never_show(
    demo: tuple[Engine, Model], slack_double: SlackDouble, caplog
) -> None:
    engine, model = demo
    env = slack_env(slack_double)
    with pytest.raises(HealthbotError, match="SLACK_BOT_TOKEN is not set"):
        create_app(engine, model, env | {"SLACK_BOT_TOKEN": ""}, warm=False)
    with pytest.raises(HealthbotError, match="SLACK_SIGNING_SECRET is not set"):
        create_app(engine, model, env | {"SLACK_SIGNING_SECRET": ""}, warm=False)
    wrong = "xoxb-wrong-token-1234567890"
    check = TokenCheck.from_env(env | {"SLACK_BOT_TOKEN": wrong})
    create_app(engine, model, env | {"SLACK_BOT_TOKEN": wrong}, warm=False, slack=check)
    refused = check.check()  # the app is built without asking Slack; its check finds out
    assert refused.state == "rejected" and refused.error == "invalid_auth"
    assert wrong not in repr(check) and wrong not in str(refused.as_dict())
    caplog.set_level(logging.DEBUG)
    with running_app(engine, model, slack_double) as app:
        card = app.command("acme", "card")
        share = next(e for b in card["blocks"] for e in b.get("elements", []) if e.get("value"))
        slack_double.fail_next("chat.postMessage", error="invalid_auth")
        click = block_action(
            share | {"action_id": "card_share"}, response_url=slack_double.response_url("failed")
        )
        assert app.client.interact(click)[0] == 200
        failed = wait_for(lambda: slack_double.responses("failed"), what="the error notice")
        assert "Something went wrong" in failed[0]["text"]
        slack_double.fail_next("users.info", status=500)
        assert "I cannot read the email" in app.command("mine", "no-email", user_id="U2")["text"]
    assert "share_card failed (reference" in caplog.text
    assert TEST_TOKEN not in caplog.text and wrong not in caplog.text
    assert TEST_SIGNING_SECRET not in caplog.text


def test_a_failed_membership_lookup_keeps_the_members_last_seen(
    slack_double: SlackDouble, caplog
) -> None:
    add_membership(slack_double)
    client = WebClient(token=TEST_TOKEN, base_url=slack_double.url + "/api/")
    access = AccessControl(Access(allow=["@S5"]), client, ttl=0)
    assert access.allowed("U2") and not access.allowed("U1")
    slack_double.fail_next("usergroups.users.list", status=500)
    assert access.allowed("U2")
    assert slack_double.pending_faults() == {} and "1 members kept" in caplog.text


def test_app_home_tells_a_user_outside_the_access_list(
    demo: tuple[Engine, Model], slack_double: SlackDouble
) -> None:
    add_membership(slack_double)
    engine, model = demo
    limited = model.model_copy(update={"access": Access(allow=["@cs-team"])})
    with running_app(engine, limited, slack_double) as app:
        assert app.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"}) == 200
        home = wait_for(lambda: slack_double.home_view("U1"), what="the home tab")
        assert home["blocks"][1]["text"]["text"].startswith("Sorry, healthbot is limited")
        assert app.client.event({"type": "app_home_opened", "user": "U2", "tab": "home"}) == 200
        bob = wait_for(lambda: slack_double.home_view("U2"), what="bob's home tab")
        assert "bob@example.com" in bob["blocks"][1]["elements"][0]["text"]


def test_socket_mode_needs_no_signing_secret_and_starts_the_scheduler_hook(
    demo: tuple[Engine, Model], slack_double: SlackDouble, monkeypatch
) -> None:
    import sys
    import types
    from pathlib import Path
    from types import SimpleNamespace

    from bot.cli import main, serve

    engine, model = demo
    env = slack_env(slack_double) | {"SLACK_SIGNING_SECRET": ""}
    app = create_app(engine, model, env, socket_mode=True, warm=False)
    assert not any(type(m).__name__ == "RequestVerification" for m in app._middleware_list)
    import inspect

    from bot.jobs.scheduler import start_background  # the real hook takes what serve passes it

    inspect.signature(start_background).bind(engine=1, model=2, model_dir=3, transport=4)
    calls: list[dict] = []
    fake = types.ModuleType("bot.jobs.scheduler")
    fake.start_background = lambda **kw: calls.append(kw) or "running"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.jobs.scheduler", fake)
    ctx = SimpleNamespace(environ={}, config_path=Path("/srv/healthbot.yml"))
    chosen = object()  # run_socket chooses the transport (Slack, or --terminal) up front
    assert serve.start_background_scheduler(ctx, engine, model, chosen) == "running"  # type: ignore[arg-type]
    assert calls[0]["engine"] is engine and calls[0]["model_dir"] == Path("/srv")
    assert calls[0]["transport"] is chosen
    monkeypatch.setitem(sys.modules, "bot.jobs.scheduler", None)  # not installed: import fails
    assert serve.start_background_scheduler(ctx, engine, model, chosen) is None  # type: ignore[arg-type]
    for name in ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["socket"]) == 1  # no app token
    assert main(["serve"]) == 2  # no bot token: refused as every command that needs Slack is
