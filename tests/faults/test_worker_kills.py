"""Scenario 2: the worker is killed with SIGKILL (a deploy gone wrong, the OOM killer, a lost
host) at three points of a run; a restarted worker completes the period, and the killed run
shows as `abandoned`."""

from __future__ import annotations

import pytest

from tests.databases import BACKENDS
from tests.faults.figures import Figures, settle
from tests.faults.harness import STALE, START, SWEEP, TRIGGER
from tests.faults.slack_view import first_post_of, posts
from tests.polling import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow]
BOUND = STALE + SWEEP + START  # the dead lease goes stale, a sweep notices, the run redoes
KILLED_THEN_DONE = ["abandoned", "succeeded"]


def period_rows(app, period: str) -> list[tuple] | None:
    return app.query("SELECT key FROM outbox WHERE period = :p", p=period)


def test_kill_9_after_scoring_before_any_post(app, expected, verdict, backend):
    first = app.worker()
    wait_for(lambda: app.statuses_now(expected.period), TRIGGER, "the run to start", 0.02)
    app.double.delay_seconds = 30  # from here on every Slack call is held: nothing gets posted
    wait_for(lambda: period_rows(app, expected.period), TRIGGER, "the period's messages queued")
    wait_for(lambda: app.double.all_calls, TRIGGER, "the worker's first Slack call after that")
    assert not app.double.calls("chat.postMessage"), "killed before any post"
    first.kill()
    app.double.delay_seconds = 0
    second = app.worker()
    figures = Figures("kill -9 after scoring, before posting", backend, ["SIGKILL"], bound=BOUND)
    settle(app, expected, figures, cleared_at=second.started_at)
    verdict(figures, KILLED_THEN_DONE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_mid_delivery_after_slack_accepted_a_post(app, expected, verdict, backend):
    app.double.delay_seconds = 0.5  # the first DM is stored, its answer still on the way
    first = app.worker()
    wait_for(lambda: first_post_of(app.double, expected.dms), TRIGGER, "the first DM in Slack")
    first.kill()
    app.double.delay_seconds = 0
    assert not expected.keys <= set(posts(app.double).count), "killed before delivery ended"
    second = app.worker()
    figures = Figures("kill -9 mid-delivery (a DM accepted)", backend, ["SIGKILL"], bound=BOUND)
    settle(app, expected, figures, cleared_at=second.started_at)
    verdict(figures, KILLED_THEN_DONE)


def test_kill_9_during_the_chart_upload(app, expected, verdict, backend):
    # The chart is shared right after its digest in the same pass: hold the upload's first
    # step's answer so the kill lands between it and the share.
    app.double.method_delays["files.getUploadURLExternal"] = 5
    first = app.worker()
    calls = wait_for(
        lambda: app.double.calls("files.getUploadURLExternal"), TRIGGER, "the chart upload"
    )
    first.kill()
    app.double.method_delays.clear()
    assert not app.double.calls("files.completeUploadExternal"), "killed before the share"
    app.worker()
    figures = Figures("kill -9 during the chart upload", backend, ["SIGKILL"], bound=BOUND)
    settle(app, expected, figures, cleared_at=calls[0].time, charts=False)
    verdict(figures, KILLED_THEN_DONE, chart_hit=True)


def test_sigterm_mid_delivery_stops_within_25_s_and_the_next_worker_resumes(
    app, expected, verdict, backend
):
    """A platform stops the worker (a deploy) while it delivers slowly: no new sends after
    SIGTERM, the run is `interrupted`, its lease released, and the next worker sends the rest
    at once (no stale lease to wait for)."""
    app.double.delay_seconds = 1.5  # every Slack call takes a while: the stop lands mid-pass
    first = app.worker()
    wait_for(lambda: first_post_of(app.double, expected.dms), TRIGGER, "the first DM in Slack")
    code, took = first.terminate()
    posted_by_first = len(app.double.calls("chat.postMessage"))
    app.double.delay_seconds = 0
    extra = [] if code == 0 else [f"exited {code} on SIGTERM"]
    if took > 25:
        extra.append(f"took {took:.1f} s to stop")
    if app.query("SELECT name FROM leases"):
        extra.append(f"leases left behind: {app.query('SELECT name, holder FROM leases')}")
    assert posted_by_first < len(expected.keys), "stopped before the pass ended"
    second = app.worker()
    figures = Figures(
        f"SIGTERM mid-delivery (stopped in {took:.1f} s)", backend, ["SIGTERM"], bound=START + SWEEP
    )
    settle(app, expected, figures, cleared_at=second.started_at)
    verdict(figures, ["interrupted", "succeeded"], extra=extra)
