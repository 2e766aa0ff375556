"""Schema of the operational parts of the model file: schedule, alerts, delivery,
playbooks, digest, access, retention, backtest, chart."""

from __future__ import annotations

import re

from pydantic import Field, ValidationInfo, field_validator, model_validator

from scoring.config.crontab import crontab_trigger
from scoring.config.metrics import Strict
from scoring.errors import ConfigError


class Schedule(Strict):
    cron: str = "0 8 * * 1"
    timezone: str = "UTC"
    heartbeat_seconds: float = Field(default=30, gt=0, le=600)
    stale_after_seconds: float = Field(default=120, gt=0, le=86400)
    retries: int = Field(default=3, ge=0, le=100)
    retry_minutes: float = Field(default=15, gt=0, le=10080)

    @model_validator(mode="after")
    def _five_fields(self) -> Schedule:
        try:  # parsed now, so a bad cron or zone fails `check`, not the scheduler's start
            crontab_trigger(self.cron, self.timezone)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if self.stale_after_seconds < 2 * self.heartbeat_seconds:
            raise ValueError(
                f"stale_after_seconds ({self.stale_after_seconds:g}) must be at least twice"
                f" heartbeat_seconds ({self.heartbeat_seconds:g}): a live worker would look dead"
            )
        return self


class MetricDrop(Strict):
    """A metric moving the bad way: large against the account's own recent weeks (robust z)
    and in absolute terms (min_change, min_base, percent), so 1 -> 2 tickets is not news."""

    percent: float = Field(default=30, gt=0, le=100)
    z: float = Field(default=3, gt=0, le=100)
    history_weeks: int = Field(default=8, ge=4, le=52)
    # A metric with a longer window is judged on its signal's last `recent_days` against the
    # same days of each history week, where the account has data most weeks (0: off).
    recent_days: int = Field(default=7, ge=0, le=7)
    # Several metrics slipping at once: their z-scores combined, weighted as in the score.
    combined_z: float = Field(default=2.5, ge=0, le=100)
    # A metric falling while the whole score rose is rarely worth a call (alerts.py filters).
    when_score_rises: bool = False
    min_change: dict[str, float] = Field(default_factory=dict)
    min_base: dict[str, float] = Field(default_factory=dict)

    @field_validator("min_change", "min_base")
    @classmethod
    def _not_negative(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not v >= 0}
        if bad:
            key, number = next(iter(bad.items()))
            raise ValueError(f"{key}: must be 0 or more, got {number}")
        return value

    def days_read(self, window_days: int) -> int:
        """Days of signals a metric with this window needs: its window ending on each of the
        `history_weeks` weeks before the as-of day, and the current one."""
        return window_days + 7 * self.history_weeks


class ChampionLeft(Strict):
    renewal_within_days: int | None = Field(default=None, ge=0)


class BandDowngrade(Strict):
    """Hysteresis for band downgrades: a score hovering at a threshold must not alert each
    time it crosses, so a downgrade alerts only when the score is `margin` points below the
    minimum of the band it left, or has stayed below that minimum for `confirm_runs` runs."""

    margin: float = Field(default=3, ge=0, le=100)
    confirm_runs: int = Field(default=2, ge=1, le=12)
    # A confirmed downgrade must also be a fall of `margin` from the usual score (the median
    # of this many runs before the streak): a score that always hovered there is no news.
    usual_runs: int = Field(default=4, ge=0, le=12)
    # ... and larger than `z` times what scores in its segment commonly move in a week.
    z: float = Field(default=3, ge=0, le=100)


class PortfolioMove(Strict):
    """A segment-wide dip (a holiday week): `percent` of a segment's accounts falling at
    least `points` together is explained in the DMs and the digest (score drops are always
    judged against the segment's median change)."""

    percent: float = Field(default=30, gt=0, le=100)
    points: float = Field(default=3, gt=0, le=100)
    min_accounts: int = Field(default=20, ge=2)


class Realert(Strict):
    """After an account was shown a health alert, the same continuing slide alerts again
    (past the cooldown) only when it got materially worse since that alert: its score fell
    `worse_by` points more, or the band_downgrade rule takes it to a lower band. An alert
    shown stands for the slide `within_days` days, or until a run scores above the score at
    the alert (it recovered: a new fall is a new slide); champion_left is news of its own."""

    worse_by: float = Field(default=10, gt=0, le=100)
    within_days: int = Field(default=28, ge=1, le=730)


class Alerts(Strict):
    score_drop: float = Field(default=0, ge=0, le=100)
    band_downgrade: BandDowngrade | None = None
    metric_drop: MetricDrop | None = None
    renewal_days: int | None = Field(default=None, ge=0)
    stale_days: int | None = Field(default=None, ge=1)
    cooldown_days: int = Field(default=14, ge=0)
    fallback_channel: str | None = None
    champion_left: ChampionLeft | None = None
    max_per_dm: int = Field(default=10, ge=1, le=50)
    portfolio_move: PortfolioMove = Field(default_factory=PortfolioMove)
    realert: Realert | None = Field(default_factory=Realert)

    @field_validator("realert", "band_downgrade", mode="before")
    @classmethod
    def _switch(cls, value: object, info: ValidationInfo) -> object:
        """`realert: true` / `band_downgrade: true` stay valid (the section's defaults);
        `false` turns it off (realert: re-alert whenever the cooldown ran out)."""
        if value is True:
            return {"realert": Realert, "band_downgrade": BandDowngrade}[info.field_name]()
        if value is False:
            return None
        return value


class Delivery(Strict):
    redirect: str | None = None
    sweep_minutes: float = Field(default=5, gt=0, le=1440)
    read_back_grace_seconds: float = Field(default=60, ge=0, le=3600)
    give_up_hours: float = Field(default=48, gt=0, le=720)
    in_run_seconds: float = Field(default=90, ge=0, le=3600)


class PlaybookWhen(Strict):
    band: str | None = None
    driver: str | None = None
    segment: str | None = None
    renewal_within_days: int | None = Field(default=None, ge=0)
    arr_at_least: float | None = None
    improving: bool | None = None


class Playbook(Strict):
    name: str = Field(min_length=1)
    when: PlaybookWhen = Field(default_factory=PlaybookWhen)
    steps: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)


class DigestTarget(Strict):
    channel: str = Field(min_length=1)
    where: dict[str, str | int | float | bool] = Field(default_factory=dict)
    renewal_days: int = Field(default=90, ge=0)
    quiet_line: bool = True


class Chart(Strict):
    width: int = Field(default=1200, ge=200, le=4000)
    height: int = Field(default=600, ge=150, le=4000)


ACCESS_ENTRY = re.compile(
    r"@[\w.-]+"  # a user group: @handle or @S… id
    r"|#[\w.-]+"  # a channel by name
    r"|[CGUW](?=[A-Z0-9]*[0-9])[A-Z0-9]+"  # a channel or user id
    r"|[^@\s]+@[^@\s]+\.[^@\s]+"  # a person's Slack email
)


WRITE_ROLES = ("owner", "admins", "anyone")
OWNER_AND_ADMINS = ["owner", "admins"]


class Writes(Strict):
    """Who may write what from Slack, per action: `owner` (the account's owner_email is the
    user's Slack email), `admins` (a member of `access.admins`), `anyone` (anyone who may use
    healthbot). Notes move the score and fire champion_left, so none is open by default."""

    note: list[str] = Field(default_factory=lambda: list(OWNER_AND_ADMINS))
    override: list[str] = Field(default_factory=lambda: list(OWNER_AND_ADMINS))
    ack: list[str] = Field(default_factory=lambda: list(OWNER_AND_ADMINS))
    snooze: list[str] = Field(default_factory=lambda: list(OWNER_AND_ADMINS))
    outreach: list[str] = Field(default_factory=lambda: list(OWNER_AND_ADMINS))

    @field_validator("*")
    @classmethod
    def _roles(cls, roles: list[str]) -> list[str]:
        """A typo (`admin`, `owners`) would silently shut everyone out; refuse it at load."""
        for i, role in enumerate(roles):
            if role not in WRITE_ROLES:
                raise ValueError(f"entry {i + 1} ({role!r}) is not one of {', '.join(WRITE_ROLES)}")
        return list(dict.fromkeys(roles))

    def roles(self, action: str) -> tuple[str, ...]:
        return tuple(getattr(self, action))


class Access(Strict):
    allow: list[str] = Field(default_factory=list)
    admins: list[str] = Field(default_factory=list)
    writes: Writes = Field(default_factory=Writes)
    override_max_days: int = Field(default=90, ge=1, le=3660)

    @field_validator("allow", "admins")
    @classmethod
    def _entries(cls, entries: list[str]) -> list[str]:
        """Refused here, a typo'd entry says so when the model loads instead of silently
        letting nobody in at the first /health."""
        out = [e.strip() for e in entries]
        for i, entry in enumerate(out):
            if not ACCESS_ENTRY.fullmatch(entry):
                raise ValueError(
                    f"entry {i + 1} ({entry!r}) is not a user group (@handle), a channel"
                    " (#name or its C… id), a user id (U…) or an email"
                )
        return out


class Retention(Strict):
    signal_days: int | None = Field(default=None, ge=1)


class Backtest(Strict):
    horizon_days: int = Field(default=90, ge=1)


class Advise(Strict):
    """What `healthbot calibrate --advise` may build metrics from (validation/advise.py)."""

    exclude_signals: list[str] = Field(default_factory=list)
    windows_days: list[int] = Field(default_factory=lambda: [7, 30, 90], min_length=1)

    @field_validator("windows_days")
    @classmethod
    def _windows(cls, value: list[int]) -> list[int]:
        bad = [w for w in value if not 1 <= w <= 3660]
        if bad:
            raise ValueError(f"every window must be 1 to 3660 days, got {bad[0]}")
        return sorted(set(value))
