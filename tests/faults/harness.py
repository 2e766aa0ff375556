"""The fault suite's moving parts: a prepared app directory, the period's expected messages
(from a clean run of its own), the worker process, and the CLI's truth (`runs`, `outbox`)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from bot.cli.demo import demo_model_path
from bot.jobs.scheduler import due_as_of
from scoring.config import parse_model
from scoring.periods import period_of
from scoring.sample import generate_portfolio, write_exports
from tests.faults.slack_view import posts
from tests.polling import wait_for
from tests.slack_double import SlackDouble

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OWNERS = ("maria.lopez@example.com", "james.chen@example.com", "priya.patel@example.com")
CHANNELS = ("cs-health", "cs-alerts", "healthbot-admin")
CHART_KIND = "digest_chart"
# The model's intervals, shortened from minutes to seconds; the scenarios' bounds derive from them.
SWEEP = 3.0  # delivery.sweep_minutes
GRACE = 1.0  # delivery.read_back_grace_seconds
STALE = 2.0  # schedule.stale_after_seconds
RETRY = 3.0  # schedule.retry_minutes
START = 10.0  # a worker process starting, then syncing and scoring 40 accounts (CI: 2 cores)
SLACK = 4.0  # scheduling jitter on a busy machine
TRIGGER = 45.0  # for a worker to reach the point where a scenario's fault strikes
TIMING = {
    "schedule": {
        "cron": "0 0 * * *",  # daily: the due period is always yesterday's (UTC) week
        "timezone": "UTC",
        "heartbeat_seconds": 0.5,
        "stale_after_seconds": STALE,
        "retries": 3,
        "retry_minutes": RETRY / 60,
    },
    "delivery": {
        "sweep_minutes": SWEEP / 60,
        "read_back_grace_seconds": GRACE,
        "in_run_seconds": 2,
    },
}


def procfile_command(process: str) -> list[str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    argv = shlex.split(dict(line.split(": ", 1) for line in lines if line.strip())[process])
    return [str(BIN / argv[0]), *argv[1:]]


def write_template(directory: Path, end: date) -> None:
    """Exports of 40 accounts shared by three owners, and the demo model with short intervals."""
    portfolio = generate_portfolio(seed=5, accounts=40, end=end)
    owners = [OWNERS[i % len(OWNERS)] for i in range(len(portfolio.accounts))]
    portfolio.accounts["owner_email"] = owners
    write_exports(portfolio, directory)
    model = yaml.safe_load(demo_model_path().read_text()) | TIMING
    (directory / "healthbot.yml").write_text(yaml.safe_dump(model, sort_keys=False))


def due_now(model_file: Path) -> date:
    as_of = due_as_of(parse_model(model_file.read_text()), datetime.now(UTC))
    assert as_of is not None, "the daily schedule always has a recent fire time"
    return as_of


def workspace(double: SlackDouble) -> SlackDouble:
    """The owners as Slack users and the model's channels, on top of whatever is there."""
    known = {c.get("name") for c in double._channels.values()}
    for email in OWNERS:
        double.add_user(email)
    for name in CHANNELS:
        if name not in known:
            double.add_channel(name)
    return double


@dataclass(frozen=True)
class Expected:
    """What the period delivers, taken from a clean run on a database of its own."""

    as_of: date
    period: str
    keys: frozenset[str]  # every message posted with chat.postMessage
    dms: frozenset[str]  # those addressed to a person
    charts: int  # digest charts shared into their threads
    texts: dict[str, str] = field(default_factory=dict)
    note: str = ""  # why the clean run did not prove the set, when it did not


def clean_run(template: Path, workdir: Path) -> Expected:
    """Run the due period once with `healthbot run-weekly` against a fault-free double and take
    its outbox as the expected set (checked against what the double received)."""
    as_of = due_now(template / "healthbot.yml")
    with SlackDouble() as double:
        app = App.create(template, workdir, f"sqlite:///{workdir}/healthbot.db", workspace(double))
        assert app.cli("db", "upgrade").returncode == 0, app.transcript
        run = app.cli("run-weekly", "--as-of", as_of.isoformat())
        rows = [r for r in app.outbox() if r["period"] == period_of(as_of)]
        got = posts(double)
    messages = [r for r in rows if r["kind"] != CHART_KIND and not r["key"].startswith("admin:")]
    keys = frozenset(r["key"] for r in messages)
    note = ""
    if run.returncode != 0:
        last = (run.stdout + run.stderr).strip().splitlines()[-1:]
        note = f"the clean run failed ({run.returncode}): {' '.join(last)}"
    elif set(got.count) - {k for k in got.count if k.startswith("admin:")} != keys:
        note = f"the clean run posted {sorted(got.count)}, its outbox holds {sorted(keys)}"
    return Expected(
        as_of,
        period_of(as_of),
        keys,
        frozenset(r["key"] for r in messages if r["target_kind"] == "email"),
        sum(r["kind"] == "digest" for r in messages),
        {r["key"]: r["text"] for r in messages},
        note,
    )


class App:
    """One prepared app directory with its database and Slack double, and every process and
    command run against it (their output is shown when a test fails)."""

    def __init__(self, directory: Path, url: str, double: SlackDouble, engine: Engine | None):
        self.dir, self.url, self.double, self.engine = directory, url, double, engine
        self.api_url = double.url + "/api/"
        self.workers: list[Worker] = []
        self.transcript: list[tuple[str, str]] = []

    @classmethod
    def create(
        cls, template: Path, directory: Path, url: str, double: SlackDouble, engine=None
    ) -> App:
        shutil.copytree(template, directory)
        return cls(directory, url, double, engine)

    def env(self, token: bool = True) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "HEALTHBOT_")) and k != "DATABASE_URL"
        }
        env |= {"DATABASE_URL": self.url, "HEALTHBOT_CONFIG": str(self.dir / "healthbot.yml")}
        env["SLACK_API_URL"] = self.api_url
        if token:
            env["SLACK_BOT_TOKEN"] = self.double.token
        return env

    def cli(self, *args: str, token: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(BIN / "healthbot"), *args]
        done = subprocess.run(
            argv, cwd=self.dir, env=self.env(token), capture_output=True, text=True, timeout=180
        )
        what = f"healthbot {shlex.join(args)} -> {done.returncode}"
        self.transcript.append((what, done.stdout + done.stderr))
        return done

    def cli_json(self, *args: str) -> list[dict]:
        done = self.cli(*args, "--json")
        assert done.returncode == 0, f"healthbot {' '.join(args)}: {done.stderr[-1500:]}"
        rows = json.loads(done.stdout or "[]")
        brief = [json.dumps({k: v for k, v in r.items() if k != "text"}) for r in rows]
        self.transcript[-1] = (self.transcript[-1][0], "\n".join(brief))  # one line per row
        return rows

    def runs(self, period: str) -> list[dict]:
        """The period's weekly runs as `healthbot runs --json` shows them, oldest first."""
        rows = self.cli_json("runs", "--limit", "200")
        return [r for r in reversed(rows) if r["kind"] == "weekly" and r["period"] == period]

    def outbox(self) -> list[dict]:
        return self.cli_json("outbox", "--limit", "0")

    def query(self, sql: str, **params: object) -> list[tuple] | None:
        """The test's own read of the database, for polling; None while it cannot answer."""
        try:
            with self.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql), params)]
        except sa.exc.DBAPIError:
            return None

    def statuses_now(self, period: str) -> list[str] | None:
        rows = self.query(
            "SELECT status FROM runs WHERE kind = 'weekly' AND period = :p ORDER BY id", p=period
        )
        return None if rows is None else [r[0] for r in rows]

    def lease_holder_pid(self, name: str) -> int | None:
        """The pid in a lease's holder id (host:pid:nonce), while someone holds it."""
        rows = self.query("SELECT holder FROM leases WHERE name = :n", n=name) or []
        holder = rows[0][0] if rows else None
        return int(holder.split(":")[1]) if holder else None

    def worker(self, name: str | None = None, token: bool = True) -> Worker:
        worker = Worker(self, name or f"worker-{len(self.workers) + 1}", self.env(token))
        self.workers.append(worker)
        return worker.start()

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    def logs(self) -> list[tuple[str, str]]:
        return [(w.name, w.output()) for w in self.workers] + self.transcript


class Worker:
    """`healthbot scheduler` from the Procfile, its output in a file beside the app."""

    def __init__(self, app: App, name: str, env: dict[str, str]) -> None:
        self.app, self.name, self.env = app, name, env
        self.log_path = app.dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0

    def start(self) -> Worker:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                procfile_command("worker"),
                cwd=self.app.dir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started_at = time.time()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, seconds: float = 30) -> None:
        wait_for(lambda: text in self.output(), seconds, f"{self.name} to log {text!r}", 0.1)

    def kill(self) -> float:
        """kill -9, as an OOM killer or a lost host does; returns when it happened."""
        os.kill(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait(10)
        return time.time()

    def terminate(self, within: float = 25.0) -> tuple[int, float]:
        """SIGTERM, as a platform stops a worker; (exit code, seconds it took)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(within)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} still ran {within:g} s after SIGTERM") from None
        return code, time.monotonic() - started

    def wait_exit(self, seconds: float) -> int | None:
        assert self.process is not None
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def revive(self) -> None:
        """Start it again if it exited, as a platform's restart policy would."""
        if self.process is not None and not self.alive:
            self.restarts += 1
            with self.log_path.open("a") as log:
                log.write(f"\n--- exited {self.process.returncode}; restarted by the test ---\n")
            self.start()

    def close(self) -> None:
        if self.alive:
            self.kill()
