"""Scenario 4: a rerun after the data changed updates the owner's one DM in place (never a
second DM); a worker started without a token refuses instead of consuming the outbox."""

from __future__ import annotations

import time
from datetime import timedelta

import pandas as pd
import pytest

from tests.faults.figures import Figures, count, problems, settle
from tests.faults.harness import START, SWEEP, App, Expected
from tests.faults.slack_view import posts

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def add_a_renewal_alert(app: App, expected: Expected, shown: str) -> dict:
    """Move the renewal of an at-risk account no DM mentions to 30 days out, in the accounts
    export: the rerun's sync picks it up and its owner has one more alert. Returns its row."""
    scores = app.cli_json("export", "scores", "--period", expected.period)
    quiet = [r for r in scores if r["band"] != "healthy" and r["name"] not in shown]
    assert quiet, "the portfolio needs an at-risk account without an alert"
    account = quiet[0]
    path = app.dir / "exports" / "accounts.csv"
    accounts = pd.read_csv(path, dtype=str, keep_default_na=False)
    renewal = (expected.as_of + timedelta(days=30)).isoformat()
    accounts.loc[accounts["account_id"] == account["account_id"], "renewal_date"] = renewal
    accounts.to_csv(path, index=False)
    return account


def test_a_rerun_after_the_data_changed_updates_the_dm_in_place(app, expected, verdict, backend):
    worker = app.worker()
    first = Figures("first run", backend, [], bound=START + SWEEP)
    settle(app, expected, first, cleared_at=worker.started_at)
    found = [f"first run: {p}" for p in problems(first, ["succeeded"])]
    code, took = worker.terminate()
    if code != 0:
        found.append(f"the worker exited {code} on SIGTERM ({took:.1f} s)")
    before = posts(app.double)
    account = add_a_renewal_alert(app, expected, " ".join(before.texts.values()))
    owner_dm = [r["key"] for r in app.outbox() if r["target"] == account["owner_email"]]
    started = time.time()
    rerun = app.cli("run-weekly", "--as-of", expected.as_of.isoformat())
    after = posts(app.double)
    figures = Figures(
        "rerun after the data changed",
        backend,
        [f"renewal of {account['name']} moved to 30 days out"],
        bound=START,
    )
    count(app, expected, figures, after, started)
    if rerun.returncode != 0:
        found.append(f"the rerun exited {rerun.returncode}: {rerun.stdout[-300:]}")
    if after.count != before.count:
        found.append(f"the rerun posted: {sorted((after.count - before.count).elements())}")
    updated = [key for key, _call in after.updates]
    if updated != owner_dm:
        found.append(f"chat.update went to {updated}; expected the owner's DM {owner_dm}")
    for key, call in after.updates:
        if (call.params.get("channel"), call.params.get("ts")) != before.where.get(key):
            where = (call.params.get("channel"), call.params.get("ts"))
            found.append(f"{key} updated at {where}, posted at {before.where.get(key)}")
    if owner_dm and account["name"] not in after.texts.get(owner_dm[0], ""):
        found.append(f"{account['name']} is not in the updated DM")
    verdict(figures, ["succeeded", "succeeded"], extra=found)


def test_a_worker_without_a_token_refuses_and_marks_nothing_sent(app, expected, verdict, backend):
    worker = app.worker(token=False)
    code = worker.wait_exit(30)
    found = []
    if code is None:
        worker.kill()
        found.append("still running 30 s after it started: it did not refuse")
    elif code == 0:
        found.append("exited 0")
    if "SLACK_BOT_TOKEN" not in worker.output():
        found.append("its output does not name SLACK_BOT_TOKEN")
    figures = Figures("worker without SLACK_BOT_TOKEN", backend, ["no token"])
    figures.runs = [r["status"] for r in app.runs(expected.period)]
    sent = [r["key"] for r in app.outbox() if r["status"] == "sent"]
    previews = sorted(p.name for p in (app.dir / "outbox").glob("*"))
    if figures.runs:
        found.append(f"`healthbot runs` shows runs for the period: {figures.runs}")
    if sent:
        found.append(f"outbox rows marked sent: {sent}")
    if previews:
        found.append(f"the terminal transport wrote {previews}")
    if app.double.all_calls:
        found.append(f"it called Slack: {[c.method for c in app.double.all_calls]}")
    figures.expected, figures.note = 0, worker.output()[-300:]
    verdict(figures, extra=found)
