"""Terminal summaries of a backtest and a calibration: short, aligned, readable at a glance."""

from __future__ import annotations

from typing import Any

from scoring.validation.calibrate import Calibration
from scoring.validation.lead_report import lead_time_intro
from scoring.validation.report import (
    count,
    headline,
    intervention_table,
    num,
    overview_lines,
    pct,
    quality_intro,
    tables,
)
from scoring.validation.summary import Summary


def _numeric(cell: str) -> bool:
    return cell[:1].isdigit() or cell[:1] in "-—" or cell.endswith(("%", "x"))


def aligned(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    """A plain text table: numbers right-aligned, words (and the first column) left-aligned."""
    widths = [max(len(c) for c in column) for column in zip(header, *rows, strict=True)]
    numeric = [all(_numeric(r[i]) for r in rows) for i in range(len(header))] if rows else []

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(w) if i and numeric and numeric[i] else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return indent + "  ".join(out).rstrip()

    return [line(header), *(line(r) for r in rows)]


def backtest_text(
    summary: Summary,
    model_name: str,
    effect: dict[str, Any] | None = None,
    written: list[str] | None = None,
) -> str:
    t = tables(summary)
    lines = overview_lines(summary, model_name) + [""] + headline(summary)[:2] + [""]
    mark = "monotone" if summary.monotone else "NOT monotone"
    lines += [f"Churn by band ({mark}):", *aligned(*t["bands"]), ""]
    lines += ["Calibration (churn by score bucket):", *aligned(*t["calibration"]), ""]
    if len(t["alerts"][1]):
        lines += ["Alert rules (firings before cooldown):", *aligned(*t["alerts"]), ""]
    if len(summary.lead_times):
        lines += ["How early the score warns:", f"  {lead_time_intro(summary)}"]
        lines += [*aligned(*t["lead_times"]), ""]
    if len(summary.survival):
        lines += ["Churn by band, unfinished horizons censored (Kaplan-Meier):"]
        lines += [*aligned(*t["survival"]), ""]
    if summary.replayed_weeks:
        lines += ["Alert quality:", f"  {quality_intro(summary)}", *aligned(*t["alert_quality"])]
        lines += [""]
    lines += ["Metrics (each one's own AUC):", *aligned(*t["metrics"]), ""]
    if len(summary.segments) > 1:
        lines += ["Per segment:", *aligned(*t["segments"]), ""]
    if effect is not None:
        groups = effect["groups"]
        if sum(g["accounts"] for g in groups):
            lines += ["Acting on alerts:", *aligned(*intervention_table(effect))]
            lines += [f"  {effect['caveat']}", ""]
        else:
            lines += [
                "Acting on alerts: no judgeable alerted accounts yet (it needs alerts sent by"
                " weekly runs, with their acknowledge/outreach buttons, at least a horizon ago).",
                "",
            ]
    lines += [f"Note: {n}" for n in summary.notes]
    if written:
        lines += ["", "Report: " + ", ".join(written)]
    return "\n".join(lines) + "\n"


def calibration_text(
    cal: Calibration,
    labels: dict[str, str],
    model_name: str,
    target: str | None,
    diff_text: str,
) -> str:
    """`target` None: the fitted weights did worse on held-out data and nothing was written."""
    scope = f"segment {cal.segment}" if cal.segment else "top-level weights"
    lines = [
        f"Calibration of {model_name} ({scope}).",
        f"Held-out check: {cal.split.description}.",
        f"AUC on held-out account-periods: {num(cal.auc_before, 3)} with the current weights,"
        f" {num(cal.auc_after, 3)} with the fitted ones ({count(cal.heldout_rows)} rows,"
        f" {count(cal.heldout_churned)} followed by churn).",
    ]
    rows = [
        [labels.get(r.metric, r.metric), num(r.weight, 1), num(r.proposed, 1), num(r.auc)]
        for r in cal.metrics.itertuples()
    ]
    lines += ["", *aligned(["metric", "weight now", "proposed", "own AUC"], rows), ""]
    if cal.bands_proposed:
        moves = ", ".join(
            f"{name} {num(cal.bands_current[name], 0)} -> {num(low, 0)}"
            for name, low in cal.bands_proposed.items()
            if name in cal.bands_current and low != 0
        )
        lines.append(f"Suggested band minimums (today's share of accounts per band): {moves}")
    rates = ", ".join(
        f"{r.band.replace('_', ' ')} {pct(r.churn_rate)}" for r in cal.band_rates.itertuples()
    )
    mark = "monotone" if cal.bands_monotone else "NOT monotone"
    lines.append(f"Churn per band with the proposal (in-sample): {rates} ({mark}).")
    lines += [f"Flag: {flag}" for flag in cal.flags]
    lines += [f"Note: {note}" for note in cal.notes]
    lines += ["", *written_lines(model_name, target, diff_text)]
    return "\n".join(lines) + "\n"


def written_lines(model_name: str, target: str | None, diff_text: str) -> list[str]:
    """What was written, or plainly that nothing beat the current model."""
    if target is None:
        return [
            f"Nothing beats the current model on held-out data: no proposal written, and"
            f" {model_name} is unchanged. Keep your model."
        ]
    return [
        f"Wrote {target}; {model_name} is unchanged. Review the diff, then copy the file over"
        " your model to adopt it.",
        "",
        diff_text.rstrip() or "(no change)",
    ]
