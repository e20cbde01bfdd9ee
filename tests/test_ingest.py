"""Ingestion of exports into the canonical history: formats, shapes, time zones, DST, gaps."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from forecast.ingest import (
    ColumnChoice,
    IngestError,
    IngestOptions,
    floor_local,
    history_to_csv,
    ingest_files,
    read_history,
)
from tests.conftest import NOW, TZ, iso_text, message_times, naive_local_text

OPTS = IngestOptions(now=NOW)


def opts(**kwargs) -> IngestOptions:
    return IngestOptions(**{"now": NOW, **kwargs})


def messages_frame(times: pd.DatetimeIndex, seed: int = 1, **columns) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "created_at": naive_local_text(times),
        "channel": rng.choice(["whatsapp", "facebook", "x"], len(times)),
        "message_id": [f"m{i}" for i in range(len(times))],
        "handle_time_seconds": rng.integers(30, 600, len(times)),
        "label": rng.choice(["question", "complaint"], len(times)),
        "text": "Hallo, mijn pakket is niet aangekomen; kunnen jullie \"even\" kijken?",
        "author": "@someone",
    })
    for name, value in columns.items():
        frame[name] = value
    return frame


def day_rows(history: pd.DataFrame, date: str) -> pd.DataFrame:
    return history[history["ds"].dt.strftime("%Y-%m-%d") == date]


# --- message level -------------------------------------------------------------------------


def test_message_level_counts_every_message_and_drops_personal_data(tmp_export):
    times = message_times("2025-03-01", 21, per_hour=3)
    path = tmp_export(messages_frame(times))
    result = ingest_files([path], OPTS)
    assert int(result.history["y"].sum()) == len(times)
    assert set(result.history["channel"]) == {"whatsapp", "facebook", "x"}
    assert list(result.history.columns) == ["channel", "ds", "y"]
    assert str(result.history["ds"].dt.tz) == TZ
    # message details kept, text and author not
    assert len(result.messages) == len(times)
    assert {"message_id", "case_id", "handle_time_seconds", "label"} <= set(result.messages.columns)
    assert "text" not in result.messages.columns and "author" not in result.messages.columns
    assert result.report.files[0].ignored_columns == ["text", "author"]
    assert result.messages["handle_time_seconds"].between(30, 600).all()


def test_spring_forward_day_has_23_hours_and_fall_back_day_25(tmp_export):
    times = message_times("2025-03-20", 45, per_hour=2)  # spans 30 March and 26 October? no: 30 March only
    times = times.append(message_times("2025-10-15", 20, per_hour=2, seed=3))
    path = tmp_export(messages_frame(times))
    result = ingest_files([path], opts(freq="1h"))
    hist = result.history
    for channel in ["whatsapp", "facebook", "x"]:
        one = hist[hist["channel"] == channel]
        assert len(day_rows(one, "2025-03-30")) == 23
        assert len(day_rows(one, "2025-10-26")) == 25
    # the two 02:00 hours of 26 October each hold their two messages
    fall = day_rows(hist, "2025-10-26").groupby("ds")["y"].sum()
    assert (fall == 2).all() and len(fall) == 25
    assert int(hist["y"].sum()) == len(times)


@pytest.mark.parametrize("freq,per_day_spring,per_day_fall", [("15min", 92, 100), ("30min", 46, 50), ("1h", 23, 25)])
def test_dst_days_at_every_interval(tmp_export, freq, per_day_spring, per_day_fall):
    times = message_times("2025-03-25", 10, per_hour=4).append(message_times("2025-10-20", 14, per_hour=4, seed=5))
    frame = messages_frame(times)
    frame["channel"] = "whatsapp"
    result = ingest_files([tmp_export(frame)], opts(freq=freq, min_history_days=0))
    hist = result.history
    assert len(day_rows(hist, "2025-03-30")) == per_day_spring
    assert len(day_rows(hist, "2025-10-26")) == per_day_fall
    assert int(hist["y"].sum()) == len(times)


def test_repeated_hour_in_a_file_sorted_newest_first(tmp_export):
    times = message_times("2025-10-20", 14, per_hour=2)
    frame = messages_frame(times).iloc[::-1]
    result = ingest_files([tmp_export(frame)], opts())
    fall = day_rows(result.history, "2025-10-26").groupby("ds")["y"].sum()
    assert len(fall) == 25 and (fall == 2).all()


def test_aware_timestamps_with_two_offsets_are_normal(tmp_export):
    times = message_times("2025-10-15", 20, per_hour=2)
    frame = messages_frame(times)
    frame["created_at"] = iso_text(times)
    result = ingest_files([tmp_export(frame)], opts())
    assert int(result.history["y"].sum()) == len(times)
    fall = day_rows(result.history, "2025-10-26").groupby("ds")["y"].sum()
    assert len(fall) == 25 and (fall == 2).all()


def test_utc_stamps_are_converted_to_the_team_zone(tmp_export):
    frame = pd.DataFrame({"timestamp": ["2025-01-06T07:30:00Z"] * 3 + ["2025-01-27T07:30:00Z"], "channel": "x"})
    result = ingest_files([tmp_export(frame)], opts())
    first = result.history.iloc[0]
    assert first["ds"] == pd.Timestamp("2025-01-06 08:00", tz=TZ)
    assert first["y"] == 3


def test_offsets_are_local_flag_reads_the_clock_time(tmp_export):
    frame = pd.DataFrame({"DateTime": ["2003-03-03T07:00:00Z", "2003-03-03T07:05:00Z", "2003-03-24T07:00:00Z"], "Calls": [5, 6, 7]})
    result = ingest_files([tmp_export(frame)], opts(offsets_are_local=True, tz="America/New_York"))
    first = result.history.iloc[0]
    assert first["ds"] == pd.Timestamp("2003-03-03 07:00", tz="America/New_York")
    assert first["y"] == 11
    assert any("local clock time" in n for n in result.report.files[0].notes)


def test_source_tz_for_naive_utc_exports(tmp_export):
    frame = pd.DataFrame({"timestamp": ["2015-03-01 10:02:53", "2015-03-20 10:07:53"], "value": [4, 5]})
    result = ingest_files([tmp_export(frame)], opts(source_tz="UTC"))
    assert result.history.iloc[0]["ds"] == pd.Timestamp("2015-03-01 11:00", tz=TZ)


# --- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sep,encoding",
    [(",", "utf-8"), (";", "utf-8"), ("\t", "utf-8"), (";", "utf-8-sig"), (";", "cp1252"), (",", "utf-16")],
)
def test_csv_delimiters_and_encodings(tmp_export, sep, encoding):
    times = message_times("2025-02-01", 15, per_hour=1)
    frame = messages_frame(times)
    frame["label"] = "klacht über café"  # non-ASCII survives each encoding
    path = tmp_export(frame, sep=sep, encoding=encoding)
    result = ingest_files([path], OPTS)
    assert int(result.history["y"].sum()) == len(times)
    assert set(result.messages["label"]) == {"klacht über café"}


def test_xlsx_parquet_and_gzip(tmp_export, tmp_path):
    times = message_times("2025-02-01", 15, per_hour=1)
    frame = messages_frame(times)
    for name in ("export.xlsx", "export.parquet"):
        result = ingest_files([tmp_export(frame, name)], OPTS)
        assert int(result.history["y"].sum()) == len(times), name
    csv_path = tmp_export(frame, "plain.csv")
    gz = tmp_path / "export.csv.gz"
    gz.write_bytes(gzip.compress(csv_path.read_bytes()))
    assert int(ingest_files([gz], OPTS).history["y"].sum()) == len(times)


def test_parquet_with_zoned_datetimes(tmp_export):
    times = message_times("2025-10-15", 20, per_hour=2)
    frame = pd.DataFrame({"created_at": times, "platform": "WhatsApp"})
    result = ingest_files([tmp_export(frame, "export.parquet")], OPTS)
    assert set(result.history["channel"]) == {"whatsapp"}
    assert len(day_rows(result.history, "2025-10-26")) == 25
    assert int(result.history["y"].sum()) == len(times)


def test_dutch_column_names_and_date_time_columns(tmp_export):
    times = message_times("2025-05-01", 15, per_hour=2)
    frame = pd.DataFrame({
        "Datum": times.strftime("%d-%m-%Y"),
        "Tijd": times.strftime("%H:%M"),
        "Kanaal": "Facebook",
        "Afhandeltijd": "00:03:30",
        "Bericht": "tekst",
    })
    result = ingest_files([tmp_export(frame, sep=";")], OPTS)
    assert int(result.history["y"].sum()) == len(times)
    assert result.report.files[0].columns == {"date": "Datum", "time": "Tijd", "channel": "Kanaal", "handle_time": "Afhandeltijd"}
    assert (result.messages["handle_time_seconds"] == 210).all()
    # 1 May: the first message is at 00:xx local
    assert result.history.iloc[0]["ds"] == pd.Timestamp("2025-05-01 00:00", tz=TZ)


def test_interval_counts_with_interval_labels_and_hours(tmp_export):
    days = pd.date_range("2025-01-06", periods=15, freq="D")
    rows = [{"datum": d.strftime("%Y-%m-%d"), "tijd": f"{h:02d}:00 - {h + 1:02d}:00", "aantal": h} for d in days for h in range(24)]
    result = ingest_files([tmp_export(pd.DataFrame(rows))], OPTS)
    assert result.report.files[0].shape == "counts"
    assert int(result.history["y"].sum()) == 15 * sum(range(24))
    assert result.history.iloc[17]["y"] == 17


def test_named_columns_override_detection(tmp_export):
    times = message_times("2025-02-01", 15, per_hour=1)
    frame = pd.DataFrame({"when": naive_local_text(times), "src": "forum", "created_at": "not a time"})
    choice = ColumnChoice(timestamp="when", channel="src")
    result = ingest_files([tmp_export(frame)], opts(columns=choice))
    assert set(result.history["channel"]) == {"forum"}
    assert int(result.history["y"].sum()) == len(times)


def test_day_first_by_default_month_first_by_flag_or_evidence(tmp_export):
    ambiguous = pd.DataFrame({"date": ["03/05/2025 10:00", "04/05/2025 10:00"], "count": [1, 2]})
    path = tmp_export(ambiguous)
    dutch = ingest_files([path], opts(min_history_days=0))
    assert dutch.history.iloc[0]["ds"] == pd.Timestamp("2025-05-03 10:00", tz=TZ)
    us = ingest_files([path], opts(dayfirst=False, min_history_days=0))
    assert us.history.iloc[0]["ds"] == pd.Timestamp("2025-03-05 10:00", tz=TZ)
    # a 25th "month" settles it: the file is month-first whatever the default
    evident = tmp_export(pd.DataFrame({"date": ["03/05/2025 10:00", "03/25/2025 10:00"], "count": [1, 2]}), "us.csv")
    assert ingest_files([evident], opts(min_history_days=0)).history.iloc[0]["ds"] == pd.Timestamp("2025-03-05 10:00", tz=TZ)


# --- counts, filling and gaps ------------------------------------------------------------------


def test_count_data_on_dst_days_two_rows_for_the_repeated_hour(tmp_export):
    # an export with naive local hours: 02:00 appears twice on 26 October, is absent on 30 March
    utc = pd.date_range(pd.Timestamp("2025-03-25", tz=TZ), pd.Timestamp("2025-11-05", tz=TZ), freq="1h", inclusive="left")
    local = utc.tz_convert(TZ)
    frame = pd.DataFrame({"interval": naive_local_text(local, "%Y-%m-%d %H:%M"), "count": np.arange(len(local)) % 7})
    result = ingest_files([tmp_export(frame)], opts())
    hist = result.history
    assert len(day_rows(hist, "2025-03-30")) == 23
    fall = day_rows(hist, "2025-10-26")
    assert len(fall) == 25
    assert int(hist["y"].sum()) == int(frame["count"].sum())
    # first 02:00 row is summer time, the second winter time
    twice = frame[frame["interval"] == "2025-10-26 02:00"]["count"].tolist()
    got = fall[fall["ds"].dt.hour == 2].sort_values("ds")["y"].tolist()
    assert got == twice


def test_absent_rows_inside_an_export_are_zero_and_reported(tmp_export):
    frame = pd.DataFrame({"ds": ["2025-01-01 08:00", "2025-01-01 10:00", "2025-01-20 09:00"], "y": [3, 4, 5]})
    result = ingest_files([tmp_export(frame)], opts())
    hist = result.history
    assert len(hist) == 19 * 24 + 2
    assert int(hist["y"].sum()) == 12
    assert hist["y"].isna().sum() == 0
    assert result.report.filled_zero_intervals == len(hist) - 3


def test_gap_between_files_is_missing_not_zero(tmp_export):
    a = pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=10 * 24, freq="1h").strftime("%Y-%m-%d %H:%M"), "y": 1})
    b = pd.DataFrame({"ds": pd.date_range("2025-01-15", periods=10 * 24, freq="1h").strftime("%Y-%m-%d %H:%M"), "y": 2})
    result = ingest_files([tmp_export(a, "jan_a.csv"), tmp_export(b, "jan_b.csv")], opts())
    hist = result.history
    assert hist["y"].isna().sum() == 4 * 24
    assert len(result.report.gaps) == 1
    gap = result.report.gaps[0]
    assert gap.intervals == 96
    assert gap.start == pd.Timestamp("2025-01-11 00:00", tz=TZ)
    assert gap.end == pd.Timestamp("2025-01-14 23:00", tz=TZ)
    assert int(hist["y"].sum()) == 240 + 480


def test_canonical_csv_round_trip_keeps_gaps_and_offsets(tmp_export, tmp_path):
    a = pd.DataFrame({"ds": pd.date_range("2025-10-01", periods=10 * 24, freq="1h").strftime("%Y-%m-%d %H:%M"), "y": 1})
    b = pd.DataFrame({"ds": pd.date_range("2025-10-20", periods=10 * 24, freq="1h").strftime("%Y-%m-%d %H:%M"), "y": 2})
    result = ingest_files([tmp_export(a, "a.csv"), tmp_export(b, "b.csv")], opts())
    out = tmp_path / "history.csv"
    history_to_csv(result.history, out)
    text = out.read_text()
    assert "2025-10-26T02:00:00+02:00" in text and "2025-10-26T02:00:00+01:00" in text
    again = read_history(out)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), result.history.reset_index(drop=True))


def test_files_with_message_ids_are_deduplicated(tmp_export):
    times = message_times("2025-02-01", 20, per_hour=2)
    frame = messages_frame(times)
    first = tmp_export(frame.iloc[: len(frame) * 2 // 3], "part1.csv")
    second = tmp_export(frame.iloc[len(frame) // 3 :], "part2.csv")
    result = ingest_files([first, second], OPTS)
    assert int(result.history["y"].sum()) == len(times)
    overlap = len(frame) * 2 // 3 - len(frame) // 3
    assert result.report.duplicates_removed == overlap
    assert len(result.messages) == len(times)
    assert not result.report.overlaps


def test_overlap_without_ids_is_reported_and_not_double_counted(tmp_export):
    a = pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=15 * 24, freq="1h").strftime("%Y-%m-%d %H:%M"), "y": 1})
    b = pd.DataFrame({"ds": pd.date_range("2025-01-10", periods=15 * 24, freq="1h").strftime("%Y-%m-%d %H:%M"), "y": 5})
    result = ingest_files([tmp_export(a, "a.csv"), tmp_export(b, "b.csv")], opts())
    overlap_hours = 6 * 24
    assert int(result.history["y"].sum()) == 15 * 24 * 1 + (15 * 24 - overlap_hours) * 5
    assert len(result.report.overlaps) == 1
    assert "b.csv" in result.report.overlaps[0] and f"{overlap_hours:,} intervals" in result.report.overlaps[0]


def test_files_per_channel_do_not_overlap(tmp_export):
    times = message_times("2025-02-01", 15, per_hour=1)
    fb = pd.DataFrame({"created_at": naive_local_text(times)})
    wa = pd.DataFrame({"created_at": naive_local_text(times), "channel": "whatsapp"})
    fb["channel"] = "facebook"
    result = ingest_files([tmp_export(fb, "fb.csv"), tmp_export(wa, "wa.csv")], OPTS)
    assert not result.report.overlaps
    assert int(result.history["y"].sum()) == 2 * len(times)


def test_finer_counts_are_summed_into_the_interval(tmp_export):
    stamps = pd.date_range("2025-02-01 00:02:53", periods=15 * 24 * 12, freq="5min")
    frame = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": 2})
    result = ingest_files([tmp_export(frame)], opts(freq="30min"))
    assert int(result.history["y"].sum()) == 2 * len(stamps)
    assert result.history["y"].iloc[1] == 12


def test_floor_local_handles_half_hour_zones():
    utc = pd.DatetimeIndex(["2025-01-01 04:45"]).tz_localize("UTC")  # 10:15 in Kolkata (+05:30)
    floored = floor_local(utc.as_unit("ns").asi8, "Asia/Kolkata", pd.Timedelta("1h").value)
    assert pd.Timestamp(int(floored[0]), tz="UTC").tz_convert("Asia/Kolkata") == pd.Timestamp("2025-01-01 10:00", tz="Asia/Kolkata")


# --- bad input ----------------------------------------------------------------------------------


def problems_of(paths, options=OPTS) -> list:
    with pytest.raises(IngestError) as info:
        ingest_files(paths, options)
    return info.value.problems


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    (problem,) = problems_of([path])
    assert problem.file == "empty.csv" and "empty" in problem.message


def test_header_only(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("timestamp,channel\n")
    (problem,) = problems_of([path])
    assert "no data rows" in problem.message


def test_no_timestamp_column_lists_the_columns(tmp_export):
    path = tmp_export(pd.DataFrame({"wanneer": ["x"], "wat": ["y"]}))
    (problem,) = problems_of([path])
    assert "no timestamp column" in problem.message and "wanneer, wat" in problem.message and "--timestamp-col" in problem.message


def test_unparseable_timestamps_name_rows_and_column(tmp_export):
    times = message_times("2025-02-01", 15, per_hour=1)
    frame = pd.DataFrame({"created_at": naive_local_text(times)})
    frame.loc[[3, 10], "created_at"] = ["yesterday", "31-02-2025 10:00"]
    (problem,) = problems_of([tmp_export(frame, "bad.csv")])
    assert problem.file == "bad.csv" and problem.column == "created_at"
    assert problem.rows == (5, 12)  # header is row 1
    assert "bad.csv, column 'created_at', rows 5, 12" in str(problem)


def test_row_numbers_count_blank_lines_and_values_spanning_lines(tmp_path):
    stamps = pd.date_range("2025-02-01", periods=15 * 24, freq="1h").strftime("%Y-%m-%d %H:%M")
    lines = ["created_at,text"]
    for i, stamp in enumerate(stamps):
        if i == 5:
            lines.append("")  # a blank line: a row of its own in a spreadsheet
        text = '"two\nlines"' if i == 3 else "plain"
        lines.append(f"{'not a time' if i == 9 else stamp},{text}")
    path = tmp_path / "odd.csv"
    path.write_text("\n".join(lines) + "\n")
    (problem,) = problems_of([path])
    # data record 9 is the 10th record after the header (row 11), pushed down one by the blank line
    assert problem.rows == (12,)


def test_semicolon_rows_are_skipped_and_reported(tmp_path):
    stamps = pd.date_range("2025-02-01", periods=15 * 24, freq="1h").strftime("%Y-%m-%d %H:%M")
    path = tmp_path / "excel.csv"
    path.write_text("datum;kanaal\n" + "\n".join(f"{s};x" for s in stamps) + "\n;\n;\n")
    result = ingest_files([path], OPTS)
    assert int(result.history["y"].sum()) == len(stamps)
    assert any("2 blank row(s) skipped (rows 362, 363)" in n for n in result.report.files[0].notes)


def test_negative_and_non_numeric_counts(tmp_export):
    frame = pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=20 * 24, freq="1h").strftime("%Y-%m-%d %H:%M"), "count": "1"})
    frame.loc[4, "count"] = "-3"
    frame.loc[7, "count"] = "veel"
    frame.loc[9, "count"] = "2.5"
    problems = problems_of([tmp_export(frame)])
    by_message = {p.message: p for p in problems}
    assert by_message["count is negative"].rows == (6,)
    assert by_message["count is not a number"].rows == (9,)
    assert by_message["count is not a whole number"].rows == (11,)
    assert all(p.column == "count" for p in problems)


def test_duplicate_intervals_in_count_data(tmp_export):
    stamps = list(pd.date_range("2025-01-01", periods=20 * 24, freq="1h").strftime("%Y-%m-%d %H:%M"))
    stamps[30] = stamps[29]
    frame = pd.DataFrame({"ds": stamps, "y": 1})
    (problem,) = problems_of([tmp_export(frame)])
    assert "more than once" in problem.message and problem.rows == (31, 32)


def test_mixed_naive_and_zoned(tmp_export):
    times = message_times("2025-02-01", 15, per_hour=1)
    text = iso_text(times)
    text[[2, 8]] = naive_local_text(times)[[2, 8]]
    (problem,) = problems_of([tmp_export(pd.DataFrame({"created_at": text}))])
    assert "mixes timestamps" in problem.message and problem.rows == (4, 10)


def test_dates_in_the_future(tmp_export):
    times = message_times("2026-11-01", 15, per_hour=1)
    frame = pd.DataFrame({"created_at": naive_local_text(times)})
    (problem,) = problems_of([tmp_export(frame)], opts(now=pd.Timestamp("2026-11-10", tz="UTC")))
    assert "future" in problem.message and problem.n_rows > 100


def test_less_than_14_days(tmp_export):
    times = message_times("2025-02-01", 13, per_hour=1)
    (problem,) = problems_of([tmp_export(pd.DataFrame({"created_at": naive_local_text(times)}))])
    assert "13.0 days" in problem.message and "14" in problem.message


def test_daily_counts_cannot_be_split_into_hours(tmp_export):
    frame = pd.DataFrame({"datum": pd.date_range("2025-01-01", periods=30).strftime("%Y-%m-%d"), "aantal": 100})
    (problem,) = problems_of([tmp_export(frame)])
    assert "cannot be split" in problem.message


def test_unsupported_interval_and_zone():
    problems = problems_of(["whatever.csv"], opts(freq="2h", tz="Mars/Olympus"))
    assert {p.file for p in problems} == {"--freq", "--tz"}


def test_every_bad_file_is_reported_at_once(tmp_path, tmp_export):
    empty = tmp_path / "a.csv"
    empty.write_text("")
    missing = tmp_path / "nope.csv"
    problems = problems_of([empty, missing])
    assert [p.file for p in problems] == ["a.csv", "nope.csv"]


# --- shapes found in review ---------------------------------------------------------------------


def test_utc_and_gmt_suffixes_keep_day_and_month(tmp_export):
    times = message_times("2025-09-01", 20, per_hour=1)
    for suffix in (" UTC", " GMT"):
        frame = pd.DataFrame({"created_at": [t + suffix for t in times.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")]})
        result = ingest_files([tmp_export(frame)], OPTS)
        assert result.history["ds"].min() == pd.Timestamp("2025-09-01 00:00", tz=TZ)
        assert int(result.history["y"].sum()) == len(times) and len(result.history) == 20 * 24


def test_day_first_stamps_with_an_offset(tmp_export):
    frame = pd.DataFrame({"created_at": ["05-03-2025 14:30 +01:00", "20-03-2025 09:00 +01:00"], "count": [2, 3]})
    result = ingest_files([tmp_export(frame)], opts(min_history_days=0))
    assert result.history.iloc[0]["ds"] == pd.Timestamp("2025-03-05 14:00", tz=TZ)


def test_consecutive_exports_split_inside_an_hour_add_up(tmp_export):
    times = message_times("2025-09-01", 20, per_hour=12)
    frame = messages_frame(times).drop(columns=["message_id"])
    cut = int(np.searchsorted(times, pd.Timestamp("2025-09-10 12:27", tz=TZ)))
    result = ingest_files([tmp_export(frame.iloc[:cut], "part1.csv"), tmp_export(frame.iloc[cut:], "part2.csv")], OPTS)
    assert int(result.history["y"].sum()) == len(times)
    assert not result.report.overlaps


def test_ids_that_number_each_export_are_not_duplicates(tmp_export):
    sep, okt = message_times("2025-09-01", 15, per_hour=2), message_times("2025-10-01", 15, per_hour=2, seed=4)
    first = pd.DataFrame({"created_at": naive_local_text(sep), "id": range(len(sep))})
    second = pd.DataFrame({"created_at": naive_local_text(okt), "id": range(len(okt))})
    repeated = pd.concat([first, first.iloc[:10]])  # the same id twice inside one file: both counted
    result = ingest_files([tmp_export(repeated, "sep.csv"), tmp_export(second, "okt.csv")], OPTS)
    assert result.report.duplicates_removed == 0
    assert int(result.history["y"].sum(skipna=True)) == len(repeated) + len(okt)


def test_month_first_dates_found_past_the_first_rows(tmp_export):
    stamps = pd.date_range("2025-01-01", "2025-02-27", freq="1h")
    frame = pd.DataFrame({"created_at": stamps.strftime("%m/%d/%Y %H:%M")})
    result = ingest_files([tmp_export(frame)], OPTS)
    assert int(result.history["y"].sum()) == len(stamps)
    assert result.history["ds"].min() == pd.Timestamp("2025-01-01 00:00", tz=TZ)


def test_am_pm_in_a_separate_time_column(tmp_export):
    stamps = pd.date_range("2025-09-01 01:23", periods=15 * 24, freq="1h")
    frame = pd.DataFrame({"date": stamps.strftime("%m/%d/%Y"), "time": stamps.strftime("%I:%M:%S %p")})
    result = ingest_files([tmp_export(frame)], opts(dayfirst=False))
    hist = result.history
    assert hist[hist["ds"] == pd.Timestamp("2025-09-01 13:00", tz=TZ)]["y"].item() == 1
    assert int(hist["y"].sum()) == len(stamps)


def test_epoch_seconds_are_refused_not_misread(tmp_export):
    frame = pd.DataFrame({"created_at": (pd.date_range("2025-09-01", periods=400, freq="1h").astype("int64") // 10**9).astype(str)})
    (problem,) = problems_of([tmp_export(frame)])
    assert "cannot read these timestamps" in problem.message and problem.n_rows == 400


def test_dutch_thousands_and_decimal_commas_in_counts(tmp_export):
    ds = pd.date_range("2025-01-01", periods=15 * 24, freq="1h").strftime("%Y-%m-%d %H:%M")
    frame = pd.DataFrame({"ds": ds, "aantal": ["1.234", "41,0", "7"] * (len(ds) // 3)})
    result = ingest_files([tmp_export(frame, sep=";")], OPTS)
    assert list(result.history["y"].iloc[:3]) == [1234, 41, 7]


def test_row_numbers_after_a_line_of_spaces(tmp_path):
    stamps = list(pd.date_range("2025-02-01", periods=15 * 24, freq="1h").strftime("%Y-%m-%d %H:%M"))
    stamps[8] = "bad"
    lines = ["created_at,channel"] + [f"{s},x" for s in stamps[:5]] + ["   "] + [f"{s},x" for s in stamps[5:]]
    path = tmp_path / "spaces.csv"
    path.write_text("\n".join(lines) + "\n")
    (problem,) = problems_of([path])
    # rows 2-6, the line of spaces (row 7), then stamps[5:] from row 8: stamps[8] is on row 11
    assert problem.rows == (11,)


def test_a_cp1252_byte_past_the_sniffed_start(tmp_path):
    stamps = pd.date_range("2025-02-01", periods=20 * 24 * 30, freq="2min").strftime("%Y-%m-%d %H:%M:%S")
    rows = [f"{s},whatsapp,{'x' * 40}" for s in stamps]
    rows[-5] = f"{stamps[-5]},caf\xe9,{'x' * 40}"  # in a column that is read
    path = tmp_path / "late.csv"
    path.write_bytes(("created_at,channel,bericht\n" + "\n".join(rows) + "\n").encode("cp1252"))
    assert path.stat().st_size > 256 * 1024
    result = ingest_files([path], OPTS)
    assert int(result.history["y"].sum()) == len(stamps)
    assert "café" in set(result.history["channel"])
