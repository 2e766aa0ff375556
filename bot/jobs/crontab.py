"""Crontab strings as crontab means them, for APScheduler 3.

APScheduler 3 numbers weekdays from Monday = 0, while crontab has Sunday = 0 (and 7), so
`CronTrigger.from_crontab("0 8 * * 1")` would fire on Tuesday. Weekday numbers are turned
into names here, which both agree on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from scoring.errors import ConfigError

DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _day(token: str, cron: str) -> int:
    if token.lower()[:3] in DAY_NAMES:
        return DAY_NAMES.index(token.lower()[:3])
    try:
        value = int(token)
    except ValueError:
        raise ConfigError(f"schedule.cron: bad weekday {token!r} in {cron!r}") from None
    if not 0 <= value <= 7:
        raise ConfigError(f"schedule.cron: weekday must be 0-7, got {value} in {cron!r}")
    return value


def crontab_weekdays(field: str, cron: str = "") -> str:
    """Crontab's day-of-week field as APScheduler weekday names (`1-5` -> `mon,tue,...`)."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = 0, 6
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _day(a, cron), _day(b, cron)
        else:
            start = end = _day(base, cron)
        if end < start:
            raise ConfigError(f"schedule.cron: weekday range {base!r} runs backwards in {cron!r}")
        days.update(d % 7 for d in range(start, end + 1, step))
    return ",".join(DAY_NAMES[d] for d in sorted(days))


def crontab_trigger(cron: str, timezone: str) -> CronTrigger:
    fields = cron.split()
    if len(fields) != 5:
        raise ConfigError(f"schedule.cron: needs 5 fields, got {cron!r}")
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=crontab_weekdays(weekday, cron),
            timezone=timezone,
        )
    except ValueError as exc:
        raise ConfigError(f"schedule.cron: {exc} in {cron!r}") from None


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (within the last 35 days)."""
    fire = trigger.get_next_fire_time(None, now - timedelta(days=35))
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last
