"""Mass changes need a person: a truncated accounts export, a signals source that lost most of
its recent accounts, a `replace: window` file that would remove most rows. Each is refused in
one line (source, numbers, the flag) with the database untouched, and `--allow-shrink`
confirms it. Incremental exports of only the new days and sparse signals never trip it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import bot.cli
from scoring.errors import Blocked
from scoring.store.runs import last_run
from scoring.sync import run_sync
from tests.db_fixtures import SyncProject, dump_tables

TODAY = date(2026, 11, 21)
ACCOUNTS_SOURCE = "  - kind: accounts\n    name: crm\n    path: exports/accounts.csv\n"
USAGE_SOURCE = "  - kind: signals\n    name: usage\n    path: exports/usage.csv\n"


def accounts_csv(n: int) -> str:
    return "account_id,name\n" + "".join(f"a{i:03d},Account {i}\n" for i in range(n))


def usage_csv(accounts: range, days: list[date]) -> str:
    rows = [f"a{i:03d},{d},logins,{i % 7 + 1}\n" for d in days for i in accounts]
    return "account_id,date,signal,value\n" + "".join(rows)


def days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=k) for k in range(n)]


def test_a_truncated_crm_export_is_refused_then_confirmed(
    engine: Engine, project: SyncProject
) -> None:
    model = project.model(ACCOUNTS_SOURCE)
    project.write("exports/accounts.csv", accounts_csv(300))
    run_sync(engine, model, project.root, TODAY)
    project.write("exports/accounts.csv", accounts_csv(11))
    before = dump_tables(engine)
    with pytest.raises(Blocked) as caught:
        run_sync(engine, model, project.root, TODAY)
    assert str(caught.value) == (
        'accounts source "crm" would mark 289 of 300 active accounts inactive (96%, limit 10%);'
        " if this export is complete, run: healthbot sync --allow-shrink"
    )
    assert dump_tables(engine) == before
    summary = run_sync(engine, model, project.root, TODAY, allow_shrink=True)[0]
    assert summary.inactive == 289
    assert last_run(engine, "sync")["details"]["allow_shrink"] is True


def test_the_inactive_limit_is_configurable_and_small_churn_passes(
    engine: Engine, project: SyncProject
) -> None:
    project.write("exports/accounts.csv", accounts_csv(300))
    run_sync(engine, project.model(ACCOUNTS_SOURCE), project.root, TODAY)
    project.write("exports/accounts.csv", accounts_csv(280))  # 20 of 300: 7%
    assert run_sync(engine, project.model(ACCOUNTS_SOURCE), project.root, TODAY)[0].inactive == 20
    project.write("exports/accounts.csv", accounts_csv(100))  # 180 of 280: 64%
    relaxed = project.model(ACCOUNTS_SOURCE + "    max_inactive_percent: 70\n")
    assert run_sync(engine, relaxed, project.root, TODAY)[0].inactive == 180


def _signals_project(engine: Engine, project: SyncProject, extra: str = "") -> object:
    model = project.model(ACCOUNTS_SOURCE + USAGE_SOURCE + extra)
    project.write("exports/accounts.csv", accounts_csv(150))
    project.write("exports/usage.csv", usage_csv(range(150), days(date(2026, 11, 1), 14)))
    run_sync(engine, model, project.root, TODAY)
    return model


def test_a_signals_source_whose_recent_accounts_collapse_is_refused(
    engine: Engine, project: SyncProject
) -> None:
    model = _signals_project(engine, project)
    # a new week where the pipeline delivered only 20 accounts
    project.write("exports/usage.csv", usage_csv(range(20), days(date(2026, 11, 15), 7)))
    before = dump_tables(engine)
    with pytest.raises(Blocked) as caught:
        run_sync(engine, model, project.root, TODAY + timedelta(days=1))
    assert str(caught.value) == (
        'signals source "usage" would leave 20 accounts with data in the latest 7 days, down'
        " from 150 (87% fewer, limit 50%); if this export is complete, run:"
        " healthbot sync --allow-shrink"
    )
    assert dump_tables(engine) == before
    summaries = run_sync(engine, model, project.root, TODAY + timedelta(days=1), allow_shrink=True)
    assert summaries[1].inserted == 140 and summaries[1].recent_accounts == 20


def test_an_incremental_export_of_new_days_is_not_a_drop(
    engine: Engine, project: SyncProject
) -> None:
    model = _signals_project(engine, project)
    # one new day in which only 40 accounts logged in: the stored days still count
    project.write("exports/usage.csv", usage_csv(range(40), [date(2026, 11, 15)]))
    summaries = run_sync(engine, model, project.root, TODAY)
    assert summaries[1].inserted == 40 and summaries[1].recent_accounts == 150


def test_sparse_signals_never_trip_the_drop_guard(engine: Engine, project: SyncProject) -> None:
    model = project.model(ACCOUNTS_SOURCE + USAGE_SOURCE)
    project.write("exports/accounts.csv", accounts_csv(150))
    project.write("exports/usage.csv", usage_csv(range(99), [date(2026, 11, 1)]))
    run_sync(engine, model, project.root, TODAY)
    project.write("exports/usage.csv", usage_csv(range(3), [date(2026, 11, 20)]))
    assert run_sync(engine, model, project.root, TODAY)[1].recent_accounts == 3


def test_the_drop_limit_is_per_source(engine: Engine, project: SyncProject) -> None:
    model = _signals_project(engine, project, "    max_drop_percent: 90\n")
    project.write("exports/usage.csv", usage_csv(range(20), days(date(2026, 11, 15), 7)))
    assert run_sync(engine, model, project.root, TODAY)[1].recent_accounts == 20


def test_a_replace_window_file_that_lost_most_rows_is_refused(
    engine: Engine, project: SyncProject
) -> None:
    model = _signals_project(engine, project, "    replace: window\n    max_drop_percent: 100\n")
    # cut off after 11 accounts, over the same days: 139 of 150 accounts' rows would go
    project.write("exports/usage.csv", usage_csv(range(11), days(date(2026, 11, 1), 14)))
    before = dump_tables(engine)
    with pytest.raises(Blocked) as caught:
        run_sync(engine, model, project.root, TODAY)
    assert str(caught.value) == (
        'signals source "usage" would remove 1,946 of 2,100 stored rows dated'
        " 2026-11-01..2026-11-14 (93%, limit 10%); if this export is complete, run:"
        " healthbot sync --allow-shrink"
    )
    assert dump_tables(engine) == before
    summaries = run_sync(engine, model, project.root, TODAY, allow_shrink=True)
    assert summaries[1].removed == 1946
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM signals")).scalar() == 154


@pytest.fixture
def cli(db_url: str, project: SyncProject, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(bot.cli, "COMMAND_MODULES", ["bot.cli.sync"])
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HEALTHBOT_CONFIG", str(project.root / "healthbot.yml"))
    project.model(ACCOUNTS_SOURCE)

    def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        code = bot.cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_the_cli_refuses_in_one_line_and_the_flag_confirms(cli, project, capsys) -> None:
    project.write("exports/accounts.csv", accounts_csv(300))
    assert cli("sync", "--today", "2026-11-21", capsys=capsys)[0] == 0
    project.write("exports/accounts.csv", accounts_csv(11))
    code, out, err = cli("sync", "--today", "2026-11-22", capsys=capsys)
    assert code != 0 and out == ""
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "would mark 289 of 300 active accounts inactive (96%, limit 10%)" in err
    assert "healthbot sync --allow-shrink" in err
    code, out, err = cli("sync", "--today", "2026-11-22", "--allow-shrink", capsys=capsys)
    assert code == 0, err
    assert "289 marked inactive" in out


def test_closing_most_accounts_by_status_is_a_mass_change_too(
    engine: Engine, project: SyncProject
) -> None:
    model = project.model(ACCOUNTS_SOURCE)
    project.write("exports/accounts.csv", accounts_csv(300))
    run_sync(engine, model, project.root, TODAY)
    lines = accounts_csv(300).splitlines()
    closed = [lines[0] + ",status"] + [
        f"{line},{'churned' if i < 150 else 'active'}" for i, line in enumerate(lines[1:])
    ]
    project.write("exports/accounts.csv", "\n".join(closed) + "\n")
    with pytest.raises(Blocked) as caught:
        run_sync(engine, model, project.root, TODAY)
    assert "would mark 150 of 300 active accounts inactive (50%, limit 10%)" in str(caught.value)
