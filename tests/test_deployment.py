"""The Procfile's processes started as a platform would: release, then the worker (and web),
against a fresh database and the local Slack double; one weekly cycle; a clean stop."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.cli.demo import demo_model_path
from scoring.sample import generate_portfolio, write_exports
from tests.polling import wait_for
from tests.slack_signing import sign, slash_command_body

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def command(process: str) -> list[str]:
    argv = shlex.split(procfile()[process])
    return [str(BIN / argv[0]), *argv[1:]]


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    end = date.today() - timedelta(days=1)
    write_exports(generate_portfolio(seed=5, accounts=40, end=end), tmp_path)
    (tmp_path / "healthbot.yml").write_text(demo_model_path().read_text())
    return tmp_path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def test_release_then_web_and_worker_run_a_weekly_cycle_and_stop_cleanly(app_dir, slack_double):
    for email in [
        f"{n}@example.com"
        for n in (
            "maria.lopez",
            "james.chen",
            "aisha.khan",
            "tom.becker",
            "priya.patel",
            "lucas.silva",
            "emma.johansson",
            "kenji.tanaka",
            "sofia.rossi",
        )
    ]:
        slack_double.add_user(email)
    for name in ("cs-health", "healthbot-admin"):
        slack_double.add_channel(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HEALTHBOT_"))}
    env |= {
        "DATABASE_URL": f"sqlite:///{app_dir / 'healthbot.db'}",
        "SLACK_BOT_TOKEN": slack_double.token,
        "SLACK_API_URL": slack_double.url + "/api/",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "PORT": str(free_port()),
    }
    release = subprocess.run(
        command("release"), cwd=app_dir, env=env, capture_output=True, text=True, timeout=120
    )
    assert release.returncode == 0, release.stderr
    assert "-> 0" in release.stdout  # migrated from empty to the head revision
    worker = subprocess.Popen(
        command("worker"),
        cwd=app_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    web = subprocess.Popen(
        [*command("web"), "--host", "127.0.0.1"],
        cwd=app_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:

        def weekly_done() -> list[dict]:
            out = subprocess.run(
                [str(BIN / "healthbot"), "runs", "--json"],
                cwd=app_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            runs = json.loads(out.stdout or "[]")
            return [r for r in runs if r["kind"] == "weekly" and r["status"] != "running"]

        runs = wait_for(weekly_done, 180, "the worker's catch-up weekly run", every=0.2)
        assert runs[0]["status"] == "succeeded", runs[0]
        assert slack_double.calls("chat.postMessage"), "the run posted to Slack"
        assert slack_double.messages("cs-health"), "the digest reached its channel"
        deadline = time.monotonic() + 60
        while get(base + "/healthz") != 200 and web.poll() is None:
            if time.monotonic() > deadline:
                web.terminate()
                break
            time.sleep(0.2)
        assert get(base + "/healthz") == 200, web.communicate(timeout=30)[0][-3000:]
        body = slash_command_body(text="acme", response_url=slack_double.response_url("deploy"))
        request = urllib.request.Request(
            base + "/slack/events",
            body.encode(),
            sign(body, "test-signing-secret")
            | {"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
        reply = wait_for(
            lambda: slack_double.responses("deploy"), 30, "the /health reply", every=0.2
        )
        assert "text" in reply[0]
    finally:
        outputs = {}
        for name, process in (("worker", worker), ("web", web)):
            process.send_signal(signal.SIGTERM)
            outputs[name] = (process.communicate(timeout=60)[0], process.returncode)
    for name, (output, code) in outputs.items():
        assert code == 0, f"{name}: {output}"
        assert "Traceback" not in output, f"{name}: {output}"
