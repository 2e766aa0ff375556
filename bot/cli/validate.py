"""`healthbot backtest` and `healthbot calibrate`: test the model on history, and fit it.

Both re-score the stored history with the current model file (one signal read, then every
period from memory) and share their options, so the same --from/--to/--segment that shows a
problem in `backtest` can be handed to `calibrate`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.cli.context import Context, add_data_checks
from scoring.errors import HealthbotError
from scoring.periods import parse_date, weekly_as_ofs

FAR_FUTURE = date(9999, 12, 31)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    backtest = sub.add_parser(
        "backtest",
        parents=[common],
        help="check the model against what happened: AUC, churn per band, alert precision",
        description="Re-score each past week with the current model file (signals after each"
        " as-of date are never used), join every score to churn within the horizon, and report"
        " ROC AUC, churn per band, lift, alert precision/recall, calibration and each metric's"
        " own AUC. With --output DIR, also writes backtest.md, backtest.html and PNG charts.",
        epilog="examples:\n  healthbot backtest\n  healthbot backtest --output report/\n"
        "  healthbot backtest --from 2026-01-01 --to 2026-06-30 --segment Enterprise --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _options(backtest, "DIR", "directory for the report and charts")
    add_data_checks(backtest)
    backtest.add_argument(
        "--replay-weeks",
        type=int,
        default=13,
        metavar="N",
        help="replay the weekly decisions over the last N weeks for the delivered alert"
        " measures (cooldown, DM cap); 0 skips it (default 13)",
    )
    backtest.set_defaults(func=run_backtest_command)
    calibrate = sub.add_parser(
        "calibrate",
        parents=[common],
        help="fit the weights (and band minimums) to history; writes <model>.proposed.yml",
        description="Fit non-negative metric weights to history (regularised logistic"
        " regression), check them on held-out data, and write <model>.proposed.yml beside the"
        " model file with a diff, only when they do no worse than the current weights there. Your"
        " model file is never changed.",
        epilog="examples:\n  healthbot calibrate\n  healthbot calibrate --segment enterprise\n"
        "  healthbot calibrate --output /tmp/candidate.yml --json\n"
        "  healthbot calibrate --advise   # which signals, aggregates, windows and scales",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _options(calibrate, "FILE", "where to write the proposal (default: <model>.proposed.yml)")
    add_data_checks(calibrate)
    calibrate.add_argument(
        "--advise",
        action="store_true",
        help="consider every synced signal (except the model's advise.exclude_signals): propose"
        " which metrics to score, with which aggregate, window, scale and weight, checked"
        " against the current model and a logistic-regression baseline on held-out data",
    )
    calibrate.set_defaults(func=run_calibrate_command)


def _options(parser: argparse.ArgumentParser, output: str, output_help: str) -> None:
    parser.add_argument("--from", dest="start", metavar="DATE", help="first as-of date")
    parser.add_argument(
        "--to",
        dest="end",
        metavar="DATE",
        help="last as-of date (default: the last one whose horizon is over)",
    )
    parser.add_argument("--segment", metavar="NAME", help="a model segment or account segment")
    parser.add_argument(
        "--horizon-days",
        type=int,
        metavar="DAYS",
        help="churn horizon (default: the model's backtest.horizon_days, 90)",
    )
    parser.add_argument("--output", metavar=output, help=output_help)
    kind = "folder" if output == "DIR" else "file"
    parser.set_defaults(preflight=lambda ctx: _check_output(ctx, kind))
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument(
        "--json", dest="format", action="store_const", const="json", help="short for --format json"
    )


def _check_output(ctx: Context, kind: str) -> None:
    """A bad --output is refused before minutes of backtesting, not after."""
    from bot.cli.output import check_output

    if ctx.args.output:
        check_output(ctx.args.output, kind, creates_folders=True)


def _signal_range(ctx: Context, placement: Any) -> tuple[date, date]:
    """First and last signal date, in the store and in the sources read in place."""
    from sqlalchemy import text

    with ctx.engine.connect() as conn:
        first, last = conn.execute(text("select min(date), max(date) from signals")).one()
    ends = [] if first is None else [(parse_date(str(first)[:10]), parse_date(str(last)[:10]))]
    placed = placement.date_range() if placement else None
    ends += [] if placed is None else [placed]
    if not ends:
        raise HealthbotError("no signals stored yet: run `healthbot sync` first")
    return min(e[0] for e in ends), max(e[1] for e in ends)


def load_backtest(ctx: Context) -> tuple[Any, Any, Any]:
    """(backtest over all accounts, accounts, outcomes) for the command's options."""
    from scoring.batch.jobs import placement_of, signal_windows
    from scoring.decisions.alert_schema import CHAMPION_SIGNAL
    from scoring.store import load_accounts, load_outcomes, load_signals
    from scoring.validation.backtest import default_range, lookback_days, run_backtest

    args, model = ctx.args, ctx.model
    horizon = args.horizon_days or model.backtest.horizon_days
    if horizon < 1:
        raise HealthbotError(f"--horizon-days must be at least 1, got {horizon}")
    placement = placement_of(model)  # signals read in place: aggregated there, per period
    first, last = _signal_range(ctx, placement)
    outcomes = load_outcomes(ctx.engine)
    observed = last
    if outcomes["date"].notna().any():
        observed = max(last, outcomes["date"].max().date())
    start, end = default_range(model, first, last, observed, horizon)
    if args.end:
        end = parse_date(args.end, "--to")
    if args.start:
        start = parse_date(args.start, "--from")
        end = end if args.end or end >= start else last
    elif args.end:
        start = min(max(first, end - timedelta(weeks=51)), end)
    as_ofs = weekly_as_ofs(start, end)
    wanted = {m.signal for m in model.metrics.values()} | {CHAMPION_SIGNAL}
    names = sorted(wanted - placement.signals)
    alert_lookback = signal_windows(model, for_alerts=True)  # the weekly run's own look-back
    days = max(lookback_days(model), max(alert_lookback.values()) + 7)
    signals = load_signals(ctx.engine, start - timedelta(days=days), end, names)
    accounts = load_accounts(ctx.engine)
    replay = getattr(args, "replay_weeks", 0)
    if replay < 0:
        raise HealthbotError(f"--replay-weeks must be 0 or more, got {replay}")
    backtest = run_backtest(
        model,
        accounts,
        signals,
        outcomes,
        as_ofs,
        horizon,
        observed_until=observed,
        replay_weeks=replay,
        alert_lookback=alert_lookback,
        placement=placement,
    )
    return backtest, accounts, outcomes


def _write(text: str) -> None:
    sys.stdout.write(text)


def run_backtest_command(ctx: Context) -> int:
    from bot.messages.render import PLAIN, render_text
    from scoring.store.alert_log import alert_history
    from scoring.store.clicks import load_actions
    from scoring.store.csm_inputs import load_csm_inputs
    from scoring.validation.backtest import churn_events, segment_mask
    from scoring.validation.intervention import intervention_effect
    from scoring.validation.overrides_check import override_outcomes
    from scoring.validation.report import write_report
    from scoring.validation.summary import summarize
    from scoring.validation.text import backtest_text

    args, model = ctx.args, ctx.model
    full, accounts, outcomes = load_backtest(ctx)
    backtest = full.subset(segment_mask(full, model, args.segment))
    summary = summarize(backtest, model, args.segment)
    sent = alert_history(ctx.engine, FAR_FUTURE)
    sent = sent[sent["account_id"].isin(backtest.rows["account_id"])]
    effect = intervention_effect(
        sent,
        load_actions(ctx.engine),
        backtest.rows[["account_id", "as_of", "score"]],
        churn_events(accounts, outcomes),
        backtest.horizon_days,
        backtest.observed_until,
        backtest.as_ofs[0],
        backtest.as_ofs[-1],
    )
    checked = override_outcomes(
        load_csm_inputs(ctx.engine),
        backtest.rows[["account_id", "as_of", "score"]],
        churn_events(accounts, outcomes),
        backtest.horizon_days,
        backtest.observed_until,
    )
    name = ctx.config_path.name
    written: list[str] = []
    if args.output:
        paths = write_report(summary, model, Path(args.output), name, effect)
        written = [str(p) for p in paths]
    if args.format == "json":
        body = summary.to_dict() | {
            "intervention": effect,
            "overrides": checked,
            "report_files": written,
        }
        _write(json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        _write(backtest_text(summary, name, effect, written))
        if checked["overrides"]:
            _write("\n" + render_text("override_outcomes", PLAIN, **checked))
    return 0


def run_calibrate_command(ctx: Context) -> int:
    from scoring.validation.calibrate import calibrate, not_worse
    from scoring.validation.proposal import check_proposal, diff, propose_text, write_proposal
    from scoring.validation.text import calibration_text

    args, model, path = ctx.args, ctx.model, ctx.config_path
    output = Path(args.output) if args.output else None
    write_proposal(path, None, output)  # refuse a bad --output before the work, not after
    if args.advise:
        from bot.cli.advise import check_advise_args, run_advise

        check_advise_args(ctx)
        backtest, accounts, _ = load_backtest(ctx)
        return run_advise(ctx, output, backtest, accounts)
    backtest, _, _ = load_backtest(ctx)
    result = calibrate(model, backtest, args.segment)
    source = path.read_text(encoding="utf-8")
    proposed = propose_text(source, result.proposed, result.segment, result.bands_proposed)
    check_proposal(proposed, str(path), ctx.environ)
    target, changes = None, ""
    if not_worse(result.auc_after, result.auc_before):  # never propose a worse model
        target = write_proposal(path, proposed, output)
        changes = diff(source, proposed, str(path), str(target))
    if args.format == "json":
        written = None if target is None else str(target)
        body = result.to_dict() | {"proposed_file": written, "diff": changes}
        _write(json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        labels = {k: m.label or k for k, m in model.metrics.items()}
        where = None if target is None else str(target)
        _write(calibration_text(result, labels, path.name, where, changes))
    return 0
