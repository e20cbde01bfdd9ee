"""``webcare plan [plan.toml] --out DIR``: the whole chain (ingest, forecast, opening hours,
capacity, roster, simulation check) from one TOML file (docs/plan.md); with no file, the bundled
sample with the defaults of :class:`webcare.plan.PlanConfig`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "plan"


def add_parser(sub) -> None:
    p = sub.add_parser("plan", help="the whole chain from one TOML file (default: the bundled sample)",
                       description="Ingest, forecast, choose opening hours, size the team, roster it and check the "
                                   "roster by simulation, from one plan file (docs/plan.md). Without PLAN the bundled "
                                   "sample is planned with sensible defaults.")
    p.add_argument("plan", type=Path, nargs="?", metavar="PLAN", help="plan.toml (default: the bundled sample)")
    p.add_argument("--out", type=Path, default=Path("plan-output"), help="folder for the results (default plan-output)")
    p.add_argument("--tz", help="the team's time zone (overrides the plan file's tz)")
    p.add_argument("--weeks", type=int, help="ISO weeks to roster, 1-4 (overrides the plan file)")
    p.add_argument("--time-limit", help="solver time limit per optimisation, e.g. 60s (overrides the plan file)")
    p.add_argument("--runs", type=int, help="simulation runs (overrides the plan file)")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from webcare.plan import PlanError, read_plan, run_plan
    from webcare.units import parse_duration

    config = read_plan(args.plan)
    changes = {}
    if args.tz:
        changes["tz"] = args.tz
    if args.weeks is not None:
        if not 1 <= args.weeks <= 4:
            raise PlanError("--weeks must be 1 to 4")
        changes["weeks"] = args.weeks
    if args.time_limit:
        seconds = parse_duration(args.time_limit).total_seconds()
        if seconds <= 0:
            raise PlanError("--time-limit must be longer than 0")
        changes["time_limit"] = seconds
    if args.runs is not None:
        if args.runs < 1:
            raise PlanError("--runs must be at least 1")
        changes["runs"] = args.runs
    config = replace(config, **changes)
    result = run_plan(config, args.out, workspace=args.workspace,
                      progress=lambda message: print(f"... {message}", file=sys.stderr, flush=True))
    for line in result.lines():
        print(line)
    print(f"wrote {', '.join(result.files)} in {args.out}")
    return 0
