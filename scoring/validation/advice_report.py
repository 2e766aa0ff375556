"""The advisor's findings in the terminal: three held-out AUCs with their errors, what the
proposal changes and why, and the strongest candidates."""

from __future__ import annotations

import math

import pandas as pd

from scoring.validation.advise import Advice
from scoring.validation.formats import count, num, pct
from scoring.validation.text import aligned, written_lines

TOP_CANDIDATES = 10


def _pm(value: float, se: float) -> str:
    return f"{num(value, 3)} ± {num(se, 3)}"


def _signed(value: float, se: float) -> str:
    sign = "+" if math.isfinite(value) and value >= 0 else ""
    return f"{sign}{num(value, 3)} ± {num(se, 3)}"


def verdict_lines(advice: Advice) -> list[str]:
    a, se, pair = advice.auc, advice.se, advice.pair_se
    vs_current = a["proposal"] - a["current"]
    vs_base = a["proposal"] - a["baseline"]
    lines = [
        "Held-out ROC AUC (± standard error, resampling accounts):",
        f"  current model  {_pm(a['current'], se['current'])}",
        f"  proposal       {_pm(a['proposal'], se['proposal'])}   vs current"
        f" {_signed(vs_current, pair[('current', 'proposal')])}",
        f"  baseline       {_pm(a['baseline'], se['baseline'])}   logistic regression on the"
        f" {count(len(advice.specs))} candidates' raw values (standardized, any sign)",
        f"Proposal against the baseline: {_signed(vs_base, pair[('proposal', 'baseline')])}"
        + (
            ": within one standard error of it, or better."
            if advice.meets_target
            else ": more than one standard error below it (the explainable form costs accuracy"
            " here)."
        ),
    ]
    if advice.unscored_share > 0:
        lines.append(
            f"The proposal leaves {pct(advice.unscored_share)} of held-out rows without a score"
            " (too little weight with data); they count as 50 above."
        )
    return lines


def _change_rows(table: pd.DataFrame) -> list[list[str]]:
    return [
        [r.metric, r.change, r.definition, r.scale, r.weight, num(r.heldout_auc), r.why]
        for r in table.itertuples()
    ]


def _candidate_rows(advice: Advice) -> list[list[str]]:
    top = advice.candidates.dropna(subset=["heldout_auc"])
    top = top.sort_values("heldout_auc", ascending=False).head(TOP_CANDIDATES)
    return [
        [r.key, f"{r.aggregate} of {r.signal} over {r.window_days} days", pct(r.coverage, 0)]
        + [num(r.heldout_auc)]
        for r in top.itertuples()
    ]


def advice_report(
    advice: Advice,
    table: pd.DataFrame,
    model_name: str,
    target: str | None,
    diff_text: str,
) -> str:
    signals = sorted({s.signal for s in advice.specs})
    excluded = f" (excluded: {', '.join(advice.excluded)})" if advice.excluded else ""
    windows = ", ".join(str(w) for w in advice.windows)
    lines = [
        f"Model advice for {model_name}: {count(len(advice.specs))} candidate metrics from"
        f" {len(signals)} signals{excluded}: every aggregate over {windows} days, and the"
        " current metrics as they are.",
        f"Held-out check: {advice.split.description}; the search reran inside every fold.",
        f"{count(advice.heldout_rows)} held-out account-periods"
        f" ({count(advice.heldout_churned)} followed by churn) of"
        f" {count(advice.heldout_accounts)} accounts; unfinished horizons left out."
        + (
            f" The search ran on a random {count(advice.accounts)} accounts (every churned one"
            " while they are at most half), as it is bounded."
            if advice.sampled
            else ""
        ),
        "",
        *verdict_lines(advice),
        "",
        "What the proposal changes (own AUC: the candidate alone, on held-out rows):",
        *aligned(
            ["metric", "change", "definition", "scale", "weight", "own AUC", "why"],
            _change_rows(table),
        ),
        "",
        "Strongest candidates on their own:",
        *aligned(["candidate", "definition", "with data", "own AUC"], _candidate_rows(advice)),
    ]
    if advice.bands:
        moves = ", ".join(f"{name} {num(low, 0)}" for name, low in advice.bands.items() if low)
        lines.append(f"Band minimums for the new score (today's share per band): {moves}")
    lines += ["", *written_lines(model_name, target, diff_text)]
    return "\n".join(lines) + "\n"


def advice_dict(advice: Advice, table: pd.DataFrame) -> dict:
    """JSON-ready findings."""
    from scoring.validation.summary import plain

    def records(frame: pd.DataFrame) -> list[dict]:
        clean = frame.astype(object).where(frame.notna(), None)
        return [{k: plain(v) for k, v in r.items()} for r in clean.to_dict("records")]

    return {
        "auc": {k: plain(v) for k, v in advice.auc.items()},
        "auc_se": {k: plain(v) for k, v in advice.se.items()},
        "difference_se": {f"{a}-{b}": plain(v) for (a, b), v in advice.pair_se.items()},
        "meets_baseline_target": advice.meets_target,
        "not_worse_than_current": advice.not_worse,
        "holdout": {"method": advice.split.method, "description": advice.split.description},
        "heldout_rows": advice.heldout_rows,
        "heldout_churned": advice.heldout_churned,
        "heldout_accounts": advice.heldout_accounts,
        "unscored_share": advice.unscored_share,
        "accounts": advice.accounts,
        "accounts_sampled": advice.sampled,
        "excluded_signals": advice.excluded,
        "candidates": len(advice.specs),
        "changes": records(table),
        "bands_proposed": advice.bands,
    }
