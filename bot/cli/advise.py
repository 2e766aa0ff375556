"""`healthbot calibrate --advise`: propose metrics from every synced signal (see
scoring/validation/advise.py), those of in-place sources (a warehouse `table`) included and
aggregated where they are stored; writes `<model>.proposed.yml` only when it does no worse
than the current model on held-out data."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.cli.context import Context


def check_advise_args(ctx: Context) -> None:
    """Refused before minutes of backtesting, not after."""
    from scoring.errors import HealthbotError

    if ctx.args.segment:
        raise HealthbotError(
            "calibrate --advise fits one set of metrics for every account; drop --segment (then"
            " run `healthbot calibrate --segment NAME` on the proposal)"
        )


def run_advise(ctx: Context, output: Path | None, backtest: Any, accounts: Any) -> int:
    """`backtest`: the current model's, over every account; `accounts`: the synced ones."""
    import pandas as pd

    from scoring.decisions.placed_history import InPlaceSignals
    from scoring.pushdown.in_place import place_signals
    from scoring.store import load_signals
    from scoring.validation.advice_file import advice_text
    from scoring.validation.advice_report import advice_dict, advice_report
    from scoring.validation.advise import advise
    from scoring.validation.proposal import check_proposal, diff, write_proposal

    args, model, path = ctx.args, ctx.model, ctx.config_path
    longest = max([*model.advise.windows_days, *(m.window_days for m in model.metrics.values())])
    start = backtest.as_ofs[0] - timedelta(days=longest + 1)
    # every signal the in-place sources hold, aggregated there (a query per signal and day)
    placement = place_signals(model, every=True)
    in_place = (
        InPlaceSignals(placement.signals, placement.aggregate_source(per_signal=True))
        if placement
        else None
    )
    signals = load_signals(ctx.engine, start, backtest.as_ofs[-1])
    if in_place is not None:  # rows of an in-place signal in the store are not what scores
        signals = signals[~signals["signal"].astype(str).isin(in_place.signals)]
    ids = pd.Index(accounts["account_id"].astype(str))
    advice = advise(model, backtest, signals, ids, in_place=in_place)
    source = path.read_text(encoding="utf-8")
    proposed, table = advice_text(source, model, advice)
    check_proposal(proposed, str(path), ctx.environ)
    target, changes = None, ""
    if advice.not_worse:
        target = write_proposal(path, proposed, output)
        changes = diff(source, proposed, str(path), str(target))
    if args.format == "json":
        written = None if target is None else str(target)
        body = advice_dict(advice, table) | {"proposed_file": written, "diff": changes}
        sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        where = None if target is None else str(target)
        sys.stdout.write(advice_report(advice, table, path.name, where, changes))
    return 0
