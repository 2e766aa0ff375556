"""`healthbot serve` (HTTP, for the Procfile's `web:`) and `healthbot socket` (Socket Mode).

`serve` runs the Flask adapter under gunicorn, started from Python (a `BaseApplication`) so that
the Procfile line stays `web: healthbot serve`: 2 worker processes with threads on `$PORT`
(default 3000). Each worker opens its own database engine and loads the portfolio after the fork
(engines and threads do not survive a fork). `socket` needs no public URL: it connects out with
`$SLACK_APP_TOKEN` and, when the scheduler is installed, runs the weekly job in the same process.

Both start while Slack's API is down: nothing calls Slack before the process is up. Each
process verifies the bot token in the background (`bot/slack/token_check.py`) and answers
`/healthz` with 503 until Slack has accepted it; `socket` also keeps connecting
(`bot/slack/socket_link.py`) and serves `/healthz` on $PORT or --port when given.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.cli.context import Context, add_transport_option
from scoring.errors import HealthbotError

log = logging.getLogger("healthbot.serve")
DEFAULT_PORT = 3000
WORKERS = 2
THREADS = 4
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="run the Slack app over HTTP (POST /slack/events, GET /healthz)",
        description="Serve Slack's requests on $PORT (default 3000) under gunicorn. Needs"
        " $SLACK_BOT_TOKEN and $SLACK_SIGNING_SECRET; $SLACK_API_URL points it at a Slack double.",
        epilog="examples:\n  PORT=8080 healthbot serve\n  healthbot serve --workers 4",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--port", type=int, help="port (default: $PORT, else 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    serve.add_argument("--workers", type=int, default=WORKERS, help=f"processes ({WORKERS})")
    serve.add_argument("--threads", type=int, default=THREADS, help=f"per process ({THREADS})")
    serve.set_defaults(func=run_serve)
    socket = sub.add_parser(
        "socket",
        parents=[common],
        help="run the Slack app in Socket Mode (no public URL), with the scheduler",
        description="Connect to Slack with $SLACK_APP_TOKEN (xapp-...) and $SLACK_BOT_TOKEN;"
        " the weekly schedule runs in the same process when the scheduler is available."
        " GET /healthz is served on --port or $PORT when either is given.",
        epilog="examples:\n  healthbot socket\n  PORT=8080 healthbot socket   # with /healthz"
        "\n  healthbot socket --terminal   # answers Slack; weekly messages to the terminal",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    socket.add_argument("--port", type=int, help="serve GET /healthz here (default: $PORT)")
    socket.add_argument("--host", default="0.0.0.0", help="address for /healthz (0.0.0.0)")
    add_transport_option(  # run_socket checks the tokens first, then the transport
        socket,
        check_first=False,
        help="the scheduled weekly messages go to the terminal and ./outbox/ instead of Slack"
        " (also HEALTHBOT_TRANSPORT=terminal); the app itself still needs $SLACK_BOT_TOKEN",
    )
    socket.set_defaults(func=run_socket)


def wsgi_factory(database_url: str, config_path: str, environ: Mapping[str, str]) -> Callable:
    """What each gunicorn worker calls after the fork to build its own app."""

    def build() -> Any:
        from bot.slack.app import create_app
        from bot.slack.token_check import TokenCheck
        from bot.slack.web import create_web_app
        from scoring.config import load_model
        from scoring.store import make_engine

        engine = make_engine(database_url)
        model = load_model(config_path, dict(environ))
        slack = TokenCheck.from_env(environ)
        web = create_web_app(create_app(engine, model, environ, slack=slack), engine, slack)
        slack.start()  # in the worker, after the fork: threads do not survive one
        return web

    return build


def gunicorn_application(build: Callable[[], Any], options: dict[str, Any]) -> Any:
    from gunicorn.app.base import BaseApplication

    class HealthbotServer(BaseApplication):
        """gunicorn with our options and our app, no command line of its own."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return build()

    return HealthbotServer()


def run_serve(ctx: Context) -> int:
    from bot.delivery.transports import missing_token

    env = ctx.environ
    if not env.get("SLACK_BOT_TOKEN", "").strip():
        raise missing_token("serve", terminal_helps=False)
    if not env.get("SLACK_SIGNING_SECRET", "").strip():
        raise HealthbotError("$SLACK_SIGNING_SECRET is not set: `healthbot serve` answers Slack")
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)  # the workers inherit it
    model_path = str(ctx.config_path)
    ctx.model  # noqa: B018  (a broken model file fails here, once, not in every worker)
    ctx.engine.dispose()  # migrates the schema before the workers start, then lets go
    port = ctx.args.port or int(env.get("PORT") or DEFAULT_PORT)
    options = {
        "bind": f"{ctx.args.host}:{port}",
        "workers": ctx.args.workers,
        "threads": ctx.args.threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "healthbot",
    }
    print(f"healthbot: serving Slack on port {port} (/slack/events, /healthz)", file=sys.stderr)
    gunicorn_application(wsgi_factory(ctx.database_url, model_path, env), options).run()
    return 0


def start_background_scheduler(ctx: Context, engine: Any, model: Any, transport: Any) -> Any:
    """The weekly schedule inside the Socket Mode process, when bot.jobs.scheduler exists."""
    try:
        from bot.jobs.scheduler import start_background
    except ImportError:
        log.info("no scheduler in this installation: Socket Mode serves Slack only")
        return None
    return start_background(
        engine=engine, model=model, model_dir=ctx.config_path.parent, transport=transport
    )


def run_socket(ctx: Context) -> int:
    """Socket Mode until SIGTERM: the tokens and the transport are checked before any work;
    then /healthz, the token check and the connection start in the background, so a Slack
    outage neither stops the process nor hides it from the platform."""
    from bot.delivery.transports import missing_token
    from bot.slack.app import create_app
    from bot.slack.socket_link import SocketLink
    from bot.slack.token_check import TokenCheck
    from bot.slack.web import create_health_app, serve_health

    env = ctx.environ
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if not app_token:
        raise HealthbotError("$SLACK_APP_TOKEN is not set (an app-level token, xapp-...)")
    if not env.get("SLACK_BOT_TOKEN", "").strip():
        raise missing_token("socket", terminal_helps=False)
    transport = ctx.transport(Path("outbox"))  # before any work: HEALTHBOT_TRANSPORT must be valid
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    engine, model = ctx.engine, ctx.model
    slack = TokenCheck.from_env(env)
    app = create_app(engine, model, env, socket_mode=True, slack=slack)
    link = SocketLink.for_app(app, app_token, env)
    port = ctx.args.port or int(env.get("PORT") or 0)
    health = create_health_app(engine, slack, link)
    server = serve_health(health, ctx.args.host, port) if port else None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    slack.start()
    link.start()
    where = f"; /healthz on port {port}" if port else ""
    print(f"healthbot: Socket Mode starting{where}", file=sys.stderr)
    scheduler = start_background_scheduler(ctx, engine, model, transport)
    stop.wait()
    print("healthbot: stopping Socket Mode", file=sys.stderr)
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    link.close()
    slack.stop()
    if server is not None:
        server.shutdown()
    return 0
