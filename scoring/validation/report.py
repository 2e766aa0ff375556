"""The backtest report: one markdown file, the same as HTML, and two PNG charts.

The report is for people deciding whether to trust the score, so every table says what it
answers and every number is shown the way it is read (percentages, two-decimal AUCs). Markdown
and HTML are rendered from one list of blocks so that they can never disagree. Charts use
matplotlib's Agg canvas directly: no display, no global pyplot state, safe in a worker.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from scoring.config import Model
from scoring.validation.alert_quality import ALL_HEALTH
from scoring.validation.charts import band_chart, roc_chart, survival_chart
from scoring.validation.formats import count, num, pct
from scoring.validation.lead_report import lead_time_blocks, lead_time_tables
from scoring.validation.summary import Summary

Block = tuple[str, Any]  # ("h1"|"h2"|"p"|"table"|"img", content)
VERDICTS = {
    "informative": "carries signal",
    "noise": "no clear signal (noise?)",
    "wrong_way": "POINTS THE WRONG WAY: check its scale",
    "no_data": "no data",
}


def overview_lines(summary: Summary, model_name: str) -> list[str]:
    o = summary.overview
    where = f", segment {o['segment']}" if o["segment"] else ""
    return [
        f"Backtest of {model_name} (model {o['model_version']}{where}): {o['periods']} period(s)"
        f" from {o['first_as_of']} to {o['last_as_of']}, churn horizon {o['horizon_days']} days.",
        f"{count(o['account_periods'])} account-periods ({count(o['accounts'])} accounts),"
        f" {count(o['scored'])} with a score; {count(o['churned'])} followed by churn within the"
        f" horizon ({pct(o['churn_rate'])}), from {count(o['churned_accounts'])} accounts.",
    ]


def headline(summary: Summary) -> list[str]:
    lift = summary.lift
    return [
        f"ROC AUC {num(summary.auc)}: the chance that an account which churned scored lower than"
        " one which stayed (0.5 = coin toss, 1.0 = perfect).",
        f"Lowest-scoring 10%: churn {pct(lift['rate'])} against {pct(lift['base_rate'])} on"
        f" average, a lift of {num(lift['lift'], 1)}x.",
        "Churn by band is monotone (worse band, more churn)."
        if summary.monotone
        else "Churn by band is NOT monotone: a worse band does not always mean more churn.",
    ]


def tables(summary: Summary) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Each table as (header, rows of strings), shared by the text, markdown and HTML views."""
    s = summary
    out: dict[str, tuple[list[str], list[list[str]]]] = {}
    out["bands"] = (
        ["band", "account-periods", "churned", "churn rate"],
        [
            [r.band.replace("_", " "), count(r.rows), count(r.churned), pct(r.churn_rate)]
            for r in s.bands.itertuples()
        ],
    )
    out["calibration"] = (
        ["score", "account-periods", "churned", "churn rate", "mean score"],
        [
            [r.bucket, count(r.rows), count(r.churned), pct(r.churn_rate), num(r.mean_score, 1)]
            for r in s.calibration.itertuples()
        ],
    )
    out["alerts"] = (
        ["rule", "fired", "followed by churn", "precision", "churned accounts caught", "recall"],
        [
            [r.rule, count(r.fired), count(r.followed_by_churn), pct(r.precision)]
            + [count(r.churned_accounts_caught), pct(r.recall)]
            for r in s.alerts.itertuples()
        ],
    )
    out["alert_quality"] = (
        ["alerts", "rule", "per 100 accounts/week", "per owner/week (median, p95)"]
        + ["precision", "lift", "recall"],
        [
            [r.mode, r.rule, num(r.per_100_accounts_week, 1)]
            + [f"{num(r.per_owner_week_median, 0)}, {num(r.per_owner_week_p95, 0)}"]
            + [pct(r.precision), num(r.lift, 1) + "x", pct(r.recall)]
            for r in s.alert_quality.itertuples()
            if r.alerts or r.rule == ALL_HEALTH
        ],
    )
    out |= lead_time_tables(s)
    out["metrics"] = (
        ["metric", "weight", "account-periods with data", "AUC", "verdict"],
        [
            [r.label, num(r.weight, 1), count(r.rows_with_data), num(r.auc), VERDICTS[r.verdict]]
            for r in s.metrics.itertuples()
        ],
    )
    out["segments"] = (
        ["segment", "account-periods", "accounts", "churned", "churn rate", "AUC", "lift"],
        [
            [r.segment, count(r.rows), count(r.accounts), count(r.churned), pct(r.churn_rate)]
            + [num(r.auc), num(r.lift, 1)]
            for r in s.segments.itertuples()
        ],
    )
    out["periods"] = (
        ["as of", "accounts", "churned", "AUC"],
        [
            [str(r.as_of)[:10], count(r.rows), count(r.churned), num(r.auc)]
            for r in s.periods.itertuples()
        ],
    )
    return out


def quality_intro(summary: Summary) -> str:
    return (
        f"The last {summary.replayed_weeks} week(s) replayed with the weekly run's decisions:"
        " `fired` is every rule that fired, `delivered` what owners' DMs would have listed"
        " (after cooldown and the per-DM cap). Precision leaves out weeks whose horizon is not"
        " over; lift is precision over the base churn rate; recall is the share of churned"
        " accounts alerted in a week followed by their churn. Renewal and stale are not health"
        " alerts."
    )


def intervention_table(effect: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["alerted accounts", "accounts", "churned", "churn rate"]
    header += [f"score change after {effect['recovery_days']} days (mean, n)"]
    rows = [
        [g["group"], count(g["accounts"]), count(g["churned"]), pct(g["churn_rate"])]
        + [f"{num(g['mean_score_change'], 1)} (n={g['with_later_score']})"]
        for g in effect["groups"]
    ]
    return header, rows


def blocks(
    summary: Summary, model_name: str, effect: dict[str, Any] | None, charts: dict[str, str]
) -> list[Block]:
    t = tables(summary)
    out: list[Block] = [("h1", f"Backtest: {model_name}")]
    out += [("p", line) for line in overview_lines(summary, model_name)]
    out += [("h2", "Does a low score come before churn?")]
    out += [("p", line) for line in headline(summary)[:2]]
    if "roc" in charts:
        out.append(("img", (charts["roc"], "ROC curve")))
    out += [("h2", "Churn by band"), ("p", headline(summary)[2]), ("table", t["bands"])]
    if "bands" in charts:
        out.append(("img", (charts["bands"], "Churn rate by band")))
    out += [
        ("h2", "Calibration: churn by score bucket"),
        ("p", "Observed churn within the horizon for each 10-point band of the score."),
        ("table", t["calibration"]),
        ("h2", "Alert rules"),
        (
            "p",
            "Precision: share of firings followed by churn within the horizon (compare with"
            " the base rate). Recall: share of churned accounts a rule flagged within the horizon"
            " before they churned.",
        ),
        ("table", t["alerts"]),
    ]
    out += lead_time_blocks(summary, t, charts)
    if summary.replayed_weeks:
        out += [("h2", "Alert quality: as fired and as delivered"), ("p", quality_intro(summary))]
        out += [("table", t["alert_quality"])]
    out += [
        ("h2", "Which metrics carry information"),
        (
            "p",
            "Each metric's own AUC, from its 0-100 sub-score. Manual CSM inputs (sentiment,"
            " champion status) appear here like any metric when the model scores them.",
        ),
        ("table", t["metrics"]),
        ("h2", "Per segment"),
        ("table", t["segments"]),
    ]
    if len(summary.periods) > 1:
        out += [("h2", "Per period"), ("table", t["periods"])]
    if effect is not None:
        out += [("h2", "Acting on alerts"), ("table", intervention_table(effect))]
        out += [("p", f"{count(effect['too_recent'])} alerted accounts are too recent to judge.")]
        out += [("p", effect["caveat"])]
    out += [("h2", "Notes")] + [("p", note) for note in summary.notes]
    return out


def to_markdown(doc: list[Block]) -> str:
    lines: list[str] = []
    for kind, content in doc:
        if kind in ("h1", "h2"):
            lines += ["#" * int(kind[1]) + " " + content, ""]
        elif kind == "p":
            lines += [content, ""]
        elif kind == "img":
            lines += [f"![{content[1]}]({content[0]})", ""]
        else:
            header, rows = content
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "|".join("---" for _ in header) + "|")
            lines += ["| " + " | ".join(r) + " |" for r in rows] + [""]
    return "\n".join(lines)


def to_html(doc: list[Block], title: str) -> str:
    e = html.escape
    body: list[str] = []
    for kind, content in doc:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{e(content)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{e(content)}</p>")
        elif kind == "img":
            body.append(f'<img src="{e(content[0])}" alt="{e(content[1])}" width="640">')
        else:
            header, rows = content
            head = "".join(f"<th>{e(h)}</th>" for h in header)
            cells = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"
    )
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{e(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(
    summary: Summary,
    model: Model,
    directory: Path,
    model_name: str,
    effect: dict[str, Any] | None = None,
) -> list[Path]:
    """backtest.md, backtest.html and the charts (churn_by_band.png, roc.png,
    churn_curves.png) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    charts = {"bands": "churn_by_band.png", "roc": "roc.png"}
    band_chart(summary, model, directory / charts["bands"])
    roc_chart(summary, directory / charts["roc"])
    if summary.survival_curves:
        charts["survival"] = "churn_curves.png"
        survival_chart(summary, model, directory / charts["survival"])
    doc = blocks(summary, model_name, effect, charts)
    (directory / "backtest.md").write_text(to_markdown(doc), encoding="utf-8")
    (directory / "backtest.html").write_text(to_html(doc, f"Backtest: {model_name}"), "utf-8")
    return [directory / n for n in ("backtest.md", "backtest.html", *charts.values())]
