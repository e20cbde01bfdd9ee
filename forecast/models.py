"""Forecasters of message volume behind one small interface, and a registry by name.

Every forecaster follows the scikit-learn / statsforecast habit:

* the constructor only stores parameters;
* ``fit(history)`` validates and learns, per channel, from the canonical long table
  ``channel, ds, y`` (``docs/formats.md``), or from one channel's series (a Series indexed by
  tz-aware ``ds``, or a frame with ``ds`` and ``y``); learned state ends in ``_``;
* ``predict(horizon, levels=(80, 95))`` never refits and returns the long forecast table
  ``channel, ds, yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95, yhat_upper_95, model``.

Models (``MODELS``; :func:`get_forecaster` builds one by name):

``snaive``      the same local wall-clock hour last week: the baseline every model is measured
                against (THEORY.md section 7). Further ahead than a week, the last week repeats.
``snaive_day``  the same local hour yesterday (the last day repeats); reported beside it.
``profile``     a weighted N-week average (default 6 weeks, weights 6:5:4:3:2:1, the most
                recent week heaviest) of the same local hour of the week, times a damped
                level/trend factor estimated from the recent weeks' totals. Works from 14 days.
``mstl``        statsmodels MSTL (daily and weekly seasonality, periods 24 and 168 at hourly
                data, scaled for 15/30-minute data, plus yearly beyond two years) on a
                wall-clock regular series; the deseasonalised rest is forecast by damped Holt.
                Needs 28 days.

Gaps (``y`` missing): ``profile`` averages only the weeks that have the hour; ``snaive``,
``snaive_day`` and ``mstl`` fill a missing interval with the mean of the same local hour of the
week over the history (else the same hour of the day, else the overall mean) before use; filled
intervals are never scored as residuals.

All-zero and constant channels are forecast as that constant (intervals collapse onto it),
whatever the model; the ``model`` column then says ``constant`` and ``notes_`` says why.

Forecasts are never negative (clipped at 0).

Prediction intervals are quantiles of scaled forecast errors, ``(y - yhat) / sqrt(yhat + 1)``
(count data: the spread grows like the square root of the level), per bucket of lead time
(:data:`LEAD_BUCKET_DAYS`). They come from, in order of preference:

1. out-of-sample errors of a rolling-origin backtest (conformal): :meth:`Forecaster.calibrate_intervals`,
   used by the ``auto`` forecaster (``forecast.backtest``);
2. otherwise the model's own in-sample errors: for the naive models these are honest
   out-of-sample errors (they have nothing to fit: y[t] - y[t - k weeks] for every lead k);
   for ``profile`` the in-sample errors are turned into leave-one-week-out errors by dividing by
   (1 - weight of the error's week), exact for a weighted mean; for ``mstl`` the
   one-week-ahead errors of the decomposition are used (in-sample, so too narrow: about 69 %
   and 87 % coverage for 80 % and 95 % on the synthetic test series; prefer the backtest).

References: Taylor (2008), "A comparison of univariate time series methods for forecasting
intraday arrivals at a call center", Management Science 54(2); Bandara, Hyndman & Bergmeir
(2021), "MSTL: A Seasonal-Trend Decomposition Algorithm for Time Series with Multiple Seasonal
Patterns", arXiv:2107.13462; Angelopoulos & Bates (2023), "Conformal Prediction: A Gentle
Introduction" (split conformal quantiles).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Sequence

import numpy as np
import pandas as pd

from forecast.timegrid import (  # noqa: F401  (ForecastInputError is re-exported)
    NS_PER_DAY,
    ForecastInputError,
    NS_PER_WEEK,
    day_key,
    from_utc_ns,
    future_utc_ns,
    infer_freq,
    parse_horizon,
    utc_ns,
    wall_ns,
    wall_to_utc_ns,
    week_key,
)

DEFAULT_LEVELS = (80, 95)
DEFAULT_CHANNEL = "all"
MIN_HISTORY_DAYS = 14
# Lead-time buckets (days after the cutoff) for interval quantiles: day 1, day 2, days 3-7,
# week 2, weeks 3-4, weeks 5-8, and beyond.
LEAD_BUCKET_DAYS = (1, 2, 7, 14, 28, 56)
MIN_BUCKET_RESIDUALS = 50
INTERVAL_SCALE_POWER = 0.5
_NAT = np.iinfo(np.int64).min


def forecast_columns(levels: Sequence[float] = DEFAULT_LEVELS) -> list[str]:
    """Columns of the forecast table for these interval levels."""
    cols = ["channel", "ds", "yhat"]
    for level in levels:
        cols += [f"yhat_lower_{level:g}", f"yhat_upper_{level:g}"]
    return cols + ["model"]


def check_levels(levels: Iterable[float]) -> tuple[float, ...]:
    """Interval levels as percentages strictly between 0 and 100 (``80``, ``95``)."""
    out = []
    for level in levels:
        try:
            value = float(level)
        except (TypeError, ValueError):
            raise ForecastInputError(f"interval level {level!r} is not a number; give percentages such as 80 and 95") from None
        if 0 < value <= 1:
            raise ForecastInputError(
                f"interval level {level!r} looks like a fraction; levels are percentages (did you mean {value * 100:g}?)"
            )
        if not 1 < value < 100:
            raise ForecastInputError(f"interval level {level!r} must be a percentage between 0 and 100, e.g. 80 or 95")
        value = int(value) if value.is_integer() else value
        if value in out:
            raise ForecastInputError(f"interval level {value:g} is given twice; give each level once, e.g. 80 95")
        out.append(value)
    return tuple(out)


# --------------------------------------------------------------------------------------------
# One channel's series


@dataclass
class ChannelSeries:
    """One channel's history on its complete interval grid (``y`` NaN where missing)."""

    channel: str
    tz: object
    freq_ns: int
    utc: np.ndarray  # int64 ns, interval starts, strictly increasing, every step freq_ns
    y: np.ndarray  # float64, NaN = missing
    wall: np.ndarray = field(init=False)

    def __post_init__(self):
        self.wall = wall_ns(from_utc_ns(self.utc, self.tz))

    @property
    def last_utc(self) -> int:
        return int(self.utc[-1])

    @property
    def span_days(self) -> float:
        return (self.utc[-1] + self.freq_ns - self.utc[0]) / NS_PER_DAY

    @property
    def observed(self) -> np.ndarray:
        return np.isfinite(self.y)

    @property
    def per_day(self) -> int:
        return int(NS_PER_DAY // self.freq_ns)

    def ds(self) -> pd.DatetimeIndex:
        return from_utc_ns(self.utc, self.tz)

    def frame(self) -> pd.DataFrame:
        """The canonical long table of this channel."""
        return pd.DataFrame({
            "channel": self.channel,
            "ds": self.ds(),
            "y": pd.array(np.where(self.observed, self.y, np.nan), dtype="Float64"),
        })


def _y_as_float(values) -> np.ndarray:
    if isinstance(values, pd.Series):
        try:
            return values.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise ForecastInputError("column 'y' must hold numbers of messages (whole numbers, empty = missing)") from None
    return np.asarray(values, dtype=float)


def as_long_history(history) -> pd.DataFrame:
    """The history as a long table ``channel, ds, y`` (accepts one channel's Series or frame)."""
    if isinstance(history, pd.Series):
        if not isinstance(history.index, pd.DatetimeIndex):
            raise ForecastInputError("a history series must be indexed by its interval starts (tz-aware ds)")
        name = history.name if isinstance(history.name, str) and history.name not in ("y", "") else DEFAULT_CHANNEL
        return pd.DataFrame({"channel": name, "ds": history.index, "y": history.to_numpy()})
    if not isinstance(history, pd.DataFrame):
        raise ForecastInputError(f"a history must be a table with columns channel, ds, y (got {type(history).__name__})")
    missing = [c for c in ("ds", "y") if c not in history.columns]
    if missing:
        raise ForecastInputError(
            f"the history has no column {' or '.join(repr(c) for c in missing)}; expected columns channel, ds, y "
            f"(found: {', '.join(map(str, history.columns)) or 'none'})"
        )
    out = history[["ds", "y"]].copy()
    out.insert(0, "channel", history["channel"].astype(str).to_numpy() if "channel" in history.columns else DEFAULT_CHANNEL)
    return out


def split_channels(history) -> dict[str, ChannelSeries]:
    """Validate a history and split it into :class:`ChannelSeries`, completing each grid.

    Raises ``ValueError`` for: missing columns, naive timestamps, an empty table, negative or
    non-numeric counts, an interval appearing twice in a channel, intervals off the grid, and a
    channel without a single observed value.
    """
    frame = as_long_history(history)
    if frame.empty:
        raise ForecastInputError("the history is empty: there is nothing to forecast from")
    ds = pd.DatetimeIndex(frame["ds"]) if not isinstance(frame["ds"].dtype, pd.DatetimeTZDtype) else pd.DatetimeIndex(frame["ds"])
    if ds.tz is None:
        raise ForecastInputError(
            "the history's ds has no time zone: interval starts must be local times with their offset "
            "(read the file with forecast.ingest.read_history, or tz_localize the column)"
        )
    if ds.isna().any():
        raise ForecastInputError("the history has rows without a timestamp (ds)")
    y = _y_as_float(frame["y"])
    if (y[np.isfinite(y)] < 0).any():
        raise ForecastInputError("the history has negative counts in column 'y': message counts cannot be below 0")
    utc = utc_ns(ds)
    channels = frame["channel"].astype(str).to_numpy()
    freq_ns = infer_freq(ds).value
    out: dict[str, ChannelSeries] = {}
    order = np.lexsort((utc, channels))
    channels, utc, y = channels[order], utc[order], y[order]
    bounds = np.flatnonzero(np.r_[True, channels[1:] != channels[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        name = str(channels[lo])
        u, v = utc[lo:hi], y[lo:hi]
        if np.any(np.diff(u) == 0):
            first = pd.Timestamp(int(u[1:][np.diff(u) == 0][0]), tz="UTC").tz_convert(ds.tz)
            raise ForecastInputError(f"channel '{name}': the interval starting {first.isoformat()} appears more than once")
        if np.any((u - u[0]) % freq_ns):
            raise ForecastInputError(
                f"channel '{name}': interval starts are not on a regular {pd.Timedelta(freq_ns).isoformat()} grid"
            )
        grid = np.arange(u[0], u[-1] + freq_ns, freq_ns, dtype=np.int64)
        full = np.full(grid.size, np.nan)
        full[((u - u[0]) // freq_ns).astype(np.int64)] = v
        if not np.isfinite(full).any():
            raise ForecastInputError(f"channel '{name}': every interval is missing (no observed counts)")
        out[name] = ChannelSeries(name, ds.tz, int(freq_ns), grid, full)
    return out


def resample_history(history, freq) -> pd.DataFrame:
    """The history summed into coarser intervals of ``freq`` (e.g. 15-minute counts into hours),
    in local wall-clock time (an hour is the four quarters that start within it; the repeated
    hour of a 25-hour day stays two hours). A coarse interval with any missing part is missing.

    Raises :class:`ForecastInputError` when ``freq`` is finer than the history's interval (a
    forecast cannot be finer than its data), not a whole multiple of it, or does not divide a day.
    """
    frame = as_long_history(history)
    target = pd.Timedelta(freq)
    data = split_channels(frame)
    first = next(iter(data.values()))
    have = pd.Timedelta(first.freq_ns, unit="ns")
    if target == have:
        return frame.reset_index(drop=True)
    if target < have:
        raise ForecastInputError(
            f"--freq {_td_text(target)} is finer than the history's intervals of {_td_text(have)}: "
            f"a forecast cannot be finer than its data (use --freq {_td_text(have)} or coarser)"
        )
    if target.value % have.value or NS_PER_DAY % target.value:
        raise ForecastInputError(
            f"--freq {_td_text(target)} is not a whole number of the history's {_td_text(have)} intervals "
            "or does not divide a day: use 15min, 30min, 1h (or 2h, 3h, 4h, 6h, 12h)"
        )
    ratio = target.value // have.value
    parts = []
    for name, series in data.items():
        wall = series.wall
        offset = wall - series.utc
        start = wall - np.mod(wall, target.value) - offset  # local floor, back in UTC
        grouped = pd.DataFrame({"start": start, "y": series.y}).groupby("start", sort=True)["y"]
        sums = grouped.sum(min_count=1)
        counts = grouped.count()
        sums[counts < ratio] = np.nan
        parts.append(pd.DataFrame({
            "channel": name, "ds": from_utc_ns(sums.index.to_numpy(dtype=np.int64), series.tz),
            "y": pd.array(sums.to_numpy(), dtype="Float64"),
        }))
    out = pd.concat(parts, ignore_index=True)
    y = out["y"]
    if (y.dropna() % 1 == 0).all():
        out["y"] = y.astype("Int64")
    return out


def _td_text(td: pd.Timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"


def impute_gaps(series: ChannelSeries) -> np.ndarray:
    """``y`` with missing intervals filled: the mean of the same local hour of the week over the
    history, else of the same hour of the day, else the overall mean."""
    y = series.y.copy()
    gap = ~np.isfinite(y)
    if not gap.any():
        return y
    for keys in (week_key(wall=series.wall), day_key(wall=series.wall)):
        means = pd.Series(y).groupby(keys).mean()
        fill = pd.Series(keys[gap]).map(means).to_numpy(dtype=float)
        y[gap] = fill
        gap = ~np.isfinite(y)
        if not gap.any():
            return y
    y[gap] = np.nanmean(series.y)
    return y


def lookup(series: ChannelSeries, values: np.ndarray, target_utc: np.ndarray) -> np.ndarray:
    """``values`` (aligned with ``series.utc``) at the intervals starting at ``target_utc``
    (NaN where the target is outside the series)."""
    pos = (np.asarray(target_utc, dtype=np.int64) - series.utc[0]) // series.freq_ns
    inside = (target_utc != _NAT) & (pos >= 0) & (pos < series.utc.size)
    out = np.full(pos.size, np.nan)
    out[inside] = values[pos[inside]]
    return out


# --------------------------------------------------------------------------------------------
# Intervals from residuals


def lead_bucket(lead_ns: np.ndarray) -> np.ndarray:
    """Lead-time bucket (0 = first day, ...) of leads in ns after the cutoff (see LEAD_BUCKET_DAYS)."""
    days = np.asarray(lead_ns, dtype=float) / NS_PER_DAY
    return np.searchsorted(np.asarray(LEAD_BUCKET_DAYS, dtype=float), days, side="left")


def interval_scale(yhat: np.ndarray, power: float = INTERVAL_SCALE_POWER) -> np.ndarray:
    """The spread unit of a forecast: (yhat + 1) ** power."""
    return np.power(np.maximum(np.asarray(yhat, dtype=float), 0.0) + 1.0, power)


@dataclass
class ResidualQuantiles:
    """Quantiles of scaled errors ``(y - yhat) / interval_scale(yhat)`` per lead bucket and level.

    ``table`` has columns ``bucket`` (-1 = all leads pooled), ``level``, ``lower``, ``upper``, ``n``.
    Built by :meth:`from_residuals`; :meth:`bounds` turns a forecast into interval bounds.
    """

    table: pd.DataFrame
    source: str  # "backtest" or "in-sample"
    power: float = INTERVAL_SCALE_POWER

    @classmethod
    def from_residuals(
        cls,
        y,
        yhat,
        lead_ns=None,
        levels: Sequence[float] = DEFAULT_LEVELS,
        source: str = "in-sample",
        power: float = INTERVAL_SCALE_POWER,
        min_count: int = MIN_BUCKET_RESIDUALS,
    ) -> "ResidualQuantiles":
        """Split-conformal quantiles: for level L the (1-L)/2 and (1+L)/2 quantiles of the scaled
        errors, with the finite-sample correction (n+1)/n. Buckets with fewer than ``min_count``
        errors are left to the pooled row. ``lead_ns`` None (or NaN) means "any lead"."""
        y = np.asarray(y, dtype=float)
        yhat = np.asarray(yhat, dtype=float)
        keep = np.isfinite(y) & np.isfinite(yhat)
        err = (y[keep] - yhat[keep]) / interval_scale(yhat[keep], power)
        if lead_ns is None:
            buckets = np.full(err.size, -1)
        else:
            lead = np.asarray(lead_ns, dtype=float)[keep]
            buckets = np.where(np.isfinite(lead), lead_bucket(np.nan_to_num(lead)), -1)
        rows = []
        groups = [(-1, err)] + [(int(b), err[buckets == b]) for b in np.unique(buckets) if b >= 0]
        for bucket, e in groups:
            if e.size == 0 or (bucket >= 0 and e.size < min_count):
                continue
            for level in levels:
                alpha = 1 - float(level) / 100
                p_hi = min(1.0, (1 - alpha / 2) * (e.size + 1) / e.size)
                p_lo = max(0.0, 1 - p_hi)
                rows.append({
                    "bucket": bucket,
                    "level": level,
                    "lower": float(np.quantile(e, p_lo, method="lower")),
                    "upper": float(np.quantile(e, p_hi, method="higher")),
                    "n": int(e.size),
                })
        if not rows:
            rows = [{"bucket": -1, "level": level, "lower": 0.0, "upper": 0.0, "n": 0} for level in levels]
        return cls(pd.DataFrame(rows), source, power)

    def bounds(self, yhat: np.ndarray, lead_ns: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds (never below 0) for forecasts ``yhat`` at leads ``lead_ns``.

        A lead bucket without its own quantiles takes the nearest shorter bucket that has them,
        else the pooled quantiles. A level not in the table is taken from the pooled normal
        approximation of the nearest level (scaled by the ratio of normal quantiles).
        """
        yhat = np.asarray(yhat, dtype=float)
        factor, (pooled_lo, pooled_hi, have, lower_q, upper_q) = self._level_arrays(level)
        wanted = lead_bucket(lead_ns)
        lo_q = np.full(yhat.size, pooled_lo)
        hi_q = np.full(yhat.size, pooled_hi)
        if have.size:
            idx = np.searchsorted(have, wanted, side="right") - 1
            ok = idx >= 0
            lo_q[ok] = lower_q[idx[ok]]
            hi_q[ok] = upper_q[idx[ok]]
        scale = interval_scale(yhat, self.power)
        lower = np.maximum(yhat + factor * lo_q * scale, 0.0)
        upper = np.maximum(yhat + factor * hi_q * scale, lower)
        return lower, upper


    def _level_arrays(self, level: float):
        """(factor, (pooled lower, pooled upper, buckets, lower per bucket, upper per bucket)) for a
        level, as numpy arrays (cached: many channels call this for every forecast)."""
        cache = self.__dict__.setdefault("_arrays", {})
        if level not in cache:
            table = self.table[self.table["level"] == level]
            factor = 1.0
            if table.empty:
                known = self.table["level"].unique()
                nearest = known[np.argmin(np.abs(known - level))]
                table = self.table[self.table["level"] == nearest]
                factor = _normal_quantile(level) / _normal_quantile(nearest)
            pooled = table[table["bucket"] == -1].iloc[0]
            by_bucket = table[table["bucket"] >= 0].sort_values("bucket")
            cache[level] = (factor, (float(pooled["lower"]), float(pooled["upper"]),
                                     by_bucket["bucket"].to_numpy(dtype=np.int64),
                                     by_bucket["lower"].to_numpy(dtype=float), by_bucket["upper"].to_numpy(dtype=float)))
        return cache[level]


def _normal_quantile(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + float(level) / 200)


# --------------------------------------------------------------------------------------------
# The interface


@dataclass
class _Constant:
    value: float


class Forecaster:
    """Base class: one small interface (fit / predict with levels), per channel.

    Subclasses set ``name`` and ``min_history_days`` and implement ``_fit_channel`` (learn from a
    :class:`ChannelSeries`, return the channel's state), ``_predict_channel`` (state and future
    UTC interval starts -> point forecasts) and ``_insample_residuals`` (state -> ``(y, yhat,
    lead_ns)`` for the fallback intervals).

    Learned state: ``channels_``, ``freq_``, ``tz_``, ``last_ds_`` (per channel), ``states_``,
    ``intervals_`` (per channel :class:`ResidualQuantiles`), ``notes_`` (per channel, list of
    strings for the planner).
    """

    name: ClassVar[str] = ""
    min_history_days: ClassVar[float] = MIN_HISTORY_DAYS
    _gap_policy: ClassVar[str] = "filled with the mean of the same hour of the week"

    # -- parameters (scikit-learn style) ----------------------------------------------------
    def get_params(self) -> dict:
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- fit ------------------------------------------------------------------------------------
    def check_history(self, series: ChannelSeries) -> None:
        """Raise ``ValueError`` when the channel's history is too short for this model."""
        need = self.min_history_days
        if series.span_days + 1e-9 < need:
            raise ForecastInputError(
                f"channel '{series.channel}': {series.span_days:.1f} days of history; "
                f"model '{self.name}' needs at least {need:g} days"
            )
        if series.observed.sum() < 7 * series.per_day:
            raise ForecastInputError(
                f"channel '{series.channel}': only {series.observed.sum() / series.per_day:.1f} days of the history "
                f"have counts (the rest is missing); model '{self.name}' needs at least 7 days of counts"
            )

    def fit(self, history) -> "Forecaster":
        """Learn from a history (long table ``channel, ds, y``, or one channel's series).

        Raises ``ValueError`` naming the channel when a channel's history is too short for this
        model or the table is malformed.
        """
        data = split_channels(history)
        self.channels_ = list(data)
        first = next(iter(data.values()))
        self.freq_ = pd.Timedelta(first.freq_ns, unit="ns")
        self.tz_ = first.tz
        self.last_ds_ = {}
        self.states_ = {}
        self.intervals_ = {}
        self.notes_ = {}
        for name, series in data.items():
            self.check_history(series)
            self.last_ds_[name] = from_utc_ns(series.utc[-1:], series.tz)[0]
            self.notes_[name] = []
            observed = series.y[series.observed]
            if np.all(observed == observed[0]):
                value = float(observed[0])
                what = "every observed interval is 0" if value == 0 else f"every observed interval is {value:g}"
                self.notes_[name].append(f"{what}: forecast as the constant {value:g}")
                self.states_[name] = _Constant(value)
                self.intervals_[name] = ResidualQuantiles.from_residuals([0.0], [0.0], source="constant")
                continue
            if not series.observed.all():
                gaps = int((~series.observed).sum())
                self.notes_[name].append(f"{gaps} missing intervals in the history ({self._gap_policy})")
            state = self._fit_channel(series)
            self.states_[name] = state
            y, yhat, lead = self._insample_residuals(series, state)
            self.intervals_[name] = ResidualQuantiles.from_residuals(y, yhat, lead, source="in-sample")
        self._series_meta_ = {name: (s.tz, s.freq_ns) for name, s in data.items()}
        return self

    def calibrate_intervals(self, intervals: dict[str, ResidualQuantiles]) -> "Forecaster":
        """Use out-of-sample (backtest) error quantiles for these channels' intervals (conformal)."""
        self._check_fitted()
        for name, q in intervals.items():
            if name in self.states_ and not isinstance(self.states_[name], _Constant):
                self.intervals_[name] = q
        return self

    # -- predict -------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "states_"):
            raise ForecastInputError(f"the '{self.name}' forecaster is not fitted yet: call fit(history) first")

    def predict(self, horizon="28d", levels: Sequence[float] = DEFAULT_LEVELS) -> pd.DataFrame:
        """Forecast every fitted channel for ``horizon`` after its last interval.

        ``horizon``: a duration (``'28d'``, ``'2w'``, a Timedelta), more than 0 and at most a
        year; whole days are local days (see ``forecast.timegrid``). ``levels``: interval levels
        in percent. Returns the long forecast table (:func:`forecast_columns`).
        """
        self._check_fitted()
        levels = check_levels(levels)
        parse_horizon(horizon, self.freq_)
        parts = [self._predict_one(name, horizon, levels) for name in self.channels_]
        return pd.concat(parts, ignore_index=True)[forecast_columns(levels)]

    def _predict_one(self, name: str, horizon, levels) -> pd.DataFrame:
        tz, freq_ns = self._series_meta_[name]
        last = self.last_ds_[name]
        future = future_utc_ns(last, horizon, pd.Timedelta(freq_ns, unit="ns"))
        state = self.states_[name]
        if isinstance(state, _Constant):
            yhat = np.full(future.size, state.value)
            model = "constant"
        else:
            yhat = np.maximum(np.asarray(self._predict_channel(state, future), dtype=float), 0.0)
            model = self.name
        out = {"channel": name, "ds": from_utc_ns(future, tz), "yhat": yhat}
        lead = future - int(utc_ns(last)[0])
        for level in levels:
            if isinstance(state, _Constant):
                lower, upper = yhat.copy(), yhat.copy()
            else:
                lower, upper = self.intervals_[name].bounds(yhat, lead, level)
            out[f"yhat_lower_{level:g}"] = lower
            out[f"yhat_upper_{level:g}"] = upper
        out["model"] = model
        return pd.DataFrame(out)

    # -- for subclasses ------------------------------------------------------------------------
    def _fit_channel(self, series: ChannelSeries):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_channel(self, state, future_utc: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _insample_residuals(self, series: ChannelSeries, state) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        raise NotImplementedError  # pragma: no cover


MODELS: dict[str, type[Forecaster]] = {}


def register(cls: type[Forecaster]) -> type[Forecaster]:
    """Class decorator: make a forecaster available by its ``name``."""
    MODELS[cls.name] = cls
    return cls


def available_models() -> list[str]:
    """Names :func:`get_forecaster` accepts (``auto`` and ``ensemble`` included)."""
    return sorted(MODELS) + ["auto", "ensemble"]


def get_forecaster(name: str, **params) -> Forecaster:
    """A new (unfitted) forecaster by registry name, e.g. ``get_forecaster('profile', weeks=8)``."""
    if name in ("auto", "ensemble"):
        from forecast.backtest import AutoForecaster, EnsembleForecaster

        return (AutoForecaster if name == "auto" else EnsembleForecaster)(**params)
    if name not in MODELS:
        raise ForecastInputError(f"unknown model '{name}'; choose one of: {', '.join(available_models())}")
    return MODELS[name](**params)


# --------------------------------------------------------------------------------------------
# Seasonal naive


@dataclass
class _NaiveState:
    series: ChannelSeries
    filled: np.ndarray  # y with gaps imputed


def _seasonal_source(series: ChannelSeries, target_utc: np.ndarray, season_ns: int, min_k=None) -> np.ndarray:
    """UTC start of the interval at the same wall-clock time k seasons earlier, with k the
    smallest whole number (at least ``min_k``) that lands at or before the series' last interval."""
    target_utc = np.asarray(target_utc, dtype=np.int64)
    tz = series.tz
    target_wall = wall_ns(from_utc_ns(target_utc, tz))
    last_wall = int(series.wall[-1])
    k = np.maximum(np.ceil((target_wall - last_wall) / season_ns), 1).astype(np.int64)
    if min_k is not None:
        k = np.maximum(k, min_k)
    source = wall_to_utc_ns(target_wall - k * season_ns, tz)
    for _ in range(3):  # a skipped or repeated hour can land one interval after the last
        late = source > series.last_utc
        if not late.any():
            break
        k[late] += 1
        source[late] = wall_to_utc_ns(target_wall[late] - k[late] * season_ns, tz)
    return source


@register
class SeasonalNaive(Forecaster):
    """The same local wall-clock time one season earlier (default a week): ``snaive``.

    Beyond one season the last season repeats. Missing values are filled first
    (:func:`impute_gaps`). Intervals: the spread of y[t] - y[t - k seasons] over the last
    ``residual_weeks`` weeks, per lead bucket (k seasons for leads in the k-th season), which are
    out-of-sample errors of this method since it learns nothing.
    """

    name = "snaive"
    min_history_days = 14
    season_days: ClassVar[int] = 7

    def __init__(self, residual_weeks: int = 8):
        self.residual_weeks = residual_weeks

    def _fit_channel(self, series: ChannelSeries) -> _NaiveState:
        return _NaiveState(series, impute_gaps(series))

    def _predict_channel(self, state: _NaiveState, future_utc: np.ndarray) -> np.ndarray:
        source = _seasonal_source(state.series, future_utc, self.season_days * NS_PER_DAY)
        return lookup(state.series, state.filled, source)

    def _insample_residuals(self, series: ChannelSeries, state: _NaiveState):
        season = self.season_days * NS_PER_DAY
        recent = series.utc >= series.last_utc - self.residual_weeks * NS_PER_WEEK
        targets = series.utc[recent & series.observed]
        max_k = max(1, int(series.span_days * NS_PER_DAY // season) - 1)
        ys, yhats, leads = [], [], []
        for k in range(1, min(max_k, max(1, 28 // self.season_days)) + 1):
            source = wall_to_utc_ns(wall_ns(from_utc_ns(targets, series.tz)) - k * season, series.tz)
            yhat = lookup(series, series.y, source)  # observed values only: no imputed errors
            # Spread the errors over the leads of the k-th season they stand for.
            within = ((np.arange(targets.size) % (season // series.freq_ns)) + 1) * series.freq_ns
            ys.append(lookup(series, series.y, targets))
            yhats.append(yhat)
            leads.append((k - 1) * season + within)
        return np.concatenate(ys), np.concatenate(yhats), np.concatenate(leads)


@register
class SeasonalNaiveDay(SeasonalNaive):
    """The same local wall-clock time yesterday (``snaive_day``): the last day repeats."""

    name = "snaive_day"
    min_history_days = 14
    season_days = 1


# --------------------------------------------------------------------------------------------
# Weighted profile with damped level/trend


def profile_weights(weeks: int, weights: str | Sequence[float] = "linear") -> np.ndarray:
    """Week weights, the most recent week first, summing to 1.

    ``"linear"``: N, N-1, ..., 1 (6 weeks: 6/21, 5/21, ... 1/21); ``"equal"``; or explicit numbers.
    """
    if isinstance(weights, str):
        if weights == "linear":
            w = np.arange(weeks, 0, -1, dtype=float)
        elif weights == "equal":
            w = np.ones(weeks)
        else:
            raise ForecastInputError(f"profile weights must be 'linear', 'equal' or a list of numbers (got {weights!r})")
    else:
        w = np.asarray(weights, dtype=float)
        if w.size != weeks or (w < 0).any() or w.sum() <= 0:
            raise ForecastInputError(f"profile weights must be {weeks} non-negative numbers, not all 0")
    return w / w.sum()


@dataclass
class _ProfileState:
    tz: object
    freq_ns: int
    last_utc: int
    profile: pd.Series  # week key -> expected messages (level of the weighted window)
    day_profile: pd.Series  # day key -> expected messages (fallback)
    overall: float
    log_level: float  # level of the most recent week relative to the profile (log)
    slope: float  # weekly log growth (shrunk)
    damping: float  # per week
    weeks_used: int
    residuals: tuple


@register
class Profile(Forecaster):
    """Weighted N-week average of the same local hour of the week, with a damped level/trend factor.

    Fit, per channel, on the last ``weeks`` weeks counted back from the last interval (age 0 =
    the most recent 7 days):

    1. for every hour of the week (both passes of a repeated hour share one), the weighted mean
       over the weeks that have it (gaps are simply left out, weights renormalised);
    2. each week's ratio r_j = its observed volume / the profile's volume for the same intervals
       (robust to gaps and a partial oldest week); a weighted least-squares line through
       log r_j gives the recent level (a) and the weekly growth (b). Each is shrunk towards 0 by
       est^2 / (est^2 + se^2) so noise does not move the forecast; with fewer than 3 weeks no
       adjustment is made;
    3. the forecast at t weeks after the middle of the last week is
       profile * exp(a + b * phi (1 - phi^t) / (1 - phi)): the trend is damped by ``damping``
       per week and the factor is kept between 0.5 and 2.

    Needs 14 days. Intervals: leave-one-week-out in-sample errors (see the module doc).
    """

    name = "profile"
    min_history_days = 14
    _gap_policy = "left out of the weekly averages"

    def __init__(self, weeks: int = 6, weights: str | Sequence[float] = "linear", trend: bool = True,
                 damping: float = 0.9):
        self.weeks = weeks
        self.weights = weights
        self.trend = trend
        self.damping = damping

    def _fit_channel(self, series: ChannelSeries) -> _ProfileState:
        if int(self.weeks) < 1:
            raise ForecastInputError("profile: weeks must be at least 1")
        if not 0 <= float(self.damping) <= 1:
            raise ForecastInputError("profile: damping must be between 0 and 1")
        end_wall = int(series.wall[-1]) + series.freq_ns
        age = (end_wall - series.wall - 1) // NS_PER_WEEK  # 0 = the most recent 7 days
        n_weeks = int(min(int(self.weeks), age.max() + 1))
        weights = profile_weights(int(self.weeks), self.weights)[:n_weeks]
        weights = weights / weights.sum()
        keys = week_key(wall=series.wall)
        window = (age < n_weeks) & series.observed
        frame = pd.DataFrame({"age": age[window], "key": keys[window], "y": series.y[window]})
        # Mean per (week, hour of week) first: the repeated hour counts once per week.
        cell = frame.groupby(["age", "key"], sort=False)["y"].mean().reset_index()
        cell["w"] = weights[cell["age"].to_numpy()]
        cell["wy"] = cell["w"] * cell["y"]
        sums = cell.groupby("key")[["wy", "w"]].sum()
        profile = sums["wy"] / sums["w"]
        observed_all = pd.Series(series.y[series.observed])
        all_keys = pd.Series(keys[series.observed])
        long_run = observed_all.groupby(all_keys.to_numpy()).mean()
        profile = profile.combine_first(long_run)
        day_profile = observed_all.groupby(day_key(wall=series.wall)[series.observed]).mean()
        overall = float(observed_all.mean())

        fitted = pd.Series(keys).map(profile).to_numpy(dtype=float)
        log_level, slope = 0.0, 0.0
        ages = np.arange(n_weeks)
        ratios = np.full(n_weeks, np.nan)
        for j in ages:
            mask = window & (age == j)
            expected = fitted[mask].sum()
            if expected > 0 and mask.sum() >= series.per_day:
                ratios[j] = series.y[mask].sum() / expected
        good = np.isfinite(ratios) & (ratios > 0)
        if self.trend and good.sum() >= 3:
            log_level, slope = _shrunk_line(-ages[good].astype(float), np.log(ratios[good]), weights[good])
        # Leave-one-week-out residuals: for a weighted mean, (y - mean) / (1 - w_own).
        own = weights[np.minimum(age, n_weeks - 1)]
        w_key = pd.Series(keys[window]).map(sums["w"]).to_numpy()
        insample = fitted[window] * np.exp(np.clip(log_level - slope * age[window], -0.7, 0.7))
        share = np.clip(own[window] / w_key, 0, 0.95)
        y_obs = series.y[window]
        # The leave-one-week-out error is (y - fitted) / (1 - share); keep it as (y, yhat) pairs.
        yhat_loo = y_obs - (y_obs - insample) / (1 - share)
        return _ProfileState(
            tz=series.tz, freq_ns=series.freq_ns, last_utc=series.last_utc, profile=profile,
            day_profile=day_profile, overall=overall, log_level=float(log_level), slope=float(slope),
            damping=float(self.damping), weeks_used=n_weeks, residuals=(y_obs, np.maximum(yhat_loo, 0.0)),
        )

    def _predict_channel(self, state: _ProfileState, future_utc: np.ndarray) -> np.ndarray:
        wall = wall_ns(from_utc_ns(future_utc, state.tz))
        base = pd.Series(week_key(wall=wall)).map(state.profile).to_numpy(dtype=float).copy()
        missing = ~np.isfinite(base)
        if missing.any():
            base[missing] = pd.Series(day_key(wall=wall[missing])).map(state.day_profile).to_numpy(dtype=float)
            base[~np.isfinite(base)] = state.overall
        weeks_ahead = (future_utc - state.last_utc) / NS_PER_WEEK + 0.5
        return base * self._factor(state, weeks_ahead)

    @staticmethod
    def _factor(state: _ProfileState, weeks_ahead: np.ndarray) -> np.ndarray:
        phi = state.damping
        if phi >= 1:
            damped = weeks_ahead
        elif phi <= 0:
            damped = np.zeros_like(weeks_ahead)
        else:
            damped = phi * (1 - phi ** weeks_ahead) / (1 - phi)
        return np.clip(np.exp(state.log_level + state.slope * damped), 0.5, 2.0)

    def _insample_residuals(self, series: ChannelSeries, state: _ProfileState):
        y, yhat = state.residuals
        return y, yhat, None


def _shrunk_line(x: np.ndarray, z: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least squares z = a + b x; each coefficient shrunk by est^2 / (est^2 + se^2)."""
    X = np.column_stack([np.ones_like(x), x])
    W = w / w.sum()
    XtW = X.T * W
    cov_unscaled = np.linalg.pinv(XtW @ X)
    coef = cov_unscaled @ (XtW @ z)
    resid = z - X @ coef
    dof = max(len(z) - 2, 1)
    # Residual variance with normalised weights (effective sample size correction).
    n_eff = 1 / np.sum(W**2)
    sigma2 = float(np.sum(W * resid**2) * n_eff / dof)
    se2 = np.maximum(np.diag(cov_unscaled) * sigma2 / n_eff, 1e-12)
    shrink = coef**2 / (coef**2 + se2)
    a, b = coef * shrink
    return float(a), float(b)


# --------------------------------------------------------------------------------------------
# MSTL (statsmodels)


def wall_clock_regular(series: ChannelSeries, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The series on a regular wall-clock grid (exactly ``per_day`` intervals every local day):
    the two passes of a repeated hour are averaged, a skipped hour is interpolated linearly."""
    wall = series.wall
    grid = np.arange(wall.min(), wall.max() + series.freq_ns, series.freq_ns, dtype=np.int64)
    frame = pd.Series(values).groupby(wall).mean()
    out = frame.reindex(grid).to_numpy(dtype=float).copy()  # pandas 3 may hand out a read-only view
    gap = ~np.isfinite(out)
    if gap.any():
        idx = np.arange(out.size)
        out[gap] = np.interp(idx[gap], idx[~gap], out[~gap])
    return grid, out


@dataclass
class _MSTLState:
    tz: object
    freq_ns: int
    last_wall: int
    grid_wall: np.ndarray
    seasonal: np.ndarray  # daily + weekly components on the wall grid
    yearly: np.ndarray | None  # yearly component on the wall grid (two years of history)
    periods: tuple[int, ...]
    trend_params: tuple  # (level, trend, phi) of the damped Holt model
    residuals: tuple


@register
class MSTLForecaster(Forecaster):
    """MSTL decomposition (statsmodels) with damped-Holt trend forecasting: ``mstl``.

    Seasonal periods at the data's frequency: one day and one week (24 and 168 at hourly data,
    96 and 672 at 15-minute data), plus a year (365.25 days) when the history spans more than two years.
    The series is first put on a regular wall-clock grid (:func:`wall_clock_regular`) so the
    periods are exact across daylight saving; gaps are filled (:func:`impute_gaps`). The seasonal
    part of the future is the sum of the components at the same wall-clock time one period (a
    week, or a year) earlier; the deseasonalised remainder (trend + residual) is forecast with a
    damped additive Holt model. Only the last ``max_weeks`` weeks are used (speed) unless the
    yearly component is fitted. Needs 28 days. Fallback intervals: errors of the decomposition's
    one-week-ahead forecast over the last 8 weeks (in-sample, so somewhat narrow).
    """

    name = "mstl"
    min_history_days = 28

    def __init__(self, max_weeks: int = 16, yearly: bool | None = None):
        self.max_weeks = max_weeks
        self.yearly = yearly

    def _fit_channel(self, series: ChannelSeries) -> _MSTLState:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing
        from statsmodels.tsa.seasonal import MSTL

        per_day = series.per_day
        grid, values = wall_clock_regular(series, impute_gaps(series))
        year = int(round(365.25 * per_day))
        two_years = grid.size > 2 * year  # statsmodels drops a period longer than half the series
        yearly = two_years if self.yearly is None else bool(self.yearly) and two_years
        keep = grid.size if yearly else min(grid.size, int(self.max_weeks) * 7 * per_day)
        grid, values = grid[-keep:], values[-keep:]
        periods = (per_day, 7 * per_day) + ((year,) if yearly else ())
        res = MSTL(values, periods=periods, stl_kwargs={"robust": False}).fit()
        components = np.asarray(res.seasonal, dtype=float).reshape(values.size, -1)
        seasonal = components[:, :2].sum(axis=1)
        year_part = components[:, 2] if yearly else None
        rest = values - components.sum(axis=1)
        holt = ExponentialSmoothing(rest, trend="add", damped_trend=True, initialization_method="estimated").fit()
        params = holt.params
        level = float(holt.level[-1])
        trend = float(holt.trend[-1])
        phi = float(params.get("damping_trend", 0.98))
        # Fallback interval errors: the decomposition's forecast one week ahead (seasonal part and
        # trend a week earlier), over the last 8 weeks; the backtest gives better ones.
        week = 7 * per_day
        mstl_trend = np.asarray(res.trend, dtype=float)
        ahead = (components.sum(axis=1) + mstl_trend)[:-week]
        recent = slice(max(0, values.size - week - 8 * week), None)
        pairs = (values[week:][recent], np.maximum(ahead[recent], 0.0))
        return _MSTLState(
            tz=series.tz, freq_ns=series.freq_ns, last_wall=int(grid[-1]), grid_wall=grid, seasonal=seasonal,
            yearly=year_part,
            periods=periods, trend_params=(level, trend, phi), residuals=pairs,
        )

    def _predict_channel(self, state: _MSTLState, future_utc: np.ndarray) -> np.ndarray:
        wall = wall_ns(from_utc_ns(future_utc, state.tz))
        seasonal = self._repeat(state, state.seasonal, wall, state.periods[1])
        if state.yearly is not None:
            seasonal = seasonal + self._repeat(state, state.yearly, wall, state.periods[2])
        level, trend, phi = state.trend_params
        steps = np.maximum((wall - state.last_wall) / state.freq_ns, 1)
        damped = phi * (1 - phi**steps) / (1 - phi) if phi < 1 else steps
        return level + trend * damped + seasonal

    @staticmethod
    def _repeat(state: _MSTLState, component: np.ndarray, wall: np.ndarray, period: int) -> np.ndarray:
        """The component at the same wall-clock position k periods earlier (k smallest that is
        inside the fitted grid)."""
        period_ns = period * state.freq_ns
        k = np.maximum(np.ceil((wall - state.last_wall) / period_ns), 1).astype(np.int64)
        pos = np.clip((wall - k * period_ns - state.grid_wall[0]) // state.freq_ns, 0, state.grid_wall.size - 1)
        return component[pos]

    def _insample_residuals(self, series: ChannelSeries, state: _MSTLState):
        y, yhat = state.residuals
        return y, yhat, None


# --------------------------------------------------------------------------------------------
# Models in their own modules register themselves on import (heavy libraries are imported only
# when such a model is fitted).

from forecast import statsmodels_models as _statsmodels_models  # noqa: E402,F401  (ets)
from forecast import prophet_model as _prophet_model  # noqa: E402,F401  (prophet)
