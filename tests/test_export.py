"""Exports: CSV, XLSX (one sheet per ISO week) and iCalendar, written atomically."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from scheduling.roster.assign import assign_agents, make_shifts
from scheduling.roster.export import ExportError, ics_text, to_csv, to_ics, to_xlsx

NIGHT = dict(start="23:00", end="07:00", break_at="03:00")
DAY = dict(start="08:00", end="16:30", break_at="12:00")


@pytest.fixture(scope="module")
def planned():
    # Ten days over two ISO weeks including the October change (Sunday 25 October 2026).
    shifts = make_shifts(10, {"day": DAY, "night": NIGHT}, 1, first_day="2026-10-19")
    agents = pd.DataFrame({"agent": ["a1", "a2", "a3", "a4"], "name": ["Anna, de Vries", "Bram", "Cas", "Dewi"],
                           "max_hours_week": [40] * 4, "skills": ["*"] * 4})
    return shifts, agents, assign_agents(shifts, agents, time_limit=30)


def test_csv_roster_and_shifts(tmp_path, planned):
    shifts, _, result = planned
    path = to_csv(result.roster, tmp_path / "roster.csv")
    back = pd.read_csv(path)
    assert len(back) == len(result.roster) == 20
    assert {"agent", "name", "date", "weekday", "from", "to", "start", "end", "hours"} <= set(back.columns)
    night = back[(back["template"] == "night") & (back["date"] == "2026-10-24")].iloc[0]
    assert (night["from"], night["to"]) == ("23:00", "07:00")
    assert night["start"] == "2026-10-24T23:00:00+02:00" and night["end"] == "2026-10-25T07:00:00+01:00"
    assert pd.to_datetime(back["start"], utc=True).notna().all()
    anonymous = pd.read_csv(to_csv(shifts, tmp_path / "shifts.csv"))
    assert anonymous["count"].sum() == shifts["count"].sum() and "agent" not in anonymous.columns


def test_xlsx_one_sheet_per_week_and_totals(tmp_path, planned):
    shifts, agents, result = planned
    path = to_xlsx(result.roster, tmp_path / "roster.xlsx", agents=agents, violations=result.violations)
    wb = load_workbook(path)
    assert wb.sheetnames[:3] == ["2026-W43", "2026-W44", "Totals"]
    ws = wb["2026-W43"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["agent", "name", "Mon 19-10"] and header[-1] == "hours"
    cells = [ws.cell(row=r, column=c).value for r in range(2, ws.max_row + 1) for c in range(3, 10)]
    texts = [c for c in cells if c]
    assert all(re.fullmatch(r"\d\d:\d\d-\d\d:\d\d \w+", t) for t in texts)
    assert sum(t.startswith("23:00-07:00") for t in texts) == 7 and sum(t.startswith("08:00-16:30") for t in texts) == 7
    assert ws.max_row == 1 + len(agents)  # every agent has a row, also one without shifts that week
    totals = wb["Totals"]
    hours = sum(totals.cell(row=r, column=5).value for r in range(2, totals.max_row + 1))
    assert hours == pytest.approx(result.roster["hours"].sum())
    anonymous = load_workbook(to_xlsx(shifts, tmp_path / "shifts.xlsx"))
    assert anonymous.sheetnames == ["2026-W43", "2026-W44", "Totals"]
    assert anonymous["2026-W43"]["D2"].value == "08:00"


def _parse_ics(text: str) -> list[dict]:
    """A careful RFC 5545 reader: CRLF lines of at most 75 octets, unfolding, balanced components."""
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    raw = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in raw)
    lines = []
    for line in raw:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    stack, events, current = [], [], None
    for line in lines:
        name, _, value = line.partition(":")
        assert re.fullmatch(r"[A-Z-]+(;[A-Z-]+=[^;:]+)*", name), line
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                current = {}
        elif name == "END":
            assert stack.pop() == value
            if value == "VEVENT":
                events.append(current)
                current = None
        elif current is not None:
            current[name] = value
    assert stack == []
    return events


def test_ics_one_file_per_agent_valid_and_tz_aware(tmp_path, planned):
    _, _, result = planned
    stamp = pd.Timestamp("2026-10-01 12:00", tz="UTC")
    paths = to_ics(result.roster, tmp_path / "ics", stamp=stamp)
    assert sorted(p.name for p in paths) == sorted(f"{a}.ics" for a in result.roster["agent"].unique())
    total = 0
    for path in paths:
        text = path.read_bytes().decode("utf-8")
        assert "BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam" in text and "TZOFFSETTO:+0100" in text and "TZOFFSETTO:+0200" in text
        events = _parse_ics(text)
        total += len(events)
        for event in events:
            assert {"UID", "DTSTAMP", "DTSTART;TZID=Europe/Amsterdam", "DTEND;TZID=Europe/Amsterdam", "SUMMARY"} <= set(event)
    assert total == len(result.roster)
    # The night into the 25-hour day: local 23:00 to 07:00, nine real hours.
    night = result.roster[(result.roster["template"] == "night") & (result.roster["date"].astype(str) == "2026-10-24")].iloc[0]
    events = _parse_ics((tmp_path / "ics" / f"{night['agent']}.ics").read_bytes().decode("utf-8"))
    event = next(e for e in events if e["DTSTART;TZID=Europe/Amsterdam"] == "20261024T230000")
    assert event["DTEND;TZID=Europe/Amsterdam"] == "20261025T070000"


def test_ics_parses_with_icalendar_when_installed(planned):
    icalendar = pytest.importorskip("icalendar")
    _, _, result = planned
    mine = result.roster[result.roster["agent"] == result.roster["agent"].iloc[0]]
    calendar = icalendar.Calendar.from_ical(ics_text(mine))
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == len(mine)
    for event, (_, row) in zip(sorted(events, key=lambda e: e.decoded("DTSTART")), mine.sort_values("start").iterrows()):
        assert event.decoded("DTSTART") == row["start"].to_pydatetime()
        assert event.decoded("DTEND") == row["end"].to_pydatetime()


def test_ics_escapes_and_folds_long_text():
    frame = pd.DataFrame({"agent": ["x"], "start": [pd.Timestamp("2026-03-02 08:00", tz="Europe/Amsterdam")],
                          "end": [pd.Timestamp("2026-03-02 16:30", tz="Europe/Amsterdam")],
                          "template": ["a very long template name, with commas; semicolons and ünïcödé " * 2]})
    events = _parse_ics(ics_text(frame))
    assert "\\," in events[0]["SUMMARY"] and "\\;" in events[0]["SUMMARY"] and "ünïcödé" in events[0]["SUMMARY"]


def test_bad_input_writes_nothing(tmp_path, planned):
    _, _, result = planned
    naive = result.roster.assign(start=result.roster["start"].dt.tz_localize(None))
    for write, target in ((to_csv, tmp_path / "r.csv"), (to_xlsx, tmp_path / "r.xlsx"), (to_ics, tmp_path / "ics")):
        with pytest.raises(ExportError, match="time zone"):
            write(naive, target)
        assert not target.exists()
    with pytest.raises(ExportError, match="agent"):
        to_ics(result.roster.drop(columns="agent").assign(count=1), tmp_path / "ics")
    assert list(tmp_path.iterdir()) == []
