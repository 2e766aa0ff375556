"""The `healthbot` command end to end, in-process, on a real SQLite file in a temp directory."""

from __future__ import annotations

import contextlib
import io
import json
import re
import warnings
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path)
        mp.delenv("SLACK_BOT_TOKEN", raising=False)
        mp.delenv("DATABASE_URL", raising=False)
        mp.delenv("HEALTHBOT_CONFIG", raising=False)
        out = io.StringIO()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
            warnings.simplefilter("always")
            assert main(["demo", "--seed", "3", "--accounts", "120"]) == 0
    path.joinpath("output.txt").write_text(out.getvalue())
    path.joinpath("warnings.txt").write_text(
        "\n".join(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught)
    )
    return path


def test_the_demo_raises_no_warning_from_healthbot_code(demo_dir):
    """A new user reads the demo's output: a pandas FutureWarning there looks like a bug (and is
    one waiting for the next pandas)."""
    ours = [str(Path(__file__).resolve().parents[1] / d) for d in ("scoring", "bot")]
    lines = (demo_dir / "warnings.txt").read_text().splitlines()
    assert [line for line in lines if line.startswith(tuple(ours))] == []


def test_the_demo_counts_its_dms_in_words(demo_dir):
    summary = re.search(r"^Alert DMs for \S+: (.*)$", (demo_dir / "output.txt").read_text(), re.M)
    assert summary, "the demo says how many DMs its last weekly run wrote"
    for item in summary.group(1).split(", "):
        n, words = item.split(" ", 1)
        assert words.endswith("s") == (n != "1"), item
    assert "(s)" not in summary.group(1)


def test_demo_writes_its_files_and_previews(demo_dir, capsys):
    assert (demo_dir / "healthbot.yml").exists() and (demo_dir / "healthbot.db").exists()
    previews = list((demo_dir / "outbox").glob("*.json"))
    assert previews, "the terminal transport writes Block Kit previews"
    assert all("blocks" in json.loads(p.read_text()) for p in previews)


def test_demo_refuses_to_overwrite_files_it_did_not_write(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "healthbot.yml").write_text("mine: true\n")
    assert main(["demo"]) == 1
    assert "refusing to overwrite healthbot.yml" in capsys.readouterr().err
    assert (tmp_path / "healthbot.yml").read_text() == "mine: true\n"


def test_lookup_history_and_export_after_the_demo(demo_dir, monkeypatch, capsys):
    monkeypatch.chdir(demo_dir)
    assert main(["lookup", "northwind"]) == 0
    card = capsys.readouterr().out
    assert "Northwind Logistics" in card and "Product usage" in card
    assert main(["history", "northwind", "--json"]) == 0
    weeks = json.loads(capsys.readouterr().out)
    assert len(weeks) >= 10 and all("score" in w for w in weeks)
    assert main(["export", "scores", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"account_id", "score", "delta", "score_product_usage"} <= set(rows[0])


def test_unknown_and_ambiguous_accounts_are_one_line_errors(demo_dir, monkeypatch, capsys):
    monkeypatch.chdir(demo_dir)
    assert main(["lookup", "qqqqqqqqqq"]) == 1
    assert capsys.readouterr().err.startswith("healthbot: no account matches 'qqqqqqqqqq'")


def test_broken_model_file_names_the_key_path(tmp_path, capsys):
    bad = tmp_path / "m.yml"
    bad.write_text(
        "metrics:\n  engagement: {signal: nps, window_days: 30,"
        " scale: {worst: 0, best: 10}, weight: -5}\n"
    )
    assert main(["check", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "metrics.engagement.weight: must be a number >= 0, got -5" in err
    assert "Traceback" not in err


def test_runs_lists_the_demo_weekly_runs_and_a_rerun_sends_nothing(demo_dir, monkeypatch, capsys):
    monkeypatch.chdir(demo_dir)
    assert main(["runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    weekly = [r for r in runs if r["kind"] == "weekly"]
    assert len(weekly) == 2 and all(r["status"] == "succeeded" for r in weekly)
    assert all(r["transport"] == "terminal" for r in weekly)
    assert sum(r["printed"] for r in weekly) > 0 and sum(r["sent"] for r in weekly) == 0
    assert main(["run-weekly", "--no-sync", "--terminal"]) == 0  # the demo's last period again
    out = capsys.readouterr().out
    assert ": succeeded;" in out and "sent 0," in out and "failed 0" in out


def test_check_on_the_demo_model_is_clean(demo_dir, monkeypatch, capsys):
    monkeypatch.chdir(demo_dir)
    assert main(["check", "--strict"]) == 0
    assert "OK (5 metrics" in capsys.readouterr().out


def test_run_weekly_defaults_to_the_period_the_scheduler_would_run(
    demo_dir, tmp_path, monkeypatch, capsys
):
    """A manual rerun scores the week that was due, not "yesterday": with a schedule that
    fired two days ago, yesterday's period and the due period differ."""
    import shutil
    from datetime import UTC, datetime, timedelta

    import yaml

    from bot.jobs.scheduler import due_as_of
    from scoring.config import load_model
    from scoring.periods import last_complete_day

    for name in ("healthbot.yml", "healthbot.db"):
        shutil.copy(demo_dir / name, tmp_path / name)
    now = datetime.now(UTC)
    fired = now - timedelta(days=2)
    raw = yaml.safe_load((tmp_path / "healthbot.yml").read_text())
    raw["schedule"] = {"cron": f"0 0 * * {fired.isoweekday() % 7}", "timezone": "UTC"}
    (tmp_path / "healthbot.yml").write_text(yaml.safe_dump(raw))
    expected = due_as_of(load_model(tmp_path / "healthbot.yml"), now)
    assert expected is not None and expected != last_complete_day("UTC", now)
    monkeypatch.chdir(tmp_path)
    main(["run-weekly", "--no-sync", "--terminal"])
    out = capsys.readouterr().out
    assert f"(as of {expected})" in out or f"weekly run for {expected} failed" in out, out


OUTPUT_COMMANDS = [
    ["export", "scores"],
    ["export", "audit", "--format", "csv"],
    ["history", "northwind"],
    ["runs"],
    ["outbox"],
    ["reference"],
    ["calibrate"],  # FILE, its missing folders are made
    ["backtest"],  # DIR, made when missing
]


@pytest.mark.parametrize("command", OUTPUT_COMMANDS, ids=" ".join)
def test_an_unwritable_output_is_one_line_before_any_work(
    demo_dir, monkeypatch, capsys, tmp_path, command
):
    """Issue #18: `export --output /nonexistent/dir/x.csv` printed a traceback."""
    monkeypatch.chdir(demo_dir)
    a_file = tmp_path / "a-file"
    a_file.write_text("keep\n")
    folder = command[0] == "backtest"
    cases = [
        (a_file / "inside" / "x", f"{a_file} is a file, not a folder"),
        (a_file, "it is a file; give a folder") if folder else (tmp_path, "it is a folder"),
    ]
    if command[0] not in ("backtest", "calibrate"):
        cases.append((tmp_path / "missing" / "x.csv", f"the folder {tmp_path}/missing does not"))
    for target, problem in cases:
        assert main([*command, "--output", str(target)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"healthbot: cannot write --output {target}: {problem}"), err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert a_file.read_text() == "keep\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_runs_shows_a_sync_run_without_a_period_as_a_dash(demo_dir, monkeypatch, capsys):
    """Issue #18: sync rows showed period `nan`; they have no period."""
    monkeypatch.chdir(demo_dir)
    assert main(["runs"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    syncs = [row for row in rows if len(row) > 2 and row[1] == "sync"]
    assert syncs and all(row[2] == "-" for row in syncs)
    assert main(["runs", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower() and ",sync,," in out
