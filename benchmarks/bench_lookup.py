"""`/health` lookups against the real app under gunicorn, on 100,000 accounts with 12 weeks.

What is measured, per database (SQLite, and PostgreSQL with --postgres):

- ack: from sending a signed slash command on loopback to its HTTP 200 (Slack's 3-second limit
  applies to this part);
- answer: from sending it to the moment the card (or pick list) arrives at its response_url, a
  local receiver standing in for Slack. This is the whole path the app implements: signature
  check, matching, card assembly from the database, rendering, and the response_url POST.

`healthbot serve` runs as in production (2 gunicorn workers with threads) with its Web API base
URL on a local Slack double; the load generator, the receiver and gunicorn share this machine's
cores, so the figures include their contention. Queries are random accounts, a third each by
exact name (lower-cased), by id, and by a name prefix (often ambiguous: those get the pick
list); typo (fuzzy) lookups, which compare against every name, are timed separately.

With `--during-weekly` (SQLite only), weekly runs go on in another process for the whole
latency measurement (`benchmarks/weekly_load.py`: score and store the next week, decide,
render, queue), with the replay guard on as always; only the 4-client latency is measured
then (issue 17's target: answer p99 at most 100 ms). `--replay-in-main-db` puts the guard's
table in the main SQLite file instead of its own, to show what the file of its own avoids.

    python -m benchmarks.bench_lookup [--accounts 100000] [--weeks 12] [--postgres URL]
        [--during-weekly [--replay-in-main-db]] [--keep-sqlite FILE] [--keep-postgres URL]

Building the portfolio takes minutes; `--keep-sqlite FILE` / `--keep-postgres URL` (a URL of
its own, e.g. with `?options=-csearch_path%3Dbench_lookup` for a schema that exists) build
it there once and reuse it on later runs with the same --accounts and --weeks, so
before/after comparisons can be run back to back.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from benchmarks.weekly_load import weekly_in_background
from scoring.store import make_engine, upgrade
from tests.slack_double import SlackDouble
from tests.slack_signing import TEST_SIGNING_SECRET, sign, slash_command_body
from tests.test_slack_app_support import (
    DEMO_MODEL,
    END,
    big_accounts,
    build_big_portfolio,
    database,
    demo_model,
)

LATENCY_CLIENTS, LATENCY_REQUESTS = 4, 2000
THROUGHPUT_CLIENTS, THROUGHPUT_SECONDS = 20, 15.0


class Receiver(ThreadingHTTPServer):
    """Stands in for Slack's response_url endpoint and notes when each answer arrives."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.arrived: dict[str, float] = {}
        self.events: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def expect(self, key: str) -> threading.Event:
        with self.lock:
            return self.events.setdefault(key, threading.Event())


class _ReceiverHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Slack's hooks.slack.com
    wbufsize = 1 << 16  # the status, headers and body in one write (flushed after each request)
    server: Receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.path.rsplit("/", 1)[-1]
        self.server.arrived[key] = time.perf_counter()
        self.server.expect(key).set()
        self.send_response(200)
        self.send_header("Content-Length", "11")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Result:
    ack: list[float]
    answer: list[float]
    errors: int
    seconds: float


def lookup(
    conn: http.client.HTTPConnection, receiver: Receiver, text: str, wait: float = 30
) -> tuple[float, float]:
    """One signed /health; (seconds to the 200, seconds to the answer at response_url)."""
    key = uuid.uuid4().hex
    done = receiver.expect(key)
    url = f"http://127.0.0.1:{receiver.server_port}/r/{key}"
    body = slash_command_body(text=text, response_url=url)
    headers = sign(body, TEST_SIGNING_SECRET) | {
        "Content-Type": "application/x-www-form-urlencoded"
    }
    started = time.perf_counter()
    try:
        conn.request("POST", "/slack/events", body.encode(), headers)
        response = conn.getresponse()
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        conn.close()  # the server closed an idle keep-alive connection: reconnect, as Slack would
        started = time.perf_counter()
        conn.request("POST", "/slack/events", body.encode(), headers)
        response = conn.getresponse()
    response.read()
    acked = time.perf_counter()
    if response.status != 200 or not done.wait(wait):
        raise RuntimeError(f"status {response.status}, answered: {done.is_set()}")
    return acked - started, receiver.arrived[key] - started


def run_clients(
    port: int, receiver: Receiver, queries: list[str], clients: int, seconds: float | None
) -> Result:
    """`clients` closed-loop clients (keep-alive connections) until `queries` run out or
    `seconds` pass."""
    ack: list[float] = []
    answer: list[float] = []
    errors = [0]
    cursor = iter(queries)
    lock = threading.Lock()
    deadline = None if seconds is None else time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while deadline is None or time.perf_counter() < deadline:
            with lock:
                text = next(cursor, None)
            if text is None:
                return
            try:
                a, b = lookup(conn, receiver, text)
                with lock:
                    ack.append(a)
                    answer.append(b)
            except (OSError, RuntimeError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Result(ack, answer, errors[0], time.perf_counter() - started)


def make_queries(accounts, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    rows = accounts.iloc[rng.integers(0, len(accounts), n)]
    out = []
    for i, (account_id, name) in enumerate(zip(rows["account_id"], rows["name"], strict=True)):
        kind = i % 3
        out.append(name.lower() if kind == 0 else account_id if kind == 1 else name[:-1].lower())
    return out


def server_cpu_seconds(master: int) -> float:
    """User + system CPU of gunicorn's workers so far (Linux /proc), to report the server's
    CPU per lookup: unlike wall-clock figures it does not depend on what else runs here."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # ppid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# The comparison only: the guard's store in the main database, as on PostgreSQL.
REPLAY_IN_MAIN_DB = (
    "import scoring.store.request_signatures as r; r.replay_store_path = lambda engine: None; "
)


@contextmanager
def serve(
    url: str, double: SlackDouble, workdir: Path, replay_in_main_db: bool = False
) -> Iterator[tuple[int, int]]:
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "SLACK_BOT_TOKEN": double.token,
        "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
        "SLACK_API_URL": double.url + "/api/",
        "DATABASE_URL": url,
        "HEALTHBOT_CONFIG": str(DEMO_MODEL),
        "PORT": str(port),
    }
    code = "from bot.cli import main; raise SystemExit(main())"
    if replay_in_main_db:
        code = REPLAY_IN_MAIN_DB + code
    cmd = [sys.executable, "-c", code, "serve"]
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((workdir / "gunicorn.log").read_text()) from None
                time.sleep(0.2)
        yield port, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def warm_up(port: int, receiver: Receiver, queries: list[str]) -> float:
    """Until both workers hold the portfolio: 40 answers in a row under 250 ms."""
    started, fast = time.perf_counter(), 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for text in queries * 100:
        fast = fast + 1 if lookup(conn, receiver, text, wait=300)[1] < 0.25 else 0
        if fast >= 40:
            return time.perf_counter() - started
        if time.perf_counter() - started > 600:
            raise RuntimeError("the workers never warmed up")
    raise RuntimeError("ran out of warm-up queries")


@contextmanager
def portfolio_database(
    kind: str, tmp: Path, accounts: int, weeks: int, keep: str | None
) -> Iterator[tuple[str, Engine, pd.DataFrame]]:
    """(url, engine, accounts frame) of a database holding the big portfolio: a throwaway one,
    or the one at `keep`, built on first use and reused while its size matches."""
    model = demo_model()
    if keep is None:
        with database(kind, tmp) as (url, engine):
            started = time.perf_counter()
            frame = build_big_portfolio(engine, model, accounts=accounts, weeks=weeks)
            built = time.perf_counter() - started
            print(f"\n[{kind}] {accounts:,} accounts x {weeks} weeks built in {built:.0f} s")
            yield url, engine, frame
        return
    url = f"sqlite:///{Path(keep).resolve()}" if kind == "sqlite" else keep
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT count(*) FROM accounts")).scalar()
        periods = conn.execute(sa.text("SELECT count(DISTINCT period) FROM score_snapshots"))
        size = (found, periods.scalar())
    if size == (0, 0):
        started = time.perf_counter()
        frame = build_big_portfolio(engine, model, accounts=accounts, weeks=weeks)
        built = time.perf_counter() - started
        print(f"\n[{kind}] {accounts:,} accounts x {weeks} weeks built in {built:.0f} s, kept")
    elif size == (accounts, weeks):
        frame = big_accounts(accounts)
        print(f"\n[{kind}] {accounts:,} accounts x {weeks} weeks reused from {keep}")
    else:
        engine.dispose()
        raise SystemExit(f"{keep} holds {size[0]} accounts x {size[1]} weeks, not the ones asked")
    try:
        yield url, engine, frame
    finally:
        engine.dispose()


def ms(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q) * 1000:.1f} ms" if values else "—"


def bench(
    kind: str,
    accounts: int,
    weeks: int,
    postgres: str | None,
    during_weekly: bool = False,
    replay_in_main_db: bool = False,
    keep: str | None = None,
) -> None:
    if postgres:
        os.environ["HEALTHBOT_TEST_POSTGRES_URL"] = postgres
    with (
        tempfile.TemporaryDirectory() as tmp,
        portfolio_database(kind, Path(tmp), accounts, weeks, keep) as (url, engine, frame),
    ):
        receiver = Receiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        with (
            SlackDouble().seed_defaults() as double,
            serve(url, double, Path(tmp), replay_in_main_db) as (port, master),
        ):
            warmed = warm_up(port, receiver, make_queries(frame, 200, 1))
            print(f"  workers warm after {warmed:.0f} s (each loads the latest period once)")
            weekly = weekly_in_background(url, END, Path(tmp)) if during_weekly else nullcontext()
            with weekly as load:
                latency = run_clients(
                    port, receiver, make_queries(frame, LATENCY_REQUESTS, 2), LATENCY_CLIENTS, None
                )
            during = ""
            if load is not None:
                store = "the main database" if replay_in_main_db else "a file of its own"
                passes = load.passes()
                during = f" during weekly runs (replay guard in {store}; {len(passes)} runs ended)"
                print("  weekly runs in the background:", *passes, sep="\n    ")
            print(
                f"  {LATENCY_CLIENTS} clients, {len(latency.answer)} lookups, {latency.errors}"
                f" errors{during}: ack p50 {ms(latency.ack, 50)} p99 {ms(latency.ack, 99)};"
                f" answer p50 {ms(latency.answer, 50)} p99 {ms(latency.answer, 99)}"
                f" max {max(latency.answer, default=0) * 1000:.0f} ms"
            )
            if during_weekly:
                receiver.shutdown()
                engine.dispose()
                return
            cpu_before, own_before = server_cpu_seconds(master), time.process_time()
            load = run_clients(
                port,
                receiver,
                make_queries(frame, 100_000, 3),
                THROUGHPUT_CLIENTS,
                THROUGHPUT_SECONDS,
            )
            rate = len(load.answer) / load.seconds
            served = max(len(load.answer), 1)
            server_ms = (server_cpu_seconds(master) - cpu_before) / served * 1000
            client_ms = (time.process_time() - own_before) / served * 1000
            print(
                f"  {THROUGHPUT_CLIENTS} clients for {load.seconds:.0f} s: {rate:.0f} lookups/s"
                f" answered, {load.errors} errors; answer p50 {ms(load.answer, 50)}"
                f" p99 {ms(load.answer, 99)}"
            )
            print(
                f"  CPU per lookup: {server_ms:.1f} ms in the server's workers, {client_ms:.1f} ms"
                f" in this process (clients and receiver); {os.cpu_count()} cores,"
                f" load average {os.getloadavg()[0]:.1f}"
            )
            typos = [name[:3] + name[4:] for name in frame["name"].sample(40, random_state=4)]
            fuzzy = run_clients(port, receiver, typos, 1, None)
            print(
                f"  typo (fuzzy) lookups, 1 client: answer p50 {ms(fuzzy.answer, 50)}"
                f" p99 {ms(fuzzy.answer, 99)}, {fuzzy.errors} errors"
            )
        receiver.shutdown()
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--during-weekly",
        action="store_true",
        help="SQLite, latency only, while weekly runs go on in another process",
    )
    parser.add_argument(
        "--replay-in-main-db",
        action="store_true",
        help="with --during-weekly: the replay guard's table in the main SQLite file",
    )
    parser.add_argument("--keep-sqlite", metavar="FILE", help="build the SQLite database here once")
    parser.add_argument("--keep-postgres", metavar="URL", help="build the PostgreSQL one here once")
    args = parser.parse_args(argv)
    if args.during_weekly:
        keep = args.keep_sqlite
        bench("sqlite", args.accounts, args.weeks, None, True, args.replay_in_main_db, keep)
        return
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if args.postgres else [])
    for kind in kinds:
        keep = args.keep_sqlite if kind == "sqlite" else args.keep_postgres
        bench(kind, args.accounts, args.weeks, args.postgres, keep=keep)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    main()
