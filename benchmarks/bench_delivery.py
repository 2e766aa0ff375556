"""Delivering 1,000 alert DMs through the outbox to a Slack double that answers at once.

What is measured is our own overhead per message: one users.lookupByEmail and one
chat.postMessage over loopback HTTP with the real slack_sdk client, plus the outbox's claim and
mark-delivered transactions (the latter records the DM's listed accounts as shown, as a weekly
run's DMs do). Real Slack adds network latency and per-channel rate limits on top, so
this is the ceiling the bot itself imposes, not a prediction of a real workspace's speed.

    python -m benchmarks.bench_delivery [--messages 1000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import PassOptions, deliver_pending
from bot.delivery.slack_client import make_clients
from bot.delivery.slack_transport import SlackTransport
from scoring.store import make_engine, upgrade
from scoring.store.outbox import OutboxMessage, enqueue
from tests.slack_double import SlackDouble


@contextmanager
def database(postgres_url: str | None) -> Iterator[Engine]:
    """A fresh migrated database: a temporary SQLite file, or a throwaway PostgreSQL schema."""
    if postgres_url is None:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            upgrade(engine)
            yield engine
            engine.dispose()
        return
    schema = f"bench_delivery_{uuid.uuid4().hex[:8]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def main(messages: int = 1000, postgres_url: str | None = None) -> float:
    logging.getLogger("healthbot").setLevel(logging.WARNING)
    with SlackDouble() as double, database(postgres_url) as engine:
        owners = [f"owner{i:05d}@example.com" for i in range(messages)]
        for i, email in enumerate(owners):
            double.add_user(email, f"U{i:08d}")
        text = "3 of your accounts need attention this week"
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        enqueue(
            engine,
            [
                OutboxMessage(
                    f"alert:bench:{e}",  # one DM per owner and period, as bot/jobs/owner_dms.py
                    "alert_dm",
                    "email",
                    e,
                    text,
                    blocks,
                    period="bench",
                    accounts=[f"{e}:a{k}" for k in range(3)],
                    revisable=True,
                )
                for e in owners
            ],
        )
        transport = SlackTransport(make_clients(double.token, double.url + "/api/"))
        start = time.perf_counter()
        report = deliver_pending(engine, transport, PassOptions(holder="bench"))
        elapsed = time.perf_counter() - start
        posted = len(double.calls("chat.postMessage"))
        with engine.connect() as conn:
            shown = conn.execute(sa.text("SELECT count(*) FROM alert_shown")).scalar()
    assert report.sent == messages == posted, (report, posted)
    assert shown == 3 * messages, shown
    rate = messages / elapsed
    backend = "postgresql" if postgres_url else "sqlite"
    print(
        f"delivery ({backend}): {messages:,} DMs in {elapsed:.2f}s = {rate:,.0f} messages/s"
        f" ({elapsed / messages * 1000:.2f} ms each: lookup + post + 2 outbox writes)"
    )
    return rate


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--postgres", metavar="URL", help="measure on PostgreSQL instead")
    args = parser.parse_args()
    main(args.messages, args.postgres)
