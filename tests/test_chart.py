"""The digest chart: a real PNG of the configured pixel size that shows the bands' colours, and
the weekly trend it draws, computed from snapshot frames."""

from __future__ import annotations

import io
import struct

import numpy as np
import pandas as pd
import pytest
from matplotlib import image

from bot.messages.chart import RISK_COLOR, SCORE_COLOR, band_hex, chart_labels, render_chart
from scoring.config import INSUFFICIENT_DATA, Model, parse_model
from scoring.config.metrics import COLOR_HEX
from scoring.decisions.digest_trend import trend_periods, weekly_trend

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MODEL = """\
metrics:
  logins: {signal: logins, window_days: 30, scale: {worst: 0, best: 10}, weight: 1}
bands:
  - {name: thriving, min: 75, color: blue}
  - {name: wobbly, min: 40, color: "#ee7d22"}
  - {name: sinking, min: 0, color: purple}
"""


def model(extra: str = "") -> Model:
    return parse_model(MODEL + extra)


def scores(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """Scores spread over all bands, plus a few accounts without a score."""
    rng = np.random.default_rng(seed)
    value = rng.uniform(0, 100, n).round(1)
    band = np.select([value >= 75, value >= 40], ["thriving", "wobbly"], "sinking").astype(object)
    value[:5], band[:5] = np.nan, INSUFFICIENT_DATA
    return pd.DataFrame({"score_shown": value, "band": band})


def trend(weeks: int = 12) -> pd.DataFrame:
    periods = trend_periods("2026-W47", weeks)
    return pd.DataFrame(
        {
            "period": periods,
            "accounts": 300,
            "scored": 295,
            "average_score": np.linspace(60, 70, weeks),
            "arr_at_risk": np.linspace(2e6, 1.5e6, weeks),
        }
    )


def labels(m: Model, frame: pd.DataFrame, points: pd.DataFrame) -> dict:
    counts = frame["band"].value_counts()
    bands = [
        {"name": n, "label": n.replace("_", " "), "accounts": int(counts.get(n, 0))}
        for n in [*(b.name for b in m.bands), INSUFFICIENT_DATA]
    ]
    context = {"period": "2026-W47", "accounts": len(frame), "bands": bands}
    return chart_labels(context, points, {})


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def pixels(data: bytes) -> np.ndarray:
    """H × W × 3 uint8 RGB, read back with matplotlib."""
    rgba = image.imread(io.BytesIO(data), format="png")
    return np.round(rgba[..., :3] * 255).astype(np.uint8)


def has_color(region: np.ndarray, hex_color: str) -> int:
    """How many pixels of `region` are exactly `hex_color`."""
    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    return int((region == rgb).all(axis=-1).sum())


@pytest.mark.parametrize("size", [None, (777, 333), (200, 150)])
def test_png_has_the_configured_pixel_size(size: tuple[int, int] | None) -> None:
    m = model("" if size is None else f"chart: {{width: {size[0]}, height: {size[1]}}}\n")
    frame, points = scores(), trend()
    data = render_chart(m, frame, points, labels(m, frame, points))
    expected = size or (1200, 600)
    assert png_size(data) == expected
    assert pixels(data).shape == (expected[1], expected[0], 3)


def test_bands_show_in_their_own_colours_on_the_distribution_side() -> None:
    m = model()
    frame, points = scores(), trend()
    art = pixels(render_chart(m, frame, points, labels(m, frame, points)))
    left, right = art[:, : art.shape[1] // 2], art[:, art.shape[1] // 2 :]
    for band, hex_color in [("thriving", "#2f6fd6"), ("wobbly", "#ee7d22"), ("sinking", "#8a4fd0")]:
        assert band_hex(m, band) == hex_color
        assert has_color(left, hex_color) > 5000, band  # bars, not just a legend swatch
        assert has_color(right, hex_color) == 0, band  # the trend never borrows a band colour
    assert has_color(left, COLOR_HEX["grey"]) > 0  # the insufficient-data legend swatch
    assert has_color(right, SCORE_COLOR) > 100 and has_color(right, RISK_COLOR) > 100


def test_bars_are_as_tall_as_their_counts() -> None:
    """One band twice as large as another draws about twice as many pixels of its colour."""
    m = model()
    frame = pd.DataFrame(
        {"score_shown": [90.0] * 40 + [50.0] * 20, "band": ["thriving"] * 40 + ["wobbly"] * 20}
    )
    art = pixels(render_chart(m, frame, trend(), labels(m, frame, trend())))
    left = art[:, : art.shape[1] // 2]
    ratio = has_color(left, "#2f6fd6") / has_color(left, "#ee7d22")
    assert 1.7 < ratio < 2.3


def test_band_colours_default_by_rank_and_accept_any_matplotlib_colour() -> None:
    plain = parse_model(MODEL.split("bands:")[0])
    assert [band_hex(plain, b.name) for b in plain.bands] == [
        COLOR_HEX["green"],
        COLOR_HEX["yellow"],
        COLOR_HEX["red"],
    ]
    assert band_hex(plain, INSUFFICIENT_DATA) == COLOR_HEX["grey"]
    odd = model().model_copy(update={"bands": [*model().bands]})
    odd.bands[0] = odd.bands[0].model_copy(update={"color": "not-a-colour"})
    odd.bands[1] = odd.bands[1].model_copy(update={"color": "teal"})
    assert band_hex(odd, "thriving") == COLOR_HEX["grey"]
    assert band_hex(odd, "wobbly") == "#008080"


def test_an_empty_week_and_missing_history_still_draw() -> None:
    m = model()
    frame = pd.DataFrame({"score_shown": [np.nan] * 3, "band": [INSUFFICIENT_DATA] * 3})
    points = trend(3).assign(average_score=np.nan, arr_at_risk=np.nan)
    data = render_chart(m, frame, points, labels(m, frame, points))
    assert png_size(data) == (1200, 600)
    assert 0 < has_color(pixels(data), "#2f6fd6") < 500  # the legend swatch, no bars


def test_labels_describe_the_chart_for_screen_readers() -> None:
    m = model()
    frame, points = scores(), trend()
    words = labels(m, frame, points)
    assert words["title"] == "Portfolio health · 2026-W47"
    alt = words["alt_text"]
    assert "300 accounts" in alt and "5 without a score" in alt
    assert "from 60.0 to 70.0" in alt and "$2.0M to $1.5M" in alt
    assert len(alt) <= 1000
    assert words["legend"][INSUFFICIENT_DATA].endswith("(no score)")


def test_weekly_trend_from_snapshots() -> None:
    periods = trend_periods("2026-W03", 4)
    assert periods == ["2025-W52", "2026-W01", "2026-W02", "2026-W03"]
    snapshots = pd.DataFrame(
        {
            "period": ["2025-W52"] * 3 + ["2026-W02"] * 3 + ["2026-W03"] * 2 + ["2025-W40"],
            "account_id": ["a", "b", "c", "a", "b", "c", "a", "b", "a"],
            "score_shown": [90.0, 40.0, np.nan, 80.0, 70.0, 20.0, 60.0, 50.0, 1.0],
            "band_rank": pd.array([0, 2, None, 0, 1, 2, 1, 1, 2], dtype="Int64"),
        }
    )
    arr = pd.Series({"a": 100.0, "b": 1000.0, "c": 10000.0})
    got = weekly_trend(snapshots, arr, periods)
    assert list(got["period"]) == periods  # the 2025-W40 row is outside the window
    assert list(got["accounts"]) == [3, 0, 3, 2]
    assert list(got["scored"]) == [2, 0, 3, 2]
    assert got["average_score"].tolist()[0] == 65.0  # c has no score: not averaged
    assert np.isnan(got["average_score"][1]) and np.isnan(got["arr_at_risk"][1])  # no snapshot
    assert got["average_score"].tolist()[2:] == pytest.approx([170 / 3, 55.0])
    # below the top band: b (rank 2); c has no score, so it is not at risk
    assert got["arr_at_risk"].tolist()[0] == 1000.0
    assert got["arr_at_risk"].tolist()[2:] == [11000.0, 1100.0]


def test_accounts_without_arr_count_as_zero() -> None:
    snapshots = pd.DataFrame(
        {
            "period": ["2026-W03", "2026-W03"],
            "account_id": ["a", "ghost"],
            "score_shown": [10.0, 20.0],
            "band_rank": pd.array([2, 2], dtype="Int64"),
        }
    )
    got = weekly_trend(snapshots, pd.Series({"a": np.nan}), ["2026-W03"])
    assert got["arr_at_risk"].tolist() == [0.0] and got["average_score"].tolist() == [15.0]
