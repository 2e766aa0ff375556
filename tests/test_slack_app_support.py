"""Shared set-up for the Slack app tests and the lookup benchmark (no tests of its own).

The app runs for real: bolt behind the Flask adapter under werkzeug's threaded server on a
loopback port, its Web API client pointed at the `slack_double`, and requests signed exactly as
Slack signs them. Databases come in two sizes: the demo portfolio scored by the real engine
(small, for content), and a 100,000-account portfolio whose snapshots are drawn with numpy and
written straight through `save_snapshots` (large, for speed), both on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.config import Model, load_model
from scoring.periods import period_of
from scoring.sample.catalog import CSMS, PREFIXES, SEGMENT_SHARES, SEGMENTS, SUFFIXES
from scoring.store import save_snapshots
from scoring.store.bulk import write_frame
from scoring.store.freshness import save_freshness
from tests.databases import migrated_database
from tests.polling import wait_for
from tests.slack_signing import (
    TEST_SIGNING_SECRET,
    interaction_body,
    sign,
    slash_command_body,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODEL = ROOT / "examples" / "demo-model.yml"
POSTGRES_ENV = "HEALTHBOT_TEST_POSTGRES_URL"
END = dt.date(2026, 11, 22)  # a Sunday: the last day of ISO week 2026-W47
HOSTILE_NAME = "<!channel> *Pwn* & <https://evil.example|click> Corp"

ACCOUNT_TYPES = {
    "account_id": "str",
    "name": "str",
    "owner_email": "str",
    "segment": "str",
    "arr": "float",
    "renewal_date": "date",
    "status": "str",
    "first_seen": "date",
    "updated_at": "datetime",
}


def demo_model(**update: Any) -> Model:
    model = load_model(DEMO_MODEL, {})
    return model.model_copy(update=update) if update else model


# One fresh migrated database per test: the shared helper (PostgreSQL in a throwaway schema).
database = migrated_database


def big_accounts(n: int, seed: int = 5, owner: str = "alice@example.com") -> pd.DataFrame:
    """`n` accounts with unique realistic names; every 1,000th belongs to `owner`."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("a", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    stems = np.char.add(
        np.char.add(np.array(PREFIXES)[rng.integers(0, len(PREFIXES), n)], " "),
        np.array(SUFFIXES)[rng.integers(0, len(SUFFIXES), n)],
    )
    names = np.char.add(np.char.add(stems, " "), np.arange(1, n + 1).astype(str))
    owners = np.array([f"{c}@example.com" for c in CSMS])[rng.integers(0, len(CSMS), n)]
    owners[::1000] = owner
    seg = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARES)
    arr = np.round(np.exp(rng.uniform(np.log(5_000), np.log(1_200_000), n)) / 100) * 100
    renewal = pd.Timestamp(END) + pd.to_timedelta(rng.integers(-60, 365, n), "D")
    return pd.DataFrame(
        {
            "account_id": ids.astype(object),
            "name": names.astype(object),
            "owner_email": owners.astype(object),
            "segment": SEGMENTS[seg].astype(object),
            "arr": arr,
            "renewal_date": renewal,
            "status": "active",
            "first_seen": pd.Timestamp(END - dt.timedelta(days=400)),
            "updated_at": pd.Timestamp(END),
        }
    )


def build_big_portfolio(
    engine: Engine, model: Model, accounts: int = 100_000, weeks: int = 2, seed: int = 5
) -> pd.DataFrame:
    """Accounts, one signal row each and `weeks` weekly snapshots drawn with numpy.

    Scores random-walk from week to week; each metric's points are its score times its weight
    share, so the explanation adds up like the engine's. Returns the accounts frame.
    """
    rng = np.random.default_rng(seed)
    frame = big_accounts(accounts, seed)
    keys = model.metric_keys
    weights = np.array([model.metrics[k].weight for k in keys], dtype=float)
    share = weights / weights.sum()
    names = [b.name for b in model.bands]
    mins = np.array([b.min for b in model.bands], dtype=float)
    base = rng.uniform(5, 100, (accounts, len(keys)))
    with engine.begin() as conn:
        write_frame(conn, "accounts", frame, ACCOUNT_TYPES)
        signals = pd.DataFrame(
            {
                "account_id": frame["account_id"],
                "signal": "active_users",
                "date": pd.Timestamp(END),
                "value": 50.0,
                "source": "bench",
            }
        )
        write_frame(
            conn,
            "signals",
            signals,
            {"account_id": "str", "signal": "str", "date": "date", "value": "float"}
            | {"source": "str"},
        )
    for week in range(weeks):
        as_of = END - dt.timedelta(days=7 * (weeks - 1 - week))
        base = np.clip(base + rng.normal(0, 4, base.shape), 0, 100)
        metric_score = np.round(base, 1)
        points = metric_score * share
        score = points.sum(axis=1)
        shown = np.round(score)
        rank = np.argmax(shown[:, None] >= mins[None, :], axis=1)
        unscored = np.arange(accounts) % 997 == 5  # a few accounts with too little data
        score, shown = np.where(unscored, np.nan, score), np.where(unscored, np.nan, shown)
        bands = np.where(unscored, "insufficient_data", np.array(names, dtype=object)[rank])
        scores = pd.DataFrame(
            {
                "account_id": frame["account_id"],
                "segment_rule": None,
                "score": score,
                "score_shown": shown,
                "band": bands,
                "band_rank": pd.Series(rank, dtype="Int64").mask(unscored).array,
                "completeness": 1.0,
                "status": np.where(unscored, "insufficient_data", "scored"),
            }
        )
        metrics = pd.DataFrame(
            {
                "account_id": np.repeat(frame["account_id"].to_numpy(), len(keys)),
                "metric": np.tile(np.array(keys, dtype=object), accounts),
                "raw": metric_score.ravel(),
                "has_data": ~np.repeat(unscored, len(keys)),
                "metric_score": metric_score.ravel(),
                "weight": np.tile(weights, accounts),
                "share": np.tile(share, accounts),
                "points": np.where(np.repeat(unscored, len(keys)), np.nan, points.ravel()),
            }
        )
        save_snapshots(engine, period_of(as_of), as_of, model.version, scores, metrics)
    # The latest week's freshness, as scoring writes it beside the snapshot: a card reads it.
    age = rng.integers(0, 60, len(metrics))
    freshness = metrics.loc[metrics["has_data"].to_numpy(), ["account_id", "metric"]].assign(
        latest=pd.Timestamp(END) - pd.to_timedelta(age[metrics["has_data"].to_numpy()], "D"),
        cadence_days=30.0,
    )
    freshness["age_days"] = (pd.Timestamp(END) - freshness["latest"]).dt.days
    freshness["stale"] = freshness["age_days"] > 45
    save_freshness(engine, period_of(END), freshness)
    if engine.dialect.name == "postgresql":  # fresh tables: give the planner its statistics
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return frame


def build_demo_portfolio(engine: Engine, model: Model, accounts: int = 60) -> pd.DataFrame:
    """The demo portfolio scored by the real engine for three weeks; U1 (alice) owns a few
    accounts and one is called HOSTILE_NAME. Returns the accounts frame."""
    from scoring.batch.jobs import score_and_store
    from scoring.sample import generate_portfolio
    from scoring.store.frames_io import load_frames

    portfolio = generate_portfolio(seed=3, accounts=accounts, weeks=16, end=END)
    frame = portfolio.accounts.copy()
    frame.loc[frame.index[:4], "owner_email"] = "alice@example.com"
    frame.loc[frame.index[-1], "name"] = HOSTILE_NAME
    load_frames(engine, frame, portfolio.signals, portfolio.outcomes, END + dt.timedelta(days=1))
    as_ofs = [END - dt.timedelta(days=7 * k) for k in (2, 1, 0)]
    score_and_store(engine, model, as_ofs)
    return frame


@dataclass
class Client:
    """Sends requests to the app at `url` the way Slack does."""

    url: str
    secret: str = TEST_SIGNING_SECRET

    def post(
        self, body: str, headers: dict[str, str] | None = None, timeout: float = 30
    ) -> tuple[int, bytes, float]:
        """(status, body, seconds) of a POST to /slack/events, signed unless headers given."""
        hdrs = sign(body, self.secret) if headers is None else headers
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"} | hdrs
        req = urllib.request.Request(self.url + "/slack/events", body.encode(), hdrs, method="POST")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read(), time.perf_counter() - started
        except urllib.error.HTTPError as err:
            return err.code, err.read(), time.perf_counter() - started

    def command(self, text: str, response_url: str, user_id: str = "U1", **kw: Any) -> int:
        body = slash_command_body(text=text, user_id=user_id, response_url=response_url, **kw)
        return self.post(body)[0]

    def interact(self, payload: dict[str, Any]) -> tuple[int, bytes]:
        status, body, _ = self.post(interaction_body(payload))
        return status, body

    def event(self, event: dict[str, Any]) -> int:
        envelope = {
            "token": "x",
            "team_id": "T0TEAM0001",
            "api_app_id": "A0APP00001",
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()),
            "event": event,
        }
        body = json.dumps(envelope)
        headers = sign(body, self.secret) | {"Content-Type": "application/json"}
        return self.post(body, headers)[0]

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code


def texts_of(payload: Any) -> str:
    """Every string anywhere in a message, view or payload, joined (for leak checks)."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, dict):
        return "\n".join(texts_of(v) for v in payload.values())
    if isinstance(payload, list):
        return "\n".join(texts_of(v) for v in payload)
    return ""


def table_rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params).all())


@dataclass
class RunningApp:
    """The HTTP app on a loopback port, wired to a Slack double and a database."""

    client: Client
    double: Any
    engine: Engine
    model: Model

    def command(self, text: str, name: str, user_id: str = "U1", **kw: Any) -> Any:
        """Send `/health text` and return the first message posted to its response_url."""
        status = self.client.command(text, self.double.response_url(name), user_id, **kw)
        assert status == 200
        return wait_for(lambda: self.double.responses(name), what=f"a reply to {text!r}")[0]


def slack_env(double: Any) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": double.token,
        "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
        "SLACK_API_URL": double.url + "/api/",
    }


@contextmanager
def running_app(engine: Engine, model: Model, double: Any) -> Iterator[RunningApp]:
    """create_app + the Flask adapter under werkzeug's threaded server, in a thread."""
    from werkzeug.serving import make_server

    from bot.slack.app import create_app
    from bot.slack.web import create_web_app

    web = create_web_app(create_app(engine, model, slack_env(double)), engine)
    server = make_server("127.0.0.1", 0, web, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-app", daemon=True)
    thread.start()
    try:
        yield RunningApp(Client(f"http://127.0.0.1:{server.server_port}"), double, engine, model)
    finally:
        server.shutdown()
        thread.join(timeout=10)


def mrkdwn_texts(payload: Any) -> list[str]:
    """Every string Slack parses as mrkdwn in a message or view: the top-level fallback `text`
    and every text object of type mrkdwn (plain_text shows `<!channel>` literally)."""
    found: list[str] = []

    def walk(node: Any, top: bool = False) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            if top and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload, top=True)
    return found


def block_action(
    element: dict[str, Any],
    *,
    user: str = "U1",
    response_url: str | None = None,
    ephemeral: bool = False,
    channel: str = "C1",
    message: dict[str, Any] | None = None,
    trigger_id: str = "1234.5678.abcdef",
) -> dict[str, Any]:
    """A block_actions payload for a click on `element` (a button or a select with a choice),
    shaped like Slack's: ephemeral messages carry no `message`, others do."""
    action = {
        "action_id": element["action_id"],
        "block_id": element.get("block_id", ""),
        "type": element.get("type", "button"),
        "action_ts": f"{time.time():.6f}",
    }
    if "selected_option" in element:
        action["selected_option"] = element["selected_option"]
    else:
        action["value"] = element.get("value", "")
    ts = (message or {}).get("ts", "1700000000.000100")
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": "T0TEAM0001"},
        "api_app_id": "A0APP00001",
        "token": "deprecated",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id,
        "team": {"id": "T0TEAM0001", "domain": "healthbot-test"},
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "general"},
        "actions": [action],
    }
    if response_url:
        payload["response_url"] = response_url
    if message is not None and not ephemeral:
        payload["message"] = message
    return payload


@contextmanager
def demo_database(kind: str, path: Path) -> Iterator[tuple[Engine, Model, pd.DataFrame]]:
    """A fresh database holding the scored demo portfolio: (engine, model, accounts)."""
    model = demo_model()
    with database(kind, path) as (_, engine):
        yield engine, model, build_demo_portfolio(engine, model)
