"""A replay (`replay.py`) as plain data for `healthbot check --history`: per week, what each
rule would have sent and to whom, and two model files side by side.

The words are the CLI's template's (templates/check_history.txt.j2); this only counts and
lists. Health alerts are `alert_quality.HEALTH_RULES`; renewal and stale are listed apart.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from scoring.validation.alert_quality import HEALTH_RULES, OTHER_RULES
from scoring.validation.replay import Replay


def _health(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["rule"].isin(HEALTH_RULES)]


def _account_lines(frame: pd.DataFrame, names: dict[str, str]) -> list[dict[str, str]]:
    """One line per account (its rules joined), in account order: what a reader scans."""
    rules = frame.groupby(["owner_email", "account_id"], sort=True)["rule"].agg(", ".join)
    return [
        {"owner": owner, "account_id": acc, "name": str(names.get(acc, acc)), "rules": text}
        for (owner, acc), text in rules.items()
    ]


def replay_summary(replay: Replay, names: dict[str, str]) -> list[dict[str, Any]]:
    """Per week: counts per rule (fired, delivered), cooldown and cap, and who would have
    read which account, as plain data for a template."""
    out = []
    for week in replay.weeks:
        fired, delivered = week.fired, week.delivered
        rules = [
            {
                "rule": rule,
                "fired": int((fired["rule"] == rule).sum()),
                "delivered": int((delivered["rule"] == rule).sum()),
            }
            for rule in HEALTH_RULES + OTHER_RULES
        ]
        lines = _account_lines(delivered, names)
        owners = [
            {"owner": owner, "accounts": [line for line in lines if line["owner"] == owner]}
            for owner in sorted({line["owner"] for line in lines})
        ]
        out.append(
            {
                "period": week.period,
                "as_of": week.as_of.isoformat(),
                "scored": week.scored,
                "health_accounts": int(_health(delivered)["account_id"].nunique()),
                "health_fired_accounts": int(_health(fired)["account_id"].nunique()),
                "rules": rules,
                "held_back": week.held_back,
                "overflow": week.overflow,
                "owners": owners,
            }
        )
    return out


def compare_replays(before: Replay, after: Replay, names: dict[str, str]) -> dict[str, Any]:
    """Accounts with a delivered health alert per week under each model file, and for the
    last week which accounts would no longer be alerted and which would be new."""
    weeks = [
        {
            "period": b.period,
            "before": int(_health(b.delivered)["account_id"].nunique()),
            "after": int(_health(a.delivered)["account_id"].nunique()),
        }
        for b, a in zip(before.weeks, after.weeks, strict=True)
    ]
    if not weeks:
        return {"weeks": [], "last": None}
    was, now = _health(before.weeks[-1].delivered), _health(after.weeks[-1].delivered)
    gone = was[~was["account_id"].isin(now["account_id"])]
    new = now[~now["account_id"].isin(was["account_id"])]
    last = weeks[-1] | {"gone": _account_lines(gone, names), "new": _account_lines(new, names)}
    return {"weeks": weeks, "last": last}
