"""Fixtures of the fault suite: the prepared exports and model (once per session), the period's
expected messages from a clean run (once), an app per test on SQLite or PostgreSQL, a
throwaway PostgreSQL cluster, and the figures every scenario records."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scoring.store import make_engine, upgrade
from tests.databases import migrated_database
from tests.faults.figures import Figures, problems
from tests.faults.harness import App, Expected, clean_run, due_now, workspace, write_template
from tests.faults.pg_cluster import Cluster

FIGURES: list[dict] = []
FIGURES_FILE: list[Path] = []


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fault-template")
    write_template(directory, datetime.now(UTC).date() - timedelta(days=1))
    return directory


@pytest.fixture(scope="session")
def expected(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Expected:
    found = clean_run(template, tmp_path_factory.mktemp("fault-clean-run") / "app")
    assert len(found.dms) >= 2 and found.keys - found.dms, (
        f"the portfolio must give DMs and a digest to test with: {sorted(found.keys)}"
    )
    return found


@pytest.fixture
def backend() -> str:
    """The database kind; scenarios that also run on PostgreSQL parametrize it."""
    return "sqlite"


def _check_day(template: Path, expected: Expected) -> None:
    if due_now(template / "healthbot.yml") != expected.as_of:
        pytest.fail("the due period changed during the session (UTC midnight): run it again")


@pytest.fixture
def app(backend, template, expected, slack_double, tmp_path) -> Iterator[App]:
    _check_day(template, expected)
    with migrated_database(backend, tmp_path) as (url, engine):
        app = App.create(template, tmp_path / "app", url, workspace(slack_double), engine)
        try:
            yield app
        finally:
            app.close()


@pytest.fixture
def pg_cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    with ExitStack() as stack:
        stack.callback(cluster.remove)
        cluster.start()
        yield cluster


@pytest.fixture
def cluster_app(pg_cluster, template, expected, slack_double, tmp_path) -> Iterator[App]:
    """An app whose database is the throwaway cluster (migrated to head)."""
    _check_day(template, expected)
    engine = make_engine(pg_cluster.url)
    upgrade(engine)
    app = App.create(template, tmp_path / "app", pg_cluster.url, workspace(slack_double), engine)
    try:
        yield app
    finally:
        app.close()
        engine.dispose()


@pytest.fixture
def verdict(request, tmp_path_factory) -> Callable[..., None]:
    """Judge a scenario: keep its figures for the JSON file and the summary, then fail with
    every way the promise broke. `runs` is the period's expected run statuses (a list, or a
    check); `extra` adds a scenario's own findings."""
    started = time.monotonic()
    if not FIGURES_FILE:
        default = tmp_path_factory.getbasetemp() / "fault-figures.json"
        FIGURES_FILE.append(Path(os.environ.get("HEALTHBOT_FAULT_FIGURES") or default))

    def judge(figures: Figures, runs=None, *, chart_hit: bool = False, extra=()) -> None:
        figures.seconds = round(time.monotonic() - started, 1)
        found = [*extra] + ([] if runs is None else problems(figures, runs, chart_hit=chart_hit))
        figures.problems = found
        FIGURES.append(figures.as_dict() | {"test": request.node.nodeid})
        FIGURES_FILE[0].write_text(json.dumps(FIGURES, indent=2, default=str))
        header = f"{figures.scenario} ({figures.backend}):"
        assert not found, "\n".join([header, *found, figures.note])

    return judge


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed scenario shows each worker's output and every command it ran."""
    report = yield
    if report.when == "call" and report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, App):
                for name, text in value.logs():
                    report.sections.append((f"{name} (last 5000 characters)", text[-5000:]))
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fault-injection figures")
    write(f"{'scenario':<44} {'db':<8} exp del dup  chart  delay/bound  runs")
    for f in FIGURES:
        delay = "-" if f["worst_delay"] is None else f"{f['worst_delay']:.1f}"
        write(
            f"{f['scenario'][:44]:<44} {f['backend']:<8} {f['expected']:>3} {f['delivered']:>3}"
            f" {f['duplicates']:>3}  {f['charts']}/{f['charts_expected']}"
            f"    {delay:>5}/{f['bound']:<5.1f} {','.join(f['runs']) or '-'}"
            + ("  BROKEN" if f["problems"] else "")
        )
    write(f"figures written to {FIGURES_FILE[0]}")
