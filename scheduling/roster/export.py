"""Exports of rosters: CSV, XLSX (one sheet per ISO week, readable by a planner) and iCalendar.

* :func:`to_csv` writes a named roster (one row per agent and shift, from
  :func:`scheduling.roster.assign.assign_agents`) or the anonymous ``.shifts`` frame of the roster
  model; times are ISO 8601 with their UTC offset, plus local ``date``, ``weekday`` and ``HH:MM``
  columns for people.
* :func:`to_xlsx` writes, for a named roster, one sheet per ISO week: a grid of agents x days with
  the shift times (``08:00-16:30``; a shift belongs to the day it starts, so a night shift shows
  as ``23:00-07:00`` on its first day), and a ``Totals`` sheet (shifts, paid hours, evenings,
  weekend shifts, nights and cost per agent and week). For the anonymous shifts frame: one sheet
  per ISO week listing the shifts with their counts, and a ``Totals`` sheet per day.
* :func:`to_ics` writes one RFC 5545 calendar per agent (``<agent>.ics``), with every shift as an
  event in local time (``TZID``) and the zone's ``VTIMEZONE`` built from its real transitions.

Every write is atomic (a temporary file renamed into place), and every input is checked before
anything is written: bad input raises :class:`ExportError` and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.ingest import atomic_output
from scheduling.roster.labour import DEFAULT_TZ, LabourRules, shift_facts

__all__ = ["ExportError", "ics_text", "to_csv", "to_ics", "to_xlsx"]

_DAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class ExportError(ValueError):
    """The frame cannot be exported (missing columns, naive times); nothing was written."""


def _check(frame: pd.DataFrame, tz: str) -> tuple[pd.DataFrame, bool]:
    """Validate and localise a roster (``agent`` column) or shifts frame; returns (frame, named)."""
    named = "agent" in frame.columns
    need = ["start", "end"] + (["agent"] if named else ["count"])
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ExportError(f"cannot export: missing column(s) {', '.join(missing)}")
    out = frame.reset_index(drop=True).copy()
    for column in ("start", "end", "break_start", "break_end", "break2_start", "break2_end"):
        if column not in out.columns:
            continue
        values = pd.to_datetime(out[column], errors="coerce")
        if values.notna().any() and getattr(values.dt, "tz", None) is None:
            raise ExportError(f"cannot export: column '{column}' holds times without a time zone")
        if column in ("start", "end") and values.isna().any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(values.isna())[:5])
            raise ExportError(f"cannot export: column '{column}', rows {rows}: empty or unreadable times")
        out[column] = values.dt.tz_convert(tz) if values.notna().any() else values
    if "template" not in out.columns:
        out["template"] = ""
    if named:
        out["agent"] = out["agent"].astype(str)
        if "name" not in out.columns:
            out["name"] = out["agent"]
    return out.sort_values((["agent"] if named else []) + ["start"], kind="stable").reset_index(drop=True), named


def _iso(series: pd.Series) -> pd.Series:
    text = series.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text.str.replace(r"([+-]\d{2})(\d{2})$", r"\1:\2", regex=True).where(series.notna(), "")


def _hhmm(series: pd.Series) -> pd.Series:
    return series.dt.strftime("%H:%M").where(series.notna(), "")


def _week_of(series: pd.Series) -> pd.Series:
    iso = series.dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)


def _table(frame: pd.DataFrame, named: bool, tz: str) -> pd.DataFrame:
    start = frame["start"]
    out = pd.DataFrame({
        "date": start.dt.strftime("%Y-%m-%d"),
        "weekday": start.dt.day_of_week.map(lambda i: _DAY[i]),
        "week": _week_of(start),
    })
    if named:
        out.insert(0, "agent", frame["agent"])
        out.insert(1, "name", frame["name"])
    out["template"] = frame["template"].astype(str)
    out["from"] = _hhmm(start)
    out["to"] = _hhmm(frame["end"])
    for column in ("break_start", "break_end"):
        out[column.replace("_start", "_from").replace("_end", "_to")] = _hhmm(frame[column]) if column in frame.columns else ""
    if not named:
        out["count"] = frame["count"].astype(int)
    for column in ("hours", "paid_hours", "cost", "skill"):
        if column in frame.columns:
            out[column] = frame[column]
    out["start"] = _iso(frame["start"])
    out["end"] = _iso(frame["end"])
    for column in ("break_start", "break_end"):
        out[column] = _iso(frame[column]) if column in frame.columns else ""
    return out


def to_csv(frame: pd.DataFrame, path: str | Path, *, tz: str = DEFAULT_TZ) -> Path:
    """Write a named roster (one row per agent and shift) or the anonymous shifts frame as CSV."""
    checked, named = _check(frame, tz)
    table = _table(checked, named, tz)
    path = Path(path)
    with atomic_output(path) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8")
    return path


def _label(row: pd.Series) -> str:
    text = f"{row['start']:%H:%M}-{row['end']:%H:%M}"
    return text


def to_xlsx(frame: pd.DataFrame, path: str | Path, *, tz: str = DEFAULT_TZ, agents: pd.DataFrame | None = None,
            violations: pd.DataFrame | None = None, rules: LabourRules = LabourRules()) -> Path:
    """Write a planner's workbook: one sheet per ISO week (agents x days for a named roster, the
    shifts and counts for the anonymous frame) and a ``Totals`` sheet; a ``Problems`` sheet lists
    ``violations`` when given. ``agents`` (validated or raw) adds agents without shifts as empty rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    checked, named = _check(frame, tz)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    weekend_fill = PatternFill("solid", fgColor="EEEEEE")
    if len(checked):
        weeks = sorted(set(_week_of(checked["start"])))
    else:
        weeks = []
    facts = shift_facts(checked, rules, tz) if len(checked) else None

    def widths(ws, sizes):
        for i, size in enumerate(sizes, start=1):
            ws.column_dimensions[get_column_letter(i)].width = size

    if named:
        everyone = list(dict.fromkeys(checked["agent"]))
        names = dict(zip(checked["agent"], checked["name"]))
        if agents is not None:
            for a, n in zip(agents["agent"].astype(str), agents["name"] if "name" in agents.columns else agents["agent"].astype(str)):
                if a not in names:
                    everyone.append(a)
                names[a] = str(n)
        for week in weeks:
            monday = dt.date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
            days = [monday + dt.timedelta(days=i) for i in range(7)]
            ws = wb.create_sheet(week)
            ws.append(["agent", "name"] + [f"{_DAY[d.weekday()]} {d:%d-%m}" for d in days] + ["hours"])
            for cell in ws[1]:
                cell.font = bold
            rows = checked[_week_of(checked["start"]) == week]
            for a in everyone:
                mine = rows[rows["agent"] == a]
                cells = []
                for day in days:
                    todays = mine[mine["start"].dt.date == day]
                    cells.append("\n".join(_label(r) + (f" {r['template']}" if r["template"] else "") for _, r in todays.iterrows()))
                hours = float(mine["hours"].sum()) if "hours" in mine.columns else float(((mine["end"] - mine["start"]).dt.total_seconds() / 3600).sum())
                ws.append([a, names.get(a, a)] + cells + [round(hours, 2)])
            for col, day in enumerate(days, start=3):
                for row in range(1, ws.max_row + 1):
                    cell = ws.cell(row=row, column=col)
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                    if day.weekday() >= 5:
                        cell.fill = weekend_fill
            ws.freeze_panes = "C2"
            widths(ws, [10, 18] + [20] * 7 + [8])
        ws = wb.create_sheet("Totals")
        header = ["agent", "name", "week", "shifts", "hours", "evenings", "weekend shifts", "nights", "cost"]
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        if len(checked):
            table = pd.DataFrame({"agent": checked["agent"], "week": _week_of(checked["start"]), "shifts": 1,
                                  "hours": checked["hours"] if "hours" in checked.columns else facts["work_hours"],
                                  "evenings": facts["evening"].astype(int), "weekend": facts["weekend"].astype(int),
                                  "nights": facts["night"].astype(int),
                                  "cost": checked["cost"] if "cost" in checked.columns else 0.0})
            table = table.groupby(["agent", "week"], as_index=False, sort=True).sum()
            for _, r in table.iterrows():
                ws.append([r["agent"], names.get(r["agent"], r["agent"]), r["week"], int(r["shifts"]), round(float(r["hours"]), 2),
                           int(r["evenings"]), int(r["weekend"]), int(r["nights"]), round(float(r["cost"]), 2)])
        ws.freeze_panes = "A2"
        widths(ws, [10, 18, 10, 8, 8, 9, 15, 8, 10])
    else:
        for week in weeks:
            ws = wb.create_sheet(week)
            ws.append(["date", "day", "template", "from", "to", "break", "count", "paid hours", "cost"])
            for cell in ws[1]:
                cell.font = bold
            rows = checked[_week_of(checked["start"]) == week]
            for _, r in rows.iterrows():
                brk = f"{r['break_start']:%H:%M}-{r['break_end']:%H:%M}" if "break_start" in rows.columns and pd.notna(r["break_start"]) else ""
                ws.append([f"{r['start']:%Y-%m-%d}", _DAY[r["start"].weekday()], str(r["template"]), f"{r['start']:%H:%M}",
                           f"{r['end']:%H:%M}", brk, int(r["count"]),
                           round(float(r["paid_hours"]), 2) if "paid_hours" in rows.columns and pd.notna(r["paid_hours"]) else None,
                           round(float(r["cost"]), 2) if "cost" in rows.columns and pd.notna(r["cost"]) else None])
            ws.freeze_panes = "A2"
            widths(ws, [12, 6, 16, 7, 7, 13, 7, 11, 10])
        ws = wb.create_sheet("Totals")
        ws.append(["date", "day", "shifts", "paid hours", "cost"])
        for cell in ws[1]:
            cell.font = bold
        if len(checked):
            day = checked["start"].dt.strftime("%Y-%m-%d")
            paid = checked["paid_hours"] * checked["count"] if "paid_hours" in checked.columns else 0.0
            cost = checked["cost"] if "cost" in checked.columns else 0.0
            table = pd.DataFrame({"date": day, "shifts": checked["count"], "paid": paid, "cost": cost}).groupby("date", as_index=False).sum()
            for _, r in table.iterrows():
                d = dt.date.fromisoformat(r["date"])
                ws.append([r["date"], _DAY[d.weekday()], int(r["shifts"]), round(float(r["paid"]), 2), round(float(r["cost"]), 2)])
        widths(ws, [12, 6, 8, 11, 10])
    if violations is not None and len(violations):
        ws = wb.create_sheet("Problems")
        columns = [c for c in ("rule", "agent", "date", "start", "end", "template", "value", "limit", "unit", "detail") if c in violations.columns]
        ws.append(columns)
        for cell in ws[1]:
            cell.font = bold
        for _, r in violations.iterrows():
            values = []
            for c in columns:
                v = r[c]
                if isinstance(v, pd.Timestamp):
                    v = "" if pd.isna(v) else v.tz_convert(tz).strftime("%Y-%m-%d %H:%M")
                elif v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
                    v = ""
                elif isinstance(v, dt.date):
                    v = v.isoformat()
                values.append(v)
            ws.append(values)
        widths(ws, [22, 10, 12, 17, 17, 14, 8, 8, 8, 100])
    if not wb.sheetnames:
        wb.create_sheet("Totals")
    path = Path(path)
    with atomic_output(path) as tmp:
        wb.save(tmp)
    return path


# --------------------------------------------------------------------------------------------
# iCalendar (RFC 5545)


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, chunk, limit = [], b"", 75
    for ch in line:
        b = ch.encode("utf-8")
        if len(chunk) + len(b) > limit:
            parts.append(chunk.decode("utf-8"))
            chunk, limit = b"", 74  # continuation lines start with a space
        chunk += b
    parts.append(chunk.decode("utf-8"))
    return "\r\n ".join(parts)


def _offset(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}{(seconds % 3600) // 60:02d}"


def _vtimezone(tz: str, first: pd.Timestamp, last: pd.Timestamp) -> list[str]:
    """A VTIMEZONE with one STANDARD/DAYLIGHT sub-component per real transition of ``tz`` between
    the year before ``first`` and the year after ``last`` (so it is exact for the events)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    lo = pd.Timestamp(year=first.year - 1, month=1, day=1, tz="UTC")
    hi = pd.Timestamp(year=last.year + 2, month=1, day=1, tz="UTC")
    hours = pd.date_range(lo, hi, freq="1h")
    offsets = np.array([int(zone.utcoffset(t.to_pydatetime()).total_seconds()) for t in hours[::24]])
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tz}"]
    days = hours[::24]
    changes = np.flatnonzero(np.diff(offsets) != 0)

    def component(instant_utc: pd.Timestamp, before: int, after: int) -> list[str]:
        dst = bool(zone.dst(instant_utc.to_pydatetime()))
        local = (instant_utc + pd.Timedelta(seconds=before)).tz_localize(None)
        name = instant_utc.tz_convert(tz).tzname()
        return ["BEGIN:" + ("DAYLIGHT" if dst else "STANDARD"), f"DTSTART:{local:%Y%m%dT%H%M%S}",
                f"TZOFFSETFROM:{_offset(before)}", f"TZOFFSETTO:{_offset(after)}", f"TZNAME:{name}",
                "END:" + ("DAYLIGHT" if dst else "STANDARD")]

    if len(changes) == 0:
        lines += component(lo, int(offsets[0]), int(offsets[0]))
    for i in changes:
        # Find the transition hour inside the day.
        for t in pd.date_range(days[i], days[i + 1], freq="1min"):
            if int(zone.utcoffset(t.to_pydatetime()).total_seconds()) != offsets[i]:
                lines += component(t, int(offsets[i]), int(offsets[i + 1]))
                break
    lines.append("END:VTIMEZONE")
    return lines


def ics_text(roster: pd.DataFrame, *, tz: str = DEFAULT_TZ, calendar_name: str = "Roster",
             stamp: pd.Timestamp | None = None) -> str:
    """RFC 5545 text of one calendar with every shift of ``roster`` as an event (local times with
    TZID and a matching VTIMEZONE). UIDs are stable for the same agent, template and start."""
    checked, named = _check(roster, tz)
    stamp = (stamp or pd.Timestamp.now(tz="UTC")).tz_convert("UTC")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//webcare-planner//roster//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{_escape(calendar_name)}", f"X-WR-TIMEZONE:{tz}"]
    if len(checked):
        lines += _vtimezone(tz, checked["start"].min(), checked["end"].max())
    for _, r in checked.iterrows():
        agent = r["agent"] if named else ""
        key = f"{agent}|{r['template']}|{r['start'].isoformat()}"
        uid = hashlib.sha1(key.encode("utf-8")).hexdigest()[:24] + "@webcare-planner"
        summary = f"Shift {r['template']} {r['start']:%H:%M}-{r['end']:%H:%M}".replace("  ", " ")
        description = []
        if "break_start" in checked.columns and pd.notna(r.get("break_start")):
            description.append(f"Break {r['break_start']:%H:%M}-{r['break_end']:%H:%M}")
        if "hours" in checked.columns and pd.notna(r.get("hours")):
            description.append(f"Paid hours {float(r['hours']):g}")
        if "skill" in checked.columns and isinstance(r.get("skill"), str):
            description.append(f"Channel {r['skill']}")
        lines += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}",
                  f"DTSTART;TZID={tz}:{r['start']:%Y%m%dT%H%M%S}", f"DTEND;TZID={tz}:{r['end']:%Y%m%dT%H%M%S}",
                  f"SUMMARY:{_escape(summary)}"]
        if description:
            lines.append(f"DESCRIPTION:{_escape(chr(10).join(description))}")
        lines += ["TRANSP:OPAQUE", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def _safe_name(agent: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", agent).strip("._")
    return name or hashlib.sha1(agent.encode("utf-8")).hexdigest()[:12]


def to_ics(roster: pd.DataFrame, directory: str | Path, *, tz: str = DEFAULT_TZ, stamp: pd.Timestamp | None = None) -> list[Path]:
    """Write one ``<agent>.ics`` per agent of a named roster into ``directory``; returns the paths."""
    checked, named = _check(roster, tz)
    if not named:
        raise ExportError("cannot export calendars: the frame has no 'agent' column (calendars are per agent)")
    directory = Path(directory)
    texts, seen = {}, {}
    for agent, rows in checked.groupby("agent", sort=True):
        name = _safe_name(agent)
        if name in seen and seen[name] != agent:
            name = f"{name}_{hashlib.sha1(agent.encode('utf-8')).hexdigest()[:6]}"
        seen[name] = agent
        label = str(rows["name"].iloc[0]) if "name" in rows.columns else agent
        texts[name] = ics_text(rows, tz=tz, calendar_name=f"Roster {label}", stamp=stamp)
    paths = []
    for name, text in texts.items():
        path = directory / f"{name}.ics"
        with atomic_output(path) as tmp:
            Path(tmp).write_bytes(text.encode("utf-8"))
        paths.append(path)
    return paths
