"""The `sync`, `db` and `forget` commands end to end: output, exit codes, confirmations."""

from __future__ import annotations

import io
import sys

import pytest
import sqlalchemy as sa

import bot.cli
from scoring.store import head_revision, make_engine
from tests.db_fixtures import SyncProject

MY_COMMANDS = ["bot.cli.db", "bot.cli.sync", "bot.cli.forget"]
ACCOUNTS = "account_id,name\nacme,Acme\nbeta,Beta\n"
SIGNALS = "account_id,date,signal,value\nacme,2026-11-01,logins,3\nbeta,2026-11-01,logins,1\n"
SOURCES = """\
  - kind: accounts
    path: exports/accounts.csv
  - kind: signals
    path: exports/usage.csv
"""


@pytest.fixture
def cli(db_url: str, project: SyncProject, monkeypatch: pytest.MonkeyPatch):
    """Run `healthbot ARGS` against the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(bot.cli, "COMMAND_MODULES", MY_COMMANDS)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HEALTHBOT_CONFIG", str(project.root / "healthbot.yml"))
    project.write("exports/accounts.csv", ACCOUNTS)
    project.write("exports/usage.csv", SIGNALS)
    project.model(SOURCES)

    def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        code = bot.cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_db_upgrade_then_current(cli, capsys) -> None:
    code, out, _ = cli("db", "current", capsys=capsys)
    assert code == 0 and out.strip().endswith("empty (run `healthbot db upgrade`)")
    code, out, _ = cli("db", "upgrade", capsys=capsys)
    assert code == 0 and out.strip().endswith(f"upgraded empty -> {head_revision()}")
    code, out, _ = cli("db", "upgrade", capsys=capsys)
    assert out.strip().endswith(f"already at {head_revision()} (head)")
    code, out, _ = cli("db", "current", capsys=capsys)
    assert out.strip().endswith(f"{head_revision()} (head)")


def test_sync_prints_a_line_per_source(cli, capsys) -> None:
    code, out, err = cli("sync", "--today", "2026-11-21", capsys=capsys)
    assert code == 0, err
    assert out.splitlines() == [
        "accounts exports/accounts.csv: 2 rows read; 2 inserted, 0 updated, 0 unchanged",
        "signals exports/usage.csv: 2 rows read; 2 inserted, 0 updated, 0 unchanged, 0 skipped",
    ]
    code, out, _ = cli("sync", capsys=capsys)
    assert "2 unchanged" in out.splitlines()[1]


def test_sync_with_bad_data_exits_nonzero_with_one_line(cli, capsys, project, db_url) -> None:
    project.write("exports/usage.csv", SIGNALS + "acme,2026-11-02,logins,lots\n")
    code, out, err = cli("sync", capsys=capsys)
    assert code == 1
    assert out == ""
    assert err == (
        "healthbot: source exports/usage.csv: line 4, column value: 'lots' is not a number;"
        " sync changed nothing\n"
    )
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM accounts")).scalar() == 0
    engine.dispose()


def test_forget_with_yes(cli, capsys) -> None:
    cli("sync", capsys=capsys)
    code, out, _ = cli("forget", "acme", "--yes", capsys=capsys)
    assert code == 0
    assert out.splitlines()[0] == "forgot 'acme': removed 1 from accounts, 1 from signals"
    code, _, err = cli("forget", "acme", "--yes", capsys=capsys)
    assert code == 1 and "nothing is stored about account 'acme'" in err


def test_forget_without_a_terminal_refuses(cli, capsys, monkeypatch) -> None:
    cli("sync", capsys=capsys)
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    code, out, err = cli("forget", "acme", capsys=capsys)
    assert code == 1
    assert "refusing to forget 'acme' without confirmation: pass --yes" in err
    code, out, _ = cli("forget", "acme", "--yes", capsys=capsys)
    assert code == 0  # it was still there


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("answer", "code", "removed"), [("y\n", 0, True), ("n\n", 1, False), ("", 1, False)]
)
def test_forget_asks_on_a_terminal(cli, capsys, monkeypatch, answer, code, removed) -> None:
    cli("sync", capsys=capsys)
    monkeypatch.setattr(sys, "stdin", FakeTerminal(answer))
    got, out, _ = cli("forget", "beta", capsys=capsys)
    assert got == code
    assert "This deletes every row stored about 'beta': 1 from accounts, 1 from signals." in out
    assert ("forgot 'beta'" in out) is removed


def test_unreachable_database_is_one_line(cli, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw-123@127.0.0.1:1/x")
    code, out, err = cli("sync", capsys=capsys)
    assert code == 1
    assert err.startswith("healthbot: cannot connect to database postgresql+psycopg://u:***@")
    assert err.count("\n") == 1 and "pw-123" not in err
