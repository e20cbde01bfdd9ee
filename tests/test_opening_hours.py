"""Tests for scheduling.opening_hours: parsing, DST days, windows past midnight, overrides."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from scheduling.opening_hours import OpeningHours, Window, open_fraction, parse_opening_hours

TZ = "Europe/Amsterdam"


def buckets(start: str, days: int, freq: str = "15min") -> pd.DatetimeIndex:
    """Interval starts covering ``days`` local days from ``start`` (local midnight)."""
    first = pd.Timestamp(start, tz=TZ)
    last = (pd.Timestamp(start) + pd.Timedelta(days=days)).tz_localize(TZ)
    return pd.date_range(first, last, freq=freq, inclusive="left")


def open_hours_per_day(index, hours) -> pd.Series:
    share = open_fraction(index, hours)
    length_h = pd.Timedelta(index.freq).total_seconds() / 3600
    return (share * length_h).groupby(index.tz_localize(None).normalize()).sum()


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


def test_parse_weekly_pattern_and_round_trip():
    hours = parse_opening_hours("mon-fri 08:00-22:00; sat 10:00-18:00; sun closed")
    assert hours.weekly[0] == (Window(480, 1320),)
    assert hours.weekly[4] == (Window(480, 1320),)
    assert hours.weekly[5] == (Window(600, 1080),)
    assert hours.weekly[6] == ()
    assert parse_opening_hours(str(hours)) == hours


def test_parse_lists_ranges_several_windows_and_dates():
    hours = parse_opening_hours(
        "Mon-Thu 08:00-12:00, 13:00-17:00; fri 20:00-01:00; sat,sun 10:00-18:00; "
        "2025-12-25 closed; 2025-12-24 08:00-16:00"
    )
    assert hours.weekly[2] == (Window(480, 720), Window(780, 1020))
    assert hours.weekly[4] == (Window(1200, 1500),)  # closes after midnight
    assert hours.weekly[5] == hours.weekly[6] == (Window(600, 1080),)
    assert parse_opening_hours("daily 24h").weekly[3] == (Window(0, 1440),)
    assert hours.overrides[dt.date(2025, 12, 25)] == ()
    assert hours.windows_on(dt.date(2025, 12, 24)) == (Window(480, 960),)
    assert hours.windows_on(dt.date(2025, 12, 23)) == (Window(480, 720), Window(780, 1020))
    wrapped = parse_opening_hours("fri-mon 10:00-14:00")
    assert [bool(day) for day in wrapped.weekly] == [True, False, False, False, True, True, True]


def test_unmentioned_days_are_closed_and_24_7_is_always_open():
    assert parse_opening_hours("mon 09:00-17:00").weekly[1] == ()
    assert parse_opening_hours("24/7").always_open
    assert OpeningHours().always_open
    holiday = parse_opening_hours("24/7; 2025-12-25 closed")
    assert holiday.weekly is None and not holiday.always_open


@pytest.mark.parametrize("text, message", [
    ("", "no opening hours"),
    ("mon-fri", "expected days then hours"),
    ("funday 08:00-10:00", "unknown day 'funday'"),
    ("mon 25:00-26:00", "not a time of day"),
    ("mon 08:00-08:00", "same time"),
    ("mon 08-22x", "cannot read"),
    ("mon 24:00-02:00", "24:00 is only a closing time"),
    ("mon 08:00-12:00; mon 13:00-17:00", "mon is given twice"),
    ("mon 08:00-12:00, 11:00-14:00", "overlap on mon"),
    ("mon 20:00-02:00; tue 01:00-10:00", "runs past midnight into tue"),
    ("sun 22:00-03:00; mon 02:00-05:00", "runs past midnight into mon"),
    ("2025-02-30 closed", "not a valid date"),
    ("2025-12-25 closed; 2025-12-25 10:00-12:00", "given twice"),
    ("24/7; mon 08:00-10:00", "cannot be combined"),
])
def test_parser_errors_are_clear(text, message):
    with pytest.raises(ValueError, match=message):
        parse_opening_hours(text)


def test_window_validation():
    with pytest.raises(ValueError):
        Window(1440, 1500)
    with pytest.raises(ValueError):
        Window(600, 600)
    with pytest.raises(ValueError):
        Window(600, 600 + 1441)
    assert str(Window(1200, 1500)) == "20:00-01:00"
    assert str(Window(0, 1440)) == "00:00-24:00"
    assert Window.from_text("22:00-06:00").minutes == 8 * 60


# --------------------------------------------------------------------------------------------
# Open fraction
# --------------------------------------------------------------------------------------------


def test_always_open_when_none_given():
    index = buckets("2025-03-29", 3)
    share = open_fraction(index)
    assert (share == 1.0).all() and share.index.equals(index)


def test_weekly_pattern_hours_per_day():
    index = buckets("2025-03-03", 7)  # Monday to Sunday
    per_day = open_hours_per_day(index, "mon-fri 08:00-22:00; sat 10:00-18:00; sun closed")
    assert per_day.tolist() == [14, 14, 14, 14, 14, 8, 0]
    share = open_fraction(index, "mon-fri 08:00-22:00")
    monday = share[index.tz_localize(None).normalize() == pd.Timestamp("2025-03-03")]
    assert monday.between_time("08:00", "21:45").eq(1.0).all()
    assert monday.between_time("22:00", "07:45").eq(0.0).all()


@pytest.mark.parametrize("day, hours, expected_buckets, expected_open", [
    # 30 March 2025: summer time starts, 02:00-03:00 does not exist (23-hour day).
    ("2025-03-30", "daily 00:00-24:00", 92, 23.0),
    ("2025-03-30", "sun 01:00-04:00", 92, 2.0),
    ("2025-03-30", "sun 08:00-22:00", 92, 14.0),
    ("2025-03-30", "sun 02:30-04:00", 92, 1.0),   # 02:30 does not exist: opens at 03:00
    # 26 October 2025: summer time ends, 02:00-03:00 comes twice (25-hour day).
    ("2025-10-26", "daily 00:00-24:00", 100, 25.0),
    ("2025-10-26", "sun 01:00-04:00", 100, 4.0),
    ("2025-10-26", "sun 08:00-22:00", 100, 14.0),
])
def test_dst_days_have_the_right_open_fractions(day, hours, expected_buckets, expected_open):
    index = buckets(day, 1)
    assert len(index) == expected_buckets
    share = open_fraction(index, hours)
    assert share.sum() / 4 == pytest.approx(expected_open)
    assert set(np.unique(share)) <= {0.0, 1.0}


def test_overnight_window_across_the_dst_night():
    # Saturday 22:00 to Sunday 06:00 over the night summer time ends: 9 real hours.
    index = buckets("2025-10-25", 2)
    share = open_fraction(index, "sat 22:00-06:00")
    assert share.sum() / 4 == pytest.approx(9.0)
    local = index.tz_localize(None)
    night = (local >= pd.Timestamp("2025-10-25 22:00")) & (local < pd.Timestamp("2025-10-26 06:00"))
    assert share[night].eq(1).all()
    # Same window over the night summer time starts: 7 real hours.
    index = buckets("2025-03-29", 2)
    assert open_fraction(index, "sat 22:00-06:00").sum() / 4 == pytest.approx(7.0)


def test_window_closing_after_midnight_belongs_to_the_day_it_opens():
    index = buckets("2025-03-08", 2)  # Saturday, Sunday
    share = open_fraction(index, "sat 20:00-01:00; sun closed")
    local = index.tz_localize(None)
    sunday = share[local >= pd.Timestamp("2025-03-09")]
    assert sunday.sum() / 4 == pytest.approx(1.0)             # Sunday 00:00-01:00
    assert sunday.iloc[:4].eq(1).all() and sunday.iloc[4:].eq(0).all()
    assert share[local < pd.Timestamp("2025-03-09")].sum() / 4 == pytest.approx(4.0)


def test_partial_buckets():
    index = buckets("2025-03-03", 1)
    share = open_fraction(index, "mon 08:10-09:05")
    local = index.tz_localize(None)
    assert share[local == pd.Timestamp("2025-03-03 08:00")].iloc[0] == pytest.approx(1 / 3)
    assert share[local == pd.Timestamp("2025-03-03 09:00")].iloc[0] == pytest.approx(1 / 3)
    assert share.sum() * 15 == pytest.approx(55)
    hourly = open_fraction(buckets("2025-03-03", 1, "1h"), "mon 08:30-10:00")
    assert hourly.iloc[8] == pytest.approx(0.5) and hourly.iloc[9] == 1.0


def test_date_overrides():
    hours = parse_opening_hours("daily 08:00-22:00; 2025-12-25 closed; 2025-12-24 08:00-17:00")
    per_day = open_hours_per_day(buckets("2025-12-23", 4), hours)
    assert per_day.tolist() == [14, 9, 0, 14]
    # An override replaces only the windows that open that day: the previous evening's window
    # past midnight still applies.
    hours = parse_opening_hours("daily 20:00-02:00; 2025-12-25 closed")
    per_day = open_hours_per_day(buckets("2025-12-24", 3), hours)
    # 24th: 00-02 (from the 23rd) + 20-24; 25th: 00-02 from the 24th only; 26th: 20-24 only.
    assert per_day.tolist() == [2 + 4, 2, 4]


def test_override_colliding_with_previous_evening_is_refused():
    hours = parse_opening_hours("daily 20:00-02:00; 2025-12-25 00:00-10:00")
    with pytest.raises(ValueError, match="overlap"):
        open_fraction(buckets("2025-12-24", 2), hours)


def test_bad_index():
    naive = pd.date_range("2025-03-03", periods=4, freq="15min")
    with pytest.raises(ValueError, match="time-zone aware"):
        open_fraction(naive, "mon 08:00-10:00")
    with pytest.raises(ValueError, match="OpeningHours"):
        open_fraction(buckets("2025-03-03", 1), 42)
