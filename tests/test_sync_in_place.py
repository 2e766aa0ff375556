"""A signals table read in place (`url` + `table`) on a DuckDB file and a PostgreSQL table:
sync validates it where it is with the file's rules and words, refuses bad data with the
database untouched, never copies a row (`signals` stays empty), stores what it validated per
sync (the shrink guard and the drift lines read it), and the model checks count its signals."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.batch.model_checks import check_model_data
from scoring.errors import Blocked, ConfigError, DataError
from scoring.store.in_place import in_place_changes
from scoring.store.runs import last_run
from scoring.sync import run_sync
from tests.db_fixtures import SyncProject, dump_tables
from tests.in_place_fixtures import Warehouse, long_frame

TODAY = date(2026, 11, 21)
DAYS = [date(2026, 11, 1) + timedelta(days=k) for k in range(14)]
ACCOUNTS = "  - kind: accounts\n    name: crm\n    path: exports/accounts.csv\n"
IN_PLACE = "  - kind: signals\n    name: usage\n    url: ${WAREHOUSE_URL}\n    table: usage\n"


def accounts_csv(n: int) -> str:
    return "account_id,name\n" + "".join(f"a{i:03d},Account {i}\n" for i in range(n))


def setup(project: SyncProject, wh: Warehouse, extra: str = "", model_extra: str = ""):
    project.write("exports/accounts.csv", accounts_csv(150))
    return project.model(
        ACCOUNTS + IN_PLACE + extra, model_extra, environ={"WAREHOUSE_URL": wh.url}
    )


def signal_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM signals")).scalar())


def in_place_rows(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM in_place_syncs ORDER BY id")).mappings()
        return [dict(r) for r in rows]


def test_a_table_is_validated_in_place_and_never_copied(
    engine: Engine, project: SyncProject, warehouse: Warehouse
) -> None:
    frame = long_frame(range(150), DAYS)
    warehouse.load("usage", frame)
    model = setup(project, warehouse)
    summaries = run_sync(engine, model, project.root, TODAY)
    assert summaries[1].line() == (
        "signals usage: 2,100 rows validated in place (table usage, not copied); 0 skipped"
    )
    assert signal_rows(engine) == 0
    [row] = in_place_rows(engine)
    assert row["source"] == "usage" and row["rows"] == 2100 and row["recent_accounts"] == 150
    assert str(row["max_date"])[:10] == "2026-11-14"
    assert row["value_sum"] == pytest.approx(frame["value"].sum())
    assert row["run_id"] == last_run(engine, "sync")["id"]
    assert in_place_changes(engine, model) == []


def test_the_synced_signal_rule_counts_a_signal_present_in_place(
    engine: Engine, project: SyncProject, warehouse: Warehouse
) -> None:
    warehouse.load("usage", long_frame(range(150), DAYS))
    run_sync(engine, setup(project, warehouse), project.root, TODAY)
    check_model_data(engine, setup(project, warehouse), "model file")  # logins: in place
    wrong = project.model(
        ACCOUNTS + IN_PLACE, environ={"WAREHOUSE_URL": warehouse.url}, signal="login"
    )
    with pytest.raises(ConfigError) as caught:
        check_model_data(engine, wrong, "model file")
    assert str(caught.value) == (
        "model file: metrics.logins.signal: no signal 'login' is stored or in a source read in"
        " place, so scores would leave out this metric's weight (closest: 'logins')"
    )
    with pytest.raises(ConfigError, match="stored or in the sources being synced"):
        run_sync(engine, wrong, project.root, TODAY)


def test_a_wide_table_is_validated_per_signal_column(
    engine: Engine, project: SyncProject, warehouse: Warehouse
) -> None:
    wide = long_frame(range(150), DAYS).rename(columns={"value": "logins"}).drop(columns="signal")
    wide["tickets"] = [None if i % 3 else 1.0 for i in range(len(wide))]
    warehouse.load("usage", wide)
    model = setup(project, warehouse, "    layout: wide\n")
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert summary.rows_read == 2100 + 700
    assert signal_rows(engine) == 0
    wide.loc[5, "tickets"] = -1.0
    warehouse.load("usage", wide)
    counted = setup(
        project, warehouse, "    layout: wide\n", "signals:\n  tickets: {kind: count}\n"
    )
    with pytest.raises(DataError) as caught:
        run_sync(engine, counted, project.root, TODAY)
    assert str(caught.value) == (
        "source usage: column tickets: -1 is out of bounds for signal 'tickets': not a count"
        " (`signals.tickets.kind: count`: a whole number ≥ 0) (account 'a005', signal"
        " 'tickets', 2026-11-01); sync changed nothing"
    )


def _bad(frame: pd.DataFrame, i: int, **values: object) -> pd.DataFrame:
    frame = frame.copy()
    for column, value in values.items():
        frame.loc[i, column] = value
    return frame


BASE = long_frame(range(150), DAYS)
NOTHING = "; sync changed nothing"
REFUSALS = {
    "missing column": (
        BASE.drop(columns="value"),
        "",
        "source usage: missing required column value (the columns are: account_id, date,"
        " signal)" + NOTHING,
    ),
    "mapped column missing": (
        BASE,
        "    columns: {value: amount}\n",
        "source usage: missing column amount (mapped to value in `columns:`; the columns are:"
        " account_id, date, signal, value)" + NOTHING,
    ),
    "text value column": (
        BASE.assign(value=BASE["value"].astype(str)),
        "",
        "source usage: column value: is of type string in table usage; a table read in place"
        " needs a number here (cast it in a view)" + NOTHING,
    ),
    "unknown account": (
        _bad(BASE, 3, account_id="zz-9"),
        "",
        "source usage: column account_id: account 'zz-9' is unknown (not stored and in no"
        " accounts source; set `unknown_accounts: skip` on this source to skip such rows)"
        " (1 unknown accounts, 1 rows)" + NOTHING,
    ),
    "conflicting duplicate": (
        pd.concat([BASE, _bad(BASE.iloc[[7]], 7, value=99.0)], ignore_index=True),
        "",
        "source usage: column value: 99 conflicts with 5 for account 'a007', signal 'logins',"
        " 2026-11-01 (a table read in place must hold one row per account, signal and date:"
        " healthbot cannot merge rows it does not copy)" + NOTHING,
    ),
    "identical duplicate": (
        pd.concat([BASE, BASE.iloc[[7]]], ignore_index=True),
        "",
        "source usage: column value: 2 rows with the value 5 for account 'a007', signal"
        " 'logins', 2026-11-01 (a table read in place must hold one row per account, signal"
        " and date: healthbot cannot merge rows it does not copy)" + NOTHING,
    ),
    "beyond max_abs": (
        _bad(BASE, 11, value=1e308),
        "",
        "source usage: column value: 1e+308 is out of bounds for signal 'logins': beyond ±1e+12"
        " (`signals.logins.max_abs` raises the limit) (account 'a011', signal 'logins',"
        " 2026-11-01)" + NOTHING,
    ),
    "infinite": (
        _bad(BASE, 12, value=float("inf")),
        "",
        "source usage: column value: inf is out of bounds for signal 'logins': beyond ±1e+12"
        " (`signals.logins.max_abs` raises the limit) (account 'a012', signal 'logins',"
        " 2026-11-01)" + NOTHING,
    ),
    "blank value": (
        _bad(BASE, 13, value=None),
        "",
        "source usage: column value: is empty (expected a number) (account 'a013', signal"
        " 'logins', 2026-11-01)" + NOTHING,
    ),
    "before earliest": (
        _bad(BASE, 14, date=date(1999, 12, 31)),
        "",
        "source usage: column date: 1999-12-31 is before 2000-01-01 (`date_limits.earliest`)"
        " (account 'a014', signal 'logins', 1999-12-31)" + NOTHING,
    ),
    "replace window": (
        BASE,
        "    replace: window\n",
        "source usage: `replace: window` does not apply to a table read in place: healthbot"
        " stores none of its rows, so there is nothing to retract (the table is the truth as"
        " it stands); remove `replace` from this source",
    ),
    "combine": (
        BASE,
        "    combine: sum\n",
        "source usage: `combine: sum` does not apply to a table read in place: healthbot cannot"
        " merge rows it does not copy; remove `combine` and give the table one row per account,"
        " signal and date (e.g. a view with GROUP BY)",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_is_one_line_and_changes_nothing(
    case: str, engine: Engine, project: SyncProject, warehouse: Warehouse
) -> None:
    warehouse.load("usage", BASE)
    run_sync(engine, setup(project, warehouse), project.root, TODAY)
    frame, extra, message = REFUSALS[case]
    warehouse.load("usage", frame)
    before = dump_tables(engine)
    with pytest.raises(DataError) as caught:
        run_sync(engine, setup(project, warehouse, extra), project.root, TODAY)
    assert str(caught.value) == message
    assert dump_tables(engine) == before
    assert signal_rows(engine) == 0


def test_a_future_date_and_a_count_bound_are_refused(
    engine: Engine, project: SyncProject, warehouse: Warehouse
) -> None:
    future = date.today() + timedelta(days=400)
    warehouse.load("usage", _bad(BASE, 2, date=future))
    with pytest.raises(DataError, match=rf"column date: {future} is after .* \(today: a signal"):
        run_sync(engine, setup(project, warehouse), project.root, TODAY)
    warehouse.load("usage", _bad(BASE, 2, value=2.5))
    counted = setup(project, warehouse, "", "signals:\n  logins: {kind: count, max: 100}\n")
    with pytest.raises(DataError, match=r"2\.5 is out of bounds .* not a count"):
        run_sync(engine, counted, project.root, TODAY)
    warehouse.load("usage", _bad(BASE, 2, value=101.0))
    with pytest.raises(DataError, match=r"101 is out of bounds .* above the maximum 100"):
        run_sync(engine, counted, project.root, TODAY)
    assert signal_rows(engine) == 0 and in_place_rows(engine) == []


def test_unknown_accounts_skip_is_honoured(
    engine: Engine, project: SyncProject, warehouse: Warehouse
) -> None:
    frame = pd.concat([BASE, long_frame(range(900, 903), DAYS[:2])], ignore_index=True)
    warehouse.load("usage", frame)
    model = setup(project, warehouse, "    unknown_accounts: skip\n")
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert summary.skipped == 6 and summary.recent_accounts == 150
    assert signal_rows(engine) == 0


def test_the_shrink_guard_compares_counts_stored_per_sync(
    engine: Engine, project: SyncProject, warehouse: Warehouse
) -> None:
    warehouse.load("usage", BASE)
    model = setup(project, warehouse)
    run_sync(engine, model, project.root, TODAY)
    later = [d + timedelta(days=14) for d in DAYS[:7]]  # a new week with 20 of 150 accounts
    warehouse.load("usage", pd.concat([BASE, long_frame(range(20), later)], ignore_index=True))
    before = dump_tables(engine)
    with pytest.raises(Blocked) as caught:
        run_sync(engine, model, project.root, TODAY + timedelta(days=7))
    assert str(caught.value) == (
        'signals source "usage" would leave 20 accounts with data in the latest 7 days, down'
        " from 150 (87% fewer, limit 50%); if this export is complete, run: healthbot sync"
        " --allow-shrink"
    )
    assert dump_tables(engine) == before
    run_sync(engine, model, project.root, TODAY + timedelta(days=7), allow_shrink=True)
    assert [r["recent_accounts"] for r in in_place_rows(engine)] == [150, 20]
    assert signal_rows(engine) == 0


def test_a_change_after_the_sync_is_a_drift_line(
    engine: Engine, project: SyncProject, warehouse: Warehouse
) -> None:
    warehouse.load("usage", BASE)
    model = setup(project, warehouse)
    assert in_place_changes(engine, model) == [
        'in-place source "usage" (table usage) was never validated by a sync; run: healthbot sync'
    ]
    run_sync(engine, model, project.root, TODAY)
    assert in_place_changes(engine, model) == []
    warehouse.execute("INSERT INTO usage VALUES ('a001', DATE '2026-11-15', 'logins', 4.0)")
    [line] = in_place_changes(engine, model)
    assert line.startswith('in-place source "usage" (table usage) changed since the sync that')
    assert line.endswith(
        "2,100 rows up to 2026-11-14 then, 2,101 rows up to 2026-11-15 now; run: healthbot sync"
    )
    warehouse.execute("UPDATE usage SET value = value + 1 WHERE account_id = 'a002'")
    run_sync(engine, model, project.root, TODAY)
    assert in_place_changes(engine, model) == []
    warehouse.execute("UPDATE usage SET value = value + 1 WHERE account_id = 'a002'")
    assert len(in_place_changes(engine, model)) == 1  # same rows and dates, other values


def test_a_password_is_never_printed(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", accounts_csv(3))
    url = "postgres://healthbot:s3cr3t-pw@127.0.0.1:1/warehouse"
    model = project.model(ACCOUNTS + IN_PLACE, environ={"WAREHOUSE_URL": url})
    with pytest.raises(DataError) as caught:
        run_sync(engine, model, project.root, TODAY)
    assert str(caught.value).startswith(
        "source usage: cannot connect to signals URL postgres://healthbot:***@127.0.0.1:1/warehouse:"
    )
    assert "s3cr3t" not in str(caught.value)


def test_a_declared_unique_key_is_trusted_where_the_database_enforces_it(
    engine: Engine, project: SyncProject, warehouse: Warehouse
) -> None:
    from scoring.store.warehouse import connect, declared_unique

    key = {"account_id", "signal", "date"}
    warehouse.load("usage", BASE)
    assert not declared_unique(connect(warehouse.url, "usage"), "usage", key)
    warehouse.execute("ALTER TABLE usage ADD PRIMARY KEY (account_id, signal, date)")
    backend = connect(warehouse.url, "usage")
    assert declared_unique(backend, "usage", key)
    assert not declared_unique(backend, "usage", {"account_id", "date"})
    run_sync(engine, setup(project, warehouse), project.root, TODAY)
    assert in_place_rows(engine)[0]["rows"] == len(BASE) and signal_rows(engine) == 0


def test_sync_and_forget_on_the_command_line(
    db_url: str,
    project: SyncProject,
    warehouse: Warehouse,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import bot.cli

    monkeypatch.setattr(bot.cli, "COMMAND_MODULES", ["bot.cli.sync", "bot.cli.forget"])
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HEALTHBOT_CONFIG", str(project.root / "healthbot.yml"))
    monkeypatch.setenv("WAREHOUSE_URL", warehouse.url)
    warehouse.load("usage", BASE)
    setup(project, warehouse)
    assert bot.cli.main(["sync", "--today", str(TODAY), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "signals usage: 2,100 rows validated in place (table usage, not copied)" in out
    assert bot.cli.main(["forget", "a007", "--yes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        'source "usage" is read in place from table usage: healthbot cannot delete from it,'
        " and its rows for 'a007' stay there (14 rows); delete them in the warehouse"
    )
    assert out[1] == "forgot 'a007': removed 1 from accounts"


@pytest.mark.postgres
def test_the_duplicate_scan_runs_as_hash_aggregates_on_postgres_and_resets(tmp_path):
    """The planner settings that keep the duplicate scan's groups in hash tables (not sorted
    to disk) hold on the validation connection for that scan only."""
    from scoring.store.warehouse import connect, one_hash_aggregate

    wh = Warehouse("postgres", tmp_path)
    try:
        wh.load("usage", long_frame(range(50), [date(2026, 11, 1), date(2026, 11, 2)]))
        backend = connect(wh.url, "usage")

        def setting(name: str) -> str:
            with backend.raw_sql(f"SHOW {name}") as cursor:
                return str(cursor.fetchone()[0])

        before = setting("work_mem"), setting("enable_sort")
        scan = (
            "EXPLAIN SELECT account_id, signal, date - DATE '1970-01-01' FROM usage"
            " GROUP BY 1, 2, 3 HAVING count(*) > 1"
        )
        with one_hash_aggregate(backend):
            assert (setting("work_mem"), setting("enable_sort")) == ("64MB", "off")
            with backend.raw_sql(scan) as cursor:
                plan = " ".join(str(r[0]) for r in cursor.fetchall())
        assert "HashAggregate" in plan and "Sort" not in plan, plan
        assert (setting("work_mem"), setting("enable_sort")) == before
        backend.disconnect()
    finally:
        wh.close()


def test_a_blocked_run_sees_an_in_place_table_change(project, warehouse):
    """A blocked run's fingerprint of an in-place source is its data, not its name: the
    scheduler (`bot/jobs/blocked.py` `unblocked`) runs the period again once the table is
    corrected, and not while it stays as it was."""
    from scoring.sync.fingerprint import fingerprint, sources_changed

    warehouse.load("usage", long_frame(range(100), DAYS))
    model = setup(project, warehouse)
    recorded = fingerprint(model, project.root)
    assert recorded["tables"] == {
        "usage": {"rows": 1400, "max_date": "2026-11-14", "value_sum": pytest.approx(7000.0)}
    }
    assert not sources_changed(model, project.root, recorded)
    warehouse.load("usage", long_frame(range(100), DAYS))  # rewritten, the same data
    assert not sources_changed(model, project.root, recorded)
    warehouse.execute("UPDATE usage SET value = value + 1 WHERE account_id = 'a007'")
    assert sources_changed(model, project.root, recorded)


def test_the_duplicate_scan_is_exact_across_buckets_and_years(warehouse):
    """The bucketed bit scan finds a repeated date wherever it falls (a bucket's first or last
    day, before 1970) and never reports distinct dates as one (120 days in a row)."""
    from scoring.config.sources import Source
    from scoring.store.warehouse import connect, long_view, raw_table, renamed
    from scoring.sync.in_place_duplicates import duplicate_account

    days = [date(1969, 11, 1) + timedelta(days=k) for k in range(120)]
    frame = long_frame(range(3), days)
    source = Source(kind="signals", url=warehouse.url, table="usage")

    def found(rows: pd.DataFrame) -> str | None:
        warehouse.load("usage", rows)
        backend = connect(warehouse.url, "usage")
        try:
            table = renamed(raw_table(backend, source, "usage"), source)
            return duplicate_account(long_view(table, source))
        finally:
            backend.disconnect()

    assert found(frame) is None
    for day in (date(1969, 12, 31), date(1970, 1, 30), date(1970, 1, 31), days[-1]):
        extra = frame[(frame["account_id"] == "a001") & (frame["date"] == day)]
        assert found(pd.concat([frame, extra], ignore_index=True)) == "a001", day
