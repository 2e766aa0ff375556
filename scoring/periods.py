"""The one place that decides which period a date belongs to (ISO weeks, model timezone)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from scoring.errors import HealthbotError

_PERIOD = re.compile(r"^(\d{4})-W(\d{2})$")


def period_of(as_of: date) -> str:
    """ISO week of an as-of date, e.g. 2026-W47 (a date already in the model's timezone)."""
    return as_of.strftime("%G-W%V")


def period_bounds(period: str) -> tuple[date, date]:
    """(Monday, Sunday) of an ISO week; raises a user error for a malformed period."""
    match = _PERIOD.match(period)
    if not match:
        raise HealthbotError(f"period must look like 2026-W47, got {period!r}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise HealthbotError(f"{period!r} is not a week of {year}") from None
    return monday, monday + timedelta(days=6)


def previous_period(period: str) -> str:
    monday, _ = period_bounds(period)
    return period_of(monday - timedelta(days=7))


def last_complete_day(tz: str, now: datetime | None = None) -> date:
    """Yesterday in the model's timezone: what the Monday-morning run scores."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)


def weekly_as_ofs(start: date, end: date) -> list[date]:
    """As-of dates to rebuild history: each ISO week's Sunday, or `end` for a partial last week."""
    if end < start:
        raise HealthbotError(f"--from {start} is after --to {end}")
    out: list[date] = []
    day = start
    while day <= end:
        _, sunday = period_bounds(period_of(day))
        out.append(min(sunday, end))
        day = sunday + timedelta(days=1)
    return out


def parse_date(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HealthbotError(f"{what} must be a date like 2026-11-21, got {text!r}") from None
