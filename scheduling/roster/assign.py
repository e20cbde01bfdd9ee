"""Assign the shifts of a roster to named agents (Pyomo + HiGHS).

The roster model (:mod:`scheduling.roster.solve`) decides *which* shifts to staff; this module
decides *who* works each of them over a horizon of one to four weeks, so that

* every shift is filled (elastic: a shift nobody can work is reported, with who could have worked
  it and which rule stopped each of them, instead of a bare "infeasible");
* every hard labour rule of :class:`~scheduling.roster.labour.LabourRules` holds: rest between
  shifts (11 h, 14 h after a night shift), shifts per day, 60 h per week, 36 h uninterrupted rest
  per week (elastic, reported), maximum consecutive working days, and each agent's contract
  (hours per week: the maximum hard, the minimum elastic and reported), skills, fixed days off,
  availability, leave, maximum evenings per week and weekends per horizon;
* evenings and weekends are spread fairly (pro rata contract hours, in whole shifts) and preferences (early/late,
  no weekends/evenings/nights, a preferred day off) are met where possible (soft goals);
* among equally good rosters the cheapest is taken (agents' hourly wages, when given).

Formulation: one binary ``x[a, j]`` per agent and *distinct shift* ``j`` (identical shifts of the
demand are one slot with a count), created only where the agent may work the shift at all. Rest
between shifts is an interval-graph conflict (shift ``j`` blocks ``[start_j, end_j + rest_j)``),
written as one clique inequality per agent and maximal clique, which is exact and tight. The
weekly rest picks, per agent and week, one candidate 36-hour window (starting at the week's start
or at a shift's end) that must stay free. Horizons of more than ``decompose_weeks`` ISO weeks are
solved one week at a time, each week seeing the previous weeks' assignments (rest, consecutive
days, fairness and weekend counts carry over) and looking ahead (:func:`_lookahead`): it leaves
each agent the weekends and the next week's first day that their contract minimum in a later
week cannot do without, elastically (breaking it costs the minimum hours it protects, so a shift
is never left open for it). The time limit covers the whole run, building included; a week
without time left takes the greedy roster (``AssignmentResult.notes``). Each week is solved in two stages on one HiGHS model
(:func:`_solve_staged`): the LP relaxation gives a bound, then the MILP, started from the greedy
roster guided by the LP solution, stops at the first roster within ``mip_gap`` of that bound.
When nothing is found in the time the greedy roster (:func:`greedy_assign`, which keeps every
hard rule) is kept, so a time limit always returns a roster; places still open afterwards are
filled where the exact rules allow, and the final roster is checked by the independent
:func:`~scheduling.roster.labour.check_roster`. A contract minimum not reached is explained:
the week's demand is below the sum of the minimums, the agent cannot work enough that week at
all, the weekend limit is used up, the solver stopped at its time limit in that week, or else it
could not be reached with whole shifts, rest and the other agents' needs.

Each constraint family is one named function below (``fill_shifts``, ``rest_between_shifts``,
...), each with a one-line docstring; the tests check each on a tiny instance with a known optimum.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from scheduling.roster.labour import (
    DAY_NAMES,
    DEFAULT_TZ,
    LabourRules,
    agent_block_reason,
    check_roster,
    contract_min_hours,
    shift_facts,
    shift_rule_breaches,
    validate_agents,
)

__all__ = [
    "AssignWeights",
    "AssignmentResult",
    "ROSTER_COLUMNS",
    "ShiftsFrameError",
    "assign_agents",
    "greedy_assign",
    "lp_relaxation_bound",
    "roster_objective",
    "make_shifts",
]

#: Columns of ``AssignmentResult.roster`` (contract F), then ``name``.
ROSTER_COLUMNS = ("agent", "date", "start", "end", "break_start", "break_end", "template", "hours", "cost", "name")


class ShiftsFrameError(ValueError):
    """The shifts frame cannot be used; the message names the column and rows."""


@dataclass(frozen=True)
class AssignWeights:
    """Objective weights: penalties for elastic slack (hard rules that could not be met) far
    above the soft goals, so that a soft goal never costs a filled shift."""

    unfilled_per_hour: float = 1000.0  # per paid hour of a shift left unfilled
    contract_shortfall_per_hour: float = 100.0  # per hour below an agent's contract minimum
    weekly_rest_missing: float = 100000.0  # per agent-week without its 36 h rest (a legal rule: above any shift)
    fairness: float = 10.0  # per evening/weekend shift above an agent's fair share
    preference: float = 3.0  # per shift against a stated preference
    cost: float = 0.01  # per unit of wage cost (agents' hourly_wage, else the shift's cost)


@dataclass
class AssignmentResult:
    """Named roster and how it was found.

    ``roster``: one row per agent and shift (:data:`ROSTER_COLUMNS`). ``violations``: hard rules
    not met (columns of :data:`~scheduling.roster.labour.VIOLATION_COLUMNS`), e.g. ``unfilled``
    shifts whose ``detail`` says who could have worked them and which rule stopped each; empty when
    every hard rule holds. ``status``: ``optimal``, ``time_limit`` (best roster found, see ``gap``),
    ``infeasible-explained`` (violations non-empty) or ``greedy``. ``objective``/``bound``/``gap``:
    the solver's (summed over weeks when decomposed); ``lp_bound``: the LP relaxation of the whole
    horizon in one model when asked for (``lp_bound=True``). ``seconds``: wall time, building included.
    ``parts``: per part (week) its status, objective, bound, stages and seconds. ``notes``: what
    the time limit cut short (a week left to the greedy roster).
    """

    roster: pd.DataFrame
    violations: pd.DataFrame
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    lp_bound: float | None = None
    totals: pd.DataFrame | None = None
    parts: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# A small builder of shifts frames (for tests, benchmarks and demos)


def make_shifts(days: int | list, templates: dict, counts, *, first_day: str | dt.date = "2026-03-02",
                tz: str = DEFAULT_TZ, hourly_cost: float = 25.0) -> pd.DataFrame:
    """Build a shifts frame (the roster's ``.shifts`` shape): template, start, end, break_start,
    break_end, count, paid_hours, cost (and ``skill`` when a template names one).

    ``templates``: name -> dict(start="08:00", end="16:30", break_at="12:00" or None,
    break_minutes=30, skill=None). An end at or before the start runs into the next day.
    ``counts``: an int, a dict name -> int, or a callable (name, date) -> int.
    ``days``: a number of days from ``first_day``, or a list of dates.
    Local times are wall-clock times in ``tz``; a time in the hour skipped in spring moves to 03:00.
    """
    if isinstance(days, int):
        first = dt.date.fromisoformat(str(first_day)) if not isinstance(first_day, dt.date) else first_day
        dates = [first + dt.timedelta(days=i) for i in range(days)]
    else:
        dates = [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in days]

    def at(day: dt.date, hhmm: str, next_day: bool = False) -> pd.Timestamp:
        h, m = map(int, hhmm.split(":"))
        base = pd.Timestamp(day) + pd.Timedelta(days=int(next_day)) + pd.Timedelta(hours=h, minutes=m)
        return base.tz_localize(tz, nonexistent="shift_forward", ambiguous=True)

    rows = []
    for day in dates:
        for name, spec in templates.items():
            n = counts(name, day) if callable(counts) else counts.get(name, 0) if isinstance(counts, dict) else int(counts)
            if n <= 0:
                continue
            overnight = spec["end"] <= spec["start"]
            start, end = at(day, spec["start"]), at(day, spec["end"], overnight)
            break_at = spec.get("break_at")
            if break_at:
                b0 = at(day, break_at, overnight and break_at < spec["start"])
                b1 = b0 + pd.Timedelta(minutes=spec.get("break_minutes", 30))
            else:
                b0 = b1 = pd.NaT
            hours = (end - start).total_seconds() / 3600 - (0 if pd.isna(b0) else (b1 - b0).total_seconds() / 3600)
            row = {"template": name, "start": start, "end": end, "break_start": b0, "break_end": b1,
                   "count": int(n), "paid_hours": hours, "cost": hours * hourly_cost * int(n)}
            if spec.get("skill"):
                row["skill"] = spec["skill"]
            rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("start", "end", "break_start", "break_end"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz)
    if "skill" in frame.columns:
        frame["skill"] = frame["skill"].astype(object).where(frame["skill"].notna(), None)
    return frame


# --------------------------------------------------------------------------------------------
# Input


def _validate_shifts(shifts: pd.DataFrame, tz: str) -> pd.DataFrame:
    missing = [c for c in ("template", "start", "end", "count") if c not in shifts.columns]
    if missing:
        raise ShiftsFrameError(f"shifts: missing column(s) {', '.join(missing)}")
    frame = shifts.reset_index(drop=True).copy()
    for column in ("start", "end", "break_start", "break_end", "break2_start", "break2_end"):
        if column not in frame.columns:
            if column in ("break_start", "break_end"):
                frame[column] = pd.Series(pd.NaT, index=frame.index, dtype=f"datetime64[ns, {tz}]")
            continue
        values = pd.to_datetime(frame[column], errors="coerce")
        if getattr(values.dt, "tz", None) is None and values.notna().any():
            raise ShiftsFrameError(f"shifts, column '{column}': times must be tz-aware")
        bad = values.isna() & frame[column].notna() if column.startswith("break") else values.isna()
        if bad.any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad)[:5])
            raise ShiftsFrameError(f"shifts, column '{column}', rows {rows}: unreadable or empty times")
        frame[column] = values.dt.tz_convert(tz) if values.notna().any() else values
    bad = frame["end"] <= frame["start"]
    if bad.any():
        raise ShiftsFrameError(f"shifts, column 'end', rows {', '.join(str(i + 2) for i in np.flatnonzero(bad)[:5])}: end not after start")
    count = pd.to_numeric(frame["count"], errors="coerce")
    bad = count.isna() | (count < 0) | (count != count.round())
    if bad.any():
        raise ShiftsFrameError(f"shifts, column 'count', rows {', '.join(str(i + 2) for i in np.flatnonzero(bad)[:5])}: "
                               "counts must be whole numbers >= 0")
    frame["count"] = count.astype(int)
    if "paid_hours" not in frame.columns:
        frame["paid_hours"] = np.nan
    if "cost" not in frame.columns:
        frame["cost"] = np.nan
    if "skill" not in frame.columns:
        frame["skill"] = None
    return frame


def _slots(shifts: pd.DataFrame, rules: LabourRules, tz: str) -> pd.DataFrame:
    """Distinct shifts (identical rows merged, counts summed) with their facts."""
    keys = ["template", "start", "end", "break_start", "break_end", "skill"]
    keys += [c for c in ("break2_start", "break2_end") if c in shifts.columns]
    frame = shifts.copy()
    frame["skill"] = frame["skill"].map(lambda s: None if s is None or (isinstance(s, float) and math.isnan(s)) or s == "" else str(s).lower())
    frame["_unit_cost"] = frame["cost"] / frame["count"].where(frame["count"] > 0)
    grouped = frame.groupby(keys, dropna=False, sort=False).agg(
        count=("count", "sum"), paid_hours=("paid_hours", "first"), unit_cost=("_unit_cost", "first")).reset_index()
    grouped = grouped[grouped["count"] > 0].reset_index(drop=True)
    grouped["skill"] = grouped["skill"].astype(object).where(grouped["skill"].notna(), None)
    facts = shift_facts(grouped, rules, tz)
    slots = pd.concat([grouped, facts], axis=1)
    slots["paid_hours"] = slots["paid_hours"].fillna(slots["work_hours"])
    slots["unit_cost"] = slots["unit_cost"].fillna(0.0)
    slots["start_ns"] = slots["start"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
    slots["end_ns"] = slots["end"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
    slots["block_ns"] = slots["end_ns"] + (slots["rest_after_hours"] * 3.6e12).astype("int64")
    slots = slots.sort_values(["start_ns", "end_ns", "template"], kind="stable").reset_index(drop=True)
    slots["breaches"] = [shift_rule_breaches(row, rules) for _, row in slots.iterrows()]
    return slots


def _prior_frame(prior: pd.DataFrame | None, rules: LabourRules, tz: str) -> pd.DataFrame:
    if prior is None or len(prior) == 0:
        return pd.DataFrame(columns=["agent", "start", "end", "start_ns", "end_ns", "block_ns", "date", "week",
                                     "work_hours", "paid", "evening", "weekend"])
    frame = prior.reset_index(drop=True).copy()
    frame["agent"] = frame["agent"].astype(str)
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column]).dt.tz_convert(tz)
    facts = shift_facts(frame, rules, tz)
    out = pd.concat([frame[["agent", "start", "end"]], facts], axis=1)
    out["paid"] = frame["hours"].astype(float) if "hours" in frame.columns else facts["work_hours"]
    out["start_ns"] = out["start"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
    out["end_ns"] = out["end"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
    out["block_ns"] = out["end_ns"] + (out["rest_after_hours"] * 3.6e12).astype("int64")
    return out


# --------------------------------------------------------------------------------------------
# Eligibility (vectorised per agent)


def _local_ns(dates: list[dt.date], minutes: int, tz: str) -> np.ndarray:
    naive = pd.DatetimeIndex([pd.Timestamp(d) for d in dates]) + pd.Timedelta(minutes=minutes)
    return naive.tz_localize(tz, nonexistent="shift_forward", ambiguous=np.ones(len(naive), dtype=bool)).tz_convert("UTC").as_unit("ns").asi8


def _eligible(slots: pd.DataFrame, agent: pd.Series, rules: LabourRules, prior: pd.DataFrame, tz: str,
              base: np.ndarray | None = None) -> np.ndarray:
    """Mask of slots the agent may work at all (skill, days off, leave, availability, contract size, prior rest).

    ``base``: the mask without the prior roster (:func:`_base_eligible`), when already known."""
    ok = _base_eligible(slots, agent, rules, tz) if base is None else base.copy()
    mine = prior[prior["agent"] == agent["agent"]] if len(prior) else prior
    if len(mine):
        starts, blocks = slots["start_ns"].to_numpy(), slots["block_ns"].to_numpy()
        for s_ns, b_ns in zip(mine["start_ns"], mine["block_ns"]):
            # A slot conflicts with an earlier shift when it starts inside that shift's rest, and with
            # a later one when that shift starts inside the slot's rest.
            ok &= ~((starts < b_ns) & (blocks > s_ns))
    return ok


def _base_eligible(slots: pd.DataFrame, agent: pd.Series, rules: LabourRules, tz: str) -> np.ndarray:
    """Mask of slots the agent may work at all, whatever else they work (skill, days off, leave,
    availability, contract size, the shift's own rules)."""
    n = len(slots)
    ok = np.array([not b for b in slots["breaches"]], dtype=bool)
    if agent["skills"] is not None:
        ok &= slots["skill"].map(lambda s: s is None or s in agent["skills"]).to_numpy(bool)
    start_date = slots["date"].to_numpy()
    last_date = (slots["end"] - pd.Timedelta(microseconds=1)).dt.date.to_numpy()
    for offset in (0, 1):
        day = np.array([d + dt.timedelta(days=offset) for d in start_date])
        inside = day <= last_date
        if agent["days_off"]:
            ok &= ~(inside & np.isin([d.weekday() for d in day], list(agent["days_off"])))
        for lo, hi in agent["leave"]:
            ok &= ~(inside & (day >= lo) & (day <= hi))
    ok &= slots["paid_hours"].to_numpy() <= float(agent["max_hours_week"]) + 1e-9
    ok &= slots["work_hours"].to_numpy() <= rules.max_week_hours + 1e-9
    if agent["available"]:
        fits = np.zeros(n, dtype=bool)
        weekday = slots["weekday"].to_numpy()
        s_ns, e_ns = slots["start_ns"].to_numpy(), slots["end_ns"].to_numpy()
        dates = list(start_date)
        for wd, lo, hi in agent["available"]:
            sel = weekday == wd
            if not sel.any():
                continue
            w0 = _local_ns(dates, lo, tz)
            w1 = _local_ns(dates, hi, tz)
            fits |= sel & (s_ns >= w0) & (e_ns <= w1)
        ok &= fits
    return ok


# --------------------------------------------------------------------------------------------
# Model data


@dataclass
class _Data:
    slots: pd.DataFrame
    agents: pd.DataFrame
    rules: LabourRules
    weights: AssignWeights
    tz: str
    pairs: list  # (agent, slot)
    by_agent: dict  # agent -> list of slots
    by_slot: dict  # slot -> list of agents
    prior: pd.DataFrame
    horizon: tuple[dt.date, dt.date]
    fair_prior: dict  # (kind, agent) -> count already worked within the horizon
    fair_total_prior: dict  # kind -> total worked within the horizon before this part
    weekends_prior: dict  # agent -> weekends already worked within the horizon
    relax: bool = False
    rest_only: set | None = None  # (agent, week) pairs with weekly-rest windows; None = all
    rest_model: str = "windows"  # "windows": exact 36 h windows; "days": two free days (compact, sufficient)
    # Week-by-week look-ahead (:func:`_lookahead`, elastic in :func:`keep_later_weeks_workable`):
    # agent -> {"weekends": weekends kept for later weeks, "weekend_hours": the minimum hours each
    # protects, "keep_free_after": ns instant (the latest start on the next part's first day that
    # reaches the minimum) before which this part's shifts should end their rest, "first_day_hours",
    # "last_days": dates of which the agent should not work all, "last_days_hours"}.
    lookahead: dict = field(default_factory=dict)


def _cliques(starts: np.ndarray, blocks: np.ndarray, members: list[int]) -> list[list[int]]:
    """Maximal cliques of the interval graph of [start, block) intervals, one per point just before an interval ends."""
    if len(members) < 2:
        return []
    idx = np.array(members)
    s, b = starts[idx], blocks[idx]
    points = np.unique(s)
    cliques, previous = [], None
    for k, t in enumerate(points):
        inside = idx[(s <= t) & (b > t)]
        nxt = points[k + 1] if k + 1 < len(points) else None
        # Keep only cliques that are not contained in the next point's clique.
        if nxt is not None:
            later = set(idx[(s <= nxt) & (b > nxt)])
            if set(inside) <= later:
                continue
        if len(inside) > 1 and (previous is None or set(inside) != previous):
            cliques.append(list(inside))
            previous = set(inside)
    return cliques


# --------------------------------------------------------------------------------------------
# Constraint families (hard), one named function each


def fill_shifts(m: pyo.ConcreteModel, d: _Data) -> None:
    """Each distinct shift is worked by exactly its count of agents, or the gap is unfilled (penalised)."""
    m.unfilled = pyo.Var(list(d.slots.index), domain=pyo.NonNegativeReals)
    counts = d.slots["count"].to_dict()
    m.fill = pyo.Constraint(list(d.slots.index), rule=lambda m, j: pyo.quicksum(m.x[a, j] for a in d.by_slot.get(j, ())) + m.unfilled[j] == counts[j])


def rest_between_shifts(m: pyo.ConcreteModel, d: _Data) -> None:
    """No agent works two shifts that overlap or leave less than the required rest (11 h, 14 h after nights) between them."""
    starts, blocks = d.slots["start_ns"].to_numpy(), d.slots["block_ns"].to_numpy()
    index = []
    for a, js in d.by_agent.items():
        for c in _cliques(starts, blocks, js):
            index.append((a, tuple(c)))
    m.rest = pyo.Constraint(range(len(index)), rule=lambda m, k: pyo.quicksum(m.x[index[k][0], j] for j in index[k][1]) <= 1)


def shifts_per_day(m: pyo.ConcreteModel, d: _Data) -> None:
    """At most ``max_shifts_per_day`` shifts start on one local date per agent."""
    dates = d.slots["date"].to_dict()
    index = []
    for a, js in d.by_agent.items():
        per_day: dict = {}
        for j in js:
            per_day.setdefault(dates[j], []).append(j)
        index += [(a, tuple(g)) for g in per_day.values() if len(g) > d.rules.max_shifts_per_day]
    m.per_day = pyo.Constraint(range(len(index)), rule=lambda m, k: pyo.quicksum(m.x[index[k][0], j] for j in index[k][1]) <= d.rules.max_shifts_per_day)


def _week_groups(d: _Data, a: str) -> dict:
    weeks: dict = {}
    week = d.slots["week"].to_dict()
    for j in d.by_agent.get(a, ()):
        weeks.setdefault(week[j], []).append(j)
    return weeks


def _prior_sum(d: _Data, a: str, week: str, column: str) -> float:
    p = d.prior
    if len(p) == 0:
        return 0.0
    return float(p.loc[(p["agent"] == a) & (p["week"] == week), column].sum())


def weekly_working_hours(m: pyo.ConcreteModel, d: _Data) -> None:
    """Working time per ISO week stays within ``max_week_hours`` (ATW: 60 h)."""
    work = d.slots["work_hours"].to_dict()
    index = []
    for a in d.by_agent:
        for week, js in _week_groups(d, a).items():
            cap = d.rules.max_week_hours - _prior_sum(d, a, week, "work_hours")
            if sum(work[j] for j in js) > cap + 1e-9:
                index.append((a, tuple(js), cap))
    m.week_hours = pyo.Constraint(range(len(index)), rule=lambda m, k: pyo.quicksum(work[j] * m.x[index[k][0], j] for j in index[k][1]) <= max(index[k][2], 0.0))


def contract_hours(m: pyo.ConcreteModel, d: _Data) -> None:
    """Paid hours per ISO week stay within the contract maximum and reach the contract minimum
    (pro rata days inside the horizon and not on leave; the shortfall is elastic and penalised)."""
    paid = d.slots["paid_hours"].to_dict()
    agents = d.agents.set_index("agent")
    horizon_days = [d.horizon[0] + dt.timedelta(days=i) for i in range((d.horizon[1] - d.horizon[0]).days + 1)]
    part_weeks = set(d.slots["week"])
    week_days: dict = {}
    for day in horizon_days:
        iso = day.isocalendar()
        key = f"{iso.year}-W{iso.week:02d}"
        if key in part_weeks:
            week_days.setdefault(key, []).append(day)
    upper, lower = [], []
    for a, row in agents.iterrows():
        groups = _week_groups(d, a)
        for week, days in week_days.items():
            js = tuple(groups.get(week, ()))
            already = _prior_sum(d, a, week, "paid")
            cap = float(row["max_hours_week"]) - already
            if js and sum(paid[j] for j in js) > cap + 1e-9:
                upper.append((a, js, max(cap, 0.0)))
            need = contract_min_hours(row.to_dict() | {"agent": a}, days) - already
            if need > 1e-9:
                lower.append((a, js, need))
    m.contract_max = pyo.Constraint(range(len(upper)), rule=lambda m, k: pyo.quicksum(paid[j] * m.x[upper[k][0], j] for j in upper[k][1]) <= upper[k][2])
    m.short = pyo.Var(range(len(lower)), domain=pyo.NonNegativeReals)
    m.short_hours = {k: lower[k] for k in range(len(lower))}
    m.contract_min = pyo.Constraint(range(len(lower)), rule=lambda m, k: pyo.quicksum(paid[j] * m.x[lower[k][0], j] for j in lower[k][1]) + m.short[k] >= lower[k][2])


def _week_bounds(weeks, tz: str) -> dict:
    out = {}
    for week in weeks:
        monday = dt.date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
        b = _local_ns([monday, monday + dt.timedelta(days=7)], 0, tz)
        out[week] = (int(b[0]), int(b[1]))
    return out


def weekly_rest(m: pyo.ConcreteModel, d: _Data, only: set | None = None, name: str = "weekly_rest") -> None:
    """Each agent keeps one uninterrupted rest of ``weekly_rest_hours`` (ATW: 36 h) inside every
    calendar week: a chosen candidate window stays free (elastic, penalised when no window can).

    Candidate windows start at the week's start or at a shift's end; only windows whose set of
    blocked shifts is minimal are kept, and an agent-week with a window that no shift of the agent
    can touch needs no constraint. ``only`` restricts the family to some (agent, week) pairs (the
    solver adds them lazily, for the agent-weeks whose rest a solution breaks).
    """
    block = pyo.Block()
    m.add_component(name, block)
    rules = d.rules
    windows, groups, need = [], [], []
    if rules.weekly_rest_hours is not None:
        length = int(rules.weekly_rest_hours * 3.6e12)
        s_ns, e_ns, dates = d.slots["start_ns"].to_numpy(), d.slots["end_ns"].to_numpy(), d.slots["date"].to_numpy()
        weeks = sorted(set(d.slots["week"]))
        bounds = _week_bounds(weeks, d.tz)
        ends_all = np.unique(np.concatenate([e_ns, d.prior["end_ns"].to_numpy(np.int64) if len(d.prior) else np.zeros(0, np.int64)]))
        for a, js_all in d.by_agent.items():
            js_all = np.array(js_all)
            mine = d.prior[d.prior["agent"] == a] if len(d.prior) else d.prior
            for week in weeks:
                if only is not None and (a, week) not in only:
                    continue
                w0, w1 = bounds[week]
                taus = np.concatenate([[w0], ends_all[(ends_all >= w0) & (ends_all <= w1 - length)]])
                sets, free = [], False
                for tau in taus:
                    t1 = tau + length
                    if len(mine) and ((mine["start_ns"].to_numpy() < t1) & (mine["end_ns"].to_numpy() > tau)).any():
                        continue
                    inside = js_all[(s_ns[js_all] < t1) & (e_ns[js_all] > tau)]
                    if len(inside) == 0:
                        free = True
                        break
                    sets.append(frozenset(inside.tolist()))
                if free:
                    continue
                unique = sorted(set(sets), key=len)
                minimal = [x for i, x in enumerate(unique) if not any(o < x for o in unique[:i])]
                k0 = len(windows)
                for x in minimal:
                    windows.append((a, week))
                    by_date: dict = {}
                    for j in x:
                        by_date.setdefault(dates[j], []).append(j)
                    groups += [(len(windows) - 1, a, tuple(g)) for g in by_date.values()]
                need.append((a, week, list(range(k0, len(windows)))))
    block.window = pyo.Var(range(len(windows)), domain=pyo.UnitInterval if d.relax else pyo.Binary)
    block.missing = pyo.Var(range(len(need)), domain=pyo.NonNegativeReals)
    block.groups_data, block.need_data = groups, need
    cap = d.rules.max_shifts_per_day
    block.free = pyo.Constraint(range(len(groups)), rule=lambda b, g: pyo.quicksum(m.x[groups[g][1], j] for j in groups[g][2]) <= cap * (1 - b.window[groups[g][0]]))
    block.pick = pyo.Constraint(range(len(need)), rule=lambda b, k: pyo.quicksum(b.window[i] for i in need[k][2]) + b.missing[k] >= 1)


def free_days_rest(m: pyo.ConcreteModel, d: _Data, name: str = "weekly_rest") -> None:
    """Each agent gets two consecutive local dates without a shift start inside every calendar
    week, and no shift of the day before running past 12:00 of the first of them: a compact
    sufficient condition for the weekly uninterrupted rest (the rest then lasts from at most
    12:00 on the first date to 00:00 after the second, 36 h; elastic, penalised when impossible).
    """
    block = pyo.Block()
    m.add_component(name, block)
    options, groups, need = [], [], []
    rules = d.rules
    if rules.weekly_rest_hours is not None:
        dates = d.slots["date"].to_dict()
        end_ns = d.slots["end_ns"].to_dict()
        weeks = sorted(set(d.slots["week"]))
        length = int(rules.weekly_rest_hours * 3.6e12)
        for a, js in d.by_agent.items():
            per_day: dict = {}
            for j in js:
                per_day.setdefault(dates[j], []).append(j)
            mine = d.prior[d.prior["agent"] == a] if len(d.prior) else d.prior
            for week in weeks:
                monday = dt.date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
                days = [monday + dt.timedelta(days=i) for i in range(7)]
                two_after = _local_ns([x + dt.timedelta(days=2) for x in days[:6]], 0, d.tz)
                choices, auto = [], False
                for i in range(6):
                    first, second = days[i], days[i + 1]
                    latest_end = int(two_after[i]) - length
                    if len(mine) and ((mine["end_ns"].to_numpy() > latest_end) & (mine["start_ns"].to_numpy() < int(two_after[i]))).any():
                        continue  # a shift already worked leaves too little rest here
                    blocked = [tuple(per_day.get(first, ())), tuple(per_day.get(second, ())),
                               tuple(j for j in per_day.get(first - dt.timedelta(days=1), ()) if end_ns[j] > latest_end)]
                    blocked = [g for g in blocked if g]
                    if not blocked:
                        auto = True
                        break
                    choices.append(blocked)
                if auto:
                    continue
                k0 = len(options)
                for blocked in choices:
                    options.append((a, week))
                    groups += [(len(options) - 1, a, g) for g in blocked]
                need.append((a, week, list(range(k0, len(options)))))
    block.window = pyo.Var(range(len(options)), domain=pyo.UnitInterval if d.relax else pyo.Binary)
    block.missing = pyo.Var(range(len(need)), domain=pyo.NonNegativeReals)
    block.groups_data, block.need_data = groups, need
    cap = rules.max_shifts_per_day
    block.free = pyo.Constraint(range(len(groups)), rule=lambda b, g: pyo.quicksum(m.x[groups[g][1], j] for j in groups[g][2]) <= cap * (1 - b.window[groups[g][0]]))
    block.pick = pyo.Constraint(range(len(need)), rule=lambda b, k: pyo.quicksum(b.window[i] for i in need[k][2]) + b.missing[k] >= 1)


def _weekly_rest_short(roster: pd.DataFrame, earlier: pd.DataFrame, weeks: list, rules: LabourRules, tz: str) -> set:
    """(agent, week) pairs whose longest uninterrupted rest inside the week is below the rule."""
    if rules.weekly_rest_hours is None or len(roster) == 0:
        return set()
    need = rules.weekly_rest_hours * 3.6e12
    spans = [pd.DataFrame({"agent": roster["agent"].astype(str),
                           "s": pd.to_datetime(roster["start"]).dt.tz_convert("UTC").dt.as_unit("ns").astype("int64"),
                           "e": pd.to_datetime(roster["end"]).dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")})]
    if len(earlier):
        spans.append(pd.DataFrame({"agent": earlier["agent"], "s": earlier["start_ns"], "e": earlier["end_ns"]}))
    spans = pd.concat(spans, ignore_index=True).sort_values("s")
    short = set()
    for week, (w0, w1) in _week_bounds(weeks, tz).items():
        inside = spans[(spans["s"] < w1) & (spans["e"] > w0)]
        for a, g in inside.groupby("agent"):
            cursor, longest = w0, 0
            for s_, e_ in zip(g["s"].to_numpy(), g["e"].to_numpy()):
                longest = max(longest, s_ - cursor)
                cursor = max(cursor, e_)
            longest = max(longest, w1 - cursor)
            if longest < need - 1e-3:
                short.add((a, week))
    return short


def consecutive_days(m: pyo.ConcreteModel, d: _Data) -> None:
    """No agent works more than ``max_consecutive_days`` local dates in a row (prior days count)."""
    limit = d.rules.max_consecutive_days
    if limit is None:
        return
    dates = d.slots["date"].to_dict()
    first, last = d.slots["date"].min(), d.slots["date"].max()
    index, day_vars = [], []
    per_agent_days: dict = {}
    for a, js in d.by_agent.items():
        per_day: dict = {}
        for j in js:
            per_day.setdefault(dates[j], []).append(j)
        per_agent_days[a] = per_day
        worked_before = set(d.prior.loc[d.prior["agent"] == a, "date"]) if len(d.prior) else set()
        day = first - dt.timedelta(days=limit)
        while day <= last:
            span = [day + dt.timedelta(days=i) for i in range(limit + 1)]
            if span[-1] >= first:
                fixed = sum(1 for x in span if x in worked_before and x < first)
                free = [x for x in span if x in per_day]
                if fixed + len(free) > limit and free:
                    index.append((a, tuple(free), max(limit - fixed, 0)))
            day += dt.timedelta(days=1)
    if d.rules.max_shifts_per_day > 1:
        day_vars = sorted({(a, x) for a, days, _ in index for x in days})
    m.works_day = pyo.Var(day_vars, domain=pyo.UnitInterval if d.relax else pyo.Binary)
    if day_vars:
        cap = d.rules.max_shifts_per_day
        m.works_day_link = pyo.Constraint(day_vars, rule=lambda m, a, x: pyo.quicksum(m.x[a, j] for j in per_agent_days[a][x]) <= cap * m.works_day[a, x])

        def rule(m, k):
            a, days, rhs = index[k]
            return pyo.quicksum(m.works_day[a, x] for x in days) <= rhs
    else:
        def rule(m, k):
            a, days, rhs = index[k]
            return pyo.quicksum(m.x[a, j] for x in days for j in per_agent_days[a][x]) <= rhs
    m.consecutive = pyo.Constraint(range(len(index)), rule=rule)


def evening_and_weekend_limits(m: pyo.ConcreteModel, d: _Data) -> None:
    """Agents' own limits: at most ``max_evenings_week`` evening shifts per ISO week and
    ``max_weekends`` weekends worked in the horizon."""
    evening, weekend, week = d.slots["evening"].to_dict(), d.slots["weekend"].to_dict(), d.slots["week"].to_dict()
    agents = d.agents.set_index("agent")
    eve_index, wk_vars, wk_index, caps = [], [], [], []
    for a, js in d.by_agent.items():
        limit = agents.at[a, "max_evenings_week"]
        if limit is not None:
            per_week: dict = {}
            for j in js:
                if evening[j]:
                    per_week.setdefault(week[j], []).append(j)
            for w, g in per_week.items():
                already = int(_prior_sum(d, a, w, "evening"))
                if len(g) + already > limit:
                    eve_index.append((a, tuple(g), max(limit - already, 0)))
        limit = agents.at[a, "max_weekends"]
        if limit is not None:
            per_week = {}
            for j in js:
                if weekend[j]:
                    per_week.setdefault(week[j], []).append(j)
            rhs = limit - d.weekends_prior.get(a, 0)
            # Weekends kept for later weeks (look-ahead) are elastic: keep_later_weeks_workable.
            if len(per_week) > rhs - d.lookahead.get(a, {}).get("weekends", 0):
                for w, g in per_week.items():
                    wk_vars.append((a, w))
                    for j in g:
                        wk_index.append((a, w, j))
            if len(per_week) > rhs:
                caps.append((a, list(per_week), max(rhs, 0)))
    m.evenings = pyo.Constraint(range(len(eve_index)), rule=lambda m, k: pyo.quicksum(m.x[eve_index[k][0], j] for j in eve_index[k][1]) <= eve_index[k][2])
    m.works_weekend = pyo.Var(wk_vars, domain=pyo.UnitInterval if d.relax else pyo.Binary)
    m.weekend_link = pyo.Constraint(range(len(wk_index)), rule=lambda m, k: m.x[wk_index[k][0], wk_index[k][2]] <= m.works_weekend[wk_index[k][0], wk_index[k][1]])
    m.weekends = pyo.Constraint(range(len(caps)), rule=lambda m, k: pyo.quicksum(m.works_weekend[caps[k][0], w] for w in caps[k][1]) <= caps[k][2])


def keep_later_weeks_workable(m: pyo.ConcreteModel, d: _Data) -> None:
    """Week-by-week look-ahead (elastic, :func:`_lookahead`): an agent whose contract minimum in a
    later part needs a weekend keeps it free of this part's weekends, and one whose minimum next
    week needs its first day works no shift whose rest runs past the latest start there that still
    reaches the minimum, nor all of the ``max_consecutive_days`` days before it. Each may be broken
    at the price of the minimum hours it protects (``contract_shortfall_per_hour``), never more, so
    a shift is never left open to keep a later minimum."""
    dates, blocks, week = d.slots["date"].to_dict(), d.slots["block_ns"].to_dict(), d.slots["week"].to_dict()
    weekend = d.slots["weekend"].to_dict()
    agents = d.agents.set_index("agent")
    index, price, capped = [], [], set()  # index: (agent, shifts, weekends, rhs, slack indices)
    for a, look in d.lookahead.items():
        if a not in d.by_agent:
            continue
        js = d.by_agent[a]
        t = look.get("keep_free_after")
        if t is not None:
            late = tuple(j for j in js if blocks[j] > t)
            if late:
                price.append(look["first_day_hours"])
                index.append((a, late, (), 0, (len(price) - 1,)))
        days = set(look.get("last_days") or ())
        if days:
            near = tuple(j for j in js if dates[j] in days)
            if len({dates[j] for j in near}) >= len(days):
                price.append(look["last_days_hours"])
                index.append((a, near, (), len(days) - 1, (len(price) - 1,)))
        hours = look.get("weekend_hours") or []
        limit = agents.at[a, "max_weekends"]
        if hours and limit is not None:
            weeks = sorted({week[j] for j in js if weekend[j]})
            rhs = limit - d.weekends_prior.get(a, 0) - len(hours)
            if weeks and len(weeks) > rhs:
                keys = tuple(range(len(price), len(price) + len(hours)))
                price += list(hours)
                capped.update(keys)  # one weekend each
                index.append((a, (), tuple(weeks), max(rhs, 0), keys))
    m.look_slack = pyo.Var(range(len(price)), domain=pyo.NonNegativeReals)
    for key in capped:
        m.look_slack[key].setub(1)
    m.look_price = dict(enumerate(price))
    m.look_ahead_keys = {k: index[k][4] for k in range(len(index))}
    m.look_ahead = pyo.Constraint(range(len(index)), rule=lambda m, k: (
        pyo.quicksum(m.x[index[k][0], j] for j in index[k][1]) + pyo.quicksum(m.works_weekend[index[k][0], w] for w in index[k][2])
        - pyo.quicksum(m.look_slack[key] for key in index[k][4]) <= index[k][3]))


def _week_days(horizon) -> dict:
    """ISO week -> the local dates of the horizon inside it."""
    out: dict = {}
    for i in range((horizon[1] - horizon[0]).days + 1):
        day = horizon[0] + dt.timedelta(days=i)
        iso = day.isocalendar()
        out.setdefault(f"{iso.year}-W{iso.week:02d}", []).append(day)
    return out


def _capacity(slots: pd.DataFrame, mask: np.ndarray, agent, rules: LabourRules) -> float:
    """An upper bound on the paid hours an agent can work on the slots of ``mask`` (one week):
    the longest shift of each date, ``max_shifts_per_day`` times, within the contract maximum."""
    if not mask.any():
        return 0.0
    per_day = pd.Series(slots["paid_hours"].to_numpy()[mask]).groupby(slots["date"].to_numpy()[mask]).max()
    return min(float(per_day.sum()) * rules.max_shifts_per_day, float(agent["max_hours_week"]))


def _lookahead(slots: pd.DataFrame, base: dict, agents: pd.DataFrame, rules: LabourRules, horizon,
               later_weeks: list, part_dates: set) -> dict:
    """What a part solved before ``later_weeks`` should leave each agent so that their contract
    minimum stays reachable there (see :class:`_Data`), each with the hours of minimum it protects
    (the price of not keeping it, :func:`keep_later_weeks_workable`): weekends (when the agent has a
    weekend limit) for every later week whose minimum cannot be reached on weekdays alone, and the
    next week's first day when the minimum cannot be reached without it: no shift whose rest runs
    past the latest start on that day that still reaches the minimum, and (with a limit on
    consecutive days) not all of the days before it."""
    out: dict = {}
    if not later_weeks:
        return out
    week_days = _week_days(horizon)
    week, weekend, dates = slots["week"].to_numpy(), slots["weekend"].to_numpy(bool), slots["date"].to_numpy()
    start_ns = slots["start_ns"].to_numpy()
    for _, agent in agents.iterrows():
        a, mask, look = agent["agent"], base[agent["agent"]], {}
        weekend_hours = []
        for k, w in enumerate(later_weeks):
            need = contract_min_hours(agent, week_days.get(w, ()))
            if need <= 1e-9:
                continue
            sel = mask & (week == w)
            reachable = min(need, _capacity(slots, sel, agent, rules))
            if agent["max_weekends"] is not None:
                protected = reachable - _capacity(slots, sel & ~weekend, agent, rules)
                if protected > 1e-6:
                    weekend_hours.append(protected)
            if k == 0:
                first_date = min(week_days[w])
                first = sel & (dates == first_date)
                without = _capacity(slots, sel & ~first, agent, rules)
                if first.any() and without < need - 1e-6:
                    # The latest start on the first day that still reaches the minimum (else the
                    # earliest, which reaches the most).
                    starts = sorted(set(start_ns[first].tolist()), reverse=True)
                    keep = starts[-1]
                    for t in starts:
                        if _capacity(slots, sel & ~(first & (start_ns < t)), agent, rules) >= need - 1e-6:
                            keep = t
                            break
                    protected = min(need, _capacity(slots, sel & ~(first & (start_ns < keep)), agent, rules)) - without
                    if protected > 1e-6:
                        look["keep_free_after"] = int(keep)
                        look["first_day_hours"] = protected
                    limit = rules.max_consecutive_days
                    if limit is not None and rules.max_shifts_per_day == 1 and reachable - without > 1e-6:
                        days = [first_date - dt.timedelta(days=i) for i in range(1, limit + 1)]
                        if all(x in part_dates for x in days):
                            look["last_days"] = days
                            look["last_days_hours"] = reachable - without
        if weekend_hours:
            look["weekends"] = len(weekend_hours)
            look["weekend_hours"] = sorted(weekend_hours)
        if look:
            out[a] = look
    return out


# --------------------------------------------------------------------------------------------
# Soft goals


def fair_spread(m: pyo.ConcreteModel, d: _Data) -> None:
    """Soft: evening and weekend shifts are shared pro rata contract hours among the agents who can
    work them; each shift above an agent's fair share of the part, rounded up to whole shifts, is
    penalised. An agent behind their share of the earlier parts of the horizon may catch up by the
    whole shifts they are behind.

    Whole shifts make the goal reachable (nobody can work 2.4 evenings) and keep the LP relaxation
    tight: penalising the fraction above an exact share, or a cumulative share an agent already
    passed, is an integrality gap the solver would otherwise spend most of its time on (issue 5
    benchmark: 4 weeks at a time limit instead of seconds per week)."""
    flags = {"evening": d.slots["evening"].to_dict(), "weekend": d.slots["weekend"].to_dict()}
    counts = d.slots["count"].to_dict()
    hours = d.agents.set_index("agent")["max_hours_week"].to_dict()
    index, budget = [], {}
    for kind, flag in flags.items():
        kind_slots = [j for j, f in flag.items() if f]
        if not kind_slots:
            continue
        total = sum(counts[j] for j in kind_slots)
        earlier = d.fair_total_prior.get(kind, 0)
        able = [a for a, js in d.by_agent.items() if any(flag[j] for j in js)]
        weight = sum(hours[a] for a in able)
        for a in able:
            share = total * hours[a] / weight if weight > 0 else 0.0
            behind = earlier * hours[a] / weight - d.fair_prior.get((kind, a), 0) if weight > 0 else 0.0
            index.append((kind, a))
            budget[(kind, a)] = math.ceil(share - 1e-9) + max(math.floor(behind + 1e-9), 0)
    m.over_share = pyo.Var(index, domain=pyo.NonNegativeReals)
    m.fair = pyo.Constraint(index, rule=lambda m, kind, a: pyo.quicksum(m.x[a, j] for j in d.by_agent[a] if flags[kind][j])
                            - budget[(kind, a)] <= m.over_share[kind, a])


def _preference_misses(slots: pd.DataFrame, preferences: tuple) -> np.ndarray:
    """Per slot, how many of the agent's preferences the shift goes against."""
    miss = np.zeros(len(slots))
    for pref in preferences:
        if pref == "early":
            miss += ~slots["early"].to_numpy(bool)
        elif pref == "late":
            miss += ~slots["late"].to_numpy(bool)
        elif pref == "no_weekends":
            miss += slots["weekend"].to_numpy(bool)
        elif pref == "no_evenings":
            miss += slots["evening"].to_numpy(bool)
        elif pref == "no_nights":
            miss += slots["night"].to_numpy(bool)
        elif pref.startswith("off_"):
            miss += slots["weekday"].to_numpy() == DAY_NAMES.index(pref[4:])
    return miss


def objective(m: pyo.ConcreteModel, d: _Data) -> None:
    """Minimise: unfilled hours, contract shortfall, missing weekly rest (elastic, heavy), then
    unfair shares, preference misses and wage cost (soft)."""
    w = d.weights
    paid = d.slots["paid_hours"].to_dict()
    agents = d.agents.set_index("agent")
    unit_cost = d.slots["unit_cost"].to_numpy()
    per_pair = {}
    for a, js in d.by_agent.items():
        misses = _preference_misses(d.slots.loc[js], agents.at[a, "preferences"]) if agents.at[a, "preferences"] else np.zeros(len(js))
        wage = agents.at[a, "hourly_wage"]
        for k, j in enumerate(js):
            cost = paid[j] * wage if wage is not None and not (isinstance(wage, float) and math.isnan(wage)) else unit_cost[j]
            per_pair[(a, j)] = w.preference * misses[k] + w.cost * cost
    terms = [w.unfilled_per_hour * paid[j] * m.unfilled[j] for j in d.slots.index]
    terms += [w.contract_shortfall_per_hour * m.short[k] for k in m.short]
    terms += [w.contract_shortfall_per_hour * m.look_price[k] * m.look_slack[k] for k in m.look_slack]
    for block in m.component_objects(pyo.Block, descend_into=False):
        if block.local_name.startswith("weekly_rest"):
            terms += [w.weekly_rest_missing * block.missing[k] for k in block.missing]
    terms += [w.fairness * m.over_share[i] for i in m.over_share]
    terms += [c * m.x[p] for p, c in per_pair.items() if c != 0]
    m.objective = pyo.Objective(expr=pyo.quicksum(terms), sense=pyo.minimize)


HARD = (fill_shifts, rest_between_shifts, shifts_per_day, weekly_working_hours, contract_hours,
        consecutive_days, evening_and_weekend_limits, keep_later_weeks_workable)
SOFT = (fair_spread,)


def build_model(d: _Data) -> pyo.ConcreteModel:
    m = pyo.ConcreteModel(name="assign_agents")
    m.x = pyo.Var(d.pairs, domain=pyo.UnitInterval if d.relax else pyo.Binary)
    for family in HARD + SOFT:
        family(m, d)
    if d.rest_model == "days":
        free_days_rest(m, d)
    else:
        weekly_rest(m, d, d.rest_only)
    objective(m, d)
    return m


# --------------------------------------------------------------------------------------------
# Solving


def _solve(m: pyo.ConcreteModel, solver: str, time_limit: float | None, mip_gap: float, threads: int | None,
           opt=None, warm: bool = False) -> dict:
    """Solve with HiGHS through Pyomo's persistent APPSI interface (``appsi_highs``; ``opt`` is
    reused between lazy rounds so only added constraints are passed on, and the current variable
    values are given to HiGHS as a MIP start when ``warm``), or any other solver Pyomo knows by name."""
    if solver in ("highs", "appsi_highs"):
        from pyomo.contrib.appsi.base import TerminationCondition
        from pyomo.contrib.appsi.solvers.highs import Highs

        if opt is None:
            opt = Highs()
            opt.config.load_solution = False
            opt.config.stream_solver = False
            opt.update_config.treat_fixed_vars_as_params = False  # fixing a variable changes its bounds only
            opt.highs_options = {"threads": threads} if threads else {}
        opt.config.warmstart = warm
        opt.config.mip_gap = mip_gap
        opt.config.time_limit = None if time_limit is None else max(float(time_limit), 0.01)
        res = opt.solve(m)
        found = res.best_feasible_objective is not None
        if found:
            res.solution_loader.load_vars()
        term = res.termination_condition
        status = ("optimal" if term == TerminationCondition.optimal
                  else "time_limit" if term == TerminationCondition.maxTimeLimit else str(term.name))
        return {"found": found, "status": status, "objective": res.best_feasible_objective,
                "bound": res.best_objective_bound, "opt": opt}
    opt = pyo.SolverFactory(solver)
    if time_limit is not None:
        opt.options["timelimit"] = time_limit
    res = opt.solve(m, load_solutions=False)
    found = len(res.solution) > 0
    if found:
        m.solutions.load_from(res)
    term = str(res.solver.termination_condition)
    return {"found": found, "status": "optimal" if term == "optimal" else term,
            "objective": pyo.value(m.objective) if found else None, "bound": None, "opt": None}


def _solve_staged(m: pyo.ConcreteModel, d: _Data, solver: str, time_limit: float | None, mip_gap: float,
                  threads: int | None, greedy) -> dict:
    """Solve one part in two stages on one persistent HiGHS model:

    1. the LP relaxation: its optimum is a lower bound on the part's objective, known after a
       second or two;
    2. the MILP, started from the greedy roster guided by the LP solution, told to stop at the
       first roster within ``mip_gap`` of the LP bound (HiGHS option ``objective_target``), or
       at its own gap, or at the time limit. (Without a start HiGHS wanders: the benchmark's
       weeks then end at the time limit far from the bound.)

    The returned ``bound`` is the better of the LP's and the MILP's. When the MILP finds nothing in
    the time, the greedy roster ``greedy()`` is returned (status ``time_limit``). Other solvers
    than HiGHS: the MILP from the greedy roster."""
    clock = time.perf_counter()
    stages = []

    def left(share: float = 1.0) -> float | None:
        return None if time_limit is None else max((time_limit - (time.perf_counter() - clock)) * share, 0.01)

    if solver not in ("highs", "appsi_highs"):
        _start_from(m, d, greedy())
        out = _solve(m, solver, left(), mip_gap, threads, None, warm=True)
        return out | {"stages": ["full"]}
    binaries = [v for v in m.component_data_objects(pyo.Var) if v.is_binary()]
    for v in binaries:
        v.domain = pyo.UnitInterval
    lp = _solve(m, solver, left(0.5), 0.0, threads)
    opt = lp["opt"]
    for v in binaries:
        v.domain = pyo.Binary
    stages.append({"stage": "lp", "status": lp["status"], "objective": lp["objective"], "seconds": time.perf_counter() - clock})
    lp_bound = lp["objective"] if lp["status"] == "optimal" else None
    if lp_bound is not None:
        # A start guided by the LP (the greedy gives each place to the agent the LP gives most of
        # it); then stop as soon as a roster within mip_gap of the LP bound is found.
        start = greedy({p: m.x[p].value or 0.0 for p in d.pairs})
        _start_from(m, d, start)
        guided = pyo.value(m.objective)
        plain = greedy()  # the plain greedy roster when it is better (the LP's guide can leave a place open)
        _start_from(m, d, plain)
        if pyo.value(m.objective) < guided - 1e-6:
            start = plain
        else:
            _start_from(m, d, start)
        stages.append({"stage": "lp-guided start", "objective": pyo.value(m.objective), "seconds": time.perf_counter() - clock})
        opt.highs_options["objective_target"] = lp_bound + mip_gap * abs(lp_bound)
    else:
        start = greedy()
        _start_from(m, d, start)
    start_objective = pyo.value(m.objective)
    full = _solve(m, solver, left(), mip_gap, threads, opt, warm=True)
    if opt is not None:
        opt.highs_options["objective_target"] = -math.inf
    if full["status"] == "objectiveLimit":  # stopped at the target: within mip_gap of the LP bound
        full["status"] = "optimal"
    stages.append({"stage": "mip", "status": full["status"], "objective": full["objective"], "bound": full["bound"],
                   "seconds": time.perf_counter() - clock})
    if lp_bound is not None and full["bound"] is not None:
        full["bound"] = max(full["bound"], lp_bound)
    if not full["found"] or full["objective"] > start_objective + 1e-6:
        # Nothing within the time, or worse than the start HiGHS was given (it stopped before taking
        # it): the greedy start, so a roster is always returned and never worse than the greedy one.
        _start_from(m, d, start)
        bound = full["bound"] if full["found"] and full["bound"] is not None else lp_bound
        return {"found": True, "status": "time_limit", "objective": pyo.value(m.objective), "bound": bound,
                "opt": opt, "stages": stages + [{"stage": "greedy", "objective": pyo.value(m.objective)}]}
    return full | {"stages": stages}


def _lp_bound(slots, agents, rules, weights, tz, prior_frame, horizon, rest_model, solver, threads) -> float | None:
    data = _make_data(slots, agents, rules, weights, tz, prior_frame, horizon, {}, {}, {}, relax=True)
    data.rest_model = rest_model
    outcome = _solve(build_model(data), solver, None, 0.0, threads)
    return outcome["objective"] if outcome["status"] == "optimal" else None


def lp_relaxation_bound(shifts: pd.DataFrame, agents: pd.DataFrame, rules: LabourRules = LabourRules(), *,
                        tz: str = DEFAULT_TZ, prior: pd.DataFrame | None = None, weights: AssignWeights = AssignWeights(),
                        rest_model: str = "windows", solver: str = "highs", threads: int | None = None) -> float | None:
    """The LP relaxation of the whole horizon in one model: a lower bound on the objective of any
    roster can have (compare with :func:`roster_objective` of a roster)."""
    agents = validate_agents(agents)
    slots = _slots(_validate_shifts(shifts, tz), rules, tz)
    if len(slots) == 0:
        return 0.0
    return _lp_bound(slots, agents, rules, weights, tz, _prior_frame(prior, rules, tz),
                     (slots["date"].min(), slots["date"].max()), rest_model, solver, threads)


def roster_objective(roster: pd.DataFrame, shifts: pd.DataFrame, agents: pd.DataFrame, rules: LabourRules = LabourRules(), *,
                     tz: str = DEFAULT_TZ, prior: pd.DataFrame | None = None, weights: AssignWeights = AssignWeights(),
                     rest_model: str = "windows") -> float:
    """The objective of a given named roster in the model of the whole horizon (the scale of
    :func:`lp_relaxation_bound`), e.g. to compare the solver's roster and the greedy one."""
    agents = validate_agents(agents)
    slots = _slots(_validate_shifts(shifts, tz), rules, tz)
    prior_frame = _prior_frame(prior, rules, tz)
    data = _make_data(slots, agents, rules, weights, tz, prior_frame, (slots["date"].min(), slots["date"].max()), {}, {}, {})
    data.rest_model = rest_model
    model = build_model(data)
    index = {_slot_key(s): j for j, s in slots.iterrows()}
    chosen = set()
    for a, t, st, en in zip(roster["agent"].astype(str), roster["template"].astype(str), roster["start"], roster["end"]):
        j = index.get((t, pd.Timestamp(st).value, pd.Timestamp(en).value))
        if j is None or (a, j) not in model.x:
            raise ValueError(f"roster_objective: agent {a} works a shift {t} {st} that is not in the model")
        chosen.add((a, j))
    _start_from(model, data, chosen)
    return float(pyo.value(model.objective))


def _start_from(m: pyo.ConcreteModel, d: _Data, chosen: set) -> None:
    """Set every variable to a feasible point built from the assignments ``chosen`` (a MIP start):
    elastic slack takes up whatever the assignments leave undone."""
    for p in d.pairs:
        m.x[p].set_value(1.0 if p in chosen else 0.0)
    per_slot: dict = {}
    for a, j in chosen:
        per_slot[j] = per_slot.get(j, 0) + 1
    for j in m.unfilled:
        m.unfilled[j].set_value(max(d.slots.at[j, "count"] - per_slot.get(j, 0), 0))
    for block in m.component_objects(pyo.Block, descend_into=False):
        if block.local_name.startswith("weekly_rest"):
            # Open the first candidate rest whose shifts the start does not use.
            busy = set()
            for i, a, g in block.groups_data:
                if any((a, j) in chosen for j in g):
                    busy.add(i)
            for k in block.window:
                block.window[k].set_value(0)
            for k, (_, _, options) in enumerate(block.need_data):
                free = next((i for i in options if i not in busy), None)
                if free is None:
                    block.missing[k].set_value(1)
                else:
                    block.window[free].set_value(1)
                    block.missing[k].set_value(0)
    dates, weeks, weekend = d.slots["date"].to_dict(), d.slots["week"].to_dict(), d.slots["weekend"].to_dict()
    worked_days = {(a, dates[j]) for a, j in chosen}
    worked_weekends = {(a, weeks[j]) for a, j in chosen if weekend[j]}
    if hasattr(m, "works_day"):
        for k in m.works_day:
            m.works_day[k].set_value(1 if k in worked_days else 0)
    if hasattr(m, "works_weekend"):
        for k in m.works_weekend:
            m.works_weekend[k].set_value(1 if k in worked_weekends else 0)
    # Remaining continuous slack: the smallest value its one constraint allows.
    for con, var in ((getattr(m, "contract_min", None), getattr(m, "short", None)),):
        if con is None:
            continue
        for k in con:
            var[k].set_value(0)
            body = pyo.value(con[k].body)
            var[k].set_value(max(pyo.value(con[k].lower) - body, 0.0))
    if hasattr(m, "look_ahead"):  # elastic look-ahead: the cheapest slack that covers each excess
        for key in m.look_slack:
            m.look_slack[key].set_value(0)
        for k in m.look_ahead:
            con = m.look_ahead[k]
            excess = pyo.value(con.body) - pyo.value(con.upper)
            for key in sorted(m.look_ahead_keys[k], key=lambda key: m.look_price[key]):
                if excess <= 1e-9:
                    break
                step = excess if m.look_slack[key].ub is None else min(excess, m.look_slack[key].ub)
                m.look_slack[key].set_value(step)
                excess -= step
    if hasattr(m, "fair"):
        for k in m.fair:
            m.over_share[k].set_value(0)
            m.over_share[k].set_value(max(pyo.value(m.fair[k].body) - pyo.value(m.fair[k].upper), 0.0)
                                      if m.fair[k].upper is not None else 0.0)


def _make_data(slots, agents, rules, weights, tz, prior, horizon, fair_prior, fair_total_prior, weekends_prior, relax=False,
               base: dict | None = None, lookahead: dict | None = None) -> _Data:
    pairs, by_agent, by_slot = [], {}, {}
    for _, agent in agents.iterrows():
        ok = _eligible(slots, agent, rules, prior, tz, None if base is None else base[agent["agent"]])
        js = [int(j) for j in np.flatnonzero(ok)]
        js = [int(slots.index[j]) for j in js]
        if js:
            by_agent[agent["agent"]] = js
            for j in js:
                by_slot.setdefault(j, []).append(agent["agent"])
                pairs.append((agent["agent"], j))
    return _Data(slots, agents, rules, weights, tz, pairs, by_agent, by_slot, prior, horizon,
                 fair_prior, fair_total_prior, weekends_prior, relax, lookahead=lookahead or {})


def _roster_rows(slots: pd.DataFrame, chosen: list[tuple[str, int]], agents: pd.DataFrame) -> pd.DataFrame:
    wage = agents.set_index("agent")["hourly_wage"].to_dict()
    names = agents.set_index("agent")["name"].to_dict()
    rows = []
    for a, j in chosen:
        s = slots.loc[j]
        hourly = wage.get(a)
        cost = s["paid_hours"] * hourly if hourly is not None and not (isinstance(hourly, float) and math.isnan(hourly)) else s["unit_cost"]
        row = {"agent": a, "date": s["date"], "start": s["start"], "end": s["end"], "break_start": s["break_start"],
               "break_end": s["break_end"], "template": s["template"], "hours": float(s["paid_hours"]), "cost": float(cost),
               "name": names[a]}
        if s["skill"] is not None:
            row["skill"] = s["skill"]
        for extra in ("break2_start", "break2_end"):
            if extra in slots.columns:
                row[extra] = s[extra]
        rows.append(row)
    return pd.DataFrame(rows)


def _empty_roster(tz: str) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in ROSTER_COLUMNS})
    for c in ("start", "end", "break_start", "break_end"):
        frame[c] = pd.Series(dtype=f"datetime64[ns, {tz}]")
    frame["hours"] = frame["hours"].astype(float)
    frame["cost"] = frame["cost"].astype(float)
    return frame


def _finish_roster(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    if frame is None or len(frame) == 0:
        return _empty_roster(tz)
    columns = list(ROSTER_COLUMNS) + [c for c in frame.columns if c not in ROSTER_COLUMNS]
    frame = frame[columns].sort_values(["agent", "start"], key=lambda s: s.astype(str) if s.name == "agent" else s, kind="stable")
    for c in ("start", "end", "break_start", "break_end"):
        frame[c] = pd.to_datetime(frame[c], utc=True).dt.tz_convert(tz)
    return frame.reset_index(drop=True)


def _prior_roster_frame(roster: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in ("agent", "start", "end", "break_start", "break_end", "break2_start", "break2_end", "template", "hours") if c in roster.columns]
    return roster[keep]


def _fair_counts(roster_parts: pd.DataFrame, rules: LabourRules, tz: str, horizon) -> tuple[dict, dict, dict]:
    per_agent, totals, weekends = {}, {"evening": 0, "weekend": 0}, {}
    if roster_parts is None or len(roster_parts) == 0:
        return per_agent, totals, weekends
    facts = shift_facts(roster_parts, rules, tz)
    inside = (facts["date"] >= horizon[0]) & (facts["date"] <= horizon[1])
    for kind in ("evening", "weekend"):
        sel = inside & facts[kind]
        counts = roster_parts.loc[sel, "agent"].astype(str).value_counts()
        totals[kind] = int(sel.sum())
        for a, n in counts.items():
            per_agent[(kind, a)] = int(n)
    sel = inside & facts["weekend"]
    weekends = pd.DataFrame({"agent": roster_parts.loc[sel, "agent"].astype(str), "week": facts.loc[sel, "week"]}).drop_duplicates()["agent"].value_counts().to_dict()
    return per_agent, totals, weekends


def assign_agents(shifts: pd.DataFrame, agents: pd.DataFrame, rules: LabourRules = LabourRules(), *,
                  tz: str = DEFAULT_TZ, prior: pd.DataFrame | None = None, time_limit: float | None = 60.0,
                  mip_gap: float = 0.01, threads: int | None = None, decompose_weeks: int = 1,
                  weights: AssignWeights = AssignWeights(), solver: str = "highs", lp_bound: bool = False,
                  rest_model: str = "windows", lazy_windows: bool = False, max_rounds: int = 4,
                  staged: bool = True) -> AssignmentResult:
    """Assign the shifts to named agents (see the module docstring).

    ``shifts``: the roster's ``.shifts`` frame (template, start, end, break_start, break_end, count
    [, paid_hours, cost][, skill]); ``agents``: from :func:`~scheduling.roster.labour.read_agents`
    (or any frame :func:`~scheduling.roster.labour.validate_agents` accepts); ``prior``: the roster
    already worked before the horizon (agent, start, end[, hours]) for rest and consecutive days.
    ``time_limit`` (seconds, whole run): the best roster found is returned with its gap.
    ``decompose_weeks``: horizons of more ISO weeks than this are solved week by week (0: never).
    ``lp_bound``: also solve the LP relaxation of the whole horizon as one model (a lower bound on
    any roster's objective). ``rest_model``: how the weekly rest enters the model: ``"days"`` (two
    consecutive dates without a shift start, compact and sufficient) or ``"windows"`` (exact: a
    free 36 h window starting at the week's start or a shift's end; with ``lazy_windows`` added only
    for agent-weeks a solution breaks, re-solving up to ``max_rounds`` times). The result is
    checked against the exact rule either way. Default: exact windows, all from the start.
    ``mip_gap``: each week stops at the first roster within this relative gap of its bound.
    ``staged`` (default): per week the LP relaxation first, then the MILP started from the
    LP-guided greedy roster (:func:`_solve_staged`); ``False``: the MILP from the greedy roster.
    """
    clock = time.perf_counter()
    agents = validate_agents(agents)
    frame = _validate_shifts(shifts, tz)
    slots = _slots(frame, rules, tz)
    prior_frame = _prior_frame(prior, rules, tz)
    if len(slots) == 0:
        roster = _empty_roster(tz)
        violations = check_roster(roster, agents, rules, shifts=frame, prior=prior, tz=tz)
        return AssignmentResult(roster, violations, "infeasible-explained" if len(violations) else "optimal", 0.0, 0.0, 0.0,
                                time.perf_counter() - clock, totals=_totals(roster, agents, rules, tz))
    horizon = (slots["date"].min(), slots["date"].max())
    weeks = sorted(set(slots["week"]))
    parts = [weeks] if decompose_weeks == 0 or len(weeks) <= decompose_weeks else [weeks[i:i + 1] for i in range(len(weeks))]
    # The time limit covers the whole run: each part gets an equal share of what is left (model
    # building included), and a little is kept for the final repair and check. A part that has no
    # time left for a model takes the greedy roster (said in ``notes`` and the part's status).
    deadline = None if time_limit is None else clock + float(time_limit)
    reserve = 0.0 if time_limit is None else min(0.5 * float(time_limit), 0.02 * len(agents) + 0.5)
    rosters, part_info, notes = [], [], []
    part_roster = None
    objective_sum, bound_sum, any_limit = 0.0, 0.0, False
    base_all = {a["agent"]: _base_eligible(slots, a, rules, tz) for _, a in agents.iterrows()}
    for k, part in enumerate(parts):
        part_clock = time.perf_counter()
        part_deadline = None if deadline is None else part_clock + (deadline - reserve - part_clock) / (len(parts) - k)
        in_part = slots["week"].isin(part).to_numpy()
        part_slots = slots[in_part].reset_index(drop=True)
        base = {a: mask[in_part] for a, mask in base_all.items()}
        later = [w for later_part in parts[k + 1:] for w in later_part]
        lookahead = _lookahead(slots, base_all, agents, rules, horizon, later, set(part_slots["date"])) if later else {}
        earlier = pd.concat([prior_frame] + [_prior_frame(_prior_roster_frame(r), rules, tz) for r in rosters if len(r)], ignore_index=True) \
            if rosters else prior_frame
        fair_prior, fair_total, weekends_prior = _fair_counts(pd.concat(rosters, ignore_index=True) if rosters else None, rules, tz, horizon)
        greedy = lambda guide=None: set(_greedy_pairs(part_slots, agents, rules, earlier, tz, weekends_prior, base, lookahead, guide))  # noqa: E731
        info = {"weeks": part, "look_ahead_agents": len(lookahead), "seconds": None}
        # Building the model takes time too: without enough left for it, the greedy roster.
        building_guess = 1e-4 * len(part_slots) * len(agents) / 4
        if part_deadline is not None and part_deadline - time.perf_counter() < building_guess + 0.2:
            part_roster = _roster_rows(part_slots, sorted(greedy()), agents)
            objective_sum, bound_sum, any_limit = math.nan, math.nan, True
            notes.append(f"time limit: no time left to solve {', '.join(part)}; its roster is the greedy one")
            part_info.append(info | {"status": "greedy (time limit)", "objective": None, "bound": None, "stages": None,
                                     "rounds": 0, "rest_agent_weeks": None, "variables": 0, "constraints": 0,
                                     "seconds": time.perf_counter() - part_clock})
            rosters.append(part_roster)
            continue
        data = _make_data(part_slots, agents, rules, weights, tz, earlier, horizon, fair_prior, fair_total, weekends_prior,
                          base=base, lookahead=lookahead)
        data.rest_model = rest_model
        lazy_rest = rest_model == "windows" and lazy_windows
        data.rest_only = set() if lazy_rest else None
        model = build_model(data)
        opt, rounds = None, 0
        chosen = None
        outcome = {"found": False, "status": "time_limit", "objective": None, "bound": None, "stages": None}
        while True:
            left = None if part_deadline is None else part_deadline - time.perf_counter()
            if left is not None and left < 0.05:
                break  # building used the part's time: the greedy roster below
            if left is not None and lazy_rest and rounds + 1 < max_rounds:
                left = left / 2  # keep time for the rounds that may follow
            if rounds == 0 and staged:
                outcome = _solve_staged(model, data, solver, left, mip_gap, threads, greedy)
            else:
                _start_from(model, data, chosen if chosen is not None else greedy())
                outcome = _solve(model, solver, left, mip_gap, threads, opt, warm=True)
            opt, rounds = outcome["opt"], rounds + 1
            if not outcome["found"]:
                break
            chosen = {p for p in data.pairs if pyo.value(model.x[p]) > 0.5}
            part_roster = _roster_rows(part_slots, chosen, agents)
            if not lazy_rest or rounds >= max_rounds or (part_deadline is not None and time.perf_counter() > part_deadline - 1.0):
                break
            # Lazy weekly rest: add the windows of the agent-weeks this roster breaks, and solve again.
            new = _weekly_rest_short(part_roster, earlier, part, rules, tz) - data.rest_only
            new = {(a, w) for a, w in new if a in data.by_agent}
            if not new:
                break
            data.rest_only |= new
            weekly_rest(model, data, new, name=f"weekly_rest_{rounds}")
            model.del_component(model.objective)
            objective(model, data)
        if outcome["found"]:
            objective_sum += outcome["objective"]
            bound_sum += outcome["bound"] if outcome["bound"] is not None else math.nan
        else:
            # No roster within the time: keep the greedy one for this part, so a roster is always returned.
            part_roster = _roster_rows(part_slots, sorted(chosen if chosen is not None else greedy()), agents)
            objective_sum, bound_sum = math.nan, math.nan
            if rounds == 0:
                outcome["status"] = "greedy (time limit)"
                notes.append(f"time limit: building the model of {', '.join(part)} used its share of the time; "
                             "its roster is the greedy one")
        any_limit |= outcome["status"] != "optimal"
        part_info.append(info | {"status": outcome["status"], "objective": outcome["objective"], "bound": outcome["bound"],
                                 "stages": outcome.get("stages"), "rounds": rounds,
                                 "rest_agent_weeks": None if data.rest_only is None else len(data.rest_only),
                                 "variables": len(data.pairs),
                                 "constraints": sum(1 for _ in model.component_data_objects(pyo.Constraint, active=True)),
                                 "seconds": time.perf_counter() - part_clock})
        rosters.append(part_roster)
    roster = _finish_roster(pd.concat([r for r in rosters if len(r)], ignore_index=True) if any(len(r) for r in rosters) else None, tz)
    # The local repair steps stop at the time limit (keeping time for the check and explanations).
    repair_by = None if deadline is None else deadline - 0.5 * reserve
    cut: list = []
    roster = _repair(roster, slots, agents, rules, tz, prior_frame, repair_by, cut)
    roster = _lift_minimums(roster, slots, agents, rules, tz, prior_frame, horizon, repair_by, cut)
    if cut:
        notes.append(f"time limit: the final repair ({', '.join(dict.fromkeys(cut))}) was cut short")
    violations = check_roster(roster, agents, rules, shifts=frame, prior=prior, horizon=horizon, tz=tz)
    violations = _explain_unfilled(violations, slots, roster, agents, rules, tz, prior_frame)
    week_status = {w: info["status"] for info in part_info for w in info["weeks"]}
    violations = _explain_short(violations, slots, roster, agents, rules, tz, horizon, base_all, week_status)
    lp = _lp_bound(slots, agents, rules, weights, tz, prior_frame, horizon, rest_model, solver, threads) if lp_bound else None
    gap = None
    if math.isfinite(objective_sum) and math.isfinite(bound_sum):
        gap = abs(objective_sum - bound_sum) / max(abs(objective_sum), 1e-9) if objective_sum else 0.0
    status = "infeasible-explained" if len(violations) else ("time_limit" if any_limit else "optimal")
    return AssignmentResult(roster, violations, status, objective_sum if math.isfinite(objective_sum) else None,
                            bound_sum if math.isfinite(bound_sum) else None, gap, time.perf_counter() - clock, lp,
                            _totals(roster, agents, rules, tz), part_info, notes)


# --------------------------------------------------------------------------------------------
# Totals and explanations


def _totals(roster: pd.DataFrame, agents: pd.DataFrame, rules: LabourRules, tz: str) -> pd.DataFrame:
    """Per agent and ISO week: shifts, paid hours, evenings, weekend shifts, nights, cost."""
    if len(roster) == 0:
        return pd.DataFrame(columns=["agent", "name", "week", "shifts", "hours", "evenings", "weekend_shifts", "nights", "cost"])
    facts = shift_facts(roster, rules, tz)
    frame = pd.DataFrame({"agent": roster["agent"].astype(str), "week": facts["week"], "shifts": 1, "hours": roster["hours"],
                          "evenings": facts["evening"].astype(int), "weekend_shifts": facts["weekend"].astype(int),
                          "nights": facts["night"].astype(int), "cost": roster["cost"]})
    out = frame.groupby(["agent", "week"], as_index=False).sum()
    out.insert(1, "name", out["agent"].map(agents.set_index("agent")["name"]))
    return out


def _repair(roster: pd.DataFrame, slots: pd.DataFrame, agents: pd.DataFrame, rules: LabourRules, tz: str,
            prior: pd.DataFrame, deadline: float | None = None, cut: list | None = None) -> pd.DataFrame:
    """Fill places the model left open where the exact rules allow it (the model's weekly-rest
    family is a sufficient condition, stricter than the law): agent by agent, least loaded first;
    it stops at ``deadline`` (a ``time.perf_counter()`` instant), noting so in ``cut``."""
    worked = _shift_counts(roster)
    missing = [(j, int(s["count"]) - worked.get(_slot_key(s), 0)) for j, s in slots.iterrows()
               if not s["breaches"] and int(s["count"]) > worked.get(_slot_key(s), 0)]
    if not missing:
        return roster
    agent_rows = [r for _, r in agents.iterrows()]
    added = []
    for j, n in missing:
        if deadline is not None and time.perf_counter() > deadline:
            if cut is not None:
                cut.append("filling open places")
            break
        s = slots.loc[j]
        for _ in range(n):
            current = pd.concat([roster] + [pd.DataFrame(added)], ignore_index=True) if added else roster
            loads = current.groupby(current["agent"].astype(str))["hours"].sum().to_dict() if len(current) else {}
            facts_current = shift_facts(current, rules, tz) if len(current) else None
            for agent in sorted(agent_rows, key=lambda r: (loads.get(r["agent"], 0.0) - r["min_hours_week"], r["agent"])):
                a = agent["agent"]
                mine = current[current["agent"].astype(str) == a] if len(current) else None
                if mine is not None and ((mine["start"] == s["start"]) & (mine["end"] == s["end"])).any():
                    continue
                if agent_block_reason(agent, s["start"], s["end"], s["skill"], int(s["weekday"]), tz) is not None:
                    continue
                if s["paid_hours"] > agent["max_hours_week"] + 1e-9:
                    continue
                if _why_busy(agent, s, mine if mine is not None and len(mine) else None, facts_current, rules, prior) is None:
                    added.append(_roster_rows(slots.loc[[j]], [(a, j)], agents).iloc[0].to_dict())
                    break
    if not added:
        return roster
    return _finish_roster(pd.concat([roster, pd.DataFrame(added)], ignore_index=True), tz)


def _lift_minimums(roster: pd.DataFrame, slots: pd.DataFrame, agents: pd.DataFrame, rules: LabourRules, tz: str,
                   prior: pd.DataFrame, horizon, deadline: float | None = None, cut: list | None = None) -> pd.DataFrame:
    """Move shifts to agents below their contract minimum from agents who stay at or above theirs,
    where the exact rules allow it (a last local step after the week-by-week solve; it stops at
    ``deadline``, a ``time.perf_counter()`` instant, noting so in ``cut``)."""
    if len(roster) == 0:
        return roster
    rows = {r["agent"]: r for _, r in agents.iterrows()}
    facts = shift_facts(roster, rules, tz)
    roster = roster.assign(_week=facts["week"].to_numpy())
    days: dict = {}
    for i in range((horizon[1] - horizon[0]).days + 1):
        day = horizon[0] + dt.timedelta(days=i)
        iso = day.isocalendar()
        days.setdefault(f"{iso.year}-W{iso.week:02d}", []).append(day)
    index = {_slot_key(s): j for j, s in slots.iterrows()}
    for week, week_days in days.items():
        for _ in range(3 * len(rows)):  # bounded: each move lifts someone strictly
            paid = roster[roster["_week"] == week].groupby(roster["agent"].astype(str))["hours"].sum().to_dict()
            need = {a: contract_min_hours(r, week_days) for a, r in rows.items()}
            short = sorted((a for a in rows if paid.get(a, 0.0) < need[a] - 1e-6), key=lambda a: paid.get(a, 0.0) - need[a])
            if short and deadline is not None and time.perf_counter() > deadline:
                if cut is not None:
                    cut.append("lifting agents below their minimum")
                break
            moved = False
            for a in short:
                agent = rows[a]
                mine = roster[roster["agent"].astype(str) == a]
                mine_facts = shift_facts(mine, rules, tz) if len(mine) else None
                donors = roster[(roster["_week"] == week) & (roster["agent"].astype(str) != a)]
                for k, shift in donors.iterrows():
                    if deadline is not None and time.perf_counter() > deadline:
                        if cut is not None:
                            cut.append("lifting agents below their minimum")
                        break
                    b = str(shift["agent"])
                    if paid.get(b, 0.0) - shift["hours"] < need[b] - 1e-6:
                        continue
                    j = index.get((str(shift["template"]), pd.Timestamp(shift["start"]).value, pd.Timestamp(shift["end"]).value))
                    if j is None:
                        continue
                    s = slots.loc[j]
                    if agent_block_reason(agent, s["start"], s["end"], s["skill"], int(s["weekday"]), tz) is not None:
                        continue
                    if s["paid_hours"] > agent["max_hours_week"] + 1e-9 or ((mine["start"] == s["start"]) & (mine["end"] == s["end"])).any():
                        continue
                    if _why_busy(agent, s, mine if len(mine) else None, mine_facts, rules, prior) is None:
                        replacement = _roster_rows(slots.loc[[j]], [(a, j)], agents).assign(_week=week)
                        roster = pd.concat([roster.drop(index=k), replacement], ignore_index=True)
                        moved = True
                        break
                if moved:
                    break
            if not moved:
                break
    return _finish_roster(roster.drop(columns="_week"), tz)


def _slot_key(s) -> tuple:
    return (str(s["template"]), pd.Timestamp(s["start"]).value, pd.Timestamp(s["end"]).value)


def _shift_counts(roster: pd.DataFrame) -> dict:
    out: dict = {}
    for t, st, en in zip(roster["template"].astype(str), roster["start"], roster["end"]):
        key = (t, pd.Timestamp(st).value, pd.Timestamp(en).value)
        out[key] = out.get(key, 0) + 1
    return out


def _explain_unfilled(violations: pd.DataFrame, slots: pd.DataFrame, roster: pd.DataFrame, agents: pd.DataFrame,
                      rules: LabourRules, tz: str, prior: pd.DataFrame) -> pd.DataFrame:
    """Add to each unfilled shift who could have worked it and which rule stopped each agent."""
    mask = violations["rule"] == "unfilled"
    if not mask.any():
        return violations
    violations = violations.copy()
    mine = {a: g for a, g in roster.groupby(roster["agent"].astype(str))} if len(roster) else {}
    facts_roster = shift_facts(roster, rules, tz) if len(roster) else None
    agent_rows = [r for _, r in agents.iterrows()]
    for i in np.flatnonzero(mask.to_numpy()):
        v = violations.iloc[i]
        hit = slots[(slots["start"] == v["start"]) & (slots["end"] == v["end"]) & (slots["template"].astype(str) == str(v["template"]))]
        if hit.empty:
            continue
        s = hit.iloc[0]
        if s["breaches"]:
            violations.iat[i, violations.columns.get_loc("detail")] = (
                f"{v['detail']}; nobody may work it: " + "; ".join(b[4] for b in s["breaches"]))
            continue
        reasons: dict[str, list[str]] = {}
        for agent in agent_rows:
            a = agent["agent"]
            worked = mine.get(a)
            if worked is not None and ((worked["start"] == s["start"]) & (worked["end"] == s["end"])).any():
                continue
            why = agent_block_reason(agent, s["start"], s["end"], s["skill"], int(s["weekday"]), tz)
            if why is None and s["paid_hours"] > agent["max_hours_week"] + 1e-9:
                why = f"contract maximum {agent['max_hours_week']:g} h/week is below this shift"
            if why is None:
                why = _why_busy(agent, s, worked, facts_roster, rules, prior) or "nothing (the solver ran out of time)"
            key = why.split(" (")[0] if why.startswith(("day off", "not available")) else why.split(":")[0]
            reasons.setdefault(key, []).append(a)
        skill = f" with skill {s['skill']!r}" if s["skill"] else ""
        able = sum(len(v) for k, v in reasons.items() if not k.startswith("lacks"))
        parts = [f"{k}: {len(v)} ({', '.join(v[:5])}{', ...' if len(v) > 5 else ''})" for k, v in sorted(reasons.items(), key=lambda kv: -len(kv[1]))
                 if not k.startswith("lacks")]
        text = f"{v['detail']}; {able} agents{skill} could work it in principle, each stopped by: " + "; ".join(parts) if parts else \
            f"{v['detail']}; no agent has the skill {s['skill']!r}"
        violations.iat[i, violations.columns.get_loc("detail")] = text
    return violations


def _explain_short(violations: pd.DataFrame, slots: pd.DataFrame, roster: pd.DataFrame, agents: pd.DataFrame,
                   rules: LabourRules, tz: str, horizon, base: dict, week_status: dict | None = None) -> pd.DataFrame:
    """Add to each contract minimum not reached why: the week's demand is below the sum of the
    contract minimums, the agent cannot work enough hours that week at all (skills, days off,
    leave, availability), the weekend limit is used up while only weekend shifts are left, the
    solver stopped at its time limit in that week (``week_status``: week -> the status of the part
    that solved it), or else the minimum could not be reached with whole shifts, rest and the
    other agents' needs (a solved part; the minimum is then not proven reachable)."""
    mask = violations["rule"] == "contract_min_hours"
    if not mask.any():
        return violations
    violations = violations.copy()
    rows = {r["agent"]: r for _, r in agents.iterrows()}
    week_days = _week_days(horizon)
    week = slots["week"].to_numpy()
    demand = (slots["paid_hours"] * slots["count"]).groupby(slots["week"]).sum().to_dict()
    weekend_weeks: dict = {}
    if len(roster):
        facts = shift_facts(roster, rules, tz)
        for a, w in zip(roster["agent"].astype(str)[facts["weekend"].to_numpy(bool)], facts.loc[facts["weekend"], "week"]):
            weekend_weeks.setdefault(a, set()).add(w)
    for i in np.flatnonzero(mask.to_numpy()):
        v = violations.iloc[i]
        found = re.search(r"in (\d{4}-W\d{2})", str(v["detail"]))
        agent = rows.get(str(v["agent"]))
        if found is None or agent is None:
            continue
        w = found.group(1)
        need = contract_min_hours(agent, week_days.get(w, ()))
        total_need = sum(contract_min_hours(r, week_days.get(w, ())) for r in rows.values())
        sel = base[agent["agent"]] & (week == w) if agent["agent"] in base else np.zeros(len(slots), bool)
        cap = _capacity(slots, sel, agent, rules)
        if demand.get(w, 0.0) < total_need - 1e-6:
            why = (f"the demand of {w} is {demand.get(w, 0.0):.1f} paid h, below the sum of the contract minimums "
                   f"{total_need:.1f} h: at least {total_need - demand.get(w, 0.0):.1f} h must fall short")
        elif cap < need - 1e-6:
            why = f"the agent can work at most {cap:.1f} h of the shifts of {w} at all (skills, days off, leave, availability)"
        elif (agent["max_weekends"] is not None and len(weekend_weeks.get(agent["agent"], set()) - {w}) >= agent["max_weekends"]
              and _capacity(slots, sel & ~slots["weekend"].to_numpy(bool), agent, rules) < need - 1e-6):
            n = int(agent["max_weekends"])
            why = (f"only weekend shifts can reach it, and the limit of {n} weekend{'' if n == 1 else 's'} is used in "
                   + ", ".join(sorted(weekend_weeks[agent["agent"]] - {w})))
        elif (week_status or {}).get(w, "optimal") != "optimal":
            why = (f"the solver stopped at its time limit in {w} ({(week_status or {})[w]}) before reaching it; "
                   "a longer time limit may")
        else:
            why = ("it could not be reached with whole shifts, rest and the other agents' needs "
                   f"({w} was solved to the gap; it cannot be proven reachable)")
        violations.iat[i, violations.columns.get_loc("detail")] = f"{v['detail']}; {why}"
    return violations


def _why_busy(agent, s, worked, facts_roster, rules: LabourRules, prior: pd.DataFrame) -> str:
    """Which rule stops ``agent`` from also working slot ``s`` given the roster."""
    a = agent["agent"]
    earlier = prior[prior["agent"] == a] if len(prior) else prior
    spans = []
    if worked is not None and len(worked):
        f = facts_roster.loc[worked.index]
        for (_, w), rest in zip(worked.iterrows(), f["rest_after_hours"]):
            spans.append((w["start"], w["end"], rest, w["template"], w["hours"]))
    for _, p in earlier.iterrows():
        spans.append((p["start"], p["end"], p["rest_after_hours"], "prior", p["paid"]))
    for start, end, rest, template, _ in spans:
        if start < s["end"] + pd.Timedelta(hours=float(s["rest_after_hours"])) and s["start"] < end + pd.Timedelta(hours=float(rest)):
            return f"rest or overlap: works {template} {start:%a %H:%M}-{end:%H:%M}"
    same_day = sum(1 for st, *_ in spans if st.tz_convert(s["start"].tz).date() == s["date"])
    if same_day >= rules.max_shifts_per_day:
        return "already works that day"
    week_paid = sum(h for st, _, _, _, h in spans if _iso(st) == s["week"])
    if week_paid + s["paid_hours"] > agent["max_hours_week"] + 1e-9:
        return f"contract maximum reached: {week_paid:g} + {s['paid_hours']:g} h > {agent['max_hours_week']:g} h in {s['week']}"
    week_work = sum((en - st).total_seconds() / 3600 for st, en, *_ in spans if _iso(st) == s["week"])
    if week_work + s["work_hours"] > rules.max_week_hours + 1e-9:
        return f"weekly maximum {rules.max_week_hours:g} h reached"
    if rules.max_consecutive_days is not None:
        days = {st.tz_convert(s["start"].tz).date() for st, *_ in spans} | {s["date"]}
        run, day = 1, s["date"]
        while day - dt.timedelta(days=1) in days:
            run, day = run + 1, day - dt.timedelta(days=1)
        day = s["date"]
        while day + dt.timedelta(days=1) in days:
            run, day = run + 1, day + dt.timedelta(days=1)
        if run > rules.max_consecutive_days:
            return f"consecutive days: would work {run} days in a row > {rules.max_consecutive_days}"
    if agent["max_evenings_week"] is not None and s["evening"]:
        evenings = sum(1 for st, en, *_ in spans if _iso(st) == s["week"] and _is_evening(st, en, rules))
        if evenings + 1 > agent["max_evenings_week"]:
            return f"evening limit: {agent['max_evenings_week']} per week"
    if agent["max_weekends"] is not None and s["weekend"]:
        weeks = {_iso(st) for st, *_ in spans if st.tz_convert(s["start"].tz).weekday() in rules.weekend_days}
        if s["week"] not in weeks and len(weeks) + 1 > agent["max_weekends"]:
            return f"weekend limit: {agent['max_weekends']} weekends"
    if rules.weekly_rest_hours is not None:
        trial = pd.DataFrame({"agent": [a] * (len(spans) + 1), "start": [x[0] for x in spans] + [s["start"]],
                              "end": [x[1] for x in spans] + [s["end"]]})
        if _weekly_rest_short(trial, prior.iloc[0:0] if len(prior) else prior, [s["week"]], rules, str(s["start"].tz)):
            return f"weekly rest: no {rules.weekly_rest_hours:g} h rest left in {s['week']}"
    return None


def _is_evening(start: pd.Timestamp, end: pd.Timestamp, rules: LabourRules) -> bool:
    from scheduling.roster.labour import _minutes

    midnight = start.tz_localize(None).normalize()
    return (end.tz_convert(start.tz).tz_localize(None) - midnight).total_seconds() / 60 > _minutes(rules.evening_after, "evening_after")


def _iso(stamp: pd.Timestamp) -> str:
    iso = stamp.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


# --------------------------------------------------------------------------------------------
# Greedy baseline


def greedy_assign(shifts: pd.DataFrame, agents: pd.DataFrame, rules: LabourRules = LabourRules(), *, tz: str = DEFAULT_TZ,
                  prior: pd.DataFrame | None = None) -> AssignmentResult:
    """A chronological greedy roster (the benchmark's baseline, and the MIP start of the solver):
    shift by shift in start order, give each place to the eligible agent furthest below their
    contract minimum (then with most hours left), respecting rest, shifts per day, weekly and
    contract maxima, consecutive days and the agents' limits. It does not look ahead, so the
    weekly 36 h rest and contract minima may fail (the checker reports them)."""
    clock = time.perf_counter()
    agents = validate_agents(agents)
    frame = _validate_shifts(shifts, tz)
    slots = _slots(frame, rules, tz)
    chosen = _greedy_pairs(slots, agents, rules, _prior_frame(prior, rules, tz), tz)
    roster = _finish_roster(_roster_rows(slots, chosen, agents) if chosen else None, tz)
    violations = check_roster(roster, agents, rules, shifts=frame, prior=prior, tz=tz)
    return AssignmentResult(roster, violations, "greedy", None, None, None, time.perf_counter() - clock,
                            totals=_totals(roster, agents, rules, tz))


def _greedy_pairs(slots: pd.DataFrame, agents: pd.DataFrame, rules: LabourRules, prior_frame: pd.DataFrame, tz: str,
                  weekends_prior: dict | None = None, base: dict | None = None, lookahead: dict | None = None,
                  guide: dict | None = None) -> list:
    agent_rows = {r["agent"]: r for _, r in agents.iterrows()}
    eligible = {a: _eligible(slots, r, rules, prior_frame, tz, None if base is None else base[a]) for a, r in agent_rows.items()}
    lookahead = lookahead or {}
    last_block = {a: -(2**62) for a in agent_rows}
    week_paid, week_work, day_count, evenings, weekend_weeks = {}, {}, {}, {}, {}
    for a in agent_rows:
        n = (weekends_prior or {}).get(a, 0)
        if n:
            weekend_weeks[a] = {f"prior-{i}" for i in range(int(n))}
    # Weekly rest, chronologically exact: per agent and week, the end of the last shift and
    # whether a long enough rest has already been kept.
    need = None if rules.weekly_rest_hours is None else int(rules.weekly_rest_hours * 3.6e12)
    bounds = _week_bounds(sorted(set(slots["week"])), tz)
    last_end = {}
    secured = set()
    for _, p in prior_frame.sort_values("start_ns").iterrows() if len(prior_frame) else []:
        a = p["agent"]
        if a not in last_block:
            continue
        last_block[a] = max(last_block[a], int(p["block_ns"]))
        week_paid[(a, p["week"])] = week_paid.get((a, p["week"]), 0.0) + float(p["paid"])
        week_work[(a, p["week"])] = week_work.get((a, p["week"]), 0.0) + float(p["work_hours"])
        day_count[(a, p["date"])] = day_count.get((a, p["date"]), 0) + 1
        if p["evening"]:
            evenings[(a, p["week"])] = evenings.get((a, p["week"]), 0) + 1
        for week, (w0, w1) in bounds.items():
            if p["start_ns"] < w1 and p["end_ns"] > w0:
                before = last_end.get((a, week), w0)
                if need is not None and p["start_ns"] - before >= need:
                    secured.add((a, week))
                last_end[(a, week)] = max(before, int(p["end_ns"]))
    worked_days = {a: set(prior_frame.loc[prior_frame["agent"] == a, "date"]) if len(prior_frame) else set() for a in agent_rows}
    chosen, taken = [], set()
    positions = {j: k for k, j in enumerate(slots.index)}
    agent_rows = {a: r.to_dict() for a, r in agent_rows.items()}  # plain dicts: read in the inner loop
    for j, s in zip(slots.index, slots.to_dict("records")):
        week = s["week"]
        w0, w1 = bounds[week]
        for _ in range(int(s["count"])):
            best, best_key = None, None
            for a, agent in agent_rows.items():
                if not eligible[a][positions[j]] or (a, j) in taken or s["start_ns"] < last_block[a]:
                    continue
                if day_count.get((a, s["date"]), 0) >= rules.max_shifts_per_day:
                    continue
                paid = week_paid.get((a, week), 0.0)
                if paid + s["paid_hours"] > agent["max_hours_week"] + 1e-9:
                    continue
                if week_work.get((a, week), 0.0) + s["work_hours"] > rules.max_week_hours + 1e-9:
                    continue
                if rules.max_consecutive_days is not None:
                    run, day = 1, s["date"]
                    while day - dt.timedelta(days=1) in worked_days[a]:
                        run, day = run + 1, day - dt.timedelta(days=1)
                    if run > rules.max_consecutive_days:
                        continue
                # The look-ahead (elastic in the model): prefer agents who keep what a later week needs.
                look = lookahead.get(a, {})
                breaks = 0
                if look.get("keep_free_after") is not None and s["block_ns"] > look["keep_free_after"]:
                    breaks += 1
                last_days = look.get("last_days")
                if last_days and s["date"] in last_days and all(x in worked_days[a] for x in last_days if x != s["date"]):
                    breaks += 1
                if s["evening"] and agent["max_evenings_week"] is not None and evenings.get((a, week), 0) >= agent["max_evenings_week"]:
                    continue
                if s["weekend"] and agent["max_weekends"] is not None:
                    weeks = weekend_weeks.get(a, set())
                    if week not in weeks and len(weeks) >= agent["max_weekends"]:
                        continue
                    if week not in weeks and len(weeks) + look.get("weekends", 0) >= agent["max_weekends"]:
                        breaks += 1
                if need is not None and (a, week) not in secured:
                    if s["start_ns"] - last_end.get((a, week), w0) < need and w1 - s["end_ns"] < need:
                        continue  # this shift would leave no room for the weekly rest
                key = (-(agent["min_hours_week"] - paid), -(agent["max_hours_week"] - paid), a)
                if guide is not None:  # an LP solution's value of this assignment first
                    key = (-round(guide.get((a, j), 0.0), 3),) + key
                key = (breaks,) + key  # before all: an agent who keeps the look-ahead
                if best_key is None or key < best_key:
                    best, best_key = a, key
            if best is None:
                continue
            chosen.append((best, j))
            taken.add((best, j))
            last_block[best] = int(s["block_ns"])
            week_paid[(best, week)] = week_paid.get((best, week), 0.0) + s["paid_hours"]
            week_work[(best, week)] = week_work.get((best, week), 0.0) + s["work_hours"]
            day_count[(best, s["date"])] = day_count.get((best, s["date"]), 0) + 1
            worked_days[best].add(s["date"])
            if need is not None:
                if s["start_ns"] - last_end.get((best, week), w0) >= need:
                    secured.add((best, week))
                last_end[(best, week)] = int(s["end_ns"])
                for other, (o0, o1) in bounds.items():
                    if other != week and s["start_ns"] < o1 and s["end_ns"] > o0:
                        last_end[(best, other)] = max(last_end.get((best, other), o0), int(s["end_ns"]))
            if s["evening"]:
                evenings[(best, week)] = evenings.get((best, week), 0) + 1
            if s["weekend"]:
                weekend_weeks.setdefault(best, set()).add(week)
    return chosen
