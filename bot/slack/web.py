"""The web process: Slack's requests at POST /slack/events, the platform's GET /healthz.

bolt's own `http.server` is for development only; this is bolt's Flask adapter, served by
gunicorn (`healthbot serve`) or, in tests, by werkzeug on a loopback port.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, Response, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy.engine import Engine

from scoring.store.db import first_line

log = logging.getLogger("healthbot.web")
MAX_BODY = 1 << 20  # Slack's largest payloads (view submissions) are far below a megabyte


def create_web_app(bolt_app: App, engine: Engine) -> Flask:
    web = Flask("healthbot")
    web.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    handler = SlackRequestHandler(bolt_app)

    @web.post("/slack/events")
    def slack_events() -> Response:
        return handler.handle(request)

    @web.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        """200 when the database answers `select 1`, else 503 (the platform restarts us)."""
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        except Exception as exc:
            log.warning("health check failed: %s", first_line(exc, engine.url))
            return {"status": "database unreachable"}, 503
        return {"status": "ok"}, 200

    return web
