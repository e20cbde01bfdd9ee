"""``webcare roster``: the cheapest shift roster (and opening hours) for requirements or a forecast.

INPUT is either requirements (``webcare staff`` output: ``ds``, ``agents_required`` ...) or a
forecast (``ds``, ``yhat`` ...). With a forecast the capacity flags of ``webcare staff`` apply
(``--target --within --aht``, ``--open`` or ``--open-candidates`` ...) and the service level and
backlog are modelled inside the optimisation. Shift templates, wages, premiums and the solver
live in ``--shifts shifts.toml`` (docs/roster.md). With ``--agents`` the shifts are assigned to
named agents (scheduling.roster.assign) and exported per agent.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

NAME = "roster"


def add_parser(sub) -> None:
    p = sub.add_parser("roster", help="the cheapest shift roster (and opening hours) for requirements or a forecast",
                       description="Optimise a shift roster with a MILP (Pyomo + HiGHS). INPUT is requirements from "
                                   "`webcare staff` (column agents_required) or a forecast (column yhat): then give "
                                   "--target, --within and --aht and the service level is modelled inside the optimisation.")
    p.add_argument("input", type=Path, metavar="INPUT")
    p.add_argument("--shifts", type=Path, required=True, help="shift templates, contracts, premiums, solver (TOML)")
    p.add_argument("--agents", type=Path, help="agents.csv: assign the shifts to named agents")
    p.add_argument("--time-limit", help="solver time limit, e.g. 60s or 2m (default: shifts.toml, else 60s)")
    p.add_argument("--solver", help="any solver Pyomo knows (default: shifts.toml, else highs)")
    p.add_argument("--out", type=Path, required=True, help="the roster CSV to write")
    p.add_argument("--xlsx", type=Path, help="also write a workbook (one sheet per ISO week)")
    p.add_argument("--ics-dir", type=Path, help="write one iCalendar file per agent here (needs --agents)")
    p.add_argument("--coverage-out", type=Path, help="write the coverage per interval (required, scheduled, ...) as CSV")
    p.add_argument("--violations-out", type=Path, help="write the violations (what could not be met) as CSV")
    cap = p.add_argument_group("capacity (when INPUT is a forecast)")
    cap.add_argument("--target", help="service-level target in percent, e.g. 80")
    cap.add_argument("--within", help="the deadline, e.g. 60m")
    cap.add_argument("--aht", help="handle time of one message, e.g. 6m")
    cap.add_argument("--model", choices=["backlog", "erlang-c"], default="backlog",
                     help="backlog (default; the fluid backlog model in the MILP) or erlang-c (global SL, live channels)")
    cap.add_argument("--open", dest="opening", help='fixed opening hours, e.g. "mon-fri 08:00-20:00; sat,sun 10:00-18:00"')
    cap.add_argument("--open-candidates", help='opening hours to choose from per weekday, e.g. '
                                               '"mon-fri 07:00-19:00 | 08:00-20:00 | 08:00-22:00; sat,sun 10:00-16:00 | closed"')
    cap.add_argument("--concurrency", type=float, default=1.0, help="conversations one agent holds at once (default 1)")
    cap.add_argument("--shrinkage", default="0", help="share of paid time not productive, e.g. 0.3 (default 0)")
    cap.add_argument("--max-occupancy", default="1", help="productive occupancy cap, e.g. 0.85 (default 1)")
    cap.add_argument("--period", choices=["day", "week", "horizon", "interval"], default="day",
                     help="the target holds per local day (default), ISO week, the whole horizon or every interval")
    cap.add_argument("--floor", help="least service level of every open interval in percent, e.g. 50")
    cap.add_argument("--min-agents", type=int, default=1, help="agents at least while open (default 1)")
    cap.add_argument("--quantile", help="plan for an interval bound instead of yhat, e.g. upper_80")
    p.add_argument("--tz", help="the team's time zone (default Europe/Amsterdam)")


def _target(args):
    from scheduling.requirements import ServiceTarget
    from webcare.cli import UsageError
    from webcare.units import parse_duration, parse_fraction, parse_percentage

    missing = [flag for flag, value in (("--target", args.target), ("--within", args.within), ("--aht", args.aht))
               if value is None]
    if missing:
        raise UsageError(f"INPUT is a forecast: give {', '.join(missing)} (the service target to roster for)")
    return ServiceTarget(
        target=parse_percentage(args.target), within=parse_duration(args.within),
        aht_seconds=parse_duration(args.aht).total_seconds(), model=args.model, concurrency=args.concurrency,
        shrinkage=parse_fraction(args.shrinkage, name="--shrinkage"),
        max_occupancy=parse_fraction(args.max_occupancy, name="--max-occupancy", allow_one=True),
        period="bucket" if args.period == "interval" else ("week" if args.period == "week" else "day"),
        min_agents=args.min_agents)


def _columns(path: Path) -> list[str]:
    from forecast.ingest import read_table

    return [str(c) for c in read_table(path, path.name).frame.columns]


def _violations(result, assignment, tz: str) -> pd.DataFrame:
    """The roster's violations and, with --agents, the assignment's, one frame; the first column
    ``step`` says which step found each (``roster`` or ``assignment``); times as ISO 8601."""
    from forecast.ingest import format_iso

    frames = [result.violations.assign(step="roster")]
    if assignment is not None:
        frames.append(assignment.violations.assign(step="assignment"))
    frames = [f for f in frames if len(f)] or frames[:1]
    v = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].copy()
    v = v[["step"] + [c for c in v.columns if c != "step"]]
    for col in ("start", "end"):
        if col in v.columns:
            stamps = pd.to_datetime(v[col], utc=True)
            text = pd.Series("", index=v.index, dtype=object)
            known = stamps.notna().to_numpy()
            if known.any():
                text[known] = format_iso(stamps[known].dt.tz_convert(tz))
            v[col] = text
    return v


def run(args: argparse.Namespace) -> int:
    import time

    from forecast.ingest import DEFAULT_TZ, atomic_outputs, format_iso, read_interval_values
    from scheduling.opening_hours import parse_opening_hours
    from scheduling.roster.opening import parse_opening_candidates
    from scheduling.roster.shifts import read_shifts
    from scheduling.roster.solve import solve_roster
    from webcare.cli import UsageError
    from webcare.units import parse_duration, parse_fraction, parse_percentage

    tz = args.tz or DEFAULT_TZ
    if args.ics_dir and not args.agents:
        raise UsageError("--ics-dir writes one calendar per agent: give --agents agents.csv too")
    if args.opening and args.open_candidates:
        raise UsageError("give either --open or --open-candidates, not both")
    config = read_shifts(args.shifts)
    time_limit = parse_duration(args.time_limit).total_seconds() if args.time_limit else None
    if time_limit is not None and time_limit <= 0:
        raise UsageError("--time-limit must be longer than 0")
    agents = None
    if args.agents:
        from scheduling.roster.labour import read_agents

        agents = read_agents(args.agents)
    columns = _columns(args.input)
    opening = parse_opening_hours(args.opening) if args.opening else None
    candidates = parse_opening_candidates(args.open_candidates) if args.open_candidates else None
    floor = parse_percentage(args.floor) if args.floor else None
    kwargs = dict(time_limit=time_limit, solver=args.solver)
    started = time.perf_counter()
    if "agents_required" in columns:
        required = read_interval_values(args.input, "agents_required", tz, what="requirements")
        frame = required.rename(columns={"value": "agents_required"})[["ds", "agents_required"]]
        target = None
        if "volume" in columns:
            volume = read_interval_values(args.input, "volume", tz, what="requirements")
            frame = frame.assign(volume=volume["value"].to_numpy())
            if args.target and args.within and args.aht:
                target = _target(args)
        if candidates is not None:
            raise UsageError("--open-candidates needs a forecast as INPUT (the service level is then modelled); "
                             "requirements already fix the opening hours")
        shrink = parse_fraction(args.shrinkage, name="--shrinkage")
        if "agents_scheduled" in columns and shrink == 0:
            scheduled = read_interval_values(args.input, "agents_scheduled", tz, what="requirements")["value"]
            if scheduled.sum() > frame["agents_required"].sum() * 1.001:
                raise UsageError(f"{args.input.name} was made with shrinkage (agents_scheduled is above agents_required): "
                                 "give roster the same --shrinkage (e.g. --shrinkage 0.3), so that the heads on the "
                                 "roster leave that share of their time off the queue")
        result = solve_roster(config, requirements=frame, target=target, opening=opening, shrinkage=shrink, **kwargs)
        what = "requirements"
    else:
        column = f"yhat_{args.quantile}" if args.quantile else "yhat"
        if column not in columns and "volume" in columns and not args.quantile:
            column = "volume"
        if column not in columns:
            raise UsageError(f"{args.input}: neither requirements (column agents_required) nor a forecast "
                             f"(column {column}); columns are: {', '.join(columns)}")
        forecast = read_interval_values(args.input, column, tz, what="forecast").rename(columns={"value": "volume"})
        target = _target(args)
        period = {"interval": "bucket"}.get(args.period, args.period)
        result = solve_roster(config, arrivals=forecast[["ds", "volume"]], target=target, opening=opening,
                              opening_candidates=candidates, sl_floor=floor, period=period,
                              min_staff=args.min_agents, **kwargs)
        what = "forecast"
    if result.status == "error":
        for line in result.explanation:
            print(line, file=sys.stderr)
        print("error: no roster was found; nothing was written", file=sys.stderr)
        return 1

    assignment = None
    if agents is not None:
        from scheduling.roster.assign import assign_agents

        # The [solver] settings of shifts.toml reach the assignment (its own gap: assign_mip_gap).
        assignment = assign_agents(result.shifts, agents, tz=tz, time_limit=time_limit or config.solver.time_limit,
                                   mip_gap=config.solver.assign_mip_gap, threads=config.solver.threads)
    from scheduling.roster import export

    paths = (args.out, args.xlsx, args.coverage_out, args.violations_out)
    with atomic_outputs(*paths) as (out_tmp, xlsx_tmp, coverage_tmp, violations_tmp):  # all files or none
        if assignment is not None:
            export.to_csv(assignment.roster, out_tmp, tz=tz)
            if xlsx_tmp is not None:
                export.to_xlsx(assignment.roster, xlsx_tmp, tz=tz, agents=agents, violations=assignment.violations)
        else:
            export.to_csv(result.shifts, out_tmp, tz=tz)
            if xlsx_tmp is not None:
                export.to_xlsx(result.shifts, xlsx_tmp, tz=tz)
        if coverage_tmp is not None:
            cov = result.coverage
            cov.assign(ds=format_iso(cov["ds"])).to_csv(coverage_tmp, index=False)
        if violations_tmp is not None:
            _violations(result, assignment, tz).to_csv(violations_tmp, index=False)
        if assignment is not None and args.ics_dir:
            export.to_ics(assignment.roster, args.ics_dir, tz=tz)

    print(f"roster from {what} {args.input.name}: {result.stats.get('shifts', 0):,} candidate shifts "
          f"({result.stats.get('patterns', 0):,} with break placements), {result.stats.get('buckets', 0):,} intervals")
    for line in result.explanation:
        print(line)
    print(f"objective {result.objective:,.2f}, bound {result.bound:,.2f}, gap {100 * result.gap:.3f}%, "
          f"{result.seconds:.1f} s ({result.stats.get('solver')})")
    if assignment is not None:
        print(f"assigned to agents: {assignment.status}, {len(assignment.roster):,} agent-shifts, "
              f"{len(assignment.violations)} rule violation(s)")
        for detail in assignment.violations.get("detail", pd.Series(dtype=str)).head(10):
            print(f"  {detail}")
        for note in assignment.notes:
            print(f"  {note}")
    written = [args.out] + [p for p in (args.xlsx, args.coverage_out, args.violations_out) if p]
    print("wrote " + ", ".join(str(p) for p in written) + (f" and calendars in {args.ics_dir}" if args.ics_dir else "")
          + f" in {time.perf_counter() - started:.1f} s")
    return 0
