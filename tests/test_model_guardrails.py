"""Guardrails on the model file (issue #18): mistakes that used to load fine and silently
change scores now fail with one line naming the key path and the closest valid value.

Static mistakes (duplicate keys, a bad cron or time zone, a playbook naming an unknown band or
metric) fail for every command; mistakes only the data shows (a segment `where:` no account
matches, a metric's signal never synced, a playbook segment no account is in) fail the commands
that score or sync, on SQLite and PostgreSQL, and change nothing stored.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from bot.cli import main
from scoring.config import parse_model
from scoring.config.data_checks import check_against_data
from scoring.engine.score import score_accounts
from scoring.errors import ConfigError
from tests.db_fixtures import SyncProject, dump_tables
from tests.engine_helpers import AS_OF, accounts, metric, model, signals

METRIC = (
    "  usage: {signal: active_users, window_days: 30, scale: {worst: 0, best: 10}, weight: 1}\n"
)


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_model(text, "m.yml", {})
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- static: every command -------------------------------------------------------------------


def test_a_duplicate_key_names_its_key_path_and_both_lines():
    text = (
        "metrics:\n"
        "  usage:\n"
        "    signal: active_users\n"
        "    window_days: 30\n"
        "    scale: {worst: 0, best: 10}\n"
        "    weight: 1\n"
        "    weight: 5\n"
    )
    assert error_of(text) == (
        "m.yml line 7: metrics.usage.weight: duplicate key (first given on line 6;"
        " YAML would silently keep only the last)"
    )


def test_a_duplicate_top_level_section_and_one_inside_a_list_item_are_refused():
    assert "line 3: metrics: duplicate key (first given on line 1" in error_of(
        f"metrics:\n{METRIC}metrics:\n{METRIC}"
    )
    playbooks = "playbooks:\n  - name: a\n    steps: [x]\n  - name: b\n    name: c\n"
    assert "line 7: playbooks[1].name: duplicate key (first given on line 6" in error_of(
        f"metrics:\n{METRIC}{playbooks}"
    )


def test_the_same_key_in_two_different_mappings_is_not_a_duplicate():
    seats = "  seats: {signal: seats, window_days: 30, scale: {worst: 0, best: 1}, weight: 1}\n"
    text = f"metrics:\n{METRIC}{seats}"
    assert set(parse_model(text, "m.yml", {}).metrics) == {"usage", "seats"}


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ('{cron: "0 25 * * 1"}', "schedule.cron: Error validating expression '25'"),
        ('{cron: "0 8 * * 1/x"}', "schedule.cron: bad weekday step 'x' in '0 8 * * 1/x'"),
        ('{cron: "0 8 * * 9"}', "schedule.cron: weekday must be 0-7, got 9"),
        ('{cron: "0 8 * *"}', "schedule.cron: needs 5 fields"),
        (
            "{timezone: Europe/Berln}",
            "schedule.timezone: unknown time zone 'Europe/Berln' (closest: 'Europe/Berlin')",
        ),
    ],
    ids=["hour-25", "bad-step", "weekday-9", "four-fields", "zone-typo"],
)
def test_a_bad_cron_or_schedule_zone_fails_when_the_model_loads(schedule, expected):
    """Before: these passed `check` and failed with a traceback when the scheduler started."""
    assert expected in error_of(f"metrics:\n{METRIC}schedule: {schedule}\n")


def test_the_model_timezone_names_the_closest_zone():
    message = error_of(f"timezone: America/New_Yrok\nmetrics:\n{METRIC}")
    assert message == (
        "m.yml: timezone: unknown time zone 'America/New_Yrok' (closest: 'America/New_York')"
    )


def test_a_playbook_naming_an_unknown_band_or_metric_names_the_closest():
    band = error_of(f"metrics:\n{METRIC}playbooks:\n  - {{name: p, when: {{band: critcal}}}}\n")
    assert "playbooks[0].when.band: unknown band 'critcal' (closest: 'critical')" in band
    driver = error_of(f"metrics:\n{METRIC}playbooks:\n  - {{name: p, when: {{driver: usge}}}}\n")
    assert "playbooks[0].when.driver: unknown metric 'usge' (closest: 'usage')" in driver


# --- against the data: pure checks ------------------------------------------------------------

SEGMENTED = model(
    {"usage": metric("active_users")},
    segments={"ent": {"where": {"segment": "Enterprise"}, "weights": {"usage": 2}}},
)
ACCOUNTS = accounts("a", "b", segment=["Enterprise", "SMB"], tier=["gold", None])


def test_a_where_value_no_account_has_is_a_problem_with_the_closest_value():
    m = model(
        {"usage": metric("active_users")}, segments={"ent": {"where": {"segment": "Enterprize"}}}
    )
    assert [str(p) for p in check_against_data(m, ACCOUNTS, set())] == [
        "segments.ent.where.segment: no account has segment = 'Enterprize', so the segment"
        " matches nobody (closest: 'Enterprise')"
    ]


def test_a_where_key_no_account_has_is_a_problem_with_the_closest_attribute():
    m = model(
        {"usage": metric("active_users")}, segments={"ent": {"where": {"segmnt": "Enterprise"}}}
    )
    assert [str(p) for p in check_against_data(m, ACCOUNTS, set())] == [
        "segments.ent.where.segmnt: no account has an attribute 'segmnt' (closest: 'segment')"
    ]


def test_where_values_match_as_the_engine_matches_them():
    """Case does not matter, and whole numbers match as numbers: what the engine would put in
    the segment is not a problem."""
    m = model(
        {"usage": metric("active_users")},
        segments={
            "ent": {"where": {"segment": "enterprise"}},
            "big": {"where": {"employees": 120}},
        },
    )
    frame = accounts("a", "b", segment=["Enterprise", "SMB"], employees=["120", None])
    assert check_against_data(m, frame, set()) == []


def test_no_accounts_and_no_signals_means_nothing_to_check():
    m = model({"usage": metric("typo")}, segments={"ent": {"where": {"nothing": "here"}}})
    assert check_against_data(m, None, set()) == []
    assert check_against_data(m, ACCOUNTS.iloc[0:0], set()) == []


def test_a_signal_being_synced_counts_as_known():
    m = model({"usage": metric("active_users"), "nps": metric("nps")})
    assert check_against_data(m, None, {"active_users"}, synced_signals={"nps"}) == []
    [problem] = check_against_data(m, None, set(), synced_signals={"active_users"})
    assert str(problem).startswith(
        "metrics.nps.signal: no signal 'nps' is stored or in the sources being synced"
    )


def test_a_playbook_segment_no_account_is_in_is_a_problem():
    m = model(
        {"usage": metric("active_users")},
        playbooks=[{"name": "ent", "when": {"segment": "Enterprize"}}],
    )
    assert [str(p) for p in check_against_data(m, ACCOUNTS, set())] == [
        "playbooks[0].when.segment: no account is in segment 'Enterprize', so the playbook"
        " never applies (closest: 'Enterprise')"
    ]
    ok = model(
        {"usage": metric("active_users")}, playbooks=[{"name": "e", "when": {"segment": "smb"}}]
    )
    assert check_against_data(ok, ACCOUNTS, set()) == []


# --- the engine never drops declared weight -------------------------------------------------


def test_the_engine_refuses_a_metric_whose_signal_is_absent_entirely():
    m = model({"usage": metric("active_users", weight=65), "nps": metric("active_user", weight=35)})
    rows = signals([("a", 0, "active_users", 50), ("b", 0, "active_users", 90)])
    with pytest.raises(ConfigError) as caught:
        score_accounts(m, accounts("a", "b"), rows, AS_OF)
    assert str(caught.value).startswith(
        "metrics.nps.signal: no 'active_user' rows among the signals scored (signals present:"
        " active_users); refusing to score without this metric's weight"
    )


def test_a_metric_that_drops_no_weight_is_not_refused():
    """`fill`, a count-like aggregate and a weight of 0 give the metric its due without rows."""
    m = model(
        {
            "usage": metric("active_users"),
            "tickets": metric("tickets", "sum", fill=0, scale={"worst": 10, "best": 0}),
            "logins": metric("logins", "count", scale={"worst": 0, "best": 10}),
            "unused": metric("unused", weight=0),
        }
    )
    result = score_accounts(m, accounts("a"), signals([("a", 0, "active_users", 50)]), AS_OF)
    row = result.accounts.iloc[0]
    assert row["status"] == "scored" and row["completeness"] == pytest.approx(1.0)
    assert row["score"] == pytest.approx((50 + 100 + 0) / 3)


# --- commands on SQLite and PostgreSQL ---------------------------------------------------------

ACCOUNTS_CSV = """\
account_id,name,csm_email,segment
acme,Acme Inc,ann@example.com,Enterprise
beta,Beta,bob@example.com,SMB
"""
USAGE_CSV = """\
account_id,date,signal,value
acme,2026-11-15,active_users,40
beta,2026-11-15,active_users,60
"""
SOURCES = """\
sources:
  - {kind: accounts, path: exports/accounts.csv, columns: {owner_email: csm_email}}
  - {kind: signals, path: exports/usage.csv}
"""


def model_text(signal: str = "active_users", where: str = "{segment: Enterprise}") -> str:
    return (
        "metrics:\n"
        f"  usage: {{signal: {signal}, window_days: 30, scale: {{worst: 0, best: 100}},"
        " weight: 1}\n"
        f"segments:\n  ent:\n    where: {where}\n    bands:\n"
        "      - {name: healthy, min: 90}\n      - {name: at_risk, min: 50}\n"
        "      - {name: critical, min: 0}\n"
        f"{SOURCES}"
    )


@pytest.fixture
def synced(db_url: str, project: SyncProject, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project synced once into the test database; returns its model file."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("HEALTHBOT_CONFIG", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    project.write("exports/accounts.csv", ACCOUNTS_CSV)
    project.write("exports/usage.csv", USAGE_CSV)
    path = project.write("healthbot.yml", model_text())
    assert main(["sync", "--config", str(path), "--today", "2026-11-20", "--no-progress"]) == 0
    return path


def stored(db_url: str) -> dict:
    from scoring.store import make_engine

    engine = make_engine(db_url)
    try:
        return {k: v for k, v in dump_tables(engine).items() if k != "runs"}
    finally:
        engine.dispose()


DATA_CHECKED = [
    ["check"],
    ["score", "--as-of", "2026-11-19"],
    ["backtest", "--from", "2026-11-16", "--to", "2026-11-19"],
    ["calibrate", "--from", "2026-11-16", "--to", "2026-11-19"],
    ["sync", "--today", "2026-11-20", "--no-progress"],
]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            {"where": "{segment: Enterprize}"},
            "segments.ent.where.segment: no account has segment = 'Enterprize', so the segment"
            " matches nobody (closest: 'Enterprise')",
        ),
        (
            {"where": "{segmnt: Enterprise}"},
            "segments.ent.where.segmnt: no account has an attribute 'segmnt' (closest: 'segment')",
        ),
        (
            {"signal": "active_user"},
            "metrics.usage.signal: no signal 'active_user' is stored",
        ),
    ],
    ids=["where-value", "where-key", "signal"],
)
def test_scoring_and_syncing_commands_refuse_a_model_that_does_not_fit_the_data(
    synced: Path, db_url: str, capsys: pytest.CaptureFixture[str], edit: dict, expected: str
):
    synced.write_text(model_text(**edit))
    before = stored(db_url)
    for command in DATA_CHECKED:
        capsys.readouterr()
        assert main([*command, "--config", str(synced)]) == 1, command
        err = capsys.readouterr().err
        assert expected in err, (command, err)
        assert "Traceback" not in err and err.count("\n") == 1, err
    assert stored(db_url) == before


def test_other_commands_load_the_model_without_the_data_checks(
    synced: Path, capsys: pytest.CaptureFixture[str]
):
    assert main(["score", "--as-of", "2026-11-19", "--config", str(synced)]) == 0
    synced.write_text(model_text(where="{segment: Enterprize}"))
    capsys.readouterr()
    assert main(["history", "acme", "--config", str(synced)]) == 0
    assert main(["export", "scores", "--json", "--config", str(synced)]) == 0
    assert "Acme Inc" in capsys.readouterr().out


def test_an_empty_database_skips_the_data_checks(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = tmp_path / "healthbot.yml"
    path.write_text(model_text(signal="not_synced_yet", where="{tier: gold}"))
    assert main(["check", "--config", str(path)]) == 0
    assert "OK (1 metrics, 1 segments" in capsys.readouterr().out


def test_a_new_source_and_its_metric_are_added_in_one_edit(
    synced: Path, project: SyncProject, db_url: str
):
    project.write("exports/nps.csv", "account_id,date,signal,value\nacme,2026-11-15,nps,9\n")
    text = model_text().replace(
        "  usage:",
        "  nps: {signal: nps, window_days: 90, scale: {worst: 0, best: 10}, weight: 1}\n  usage:",
    )
    synced.write_text(text + "  - {kind: signals, path: exports/nps.csv}\n")
    assert main(["sync", "--config", str(synced), "--today", "2026-11-20", "--no-progress"]) == 0
    assert main(["check", "--config", str(synced)]) == 0


def test_sync_checks_segments_against_the_accounts_it_is_about_to_commit(
    synced: Path, project: SyncProject, db_url: str, capsys
):
    """The export renames the segment: the model's segment would match nobody after it."""
    project.write("exports/accounts.csv", ACCOUNTS_CSV.replace("Enterprise", "Large"))
    before = stored(db_url)
    capsys.readouterr()
    assert main(["sync", "--config", str(synced), "--today", "2026-11-20", "--no-progress"]) == 1
    assert "no account has segment = 'Enterprise'" in capsys.readouterr().err
    assert stored(db_url) == before


def test_a_weekly_run_with_a_misspelt_signal_fails_with_the_one_line_reason(
    synced: Path, db_url: str
):
    from sqlalchemy import text

    from bot.delivery.terminal import TerminalTransport
    from bot.jobs.weekly import run_weekly
    from scoring.config import load_model
    from scoring.store import last_run, make_engine

    synced.write_text(model_text(signal="active_user"))
    engine: Engine = make_engine(db_url)
    try:
        transport = TerminalTransport(synced.parent / "outbox", stream=io.StringIO())
        with pytest.raises(ConfigError, match="metrics.usage.signal: no signal 'active_user'"):
            run_weekly(
                engine, load_model(synced), synced.parent, date(2026, 11, 19), transport, sync=False
            )
        run = last_run(engine, "weekly")
        assert run is not None and run["status"] == "failed"
        assert "closest: 'active_users'" in run["error"]
        with engine.connect() as conn:  # nothing was scored without the metric's weight
            assert conn.execute(text("select count(*) from score_snapshots")).scalar() == 0
    finally:
        engine.dispose()


def test_a_backtest_over_weeks_before_a_signal_began_keeps_the_completeness_rules():
    """A signal that exists in the history handed in, but not yet in an early week, is a gap
    in those weeks (completeness), not a signal absent entirely."""
    from scoring.validation.backtest import run_backtest

    m = model({"u": metric("u", weight=1), "v": metric("v", weight=1)}, min_completeness=0.5)
    rows = signals([("a", 60, "u", 50), ("b", 60, "u", 70), ("a", 0, "u", 50), ("a", 0, "v", 100)])
    outcomes = pd.DataFrame(columns=["account_id", "date", "outcome"])
    early = AS_OF - timedelta(days=56)
    result = run_backtest(m, accounts("a", "b"), rows, outcomes, [early, AS_OF], 30)
    first = result.rows[result.rows["as_of"] == pd.Timestamp(early)].set_index("account_id")
    assert first.loc["a", "score"] == pytest.approx(50.0)  # over u alone: v is a gap
    assert first.loc["b", "score"] == pytest.approx(70.0)


def test_run_weekly_command_fails_with_one_line_and_scores_nothing(
    synced: Path, db_url: str, capsys: pytest.CaptureFixture[str]
):
    synced.write_text(model_text(where="{segment: Enterprize}"))
    capsys.readouterr()
    code = main(["run-weekly", "--terminal", "--as-of", "2026-11-19", "--config", str(synced)])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("healthbot: model file: segments.ent.where.segment: no account has")
    assert "(closest: 'Enterprise')" in err and "Traceback" not in err
    assert stored(db_url)["score_snapshots"] == []


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{kind: signals, table: usage}", "needs either `path` (CSV/Parquet) or `url` (with"),
        ("{kind: signals, url: 'duckdb:///w.duckdb'}", "either a `query` (its rows are copied"),
        ("{kind: accounts, url: 'duckdb:///w.duckdb', table: t}", "applies to signals sources"),
    ],
)
def test_a_source_names_where_its_data_can_be(source: str, words: str) -> None:
    text = (
        "metrics:\n  usage: {signal: logins, aggregate: mean, window_days: 30,"
        " scale: {worst: 0, best: 10}, weight: 1}\n"
        f"sources:\n  - {source}\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_model(text)
    assert words in str(caught.value) and "sources[0]" in str(caught.value)
