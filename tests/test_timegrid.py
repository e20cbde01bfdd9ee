"""Future interval grids and "the same local hour earlier" across daylight saving (Amsterdam)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.timegrid import (
    NS_PER_HOUR,
    day_key,
    future_grid,
    future_index,
    infer_freq,
    parse_horizon,
    shift_wall_clock,
    to_timedelta,
    utc_ns,
    week_key,
    weeks_earlier,
)

TZ = "Europe/Amsterdam"
HOUR = pd.Timedelta("1h")


def local(*stamps: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(stamps)).tz_localize(TZ)


def per_local_date(index: pd.DatetimeIndex) -> pd.Series:
    return pd.Series(1, index=index.tz_localize(None).normalize()).groupby(level=0).size()


def test_future_grid_has_23_hours_on_the_day_summer_time_starts():
    grid = future_index(pd.Timestamp("2025-03-23 23:00", tz=TZ), "7d", HOUR)
    assert len(grid) == 6 * 24 + 23
    assert grid[0] == pd.Timestamp("2025-03-24 00:00", tz=TZ)
    assert grid[-1] == pd.Timestamp("2025-03-30 23:00", tz=TZ)
    counts = per_local_date(grid)
    assert counts[pd.Timestamp("2025-03-30")] == 23
    assert (counts.drop(pd.Timestamp("2025-03-30")) == 24).all()
    assert (np.diff(utc_ns(grid)) == NS_PER_HOUR).all()  # a plain UTC range
    assert str(grid.tz) == TZ


def test_future_grid_has_25_hours_on_the_day_summer_time_ends():
    grid = future_index(pd.Timestamp("2025-10-19 23:00", tz=TZ), "7d", HOUR)
    assert len(grid) == 6 * 24 + 25
    assert per_local_date(grid)[pd.Timestamp("2025-10-26")] == 25
    twice = grid[(grid.tz_localize(None) == pd.Timestamp("2025-10-26 02:00"))]
    assert [t.utcoffset() for t in twice] == [pd.Timedelta("2h"), pd.Timedelta("1h")]
    assert (np.diff(utc_ns(grid)) == NS_PER_HOUR).all()


def test_future_grid_of_15_minute_intervals_across_both_transitions():
    spring = future_index(pd.Timestamp("2025-03-29 23:45", tz=TZ), "1d", pd.Timedelta("15min"))
    autumn = future_index(pd.Timestamp("2025-10-25 23:45", tz=TZ), "1d", pd.Timedelta("15min"))
    assert (len(spring), len(autumn)) == (92, 100)
    assert spring[-1] == pd.Timestamp("2025-03-30 23:45", tz=TZ)


def test_horizon_ending_on_a_skipped_or_repeated_clock_time():
    # 02:00 a week later does not exist: the grid stops before the gap (01:00 is the last).
    grid = future_index(pd.Timestamp("2025-03-23 02:00", tz=TZ), "7d", HOUR)
    assert grid[-1] == pd.Timestamp("2025-03-30 01:00", tz=TZ)
    assert len(grid) == 167
    # 02:00 a week later happens twice: the grid runs to the second pass.
    grid = future_index(pd.Timestamp("2025-10-19 02:00", tz=TZ), "7d", HOUR)
    assert grid[-1].isoformat() == "2025-10-26T02:00:00+01:00"
    assert len(grid) == 169


def test_28_day_horizon_counts_local_days():
    grid = future_index(pd.Timestamp("2025-10-05 23:00", tz=TZ), "28d", HOUR)
    assert len(grid) == 28 * 24 + 1
    assert grid[-1] == pd.Timestamp("2025-11-02 23:00", tz=TZ)


def test_future_grid_per_channel_starts_after_each_channels_last_interval():
    ds_a = pd.date_range("2025-10-20 00:00", periods=48, freq="1h", tz=TZ)
    history = pd.DataFrame({
        "channel": ["a"] * 48 + ["b"] * 24,
        "ds": list(ds_a) + list(ds_a[:24]),
        "y": 1,
    })
    grid = future_grid(history, "1d")
    assert grid.groupby("channel")["ds"].min().to_dict() == {
        "a": pd.Timestamp("2025-10-22 00:00", tz=TZ),
        "b": pd.Timestamp("2025-10-21 00:00", tz=TZ),
    }
    assert grid.groupby("channel").size().to_dict() == {"a": 24, "b": 24}


def test_same_hour_a_week_earlier_on_the_25_hour_day():
    both = pd.DatetimeIndex([
        pd.Timestamp("2025-10-26 00:00", tz="UTC").tz_convert(TZ),  # 02:00+02:00
        pd.Timestamp("2025-10-26 01:00", tz="UTC").tz_convert(TZ),  # 02:00+01:00
    ])
    earlier = weeks_earlier(both)
    assert list(earlier) == [pd.Timestamp("2025-10-19 02:00", tz=TZ)] * 2


def test_same_hour_a_week_earlier_looking_back_at_the_25_hour_day_takes_the_first_pass():
    earlier = weeks_earlier(local("2025-11-02 02:00"))
    assert earlier[0].isoformat() == "2025-10-26T02:00:00+02:00"


def test_same_hour_a_week_earlier_missing_on_the_23_hour_day_falls_forward_past_the_gap():
    earlier = weeks_earlier(local("2025-04-06 01:00", "2025-04-06 02:00", "2025-04-06 02:15", "2025-04-06 03:00"))
    assert [t.isoformat() for t in earlier] == [
        "2025-03-30T01:00:00+01:00",
        "2025-03-30T03:00:00+02:00",  # 02:00 did not exist: the interval after the gap
        "2025-03-30T03:15:00+02:00",
        "2025-03-30T03:00:00+02:00",
    ]


def test_shift_wall_clock_forward_and_back_is_the_identity_away_from_transitions():
    ds = pd.date_range("2025-01-06", periods=24 * 7, freq="1h", tz=TZ)
    assert (shift_wall_clock(shift_wall_clock(ds, -14), 14) == ds).all()


def test_week_and_day_keys_use_local_wall_clock():
    ds = pd.to_datetime(["2025-10-20T00:00+02:00", "2025-10-26T02:00+01:00", "2025-10-27T13:30+01:00"], utc=True).tz_convert(TZ)
    assert list(week_key(ds) // NS_PER_HOUR) == [0, 6 * 24 + 2, 13]
    assert list(day_key(ds) / NS_PER_HOUR) == [0, 2, 13.5]


def test_infer_freq():
    assert infer_freq(pd.date_range("2025-01-01", periods=5, freq="15min", tz=TZ)) == pd.Timedelta("15min")
    with pytest.raises(ValueError, match="does not divide a day"):
        infer_freq(pd.date_range("2025-01-01", periods=5, freq="7min", tz=TZ))
    with pytest.raises(ValueError, match="fewer than two"):
        infer_freq(local("2025-01-01"))
    with pytest.raises(ValueError, match="time zone"):
        infer_freq(pd.date_range("2025-01-01", periods=5, freq="1h"))


@pytest.mark.parametrize("text, expected", [
    ("28d", pd.Timedelta(days=28)), ("2w", pd.Timedelta(days=14)), ("1h30m", pd.Timedelta(minutes=90)),
    ("36 h", pd.Timedelta(hours=36)), (3600, pd.Timedelta(hours=1)), (pd.Timedelta("5D"), pd.Timedelta(days=5)),
])
def test_durations(text, expected):
    assert to_timedelta(text) == expected


@pytest.mark.parametrize("horizon, message", [
    (0, "longer than 0"),
    ("0d", "longer than 0"),
    ("367d", "more than a year"),
    ("53w", "more than a year"),
    ("30m", "shorter than one interval"),
    ("28 months", "cannot read the duration"),
    ("soon", "cannot read the duration"),
])
def test_bad_horizons_say_what_is_wrong(horizon, message):
    with pytest.raises(ValueError, match=message):
        parse_horizon(horizon, HOUR)
    with pytest.raises(ValueError, match=message):
        future_index(pd.Timestamp("2025-01-01", tz=TZ), horizon, HOUR)


def test_a_year_is_allowed():
    assert len(future_index(pd.Timestamp("2024-12-31 23:00", tz=TZ), "365d", HOUR)) == 365 * 24
