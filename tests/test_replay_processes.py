"""A replayed request is refused whichever web process it reaches (issue 17).

Real `healthbot serve` processes (gunicorn) on one database, SQLite and PostgreSQL, and the
Slack double: the same signed `/health` sent again and again, to both workers of one `serve`
and to two separate `serve` processes, is answered exactly once. Before the guard was shared,
each worker kept its own set of signatures, so a replay reaching the other worker ran again.
"""

from __future__ import annotations

import re
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli.demo import demo_model_path
from scoring.store.request_signatures import count_signatures, replay_engine
from tests.databases import BACKENDS, migrated_database
from tests.polling import wait_for
from tests.slack_double import SlackDouble
from tests.slack_signing import TEST_SIGNING_SECRET, sign, slash_command_body
from tests.test_deployment import BIN, free_port
from tests.test_slack_down import environment, started

__all__ = ["started"]  # the fixture, imported for this module's tests
REFUSED = re.compile(r"refused a replayed request \(signature seen before\) in process (\d+)")


@pytest.fixture(params=BACKENDS)
def app_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A model file and a migrated database (a SQLite file, or a PostgreSQL schema)."""
    (tmp_path / "healthbot.yml").write_text(demo_model_path().read_text())
    with migrated_database(request.param, tmp_path) as (url, engine):
        engine.dispose()
        yield tmp_path, url


@dataclass
class Serve:
    """A running `healthbot serve`: its port and the file it logs to."""

    process: subprocess.Popen
    port: str
    log: Path

    def refusing(self) -> set[str]:
        """The process ids of the workers that have refused a replay so far."""
        return set(REFUSED.findall(self.log.read_text()))

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=60) == 0
        output = self.log.read_text()
        assert "Traceback" not in output, output[-3000:]
        return output


def serve(started: list, where: tuple[Path, str], double: SlackDouble, workers: int) -> Serve:
    """`healthbot serve` on a port of its own, once every worker has built its app."""
    app_dir, url = where
    env = environment(app_dir, 0, DATABASE_URL=url, PORT=str(free_port()))
    env["SLACK_API_URL"] = double.url + "/api/"
    log = app_dir / f"serve-{env['PORT']}.log"
    argv = [str(BIN / "healthbot"), "serve", "--host", "127.0.0.1", "--workers", str(workers)]
    with log.open("w") as out:
        process = subprocess.Popen(argv, cwd=app_dir, env=env, stdout=out, stderr=out)
    started.append(process)
    running = Serve(process, env["PORT"], log)

    def booted() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        return log.read_text().count("Slack accepted the bot token") >= workers

    wait_for(booted, 60, "every worker to verify the token", every=0.1)
    return running


def post(web: Serve, body: str, headers: dict[str, str]) -> int:
    """One POST on a new connection (so gunicorn may hand it to either worker); its status."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{web.port}/slack/events",
        body.encode(),
        headers | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def signed_command(double: SlackDouble, name: str) -> tuple[str, dict[str, str]]:
    body = slash_command_body(text="help", response_url=double.response_url(name))
    return body, sign(body, TEST_SIGNING_SECRET)


def test_two_workers_of_one_serve_accept_a_request_once(app_dir, started, slack_double) -> None:
    web = serve(started, app_dir, slack_double, workers=2)
    body, headers = signed_command(slack_double, "replayed")
    statuses = [post(web, body, headers)]
    with ThreadPoolExecutor(8) as pool:  # bursts on new connections until both workers refused
        while len(web.refusing()) < 2 and len(statuses) < 2000:
            statuses += pool.map(lambda _: post(web, body, headers), range(16))
    assert statuses.count(200) == 1 and statuses[0] == 200, f"{statuses.count(200)} accepted"
    assert set(statuses[1:]) == {401}
    assert len(web.refusing()) == 2, f"only these workers were reached: {web.refusing()}"
    wait_for(lambda: slack_double.responses("replayed"), what="the one answer")
    fresh_body, fresh_headers = signed_command(slack_double, "fresh")
    assert post(web, fresh_body, fresh_headers) == 200
    wait_for(lambda: slack_double.responses("fresh"), what="the fresh request's answer")
    web.stop()
    assert len(slack_double.responses("replayed")) == 1


def test_two_serve_processes_on_one_database_accept_a_request_once(
    app_dir, started, slack_double
) -> None:
    first = serve(started, app_dir, slack_double, workers=1)
    second = serve(started, app_dir, slack_double, workers=1)
    body, headers = signed_command(slack_double, "replayed")
    statuses = [post(web, body, headers) for _ in range(5) for web in (second, first)]
    assert statuses == [200] + [401] * 9, statuses
    fresh_body, fresh_headers = signed_command(slack_double, "fresh")
    assert post(first, fresh_body, fresh_headers) == 200
    assert post(second, fresh_body, fresh_headers) == 401
    wait_for(lambda: slack_double.responses("fresh"), what="the fresh request's answer")
    wait_for(lambda: slack_double.responses("replayed"), what="the one answer")
    assert first.refusing() and second.refusing()
    first.stop()
    second.stop()
    assert len(slack_double.responses("replayed")) == 1
    assert len(slack_double.responses("fresh")) == 1
    _, url = app_dir
    from scoring.store import make_engine

    engine = make_engine(url)
    store = replay_engine(engine)
    assert count_signatures(store) == 2  # the two requests, in the shared store
    store.dispose()
    engine.dispose()
