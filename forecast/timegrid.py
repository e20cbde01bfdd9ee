"""Time grids for forecasting: future intervals and "the same local hour N weeks earlier".

All arithmetic is done on int64 nanoseconds, either as UTC instants or as local wall-clock
values ("the local clock reading, stored as if it were UTC"). That sidesteps two pandas pitfalls
on days of 23 and 25 hours: ``.dt.floor``/``.dt.round`` on local times raise on the repeated
hour, and ``tz_localize`` needs to be told what to do with repeated and skipped clock times.

Conventions (see also ``docs/formats.md``, section Time):

* A horizon of ``28d`` after a history whose last interval starts at local time *t* gives every
  interval after *t* up to and including the one starting at the same local wall-clock time 28
  local days later. The grid is built as a UTC range, so a 23-hour day holds 23 hourly intervals
  and a 25-hour day 25. If that end clock time falls on the hour skipped when summer time starts,
  the grid stops before the gap; if it falls on the repeated hour when summer time ends, the grid
  runs to its second pass (so both repeated intervals are in).
* "The same local hour N weeks earlier" (:func:`weeks_earlier`) is the same wall-clock time N*7
  local days earlier. On a 25-hour day both 02:00 intervals map to 02:00 a week earlier. When the
  target clock time is repeated on the earlier day (looking back to a 25-hour day), the first pass
  (summer time) is taken. When the target clock time does not exist on the earlier day (looking
  back to a 23-hour day: 02:00-03:00 was skipped), the interval right after the gap is taken:
  02:00 maps to 03:00, 02:15 to 03:15 (the clock time shifted forward by the size of the gap).
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

NS_PER_SECOND = 10**9
NS_PER_HOUR = 3600 * NS_PER_SECOND
NS_PER_DAY = 24 * NS_PER_HOUR
NS_PER_WEEK = 7 * NS_PER_DAY
MAX_HORIZON = pd.Timedelta(days=366)
# 1970-01-01 (wall-clock value 0) was a Thursday: shift so that key 0 is Monday 00:00.
_MONDAY_SHIFT_NS = 3 * NS_PER_DAY

_UNIT_SECONDS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]+)")


class ForecastInputError(ValueError):
    """The history or the request cannot be forecast as asked; the message says why, for a planner.

    Raised by ``forecast.timegrid``, ``forecast.models`` and ``forecast.backtest`` (and importable
    from each); a ``ValueError``, so callers may catch either.
    """


# --------------------------------------------------------------------------------------------
# Durations and horizons


def to_timedelta(value: str | int | float | pd.Timedelta | _dt.timedelta) -> pd.Timedelta:
    """A duration as a Timedelta, following the project's convention (``docs/formats.md``).

    Strings such as ``28d``, ``2w``, ``36h``, ``1h30m`` (``m`` is minutes); a bare number is
    seconds, as on the command line.
    """
    if isinstance(value, (pd.Timedelta, _dt.timedelta)):
        return pd.Timedelta(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if not np.isfinite(value):
            raise ForecastInputError(f"horizon {value!r} is not a number of seconds")
        return pd.Timedelta(seconds=float(value))
    if isinstance(value, str):
        raw = value.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d*)?|\.\d+", raw):
            return pd.Timedelta(seconds=float(raw))
        parts = _DURATION_PART.findall(raw)
        if parts and "".join(n + u for n, u in parts) == raw and all(u in _UNIT_SECONDS for _, u in parts):
            return pd.Timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    raise ForecastInputError(
        f"cannot read the duration {value!r}: write a number and a unit, e.g. '28d', '2w', '36h' "
        "(s, m or min, h, d, w; a bare number is seconds)"
    )


def parse_horizon(horizon, freq: pd.Timedelta | None = None) -> pd.Timedelta:
    """Validate a forecast horizon: more than 0 (at least one interval) and at most a year.

    Raises ``ValueError`` with a message a planner understands.
    """
    td = to_timedelta(horizon)
    if td <= pd.Timedelta(0):
        raise ForecastInputError(f"the horizon must be longer than 0 (got {horizon!r}); e.g. '28d' for four weeks")
    if td > MAX_HORIZON:
        raise ForecastInputError(
            f"the horizon {_describe(td)} is more than a year; forecasts are made at most 366 days ahead"
        )
    if freq is not None and td < freq:
        raise ForecastInputError(
            f"the horizon {_describe(td)} is shorter than one interval of the history ({_describe(freq)}); "
            "e.g. '28d' for four weeks (a bare number is seconds)"
        )
    return td


def _describe(td: pd.Timedelta) -> str:
    seconds = int(td.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{td.total_seconds():g}s"


# --------------------------------------------------------------------------------------------
# Instants and wall-clock values


def utc_ns(ds) -> np.ndarray:
    """UTC instants (int64 ns) of tz-aware timestamps (Series, Index, array or scalar)."""
    index = pd.DatetimeIndex(np.atleast_1d(ds) if np.ndim(ds) == 0 else ds)
    if index.tz is None:
        raise ForecastInputError("timestamps must carry a time zone (interval starts in the team's zone)")
    return np.asarray(index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


def wall_ns(ds) -> np.ndarray:
    """Local wall-clock values (int64 ns, the clock reading as if it were UTC) of tz-aware times."""
    index = pd.DatetimeIndex(np.atleast_1d(ds) if np.ndim(ds) == 0 else ds)
    if index.tz is None:
        raise ForecastInputError("timestamps must carry a time zone (interval starts in the team's zone)")
    return np.asarray(index.tz_localize(None).as_unit("ns").asi8, dtype=np.int64)


def from_utc_ns(values: np.ndarray, tz) -> pd.DatetimeIndex:
    """Tz-aware index (ns) in ``tz`` from UTC instants (int64 ns)."""
    arr = np.asarray(values, dtype=np.int64).astype("datetime64[ns]")
    return pd.DatetimeIndex(arr).tz_localize("UTC").tz_convert(tz)


def wall_to_utc_ns(wall: np.ndarray, tz, repeated: str = "first", skipped: str = "shift") -> np.ndarray:
    """UTC instants (int64 ns) of local wall-clock values in ``tz``.

    ``repeated``: for a clock time that occurs twice (the hour the clocks go back), ``"first"``
    (summer time) or ``"second"`` (standard time). ``skipped``: for a clock time that does not
    exist (the hour skipped when summer time starts), ``"shift"`` moves it forward by the size of
    the gap (02:15 -> 03:15), ``"nat"`` returns the minimum int64 (NaT) there.
    """
    wall = np.asarray(wall, dtype=np.int64)
    naive = pd.DatetimeIndex(wall.astype("datetime64[ns]"))
    first = repeated == "first"
    local = naive.tz_localize(tz, ambiguous=np.full(wall.size, first), nonexistent="NaT")
    out = np.asarray(local.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64).copy()
    gap = local.isna()
    if gap.any() and skipped == "shift":
        # The offset in force a day earlier is the one before the gap: read the clock time with it,
        # which lands the same distance after the gap as the clock time was after its start.
        before = pd.DatetimeIndex((wall[gap] - NS_PER_DAY).astype("datetime64[ns]"))
        before_local = before.tz_localize(tz, ambiguous=np.full(int(gap.sum()), first), nonexistent="shift_forward")
        offset = wall[gap] - NS_PER_DAY - np.asarray(before_local.tz_convert("UTC").as_unit("ns").asi8)
        out[gap] = wall[gap] - offset
    return out


def infer_freq(ds) -> pd.Timedelta:
    """The interval length of a history: the smallest positive step between interval starts.

    Raises ``ValueError`` when it cannot be told (fewer than two intervals) or does not divide a
    day evenly (daily and weekly patterns need whole intervals per day).
    """
    values = np.unique(utc_ns(ds))
    if values.size < 2:
        raise ForecastInputError("the history has fewer than two intervals: its interval length cannot be told")
    step = int(np.diff(values).min())
    if step <= 0 or NS_PER_DAY % step:
        raise ForecastInputError(
            f"the history's interval length ({_describe(pd.Timedelta(step))}) does not divide a day; "
            "use 15-minute, 30-minute or hourly intervals"
        )
    return pd.Timedelta(step, unit="ns")


def intervals_per_day(freq: pd.Timedelta) -> int:
    """Intervals in a 24-hour day (24 for hourly data, 96 for 15-minute data)."""
    return int(NS_PER_DAY // pd.Timedelta(freq).value)


def week_key(ds=None, *, wall: np.ndarray | None = None) -> np.ndarray:
    """Position in the local week (int64 ns since Monday 00:00 wall-clock).

    Both passes of the repeated hour on a 25-hour day get the same key; the skipped hour of a
    23-hour day has no interval and so no key on that day.
    """
    w = wall_ns(ds) if wall is None else np.asarray(wall, dtype=np.int64)
    return np.mod(w + _MONDAY_SHIFT_NS, NS_PER_WEEK)


def day_key(ds=None, *, wall: np.ndarray | None = None) -> np.ndarray:
    """Position in the local day (int64 ns since local midnight, wall clock)."""
    w = wall_ns(ds) if wall is None else np.asarray(wall, dtype=np.int64)
    return np.mod(w, NS_PER_DAY)


# --------------------------------------------------------------------------------------------
# Future grids


def future_utc_ns(last_ds: pd.Timestamp, horizon, freq: pd.Timedelta) -> np.ndarray:
    """UTC starts (int64 ns) of the intervals after ``last_ds`` within ``horizon`` (see module doc)."""
    freq = pd.Timedelta(freq)
    td = parse_horizon(horizon, freq)
    last = pd.Timestamp(last_ds)
    if last.tz is None:
        raise ForecastInputError("the last interval start must carry a time zone")
    tz = last.tz
    last_utc = int(utc_ns(last)[0])
    end_wall = int(wall_ns(last)[0]) + td.value
    end_utc = wall_to_utc_ns(np.array([end_wall]), tz, repeated="second", skipped="nat")[0]
    step = freq.value
    if end_utc == np.iinfo(np.int64).min:
        # The end clock time was skipped (summer time starts): stop before the gap.
        end_utc = int(wall_to_utc_ns(np.array([end_wall]), tz, skipped="shift")[0]) - 1
    n = (end_utc - last_utc) // step
    return last_utc + step * np.arange(1, n + 1, dtype=np.int64)


def future_index(last_ds: pd.Timestamp, horizon, freq: pd.Timedelta) -> pd.DatetimeIndex:
    """Interval starts after ``last_ds`` for ``horizon`` (tz-aware in ``last_ds``'s zone).

    Example: the last hour 2025-10-19 23:00 (Amsterdam) and ``horizon='7d'`` give the 169 hours
    from 2025-10-20 00:00 to 2025-10-26 23:00 (25 on the 26th).
    """
    last = pd.Timestamp(last_ds)
    return from_utc_ns(future_utc_ns(last, horizon, freq), last.tz)


def future_grid(history: pd.DataFrame, horizon, freq: pd.Timedelta | None = None) -> pd.DataFrame:
    """The future grid of a long history: ``channel``, ``ds`` for every channel.

    Each channel's grid starts after its own last interval. ``freq`` defaults to the history's
    interval length (:func:`infer_freq`).
    """
    if freq is None:
        freq = infer_freq(history["ds"])
    tz = pd.DatetimeIndex(history["ds"]).tz
    parts = []
    for channel, part in history.groupby("channel", sort=True):
        last = part["ds"].max()
        ns = future_utc_ns(last, horizon, freq)
        parts.append(pd.DataFrame({"channel": channel, "ds": from_utc_ns(ns, tz)}))
    if not parts:
        return pd.DataFrame({"channel": pd.Series([], dtype=str), "ds": pd.DatetimeIndex([], tz=tz)})
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Same wall-clock time earlier


def shift_wall_clock(ds, days: int) -> pd.DatetimeIndex:
    """The instants at the same local wall-clock time ``days`` local days later (negative: earlier).

    Repeated clock times resolve to the first pass, skipped ones to the interval after the gap
    (module doc). Returned tz-aware in the zone of ``ds``.
    """
    index = pd.DatetimeIndex(ds)
    out = wall_to_utc_ns(wall_ns(index) + int(days) * NS_PER_DAY, index.tz)
    return from_utc_ns(out, index.tz)


def weeks_earlier(ds, weeks: int = 1) -> pd.DatetimeIndex:
    """The same local wall-clock time ``weeks`` weeks earlier (see :func:`shift_wall_clock`)."""
    return shift_wall_clock(ds, -7 * int(weeks))


def days_earlier(ds, days: int = 1) -> pd.DatetimeIndex:
    """The same local wall-clock time ``days`` days earlier (see :func:`shift_wall_clock`)."""
    return shift_wall_clock(ds, -int(days))
