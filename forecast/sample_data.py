"""A seeded, deterministic synthetic webcare inbox: the bundled sample data.

The generator draws a message-level export (one row per message, as social-media inbox tools
export it) for four channels from a known hourly intensity, so a forecast made on the sample can be
compared with the truth and with the noise floor. Everything is in local wall-clock time of the
team's zone (Europe/Amsterdam by default), including the daylight-saving days of 23 and 25 hours.

How an hourly intensity is built (messages per hour, per channel)::

    baseline = level(t) * share_c(t) * weekday(d) * season(d) * day_of_month(d) * holiday(d)
               * hour_profile_c(h | day type, summer) * wednesday_evening(d, h) * christmas(d, h)
    intensity = baseline * day_multiplier_c(d) * spike_c(t)
    messages in the hour ~ Poisson(intensity)

* ``level(t)``: all-channel messages per day, a concave (saturating) trend anchored to calendar
  time (:data:`TREND_ORIGIN`), so the same hour gets the same baseline whatever window is drawn.
* ``share_c(t)``: channel mix, drifting log-linearly (WhatsApp growing, X shrinking).
* ``weekday``, ``season`` (month), ``day_of_month`` (billing questions on the first days),
  ``holiday`` (Dutch public holidays from the ``holidays`` package look like a quiet Sunday).
* ``hour_profile``: shares of the day per local hour (sum 1 over 24 hours) with the 17:00-18:00
  rush hour; a flatter, later profile on weekends and holidays; the morning ramp one hour earlier in
  summer (June-August, with two-week transitions).
* ``day_multiplier``: a gamma draw per channel and local day (mean 1, cv 0.08), which makes daily
  counts over-dispersed relative to Poisson, as real contact arrivals are.
* ``spike``: the campaign / outage events of :data:`DEFAULT_EVENTS` multiply volume by
  ``1 + uplift_pct / 100`` in their channels for every hour starting inside ``[start, end)``.

Messages are grouped into cases (conversations) that stay in one channel; handle times are
lognormal per channel and label, slightly longer in the evening.

References: Ibrahim, Ye, L'Ecuyer & Shen (2016), "Modeling and forecasting call center arrivals: a
literature survey and a case study", Int. J. Forecasting 32(3) (doubly stochastic, over-dispersed
arrivals). Patterns: ``/work/shared/DOMAIN.md`` (webcare practice in the Netherlands).
"""

from __future__ import annotations

import gzip
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import holidays
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_START = "2024-11-01"
DEFAULT_END = "2026-11-01"
DEFAULT_TZ = "Europe/Amsterdam"
DEFAULT_SEED = 20261123

CHANNELS: tuple[str, ...] = ("whatsapp", "facebook", "instagram", "x")
LABELS: tuple[str, ...] = ("question", "complaint", "order", "compliment", "spam", "other")
NO_REPLY_LABELS: frozenset[str] = frozenset({"compliment", "spam", "other"})

MESSAGE_FILE = "inbox_messages.parquet"
INTENSITY_FILE = "true_intensity.csv.gz"
EVENTS_FILE = "events.csv"

# --- trend and channel mix -------------------------------------------------------------------
TREND_ORIGIN = pd.Timestamp("2024-11-01", tz="UTC")  # t = 0 of the trend and the channel mix
SECONDS_PER_YEAR = 365.25 * 86_400
LEVEL_AT_ORIGIN = 760.0  # all-channel messages per (average) day at TREND_ORIGIN
LEVEL_CEILING = 1_530.0  # where the saturating trend levels off, messages per day
TREND_TIME_CONSTANT_YEARS = 1.9  # e-folding time of the approach to the ceiling, years
SHARE_AT_ORIGIN = {"whatsapp": 0.34, "facebook": 0.29, "instagram": 0.20, "x": 0.17}
SHARE_AFTER_TWO_YEARS = {"whatsapp": 0.50, "facebook": 0.23, "instagram": 0.20, "x": 0.07}

# --- calendar factors -------------------------------------------------------------------------
# Day-level factor per weekday (Monday first), rescaled below to mean 1 over the week.
_WEEKDAY_RAW = np.array([1.13, 1.05, 1.04, 1.00, 0.95, 0.84, 0.82])
WEEKDAY_FACTOR = _WEEKDAY_RAW / _WEEKDAY_RAW.mean()
# Seasonal factor at mid-month (January first), interpolated linearly (periodically) between.
MONTH_FACTOR = np.array([0.90, 0.95, 1.00, 0.98, 0.97, 0.95, 0.87, 0.90, 1.03, 1.05, 1.08, 1.17])
DAY_OF_MONTH_UPLIFT = 0.15  # extra share of volume on the 1st of the month (billing questions)
DAY_OF_MONTH_DECAY_DAYS = 2.5  # e-folding of that extra over the following days

# Public holidays (names as the ``holidays`` package spells them for NL): factor relative to a
# normal Sunday and whether the day follows the rest-day (weekend) hour profile.
REST_DAY_HOLIDAYS = {
    "New Year's Day": 0.60,
    "Easter Sunday": 0.85,
    "Easter Monday": 0.85,
    "King's Day": 0.75,
    "Ascension Day": 0.85,
    "Pentecost": 0.85,
    "Pentecost Monday": 0.85,
    "Christmas Day": 0.40,
    "Second Day of Christmas": 0.55,
}
# Holidays that are working days for most people: a factor on the normal weekday instead.
WORKING_DAY_HOLIDAYS = {"Good Friday": 0.92, "Liberation Day": 0.85}
HOLIDAY_DEFAULT_FACTOR = 0.85  # any other NL holiday the package may list: rest day at this factor
CHRISTMAS_EVE_FROM_HOUR, CHRISTMAS_EVE_FACTOR = 16, 0.30  # 24 Dec from 16:00
NEW_YEARS_EVE_FROM_HOUR, NEW_YEARS_EVE_FACTOR = 18, 0.30  # 31 Dec from 18:00
NEW_YEAR_MORNING_UNTIL_HOUR, NEW_YEAR_MORNING_FACTOR = 12, 0.50  # 1 Jan before 12:00 (on top of the holiday)

# --- intraday profiles ------------------------------------------------------------------------
# Relative volume per local hour 00..23 (rescaled to shares of the day); 17:00-18:00 is the peak.
WORKDAY_PROFILE = np.array([
    1.20, 0.70, 0.45, 0.35, 0.35, 0.55, 1.30, 2.60, 4.00, 5.00, 5.30, 5.40,
    5.20, 5.30, 5.50, 5.80, 6.30, 7.20, 6.20, 5.50, 5.30, 4.60, 3.40, 2.20,
])
REST_DAY_PROFILE = np.array([
    1.80, 1.10, 0.70, 0.45, 0.40, 0.45, 0.80, 1.50, 2.60, 3.80, 4.80, 5.30,
    5.50, 5.60, 5.70, 5.80, 6.10, 6.60, 5.90, 5.60, 5.50, 4.80, 3.60, 2.50,
])
# Channel tilt of the profile: multipliers on some hours before rescaling.
CHANNEL_HOUR_TILT = {
    "whatsapp": {19: 1.08, 20: 1.10, 21: 1.10, 22: 1.08},
    "facebook": {},
    "instagram": {20: 1.12, 21: 1.15, 22: 1.15, 23: 1.12, 0: 1.10},
    "x": {7: 1.15, 8: 1.15, 9: 1.10, 21: 0.92, 22: 0.90, 23: 0.90},
}
WEDNESDAY_EVENING_HOURS = (19, 20, 21, 22)  # local hours 19:00-23:00
WEDNESDAY_EVENING_FACTOR = 1.25
# Summer: the morning ramp starts an hour earlier. Hours 05..11 read the profile one hour later,
# 04 half an hour, and 12..14 taper back so the afternoon and evening keep their shape.
SUMMER_SHIFT_HOURS = np.array([0, 0, 0, 0, 0.5, 1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0])
SUMMER_RAMP_DAYS = 14  # linear transition before 1 June and after 31 August

# --- arrivals, cases, handling ------------------------------------------------------------------
DAY_MULTIPLIER_CV = 0.08  # coefficient of variation of the gamma day multiplier per channel
NEW_CASE_PROBABILITY = 0.55  # chance a message opens a case; else it follows up a recent one
FOLLOW_UP_MEAN_SECONDS = 45 * 60  # mean look-back from a follow-up to the message it answers
FOLLOW_UP_MIN_SECONDS = 30
FOLLOW_UP_MAX_GAP_SECONDS = 6 * 3600  # a follow-up further than this from its case opens a new one
HANDLE_MEDIAN_SECONDS = {"whatsapp": 240.0, "facebook": 300.0, "instagram": 200.0, "x": 150.0}
HANDLE_SIGMA = 0.55  # log-sd of the lognormal handle time
HANDLE_LABEL_FACTOR = {"question": 1.0, "complaint": 1.35, "order": 1.1, "compliment": 0.5, "spam": 0.25, "other": 0.6}
HANDLE_EVENING_FROM_HOUR, HANDLE_EVENING_FACTOR = 18, 1.12  # 18:00-23:59 a bit slower
HANDLE_MIN_SECONDS = 5
LABEL_PROBABILITIES = {  # per case, in the order of LABELS
    "whatsapp": (0.50, 0.16, 0.19, 0.05, 0.02, 0.08),
    "facebook": (0.44, 0.24, 0.12, 0.07, 0.06, 0.07),
    "instagram": (0.40, 0.16, 0.20, 0.12, 0.06, 0.06),
    "x": (0.40, 0.34, 0.04, 0.07, 0.10, 0.05),
}
FIRST_MESSAGE_ID = 1_000_001
FIRST_CASE_ID = 500_001


@dataclass(frozen=True)
class SpikeEvent:
    """A campaign, outage or viral post that multiplies volume.

    ``start`` and ``end`` are local wall-clock times (``YYYY-MM-DD HH:MM``, end exclusive); every
    hour starting inside ``[start, end)`` gets ``1 + uplift_pct / 100`` times its volume in
    ``channels``. Messages drawn because of the event carry ``label``.
    """

    name: str
    start: str
    end: str
    channels: tuple[str, ...]
    uplift_pct: float
    label: str = "complaint"


DEFAULT_EVENTS: tuple[SpikeEvent, ...] = (
    SpikeEvent("Black Friday campaign", "2024-11-29 08:00", "2024-11-30 00:00", ("instagram", "facebook"), 150.0, "order"),
    SpikeEvent("Mobile app login outage", "2025-02-12 16:00", "2025-02-12 23:00", ("x", "facebook", "whatsapp"), 400.0),
    SpikeEvent("Price change letter", "2025-06-02 08:00", "2025-06-04 00:00", ("whatsapp", "facebook"), 100.0, "question"),
    SpikeEvent("Viral complaint video", "2025-09-18 19:00", "2025-09-19 14:00", ("instagram", "x"), 250.0),
    SpikeEvent("Postal strike delivery delays", "2026-03-10 07:00", "2026-03-12 00:00", CHANNELS, 120.0),
    SpikeEvent("Payment provider outage", "2026-07-07 11:00", "2026-07-07 18:00", CHANNELS, 500.0),
)


@dataclass
class SampleData:
    """The generated sample.

    * ``messages``: one row per message, sorted by ``created_at``: ``message_id`` (int64),
      ``created_at`` (tz-aware, second resolution), ``channel``, ``case_id`` (int64),
      ``handle_time_seconds`` (int64, seconds), ``label``.
    * ``intensity``: one row per local hour and channel: ``ds`` (tz-aware interval start),
      ``channel``, ``intensity`` (expected messages in the hour that the Poisson draw used),
      ``baseline`` (the same without the day multiplier and the spikes), both in messages/hour.
    * ``events``: the injected spikes: ``name``, ``start``, ``end`` (tz-aware), ``channels``
      (comma-separated), ``uplift_pct`` (percent).
    """

    messages: pd.DataFrame
    intensity: pd.DataFrame
    events: pd.DataFrame


# --- the hourly grid ----------------------------------------------------------------------------

def hourly_grid(start: str, end: str, tz: str = DEFAULT_TZ) -> pd.DatetimeIndex:
    """Local interval starts of every real hour from local midnight ``start`` to ``end`` (exclusive).

    Built as a UTC range converted to ``tz``, so a 25-hour autumn day holds 25 hours (02:00 twice,
    with different UTC offsets) and a 23-hour spring day 23.
    """
    first = pd.Timestamp(start).tz_localize(tz)
    last = pd.Timestamp(end).tz_localize(tz)
    if last <= first:
        raise ValueError(f"end {end} must be after start {start}")
    utc = pd.date_range(first.tz_convert("UTC"), last.tz_convert("UTC"), freq="1h", inclusive="left", unit="s")
    return utc.tz_convert(tz)


def trend_level(seconds_since_origin: np.ndarray) -> np.ndarray:
    """All-channel level in messages per average day at the given times (seconds since TREND_ORIGIN).

    A modified exponential: ``ceiling - (ceiling - level0) * exp(-t / tau)``, concave, so growth
    slows year by year (DOMAIN.md: volume grows with a slowing trend). Floored at 10% of level0 for
    windows far before the origin.
    """
    years = np.asarray(seconds_since_origin, dtype=float) / SECONDS_PER_YEAR
    level = LEVEL_CEILING - (LEVEL_CEILING - LEVEL_AT_ORIGIN) * np.exp(-years / TREND_TIME_CONSTANT_YEARS)
    return np.maximum(level, 0.1 * LEVEL_AT_ORIGIN)


def channel_shares(seconds_since_origin: np.ndarray) -> np.ndarray:
    """Share of each channel (rows in CHANNELS order) at the given times; columns sum to 1.

    Log-linear drift from SHARE_AT_ORIGIN (t = 0) to SHARE_AFTER_TWO_YEARS (t = 2 years).
    """
    years = np.asarray(seconds_since_origin, dtype=float) / SECONDS_PER_YEAR
    s0 = np.log([SHARE_AT_ORIGIN[c] for c in CHANNELS])[:, None]
    s2 = np.log([SHARE_AFTER_TWO_YEARS[c] for c in CHANNELS])[:, None]
    raw = np.exp(s0 + (s2 - s0) * (years[None, :] / 2.0))
    return raw / raw.sum(axis=0, keepdims=True)


def season_factor(day_of_year: np.ndarray, days_in_year: np.ndarray) -> np.ndarray:
    """Yearly cycle (dimensionless, mean ~1): MONTH_FACTOR at mid-month, linear in between."""
    month_position = (np.asarray(day_of_year, float) - 0.5) / np.asarray(days_in_year, float) * 12.0 - 0.5
    return np.interp(month_position, np.arange(12), MONTH_FACTOR, period=12)


def day_of_month_factor(day: np.ndarray) -> np.ndarray:
    """Billing-question uplift (dimensionless): 1 + 0.15 on the 1st, decaying over a few days."""
    return 1.0 + DAY_OF_MONTH_UPLIFT * np.exp(-(np.asarray(day, float) - 1.0) / DAY_OF_MONTH_DECAY_DAYS)


def summer_weight(dates: pd.DatetimeIndex) -> np.ndarray:
    """How far each (naive, midnight) date is into the summer profile: 1 in June-August, 0 outside,
    linear over SUMMER_RAMP_DAYS before 1 June and after 31 August."""
    years = dates.year.to_numpy()
    june1 = pd.to_datetime({"year": years, "month": 6, "day": 1}).to_numpy()
    sept1 = pd.to_datetime({"year": years, "month": 9, "day": 1}).to_numpy()
    d = dates.to_numpy()
    days_to_june = (june1 - d) / np.timedelta64(1, "D")  # > 0 before June
    days_after_aug = (d - sept1) / np.timedelta64(1, "D") + 1  # >= 1 from 1 September
    before = np.clip(1 - days_to_june / SUMMER_RAMP_DAYS, 0, 1)
    after = np.clip(1 - days_after_aug / SUMMER_RAMP_DAYS, 0, 1)
    return np.where(days_to_june > 0, before, np.where(days_after_aug > 0, after, 1.0))


def hour_profiles() -> np.ndarray:
    """Shares of the day per local hour, shape (channels, day types, seasons, 24): day type 0 =
    working day, 1 = rest day (weekend, holiday); season 0 = winter, 1 = summer (morning shifted one
    hour earlier). Each 24-hour row sums to 1."""
    base = np.stack([WORKDAY_PROFILE, REST_DAY_PROFILE])  # (2, 24)
    hours = np.arange(24)
    summer = np.stack([np.interp(hours + SUMMER_SHIFT_HOURS, np.arange(25), np.append(p, p[0])) for p in base])
    seasonal = np.stack([base, summer], axis=1)  # (2, 2, 24)
    out = np.empty((len(CHANNELS), 2, 2, 24))
    for i, channel in enumerate(CHANNELS):
        tilt = np.ones(24)
        for hour, factor in CHANNEL_HOUR_TILT[channel].items():
            tilt[hour] = factor
        shaped = seasonal * tilt
        out[i] = shaped / shaped.sum(axis=-1, keepdims=True)
    return out


def holiday_table(years: Sequence[int]) -> dict[pd.Timestamp, str]:
    """Dutch public holidays (``holidays.NL``) as naive midnight dates -> holiday name."""
    nl = holidays.country_holidays("NL", years=list(years))
    return {pd.Timestamp(day): name for day, name in nl.items()}


def _day_factors(dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Per local date: the day-level factor (weekday x holiday) and whether it is a rest day."""
    weekday = dates.day_of_week.to_numpy()
    factor = WEEKDAY_FACTOR[weekday].copy()
    rest = weekday >= 5
    table = holiday_table(sorted(set(dates.year)))
    for i, day in enumerate(dates):
        name = table.get(day)
        if name is None:
            continue
        if name in WORKING_DAY_HOLIDAYS:
            factor[i] *= WORKING_DAY_HOLIDAYS[name]
        else:
            factor[i] = WEEKDAY_FACTOR[6] * REST_DAY_HOLIDAYS.get(name, HOLIDAY_DEFAULT_FACTOR)
            rest[i] = True
    return factor, rest


def _christmas_factor(month: np.ndarray, day: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Hourly factor for Christmas Eve and New Year's Eve evenings and New Year's morning."""
    factor = np.ones(len(hour))
    factor[(month == 12) & (day == 24) & (hour >= CHRISTMAS_EVE_FROM_HOUR)] = CHRISTMAS_EVE_FACTOR
    factor[(month == 12) & (day == 31) & (hour >= NEW_YEARS_EVE_FROM_HOUR)] = NEW_YEARS_EVE_FACTOR
    factor[(month == 1) & (day == 1) & (hour < NEW_YEAR_MORNING_UNTIL_HOUR)] = NEW_YEAR_MORNING_FACTOR
    return factor


def baseline_intensity(grid: pd.DatetimeIndex) -> np.ndarray:
    """Expected messages per hour for every channel (rows, CHANNELS order) and hour of ``grid``
    (local interval starts), without day multipliers and spikes. Deterministic: it depends on the
    calendar only, not on the seed or the window."""
    naive = grid.tz_localize(None)
    hour = naive.hour.to_numpy()
    month = naive.month.to_numpy()
    day = naive.day.to_numpy()
    dates = naive.normalize()
    unique_dates, date_index = np.unique(dates.to_numpy(), return_inverse=True)
    unique_dates = pd.DatetimeIndex(unique_dates)
    day_factor, rest = _day_factors(unique_dates)
    summer = summer_weight(unique_dates)

    seconds = np.asarray((grid - TREND_ORIGIN) / pd.Timedelta(seconds=1), dtype=float)
    # The trend and the mix are taken at the hour's midpoint.
    level = trend_level(seconds + 1800.0)
    shares = channel_shares(seconds + 1800.0)
    days_in_year = np.where(naive.is_leap_year, 366, 365)
    calendar = (
        level
        * day_factor[date_index]
        * season_factor(naive.day_of_year.to_numpy(), days_in_year)
        * day_of_month_factor(day)
        * _christmas_factor(month, day, hour)
    )
    profiles = hour_profiles()  # (C, 2, 2, 24)
    day_type = rest[date_index].astype(int)
    w = summer[date_index]
    profile = (1 - w) * profiles[:, day_type, 0, hour] + w * profiles[:, day_type, 1, hour]  # (C, H)
    wednesday = (naive.day_of_week.to_numpy() == 2) & ~rest[date_index] & np.isin(hour, WEDNESDAY_EVENING_HOURS)
    bump = np.where(wednesday, WEDNESDAY_EVENING_FACTOR, 1.0)
    return shares * profile * (calendar * bump)[None, :]


def spike_multipliers(grid: pd.DatetimeIndex, events: Sequence[SpikeEvent], tz: str) -> tuple[np.ndarray, np.ndarray]:
    """Multiplier per channel and hour (1 outside events) and the index of the event causing it
    (-1 outside events; a later event wins where two overlap)."""
    mult = np.ones((len(CHANNELS), len(grid)))
    which = np.full((len(CHANNELS), len(grid)), -1)
    for k, event in enumerate(events):
        start = pd.Timestamp(event.start).tz_localize(tz)
        end = pd.Timestamp(event.end).tz_localize(tz)
        inside = np.asarray((grid >= start) & (grid < end))
        for channel in event.channels:
            c = CHANNELS.index(channel)
            mult[c, inside] *= 1.0 + event.uplift_pct / 100.0
            which[c, inside] = k
    return mult, which


def events_frame(events: Sequence[SpikeEvent], tz: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """The events overlapping ``[first, last)`` as a frame with tz-aware ``start`` and ``end``."""
    rows = []
    for event in events:
        start = pd.Timestamp(event.start).tz_localize(tz).as_unit("s")
        end = pd.Timestamp(event.end).tz_localize(tz).as_unit("s")
        if end > first and start < last:
            rows.append({"name": event.name, "start": start, "end": end,
                         "channels": ",".join(event.channels), "uplift_pct": float(event.uplift_pct)})
    frame = pd.DataFrame(rows, columns=["name", "start", "end", "channels", "uplift_pct"])
    dtype = pd.DatetimeTZDtype(unit="s", tz=tz)
    frame["start"] = frame["start"].astype(dtype)
    frame["end"] = frame["end"].astype(dtype)
    frame["name"] = frame["name"].astype("str")
    frame["channels"] = frame["channels"].astype("str")
    frame["uplift_pct"] = frame["uplift_pct"].astype("float64")
    return frame


# --- messages -----------------------------------------------------------------------------------

def _case_roots(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For one channel's sorted message times (int seconds), the index of each message's case
    opener (itself for an opener).

    A message opens a case with NEW_CASE_PROBABILITY. Any other message follows up the latest
    opener at least a look-back earlier (look-back FOLLOW_UP_MIN_SECONDS plus an exponential with
    mean FOLLOW_UP_MEAN_SECONDS), provided that opener is at most FOLLOW_UP_MAX_GAP_SECONDS old;
    otherwise it opens a case itself. So a case stays in one channel and its later messages come
    within the following hours; cases hold 1 / NEW_CASE_PROBABILITY messages on average (a little
    less, as some follow-ups find no opener).
    """
    n = len(times)
    index = np.arange(n)
    opener = rng.random(n) < NEW_CASE_PROBABILITY
    lookback = FOLLOW_UP_MIN_SECONDS + rng.exponential(FOLLOW_UP_MEAN_SECONDS, n)
    opener_index = index[opener]
    k = np.searchsorted(times[opener_index], times - lookback, side="right") - 1
    target = np.where(k >= 0, opener_index[np.maximum(k, 0)], -1)
    ok = ~opener & (target >= 0)
    ok[ok] &= (times[ok] - times[target[ok]]) <= FOLLOW_UP_MAX_GAP_SECONDS
    return np.where(ok, target, index)


def _draw_messages(grid: pd.DatetimeIndex, intensity: np.ndarray, event_index: np.ndarray,
                   event_share: np.ndarray, events: Sequence[SpikeEvent], tz: str,
                   streams: list[np.random.Generator]) -> pd.DataFrame:
    counts_rng, seconds_rng, case_rng, label_rng, handle_rng = streams
    hour_starts = grid.tz_convert("UTC").as_unit("s").asi8
    local_hour = grid.hour.to_numpy()
    counts = counts_rng.poisson(intensity)  # (C, H)

    times_all, channel_all, root_all, hour_all = [], [], [], []
    offset = 0
    for c in range(len(CHANNELS)):
        hour_of_message = np.repeat(np.arange(len(grid)), counts[c])
        stamps = hour_starts[hour_of_message] + seconds_rng.integers(0, 3600, len(hour_of_message))
        order = np.argsort(stamps, kind="stable")
        stamps, hour_of_message = stamps[order], hour_of_message[order]
        roots = _case_roots(stamps, case_rng)
        times_all.append(stamps)
        hour_all.append(hour_of_message)
        channel_all.append(np.full(len(stamps), c, dtype=np.int8))
        root_all.append(roots + offset)
        offset += len(stamps)
    stamps = np.concatenate(times_all)
    channel = np.concatenate(channel_all)
    root = np.concatenate(root_all)
    hour_of_message = np.concatenate(hour_all)

    # Labels per case, drawn at the opener; messages caused by an event carry the event's label.
    is_root = root == np.arange(len(root))
    labels = np.empty(len(root), dtype=np.int8)
    for c, name in enumerate(CHANNELS):
        sel = is_root & (channel == c)
        labels[sel] = label_rng.choice(len(LABELS), size=int(sel.sum()), p=LABEL_PROBABILITIES[name])
    share = event_share[channel, hour_of_message]
    caused = is_root & (label_rng.random(len(root)) < share)
    event_label = np.array([LABELS.index(e.label) for e in events] + [0], dtype=np.int8)
    labels[caused] = event_label[event_index[channel[caused], hour_of_message[caused]]]
    labels = labels[root]

    # Global order by time (channel breaks ties); ids follow that order.
    order = np.lexsort((channel, stamps))
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    stamps, channel, labels, hour_of_message = stamps[order], channel[order], labels[order], hour_of_message[order]
    root_position = position[root][order]
    is_opener = root_position == np.arange(len(order))
    case_number = np.cumsum(is_opener) - 1  # openers are numbered in time order
    case_id = FIRST_CASE_ID + case_number[root_position]

    medians = np.array([HANDLE_MEDIAN_SECONDS[c] for c in CHANNELS])[channel]
    label_factor = np.array([HANDLE_LABEL_FACTOR[lab] for lab in LABELS])[labels]
    evening = np.where(local_hour[hour_of_message] >= HANDLE_EVENING_FROM_HOUR, HANDLE_EVENING_FACTOR, 1.0)
    handle = medians * label_factor * evening * np.exp(HANDLE_SIGMA * handle_rng.standard_normal(len(stamps)))
    handle = np.maximum(np.rint(handle), HANDLE_MIN_SECONDS).astype(np.int64)

    created = pd.DatetimeIndex(stamps.astype("datetime64[s]")).tz_localize("UTC").tz_convert(tz)
    return pd.DataFrame({
        "message_id": np.arange(FIRST_MESSAGE_ID, FIRST_MESSAGE_ID + len(stamps), dtype=np.int64),
        "created_at": created,
        "channel": pd.array(np.asarray(CHANNELS, dtype=object)[channel], dtype="str"),
        "case_id": case_id.astype(np.int64),
        "handle_time_seconds": handle,
        "label": pd.array(np.asarray(LABELS, dtype=object)[labels], dtype="str"),
    })


def generate_sample(start: str = DEFAULT_START, end: str = DEFAULT_END, tz: str = DEFAULT_TZ,
                    seed: int = DEFAULT_SEED, events: Sequence[SpikeEvent] | None = None) -> SampleData:
    """Draw the synthetic inbox for local days ``start`` (inclusive) to ``end`` (exclusive).

    Parameters
    ----------
    start, end : local dates ``YYYY-MM-DD``; the window runs from local midnight of ``start`` to
        local midnight of ``end``.
    tz : IANA zone of the team (all patterns are in its wall-clock time).
    seed : seeds every random draw; the same arguments give identical output.
    events : spikes to inject (default :data:`DEFAULT_EVENTS`; those outside the window are ignored).

    Returns
    -------
    SampleData with ``messages``, ``intensity`` (messages per hour) and ``events``.
    """
    events = DEFAULT_EVENTS if events is None else tuple(events)
    for event in events:
        unknown = set(event.channels) - set(CHANNELS)
        if unknown or event.label not in LABELS:
            raise ValueError(f"event {event.name!r}: unknown channel(s) {sorted(unknown)} or label {event.label!r}")
    grid = hourly_grid(start, end, tz)
    baseline = baseline_intensity(grid)

    day_rng, *streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    naive_dates = grid.tz_localize(None).normalize().to_numpy()
    _, date_index = np.unique(naive_dates, return_inverse=True)
    shape = 1.0 / DAY_MULTIPLIER_CV**2
    day_multiplier = day_rng.gamma(shape, 1.0 / shape, size=(len(CHANNELS), date_index.max() + 1))
    spike, event_index = spike_multipliers(grid, events, tz)
    intensity = baseline * day_multiplier[:, date_index] * spike
    event_share = 1.0 - 1.0 / spike

    messages = _draw_messages(grid, intensity, event_index, event_share, events, tz, streams)

    ds = pd.DatetimeIndex(np.tile(grid.as_unit("s").asi8, len(CHANNELS)).astype("datetime64[s]"))
    intensity_frame = pd.DataFrame({
        "ds": ds.tz_localize("UTC").tz_convert(tz),
        "channel": pd.array(np.repeat(np.asarray(CHANNELS, dtype=object), len(grid)), dtype="str"),
        "intensity": intensity.ravel(),
        "baseline": baseline.ravel(),
    })
    intensity_frame = intensity_frame.sort_values(["ds"], kind="stable").reset_index(drop=True)
    first, last = grid[0], grid[-1] + pd.Timedelta(hours=1)
    return SampleData(messages=messages, intensity=intensity_frame, events=events_frame(events, tz, first, last))


# --- files --------------------------------------------------------------------------------------

def iso_with_offset(times: pd.Series) -> pd.Series:
    """ISO 8601 text with the UTC offset, e.g. ``2025-03-30T03:00:00+02:00``."""
    text = times.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text.str.replace(r"([+-]\d{2})(\d{2})$", r"\1:\2", regex=True)


def messages_table(messages: pd.DataFrame) -> pa.Table:
    """The messages frame as an Arrow table with an explicit schema (timestamps tz-aware, ms)."""
    tz = str(messages["created_at"].dt.tz)
    schema = pa.schema([
        ("message_id", pa.int64()),
        ("created_at", pa.timestamp("ms", tz=tz)),
        ("channel", pa.string()),
        ("case_id", pa.int64()),
        ("handle_time_seconds", pa.int64()),
        ("label", pa.string()),
    ])
    return pa.Table.from_pandas(messages, schema=schema, preserve_index=False)


def _write_gzip_text(path: str | Path, text: str) -> None:
    # No file name and mtime 0 in the gzip header: the same seed gives the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode("utf-8"))


def write_sample(out_dir: Path, **kwargs) -> SampleData:
    """Generate the sample (``kwargs`` as for :func:`generate_sample`) and write it to ``out_dir``:

    * ``inbox_messages.parquet``: the messages (zstd);
    * ``true_intensity.csv.gz``: ``ds`` (ISO 8601 with offset), ``channel``, ``intensity``,
      ``baseline`` (messages per hour, 4 decimals);
    * ``events.csv``: the injected spikes (ISO 8601 with offsets).

    Each file is first written under a temporary name in ``out_dir`` and then moved into place with
    ``os.replace``, so a reader never sees a half-written file. Returns the generated data.
    """
    data = generate_sample(**kwargs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    intensity = data.intensity.assign(ds=iso_with_offset(data.intensity["ds"]))
    intensity["intensity"] = intensity["intensity"].round(4)
    intensity["baseline"] = intensity["baseline"].round(4)
    events = data.events.assign(start=iso_with_offset(data.events["start"]), end=iso_with_offset(data.events["end"]))

    writers = {
        MESSAGE_FILE: lambda path: pq.write_table(
            messages_table(data.messages), path, compression="zstd", compression_level=9,
            use_dictionary=["channel", "label"],
            column_encoding={"message_id": "DELTA_BINARY_PACKED", "created_at": "DELTA_BINARY_PACKED",
                             "case_id": "DELTA_BINARY_PACKED"},
        ),
        INTENSITY_FILE: lambda path: _write_gzip_text(path, intensity.to_csv(index=False, lineterminator="\n")),
        EVENTS_FILE: lambda path: events.to_csv(path, index=False, lineterminator="\n"),
    }
    temporary: dict[str, str] = {}
    try:
        for name, write in writers.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
            os.close(fd)
            temporary[name] = tmp
            write(tmp)
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; the files are meant to be shared
        for name, tmp in temporary.items():
            os.replace(tmp, out_dir / name)
    finally:
        for tmp in temporary.values():
            if os.path.exists(tmp):
                os.remove(tmp)
    return data


def summary_lines(data: SampleData, seconds: float | None = None) -> list[str]:
    """A few lines describing a generated sample (rows, span, per-channel totals, daily averages)."""
    messages = data.messages
    local_day = messages["created_at"].dt.tz_localize(None).dt.normalize()
    days = local_day.nunique()
    first_day, last_day = local_day.min(), local_day.max()
    per_day = messages.groupby(local_day).size()
    head, tail = per_day.iloc[:28].mean(), per_day.iloc[-28:].mean()
    lines = [
        f"messages: {len(messages):,} in {messages['case_id'].nunique():,} cases "
        f"({len(messages) / messages['case_id'].nunique():.2f} messages per case)",
        f"span: {first_day:%Y-%m-%d} to {last_day:%Y-%m-%d} ({days} local days), "
        f"intensity rows: {len(data.intensity):,}, events: {len(data.events)}",
        f"messages per day: {per_day.mean():,.0f} on average; first 28 days {head:,.0f}, last 28 days {tail:,.0f}",
    ]
    no_reply = messages["label"].isin(NO_REPLY_LABELS).mean()
    for channel in CHANNELS:
        sel = messages[messages["channel"] == channel]
        sel_day = sel.groupby(local_day[sel.index]).size()
        lines.append(
            f"  {channel:<10}{len(sel):>10,} messages  {sel_day.iloc[:28].mean():>6,.0f}/day at start "
            f"{sel_day.iloc[-28:].mean():>6,.0f}/day at end  median handle {sel['handle_time_seconds'].median():.0f} s"
        )
    lines.append(f"not needing a reply (compliment, spam, other): {no_reply:.1%}")
    if seconds is not None:
        lines.append(f"took {seconds:.1f} s")
    return lines


def timed_write_sample(out_dir: Path, **kwargs) -> tuple[SampleData, float]:
    """:func:`write_sample` and the wall-clock seconds it took."""
    started = time.perf_counter()
    data = write_sample(out_dir, **kwargs)
    return data, time.perf_counter() - started
