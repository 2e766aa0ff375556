"""What each model-file key means, with an example: the words of the generated reference.

Every field of every section needs an entry here (tests/test_docs.py fails otherwise). Keys
that a section's own module describes (source guardrails, signal bounds) are merged in, so each
stays beside its schema.
"""

from __future__ import annotations

from scoring.config.reference_alerts import ALERT_DESCRIPTIONS
from scoring.config.reference_guards import GUARD_DESCRIPTIONS
from scoring.config.signal_bounds import DESCRIPTIONS as BOUNDS_DESCRIPTIONS

DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "timezone": ("IANA time zone that decides dates and periods (ISO weeks).", "Europe/Berlin"),
    "min_completeness": (
        "Share of the weight that must have data; below it an account gets"
        " no score and the band `insufficient_data`.",
        "0.5",
    ),
    "bands": (
        "Bands top down: the first whose `min` the shown score reaches applies. Mins are"
        " unique and the lowest is 0.",
        "[{name: healthy, min: 80}, ...]",
    ),
    "bands[].name": ("Band name (`insufficient_data` is reserved).", "at_risk"),
    "bands[].min": ("Lowest shown score in the band (0–100).", "50"),
    "bands[].color": (
        "Colour for cards and charts (green, yellow, orange, red, blue, purple,"
        " grey); default green/yellow/red by rank.",
        "orange",
    ),
    "bands[].emoji": ("Emoji shown before the band; default from the colour.", "🟠"),
    "metrics": (
        "The metrics, by key; each turns one signal into a 0–100 metric score.",
        "product_usage: {...}",
    ),
    "metrics.<key>.label": ("Name users read; default the key made readable.", "Product usage"),
    "metrics.<key>.description": ("Free text for the model's readers.", "Daily active seats"),
    "metrics.<key>.signal": ("Name of the synced signal it reads.", "active_users"),
    "metrics.<key>.aggregate": (
        "How the window's rows become one value: mean, sum, min, max,"
        " last, count, trend (7 × daily slope), days_since.",
        "mean",
    ),
    "metrics.<key>.window_days": ("Rows with as_of − W < date ≤ as_of are used.", "30"),
    "metrics.<key>.scale": (
        "Raw value → 0–100: {worst, best}, {steps: [...]} or"
        " {percentile: higher_is_better|lower_is_better}.",
        "{worst: 0, best: 40}",
    ),
    "metrics.<key>.scale.worst": ("Linear scale: the value that scores 0.", "12"),
    "metrics.<key>.scale.best": (
        "Linear scale: the value that scores 100 (below `worst` means lower is better).",
        "0",
    ),
    "metrics.<key>.scale.steps": (
        "Step scale: the first matching step wins; the last has no condition.",
        "[{below: 1, score: 100}, {score: 0}]",
    ),
    "metrics.<key>.scale.steps[].below": ("Step matches values below this.", "4"),
    "metrics.<key>.scale.steps[].at_least": ("Step matches values at least this.", "10"),
    "metrics.<key>.scale.steps[].score": ("Metric score of the step (0–100).", "50"),
    "metrics.<key>.scale.percentile": (
        "Rank among active accounts of the same segment value.",
        "higher_is_better",
    ),
    "metrics.<key>.weight": ("Weight (≥ 0; 0 shows the metric without counting it).", "30"),
    "metrics.<key>.fill": ("Value used when the window is empty (e.g. 0 tickets).", "0"),
    "segments": (
        "Overrides chosen by account attributes; the first match in file order applies.",
        "enterprise: {...}",
    ),
    "segments.<name>.where": (
        "Account attributes that must all equal (case-insensitive).",
        "{segment: Enterprise}",
    ),
    "segments.<name>.weights": (
        "Weights that replace the top-level ones; others are kept.",
        "{product_usage: 20}",
    ),
    "segments.<name>.bands": (
        "Bands that replace the top-level ones: same names, same order, other mins.",
        "[{name: healthy, min: 85}, ...]",
    ),
    "sources": ("Where `healthbot sync` loads data from.", "[{kind: accounts, path: ...}]"),
    "sources[].kind": ("accounts, signals or outcomes.", "signals"),
    "sources[].name": ("Label in summaries and errors.", "CRM accounts"),
    "sources[].path": (
        "CSV/Parquet file or glob, relative to the model file.",
        "exports/usage/*.parquet",
    ),
    "sources[].url": (
        "A warehouse: a SQLAlchemy URL with `query`, an ibis backend URL with `table`"
        " (use ${VAR} for credentials; never printed).",
        "${WAREHOUSE_URL}",
    ),
    "sources[].query": (
        "SQL run against `url` at sync; its rows are copied into healthbot's database.",
        "select account_id, day as date, ...",
    ),
    "sources[].table": (
        "A signals table or view read in place at every scoring run, never copied; or"
        " Parquet files by absolute path or glob (/lake/usage/*.parquet).",
        "analytics.daily_usage",
    ),
    "sources[].columns": ("Column mapping, our name: their column.", "{owner_email: csm_email}"),
    "sources[].layout": (
        "long (account_id, date, signal, value) or wide (a column per signal).",
        "wide",
    ),
    "sources[].encoding": ("A CSV's encoding if not UTF-8: utf-16, cp1252, latin-1, …", "utf-16"),
    "sources[].unknown_accounts": ("reject (default) or skip rows of unknown accounts.", "skip"),
    "sources[].combine": (
        "How several values of one account, day and signal combine: mean,"
        " sum, max, last (default: error).",
        "mean",
    ),
    "sources[].signals": ("Wide layout: only these columns are signals.", "[active_users]"),
    "schedule": ("When the weekly worker fires.", "{cron: '0 8 * * 1', timezone: UTC}"),
    "schedule.cron": ("Crontab string (0 and 7 are Sunday).", "0 8 * * 1"),
    "schedule.timezone": ("Time zone of the cron string only.", "Europe/Berlin"),
    "schedule.heartbeat_seconds": ("How often a worker renews its lease.", "30"),
    "schedule.stale_after_seconds": (
        "A lease without a heartbeat this long is taken over (its run marked abandoned).",
        "120",
    ),
    "schedule.retries": ("Times a failed weekly run is retried before it is reported.", "3"),
    "schedule.retry_minutes": ("Minutes between retries of a failed run.", "15"),
    "admin_channel": ("Channel told when a run fails.", "#healthbot-admin"),
    **ALERT_DESCRIPTIONS,
    "delivery": ("How messages leave.", "{redirect: '#healthbot-test'}"),
    "delivery.redirect": (
        "Send every message to this channel instead (trying it out).",
        "#healthbot-test",
    ),
    "delivery.sweep_minutes": (
        "How often the worker delivers what is still pending and reads back posts in doubt.",
        "5",
    ),
    "delivery.read_back_grace_seconds": (
        "Seconds after a failed post before it is read back (and resent if absent).",
        "60",
    ),
    "delivery.give_up_hours": (
        "A message still undelivered this long after it was queued stops and is reported.",
        "48",
    ),
    "delivery.in_run_seconds": (
        "How long a weekly run keeps retrying before it leaves the rest to the sweep.",
        "90",
    ),
    "playbooks": (
        "Recommended actions; the first whose `when` keys all hold is chosen.",
        "[{name: ..., when: {...}, steps: [...]}]",
    ),
    "playbooks[].name": ("Playbook name.", "Executive escalation"),
    "playbooks[].when": (
        "Conditions that must all hold (empty: always).",
        "{band: critical, arr_at_least: 50000}",
    ),
    "playbooks[].when.band": ("Current band.", "critical"),
    "playbooks[].when.driver": ("Metric with the most negative change this week.", "product_usage"),
    "playbooks[].when.segment": ("Account segment.", "Enterprise"),
    "playbooks[].when.renewal_within_days": ("Renewal within N days.", "90"),
    "playbooks[].when.arr_at_least": ("ARR at least.", "50000"),
    "playbooks[].when.improving": ("Score up this week and last.", "true"),
    "playbooks[].steps": ("What to do, in order.", "['Brief the account executive']"),
    "playbooks[].links": ("Links shown with the steps.", "['https://example.com/guide']"),
    "digest": ("Weekly digest target(s): one mapping or a list.", "{channel: '#cs-health'}"),
    "digest[].channel": ("Channel to post to.", "#cs-health"),
    "digest[].where": ("Only accounts with these attributes.", "{segment: Enterprise}"),
    "digest[].renewal_days": ("Renewals listed within N days.", "90"),
    "digest[].quiet_line": ("Post a short line when nothing moved.", "true"),
    "chart": ("Digest chart size in pixels.", "{width: 1200, height: 600}"),
    "chart.width": ("Width in pixels.", "1200"),
    "chart.height": ("Height in pixels.", "600"),
    "access": ("Who may use /health (empty: everyone).", "{allow: ['@cs-team']}"),
    "access.allow": (
        "Who may use /health: user groups (@handle), channels' members (#name or a C… id),"
        " user ids (U…) or emails.",
        "['@cs-team', '#cs-health']",
    ),
    "access.admins": (
        "Healthbot admins (the `admins` of access.writes): the same kinds of entry as allow.",
        "['@cs-leads']",
    ),
    "access.writes": (
        "Who may write each kind of entry from Slack: owner (the account's owner), admins"
        " (access.admins), anyone (anyone allowed to use /health). Default: owner and admins.",
        "{note: [owner, admins], ack: [anyone]}",
    ),
    "access.writes.note": ("Who may add a note (it moves the score).", "[owner, admins]"),
    "access.writes.override": ("Who may override a score.", "[owner, admins]"),
    "access.writes.ack": ("Who may acknowledge an alert.", "[owner, admins]"),
    "access.writes.snooze": ("Who may snooze an account's alerts.", "[owner, admins]"),
    "access.writes.outreach": ("Who may log outreach.", "[owner, admins]"),
    "access.override_max_days": ("Latest override expiry, in days from today.", "90"),
    "retention": ("How long signal rows are kept.", "{signal_days: 730}"),
    "retention.signal_days": (
        "Prune older signal rows (never what a window, rule or backtest"
        " still needs); off by default.",
        "730",
    ),
    "backtest": ("Validation settings.", "{horizon_days: 90}"),
    "backtest.horizon_days": ("Days after a score in which churn counts.", "90"),
    "advise": (
        "What `healthbot calibrate --advise` may build metrics from: every synced signal"
        " except the excluded ones, each aggregate, over these windows.",
        "{exclude_signals: [age], windows_days: [7, 30, 90]}",
    ),
    "advise.exclude_signals": (
        "Signals the advisor never proposes (demographics a company does not want scored);"
        " metrics the model already has on them stay as they are.",
        "[age, age_group]",
    ),
    "advise.windows_days": ("Windows (days) the advisor tries for each aggregate.", "[7, 30, 90]"),
    **BOUNDS_DESCRIPTIONS,
    **GUARD_DESCRIPTIONS,
}

for _field in ("name", "min", "color", "emoji"):
    DESCRIPTIONS[f"segments.<name>.bands[].{_field}"] = DESCRIPTIONS[f"bands[].{_field}"]
