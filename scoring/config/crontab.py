"""Crontab strings as crontab means them, for APScheduler 3, and time zone names.

APScheduler 3 numbers weekdays from Monday = 0, while crontab has Sunday = 0 (and 7), so
`CronTrigger.from_crontab("0 8 * * 1")` would fire on Tuesday. Weekday numbers are turned
into names here, which both agree on. Pure parsing, so that loading the model file refuses a
bad `schedule.cron` or time zone at once instead of when the scheduler starts; `bot.jobs`
imports it from here (scoring never imports bot).
"""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

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
        if step_text and not (step_text.isdigit() and int(step_text) > 0):
            raise ConfigError(f"schedule.cron: bad weekday step {step_text!r} in {cron!r}")
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


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def zone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone, with the closest one; None when it is one."""
    try:
        ZoneInfo(name)
        return None
    except (ZoneInfoNotFoundError, ValueError):
        pass
    close = difflib.get_close_matches(name, _zone_names(), n=1)
    hint = f"closest: {close[0]!r}" if close else "use an IANA name such as UTC"
    return f"unknown time zone {name!r} ({hint})"


def crontab_trigger(cron: str, timezone: str) -> CronTrigger:
    """The trigger for a 5-field crontab string; every problem is one ConfigError line."""
    fields = cron.split()
    if len(fields) != 5:
        raise ConfigError(
            f"schedule.cron: needs 5 fields (minute hour day month weekday, e.g. '0 8 * * 1'),"
            f" got {cron!r}"
        )
    if problem := zone_problem(timezone):
        raise ConfigError(f"schedule.timezone: {problem}")
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
        raise ConfigError(
            f"schedule.cron: {exc} in {cron!r} (fields: minute 0-59, hour 0-23, day 1-31,"
            " month 1-12, weekday 0-7)"
        ) from None


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (within the last 35 days)."""
    fire = trigger.get_next_fire_time(None, now - timedelta(days=35))
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last
