"""The ``webcare`` command line: a thin layer that reads flags, calls forecast/ and scheduling/,
and prints. Input errors print a message naming the file, rows and column and exit with status 2;
nothing is written then."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import pandas as pd

from forecast.ingest import (
    DEFAULT_TZ,
    ColumnChoice,
    IngestError,
    IngestOptions,
    history_to_csv,
    ingest_files,
    write_csv_atomic,
    write_text_atomic,
)
from webcare.units import format_duration, parse_duration
from webcare.datasets import SAMPLE_DATASET, dataset_name_for, ingest_sample
from webcare.workspace import REPO_ROOT, Workspace, WorkspaceError

EXIT_INPUT = 2


class UsageError(ValueError):
    """A flag or argument that cannot be used as given."""


def _freq(text: str) -> str:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return format_duration(value)


def _add_tz(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tz", default=DEFAULT_TZ, help=f"the team's time zone (default {DEFAULT_TZ})")


def _add_ingest_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--freq", type=_freq, default="1h", help="interval: 15min, 30min or 1h (default 1h)")
    p.add_argument("--source-tz", help="zone of naive timestamps when it is not --tz (e.g. UTC)")
    p.add_argument("--offsets-are-local", action="store_true",
                   help="read stamped UTC offsets (or Z) as local clock time, for exports that mislabel them")
    p.add_argument("--shape", choices=["auto", "messages", "counts"], default="auto",
                   help="one row per message, or counts per interval (default: counts when a count column exists)")
    p.add_argument("--channel", default="all", help="channel name for files without a channel column (default 'all')")
    p.add_argument("--monthfirst", action="store_true", help="read 03/05/2024 as 5 March (US order); day first is the default")
    p.add_argument("--min-days", type=float, default=14, help="least history accepted, in days (default 14)")
    for role in ("timestamp", "date", "time", "channel", "count", "id", "case", "handle-time", "label"):
        p.add_argument(f"--{role}-col", dest=f"{role.replace('-', '_')}_col", metavar="NAME",
                       help=f"name of the {role.replace('-', ' ')} column (detected by name otherwise)")


def _ingest_options(args: argparse.Namespace) -> IngestOptions:
    columns = ColumnChoice(
        timestamp=args.timestamp_col, date=args.date_col, time=args.time_col, channel=args.channel_col,
        count=args.count_col, message_id=args.id_col, case_id=args.case_col,
        handle_time=args.handle_time_col, label=args.label_col,
    )
    return IngestOptions(
        tz=args.tz, freq=args.freq, source_tz=args.source_tz, offsets_are_local=args.offsets_are_local,
        shape=args.shape, columns=columns, channel=args.channel, dayfirst=not args.monthfirst,
        min_history_days=args.min_days,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webcare",
        description="Staffing forecast and capacity planning for webcare teams.",
    )
    parser.add_argument("--workspace", type=Path, help="workspace database file (default data/workspace.duckdb or $WEBCARE_WORKSPACE)")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an internal error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="turn exports (one row per message, or counts) into the canonical history",
                       description="Read CSV/XLSX/Parquet exports of an inbox tool into the canonical history "
                                   "(ds, channel, y), keep it in the workspace, and optionally write it as CSV.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--out", type=Path, help="write the canonical history to this CSV file")
    p.add_argument("--dataset", help="name in the workspace (default: the first file's name without extension)")
    p.add_argument("--no-save", action="store_true", help="do not keep the dataset in the workspace")
    p.add_argument("--report-json", type=Path, help="write the ingestion report as JSON")
    _add_tz(p)
    _add_ingest_flags(p)

    p = sub.add_parser("inspect", help="span, volume, busy hours and days, gaps and days that stand out",
                       description="Summarise a history: a canonical history CSV, any file `webcare ingest` reads, "
                                   "or a dataset in the workspace (--dataset).")
    p.add_argument("history", nargs="?", type=Path, metavar="HISTORY")
    p.add_argument("--dataset", help="a dataset in the workspace instead of a file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_tz(p)
    _add_ingest_flags(p)

    p = sub.add_parser("forecast", help="forecast volume per interval and channel, with backtests and intervals",
                       description="Forecast a history (a file `webcare ingest` reads, or --dataset NAME) per channel. "
                                   "`auto` backtests the candidate models per channel and keeps the best.")
    p.add_argument("history", nargs="?", type=Path, metavar="HISTORY")
    p.add_argument("--dataset", help="a dataset in the workspace instead of a file (its excluded days are left out of training)")
    p.add_argument("--horizon", default="28d", help="how far ahead, e.g. 28d or 2w (at most a year; default 28d)")
    p.add_argument("--out", type=Path, required=True, help="the forecast CSV to write")
    p.add_argument("--model", default="auto", help="auto (default), snaive, snaive_day, profile or mstl")
    p.add_argument("--level", type=float, nargs="+", default=[80, 95], help="interval levels in percent (default 80 95)")
    p.add_argument("--folds", type=int, default=3, help="backtest folds (default 3)")
    p.add_argument("--backtest-out", type=Path, help="write the backtest metrics per channel and model (CSV)")
    p.add_argument("--jobs", type=int, default=1, help="channels backtested in parallel (default 1; -1 = all cores)")
    _add_tz(p)
    _add_ingest_flags(p)

    p = sub.add_parser("datasets", help="list or delete the datasets in the workspace")
    p.add_argument("action", choices=["list", "delete"], nargs="?", default="list")
    p.add_argument("name", nargs="?")
    _add_tz(p)

    p = sub.add_parser("demo", help="the end-to-end run on the bundled sample data")
    p.add_argument("--out", type=Path, default=Path("data/sample_history.csv"),
                   help="where to write the sample's canonical history (default data/sample_history.csv)")
    _add_tz(p)
    return parser


def cmd_ingest(args: argparse.Namespace) -> int:
    options = _ingest_options(args)
    started = time.perf_counter()
    result = ingest_files(args.files, options)
    # every check has passed: only now is anything written
    if args.out:
        history_to_csv(result.history, args.out)
    name = None
    if not args.no_save:
        name = args.dataset or dataset_name_for(args.files[0].name)
        Workspace(args.workspace).save_dataset(name, result)
    if args.report_json:
        write_text_atomic(args.report_json, json.dumps(result.report.to_dict(), indent=2))
    for line in result.report.lines():
        print(line)
    volume = int(result.history["y"].sum(skipna=True))
    print(f"history: {len(result.history):,} rows, {result.history['channel'].nunique()} channel(s), {volume:,} messages")
    if args.out:
        print(f"wrote {args.out}")
    if name:
        print(f"saved as dataset '{name}' in {Workspace(args.workspace).path}")
    print(f"took {time.perf_counter() - started:.1f} s")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from forecast.explore import format_summary, summarize

    summary = summarize(_history_for(args))
    if args.json:
        print(json.dumps(_summary_json(summary), indent=2, default=str))
    else:
        print(format_summary(summary))
    return 0


def _summary_json(summary) -> dict:
    out = {}
    for key, value in vars(summary).items():
        if hasattr(value, "to_dict") and hasattr(value, "columns"):
            out[key] = value.to_dict(orient="records")
        else:
            out[key] = str(value) if not isinstance(value, (int, float)) else value
    return out


def _history_for(args: argparse.Namespace):
    """The history named by a command's HISTORY argument or --dataset (with its excluded days
    set to missing, so that no model learns from them)."""
    if (args.history is None) == (args.dataset is None):
        raise UsageError("give either a HISTORY file or --dataset NAME")
    if args.history is not None:
        return ingest_files([args.history], _ingest_options(args)).history
    ws = Workspace(args.workspace)
    history = ws.load_history(args.dataset, tz=args.tz)
    excluded = ws.excluded_days(args.dataset)
    if excluded:
        dates = history["ds"].dt.tz_localize(None).dt.normalize()
        history.loc[dates.isin(list(excluded)), "y"] = pd.NA
        print(f"left out of training: {len(excluded)} excluded day(s) of dataset '{args.dataset}'")
    return history


def cmd_forecast(args: argparse.Namespace) -> int:
    from forecast.backtest import AutoForecaster, backtest
    from forecast.ingest import format_iso
    from forecast.models import available_models, get_forecaster

    if args.model not in available_models():
        raise UsageError(f"unknown model {args.model!r}: use one of {', '.join(available_models())}")
    horizon = parse_duration(args.horizon)
    started = time.perf_counter()
    history = _history_for(args)
    if args.model == "auto":
        model = AutoForecaster(horizon=horizon, n_folds=args.folds, n_jobs=args.jobs).fit(history)
        result = model.backtest_
    else:
        model = get_forecaster(args.model).fit(history)
        result = backtest(history, models=[args.model], horizon=horizon, n_folds=args.folds, levels=args.level,
                          n_jobs=args.jobs) if args.backtest_out else None
    forecast = model.predict(horizon, levels=args.level)
    out = forecast.assign(ds=format_iso(forecast["ds"]))
    write_csv_atomic(out, args.out)
    if args.backtest_out:
        if result is None:
            raise UsageError("the history is too short for a backtest; the forecast was written without one")
        result.to_csv(args.backtest_out, table="summary")
    for channel, part in forecast.groupby("channel"):
        print(f"{channel}: {part['model'].iloc[0]}, {len(part):,} intervals, {part['yhat'].sum():,.0f} messages expected "
              f"from {part['ds'].min():%Y-%m-%d %H:%M} to {part['ds'].max():%Y-%m-%d %H:%M}")
    if result is not None and not result.summary.empty:
        cols = [c for c in ("channel", "model", "folds", "wape", "mase", "bias") if c in result.summary.columns]
        print("backtest (mean over folds):")
        print(result.summary[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for channel, notes in model.notes_.items():
        for note in notes:
            print(f"note ({channel}): {note}")
    print(f"wrote {args.out}" + (f" and {args.backtest_out}" if args.backtest_out else "") + f" in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace)
    if args.action == "delete":
        if not args.name:
            raise UsageError("give the name of the dataset to delete")
        ws.delete_dataset(args.name)
        print(f"deleted dataset '{args.name}' and the message details kept with it")
        return 0
    datasets = ws.list_datasets()
    if not datasets:
        print(f"no datasets in {ws.path}")
        return 0
    print(f"{'name':<24}{'zone':<18}{'freq':<7}{'channels':>9}{'messages':>12}  span")
    for d in datasets:
        span = f"{d.start:%Y-%m-%d} to {d.end:%Y-%m-%d}" if d.start is not None else "-"
        print(f"{d.name:<24}{d.tz:<18}{d.freq:<7}{len(d.channels):>9}{d.volume:>12,}  {span}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from forecast.explore import format_summary, summarize

    started = time.perf_counter()
    result = ingest_sample(args.tz)
    out = args.out if args.out.is_absolute() else REPO_ROOT / args.out
    history_to_csv(result.history, out)
    Workspace(args.workspace).save_dataset(SAMPLE_DATASET, result)
    print("== Ingestion of the bundled sample (webcare ingest) ==")
    for line in result.report.lines():
        print(line)
    print(f"wrote {out} and saved dataset 'sample' in {Workspace(args.workspace).path}")
    print()
    print("== What the history shows (webcare inspect) ==")
    print(format_summary(summarize(result.history)))
    print()
    print(f"done in {time.perf_counter() - started:.1f} s. Next: `webcare inspect --dataset sample`, or ingest your own export "
          "with `webcare ingest FILE --out history.csv`.")
    return 0


COMMANDS = {"ingest": cmd_ingest, "inspect": cmd_inspect, "forecast": cmd_forecast, "datasets": cmd_datasets, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except IngestError as exc:
        print("error: the input cannot be used; nothing was written.", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INPUT
    except (UsageError, WorkspaceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:  # the user sees a message, not a traceback, unless --debug
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n(run again with --debug for details, and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
