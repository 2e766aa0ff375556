"""How much signal history to keep when `retention: {signal_days: N}` is set (off by default).

Never less than what the model still reads: the longest metric window twice over (with
metric_drop on: that window ending on each of its history weeks), a backtest horizon plus a
window (scores as of `horizon_days` ago), and the stale-data alert's look-back.
"""

from __future__ import annotations

from datetime import date, timedelta

from scoring.config import Model


def keep_days(model: Model) -> int | None:
    """Days of signals to keep before `today`; None when retention is off."""
    if model.retention.signal_days is None:
        return None
    longest = max(m.window_days for m in model.metrics.values())
    return max(
        model.retention.signal_days,
        2 * longest,
        model.alerts.metric_drop.days_read(longest) if model.alerts.metric_drop else 0,
        model.backtest.horizon_days + longest,
        model.alerts.stale_days or 0,
    )


def retention_cutoff(model: Model, today: date) -> date | None:
    """Signals dated on or before this day may be deleted; None when retention is off."""
    days = keep_days(model)
    return None if days is None else today - timedelta(days=days)
