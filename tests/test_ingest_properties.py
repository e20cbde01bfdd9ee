"""Property-based tests at the input boundary: messy exports either ingest with every message
counted, or fail with an IngestError naming the file; never any other exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.ingest import IngestError, IngestOptions, ingest_files
from tests.conftest import NOW, TZ, iso_text

# starts near the daylight-saving changes, so the 23- and 25-hour days are hit often
STARTS = ["2024-03-20", "2024-10-20", "2025-03-25", "2025-10-22", "2025-06-01", "2024-12-20"]
TIME_NAMES = ["created_at", "Timestamp", "DATUM TIJD", "tijdstip", "Created At", "ds"]
CHANNEL_NAMES = ["channel", "Kanaal", "platform", "Source"]
FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"]
MESSY_TEXT = st.text(alphabet=st.sampled_from(list("abc ,;\t\"'\nëé€@#")), max_size=30)


@st.composite
def message_exports(draw):
    start = pd.Timestamp(draw(st.sampled_from(STARTS)), tz=TZ)
    days = draw(st.integers(min_value=10, max_value=40))
    n = draw(st.integers(min_value=1, max_value=300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    seconds = np.sort(rng.integers(0, days * 86400, n))
    if draw(st.booleans()):  # crowd the repeated hour of the 25-hour day (or the skipped one)
        seconds[: n // 2] = np.sort(rng.integers(0, 86400, n // 2)) + 86400 * draw(st.integers(0, days - 1))
        seconds = np.sort(seconds)
    times = (start.tz_convert("UTC") + pd.to_timedelta(seconds, unit="s")).tz_convert(TZ)
    times = pd.DatetimeIndex(times)
    stamp_kind = draw(st.sampled_from(["naive", "offset", "utc"]))
    if stamp_kind == "naive":
        fmt = draw(st.sampled_from(FORMATS))
        stamps = np.asarray(times.tz_localize(None).strftime(fmt), dtype=object)
    elif stamp_kind == "offset":
        stamps = iso_text(times).astype(object)
    else:
        stamps = np.asarray(times.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"), dtype=object)
    corruption = draw(st.sampled_from(["none", "none", "garbage", "empty", "mixed"]))
    if corruption != "none":
        rows = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3, unique=True))
        for r in rows:
            if corruption == "garbage":
                stamps[r] = draw(st.sampled_from(["gisteren", "31-02-2025 10:00", "2025-13-01 10:00", "??"]))
            elif corruption == "empty":
                stamps[r] = ""
            else:
                stamps[r] = times[r].tz_localize(None).strftime("%Y-%m-%d %H:%M:%S") if stamp_kind != "naive" else iso_text(times[r : r + 1])[0]
    frame = pd.DataFrame({draw(st.sampled_from(TIME_NAMES)): stamps})
    if draw(st.booleans()):
        frame[draw(st.sampled_from(CHANNEL_NAMES))] = rng.choice(["WhatsApp", "x", "Facebook", ""], n)
    if draw(st.booleans()):
        texts = draw(st.lists(MESSY_TEXT, min_size=1, max_size=5))
        frame["bericht"] = [texts[i % len(texts)] for i in range(n)]
    sep = draw(st.sampled_from([",", ";", "\t"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return frame, sep, encoding


@st.composite
def count_exports(draw):
    start = pd.Timestamp(draw(st.sampled_from(STARTS)), tz=TZ)
    days = draw(st.integers(min_value=10, max_value=30))
    hours = pd.date_range(start.tz_convert("UTC"), periods=days * 24, freq="1h").tz_convert(TZ)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keep = rng.random(len(hours)) < draw(st.sampled_from([0.05, 0.5, 1.0]))
    keep[0] = True
    hours = hours[keep]
    counts = rng.integers(0, 500, len(hours)).astype(object)
    stamps = np.asarray(hours.tz_localize(None).strftime("%Y-%m-%d %H:%M"), dtype=object)
    corruption = draw(st.sampled_from(["none", "none", "negative", "text", "duplicate"]))
    if corruption != "none":
        r = draw(st.integers(0, len(hours) - 1))
        if corruption == "negative":
            counts[r] = -draw(st.integers(1, 9))
        elif corruption == "text":
            counts[r] = "veel"
        elif len(hours) > 1:
            stamps[r] = stamps[r - 1] if r > 0 else stamps[1]
    frame = pd.DataFrame({draw(st.sampled_from(["interval", "ds", "datum_tijd"])): stamps, draw(st.sampled_from(["aantal", "count", "y", "Volume"])): counts})
    return frame, draw(st.sampled_from([",", ";"])), "utf-8"


def _ingest(frame: pd.DataFrame, sep: str, encoding: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "messy export.csv"
        try:
            frame.to_csv(path, sep=sep, index=False, encoding=encoding)
        except UnicodeEncodeError:
            frame.to_csv(path, sep=sep, index=False, encoding="utf-8")
        try:
            return ingest_files([path], IngestOptions(now=NOW, min_history_days=14)), None
        except IngestError as exc:
            return None, exc


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(message_exports())
def test_messy_message_exports_count_every_message_or_fail_clearly(export):
    frame, sep, encoding = export
    result, error = _ingest(frame, sep, encoding)
    if error is not None:
        assert error.problems
        for problem in error.problems:
            assert problem.file == "messy export.csv"
            assert problem.message
            assert problem.column is None or problem.column in frame.columns
            assert all(2 <= row <= len(frame) + 1 for row in problem.rows)
        return
    # rows whose timestamp and channel are both empty are blank lines, skipped and reported
    read = [c for c in frame.columns if c != "bericht"]
    blank = (frame[read].astype(str) == "").all(axis=1)
    assert int(result.history["y"].sum()) == len(frame) - int(blank.sum())
    assert len(result.messages) == len(frame) - int(blank.sum())
    if blank.any():
        assert any("blank row(s) skipped" in note for note in result.report.files[0].notes)
    # every interval of the span is present exactly once per channel
    for _, part in result.history.groupby("channel"):
        steps = part["ds"].diff().dropna()
        assert (steps == pd.Timedelta("1h")).all()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(count_exports())
def test_messy_count_exports_keep_the_total_or_fail_clearly(export):
    frame, sep, encoding = export
    result, error = _ingest(frame, sep, encoding)
    if error is not None:
        for problem in error.problems:
            assert problem.file == "messy export.csv"
            assert problem.column is None or problem.column in frame.columns
        return
    counts = pd.to_numeric(frame.iloc[:, 1])
    assert int(result.history["y"].sum()) == int(counts.sum())
    assert result.history["y"].notna().all()
