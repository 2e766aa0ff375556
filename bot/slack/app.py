"""The bolt App: `/health`, buttons, the outreach modal and App Home, behind two guards.

Tokens come from the environment only (`SLACK_BOT_TOKEN`, `SLACK_SIGNING_SECRET`), and the Web
API base URL from `$SLACK_API_URL` when set, so the whole app runs against a local Slack double.
bolt's signature check stays on in HTTP mode (missing, wrong or stale: 401, nothing runs); on top
of it a replay guard refuses a signed request seen before by any web process (`replay`: a
table shared through the database), and the model file's `access` list limits who may use the
app. Every listener acknowledges inside the request
(`process_before_response`) and does its work in a lazy listener on a thread pool.

The App is built without bolt's `auth.test` at construction, so the process starts while Slack's
API is down; a `TokenCheck` verifies the token in the background, and until it has, the
`wait_for_slack` gate answers requests itself (see there) instead of letting bolt's
authorization fail on them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse, Respond
from slack_bolt.request.payload_utils import is_event
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.engine import Engine

from bot.delivery.slack_client import api_base_url
from bot.slack.access import AccessControl, UserDirectory
from bot.slack.listeners import actions as slack_actions
from bot.slack.listeners import commands as slack_commands
from bot.slack.listeners import csm_input, home, pages
from bot.slack.listeners.answers import notice
from bot.slack.portfolio import Portfolio
from bot.slack.replay import ReplayGuard
from bot.slack.services import Services
from bot.slack.token_check import TokenCheck
from scoring.config import Model
from scoring.errors import HealthbotError
from scoring.store.request_signatures import replay_engine

log = logging.getLogger("healthbot.slack")
CLIENT_TIMEOUT = 10  # seconds; a user is waiting on the other end
WORKER_THREADS = 4


def create_app(
    engine: Engine,
    model: Model,
    environ: Mapping[str, str] | None = None,
    *,
    socket_mode: bool = False,
    warm: bool = True,
    threads: int = WORKER_THREADS,
    slack: TokenCheck | None = None,
) -> App:
    """The configured App; raises HealthbotError (never echoing a token) when a setting is
    missing. It makes no call to Slack: `slack` (by default a TokenCheck of its own, started
    here) verifies the token in the background; pass one to share it with `/healthz`."""
    env = os.environ if environ is None else environ
    token = (env.get("SLACK_BOT_TOKEN") or "").strip()
    secret = (env.get("SLACK_SIGNING_SECRET") or "").strip()
    if not token:
        raise HealthbotError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    if not secret and not socket_mode:
        raise HealthbotError("SLACK_SIGNING_SECRET is not set (Basic Information in the app)")
    client = WebClient(
        token=token,
        base_url=api_base_url(environ=env),
        timeout=CLIENT_TIMEOUT,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    if slack is None:
        slack = TokenCheck.from_env(env).start()
    app = App(
        name="healthbot",
        client=client,
        signing_secret=secret,
        process_before_response=True,
        request_verification_enabled=not socket_mode,
        # bolt would call auth.test here and raise while Slack is unreachable; the check
        # verifies in the background, and the gate holds requests back until it has.
        token_verification_enabled=False,
        before_authorize=wait_for_slack(slack),
        listener_executor=ThreadPoolExecutor(threads, thread_name_prefix="healthbot-slack"),
        logger=logging.getLogger("healthbot.bolt"),
    )
    svc = Services(
        engine,
        model,
        Portfolio(engine, model),
        AccessControl(model.access, client),
        UserDirectory(client),
    )
    if not socket_mode:
        app.use(refuse_replays(ReplayGuard(replay_engine(engine))))
    app.use(limit_access(svc))
    slack_commands.register(app, svc)
    slack_actions.register(app, svc)
    home.register(app, svc)
    pages.register(app, svc)
    csm_input.register(app, svc)
    if warm:
        svc.portfolio.warm()
    return app


def wait_for_slack(slack: TokenCheck) -> Callable[..., Any]:
    """Runs before bolt's authorization, which would call auth.test itself on the first request
    and turn a failure into a 500 with a traceback (Slack unreachable) or a misleading "please
    reinstall this app" (token refused). Until Slack has accepted the token (one more try
    here, at most once a second), nothing runs: a command gets an ephemeral notice saying why,
    anything else a 503, so Slack tells the user the click failed (a modal stays open) and
    redelivers events later. Slack's own handshakes (url_verification, ssl_check) always pass.
    """

    def wait_for_slack(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        handshake = body.get("type") == "url_verification" or body.get("ssl_check")
        if slack.verified or handshake or slack.check_now().verified:
            next()
            return None
        status = slack.status
        what = body.get("command") or body.get("type") or "a request"
        log.warning(
            "answered %s without running it: Slack %s (%s)", what, status.state, status.error
        )
        if not body.get("command"):
            return BoltResponse(status=503, body="")
        held = notice("slack_rejected" if status.state == "rejected" else "slack_unreachable")
        message = {"response_type": "ephemeral", "text": held.text, "blocks": held.blocks}
        headers = {"content-type": "application/json;charset=utf-8"}
        return BoltResponse(status=200, body=json.dumps(message), headers=headers)

    return wait_for_slack


def refuse_replays(guard: ReplayGuard) -> Callable[..., Any]:
    """Runs after bolt's signature check: a request whose signature was accepted before (by
    this or any other web process) gets 401 and nothing runs, as a forged one does."""

    def refuse_replays(request: BoltRequest, next: Callable[[], None]) -> BoltResponse | None:
        stamp = request.headers.get("x-slack-request-timestamp", [""])[0]
        signature = request.headers.get("x-slack-signature", [""])[0]
        if request.mode == "http" and not guard.first_time(stamp, signature):
            log.warning(
                "refused a replayed request (signature seen before) in process %d", os.getpid()
            )
            return BoltResponse(status=401, body="")
        next()
        return None

    return refuse_replays


def limit_access(svc: Services) -> Callable[..., Any]:
    """Commands and clicks from users outside `access.allow` get a short notice and nothing
    else; App Home events pass (the tab itself says so). This runs before the acknowledgement,
    so it never waits on a membership look-up: a user it cannot place yet (the look-ups run in
    the background, then are cached) passes with `access_pending`, and the work after the ack
    waits for the answer (`listeners.gate`)."""

    def limit_access(body: dict[str, Any], context: Any, next: Callable[[], None]) -> Any:
        allowed = True if is_event(body) else svc.access.allowed(context.user_id, wait=0)
        if allowed is None:
            context["access_pending"] = True
        if allowed is not False:
            next()
            return None
        log.info("refused %s from %s (not on the access list)", body.get("type"), context.user_id)
        refused = notice("not_allowed")
        message = {"response_type": "ephemeral", "text": refused.text, "blocks": refused.blocks}
        if body.get("command"):
            headers = {"content-type": "application/json;charset=utf-8"}
            return BoltResponse(status=200, body=json.dumps(message), headers=headers)
        if body.get("response_url"):
            Respond(response_url=body["response_url"])(**message, replace_original=False)
        return BoltResponse(status=200, body="")

    return limit_access
