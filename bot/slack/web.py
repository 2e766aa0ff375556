"""The web process: Slack's requests at POST /slack/events, the platform's GET /healthz.

bolt's own `http.server` is for development only; this is bolt's Flask adapter, served by
gunicorn (`healthbot serve`) or, in tests, by werkzeug on a loopback port. Socket Mode has no
web app of its own, so `healthbot socket` serves the same `/healthz` alone (`serve_health`).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask, Response, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from scoring.store.db import first_line

if TYPE_CHECKING:  # the web process never loads Socket Mode's client
    from bot.slack.socket_link import SocketLink
    from bot.slack.token_check import TokenCheck

log = logging.getLogger("healthbot.web")
MAX_BODY = 1 << 20  # Slack's largest payloads (view submissions) are far below a megabyte
SLACK_PROBLEMS = {
    "checking": "slack not checked yet",
    "unreachable": "slack unreachable",
    "rejected": "slack refused the bot token",
}


def create_web_app(bolt_app: App, engine: Engine, slack: TokenCheck | None = None) -> Flask:
    """Slack's events and /healthz; give `slack` (the app's TokenCheck) for /healthz to report."""
    web = create_health_app(engine, slack)
    web.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    handler = SlackRequestHandler(bolt_app)

    @web.post("/slack/events")
    def slack_events() -> Response:
        return handler.handle(request)

    return web


def create_health_app(
    engine: Engine, slack: TokenCheck | None = None, socket: SocketLink | None = None
) -> Flask:
    """A Flask app answering GET /healthz (see `health`)."""
    web = Flask("healthbot")

    @web.get("/healthz")
    def healthz() -> tuple[dict[str, Any], int]:
        return health(engine, slack, socket)

    return web


def health(
    engine: Engine, slack: TokenCheck | None = None, socket: SocketLink | None = None
) -> tuple[dict[str, Any], int]:
    """200 when the database answers `select 1` and, when given, Slack has accepted the token
    and the Socket Mode session is up; else 503 with the first problem in `status` and each
    part's state (and last error, never a token) beside it. Until the token is verified, a
    probe also asks Slack once more (at most once a second, `TokenCheck.check_now`), so each
    worker notices Slack coming back without waiting out its backoff; after that it reads the
    state only. The Socket Mode session is kept by the SocketLink and slack_sdk in the
    background."""
    problems = []
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        log.warning("health check failed: %s", first_line(exc, engine.url))
        problems.append("database unreachable")
    body: dict[str, Any] = {}
    if slack is not None:
        state = slack.check_now()
        body["slack"] = state.as_dict()
        if not state.verified:
            problems.append(SLACK_PROBLEMS[state.state])
    if socket is not None:
        link = socket.status
        body["socket"] = link.as_dict()
        if not link.connected:
            problems.append("socket mode not connected")
    return {"status": problems[0] if problems else "ok"} | body, 503 if problems else 200


def serve_health(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """`app` on host:port from a daemon thread (Socket Mode's /healthz); `.shutdown()` ends it.
    werkzeug's threaded server is plenty for a platform's health probe."""
    server = make_server(host, port, app, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per probe
    threading.Thread(target=server.serve_forever, name="healthz", daemon=True).start()
    return server
