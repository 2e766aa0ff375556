"""`healthbot score`, `history` and `export`: compute, inspect and hand on weekly scores."""

from __future__ import annotations

import argparse
import sys

from bot.cli.context import Context, add_data_checks, add_output_options
from bot.cli.output import emit
from scoring.batch.jobs import score_and_store
from scoring.batch.views import account_history, export_frame, load_period
from scoring.decisions.history import sparkline
from scoring.periods import last_complete_day, parse_date, weekly_as_ofs
from scoring.store.audit_trail import audit_trail


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    score = sub.add_parser(
        "score",
        parents=[common],
        help="score every active account and store the snapshot",
        description="Score every active account as of a date (default: yesterday in the model's"
        " timezone) and store one snapshot for its ISO week, replacing an earlier one.",
        epilog="examples:\n  healthbot score\n  healthbot score --as-of 2026-11-15\n"
        "  healthbot score --from 2026-06-01 --to 2026-11-21   # rebuild history",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument("--as-of", metavar="DATE")
    score.add_argument("--from", dest="start", metavar="DATE")
    score.add_argument("--to", dest="end", metavar="DATE")
    score.add_argument(
        "--in-database",
        action="store_true",
        help="compute the window aggregates in the database (SQL compiled from the model)"
        " instead of in Python; same scores (the freshness of each metric still reads the"
        " signal rows)",
    )
    add_data_checks(score)
    score.set_defaults(func=run_score)

    history = sub.add_parser(
        "history",
        parents=[common],
        help="weekly score history of one account",
        epilog="examples:\n  healthbot history acme\n  healthbot history acc-0042 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    history.add_argument("account", metavar="ACCOUNT", help="id, name, or part of a name")
    add_output_options(history)
    history.set_defaults(func=run_history)

    export = sub.add_parser(
        "export",
        parents=[common],
        help="export stored data (scores, audit)",
        epilog="examples:\n  healthbot export scores --format csv --output scores.csv\n"
        "  healthbot export scores --period 2026-W47 --json\n"
        "  healthbot export audit --format csv --output audit.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("what", choices=["scores", "audit"])
    export.add_argument(
        "--period", metavar="PERIOD", help="ISO week like 2026-W47 (default: the latest scored)"
    )
    add_output_options(export)
    export.set_defaults(func=run_export, format="csv")


def run_score(ctx: Context) -> int:
    args = ctx.args
    if args.as_of and (args.start or args.end):
        raise SystemExit("healthbot: use either --as-of or --from/--to")
    if args.start or args.end:
        end = parse_date(args.end, "--to") if args.end else last_complete_day(ctx.model.timezone)
        start = parse_date(args.start, "--from") if args.start else end
        as_ofs = weekly_as_ofs(start, end)
    else:
        as_ofs = [
            parse_date(args.as_of, "--as-of")
            if args.as_of
            else last_complete_day(ctx.model.timezone)
        ]
    from scoring.store.in_place import in_place_changes

    changes = in_place_changes(ctx.engine, ctx.model)  # it reads those tables as they are now
    scoring = score_and_store(
        ctx.engine, ctx.model, as_ofs, in_database=args.in_database, accounts=ctx.accounts
    )
    for scored in scoring:
        print(scored.summary())
    for line in changes:
        print(f"warning: {line}", file=sys.stderr)
    return 0


def run_history(ctx: Context) -> int:
    account = ctx.find_account(ctx.args.account)
    frame = account_history(ctx.engine, account["account_id"])
    trail = audit_trail(ctx.engine, [account["account_id"]])
    columns = [
        "period",
        "as_of",
        "score_shown",
        "band",
        "delta",
        "completeness",
        "model_version",
        "model_changed",
    ]
    out = frame.reindex(columns=columns).rename(columns={"score_shown": "score"})

    def text() -> str:
        if out.empty:
            return f"{account['name']} ({account['account_id']}): no scores stored yet"
        lines = [
            f"{account['name']} ({account['account_id']})  {sparkline(out['score'].tolist())}",
            "",
        ]
        lines.append(f"{'period':<10} {'as of':<10} {'score':>6} {'delta':>6}  band")
        for row in out.itertuples():
            score = "—" if row.score != row.score else f"{row.score:.1f}"
            delta = "" if row.delta != row.delta else f"{row.delta:+.1f}"
            note = (
                "  (model changed: scores before and after are not comparable)"
                if row.model_changed
                else ""
            )
            lines.append(
                f"{row.period:<10} {str(row.as_of)[:10]:<10} {score:>6} {delta:>6}  "
                f"{row.band}{note}"
            )
        if len(trail):
            lines += ["", "Audit trail (CSM input and actions):"]
            for r in trail.itertuples():
                until = (
                    f" until {str(r.valid_until)[:10]}"
                    if r.valid_until == r.valid_until and r.valid_until is not None
                    else ""
                )
                lines.append(
                    f"  {str(r.when)[:16]}  {r.who or '?'}  {r.what}: {r.detail}{until}  — {r.why}"
                )
        return "\n".join(lines)

    emit(ctx.args, out, text)
    return 0


def run_export(ctx: Context) -> int:
    if ctx.args.what == "audit":
        trail = audit_trail(ctx.engine)
        emit(ctx.args, trail, lambda: trail.to_string(index=False))
        return 0
    view = load_period(ctx.engine, ctx.args.period)
    frame = export_frame(view, ctx.model)
    emit(ctx.args, frame, lambda: frame.to_string(index=False))
    return 0
