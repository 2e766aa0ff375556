"""One alert DM per owner and period: the owner's health alerts and notices, rendered and keyed
for the outbox so that a rerun never sends a second DM.

The key is `alert:<period>:<owner email>` (scoring.decisions.weekly.dm_key), whatever the
content: a rerun that decides other alerts revises the row (scoring/store/outbox.py
`revise`), and a DM already in Slack is updated in place by the next delivery pass, with a
line on top saying what changed. Only the accounts
the DM lists in full are recorded on the row (`accounts`): those are the alerts a delivery
shows (the cooldown rule, scoring/store/alert_shown.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bot.messages.render import PLAIN, render_message, render_text
from scoring.decisions.weekly import OwnerAlerts, dm_key, owner_name
from scoring.store.alert_shown import listed_accounts
from scoring.store.outbox import OutboxMessage, period_rows

DM_KIND = "alert_dm"


@dataclass
class OwnerDM:
    owner_email: str
    alerts: OwnerAlerts | None = None
    notices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.alerts.items if self.alerts else []

    @property
    def listed(self) -> list[str]:
        return [str(i["account_id"]) for i in self.items]


def owner_dms(
    engine: Engine,
    period: str,
    batches: list[OwnerAlerts],
    notices: list[dict[str, Any]],
    names: Mapping[str, str],
    run_id: int | None = None,
) -> list[OutboxMessage]:
    """The DMs of `period`: `batches` (alerts per owner), `notices` (dicts with owner_email
    and the override_notice template's fields), `names` (account id → name, for the line
    saying which accounts a rerun added or removed)."""
    dms: dict[str, OwnerDM] = {b.owner_email: OwnerDM(b.owner_email, b) for b in batches}
    for notice in notices:
        owner = notice["owner_email"]
        dms.setdefault(owner, OwnerDM(owner)).notices.append(notice)
    existing = period_rows(engine, period, DM_KIND)
    for row in existing.values():  # a DM already sent whose alerts all went away: update it
        if row["posted_accounts"] is not None and row["target"] not in dms:
            dms[row["target"]] = OwnerDM(row["target"])
    out = []
    for owner, dm in sorted(dms.items()):
        key = dm_key(period, owner)
        # Lines the DM's templates place (and escape for Slack) like any other value.
        notices_shown = [
            n | {"line": render_text("override_notice", PLAIN, **n)} for n in dm.notices
        ]
        context = {
            "period": period,
            "owner_name": owner_name(owner),
            "items": dm.items,
            "more": dm.alerts.more if dm.alerts else 0,
            "moves": dm.alerts.moves if dm.alerts else [],
            "notices": notices_shown,
        }
        change = _change_line(existing.get(key), dm.listed, names, context)
        message = render_message(DM_KIND, **context, change=change)
        out.append(
            OutboxMessage(
                key=key,
                kind=DM_KIND,
                target_kind="email",
                target=owner,
                text=message.text,
                blocks=message.blocks,
                period=period,
                run_id=run_id,
                accounts=dm.listed,
                revisable=True,
            )
        )
    return out


def _change_line(
    row: dict[str, Any] | None,
    listed: list[str],
    names: Mapping[str, str],
    context: dict[str, Any],
) -> str | None:
    """What changed since the DM went to Slack, or None when it has not been posted (a
    pending DM simply carries the new content) or nothing changed. A line that repeats the
    row's own line leaves its text as it is, so an unchanged rerun revises nothing."""
    if row is None or row["posted_accounts"] is None or row["status"] not in ("sent", "sending"):
        return None
    posted = listed_accounts(row["posted_accounts"])
    added = [names.get(a, a) for a in listed if a not in posted]
    removed = [names.get(a, a) for a in posted if a not in listed]
    if not added and not removed and row["revision"] == 0:
        if render_message(DM_KIND, **context, change=None).text == row["text"]:
            return None
    return render_text("alert_dm_change", PLAIN, added=added, removed=removed).strip()
