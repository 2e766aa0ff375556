"""The backtest report's charts, on matplotlib's Agg canvas directly: no display, no global
pyplot state, safe in a worker."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from scoring.config import INSUFFICIENT_DATA, Model
from scoring.config.metrics import COLOR_HEX
from scoring.validation.summary import Summary


def _figure() -> Figure:
    fig = Figure(figsize=(6.4, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def band_chart(summary: Summary, model: Model, path: Path) -> None:
    bands = summary.bands[summary.bands["band"] != INSUFFICIENT_DATA]
    fig = _figure()
    ax = fig.add_subplot()
    colors = [COLOR_HEX.get(model.band_color(b), "#888888") for b in bands["band"]]
    rates = bands["churn_rate"].fillna(0.0) * 100
    ax.bar([b.replace("_", " ") for b in bands["band"]], rates, color=colors)
    for i, (rate, n) in enumerate(zip(rates, bands["rows"], strict=True)):
        ax.annotate(f"{rate:.1f}% of {n:,}", (i, rate), ha="center", va="bottom", fontsize=9)
    ax.set_ylabel(f"churned within {summary.overview['horizon_days']} days (%)")
    ax.set_title("Churn rate by band")
    fig.tight_layout()
    fig.savefig(path)


def roc_chart(summary: Summary, path: Path) -> None:
    fpr, tpr = summary.roc
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, color="#2f6fd6", label=f"health score (AUC {summary.auc:.2f})")
    ax.plot([0, 1], [0, 1], color="#9aa0a6", linestyle="--", label="coin toss (AUC 0.5)")
    ax.set_xlabel("share of retained accounts flagged (false positive rate)")
    ax.set_ylabel("churned accounts flagged (true positive rate)")
    ax.set_title("ROC: flagging accounts from the lowest score up")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def survival_chart(summary: Summary, model: Model, path: Path) -> None:
    """Kaplan-Meier churn per band: the share of account-periods in each band that churned
    within so many days, unfinished horizons counted as censored."""
    fig = _figure()
    ax = fig.add_subplot()
    for name, (days, churn) in summary.survival_curves.items():
        color = COLOR_HEX.get(model.band_color(name), "#888888")
        ax.step(days, churn * 100, where="post", color=color, label=name.replace("_", " "))
    ax.set_xlabel("days after the score")
    ax.set_ylabel("churned (%, Kaplan-Meier)")
    ax.set_title("Churn after a score, by band")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
