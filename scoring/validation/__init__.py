"""Validation of the health score against what happened.

backtest.py re-scores history as of each past period and labels churn within the horizon;
summary.py turns that into AUC, churn per band, lift, alert precision/recall, calibration and
per-metric AUC; calibrate.py (with fitting.py and split.py) fits non-negative weights and
checks them on held-out periods or accounts; proposal.py writes `<model>.proposed.yml` from the
model file's own text; intervention.py compares alerted accounts acted on with the rest;
replay.py replays the weekly decisions (decide_week, cooldown, DM cap) week by week for the
delivered alert measures (alert_quality.py) and `healthbot check --history`
(replay_summary.py); labels.py labels churn ahead; report.py and text.py present it all.
Pure frames in, plain data out: the CLI (bot/cli/validate.py, check_history.py) does the
loading.

May import: `scoring.engine`, `scoring.decisions`, `scoring.config` and the shared basics.
Never the store.
"""
