"""Spikes and dips in a history: a viral complaint, an outage, a campaign nobody mentioned.

:func:`detect_spikes` flags windows of intervals, per channel and at the history's own interval
length, whose volume stands out from what the same moment usually brings:

1. **Expected value.** For every interval, the median of the same local wall-clock time in the
   ``weeks`` weeks before and after it (default 4 + 4 = up to 8 neighbours; missing intervals and
   intervals inside known event windows (``exclude``) left out). A median of the surrounding weeks
   follows trend and season, and one spike among the neighbours does not move it. Where fewer
   than ``min_neighbours`` such weeks exist (a history of two or three weeks), the same clock time
   on the 1-3 days before and after is used instead. On the 25-hour day both 02:00 intervals are
   compared with 02:00 of the other weeks; the hour skipped on the 23-hour day simply has no
   neighbour there.
2. **Score.** Message counts are over-dispersed Poisson: an interval with expected value mu is
   taken as negative binomial with variance ``mu * (1 + pi/2 / n) + phi * mu**2`` (at least 1),
   where ``n`` is the number of neighbours (the median's own sampling noise) and the dispersion
   ``phi`` (NB2) is fitted per channel so that the robust standard deviation (1.4826 x MAD) of
   the Pearson residuals over the intervals with ``mu >= 5`` is 1. The score is the tail
   probability of the observed count (``P(Y >= y)`` above the mean, ``P(Y <= y)`` below) as a
   signed normal quantile, so a few messages on a quiet night (a long right tail) do not score
   like a real burst; the mean is taken as at least 0.5.
3. **Windows.** Intervals scoring at least ``extend`` in one direction form runs; runs at most
   ``max_gap`` scored intervals apart are merged. A run becomes a window when one of its
   intervals scores at least ``threshold`` (hysteresis, as in edge detection: the window covers
   the whole burst, not only its peak) or when its combined score (summed excess over the root
   of the summed variance) reaches ``window_threshold``: a sustained shift, such as +80 % for two
   days, where no single interval stands out. A missing interval ends a run.
4. **Filters.** A spike window must bring at least ``min_excess`` messages more than expected
   and ``min_ratio`` times the expected volume; a dip at least ``min_excess`` fewer and at most
   ``max_dip_ratio`` times the expected (an outage drops to near zero; a quiet holiday, at a
   third or so of a normal day, is not flagged).

Intervals flagged in ``exclude`` (known events) serve as no one's neighbour and are not scored,
so they are never reported: they are explained.

Window figures: ``observed`` and ``expected`` are sums over the window, ``excess`` their
difference, ``ratio`` their quotient, ``score`` the window's z-score ``excess / sqrt(sum var)``;
``peak_ds`` is the interval with the most extreme score.

:func:`spike_days` turns the windows into local dates to leave out of training (the app and the
command line exclude whole days). The detector's recall and precision on the labelled windows of
the Numenta Anomaly Benchmark's Twitter series are measured by ``benchmarks/bench_spikes.py``
and documented in ``docs/events.md``.

References: Hilbe (2011), "Negative Binomial Regression", 2nd ed. (NB2 variance); Kenney &
Keeping (1962), "Mathematics of Statistics" (variance of the sample median, pi/2 x var / n); Canny (1986),
"A computational approach to edge detection" (hysteresis thresholds); Lavin & Ahmad (2015),
"Evaluating real-time anomaly detection algorithms - the Numenta Anomaly Benchmark".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from forecast.timegrid import NS_PER_DAY, NS_PER_WEEK, ForecastInputError, from_utc_ns, utc_ns, wall_ns

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SPIKE_COLUMNS = ["channel", "start", "end", "peak_ds", "observed", "expected", "excess", "ratio", "score",
                 "direction", "intervals"]
DAY_COLUMNS = ["date", "weekday", "direction", "channels", "observed", "expected", "ratio", "reason"]
_PHI_GRID = np.concatenate([[0.0], np.logspace(-4, 1, 61)])
_MIN_MU_FOR_DISPERSION = 5.0
_MEDIAN_VARIANCE = np.pi / 2  # variance of a sample median: about pi/2 x variance / n
_MIN_VARIANCE = 1.0
_MIN_MEAN = 0.5


@dataclass(frozen=True)
class SpikeSettings:
    """The detector's parameters (see the module docstring); the defaults are the measured ones."""

    threshold: float = 5.0
    extend: float = 2.0
    window_threshold: float = 8.0
    min_excess: float = 10.0
    min_ratio: float = 1.5
    max_dip_ratio: float = 0.25
    weeks: int = 4
    min_neighbours: int = 3
    max_gap: int = 1

    def check(self) -> "SpikeSettings":
        if not self.threshold > 0:
            raise ForecastInputError(f"threshold must be above 0 (got {self.threshold!r}); e.g. 5 (a normal score)")
        if not self.window_threshold > 0:
            raise ForecastInputError(f"window_threshold must be above 0 (got {self.window_threshold!r})")
        if not 0 < self.extend <= self.threshold:
            raise ForecastInputError(f"extend must be above 0 and at most the threshold (got {self.extend!r})")
        if self.min_excess < 0:
            raise ForecastInputError(f"min_excess is a number of messages, at least 0 (got {self.min_excess!r})")
        if self.min_ratio < 1:
            raise ForecastInputError(f"min_ratio must be at least 1 (got {self.min_ratio!r}); e.g. 1.5 for 50% above expected")
        if not 0 <= self.max_dip_ratio < 1:
            raise ForecastInputError(f"max_dip_ratio must be at least 0 and below 1 (got {self.max_dip_ratio!r})")
        if int(self.weeks) < 1:
            raise ForecastInputError(f"weeks must be at least 1 (got {self.weeks!r})")
        if int(self.min_neighbours) < 1:
            raise ForecastInputError(f"min_neighbours must be at least 1 (got {self.min_neighbours!r})")
        if int(self.max_gap) < 0:
            raise ForecastInputError(f"max_gap must be at least 0 intervals (got {self.max_gap!r})")
        return self


# --------------------------------------------------------------------------------------------
# Expected values and scores


def _row_nanmedian(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median of each row ignoring NaN, and the number of values; NaN where a row has none."""
    n = np.count_nonzero(~np.isnan(matrix), axis=1)
    if matrix.shape[1] == 0:
        return np.full(matrix.shape[0], np.nan), n
    ordered = np.sort(matrix, axis=1)  # NaN sort last
    lo = np.clip((n - 1) // 2, 0, None)
    hi = np.clip(n // 2, 0, matrix.shape[1] - 1)
    rows = np.arange(matrix.shape[0])
    median = (ordered[rows, lo] + ordered[rows, hi]) / 2
    median[n == 0] = np.nan
    return median, n


def _neighbours(wall: np.ndarray, values: np.ndarray, offsets_ns) -> np.ndarray:
    """Values at the same wall-clock time shifted by each offset (NaN where there is none).

    Where a wall-clock time occurs twice (the 25-hour day), the first pass (summer time) is the
    neighbour: ``np.unique`` returns first occurrences, and the series is in UTC order.
    """
    unique_wall, first = np.unique(wall, return_index=True)
    out = np.full((wall.size, len(offsets_ns)), np.nan)
    if unique_wall.size == 0:
        return out
    for j, offset in enumerate(offsets_ns):
        target = wall + offset
        pos = np.searchsorted(unique_wall, target)
        pos_c = np.minimum(pos, unique_wall.size - 1)
        hit = unique_wall[pos_c] == target
        out[hit, j] = values[first[pos_c[hit]]]
    return out


def _expected(wall: np.ndarray, y: np.ndarray, excluded: np.ndarray, weeks: int, min_neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    """Median of the same wall-clock time in the surrounding weeks (or days, for short histories),
    and the number of neighbours it was taken over (0 where there is no expected value)."""
    usable = np.where(excluded, np.nan, y)
    week_offsets = [k * NS_PER_WEEK for k in range(-weeks, weeks + 1) if k]
    expected, n = _row_nanmedian(_neighbours(wall, usable, week_offsets))
    short = n < min_neighbours
    if short.any():
        day_offsets = [k * NS_PER_DAY for k in (-3, -2, -1, 1, 2, 3)]
        daily, n_day = _row_nanmedian(_neighbours(wall, usable, day_offsets)[short])
        enough = n_day >= min_neighbours
        expected[short] = np.where(enough, daily, np.nan)
        n[short] = np.where(enough, n_day, 0)
    return expected, n


def _variance(mu: np.ndarray, n: np.ndarray, phi: float) -> np.ndarray:
    """NB2 variance of a count with expected value ``mu`` estimated as a median of ``n`` values:
    the median's own sampling variance (about pi/2 x var / n) is added to the Poisson part."""
    return np.maximum(mu * (1 + _MEDIAN_VARIANCE / np.maximum(n, 1)) + phi * mu * mu, _MIN_VARIANCE)


def _dispersion(y: np.ndarray, mu: np.ndarray, n: np.ndarray) -> float:
    """The NB2 dispersion phi that makes the robust sd of the Pearson scores 1 (0 when Poisson suffices)."""
    ok = np.isfinite(y) & np.isfinite(mu) & (mu >= _MIN_MU_FOR_DISPERSION)
    if np.count_nonzero(ok) < 30:
        return 0.0
    resid, level, count = y[ok] - mu[ok], mu[ok], n[ok]

    def calibrated(phi: float) -> bool:
        z = resid / np.sqrt(_variance(level, count, phi))
        return 1.4826 * np.median(np.abs(z - np.median(z))) <= 1.0

    # the robust spread falls as phi grows: bisect for the smallest grid value that calibrates
    lo, hi = 0, _PHI_GRID.size - 1
    if calibrated(_PHI_GRID[lo]):
        return 0.0
    if not calibrated(_PHI_GRID[hi]):
        return float(_PHI_GRID[hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if calibrated(_PHI_GRID[mid]) else (mid, hi)
    return float(_PHI_GRID[hi])


def _tail_scores(y: np.ndarray, mu: np.ndarray, n: np.ndarray, phi: float) -> np.ndarray:
    """Signed normal scores of the negative-binomial tail probabilities.

    Above expectation: ``Phi^-1(1 - P(Y >= y))``; below: ``-Phi^-1(1 - P(Y <= y))``. Counts of a few
    messages have a long right tail that a Gaussian z-score understates; the tail probability
    does not. The distribution has mean ``max(mu, 0.5)`` and the variance of :func:`_variance`.
    NaN where ``y`` or ``mu`` is missing.
    """
    out = np.full(y.shape, np.nan)
    ok = np.isfinite(y) & np.isfinite(mu)
    if not ok.any():
        return out
    yy, m = np.round(y[ok]), np.maximum(mu[ok], _MIN_MEAN)
    var = np.maximum(_variance(m, n[ok], phi), m * (1 + 1e-9))
    size = m * m / (var - m)  # NB "n": var = m + m^2 / size
    prob = size / (size + m)
    upper = stats.nbinom.sf(yy - 1, size, prob)  # P(Y >= y)
    lower = stats.nbinom.cdf(yy, size, prob)  # P(Y <= y)
    # a tail probability above one half (possible for counts near the mean) is no evidence: 0
    score = np.where(yy > m, np.maximum(stats.norm.isf(upper), 0.0), np.where(yy < m, -np.maximum(stats.norm.isf(lower), 0.0), 0.0))
    out[ok] = np.clip(score, -40, 40)
    return out


@dataclass
class _Channel:
    channel: str
    utc: np.ndarray  # int64 ns, regular grid
    y: np.ndarray  # float, NaN = missing
    expected: np.ndarray
    variance: np.ndarray
    score: np.ndarray
    phi: float


def _history_parts(history: pd.DataFrame, exclude) -> tuple[list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], int, object]:
    """Per channel: name, UTC grid (regular, gaps filled with NaN), y, excluded flags."""
    missing = [c for c in ("channel", "ds", "y") if c not in history.columns]
    if missing:
        raise ForecastInputError(f"the history needs the columns channel, ds and y (missing: {', '.join(missing)})")
    ds = pd.DatetimeIndex(history["ds"])
    if ds.tz is None:
        raise ForecastInputError("the history's ds must carry a time zone (interval starts in the team's zone)")
    tz = ds.tz
    if len(history) == 0:
        return [], 0, tz
    utc = utc_ns(ds)
    y = pd.to_numeric(history["y"], errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if exclude is None:
        excl = np.zeros(len(history), dtype=bool)
    else:
        if isinstance(exclude, pd.Series) and not exclude.index.equals(history.index):
            exclude = exclude.reindex(history.index).astype("boolean").fillna(False)
        excl = np.asarray(exclude, dtype=bool)
        if excl.size != len(history):
            raise ForecastInputError("exclude must have one flag per history row")
    steps = np.diff(np.unique(utc))
    steps = steps[steps > 0]
    freq = int(steps.min()) if steps.size else 3600 * 10**9
    if NS_PER_DAY % freq:
        raise ForecastInputError(f"the history's interval length ({pd.Timedelta(freq)}) does not divide a day")
    channels = history["channel"].astype(str).to_numpy()
    parts = []
    for channel in pd.unique(channels):
        sel = np.flatnonzero(channels == channel)
        order = sel[np.argsort(utc[sel], kind="stable")]
        c_utc = utc[order]
        if np.any(np.diff(c_utc) == 0):
            raise ForecastInputError(f"the history holds an interval twice for channel '{channel}'")
        grid = np.arange(c_utc[0], c_utc[-1] + freq, freq, dtype=np.int64)
        pos = np.searchsorted(grid, c_utc)
        if np.any(grid[np.minimum(pos, grid.size - 1)] != c_utc):
            raise ForecastInputError(f"channel '{channel}': interval starts are not on one grid of {pd.Timedelta(freq)}")
        c_y = np.full(grid.size, np.nan)
        c_y[pos] = y[order]
        c_ex = np.zeros(grid.size, dtype=bool)
        c_ex[pos] = excl[order]
        parts.append((str(channel), grid, c_y, c_ex))
    return parts, freq, tz


def _score_channel(channel: str, grid: np.ndarray, y: np.ndarray, excluded: np.ndarray, tz, s: SpikeSettings) -> _Channel:
    wall = wall_ns(from_utc_ns(grid, tz))
    mu, n = _expected(wall, y, excluded, int(s.weeks), int(s.min_neighbours))
    phi = _dispersion(np.where(excluded, np.nan, y), mu, n)
    var = _variance(np.nan_to_num(mu), n, phi)
    score = _tail_scores(y, mu, n, phi)
    score[excluded] = np.nan  # known events: explained, so never reported
    return _Channel(channel, grid, y, mu, var, score, phi)


def score_intervals(history: pd.DataFrame, *, weeks: int = 4, min_neighbours: int = 3, exclude=None) -> pd.DataFrame:
    """Every interval of the history with its expected value and score (the detector's step 1-2).

    Returns ``channel, ds, y, expected, score`` (one row per interval of each channel's span,
    ``y`` NaN where missing; ``expected`` and ``score`` NaN where there is no baseline). Useful
    for charts, and for measuring the uplift of past events (``forecast.events``).
    ``exclude``: flags per history row (e.g. ``forecast.events.past_event_mask``) of intervals
    that may not serve as neighbours; their own ``expected`` is still given, their ``score`` is NaN.
    """
    s = SpikeSettings(weeks=weeks, min_neighbours=min_neighbours).check()
    parts, _, tz = _history_parts(history, exclude)
    frames = []
    for name, grid, y, ex in parts:
        c = _score_channel(name, grid, y, ex, tz, s)
        frames.append(pd.DataFrame({"channel": name, "ds": from_utc_ns(grid, tz), "y": y, "expected": c.expected,
                                    "score": c.score}))
    if not frames:
        return pd.DataFrame({"channel": pd.Series([], dtype=str), "ds": pd.DatetimeIndex([], tz=tz),
                             "y": [], "expected": [], "score": []})
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Windows


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) positions of the runs of True."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[0::2], edges[1::2]


def _windows(c: _Channel, sign: int, s: SpikeSettings) -> list[tuple[int, int]]:
    """Index ranges [a, b) of the windows in one direction (+1 spikes, -1 dips)."""
    signed = sign * c.score
    finite = np.isfinite(signed)
    candidate = finite & (signed >= s.extend)
    core = finite & (signed >= s.threshold)
    starts, ends = _runs(candidate)
    if starts.size == 0:
        return []
    # runs a short scored stretch apart are one burst
    merged: list[list[int]] = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        if merged and a - merged[-1][1] <= s.max_gap and finite[merged[-1][1]:a].all():
            merged[-1][1] = b
        else:
            merged.append([a, b])
    starts = np.array([m[0] for m in merged])
    ends = np.array([m[1] for m in merged])
    cum = np.concatenate([[0], np.cumsum(core)])
    has_core = (cum[ends] - cum[starts]) > 0
    # a sustained shift: no single interval stands out enough, but the window as a whole does
    excess = np.where(finite, sign * (c.y - c.expected), 0.0)
    var = np.where(finite, c.variance, 0.0)
    cum_excess = np.concatenate([[0.0], np.cumsum(excess)])
    cum_var = np.concatenate([[0.0], np.cumsum(var)])
    run_score = (cum_excess[ends] - cum_excess[starts]) / np.sqrt(np.maximum(cum_var[ends] - cum_var[starts], 1e-12))
    has_core |= run_score >= s.window_threshold
    return list(zip(starts[has_core].tolist(), ends[has_core].tolist()))


def _window_rows(c: _Channel, tz, freq: int, s: SpikeSettings) -> list[dict]:
    rows = []
    for sign, direction in ((1, "up"), (-1, "down")):
        for a, b in _windows(c, sign, s):
            seg = slice(a, b)
            y, mu, var = c.y[seg], c.expected[seg], c.variance[seg]
            ok = np.isfinite(y) & np.isfinite(mu)
            observed, expected = float(np.sum(y[ok])), float(np.sum(mu[ok]))
            excess = observed - expected
            ratio = observed / expected if expected > 0 else (np.inf if observed > 0 else 1.0)
            if sign > 0 and (excess < s.min_excess or ratio < s.min_ratio):
                continue
            if sign < 0 and (-excess < s.min_excess or ratio > s.max_dip_ratio):
                continue
            peak = a + int(np.nanargmax(sign * c.score[seg]))
            rows.append({
                "channel": c.channel, "start": int(c.utc[a]), "end": int(c.utc[b - 1]) + freq, "peak_ds": int(c.utc[peak]),
                "observed": observed, "expected": expected, "excess": excess, "ratio": ratio,
                "score": excess / float(np.sqrt(np.sum(var[ok]))), "direction": direction, "intervals": b - a,
            })
    return rows


def detect_spikes(history: pd.DataFrame, *, threshold: float = SpikeSettings.threshold, extend: float = SpikeSettings.extend,
                  window_threshold: float = SpikeSettings.window_threshold,
                  min_excess: float = SpikeSettings.min_excess, min_ratio: float = SpikeSettings.min_ratio,
                  max_dip_ratio: float = SpikeSettings.max_dip_ratio, weeks: int = SpikeSettings.weeks,
                  min_neighbours: int = SpikeSettings.min_neighbours, max_gap: int = SpikeSettings.max_gap,
                  directions: tuple[str, ...] = ("up", "down"), exclude=None) -> pd.DataFrame:
    """Windows of unusual volume per channel (see the module docstring for the method).

    Parameters: ``threshold`` (robust standard deviations an interval must stand out to start a
    window), ``extend`` (to extend one), ``min_excess`` (messages a window must bring above, or
    fall below, expectation), ``min_ratio`` (observed / expected of a spike window, at least),
    ``max_dip_ratio`` (of a dip window, at most), ``weeks`` (surrounding weeks on each side for the
    expected value), ``min_neighbours``, ``max_gap`` (intervals between windows that are merged),
    ``directions`` (``"up"`` spikes, ``"down"`` dips), ``exclude`` (flags per history row of
    intervals inside known event windows, e.g. ``forecast.events.past_event_mask``: they serve
    as no one's neighbour and are not reported themselves, being explained).

    Returns one row per window: ``channel, start, end`` (tz-aware; end exclusive), ``peak_ds``,
    ``observed, expected, excess, ratio, score, direction`` (``up``/``down``), ``intervals``;
    sorted by channel and start. Missing intervals (``y`` empty) are never flagged.
    """
    s = SpikeSettings(threshold=threshold, extend=extend, window_threshold=window_threshold, min_excess=min_excess,
                      min_ratio=min_ratio, max_dip_ratio=max_dip_ratio, weeks=weeks, min_neighbours=min_neighbours,
                      max_gap=max_gap).check()
    unknown = set(directions) - {"up", "down"}
    if unknown:
        raise ForecastInputError(f"directions are 'up' (spikes) and 'down' (dips); got {', '.join(sorted(unknown))}")
    parts, freq, tz = _history_parts(history, exclude)
    rows = []
    for name, grid, y, ex in parts:
        c = _score_channel(name, grid, y, ex, tz, s)
        rows += [r for r in _window_rows(c, tz, freq, s) if r["direction"] in directions]
    return _spike_frame(rows, tz)


def _spike_frame(rows: list[dict], tz) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=SPIKE_COLUMNS)
    for col in ("start", "end", "peak_ds"):
        frame[col] = from_utc_ns(frame[col].to_numpy(dtype=np.int64), tz)
    frame["channel"] = frame["channel"].astype(str)
    frame["intervals"] = frame["intervals"].astype(np.int64)
    for col in ("observed", "expected", "excess", "ratio", "score"):
        frame[col] = frame[col].astype(float)
    return frame.sort_values(["channel", "start"], kind="stable").reset_index(drop=True)


def window_mask(history: pd.DataFrame, windows: pd.DataFrame) -> pd.Series:
    """True for the history rows whose interval starts inside a window of its own channel."""
    out = np.zeros(len(history), dtype=bool)
    if len(history) == 0 or len(windows) == 0:
        return pd.Series(out, index=history.index)
    utc = utc_ns(history["ds"])
    channels = history["channel"].astype(str).to_numpy()
    for channel, part in windows.groupby("channel"):
        sel = channels == str(channel)
        starts, ends = utc_ns(part["start"]), utc_ns(part["end"])
        for a, b in zip(starts, ends):
            out |= sel & (utc >= a) & (utc < b)
    return pd.Series(out, index=history.index)


def spike_days(history: pd.DataFrame, spikes: pd.DataFrame | None = None, **params) -> pd.DataFrame:
    """Local dates touched by a spike or dip window: the days to leave out of training.

    ``spikes`` defaults to :func:`detect_spikes` (``params`` are passed on). One row per local
    date: ``date`` (naive local midnight, as the workspace's excluded days), ``weekday``,
    ``direction`` (``up``, ``down`` or ``both``), ``channels`` (comma-separated),
    ``observed``/``expected`` (messages in the flagged intervals of that date, all channels) and
    their ``ratio``, and ``reason`` (``spike``, ``dip`` or ``spike and dip``). Sorted by date.
    """
    if spikes is None:
        spikes = detect_spikes(history, **params)
    if len(spikes) == 0:
        return pd.DataFrame({c: [] for c in DAY_COLUMNS}).astype({"date": "datetime64[ns]"})
    scored = score_intervals(history, weeks=params.get("weeks", SpikeSettings.weeks),
                             min_neighbours=params.get("min_neighbours", SpikeSettings.min_neighbours),
                             exclude=params.get("exclude"))
    rows = []
    for direction in ("up", "down"):
        part = spikes[spikes["direction"] == direction]
        if len(part) == 0:
            continue
        inside = scored[window_mask(scored, part).to_numpy()]
        # a window whose intervals are all missing is impossible; observed rows carry the date
        dates = inside["ds"].dt.tz_localize(None).dt.normalize()
        grouped = inside.assign(date=dates).groupby("date")
        for date, g in grouped:
            rows.append({"date": date, "direction": direction, "channels": ", ".join(sorted(g["channel"].unique())),
                         "observed": float(g["y"].sum()), "expected": float(g["expected"].sum())})
    frame = pd.DataFrame(rows)
    out = []
    for date, g in frame.groupby("date", sort=True):
        directions = set(g["direction"])
        direction = "both" if len(directions) == 2 else directions.pop()
        channels = sorted({c.strip() for text in g["channels"] for c in text.split(",")})
        observed, expected = float(g["observed"].sum()), float(g["expected"].sum())
        out.append({"date": pd.Timestamp(date), "weekday": WEEKDAYS[pd.Timestamp(date).day_of_week], "direction": direction,
                    "channels": ", ".join(channels), "observed": observed, "expected": expected,
                    "ratio": observed / expected if expected > 0 else np.inf,
                    "reason": {"up": "spike", "down": "dip", "both": "spike and dip"}[direction]})
    return pd.DataFrame(out, columns=DAY_COLUMNS)


def window_scores(detected: pd.DataFrame, labelled: pd.DataFrame) -> dict:
    """Window-level recall and precision of detected windows against labelled ones.

    Both frames have ``start`` and ``end`` (tz-aware; end exclusive). A labelled window counts as
    found when a detected window overlaps it; a detected window counts as right when it overlaps
    a labelled one. Returns ``labelled, found, recall, detected, overlapping, precision``
    (recall/precision NaN when there is nothing to divide by).
    """
    ls, le = utc_ns(labelled["start"]) if len(labelled) else np.array([], np.int64), \
        utc_ns(labelled["end"]) if len(labelled) else np.array([], np.int64)
    ds_, de = utc_ns(detected["start"]) if len(detected) else np.array([], np.int64), \
        utc_ns(detected["end"]) if len(detected) else np.array([], np.int64)
    overlap = (ds_[:, None] < le[None, :]) & (de[:, None] > ls[None, :])
    found = int(overlap.any(axis=0).sum())
    right = int(overlap.any(axis=1).sum())
    return {
        "labelled": int(ls.size), "found": found, "recall": found / ls.size if ls.size else float("nan"),
        "detected": int(ds_.size), "overlapping": right, "precision": right / ds_.size if ds_.size else float("nan"),
    }
