"""Migrations on both databases: first revision to head, the models match, data survives."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import scoring.store
from scoring.errors import HealthbotError
from scoring.store import current_revision, downgrade, ensure_schema, head_revision, upgrade
from scoring.store.schema import MIGRATIONS_DIR, revisions

FIRST_TABLES = {
    "accounts",
    "signals",
    "outcomes",
    "score_snapshots",
    "snapshot_metrics",
    "runs",
    "leases",
}


def tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_ship_inside_the_package() -> None:
    assert MIGRATIONS_DIR.parent.name == "scoring"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert revisions()[0] == "0001_initial"
    assert revisions()[-1] == head_revision()


def test_upgrade_from_the_first_revision_to_head_one_step_at_a_time(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    assert upgrade(empty_engine, "0001_initial") == (None, "0001_initial")
    assert tables(empty_engine) == FIRST_TABLES
    with empty_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO accounts (account_id, name, first_seen, updated_at)"
                " VALUES ('acme', 'Acme', '2026-01-01', '2026-01-01 00:00:00')"
            )
        )
    previous = "0001_initial"
    for revision in revisions()[1:]:
        assert upgrade(empty_engine, revision) == (previous, revision)
        previous = revision
    assert current_revision(empty_engine) == head_revision()
    with empty_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM accounts")).scalar() == "Acme"


def test_head_schema_matches_the_models(engine: Engine) -> None:
    for module in pkgutil.iter_modules(scoring.store.__path__, "scoring.store."):
        importlib.import_module(module.name)  # every table on SQLModel.metadata
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
        )
    assert diff == []


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    assert downgrade(engine, "base") == (head_revision(), None)
    assert tables(engine) == set()
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()
    assert FIRST_TABLES <= tables(engine)


def test_ensure_schema_upgrades_an_older_database_and_is_idempotent(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0001_initial")
    ensure_schema(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    ensure_schema(empty_engine)
    assert current_revision(empty_engine) == head_revision()


def test_a_newer_schema_than_the_code_knows_is_refused(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(HealthbotError, match="9999_future, which this version of healthbot"):
        ensure_schema(empty_engine)


def test_tables_without_migration_history_are_refused(empty_engine: Engine) -> None:
    with empty_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE accounts (account_id VARCHAR PRIMARY KEY)"))
    with pytest.raises(HealthbotError, match="no migration history"):
        ensure_schema(empty_engine)


def test_upgrade_accepts_a_url(db_url: str) -> None:
    before, after = upgrade(db_url)
    assert (before, after) == (None, head_revision())
    assert current_revision(db_url) == head_revision()


@pytest.mark.slow
def test_two_processes_upgrading_at_once_take_turns(db_url: str) -> None:
    """Processes, not threads: Alembic's `context` is process-global."""
    import subprocess
    import sys

    code = "import sys; from scoring.store import *; ensure_schema(make_engine(sys.argv[1]))"
    runs = [
        subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    errors = [run.communicate(timeout=120)[1].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    assert current_revision(db_url) == head_revision()


@pytest.mark.slow
def test_two_processes_opening_a_new_sqlite_file_at_once_both_start(tmp_path: Path) -> None:
    """A first deploy starts web and worker together on a file that does not exist yet. Two
    races lived here: both switch the file to WAL as they connect, and SQLite answered one
    "database is locked" at once (about one process in thirty); and one read "no revision"
    just before the other migrated, then saw the new tables and refused them as foreign (the
    revision is now judged under the migration lock)."""
    import subprocess
    import sys

    code = "import sys; from scoring.store import *; ensure_schema(make_engine(sys.argv[1]))"
    errors = []
    for i in range(24):
        url = f"sqlite:///{tmp_path / f'new{i}.db'}"
        pair = [
            subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        errors += [run.communicate(timeout=120)[1].decode() for run in pair]
    assert [e for e in errors if e] == []


def test_two_outcomes_for_one_account_and_day_become_one(empty_engine: Engine) -> None:
    """Before 0009 a re-export could add a second outcome for a day; the most consequential
    one is kept (which was newer cannot be known) and every other day is untouched."""
    upgrade(empty_engine, "0008_request_signatures")
    rows = [
        ("acme", "2026-03-01", "renewed"),
        ("acme", "2026-03-01", "churned"),
        ("beta", "2026-03-01", "expanded"),
        ("beta", "2026-03-01", "renewed"),
        ("gamma", "2026-04-01", "renewed"),
    ]
    with empty_engine.begin() as conn:
        for account, day, outcome in rows:
            conn.execute(
                sa.text("INSERT INTO outcomes VALUES (:a, :d, :o)"),
                {"a": account, "d": day, "o": outcome},
            )
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT account_id, outcome FROM outcomes ORDER BY account_id")
        ).all()
    assert [tuple(r) for r in kept] == [
        ("acme", "churned"),
        ("beta", "renewed"),
        ("gamma", "renewed"),
    ]
    with pytest.raises(sa.exc.IntegrityError), empty_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO outcomes VALUES ('gamma', '2026-04-01', 'churned')"))
