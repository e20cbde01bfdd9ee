"""Spike and dip detection (forecast/spikes.py): synthetic cases with known answers, DST days,
gaps, empty channels, short histories, and the labelled NAB windows and injected sample events."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from forecast.events import estimate_uplift, read_events
from forecast.ingest import IngestOptions, format_iso, ingest_files
from forecast.spikes import (
    DAY_COLUMNS,
    SPIKE_COLUMNS,
    detect_spikes,
    score_intervals,
    spike_days,
    window_scores,
)
from forecast.timegrid import ForecastInputError
from tests.conftest import REPO, TZ, shared_data

# The bundled NAB series' labelled windows (Numenta Anomaly Benchmark, anomaly_windows.json;
# MIT-style licence in data/nab_tweets/LICENSE.txt). Checked against ../shared below when present.
AMZN_WINDOWS = [
    ("2015-03-05 03:22:53", "2015-03-06 12:12:53"),
    ("2015-03-11 04:32:53", "2015-03-12 13:22:53"),
    ("2015-04-01 05:32:53", "2015-04-02 14:22:53"),
    ("2015-04-07 12:27:53", "2015-04-08 21:17:53"),
]
# Daily shape of a webcare channel (relative volume per local hour), Monday-Sunday factors.
HOUR_SHAPE = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3, 5, 6, 6.5, 6.5, 6, 6, 6.5, 7, 7.5, 9, 7.5, 7, 6.5, 5, 3.5, 2])
WEEKDAY = np.array([1.2, 1.1, 1.05, 1.05, 1.0, 0.75, 0.7])


def synthetic(start: str = "2025-09-01", days: int = 70, per_day: float = 800.0, channels=("whatsapp",), seed: int = 1,
              freq: str = "1h") -> pd.DataFrame:
    """Poisson counts per interval of a daily x weekly pattern in local wall-clock time."""
    rng = np.random.default_rng(seed)
    first = pd.Timestamp(start, tz=TZ)
    last = (pd.Timestamp(start) + pd.Timedelta(days=days)).tz_localize(TZ)
    ds = pd.date_range(first.tz_convert("UTC"), last.tz_convert("UTC"), freq=freq, inclusive="left").tz_convert(TZ)
    per_hour = HOUR_SHAPE / HOUR_SHAPE.sum() * per_day
    share = pd.Timedelta(freq) / pd.Timedelta("1h")
    mean = per_hour[ds.hour] * WEEKDAY[ds.day_of_week] * share
    frames = [pd.DataFrame({"channel": c, "ds": ds, "y": rng.poisson(mean).astype(float)}) for c in channels]
    return pd.concat(frames, ignore_index=True)


def scale(history: pd.DataFrame, start: str, end: str, factor: float, channel: str | None = None) -> pd.DataFrame:
    """Multiply the counts in [start, end) (local times) by ``factor``."""
    out = history.copy()
    mask = (out["ds"] >= pd.Timestamp(start, tz=TZ)) & (out["ds"] < pd.Timestamp(end, tz=TZ))
    if channel is not None:
        mask &= out["channel"] == channel
    out.loc[mask, "y"] = np.round(out.loc[mask, "y"] * factor)
    return out


def covers(row, start: str, end: str, slack: str = "1h") -> bool:
    """The window holds [start, end) and reaches at most ``slack`` beyond it on either side."""
    a, b, d = pd.Timestamp(start, tz=TZ), pd.Timestamp(end, tz=TZ), pd.Timedelta(slack)
    return a - d <= row["start"] <= a and b <= row["end"] <= b + d


# --------------------------------------------------------------------------------------------
# Synthetic histories with a known answer


def test_finds_injected_spike_and_outage_and_nothing_else():
    history = synthetic(days=70, channels=("whatsapp", "x"))
    history = scale(history, "2025-10-08 13:00", "2025-10-08 18:00", 4.0, "whatsapp")  # viral complaint
    history = scale(history, "2025-10-21 10:00", "2025-10-21 14:00", 0.0, "x")  # outage: nothing arrives
    spikes = detect_spikes(history)
    assert list(spikes.columns) == SPIKE_COLUMNS
    assert len(spikes) == 2, spikes
    up = spikes[spikes["direction"] == "up"].iloc[0]
    down = spikes[spikes["direction"] == "down"].iloc[0]
    assert up["channel"] == "whatsapp" and down["channel"] == "x"
    # the window covers the burst; an edge may grow by an hour that happens to be high (score >= 2)
    assert covers(up, "2025-10-08 13:00", "2025-10-08 18:00")
    assert covers(down, "2025-10-21 10:00", "2025-10-21 14:00")
    assert up["start"] <= up["peak_ds"] < up["end"]
    assert str(up["start"].tz) == TZ and up["intervals"] == (up["end"] - up["start"]) / pd.Timedelta("1h")
    assert up["excess"] == pytest.approx(up["observed"] - up["expected"])
    assert up["ratio"] == pytest.approx(up["observed"] / up["expected"])
    assert 3.0 < up["ratio"] < 5.5 and up["score"] > 10
    assert down["observed"] == 0 and down["ratio"] == 0 and down["score"] < -5


def test_directions_and_parameters_filter():
    history = scale(synthetic(days=56), "2025-10-08 13:00", "2025-10-08 18:00", 4.0)
    history = scale(history, "2025-10-14 10:00", "2025-10-14 14:00", 0.0)
    assert set(detect_spikes(history, directions=("up",))["direction"]) == {"up"}
    assert set(detect_spikes(history, directions=("down",))["direction"]) == {"down"}
    # a spike of x4 is no spike when at least x5 is asked for
    assert detect_spikes(history, min_ratio=5.0, directions=("up",)).empty
    with pytest.raises(ForecastInputError, match="directions"):
        detect_spikes(history, directions=("sideways",))
    with pytest.raises(ForecastInputError, match="min_ratio"):
        detect_spikes(history, min_ratio=0.5)
    with pytest.raises(ForecastInputError, match="extend"):
        detect_spikes(history, threshold=2.0, extend=3.0)


def test_sustained_moderate_uplift_is_one_window():
    """+80 % for two days: no single hour stands out much, the window as a whole does."""
    history = scale(synthetic(days=70, per_day=400), "2025-10-14 07:00", "2025-10-16 00:00", 1.8)
    spikes = detect_spikes(history)
    assert len(spikes) >= 1 and set(spikes["direction"]) == {"up"}
    inside = spikes[(spikes["start"] >= pd.Timestamp("2025-10-14 06:00", tz=TZ)) & (spikes["end"] <= pd.Timestamp("2025-10-16 01:00", tz=TZ))]
    assert len(inside) == len(spikes)
    assert inside["observed"].sum() > 0.6 * 2 * 400 * 1.8  # most of both days is covered


def test_spike_in_repeated_hour_of_october_change():
    """25-hour day: the second 02:00 (+01:00) holds the spike; only that interval is flagged."""
    history = synthetic(start="2025-09-22", days=70, per_day=2400)
    second = pd.Timestamp("2025-10-26 02:00:00+01:00").tz_convert(TZ)
    first = pd.Timestamp("2025-10-26 02:00:00+02:00").tz_convert(TZ)
    assert (history["ds"] == first).sum() == 1 and (history["ds"] == second).sum() == 1
    history.loc[history["ds"] == second, "y"] = 200.0
    spikes = detect_spikes(history)
    assert len(spikes) == 1, spikes
    row = spikes.iloc[0]
    assert row["start"] == second and row["end"] == pd.Timestamp("2025-10-26 03:00:00+01:00").tz_convert(TZ)
    assert row["peak_ds"] == second and row["intervals"] == 1
    assert format_iso(pd.DatetimeIndex([row["start"]]))[0] == "2025-10-26T02:00:00+01:00"
    # both passes are compared with 02:00 of the other weeks
    scored = score_intervals(history)
    at = scored.set_index("ds")["expected"]
    assert at[first] == at[second] > 0
    days = spike_days(history)
    assert list(days["date"]) == [pd.Timestamp("2025-10-26")]


def test_dst_days_without_spikes_give_nothing():
    """A history over both changes of 2026 (23- and 25-hour days) flags nothing when nothing happened."""
    history = synthetic(start="2026-02-23", days=280, per_day=1500, seed=3)
    spikes = detect_spikes(history)
    assert spikes.empty, spikes
    days = history["ds"].dt.tz_localize(None).dt.normalize().value_counts()
    assert days[pd.Timestamp("2026-03-29")] == 23 and days[pd.Timestamp("2026-10-25")] == 25


def test_fifteen_minute_resolution():
    history = synthetic(days=42, freq="15min", per_day=2000)
    history = scale(history, "2025-09-24 17:15", "2025-09-24 17:45", 5.0)
    spikes = detect_spikes(history)
    assert len(spikes) == 1
    assert covers(spikes.iloc[0], "2025-09-24 17:15", "2025-09-24 17:45", slack="15min")


def test_gaps_are_never_flagged_and_end_a_window():
    history = synthetic(days=56)
    gap = (history["ds"] >= pd.Timestamp("2025-10-06", tz=TZ)) & (history["ds"] < pd.Timestamp("2025-10-08", tz=TZ))
    history.loc[gap, "y"] = np.nan
    history = scale(history, "2025-10-08 00:00", "2025-10-08 04:00", 0.0)  # nights are low anyway
    history = scale(history, "2025-10-08 08:00", "2025-10-08 12:00", 5.0)  # a spike just after the gap
    spikes = detect_spikes(history)
    assert len(spikes) == 1 and spikes.iloc[0]["direction"] == "up"
    assert spikes.iloc[0]["start"] >= pd.Timestamp("2025-10-08 07:00", tz=TZ)
    gap_start, gap_end = pd.Timestamp("2025-10-06", tz=TZ), pd.Timestamp("2025-10-08", tz=TZ)
    assert not ((spikes["start"] < gap_end) & (spikes["end"] > gap_start)).any()
    # rows absent altogether (not even NaN) are a gap too
    absent = history[~gap]
    again = detect_spikes(absent)
    assert list(again["start"]) == list(spikes["start"]) and list(again["end"]) == list(spikes["end"])


def test_all_zero_and_empty_channels():
    history = synthetic(days=35, channels=("whatsapp",))
    zeros = history.assign(channel="forum", y=0.0)
    missing = history.assign(channel="fax", y=np.nan)
    both = pd.concat([history, zeros, missing], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spikes = detect_spikes(both)
        scored = score_intervals(both)
    assert spikes.empty
    assert (scored.loc[scored["channel"] == "forum", "score"].fillna(0) == 0).all()
    # one burst in the otherwise silent channel is found
    burst = both.copy()
    burst.loc[(burst["channel"] == "forum") & (burst["ds"] == pd.Timestamp("2025-09-17 11:00", tz=TZ)), "y"] = 40
    found = detect_spikes(burst)
    assert list(found["channel"]) == ["forum"] and found.iloc[0]["observed"] == 40


def test_short_histories():
    three_days = synthetic(days=3)
    assert detect_spikes(three_days).empty
    assert list(detect_spikes(three_days).columns) == SPIKE_COLUMNS
    assert detect_spikes(synthetic(days=1).head(1)).empty
    assert detect_spikes(synthetic(days=0)).empty
    # ten days: too short for the surrounding weeks, the surrounding days serve
    ten = scale(synthetic(days=10, per_day=1500), "2025-09-05 14:00", "2025-09-05 17:00", 4.0)
    spikes = detect_spikes(ten)
    assert len(spikes) == 1 and covers(spikes.iloc[0], "2025-09-05 14:00", "2025-09-05 17:00")


def test_bad_input():
    history = synthetic(days=14)
    with pytest.raises(ForecastInputError, match="columns"):
        detect_spikes(history.drop(columns="y"))
    with pytest.raises(ForecastInputError, match="time zone"):
        detect_spikes(history.assign(ds=history["ds"].dt.tz_localize(None)))
    with pytest.raises(ForecastInputError, match="twice"):
        detect_spikes(pd.concat([history, history.tail(1)]))


def test_exclude_keeps_known_events_out_of_the_baseline():
    """A campaign every Wednesday evening is the pattern, until the events file says that all of
    them but one were campaigns: then the one left stands out, and the known ones are not reported."""
    history = synthetic(days=70, per_day=600)
    wednesdays = (history["ds"].dt.day_of_week == 2) & history["ds"].dt.hour.between(19, 21)
    history.loc[wednesdays, "y"] *= 4
    assert detect_spikes(history).empty
    unknown_day = history["ds"].dt.tz_localize(None).dt.normalize() == pd.Timestamp("2025-10-15")
    found = detect_spikes(history, exclude=wednesdays & ~unknown_day)
    assert len(found) == 1
    assert covers(found.iloc[0], "2025-10-15 19:00", "2025-10-15 22:00")
    scored = score_intervals(history, exclude=wednesdays & ~unknown_day)
    assert scored.loc[(wednesdays & ~unknown_day).to_numpy(), "score"].isna().all()


def test_spike_days():
    history = synthetic(days=56, channels=("whatsapp", "x"))
    history = scale(history, "2025-10-08 21:00", "2025-10-09 03:00", 6.0, "whatsapp")  # over midnight
    history = scale(history, "2025-10-08 12:00", "2025-10-08 15:00", 5.0, "x")
    history = scale(history, "2025-10-15 10:00", "2025-10-15 14:00", 0.0, "x")
    days = spike_days(history)
    assert list(days.columns) == DAY_COLUMNS
    assert list(days["date"]) == [pd.Timestamp("2025-10-08"), pd.Timestamp("2025-10-09"), pd.Timestamp("2025-10-15")]
    assert days["date"].dt.tz is None
    first = days.iloc[0]
    assert first["channels"] == "whatsapp, x" and first["reason"] == "spike" and first["weekday"] == "Wednesday"
    assert days.iloc[2]["reason"] == "dip" and days.iloc[2]["observed"] == 0
    assert spike_days(synthetic(days=28)).empty


def test_window_scores():
    utc = "UTC"
    labelled = pd.DataFrame({"start": pd.to_datetime(["2025-01-01 00:00", "2025-01-05 00:00"]).tz_localize(utc),
                             "end": pd.to_datetime(["2025-01-02 00:00", "2025-01-06 00:00"]).tz_localize(utc)})
    detected = pd.DataFrame({"start": pd.to_datetime(["2025-01-01 12:00", "2025-01-03 00:00", "2025-01-02 00:00"]).tz_localize(utc),
                             "end": pd.to_datetime(["2025-01-01 13:00", "2025-01-03 01:00", "2025-01-02 01:00"]).tz_localize(utc)})
    score = window_scores(detected, labelled)
    # the window starting exactly at a labelled end does not overlap it (ends are exclusive)
    assert score == {"labelled": 2, "found": 1, "recall": 0.5, "detected": 3, "overlapping": 1, "precision": 1 / 3}


# --------------------------------------------------------------------------------------------
# Labelled real data: the NAB Twitter series


def _nab_history(path) -> pd.DataFrame:
    return ingest_files([path], IngestOptions(tz="UTC", freq="15min", channel="amzn")).history


def _labelled(windows) -> pd.DataFrame:
    return pd.DataFrame({"start": pd.to_datetime([a for a, _ in windows]).tz_localize("UTC"),
                         "end": pd.to_datetime([b for _, b in windows]).tz_localize("UTC")})


def test_bundled_amzn_labelled_windows():
    """Measured with the defaults on the bundled series (15-minute intervals): all 4 labelled
    windows found, 7 of 19 detected windows inside one (benchmarks/bench_spikes.py)."""
    history = _nab_history(REPO / "data" / "nab_tweets" / "Twitter_volume_AMZN.csv")
    score = window_scores(detect_spikes(history), _labelled(AMZN_WINDOWS))
    assert score["recall"] >= 0.75
    assert score["precision"] >= 0.30


@pytest.mark.shared
def test_amzn_windows_match_the_shared_labels():
    labels = json.loads(shared_data("nab_tweets", "anomaly_windows.json").read_text())
    assert [(a[:19], b[:19]) for a, b in labels["realTweets/Twitter_volume_AMZN.csv"]] == AMZN_WINDOWS


@pytest.mark.shared
def test_all_nab_series_labelled_windows():
    """Measured with the defaults at 15 minutes: 16 of 16 labelled windows found, 47 of 215
    detected windows overlap one (NAB labels only some bursts, so precision is a lower bound)."""
    folder = shared_data("nab_tweets")
    labels = json.loads((folder / "anomaly_windows.json").read_text())
    found = labelled = detected = overlapping = 0
    for key, windows in labels.items():
        history = ingest_files([folder / key.split("/")[-1]], IngestOptions(tz="UTC", freq="15min")).history
        score = window_scores(detect_spikes(history), _labelled(windows))
        assert score["found"] >= 1, key
        found += score["found"]
        labelled += score["labelled"]
        detected += score["detected"]
        overlapping += score["overlapping"]
    assert found / labelled >= 0.9
    assert overlapping / detected >= 0.18


# --------------------------------------------------------------------------------------------
# The bundled synthetic sample: injected events


def utc_text(stamps: pd.Series) -> np.ndarray:
    """ISO 8601 text in UTC ('2025-02-12T15:00:00Z'), as an export in UTC holds (fast to write)."""
    utc = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    return np.char.add(np.datetime_as_string(utc, unit="s"), "Z")

SAMPLE_EVENTS = ("Mobile app login outage", "Viral complaint video", "Postal strike delivery delays", "Payment provider outage")


@pytest.fixture(scope="module")
def sample_subset(tmp_path_factory):
    """The sample's messages from 17 days before to 18 days after four injected events, ingested
    as four exports (the weeks between them are gaps). Timestamps are handed over as ISO text in
    UTC: a Parquet datetime column gives the same history but is read several times slower."""
    folder = tmp_path_factory.mktemp("sample_subset")
    messages = pd.read_parquet(REPO / "data" / "sample" / "inbox_messages.parquet", columns=["message_id", "created_at", "channel"])
    events = [e for e in read_events(REPO / "data" / "sample" / "events.csv") if e.name in SAMPLE_EVENTS]
    paths = []
    for i, name in enumerate(SAMPLE_EVENTS):
        event = next(e for e in events if e.name == name)
        start = event.start.normalize() - pd.Timedelta(days=17)
        end = event.end.normalize() + pd.Timedelta(days=18)
        part = messages[(messages["created_at"] >= start) & (messages["created_at"] < end)]
        path = folder / f"export_{i}.parquet"
        part.assign(created_at=utc_text(part["created_at"])).to_parquet(path, index=False)
        paths.append(path)
    return ingest_files(paths, IngestOptions()).history, events


def test_sample_injected_events_found_on_every_channel(sample_subset):
    history, events = sample_subset
    spikes = detect_spikes(history)
    for event in events:
        hits = spikes[(spikes["channel"] == event.channel) & (spikes["start"] < event.end) & (spikes["end"] > event.start)]
        assert len(hits), f"{event.name} on {event.channel} not found"
        assert (hits["direction"] == "up").all()
    # measured: every window lies on an injected event (18 windows, 0 elsewhere)
    stray = [r for r in spikes.itertuples()
             if not any(e.channel == r.channel and e.start < r.end and e.end > r.start for e in events)]
    assert len(stray) <= 1, stray
    days = spike_days(history, spikes)
    expected_days = {pd.Timestamp(d) for d in ("2025-02-12", "2025-09-18", "2025-09-19", "2026-03-10", "2026-03-11", "2026-07-07")}
    assert expected_days <= set(days["date"])


def test_sample_event_uplift_measured(sample_subset):
    """estimate_uplift recovers the injected uplifts: pooled per event within 0.4 of the truth
    (measured: +0.15, +0.25, +0.01 and -0.08 for the four events)."""
    history, events = sample_subset
    unknown = [e.__class__(e.name, e.start, e.end, None, e.channel, e.kind) for e in events]
    measured = estimate_uplift(history, unknown)
    assert len(measured) == len(events)
    assert (measured["coverage"] == 1).all()
    for name, part in measured.groupby("name"):
        truth = next(e.uplift for e in events if e.name == name)
        pooled = part["observed"].sum() / part["expected"].sum() - 1
        assert abs(pooled - truth) < 0.4, (name, pooled, truth)


def test_benchmark_smoke():
    """benchmarks/bench_spikes.py on its tiny inputs, so that it cannot rot (timings not asserted)."""
    from benchmarks import bench_spikes

    result = bench_spikes.run(smoke=True)
    assert set(result) == {"title", "markdown", "figures"}
    figures = result["figures"]
    assert figures["nab_recall_15min"] >= 0.75 and "Twitter_volume_AMZN" in result["markdown"]
    assert figures["sample_pairs"] == 2 and figures["sample_found"] == 2 and figures["sample_false_windows"] == 0
    assert figures["detect_seconds"] > 0 and figures["baseline_seconds"] > 0
