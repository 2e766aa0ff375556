"""Crontab strings for the scheduler: the pure parsing lives in `scoring.config.crontab`, so
that loading the model file can refuse a bad `schedule.cron` before any worker starts."""

from scoring.config.crontab import (
    DAY_NAMES,
    crontab_trigger,
    crontab_weekdays,
    previous_fire_time,
)

__all__ = ["DAY_NAMES", "crontab_trigger", "crontab_weekdays", "previous_fire_time"]
