"""The digest's picture: this week's score distribution by band, and the 12-week trend.

People read a picture faster than a list, so the digest carries one PNG: on the left a
histogram of scores stacked by band in the band colours the rest of healthbot uses (so "red"
means the same on the chart as in the messages), on the right the weekly average score and
ARR at risk on twin axes. Drawn with matplotlib's Agg canvas on a private Figure (no pyplot
global state, so concurrent renders in one process never share a figure), at exactly the
model's `chart.width` × `chart.height` pixels. Every word on it comes from
templates/digest_chart.json.j2.
"""

from __future__ import annotations

import io
import json
import math
import textwrap
import warnings
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import is_color_like, to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.messages.render import environment, money
from scoring.config import INSUFFICIENT_DATA, Model
from scoring.config.metrics import COLOR_HEX

DPI = 100
BIN_EDGES = np.linspace(0, 100, 21)  # 5-point bins; 100 falls in the last one
SCORE_COLOR = "#1f3b73"  # trend lines: colours no band uses, so they never read as a band
RISK_COLOR = "#7a4a9e"
GRID_COLOR = "#e3e5e8"


def band_hex(model: Model, band: str) -> str:
    """A band's colour as #rrggbb: the named colours of COLOR_HEX, any other matplotlib colour
    as given (a model may say `color: "#0a7"`), grey when matplotlib cannot draw it."""
    name = model.band_color(band)
    if name.lower() in COLOR_HEX:
        return COLOR_HEX[name.lower()]
    return to_hex(name) if is_color_like(name) else COLOR_HEX["grey"]


def chart_labels(
    context: dict[str, Any],
    trend: pd.DataFrame,
    where: dict[str, Any],
    thresholds: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The chart's words (title, axes, legend, alt text) rendered from its template; `context`
    is the digest context (bot.messages.digest_context), `trend` the weekly trend frame,
    `thresholds` the bands the dotted lines draw (`default`, top level) and those of the
    segments in the picture that have their own (`segments`), which the chart names."""
    points = [
        {k: (None if pd.isna(v) else v) for k, v in row.items()} for row in trend.to_dict("records")
    ]
    raw = (
        environment()
        .get_template("digest_chart.json.j2")
        .render(
            period=context["period"],
            accounts=context["accounts"],
            bands=context["bands"],
            trend=points,
            weeks=len(points),
            where=where,
            thresholds=thresholds or {"default": None, "segments": []},
        )
    )
    return json.loads(raw)


def render_chart(
    model: Model, scores: pd.DataFrame, trend: pd.DataFrame, labels: dict[str, Any]
) -> bytes:
    """PNG bytes of `chart.width` × `chart.height` pixels.

    scores: one row per account of the digest (score_shown, band); trend: weekly_trend()'s
    frame; labels: chart_labels().
    """
    width, height = model.chart.width, model.chart.height
    scale = max(min(width / 1200, height / 600), 0.5)
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(labels["title"], fontsize=13 * scale, fontweight="bold")
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.15]})
    _distribution(left, model, scores, labels, scale)
    _trend(right, trend, labels, scale, label_every=math.ceil(len(trend) * 90 / width))
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # at the smallest sizes the layout engine gives up and
        warnings.simplefilter("ignore", UserWarning)  # the default margins apply: still a chart
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _distribution(
    ax: Any, model: Model, scores: pd.DataFrame, labels: dict[str, Any], scale: float
) -> None:
    """Scores stacked by band, top band drawn last so it sits on top where bands share a bin
    (segments may move a band's threshold, so one bin can hold two bands)."""
    value = pd.to_numeric(scores["score_shown"], errors="coerce").to_numpy(dtype=float)
    band = scores["band"].astype(object).to_numpy()
    bottom = np.zeros(len(BIN_EDGES) - 1)
    handles = []
    for b in reversed(model.bands):
        counts, _ = np.histogram(value[(band == b.name) & ~np.isnan(value)], bins=BIN_EDGES)
        color = band_hex(model, b.name)
        ax.bar(
            BIN_EDGES[:-1],
            counts,
            width=np.diff(BIN_EDGES),
            bottom=bottom,
            align="edge",
            color=color,
            edgecolor="white",
            linewidth=0.6 * scale,
        )
        bottom += counts
        handles.append(Patch(facecolor=color, label=labels["legend"].get(b.name, b.name)))
    handles.reverse()  # legend reads top band first
    unscored = int((band == INSUFFICIENT_DATA).sum())
    if unscored:
        label = labels["legend"].get(INSUFFICIENT_DATA, INSUFFICIENT_DATA)
        handles.append(Patch(facecolor=band_hex(model, INSUFFICIENT_DATA), label=label))
    for b in model.bands:
        if 0 < b.min < 100:
            ax.axvline(b.min, color="#6b7075", linewidth=0.8 * scale, linestyle=":")
    if not bottom.any():
        ax.text(0.5, 0.5, labels["no_scores"], ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, max(float(bottom.max()) * 1.3, 1.0))  # headroom for the legend
    ax.set_title(labels["distribution"], fontsize=11 * scale, loc="left")
    note = labels.get("thresholds_note") or ""
    axis = labels["score_axis"] + ("\n" + textwrap.fill(note, 90) if note else "")
    ax.set_xlabel(axis, fontsize=9 * scale)
    ax.set_ylabel(labels["accounts_axis"], fontsize=9 * scale)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=8 * scale)
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8 * scale)
    ax.set_axisbelow(True)
    ax.legend(handles=handles, loc="upper left", fontsize=8 * scale, frameon=False)


def _trend(
    ax: Any, trend: pd.DataFrame, labels: dict[str, Any], scale: float, label_every: int
) -> None:
    """Average score (left axis, 0-100) and ARR at risk (right axis, money) per week; weeks
    without snapshots are gaps, not zeros. Narrow charts label every `label_every`-th week."""
    x = np.arange(len(trend))
    average = pd.to_numeric(trend["average_score"], errors="coerce").to_numpy(dtype=float)
    at_risk = pd.to_numeric(trend["arr_at_risk"], errors="coerce").to_numpy(dtype=float)
    (score_line,) = ax.plot(
        x, average, color=SCORE_COLOR, marker="o", markersize=4 * scale, linewidth=2 * scale
    )
    ax.set_ylim(0, 100)
    ax.set_ylabel(labels["average"], color=SCORE_COLOR, fontsize=9 * scale)
    names = [
        str(p)[-3:] if (len(x) - 1 - i) % label_every == 0 else ""
        for i, p in enumerate(trend["period"])
    ]
    ax.set_xticks(x, names)
    ax.tick_params(labelsize=8 * scale)
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8 * scale)
    ax.set_axisbelow(True)
    ax.set_title(labels["trend"], fontsize=11 * scale, loc="left")
    twin = ax.twinx()
    (risk_line,) = twin.plot(
        x,
        at_risk,
        color=RISK_COLOR,
        marker="s",
        markersize=4 * scale,
        linewidth=2 * scale,
        linestyle="--",
    )
    top = np.nanmax(at_risk) if np.isfinite(at_risk).any() else 0.0
    twin.set_ylim(0, top * 1.15 if top > 0 else 1.0)
    twin.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: money(v)))
    twin.set_ylabel(labels["at_risk"], color=RISK_COLOR, fontsize=9 * scale)
    twin.tick_params(labelsize=8 * scale)
    ax.legend(
        [score_line, risk_line],
        [labels["average"], labels["at_risk"]],
        loc="lower left",
        fontsize=8 * scale,
        frameon=False,
    )
