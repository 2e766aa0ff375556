"""A scenario's outcome in figures, and the one assertion every scenario makes with them:
each expected message reached Slack exactly once, soon after the fault cleared, and
`healthbot runs` and `healthbot outbox` tell the truth about it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from tests.faults.harness import SWEEP, App, Expected, Worker
from tests.faults.slack_view import Posts, posts
from tests.polling import wait_for

UNFINISHED = {"running", "delivering"}
RunCheck = list[str] | Callable[[list[str]], bool]


@dataclass
class Figures:
    scenario: str
    backend: str
    faults: list[str]
    expected: int = 0
    delivered: int = 0  # expected keys that reached Slack
    duplicates: int = 0  # posts beyond the first of any key
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # healthbot keys nobody expected
    reports: int = 0  # admin reports posted (`admin:...`), allowed and counted
    charts: int = 0
    charts_expected: int = 0
    updates: int = 0  # chat.update calls Slack accepted
    worst_delay: float | None = None  # s from the fault clearing to the last first post
    bound: float = 0.0
    seconds: float = 0.0  # the scenario's wall time
    runs: list[str] = field(default_factory=list)  # the period's weekly runs, oldest first
    unsent: dict[str, str] = field(default_factory=dict)  # expected key -> its outbox status
    restarts: int = 0  # worker restarts the test made, as a platform would
    note: str = ""
    problems: list[str] = field(default_factory=list)  # how the promise broke, in words

    def as_dict(self) -> dict:
        return asdict(self)


def quiet_period(seconds: float) -> None:
    """Watch for `seconds` on purpose: a late duplicate would arrive with the next sweep."""
    threading.Event().wait(seconds)


def settle(
    app: App,
    expected: Expected,
    figures: Figures,
    *,
    cleared_at: float,
    keep_alive: Iterable[Worker] = (),
    charts: bool = True,
) -> Figures:
    """Wait (up to the bound and 20 s more) until every expected message is in Slack, the
    charts are shared and the period's last run succeeded; watch one more sweep; count."""
    keep_alive = list(keep_alive)

    def done() -> bool:
        for worker in keep_alive:
            worker.revive()
        statuses = app.statuses_now(expected.period) or ["?"]
        got = posts(app.double)
        complete = expected.keys <= set(got.count) and statuses[-1] == "succeeded"
        return complete and (not charts or got.charts >= expected.charts)

    seconds = max(cleared_at + figures.bound + 20 - time.time(), 5)
    try:
        wait_for(done, seconds, "every expected message in Slack and a succeeded run", 0.2)
    except AssertionError as exc:
        figures.note = str(exc)
    quiet_period(SWEEP + 1)
    figures.restarts = sum(w.restarts for w in keep_alive)
    return count(app, expected, figures, posts(app.double), cleared_at)


def count(app: App, expected: Expected, figures: Figures, got: Posts, cleared_at: float):
    figures.expected, figures.charts_expected = len(expected.keys), expected.charts
    figures.delivered = len(expected.keys & set(got.count))
    figures.duplicates = sum(n - 1 for n in got.count.values())
    figures.missing = sorted(expected.keys - set(got.count))
    figures.unexpected = sorted(got.keys() - expected.keys)
    figures.reports = sum(n for k, n in got.count.items() if k.startswith("admin:"))
    figures.charts, figures.updates = got.charts, len(got.updates)
    delays = [got.first[k] - cleared_at for k in expected.keys if k in got.first]
    figures.worst_delay = None if figures.missing else round(max([0.0, *delays]), 2)
    figures.runs = [r["status"] for r in app.runs(expected.period)]
    rows = {r["key"]: r["status"] for r in app.outbox()}
    figures.unsent = {k: rows.get(k, "absent") for k in expected.keys if rows.get(k) != "sent"}
    if expected.note:
        figures.note = f"{figures.note} [{expected.note}]".strip()
    return figures


def problems(figures: Figures, runs: RunCheck, *, chart_hit: bool = False) -> list[str]:
    """Everything that broke the promise, in words (empty when it held)."""
    found = []
    if figures.missing:
        found.append(f"never reached Slack: {figures.missing}")
    if figures.duplicates:
        found.append(f"{figures.duplicates} duplicate post(s)")
    if figures.unexpected:
        found.append(f"posted but not expected: {figures.unexpected}")
    if figures.charts > figures.charts_expected:
        found.append(f"chart shared {figures.charts} times for {figures.charts_expected} digests")
    elif not chart_hit and figures.charts < figures.charts_expected:
        found.append(f"chart shared {figures.charts} of {figures.charts_expected} times")
    if figures.worst_delay is not None and figures.worst_delay > figures.bound:
        found.append(f"delivered {figures.worst_delay:.1f} s after the fault cleared")
        found[-1] += f" (bound {figures.bound:.1f} s)"
    fine = runs(figures.runs) if callable(runs) else figures.runs == runs
    if not fine:
        wanted = runs.__doc__ if callable(runs) else runs
        found.append(f"`healthbot runs` shows {figures.runs} for the period, expected {wanted}")
    if figures.unsent:
        found.append(f"outbox rows not `sent`: {figures.unsent}")
    return found


def one_success_after_failures(statuses: list[str]) -> bool:
    """runs that failed, were abandoned or interrupted, then one that succeeded"""
    earlier_ok = set(statuses[:-1]) <= {"failed", "abandoned", "interrupted"}
    return bool(statuses) and statuses[-1] == "succeeded" and earlier_ok
