"""What an alert is, as data: its rules, severities and columns, shared by the rules, the
cooldown and the store that remembers sent alerts.

Severity (one mapping for every rule, so channels can filter on it):
    critical  score drop of at least 2 x score_drop (beyond the segment's shared dip); band
              downgrade into the lowest band
    high      other score drops and band downgrades; champion left; renewal while in the
              lowest band
    medium    metric drop; renewal while in any other band below the top
    data      stale data, a score lost to missing data (data problems, never health alerts)
"""

from __future__ import annotations

# Rule order is also the order of an account's alerts in every output.
RULES = (
    "score_drop",
    "band_downgrade",
    "metric_drop",
    "renewal",
    "champion_left",
    "lost_score",
    "stale",
)
# Health alerts say a customer may be sliding; the other rules are notices (a renewal coming,
# a stale feed, a score lost to missing data: scoring/decisions/lost_score.py) and are counted
# apart, so alert volumes and precision measure health alerts.
HEALTH_RULES = ("score_drop", "band_downgrade", "metric_drop", "champion_left")
NOTICE_RULES = tuple(r for r in RULES if r not in HEALTH_RULES)
SEVERITIES = ("critical", "high", "medium", "data")
ALERT_COLUMNS = (
    "account_id rule severity reason score_shown previous_score delta band previous_band band_rank"
).split()
# An alert as remembered after sending: what the cooldown compares this week's alert with.
HISTORY_COLUMNS = ["account_id", "rule", "sent_on", "score_shown", "band_rank"]
# The CSM input the `champion_left` rule reads (and the look-backs reach a week further for).
CHAMPION_SIGNAL = "champion_status"
# Thresholds compare shown scores, which carry float noise (81.3 - 5 is not exactly 76.3).
EPS = 1e-9
