"""`run_sync` on real databases: mapping, layouts, combine, skip, warehouse, re-sync, accounts."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from scoring.store import last_run, load_accounts, load_outcomes, load_signals
from scoring.sync import keep_days, retention_cutoff, run_sync
from tests.db_fixtures import SyncProject, dump_tables

TODAY = date(2026, 11, 21)
ACCOUNTS_CSV = """\
account_id,name,csm_email,segment,arr,renewal_date,plan,employees
acme,Acme Inc,ann@example.com,enterprise,120000,2027-01-31,gold,120
beta,,bob@example.com,smb,,,,5
gamma,Gamma,cat@example.com,smb,5000.5,2026-12-01,silver,
"""
LONG_CSV = """\
account_id,date,signal,value
acme,2026-11-01,logins,4
acme,2026-11-02,logins,5
beta,2026-11-01,logins,1
gamma,2026-11-01,tickets,2.5
"""
ACCOUNTS_SOURCE = """\
  - kind: accounts
    path: exports/accounts.csv
    columns: {owner_email: csm_email}
"""
LONG_SOURCE = """\
  - kind: signals
    path: exports/usage.csv
"""


def signals_of(engine: Engine) -> dict[tuple[str, str, str], float]:
    frame = load_signals(engine, date(2000, 1, 1), date(2100, 1, 1))
    return {
        (str(r.account_id), str(r.signal), r.date.strftime("%Y-%m-%d")): float(r.value)
        for r in frame.itertuples()
    }


def without_runs(dump: dict) -> dict:
    return {k: v for k, v in dump.items() if k != "runs"}


def counts(summary) -> tuple[int, int, int, int]:
    return summary.inserted, summary.updated, summary.unchanged, summary.skipped


def test_first_sync_then_resync_is_idempotent(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write("exports/usage.csv", LONG_CSV)
    project.write("exports/churn.csv", "account_id,date,outcome\ngamma,2026-11-10,Churned\n")
    model = project.model(
        ACCOUNTS_SOURCE + LONG_SOURCE + "  - kind: outcomes\n    path: exports/churn.csv\n"
    )
    first = run_sync(engine, model, project.root, TODAY)
    assert [s.kind for s in first] == ["accounts", "signals", "outcomes"]
    assert counts(first[0])[:3] == (3, 0, 0)
    assert counts(first[1]) == (4, 0, 0, 0)
    assert counts(first[2])[:3] == (1, 0, 0)
    assert first[1].line() == (
        "signals exports/usage.csv: 4 rows read; 4 inserted, 0 updated, 0 unchanged, 0 skipped"
    )
    accounts = load_accounts(engine).set_index("account_id")
    assert accounts.loc["acme", "owner_email"] == "ann@example.com"  # mapped column
    assert accounts.loc["beta", "name"] == "beta"  # empty name: the id
    assert accounts.loc["gamma", "arr"] == 5000.5
    assert pd.isna(accounts.loc["beta", "arr"])
    assert accounts.loc["acme", "renewal_date"] == pd.Timestamp("2027-01-31")
    assert accounts.loc["acme", "plan"] == "gold" and accounts.loc["acme", "employees"] == 120
    assert accounts.loc["gamma", "churned_on"] == pd.Timestamp("2026-11-10")  # from outcome
    assert (accounts["first_seen"] == pd.Timestamp(TODAY)).all()
    assert signals_of(engine)[("gamma", "tickets", "2026-11-01")] == 2.5
    assert load_outcomes(engine)["outcome"].tolist() == ["churned"]
    before = dump_tables(engine)

    again = run_sync(engine, model, project.root, TODAY)
    assert counts(again[0])[:3] == (0, 0, 3)
    assert counts(again[1]) == (0, 0, 4, 0)
    assert counts(again[2])[:3] == (0, 0, 1)
    assert without_runs(dump_tables(engine)) == without_runs(before)
    run = last_run(engine, "sync")
    assert run is not None and run["status"] == "ok"
    assert [s["unchanged"] for s in run["details"]["sources"]] == [3, 4, 1]


def test_a_newer_export_updates_values_and_adds_days(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write("exports/usage.csv", LONG_CSV)
    model = project.model(ACCOUNTS_SOURCE + LONG_SOURCE)
    run_sync(engine, model, project.root, TODAY)
    project.write(
        "exports/usage.csv",
        LONG_CSV.replace("acme,2026-11-02,logins,5", "acme,2026-11-02,logins,6")
        + "acme,2026-11-03,logins,7\n"  # a new day
        + "gamma,2026-11-02,logins,1\n",  # new, within the days already stored
    )
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert counts(summary) == (2, 1, 3, 0)
    stored = signals_of(engine)
    assert stored[("acme", "logins", "2026-11-02")] == 6
    assert stored[("acme", "logins", "2026-11-03")] == 7
    assert stored[("gamma", "logins", "2026-11-02")] == 1
    assert len(stored) == 6


def test_wide_parquet_glob_with_empty_cells(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.parquet(
        "exports/usage/2026-10.parquet",
        pd.DataFrame(
            {
                "account_id": ["acme", "beta"],
                "date": [date(2026, 10, 31), date(2026, 10, 31)],
                "logins": [3.0, None],
                "seats": [10, 4],
            }
        ),
    )
    project.parquet(
        "exports/usage/2026-11.parquet",
        pd.DataFrame(
            {
                "account_id": ["acme", "gamma"],
                "date": [date(2026, 11, 1), date(2026, 11, 1)],
                "logins": [np.nan, 2.0],
                "seats": [11, 5],
            }
        ),
    )
    model = project.model(
        ACCOUNTS_SOURCE + "  - kind: signals\n    path: exports/usage/*.parquet\n    layout: wide\n"
    )
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert (summary.rows_read, summary.values, summary.inserted) == (4, 6, 6)
    assert "4 rows read (6 values)" in summary.line()
    stored = signals_of(engine)
    assert ("beta", "logins", "2026-10-31") not in stored  # empty cell: no observation
    assert stored[("acme", "seats", "2026-11-01")] == 11
    assert stored[("gamma", "logins", "2026-11-01")] == 2


def test_wide_csv_with_signal_list_and_mapping(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write(
        "exports/wide.csv",
        ("customer,day,daily_logins,seats,notes\nacme,2026-11-01,3,,hello\nbeta,2026-11-01,,2,\n"),
    )
    model = project.model(
        ACCOUNTS_SOURCE
        + """\
  - kind: signals
    path: exports/wide.csv
    layout: wide
    columns: {account_id: customer, date: day, logins: daily_logins}
    signals: [logins, seats]
"""
    )
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert summary.values == 2
    assert signals_of(engine) == {
        ("acme", "logins", "2026-11-01"): 3.0,
        ("beta", "seats", "2026-11-01"): 2.0,
    }


@pytest.mark.parametrize(
    ("how", "expected"), [("mean", 5.0), ("sum", 15.0), ("max", 9.0), ("last", 2.0)]
)
def test_combine(engine: Engine, project: SyncProject, how: str, expected: float) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write(
        "exports/nps.csv",
        (
            "account_id,date,signal,value\n"
            "acme,2026-11-01,nps,4\n"
            "beta,2026-11-01,nps,8\n"
            "acme,2026-11-01,nps,9\n"
            "acme,2026-11-01,nps,2\n"
        ),
    )
    model = project.model(
        ACCOUNTS_SOURCE + f"  - kind: signals\n    path: exports/nps.csv\n    combine: {how}\n",
        signal="nps",
    )
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert (summary.rows_read, summary.values, summary.combined) == (4, 2, 2)
    assert signals_of(engine) == {
        ("acme", "nps", "2026-11-01"): expected,
        ("beta", "nps", "2026-11-01"): 8.0,
    }


def test_identical_duplicates_are_harmless(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write("exports/usage.csv", LONG_CSV + "acme,2026-11-01,logins,4.0\n")
    model = project.model(ACCOUNTS_SOURCE + LONG_SOURCE)
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert (summary.rows_read, summary.inserted) == (5, 4)


def test_the_same_observation_from_two_sources(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write("exports/usage.csv", LONG_CSV)
    project.write("exports/more.csv", "account_id,date,signal,value\nacme,2026-11-01,logins,4\n")
    model = project.model(
        ACCOUNTS_SOURCE + LONG_SOURCE + "  - kind: signals\n    path: exports/more.csv\n"
    )
    summaries = run_sync(engine, model, project.root, TODAY)
    assert summaries[1].inserted == 4
    assert summaries[2].inserted == 0
    assert len(signals_of(engine)) == 4


def test_unknown_accounts_skip_counts(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write(
        "exports/usage.csv", LONG_CSV + "zeta,2026-11-01,logins,1\nzeta,2026-11-02,logins,1\n"
    )
    model = project.model(ACCOUNTS_SOURCE + LONG_SOURCE + "    unknown_accounts: skip\n")
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert counts(summary) == (4, 0, 0, 2)
    assert summary.line().endswith("2 skipped")
    assert not any(key[0] == "zeta" for key in signals_of(engine))


def test_signals_for_accounts_stored_by_an_earlier_sync_are_known(
    engine: Engine, project: SyncProject
) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    run_sync(engine, project.model(ACCOUNTS_SOURCE), project.root, TODAY)
    project.write("exports/usage.csv", LONG_CSV)
    summary = run_sync(engine, project.model(LONG_SOURCE), project.root, TODAY)[0]
    assert summary.inserted == 4


def test_warehouse_query_from_a_second_database(
    engine: Engine, project: SyncProject, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.db"
    with sqlite3.connect(warehouse) as conn:
        conn.execute("CREATE TABLE support_daily (account_id TEXT, day TEXT, n INTEGER)")
        conn.executemany(
            "INSERT INTO support_daily VALUES (?, ?, ?)",
            [
                ("acme", "2026-11-01", 3),
                ("beta", "2026-11-02", 0),
                ("nobody", "2026-11-02", 9),
            ],
        )
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    model = project.model(
        ACCOUNTS_SOURCE
        + """\
  - kind: signals
    url: ${WAREHOUSE_URL}
    query: select account_id, day as date, 'tickets_opened' as signal, n as value from support_daily
    unknown_accounts: skip
""",
        environ={"WAREHOUSE_URL": f"sqlite:///{warehouse}"},
        signal="tickets_opened",
    )
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert summary.source == "signals query"
    assert counts(summary) == (2, 0, 0, 1)
    assert signals_of(engine) == {
        ("acme", "tickets_opened", "2026-11-01"): 3.0,
        ("beta", "tickets_opened", "2026-11-02"): 0.0,
    }


def test_accounts_missing_from_the_export_become_inactive_and_keep_history(
    engine: Engine, project: SyncProject
) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write("exports/usage.csv", LONG_CSV)
    model = project.model(ACCOUNTS_SOURCE + LONG_SOURCE)
    run_sync(engine, model, project.root, date(2026, 11, 20))
    lines = ACCOUNTS_CSV.splitlines()
    without_beta = "\n".join(line for line in lines if not line.startswith("beta"))
    project.write("exports/accounts.csv", without_beta.replace("ann@", "new-owner@") + "\n")
    project.write("exports/usage.csv", LONG_CSV.replace("beta,2026-11-01,logins,1\n", ""))
    # 1 of 3 active accounts is past the 10% guard: confirmed as `sync --allow-shrink` would
    summary = run_sync(engine, model, project.root, date(2026, 11, 21), allow_shrink=True)[0]
    assert (summary.updated, summary.unchanged, summary.inactive) == (1, 1, 1)
    assert "1 marked inactive" in summary.line()
    accounts = load_accounts(engine).set_index("account_id")
    assert accounts.loc["beta", "inactive_since"] == pd.Timestamp("2026-11-21")
    assert accounts.loc["beta", "churned_on"] == pd.Timestamp("2026-11-21")
    assert accounts.loc["acme", "owner_email"] == "new-owner@example.com"
    assert ("beta", "logins", "2026-11-01") in signals_of(engine)  # history kept
    # still missing a day later: inactive from the first day it went missing
    run_sync(engine, model, project.root, date(2026, 11, 22))
    assert load_accounts(engine).set_index("account_id").loc["beta", "inactive_since"] == (
        pd.Timestamp("2026-11-21")
    )
    # back in the export: active again
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    summary = run_sync(engine, model, project.root, date(2026, 11, 23))[0]
    assert summary.updated == 2  # beta reactivated, acme's owner back
    accounts = load_accounts(engine).set_index("account_id")
    assert pd.isna(accounts.loc["beta", "inactive_since"])
    assert pd.isna(accounts.loc["beta", "churned_on"])
    assert accounts.loc["beta", "first_seen"] == pd.Timestamp("2026-11-20")


def test_a_churned_status_marks_the_account_inactive(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", "account_id,status\nacme,active\nbeta,Churned\n")
    model = project.model("  - kind: accounts\n    path: exports/accounts.csv\n")
    run_sync(engine, model, project.root, TODAY)
    accounts = load_accounts(engine).set_index("account_id")
    assert pd.isna(accounts.loc["acme", "inactive_since"])
    assert accounts.loc["beta", "inactive_since"] == pd.Timestamp(TODAY)
    assert accounts.loc["beta", "churned_on"] == pd.Timestamp(TODAY)
    assert accounts.loc["acme", "name"] == "acme"


def test_outcomes_from_a_churned_flag(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write(
        "exports/churn.csv",
        ("account_id,date,churned\nacme,2026-10-01,0\nbeta,2026-10-05,1\ngamma,2026-10-07,1\n"),
    )
    model = project.model(ACCOUNTS_SOURCE + "  - kind: outcomes\n    path: exports/churn.csv\n")
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert (summary.rows_read, summary.inserted) == (3, 2)
    outcomes = load_outcomes(engine)
    assert outcomes["account_id"].tolist() == ["beta", "gamma"]
    assert set(outcomes["outcome"]) == {"churned"}


def test_timestamps_with_an_offset_fall_on_the_model_timezone_day(
    engine: Engine, project: SyncProject
) -> None:
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write(
        "exports/usage.csv",
        (
            "account_id,date,signal,value\n"
            "acme,2026-11-01T23:30:00-05:00,logins,1\n"  # 04:30 UTC on 2 Nov: 05:30 in Paris
            "beta,2026-11-01 10:00:00,logins,2\n"
        ),
    )
    model = project.model(ACCOUNTS_SOURCE + LONG_SOURCE, extra="timezone: Europe/Paris\n")
    run_sync(engine, model, project.root, TODAY)
    assert set(signals_of(engine)) == {
        ("acme", "logins", "2026-11-02"),
        ("beta", "logins", "2026-11-01"),
    }


def test_retention_keeps_what_windows_and_backtests_need(
    engine: Engine, project: SyncProject
) -> None:
    rows = "".join(
        f"acme,{d:%Y-%m-%d},logins,1\n"
        for d in pd.date_range("2026-01-01", "2026-11-20", freq="10D")
    )
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write("exports/usage.csv", "account_id,date,signal,value\n" + rows)
    model = project.model(
        ACCOUNTS_SOURCE + LONG_SOURCE,
        extra="retention: {signal_days: 30}\nbacktest: {horizon_days: 90}\n",
    )
    assert keep_days(model) == 120  # 90-day backtest + the 30-day window beats 30 days
    cutoff = retention_cutoff(model, TODAY)
    assert cutoff == date(2026, 7, 24)
    run_sync(engine, model, project.root, TODAY)
    kept = sorted(key[2] for key in signals_of(engine))
    assert kept[0] > "2026-07-24"
    assert len(kept) == sum(
        d > pd.Timestamp(cutoff) for d in pd.date_range("2026-01-01", "2026-11-20", freq="10D")
    )
    assert last_run(engine, "sync")["details"]["pruned_signals"] == 21
    off = project.model(ACCOUNTS_SOURCE + LONG_SOURCE)
    assert keep_days(off) is None and retention_cutoff(off, TODAY) is None
