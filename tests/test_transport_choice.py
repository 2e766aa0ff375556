"""No transport is chosen silently: without $SLACK_BOT_TOKEN the commands that deliver refuse,
before any work, unless the terminal is asked for by name.

Before, `transport_from_env` fell back to the terminal, so a worker or `healthbot digest` run
against the production database without the token claimed the week's messages, printed them
to a log and marked them sent. Each refusal here runs against a database holding messages that
wait in the outbox (delivery paused) and a run, and the database must be the same afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from bot.cli import main
from bot.delivery.transports import TransportNotChosen, chosen_transport
from tests.db_fixtures import dump_tables
from tests.pipeline_fixtures import END, demo_model, prepare
from tests.test_deployment import BIN

NO_TOKEN = (
    "healthbot: $SLACK_BOT_TOKEN is not set, so nothing can be posted to Slack: set it, or pass"
    " --terminal (or set HEALTHBOT_TRANSPORT=terminal) to write the messages to the terminal"
    " and outbox/ instead"
)
ANSWERS_SLACK = (
    "healthbot: $SLACK_BOT_TOKEN is not set: `healthbot {command}` answers Slack and needs the"
    " bot token (xoxb-...); the terminal cannot stand in for it"
)
REFUSALS = {
    "digest": NO_TOKEN,
    "run-weekly": NO_TOKEN,
    "scheduler": NO_TOKEN,
    "serve": ANSWERS_SLACK.format(command="serve"),
    "socket": ANSWERS_SLACK.format(command="socket"),
}
LONG_RUNNING = {"scheduler", "serve", "socket"}  # run in a process of their own: never hang


@pytest.fixture
def project(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scored portfolio, its model file, and an environment with no Slack setting at all."""
    prepare(engine)
    config = tmp_path / "healthbot.yml"
    config.write_text(yaml.safe_dump(yaml.safe_load(demo_model().model_dump_json())))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HEALTHBOT_CONFIG", str(config))
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL", "HEALTHBOT_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def waiting(project: Path, engine: Engine, capsys: pytest.CaptureFixture[str]) -> Engine:
    """A weekly run whose messages wait in the outbox: what a silent terminal would consume."""
    assert main(["pause"]) == 0
    # exit 3: everything queued, nothing delivered while paused (the run is `delivering`)
    assert main(["run-weekly", "--as-of", str(END), "--no-sync", "--terminal"]) == 3
    capsys.readouterr()
    assert counts(engine)["runs"] >= 1 and counts(engine)["pending"] > 0
    return engine


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            "runs": conn.execute(sa.text("select count(*) from runs")).scalar_one(),
            "outbox": conn.execute(sa.text("select count(*) from outbox")).scalar_one(),
            "pending": conn.execute(
                sa.text("select count(*) from outbox where status = 'pending'")
            ).scalar_one(),
        }


def run(
    argv: list[str], capsys: pytest.CaptureFixture[str], cwd: Path, **env: str
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `healthbot ARGV`; long-running commands in a subprocess."""
    if argv[0] in LONG_RUNNING:
        done = subprocess.run(
            [str(BIN / "healthbot"), *argv],
            cwd=cwd,
            env=os.environ | env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.returncode, done.stdout, done.stderr
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("command", sorted(REFUSALS))
def test_each_command_refuses_without_a_token_and_changes_nothing(
    command: str, waiting: Engine, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, rows = dump_tables(waiting), counts(waiting)
    extra = {"SLACK_APP_TOKEN": "xapp-1-test"} if command == "socket" else {}
    extra |= {"SLACK_SIGNING_SECRET": "secret"} if command == "serve" else {}
    next_week = ["--as-of", str(END + timedelta(days=7))] if command == "run-weekly" else []
    argv = [command, *next_week]
    code, out, err = run(argv, capsys, project, **extra)
    assert (code, err) == (2, REFUSALS[command] + "\n"), out
    assert "Traceback" not in out + err
    assert counts(waiting) == rows and dump_tables(waiting) == before
    assert not (project / "outbox").exists() or not list((project / "outbox").iterdir())


@pytest.mark.parametrize("command", ["digest", "run-weekly", "scheduler"])
def test_the_refusal_comes_before_the_model_file_or_the_database(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Nothing is read or created first: a missing model file and a database that does not
    exist yet still get the transport refusal, and the database file is never created."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("HEALTHBOT_TRANSPORT", raising=False)
    database = tmp_path / "never.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    code, _, err = run([command, "--config", str(tmp_path / "missing.yml")], capsys, tmp_path)
    assert (code, err) == (2, NO_TOKEN + "\n")
    assert not database.exists()


@pytest.mark.parametrize("command", ["digest", "run-weekly", "scheduler", "socket"])
def test_an_unknown_transport_is_named(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    env = {"SLACK_BOT_TOKEN": "xoxb-set", "SLACK_APP_TOKEN": "xapp-1-set"}
    code, _, err = run([command], capsys, tmp_path, HEALTHBOT_TRANSPORT="termnal", **env)
    message = "healthbot: HEALTHBOT_TRANSPORT='termnal' is not a transport: use slack or terminal"
    assert (code, err) == (2, message + "\n")
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize(
    ("argv", "env"),
    [(["--terminal"], {}), ([], {"HEALTHBOT_TRANSPORT": "terminal"})],
    ids=["--terminal", "HEALTHBOT_TRANSPORT=terminal"],
)
def test_run_weekly_prints_its_messages_when_the_terminal_is_chosen(
    argv: list[str], env: dict[str, str], project: Path, engine: Engine, capsys
) -> None:
    command = ["run-weekly", "--as-of", str(END), "--no-sync", *argv]
    code, out, err = run(command, capsys, project, **env)
    assert code == 0, err
    assert "── to " in out and re.search(r" sent [1-9]\d*,", out), out[-2000:]
    assert list((project / "outbox").glob("*.json")), "and kept as JSON files"
    assert counts(engine)["pending"] == 0


def test_digest_preview_needs_no_transport(project: Path, capsys) -> None:
    code, out, err = run(["digest", "--preview", str(project / "preview")], capsys, project)
    assert code == 0, err
    assert (project / "preview" / "digest.png").exists() and "Portfolio health" in out


@pytest.mark.parametrize(
    ("environ", "terminal", "chosen"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, False, "slack"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, True, "terminal"),  # the flag is a choice
        ({"SLACK_BOT_TOKEN": "xoxb-1", "HEALTHBOT_TRANSPORT": "terminal"}, False, "terminal"),
        ({"HEALTHBOT_TRANSPORT": " Terminal "}, False, "terminal"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "HEALTHBOT_TRANSPORT": "slack"}, False, "slack"),
        ({"HEALTHBOT_TRANSPORT": "slack", "SLACK_BOT_TOKEN": " "}, False, None),  # needs a token
        ({}, False, None),
        ({"HEALTHBOT_TRANSPORT": ""}, False, None),  # empty is unset
    ],
)
def test_the_choice(environ: dict[str, str], terminal: bool, chosen: str | None) -> None:
    if chosen is None:
        with pytest.raises(TransportNotChosen, match=r"^\$SLACK_BOT_TOKEN is not set") as caught:
            chosen_transport(environ, terminal=terminal)
        assert caught.value.exit_code == 2
    else:
        assert chosen_transport(environ, terminal=terminal) == chosen
