"""Hostile contexts for every template, keyed by template stem (`alert_dm` covers
`alert_dm.json.j2` and `alert_dm.txt.j2`): every string a person, a data source or Slack
supplies is one of `HOSTILE` (all of Slack's control sequences) or `LONG` (5,000 characters of
them). `tests/test_template_escaping.py` fails for a template without an entry here, so whoever
adds a template adds its context. The digest ones come from the real producers (build_digest →
digest_context / overflow_context / chart_labels); the others copy the shape their producer
(account_card, owner_dms, answers, home) hands over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HOSTILE = "<!channel> <!here> <!everyone> <@U123> <#C123> <https://evil|click> &lt; Evil & Co"
LONG = (HOSTILE + " ") * (5000 // (len(HOSTILE) + 1)) + "x" * (5000 % (len(HOSTILE) + 1))
assert len(LONG) == 5000


THRESHOLDS = {  # scoring/decisions/card.py band_thresholds, the model file's names hostile
    "segment": HOSTILE,
    "bands": [{"name": HOSTILE, "label": HOSTILE, "min": 85.0}]
    + [{"name": "at_risk", "label": LONG, "min": 70.0}],
}


def _item(i: int, name: str) -> dict[str, Any]:
    return {
        "account_id": f"acc-{i}-{name}",
        "name": name,
        "emoji": ":red_circle: <!here>",  # the model file's band emoji is supplied too
        "band_label": name,
        "score": 12.5,
        "previous_score": 44.0,
        "delta": -31.5,
        "arr": 1e6,
        "renewal_date": "2027-01-31",
        "renewal_past": name,
        "owner": name,
        "segment": name,
        "reasons": [HOSTILE, LONG],
        "playbook": {"name": name, "steps": [HOSTILE, LONG], "links": [HOSTILE, LONG]},
        "thresholds": THRESHOLDS,
    }


def items() -> list[dict[str, Any]]:
    return [_item(1, HOSTILE), _item(2, LONG)]


def card() -> dict[str, Any]:
    """What bot/slack/cards.py `account_card` returns, every text hostile."""
    metrics = [
        {"key": "m", "label": name, "raw": 1.0, "score": 9.0, "weight": 3.0}
        | {"points": 1.0, "has_data": True}
        | {"latest": "2026-10-01", "stale_days": 52, "cadence_days": 30.0}
        for name in (HOSTILE, LONG)
    ]
    return _item(1, HOSTILE) | {
        "period": "2026-W47",
        "as_of": "2026-11-22",
        "band": "critical",
        "sparkline": "▁▂▃",
        "weeks": 12,
        "metrics": metrics,
        "drivers": [{"label": HOSTILE, "delta": -12.0}, {"label": LONG, "delta": 1.0}],
        "completeness": 0.5,
        "last_signal": "2026-11-21",
        "model_changed": True,
        "alert_state": {"acknowledged_by": HOSTILE, "snoozed_until": "2026-12-06"}
        | {"last_note": LONG, "acknowledged_at": "2026-11-22 10:00"},
        "override": {"by": HOSTILE, "reason": LONG, "until": "2026-12-31"}
        | {"computed_score": 12.0, "computed_band": HOSTILE},
        "csm_notes": [
            {"id": 1, "by": HOSTILE, "written": "2026-11-22 10:00", "entered_on": "2026-11-22"}
            | {"until": "2026-12-31", "sentiment": 2, "champion": "left", "reason": LONG},
            {"id": 2, "by": LONG, "written": "2026-11-20 10:00", "entered_on": "2026-11-20"}
            | {"until": "2026-12-31", "sentiment": None, "champion": "at_risk", "reason": LONG},
        ],
        "audit": [audit_entry(kind, name) for kind in AUDIT_KINDS for name in (HOSTILE, LONG)][:3]
        + [audit_entry("outreach", LONG)],
    }


AUDIT_KINDS = ("note", "override", "ack", "snooze", "outreach")


def audit_entry(kind: str, text: str) -> dict[str, Any]:
    """One entry of scoring.store.audit_trail.latest_entries, its texts `text`."""
    return {"what": kind, "by": text, "when": "2026-11-22 10:00", "until": "2026-12-31"} | {
        "why": text,
        "sentiment": 3,
        "champion": "in_place",
        "score": 40.0,
        "revoked": True,
        "outcome": text,
    }


def home_pages(risk_pages: int, alert_pages: int) -> dict[str, Any]:
    """bot/slack/listeners/home.py's `pages`: the middle page of each list, when it has one."""
    out = {}
    for key, pages in (("risk", risk_pages), ("alerts", alert_pages)):
        page = (pages + 1) // 2
        out[key] = {"page": page, "pages": pages, "first": (page - 1) * 10}
        out[key] |= {"previous": HOSTILE if page > 1 else "", "next": LONG if page < pages else ""}
    return out


def notice_fields() -> dict[str, Any]:
    """An override-expired notice as bot/jobs/notices.py `expiry_notices` makes it."""
    return {"owner_email": HOSTILE, "account_id": "acc-1", "name": HOSTILE} | {
        "until": "2026-11-21",
        "score": 71.5,
        "band": HOSTILE,
        "by": HOSTILE,
        "reason": LONG,
    }


def alert_dm() -> dict[str, Any]:
    from bot.messages.render import PLAIN, render_text

    notice = notice_fields()
    line = render_text("override_notice", PLAIN, **notice)  # as owner_dms hands it over
    change = render_text("alert_dm_change", PLAIN, added=[HOSTILE], removed=[LONG]).strip()
    base = {"period": "2026-W47", "owner_name": HOSTILE, "items": items(), "more": 3}
    moves = [
        {"segment": name, "accounts": 40, "dropped": 20, "share": 50.0, "median_delta": -4.2}
        | {"points": 3.0}
        for name in (HOSTILE, LONG)
    ]
    return base | {"notices": [notice | {"line": line}], "change": change, "moves": moves}


def digest_contexts() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """digest, digest_thread and digest_chart contexts from the real producers, over a view
    whose names, owners, override reasons and target scope are hostile."""
    from bot.messages.digest_context import digest_context, overflow_contexts
    from scoring.decisions.digest import build_digest
    from tests.pipeline_fixtures import END, demo_model
    from tests.test_digest import synthetic_view

    model = demo_model(segments={})
    view, stale = synthetic_view(400)
    scores = view.scores
    odd = scores.index % 2 == 1
    scores["name"] = [LONG if o else HOSTILE for o in odd]
    scores["owner_email"] = HOSTILE
    scores["override_id"] = 1.0
    scores["override_by"] = HOSTILE
    scores["override_reason"] = LONG
    scores["segment_rule"] = HOSTILE  # a segment-wide dip names its (model file's) segment
    scores["delta"] = scores["delta"] - 5
    where = {HOSTILE: HOSTILE}
    digest = build_digest(model, view, END, stale=stale)
    context = digest_context(model, digest, quiet_line=True, where=where)
    assert context["moves"], "the hostile digest must explain a shared dip"
    threads = overflow_contexts(model, digest)
    assert threads, "the hostile digest must overflow into its thread"
    thread = threads[0] | {"first": False}
    thread["sections"][0] |= {"csv": LONG, "more": 3}  # as if its list were cut short again
    trend = [
        {"average_score": 50.0, "arr_at_risk": 1e6},
        {"average_score": 40.0, "arr_at_risk": 2e6},
    ]
    chart = {k: context[k] for k in ("period", "accounts", "bands")}  # as chart_labels passes
    thresholds = {"default": THRESHOLDS, "segments": [THRESHOLDS | {"segment": LONG}]}
    chart |= {"trend": trend, "weeks": 2, "where": where, "thresholds": thresholds}
    return context, thread, chart


def _undelivered() -> dict[str, Any]:
    row = {"key": HOSTILE, "target": HOSTILE, "status": "failed", "error": LONG}
    return {"rows": [row] * 25}


CONTEXTS: dict[str, Callable[[], dict[str, Any]]] = {
    "admin_failure": lambda: {"period": "2026-W47", "error": LONG},
    "write_refused": lambda: {
        "pending": False,
        "verb": "acknowledge alerts on",
        "name": HOSTILE,
        "who": "the account's owner or a healthbot admin",
        "why": f"it belongs to {HOSTILE}, not to you ({LONG})",
    },
    "admin_run_state": lambda: (
        {"period": "2026-W47", "status": "blocked", "error": LONG}
        | {"run_id": 1, "holder": HOSTILE, "attempts": 3}
    ),
    "admin_undelivered": _undelivered,
    "alert_dm": alert_dm,
    "renewal_past_check": lambda: {"count": 12, "name": LONG, "renewal_date": HOSTILE},
    "alert_dm_change": lambda: {"added": [HOSTILE, LONG], "removed": [HOSTILE]},
    "card": card,
    "health_card": card,
    "digest": lambda: digest_contexts()[0],
    "digest_thread": lambda: digest_contexts()[1],
    "digest_chart": lambda: digest_contexts()[2],
    "health_help": lambda: {"command": "/health"},
    "health_list": lambda: (
        {"kind": "at-risk", "items": items(), "first": 2, "page": 2, "pages": 3, "total": 6}
        | {"period": "2026-W47", "email": HOSTILE, "segment": LONG, "shared": False}
        | {"share_value": HOSTILE, "previous_value": HOSTILE, "next_value": LONG}
    ),
    "health_notice": lambda: (
        {"kind": "no_match", "query": LONG, "closest": items()}
        | {"command": "/health", "name": HOSTILE, "email": HOSTILE, "segment": HOSTILE}
    ),
    "health_picklist": lambda: {"query": LONG, "items": items()},
    "health_state": lambda: {"account_id": HOSTILE, "state": card()["alert_state"]},
    "home": lambda: (
        {"allowed": True, "no_scores": False, "email": HOSTILE}
        | {"period": "2026-W47", "total": 2, "total_arr": 1e6, "at_risk_total": 30}
        | {"bands": [{"emoji": HOSTILE, "label": HOSTILE, "count": 1, "arr": 1.0}]}
        | {"at_risk": items(), "alerts_total": 12, "pages": home_pages(3, 2)}
        | {
            "alerts": [
                {"account_id": "a", "name": n, "sent_on": "2026-11-22"} | {"reasons": [n]}
                for n in (HOSTILE, LONG)
            ]
        }
    ),
    "modal_note": lambda: (
        {"name": LONG, "private_metadata": "{}", "champion": ["in_place"]}
        | {"reason_limit": 3000, "default_until": "2026-12-31"}
    ),
    "modal_outreach": lambda: (
        {"name": LONG, "private_metadata": "{}", "outcomes": ["other"]} | {"note_limit": 3000}
    ),
    "modal_result": lambda: {
        "state": "refused",
        "title": HOSTILE,
        "verb": "add a note to",
        "name": HOSTILE,
        "who": "the account's owner or a healthbot admin",
        "why": f"it belongs to {HOSTILE}, not to you ({LONG})",
        "pending": False,
    },
    "modal_override": lambda: (
        {"name": HOSTILE, "private_metadata": "{}", "reason_limit": 500}
        | {"default_until": "2026-12-31"}
    ),
    "override_notice": notice_fields,
    "override_outcomes": lambda: (
        {"overrides": 2, "judged": 2, "too_recent": 0, "right": 1}
        | {"no_computed_score": 0}
        | {
            "rows": [
                {"entered_on": "2026-01-01", "account_id": HOSTILE, "override": 1.0}
                | {"computed": 2.0, "churned": True}
            ]
        }
    ),
    "check_history": lambda: {
        "model_name": HOSTILE,
        "other_name": LONG,
        "summary": [
            {"period": "2026-W26", "as_of": "2026-06-28", "scored": 3, "health_accounts": 2}
            | {"health_fired_accounts": 3, "held_back": 1, "overflow": 0}
            | {"rules": [{"rule": "score_drop", "fired": 2, "delivered": 1}]}
            | {"owners": [{"owner": HOSTILE, "accounts": [_line(HOSTILE), _line(LONG)]}]}
        ],
        "compare": {
            "weeks": [{"period": "2026-W26", "before": 2, "after": 1}],
            "last": {"period": "2026-W26", "before": 2, "after": 1}
            | {"gone": [_line(HOSTILE)], "new": [_line(LONG)]},
        },
    },
}


def _line(name: str) -> dict[str, str]:
    """One account line of `healthbot check --history` (scoring.validation.replay_summary)."""
    return {"owner": name, "account_id": name, "name": name, "rules": "score_drop"}
