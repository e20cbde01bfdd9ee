"""Shift templates, contracts, premiums and solver settings: the typed records behind ``shifts.toml``.

The file is read once at the boundary (:func:`read_shifts`) and validated into frozen records;
the model code never re-parses strings. Every error names the file, the table and the key
(``shifts.toml, [[shift]] #2 'late', key 'length': ...``). The format is documented in
``docs/roster.md``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scheduling.opening_hours import DAY_ALIASES as _DAY_ALIASES, DAY_NAMES
from scheduling.tomlfile import read_toml

__all__ = [
    "BreakRule",
    "Contract",
    "Penalties",
    "Premiums",
    "RosterConfig",
    "ShiftTemplate",
    "ShiftsError",
    "SolverSettings",
    "parse_days",
    "premium_factors",
    "read_shifts",
    "shifts_from_dict",
]

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_MINUTES = 24 * 60


class ShiftsError(ValueError):
    """A shifts.toml that cannot be used; the message names file, table and key."""


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakRule:
    """One break inside a shift.

    length : the break [Timedelta]; earliest / latest : the window, measured from the shift
    start, in which the whole break must lie (``window = ["3h", "5h"]``: the break starts at 3 h
    at the earliest and ends at 5 h at the latest); step : spacing of the candidate break starts
    (default 15 minutes). paid : whether the break is paid time. The optimiser chooses the
    placement per shift.
    """

    length: pd.Timedelta
    earliest: pd.Timedelta
    latest: pd.Timedelta
    step: pd.Timedelta = pd.Timedelta("15min")
    paid: bool = False

    def offsets(self) -> list[pd.Timedelta]:
        """Candidate break starts, from the shift start."""
        out, start = [], self.earliest
        while start + self.length <= self.latest:
            out.append(start)
            start += self.step
        return out


@dataclass(frozen=True)
class ShiftTemplate:
    """A kind of shift: its length, allowed starts (local wall-clock minutes after midnight),
    weekdays (0 = Monday), breaks, contract, paid hours and count limits per day and in total."""

    name: str
    length: pd.Timedelta
    start_minutes: tuple[int, ...]
    days: tuple[int, ...] = tuple(range(7))
    breaks: tuple[BreakRule, ...] = ()
    contract: str = "default"
    paid_hours: float | None = None
    min_per_day: int = 0
    max_per_day: int | None = None
    min_total: int = 0
    max_total: int | None = None

    @property
    def unpaid_break(self) -> pd.Timedelta:
        return sum((b.length for b in self.breaks if not b.paid), pd.Timedelta(0))

    @property
    def default_paid_hours(self) -> float:
        """Paid hours of one shift: ``paid_hours`` or the length less unpaid breaks."""
        if self.paid_hours is not None:
            return float(self.paid_hours)
        return (self.length - self.unpaid_break).total_seconds() / 3600.0


@dataclass(frozen=True)
class Contract:
    """A contract type: its hourly wage [currency per paid hour]."""

    name: str
    hourly_wage: float


@dataclass(frozen=True)
class Premiums:
    """Surcharges on the hourly wage, as fractions (0.25 = +25 %).

    evening / night : (start minute, end minute, rate) of local wall-clock windows (an end at or
    before the start runs past midnight); saturday, sunday, holiday : rates for whole local days;
    holidays are those of ``holiday_country`` (the ``holidays`` package; default NL).
    ``combine``: "max" (default; the highest applicable premium counts) or "sum".
    """

    evening: tuple[int, int, float] | None = None
    night: tuple[int, int, float] | None = None
    saturday: float = 0.0
    sunday: float = 0.0
    holiday: float = 0.0
    holiday_country: str | None = "NL"
    combine: str = "max"


@dataclass(frozen=True)
class Penalties:
    """Prices of the elastic slack (currency per unit); None = derived from the wages.

    shortfall : per agent-hour (heads) below a requirement or minimum staff;
    late_message : per message late beyond the service-level target (or floor);
    template : per shift below a template's minimum or above its maximum.
    """

    shortfall: float | None = None
    late_message: float | None = None
    template: float | None = None


@dataclass(frozen=True)
class SolverSettings:
    """Which solver (any name Pyomo's SolverFactory knows; default HiGHS through highspy),
    the time limit [s], the relative MIP gap at which to stop the shift roster, the one at which
    each week of the named assignment stops (``assign_mip_gap``; its LP bound is looser, and a
    tenth of a percent there costs minutes), and threads."""

    name: str = "highs"
    time_limit: float = 60.0
    mip_gap: float = 0.001
    assign_mip_gap: float = 0.01
    threads: int | None = None


@dataclass(frozen=True)
class RosterConfig:
    """Everything ``shifts.toml`` holds."""

    templates: tuple[ShiftTemplate, ...]
    contracts: dict[str, Contract]
    premiums: Premiums = Premiums()
    penalties: Penalties = Penalties()
    solver: SolverSettings = SolverSettings()
    source: str = "shifts.toml"

    def __post_init__(self):
        if not self.templates:
            raise ShiftsError(f"{self.source}: no [[shift]] templates")
        for t in self.templates:
            if t.contract not in self.contracts:
                raise ShiftsError(f"{self.source}: shift {t.name!r} names contract {t.contract!r}, "
                                  f"which is not among [contracts.*] ({', '.join(sorted(self.contracts)) or 'none'})")
        names = [t.name for t in self.templates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ShiftsError(f"{self.source}: shift names must be unique; repeated: {', '.join(dupes)}")

    def template(self, name: str) -> ShiftTemplate:
        return next(t for t in self.templates if t.name == name)

    def with_solver(self, **changes) -> "RosterConfig":
        from dataclasses import replace
        return replace(self, solver=replace(self.solver, **changes))


# --------------------------------------------------------------------------------------------
# Premium factors per minute
# --------------------------------------------------------------------------------------------


def _in_window(minute_of_day: np.ndarray, window) -> np.ndarray:
    start, end, _ = window
    end = end % _DAY_MINUTES if end != _DAY_MINUTES else _DAY_MINUTES
    if start < end:
        return (minute_of_day >= start) & (minute_of_day < end)
    return (minute_of_day >= start) | (minute_of_day < end)


def premium_factors(minutes: pd.DatetimeIndex, premiums: Premiums) -> np.ndarray:
    """Wage multiplier (1 + premium) for every instant of ``minutes`` (tz-aware, local rules)."""
    local = minutes
    minute_of_day = (local.hour * 60 + local.minute).to_numpy()
    weekday = local.day_of_week.to_numpy()
    rates = [np.zeros(len(local))]
    if premiums.evening is not None:
        rates.append(np.where(_in_window(minute_of_day, premiums.evening), premiums.evening[2], 0.0))
    if premiums.night is not None:
        rates.append(np.where(_in_window(minute_of_day, premiums.night), premiums.night[2], 0.0))
    rates.append(np.where(weekday == 5, premiums.saturday, 0.0))
    rates.append(np.where(weekday == 6, premiums.sunday, 0.0))
    if premiums.holiday and premiums.holiday_country:
        import holidays as holiday_calendars

        dates = local.normalize().tz_localize(None) if local.tz is not None else local.normalize()
        years = sorted(set(dates.year))
        known = holiday_calendars.country_holidays(premiums.holiday_country, years=years)
        is_holiday = np.array([d.date() in known for d in dates])
        rates.append(np.where(is_holiday, premiums.holiday, 0.0))
    stack = np.vstack(rates)
    combined = stack.sum(axis=0) if premiums.combine == "sum" else stack.max(axis=0)
    return 1.0 + combined


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class _Where:
    """Builds error messages that name file, table and key."""

    def __init__(self, source: str, table: str):
        self.source, self.table = source, table

    def error(self, key: str | None, message: str) -> ShiftsError:
        where = f"{self.source}, {self.table}" + (f", key '{key}'" if key else "")
        return ShiftsError(f"{where}: {message}")


def _duration(value, where: _Where, key: str, *, positive=True) -> pd.Timedelta:
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, (int, float)):
            out = pd.Timedelta(hours=float(value))  # a bare number in shifts.toml is hours
        else:
            text = str(value).strip().lower().replace(" ", "")
            if re.fullmatch(r"\d+(\.\d+)?m", text):
                text += "in"
            out = pd.Timedelta(text)
    except (ValueError, TypeError):
        raise where.error(key, f"cannot read {value!r} as a duration: write e.g. \"8h\", \"30m\", \"7.5h\"") from None
    if pd.isna(out) or (positive and out <= pd.Timedelta(0)) or out < pd.Timedelta(0):
        raise where.error(key, f"{value!r} must be a duration {'above' if positive else 'of at least'} 0")
    return out


def _clock(value, where: _Where, key: str, *, allow_24=False) -> int:
    match = _CLOCK.match(str(value).strip())
    if not match:
        raise where.error(key, f"cannot read {value!r} as a time of day: write HH:MM, e.g. \"08:00\"")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise where.error(key, f"{value!r} is not a time of day (00:00-23:59{' or 24:00' if allow_24 else ''})")
    return hours * 60 + minutes


def parse_days(value) -> tuple[int, ...]:
    """Weekday numbers (0 = Monday) for ``"mon-fri"``, ``"sat,sun"``, ``"daily"`` or a list of names."""
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        text = str(value).strip().lower()
        if text in ("daily", "all", "every day", "dagelijks"):
            return tuple(range(7))
        items = [p for p in re.split(r"[,\s]+", text) if p]
    days: list[int] = []
    for item in items:
        bounds = [b.strip().lower() for b in item.split("-")]
        if not item or len(bounds) > 2 or any(b not in _DAY_ALIASES for b in bounds):
            raise ValueError(f"unknown day {item!r}: use mon..sun, a range such as mon-fri, or daily")
        first, last = _DAY_ALIASES[bounds[0]], _DAY_ALIASES[bounds[-1]]
        days.extend((first + k) % 7 for k in range((last - first) % 7 + 1))
    if not days:
        raise ValueError("no days given")
    return tuple(sorted(set(days)))


def _number(value, where: _Where, key: str, *, minimum=0.0, integer=False, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise where.error(key, f"{value!r} must be a number")
    if integer and int(value) != value:
        raise where.error(key, f"{value!r} must be a whole number")
    if value < minimum:
        raise where.error(key, f"{value!r} must be at least {minimum:g}")
    return int(value) if integer else float(value)


def _check_keys(table: dict, allowed: set[str], where: _Where):
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise where.error(unknown[0], f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _starts(raw: dict, where: _Where) -> tuple[int, ...]:
    if "starts" in raw:
        if any(k in raw for k in ("start_from", "start_to", "start_every")):
            raise where.error("starts", "give either 'starts' (a list) or start_from/start_to/start_every, not both")
        values = raw["starts"]
        if not isinstance(values, list) or not values:
            raise where.error("starts", "must be a non-empty list of times, e.g. [\"07:00\", \"08:30\"]")
        minutes = sorted({_clock(v, where, "starts") for v in values})
        return tuple(minutes)
    every = _duration(raw.get("start_every", "60m"), where, "start_every")
    step = every.total_seconds() / 60
    if step != int(step) or _DAY_MINUTES % int(step):
        raise where.error("start_every", f"{raw.get('start_every')!r} must be a whole number of minutes that divides "
                                         "a day (15m, 30m, 60m ...)")
    step = int(step)
    first = _clock(raw.get("start_from", "00:00"), where, "start_from")
    last = _clock(raw["start_to"], where, "start_to") if "start_to" in raw else first + _DAY_MINUTES - step
    if last < first:
        last += _DAY_MINUTES  # a start range running past midnight, e.g. 22:00 to 01:00
    minutes = sorted({m % _DAY_MINUTES for m in range(first, last + 1, step)})
    return tuple(minutes)


def _break(raw, where: _Where, length: pd.Timedelta) -> BreakRule:
    if not isinstance(raw, dict):
        raise where.error(None, "a break is a table with length and window, e.g. {length = \"30m\", window = [\"3h\", \"5h\"]}")
    _check_keys(raw, {"length", "window", "step", "paid"}, where)
    if "length" not in raw:
        raise where.error("length", "missing: the break's length, e.g. \"30m\"")
    blen = _duration(raw["length"], where, "length")
    window = raw.get("window", ["0h", str(length.total_seconds() / 3600) + "h"])
    if not isinstance(window, list) or len(window) != 2:
        raise where.error("window", "must be [earliest start, latest end] from the shift start, e.g. [\"3h\", \"5h\"]")
    earliest = _duration(window[0], where, "window", positive=False)
    latest = _duration(window[1], where, "window")
    step = _duration(raw.get("step", "15m"), where, "step")
    paid = raw.get("paid", False)
    if not isinstance(paid, bool):
        raise where.error("paid", "must be true or false")
    if latest > length:
        raise where.error("window", f"the window ends at {latest} after the shift's end ({length})")
    rule = BreakRule(blen, earliest, latest, step, paid)
    if not rule.offsets():
        raise where.error("window", f"a break of {blen} does not fit between {earliest} and {latest}")
    return rule


def _template(raw: dict, number: int, source: str, contracts: dict) -> ShiftTemplate:
    name = raw.get("name", f"shift{number}") if isinstance(raw, dict) else f"shift{number}"
    where = _Where(source, f"[[shift]] #{number} '{name}'")
    if not isinstance(raw, dict):
        raise where.error(None, "each [[shift]] must be a table")
    allowed = {"name", "length", "starts", "start_from", "start_to", "start_every", "days", "break", "breaks",
               "contract", "paid_hours", "min_per_day", "max_per_day", "min_total", "max_total"}
    _check_keys(raw, allowed, where)
    if not isinstance(name, str) or not name.strip():
        raise where.error("name", "must be a non-empty text")
    if "length" not in raw:
        raise where.error("length", "missing: the shift's length, e.g. \"8h\"")
    length = _duration(raw["length"], where, "length")
    if length > pd.Timedelta("24h"):
        raise where.error("length", f"{raw['length']!r} is longer than 24 hours")
    try:
        days = parse_days(raw.get("days", "daily"))
    except ValueError as exc:
        raise where.error("days", str(exc)) from None
    raw_breaks = raw.get("break", raw.get("breaks", []))
    if "break" in raw and "breaks" in raw:
        raise where.error("breaks", "give 'break' or 'breaks', not both")
    if isinstance(raw_breaks, dict):
        raw_breaks = [raw_breaks]
    breaks = tuple(_break(b, _Where(source, f"{where.table} break #{i + 1}"), length) for i, b in enumerate(raw_breaks))
    contract = raw.get("contract")
    if contract is None:
        if len(contracts) != 1:
            raise where.error("contract", f"missing: name one of the contracts ({', '.join(sorted(contracts))})")
        contract = next(iter(contracts))
    if contract not in contracts:
        raise where.error("contract", f"unknown contract {contract!r}; defined: {', '.join(sorted(contracts))}")
    paid_hours = _number(raw.get("paid_hours"), where, "paid_hours", allow_none=True)
    if paid_hours is not None and paid_hours > length.total_seconds() / 3600 + 1e-9:
        raise where.error("paid_hours", f"{paid_hours:g} is more than the shift's length")
    limits = {k: _number(raw.get(k), where, k, integer=True, allow_none=True)
              for k in ("min_per_day", "max_per_day", "min_total", "max_total")}
    for low, high in (("min_per_day", "max_per_day"), ("min_total", "max_total")):
        if limits[low] is not None and limits[high] is not None and limits[low] > limits[high]:
            raise where.error(high, f"{limits[high]} is below {low} = {limits[low]}")
    ordered = sorted(breaks, key=lambda b: b.earliest)
    for first, second in zip(ordered, ordered[1:]):
        if second.earliest < first.latest:
            raise where.error("break", f"the break windows {first.earliest}-{first.latest} and {second.earliest}-"
                                       f"{second.latest} overlap: give each break its own window")
    return ShiftTemplate(
        name=name.strip(), length=length, start_minutes=_starts(raw, where), days=days, breaks=tuple(ordered),
        contract=contract, paid_hours=paid_hours,
        min_per_day=limits["min_per_day"] or 0, max_per_day=limits["max_per_day"],
        min_total=limits["min_total"] or 0, max_total=limits["max_total"],
    )


def _premium_window(raw, where: _Where, key: str):
    if not isinstance(raw, dict):
        raise where.error(key, "must be a table {from = \"18:00\", to = \"22:00\", rate = 0.25}")
    _check_keys(raw, {"from", "to", "rate"}, _Where(where.source, f"{where.table}.{key}"))
    for k in ("from", "to", "rate"):
        if k not in raw:
            raise where.error(f"{key}.{k}", "missing")
    start = _clock(raw["from"], where, f"{key}.from")
    end = _clock(raw["to"], where, f"{key}.to", allow_24=True)
    if end == start:
        raise where.error(f"{key}.to", "the window opens and closes at the same time")
    return (start, end, _number(raw["rate"], where, f"{key}.rate"))


def shifts_from_dict(data: dict, source: str = "shifts.toml") -> RosterConfig:
    """Validate the parsed TOML of a shifts file into a :class:`RosterConfig`."""
    top = _Where(source, "top level")
    _check_keys(data, {"shift", "contracts", "premiums", "penalties", "solver"}, top)
    where = _Where(source, "[contracts]")
    raw_contracts = data.get("contracts", {"default": {"hourly_wage": 1.0}})
    if not isinstance(raw_contracts, dict) or not raw_contracts:
        raise where.error(None, "define at least one contract, e.g. [contracts.standard] hourly_wage = 18.5")
    contracts = {}
    for name, raw in raw_contracts.items():
        w = _Where(source, f"[contracts.{name}]")
        if not isinstance(raw, dict):
            raise w.error(None, "must be a table with hourly_wage")
        _check_keys(raw, {"hourly_wage", "description"}, w)
        if "hourly_wage" not in raw:
            raise w.error("hourly_wage", "missing: the wage per paid hour, e.g. 18.5")
        contracts[name] = Contract(name, _number(raw["hourly_wage"], w, "hourly_wage"))

    raw_premiums = data.get("premiums", {})
    where = _Where(source, "[premiums]")
    if not isinstance(raw_premiums, dict):
        raise where.error(None, "must be a table")
    _check_keys(raw_premiums, {"evening", "night", "saturday", "sunday", "holiday", "holiday_country", "combine"}, where)
    country = raw_premiums.get("holiday_country", "NL")
    if country is not None and country != "":
        import holidays as holiday_calendars

        if not isinstance(country, str) or country.upper() not in holiday_calendars.list_supported_countries():
            raise where.error("holiday_country", f"{country!r} is not a country code the holidays package knows (e.g. NL)")
        country = country.upper()
    combine = raw_premiums.get("combine", "max")
    if combine not in ("max", "sum"):
        raise where.error("combine", "must be \"max\" (the highest premium counts) or \"sum\"")
    premiums = Premiums(
        evening=_premium_window(raw_premiums["evening"], where, "evening") if "evening" in raw_premiums else None,
        night=_premium_window(raw_premiums["night"], where, "night") if "night" in raw_premiums else None,
        saturday=_number(raw_premiums.get("saturday", 0.0), where, "saturday"),
        sunday=_number(raw_premiums.get("sunday", 0.0), where, "sunday"),
        holiday=_number(raw_premiums.get("holiday", 0.0), where, "holiday"),
        holiday_country=country or None,
        combine=combine,
    )

    raw_pen = data.get("penalties", {})
    where = _Where(source, "[penalties]")
    if not isinstance(raw_pen, dict):
        raise where.error(None, "must be a table")
    _check_keys(raw_pen, {"shortfall", "late_message", "template"}, where)
    penalties = Penalties(**{k: _number(raw_pen.get(k), where, k, allow_none=True)
                             for k in ("shortfall", "late_message", "template")})

    raw_solver = data.get("solver", {})
    where = _Where(source, "[solver]")
    if not isinstance(raw_solver, dict):
        raise where.error(None, "must be a table")
    _check_keys(raw_solver, {"name", "time_limit", "mip_gap", "assign_mip_gap", "threads"}, where)
    name = raw_solver.get("name", "highs")
    if not isinstance(name, str) or not name.strip():
        raise where.error("name", "must be a solver name such as \"highs\", \"appsi_highs\", \"cbc\"")
    limit = raw_solver.get("time_limit", 60)
    if isinstance(limit, str):  # "60s", "2m"; a bare number is seconds here
        limit = _duration(limit, where, "time_limit").total_seconds()
    solver = SolverSettings(
        name=name.strip(),
        time_limit=_number(limit, where, "time_limit", minimum=0.001),
        mip_gap=_number(raw_solver.get("mip_gap", 0.001), where, "mip_gap"),
        assign_mip_gap=_number(raw_solver.get("assign_mip_gap", 0.01), where, "assign_mip_gap"),
        threads=_number(raw_solver.get("threads"), where, "threads", minimum=1, integer=True, allow_none=True),
    )

    raw_shifts = data.get("shift")
    if not isinstance(raw_shifts, list) or not raw_shifts:
        raise _Where(source, "[[shift]]").error(None, "no shift templates: add at least one [[shift]] table")
    templates = tuple(_template(raw, i + 1, source, contracts) for i, raw in enumerate(raw_shifts))
    return RosterConfig(templates, contracts, premiums, penalties, solver, source)


def read_shifts(path) -> RosterConfig:
    """Read and validate ``shifts.toml``; errors (ShiftsError, a ValueError) name file, table and key."""
    path = Path(path)
    data = read_toml(path, ShiftsError)
    return shifts_from_dict(data, str(path))
