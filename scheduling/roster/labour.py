"""Labour rules, the agents file and an independent checker of named rosters.

Three things live here, shared by the assignment model (:mod:`scheduling.roster.assign`), the
exports and the tests:

* :class:`LabourRules`: the Dutch Working Hours Act (Arbeidstijdenwet, ATW) as configurable
  defaults: at most 12 working hours per shift and 60 per week, at least 11 hours of rest between
  shifts (14 after a night shift that ends after 02:00), a break of 30 minutes when working more
  than 5.5 hours (splittable into two of 15) and 45 minutes above 10 hours, an uninterrupted rest of
  36 hours in every calendar week, night shifts of at most 10 hours; plus house rules: a minimum
  shift length, at most one shift per day and at most 6 consecutive working days.
* :func:`read_agents` / :func:`validate_agents`: ``agents.csv`` (documented in docs/agents.md),
  validated with errors that name the file, row and column.
* :func:`check_roster`: every hard rule evaluated directly on a roster (one row per agent and
  shift), by sweeping each agent's shifts in time order. It shares no code with the optimiser's
  constraints, so it can prove that a roster the optimiser returns meets the rules.

Times: shifts are tz-aware instants; days, weekdays, weeks (ISO, Monday 00:00 local), night
hours and evenings are counted on the local wall clock of ``tz`` (default Europe/Amsterdam).
Durations are real elapsed time, so a night shift 23:00-07:00 across the autumn change lasts 9
hours. A shift belongs to the local date (and ISO week) on which it starts.

References: Arbeidstijdenwet, hoofdstuk 5 (arbeids- en rusttijden), artikelen 5:3 (pauze), 5:4
(dagelijkse en wekelijkse rust), 5:7 (maximale arbeidstijd), 5:8 (nachtdiensten);
https://wetten.overheid.nl/BWBR0007671/.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from scheduling.opening_hours import DAY_ALIASES as _DAY_ALIASES, DAY_NAMES

__all__ = [
    "AgentsError",
    "AGENT_COLUMNS",
    "LabourRules",
    "PREFERENCES",
    "VIOLATION_COLUMNS",
    "agent_block_reason",
    "check_roster",
    "contract_min_hours",
    "read_agents",
    "shift_facts",
    "shift_rule_breaches",
    "validate_agents",
]

DEFAULT_TZ = "Europe/Amsterdam"

#: Soft preferences an agent may state (column ``preferences``), plus ``off_<day>`` (e.g. off_wed).
PREFERENCES = ("early", "late", "no_weekends", "no_evenings", "no_nights")

#: Columns of a validated agents frame, in order.
AGENT_COLUMNS = (
    "agent", "name", "contract", "min_hours_week", "max_hours_week", "skills", "days_off",
    "available", "leave", "preferences", "max_evenings_week", "max_weekends", "hourly_wage",
)
_REQUIRED = ("agent", "max_hours_week")
_ALIASES = {
    "id": "agent", "agent_id": "agent", "medewerker": "agent", "employee": "agent",
    "naam": "name", "contract_type": "contract",
    "min_hours": "min_hours_week", "max_hours": "max_hours_week",
    "contract_hours_min": "min_hours_week", "contract_hours_max": "max_hours_week",
    "channels": "skills", "skill": "skills", "vrije_dagen": "days_off", "dayoff": "days_off",
    "availability": "available", "unavailable": "leave", "verlof": "leave", "holidays": "leave",
    "prefs": "preferences", "max_evenings": "max_evenings_week", "wage": "hourly_wage",
}

#: Columns of every violations frame (checker and optimiser alike).
VIOLATION_COLUMNS = ("rule", "agent", "date", "start", "end", "template", "value", "limit", "unit", "detail")


class AgentsError(ValueError):
    """The agents file (or frame) cannot be used; the message names file, row and column."""


# --------------------------------------------------------------------------------------------
# Rules


def _minutes(text: str, name: str) -> int:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise ValueError(f"{name}: expected a time HH:MM, got {text!r}")
    value = int(match.group(1)) * 60 + int(match.group(2))
    if value > 24 * 60:
        raise ValueError(f"{name}: {text!r} is after 24:00")
    return value


@dataclass(frozen=True)
class LabourRules:
    """Hard labour rules (hours, minutes as named). Defaults: the Arbeidstijdenwet (ATW) plus house rules.

    Every number may be changed; ``None`` switches an optional rule off.
    """

    max_shift_hours: float = 12.0  # ATW 5:7: working time per shift
    max_week_hours: float = 60.0  # ATW 5:7: working time per week
    min_rest_hours: float = 11.0  # ATW 5:5: rest between two shifts
    rest_after_night_hours: float | None = 14.0  # ATW 5:8: after a night shift ending after 02:00
    break_after_hours: float = 5.5  # ATW 5:4: more than 5.5 h of work needs ...
    break_minutes: float = 30.0  # ... 30 minutes of break (splittable into parts of >= 15)
    long_break_after_hours: float | None = 10.0  # more than 10 h of work needs ...
    long_break_minutes: float = 45.0  # ... 45 minutes of break
    break_part_minutes: float = 15.0  # shortest break part that counts
    weekly_rest_hours: float | None = 36.0  # ATW 5:5: uninterrupted rest in each calendar week
    night_shift_max_hours: float = 10.0  # ATW 5:8
    night_start: str = "00:00"  # a night shift works more than night_min_hours ...
    night_end: str = "06:00"  # ... between night_start and night_end
    night_min_hours: float = 1.0
    min_shift_hours: float = 3.0  # house rule: the shortest shift worth coming in for
    max_shifts_per_day: int = 1  # house rule: shifts starting on one local date
    max_consecutive_days: int | None = 6  # house rule: working days in a row
    evening_after: str = "20:00"  # a shift is an evening shift when it ends after this (or past midnight)
    early_before: str = "09:00"  # an early shift starts before this
    late_after: str = "18:00"  # a late shift ends after this (or past midnight)
    weekend_days: tuple[int, ...] = (5, 6)  # Saturday, Sunday

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float | int) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"labour rule {f.name} must not be negative, got {value}")
        for name in ("night_start", "night_end", "evening_after", "early_before", "late_after"):
            _minutes(getattr(self, name), f"labour rule {name}")
        if self.max_shifts_per_day < 1:
            raise ValueError("labour rule max_shifts_per_day must be at least 1")
        if self.max_consecutive_days is not None and self.max_consecutive_days < 1:
            raise ValueError("labour rule max_consecutive_days must be at least 1 (or None)")
        if any(day not in range(7) for day in self.weekend_days):
            raise ValueError("labour rule weekend_days holds weekday numbers 0 (Monday) to 6 (Sunday)")
        if self.weekly_rest_hours is not None and self.weekly_rest_hours > 7 * 24:
            raise ValueError("labour rule weekly_rest_hours cannot exceed a week")

    def rest_after(self, night: bool, ends_after_two: bool) -> float:
        """Hours of rest required after a shift."""
        if night and ends_after_two and self.rest_after_night_hours is not None:
            return max(self.min_rest_hours, self.rest_after_night_hours)
        return self.min_rest_hours

    def required_break_minutes(self, work_hours: float) -> float:
        if self.long_break_after_hours is not None and work_hours > self.long_break_after_hours + 1e-9:
            return self.long_break_minutes
        if work_hours > self.break_after_hours + 1e-9:
            return self.break_minutes
        return 0.0


# --------------------------------------------------------------------------------------------
# Facts about shifts (pure arithmetic on the frame; used by the optimiser and the checker)


def _local(series: pd.Series, tz: str) -> pd.Series:
    values = pd.to_datetime(series)
    if getattr(values.dt, "tz", None) is None:
        raise ValueError("shift times must be tz-aware")
    return values.dt.tz_convert(tz)


def _break_parts(frame: pd.DataFrame) -> list[tuple[str, str]]:
    parts = []
    for first, second in (("break_start", "break_end"), ("break2_start", "break2_end")):
        if first in frame.columns and second in frame.columns:
            parts.append((first, second))
    return parts


def _ns(values: pd.Series) -> np.ndarray:
    """UTC nanoseconds of tz-aware instants (whatever unit pandas stored them in)."""
    return pd.to_datetime(values).dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()


def _at_local(dates: pd.Series, minutes: int, tz: str) -> pd.Series:
    """Local wall-clock time ``minutes`` after midnight on each date, as tz-aware instants."""
    naive = pd.to_datetime(pd.Series(dates).astype("datetime64[s]")) + pd.Timedelta(minutes=minutes)
    return naive.dt.tz_localize(tz, nonexistent="shift_forward", ambiguous=np.zeros(len(naive), dtype=bool))


def shift_facts(frame: pd.DataFrame, rules: LabourRules, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Per shift row: ``date`` (local start date), ``weekday``, ``week`` (ISO 'YYYY-Www'),
    ``duration_hours``, ``break_minutes`` (total), ``shortest_break_minutes``, ``work_hours``,
    ``night_hours`` (work between night_start and night_end), ``night``, ``evening``, ``weekend``,
    ``early``, ``late``, ``rest_after_hours``. Index aligned with ``frame``.
    """
    start = _local(frame["start"], tz)
    end = _local(frame["end"], tz)
    duration = (end - start).dt.total_seconds() / 3600.0
    breaks = np.zeros(len(frame))
    shortest = np.full(len(frame), np.inf)
    break_spans = []
    for first, second in _break_parts(frame):
        b0 = pd.to_datetime(frame[first])
        b1 = pd.to_datetime(frame[second])
        minutes = ((b1 - b0).dt.total_seconds() / 60.0).fillna(0.0).to_numpy()
        breaks += minutes
        shortest = np.where(minutes > 0, np.minimum(shortest, minutes), shortest)
        break_spans.append((b0, b1))
    work = duration.to_numpy() - breaks / 60.0
    dates = start.dt.tz_localize(None).dt.normalize()

    # Work inside the night window [night_start, night_end) of the start date, the day after and
    # the day before (a shift spans at most two dates).
    n0, n1 = _minutes(rules.night_start, "night_start"), _minutes(rules.night_end, "night_end")
    night = np.zeros(len(frame))
    s_ns, e_ns = _ns(start), _ns(end)
    for shift_days in (-1, 0, 1):
        day = dates + pd.Timedelta(days=shift_days)
        w0 = _ns(_at_local(day, n0, tz))
        w1 = _ns(_at_local(day if n1 > n0 else day + pd.Timedelta(days=1), n1, tz))
        overlap = np.clip(np.minimum(e_ns, w1) - np.maximum(s_ns, w0), 0, None).astype(float)
        for b0, b1 in break_spans:
            valid = b0.notna().to_numpy() & b1.notna().to_numpy()
            if not valid.any():
                continue
            b0v = np.where(valid, _ns(b0.where(valid, start)), 0)
            b1v = np.where(valid, _ns(b1.where(valid, start)), 0)
            overlap -= np.where(valid, np.clip(np.minimum(b1v, w1) - np.maximum(b0v, w0), 0, None), 0)
        night += overlap / 3.6e12
    is_night = night > rules.night_min_hours + 1e-9

    end_date = end.dt.tz_localize(None).dt.normalize()
    end_minutes = ((end.dt.tz_localize(None) - end_date).dt.total_seconds() / 60.0).to_numpy()
    ends_after_two = is_night & (end_minutes > 120)
    evening_at = _minutes(rules.evening_after, "evening_after")
    late_at = _minutes(rules.late_after, "late_after")
    # Wall-clock minutes from the start date's midnight to the end (past 24:00 for a shift into the next day).
    end_of_day = ((end.dt.tz_localize(None) - dates).dt.total_seconds() / 60.0).to_numpy()
    start_minutes = ((start.dt.tz_localize(None) - dates).dt.total_seconds() / 60.0).to_numpy()
    weekday = start.dt.day_of_week.to_numpy()
    iso = start.dt.isocalendar()
    rest = [rules.rest_after(bool(n), bool(a)) for n, a in zip(is_night, ends_after_two)]
    return pd.DataFrame({
        "date": dates.dt.date.to_numpy(),
        "weekday": weekday,
        "week": [f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"])],
        "duration_hours": duration.to_numpy(),
        "break_minutes": breaks,
        "shortest_break_minutes": np.where(np.isfinite(shortest), shortest, 0.0),
        "work_hours": work,
        "night_hours": night,
        "night": is_night,
        "evening": end_of_day > evening_at,
        "weekend": np.isin(weekday, list(rules.weekend_days)),
        "early": start_minutes < _minutes(rules.early_before, "early_before"),
        "late": end_of_day > late_at,
        "rest_after_hours": rest,
    }, index=frame.index)


def shift_rule_breaches(facts: pd.Series, rules: LabourRules) -> list[tuple[str, float, float, str, str]]:
    """Rules a single shift breaks whoever works it: ``(rule, value, limit, unit, detail)`` tuples."""
    out = []
    work = float(facts["work_hours"])
    if work > rules.max_shift_hours + 1e-9:
        out.append(("max_shift_hours", work, rules.max_shift_hours, "h", f"{work:.2f} h of work in one shift > {rules.max_shift_hours:g} h"))
    if bool(facts["night"]) and work > rules.night_shift_max_hours + 1e-9:
        out.append(("night_shift_max_hours", work, rules.night_shift_max_hours, "h",
                    f"night shift of {work:.2f} h of work > {rules.night_shift_max_hours:g} h"))
    if work < rules.min_shift_hours - 1e-9:
        out.append(("min_shift_hours", work, rules.min_shift_hours, "h", f"{work:.2f} h of work < minimum shift {rules.min_shift_hours:g} h"))
    need = rules.required_break_minutes(work)
    got = float(facts["break_minutes"])
    if got + 1e-9 < need:
        out.append(("break_minutes", got, need, "min", f"{got:g} min of break for {work:.2f} h of work; needs {need:g} min"))
    shortest = float(facts["shortest_break_minutes"])
    if need > 0 and 0 < shortest < rules.break_part_minutes - 1e-9:
        out.append(("break_part_minutes", shortest, rules.break_part_minutes, "min",
                    f"a break part of {shortest:g} min is shorter than {rules.break_part_minutes:g} min"))
    return out


# --------------------------------------------------------------------------------------------
# Agents file


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;|,]", text) if part.strip()]


def _day(token: str) -> int:
    key = token.strip().lower().rstrip(".")
    if key not in _DAY_ALIASES:
        raise ValueError(f"unknown weekday {token!r} (use mon..sun or ma..zo)")
    return _DAY_ALIASES[key]


def _days(spec: str) -> list[int]:
    """'mon', 'mon-fri', 'sat-sun', 'fri-mon' (wraps)."""
    if "-" in spec:
        a, b = spec.split("-", 1)
        first, last = _day(a), _day(b)
        return [(first + i) % 7 for i in range((last - first) % 7 + 1)]
    return [_day(spec)]


def _parse_available(text: str) -> tuple[tuple[int, int, int], ...]:
    """'mon-fri 08:00-18:00; sat' -> ((weekday, from_min, to_min), ...); to <= from runs past midnight."""
    out = []
    for part in _split(text):
        match = re.fullmatch(r"([A-Za-z.\-]+)(?:\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2}))?", part)
        if not match:
            raise ValueError(f"cannot read {part!r}; expected e.g. 'mon-fri 08:00-18:00; sat'")
        lo, hi = 0, 24 * 60
        if match.group(2):
            lo, hi = _minutes(match.group(2), "available"), _minutes(match.group(3), "available")
            if hi <= lo:
                hi += 24 * 60
        for day in _days(match.group(1)):
            out.append((day, lo, hi))
    return tuple(out)


def _parse_leave(text: str) -> tuple[tuple[dt.date, dt.date], ...]:
    """'2026-12-24; 2026-12-28..2026-12-31' (also 'a/b') -> ((first, last), ...) inclusive dates."""
    out = []
    for part in _split(text):
        bits = re.split(r"\s*(?:\.\.|/|\s+to\s+|\s+t/m\s+)\s*", part)
        if len(bits) > 2:
            raise ValueError(f"cannot read {part!r}; expected a date or a range 2026-12-28..2026-12-31")
        try:
            first = dt.date.fromisoformat(bits[0])
            last = dt.date.fromisoformat(bits[-1])
        except ValueError:
            raise ValueError(f"cannot read {part!r} as a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD") from None
        if last < first:
            raise ValueError(f"range {part!r} ends before it starts")
        out.append((first, last))
    return tuple(out)


def _parse_preferences(text: str) -> tuple[str, ...]:
    out = []
    for token in _split(text):
        key = token.lower().replace("-", "_").replace(" ", "_")
        key = {"prefers_early": "early", "prefers_late": "late", "avoids_weekends": "no_weekends",
               "avoids_evenings": "no_evenings", "avoids_nights": "no_nights"}.get(key, key)
        if key.startswith("off_"):
            out.append(f"off_{DAY_NAMES[_day(key[4:])]}")
        elif key in PREFERENCES:
            out.append(key)
        else:
            raise ValueError(f"unknown preference {token!r}; known: {', '.join(PREFERENCES)}, off_<day>")
    if "early" in out and "late" in out:
        raise ValueError("'early' and 'late' contradict each other")
    return tuple(dict.fromkeys(out))


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def validate_agents(frame: pd.DataFrame, source: str = "agents") -> pd.DataFrame:
    """Validate and normalise an agents table (as read from agents.csv) into the columns of
    :data:`AGENT_COLUMNS`. Parsed cells become tuples (``skills`` is ``None`` for every channel).

    Raises :class:`AgentsError` listing every problem as ``source, row N, column 'c': ...`` (row 1
    is the header). An already validated frame passes through unchanged.
    """
    if list(frame.columns) == list(AGENT_COLUMNS) and frame.attrs.get("validated_agents"):
        return frame
    rename = {}
    for column in frame.columns:
        key = re.sub(r"[^a-z0-9]+", "_", str(column).strip().lower()).strip("_")
        key = _ALIASES.get(key, key)
        if key not in AGENT_COLUMNS:
            raise AgentsError(f"{source}: unknown column {column!r}; known columns: {', '.join(AGENT_COLUMNS)}")
        if key in rename.values():
            raise AgentsError(f"{source}: column {column!r} repeats column {key!r}")
        rename[column] = key
    table = frame.rename(columns=rename)
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise AgentsError(f"{source}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}")
    if table.empty:
        raise AgentsError(f"{source}: no agents (a header without rows)")
    problems: list[str] = []
    rows = []
    seen: dict[str, int] = {}
    for position, (_, record) in enumerate(table.iterrows()):
        row_no = position + 2

        def bad(column: str, message: str) -> None:
            problems.append(f"{source}, row {row_no}, column '{column}': {message}")

        def number(column: str, default=None, integer=False):
            value = record.get(column)
            if _blank(value):
                return default
            try:
                number_value = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
            except (TypeError, ValueError):
                bad(column, f"{value!r} is not a number")
                return default
            if not math.isfinite(number_value) or number_value < 0:
                bad(column, f"{value!r} must be a number >= 0")
                return default
            if integer and number_value != int(number_value):
                bad(column, f"{value!r} must be a whole number")
                return default
            return int(number_value) if integer else number_value

        def parsed(column: str, parser, default):
            value = record.get(column)
            if _blank(value):
                return default
            if isinstance(value, tuple):
                return value
            try:
                return parser(str(value))
            except ValueError as exc:
                bad(column, str(exc))
                return default

        agent = record.get("agent")
        if _blank(agent):
            bad("agent", "empty agent id")
            agent = f"row{row_no}"
        agent = str(agent).strip()
        if isinstance(record.get("agent"), float) and float(record["agent"]).is_integer():
            agent = str(int(record["agent"]))
        if agent in seen:
            bad("agent", f"agent {agent!r} appears twice (first on row {seen[agent]})")
        seen[agent] = row_no
        max_hours = number("max_hours_week")
        if max_hours is None and not any("max_hours_week" in p and f"row {row_no}," in p for p in problems):
            bad("max_hours_week", "empty; the most paid hours per week")
        min_hours = number("min_hours_week", 0.0)
        if max_hours is not None and min_hours is not None and min_hours > max_hours:
            bad("min_hours_week", f"{min_hours:g} is more than max_hours_week {max_hours:g}")
        skills_value = record.get("skills")
        if "skills" not in table.columns or skills_value is None:
            skills = None  # every channel (None is also how a validated frame says so)
        elif isinstance(skills_value, tuple):
            skills = skills_value
        elif _blank(skills_value):
            bad("skills", "empty; list the channels (whatsapp;x) or write * for every channel")
            skills = None
        elif str(skills_value).strip().lower() in ("*", "all", "alle"):
            skills = None
        else:
            skills = tuple(sorted({s.lower() for s in _split(str(skills_value))}))
        days_off = parsed("days_off", lambda t: tuple(sorted({d for part in _split(t) for d in _days(part)})), ())
        rows.append({
            "agent": agent,
            "name": str(record.get("name")).strip() if not _blank(record.get("name")) else agent,
            "contract": str(record.get("contract")).strip() if not _blank(record.get("contract")) else "",
            "min_hours_week": min_hours if min_hours is not None else 0.0,
            "max_hours_week": max_hours if max_hours is not None else 0.0,
            "skills": skills,
            "days_off": days_off,
            "available": parsed("available", _parse_available, None),
            "leave": parsed("leave", _parse_leave, ()),
            "preferences": parsed("preferences", _parse_preferences, ()),
            "max_evenings_week": number("max_evenings_week", None, integer=True),
            "max_weekends": number("max_weekends", None, integer=True),
            "hourly_wage": number("hourly_wage", None),
        })
    if problems:
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AgentsError("the agents cannot be used:\n  " + "\n  ".join(problems[:20]) + more)
    out = pd.DataFrame(rows, columns=list(AGENT_COLUMNS))
    for column in ("max_evenings_week", "max_weekends"):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    out.attrs["validated_agents"] = True
    return out


def read_agents(path: str | Path) -> pd.DataFrame:
    """Read and validate ``agents.csv`` (or ``.xlsx``, first sheet). See docs/agents.md."""
    path = Path(path)
    if not path.exists():
        raise AgentsError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=str)
        else:
            frame = pd.read_csv(path, dtype=str, sep=None, engine="python", encoding="utf-8-sig", skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise AgentsError(f"{path.name}: cannot read the file: {str(exc).splitlines()[0]}") from None
    return validate_agents(frame, source=path.name)


# --------------------------------------------------------------------------------------------
# Agent-level predicates


def _day_span(date: dt.date, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    first = pd.Timestamp(date).tz_localize(tz, nonexistent="shift_forward", ambiguous=True)
    last = pd.Timestamp(date + dt.timedelta(days=1)).tz_localize(tz, nonexistent="shift_forward", ambiguous=True)
    return first, last


def agent_block_reason(agent: pd.Series, start: pd.Timestamp, end: pd.Timestamp, skill: str | None,
                       weekday: int, tz: str = DEFAULT_TZ) -> str | None:
    """Why ``agent`` cannot work the shift [start, end) at all (skill, day off, leave, availability), or None.

    A day off or a leave day is a whole local day on which the agent does not work: no shift may
    overlap it (so a Friday night shift into Saturday is off limits when Saturday is a day off).
    """
    skills = agent["skills"]
    if skill is not None and skills is not None and str(skill).lower() not in skills:
        return f"lacks skill {skill!r}"
    first_date = start.tz_convert(tz).date()
    last_date = (end - pd.Timedelta(microseconds=1)).tz_convert(tz).date()
    day = first_date
    while day <= last_date:
        if day.weekday() in agent["days_off"]:
            return f"day off ({DAY_NAMES[day.weekday()]})"
        for lo, hi in agent["leave"]:
            if lo <= day <= hi:
                return f"on leave {lo.isoformat()}" + (f"..{hi.isoformat()}" if hi != lo else "")
        day += dt.timedelta(days=1)
    available = agent["available"]
    if available:
        base = pd.Timestamp(first_date)
        fits = False
        for wd, lo, hi in available:
            if wd != weekday:
                continue
            w0 = (base + pd.Timedelta(minutes=lo)).tz_localize(tz, nonexistent="shift_forward", ambiguous=True)
            w1 = (base + pd.Timedelta(minutes=hi)).tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
            if w0 <= start and end <= w1:
                fits = True
                break
        if not fits:
            windows = ", ".join(f"{DAY_NAMES[wd]} {lo // 60:02d}:{lo % 60:02d}-{(hi // 60) % 24:02d}:{hi % 60:02d}"
                                for wd, lo, hi in available if wd == weekday) or f"never on {DAY_NAMES[weekday]}"
            return f"not available ({windows})"
    return None


def contract_min_hours(agent: pd.Series, week_days: Iterable[dt.date]) -> float:
    """The contract's weekly minimum, pro rata the days of the week inside the horizon and not on leave."""
    days = [d for d in week_days if not any(lo <= d <= hi for lo, hi in agent["leave"])]
    return float(agent["min_hours_week"]) * len(days) / 7.0


# --------------------------------------------------------------------------------------------
# Checker


def _violation(rule, agent, date, start, end, template, value, limit, unit, detail) -> dict:
    return dict(zip(VIOLATION_COLUMNS, (rule, agent, date, start, end, template, value, limit, unit, detail)))


def check_roster(roster: pd.DataFrame, agents: pd.DataFrame, rules: LabourRules = LabourRules(), *,
                 shifts: pd.DataFrame | None = None, prior: pd.DataFrame | None = None,
                 horizon: tuple[dt.date, dt.date] | None = None, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Every hard rule, evaluated directly on a named roster; returns one row per violation
    (columns :data:`VIOLATION_COLUMNS`; empty when every hard rule is met).

    ``roster``: agent, start, end[, break_start, break_end][, break2_start, break2_end][, template][, skill].
    ``shifts``: the demand (template, start, end, count[, skill]); when given, shifts worked by fewer
    agents than ``count`` are reported (``unfilled``), and more (``overfilled``).
    ``prior``: shifts worked before the horizon (same columns), for rest and consecutive days.
    ``horizon``: first and last local date planned (default: the dates of ``shifts``, else of ``roster``);
    contract minimum hours are pro rata the days of each week inside it.
    """
    agents = validate_agents(agents)
    by_id = {a: row for a, row in zip(agents["agent"], (r for _, r in agents.iterrows()))}
    out: list[dict] = []
    frame = roster.reset_index(drop=True).copy()
    if "agent" not in frame.columns:
        raise ValueError("check_roster: the roster has no 'agent' column")
    frame["agent"] = frame["agent"].astype(str)
    frame["is_prior"] = False
    if prior is not None and len(prior):
        earlier = prior.reset_index(drop=True).copy()
        earlier["agent"] = earlier["agent"].astype(str)
        earlier["is_prior"] = True
        frame = pd.concat([earlier, frame], ignore_index=True)
    if "template" not in frame.columns:
        frame["template"] = ""
    facts = shift_facts(frame, rules, tz) if len(frame) else None
    if horizon is None:
        source = shifts if shifts is not None and len(shifts) else roster
        if len(source):
            dates = _local(source["start"], tz).dt.date
            horizon = (dates.min(), dates.max())
    start_l = _local(frame["start"], tz) if len(frame) else pd.Series(dtype=object)
    end_l = _local(frame["end"], tz) if len(frame) else pd.Series(dtype=object)

    for i in range(len(frame)):
        if frame.at[i, "is_prior"]:
            continue
        agent_id = frame.at[i, "agent"]
        where = (agent_id, facts.at[i, "date"], start_l[i], end_l[i], frame.at[i, "template"])
        if agent_id not in by_id:
            out.append(_violation("unknown_agent", *where, np.nan, np.nan, "", f"agent {agent_id!r} is not in the agents file"))
            continue
        for rule, value, limit, unit, detail in shift_rule_breaches(facts.loc[i], rules):
            out.append(_violation(rule, *where, value, limit, unit, detail))
        skill = frame.at[i, "skill"] if "skill" in frame.columns and not _blank(frame.at[i, "skill"]) else None
        reason = agent_block_reason(by_id[agent_id], start_l[i], end_l[i], skill, int(facts.at[i, "weekday"]), tz)
        if reason is not None:
            rule = ("skill" if reason.startswith("lacks") else "days_off" if reason.startswith("day off")
                    else "leave" if reason.startswith("on leave") else "availability")
            out.append(_violation(rule, *where, np.nan, np.nan, "", reason))

    if len(frame):
        for agent_id, idx in frame.groupby("agent").groups.items():
            if agent_id not in by_id:
                continue
            out.extend(_check_agent(frame.loc[idx], facts.loc[idx], start_l[idx], end_l[idx], by_id[agent_id], rules, horizon, tz))
    # Agents without any shift in the horizon still have a contract minimum (agents with shifts,
    # prior ones included, were checked above: every week of the horizon, so skip them here).
    if horizon is not None:
        worked = set(frame["agent"]) if len(frame) else set()
        weeks: dict = {}
        for i in range((horizon[1] - horizon[0]).days + 1):
            day = horizon[0] + dt.timedelta(days=i)
            iso = day.isocalendar()
            weeks.setdefault(f"{iso.year}-W{iso.week:02d}", []).append(day)
        for agent_id, agent in by_id.items():
            if agent_id in worked:
                continue
            earlier = frame[frame["is_prior"] & (frame["agent"] == agent_id)] if len(frame) else frame
            for week, days in weeks.items():
                need = contract_min_hours(agent, days)
                paid = 0.0
                if len(earlier):  # prior shifts inside a week of the horizon count towards it
                    f = facts.loc[earlier.index]
                    hours = earlier["hours"].astype(float) if "hours" in earlier.columns else f["work_hours"]
                    paid = float(hours[f["week"] == week].sum())
                if paid < need - 1e-6:
                    out.append(_violation("contract_min_hours", agent_id, None, pd.NaT, pd.NaT, "", paid, need, "h",
                                          f"{paid:.2f} paid h in {week} < contract minimum {need:.2f} h (pro rata)"))
    if shifts is not None:
        out.extend(_check_cover(frame[~frame["is_prior"]], shifts, tz))
    result = pd.DataFrame(out, columns=list(VIOLATION_COLUMNS))
    return result.sort_values(["rule", "agent", "start"], kind="stable", key=lambda s: s.astype(str)).reset_index(drop=True)


def _check_agent(rows, facts, start, end, agent, rules, horizon, tz) -> list[dict]:
    out = []
    agent_id = agent["agent"]
    order = np.argsort(_ns(start), kind="stable")
    rows, facts, start, end = rows.iloc[order], facts.iloc[order], start.iloc[order], end.iloc[order]
    prior = rows["is_prior"].to_numpy()
    templates = rows["template"].to_numpy()
    starts, ends = list(start), list(end)
    dates = list(facts["date"])
    # Rest between consecutive shifts (and overlap).
    for k in range(1, len(rows)):
        if prior[k]:
            continue
        gap = (starts[k] - ends[k - 1]).total_seconds() / 3600.0
        need = float(facts["rest_after_hours"].iloc[k - 1])
        if gap < need - 1e-9:
            rule = "overlap" if gap < 0 else "min_rest_hours"
            out.append(_violation(rule, agent_id, dates[k], starts[k], ends[k], templates[k], gap, need, "h",
                                  f"{gap:.2f} h between the shift ending {ends[k - 1]:%Y-%m-%d %H:%M} and this one; needs {need:g} h"))
    # Shifts per day.
    per_day = pd.Series(1, index=pd.Index(dates)).groupby(level=0).sum()
    current = set(d for d, p in zip(dates, prior) if not p)
    for day, n in per_day.items():
        if day in current and n > rules.max_shifts_per_day:
            out.append(_violation("max_shifts_per_day", agent_id, day, pd.NaT, pd.NaT, "", float(n), float(rules.max_shifts_per_day),
                                  "shifts", f"{n} shifts start on {day}"))
    # Consecutive working days.
    if rules.max_consecutive_days is not None:
        worked = sorted(set(dates))
        run = 1
        for k in range(1, len(worked)):
            run = run + 1 if (worked[k] - worked[k - 1]).days == 1 else 1
            if run == rules.max_consecutive_days + 1 and worked[k] in current:
                out.append(_violation("max_consecutive_days", agent_id, worked[k], pd.NaT, pd.NaT, "", float(run),
                                      float(rules.max_consecutive_days), "days",
                                      f"works {run} days in a row up to {worked[k]}"))
    # Weekly hours (ATW, working time) and contract hours (paid) per ISO week of the start date.
    paid = rows["hours"].to_numpy(float) if "hours" in rows.columns else facts["work_hours"].to_numpy(float)
    weekly = pd.DataFrame({"week": facts["week"].to_numpy(), "work": facts["work_hours"].to_numpy(), "paid": paid,
                           "evening": facts["evening"].to_numpy(), "weekend": facts["weekend"].to_numpy(),
                           "date": dates, "prior": prior})
    horizon_days = []
    if horizon is not None:
        horizon_days = [horizon[0] + dt.timedelta(days=i) for i in range((horizon[1] - horizon[0]).days + 1)]
    weeks_in_horizon = {}
    for day in horizon_days:
        iso = day.isocalendar()
        weeks_in_horizon.setdefault(f"{iso.year}-W{iso.week:02d}", []).append(day)
    sums = weekly.groupby("week")[["work", "paid", "evening"]].sum()
    for week in sorted(set(sums.index) | set(weeks_in_horizon)):
        work, paid_h, evenings = (sums.loc[week].tolist() if week in sums.index else (0.0, 0.0, 0))
        if week not in weeks_in_horizon and week not in set(weekly.loc[~weekly["prior"], "week"]):
            continue
        if work > rules.max_week_hours + 1e-6:
            out.append(_violation("max_week_hours", agent_id, None, pd.NaT, pd.NaT, "", work, rules.max_week_hours, "h",
                                  f"{work:.2f} h of work in {week} > {rules.max_week_hours:g} h"))
        if paid_h > float(agent["max_hours_week"]) + 1e-6:
            out.append(_violation("contract_max_hours", agent_id, None, pd.NaT, pd.NaT, "", paid_h, float(agent["max_hours_week"]), "h",
                                  f"{paid_h:.2f} paid h in {week} > contract maximum {float(agent['max_hours_week']):g} h"))
        if week in weeks_in_horizon:
            need = contract_min_hours(agent, weeks_in_horizon[week])
            if paid_h < need - 1e-6:
                out.append(_violation("contract_min_hours", agent_id, None, pd.NaT, pd.NaT, "", paid_h, need, "h",
                                      f"{paid_h:.2f} paid h in {week} < contract minimum {need:.2f} h (pro rata)"))
        limit = agent["max_evenings_week"]
        if limit is not None and evenings > limit:
            out.append(_violation("max_evenings_week", agent_id, None, pd.NaT, pd.NaT, "", float(evenings), float(limit), "shifts",
                                  f"{int(evenings)} evening shifts in {week} > {limit}"))
    if agent["max_weekends"] is not None:
        current_rows = weekly[~weekly["prior"] & weekly["weekend"]]
        weekends = current_rows["week"].nunique()
        if weekends > agent["max_weekends"]:
            out.append(_violation("max_weekends", agent_id, None, pd.NaT, pd.NaT, "", float(weekends), float(agent["max_weekends"]),
                                  "weekends", f"works {weekends} weekends > {agent['max_weekends']}"))
    # Uninterrupted weekly rest inside each calendar week (Monday 00:00 to Monday 00:00 local).
    if rules.weekly_rest_hours is not None:
        for week, days in weeks_in_horizon.items():
            monday = days[0] - dt.timedelta(days=days[0].weekday())
            w0, _ = _day_span(monday, tz)
            w1, _ = _day_span(monday + dt.timedelta(days=7), tz)
            busy = sorted((max(s, w0), min(e, w1)) for s, e in zip(starts, ends) if s < w1 and e > w0)
            longest, cursor = 0.0, w0
            for s, e in busy:
                longest = max(longest, (s - cursor).total_seconds() / 3600.0)
                cursor = max(cursor, e)
            longest = max(longest, (w1 - cursor).total_seconds() / 3600.0)
            if longest < rules.weekly_rest_hours - 1e-9:
                out.append(_violation("weekly_rest_hours", agent_id, None, pd.NaT, pd.NaT, "", longest, rules.weekly_rest_hours, "h",
                                      f"longest uninterrupted rest in {week} is {longest:.2f} h < {rules.weekly_rest_hours:g} h"))
    return out


def _shift_key(frame: pd.DataFrame, tz: str) -> pd.Series:
    start = pd.Series(_ns(frame["start"]), index=frame.index).astype(str)
    end = pd.Series(_ns(frame["end"]), index=frame.index).astype(str)
    template = frame["template"].astype(str) if "template" in frame.columns else ""
    return template + "|" + start + "|" + end


def _check_cover(roster: pd.DataFrame, shifts: pd.DataFrame, tz: str) -> list[dict]:
    out = []
    demand = shifts.assign(key=_shift_key(shifts, tz)).groupby("key").agg(
        count=("count", "sum"), start=("start", "first"), end=("end", "first"))
    worked = _shift_key(roster, tz).value_counts() if len(roster) else pd.Series(dtype=int)
    for key in sorted(set(demand.index) | set(worked.index)):
        need = int(demand.at[key, "count"]) if key in demand.index else 0
        got = int(worked.get(key, 0))
        template = key.split("|", 1)[0]
        if key in demand.index:
            s, e = pd.Timestamp(demand.at[key, "start"]).tz_convert(tz), pd.Timestamp(demand.at[key, "end"]).tz_convert(tz)
        else:
            parts = key.split("|")
            s, e = pd.Timestamp(int(parts[1]), tz="UTC").tz_convert(tz), pd.Timestamp(int(parts[2]), tz="UTC").tz_convert(tz)
        if got < need:
            out.append(_violation("unfilled", None, s.date(), s, e, template, float(need - got), float(need), "shifts",
                                  f"{need - got} of {need} shifts not worked"))
        elif got > need:
            out.append(_violation("overfilled", None, s.date(), s, e, template, float(got - need), float(need), "shifts",
                                  f"{got} agents work a shift needed {need} times"))
    return out
