"""Tests of the synthetic inbox generator (forecast/sample_data.py) and the committed sample.

Generated windows are a few weeks around the daylight-saving changes, so the tests stay fast; the
yearly patterns are checked on the committed two-year files in data/sample/.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast import sample_data as sd

TZ = "Europe/Amsterdam"
REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "sample"
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spring() -> sd.SampleData:
    """Three weeks around the 23-hour day 2025-03-30."""
    return sd.generate_sample("2025-03-17", "2025-04-07", seed=11)


@pytest.fixture(scope="module")
def autumn() -> sd.SampleData:
    """Five weeks around the 25-hour day 2025-10-26."""
    return sd.generate_sample("2025-10-06", "2025-11-10", seed=12)


@pytest.fixture(scope="module")
def committed_messages() -> pd.DataFrame:
    path = SAMPLE_DIR / sd.MESSAGE_FILE
    assert path.exists(), f"{path} is missing: run `python scripts/generate_sample.py`"
    return pd.read_parquet(path)


@pytest.fixture(scope="module")
def committed_intensity() -> pd.DataFrame:
    path = SAMPLE_DIR / sd.INTENSITY_FILE
    assert path.exists(), f"{path} is missing: run `python scripts/generate_sample.py`"
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def committed_daily(committed_messages) -> pd.Series:
    """Messages per local day of the committed sample (naive midnight index)."""
    day = committed_messages["created_at"].dt.tz_localize(None).dt.normalize()
    return committed_messages.groupby(day).size()


def hourly_counts(messages: pd.DataFrame, intensity: pd.DataFrame) -> pd.Series:
    """Messages per (ds, channel) of the intensity grid, 0 where none arrived."""
    hour = messages["created_at"].dt.tz_convert("UTC").dt.floor("h")  # floor in UTC: local 02:00 is ambiguous
    counts = messages.groupby([hour, messages["channel"]]).size()
    key = pd.MultiIndex.from_arrays([intensity["ds"].dt.tz_convert("UTC").dt.as_unit("s"), intensity["channel"]])
    counts.index = counts.index.set_levels(counts.index.levels[0].as_unit("s"), level=0)
    assert counts.index.isin(key).all(), "messages outside the intensity grid"
    return counts.reindex(key, fill_value=0)


# --- determinism ----------------------------------------------------------------------------------

def test_same_seed_gives_identical_output(spring):
    again = sd.generate_sample("2025-03-17", "2025-04-07", seed=11)
    pd.testing.assert_frame_equal(spring.messages, again.messages)
    pd.testing.assert_frame_equal(spring.intensity, again.intensity)
    pd.testing.assert_frame_equal(spring.events, again.events)


def test_other_seed_changes_the_draws_not_the_baseline(spring):
    other = sd.generate_sample("2025-03-17", "2025-04-07", seed=12)
    np.testing.assert_allclose(other.intensity["baseline"], spring.intensity["baseline"])
    assert not np.allclose(other.intensity["intensity"], spring.intensity["intensity"])
    assert len(other.messages) != len(spring.messages) or not other.messages["created_at"].equals(spring.messages["created_at"])


def test_baseline_is_anchored_to_the_calendar_not_the_window(autumn, committed_intensity):
    ours = autumn.intensity.assign(ds=sd.iso_with_offset(autumn.intensity["ds"]))
    joined = ours.merge(committed_intensity, on=["ds", "channel"], suffixes=("", "_committed"))
    assert len(joined) == len(ours)  # every hour of the window is in the committed file
    np.testing.assert_allclose(joined["baseline"], joined["baseline_committed"], atol=6e-5)


# --- arrivals against the intensity ----------------------------------------------------------------

@pytest.mark.parametrize("window", ["spring", "autumn"])
def test_counts_are_poisson_around_the_intensity(window, request):
    data = request.getfixturevalue(window)
    counts = hourly_counts(data.messages, data.intensity)
    lam = data.intensity["intensity"].to_numpy()
    n = counts.to_numpy()
    assert n.sum() == len(data.messages)
    # total within 4 sigma of the expected total
    assert abs(n.sum() - lam.sum()) < 4 * np.sqrt(lam.sum())
    # per channel too
    per_channel = pd.DataFrame({"n": n, "lam": lam, "channel": data.intensity["channel"].to_numpy()}).groupby("channel").sum()
    assert ((per_channel["n"] - per_channel["lam"]).abs() < 4 * np.sqrt(per_channel["lam"])).all()
    # Pearson dispersion per hour and channel ~ 1 for Poisson (sd ~ sqrt(2 / cells) ~ 0.02 here)
    dispersion = np.mean((n - lam) ** 2 / lam)
    assert 0.9 < dispersion < 1.1


def test_committed_counts_match_committed_intensity(committed_messages, committed_intensity):
    intensity = committed_intensity.assign(ds=pd.to_datetime(committed_intensity["ds"], format="ISO8601", utc=True).dt.tz_convert(TZ))
    counts = hourly_counts(committed_messages, intensity).to_numpy()
    lam = intensity["intensity"].to_numpy()
    base = intensity["baseline"].to_numpy()
    assert counts.sum() == len(committed_messages)
    assert abs(counts.sum() - lam.sum()) < 4 * np.sqrt(lam.sum())
    # Given the intensity, hours are Poisson: dispersion 1 (sd ~ 0.005 over 70,080 cells) ...
    assert 0.97 < np.mean((counts - lam) ** 2 / lam) < 1.03
    # ... but against the smooth baseline the arrivals are over-dispersed (day multipliers, spikes)
    assert np.mean((counts - base) ** 2 / base) > 1.2


def test_daily_counts_are_over_dispersed(committed_intensity, committed_messages):
    intensity = committed_intensity.assign(day=committed_intensity["ds"].str.slice(0, 10))
    expected = intensity.groupby(["day", "channel"])["baseline"].sum()
    day = committed_messages["created_at"].dt.strftime("%Y-%m-%d")
    observed = committed_messages.groupby([day, committed_messages["channel"]]).size().reindex(expected.index, fill_value=0)
    dispersion = np.mean((observed - expected) ** 2 / expected)
    # gamma day multiplier with cv 0.08 on ~200 messages per channel-day alone gives ~1 + 0.0064 * 200 ~ 2.3
    assert dispersion > 2.0


# --- daylight saving time -------------------------------------------------------------------------

def local_day_rows(intensity: pd.DataFrame, day: str) -> pd.DataFrame:
    return intensity[intensity["ds"].dt.strftime("%Y-%m-%d") == day]


def test_25_hour_day_has_25_hours(autumn):
    rows = local_day_rows(autumn.intensity, "2025-10-26")
    assert rows.groupby("channel").size().to_dict() == {c: 25 for c in sd.CHANNELS}
    two_oclock = rows[(rows["ds"].dt.hour == 2) & (rows["channel"] == "whatsapp")]["ds"]
    assert sorted(two_oclock.dt.strftime("%z")) == ["+0100", "+0200"]
    # both 02:00 hours receive messages
    at_two = autumn.messages[autumn.messages["created_at"].dt.strftime("%Y-%m-%d %H") == "2025-10-26 02"]
    assert set(at_two["created_at"].dt.strftime("%z")) == {"+0100", "+0200"}
    # neighbours are 24-hour days
    for day in ("2025-10-25", "2025-10-27"):
        assert (local_day_rows(autumn.intensity, day).groupby("channel").size() == 24).all()


def test_23_hour_day_has_23_hours(spring):
    rows = local_day_rows(spring.intensity, "2025-03-30")
    assert rows.groupby("channel").size().to_dict() == {c: 23 for c in sd.CHANNELS}
    assert 2 not in set(rows["ds"].dt.hour)
    assert not (spring.messages["created_at"].dt.strftime("%Y-%m-%d %H") == "2025-03-30 02").any()
    # the grid is exactly one row per real hour and channel
    hours = (pd.Timestamp("2025-04-07", tz=TZ) - pd.Timestamp("2025-03-17", tz=TZ)) / pd.Timedelta("1h")
    assert hours == 21 * 24 - 1
    assert len(spring.intensity) == hours * len(sd.CHANNELS)


def test_hourly_grid_steps_one_real_hour():
    grid = sd.hourly_grid("2025-10-25", "2025-10-28")
    assert len(grid) == 24 + 25 + 24
    steps = pd.Series(grid).diff().dropna()
    assert (steps == pd.Timedelta("1h")).all()
    assert grid[0] == pd.Timestamp("2025-10-25", tz=TZ)


# --- intraday and weekly patterns ---------------------------------------------------------------

def test_17_to_18_is_the_busiest_hour(autumn, committed_messages):
    for messages in (autumn.messages, committed_messages):
        by_hour = messages.groupby(messages["created_at"].dt.hour).size()
        assert by_hour.idxmax() == 17
        assert by_hour[17] > 1.08 * by_hour.drop(17).max()
        # nights are low, evenings still busy
        assert by_hour[3] < 0.1 * by_hour[17]
        assert by_hour[20] > 0.75 * by_hour[17]


def test_weekdays_busier_than_sunday(committed_daily):
    weekday = committed_daily.index.day_of_week
    workday_mean = committed_daily[weekday < 5].mean()
    sunday_mean = committed_daily[weekday == 6].mean()
    monday_mean = committed_daily[weekday == 0].mean()
    assert workday_mean > 1.15 * sunday_mean
    assert monday_mean > committed_daily[weekday == 4].mean()  # Monday busier than Friday
    assert sunday_mean > 0.6 * workday_mean  # weekends still busy-ish


def test_wednesday_evening_bump(committed_messages):
    local = committed_messages["created_at"].dt.tz_localize(None)
    evening = local.dt.hour.between(19, 22)
    per_weekday = committed_messages[evening].groupby(local[evening].dt.day_of_week).size()
    assert per_weekday[2] > 1.1 * max(per_weekday[1], per_weekday[3])


def test_summer_days_start_an_hour_earlier(committed_messages):
    local = committed_messages["created_at"].dt.tz_localize(None)
    workday = local.dt.day_of_week < 5
    early = local.dt.hour.isin([6, 7])

    def early_share(months):
        sel = workday & local.dt.month.isin(months)
        return (sel & early).sum() / sel.sum()

    assert early_share([6, 7, 8]) > 1.3 * early_share([1, 2, 11])
    # the rush hour stays at 17:00-18:00 in summer
    summer = workday & local.dt.month.isin([6, 7, 8])
    assert local[summer].dt.hour.value_counts().idxmax() == 17


# --- yearly cycle, holidays, month start, events, trend --------------------------------------------

def test_december_busier_than_january(committed_daily):
    for december, january in (("2024-12", "2025-01"), ("2025-12", "2026-01")):
        dec = committed_daily[committed_daily.index.strftime("%Y-%m") == december].mean()
        jan = committed_daily[committed_daily.index.strftime("%Y-%m") == january].mean()
        assert dec > 1.05 * jan, (december, dec, jan)


def test_christmas_is_quiet(committed_daily):
    for year in (2024, 2025):
        december = committed_daily[committed_daily.index.strftime("%Y-%m") == f"{year}-12"]
        christmas = committed_daily[pd.Timestamp(f"{year}-12-25")]
        assert christmas < 0.5 * december.mean()
        assert committed_daily[pd.Timestamp(f"{year}-12-26")] < 0.7 * december.mean()


def test_christmas_and_new_years_eve_evenings_are_silent():
    data = sd.generate_sample("2025-12-22", "2026-01-03", seed=3)
    base = data.intensity.groupby("ds")["baseline"].sum()
    local = base.index.tz_localize(None)

    def at(day, hour):
        return base[(local.strftime("%Y-%m-%d") == day) & (local.hour == hour)].iloc[0]

    assert at("2025-12-24", 19) < 0.4 * at("2025-12-23", 19)
    assert at("2025-12-31", 20) < 0.4 * at("2025-12-30", 20)
    assert at("2026-01-01", 10) < 0.4 * at("2026-01-02", 10)


def test_dutch_holidays_are_quieter():
    data = sd.generate_sample("2025-05-19", "2025-06-11", seed=5)
    daily = data.intensity.assign(day=data.intensity["ds"].dt.strftime("%Y-%m-%d")).groupby("day")["baseline"].sum()
    # Ascension Day (Thu 29 May) and Whit Monday (9 June) against the same weekday a week earlier
    assert daily["2025-05-29"] < 0.8 * daily["2025-05-22"]
    assert daily["2025-06-09"] < 0.8 * daily["2025-06-02"]
    # King's Day 2025 fell on Saturday 26 April (the 27th was a Sunday)
    # (Easter 2025 was 20-21 April, so compare with the weekend of 12-13 April)
    kings = sd.generate_sample("2025-04-12", "2025-04-28", seed=5)
    kd = kings.intensity.assign(day=kings.intensity["ds"].dt.strftime("%Y-%m-%d")).groupby("day")["baseline"].sum()
    assert kd["2025-04-26"] < 0.85 * kd["2025-04-12"]
    assert kd["2025-04-27"] == pytest.approx(kd["2025-04-13"], rel=0.03)  # the 27th is a plain Sunday
    assert kd["2025-04-20"] < 0.9 * kd["2025-04-13"] and kd["2025-04-21"] < 0.8 * kd["2025-04-14"]  # Easter


def test_first_days_of_the_month_are_busier(committed_daily):
    relative = committed_daily / committed_daily.rolling(29, center=True, min_periods=15).mean()
    day = committed_daily.index.day
    assert relative[day <= 3].mean() > 1.05 * relative[(day >= 10) & (day <= 25)].mean()


def test_events_multiply_volume_in_their_channels(committed_intensity):
    events = pd.read_csv(SAMPLE_DIR / sd.EVENTS_FILE)
    assert 4 <= len(events) <= 6
    ds = pd.to_datetime(committed_intensity["ds"], format="ISO8601", utc=True)
    ratio = committed_intensity["intensity"] / committed_intensity["baseline"]
    inside_any = np.zeros(len(ds), dtype=bool)
    for event in events.itertuples():
        start = pd.Timestamp(event.start).tz_convert("UTC")
        end = pd.Timestamp(event.end).tz_convert("UTC")
        assert pd.Timedelta("1h") <= end - start <= pd.Timedelta("3D")
        inside = (ds >= start) & (ds < end) & committed_intensity["channel"].isin(event.channels.split(","))
        inside_any |= inside.to_numpy()
        multiplier = 1 + event.uplift_pct / 100
        assert 2 <= multiplier <= 6
        # the day multiplier (cv 0.08) is the only other factor
        assert ratio[inside].median() == pytest.approx(multiplier, rel=0.25)
    outside = ratio[~inside_any]
    assert outside.mean() == pytest.approx(1.0, abs=0.02)
    assert outside.max() < 1.6 and outside.min() > 0.5


def test_events_show_in_the_messages(committed_messages):
    local = committed_messages["created_at"].dt.tz_localize(None)
    # Payment provider outage: all channels x6 on Tuesday 7 July 2026 11:00-18:00
    outage_hours = (local >= "2026-07-07 11:00") & (local < "2026-07-07 18:00")
    week_before = (local >= "2026-06-30 11:00") & (local < "2026-06-30 18:00")
    assert outage_hours.sum() > 4 * week_before.sum()
    assert committed_messages.loc[outage_hours, "label"].eq("complaint").mean() > 0.6


def test_volume_grows_with_a_slowing_trend_and_the_mix_shifts(committed_messages, committed_daily):
    assert 700 <= committed_daily.iloc[:28].mean() <= 900
    assert 1200 <= committed_daily.iloc[-28:].mean() <= 1400
    year = 365.25 * 86_400
    level = sd.trend_level(np.array([0.0, 1.0, 2.0]) * year)
    assert level[1] - level[0] > 1.3 * (level[2] - level[1])
    local = committed_messages["created_at"].dt.tz_localize(None)
    first = committed_messages[local < "2025-02-01"]["channel"].value_counts(normalize=True)
    last = committed_messages[local >= "2026-08-01"]["channel"].value_counts(normalize=True)
    assert last["whatsapp"] > first["whatsapp"] + 0.1
    assert last["x"] < 0.7 * first["x"]
    assert first.idxmax() == last.idxmax() == "whatsapp"


# --- messages, cases, handle times, labels -----------------------------------------------------------

@pytest.mark.parametrize("window", ["spring", "autumn"])
def test_message_ids_and_order(window, request):
    messages = request.getfixturevalue(window).messages
    assert messages["message_id"].is_unique
    assert messages["message_id"].is_monotonic_increasing
    assert messages["created_at"].is_monotonic_increasing
    assert str(messages["created_at"].dtype) == f"datetime64[s, {TZ}]"


def test_cases_stay_in_one_channel_and_hours(autumn, committed_messages):
    for messages in (autumn.messages, committed_messages):
        cases = messages.groupby("case_id").agg(
            channels=("channel", "nunique"), n=("message_id", "size"),
            first=("created_at", "min"), last=("created_at", "max"), first_id=("message_id", "min"))
        assert (cases["channels"] == 1).all()
        assert 1.6 <= cases["n"].mean() <= 2.0
        assert (cases["n"] > 1).mean() > 0.3
        assert (cases["last"] - cases["first"]).max() <= pd.Timedelta(hours=6)
        # case ids are numbered in order of the case's first message
        assert cases["first_id"].is_monotonic_increasing


def test_handle_times_per_channel_and_evening(committed_messages):
    medians = committed_messages.groupby("channel")["handle_time_seconds"].median()
    assert medians["facebook"] > medians["whatsapp"] > medians["instagram"] > medians["x"]
    for channel, target in sd.HANDLE_MEDIAN_SECONDS.items():
        assert medians[channel] == pytest.approx(target, rel=0.2)
    hour = committed_messages["created_at"].dt.hour
    for channel, rows in committed_messages.groupby("channel"):
        evening = rows["handle_time_seconds"][hour[rows.index] >= 18].median()
        day = rows["handle_time_seconds"][hour[rows.index].between(9, 16)].median()
        assert evening > 1.03 * day, channel
    assert committed_messages["handle_time_seconds"].min() >= sd.HANDLE_MIN_SECONDS


def test_labels(committed_messages):
    assert set(committed_messages["label"].unique()) == set(sd.LABELS)
    no_reply = committed_messages["label"].isin(sd.NO_REPLY_LABELS).mean()
    assert 0.15 <= no_reply <= 0.25
    per_case = committed_messages.groupby("case_id")["label"].nunique()
    assert (per_case == 1).all()  # a label belongs to the case


# --- the committed files ---------------------------------------------------------------------

def test_committed_parquet_columns_and_dtypes(committed_messages):
    m = committed_messages
    assert list(m.columns) == ["message_id", "created_at", "channel", "case_id", "handle_time_seconds", "label"]
    assert m["message_id"].dtype == np.int64 and m["case_id"].dtype == np.int64
    assert m["handle_time_seconds"].dtype == np.int64
    assert isinstance(m["created_at"].dtype, pd.DatetimeTZDtype) and str(m["created_at"].dt.tz) == TZ
    assert pd.api.types.is_string_dtype(m["channel"]) and pd.api.types.is_string_dtype(m["label"])
    assert set(m["channel"].unique()) == set(sd.CHANNELS)
    assert m["message_id"].is_unique and m["created_at"].is_monotonic_increasing
    assert m["created_at"].min() >= pd.Timestamp("2024-11-01", tz=TZ)
    assert m["created_at"].max() < pd.Timestamp("2026-11-01", tz=TZ)
    assert (m["created_at"].dt.microsecond == 0).all()
    assert 700_000 < len(m) < 850_000
    assert (SAMPLE_DIR / sd.MESSAGE_FILE).stat().st_size < 8_000_000


def test_committed_intensity_file(committed_intensity):
    i = committed_intensity
    assert list(i.columns) == ["ds", "channel", "intensity", "baseline"]
    assert i["ds"].map(lambda text: bool(ISO_WITH_OFFSET.match(text))).all()
    hours = (pd.Timestamp("2026-11-01", tz=TZ) - pd.Timestamp("2024-11-01", tz=TZ)) / pd.Timedelta("1h")
    assert len(i) == hours * 4 == 17_520 * 4  # 730 days; the 23- and 25-hour days cancel out (twice)
    assert i.groupby("ds").size().eq(4).all()
    assert (i["intensity"] > 0).all() and (i["baseline"] > 0).all()
    for column in ("intensity", "baseline"):  # rounded to 4 decimals, and not to fewer
        np.testing.assert_allclose(i[column], i[column].round(4), rtol=0, atol=1e-9)
        assert (np.abs(i[column] - i[column].round(3)) > 1e-6).mean() > 0.5
    assert "2025-03-30T03:00:00+02:00" in set(i["ds"]) and "2025-03-30T02:00:00+01:00" not in set(i["ds"])
    assert {"2025-10-26T02:00:00+02:00", "2025-10-26T02:00:00+01:00"} <= set(i["ds"])


def test_committed_events_file():
    events = pd.read_csv(SAMPLE_DIR / sd.EVENTS_FILE)
    assert list(events.columns) == ["name", "start", "end", "channels", "uplift_pct"]
    assert events["start"].map(lambda t: bool(ISO_WITH_OFFSET.match(t))).all()
    assert events["end"].map(lambda t: bool(ISO_WITH_OFFSET.match(t))).all()
    assert events["channels"].str.split(",").map(lambda cs: set(cs) <= set(sd.CHANNELS)).all()
    assert events["name"].tolist() == [e.name for e in sd.DEFAULT_EVENTS]


def test_committed_readme_names_the_command_and_seed():
    text = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "scripts/generate_sample.py" in text and str(sd.DEFAULT_SEED) in text


# --- writing ------------------------------------------------------------------------------------

def test_write_sample_is_atomic_and_round_trips(tmp_path):
    (tmp_path / sd.EVENTS_FILE).write_text("old", encoding="utf-8")
    data = sd.write_sample(tmp_path, start="2025-03-28", end="2025-04-01", seed=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([sd.MESSAGE_FILE, sd.INTENSITY_FILE, sd.EVENTS_FILE])
    back = pd.read_parquet(tmp_path / sd.MESSAGE_FILE)
    assert len(back) == len(data.messages)
    assert (back["created_at"] == data.messages["created_at"]).all()
    assert back["created_at"].dt.tz is not None
    intensity = pd.read_csv(tmp_path / sd.INTENSITY_FILE)
    assert len(intensity) == (24 * 4 - 1) * 4  # 28-31 March with the 23-hour day
    np.testing.assert_allclose(intensity["intensity"], data.intensity["intensity"], atol=5e-5)
    events = pd.read_csv(tmp_path / sd.EVENTS_FILE)
    assert len(events) == 0 and list(events.columns) == ["name", "start", "end", "channels", "uplift_pct"]
    # same seed, same bytes
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    sd.write_sample(tmp_path, start="2025-03-28", end="2025-04-01", seed=4)
    assert first == {p.name: p.read_bytes() for p in tmp_path.iterdir()}


def test_write_sample_failure_leaves_old_files(tmp_path, monkeypatch):
    sd.write_sample(tmp_path, start="2025-03-28", end="2025-03-30", seed=4)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sd, "_write_gzip_text", broken)
    with pytest.raises(OSError):
        sd.write_sample(tmp_path, start="2025-03-28", end="2025-04-01", seed=9)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_rejects_bad_window_and_events():
    with pytest.raises(ValueError):
        sd.generate_sample("2025-04-01", "2025-03-01")
    with pytest.raises(ValueError):
        sd.generate_sample("2025-03-01", "2025-03-08", events=[sd.SpikeEvent("x", "2025-03-02 10:00", "2025-03-02 12:00", ("tiktok",), 100.0)])
