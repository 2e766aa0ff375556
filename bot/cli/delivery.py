"""`healthbot pause`, `resume` and `outbox`: stop and restart sending, see what went where,
and put right by hand what delivery stopped on (`outbox retry`, `outbox resolve`).

Pausing is a flag in the database, not a signal to a process: every worker checks it before it
claims each message, so a delivery already running stops at its next message, and messages
enqueued meanwhile simply wait in the outbox until `resume` and the next delivery pass.
`outbox` without an action lists; the actions live in bot/cli/outbox_actions.py.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from bot.cli.context import Context, add_output_options
from bot.cli.outbox_actions import register_actions
from bot.cli.output import emit
from scoring.store.outbox import STATUSES, count_by_status, is_paused, list_outbox, set_paused

COLUMNS = [
    "id",
    "key",
    "run_id",
    "period",
    "kind",
    "target_kind",
    "target",
    "status",
    "channel_id",
    "ts",
    "attempts",
    "error",
    "fallback_reason",
    "created_at",
    "updated_at",
    "sent_at",
    "text",
    "delivered_via",
    "next_attempt_at",
    "resolution",
    "resolved_by",
    "resolved_at",
]
TIMES = ("created_at", "updated_at", "sent_at", "next_attempt_at", "resolved_at")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    pause = sub.add_parser(
        "pause",
        parents=[common],
        help="stop all Slack sending; messages wait in the outbox",
        description="Stop sending: running deliveries stop before their next message.",
    )
    pause.set_defaults(func=run_pause)
    resume = sub.add_parser(
        "resume",
        parents=[common],
        help="restart Slack sending after `pause`",
        description="Restart sending: waiting messages go out with the next delivery pass.",
    )
    resume.set_defaults(func=run_resume)
    outbox = sub.add_parser(
        "outbox",
        parents=[common],
        help="list outbox messages; retry failed ones, resolve ones in doubt",
        description="Without an action: list outbox messages, newest first. With one: requeue"
        " failed messages (`retry`) or settle one whose delivery is in doubt after looking in"
        " Slack (`resolve`). Each action is recorded on the row with who and when.",
        epilog="examples:\n"
        "  healthbot outbox --status failed\n"
        "  healthbot outbox --format csv\n"
        "  healthbot outbox retry alert:2026-W47:ann@example.com\n"
        "  healthbot outbox retry --failed --period 2026-W47\n"
        "  healthbot outbox resolve alert:2026-W47:ann@example.com --sent",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    outbox.add_argument("--status", choices=STATUSES, help="only messages in this status")
    outbox.add_argument(
        "--limit", type=int, default=200, metavar="N", help="newest N (default 200; 0 = all)"
    )
    add_output_options(outbox)
    outbox.set_defaults(func=run_outbox)
    register_actions(outbox, common)


def run_pause(ctx: Context) -> int:
    set_paused(ctx.engine, True)
    waiting = count_by_status(ctx.engine)["pending"]
    print(f"delivery paused: nothing is sent until `healthbot resume` ({waiting} pending)")
    return 0


def run_resume(ctx: Context) -> int:
    set_paused(ctx.engine, False)
    waiting = count_by_status(ctx.engine)["pending"]
    print(f"delivery resumed: {waiting} pending message(s) go out with the next delivery")
    return 0


def run_outbox(ctx: Context) -> int:
    args = ctx.args
    rows = [_shown(r) for r in list_outbox(ctx.engine, args.status, args.limit or None)]
    counts = count_by_status(ctx.engine)
    paused = is_paused(ctx.engine)
    frame = pd.DataFrame(rows, columns=COLUMNS)  # the header even when there are no rows
    emit(args, frame, lambda: _text(rows, counts, paused))
    return 0


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """A row as printed: the listed columns, times as ISO strings (same in JSON and CSV)."""
    out = {c: row.get(c) for c in COLUMNS}
    for name in TIMES:
        if out[name] is not None:
            out[name] = out[name].isoformat(sep=" ", timespec="seconds")
    return out


def _text(rows: list[dict[str, Any]], counts: dict[str, int], paused: bool) -> str:
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "empty"
    lines = [
        f"outbox: {summary}" + ("  — delivery is PAUSED (`healthbot resume`)" if paused else "")
    ]
    if counts.get("printed"):
        lines.append(
            f"  ({counts['printed']} printed: shown by the terminal transport only, never in"
            " Slack; `healthbot outbox retry KEY` sends one to Slack)"
        )
    for r in rows:
        where = r["channel_id"] or "-"
        note = r["error"] or (f"fallback: {r['fallback_reason']}" if r["fallback_reason"] else "")
        if r["resolution"]:
            note = f"{note}  [{r['resolution']}, by {r['resolved_by']} {r['resolved_at']}]"
        when = r["sent_at"] or r["updated_at"]
        lines.append(
            f"{r['id']:>6}  {r['status']:<8} {when}  {r['key']}  → {r['target']} [{where}]"
            + (f"  {note[:120]}" if note else "")
        )
    return "\n".join(lines)
