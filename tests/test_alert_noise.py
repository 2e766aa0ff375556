"""Alert noise (issue #19): band hysteresis, segment-corrected score drops, the shared-dip line,
metric drops under a rising score, the DM cap key and past renewal dates."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

import bot.cli
from bot.messages.digest_context import digest_context
from bot.messages.render import PLAIN, render_message, render_text
from scoring.batch.views import recent_scores
from scoring.config import Model
from scoring.decisions.alert_schema import HEALTH_RULES, NOTICE_RULES, RULES
from scoring.decisions.band_hysteresis import RECENT_COLUMNS
from scoring.decisions.card import past_renewals
from scoring.decisions.digest import build_digest
from scoring.decisions.portfolio_moves import segment_moves, segment_shift
from scoring.decisions.weekly import MAX_ACCOUNTS_PER_DM, owner_batches
from scoring.store.snapshots import METRIC_TYPES, save_snapshots
from tests.db_fixtures import SyncProject
from tests.test_alerts import AS_OF, decide, model, rules, snapshot
from tests.test_digest import synthetic_view


def history(scores: list[float]) -> list[pd.DataFrame]:
    """Each run's `recent` frame for one account 'a' whose shown scores were `scores`."""
    out = []
    for run in range(len(scores)):
        before = scores[:run][::-1]  # runs_ago 1 = the run just before
        out.append(
            pd.DataFrame(
                {"account_id": ["a"] * len(before), "runs_ago": range(1, len(before) + 1)}
            ).assign(score_shown=before)
        )
    return out


def downgrades_over(m: Model, scores: list[float]) -> list[str]:
    """Band-downgrade reasons of account 'a', run by run (one per run that alerted)."""
    reasons = []
    recents = history(scores)
    for run in range(1, len(scores)):
        alerts = decide(m, {"a": scores[run]}, {"a": scores[run - 1]}, recent=recents[run])
        hit = alerts[alerts["rule"] == "band_downgrade"]
        reasons.extend(hit["reason"].tolist())
    return reasons


# --- what counts as a health alert ------------------------------------------------------------


def test_health_rules_and_notices_partition_the_rules():
    assert HEALTH_RULES == ("score_drop", "band_downgrade", "metric_drop", "champion_left")
    assert set(NOTICE_RULES) == {"renewal", "lost_score", "stale"}
    assert set(HEALTH_RULES) | set(NOTICE_RULES) == set(RULES)


# --- band hysteresis --------------------------------------------------------------------------


def test_a_score_hovering_at_a_threshold_does_not_flap_over_four_runs():
    wobble = [80.6, 79.7, 80.2, 79.5, 80.3]  # crosses the healthy minimum (80) four times
    assert downgrades_over(model(band_downgrade=True), wobble) == []
    # Without hysteresis (every crossing confirmed at once) the same wobble alerted twice.
    eager = model(band_downgrade={"margin": 0, "confirm_runs": 1})
    assert len(downgrades_over(eager, wobble)) == 2


@pytest.mark.parametrize(
    ("margin", "now", "alerts"),
    [(3, 77.0, True), (3, 77.5, False), (1, 78.9, True), (1, 79.5, False)],
)
def test_a_downgrade_alerts_at_once_only_past_the_margin(margin, now, alerts):
    m = model(band_downgrade={"margin": margin})
    fired = "band_downgrade" in rules(decide(m, {"a": now}, {"a": 85}))
    assert fired is alerts


def test_a_downgrade_within_the_margin_is_confirmed_after_two_runs_and_said_so():
    reasons = downgrades_over(model(band_downgrade=True), [85, 79, 78.5, 78.2, 78.0])
    assert reasons == ["Band healthy \u2192 at risk (below 80 for 2 runs)"]  # once, run 2


def test_confirm_runs_is_a_key():
    m = model(band_downgrade={"confirm_runs": 3})
    assert downgrades_over(m, [85, 79, 78.5]) == []
    assert downgrades_over(m, [85, 79, 78.5, 78.2]) == [
        "Band healthy \u2192 at risk (below 80 for 3 runs)"
    ]


def test_a_clear_fall_alerts_once_not_again_when_confirmed():
    assert downgrades_over(model(band_downgrade=True), [85, 70, 69]) == [
        "Band healthy \u2192 at risk"
    ]


def test_without_previous_runs_only_the_margin_applies():
    m = model(band_downgrade=True)
    assert rules(decide(m, {"a": 78.5}, {"a": 79}, recent=None)) == []
    recent = pd.DataFrame({"account_id": ["a", "a"], "runs_ago": [1, 2], "score_shown": [79, 85]})
    assert rules(decide(m, {"a": 78.5}, {"a": 79}, recent=recent)) == ["band_downgrade"]


def test_a_skipped_week_never_confirms_a_streak():
    m = model(band_downgrade=True)
    recent = pd.DataFrame({"account_id": ["a"], "runs_ago": [1], "score_shown": [79.0]})
    assert rules(decide(m, {"a": 78.5}, {"a": 79}, recent=recent)) == []


def test_band_downgrade_keys():
    assert (
        model(band_downgrade=True).alerts.band_downgrade
        == model(band_downgrade={"margin": 3, "confirm_runs": 2}).alerts.band_downgrade
    )
    assert model(band_downgrade=False).alerts.band_downgrade is None
    with pytest.raises(ValidationError, match="margin"):
        model(band_downgrade={"margin": -1})
    with pytest.raises(ValidationError, match="confirm_run"):
        model(band_downgrade={"confirm_run": 2})


def test_segment_bands_set_each_accounts_threshold():
    m = Model.model_validate(
        {
            "metrics": {
                "u": {"signal": "u", "scale": {"worst": 0, "best": 100}}
                | {"window_days": 7, "weight": 1}
            },
            "alerts": {"band_downgrade": True},
            "segments": {
                "big": {
                    "where": {"segment": "Big"},
                    "bands": [
                        {"name": "healthy", "min": 90},
                        {"name": "at_risk", "min": 60},
                        {"name": "critical", "min": 0},
                    ],
                }
            },
        }
    )
    from scoring.decisions.alerts import decide_alerts
    from scoring.decisions.history import compare

    def frame(score: float, rule: str | None, band: str, rank: int) -> pd.DataFrame:
        return pd.DataFrame(
            {"account_id": ["a"], "score_shown": [score], "band": [band], "band_rank": [rank]}
        ).assign(status="scored", segment_rule=rule)

    now, before = frame(86.5, "big", "at_risk", 1), frame(91, "big", "healthy", 0)
    accounts = pd.DataFrame({"account_id": ["a"]})
    fired = decide_alerts(m, AS_OF, now, compare(now, before), pd.DataFrame(), accounts)
    assert fired["rule"].tolist() == ["band_downgrade"]  # 3.5 below the segment's 90


# --- score drops against the segment's shared dip ---------------------------------------------


def holiday_week(n: int = 40, seed: int = 4) -> tuple[dict[str, float], dict[str, float]]:
    """Every account dips about 7 points (some by 10+); 's' slides 20."""
    rng = np.random.default_rng(seed)
    before = {f"acc-{i}": 75.0 for i in range(n)} | {"s": 75.0}
    dip = -7 + rng.normal(0, 2.0, n)
    now = {f"acc-{i}": 75.0 + float(d) for i, d in enumerate(dip)} | {"s": 55.0}
    return now, before


def test_a_holiday_dip_does_not_alert_everyone_yet_a_real_slider_still_alerts():
    now, before = holiday_week()
    raw_rule_would_fire = sum(now[a] - before[a] <= -10 for a in now)
    assert raw_rule_would_fire >= 3  # the shared dip pushed several past 10 points
    alerts = decide(model(score_drop=10), now, before)
    assert alerts["account_id"].tolist() == ["s"]
    reason = alerts["reason"].iloc[0]
    assert reason.startswith("Score 75 \u2192 55 (\u221220; its segment moved \u22127")


def test_a_segment_that_rose_is_not_held_against_an_account_that_held():
    now = {f"acc-{i}": 80.0 for i in range(30)} | {"flat": 70.0}
    before = {f"acc-{i}": 70.0 for i in range(30)} | {"flat": 70.0}
    assert rules(decide(model(score_drop=5), now, before), "flat") == []


def test_segment_shift_per_segment_and_small_segments_borrow_the_portfolio_median():
    m = model(score_drop=10)
    scores = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(50)],
            "delta": [-6.0] * 25 + [-1.0] * 20 + [-30.0] * 5,
            "segment_rule": ["smb"] * 25 + [None] * 20 + ["tiny"] * 5,
        }
    )
    shift = segment_shift(scores, m).set_index("account_id")
    assert shift.loc["a0", "segment_shift"] == -6.0 and shift.loc["a0", "segment_delta"] == 0
    assert shift.loc["a30", "segment_shift"] == -1.0
    # "tiny" (5 accounts) is too small for a median of its own: the portfolio's (-6) applies.
    assert shift.loc["a49", "segment_shift"] == -6.0
    assert shift.loc["a49", "segment_delta"] == -24.0


# --- the shared-dip line ----------------------------------------------------------------------


def moves_frame(dropped: int, n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "delta": [-5.0] * dropped + [0.5] * (n - dropped),
            "segment_rule": "enterprise",
            "owner_email": ["ann@x.com"] * (n - 1) + ["bob@x.com"],
        }
    )


@pytest.mark.parametrize(("dropped", "shown"), [(12, True), (11, False)])
def test_the_segment_line_needs_thirty_percent_dropping_together(dropped, shown):
    moves = segment_moves(moves_frame(dropped), model(score_drop=10))
    assert (len(moves) == 1) is shown  # 12 of 40 is 30%; 11 is 27.5%
    if shown:
        assert moves.iloc[0][["segment", "accounts", "dropped"]].tolist() == ["enterprise", 40, 12]


def test_the_share_is_a_key():
    m = model(score_drop=10, portfolio_move={"percent": 50})
    assert segment_moves(moves_frame(12), m).empty
    assert len(segment_moves(moves_frame(20), m)) == 1


def test_owners_get_one_line_about_the_shared_dip_in_their_dm():
    m = model(score_drop=10)
    scores = moves_frame(20).assign(
        name="Acme", score_shown=60.0, previous_score=65.0, band="at_risk", arr=1000.0
    )
    alerts = pd.DataFrame({"account_id": ["a0", "a39"], "reason": ["Score 65 → 60", "x"]})
    batches = owner_batches(
        m, "2026-W48", alerts, scores, pd.Series(dtype=object), AS_OF, segment_moves(scores, m)
    )
    assert [len(b.moves) for b in batches] == [1, 1]  # ann and bob both own enterprise accounts
    b = batches[0]
    text = render_message("alert_dm", period="2026-W48", owner_name="Ann", items=b.items, more=0)
    assert "Shared dip" not in text.text  # no moves passed: no line
    context = {"period": "2026-W48", "owner_name": "Ann", "items": b.items, "more": 0}
    text = render_message("alert_dm", **context, moves=b.moves).text
    assert text.count("Shared dip: 20 of 40 accounts in the enterprise segment (50%)") == 1


def test_the_digest_explains_a_shared_dip():
    m = model(score_drop=10)
    view, stale = synthetic_view(100, moved=False)
    view.scores["delta"] = -5.0  # synthetic_view has no segment_rule: all top level
    digest = build_digest(m, view, AS_OF, stale=stale)
    text = render_message("digest", **digest_context(m, digest)).text
    assert "Shared dip: 100 of 100 accounts (100%) fell 3+ points together" in text
    view.scores["delta"] = 0.0
    quiet = render_message("digest", **digest_context(m, build_digest(m, view, AS_OF))).text
    assert "Shared dip" not in quiet


# --- metric drops under a rising score --------------------------------------------------------


def test_no_metric_drop_alert_while_the_score_rose_unless_a_key_says_so():
    drops = pd.DataFrame(
        {"account_id": ["a", "b"], "metric": "product_usage"}
        | {"usual": [10.0, 10.0], "raw": [5.0, 5.0], "change_percent": [-50.0, -50.0]}
        | {"segment_percent": [0.0, 0.0], "z": [6.0, 6.0], "history_weeks": [8, 8]}
    )
    before = {"a": 60, "b": 60}
    alerts = decide(model(metric_drop={"percent": 30}), {"a": 65, "b": 58}, before,
                    metric_drop_frame=drops)  # fmt: skip
    assert alerts["account_id"].tolist() == ["b"]
    loud = model(metric_drop={"percent": 30, "when_score_rises": True})
    alerts = decide(loud, {"a": 65, "b": 58}, before, metric_drop_frame=drops)
    assert alerts["account_id"].tolist() == ["a", "b"]


# --- the DM cap -------------------------------------------------------------------------------


def alerted(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = [f"a{i}" for i in range(n)]
    scores = pd.DataFrame(
        {
            "account_id": ids,
            "name": ids,
            "owner_email": "ann@x.com",
            "band": "at_risk",
            "score_shown": 60.0,
            "previous_score": 70.0,
            "delta": -10.0,
            "arr": [1000.0 * (i + 1) for i in range(n)],
            "renewal_date": pd.NaT,
        }
    )
    return pd.DataFrame({"account_id": ids, "reason": "Score 70 → 60"}), scores


def test_the_dm_cap_is_a_key_and_keeps_the_most_urgent():
    alerts, scores = alerted(12)
    default = owner_batches(model(), "2026-W48", alerts, scores, pd.Series(dtype=object))
    assert len(default[0].items) == MAX_ACCOUNTS_PER_DM == 10 and default[0].more == 2
    m = model(max_per_dm=3)
    batch = owner_batches(m, "2026-W48", alerts, scores, pd.Series(dtype=object))[0]
    assert [i["account_id"] for i in batch.items] == ["a11", "a10", "a9"]  # most ARR first
    assert batch.more == 9
    with pytest.raises(ValidationError, match="max_per_dm"):
        model(max_per_dm=0)


# --- renewal dates in the past ----------------------------------------------------------------


def test_a_past_renewal_never_fires_the_renewal_rule_and_reads_as_a_data_problem():
    renew = pd.DataFrame(
        {"account_id": ["a", "b"], "renewal_date": [AS_OF - timedelta(150), AS_OF + timedelta(30)]}
    )
    alerts = decide(model(renewal_days=90), {"a": 60, "b": 60}, {"a": 60, "b": 60}, accounts=renew)
    assert alerts["account_id"].tolist() == ["b"]
    assert "\u2212" not in alerts["reason"].iloc[0]
    alerts_, scores = alerted(1)
    scores["renewal_date"] = pd.Timestamp("2026-07-07")
    item = owner_batches(model(), "W", alerts_, scores, pd.Series(dtype=object), AS_OF)[0].items[0]
    assert item["renewal_date"] is None and item["renewal_past"] == "2026-07-07"
    text = render_message("alert_dm", period="W", owner_name="Ann", items=[item], more=0).text
    assert "renews" not in text
    assert "renewal date 2026-07-07 has passed" in text


def test_a_past_renewal_is_in_the_digests_data_quality_not_among_renewals():
    m = model()
    view, stale = synthetic_view(20, moved=False)
    view.scores.loc[0, "renewal_date"] = pd.Timestamp(AS_OF) - pd.Timedelta(days=150)
    view.scores.loc[0, "band_rank"] = 1
    digest = build_digest(m, view, AS_OF, stale=stale)
    assert "acc-0" not in set(digest.renewals["account_id"])
    assert "acc-0" in set(digest.data_quality["account_id"])
    text = render_message("digest", **digest_context(m, digest, limit=50)).text
    day = (AS_OF - timedelta(150)).isoformat()
    assert f"renewal date {day} has passed" in text


def test_past_renewals_are_listed_latest_first():
    accounts = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "name": ["Acme", "Beta", "Cato", "Dune"],
            "renewal_date": pd.to_datetime(["2026-07-07", "2026-09-01", "2027-02-01", None]),
        }
    )
    past = past_renewals(accounts, date(2026, 12, 1))
    assert past[["name", "renewal_date"]].values.tolist() == [
        ["Beta", "2026-09-01"],
        ["Acme", "2026-07-07"],
    ]
    line = render_text("renewal_past_check", PLAIN, count=2, name="Beta", renewal_date="x")
    assert line.strip().startswith("2 accounts have a renewal date in the past (e.g. Beta x)")


ACCOUNTS = "account_id,name,renewal_date\nacme,Acme,2020-07-07\nbeta,Beta,2030-01-31\n"
SIGNALS = "account_id,date,signal,value\nacme,2026-11-01,logins,3\nbeta,2026-11-01,logins,1\n"
SOURCES = """\
  - kind: accounts
    path: exports/accounts.csv
  - kind: signals
    path: exports/usage.csv
"""


def test_check_reports_past_renewals_in_one_line(db_url, project: SyncProject, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HEALTHBOT_CONFIG", str(project.root / "healthbot.yml"))
    project.write("exports/accounts.csv", ACCOUNTS)
    project.write("exports/usage.csv", SIGNALS)
    project.model(SOURCES)
    assert bot.cli.main(["sync"]) == 0
    capsys.readouterr()
    assert bot.cli.main(["check"]) == 0  # a data problem, not a failure of the model file
    lines = [x for x in capsys.readouterr().out.splitlines() if "renewal date" in x]
    assert len(lines) == 1
    assert lines[0].startswith("1 account has a renewal date in the past (e.g. Acme 2020-07-07)")


# --- previous runs from storage ---------------------------------------------------------------


def test_recent_scores_reads_the_weeks_before_in_one_frame(engine):
    empty_metrics = pd.DataFrame({k: [] for k in METRIC_TYPES if k != "period"})
    stored = {"2026-W45": 85.0, "2026-W46": 79.0, "2026-W47": 78.5, "2026-W48": 70.0}
    for i, (period, score) in enumerate(stored.items()):
        frame = snapshot({"a": score, "b": None}).assign(
            score=lambda f: f["score_shown"], completeness=1.0, segment_rule=None
        )
        save_snapshots(engine, period, date(2026, 11, 8) + timedelta(7 * i), "v", frame,
                       empty_metrics)  # fmt: skip
    recent = recent_scores(engine, "2026-W48", 2)
    assert list(recent.columns) == RECENT_COLUMNS
    got = recent[recent["account_id"] == "a"].sort_values("runs_ago")
    assert got[["runs_ago", "score_shown"]].values.tolist() == [[1, 78.5], [2, 79.0]]
    assert recent_scores(engine, "2026-W48", 0).empty
    beyond = recent_scores(engine, "2026-W48", 3, first=2)  # the view carries the week before
    assert sorted(set(beyond["runs_ago"])) == [2, 3]
    # Read back, the stored runs confirm a slide: 79 and 78.5 after 85 in W45 (W48 at 78).
    m = model(band_downgrade=True)
    alerts = decide(m, {"a": 78.0}, {"a": 78.5}, recent=recent)
    assert rules(alerts) == []  # 78.5 (W47) and 78 now, after 79 (W46): no crossing then
    recent3 = recent_scores(engine, "2026-W47", 2)  # as if rerunning W47: W46 79, W45 85
    alerts = decide(m, {"a": 78.5}, {"a": 79.0}, recent=recent3)
    assert rules(alerts) == ["band_downgrade"]
