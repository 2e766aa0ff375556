"""Scenario 1: Slack misbehaves while a worker delivers the period, and every message still
arrives once, within a sweep of the fault clearing. Plus the fault-free baseline."""

from __future__ import annotations

import pytest

from tests.databases import BACKENDS
from tests.faults.figures import Figures, settle
from tests.faults.harness import GRACE, SLACK, START, SWEEP, TRIGGER
from tests.faults.slack_view import answered, first_post_of, key_of, posts
from tests.polling import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def test_baseline_without_faults_every_message_arrives_once(app, expected, verdict, backend):
    worker = app.worker()
    figures = Figures("baseline: no fault", backend, [], bound=START + SWEEP)
    settle(app, expected, figures, cleared_at=worker.started_at)
    verdict(figures, ["succeeded"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_http_500_on_the_first_post_of_a_dm(app, expected, verdict, backend):
    app.double.fail_next("chat.postMessage", status=500)
    app.worker()
    [failed] = wait_for(
        lambda: answered(app.double, "chat.postMessage", 500), TRIGGER, "the worker's first post"
    )
    assert key_of(failed.params) in expected.dms, "the 500 answered a DM's first post"
    figures = Figures(
        "HTTP 500 on a DM's first post",
        backend,
        ["500 on chat.postMessage"],
        bound=GRACE + SWEEP + SLACK,
    )
    settle(app, expected, figures, cleared_at=failed.time)
    verdict(figures, ["succeeded"])


def test_a_429_storm_with_retry_after(app, expected, verdict, backend):
    app.double.fail_next("chat.postMessage", status=429, retry_after=1, times=8)
    app.worker()
    gave_up = []
    try:
        wait_for(lambda: not app.double.pending_faults(), TRIGGER, "the storm to pass", 0.1)
    except AssertionError:
        limited = len(answered(app.double, "chat.postMessage", 429))
        gave_up = [f"only {limited} of 8 rate-limited posts in {TRIGGER} s: retrying stopped"]
    cleared = answered(app.double, "chat.postMessage", 429)[-1].time + 1  # + its Retry-After
    figures = Figures(
        "429 storm (8 x Retry-After: 1)", backend, ["429 x8, Retry-After 1"], bound=SWEEP + SLACK
    )
    settle(app, expected, figures, cleared_at=cleared)
    verdict(figures, ["succeeded"], extra=gave_up)


def test_a_post_slack_accepts_but_whose_answer_never_arrives(app, expected, verdict, backend):
    app.double.fail_next("chat.postMessage", hang=True)
    app.worker()
    wait_for(lambda: not app.double.pending_faults(), TRIGGER, "the post whose answer is lost")
    lost = app.double.calls("chat.postMessage")[0]
    assert lost.response is None and key_of(lost.params) in expected.keys
    figures = Figures(
        "answer lost after Slack stored the post",
        backend,
        ["chat.postMessage stored, connection dropped"],
        bound=GRACE + SWEEP + SLACK,
    )
    settle(app, expected, figures, cleared_at=lost.time)
    verdict(figures, ["succeeded"])


def test_slack_refusing_connections_for_a_while(app, expected, verdict, backend):
    app.double.delay_seconds = 0.5  # slow answers, so the outage starts mid-delivery
    app.worker()
    wait_for(lambda: first_post_of(app.double, expected.keys), TRIGGER, "the first post")
    app.double.delay_seconds = 0
    app.double.restart(down_seconds=4)  # connection refused for 4 s, then the same workspace
    cleared = app.double.clock()
    before = posts(app.double)
    assert not expected.keys <= set(before.count), "the outage began before delivery ended"
    figures = Figures(
        "Slack refuses connections for 4 s",
        backend,
        ["connection refused for 4 s mid-delivery"],
        bound=SWEEP + SLACK,
    )
    settle(app, expected, figures, cleared_at=cleared)
    verdict(figures, ["succeeded"])
