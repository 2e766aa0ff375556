"""Corrections and retractions: one outcome per account and date, `replace: window` removes
what a re-export no longer has, a warning when a correction would be ignored, and the
command that rescores the stored periods a change touches."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from scoring.batch.jobs import score_and_store
from scoring.errors import DataError
from scoring.store import load_outcomes, load_signals
from scoring.sync import run_sync
from tests.db_fixtures import SyncProject, dump_tables

TODAY = date(2026, 11, 21)
ACCOUNTS = "account_id,name\nacme,Acme\nbeta,Beta\n"
TICKETS = (
    "account_id,date,signal,value\n"
    "acme,2026-11-02,logins,4\nacme,2026-11-03,logins,5\nbeta,2026-11-03,logins,2\n"
    "acme,2026-11-10,logins,6\n"
)
# acme's ticket of 11-03 was mis-dated: it belongs to 11-04
MOVED = TICKETS.replace("acme,2026-11-03,logins,5", "acme,2026-11-04,logins,5")
OUTCOMES_SOURCE = "  - kind: outcomes\n    name: renewals\n    path: exports/outcomes.csv\n"


def sources(extra: str = "") -> str:
    return (
        "  - kind: accounts\n    path: exports/accounts.csv\n"
        "  - kind: signals\n    name: usage\n    path: exports/usage.csv\n" + extra
    )


def stored_signals(engine: Engine) -> set[tuple[str, str, float]]:
    frame = load_signals(engine, date(2026, 1, 1), date(2026, 12, 31))
    return {(r.account_id, str(r.date)[:10], float(r.value)) for r in frame.itertuples(index=False)}


@pytest.fixture
def synced(engine: Engine, project: SyncProject) -> tuple[Engine, SyncProject]:
    project.write("exports/accounts.csv", ACCOUNTS)
    project.write("exports/usage.csv", TICKETS)
    project.write("exports/outcomes.csv", "account_id,date,outcome\nacme,2026-11-05,renewed\n")
    run_sync(engine, project.model(sources(OUTCOMES_SOURCE)), project.root, TODAY)
    return engine, project


def test_a_changed_outcome_replaces_the_old_one(synced) -> None:
    engine, project = synced
    project.write("exports/outcomes.csv", "account_id,date,outcome\nacme,2026-11-05,churned\n")
    summary = run_sync(engine, project.model(sources(OUTCOMES_SOURCE)), project.root, TODAY)[2]
    assert (summary.inserted, summary.replaced, summary.unchanged) == (0, 1, 0)
    assert "1 replaced" in summary.line()
    outcomes = load_outcomes(engine)
    assert list(outcomes["outcome"]) == ["churned"]


def test_two_outcomes_for_one_account_and_date_are_refused(synced) -> None:
    engine, project = synced
    project.write(
        "exports/outcomes.csv",
        "account_id,date,outcome\nacme,2026-11-05,renewed\nacme,2026-11-05,churned\n",
    )
    before = dump_tables(engine)
    with pytest.raises(DataError) as caught:
        run_sync(engine, project.model(sources(OUTCOMES_SOURCE)), project.root, TODAY)
    message = str(caught.value)
    assert "line 3" in message and "'churned' conflicts with 'renewed'" in message
    assert "one outcome per date" in message and "\n" not in message
    assert dump_tables(engine) == before


def test_replace_window_retracts_outcomes_no_longer_exported(synced) -> None:
    engine, project = synced
    extra = OUTCOMES_SOURCE + "    replace: window\n    max_removed_percent: 100\n"
    project.write(
        "exports/outcomes.csv",
        "account_id,date,outcome\nbeta,2026-11-01,renewed\nbeta,2026-11-30,expanded\n",
    )
    summary = run_sync(engine, project.model(sources(extra)), project.root, TODAY)[2]
    assert (summary.inserted, summary.removed) == (2, 1)
    assert sorted(load_outcomes(engine)["account_id"]) == ["beta", "beta"]


def test_replace_window_moves_a_mis_dated_row(synced) -> None:
    engine, project = synced
    project.write("exports/usage.csv", MOVED)
    model = project.model(sources("    replace: window\n    max_removed_percent: 30\n"))
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert (summary.inserted, summary.removed) == (1, 1)
    assert "1 removed" in summary.line()
    stored = stored_signals(engine)
    assert ("acme", "2026-11-04", 5.0) in stored
    assert ("acme", "2026-11-03", 5.0) not in stored
    assert ("beta", "2026-11-03", 2.0) in stored


def test_replace_window_keeps_rows_outside_the_files_dates(synced) -> None:
    engine, project = synced
    project.write("exports/usage.csv", "account_id,date,signal,value\nacme,2026-11-10,logins,7\n")
    model = project.model(sources("    replace: window\n"))
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert (summary.updated, summary.removed) == (1, 0)
    assert len(stored_signals(engine)) == 4


def test_without_replace_an_ignored_correction_is_warned_about(synced) -> None:
    engine, project = synced
    project.write("exports/usage.csv", MOVED)
    summary = run_sync(engine, project.model(sources()), project.root, TODAY)[1]
    assert (summary.inserted, summary.removed, summary.ignored) == (1, 0, 1)
    assert ("acme", "2026-11-03", 5.0) in stored_signals(engine)  # today's upsert stays
    (warning,) = summary.notes()
    assert "1 stored rows of accounts this file covers" in warning
    assert "set `replace: window` on source usage" in warning


def test_an_unchanged_re_export_says_nothing(synced) -> None:
    engine, project = synced
    summary = run_sync(engine, project.model(sources()), project.root, TODAY)[1]
    assert (summary.unchanged, summary.ignored, summary.removed) == (4, 0, 0)
    assert summary.notes() == []


def test_a_correction_names_the_stored_periods_to_rescore(synced) -> None:
    engine, project = synced
    model = project.model(sources("    replace: window\n    max_removed_percent: 30\n"))
    score_and_store(engine, model, [date(2026, 11, 8), date(2026, 11, 15)])
    project.write("exports/usage.csv", MOVED)
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert summary.notes() == [
        "  note: stored scores of 2026-W45..2026-W46 were computed before this change; to"
        " rescore them, run: healthbot score --from 2026-11-08 --to 2026-11-15"
    ]


def test_a_re_dated_outcome_without_replace_is_warned_about(synced) -> None:
    engine, project = synced
    model = project.model(sources(OUTCOMES_SOURCE))
    project.write(
        "exports/outcomes.csv",
        "account_id,date,outcome\nacme,2026-11-04,renewed\nacme,2026-11-06,renewed\n",
    )
    summary = run_sync(engine, model, project.root, TODAY)[2]
    assert (summary.inserted, summary.ignored) == (2, 1)  # 11-05 kept, as the upsert always did
    assert "set `replace: window` on source renewals" in summary.notes()[0]
    assert len(load_outcomes(engine)) == 3


def test_the_cli_prints_the_warning_under_its_source(
    synced, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bot.cli

    engine, project = synced
    monkeypatch.setattr(bot.cli, "COMMAND_MODULES", ["bot.cli.sync"])
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("HEALTHBOT_CONFIG", str(project.root / "healthbot.yml"))
    project.model(sources())
    project.write("exports/usage.csv", MOVED)
    assert bot.cli.main(["sync", "--today", "2026-11-21", "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("signals usage: 4 rows read; 1 inserted")
    assert lines[2].startswith("  warning: 1 stored rows of accounts this file covers")
