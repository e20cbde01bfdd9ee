"""``webcare simulate``: replications of a staffing plan by discrete-event simulation.

    webcare simulate FORECAST --staffing staffing.csv --within 60m --aht 4m --runs 200 --out sim.csv

Writes one row per run (service level, mean and 90th-percentile response time, peak backlog ...)
and prints a summary with the probability of reaching the target. See docs/simulation.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from webcare.cli import UsageError, _add_tz, _tz
from webcare.units import parse_duration

NAME = "simulate"

RUN_COLUMNS = ["run", "arrivals", "answered", "abandoned", "open_at_end", "on_time", "late", "undetermined",
               "service_level", "mean_response_minutes", "p90_response_minutes", "peak_backlog", "reached"]


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help="simulate a staffing plan many times: the distribution of the service level",
                       description="Discrete-event simulation of a team working a forecast with a given staffing "
                                   "(heads on duty per interval): Poisson arrivals from the forecast (or a replayed "
                                   "history), random handle times, opening hours, concurrency, the deadline. Writes "
                                   "one row per run and prints the probability of reaching the target.")
    p.add_argument("forecast", type=Path, metavar="FORECAST", help="forecast CSV (ds, yhat[, channel]) from `webcare forecast`")
    p.add_argument("--staffing", type=Path, required=True, help="heads on duty per interval (columns ds, agents)")
    p.add_argument("--within", required=True, help="the deadline, e.g. 60m or 20s")
    p.add_argument("--aht", required=True, help="mean handle time of one message, e.g. 4m or 180s")
    p.add_argument("--target", default="80", help="service-level target in percent (default 80)")
    p.add_argument("--runs", type=int, default=200, help="replications (default 200)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0): the same seed gives the same runs")
    p.add_argument("--out", type=Path, required=True, help="CSV with one row per run")
    p.add_argument("--days-out", type=Path, help="also write the service level per run and local day")
    p.add_argument("--weeks-out", type=Path, help="also write the service level per run and ISO week")
    p.add_argument("--open", dest="opening", help='opening hours, e.g. "mon-sun 08:00-22:00" (default: always open)')
    p.add_argument("--concurrency", type=float, default=1.0, help="conversations one agent holds at once (default 1)")
    p.add_argument("--shrinkage", default="0", help="share of the heads not available, e.g. 0.3 (default 0)")
    p.add_argument("--max-occupancy", default="1", help="productive occupancy cap, e.g. 0.85 (default 1)")
    p.add_argument("--patience", help="customers' mean patience (exponential), e.g. 10m: who waits longer leaves")
    p.add_argument("--handle-time", choices=["exponential", "lognormal", "deterministic", "replay"],
                   help="distribution of handle times: exponential (default), lognormal, deterministic, or replay "
                        "(the replayed history's own; the default with --replay when it has handle times)")
    p.add_argument("--handle-cv", type=float, default=1.0, help="coefficient of variation of lognormal handle times (default 1)")
    p.add_argument("--burstiness", type=float, default=0.0,
                   help="extra variance of the arrivals: a gamma factor with this variance per block (default 0: Poisson)")
    p.add_argument("--burst-block", help="length of a block sharing one burst factor, e.g. 1h (default: one interval)")
    p.add_argument("--replay", type=Path, metavar="HISTORY",
                   help="replay the message timestamps (and handle times) of a message-level export instead of drawing arrivals")
    p.add_argument("--priority", help="channels in priority order, e.g. whatsapp,x,facebook (default: one FIFO queue)")
    p.add_argument("--channel", help="simulate only this channel of the forecast")
    p.add_argument("--clock", choices=["real", "business"], default="real", help="deadline clock (default real)")
    p.add_argument("--response", choices=["pickup", "completion"], default="pickup",
                   help="a message is answered when picked up (default, as the backlog model) or when its handling ends")
    p.add_argument("--no-warmup", action="store_true", help="start with an empty inbox instead of after a warm-up week")
    p.add_argument("--quantile", help="simulate an interval bound of the forecast instead of yhat, e.g. upper_80")
    p.add_argument("--column", help="the forecast's volume column when it is not yhat (e.g. y for a history)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel threads (default 1; the result does not depend on it)")
    _add_tz(p)


def _read_replay(path: Path, tz: str) -> pd.DataFrame:
    from forecast.ingest import IngestOptions, ingest_files

    result = ingest_files([path], IngestOptions(tz=tz, shape="messages", min_history_days=0))
    if result.messages is None or result.messages.empty:
        raise UsageError(f"{path.name}: --replay needs a message-level export (one row per message)")
    return result.messages


def run(args: argparse.Namespace) -> int:
    from forecast.ingest import atomic_outputs, read_interval_values
    from scheduling.opening_hours import parse_opening_hours
    from scheduling.simulate import simulate
    from webcare.units import parse_fraction, parse_percentage

    if args.runs < 1:
        raise UsageError(f"--runs must be at least 1, got {args.runs}")
    if args.jobs == 0:
        raise UsageError("--jobs must not be 0 (use 1, a number of threads, or -1 for all cores)")
    target = parse_percentage(args.target)
    within = parse_duration(args.within)
    if within <= pd.Timedelta(0):
        raise UsageError("--within must be longer than 0")
    aht = parse_duration(args.aht).total_seconds()
    if not aht > 0:
        raise UsageError("--aht must be longer than 0")
    if not args.concurrency >= 1:
        raise UsageError("--concurrency must be at least 1")
    shrinkage = parse_fraction(args.shrinkage, name="--shrinkage")
    occupancy = parse_fraction(args.max_occupancy, name="--max-occupancy", allow_one=True)
    if occupancy <= 0:
        raise UsageError("--max-occupancy must be above 0")
    patience = parse_duration(args.patience).total_seconds() if args.patience else None
    if patience is not None and not patience > 0:
        raise UsageError("--patience must be longer than 0")
    if args.burstiness < 0:
        raise UsageError("--burstiness must be >= 0")
    if args.handle_cv <= 0:
        raise UsageError("--handle-cv must be above 0")
    opening = parse_opening_hours(args.opening) if args.opening else None
    tz = _tz(args)

    column = args.column or (f"yhat_{args.quantile}" if args.quantile else "yhat")
    forecast = read_interval_values(args.forecast, column, tz, what="forecast").rename(columns={"value": "volume"})
    if args.channel:
        channel = args.channel.lower()
        if channel not in set(forecast["channel"]):
            raise UsageError(f"--channel {args.channel}: the forecast has channels {', '.join(sorted(set(forecast['channel'])))}")
        forecast = forecast[forecast["channel"] == channel]
    staffing = read_interval_values(args.staffing, "agents", tz, what="staffing file", allow_channel=False)
    staffing = staffing.rename(columns={"value": "agents"})[["ds", "agents"]]
    replay = _read_replay(args.replay, tz) if args.replay else None
    has_handle = replay is not None and "handle_time_seconds" in replay.columns and replay["handle_time_seconds"].notna().any()
    handle_time = args.handle_time or ("replay" if has_handle else "exponential")
    if handle_time == "replay" and not has_handle:
        raise UsageError("--handle-time replay needs --replay with a history that holds handle times")
    priority = [c.strip().lower() for c in args.priority.split(",") if c.strip()] if args.priority else None

    started = time.perf_counter()
    result = simulate(
        forecast, staffing, aht_seconds=aht, deadline=within, runs=args.runs, seed=args.seed, opening=opening,
        shrinkage=shrinkage, concurrency=args.concurrency, max_occupancy=occupancy, patience_seconds=patience,
        handle_time=handle_time, handle_cv=args.handle_cv, burstiness=args.burstiness,
        burst_block=parse_duration(args.burst_block) if args.burst_block else None,
        replay=replay, handle_samples=None, priority=priority, clock=args.clock, response=args.response,
        warmup=not args.no_warmup, target=target, n_jobs=args.jobs,
    )
    runs = result.runs.assign(reached=result.runs["service_level"] >= target - 1e-12)[RUN_COLUMNS]
    seconds = time.perf_counter() - started
    with atomic_outputs(args.out, args.days_out, args.weeks_out) as (out_tmp, days_tmp, weeks_tmp):  # all or none
        runs.to_csv(out_tmp, index=False)
        if days_tmp is not None:
            result.days.assign(date=result.days["date"].dt.strftime("%Y-%m-%d")).to_csv(days_tmp, index=False)
        if weeks_tmp is not None:
            result.weeks.to_csv(weeks_tmp, index=False)
    print(result.summary(target))
    sl = runs["service_level"]
    print(f"  mean response {runs['mean_response_minutes'].mean():.1f} min, p90 {runs['p90_response_minutes'].mean():.1f} min "
          f"(means over runs); peak backlog {runs['peak_backlog'].median():.0f} (median), "
          f"{runs['peak_backlog'].max():.0f} (max); still open at the end {runs['open_at_end'].mean():.1f} (mean)")
    if sl.isna().any():
        print(f"  {int(sl.isna().sum())} run(s) had no decided message", file=sys.stderr)
    messages = result.settings["simulated_messages"]
    print(f"wrote {args.out} ({len(runs):,} runs, {messages:,} simulated messages in {seconds:.1f} s)")
    return 0
