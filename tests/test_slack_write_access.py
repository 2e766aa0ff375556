"""access.writes through the real HTTP app: every write (note, override, ack, snooze, outreach)
is allowed to the account's owner and to admins and refused to anyone else, with an ephemeral
message saying who may and why not, and nothing recorded; the ack never waits on Slack."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.messages.render import render_view
from bot.slack.cards import today_in
from bot.slack.ttl_cache import MISSING, TtlCache
from scoring.config import Model, parse_model
from scoring.config.sections import Access, Writes
from scoring.errors import ConfigError
from scoring.store.clicks import load_actions
from scoring.store.csm_inputs import load_csm_inputs
from tests.databases import BACKENDS
from tests.polling import wait_for
from tests.slack_double import TEST_TOKEN, SlackDouble
from tests.test_csm_slack import submit
from tests.test_slack_app_support import (
    DEMO_MODEL,
    RunningApp,
    block_action,
    demo_database,
    running_app,
    texts_of,
)

Demo = tuple[Engine, Model, pd.DataFrame]
OWNER, ADMIN, OTHER = "U1", "U3", "U4"  # alice owns the account; carol is in @cs-leads; dave not
ACTIONS = ("note", "override", "ack", "snooze", "outreach")


@pytest.fixture(params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path, slack_double: SlackDouble) -> Iterator[Demo]:
    slack_double.add_user("carol@example.com", ADMIN, "carol")
    slack_double.add_user("dave@example.com", OTHER, "dave")
    slack_double.add_usergroup("S0LEADS01", [ADMIN], handle="cs-leads", name="CS leads")
    with demo_database(request.param, tmp_path) as built:
        yield built


@contextmanager
def app_with(demo: Demo, double: SlackDouble, **access: Any) -> Iterator[RunningApp]:
    engine, model, accounts = demo
    configured = model.model_copy(update={"access": Access(admins=["@cs-leads"], **access)})
    with running_app(engine, configured, double) as running:
        running.accounts = accounts  # type: ignore[attr-defined]
        yield running


def alices(app: RunningApp) -> tuple[str, str]:
    frame = app.accounts  # type: ignore[attr-defined]
    row = frame[frame["owner_email"] == "alice@example.com"].iloc[0]
    return str(row["account_id"]), str(row["name"])


def rows(engine: Engine) -> int:
    """Everything a write could record: csm_inputs (notes, overrides) and account_actions."""
    return len(load_csm_inputs(engine)) + len(load_actions(engine))


def modal_values(action: str, until: dt.date) -> dict[str, Any]:
    if action == "note":
        return {"sentiment": "4", "champion": "", "reason": "Good QBR", "until": str(until)}
    return {"score": "75", "reason": "Renewal signed", "until": str(until)}


def outreach_values() -> dict[str, Any]:
    return {
        "note": {"note": {"type": "plain_text_input", "value": "Called the VP"}},
        "outcome": {"outcome": {"type": "static_select", "selected_option": {"value": "reached"}}},
    }


def view_submission(
    view: dict[str, Any], values: dict[str, Any], user: str, view_id: str = "V1"
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": "T0TEAM0001"},
        "user": {"id": user, "name": "someone"},
        "api_app_id": "A0APP00001",
        "trigger_id": "9.8.7",
        "view": view | {"id": view_id, "state": {"values": values}},
    }


def attempt(app: RunningApp, action: str, user: str, tag: str) -> str | None:
    """Do `action` on alice's account as `user`: None when it was recorded, else the text of
    the ephemeral refusal (the modal is never opened for someone who may not submit it)."""
    account_id, name = alices(app)
    double, url = app.double, app.double.response_url(tag)
    before = rows(app.engine)
    opened = len(double.calls("views.open"))
    if action in ("note", "override"):
        assert app.client.command(f"{action} {name}", url, user) == 200
    elif action == "ack":
        click = {"action_id": "alert_ack", "value": account_id, "block_id": f"card:{account_id}"}
        assert app.client.interact(block_action(click, user=user, response_url=url))[0] == 200
    elif action == "snooze":
        click = {"action_id": "alert_snooze", "selected_option": {"value": f"1|{account_id}"}}
        assert app.client.interact(block_action(click, user=user, response_url=url))[0] == 200
    else:
        click = {"action_id": "alert_log_outreach", "value": account_id}
        assert app.client.interact(block_action(click, user=user, response_url=url))[0] == 200

    def refusals() -> list[dict[str, Any]]:  # a redrawn card replaces the original instead
        return [r for r in double.responses(tag) if not r.get("replace_original")]

    def settled() -> Any:
        if action in ("note", "override", "outreach"):
            return refusals() or len(double.calls("views.open")) > opened
        return refusals() or rows(app.engine) > before

    wait_for(settled, what=f"{action} by {user}")
    if refusals():
        reply = refusals()[0]
        assert reply["response_type"] == "ephemeral"
        assert rows(app.engine) == before and len(double.calls("views.open")) == opened
        return texts_of(reply)
    if action in ("note", "override", "outreach"):
        call = double.calls("views.open")[-1]
        view, view_id = call.params["view"], call.response["view"]["id"]
        if action == "outreach":
            payload = view_submission(view, outreach_values(), user, view_id)
            status, body = app.client.interact(payload)
        else:
            until = today_in(app.model) + dt.timedelta(days=30)
            status, body = submit(app, view, modal_values(action, until), user, view_id)
        assert status == 200  # stored at once, or (email not known yet) right after the ack
        assert body == b"" or json.loads(body)["response_action"] == "update"
    wait_for(lambda: rows(app.engine) == before + 1, what=f"{action} by {user} stored")
    return None


@pytest.mark.parametrize("action", ACTIONS)
def test_each_write_is_allowed_to_the_owner_and_admins_and_refused_to_others(
    demo: Demo, slack_double: SlackDouble, action: str
) -> None:
    with app_with(demo, slack_double) as app:
        name = alices(app)[1]
        assert attempt(app, action, OWNER, "owner") is None
        assert attempt(app, action, ADMIN, "admin") is None
        refused = attempt(app, action, OTHER, "other")
    assert refused is not None
    assert "Only the account's owner or a healthbot admin may" in refused
    assert name in refused and "Nothing was recorded" in refused
    assert "it belongs to alice@example.com, not to you (dave@example.com)" in refused
    assert "you are not a healthbot admin" in refused


def forged_submission(app: RunningApp, action: str) -> tuple[str, Callable[[], Any], str]:
    """(view id, send, field): a modal opened in the double as if for its owner, and a sender
    of dave's submission of it; `field` is the block the inline refusal goes to."""
    account_id, name = alices(app)
    if action == "outreach":
        origin = {"c": None, "t": None, "e": True, "k": False, "r": None}
        metadata = json.dumps({"a": account_id} | origin)
        view = render_view(
            "modal_outreach",
            name=name,
            private_metadata=metadata,
            outcomes=["reached"],
            note_limit=3000,
        )
    else:
        view = render_view(
            f"modal_{action}",
            name=name,
            private_metadata=json.dumps({"account_id": account_id}),
            default_until="2030-01-01",
            reason_limit=2000,
            champion=["left"],
        )
    web = WebClient(token=TEST_TOKEN, base_url=app.double.url + "/api/")
    view_id = web.views_open(trigger_id="1.2.3", view=view)["view"]["id"]
    until = today_in(app.model) + dt.timedelta(days=30)

    sent = iter(range(1, 100))

    def send() -> tuple[int, bytes]:  # each a new request, not a replay: the text differs
        n = next(sent)
        if action == "outreach":
            values = outreach_values()
            values["note"]["note"]["value"] += f" ({n})"
            return app.client.interact(view_submission(view, values, OTHER, view_id))
        values = modal_values(action, until)
        values["reason"] += f" ({n})"
        return submit(app, view, values, OTHER, view_id)

    return (
        view_id,
        send,
        "score" if action == "override" else ("note" if action == "outreach" else "reason"),
    )


@pytest.mark.parametrize("action", ["note", "override", "outreach"])
def test_a_forged_submission_of_someone_elses_modal_is_refused_inside_it(
    demo: Demo, slack_double: SlackDouble, action: str
) -> None:
    """The modal is refused before it opens, but a submission can be sent without it. Cold
    (who dave is not known yet): the ack shows "checking" and the refusal replaces it; warm:
    the refusal is an inline error at once. Nothing is stored either way."""
    with app_with(demo, slack_double) as app:
        view_id, send, field = forged_submission(app, action)
        before = rows(app.engine)
        status, body = send()
        assert status == 200 and json.loads(body)["response_action"] == "update"
        assert "Checking with Slack" in json.dumps(json.loads(body)["view"])

        def refused() -> bool:
            return "Only the account's owner or a healthbot admin" in json.dumps(
                slack_double.views[view_id]["blocks"]
            )

        wait_for(refused, what="the refusal inside the modal")
        assert rows(app.engine) == before
        status, body = send()
        assert status == 200
        errors = json.loads(body)["errors"]
        assert list(errors) == [field]
        assert "Only the account's owner or a healthbot admin" in errors[field]
        assert rows(app.engine) == before


def test_writes_are_configurable_per_action(demo: Demo, slack_double: SlackDouble) -> None:
    writes = Writes(note=["anyone"], ack=["admins"], override=[])
    with app_with(demo, slack_double, writes=writes) as app:
        assert attempt(app, "note", OTHER, "dave-note") is None  # anyone may add a note
        refused = attempt(app, "ack", OWNER, "alice-ack")  # only admins acknowledge
        assert refused and "Only a healthbot admin may acknowledge alerts on" in refused
        assert attempt(app, "ack", ADMIN, "carol-ack") is None
        nobody = attempt(app, "override", ADMIN, "carol-override")
        assert nobody and "Only nobody may override the score of" in nobody


def test_an_override_runs_at_most_90_days(demo: Demo, slack_double: SlackDouble) -> None:
    with app_with(demo, slack_double) as app:
        _, name = alices(app)
        assert app.client.command(f"override {name}", app.double.response_url("o"), OWNER) == 200
        view = wait_for(lambda: app.double.calls("views.open"), what="views.open")[-1]
        view = view.params["view"]
        today = today_in(app.model)
        far = modal_values("override", today + dt.timedelta(days=91))
        status, body = submit(app, view, far, OWNER)
        latest = today + dt.timedelta(days=90)
        assert status == 200 and json.loads(body)["errors"] == {
            "until": f"An override runs at most until {latest}: pick that day or sooner."
        }
        forever = modal_values("override", dt.date(9999, 12, 31))
        assert "until" in json.loads(submit(app, view, forever, OWNER)[1])["errors"]
        assert load_csm_inputs(app.engine).empty
        assert submit(app, view, modal_values("override", latest), OWNER) == (200, b"")
        stored = load_csm_inputs(app.engine)
        assert list(stored["valid_until"]) == [latest]


def test_the_ack_never_waits_on_a_slow_slack(demo: Demo, slack_double: SlackDouble) -> None:
    """A cold start while users.info, conversations.members and usergroups.users.list take 10
    seconds each: every request is acknowledged within Slack's 3 seconds, a modal opens while
    its trigger is valid, and each answer follows once Slack has told us who the user is: the
    list through response_url, the click recorded, a stranger's note refused in the modal."""
    from tests.slack_signing import interaction_body, slash_command_body

    slack_double.set_channel_members("C2", [OWNER])
    for method in ("users.info", "conversations.members", "usergroups.users.list"):
        slack_double.method_delays[method] = 10
    with app_with(demo, slack_double, allow=["@cs-leads", "#C2"]) as app:
        account_id, name = alices(app)
        mine = slack_double.response_url("mine")
        body = slash_command_body(text="mine", user_id=OWNER, response_url=mine)
        status, reply, seconds = app.client.post(body)
        assert status == 200 and seconds < 3 and reply == b"", (seconds, reply)
        click = block_action(
            {"action_id": "alert_ack", "value": account_id},
            user=OWNER,
            response_url=slack_double.response_url("ack"),
        )
        status, _, seconds = app.client.post(interaction_body(click))
        assert status == 200 and seconds < 3, seconds
        note = slash_command_body(text=f"note {name}", user_id=OTHER, response_url="http://x/n")
        started = time.time()
        status, _, seconds = app.client.post(note)
        assert status == 200 and seconds < 3, seconds
        opened = wait_for(lambda: slack_double.calls("views.open"), what="views.open")[-1]
        assert opened.time - started < 3  # the trigger_id was still valid
        listed = wait_for(lambda: slack_double.responses("mine"), what="the list", seconds=30)
        assert name in texts_of(listed[0])  # alice is in #C2: admitted after the ack
        wait_for(lambda: rows(app.engine) == 1, what="the acknowledgement stored", seconds=40)
        view_id = next(iter(slack_double.views))

        def stranger_refused() -> bool:
            blocks = json.dumps(slack_double.views[view_id]["blocks"])
            return "Only the account's owner or a healthbot admin" in blocks

        wait_for(stranger_refused, what="dave's note modal turned into a refusal", seconds=40)
    with app_with(demo, slack_double) as app:  # no allow-list: the write check itself waits
        view_id, send, _ = forged_submission(app, "note")
        started = time.perf_counter()
        status, body = send()
        assert status == 200 and time.perf_counter() - started < 3
        assert json.loads(body)["response_action"] == "update"
    assert rows(demo[0]) == 1  # only alice's acknowledgement


def test_the_cache_loads_each_key_once_under_concurrency() -> None:
    calls: list[str] = []
    cache = TtlCache()

    def load() -> tuple[str, float]:
        calls.append("x")
        time.sleep(0.2)
        return "members", 60.0

    gate = threading.Barrier(16)
    got: list[Any] = []

    def ask() -> None:
        gate.wait()
        got.append(cache.get_or_load("@cs-team", load))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and got == ["members"] * 16


def test_an_expired_entry_answers_at_once_while_it_refreshes_in_the_background() -> None:
    now = [0.0]
    cache, release, calls = TtlCache(clock=lambda: now[0]), threading.Event(), []

    def load() -> tuple[int, float]:
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)
        return len(calls), 10.0

    assert cache.get("k", load, wait=None) == 1
    now[0] = 11  # expired
    assert [cache.get("k", load, wait=0.05) for _ in range(5)] == [1] * 5  # stale, not waiting
    assert cache.get("new", lambda: (release.wait(5), 1.0), wait=0.05) is MISSING
    release.set()
    wait_for(lambda: cache.get("k", load, wait=0) == 2, what="the refreshed value")
    assert len(calls) == 2  # five stale reads started one refresh


@pytest.mark.parametrize(
    ("snippet", "where"),
    [
        ("writes: {note: [owner, admin]}", "access.writes.note"),
        ("writes: {delete: [owner]}", "access.writes.delete"),
        ("override_max_days: 0", "access.override_max_days"),
    ],
)
def test_access_writes_are_checked_when_the_model_loads(snippet: str, where: str) -> None:
    text = DEMO_MODEL.read_text() + f"\naccess: {{{snippet}}}\n"
    with pytest.raises(ConfigError) as raised:
        parse_model(text, "m.yml", {})
    assert where in str(raised.value)
    model = parse_model(DEMO_MODEL.read_text(), "m.yml", {})
    assert model.access.writes.roles("note") == ("owner", "admins")
    assert model.access.override_max_days == 90
