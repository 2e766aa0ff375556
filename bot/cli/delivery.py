"""`healthbot pause`, `resume` and `outbox`: stop and restart sending, see what went where.

Pausing is a flag in the database, not a signal to a process: every worker checks it before it
claims each message, so a delivery already running stops at its next message, and messages
enqueued meanwhile simply wait in the outbox until `resume` and the next delivery pass.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from bot.cli.context import Context, add_output_options
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
]


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
        help="list outbox messages and their delivery status",
        epilog="examples:\n  healthbot outbox --status failed\n  healthbot outbox --format csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    outbox.add_argument("--status", choices=STATUSES, help="only messages in this status")
    outbox.add_argument(
        "--limit", type=int, default=200, metavar="N", help="newest N (default 200; 0 = all)"
    )
    add_output_options(outbox)
    outbox.set_defaults(func=run_outbox)


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
    for name in ("created_at", "updated_at", "sent_at"):
        if out[name] is not None:
            out[name] = out[name].isoformat(sep=" ", timespec="seconds")
    return out


def _text(rows: list[dict[str, Any]], counts: dict[str, int], paused: bool) -> str:
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "empty"
    lines = [
        f"outbox: {summary}" + ("  — delivery is PAUSED (`healthbot resume`)" if paused else "")
    ]
    for r in rows:
        where = r["channel_id"] or "-"
        note = r["error"] or (f"fallback: {r['fallback_reason']}" if r["fallback_reason"] else "")
        when = r["sent_at"] or r["updated_at"]
        lines.append(
            f"{r['id']:>6}  {r['status']:<8} {when}  {r['key']}  → {r['target']} [{where}]"
            + (f"  {note[:120]}" if note else "")
        )
    return "\n".join(lines)
