"""Crontab strings mean what crontab means, whatever APScheduler 3 numbers weekdays as."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.jobs.crontab import crontab_trigger, crontab_weekdays, previous_fire_time
from scoring.errors import ConfigError


def test_0_8_star_star_1_fires_on_monday_at_8_in_the_schedule_timezone():
    trigger = crontab_trigger("0 8 * * 1", "Europe/Berlin")
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 18, tzinfo=UTC))
    assert fire.strftime("%A %H:%M") == "Monday 08:00"
    assert fire.astimezone(UTC).hour == 7  # Berlin is UTC+1 in November


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5-7", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon,wed", "mon,wed"),
        ("*", "*"),
    ],
    ids=str,
)
def test_weekday_fields(field, names):
    assert crontab_weekdays(field) == names


@pytest.mark.parametrize("cron", ["0 8 * * 9", "0 8 * *", "61 8 * * 1", "0 8 * * 5-2"], ids=str)
def test_bad_cron_strings_are_config_errors(cron):
    with pytest.raises(ConfigError):
        crontab_trigger(cron, "UTC")


def test_previous_fire_time_is_the_last_scheduled_moment():
    trigger = crontab_trigger("0 8 * * 1", "UTC")
    assert previous_fire_time(trigger, datetime(2026, 11, 25, tzinfo=UTC)) == datetime(
        2026, 11, 23, 8, tzinfo=UTC
    )
