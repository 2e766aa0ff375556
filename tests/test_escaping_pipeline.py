"""Issue #17 end to end: a weekly run whose data is hostile (an account renamed
`<!channel> Evil & Co`, override reasons with `<@U123>`) puts no live mention or link into
anything Slack receives (every chat.postMessage and chat.update: text and blocks), while the
terminal transport and `healthbot lookup` show the very same strings literally."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery.terminal import TerminalTransport
from bot.delivery.transport_types import Transport
from bot.jobs.weekly import run_weekly
from scoring.store.overrides import add_override
from tests.pipeline_fixtures import END, Prepared, owners, prepare
from tests.slack_double import SlackDouble
from tests.test_pipeline import workspace
from tests.test_slack_app_support import mrkdwn_texts

EVIL = "<!channel> Evil & Co"
REASON = "<@U123> said so & <!here> agreed, see <https://evil.example|this>"
LIVE = re.compile(r"<[!@#]|<https?:", re.IGNORECASE)


def hostile_weeks(engine: Engine, transport_for: Callable[[Prepared], Transport]) -> Prepared:
    """Rename Northwind (always a sharp drop: alerted) and give Acme an override that shows in
    the W46 digest and expires into its owner's W47 DM; then run W46 and W47."""
    prepared = prepare(engine)
    accounts = prepared.portfolio.accounts.set_index("account_id")
    northwind = accounts.index[accounts["name"] == "Northwind Logistics"][0]
    acme = accounts.index[accounts["name"] == "Acme Corp"][0]
    with engine.begin() as conn:
        conn.execute(
            sa.text("update accounts set name = :n where account_id = :a"),
            {"n": EVIL, "a": northwind},
        )
    add_override(
        engine,
        acme,
        score=12,
        reason=REASON,
        entered_on=END - timedelta(days=8),
        valid_until=END - timedelta(days=1),
        max_days=90,
        user_email="<@U999>@example.com",
    )
    transport = transport_for(prepared)
    for as_of in (END - timedelta(days=7), END):
        run_weekly(engine, prepared.model, Path("."), as_of, transport, sync=False)
    return prepared


def slack_payloads(double: SlackDouble) -> list[dict[str, Any]]:
    out = []
    for method in ("chat.postMessage", "chat.update"):
        for call in double.calls(method):
            blocks = call.params.get("blocks") or []
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            out.append({"text": call.params.get("text", ""), "blocks": blocks})
    return out


def test_hostile_names_and_reasons_reach_slack_escaped(engine, slack_double):
    prepared = hostile_weeks(engine, lambda p: workspace(slack_double, owners(p.portfolio)))
    payloads = slack_payloads(slack_double)
    assert len(payloads) >= 3  # DMs and digests of two weeks
    texts = [t for p in payloads for t in mrkdwn_texts(p)]
    for text in texts:
        assert not LIVE.search(text), f"live mention or link reached Slack: {text[:300]!r}"
    fallbacks = [str(p["text"]) for p in payloads]
    escaped_name = "&lt;!channel&gt; Evil &amp; Co"
    assert any(escaped_name in t for t in fallbacks), "the alert DM's text names the account"
    assert any(escaped_name in t for p in payloads for t in mrkdwn_texts(p["blocks"]))
    assert any("&lt;@U123&gt; said so" in t for t in fallbacks), "the expired override's reason"
    assert any("&lt;@U123&gt; said so" in t for t in texts if "Overridden" in t or "override" in t)
    assert prepared.model.digest, "the demo model posts a digest, so its rows are covered too"


def test_the_terminal_prints_them_literally(engine, tmp_path):
    out = io.StringIO()
    prepared = hostile_weeks(engine, lambda _: TerminalTransport(tmp_path / "outbox", out))
    printed = out.getvalue()
    assert EVIL in printed and REASON in printed
    assert "&lt;" not in printed and "&amp;" not in printed
    assert owners(prepared.portfolio)
    # The files keep what Slack would have been sent: escaped.
    saved = "\n".join(p.read_text() for p in (tmp_path / "outbox").glob("*.json"))
    assert "&lt;!channel&gt; Evil &amp; Co" in saved and EVIL not in saved


def test_lookup_prints_the_name_literally_and_its_json_is_slacks(tmp_path, monkeypatch, capsys):
    """`healthbot lookup` is read by a person: the card shows the name as it is; `--json` is
    the Block Kit Slack would get, escaped in mrkdwn and literal in the header."""
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "DATABASE_URL", "HEALTHBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert main(["demo", "--seed", "3", "--accounts", "120"]) == 0
    shown = capsys.readouterr().out  # the demo prints its runs' texts for a person
    # (Bright & Early no longer alerts here: its metric drop came with a rising score.)
    assert "&amp;" not in shown and "&lt;" not in shown
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'healthbot.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text("update accounts set name = :n where name = 'Northwind Logistics'"),
            {"n": EVIL},
        )
    engine.dispose()
    capsys.readouterr()
    assert main(["lookup", "Evil & Co"]) == 0
    card = capsys.readouterr().out
    assert EVIL in card and "&lt;" not in card and "&amp;" not in card
    assert main(["lookup", "Evil & Co", "--json"]) == 0
    blocks = json.loads(capsys.readouterr().out)
    assert blocks[0]["text"]["type"] == "plain_text" and EVIL in blocks[0]["text"]["text"]
    for text in mrkdwn_texts(blocks):
        assert not LIVE.search(text)
