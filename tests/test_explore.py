"""The first look at a history (webcare inspect): profiles, gaps and days that stand out."""

import numpy as np
import pandas as pd
import pytest

from forecast.explore import channel_mix, daily_totals, format_summary, hour_weekday_profile, summarize

TZ = "Europe/Amsterdam"


def synthetic_history(days: int = 70, start: str = "2025-09-01") -> pd.DataFrame:
    first = pd.Timestamp(start, tz=TZ)
    last = (pd.Timestamp(start) + pd.Timedelta(days=days)).tz_localize(TZ)
    ds = pd.date_range(first.tz_convert("UTC"), last.tz_convert("UTC"), freq="1h", inclusive="left").tz_convert(TZ)
    hour_shape = np.where(ds.hour == 17, 30, np.where((ds.hour >= 8) & (ds.hour < 22), 10, 1))
    weekday_factor = np.where(ds.day_of_week == 0, 2, 1)  # Mondays twice as busy
    y = hour_shape * weekday_factor
    y = np.where(ds.strftime("%Y-%m-%d") == "2025-10-15", y * 4, y)  # a Wednesday spike
    return pd.DataFrame({"channel": "x", "ds": ds, "y": pd.array(y, dtype="Int64")})


def test_profiles_busiest_hour_and_weekday():
    s = summarize(synthetic_history())
    assert s.by_hour.sort_values("per_day").iloc[-1]["hour"] == 17
    assert s.by_weekday.sort_values("per_day").iloc[-1]["weekday"] == "Monday"
    tuesday = s.by_weekday.set_index("weekday").loc["Tuesday", "per_day"]
    monday = s.by_weekday.set_index("weekday").loc["Monday", "per_day"]
    assert monday == 2 * tuesday  # exactly: no noise in the data
    assert s.total == int(synthetic_history()["y"].sum())


def test_dst_days_are_complete_days():
    days = daily_totals(synthetic_history())
    assert pd.Timestamp("2025-10-26") in days.index  # the 25-hour day, with all 25 hours present
    assert len(days) == 70


def test_the_spike_stands_out():
    s = summarize(synthetic_history())
    assert list(s.standout_days["date"]) == [pd.Timestamp("2025-10-15")]
    assert s.standout_days.iloc[0]["ratio"] > 3


def test_gaps_are_listed_and_days_with_gaps_left_out():
    history = synthetic_history()
    history.loc[100:147, "y"] = pd.NA
    s = summarize(history)
    assert len(s.gaps) == 1 and s.gaps.iloc[0]["intervals"] == 48
    assert s.complete_days == 67  # rows 100..147 run from 04:00 on the 5th day to 03:00 on the 7th: 3 days
    text = format_summary(s)
    assert "Gaps (missing, not zero): 1, 48 intervals" in text
    assert "2025-10-15" in text


def test_hour_weekday_profile_and_channel_mix():
    history = synthetic_history()
    grid = hour_weekday_profile(history)
    assert len(grid) == 7 * 24
    monday_17 = grid[(grid["weekday"] == 0) & (grid["hour"] == 17)]["per_day"].item()
    tuesday_17 = grid[(grid["weekday"] == 1) & (grid["hour"] == 17)]["per_day"].item()
    assert monday_17 == 60 and tuesday_17 == 30
    two = pd.concat([history, history.assign(channel="whatsapp", y=history["y"] * 3)])
    mix = channel_mix(two)
    assert set(mix["channel"]) == {"x", "whatsapp"}
    assert np.allclose(mix[mix["channel"] == "whatsapp"]["share"], 0.75)
    assert mix["iso_week"].iloc[0] == "2025-W36" and (mix["week_start"].dt.day_of_week == 0).all()
    assert mix["week_start"].nunique() == 10  # 70 days from Monday 1 September: 10 whole weeks


def test_volume_per_day_leaves_gaps_out():
    history = synthetic_history()
    full = summarize(history)
    history.loc[100:147, "y"] = pd.NA  # two days missing
    s = summarize(history)
    hours = 70 * 24 + 1  # 70 local days, one of them the 25-hour day of 26 October
    assert full.observed_days == pytest.approx(hours / 24)
    assert s.observed_days == pytest.approx((hours - 48) / 24)
    assert s.per_channel["per_day"].item() == pytest.approx(s.total / s.observed_days)
    assert f"{s.total / s.observed_days:,.0f} per day of data" in format_summary(s)
