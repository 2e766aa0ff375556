"""A scheduled run blocked by a sync guardrail is reported once, never retried on a timer,
and runs again once a person acted: the export changed, or `sync --allow-shrink` confirmed it.
Real scheduler entry point (`run_if_due`), real sync, the Slack double; SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from bot.jobs.scheduler import run_if_due
from scoring.store.runs import period_runs
from scoring.sync import run_sync
from tests.pipeline_fixtures import owners, prepare
from tests.test_dm_revisions import FAST
from tests.test_pipeline import workspace

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the demo schedule fired at 08:00: W47 due


def _blocked_setup(engine, slack_double, tmp_path: Path):  # noqa: ANN001, ANN202
    export = tmp_path / "crm.csv"
    prepared = prepare(
        engine,
        delivery=FAST,
        schedule={"retry_minutes": 0.001},
        sources=[{"kind": "accounts", "name": "crm", "path": str(export)}],
    )
    full = prepared.portfolio.accounts
    full.head(5).to_csv(export, index=False)  # the export was cut off after 5 rows
    transport = workspace(slack_double, owners(prepared.portfolio))
    assert run_if_due(engine, prepared.model, tmp_path, transport, MONDAY) is None
    runs = period_runs(engine, "2026-W47")
    assert [r["status"] for r in runs] == ["blocked"]
    assert 'accounts source "crm" would mark' in runs[0]["error"]
    assert "--allow-shrink" in runs[0]["error"]
    return prepared, transport, export, full


def _admin_reports(slack_double) -> list[str]:  # noqa: ANN001
    texts = [m["text"] for m in slack_double.messages("healthbot-admin")]
    return [t for t in texts if "blocked" in t.lower()]


def test_a_blocked_run_waits_while_nothing_changes(engine, slack_double, tmp_path) -> None:
    prepared, transport, export, _ = _blocked_setup(engine, slack_double, tmp_path)
    stat = export.stat()
    os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched, same bytes
    for _ in range(3):
        assert run_if_due(engine, prepared.model, tmp_path, transport, MONDAY) is None
    assert [r["status"] for r in period_runs(engine, "2026-W47")] == ["blocked"]
    assert len(_admin_reports(slack_double)) == 1


def test_a_corrected_export_runs_the_period_again(engine, slack_double, tmp_path) -> None:
    prepared, transport, export, full = _blocked_setup(engine, slack_double, tmp_path)
    full.to_csv(export, index=False)
    result = run_if_due(engine, prepared.model, tmp_path, transport, MONDAY)
    assert result is not None and result.status in ("succeeded", "delivering")
    runs = period_runs(engine, "2026-W47")
    assert [r["status"] for r in runs][0] == "blocked" and len(runs) == 2
    assert runs[1]["attempt"] == 2


def test_a_confirmed_sync_runs_the_period_again(engine, slack_double, tmp_path) -> None:
    prepared, transport, _, _ = _blocked_setup(engine, slack_double, tmp_path)
    assert run_if_due(engine, prepared.model, tmp_path, transport, MONDAY) is None
    run_sync(engine, prepared.model, tmp_path, MONDAY.date(), allow_shrink=True)
    result = run_if_due(engine, prepared.model, tmp_path, transport, MONDAY)
    assert result is not None and result.status in ("succeeded", "delivering")
    assert [r["status"] for r in period_runs(engine, "2026-W47")][0] == "blocked"
    assert len(_admin_reports(slack_double)) == 1
