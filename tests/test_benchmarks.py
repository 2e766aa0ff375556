"""`make bench` runs every benchmark: the runner knows each module, and runs them end to end."""

from __future__ import annotations

from pathlib import Path

from benchmarks.run_all import commands, main

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_runner_knows_every_benchmark_module():
    modules = {p.stem for p in BENCHMARKS.glob("bench_*.py")}
    table = commands(1_000, "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ran = {argv[2].removeprefix("benchmarks.") for argv in table.values()}
    assert ran == modules


def test_the_runner_runs_benchmarks_and_reports_each(capsys):
    assert main(["--accounts", "300", "--only", "engine", "backtest", "--sqlite-only"]) == 0
    out = capsys.readouterr().out
    summary = out[out.index("benchmark ") :].splitlines()
    assert [line.split()[0] for line in summary[1:]] == ["engine", "backtest"]
    assert all(float(line.split()[1]) > 0 for line in summary[1:])
