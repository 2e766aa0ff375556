"""The fault-injection suite (issue #16's proof): real `healthbot scheduler` processes, started
from the Procfile's `worker:` line, against the Slack double and a real database, under the
faults production brings (Slack 500/429/lost answers/outages, kill -9, a second worker, a
database that goes away, a rerun after the data changed, a missing token).

Every scenario asserts that each message the period should deliver reached Slack exactly once,
at most one sweep interval (plus a few seconds) after the fault cleared, and that
`healthbot runs` tells the truth. `pytest -m faults` runs the suite alone; its figures go to
`fault-figures.json` under pytest's temp dir (or $HEALTHBOT_FAULT_FIGURES) and the summary.
"""
