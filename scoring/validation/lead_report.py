"""The backtest report's lead-time and survival sections (survival.py's numbers), shared by
the markdown/HTML report and the terminal text."""

from __future__ import annotations

from typing import Any

from scoring.validation.formats import count, num, pct
from scoring.validation.summary import Summary

Block = tuple[str, Any]
Table = tuple[list[str], list[list[str]]]


def lead_time_tables(summary: Summary) -> dict[str, Table]:
    out: dict[str, Table] = {}
    out["lead_times"] = (
        ["first warning", "churns warned", "weeks before churn: median", "quartiles"],
        [
            [r.warning, f"{count(r.warned)} of {count(r.churns)} ({pct(r.share, 0)})"]
            + [num(r.median, 1), f"{num(r.q1, 1)}-{num(r.q3, 1)}"]
            for r in summary.lead_times.itertuples()
        ],
    )
    out["survival"] = (
        ["band", "account-periods", "horizon not over", "churn (Kaplan-Meier)", "95% CI"],
        [
            [r.band.replace("_", " "), count(r.rows), count(r.censored), pct(r.km_churn)]
            + [f"{pct(r.km_low)}-{pct(r.km_high)}"]
            for r in summary.survival.itertuples()
        ],
    )
    return out


def lead_time_intro(summary: Summary) -> str:
    return (
        "For every churn the backtest saw coming, the weeks between the churn and the first"
        f" as-of day within the {summary.overview['horizon_days']}-day horizon before it on"
        " which the score was in the band (or worse), or a health alert fired. Churns already"
        " warned at the first backtested period have a lead time cut short by the backtest's"
        " start."
    )


SURVIVAL_INTRO = (
    "Churn within the horizon per band, with account-periods whose horizon is not over yet"
    " counted as censored (Kaplan-Meier), not as accounts that stayed. Periods of one account"
    " are not independent, so the intervals are optimistic."
)


def lead_time_blocks(summary: Summary, t: dict[str, Table], charts: dict[str, str]) -> list[Block]:
    out: list[Block] = []
    if len(summary.lead_times):
        out += [("h2", "How early the score warns"), ("p", lead_time_intro(summary))]
        out += [("table", t["lead_times"])]
    if len(summary.survival):
        out += [("h2", "Churn by band, unfinished horizons censored"), ("p", SURVIVAL_INTRO)]
        out += [("table", t["survival"])]
    if "survival" in charts:
        out.append(("img", (charts["survival"], "Churn after a score, by band")))
    return out
