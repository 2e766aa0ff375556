"""What is usual for a metric: its raw value over each of the weeks before the as-of day.

A metric-drop alert is only news when the move is large against the account's own recent
weeks and against what the rest of its segment did this week, so this module gives the rule
its yardsticks: the weekly history (each week's window through the engine's own aggregates),
robust centre and spread of that history (median and MAD, which one odd week cannot drag),
the minimum change a metric's scale considers real, and the segment's common move. Everything
is whole arrays over accounts; the only loops are over weeks and groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.config import Metric, Scale
from scoring.engine.aggregates import AGGREGATES, ALWAYS_HAS_DATA, Window
from scoring.engine.signal_table import SignalTable, day_number

# Fewer history weeks than this and the spread of the history says nothing: only the
# absolute minimums judge a move (new accounts, a first run).
MIN_HISTORY_WEEKS = 4
# MAD x 1.4826 estimates the standard deviation of normally distributed values.
MAD_SCALE = 1.4826
# The default minimum change moves the metric's 0-100 sub-score by this many points.
SCORE_POINTS = 10.0
# A group median of fewer accounts than this is one account's luck, not a segment's move.
MIN_GROUP_ACCOUNTS = 5
# Aggregates that grow with the days a window covers: a partly covered window is not usual.
ADDITIVE = frozenset({"sum", "count"})


def raw_values(metric: Metric, window: Window, count: np.ndarray | None = None) -> np.ndarray:
    """The engine's raw value for one window: NaN without data, `fill` where the model says.
    `count`: the window's rows per account, when the caller has it already."""
    value = AGGREGATES[metric.aggregate](window)
    present = np.isfinite(value)
    if metric.aggregate not in ALWAYS_HAS_DATA:
        present &= (window.count() if count is None else count) > 0
    if metric.fill is not None:
        return np.where(present, value, metric.fill)
    return np.where(present, value, np.nan)


class WeeklyWindows:
    """Each metric's window ending on the as-of day and on each of the weeks before it.

    One wide read of a signal, with each row's age in days as a small int, makes every week's
    window a cheap mask over that signal's rows instead of another pass over every row of every
    signal; rows keep the table's order, so each aggregate sees exactly what the engine's window
    would. A signal with `valid_until` rows (CSM inputs) is read week by week instead: which of
    its rows hold depends on the as-of day.
    """

    def __init__(self, table: SignalTable, signals: pd.DataFrame, day: int, days: int) -> None:
        self.table, self.day, self.days = table, day, days
        self._dated = _signals_with_validity(signals)
        self._wide: dict[str, tuple[Window, np.ndarray]] = {}

    def _rows(self, signal: str) -> tuple[Window, np.ndarray]:
        if signal not in self._wide:
            wide = self.table.window(signal, self.day, self.days)
            age = (self.day - wide.days).astype(np.int16 if self.days < 2**15 else np.int32)
            self._wide[signal] = (wide, age)
        return self._wide[signal]

    def window(self, signal: str, weeks_back: int, window_days: int) -> Window:
        """Exactly `table.window(signal, day - 7 * weeks_back, window_days)`."""
        as_of = self.day - 7 * weeks_back
        if self._dated is None or signal in self._dated:
            return self.table.window(signal, as_of, window_days)
        wide, age = self._rows(signal)
        rows = (age >= 7 * weeks_back) & (age < 7 * weeks_back + window_days)
        codes, days, values = wide.codes[rows], wide.days[rows], wide.values[rows]
        return Window(codes, days, values, wide.n, as_of, window_days)

    def release(self, signal: str) -> None:
        """Forget a signal's rows once no metric left needs them (they are the peak memory)."""
        self._wide.pop(signal, None)


def data_start(signals: pd.DataFrame, names: set[str], earliest: int) -> int | None:
    """First day with a row of any of `names` (a first run, a short export), never before
    `earliest`, the first day the rule reads; None without rows. From the frame itself, so
    that no signal's rows are held in memory just to find it."""
    dates = signals["date"].to_numpy()
    if "signal" in signals:
        dates = dates[signals["signal"].isin(list(names)).to_numpy()]
    if not len(dates):
        return None
    return max(day_number(pd.Timestamp(dates.min())), earliest)


def _signals_with_validity(signals: pd.DataFrame) -> set[str] | None:
    """Signals with some `valid_until` (read week by week); None: every signal (wide layout)."""
    if "valid_until" not in signals or not signals["valid_until"].notna().any():
        return set()
    if "signal" not in signals:
        return None
    return set(signals.loc[signals["valid_until"].notna(), "signal"].astype(str).unique())


def weekly_values(
    metric: Metric, windows: WeeklyWindows, weeks: int, data_from: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(values, has_rows), each (weeks + 1) x accounts: row k is the metric's window ending
    k weeks before the as-of day (row 0: this week), exactly as the engine aggregates it then.

    A sum or count over a window the data only partly covers (the data starts inside it: a
    first run, a short export) would look like a quiet week, so such weeks are NaN: no history.
    """
    n = windows.table.n
    values = np.empty((weeks + 1, n))
    has_rows = np.empty((weeks + 1, n), dtype=bool)
    start = data_from if metric.aggregate in ADDITIVE else None
    for k in range(weeks + 1):
        window = windows.window(metric.signal, k, metric.window_days)
        has_rows[k] = window.count() > 0
        values[k] = raw_values(metric, window, has_rows[k])
        first_day = window.as_of - metric.window_days + 1
        if k and start is not None and start > first_day:
            values[k] = np.nan
    return values, has_rows


def seen_by(has_rows: list[np.ndarray]) -> np.ndarray:
    """weeks x accounts: the account had some row of any metric by the end of history week k.

    A filled value (`fill: 0` tickets) exists for every week, also before the account's data
    starts; only weeks the account had already shown up in count as its history.
    """
    any_rows = np.logical_or.reduce(has_rows)
    return np.logical_or.accumulate(any_rows[::-1], axis=0)[::-1][1:]


def nan_median(values: np.ndarray) -> np.ndarray:
    """Median down axis 0 ignoring NaN (NaN where a column has none), by one sort, without the
    all-NaN warnings of np.nanmedian."""
    count = np.isfinite(values).sum(axis=0)
    ordered = np.sort(values, axis=0)  # NaN sorts last
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[None], axis=0)[0]
    high = np.take_along_axis(ordered, np.minimum(count // 2, len(values) - 1)[None], axis=0)[0]
    return np.where(count > 0, (low + high) / 2, np.nan)


def usual_and_spread(history: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(usual, spread, weeks) per account: the history's median, MAD x 1.4826 and how many
    weeks it has."""
    usual = nan_median(history)
    with np.errstate(invalid="ignore"):
        spread = MAD_SCALE * nan_median(np.abs(history - usual))
    return usual, spread, np.isfinite(history).sum(axis=0)


def group_medians(values: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Per account, the median of the finite `values` of its group, NaN where the group has
    fewer than MIN_GROUP_ACCOUNTS of them (codes: small integers, None: one group). A loop
    over groups (a handful of segments), each a numpy median."""
    known = np.isfinite(values)
    if codes is None:
        enough = known.sum() >= MIN_GROUP_ACCOUNTS
        return np.full(len(values), np.median(values[known]) if enough else np.nan)
    out = np.full(len(values), np.nan)
    for code in np.unique(codes):
        mine = codes == code
        found = values[mine & known]
        if len(found) >= MIN_GROUP_ACCOUNTS:
            out[mine] = np.median(found)
    return out


def pooled_spread(
    usual: np.ndarray, spread: np.ndarray, weeks: np.ndarray, groups: np.ndarray | None
) -> np.ndarray:
    """Each account's spread, shrunk halfway (in variance) towards its segment's typical
    spread at the same level: the median of spread / |usual| over the segment's accounts with
    MIN_HISTORY_WEEKS weeks, times its own |usual| (the portfolio's for a segment of fewer
    than MIN_GROUP_ACCOUNTS such accounts; none for a portfolio that small). Eight weeks give
    a rough spread (a quiet stretch looks like no noise at all); accounts alike in kind are
    noisy alike."""
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(
            (weeks >= MIN_HISTORY_WEEKS) & (usual != 0), spread / np.abs(usual), np.nan
        )
    typical = group_medians(relative, groups)
    typical = np.where(np.isfinite(typical), typical, group_medians(relative, None))
    pooled = typical * np.abs(usual)
    with np.errstate(invalid="ignore"):
        mixed = np.sqrt((spread**2 + pooled**2) / 2)
        return np.where(np.isfinite(pooled) & (pooled > 0) & np.isfinite(spread), mixed, spread)


def flat_history_floor(
    usual: np.ndarray, now: np.ndarray, spread: np.ndarray, groups: np.ndarray | None
) -> np.ndarray:
    """A spread for accounts whose history is flat (a sparse signal repeats its last survey
    answer week after week, so its own weeks say nothing about noise): the robust size of
    the moves of the segment's other flat-history accounts whose value moved this week
    (1.4826 x their median absolute move); 0 where fewer than MIN_GROUP_ACCOUNTS moved."""
    with np.errstate(invalid="ignore"):
        flat = np.isfinite(usual) & np.isfinite(now) & (spread == 0)
        move = np.where(flat & (now != usual), np.abs(now - usual), np.nan)
    floor = MAD_SCALE * group_medians(move, groups)
    return np.where(flat & np.isfinite(floor), floor, 0.0)


def default_min_change(scale: Scale, raw: np.ndarray) -> float:
    """The raw distance that moves the metric's sub-score by SCORE_POINTS: a tenth of a linear
    scale's range; for a percentile scale a fifth of this week's interquartile range (50
    percentile points wide); 0 for steps, which score in jumps whatever the distance."""
    if scale.kind == "linear":
        assert scale.best is not None and scale.worst is not None
        return abs(scale.best - scale.worst) * SCORE_POINTS / 100
    if scale.kind == "percentile":
        finite = raw[np.isfinite(raw)]
        if not len(finite):
            return 0.0
        q25, q75 = np.percentile(finite, [25, 75])
        return float(q75 - q25) * SCORE_POINTS / 50
    return 0.0


def group_codes(segments: pd.Series | np.ndarray | None, n: int) -> np.ndarray | None:
    """Integer group per account (a missing segment is a group of its own); None: one group."""
    if segments is None:
        return None
    labels = pd.Series(np.asarray(segments, dtype=object)).astype(object)
    if len(labels) != n:
        raise ValueError(f"segments has {len(labels)} entries for {n} accounts")
    codes, _ = pd.factorize(labels.where(labels.notna(), "\0none"))
    return codes


def segment_ratio(
    usual: np.ndarray, now: np.ndarray, groups: np.ndarray | None, pooled: bool = False
) -> np.ndarray:
    """Per account, its segment's median of this week / usual: 0.7 when the segment's
    accounts typically sit 30% under their usual (a holiday week), 1 when nothing moved.

    Only positive usual values give a ratio. A group with fewer than MIN_GROUP_ACCOUNTS
    ratios takes the whole portfolio's median, and a portfolio that small is not corrected.
    `pooled` (counts of events, `usual` their mean rate): the group's events this week over
    its usual events instead, since a week's count is mostly 0 or 1 and the median of such
    ratios says nothing.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where((usual > 0) & (now >= 0), now / usual, np.nan)
    usable = np.isfinite(ratio)
    if pooled:
        return _pooled_ratio(usual, now, usable, groups)
    overall = float(np.median(ratio[usable])) if usable.sum() >= MIN_GROUP_ACCOUNTS else 1.0
    if groups is None:
        return np.full(len(ratio), overall)
    per_group = group_medians(ratio, groups)
    return np.where(np.isfinite(per_group), per_group, overall)


def _pooled_ratio(
    usual: np.ndarray, now: np.ndarray, usable: np.ndarray, groups: np.ndarray | None
) -> np.ndarray:
    """segment_ratio for counts: sum of this week's over sum of the usual, per group."""
    codes = np.zeros(len(now), dtype=int) if groups is None else groups
    now, usual = np.where(usable, now, 0.0), np.where(usable, usual, 0.0)
    overall = 1.0
    if usable.sum() >= MIN_GROUP_ACCOUNTS and usual.sum() > 0:
        overall = float(now.sum() / usual.sum())
    size = int(codes.max()) + 1 if len(codes) else 0
    count = np.bincount(codes, weights=usable.astype(float), minlength=size)
    events = np.bincount(codes, weights=now, minlength=size)
    rate = np.bincount(codes, weights=usual, minlength=size)
    ok = (count >= MIN_GROUP_ACCOUNTS) & (rate > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_group = np.where(ok, events / np.where(ok, rate, 1.0), overall)
    return per_group[codes]
