"""`healthbot runs`: the run ledger, told truthfully.

A run that "succeeded" while its DMs sit in the outbox, or a week skipped because its worker
died, must be visible here: each run shows its status (succeeded, delivering, failed, blocked,
interrupted, abandoned, running), transport and attempt, and what became of its messages
(Slack deliveries apart from terminal prints); below the table, the messages still owed to
Slack and the periods that could not run. `--json` stays an array of runs, as scripts and
tests read it, with each run carrying its own pending messages and, on the latest run of a
period not done, why (`not_done`); runs with either are listed even when older than --limit.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from bot.cli.context import Context, add_output_options
from bot.cli.output import emit, records

PENDING_SHOWN = 50  # the text view lists this many pending messages, then counts the rest
_WHY = {
    "failed": "the scheduler retries a failed run (schedule.retries) and then reports it",
    "blocked": "a refusal retrying cannot fix: not retried until a person acts",
    "abandoned": "its worker died; the next worker runs the period again",
    "interrupted": "stopped by SIGTERM; the next worker resumes the period",
}
_NEXT = {
    "pending": "the next delivery sweep sends it",
    "sending": "a post is in flight",
    "in doubt": "the sweep reads it back, then sends it only if it is absent",
    "unknown": "look in Slack, then `healthbot outbox resolve KEY --sent` or `--not-sent`",
}


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    runs = sub.add_parser(
        "runs",
        parents=[common],
        help="list recent runs, the messages still pending and periods not done",
        description="Recent runs (newest first) with status, transport, attempt and what"
        " became of their messages: sent (to Slack), printed (terminal only), failed, unknown,"
        " in doubt (a read-back decides) and pending. Below: every message not yet in Slack"
        " and every period whose latest weekly run did not succeed. Runs with pending"
        " messages or a period not done are listed even when older than --limit.",
        epilog="examples:\n  healthbot runs\n  healthbot runs --limit 50\n  healthbot runs --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    runs.add_argument(
        "--limit", type=int, default=20, metavar="N", help="newest N runs (default 20)"
    )
    add_output_options(runs)
    runs.set_defaults(func=run_runs)


def run_runs(ctx: Context) -> int:
    from scoring.store.ledger import list_runs, pending_messages, periods_not_done
    from scoring.store.outbox import count_by_status

    engine = ctx.engine
    pending = [_message(m) for m in pending_messages(engine)]
    not_done = [d | {"why": why_not_done(d)} for d in periods_not_done(engine)]
    wanted = {m["run_id"] for m in pending if m["run_id"] is not None}
    wanted |= {d["run_id"] for d in not_done}
    frame = list_runs(engine, ctx.args.limit, include=wanted)
    runs = records(frame)  # None, not NaN, for a missing value (a sync run has no period)
    why = {d["run_id"]: d["why"] for d in not_done}
    for run in runs:
        run["not_done"] = why.get(run["id"])
    failed = count_by_status(engine)["failed"]
    if getattr(ctx.args, "format", "text") == "json":
        for run in runs:
            run["pending_messages"] = [_plain(m) for m in pending if m["run_id"] == run["id"]]
        emit(ctx.args, runs, lambda: "")
        return 0
    emit(ctx.args, runs, lambda: text(runs, pending, not_done, failed))
    return 0


def why_not_done(period: dict[str, Any]) -> str:
    """One line: how the period's latest run ended, its error, and what happens next."""
    status = period["status"]
    head = f"{status} (run {period['run_id']}, attempt {period['attempt']}"
    head += f", {period['transport']})" if period["transport"] else ")"
    if period["error"]:
        head += f": {period['error']}"
    line = f"{head} — {_WHY.get(status, 'not retried automatically')}"
    if period["earlier_success"] is not None:
        line += f" (run {period['earlier_success']} had succeeded before this rerun)"
    return line


def _message(row: dict[str, Any]) -> dict[str, Any]:
    """A pending message as shown: `state` tells a post in flight from one in doubt."""
    state = "in doubt" if row["in_doubt"] else row["status"]
    return row | {"state": state, "next": _NEXT[state].replace("KEY", row["key"])}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe like the runs around it (bot/cli/output.py): times as ISO strings."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _time(value: Any) -> str:
    """Minutes are enough to read a ledger: `2026-12-07 08:00`."""
    return str(value).replace("T", " ")[:16] if value is not None else "-"


def text(
    runs: list[dict[str, Any]],
    pending: list[dict[str, Any]],
    not_done: list[dict[str, Any]],
    failed: int,
) -> str:
    if not runs:
        return "no runs yet"
    lines = [
        f"{'id':>4} {'kind':<8} {'period':<9} {'status':<11} {'via':<8} {'try':>3} "
        f"{'started':<16} {'accts':>6} {'alerts':>6} {'sent':>5} {'print':>5} {'fail':>5} "
        f"{'unkn':>5} {'doubt':>5} {'pend':>5}"
    ]
    for r in runs:
        lines.append(
            f"{r['id']:>4} {r['kind']:<8} {r['period'] or '-':<9} {r['status']:<11} "
            f"{r['transport'] or '':<8} {r['attempt'] or '':>3} {_time(r['started_at']):<16} "
            f"{r['accounts_scored']:>6} {r['alerts']:>6} {r['sent']:>5} {r['printed']:>5} "
            f"{r['failed']:>5} {r['unknown']:>5} {r['in_doubt']:>5} {r['pending']:>5}"
            + (f"  {r['error']}" if r["error"] else "")
        )
    lines += ["", *_pending_lines(pending)]
    if failed:
        lines.append(
            f"{failed} failed message(s) wait for a person: `healthbot outbox --status failed`,"
            " then `healthbot outbox retry KEY` or `--failed`"
        )
    if not_done:
        lines += ["", "periods not done:"]
        lines += [f"  {d['period']:<9} {d['why']}" for d in not_done]
    return "\n".join(lines)


def _next_attempt(message: dict[str, Any]) -> str:
    """When delivery next touches it: a time, `now` when due, `-` when only a person or the
    worker holding it can move it (unknown, in flight)."""
    if message["state"] in ("pending", "in doubt"):
        return _time(message["next_attempt_at"]) if message["next_attempt_at"] else "now"
    return "-"


def _pending_lines(pending: list[dict[str, Any]]) -> list[str]:
    if not pending:
        return ["pending messages: none (everything queued is in Slack, printed or failed)"]
    width = min(max(len(m["key"]) for m in pending), 60)
    lines = [
        f"pending messages ({len(pending)}, not yet in Slack):",
        f"  {'key':<{width}} {'status':<9} {'tries':>5} {'next attempt':<16}  last error",
    ]
    for m in pending[:PENDING_SHOWN]:
        error = m["error"].splitlines()[0][:100] if m["error"] else "-"
        lines.append(
            f"  {m['key']:<{width}} {m['state']:<9} {m['attempts']:>5} "
            f"{_next_attempt(m):<16}  {error}"
            f"  → {m['next']}"
        )
    if len(pending) > PENDING_SHOWN:
        lines.append(f"  … and {len(pending) - PENDING_SHOWN} more (`healthbot runs --json`)")
    return lines
