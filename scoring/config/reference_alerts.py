"""Descriptions of the `alerts:` keys for the generated reference (scoring/config/descriptions.py),
kept apart because the noise-aware rules brought many keys of their own."""

from __future__ import annotations

ALERT_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "alerts": ("Alert rules and their cooldown.", "{score_drop: 10, ...}"),
    "alerts.score_drop": (
        "Points lost week over week that alert (0: off), beyond the account's segment's"
        " median change when that is a fall (a holiday dip everyone shares is corrected for).",
        "10",
    ),
    "alerts.band_downgrade": (
        "Alert on a move to a lower band, with hysteresis (true: the defaults; false: off).",
        "{margin: 3, confirm_runs: 2}",
    ),
    "alerts.band_downgrade.margin": (
        "Points below the minimum of the band it left for a downgrade to alert at once.",
        "3",
    ),
    "alerts.band_downgrade.confirm_runs": (
        "Consecutive runs below that minimum after which a downgrade alerts anyway"
        " (1: every crossing alerts).",
        "2",
    ),
    "alerts.band_downgrade.usual_runs": (
        "A downgrade must also lie `margin` (and `z` spreads) below the usual score, the"
        " median of this many runs before it (0: neither is checked).",
        "4",
    ),
    "alerts.band_downgrade.z": (
        "A downgrade must also be a fall from the usual score of at least z times the robust"
        " spread of this week's score changes in the account's segment (0: not checked).",
        "3",
    ),
    "alerts.metric_drop": (
        "Alert when a metric moves the bad way, far from its usual weeks and its segment's move.",
        "{percent: 30, z: 3}",
    ),
    "alerts.metric_drop.percent": ("Least move against the usual value, in percent.", "30"),
    "alerts.metric_drop.z": ("Least robust z-score (median, MAD); needs 4 weeks of data.", "3"),
    "alerts.metric_drop.history_weeks": ("Weeks before the as-of day giving the usual.", "8"),
    "alerts.metric_drop.recent_days": (
        "Judge a metric with a longer window on its signal's last N days against the same days"
        " of each usual week, when the account has data most weeks (0: the metric's window).",
        "7",
    ),
    "alerts.metric_drop.combined_z": (
        "Also alert when two or more metrics slip together: their z-scores combined, weighted"
        " as in the score (Stouffer), reach this this week or over this week and last"
        " ((this + last) / sqrt 2); each metric named needs z 1, one of them min_change and"
        " min_base, none percent (0: off).",
        "2.5",
    ),
    "alerts.metric_drop.min_change": (
        "Least raw move per metric (default: the move worth 10 points of its score).",
        "{tickets: 3}",
    ),
    "alerts.metric_drop.min_base": ("Least usual or new value (default 0).", "{usage: 5}"),
    "alerts.metric_drop.when_score_rises": (
        "Also alert on a metric drop while the account's score rose (default false).",
        "false",
    ),
    "alerts.renewal_days": ("Alert on a renewal within N days while below the top band.", "90"),
    "alerts.stale_days": (
        "Report accounts with no signals for N days (a data problem), and accounts one of whose"
        " regular feeds (a metric without `fill` whose signal comes at least twice in N days)"
        " has been silent N days while their other data still arrives. The first get a data"
        " notice instead of health alerts, the second instead of score drops, band downgrades"
        " and that metric's drops.",
        "14",
    ),
    "alerts.cooldown_days": ("Days the same account and rule stay quiet.", "14"),
    "alerts.realert": (
        "An account shown a health alert is not alerted again for the same continuing slide"
        " (after the cooldown) unless it got materially worse since; a run scoring above the"
        " alert's score in between ends the slide (false: re-alert whenever the cooldown ran"
        " out; champion_left is always news).",
        "{worse_by: 10, within_days: 28}",
    ),
    "alerts.realert.worse_by": (
        "Points the score must fall below its value at the alert last shown to alert again"
        " (a lower band by the band_downgrade rule also does).",
        "10",
    ),
    "alerts.realert.within_days": (
        "Days an alert shown stands for the slide (after that, a fall alerts afresh).",
        "28",
    ),
    "alerts.fallback_channel": ("Where alerts go for owners not found in Slack.", "#cs-alerts"),
    "alerts.champion_left": (
        "Alert when the champion left (CSM input).",
        "{renewal_within_days: 120}",
    ),
    "alerts.champion_left.renewal_within_days": ("Only when renewing within N days.", "120"),
    "alerts.max_per_dm": (
        "Accounts listed in full in one owner's DM, most urgent first (the rest: 'and N more').",
        "10",
    ),
    "alerts.portfolio_move": (
        "A segment-wide dip: explained in the DMs and the digest.",
        "{percent: 30, points: 3, min_accounts: 20}",
    ),
    "alerts.portfolio_move.percent": (
        "Share of a segment's accounts (percent) that must fall together for the line.",
        "30",
    ),
    "alerts.portfolio_move.points": ("How far an account must fall to count as falling.", "3"),
    "alerts.portfolio_move.min_accounts": (
        "Smallest segment with a median and a line of its own (smaller ones use the"
        " portfolio's median).",
        "20",
    ),
}
