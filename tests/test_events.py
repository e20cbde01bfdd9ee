"""Known events (forecast/events.py): reading and writing events files, masks over a history,
measuring past uplifts, and scaling a forecast inside event windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.events import (
    KINDS,
    UPLIFT_COLUMNS,
    Event,
    apply_events,
    estimate_uplift,
    events_frame,
    events_from_frame,
    parse_uplift,
    past_event_mask,
    read_events,
    write_events,
)
from forecast.ingest import IngestError
from forecast.timegrid import ForecastInputError
from tests.conftest import REPO, TZ


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


def write(tmp_path, text: str, name: str = "events.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Reading


def test_dates_are_whole_local_days_with_inclusive_end(tmp_path):
    path = write(tmp_path, "name,start,end,uplift\n"
                           "Black Friday,2025-11-28,2025-11-28,150\n"
                           "Clocks back,2025-10-25,2025-10-26,\n"
                           "Spring,2026-03-29,2026-03-29,-20%\n")
    bf, autumn, spring = read_events(path)
    assert bf == Event("Black Friday", ts("2025-11-28"), ts("2025-11-29"), 1.5, None, "other")
    assert autumn.end - autumn.start == pd.Timedelta(hours=49)  # 24 + 25 real hours
    assert autumn.uplift is None
    assert spring.end - spring.start == pd.Timedelta(hours=23)
    assert spring.uplift == pytest.approx(-0.2)


def test_times_naive_local_aware_converted_end_exclusive(tmp_path):
    path = write(tmp_path, "name,start,end\n"
                           "Outage,2026-02-12 16:00,2026-02-12 23:00\n"
                           "Zoned,2026-02-12T15:00:00Z,2026-02-12T22:00:00+00:00\n"
                           "Repeated hour,2025-10-26 02:30,2025-10-26 03:00\n"
                           "Skipped hour,2026-03-29 02:30,2026-03-29 04:00\n")
    outage, zoned, repeated, skipped = read_events(path)
    assert (outage.start, outage.end) == (ts("2026-02-12 16:00"), ts("2026-02-12 23:00"))
    assert (zoned.start, zoned.end) == (outage.start, outage.end)
    assert str(zoned.start.tz) == TZ
    assert repeated.start == pd.Timestamp("2025-10-26 02:30:00+02:00")  # first pass, summer time
    assert repeated.end - repeated.start == pd.Timedelta(minutes=90)
    assert skipped.start == pd.Timestamp("2026-03-29 03:00:00+02:00")  # moved to the end of the gap


def test_dutch_columns_day_first_dates_and_uplift_spellings(tmp_path):
    path = write(tmp_path, "Naam;Begin;Einde;Effect;Kanaal;Soort\n"
                           "Zomeractie;01-07-2026;03-07-2026;25%;WhatsApp;campagne\n"
                           "Storing;12-02-2026 16:00;12-02-2026 23:00;+400;x, facebook;storing\n"
                           "Staking;10-03-2026;11-03-2026;-50 %;alle;staking\n"
                           "Koningsdag;27-04-2026;27-04-2026;12,5;;feestdag\n"
                           "Nieuwsbrief;05-05-2026;;+10;instagram;\n")
    events = read_events(path)
    assert [e.name for e in events] == ["Zomeractie", "Storing", "Storing", "Staking", "Koningsdag", "Nieuwsbrief"]
    assert events[0] == Event("Zomeractie", ts("2026-07-01"), ts("2026-07-04"), 0.25, "whatsapp", "campaign")
    assert [e.channel for e in events[1:3]] == ["x", "facebook"]  # one event per channel
    assert events[1].kind == "outage" and events[1].uplift == pytest.approx(4.0)
    assert events[3].channel is None and events[3].kind == "strike" and events[3].uplift == pytest.approx(-0.5)
    assert events[4].uplift == pytest.approx(0.125) and events[4].kind == "holiday" and events[4].channel is None
    # an empty end after a date: that one day
    assert (events[5].start, events[5].end, events[5].kind) == (ts("2026-05-05"), ts("2026-05-06"), "other")


def test_xlsx_date_and_datetime_cells(tmp_path):
    frame = pd.DataFrame({
        "name": ["Campaign", "Outage"],
        "start": [pd.Timestamp("2026-07-01"), pd.Timestamp("2026-07-07 11:00")],
        "end": [pd.Timestamp("2026-07-03"), pd.Timestamp("2026-07-07 18:00")],
        "uplift": [25, None],
        "kind": ["campaign", "outage"],
    })
    path = tmp_path / "events.xlsx"
    frame.to_excel(path, index=False)
    campaign, outage = read_events(path)
    assert (campaign.start, campaign.end, campaign.uplift) == (ts("2026-07-01"), ts("2026-07-04"), 0.25)
    assert (outage.start, outage.end, outage.uplift) == (ts("2026-07-07 11:00"), ts("2026-07-07 18:00"), None)


def test_the_sample_events_file():
    events = read_events(REPO / "data" / "sample" / "events.csv")
    assert len(events) == 17  # 6 events over 2-4 channels each
    assert {e.name for e in events} == {"Black Friday campaign", "Mobile app login outage", "Price change letter",
                                        "Viral complaint video", "Postal strike delivery delays", "Payment provider outage"}
    payment = [e for e in events if e.name == "Payment provider outage"]
    assert {e.channel for e in payment} == {"whatsapp", "facebook", "instagram", "x"}
    assert all(e.uplift == 5.0 and e.end - e.start == pd.Timedelta(hours=7) for e in payment)


def test_duplicate_names_are_allowed(tmp_path):
    path = write(tmp_path, "name,start,end\nNewsletter,2026-01-05,2026-01-05\nNewsletter,2026-02-02,2026-02-02\n")
    assert [e.start for e in read_events(path)] == [ts("2026-01-05"), ts("2026-02-02")]


@pytest.mark.parametrize("text, column, rows, words", [
    ("name,start,end\nA,2026-03-05,2026-03-04\n", "end", "row 2", "before the start"),
    ("name,start,end\nA,2026-03-05 10:00,2026-03-05 10:00\n", "end", "row 2", "before the start"),
    ("name,start,end\nA,2026-03-05,2026-03-06\nB,yesterday,2026-03-06\n", "start", "row 3", "cannot read"),
    ("name,start,end\nA,2026-03-05 10:00,\n", "end", "row 2", "end is empty"),
    ("name,start,end\n,2026-03-05,2026-03-06\n", "name", "row 2", "no name"),
    ("name,start,end,uplift\nA,2026-03-05,2026-03-06,lots\n", "uplift", "row 2", "percentage"),
    ("name,start,end,uplift\nA,2026-03-05,2026-03-06,0.25\n", "uplift", "row 2", "looks like a fraction"),
    ("name,start,end,uplift\nA,2026-03-05,2026-03-06,-150\n", "uplift", "row 2", "below -100%"),
    ("name,start,end,kind\nA,2026-03-05,2026-03-06,party\n", "kind", "row 2", "campaign, outage"),
])
def test_errors_name_file_column_and_row(tmp_path, text, column, rows, words):
    path = write(tmp_path, text)
    with pytest.raises(IngestError) as info:
        read_events(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "events.csv" in message and f"column '{column}'" in message and rows in message and words in message


def test_every_problem_is_listed_at_once(tmp_path):
    path = write(tmp_path, "name,start,end,uplift\nA,2026-03-05,2026-03-01,10\nB,2026-03-05,2026-03-06,x\n")
    with pytest.raises(IngestError) as info:
        read_events(path)
    assert len(info.value.problems) == 2
    assert {p.column for p in info.value.problems} == {"end", "uplift"}


def test_missing_columns_and_empty_files(tmp_path):
    # without an end column every start must be a date: a list of days
    holidays = read_events(write(tmp_path, "naam,datum\nKoningsdag,27-04-2026\nKerst,25-12-2026\n"))
    assert [(e.start, e.end) for e in holidays] == [(ts("2026-04-27"), ts("2026-04-28")), (ts("2026-12-25"), ts("2026-12-26"))]
    with pytest.raises(IngestError, match="column 'end', row 3: the end is empty"):
        read_events(write(tmp_path, "name,start\nA,2026-03-05\nB,2026-03-05 10:00\n"))
    with pytest.raises(IngestError, match="missing: name"):
        read_events(write(tmp_path, "title2,start,end\nA,2026-03-05,2026-03-06\n"))
    with pytest.raises(IngestError, match="no rows"):
        read_events(write(tmp_path, "name,start,end\n"))
    with pytest.raises(IngestError, match="not found"):
        read_events(tmp_path / "absent.csv")
    with pytest.raises(ForecastInputError, match="unknown time zone"):
        read_events(write(tmp_path, "name,start\nA,2026-03-05\n"), tz="Mars/Olympus")


def test_parse_uplift():
    assert parse_uplift("25") == 0.25 and parse_uplift("25%") == 0.25 and parse_uplift(" -50 % ") == -0.5
    assert parse_uplift("+10") == pytest.approx(0.1) and parse_uplift("12,5") == pytest.approx(0.125)
    assert parse_uplift("") is None and parse_uplift("0") == 0.0 and parse_uplift("0.5%") == pytest.approx(0.005)
    assert parse_uplift("-100") == -1.0
    for bad in ("0.5", "25 percent", "1e3", "--5"):
        with pytest.raises(ValueError):
            parse_uplift(bad)


def test_event_validation():
    with pytest.raises(ForecastInputError, match="not after"):
        Event("A", ts("2026-01-02"), ts("2026-01-01"))
    with pytest.raises(ForecastInputError, match="time zone"):
        Event("A", pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02"))
    with pytest.raises(ForecastInputError, match="kind"):
        Event("A", ts("2026-01-01"), ts("2026-01-02"), kind="party")
    assert set(KINDS) == {"campaign", "outage", "strike", "holiday", "other"}


# --------------------------------------------------------------------------------------------
# Writing and display


def test_write_and_read_back(tmp_path):
    events = [
        Event("Black Friday", ts("2025-11-28"), ts("2025-11-29"), 1.5, "instagram", "campaign"),
        Event("Outage", pd.Timestamp("2025-10-26 02:30:00+01:00").tz_convert(TZ), ts("2025-10-26 05:00"), None, None, "outage"),
        Event("Strike, big", ts("2026-03-10 07:00"), ts("2026-03-12"), -0.125, None, "strike"),
    ]
    for name in ("events.csv", "events.xlsx"):
        write_events(events, tmp_path / name)
        assert read_events(tmp_path / name) == events
    text = (tmp_path / "events.csv").read_text().splitlines()
    assert text[0] == "name,start,end,uplift,channel,kind"
    assert text[2] == "Outage,2025-10-26T02:30:00+01:00,2025-10-26T05:00:00+01:00,,,outage"  # the second 02:30
    assert text[3] == '"Strike, big",2026-03-10T07:00:00+01:00,2026-03-12T00:00:00+01:00,-12.5%,,strike'
    with pytest.raises(ForecastInputError, match="csv or .xlsx"):
        write_events(events, tmp_path / "events.json")
    assert not (tmp_path / "events.json").exists()


def test_events_frame_and_back():
    events = [Event("Campaign", ts("2026-07-01"), ts("2026-07-04"), 0.25, "whatsapp", "campaign"),
              Event("Outage", ts("2026-07-07 11:00"), ts("2026-07-07 18:00"))]
    frame = events_frame(events)
    assert list(frame.columns) == ["name", "start", "end", "uplift_pct", "channel", "kind"]
    assert list(frame["uplift_pct"].fillna(-1)) == [25.0, -1] and list(frame["channel"]) == ["whatsapp", "all"]
    assert events_from_frame(frame) == events
    edited = frame.copy()
    edited.loc[1, "uplift_pct"] = 300
    assert events_from_frame(edited)[1].uplift == 3.0
    assert events_frame([]).empty
    bad = frame.assign(end=frame["start"] - pd.Timedelta(hours=1))
    with pytest.raises(IngestError, match="events table, column 'end', rows 2, 3"):
        events_from_frame(bad)


# --------------------------------------------------------------------------------------------
# Against a history


def hourly(start: str, days: int, channels=("whatsapp", "x"), value: float = 10.0) -> pd.DataFrame:
    first = ts(start)
    last = (pd.Timestamp(start) + pd.Timedelta(days=days)).tz_localize(TZ)
    ds = pd.date_range(first.tz_convert("UTC"), last.tz_convert("UTC"), freq="1h", inclusive="left").tz_convert(TZ)
    return pd.concat([pd.DataFrame({"channel": c, "ds": ds, "y": value}) for c in channels], ignore_index=True)


def test_past_event_mask():
    history = hourly("2026-03-02", 14)
    events = [Event("Campaign", ts("2026-03-04 10:30"), ts("2026-03-04 12:00"), 0.5, "x"),
              Event("Strike", ts("2026-03-10"), ts("2026-03-11"))]
    mask = past_event_mask(history, events)
    assert mask.index.equals(history.index) and mask.dtype == bool
    x_campaign = history[(history["channel"] == "x") & mask & (history["ds"] < ts("2026-03-05"))]
    assert list(x_campaign["ds"]) == [ts("2026-03-04 10:00"), ts("2026-03-04 11:00")]  # 10:00 partly covered
    assert not (mask & (history["channel"] == "whatsapp") & (history["ds"] < ts("2026-03-05"))).any()
    assert mask.sum() == 2 + 2 * 24
    assert not past_event_mask(history, []).any()


def test_estimate_uplift_against_surrounding_weeks():
    history = hourly("2026-01-05", 63, value=20.0)
    window = (history["ds"] >= ts("2026-02-04 12:00")) & (history["ds"] < ts("2026-02-04 18:00"))
    history.loc[window & (history["channel"] == "whatsapp"), "y"] = 50.0  # +150 %
    history.loc[window & (history["channel"] == "x"), "y"] = 30.0  # +50 %
    # the same campaign a week earlier: left out of the baseline because it is an event too
    earlier = (history["ds"] >= ts("2026-01-28 12:00")) & (history["ds"] < ts("2026-01-28 18:00"))
    history.loc[earlier, "y"] = 60.0
    events = [Event("Campaign", ts("2026-02-04 12:00"), ts("2026-02-04 18:00")),
              Event("Campaign", ts("2026-01-28 12:00"), ts("2026-01-28 18:00")),
              Event("Before the data", ts("2025-06-01"), ts("2025-06-02"))]
    measured = estimate_uplift(history, events)
    assert list(measured.columns) == UPLIFT_COLUMNS
    assert len(measured) == 4  # two events x two channels; the one before the data is left out
    first = measured[measured["start"] == ts("2026-02-04 12:00")].set_index("channel")
    assert first.loc["whatsapp", "uplift"] == pytest.approx(1.5)
    assert first.loc["x", "uplift"] == pytest.approx(0.5)
    assert first.loc["x", "intervals"] == 6 and first.loc["x", "coverage"] == 1.0
    second = measured[measured["start"] == ts("2026-01-28 12:00")].set_index("channel")
    assert second.loc["whatsapp", "uplift"] == pytest.approx(2.0)


def test_estimate_uplift_partial_intervals_and_coverage():
    history = hourly("2026-01-05", 42, channels=("x",), value=10.0)
    history.loc[history["ds"] == ts("2026-01-21 10:00"), "y"] = 30.0
    history.loc[history["ds"] == ts("2026-01-21 11:00"), "y"] = np.nan  # missing
    event = Event("Half", ts("2026-01-21 10:30"), ts("2026-01-21 12:00"), None, "x")
    row = estimate_uplift(history, [event]).iloc[0]
    assert row["intervals"] == 1 and row["coverage"] == pytest.approx(0.5 / 1.5)
    assert row["observed"] == pytest.approx(15.0) and row["expected"] == pytest.approx(5.0)
    assert row["uplift"] == pytest.approx(2.0)


# --------------------------------------------------------------------------------------------
# Against a forecast


def forecast_table(start: str = "2026-11-23", hours: int = 48, channels=("whatsapp", "x")) -> pd.DataFrame:
    ds = pd.date_range(ts(start), periods=hours, freq="1h")
    parts = []
    for c in channels:
        parts.append(pd.DataFrame({"channel": c, "ds": ds, "yhat": 10.0, "yhat_lower_80": 8.0, "yhat_upper_80": 12.0,
                                   "yhat_lower_95": 6.0, "yhat_upper_95": 15.0, "model": "profile"}))
    return pd.concat(parts, ignore_index=True)


def test_apply_events_scales_every_bound_pro_rata():
    forecast = forecast_table()
    events = [Event("Campaign", ts("2026-11-23 10:30"), ts("2026-11-23 13:00"), 1.0, "whatsapp", "campaign")]
    out, notes = apply_events(forecast, events)
    assert notes == [] and out.index.equals(forecast.index) and list(out.columns) == list(forecast.columns)
    wa = out[out["channel"] == "whatsapp"].set_index("ds")
    assert wa.loc[ts("2026-11-23 10:00"), "yhat"] == pytest.approx(15.0)  # half the hour: x1.5
    assert wa.loc[ts("2026-11-23 11:00"), "yhat"] == pytest.approx(20.0)
    assert list(wa.loc[ts("2026-11-23 12:00"), ["yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]]) == [16, 24, 12, 30]
    assert wa.loc[ts("2026-11-23 13:00"), "yhat"] == 10.0 and wa.loc[ts("2026-11-23 09:00"), "yhat"] == 10.0
    assert (out.loc[out["channel"] == "x", "yhat"] == 10.0).all()
    assert (out["model"] == "profile").all()
    assert (forecast["yhat"] == 10.0).all()  # the input is left alone


def test_apply_events_all_channels_overlaps_and_closures():
    forecast = forecast_table()
    events = [Event("Strike", ts("2026-11-23 00:00"), ts("2026-11-24 00:00"), 0.5, None, "strike"),
              Event("Outage", ts("2026-11-23 12:00"), ts("2026-11-23 14:00"), 1.0, "x", "outage"),
              Event("Closed", ts("2026-11-24 20:00"), ts("2026-11-25 08:00"), -1.0, None, "holiday"),
              Event("Past", ts("2026-01-01"), ts("2026-01-02"), 3.0)]
    out, notes = apply_events(forecast, events)
    x = out[out["channel"] == "x"].set_index("ds")["yhat"]
    wa = out[out["channel"] == "whatsapp"].set_index("ds")["yhat"]
    assert x[ts("2026-11-23 12:00")] == pytest.approx(30.0)  # x1.5 x2
    assert wa[ts("2026-11-23 12:00")] == pytest.approx(15.0)
    assert wa[ts("2026-11-24 21:00")] == 0.0 and (out["yhat_upper_95"] >= out["yhat"]).all()
    assert notes == []


def test_apply_events_without_uplift():
    history = hourly("2026-10-05", 49, value=20.0)
    past = (history["ds"] >= ts("2026-11-09 18:00")) & (history["ds"] < ts("2026-11-09 22:00"))
    history.loc[past & (history["channel"] == "whatsapp"), "y"] = 60.0
    history.loc[past & (history["channel"] == "x"), "y"] = 30.0
    forecast = forecast_table()
    events = [
        Event("Newsletter", ts("2026-11-09 18:00"), ts("2026-11-09 22:00"), None, None, "campaign"),  # in the history
        Event("newsletter", ts("2026-11-23 18:00"), ts("2026-11-23 22:00"), None, None, "campaign"),  # same name
        Event("Autumn sale", ts("2026-11-24 09:00"), ts("2026-11-24 10:00"), None, "x", "campaign"),  # same kind
        Event("Mystery", ts("2026-11-24 12:00"), ts("2026-11-24 13:00"), None, None, "other"),  # nothing to go on
        Event("Forum", ts("2026-11-24 12:00"), ts("2026-11-24 13:00"), 0.5, "forum"),  # unknown channel
    ]
    out, notes = apply_events(forecast, events, history=history)
    wa = out[out["channel"] == "whatsapp"].set_index("ds")["yhat"]
    x = out[out["channel"] == "x"].set_index("ds")["yhat"]
    assert wa[ts("2026-11-23 19:00")] == pytest.approx(30.0)  # +200 % measured on whatsapp
    assert x[ts("2026-11-23 19:00")] == pytest.approx(15.0)  # +50 % measured on x
    assert x[ts("2026-11-24 09:00")] == pytest.approx(15.0)  # same kind, measured on x
    assert wa[ts("2026-11-24 12:00")] == 10.0 and x[ts("2026-11-24 12:00")] == 10.0
    assert any("newsletter" in n and "+200%" in n and "named" in n for n in notes)
    assert any("Autumn sale" in n and "kind 'campaign'" in n for n in notes)
    assert sum("Mystery" in n and "left unchanged" in n for n in notes) == 2  # per channel
    assert any("'forum'" in n and "does not have" in n for n in notes)
    # without a history there is nothing to measure: every event without uplift is noted
    plain, plain_notes = apply_events(forecast, events[1:4])
    assert (plain["yhat"] == 10.0).all() and len(plain_notes) == 5  # newsletter x2 channels, sale, mystery x2


def test_apply_events_on_nothing():
    forecast = forecast_table()
    out, notes = apply_events(forecast, [])
    assert out.equals(forecast) and notes == []
    empty, notes = apply_events(forecast.head(0), [Event("A", ts("2026-11-23"), ts("2026-11-24"), 1.0)])
    assert empty.empty and notes == []


# --------------------------------------------------------------------------------------------
# Property: whatever events are written, the same events are read back

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_names = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30).map(str.strip).filter(bool)
_channels = st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_ -]{0,11}", fullmatch=True).map(str.strip)
                      .filter(lambda c: c and c not in ("all", "alle", "every", "iedereen")))


@st.composite
def _events(draw):
    start = pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 730)))
    length = pd.Timedelta(minutes=15 * draw(st.integers(1, 4 * 24 * 20)))
    uplift = draw(st.one_of(st.none(), st.integers(-1000, 99999).map(lambda k: k / 1000)))
    return Event(draw(_names), start.tz_convert(TZ), (start + length).tz_convert(TZ), uplift, draw(_channels),
                 draw(st.sampled_from(KINDS)))


@settings(max_examples=25, deadline=None)
@given(st.lists(_events(), min_size=1, max_size=6))
def test_write_read_round_trip_property(tmp_path_factory, events):
    path = tmp_path_factory.mktemp("roundtrip") / "events.csv"
    write_events(events, path)
    back = read_events(path)
    assert [(e.name, e.start, e.end, e.channel, e.kind) for e in back] == [(e.name, e.start, e.end, e.channel, e.kind) for e in events]
    for a, b in zip(back, events):
        assert (a.uplift is None) == (b.uplift is None)
        if b.uplift is not None:
            assert a.uplift == pytest.approx(b.uplift, abs=1e-9)
