"""Opening hours of a webcare team and the share of each planning interval that is open.

The team's opening hours are a weekly pattern of windows per weekday (Mon-Fri 08:00-22:00,
Sat 10:00-18:00, Sun closed), optionally with windows that close after midnight (20:00-01:00,
which belongs to the weekday it opens on) and with per-date overrides (a holiday closed, shorter
hours on Christmas Eve). With no pattern at all the team is open around the clock.

Everything is counted on **local wall-clock time** in the zone of the interval index, so the
days of 23 and 25 hours come out right: a window 00:00-24:00 on the day summer time starts is
open 23 real hours, on the day it ends 25. The conversion is done once per window (its opening
and closing instants), and the open time of each interval is the overlap of two sets of UTC
instants, computed on int64 nanoseconds; no local time is ever floored.

Conventions:

- A window ``HH:MM-HH:MM`` whose end is at or before its start closes after midnight: it runs
  into the next calendar day (at most 24 hours in total). ``24:00`` is the end of the day.
- A date override replaces the windows that *open* on that date; a window of the previous day
  that runs past midnight still applies. ``closed`` as an override closes the date.
- Weekdays not mentioned in a weekly pattern are closed.
- Wall-clock times that do not exist (in the hour skipped when summer time starts) are moved
  forward to the end of the gap; wall-clock times that occur twice (in the repeated hour when
  summer time ends) are read as their first occurrence, so a window that spans the repeated hour
  holds all of it.
- Overlapping windows (on one day, or a window after midnight running into the next day's first
  window) are refused with a ``ValueError``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "DAY_ALIASES",
    "DAY_NAMES",
    "OpeningHours",
    "Window",
    "open_fraction",
    "parse_opening_hours",
]

#: Weekday names in the order of ``Timestamp.day_of_week`` (Monday = 0).
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_MINUTES_PER_DAY = 24 * 60
_NS_PER_MINUTE = 60 * 10**9

# English abbreviations and names, plus the Dutch ones (the product's first users are Dutch).
_DAY_ALIASES = {
    name: i
    for names in (
        DAY_NAMES,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        ("ma", "di", "wo", "do", "vr", "za", "zo"),
        ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    )
    for i, name in enumerate(names)
}
_DAY_ALIASES.update(tues=1, wednes=2, thur=3, thurs=3)
DAY_ALIASES = _DAY_ALIASES  # weekday names and abbreviations (English, Dutch) -> 0 = Monday; shared by the roster files
_ALL_DAYS_WORDS = ("daily", "everyday", "every day", "all", "dagelijks")
_CLOSED_WORDS = ("closed", "gesloten", "off")
_ALWAYS_WORDS = ("24h", "24/7", "open", "always")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_clock(text: str, *, is_end: bool) -> int:
    """Minutes after midnight for ``HH:MM`` (or ``HH``); ``24:00`` only as an end."""
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"cannot read {text!r} as a time of day: write HH:MM, e.g. 08:00")
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes != 0):
        raise ValueError(f"{text!r} is not a time of day (00:00 to 24:00)")
    if hours == 24 and not is_end:
        raise ValueError(f"a window cannot open at {text!r}: 24:00 is only a closing time")
    return hours * 60 + minutes


@dataclass(frozen=True, order=True)
class Window:
    """One opening window, in minutes after the local midnight of the day it opens on.

    Parameters
    ----------
    start_minute : int
        Opening time, 0 <= start_minute < 1440 (08:00 is 480).
    end_minute : int
        Closing time in minutes after the *same* midnight, start_minute < end_minute <=
        start_minute + 1440; above 1440 means the window closes after midnight (20:00-01:00 is
        ``Window(1200, 1500)``).
    """

    start_minute: int
    end_minute: int

    def __post_init__(self):
        if not isinstance(self.start_minute, (int, np.integer)) or not isinstance(
                self.end_minute, (int, np.integer)):
            raise ValueError("window minutes must be whole numbers")
        if not 0 <= self.start_minute < _MINUTES_PER_DAY:
            raise ValueError(f"window start {self.start_minute} is not within the day (0-1439 minutes)")
        if not self.start_minute < self.end_minute <= self.start_minute + _MINUTES_PER_DAY:
            raise ValueError(
                f"window {self.start_minute}-{self.end_minute}: the end must be after the start and "
                "at most 24 hours later"
            )

    @classmethod
    def from_text(cls, text: str) -> "Window":
        """Read ``HH:MM-HH:MM``; an end at or before the start closes after midnight."""
        parts = text.strip().split("-")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(f"cannot read {text!r} as a window: write HH:MM-HH:MM, e.g. 08:00-22:00")
        start = _parse_clock(parts[0], is_end=False)
        end = _parse_clock(parts[1], is_end=True)
        if end == start:
            raise ValueError(
                f"window {text!r} opens and closes at the same time: write 00:00-24:00 for a whole day"
            )
        if end < start:
            end += _MINUTES_PER_DAY
        return cls(start, end)

    @property
    def minutes(self) -> int:
        """Length of the window on the wall clock [min] (real time differs on DST days)."""
        return self.end_minute - self.start_minute

    def __str__(self) -> str:
        end = self.end_minute
        wrapped = end % _MINUTES_PER_DAY
        end_text = "24:00" if end == _MINUTES_PER_DAY else f"{wrapped // 60:02d}:{wrapped % 60:02d}"
        return f"{self.start_minute // 60:02d}:{self.start_minute % 60:02d}-{end_text}"


_WHOLE_DAY = (Window(0, _MINUTES_PER_DAY),)


def _check_day(windows, label: str) -> tuple[Window, ...]:
    """Sort one day's windows and refuse overlaps."""
    windows = tuple(sorted(windows))
    for earlier, later in zip(windows, windows[1:]):
        if later.start_minute < earlier.end_minute:
            raise ValueError(f"opening hours overlap on {label}: {earlier} and {later}")
    return windows


@dataclass(frozen=True)
class OpeningHours:
    """Opening hours: a weekly pattern of windows plus per-date overrides.

    Parameters
    ----------
    weekly : sequence of 7 sequences of Window, or None
        Windows per weekday, Monday first. An empty sequence is a closed day. ``None`` (the
        default) means open around the clock on every day without an override.
    overrides : mapping of datetime.date to sequence of Window
        Windows for particular dates (holidays, special hours); an empty sequence closes the
        date. Replaces the weekly windows that open on that date.

    Use :func:`parse_opening_hours` (or :meth:`from_text`) to build one from text such as
    ``"mon-fri 08:00-22:00; sat 10:00-18:00; sun closed; 2025-12-25 closed"``.
    """

    weekly: tuple[tuple[Window, ...], ...] | None = None
    overrides: Mapping[dt.date, tuple[Window, ...]] = field(default_factory=dict)

    def __post_init__(self):
        if self.weekly is not None:
            if len(self.weekly) != 7:
                raise ValueError(
                    f"weekly opening hours need 7 days (Monday first), got {len(self.weekly)}")
            weekly = tuple(_check_day(day, DAY_NAMES[i]) for i, day in enumerate(self.weekly))
            for i, day in enumerate(weekly):
                following = weekly[(i + 1) % 7]
                spill = day[-1].end_minute - _MINUTES_PER_DAY if day else 0
                if following and spill > following[0].start_minute:
                    raise ValueError(
                        f"opening hours overlap: {DAY_NAMES[i]} {day[-1]} runs past midnight into "
                        f"{DAY_NAMES[(i + 1) % 7]} {following[0]}"
                    )
            object.__setattr__(self, "weekly", weekly)
        overrides = {}
        for date, windows in dict(self.overrides).items():
            date = pd.Timestamp(date).date()
            overrides[date] = _check_day(windows, date.isoformat())
        object.__setattr__(self, "overrides", dict(sorted(overrides.items())))

    @classmethod
    def always(cls) -> "OpeningHours":
        """Open around the clock (24/7)."""
        return cls()

    @classmethod
    def from_text(cls, text: str) -> "OpeningHours":
        """Same as :func:`parse_opening_hours`."""
        return parse_opening_hours(text)

    @property
    def always_open(self) -> bool:
        """True when open around the clock on every date."""
        return self.weekly is None and all(w == _WHOLE_DAY for w in self.overrides.values())

    def windows_on(self, date) -> tuple[Window, ...]:
        """The windows that open on a local calendar date (override first, then weekly)."""
        date = pd.Timestamp(date).date()
        if date in self.overrides:
            return self.overrides[date]
        if self.weekly is None:
            return _WHOLE_DAY
        return self.weekly[date.weekday()]

    def __str__(self) -> str:
        parts = []
        if self.weekly is None:
            parts.append("24/7")
        else:
            for i, day in enumerate(self.weekly):
                parts.append(f"{DAY_NAMES[i]} " + (", ".join(map(str, day)) if day else "closed"))
        for date, windows in self.overrides.items():
            hours = ", ".join(map(str, windows)) if windows else "closed"
            parts.append(f"{date.isoformat()} {hours}")
        return "; ".join(parts)


def _parse_days(text: str, clause: str) -> list:
    """Weekday numbers and dates named by ``mon-fri``, ``sat,sun``, ``daily``, ``2025-12-25``."""
    text = text.strip()
    if text in _ALL_DAYS_WORDS:
        return list(range(7))
    selected = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise ValueError(f"empty day name in {clause!r}")
        if _DATE.match(item):
            try:
                selected.append(dt.date.fromisoformat(item))
            except ValueError:
                raise ValueError(f"{item!r} in {clause!r} is not a valid date (YYYY-MM-DD)") from None
            continue
        bounds = [b.strip() for b in item.split("-")]
        if len(bounds) > 2 or any(b not in _DAY_ALIASES for b in bounds):
            unknown = next((b for b in bounds if b not in _DAY_ALIASES), item)
            raise ValueError(
                f"unknown day {unknown!r} in {clause!r}: use mon, tue, wed, thu, fri, sat, sun, a "
                "range such as mon-fri, 'daily', or a date such as 2025-12-25"
            )
        first = _DAY_ALIASES[bounds[0]]
        last = _DAY_ALIASES[bounds[-1]]
        selected.extend((first + k) % 7 for k in range((last - first) % 7 + 1))
    return selected


def _parse_windows(text: str, clause: str) -> tuple[Window, ...]:
    text = text.strip()
    if text in _CLOSED_WORDS:
        return ()
    if text in _ALWAYS_WORDS:
        return _WHOLE_DAY
    tokens = [t for t in re.split(r"[,\s]+", re.sub(r"\s*-\s*", "-", text)) if t]
    try:
        return tuple(Window.from_text(token) for token in tokens)
    except ValueError as error:
        raise ValueError(f"in {clause!r}: {error}") from None


def parse_opening_hours(text: str) -> OpeningHours:
    """
    Read opening hours from text.

    Clauses are separated by ``;`` (or new lines). Each clause names days, then their hours:

    - days: ``mon`` .. ``sun`` (or full English or Dutch names), ranges such as ``mon-fri`` or
      ``fri-mon`` (wrapping), lists such as ``sat,sun``, ``daily``, or a date ``2025-12-25``
      (an override for that date);
    - hours: one or more windows ``HH:MM-HH:MM`` (separated by ``,`` or spaces; an end at or
      before the start closes after midnight), ``closed``, or ``24h``.

    ``"24/7"`` (or an empty pattern with only date clauses) is open around the clock except the
    overrides. Weekdays that no clause names are closed.

    Examples: ``"mon-fri 08:00-22:00; sat 10:00-18:00; sun closed"``,
    ``"mon-thu 08:00-20:00; fri 08:00-01:00; sat,sun 10:00-16:00; 2025-12-25 closed"``.

    Parameters
    ----------
    text : str
        The opening hours.

    Returns
    -------
    OpeningHours

    Raises
    ------
    ValueError
        For text that does not parse, a day or date given twice, windows that overlap, or
        empty text, with a message naming the clause.

    References
    ----------
    .. [1] The project's DOMAIN.md (opening hours, evenings and weekends closed) and THEORY.md,
       section 6.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            "no opening hours given: write e.g. 'mon-fri 08:00-22:00; sat 10:00-18:00' or '24/7'")
    clauses = [c.strip() for c in re.split(r"[;\n]", text.strip().lower()) if c.strip()]
    weekly: list[tuple[Window, ...] | None] = [None] * 7
    overrides: dict[dt.date, tuple[Window, ...]] = {}
    any_weekly = False
    always = False
    for clause in clauses:
        if clause in ("24/7", "always", "always open"):
            always = True
            continue
        match = re.match(r"^(.*?)\s+((?:closed|gesloten|off|24h|open|always)|\d.*)$", clause)
        if not match:
            raise ValueError(
                f"cannot read {clause!r}: expected days then hours, e.g. 'mon-fri 08:00-22:00' or "
                "'sun closed'"
            )
        days_text, hours_text = match.groups()
        days = _parse_days(days_text, clause)
        windows = _parse_windows(hours_text, clause)
        for day in days:
            if isinstance(day, dt.date):
                if day in overrides:
                    raise ValueError(
                        f"{day.isoformat()} is given twice; put all its windows in one clause")
                overrides[day] = windows
            else:
                if weekly[day] is not None:
                    raise ValueError(
                        f"{DAY_NAMES[day]} is given twice; put several windows in one clause, "
                        f"e.g. '{DAY_NAMES[day]} 08:00-12:00, 13:00-17:00'"
                    )
                weekly[day] = windows
                any_weekly = True
    if always and any_weekly:
        raise ValueError("'24/7' cannot be combined with weekday hours; use dates for exceptions")
    if not any_weekly:
        return OpeningHours(None, overrides)
    return OpeningHours(tuple(day if day is not None else () for day in weekly), overrides)


def _as_opening_hours(hours) -> OpeningHours:
    if hours is None:
        return OpeningHours.always()
    if isinstance(hours, OpeningHours):
        return hours
    if isinstance(hours, str):
        return parse_opening_hours(hours)
    raise ValueError(f"opening hours must be OpeningHours, text or None, got {type(hours).__name__}")


def _bucket_bounds_ns(index: pd.DatetimeIndex, freq) -> tuple[np.ndarray, np.ndarray]:
    """UTC epoch nanoseconds of the start and end of every interval of a tz-aware index."""
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError("the intervals must be a pandas DatetimeIndex")
    if index.tz is None:
        raise ValueError("the interval index must be time-zone aware (e.g. Europe/Amsterdam)")
    starts = index.as_unit("ns").asi8  # UTC epoch ns for a tz-aware index
    if starts.size > 1 and (np.diff(starts) <= 0).any():
        raise ValueError("the interval index must be strictly increasing")
    if freq is None:
        freq = index.freq
    if freq is None:
        if starts.size < 2:
            raise ValueError("cannot tell the interval length of a single interval: pass freq")
        step = int(np.median(np.diff(starts)))
    else:
        step = int(pd.Timedelta(pd.tseries.frequencies.to_offset(freq)).value)
    if step <= 0:
        raise ValueError("the interval length must be positive")
    return starts, starts + step


def _window_instants(hours: OpeningHours, tz, first_date, last_date):
    """UTC ns of the opening and closing instants of every window opening in the date range."""
    dates = pd.date_range(first_date, last_date, freq="D")
    day_ns, open_minutes, close_minutes, labels = [], [], [], []
    for date in dates:
        for window in hours.windows_on(date):
            day_ns.append(date.value)
            open_minutes.append(window.start_minute)
            close_minutes.append(window.end_minute)
            labels.append(f"{date.date().isoformat()} {window}")
    if not day_ns:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, []
    day_ns = np.asarray(day_ns, dtype=np.int64)

    def to_utc(minutes):
        wall = pd.DatetimeIndex(day_ns + np.asarray(minutes, dtype=np.int64) * _NS_PER_MINUTE)
        local = wall.tz_localize(tz, ambiguous=np.ones(len(wall), dtype=bool),
                                 nonexistent="shift_forward")
        return local.as_unit("ns").asi8

    return to_utc(open_minutes), to_utc(close_minutes), labels


def open_fraction(index: pd.DatetimeIndex, hours=None, *, freq=None) -> pd.Series:
    """
    Share of each interval during which the team is open, on local wall-clock time.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Interval starts, time-zone aware in the team's zone (e.g. 15-minute buckets made with
        ``pd.date_range(..., freq="15min", tz="Europe/Amsterdam")``; the days of 23 and 25
        hours hold 92 and 100 of them).
    hours : OpeningHours, str or None
        The opening hours (text is read by :func:`parse_opening_hours`); ``None`` is open
        around the clock.
    freq : str or pandas offset, optional
        Interval length; defaults to ``index.freq`` or the typical spacing of the index.

    Returns
    -------
    open_fraction : pandas.Series
        Open share of every interval, 0 to 1, indexed like ``index``. A window opening at 08:10
        gives the 08:00-08:15 bucket 1/3.

    Raises
    ------
    ValueError
        For a naive or unsorted index, or windows that overlap on the dates covered (a date
        override that collides with the previous evening's window past midnight).

    References
    ----------
    .. [1] The project's DOMAIN.md: days counted from 00:00 to 23:59 local time, days of 23 and
       25 hours in Europe/Amsterdam.
    """
    hours = _as_opening_hours(hours)
    starts, ends = _bucket_bounds_ns(index, freq)
    if starts.size == 0:
        return pd.Series(np.zeros(0), index=index, name="open_fraction")
    if hours.always_open:
        return pd.Series(np.ones(starts.size), index=index, name="open_fraction")
    tz = index.tz
    # Local calendar dates covered (wall clock); one day earlier for windows past midnight.
    local = pd.DatetimeIndex(np.array([starts[0], ends[-1] - 1])).tz_localize("UTC").tz_convert(tz)
    dates = local.tz_localize(None).normalize()
    opens, closes, labels = _window_instants(hours, tz, dates[0] - pd.Timedelta(days=1), dates[1])
    if opens.size == 0:
        return pd.Series(np.zeros(starts.size), index=index, name="open_fraction")
    order = np.argsort(opens, kind="stable")
    opens, closes = opens[order], closes[order]
    labels = [labels[i] for i in order]
    clash = np.flatnonzero(opens[1:] < closes[:-1])
    if clash.size:
        i = int(clash[0])
        raise ValueError(f"opening hours overlap: {labels[i]} runs into {labels[i + 1]}")
    lengths = np.maximum(closes - opens, 0)
    cumulative = np.concatenate([[0], np.cumsum(lengths)])

    def open_before(t):
        """Total open nanoseconds before instant t (windows are sorted and disjoint)."""
        k = np.searchsorted(opens, t, side="right") - 1
        inside = np.clip(t - opens[np.maximum(k, 0)], 0, lengths[np.maximum(k, 0)])
        return np.where(k >= 0, cumulative[np.maximum(k, 0)] + inside, 0)

    fraction = (open_before(ends) - open_before(starts)) / (ends - starts)
    return pd.Series(np.clip(fraction, 0.0, 1.0), index=index, name="open_fraction")
