"""The store on real databases: engines, snapshots, signal windows, accounts, forget, runs."""

from __future__ import annotations

import math
import threading
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.batch.views import load_period
from scoring.decisions.history import drivers
from scoring.errors import HealthbotError, LookupFailed
from scoring.store import (
    acquire_lease,
    count_account_rows,
    finish_run,
    forget_account,
    last_run,
    list_periods,
    load_accounts,
    load_outcomes,
    load_signals,
    load_snapshots,
    make_engine,
    normalize_url,
    release_lease,
    save_snapshots,
    start_run,
)
from scoring.store.bulk import write_frame
from scoring.store.leases import (
    LEASES,
    Taken,
    heartbeat,
    holds,
    list_leases,
    live_holders,
    release_all,
    set_lease_run,
    take_lease,
)
from scoring.store.snapshot_points import points_long
from scoring.store.tables import utcnow
from tests.db_fixtures import dump_tables

ACCOUNT_TYPES = {
    "account_id": "str",
    "name": "str",
    "owner_email": "str",
    "segment": "str",
    "arr": "float",
    "renewal_date": "date",
    "status": "str",
    "churned_on": "date",
    "attributes": "str",
    "first_seen": "date",
    "inactive_since": "date",
    "updated_at": "datetime",
}


def add_accounts(engine: Engine, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    for column, kind in ACCOUNT_TYPES.items():
        if column not in frame:
            frame[column] = None
        if kind == "float":
            frame[column] = frame[column].astype(float)
    frame["first_seen"] = frame["first_seen"].fillna(pd.Timestamp("2026-01-01"))
    frame["name"] = frame["name"].fillna(frame["account_id"])
    frame["updated_at"] = utcnow()
    with engine.begin() as conn:
        write_frame(conn, "accounts", frame, ACCOUNT_TYPES)


def add_signals(engine: Engine, rows: list[tuple[str, str, str, float]]) -> None:
    frame = pd.DataFrame(rows, columns=["account_id", "signal", "date", "value"])
    frame["source"] = "test"
    frame["valid_until"] = None
    types = {
        "account_id": "str",
        "signal": "str",
        "date": "date",
        "value": "float",
        "source": "str",
        "valid_until": "date",
    }
    with engine.begin() as conn:
        write_frame(conn, "signals", frame, types)


def add_outcomes(engine: Engine, rows: list[tuple[str, str, str]]) -> None:
    frame = pd.DataFrame(rows, columns=["account_id", "date", "outcome"])
    with engine.begin() as conn:
        write_frame(
            conn, "outcomes", frame, {"account_id": "str", "date": "date", "outcome": "str"}
        )


# ---- engines -----------------------------------------------------------------------------


def test_sqlite_engine_is_wal_with_busy_timeout_and_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("given", ["postgres://u:p@h/db", "postgresql://u:p@h/db"])
def test_plain_postgres_urls_use_psycopg3(given: str) -> None:
    assert normalize_url(given).drivername == "postgresql+psycopg"
    engine = make_engine(given, check=False)
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_bad_url_is_one_friendly_line() -> None:
    with pytest.raises(HealthbotError, match="database URL is not valid") as caught:
        make_engine("not a url at all")
    assert "\n" not in str(caught.value)


def test_unreachable_server_is_one_line_without_the_password() -> None:
    with pytest.raises(HealthbotError) as caught:
        make_engine("postgresql://healthbot:s3cret-pw@127.0.0.1:1/nowhere")
    message = str(caught.value)
    assert message.startswith("cannot connect to database postgresql+psycopg://healthbot:***@")
    assert "s3cret-pw" not in message
    assert "\n" not in message


def test_sqlite_file_in_missing_directory_is_friendly(tmp_path) -> None:
    with pytest.raises(HealthbotError, match="cannot connect to database"):
        make_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")


def test_readers_are_not_blocked_by_an_open_write_transaction(engine: Engine) -> None:
    add_accounts(engine, [{"account_id": "acme"}])
    writer = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
    with writer.begin():
        writer.exec_driver_sql("UPDATE accounts SET name = 'changing'")
        other = make_engine(engine.url.render_as_string(hide_password=False))
        try:
            started = pd.Timestamp.now()
            accounts = load_accounts(other)
            assert (pd.Timestamp.now() - started).total_seconds() < 1
            assert accounts["name"].tolist() == ["acme"]  # the committed value
        finally:
            other.dispose()
    writer.close()


# ---- snapshots ---------------------------------------------------------------------------


def scores_and_metrics(ids: list[str], offset: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(ids)
    rng = np.random.default_rng(7)
    score = rng.random(n) * 100 + offset
    score[-1] = np.nan  # insufficient data
    scores = pd.DataFrame(
        {
            "account_id": ids,
            "segment_rule": ["enterprise"] + [None] * (n - 1),
            "score": score,
            "score_shown": np.round(score, 1),
            "band": ["healthy"] * (n - 1) + ["insufficient_data"],
            "band_rank": pd.array([0] * (n - 1) + [None], dtype="Int64"),
            "completeness": [1.0] * (n - 1) + [0.2],
            "status": ["scored"] * (n - 1) + ["insufficient_data"],
        }
    )
    metrics = pd.DataFrame(
        {
            "account_id": np.repeat(ids, 2),
            "metric": ["logins", "tickets"] * n,
            "raw": rng.random(2 * n),
            "has_data": [True, False] * n,
            "metric_score": [55.5, np.nan] * n,
            "weight": [2.0, 1.0] * n,
            "share": [1 / 3, np.nan] * n,
            "points": [1 / 7, np.nan] * n,
        }
    )
    return scores, metrics


def test_snapshots_round_trip_at_full_precision(engine: Engine) -> None:
    ids = [f"a{i:03d}" for i in range(50)]
    scores, metrics = scores_and_metrics(ids)
    stored = save_snapshots(engine, "2026-W47", date(2026, 11, 22), "v1", scores, metrics)
    assert stored == 50
    got_scores, got_metrics = load_snapshots(engine, ["2026-W47"])
    assert got_scores["account_id"].tolist() == ids
    np.testing.assert_array_equal(got_scores["score"].to_numpy(), scores["score"].to_numpy())
    assert math.isnan(got_scores["score"].iloc[-1])
    assert got_scores["band_rank"].isna().tolist() == [False] * 49 + [True]
    assert got_scores["segment_rule"].iloc[0] == "enterprise"
    assert pd.isna(got_scores["segment_rule"].iloc[1])
    assert set(got_scores["as_of"]) == {pd.Timestamp("2026-11-22")}
    assert set(got_scores["model_version"]) == {"v1"}
    assert got_scores["as_of"].dtype == "datetime64[ns]"
    assert len(got_metrics) == 100
    first = got_metrics.iloc[0]
    assert (first["metric"], bool(first["has_data"]), first["share"]) == ("logins", True, 1 / 3)
    assert first["points"] == 1 / 7
    assert got_metrics["has_data"].dtype == bool
    assert got_metrics["metric_score"].isna().sum() == 50


AWKWARD_POINTS = [1 / 7, np.nan, 5e-324, -0.0, 1e300, 12.0, -3.25, 0.1]


def drivers_the_long_way(engine: Engine, period: str, before: str) -> pd.DataFrame:
    _, metrics = load_snapshots(engine, [period, before])
    return drivers(metrics[metrics["period"] == period], metrics[metrics["period"] == before])


@pytest.mark.parametrize("stored_before_0006", [False, True])
def test_comparison_drivers_equal_the_metric_rows_exactly(
    engine: Engine, stored_before_0006: bool
) -> None:
    """load_period reads each week's points from the snapshots' JSON copy (or, for snapshots
    stored before revision 0006, from snapshot_metrics): same drivers, bit for bit."""
    ids = [f"a{i}" for i in range(8)]
    scores, metrics = scores_and_metrics(ids)
    metrics["points"] = AWKWARD_POINTS + AWKWARD_POINTS[::-1]
    save_snapshots(engine, "2026-W46", date(2026, 11, 15), "v1", scores, metrics)
    later, later_metrics = scores_and_metrics(ids[2:] + ["new"], offset=1.0)
    later_metrics["points"] = np.arange(len(later_metrics)) * 1.5 - 4
    later_metrics = later_metrics[later_metrics["account_id"] != "a5"]  # no metric rows
    save_snapshots(engine, "2026-W47", date(2026, 11, 22), "v1", later, later_metrics)
    if stored_before_0006:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE score_snapshots SET points = NULL"))
    view = load_period(engine, "2026-W47")
    expected = drivers_the_long_way(engine, "2026-W47", "2026-W46")
    assert len(expected) > 0 and not expected["delta_points"].isna().any()
    got = view.drivers
    assert got["account_id"].tolist() == expected["account_id"].tolist()
    assert got["metric"].tolist() == expected["metric"].tolist()
    np.testing.assert_array_equal(got["delta_points"], expected["delta_points"])
    assert "a5" not in set(got["account_id"]) and "new" not in set(got["account_id"])


def test_points_read_back_from_chunked_arrow_text() -> None:
    """A large PostgreSQL read hands the JSON column over in several Arrow chunks."""
    chunked = pa.chunked_array([['{"x":1,"y":null}', "{}"], ['{"x":-0.5,"y":2.5e-300}']])
    texts = pd.Series(pd.arrays.ArrowStringArray(chunked))
    got = points_long(pd.Series(["a", "b", "c"]), texts)
    assert got.to_dict("list") == {
        "account_id": ["a", "c", "c"],
        "metric": ["x", "x", "y"],
        "points": [1.0, -0.5, 2.5e-300],
    }


def test_saving_a_period_again_replaces_it_and_leaves_others(engine: Engine) -> None:
    ids = [f"a{i}" for i in range(10)]
    scores, metrics = scores_and_metrics(ids)
    save_snapshots(engine, "2026-W46", date(2026, 11, 15), "v1", scores, metrics)
    save_snapshots(engine, "2026-W47", date(2026, 11, 22), "v1", scores, metrics)
    fewer, fewer_metrics = scores_and_metrics(ids[:3], offset=1.0)
    save_snapshots(engine, "2026-W47", date(2026, 11, 21), "v2", fewer, fewer_metrics)
    w47, w47_metrics = load_snapshots(engine, ["2026-W47"])
    assert w47["account_id"].tolist() == ids[:3]
    assert set(w47["model_version"]) == {"v2"}
    assert len(w47_metrics) == 6
    w46, _ = load_snapshots(engine, ["2026-W46"])
    assert len(w46) == 10
    assert list_periods(engine) == ["2026-W46", "2026-W47"]
    one, one_metrics = load_snapshots(engine, account_ids=["a1"])
    assert one["period"].tolist() == ["2026-W46", "2026-W47"]
    assert set(one_metrics["account_id"]) == {"a1"}


def test_save_snapshots_refuses_a_frame_without_its_columns(engine: Engine) -> None:
    scores, metrics = scores_and_metrics(["a", "b"])
    with pytest.raises(HealthbotError, match="lacks band"):
        save_snapshots(
            engine, "2026-W47", date(2026, 11, 22), "v1", scores.drop(columns="band"), metrics
        )
    assert list_periods(engine) == []


def test_empty_store_loads_empty_typed_frames(engine: Engine) -> None:
    scores, metrics = load_snapshots(engine)
    assert scores.empty and metrics.empty
    assert list(scores.columns)[:3] == ["period", "account_id", "as_of"]
    signals = load_signals(engine, date(2026, 1, 1), date(2026, 2, 1))
    assert list(signals.columns) == ["account_id", "date", "signal", "value", "valid_until"]
    assert load_accounts(engine).empty
    assert load_outcomes(engine).empty


# ---- signals, accounts, outcomes -----------------------------------------------------------


def test_load_signals_window_is_start_exclusive_end_inclusive(engine: Engine) -> None:
    add_signals(
        engine,
        [
            ("acme", "logins", "2026-10-31", 1.0),
            ("acme", "logins", "2026-11-01", 2.0),
            ("acme", "logins", "2026-11-30", 3.0),
            ("acme", "logins", "2026-12-01", 4.0),
            ("acme", "tickets", "2026-11-15", 5.0),
            ("beta", "logins", "2026-11-15", 0.25),
        ],
    )
    got = load_signals(engine, date(2026, 10, 31), date(2026, 11, 30))
    assert sorted(got["value"].tolist()) == [0.25, 2.0, 3.0, 5.0]
    assert got["date"].dtype == "datetime64[ns]"
    assert isinstance(got["account_id"].dtype, pd.CategoricalDtype)
    assert got["value"].dtype == "float64"
    only = load_signals(engine, date(2026, 10, 31), date(2026, 11, 30), ["tickets"])
    assert only["value"].tolist() == [5.0]
    assert load_signals(engine, date(2026, 10, 31), date(2026, 11, 30), []).empty
    edge = load_signals(engine, date(2026, 11, 30) - timedelta(days=1), date(2026, 11, 30))
    assert edge["value"].tolist() == [3.0]


def test_churned_on_comes_from_account_then_outcome_then_inactive_since(engine: Engine) -> None:
    add_accounts(
        engine,
        [
            {"account_id": "explicit", "churned_on": "2026-03-01", "inactive_since": "2026-05-01"},
            {"account_id": "by_outcome", "inactive_since": "2026-05-01"},
            {"account_id": "gone", "inactive_since": "2026-05-01"},
            {
                "account_id": "active",
                "arr": 1000.0,
                "attributes": '{"plan": "gold", "employees": 120, "name": "clash"}',
            },
        ],
    )
    add_outcomes(
        engine,
        [
            ("explicit", "2026-02-01", "churned"),
            ("by_outcome", "2026-04-10", "churned"),
            ("by_outcome", "2026-04-01", "churned"),
            ("active", "2026-04-01", "renewed"),
        ],
    )
    accounts = load_accounts(engine).set_index("account_id")
    assert accounts.loc["explicit", "churned_on"] == pd.Timestamp("2026-03-01")
    assert accounts.loc["by_outcome", "churned_on"] == pd.Timestamp("2026-04-01")
    assert accounts.loc["gone", "churned_on"] == pd.Timestamp("2026-05-01")
    assert pd.isna(accounts.loc["active", "churned_on"])
    assert accounts.loc["active", "plan"] == "gold"
    assert accounts.loc["active", "employees"] == 120
    assert accounts.loc["active", "name"] == "active"  # an attribute never shadows a field
    assert accounts["churned_on"].dtype == "datetime64[ns]"
    outcomes = load_outcomes(engine)
    assert outcomes["outcome"].tolist() == ["churned", "renewed", "churned", "churned"]
    assert outcomes["account_id"].tolist()[:2] == ["explicit", "active"]


# ---- forget ------------------------------------------------------------------------------


def test_forget_removes_the_account_everywhere_and_nothing_else(engine: Engine) -> None:
    add_accounts(engine, [{"account_id": "acme"}, {"account_id": "beta"}])
    add_signals(
        engine,
        [
            ("acme", "logins", "2026-11-01", 1.0),
            ("acme", "logins", "2026-11-02", 1.0),
            ("beta", "logins", "2026-11-01", 1.0),
        ],
    )
    add_outcomes(engine, [("acme", "2026-11-03", "churned")])
    scores, metrics = scores_and_metrics(["acme", "beta"])
    save_snapshots(engine, "2026-W47", date(2026, 11, 22), "v1", scores, metrics)
    assert count_account_rows(engine, "acme")["signals"] == 2
    before = dump_tables(engine)
    removed = forget_account(engine, "acme")
    assert list(removed)[0] == "accounts"
    assert {k: v for k, v in removed.items() if v} == {
        "accounts": 1,
        "signals": 2,
        "outcomes": 1,
        "score_snapshots": 1,
        "snapshot_metrics": 2,
    }
    assert not any(count_account_rows(engine, "acme").values())
    after = dump_tables(engine)
    for table, rows in after.items():
        assert rows == [r for r in before[table] if "acme" not in r], table
    with pytest.raises(LookupFailed, match="nothing is stored about account 'acme'"):
        forget_account(engine, "acme")


# ---- runs and leases ---------------------------------------------------------------------


def test_runs(engine: Engine) -> None:
    run_id = start_run(engine, "weekly", "2026-W47", transport="slack", holder="worker-1")
    running = last_run(engine, "weekly")
    assert running is not None
    assert (running["status"], running["transport"], running["holder"]) == (
        "running",
        "slack",
        "worker-1",
    )
    assert running["attempt"] == 1 and running["finished_at"] is None
    finish_run(engine, run_id, "delivering", accounts_scored=12, details={"note": "x"})
    run = last_run(engine, "weekly")
    assert run is not None
    assert (run["status"], run["accounts_scored"], run["details"]) == (
        "delivering",
        12,
        {"note": "x"},
    )
    assert run["finished_at"] >= run["started_at"]
    assert last_run(engine, "sync") is None
    with pytest.raises(ValueError, match="unknown run status 'ok'"):
        finish_run(engine, run_id, "ok")
    assert last_run(engine, "weekly")["status"] == "delivering"  # unchanged


def _beat_at(engine: Engine, holder: str, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(LEASES).where(LEASES.c.holder == holder).values(heartbeat_at=when))


def test_leases_are_held_by_heartbeat_and_taken_over_only_when_stale(engine: Engine) -> None:
    stale = timedelta(minutes=2)
    assert take_lease(engine, "weekly:2026-W47", "worker-1", stale, run_id=7) == Taken(True)
    refused = take_lease(engine, "weekly:2026-W47", "worker-2", stale)
    assert (refused.won, refused.held_by) == (False, "worker-1")
    assert take_lease(engine, "weekly:2026-W47", "worker-1", stale).won  # renew: no takeover
    assert take_lease(engine, "sweep", "worker-1", stale).won
    assert heartbeat(engine, "worker-1", stale) == 2  # one UPDATE renews all it holds
    assert heartbeat(engine, "worker-2", stale) == 0
    assert live_holders(engine, stale) == {"worker-1"}

    # A heartbeat younger than `stale` keeps the lease, however long the run has been going.
    _beat_at(engine, "worker-1", utcnow() - stale + timedelta(seconds=20))
    assert not take_lease(engine, "weekly:2026-W47", "worker-2", stale).won
    set_lease_run(engine, "weekly:2026-W47", "worker-1", 8)

    # No heartbeat for `stale`: the worker is gone and its lease is taken over, naming the run
    # it protected so the caller can mark that run abandoned.
    _beat_at(engine, "worker-1", utcnow() - stale - timedelta(seconds=1))
    assert live_holders(engine, stale) == set()
    taken = take_lease(engine, "weekly:2026-W47", "worker-2", stale)
    assert taken == Taken(True, took_over_from="worker-1", abandoned_run=8)
    assert holds(engine, "weekly:2026-W47", "worker-2")
    assert not holds(engine, "weekly:2026-W47", "worker-1")
    assert heartbeat(engine, "worker-1", stale) == 1  # it learns it lost one (keeps `sweep`)
    assert live_holders(engine, stale) == {"worker-1", "worker-2"}

    release_lease(engine, "weekly:2026-W47", "worker-2")
    assert take_lease(engine, "weekly:2026-W47", "worker-3", stale) == Taken(True)
    assert release_all(engine, "worker-1") == 1
    assert {r["name"]: r["holder"] for r in list_leases(engine)} == {"weekly:2026-W47": "worker-3"}
    # The old entry point still answers the same question.
    assert not acquire_lease(engine, "weekly:2026-W47", "worker-1", stale)
    release_lease(engine, "weekly:2026-W47", "worker-3")
    assert acquire_lease(engine, "weekly:2026-W47", "worker-1", stale)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT holder FROM leases")).scalar() == "worker-1"


def _race(engine: Engine, name: str, holders: list[str], stale: timedelta) -> dict[str, Taken]:
    """`holders` call take_lease at the same moment, each on its own thread."""
    start = threading.Barrier(len(holders))
    results: dict[str, Taken] = {}

    def take(holder: str) -> None:
        start.wait()
        results[holder] = take_lease(engine, name, holder, stale)

    threads = [threading.Thread(target=take, args=(h,)) for h in holders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_a_stale_lease_is_taken_over_by_exactly_one_worker(engine: Engine) -> None:
    """The staleness is re-checked inside the transaction that takes the lease, so workers
    racing for a dead worker's lease never both win."""
    stale = timedelta(minutes=2)
    for round_ in range(5):
        name = f"weekly:round-{round_}"
        assert take_lease(engine, name, "dead", stale, run_id=round_).won
        _beat_at(engine, "dead", utcnow() - timedelta(minutes=10))
        results = _race(engine, name, [f"w{i}" for i in range(4)], stale)
        winners = [h for h, r in results.items() if r.won]
        assert len(results) == 4 and len(winners) == 1, results
        assert results[winners[0]].took_over_from == "dead"
        assert results[winners[0]].abandoned_run == round_
        assert holds(engine, name, winners[0])
