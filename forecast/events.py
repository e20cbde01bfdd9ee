"""Known events: campaigns, outages, strikes, holidays that move the volume.

An events file lists one event per row (``docs/events.md``)::

    name,start,end,uplift,channel,kind
    Black Friday,2025-11-28,2025-11-28,150%,instagram,campaign
    App outage,2026-02-12 16:00,2026-02-12 23:00,,,outage

* ``start``/``end``: a date alone means whole local days, and the end date is **inclusive**
  (``2025-11-28`` to ``2025-11-28`` is that one day; an empty end, or no end column, after a
  start date is that one day); a date and time is a moment, and the end is **exclusive**.
  Naive times are local clock time in the team's zone (on the day the clocks go back a repeated
  clock time is read as the first pass, summer time; a clock time skipped when summer time
  starts is moved to the end of the gap); times with an offset are converted.
* ``uplift``: a **percentage** (``25``, ``25%``, ``+10``, ``-50 %``, ``12,5``); empty = unknown,
  to be measured on past events of the same name or kind. At least -100 (-100 = no messages).
* ``channel``: one channel, several separated by commas (one event per channel), or empty /
  ``all`` for every channel. A channel the forecast does not have is noted, not refused.
* ``kind``: ``campaign``, ``outage``, ``strike``, ``holiday`` or ``other`` (default).

Dutch column names and kinds are read too (``naam``, ``begin``, ``eind``/``einde``, ``effect``,
``kanaal``, ``soort``; ``campagne``, ``storing``, ``staking``, ``feestdag``, ``overig``).

Past events serve two purposes: their windows are left out of baselines
(:func:`past_event_mask`), and their measured uplift (:func:`estimate_uplift`: observed volume
against the median of the same local hour of the week in the surrounding weeks outside every
event window) stands in for future events of the same name or kind whose uplift is not given
(:func:`apply_events`).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from forecast.ingest import (
    DEFAULT_TZ,
    _ZONED,
    IngestError,
    Problem,
    _as_text,
    _drop_blank_rows,
    _parse_naive,
    _parse_zoned_fallback,
    _Table,
    atomic_output,
    format_iso,
    normalise_name,
    read_table,
)
from forecast.spikes import score_intervals
from forecast.timegrid import ForecastInputError, infer_freq, utc_ns

KINDS = ("campaign", "outage", "strike", "holiday", "other")
EVENT_COLUMNS = ["name", "start", "end", "uplift", "channel", "kind"]
UPLIFT_COLUMNS = ["name", "kind", "channel", "start", "end", "intervals", "coverage", "observed", "expected", "uplift"]

_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "name": ("name", "naam", "event", "evenement", "gebeurtenis", "title", "titel", "description", "omschrijving"),
    "start": ("start", "begin", "van", "vanaf", "from", "start_date", "startdatum", "begindatum", "start_time",
              "starttijd", "begintijd", "start_datum", "date", "datum", "day", "dag"),
    "end": ("end", "eind", "einde", "tot", "to", "until", "tot_en_met", "t_m", "end_date", "einddatum", "end_time",
            "eindtijd", "stop", "eind_datum"),
    "uplift": ("uplift", "uplift_pct", "uplift_percent", "uplift_percentage", "effect", "effect_pct", "impact",
               "toename", "verwachte_toename", "expected_uplift", "extra", "percentage", "pct"),
    "channel": ("channel", "channels", "kanaal", "kanalen", "platform", "platforms"),
    "kind": ("kind", "soort", "type", "category", "categorie", "sort", "aard"),
}
_KIND_NAMES = {
    "campaign": "campaign", "campagne": "campaign", "actie": "campaign", "promotion": "campaign", "promotie": "campaign",
    "outage": "outage", "storing": "outage", "uitval": "outage", "incident": "outage", "disruption": "outage",
    "strike": "strike", "staking": "strike",
    "holiday": "holiday", "feestdag": "holiday", "vakantie": "holiday", "holidays": "holiday",
    "other": "other", "overig": "other", "overige": "other", "anders": "other", "": "other",
}
_ALL_CHANNELS = {"", "all", "alle", "*", "all channels", "alle kanalen", "every", "iedereen"}
_DATE_ONLY = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")
_UPLIFT = re.compile(r"^([+-]?)(\d+(?:[.,]\d*)?|[.,]\d+)(%?)$")


@dataclass(frozen=True)
class Event:
    """A known event. ``end`` is exclusive; ``uplift`` is a fraction (0.25 = +25 %, -0.5 = half,
    None = unknown); ``channel`` None means every channel."""

    name: str
    start: pd.Timestamp
    end: pd.Timestamp
    uplift: float | None = None
    channel: str | None = None
    kind: str = "other"

    def __post_init__(self):
        for field_name in ("start", "end"):
            value = getattr(self, field_name)
            if not isinstance(value, pd.Timestamp):
                object.__setattr__(self, field_name, pd.Timestamp(value))
            if getattr(self, field_name).tz is None:
                raise ForecastInputError(f"event '{self.name}': {field_name} must carry a time zone")
        if self.end <= self.start:
            raise ForecastInputError(f"event '{self.name}': the end ({self.end}) is not after the start ({self.start})")
        if self.kind not in KINDS:
            raise ForecastInputError(f"event '{self.name}': kind '{self.kind}' is not one of {', '.join(KINDS)}")
        if self.uplift is not None and not (np.isfinite(self.uplift) and self.uplift >= -1):
            raise ForecastInputError(f"event '{self.name}': uplift {self.uplift!r} must be a fraction of at least -1")

    def applies_to(self, channel: str) -> bool:
        return self.channel is None or self.channel == str(channel).lower()


# --------------------------------------------------------------------------------------------
# Reading


def read_events(path: str | Path, tz: str = DEFAULT_TZ) -> list[Event]:
    """Read an events file (CSV or XLSX; see the module docstring for the columns).

    Raises :class:`forecast.ingest.IngestError` (a ``ValueError``) listing every problem with the
    file, the column and the spreadsheet row (header = row 1).
    """
    path = Path(path)
    table = read_table(path, path.name)
    return _events_from_table(table, tz)


def events_from_frame(frame: pd.DataFrame, tz: str = DEFAULT_TZ, label: str = "events table") -> list[Event]:
    """Events from a table with the columns of an events file (e.g. the app's edited table).

    ``start``/``end`` may be text as in a file, or datetimes (tz-aware ones are converted; naive
    ones are local; a naive midnight is a date, as a date cell in a workbook). Row numbers in
    errors count the first row as row 2, as a spreadsheet under its header.
    """
    return _events_from_table(_Table.starting_at(frame.copy(), 2, label), tz)


def _find_columns(columns: Sequence[str], label: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for role, names in _COLUMN_NAMES.items():
        for col in columns:
            if normalise_name(col) in names and role not in found and col not in found.values():
                found[role] = col
    missing = [r for r in ("name", "start") if r not in found]
    if missing:
        raise IngestError([Problem(label, f"an events file needs the columns name, start and end (end may be left out "
                                          f"for whole days; missing: "
                                          f"{', '.join(missing)}); columns are: {', '.join(map(str, columns))}")])
    return found


def _is_date_cell(value: object) -> bool:
    """A workbook date cell (a date, or a naive datetime at exactly midnight)."""
    if isinstance(value, (_dt.datetime, pd.Timestamp)):
        ts = pd.Timestamp(value)
        return ts.tz is None and ts == ts.normalize()
    return isinstance(value, _dt.date)


def _parse_times(table: _Table, column: str, tz: str, problems: list[Problem]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC instants (int64 ns; NaT-min where empty or bad), date-only flags, empty flags."""
    raw = table.frame[column]
    text = _as_text(raw).reset_index(drop=True)
    cells = raw.reset_index(drop=True)
    n = len(text)
    out = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    empty = (text == "").to_numpy()
    date_cells = np.array([_is_date_cell(v) for v in cells], dtype=bool) if cells.dtype == object or \
        pd.api.types.is_datetime64_any_dtype(cells.dtype) else np.zeros(n, dtype=bool)
    text = text.where(~date_cells, text.str.slice(0, 10))
    date_only = (text.str.fullmatch(_DATE_ONLY) | date_cells).to_numpy() & ~empty
    zoned = text.str.contains(_ZONED, regex=True).to_numpy() & ~empty
    naive = ~zoned & ~empty
    bad = np.zeros(n, dtype=bool)
    if zoned.any():
        part = text[zoned]
        utc = pd.to_datetime(part, format="ISO8601", utc=True, errors="coerce")
        if utc.isna().any():
            utc = _parse_zoned_fallback(part, utc, True)
        ok = utc.notna().to_numpy()
        out[np.flatnonzero(zoned)[ok]] = np.asarray(pd.DatetimeIndex(utc[ok]).as_unit("ns").asi8)
        bad[np.flatnonzero(zoned)[~ok]] = True
    for mask in (naive & date_only, naive & ~date_only):
        if not mask.any():
            continue
        local = _parse_naive(text[mask], dayfirst=True)
        ok = local.notna().to_numpy()
        idx = np.flatnonzero(mask)
        bad[idx[~ok]] = True
        if ok.any():
            aware = pd.DatetimeIndex(local[ok]).as_unit("ns").tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
            out[idx[ok]] = np.asarray(aware.tz_convert("UTC").asi8)
    if bad.any():
        examples = ", ".join(repr(v) for v in text[bad].head(3))
        rows = table.sheet_rows(np.flatnonzero(bad))
        problems.append(Problem(table.label, f"cannot read these dates/times (e.g. {examples}); expected e.g. 2025-11-28 "
                                             "or 2025-11-28 08:00", column, tuple(int(r) for r in rows[:5]), int(bad.sum())))
    return out, date_only, empty


def _next_local_midnight(utc: np.ndarray, tz: str) -> np.ndarray:
    """UTC instant of the local midnight after the local date of each instant (for inclusive end dates)."""
    local = pd.DatetimeIndex(utc.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    nxt = (local.normalize() + pd.Timedelta(days=1)).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return np.asarray(nxt.tz_convert("UTC").as_unit("ns").asi8)


def parse_uplift(text: str) -> float | None:
    """An uplift percentage as a fraction: ``'25'``, ``'25%'``, ``'+10'``, ``'-50 %'``, ``'12,5'``;
    ``''`` is None. Raises ``ValueError`` for anything else, for values below -100 %, and for
    values between -1 and 1 written without ``%`` (a fraction typed by mistake: 0.25 for 25 %)."""
    compact = re.sub(r"\s+", "", str(text))
    if compact == "" or compact.lower() in ("nan", "none"):
        return None
    match = _UPLIFT.fullmatch(compact)
    if not match:
        raise ValueError(f"cannot read the uplift {text!r}: write a percentage such as 25, 25%, +10 or -50%")
    sign, number, percent = match.groups()
    value = float(number.replace(",", ".")) * (-1 if sign == "-" else 1)
    if value < -100:
        raise ValueError(f"the uplift {text!r} is below -100% (fewer than no messages)")
    if value != 0 and abs(value) < 1 and not percent:
        raise ValueError(f"the uplift {text!r} looks like a fraction; uplifts are percentages "
                         f"(write {value * 100:g} for {value * 100:+g}%, or '{text}%' if you mean {value:g}%)")
    return value / 100


def _check_tz(tz: str) -> None:
    try:
        pd.Timestamp("2026-01-01").tz_localize(tz)
    except Exception:  # zoneinfo raises a KeyError subclass, pytz its own
        raise ForecastInputError(f"unknown time zone {tz!r}; e.g. Europe/Amsterdam") from None


def _events_from_table(table: _Table, tz: str) -> list[Event]:
    _check_tz(tz)
    label = table.label
    _drop_blank_rows(table)
    frame = table.frame
    cols = _find_columns(list(frame.columns), label)
    if frame.empty:
        raise IngestError([Problem(label, "the events file has no rows")])
    problems: list[Problem] = []

    def problem(column: str, mask: np.ndarray, message: str) -> None:
        idx = np.flatnonzero(mask)
        rows = table.sheet_rows(idx[:5])
        problems.append(Problem(label, message, column, tuple(int(r) for r in rows), int(idx.size)))

    names = _as_text(frame[cols["name"]]).reset_index(drop=True)
    no_name = (names == "").to_numpy()
    if no_name.any():
        problem(cols["name"], no_name, "the event has no name")
    start, start_date, start_empty = _parse_times(table, cols["start"], tz, problems)
    if "end" in cols:
        end, end_date, end_empty = _parse_times(table, cols["end"], tz, problems)
    else:  # a list of days (holidays): every end is the start's own day
        end = np.full(len(frame), np.iinfo(np.int64).min, dtype=np.int64)
        end_date, end_empty = np.zeros(len(frame), dtype=bool), np.ones(len(frame), dtype=bool)
    if start_empty.any():
        problem(cols["start"], start_empty, "the start is empty")
    # a date alone runs to the end of that local day; an empty end with a start date is that one day
    end_from_start = end_empty & start_date & ~start_empty
    end = np.where(end_from_start, start, end)
    end_date = end_date | end_from_start
    missing_end = end_empty & ~end_from_start & ~start_empty
    if missing_end.any():
        problem(cols.get("end", "end"), missing_end, "the end is empty (it may be left empty, or the column left out, "
                                                       "only when the start is a date)")
    nat = np.iinfo(np.int64).min
    end_ok = end != nat
    end_excl = end.copy()
    if (end_date & end_ok).any():
        end_excl[end_date & end_ok] = _next_local_midnight(end[end_date & end_ok], tz)
    ordered = (start != nat) & end_ok
    backwards = ordered & (end_excl <= start)
    if backwards.any():
        problem(cols.get("end", "end"), backwards, "the end is before the start (or equal to it)")

    uplifts: list[float | None] = [None] * len(frame)
    if "uplift" in cols:
        texts = _as_text(frame[cols["uplift"]]).reset_index(drop=True)
        bad_uplift = np.zeros(len(frame), dtype=bool)
        messages = []
        for i, value in enumerate(texts):
            try:
                uplifts[i] = parse_uplift(value)
            except ValueError as exc:
                bad_uplift[i] = True
                messages.append(str(exc))
        if bad_uplift.any():
            problem(cols["uplift"], bad_uplift, messages[0] + (f" ({len(messages) - 1} more)" if len(messages) > 1 else ""))

    kinds = ["other"] * len(frame)
    if "kind" in cols:
        texts = _as_text(frame[cols["kind"]]).str.strip().str.lower().reset_index(drop=True)
        unknown = ~texts.isin(list(_KIND_NAMES)).to_numpy()
        if unknown.any():
            shown = ", ".join(sorted({repr(v) for v in texts[unknown]})[:3])
            problem(cols["kind"], unknown, f"unknown kind {shown}; use one of {', '.join(KINDS)}")
        kinds = [_KIND_NAMES.get(v, "other") for v in texts]

    channels: list[list[str | None]] = [[None]] * len(frame)
    if "channel" in cols:
        texts = _as_text(frame[cols["channel"]]).reset_index(drop=True)
        channels = []
        for value in texts:
            parts = [p.strip().lower() for p in re.split(r"[,;/|]", value) if p.strip()]
            if not parts or any(p in _ALL_CHANNELS for p in parts):
                channels.append([None])
            else:
                channels.append(list(dict.fromkeys(parts)))

    if problems:
        raise IngestError(problems)
    events = []
    for i in range(len(frame)):
        s = pd.Timestamp(int(start[i]), unit="ns", tz="UTC").tz_convert(tz)
        e = pd.Timestamp(int(end_excl[i]), unit="ns", tz="UTC").tz_convert(tz)
        for channel in channels[i]:
            events.append(Event(str(names[i]), s, e, uplifts[i], channel, kinds[i]))
    return events


# --------------------------------------------------------------------------------------------
# Writing and display


def events_frame(events: Iterable[Event]) -> pd.DataFrame:
    """Events as a table for display or editing: ``name, start, end`` (tz-aware, end exclusive),
    ``uplift_pct`` (NaN = unknown), ``channel`` (``all`` for every channel), ``kind``."""
    events = list(events)
    tz = events[0].start.tz if events else DEFAULT_TZ
    return pd.DataFrame({
        "name": pd.Series([e.name for e in events], dtype=str),
        "start": pd.DatetimeIndex([e.start for e in events], tz=tz) if events else pd.DatetimeIndex([], tz=tz),
        "end": pd.DatetimeIndex([e.end.tz_convert(tz) for e in events], tz=tz) if events else pd.DatetimeIndex([], tz=tz),
        "uplift_pct": pd.Series([np.nan if e.uplift is None else round(e.uplift * 100, 6) for e in events], dtype=float),
        "channel": pd.Series([e.channel or "all" for e in events], dtype=str),
        "kind": pd.Series([e.kind for e in events], dtype=str),
    })


def write_events(events: Iterable[Event], path: str | Path) -> None:
    """Save events as an events file that :func:`read_events` reads back to the same events.

    CSV (or XLSX for a ``.xlsx`` path): ``name,start,end,uplift,channel,kind`` with times in ISO
    8601 with the UTC offset (end exclusive), the uplift as a percentage with its ``%`` sign
    (``150%``, ``0.5%``), the channel empty for every channel. Written atomically (a temporary file, then one rename).
    """
    events = list(events)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ForecastInputError(f"events are saved as .csv or .xlsx (got '{path.name}')")
    frame = pd.DataFrame({
        "name": [e.name for e in events],
        "start": format_iso(pd.DatetimeIndex([e.start for e in events])) if events else [],
        "end": format_iso(pd.DatetimeIndex([e.end.tz_convert(e.start.tz) for e in events])) if events else [],
        "uplift": ["" if e.uplift is None else f"{e.uplift * 100:.10g}%" for e in events],
        "channel": [e.channel or "" for e in events],
        "kind": [e.kind for e in events],
    }, columns=EVENT_COLUMNS)
    with atomic_output(path) as tmp:
        if suffix == ".xlsx":
            frame.to_excel(tmp, index=False, engine="openpyxl")
        else:
            frame.to_csv(tmp, index=False, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Events against a history or forecast


def _freq_ns(ds, fallback: int = 3600 * 10**9) -> int:
    try:
        return int(infer_freq(ds).value)
    except ValueError:
        return fallback


def _overlap(starts: np.ndarray, freq: int, event: Event) -> np.ndarray:
    """Share (0-1) of each interval [start, start + freq) that lies inside the event window."""
    a, b = int(utc_ns(event.start)[0]), int(utc_ns(event.end)[0])
    covered = np.clip(np.minimum(starts + freq, b) - np.maximum(starts, a), 0, None)
    return covered / freq


def past_event_mask(history: pd.DataFrame, events: Iterable[Event]) -> pd.Series:
    """True for the history rows whose interval overlaps an event window of its channel (or of
    every channel). Aligned with ``history``'s index."""
    events = list(events)
    out = np.zeros(len(history), dtype=bool)
    if len(history) and events:
        starts = utc_ns(history["ds"])
        freq = _freq_ns(history["ds"])
        channels = history["channel"].astype(str).str.lower().to_numpy()
        for event in events:
            hit = _overlap(starts, freq, event) > 0
            if event.channel is not None:
                hit &= channels == event.channel
            out |= hit
    return pd.Series(out, index=history.index, name="event")


def estimate_uplift(history: pd.DataFrame, events: Iterable[Event], *, weeks: int = 4) -> pd.DataFrame:
    """The uplift each event brought, per channel, where the history covers it.

    Observed volume in the event window against the expected volume: the median of the same
    local hour of the week in the ``weeks`` weeks before and after, leaving out every interval
    inside any event window (:func:`past_event_mask`) and missing intervals. Intervals that the
    window covers in part count pro rata.

    Returns ``name, kind, channel, start, end, intervals`` (intervals with data and a baseline),
    ``coverage`` (their share of the window), ``observed, expected`` and ``uplift``
    (observed / expected - 1; NaN when nothing was expected). Events the history does not reach
    are left out.
    """
    events = list(events)
    rows = []
    if len(history) and events:
        scored = score_intervals(history, weeks=weeks, exclude=past_event_mask(history, events))
        freq = _freq_ns(history["ds"])
        starts = utc_ns(scored["ds"])
        channels = scored["channel"].astype(str).str.lower().to_numpy()
        y = scored["y"].to_numpy(dtype=float)
        mu = scored["expected"].to_numpy(dtype=float)
        usable = np.isfinite(y) & np.isfinite(mu)
        for event in events:
            share = _overlap(starts, freq, event)
            for channel in sorted(set(channels)):
                if not event.applies_to(channel):
                    continue
                in_window = (share > 0) & (channels == channel)
                if not in_window.any():
                    continue
                sel = in_window & usable
                window_intervals = (int(utc_ns(event.end)[0]) - int(utc_ns(event.start)[0])) / freq
                observed = float(np.sum(share[sel] * y[sel]))
                expected = float(np.sum(share[sel] * mu[sel]))
                rows.append({
                    "name": event.name, "kind": event.kind, "channel": channel, "start": event.start, "end": event.end,
                    "intervals": int(sel.sum()), "coverage": float(np.sum(share[sel]) / window_intervals),
                    "observed": observed, "expected": expected,
                    "uplift": observed / expected - 1 if expected > 0 else np.nan,
                })
    frame = pd.DataFrame(rows, columns=UPLIFT_COLUMNS)
    return frame.astype({"intervals": "int64", "coverage": float, "observed": float, "expected": float, "uplift": float})


def _measured_uplift(event: Event, channel: str, measured: pd.DataFrame) -> tuple[float, str] | None:
    """The uplift measured on past events with the same name, else (kinds other than 'other') the
    same kind: pooled as sum observed / sum expected - 1, preferring this channel's measurements."""
    if measured is None or len(measured) == 0:
        return None
    usable = measured[np.isfinite(measured["uplift"]) & (measured["expected"] > 0) & (measured["intervals"] > 0)]
    keys = [("name", usable["name"].str.casefold() == event.name.casefold(), f"named '{event.name}'")]
    if event.kind != "other":
        keys.append(("kind", usable["kind"] == event.kind, f"of kind '{event.kind}'"))
    for _, match, how in keys:
        found = usable[match.to_numpy()]
        if len(found) == 0:
            continue
        same_channel = found[found["channel"] == channel]
        pool = same_channel if len(same_channel) else found
        uplift = float(pool["observed"].sum() / pool["expected"].sum() - 1)
        where = f"on {channel}" if len(same_channel) else "on all channels"
        n = pool[["name", "start", "end"]].drop_duplicates().shape[0]
        return max(uplift, -1.0), f"{n} past event(s) {how} ({where})"
    return None


def apply_events(forecast: pd.DataFrame, events: Iterable[Event], *, history: pd.DataFrame | None = None,
                 measured: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Scale the forecast inside event windows by (1 + uplift).

    Every ``yhat*`` column (the point forecast and each interval bound) of the rows of the
    event's channel (every channel when it has none) is multiplied; an interval the window covers
    in part is scaled pro rata (half an hour of a +100 % event in an hourly interval: x1.5).
    Overlapping events multiply. An event without an uplift gets the uplift measured on past
    events of the same name, else of the same kind (``measured``, default
    ``estimate_uplift(history, events)`` when ``history`` is given); where there is none it is
    left out, with a note. Returns the scaled copy (same rows, same order) and the notes.
    """
    events = list(events)
    out = forecast.copy()
    notes: list[str] = []
    if not events or len(out) == 0:
        return out, notes
    if measured is None and history is not None:
        measured = estimate_uplift(history, events)
    value_cols = [c for c in out.columns if str(c).startswith("yhat")]
    starts = utc_ns(out["ds"])
    freq = _freq_ns(out["ds"], fallback=_freq_ns(history["ds"]) if history is not None and len(history) > 1 else 3600 * 10**9)
    channels = out["channel"].astype(str).str.lower().to_numpy()
    known = set(channels)
    factor = np.ones(len(out))
    first, last = int(starts.min()), int(starts.max()) + freq
    for event in events:
        a, b = int(utc_ns(event.start)[0]), int(utc_ns(event.end)[0])
        if b <= first or a >= last:
            continue  # outside the forecast: a past event, or beyond the horizon
        label = f"event '{event.name}' ({event.start:%Y-%m-%d %H:%M} to {event.end:%Y-%m-%d %H:%M})"
        if event.channel is not None and event.channel not in known:
            notes.append(f"{label} is for channel '{event.channel}', which the forecast does not have: not applied")
            continue
        share = _overlap(starts, freq, event)
        targets = [event.channel] if event.channel is not None else sorted(known)
        for channel in targets:
            rows = (channels == channel) & (share > 0)
            if not rows.any():
                continue
            uplift = event.uplift
            if uplift is None:
                found = _measured_uplift(event, channel, measured)
                if found is None:
                    notes.append(f"{label} on {channel}: no uplift given and none measured on past events of the same "
                                 f"name{' or kind' if event.kind != 'other' else ''}: forecast left unchanged")
                    continue
                uplift, source = found
                notes.append(f"{label} on {channel}: no uplift given; applied {uplift:+.0%} measured on {source}")
            factor[rows] *= 1 + uplift * share[rows]
    for col in value_cols:
        out[col] = out[col].to_numpy(dtype=float) * factor
    return out, notes
