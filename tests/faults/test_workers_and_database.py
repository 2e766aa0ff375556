"""Scenario 3: two workers on one database, one killed mid-run (the other takes the stale
lease over and completes the period); a PostgreSQL server that goes away mid-run and comes
back (a throwaway cluster of the test's own, never the shared server)."""

from __future__ import annotations

import pytest

from tests.faults.figures import Figures, one_success_after_failures, quiet_period, settle
from tests.faults.harness import RETRY, SLACK, STALE, START, SWEEP, TRIGGER
from tests.faults.slack_view import first_post_of
from tests.polling import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def test_two_workers_one_killed_mid_run(app, expected, verdict, backend):
    app.double.delay_seconds = 0.5  # slow answers: the kill lands mid-delivery
    workers = [app.worker("worker-a"), app.worker("worker-b")]
    wait_for(lambda: first_post_of(app.double, expected.dms), TRIGGER, "the first DM in Slack")
    lease = f"weekly:{expected.period}"
    holder = wait_for(lambda: app.lease_holder_pid(lease), 10, f"a holder of {lease}")
    [victim] = [w for w in workers if w.pid == holder]
    [survivor] = [w for w in workers if w is not victim]
    killed_at = victim.kill()
    app.double.delay_seconds = 0
    figures = Figures(
        "two workers, the running one killed",
        backend,
        ["SIGKILL of the lease holder"],
        bound=STALE + SWEEP + START,
    )
    settle(app, expected, figures, cleared_at=killed_at)
    alive = [] if survivor.alive else [f"{survivor.name} exited ({survivor.process.returncode})"]
    verdict(figures, ["abandoned", "succeeded"], extra=alive)


def test_postgresql_going_away_mid_run(pg_cluster, cluster_app, expected, verdict):
    app = cluster_app
    app.double.delay_seconds = 0.5
    worker = app.worker()
    wait_for(lambda: first_post_of(app.double, expected.dms), TRIGGER, "the first DM in Slack")
    pg_cluster.stop("immediate")  # the server dies: connections drop, nothing is flushed
    app.double.delay_seconds = 0
    quiet_period(3)  # the outage
    pg_cluster.start()
    figures = Figures(
        "PostgreSQL down 3 s mid-run",
        "postgres (own cluster)",
        ["pg_ctl stop -m immediate, 3 s, start"],
        bound=RETRY + SWEEP + START + SLACK,
    )
    settle(app, expected, figures, cleared_at=app.double.clock(), keep_alive=[worker])
    verdict(figures, one_success_after_failures)
