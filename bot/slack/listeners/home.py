"""The App Home tab.

Each user sees their own book of business when they open the tab: count and ARR per band, their
accounts with the most ARR at stake, and the alerts of the latest run that nobody has acted on
yet (acknowledged, snoozed or followed up since it was sent). It is rebuilt on every
`app_home_opened`, so it is never older than the last time the user looked.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import sqlalchemy as sa
from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.messages.render import render_view
from bot.slack.cards import list_item
from bot.slack.listeners.answers import page_of
from bot.slack.listeners.gate import gated
from bot.slack.listeners.guard import guarded
from bot.slack.services import Services
from scoring.config import INSUFFICIENT_DATA
from scoring.decisions.card import band_display
from scoring.decisions.playbooks import order_by_urgency
from scoring.errors import HealthbotError
from scoring.store.alert_log import ALERT_LOG
from scoring.store.clicks import load_actions

HOME_AT_RISK = 10  # accounts per page of "Most ARR at stake"
HOME_ALERTS = 10  # open alerts per page


def open_alerts(engine: Engine, account_ids: set[str]) -> list[dict[str, Any]]:
    """Alerts of the latest alerting period on these accounts with no click since they went
    out, one entry per account (its reasons together), oldest first."""
    with engine.connect() as conn:
        period = conn.execute(sa.select(sa.func.max(ALERT_LOG.c.period))).scalar()
        if period is None:
            return []
        rows = conn.execute(
            sa.select(ALERT_LOG.c.account_id, ALERT_LOG.c.reason, ALERT_LOG.c.sent_on)
            .where(ALERT_LOG.c.period == period)
            .order_by(ALERT_LOG.c.sent_on, ALERT_LOG.c.id)
        ).all()
    mine = [r for r in rows if r.account_id in account_ids]
    if not mine:
        return []
    actions = load_actions(engine, sorted({r.account_id for r in mine}))
    last_click = (
        pd.to_datetime(actions["created_at"]).dt.date.groupby(actions["account_id"]).max()
        if len(actions)
        else pd.Series(dtype=object)
    )
    out: dict[str, dict[str, Any]] = {}
    for r in mine:
        clicked = last_click.get(r.account_id)
        if clicked is not None and clicked >= pd.Timestamp(r.sent_on).date():
            continue
        entry = out.setdefault(
            r.account_id, {"account_id": r.account_id, "sent_on": str(r.sent_on)[:10]}
        )
        entry.setdefault("reasons", []).append(r.reason)
    return list(out.values())


def home_pages(value: str | None) -> dict[str, int]:
    """The page of each list a home page button asks for ({"risk": n, "alerts": m})."""
    try:
        asked = json.loads(value or "{}")
    except ValueError:
        asked = {}
    asked = asked if isinstance(asked, dict) else {}
    return {k: v if isinstance(v := asked.get(k), int) else 1 for k in ("risk", "alerts")}


def _page(rows: list[Any], asked: int, size: int) -> tuple[list[Any], dict[str, Any]]:
    page, pages, first = page_of(len(rows), asked, size)
    return rows[first : first + size], {"page": page, "pages": pages, "first": first}


def home_context(
    svc: Services, user_id: str, pages: dict[str, int] | None = None
) -> dict[str, Any]:
    """Everything home.json.j2 shows for one user (every key always present); `pages`: the
    page of each list (home_pages), the first by default."""
    pages = pages or home_pages(None)
    context: dict[str, Any] = {
        "allowed": svc.access.allowed(user_id),
        "no_scores": False,
        "email": None,
        "period": "",
        "total": 0,
        "total_arr": 0.0,
        "bands": [],
        "at_risk": [],
        "at_risk_total": 0,
        "alerts": [],
        "alerts_total": 0,
        "pages": {"risk": {"page": 1, "pages": 1, "first": 0}}
        | {"alerts": {"page": 1, "pages": 1, "first": 0}},
    }
    if not context["allowed"]:
        return context
    try:
        snapshot = svc.portfolio.snapshot()
    except HealthbotError:
        return context | {"no_scores": True}
    email = svc.users.email(user_id)
    if not email:
        return context
    model = svc.model
    owned = svc.portfolio.owned(email)
    arr = pd.to_numeric(owned["arr"], errors="coerce").fillna(0.0)
    bands = []
    for name in [b.name for b in model.bands] + [INSUFFICIENT_DATA]:
        here = (owned["band"] == name).to_numpy()
        if here.any():
            emoji, label = band_display(model, name)
            bands.append(
                {"emoji": emoji, "label": label, "count": int(here.sum()), "arr": arr[here].sum()}
            )
    rank = pd.to_numeric(owned["band_rank"], errors="coerce")
    urgent = order_by_urgency(owned[(rank > 0).fillna(False).to_numpy(dtype=bool)])
    alerts = open_alerts(svc.engine, set(owned["account_id"].astype(str)))
    urgent_page, risk = _page(urgent.to_dict("records"), pages["risk"], HOME_AT_RISK)
    alerts_page, alert_pages = _page(alerts, pages["alerts"], HOME_ALERTS)
    shown = {"risk": risk, "alerts": alert_pages}
    for key, at in shown.items():
        now = {k: v["page"] for k, v in shown.items()}
        at["previous"] = json.dumps(now | {key: at["page"] - 1}) if at["page"] > 1 else ""
        at["next"] = json.dumps(now | {key: at["page"] + 1}) if at["page"] < at["pages"] else ""
    for alert in alerts_page:
        alert["name"] = svc.portfolio.name_of(alert["account_id"])
    return context | {
        "email": email,
        "period": snapshot.view.period,
        "total": len(owned),
        "total_arr": float(arr.sum()),
        "bands": bands,
        "at_risk": [list_item(model, r) for r in urgent_page],
        "at_risk_total": len(urgent),
        "alerts": alerts_page,
        "alerts_total": len(alerts),
        "pages": shown,
    }


def register(app: App, svc: Services) -> None:
    """app_home_opened: acknowledge at once, build and publish the tab in the background."""

    def ack_home(ack: Ack) -> None:
        ack()

    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        client.views_publish(
            user_id=user_id, view=render_view("home", **home_context(svc, user_id))
        )

    def turn_page(body: dict[str, Any], client: WebClient) -> None:
        """A page button in the tab: the same tab, that list on the page the button names."""
        user_id, pages = body["user"]["id"], home_pages(body["actions"][0].get("value"))
        view = render_view("home", **home_context(svc, user_id, pages))
        client.views_publish(user_id=user_id, view=view)

    app.event("app_home_opened")(ack=ack_home, lazy=[guarded(publish_home)])
    app.action(re.compile(r"^home_page_"))(ack=ack_home, lazy=[gated(svc, turn_page)])
