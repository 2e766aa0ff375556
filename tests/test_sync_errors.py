"""Bad data is refused whole: a clear one-line error, and the database exactly as it was.

Each case runs after a good first sync, with valid *new* data in the sources before the bad one,
so a partial load would show up as a changed table.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from scoring.errors import DataError
from scoring.store import load_accounts
from scoring.sync import commit as sync_commit
from scoring.sync import run_sync
from tests.db_fixtures import SyncProject, dump_tables

TODAY = date(2026, 11, 21)
GOOD_ACCOUNTS = "account_id,name\nacme,Acme\nbeta,Beta\n"
NEW_ACCOUNTS = GOOD_ACCOUNTS + "gamma,Gamma\n"
GOOD_SIGNALS = "account_id,date,signal,value\nacme,2026-11-01,logins,1\n"
NEW_SIGNALS = GOOD_SIGNALS + "beta,2026-11-01,logins,2\nacme,2026-11-02,logins,3\n"
GOOD_SOURCES = """\
  - kind: accounts
    path: exports/accounts.csv
  - kind: signals
    path: exports/good.csv
"""

# (bad file name, its content, extra YAML for the bad source, expected message fragments)
CASES = {
    "missing required column": (
        "bad.csv",
        "account_id,date,signal\nacme,2026-11-01,logins\n",
        "",
        [
            "source exports/bad.csv",
            "missing required column value",
            "the columns are: account_id, date, signal",
        ],
    ),
    "missing mapped column": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,1\n",
        "    columns: {value: amount}\n",
        ["missing column amount (mapped to value"],
    ),
    "text value": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,1\nacme,2026-11-02,logins,lots\n",
        "",
        [
            "source exports/bad.csv: line 3, column value: 'lots' is not a number",
            "sync changed nothing",
        ],
    ),
    "inf": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,inf\n",
        "",
        ["line 2, column value: 'inf' is not a number"],
    ),
    "minus inf": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,-inf\n",
        "",
        ["line 2, column value: '-inf' is not a number"],
    ),
    "nan text": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,1\n"
        "acme,2026-11-03,logins,2\nacme,2026-11-04,logins,NaN\n",
        "",
        ["line 4, column value: 'NaN' is not a number"],
    ),
    "empty value in a long file": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,\n",
        "",
        ["line 2, column value: is empty (expected a number)"],
    ),
    "unparseable date": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,1\nacme,2026-13-01,logins,2\n",
        "",
        ["line 3, column date: '2026-13-01' is not a date (expected YYYY-MM-DD)"],
    ),
    "mapped column named as the user calls it": (
        "bad.csv",
        "account_id,day,signal,value\nacme,yesterday,logins,1\n",
        "    columns: {date: day}\n",
        ["line 2, column day (date): 'yesterday' is not a date"],
    ),
    "empty file": ("bad.csv", "", "", ["exports/bad.csv is empty"]),
    "header only": (
        "bad.csv",
        "account_id,date,signal,value\n",
        "",
        ["exports/bad.csv has no data rows"],
    ),
    "conflicting duplicate": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-05,logins,1\n"
        "beta,2026-11-05,logins,1\nacme,2026-11-05,logins,2\n",
        "",
        [
            "line 4, column value: 2 conflicts with 1 at line 2 for account 'acme', signal "
            "'logins', 2026-11-05",
            "combine: mean | sum | max | last",
        ],
    ),
    "conflict across sources": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,5\n",
        "",
        [
            "source exports/bad.csv: line 2, column value: 5 conflicts with 1 from source "
            "exports/good.csv (line 2)"
        ],
    ),
    "unknown account": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,1\nzeta,2026-11-01,logins,1\n",
        "",
        ["line 3, column account_id: account 'zeta' is unknown", "unknown_accounts: skip"],
    ),
    "empty account id": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-07,logins,1\n ,2026-11-01,logins,1\n",
        "",
        ["line 3, column account_id: is empty"],
    ),
    "no file matches": ("elsewhere.csv", "x\n1\n", "", ["no file matches exports/bad*.csv"]),
    "unknown outcome": (
        "bad.csv",
        "account_id,date,outcome\nacme,2026-11-01,lost\n",
        "kind: outcomes",
        ["line 2, column outcome: 'lost' is not an outcome (expected one of churned, renewed"],
    ),
    "churned flag not 0 or 1": (
        "bad.csv",
        "account_id,date,churned\nacme,2026-11-01,2\n",
        "kind: outcomes",
        ["line 2, column churned: 2 is not 0 or 1"],
    ),
    "outcomes without outcome or churned": (
        "bad.csv",
        "account_id,date\nacme,2026-11-01\n",
        "kind: outcomes",
        ["missing required column outcome"],
    ),
    "accounts without account_id": (
        "bad.csv",
        "name,segment\nAcme,smb\n",
        "kind: accounts",
        ["missing required column account_id"],
    ),
    "duplicated account": (
        "bad.csv",
        "account_id,name\ndelta,D\nepsilon,E\ndelta,D2\n",
        "kind: accounts",
        ["line 4, column account_id: account 'delta' appears twice (also at line 2)"],
    ),
    "account in two accounts sources": (
        "bad.csv",
        "account_id,name\nbeta,B\n",
        "kind: accounts",
        ["account 'beta' is also in source exports/accounts.csv (line 3)"],
    ),
    # values within bounds (issue #18; every kind of rule: tests/test_sync_bounds.py)
    "a finite but absurd value": (
        "bad.csv",
        "account_id,date,signal,value\nacme,2026-11-01,logins,1\nacme,2026-11-02,logins,1e308\n",
        "",
        ["line 3, column value: 1e+308 is out of bounds for signal 'logins': beyond ±1e+12"],
    ),
    "a signal dated 1900": (
        "bad.csv",
        "account_id,date,signal,value\nacme,1900-01-01,logins,1\n",
        "",
        ["line 2, column date: 1900-01-01 is before 2000-01-01 (`date_limits.earliest`)"],
    ),
    "negative arr": (
        "bad.csv",
        "account_id,arr\ndelta,-5\n",
        "kind: accounts",
        ["line 2, column arr: -5 is negative (ARR is ≥ 0)"],
    ),
    "renewal more than 10 years ahead": (
        "bad.csv",
        "account_id,renewal_date\ndelta,2040-01-01\n",
        "kind: accounts",
        ["line 2, column renewal_date: 2040-01-01 is after 2036-11-21"],
    ),
    "text arr": (
        "bad.csv",
        "account_id,arr\ndelta,12k\n",
        "kind: accounts",
        ["line 2, column arr: '12k' is not a number"],
    ),
}


def bad_source(file: str, extra: str) -> str:
    kind = extra.removeprefix("kind: ") if extra.startswith("kind: ") else "signals"
    options = "" if extra.startswith("kind: ") else extra
    path = "exports/bad*.csv" if file == "elsewhere.csv" else "exports/bad.csv"
    return f"  - kind: {kind}\n    path: {path}\n{options}"


@pytest.fixture
def synced(engine: Engine, project: SyncProject) -> tuple[Engine, SyncProject]:
    project.write("exports/accounts.csv", GOOD_ACCOUNTS)
    project.write("exports/good.csv", GOOD_SIGNALS)
    run_sync(engine, project.model(GOOD_SOURCES), project.root, TODAY)
    project.write("exports/accounts.csv", NEW_ACCOUNTS)
    project.write("exports/good.csv", NEW_SIGNALS)
    return engine, project


@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_is_refused_and_nothing_changes(
    synced: tuple[Engine, SyncProject], case: str
) -> None:
    engine, project = synced
    file, content, extra, fragments = CASES[case]
    project.write(f"exports/{file}", content)
    model = project.model(GOOD_SOURCES + bad_source(file, extra))
    before = dump_tables(engine)
    with pytest.raises(DataError) as caught:
        run_sync(engine, model, project.root, TODAY)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message
    assert dump_tables(engine) == before


def test_parquet_rows_are_numbered_from_one_and_name_their_file(
    synced: tuple[Engine, SyncProject],
) -> None:
    engine, project = synced
    project.parquet(
        "exports/wide/a.parquet",
        pd.DataFrame({"account_id": ["acme"], "date": ["2026-11-01"], "logins": ["1"]}),
    )
    project.parquet(
        "exports/wide/b.parquet",
        pd.DataFrame(
            {
                "account_id": ["acme", "beta"],
                "date": ["2026-11-02", "2026-11-02"],
                "logins": ["2", "n/a"],
            }
        ),
    )
    model = project.model(
        GOOD_SOURCES + "  - kind: signals\n    path: exports/wide/*.parquet\n    layout: wide\n"
    )
    before = dump_tables(engine)
    with pytest.raises(
        DataError,
        match=r"exports/wide/b\.parquet row 2, column logins: 'n/a' is"
        " not a number",
    ):
        run_sync(engine, model, project.root, TODAY)
    assert dump_tables(engine) == before


def test_a_failing_query_is_reported_without_its_password(
    synced: tuple[Engine, SyncProject], tmp_path
) -> None:
    engine, project = synced
    model = project.model(
        GOOD_SOURCES
        + """\
  - kind: signals
    url: ${WAREHOUSE_URL}
    query: select * from no_such_table
""",
        environ={"WAREHOUSE_URL": f"sqlite:///{tmp_path / 'wh.db'}"},
    )
    before = dump_tables(engine)
    with pytest.raises(
        DataError,
        match="source signals query: query against sqlite:///.*no such table: no_such_table",
    ):
        run_sync(engine, model, project.root, TODAY)
    model = project.model(
        GOOD_SOURCES
        + """\
  - kind: signals
    url: postgresql://reader:hunter2-secret@127.0.0.1:1/wh
    query: select 1
"""
    )
    with pytest.raises(DataError) as caught:
        run_sync(engine, model, project.root, TODAY)
    assert "hunter2-secret" not in str(caught.value)
    assert "reader:***@127.0.0.1:1" in str(caught.value)
    assert dump_tables(engine) == before


def test_a_failure_inside_the_merge_rolls_everything_back(
    synced: tuple[Engine, SyncProject], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, project = synced
    model = project.model(GOOD_SOURCES)
    before = dump_tables(engine)

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(sync_commit, "record_run", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_sync(engine, model, project.root, TODAY)
    assert dump_tables(engine) == before
    monkeypatch.undo()
    summaries = run_sync(engine, model, project.root, TODAY)  # the stage was cleaned up
    assert summaries[1].inserted == 2


def test_no_sources_is_an_error(engine: Engine, project: SyncProject) -> None:
    model = project.model("  []\n")
    with pytest.raises(DataError, match="lists no `sources:`"):
        run_sync(engine, model, project.root, TODAY)


def test_a_database_failure_is_one_line_and_changes_nothing(tmp_path, project) -> None:
    """SQLite only: another writer holding the lock past the 5 s busy timeout."""
    from scoring.errors import HealthbotError
    from scoring.store import ensure_schema, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'locked.db'}")
    ensure_schema(engine)
    project.write("exports/accounts.csv", GOOD_ACCOUNTS)
    project.write("exports/good.csv", GOOD_SIGNALS)
    model = project.model(GOOD_SOURCES)
    before = dump_tables(engine)
    other = make_engine(f"sqlite:///{tmp_path / 'locked.db'}")
    with other.connect().execution_options(sqlite_begin="IMMEDIATE") as blocker:
        with blocker.begin():
            with pytest.raises(HealthbotError) as caught:
                run_sync(engine, model, project.root, TODAY)
    message = str(caught.value)
    assert message == "sync failed in the database and changed nothing: database is locked"
    assert dump_tables(engine) == before
    assert run_sync(engine, model, project.root, TODAY)[1].inserted == 1  # and it recovers
    other.dispose()
    engine.dispose()


# Refusals of mass changes and inconsistent corrections: (files to write, extra sources YAML,
# expected message fragments). The database is exactly as it was, like every case above.
GUARD_CASES = {
    "truncated accounts export": (
        {"accounts.csv": "account_id,name\nacme,Acme\n"},
        "",
        [
            'accounts source "exports/accounts.csv" would mark 2 of 3 active accounts inactive'
            " (67%, limit 10%); if this export is complete, run: healthbot sync --allow-shrink"
        ],
    ),
    "replace window removing most rows": (
        {"good.csv": "account_id,date,signal,value\nacme,2026-11-01,logins,1\n"},
        "    replace: window\n",
        ['signals source "exports/good.csv" would remove 1 of 2 stored rows', "--allow-shrink"],
    ),
    "two outcomes for one account and date": (
        {"bad.csv": "account_id,date,outcome\nacme,2026-11-05,renewed\nacme,2026-11-05,churned\n"},
        "  - kind: outcomes\n    path: exports/bad.csv\n",
        ["line 3", "'churned' conflicts with 'renewed'", "one outcome per date"],
    ),
}


@pytest.mark.parametrize("case", list(GUARD_CASES))
def test_mass_changes_and_conflicting_corrections_change_nothing(
    synced: tuple[Engine, SyncProject], case: str
) -> None:
    engine, project = synced
    files, extra, fragments = GUARD_CASES[case]
    run_sync(engine, project.model(GOOD_SOURCES), project.root, TODAY)  # 3 accounts, 3 rows
    for name, content in files.items():
        project.write(f"exports/{name}", content)
    model = project.model(GOOD_SOURCES + extra)
    before = dump_tables(engine)
    with pytest.raises(DataError) as caught:
        run_sync(engine, model, project.root, TODAY)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message
    assert dump_tables(engine) == before


# Every optional column of every source kind, present in the file but with no value in any row
# (a young customer base has no churned_on or renewal_date yet): simply empty, never a crash.
BLANK_ACCOUNTS = pd.DataFrame(
    {
        "account_id": ["acme", "beta"],
        "name": ["", ""],
        "owner_email": ["", ""],
        "segment": ["", ""],
        "status": ["", ""],
        "arr": ["", ""],
        "renewal_date": ["", ""],
        "churned_on": ["", ""],
        "plan": ["", ""],
    }
)
BLANK_WIDE = pd.DataFrame(
    {"account_id": ["acme", "beta"], "date": ["2026-11-03"] * 2, "logins": ["4", ""], "nps": ""}
)


@pytest.mark.parametrize("file_format", ["csv", "parquet", "parquet-nulls"])
def test_blank_optional_columns_are_simply_empty(
    engine: Engine, project: SyncProject, file_format: str
) -> None:
    def write(name: str, frame: pd.DataFrame) -> str:
        if file_format == "csv":
            project.write(f"exports/{name}.csv", frame.to_csv(index=False))
            return f"exports/{name}.csv"
        if file_format == "parquet-nulls":  # typed, all-null columns (what a warehouse writes)
            frame = frame.replace("", None)
            for column in ("arr",):
                if column in frame:
                    frame[column] = frame[column].astype("float64")
            for column in ("renewal_date", "churned_on"):
                if column in frame:
                    frame[column] = pd.to_datetime(frame[column])
        project.parquet(f"exports/{name}.parquet", frame)
        return f"exports/{name}.parquet"

    accounts, wide = write("accounts", BLANK_ACCOUNTS), write("wide", BLANK_WIDE)
    model = project.model(
        f"  - kind: accounts\n    path: {accounts}\n"
        f"  - kind: signals\n    path: {wide}\n    layout: wide\n"
    )
    summaries = run_sync(engine, model, project.root, TODAY)
    assert [s.inserted for s in summaries] == [2, 1]
    stored = load_accounts(engine).set_index("account_id")
    assert stored.loc["acme", "name"] == "acme"  # no name: the id stands in
    for column in ("owner_email", "segment", "status", "arr", "renewal_date", "churned_on"):
        assert stored[column].isna().all(), column
