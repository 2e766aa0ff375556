"""`healthbot serve` and `healthbot socket` started while Slack's API is down, as a platform
starts them: real processes (gunicorn for serve), a Slack API URL where nothing listens, then
the Slack double brought up on that very port.

Before the fix, bolt's App called auth.test while it was built: serve printed a traceback and
"Worker failed to boot" and exited, and socket died on its first connection attempt.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
import os
import signal
import socketserver
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.cli.demo import demo_model_path
from bot.slack.app import create_app
from bot.slack.token_check import TokenCheck, backoff
from bot.slack.web import create_web_app
from tests.polling import wait_for
from tests.slack_double import TEST_TOKEN, SlackDouble, _Handler, _Server
from tests.slack_signing import (
    TEST_SIGNING_SECRET,
    interaction_body,
    sign,
    slash_command_body,
)
from tests.test_deployment import BIN, free_port
from tests.test_slack_app_support import block_action, demo_model

APP_TOKEN = "xapp-1-test-app-token"
WRONG_TOKEN = "xoxb-wrong-token-0123456789"


class SlackDoubleOn(SlackDouble):
    """The double bound to a port chosen before it starts (SlackDouble binds port 0), so a
    process can be pointed at Slack's address while nothing listens there yet. It also opens
    Socket Mode connections: apps.connections.open answers with `ws_url`."""

    def __init__(self, port: int, ws_url: str = "") -> None:
        super().__init__(TEST_TOKEN)
        self.port = port
        self._methods["apps.connections.open"] = lambda params: {"url": ws_url}

    def start(self) -> SlackDoubleOn:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.double = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.daemon = True
        self._thread.start()
        return self

    def _auth_error(self, headers: dict[str, str], params: dict[str, Any]) -> str | None:
        """Slack takes the app-level token for apps.connections.open."""
        if params.get("token") == APP_TOKEN or APP_TOKEN in headers.get("authorization", ""):
            return None
        return super()._auth_error(headers, params)


class WebSocketAccept(socketserver.BaseRequestHandler):
    """Just enough of Socket Mode's WebSocket: the upgrade handshake, then frames are read and
    dropped (the client's pings) until the client goes away."""

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.request.recv(1024) or b"\r\n\r\n"
        fields = dict(
            line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line
        )
        key = fields.get("Sec-WebSocket-Key", "") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        accept = base64.b64encode(hashlib.sha1(key.encode()).digest()).decode()
        self.request.sendall(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        while self.request.recv(1024):
            pass


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A model file whose schedule fired more than 35 days ago, so `socket`'s scheduler has no
    catch-up run to do, and an empty database (serve and socket create the schema)."""
    model = demo_model_path().read_text()
    later = date.today() + timedelta(days=60)
    (tmp_path / "healthbot.yml").write_text(
        model.replace('cron: "0 8 * * 1"', f'cron: "0 8 {later.day} {later.month} *"')
    )
    return tmp_path


def environment(app_dir: Path, slack_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HEALTHBOT_"))}
    return (
        env
        | {
            "DATABASE_URL": f"sqlite:///{app_dir / 'healthbot.db'}",
            "SLACK_BOT_TOKEN": TEST_TOKEN,
            "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
            "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
            "PORT": str(free_port()),
        }
        | extra
    )


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen]]:
    """Processes a test starts; any still running when the test ends (it failed) is killed."""
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def start(started: list, argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(BIN / "healthbot"), *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(process)
    return process


def stop(process: subprocess.Popen) -> tuple[int, str]:
    """SIGTERM, as a platform stops a process; its exit code and everything it printed."""
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=60)[0]
    return process.returncode, output


def healthz(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of GET /healthz; (0, {}) while nothing answers yet."""
    url = f"http://127.0.0.1:{env['PORT']}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
    except OSError:
        return 0, {}


def ok(answer: tuple[int, dict[str, Any]]) -> dict[str, Any] | None:
    """The body of a 200 answer, else None (for wait_for)."""
    return answer[1] if answer[0] == 200 else None


def answering(process: subprocess.Popen, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    def up() -> tuple[int, dict[str, Any]] | None:
        assert process.poll() is None, process.communicate()[0][-3000:]
        answer = healthz(env)
        return answer if answer[0] else None

    return wait_for(up, 60, "the process to answer /healthz", every=0.2)


def health_command(env: dict[str, str], response_url: str) -> tuple[int, dict[str, Any] | str]:
    """A signed `/health acme` as Slack posts it: (status, decoded body or raw text)."""
    body = slash_command_body(text="acme", response_url=response_url)
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['PORT']}/slack/events",
        body.encode(),
        sign(body, TEST_SIGNING_SECRET) | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        raw = resp.read().decode()
        return resp.status, json.loads(raw) if raw.startswith("{") else raw


def assert_clean(code: int, output: str) -> None:
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "Worker failed to boot" not in output
    assert TEST_TOKEN not in output and APP_TOKEN not in output and WRONG_TOKEN not in output


def test_serve_starts_while_slack_is_down_and_verifies_once_it_answers(app_dir, started):
    slack_port = free_port()
    env = environment(app_dir, slack_port)
    web = start(started, ["serve", "--host", "127.0.0.1"], env, app_dir)

    status, body = answering(web, env)
    assert status == 503 and body["status"] == "slack unreachable", body
    assert body["slack"]["state"] == "unreachable"
    assert "Connection refused" in body["slack"]["error"]
    code, reply = health_command(env, f"http://127.0.0.1:{slack_port}/response/early")
    assert code == 200 and isinstance(reply, dict), reply  # answered by the gate, not a 500
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("healthbot cannot reach Slack's API at the moment")

    with SlackDoubleOn(slack_port).seed_defaults() as double:
        body = wait_for(lambda: ok(healthz(env)), 60, "/healthz to turn 200", every=0.2)
        assert body["status"] == "ok" and body["slack"]["state"] == "verified", body
        assert double.calls("auth.test"), "the token was verified against Slack"
        # Each gunicorn worker verifies on its own: the first 200 may come from either.
        sent = []

        def ran() -> bool:
            sent.append(f"up-{len(sent)}")
            code, ack = health_command(env, double.response_url(sent[-1]))
            return code == 200 and ack == ""  # acked at once, answered at response_url

        wait_for(ran, 30, "a /health command to run", every=0.3)
        answer = wait_for(lambda: double.responses(sent[-1]), 30, "the /health answer")[0]
        assert "There are no scores yet" in answer["text"]  # the listener ran: empty database
        assert web.poll() is None
        code, output = stop(web)
    assert_clean(code, output)
    assert "Slack's API at http://127.0.0.1:" in output and "is unreachable" in output
    assert "Slack accepted the bot token" in output
    assert "answered /health without running it: Slack unreachable" in output


def test_serve_with_a_refused_token_says_so_and_keeps_running(app_dir, started, slack_double):
    env = environment(app_dir, 0, SLACK_BOT_TOKEN=WRONG_TOKEN)
    env["SLACK_API_URL"] = slack_double.url + "/api/"
    web = start(started, ["serve", "--host", "127.0.0.1", "--workers", "1"], env, app_dir)

    answering(web, env)
    status, body = wait_for(
        lambda: (h := healthz(env))[1]["slack"]["state"] != "checking" and h,
        30,
        "the token check's first answer",
    )
    assert status == 503 and body["status"] == "slack refused the bot token", body
    assert body["slack"]["error"] == "invalid_auth" and WRONG_TOKEN not in json.dumps(body)
    code, reply = health_command(env, slack_double.response_url("refused"))
    assert code == 200 and isinstance(reply, dict)
    assert reply["text"].startswith("Slack refused healthbot's bot token")
    assert not slack_double.responses("refused")  # nothing ran
    assert web.poll() is None  # reported, not crash-looped
    code, output = stop(web)
    assert_clean(code, output)
    assert "Slack refused the bot token (invalid_auth): check $SLACK_BOT_TOKEN" in output


def test_socket_mode_serves_healthz_while_slack_is_down_and_connects_once_it_is_up(
    app_dir, started
):
    slack_port = free_port()
    env = environment(app_dir, slack_port, SLACK_APP_TOKEN=APP_TOKEN)
    env.pop("SLACK_SIGNING_SECRET")  # Socket Mode needs none
    bot = start(started, ["socket", "--host", "127.0.0.1"], env, app_dir)

    status, body = answering(bot, env)
    assert status == 503 and body["status"] == "slack unreachable", body
    assert body["socket"]["state"] == "connecting"
    assert "Connection refused" in body["socket"]["error"]
    wait_for(lambda: healthz(env)[1]["socket"]["attempts"] >= 2, 30, "a second connect attempt")
    assert bot.poll() is None  # still running, still trying

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), WebSocketAccept) as ws:
        ws.daemon_threads = True
        threading.Thread(target=ws.serve_forever, args=(0.05,), daemon=True).start()
        ws_url = f"ws://127.0.0.1:{ws.server_address[1]}/link"
        with SlackDoubleOn(slack_port, ws_url).seed_defaults() as double:
            body = wait_for(lambda: ok(healthz(env)), 60, "/healthz to turn 200", every=0.2)
            assert body["slack"]["state"] == "verified" and body["socket"]["state"] == "connected"
            assert double.calls("apps.connections.open")
            code, output = stop(bot)
        ws.shutdown()
    assert_clean(code, output)
    assert "Socket Mode cannot connect (URLError" in output
    assert "Socket Mode connected after" in output


# ---- in-process: the check's loop, its verdicts, and the gate ------------------------------


def test_backoff_doubles_from_one_second_to_thirty() -> None:
    assert list(itertools.islice(backoff(), 7)) == [1, 2, 4, 8, 16, 30, 30]


def test_the_check_keeps_trying_in_the_background_until_slack_answers(caplog) -> None:
    caplog.set_level(logging.INFO, logger="healthbot.slack")
    port = free_port()
    check = TokenCheck.from_env(
        {"SLACK_BOT_TOKEN": TEST_TOKEN, "SLACK_API_URL": f"http://127.0.0.1:{port}/api/"},
        first_delay=0.05,
        max_delay=0.2,
    ).start()
    try:
        # Only the status is read here: nothing but the check's own thread asks Slack.
        wait_for(lambda: check.status.attempts >= 3, 10, "three attempts while Slack is down")
        assert check.status.state == "unreachable" and not check.verified
        with SlackDoubleOn(port) as double:
            wait_for(lambda: check.verified, 10, "the background check to verify the token")
            calls = len(double.calls("auth.test"))
            assert calls >= 1 and check.status.bot_user_id == double.bot_user_id
            assert check.check().verified and len(double.calls("auth.test")) == calls  # done
    finally:
        check.stop()
    unreachable = [r for r in caplog.records if "is unreachable" in r.getMessage()]
    assert len(unreachable) == 1  # one line per change, not one per retry
    assert "Slack accepted the bot token" in caplog.text and TEST_TOKEN not in caplog.text


def test_the_check_tells_a_refused_token_from_a_slack_outage(slack_double: SlackDouble) -> None:
    env = {"SLACK_API_URL": slack_double.url + "/api/"}
    refused = TokenCheck.from_env(env | {"SLACK_BOT_TOKEN": WRONG_TOKEN}).check()
    assert (refused.state, refused.error) == ("rejected", "invalid_auth")
    check = TokenCheck.from_env(env | {"SLACK_BOT_TOKEN": TEST_TOKEN})
    slack_double.fail_next("auth.test", status=500)
    assert (check.check().state, check.status.error) == ("unreachable", "HTTP 500 from Slack")
    assert check.check().verified


def test_the_gate_holds_requests_until_slack_has_accepted_the_token(
    engine: Engine, tmp_path: Path
) -> None:
    env = {
        "SLACK_BOT_TOKEN": TEST_TOKEN,
        "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
    }
    check = TokenCheck.from_env(env)
    bolt = create_app(engine, demo_model(), env, warm=False, slack=check)
    web = create_web_app(bolt, engine, check).test_client()

    def post(body: str, content_type: str) -> Any:
        headers = sign(body, TEST_SIGNING_SECRET) | {"Content-Type": content_type}
        return web.post("/slack/events", data=body, headers=headers)

    form = "application/x-www-form-urlencoded"
    click = block_action({"action_id": "card_share", "value": "a1", "type": "button"})
    assert post(interaction_body(click), form).status_code == 503  # Slack shows it failed
    challenge = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    answer = post(challenge, "application/json")  # Slack's own handshake is never held
    assert answer.status_code == 200 and answer.get_json() == {"challenge": "c-123"}
    health = web.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "slack unreachable"
    assert check.status.state == "unreachable" and check.status.attempts >= 1
