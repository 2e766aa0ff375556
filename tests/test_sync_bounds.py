"""Values within bounds (issue #18): a finite but absurd number or date is refused whole, like
a malformed one — one line naming source, row, column, value and the rule; nothing changes.

Each refusal runs after a good first sync, with valid new rows in the sources before the bad one,
so a partial load would show up as a changed table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.batch.jobs import score_and_store
from scoring.config import parse_model
from scoring.errors import ConfigError, DataError
from scoring.store import load_accounts, load_outcomes
from scoring.sync import run_sync
from tests.db_fixtures import SyncProject, dump_tables

TODAY = date(2026, 11, 21)
REAL_TODAY = datetime.now(UTC).date()  # the model's time zone is UTC
FUTURE = REAL_TODAY + timedelta(days=3)
ACCOUNTS = "account_id,name,arr\nacme,Acme,1000\nbeta,Beta,2000\n"
GOOD = "account_id,date,signal,value\nacme,2026-11-01,logins,1\n"
NEW_GOOD = GOOD + "beta,2026-11-01,logins,2\n"
SOURCES = """\
  - kind: accounts
    path: exports/accounts.csv
  - kind: signals
    path: exports/good.csv
"""
BOUNDS = """\
signals:
  tickets: {kind: count}
  nps: {min: 0, max: 10}
  arr_change: {max_abs: 1e9}
"""
LONG = "account_id,date,signal,value\nacme,2026-11-02,logins,3\n"

# name: (file, content, extra YAML for the bad source, model extra, expected message)
CASES = {
    "the issue's 1e308 tickets": (
        "bad.csv",
        LONG + "acme,2026-11-03,tickets,1e308\n",
        "",
        "",
        "source exports/bad.csv: line 3, column value: 1e+308 is out of bounds for signal"
        " 'tickets': beyond ±1e+12 (`signals.tickets.max_abs` raises the limit);"
        " sync changed nothing",
    ),
    "negative beyond the magnitude limit": (
        "bad.csv",
        LONG + "acme,2026-11-03,delta,-2e12\n",
        "",
        "",
        "line 3, column value: -2e+12 is out of bounds for signal 'delta': beyond ±1e+12",
    ),
    "a declared max_abs": (
        "bad.csv",
        LONG + "acme,2026-11-03,arr_change,2000000000\n",
        "",
        BOUNDS,
        "line 3, column value: 2e+09 is out of bounds for signal 'arr_change': beyond ±1e+09",
    ),
    "a negative count": (
        "bad.csv",
        LONG + "acme,2026-11-03,tickets,-1\n",
        "",
        BOUNDS,
        "line 3, column value: -1 is out of bounds for signal 'tickets': not a count"
        " (`signals.tickets.kind: count`: a whole number ≥ 0)",
    ),
    "a fractional count": (
        "bad.csv",
        LONG + "acme,2026-11-03,tickets,2.5\n",
        "",
        BOUNDS,
        "line 3, column value: 2.5 is out of bounds for signal 'tickets': not a count",
    ),
    "above max": (
        "bad.csv",
        LONG + "acme,2026-11-03,nps,11\n",
        "",
        BOUNDS,
        "line 3, column value: 11 is out of bounds for signal 'nps': above the maximum 10"
        " (`signals.nps.max`)",
    ),
    "below min, wide layout names its column": (
        "bad.csv",
        "account_id,date,nps,tickets\nacme,2026-11-02,7,1\nbeta,2026-11-02,-1,\n",
        "    layout: wide\n",
        BOUNDS,
        "line 3, column nps: -1 is out of bounds for signal 'nps': below the minimum 0",
    ),
    "the first offending row in the file wins": (
        "bad.csv",
        LONG + "acme,2026-11-04,nps,12\nacme,2026-11-03,tickets,-1\n",
        "",
        BOUNDS,
        "line 3, column value: 12 is out of bounds for signal 'nps'",
    ),
    "combine: sum leaving the bounds": (
        "bad.csv",
        LONG + "acme,2026-11-03,nps,6\nacme,2026-11-03,nps,6\n",
        "    combine: sum\n",
        BOUNDS,
        "line 3, column value: 12 (after `combine: sum`) is out of bounds for signal 'nps':"
        " above the maximum 10",
    ),
    "a signal dated in the future": (
        "bad.csv",
        LONG + f"acme,{FUTURE},logins,1\n",
        "",
        "",
        f"line 3, column date: {FUTURE} is after {REAL_TODAY} (today: a signal cannot be"
        " observed in the future)",
    ),
    "a signal dated in 1900": (
        "bad.csv",
        LONG + "acme,1900-01-01,logins,1\n",
        "",
        "",
        "line 3, column date: 1900-01-01 is before 2000-01-01 (`date_limits.earliest`)",
    ),
    "a configured earliest date": (
        "bad.csv",
        LONG + "acme,2009-12-31,logins,1\n",
        "",
        "date_limits: {earliest: 2010-01-01}\n",
        "line 3, column date: 2009-12-31 is before 2010-01-01 (`date_limits.earliest`)",
    ),
    "negative ARR": (
        "bad.csv",
        "account_id,arr\ndelta,5\nepsilon,-100\n",
        "kind: accounts",
        "",
        "line 3, column arr: -100 is negative (ARR is ≥ 0)",
    ),
    "absurd ARR": (
        "bad.csv",
        "account_id,arr\ndelta,1e13\n",
        "kind: accounts",
        "",
        "line 2, column arr: 1e+13 is beyond ±1e+12",
    ),
    "a renewal date 11 years ahead": (
        "bad.csv",
        "account_id,renewal_date\ndelta,2027-01-01\nepsilon,2037-11-22\n",
        "kind: accounts",
        "",
        "line 3, column renewal_date: 2037-11-22 is after 2036-11-21 (10 years after the"
        " sync's today, `date_limits.renewal_years_ahead`)",
    ),
    "a churn date in 1999": (
        "bad.csv",
        "account_id,churned_on\ndelta,1999-12-31\n",
        "kind: accounts",
        "",
        "line 2, column churned_on: 1999-12-31 is before 2000-01-01",
    ),
    "an outcome in 1990": (
        "bad.csv",
        "account_id,date,outcome\nacme,2026-11-01,renewed\nbeta,1990-05-01,churned\n",
        "kind: outcomes",
        "",
        "line 3, column date: 1990-05-01 is before 2000-01-01",
    ),
}


def bad_source(extra: str) -> str:
    kind = extra.removeprefix("kind: ") if extra.startswith("kind: ") else "signals"
    options = "" if extra.startswith("kind: ") else extra
    return f"  - kind: {kind}\n    path: exports/bad.csv\n{options}"


@pytest.fixture
def synced(engine: Engine, project: SyncProject) -> tuple[Engine, SyncProject]:
    project.write("exports/accounts.csv", ACCOUNTS)
    project.write("exports/good.csv", GOOD)
    run_sync(engine, project.model(SOURCES), project.root, TODAY)
    project.write("exports/good.csv", NEW_GOOD)
    return engine, project


@pytest.mark.parametrize("case", list(CASES))
def test_a_value_out_of_bounds_is_refused_and_nothing_changes(
    synced: tuple[Engine, SyncProject], case: str
) -> None:
    engine, project = synced
    file, content, extra, model_extra, expected = CASES[case]
    project.write(f"exports/{file}", content)
    model = project.model(SOURCES + bad_source(extra), model_extra)
    before = dump_tables(engine)
    with pytest.raises(DataError) as caught:
        run_sync(engine, model, project.root, TODAY)
    message = str(caught.value)
    assert expected in message
    assert message.endswith("; sync changed nothing")
    assert "\n" not in message
    assert dump_tables(engine) == before


def test_parquet_rows_are_named_in_a_bounds_refusal(synced: tuple[Engine, SyncProject]) -> None:
    engine, project = synced
    frame = pd.DataFrame(
        {
            "account_id": ["acme", "beta"],
            "date": pd.to_datetime(["2026-11-02", "2026-11-02"]),
            "tickets": [1.0, -3.0],
        }
    )
    project.parquet("exports/wide.parquet", frame)
    model = project.model(
        SOURCES + "  - kind: signals\n    path: exports/wide.parquet\n    layout: wide\n", BOUNDS
    )
    before = dump_tables(engine)
    with pytest.raises(DataError, match=r"row 2, column tickets: -3 is out of bounds.*not a count"):
        run_sync(engine, model, project.root, TODAY)
    assert dump_tables(engine) == before


def test_values_on_the_bounds_and_undeclared_negatives_are_accepted(
    engine: Engine, project: SyncProject
) -> None:
    project.write(
        "exports/accounts.csv",
        "account_id,arr,renewal_date,churned_on\n"
        "acme,0,2036-11-21,\nbeta,1e12,2000-01-01,2036-11-21\n",
    )
    project.write(
        "exports/good.csv",
        "account_id,date,signal,value\n"
        "acme,2026-11-21,delta,-1e12\n"  # today, and a legitimately negative change
        "acme,2000-01-01,nps,0\nbeta,2026-11-20,nps,10\n"
        "beta,2026-11-20,tickets,0\nacme,2026-11-20,tickets,7\n"
        "acme,2026-11-20,arr_change,-1e9\n",
    )
    project.write("exports/outcomes.csv", "account_id,date,outcome\nacme,2036-11-21,renewed\n")
    sources = SOURCES + "  - kind: outcomes\n    path: exports/outcomes.csv\n"
    model = project.model(sources, BOUNDS, signal="tickets")
    summaries = run_sync(engine, model, project.root, TODAY)
    assert [s.inserted for s in summaries] == [2, 6, 1]
    assert load_accounts(engine).set_index("account_id").loc["beta", "arr"] == 1e12
    assert len(load_outcomes(engine)) == 1


def test_a_sync_for_a_past_day_accepts_data_that_exists_by_now(
    engine: Engine, project: SyncProject
) -> None:
    """A weekly run retried days after its as-of syncs with today = as_of + 1: the days since
    are real data, not the future."""
    project.write("exports/accounts.csv", ACCOUNTS)
    project.write("exports/good.csv", GOOD + f"acme,{REAL_TODAY},logins,2\n")
    summaries = run_sync(engine, project.model(SOURCES), project.root, date(2026, 11, 1))
    assert summaries[1].inserted == 2


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("signals: {nps: {min: 10, max: 0}}", "signals.nps: `min` (10) is above `max` (0)"),
        ("signals: {tickets: {kind: count, min: -1}}", "`kind: count` is never negative"),
        ("signals: {x: {max_abs: 0}}", "`max_abs` must be above 0 and at most 1e+100, got 0"),
        ("signals: {x: {max_abs: 1.0e+101}}", "at most 1e+100, got 1e+101"),
        ("signals: {x: {kind: counter}}", "signals.x.kind"),
        ("signals: {x: {maximum: 3}}", "signals.x.maximum"),
        ("date_limits: {renewal_years_ahead: 0}", "date_limits.renewal_years_ahead"),
        ("date_limits: {earliest: someday}", "date_limits.earliest"),
    ],
)
def test_a_bad_bounds_section_names_its_key(
    project: SyncProject, section: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        project.model(SOURCES, section + "\n")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_stored_values_that_add_up_to_infinity_never_become_the_best_score(
    engine: Engine, project: SyncProject
) -> None:
    """The issue's example, past sync (values stored before the bounds existed): the engine
    refuses to score rather than read an infinite ticket sum as "no tickets" (fill: 0)."""
    project.write("exports/accounts.csv", ACCOUNTS)
    project.write("exports/good.csv", GOOD)
    tickets = (
        "  tickets: {signal: tickets, aggregate: sum, window_days: 90,"
        " scale: {worst: 12, best: 0}, fill: 0, weight: 1}\n"
    )
    model = project.model(SOURCES)
    run_sync(engine, model, project.root, TODAY)
    with engine.begin() as conn:
        for day in (date(2026, 11, 2), date(2026, 11, 3)):
            conn.execute(
                sa.text(
                    "INSERT INTO signals (account_id, signal, date, value, source)"
                    " VALUES ('acme', 'tickets', :day, 1e308, 'by hand')"
                ),
                {"day": day},
            )
    scoring_model = parse_model(
        f"metrics:\n  logins: {{signal: logins, window_days: 30, scale: {{worst: 0, best: 10}},"
        f" weight: 1}}\n{tickets}",
        "healthbot.yml",
        {},
    )
    before = dump_tables(engine)
    with pytest.raises(DataError) as caught:
        score_and_store(engine, scoring_model, [date(2026, 11, 20)])
    assert (
        "metric 'tickets' (sum of signal 'tickets' over 90 days) is not a finite number for"
        " account 'acme' as of 2026-11-20"
    ) in str(caught.value)
    assert dump_tables(engine) == before
