"""Benchmark of the roster MILP (scheduling.roster).

1. One week at 15-minute intervals, 24x7, shifts of 4, 6, 8 and 9 hours starting every 15 minutes
   (6, 8 and 9 hours with a break placed by the optimiser), evening/night/weekend premiums: model
   building and solving time (median of the repetitions, beside the LP relaxation's solve time as
   the baseline measured in the same run), status, gap, and the cost against the LP-relaxation bound.
   Goal (issue 5): proven optimal (gap <= 0.1%) in <= 60 s on 2 cores, building included. The
   solve (``solver = "highs"``) is LP, RENS, time-window search and, if needed, the full MIP
   (scheduling/roster/_highs.py); "found by" names the step that produced the roster.
2. The same week with a realistic template catalogue (issue 7: "one week at 15 minutes with 50+
   templates"): lengths 4 to 10 hours in 30-minute steps, start windows early/day/late/evening/night
   (starts every 15 minutes inside them), a 30-minute unpaid break above 5.5 hours (Dutch Working
   Hours Act, placed by the optimiser inside a window), weekday and weekend variants, and two
   contracts with different wages (students on the short day/late/evening shifts). Same figures.
3. pyworkforce's ``MinRequiredResources`` (OR-Tools CP-SAT) on instances in its own terms (one day,
   hourly periods, shifts without breaks), against the same instances solved here. pyworkforce is
   never a dependency of the project: it is imported when installed, or run through the Python named
   by ``$PYWORKFORCE_PYTHON`` (a separate virtual environment).

Run: ``python benchmarks/bench_roster.py [--smoke] [--repeat 3] [--time-limit 60]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduling.roster.shifts import shifts_from_dict  # noqa: E402
from scheduling.roster.solve import build_model, lp_relaxation_bound, prepare, solve_roster  # noqa: E402

TZ = "Europe/Amsterdam"
PEERS = ("pyworkforce",)


def week_config(time_limit: float, smoke: bool):
    if smoke:  # a tiny day: two templates, hourly starts 08:00-16:00
        return shifts_from_dict({
            "contracts": {"standard": {"hourly_wage": 20.0}}, "premiums": {"holiday_country": ""},
            "solver": {"time_limit": time_limit, "mip_gap": 0.001},
            "shift": [{"name": "4h", "length": "4h", "start_from": "08:00", "start_to": "16:00"},
                      {"name": "8h", "length": "8h", "start_from": "08:00", "start_to": "12:00",
                       "break": {"length": "30m", "window": ["3h", "5h"]}}]}, "bench")
    every = "15m"
    return shifts_from_dict({
        "contracts": {"standard": {"hourly_wage": 20.0}},
        "premiums": {"evening": {"from": "18:00", "to": "22:00", "rate": 0.25},
                     "night": {"from": "22:00", "to": "06:00", "rate": 0.5},
                     "saturday": 0.25, "sunday": 0.5, "holiday": 1.0},
        "solver": {"time_limit": time_limit, "mip_gap": 0.001},
        "shift": [
            {"name": "4h", "length": "4h", "start_every": every},
            {"name": "6h", "length": "6h", "start_every": every, "break": {"length": "15m", "window": ["2h", "4h"]}},
            {"name": "8h", "length": "8h", "start_every": every, "break": {"length": "30m", "window": ["3h", "5h"]}},
            {"name": "9h", "length": "9h", "start_every": every, "break": {"length": "30m", "window": ["3.5h", "5.5h"]}},
        ]}, "bench")


# --- issue 7: a realistic template catalogue -----------------------------------------------------

# start windows (first start, last start, shortest, longest length in hours) per part of the day;
# weekend variants start the day windows an hour later (a quieter morning)
CATALOGUE_WINDOWS = {
    "early": ("06:00", "07:45", 6.0, 9.0),
    "day": ("08:00", "10:45", 4.0, 10.0),
    "late": ("12:00", "14:45", 4.0, 9.0),
    "evening": ("16:00", "18:45", 4.0, 6.0),
    "night": ("22:00", "23:00", 8.0, 10.0),
}
WEEKEND_SHIFT = {"early": 60, "day": 60}      # minutes later on sat/sun
STUDENT_WINDOWS = ("day", "late", "evening")   # students: shifts of at most 5.5 hours, lower wage
STUDENT_MAX_HOURS = 5.5


def _clock_plus(clock: str, minutes: int) -> str:
    h, m = map(int, clock.split(":"))
    total = (h * 60 + m + minutes) % 1440
    return f"{total // 60:02d}:{total % 60:02d}"


def catalogue_templates(smoke: bool = False) -> list[dict]:
    """The [[shift]] tables of the catalogue. A break of 30 minutes (unpaid) above 5.5 hours, placed
    anywhere from 2 hours after the start to 1.5 hours before the end (every 15 minutes); the night
    shifts may take it from 3 hours. ``smoke``: two lengths, two windows, weekdays only."""
    shifts = []
    windows = {k: CATALOGUE_WINDOWS[k] for k in (("day", "late") if smoke else CATALOGUE_WINDOWS)}
    for part, (first, last, shortest, longest) in windows.items():
        lengths = [shortest, longest] if smoke else list(np.arange(shortest, longest + 0.25, 0.5))
        for variant, days in (("wd", "mon-fri"), ("we", "sat,sun"))[: 1 if smoke else 2]:
            later = WEEKEND_SHIFT.get(part, 0) if variant == "we" else 0
            start_from, start_to = _clock_plus(first, later), _clock_plus(last, later)
            for hours in lengths:
                contracts = ["standard"] + (["student"] if part in STUDENT_WINDOWS and hours <= STUDENT_MAX_HOURS else [])
                for contract in contracts:
                    t = {"name": f"{part}-{hours:g}h-{variant}-{contract}", "length": f"{hours:g}h",
                         "start_from": start_from, "start_to": start_to, "start_every": "60m" if smoke else "15m",
                         "days": days, "contract": contract}
                    if hours > 5.5:   # Arbeidstijdenwet: 30 minutes' break above 5.5 hours of work
                        early = 3.0 if part == "night" else 2.0
                        t["break"] = {"length": "30m", "window": [f"{early:g}h", f"{hours - 1.5:g}h"], "step": "15m"}
                    shifts.append(t)
    return shifts


def catalogue_config(time_limit: float, smoke: bool):
    return shifts_from_dict({
        "contracts": {"standard": {"hourly_wage": 20.0}, "student": {"hourly_wage": 14.0}},
        "premiums": {"holiday_country": ""} if smoke else
                    {"evening": {"from": "18:00", "to": "22:00", "rate": 0.25},
                     "night": {"from": "22:00", "to": "06:00", "rate": 0.5},
                     "saturday": 0.25, "sunday": 0.5, "holiday": 1.0},
        "solver": {"time_limit": time_limit, "mip_gap": 0.001},
        "shift": catalogue_templates(smoke)}, "bench catalogue")


def week_requirements(days: int, smoke: bool = False) -> pd.Series:
    """A webcare-like requirement: low at night, a midday plateau, an evening peak, quieter weekends
    (productive agents per quarter hour; deterministic)."""
    first = pd.Timestamp("2026-03-02", tz=TZ)  # a week without a DST change
    grid = pd.date_range(first.tz_convert("UTC"), periods=days * 96, freq="15min").tz_convert(TZ)
    h = (grid.hour + grid.minute / 60).to_numpy()
    weekend = np.isin(grid.day_of_week, [5, 6])
    level = 2 + 16 * np.exp(-((h - 13) / 4.0) ** 2) + 8 * np.exp(-((h - 20) / 1.8) ** 2)
    level = np.where(weekend, 0.6 * level, level)
    level = np.maximum(np.round(level), 1.0)
    if smoke:
        level = np.where((h >= 8) & (h < 20), np.round(level / 4), 0.0)
    return pd.Series(level, index=grid)


def bench_week(smoke: bool, repeat: int, time_limit: float, cfg=None) -> dict:
    cfg = cfg if cfg is not None else week_config(time_limit, smoke)
    req = week_requirements(1 if smoke else 7, smoke)
    build, solve, lp = [], [], []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        problem = prepare(cfg, requirements=req)
        build_model(problem)
        build.append(time.perf_counter() - started)
        started = time.perf_counter()
        bound = lp_relaxation_bound(problem)
        lp.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = solve_roster(cfg, requirements=req)
        solve.append(time.perf_counter() - started)
    uncovered = int((result.coverage["shortfall"] > 1e-6).sum()) if len(result.coverage) else 0
    return {"templates": len(cfg.templates), "uncovered": uncovered, "shifts": result.stats["shifts"], "patterns": result.stats["patterns"], "buckets": result.stats["buckets"],
            "variables": result.stats["variables"], "constraints": result.stats["constraints"],
            "build_s": statistics.median(build), "total_s": statistics.median(solve), "lp_s": statistics.median(lp),
            "status": result.status, "objective": result.objective, "bound": result.bound, "gap": result.gap,
            "cost": result.cost_split["roster"], "lp_bound": bound, "violations": len(result.violations),
            "method": result.stats.get("method", "")}


# --- pyworkforce ---------------------------------------------------------------------------------

PWF_INSTANCES = [
    # one day, hourly periods, shifts without breaks (pyworkforce's own example requirements, day 1)
    {"name": "example day 1",
     "required": [9, 11, 17, 9, 7, 12, 5, 11, 8, 9, 18, 17, 8, 12, 16, 8, 7, 12, 11, 10, 13, 19, 16, 7],
     "shifts": {"Early": (0, 8), "Morning": (5, 13), "Mixed": (9, 17), "Afternoon": (13, 21), "Late": (16, 24)},
     "cost": {"Early": 2.0, "Morning": 1.0, "Mixed": 1.5, "Afternoon": 1.2, "Late": 1.6}},
    {"name": "example day 2",
     "required": [13, 13, 12, 15, 18, 20, 13, 16, 17, 8, 13, 11, 6, 19, 11, 20, 19, 17, 10, 13, 14, 23, 16, 8],
     "shifts": {"Early": (0, 8), "Morning": (5, 13), "Mixed": (9, 17), "Afternoon": (13, 21), "Late": (16, 24)},
     "cost": {"Early": 2.0, "Morning": 1.0, "Mixed": 1.5, "Afternoon": 1.2, "Late": 1.6}},
]

_PWF_SCRIPT = r"""
import json, sys, time
try:
    from pyworkforce.scheduling import MinRequiredResources      # pyworkforce >= 0.5
except ImportError:
    from pyworkforce.shifts import MinRequiredResources
inst = json.loads(sys.stdin.read())
cover = {k: [1 if a <= h < b else 0 for h in range(24)] for k, (a, b) in inst["shifts"].items()}
t = time.perf_counter()
s = MinRequiredResources(num_days=1, periods=24, shifts_coverage=cover, required_resources=[inst["required"]],
                         cost_dict=inst["cost"], max_period_concurrency=1000, max_shift_concurrency=1000,
                         max_search_time=60.0, num_search_workers=2).solve()
out = {"seconds": time.perf_counter() - t, "status": s["status"], "cost": s["cost"],
       "resources": {r["shift"]: r["resources"] for r in s["resources_shifts"]}}
print(json.dumps(out))
"""


def _pyworkforce(instance: dict) -> dict | None:
    python = os.environ.get("PYWORKFORCE_PYTHON")
    try:
        import pyworkforce  # noqa: F401
        python = sys.executable
    except ImportError:
        pass
    if not python:
        return None
    run = subprocess.run([python, "-c", _PWF_SCRIPT], input=json.dumps(instance), capture_output=True, text=True,
                         timeout=300)
    if run.returncode != 0:
        raise RuntimeError(f"pyworkforce failed: {run.stderr[-500:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _ours(instance: dict) -> dict:
    """The same instance here: a wage per hour that makes each 8-hour shift cost its cost_dict value."""
    contracts = {k: {"hourly_wage": c / 8.0} for k, c in instance["cost"].items()}
    shifts = [{"name": k, "length": f"{b - a}h", "starts": [f"{a:02d}:00"], "contract": k}
              for k, (a, b) in instance["shifts"].items()]
    cfg = shifts_from_dict({"contracts": contracts, "premiums": {"holiday_country": ""}, "shift": shifts,
                            "solver": {"time_limit": 60, "mip_gap": 0.0}}, "pyworkforce instance")
    first = pd.Timestamp("2026-03-03", tz=TZ)
    grid = pd.date_range(first.tz_convert("UTC"), periods=24, freq="1h").tz_convert(TZ)
    req = pd.DataFrame({"ds": grid, "agents_required": np.asarray(instance["required"], dtype=float)})
    started = time.perf_counter()
    result = solve_roster(cfg, requirements=req)
    inside = result.shifts[result.shifts["start"] >= first]   # pyworkforce's day does not see the day before
    return {"seconds": time.perf_counter() - started, "status": result.status, "cost": result.objective,
            "resources": inside.groupby("template")["count"].sum().to_dict(), "violations": len(result.violations)}


def _week_table(week: dict, repeat: int, limit: float, what: str) -> list[str]:
    return [f"{what}: {week['templates']:,} templates, {week['shifts']:,} candidate shifts, {week['patterns']:,} with "
            f"break placements, {week['buckets']:,} quarter hours; model {week['variables']:,} variables, "
            f"{week['constraints']:,} constraints. Medians of {repeat} runs; the baseline is the LP relaxation "
            "solved in the same run.", "",
            "| measure | value | vs. LP relaxation solve |", "|---|---|---|",
            f"| model building (inputs, candidates, Pyomo model) | {week['build_s']:.2f} s | {week['build_s'] / week['lp_s']:.2f}x |",
            f"| building + MILP solve (time limit {limit:g} s) | {week['total_s']:.1f} s | "
            f"{week['total_s'] / week['lp_s']:.2f}x |",
            f"| LP relaxation solve (baseline) | {week['lp_s']:.1f} s | 1.00x |",
            f"| status, gap (found by) | {week['status']}, {100 * week['gap']:.3f}% ({week['method']}) | |",
            f"| roster cost (objective incl. penalties) | {week['objective']:,.2f} | "
            f"{week['objective'] / week['lp_bound']:.4f}x the LP bound {week['lp_bound']:,.2f} |",
            f"| uncovered intervals (quarter hours with a shortfall) | {week['uncovered']} | |",
            f"| violations (uncovered intervals, ...) | {week['violations']} | |", ""]


def run(smoke: bool = False, repeat: int | None = None, time_limit: float = 60.0) -> dict:
    repeat = repeat or 3
    limit = 10.0 if smoke else time_limit
    week = bench_week(smoke, repeat, limit)
    catalogue = bench_week(smoke, repeat, limit, catalogue_config(limit, smoke))
    lines = ["### Roster MILP (Pyomo + HiGHS)", ""]
    lines += _week_table(
        week, repeat, limit,
        f"{'One day (smoke), two templates, starts every 60 minutes' if smoke else 'One week, 24x7, starts every 15 minutes'}")
    lines += ["### Roster MILP, one week with a template catalogue (issue 7)", ""]
    lines += _week_table(
        catalogue, repeat, limit,
        ("One day (smoke), a tiny catalogue (day/late windows, two lengths, two contracts), starts every 60 minutes"
         if smoke else
         "The same week's requirements, a catalogue of templates: lengths 4-10 h in 30-minute steps, start windows "
         "early 06:00-07:45, day 08:00-10:45, late 12:00-14:45, evening 16:00-18:45, night 22:00-23:00 (starts every "
         "15 minutes; early and day an hour later on Saturday and Sunday), weekday and weekend variants, a 30-minute "
         "unpaid break above 5.5 h placed by the optimiser, contracts standard (20.00/h) and student (14.00/h, "
         "shifts of at most 5.5 h in the day, late and evening windows)"))
    pwf_rows = []
    for inst in PWF_INSTANCES[: 1 if smoke else None]:
        ours = _ours(inst)
        try:
            theirs = _pyworkforce(inst)
            note = ""
        except Exception as exc:  # report, do not hide
            theirs, note = None, str(exc)
        pwf_rows.append((inst["name"], ours, theirs, note))
    lines += ["### Against pyworkforce MinRequiredResources (OR-Tools CP-SAT), one day, no breaks", "",
              "| instance | ours: cost, status, s | pyworkforce: cost, status, s | same cost |", "|---|---|---|---|"]
    for name, ours, theirs, note in pwf_rows:
        if theirs is None:
            lines.append(f"| {name} | {ours['cost']:.2f}, {ours['status']}, {ours['seconds']:.2f} | not run "
                         f"({note or 'pyworkforce not installed; set PYWORKFORCE_PYTHON to a venv that has it'}) | |")
        else:
            lines.append(f"| {name} | {ours['cost']:.2f}, {ours['status']}, {ours['seconds']:.2f} | {theirs['cost']:.2f}, "
                         f"{theirs['status']}, {theirs['seconds']:.2f} | {abs(ours['cost'] - theirs['cost']) < 1e-6} |")
    figures = {"week_total_seconds": week["total_s"], "week_build_seconds": week["build_s"], "week_gap": week["gap"],
               "week_status": week["status"], "week_cost_over_lp": week["objective"] / week["lp_bound"],
               "candidate_shifts": week["shifts"],
               "catalogue_templates": catalogue["templates"], "catalogue_candidate_shifts": catalogue["shifts"],
               "catalogue_total_seconds": catalogue["total_s"], "catalogue_build_seconds": catalogue["build_s"],
               "catalogue_gap": catalogue["gap"], "catalogue_status": catalogue["status"],
               "catalogue_cost_over_lp": catalogue["objective"] / catalogue["lp_bound"],
               "catalogue_uncovered_intervals": catalogue["uncovered"]}
    return {"title": "Roster optimiser", "markdown": "\n".join(lines), "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=60.0)
    a = parser.parse_args()
    print(run(a.smoke, a.repeat, a.time_limit)["markdown"])
