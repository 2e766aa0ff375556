"""The app at size and in production shape: the 3-second acknowledgement on 100,000 accounts,
and `healthbot serve` under gunicorn answering a signed /health."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scoring.config import Model, parse_model
from tests.databases import BACKENDS
from tests.polling import wait_for
from tests.slack_double import SlackDouble
from tests.slack_signing import slash_command_body
from tests.test_slack_app_support import (
    DEMO_MODEL,
    Client,
    build_big_portfolio,
    build_demo_portfolio,
    database,
    demo_model,
    running_app,
    slack_env,
)

SCALE_MODEL = """\
metrics:
  usage:
    signal: active_users
    aggregate: mean
    window_days: 30
    scale: {worst: 10, best: 70}
    weight: 2
  adoption:
    signal: features_used
    aggregate: last
    window_days: 30
    scale: {worst: 0, best: 12}
    weight: 1
playbooks:
  - name: Rescue call
    when: {band: critical}
    steps: ["Call the champion this week"]
"""
ACK_LIMIT = 3.0


def scale_model(tmp_path: Path) -> Model:
    return parse_model(SCALE_MODEL, str(tmp_path / "healthbot.yml"), {})


@pytest.mark.slow
@pytest.mark.parametrize("kind", BACKENDS)
def test_the_ack_beats_three_seconds_on_100k_accounts(
    kind: str, tmp_path: Path, slack_double: SlackDouble
) -> None:
    model = scale_model(tmp_path)
    with database(kind, tmp_path) as (_, engine):
        accounts = build_big_portfolio(engine, model, accounts=100_000, weeks=2)
        with running_app(engine, model, slack_double) as app:
            # Sent at once, while the process is still loading 100,000 accounts.
            name = str(accounts.loc[54_321, "name"])
            url = slack_double.response_url("cold")
            status, _, seconds = app.client.post(slash_command_body(text=name, response_url=url))
            assert status == 200 and seconds < ACK_LIMIT, seconds
            cold = wait_for(lambda: slack_double.responses("cold"), 120, "the first answer")
            assert cold[0]["blocks"][0]["text"]["text"].endswith(name)
            queries = ["a000777", " ".join(name.split()[:2]), "zzqx", "at-risk", "mine", "a000006"]
            for i, query in enumerate(queries):  # a000006 has too little data for a score
                started = time.perf_counter()
                reply = app.command(query, f"warm-{i}")
                assert reply["blocks"] and "went wrong" not in reply["text"], reply
                assert time.perf_counter() - started < ACK_LIMIT
            assert "no score (insufficient data)" in reply["text"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_healthbot_serve_answers_under_gunicorn(tmp_path: Path, slack_double: SlackDouble) -> None:
    with database("sqlite", tmp_path) as (url, engine):
        build_demo_portfolio(engine, demo_model())
    port = free_port()
    env = os.environ | slack_env(slack_double) | {"DATABASE_URL": url, "PORT": str(port)}
    env["HEALTHBOT_CONFIG"] = str(DEMO_MODEL)
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "serve"]
    server = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        client = Client(f"http://127.0.0.1:{port}")

        def healthy() -> bool:
            try:
                return client.get("/healthz") == 200
            except OSError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                return False

        wait_for(healthy, 60, "gunicorn to serve /healthz")
        assert client.command("acme", slack_double.response_url("acme")) == 200
        reply = wait_for(lambda: slack_double.responses("acme"), 60, "the answer")[0]
        assert reply["response_type"] == "ephemeral" and "Acme Corp" in reply["text"]
        assert client.post("token=x&text=acme", headers={})[0] == 401
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert f"serving Slack on port {port}" in output and "Booting worker" in output
    assert slack_double.token not in output
