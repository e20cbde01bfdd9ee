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
    atomic_outputs,
    ColumnChoice,
    IngestError,
    IngestOptions,
    history_to_csv,
    ingest_files,
    write_csv_atomic,
)
from webcare.units import format_duration, parse_duration
from webcare.datasets import SAMPLE_DATASET, dataset_name_for, ingest_sample
from webcare.workspace import REPO_ROOT, Workspace, WorkspaceError, check_label, check_name

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
    parser.add_argument("--tz", help=f"the team's time zone (default: a dataset's own zone, otherwise {DEFAULT_TZ})")


def _tz(args: argparse.Namespace) -> str:
    """--tz, or the default zone where neither the flag nor a dataset says otherwise."""
    return args.tz or DEFAULT_TZ


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


def _add_history_source(p: argparse.ArgumentParser) -> None:
    """HISTORY (any file `webcare ingest` reads) or --dataset, read by :func:`_history_for`."""
    p.add_argument("history", nargs="?", type=Path, metavar="HISTORY")
    p.add_argument("--dataset", help="a dataset in the workspace instead of a file (its excluded days are left out)")
    _add_tz(p)
    _add_ingest_flags(p)


def _ingest_options(args: argparse.Namespace) -> IngestOptions:
    columns = ColumnChoice(
        timestamp=args.timestamp_col, date=args.date_col, time=args.time_col, channel=args.channel_col,
        count=args.count_col, message_id=args.id_col, case_id=args.case_col,
        handle_time=args.handle_time_col, label=args.label_col,
    )
    return IngestOptions(
        tz=_tz(args), freq=args.freq, source_tz=args.source_tz, offsets_are_local=args.offsets_are_local,
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
    _add_history_source(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("forecast", help="forecast volume per interval and channel, with backtests and intervals",
                       description="Forecast a history (a file `webcare ingest` reads, or --dataset NAME) per channel. "
                                   "`auto` backtests the candidate models per channel and keeps the best.")
    _add_history_source(p)
    p.add_argument("--horizon", default="28d", help="how far ahead, e.g. 28d or 2w (at most a year; default 28d)")
    p.add_argument("--out", type=Path, required=True, help="the forecast CSV to write")
    p.add_argument("--model", default="auto",
                   help="auto (default), snaive, snaive_day, profile, mstl, ets, prophet or ensemble")
    p.add_argument("--level", type=float, nargs="+", default=[80, 95], help="interval levels in percent (default 80 95)")
    p.add_argument("--folds", type=int, default=3, help="backtest folds (default 3)")
    p.add_argument("--candidates", nargs="+", metavar="MODEL",
                   help="the models auto chooses among (default: all, prophet when its backtest is affordable)")
    p.add_argument("--backtest-out", type=Path, help="write the backtest metrics per channel and model (CSV)")
    p.add_argument("--jobs", type=int, default=1, help="channels backtested in parallel (default 1; -1 = all cores)")
    p.add_argument("--events", type=Path, metavar="FILE",
                   help="events file (name,start,end[,uplift][,channel][,kind]): past windows are left out of "
                        "training, future ones scale the forecast")
    p.add_argument("--holidays", default="NL", metavar="CC",
                   help="public holidays for prophet: a country code (NL, BE, DE-BY, ...) or none (default NL)")
    p.add_argument("--save-model", type=Path, nargs="?", const="", metavar="PATH",
                   help="save the fitted model as JSON (a .json file, or a directory; default models/)")
    p.add_argument("--name", help="keep the forecast in the workspace under this name (default: the --out file's name "
                                  "without extension); the app's Staffing and Scenarios pages can plan on it")
    p.add_argument("--no-save", action="store_true", help="do not keep the forecast in the workspace")
    p.add_argument("--load-model", type=Path, metavar="PATH",
                   help="forecast with a model saved by --save-model instead of fitting (HISTORY is then optional)")
    # --freq (from the ingest flags) resamples the history when given; None = as the data come.
    p.set_defaults(freq=None)

    p = sub.add_parser("staff", help="required agents per interval for a service-level target (backlog model or Erlang)",
                       description="Turn a forecast (from `webcare forecast`) into the agents needed per interval, or "
                                   "evaluate a given staffing (--staffing). The backlog model carries messages across "
                                   "intervals and closed hours; erlang-c / erlang-a are for live channels.")
    p.add_argument("forecast", type=Path, metavar="FORECAST")
    p.add_argument("--target", help="service-level target in percent, e.g. 80 (or per channel in --channels)")
    p.add_argument("--within", help="the deadline, e.g. 60m or 20s (or per channel in --channels)")
    p.add_argument("--aht", help="handle time of one message, e.g. 6m or 180s, or 'history' (per channel and hour "
                                 "of day from --dataset/--messages)")
    p.add_argument("--channels", type=Path, help="per-channel settings and team mode (TOML; see docs/capacity.md)")
    p.add_argument("--dataset", help="message-level history in the workspace: handle times and the intra-hour profile")
    p.add_argument("--messages", type=Path, help="a message-level export (any file `webcare ingest` reads) for the same")
    p.add_argument("--intraday", choices=["auto", "even"], default="auto",
                   help="spread hourly volume over quarters by the history's intra-hour profile (auto, when "
                        "--dataset/--messages is given) or evenly")
    p.add_argument("--asa", help="erlang models: also keep the mean time to answer at or below this, e.g. 30s")
    p.add_argument("--sl-definition", choices=["offered", "answered", "virtual"], default="offered",
                   help="erlang-a: answered in time / all arrivals (offered, default), / answered ones, or virtual")
    p.add_argument("--margin", default="0", help="variability margin in percentage points added to the target for "
                                                 "planning, e.g. 2 (default 0)")
    p.add_argument("--no-variability-margin", action="store_true",
                   help="backlog model: plan the bare fluid model at full occupancy (cheaper on paper, but it falls "
                        "short of the target in simulation; see docs/margin.md)")
    p.add_argument("--intervals-out", type=Path, help="backlog model: write per interval arrivals, agents, handled, "
                                                      "backlog, oldest waiting message, share in time, mean/p90 response")
    p.add_argument("--days-out", type=Path, help="backlog model: write the same per local day")
    p.add_argument("--weeks-out", type=Path, help="backlog model: write the same per ISO week")
    p.add_argument("--team-out", type=Path, help="team modes of --channels: write the team's rows (channel 'team')")
    p.add_argument("--model", choices=["backlog", "erlang-c", "erlang-a"], default="backlog")
    p.add_argument("--open", dest="opening", help='opening hours, e.g. "mon-fri 08:00-20:00; sat,sun 10:00-18:00" (default: always open)')
    p.add_argument("--concurrency", type=float, default=1.0, help="conversations one agent holds at once (default 1)")
    p.add_argument("--shrinkage", default="0", help="share of paid time not available, e.g. 0.3 (default 0)")
    p.add_argument("--max-occupancy", default="1", help="productive occupancy cap, e.g. 0.85 (default 1)")
    p.add_argument("--patience", help="customers' mean patience for erlang-a, e.g. 10m")
    p.add_argument("--period", choices=["day", "week", "interval"], default="day",
                   help="backlog model: the target holds per local day (default), ISO week or interval")
    p.add_argument("--clock", choices=["real", "business"], default="real",
                   help="count the deadline in real time (default) or in open time only")
    p.add_argument("--min-agents", type=int, default=1, help="agents at least while open (default 1)")
    p.add_argument("--quantile", help="plan for an interval bound instead of yhat, e.g. upper_80")
    p.add_argument("--combine", action="store_true", help="pool all channels into one team (channel 'all')")
    p.add_argument("--staffing", type=Path, help="evaluate this staffing (columns ds, agents: heads on duty) instead of planning")
    p.add_argument("--freq", type=_freq, help="the forecast's interval, when it cannot be seen from the file (one row per channel)")
    p.add_argument("--out", type=Path, required=True, help="the requirements CSV to write")
    _add_tz(p)

    p = sub.add_parser("datasets", help="list or delete the datasets in the workspace")
    p.add_argument("action", choices=["list", "delete"], nargs="?", default="list")
    p.add_argument("name", nargs="?")
    _add_tz(p)

    p = sub.add_parser("demo", help="the end-to-end run on the bundled sample data")
    p.add_argument("--out", type=Path, default=Path("data/sample_history.csv"),
                   help="where to write the sample's canonical history (default data/sample_history.csv)")
    _add_tz(p)

    for module in _extensions():
        module.add_parser(sub)
    return parser


# Commands that live in their own modules (webcare/cmd_*.py). Each module defines
# ``NAME``, ``add_parser(sub)`` (adds its subparser) and ``run(args) -> int``; errors are
# raised as the exceptions main() turns into exit status 2 (ValueError, UsageError ...).
EXTENSIONS = ("webcare.cmd_simulate", "webcare.cmd_roster", "webcare.cmd_plan")


def _extensions() -> list:
    import importlib

    found = []
    for name in EXTENSIONS:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:  # a command not written yet; any other import error surfaces
            if exc.name != name:
                raise
    return found


def cmd_ingest(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from forecast.ingest import atomic_output, history_table

    name = None if args.no_save else check_name(args.dataset or dataset_name_for(args.files[0].name))
    started = time.perf_counter()
    result = ingest_files(args.files, _ingest_options(args))
    # every check has passed; the files appear only once the dataset is saved, so a failure
    # anywhere leaves nothing behind
    with ExitStack() as stack:
        if args.out:
            history_table(result.history).to_csv(stack.enter_context(atomic_output(args.out)), index=False)
        if args.report_json:
            stack.enter_context(atomic_output(args.report_json)).write_text(
                json.dumps(result.report.to_dict(), indent=2), encoding="utf-8")
        if name:
            Workspace(args.workspace).save_dataset(name, result)
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


def _candidates(names: Sequence[str] | None) -> list[str] | None:
    from forecast.models import available_models

    if not names:
        return None
    unknown = [n for n in names if n not in available_models() or n == "auto"]
    if unknown:
        raise UsageError(f"--candidates: unknown model {unknown[0]!r}; use some of "
                         f"{', '.join(m for m in available_models() if m != 'auto')}")
    return list(names)


def cmd_forecast(args: argparse.Namespace) -> int:
    from forecast.backtest import ENSEMBLE, AutoForecaster, EnsembleForecaster, backtest
    from forecast.calendar import parse_holidays
    from forecast.ingest import format_iso
    from forecast.models import available_models, check_levels, get_forecaster, parse_horizon, resample_history
    from forecast.persist import DEFAULT_DIR, check_fingerprint, load_forecaster, save_forecaster

    if args.model not in available_models():
        raise UsageError(f"unknown model {args.model!r}: use one of {', '.join(available_models())}")
    horizon = parse_duration(args.horizon)
    parse_horizon(horizon)  # 0 or over a year: a clear message before any work
    levels = check_levels(args.level)
    try:
        parse_holidays(args.holidays)
    except ValueError as exc:
        raise UsageError(f"--holidays: {exc}") from None
    if args.folds < 1:
        raise UsageError(f"--folds must be at least 1 (got {args.folds}); 3 or more is usual")
    if args.load_model is not None and args.save_model is not None:
        raise UsageError("give --load-model or --save-model, not both")
    keep_as = None if args.no_save else check_label(args.name or args.out.stem, "forecast")
    started = time.perf_counter()
    wanted_freq = args.freq
    history = None
    if args.history is not None or args.dataset is not None:
        if args.history is not None:
            args.freq = wanted_freq or "1h"  # the file is read into intervals of --freq (default 1h)
        history = _history_for(args)
        if wanted_freq is not None:
            history = resample_history(history, parse_duration(wanted_freq))
    elif args.load_model is None:
        raise UsageError("give either a HISTORY file or --dataset NAME")

    events = []
    if args.events is not None:
        from forecast.events import past_event_mask, read_events

        events = read_events(args.events, _tz(args))
        if history is not None:
            mask = past_event_mask(history, events).to_numpy()
            if mask.any():
                history = history.copy()
                history.loc[mask, "y"] = pd.NA
                print(f"left out of training: {int(mask.sum()):,} interval(s) inside {len(events)} event window(s) "
                      f"of {args.events.name}")
    training = history  # with past event windows blanked out

    params = {"prophet": {"holidays": args.holidays}}
    result = None
    if args.load_model is not None:
        model = load_forecaster(args.load_model)
        meta = getattr(model, "metadata_", {})
        print(f"loaded {meta.get('model', model.name)} model fitted on {', '.join(model.channels_)} "
              f"(created {meta.get('created', '?')}) from {args.load_model}")
        if training is not None:
            print("note: with --load-model the forecast starts where the saved model's history ended; the history "
                  "given is only compared with it")
        if training is not None and not check_fingerprint(model, training):
            print("note: the history differs from the data the saved model was fitted on; forecasting from the saved model")
    elif args.model == "auto":
        model = AutoForecaster(models=_candidates(args.candidates), horizon=horizon, n_folds=args.folds,
                               n_jobs=args.jobs, params=params).fit(training)
        result = model.backtest_
    elif args.model == ENSEMBLE:
        model = EnsembleForecaster(horizon=horizon, n_folds=args.folds, n_jobs=args.jobs, params=params).fit(training)
        result = model.backtest_
    else:
        model = get_forecaster(args.model, **params.get(args.model, {})).fit(training)
        if args.backtest_out:
            result = backtest(training, models=[args.model], horizon=horizon, n_folds=args.folds, levels=levels,
                              n_jobs=args.jobs, params=params)
    if args.backtest_out and result is None:
        raise UsageError("no backtest to write: the history is too short for one (or the model was loaded, not fitted); "
                         "nothing was written")
    forecast = model.predict(horizon, levels=levels)
    event_notes = []
    if events:
        from forecast.events import apply_events

        forecast, event_notes = apply_events(forecast, events, history=history)
    out = forecast.assign(ds=format_iso(forecast["ds"]))
    saved = None
    with atomic_outputs(args.out, args.backtest_out) as (out_tmp, backtest_tmp):  # all files or none
        out.to_csv(out_tmp, index=False)
        if backtest_tmp is not None:
            result.to_csv(backtest_tmp, table="summary")
        if args.save_model is not None:
            target = DEFAULT_DIR if str(args.save_model) == "" else args.save_model
            saved = save_forecaster(model, target, history=training,
                                    metadata={"horizon": args.horizon, "levels": list(levels),
                                              "events": str(args.events) if args.events else None})
        if keep_as is not None:
            Workspace(args.workspace).save_forecast(keep_as, forecast, dataset=args.dataset,
                                                    meta={"model": args.model, "horizon": args.horizon, "source": "cli"})
    for channel, part in forecast.groupby("channel"):
        print(f"{channel}: {part['model'].iloc[0]}, {len(part):,} intervals, {part['yhat'].sum():,.0f} messages expected "
              f"from {part['ds'].min():%Y-%m-%d %H:%M} to {part['ds'].max():%Y-%m-%d %H:%M}")
    if result is not None and not result.summary.empty:
        names = {"conformal_coverage_80": "cover80", "conformal_coverage_95": "cover95", "seconds": "sec/fold"}
        cols = [c for c in ("channel", "model", "folds", "wape", "mase", "bias", *names) if c in result.summary.columns]
        print("backtest (mean over folds; cover = coverage of the conformal intervals, leave-one-fold-out):")
        print(result.summary[cols].rename(columns=names).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for channel, notes in model.notes_.items():
        for note in notes:
            print(f"note ({channel}): {note}")
    for note in event_notes:
        print(f"note: {note}")
    written = [str(args.out)] + ([str(args.backtest_out)] if args.backtest_out else []) + ([str(saved)] if saved else [])
    kept = f" and kept forecast '{keep_as}' in the workspace" if keep_as is not None else ""
    print(f"wrote {' and '.join(written)}{kept} in {time.perf_counter() - started:.1f} s")
    return 0


def _bare_fluid_planner():
    from scheduling.backlog import required_staffing

    return required_staffing


def cmd_staff(args: argparse.Namespace) -> int:
    import numpy as np

    from forecast.ingest import format_iso, read_interval_values
    from scheduling.channels import read_channels
    from scheduling.handle_time import estimate_handle_times
    from scheduling.intraday import estimate_intraday_profile
    from scheduling.opening_hours import parse_opening_hours
    from scheduling.requirements import ServiceTarget, interval_of, requirements
    from webcare.units import parse_fraction, parse_percentage

    channels = read_channels(args.channels) if args.channels else None
    column = f"yhat_{args.quantile}" if args.quantile else "yhat"
    forecast = read_interval_values(args.forecast, column, _tz(args), what="forecast").rename(columns={"value": "volume"})
    names = ["all"] if args.combine else sorted(forecast["channel"].unique())
    aht_history = str(args.aht or "").strip().lower() == "history"

    def setting(flag: str, key: str, value):
        """A flag's value, or (when absent) that every channel sets ``key`` in the channels file."""
        if value is not None:
            return value
        lacking = [c for c in names if channels is None or getattr(channels.spec(c), key) is None]
        if key == "aht_seconds" and channels is not None:
            lacking = [c for c in lacking if not channels.spec(c).aht_from_history]
        if lacking:
            where = f" or give {key.split('_')[0]} in {args.channels.name} for {', '.join(lacking)}" if channels else ""
            raise UsageError(f"{flag} is required{where}")
        return None

    target_share = parse_percentage(args.target) if args.target is not None else None
    within = parse_duration(args.within) if args.within is not None else None
    aht_seconds = None
    if args.aht is not None and not aht_history:
        aht_seconds = parse_duration(args.aht).total_seconds()
        if not aht_seconds > 0:
            raise UsageError("the handle time (--aht) must be longer than 0")
    setting("--target", "target", target_share)
    setting("--within", "within", within)
    if not aht_history:
        setting("--aht", "aht_seconds", aht_seconds)
    try:
        margin = float(args.margin) / 100.0
    except ValueError:
        margin = float("nan")
    if not 0 <= margin < 1:
        raise UsageError(f"--margin must be a number of percentage points in [0, 100), e.g. 2 (got {args.margin!r})")

    def first_set(attr):
        """The first channel's value of ``attr`` in the channels file (the team-wide default)."""
        values = [getattr(channels.spec(c), attr) for c in names] if channels is not None else []
        return next((v for v in values if v is not None), None)

    messages = None
    if args.dataset and args.messages:
        raise UsageError("give either --dataset or --messages, not both")
    if args.dataset:
        messages = Workspace(args.workspace).load_messages(args.dataset, _tz(args))
        if messages.empty:
            raise UsageError(f"dataset '{args.dataset}' has no message-level details (it was ingested from counts)")
    elif args.messages:
        ingested = ingest_files([args.messages], IngestOptions(tz=_tz(args), shape="messages"))
        messages = ingested.messages
    needs_history = aht_history or (channels is not None and any(c.aht_from_history for c in channels.channels.values()))
    if needs_history and messages is None:
        raise UsageError("a handle time from history needs message-level history: give --dataset NAME or --messages FILE")
    handle_times = estimate_handle_times(messages) if needs_history else None
    intraday = (estimate_intraday_profile(messages) if messages is not None and args.intraday == "auto"
                and args.model == "backlog" else None)

    history_aht = float(np.mean(list(handle_times.channel_aht.values()))) if handle_times is not None else None
    target = ServiceTarget(
        target=target_share if target_share is not None else first_set("target"),
        within=within if within is not None else first_set("within"),
        aht_seconds=aht_seconds or first_set("aht_seconds") or history_aht,
        model=args.model,
        concurrency=args.concurrency,
        shrinkage=parse_fraction(args.shrinkage, name="--shrinkage"),
        max_occupancy=parse_fraction(args.max_occupancy, name="--max-occupancy", allow_one=True),
        patience_seconds=parse_duration(args.patience).total_seconds() if args.patience else None,
        period="bucket" if args.period == "interval" else args.period,
        clock=args.clock,
        min_agents=args.min_agents,
        asa_target_seconds=parse_duration(args.asa).total_seconds() if args.asa else None,
        sl_definition=args.sl_definition,
    )
    opening = parse_opening_hours(args.opening) if args.opening else None
    staffing = None
    if args.staffing:
        staffing = read_interval_values(args.staffing, "agents", _tz(args), what="staffing file", allow_channel=False)
        staffing = staffing.rename(columns={"value": "agents"})[["ds", "agents"]]
    if (staffing is not None and not args.combine and forecast["channel"].nunique() > 1
            and (channels is None or channels.team == "separate")):
        raise UsageError(f"{args.staffing.name} gives the heads of one team, but the forecast has "
                         f"{forecast['channel'].nunique()} channels: add --combine (one team working every channel) "
                         "or a team mode (team = \"priority\" or \"pooled\" in --channels)")
    if args.model != "backlog" and any(x is not None for x in (args.intervals_out, args.days_out, args.weeks_out)):
        raise UsageError("--intervals-out, --days-out and --weeks-out need the backlog model")
    started = time.perf_counter()
    result = requirements(forecast, target, opening, staffing=staffing, combine=args.combine,
                          interval=pd.Timedelta(args.freq) if args.freq else None, channels=channels,
                          handle_times=handle_times, intraday=intraday, aht_from_history=aht_history,
                          margin=margin, planner=_bare_fluid_planner() if args.no_variability_margin else None)
    table = result.table
    unreachable = [c for c, ok in result.reachable.items() if not ok]
    if unreachable and staffing is None:  # a given staffing is still evaluated, reachable or not
        for channel in unreachable:
            print(f"{channel}: {result.explanations[channel]}", file=sys.stderr)
        print("error: the target cannot be reached whatever the staffing; nothing was written", file=sys.stderr)
        return EXIT_INPUT
    outputs = [(table, args.out)]
    if args.team_out:
        if result.team is None:
            raise UsageError("--team-out needs a team mode (team = \"priority\" or \"pooled\" in --channels)")
        outputs.append((result.team, args.team_out))
    for flag, attr, path in (("--intervals-out", "intervals", args.intervals_out), ("--days-out", "days", args.days_out),
                             ("--weeks-out", "weeks", args.weeks_out)):
        if path is not None:
            parts = getattr(result, attr)
            frames = []
            for name, frame in parts.items():
                frame = frame.reset_index() if attr != "intervals" else frame
                if "channel" not in frame.columns:
                    frame.insert(0, "channel", name)
                frames.append(frame)
            outputs.append((pd.concat(frames, ignore_index=True), path))
    with atomic_outputs(*(path for _, path in outputs)) as temporary:  # everything checked: all files or none
        for (frame, _), tmp in zip(outputs, temporary):
            frame = frame.copy()
            if "ds" in frame.columns:
                frame["ds"] = format_iso(frame["ds"])
            if "date" in frame.columns:
                frame["date"] = pd.DatetimeIndex(frame["date"]).strftime("%Y-%m-%d")
            frame.to_csv(tmp, index=False, encoding="utf-8")
    for channel, part in table.groupby("channel"):
        step = interval_of(pd.DatetimeIndex(part["ds"])) if len(part) > 1 else pd.Timedelta(args.freq)
        step_hours = step.total_seconds() / 3600
        print(f"{channel}: {result.explanations[channel]}")
        for note in result.notes.get(channel, []):
            print(f"  note: {note}")
        print(f"  agent-hours: {part['agents_required'].sum() * step_hours:,.1f} productive, "
              f"{part['agents_scheduled'].sum() * step_hours:,.1f} scheduled; peak {part['agents_required'].max():,.0f} productive")
    if result.team is not None:
        team = result.team
        print(f"team ({channels.team}): {team['agents_required'].sum() / 4:,.1f} productive agent-hours, peak "
              f"{team['agents_required'].max():,.0f}" + (f"; {result.team_explanation}" if result.team_explanation else ""))
    written = ", ".join(str(path) for _, path in outputs)
    print(f"wrote {written} ({len(table):,} rows) in {time.perf_counter() - started:.1f} s")
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
    result = ingest_sample(_tz(args))
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


COMMANDS = {
    "ingest": cmd_ingest,
    "inspect": cmd_inspect,
    "forecast": cmd_forecast,
    "staff": cmd_staff,
    "datasets": cmd_datasets,
    "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = dict(COMMANDS)
    commands.update({module.NAME: module.run for module in _extensions()})
    try:
        return commands[args.command](args)
    except IngestError as exc:
        print("error: the input cannot be used; nothing was written.", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INPUT
    except (UsageError, WorkspaceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot use{where}: {exc.strerror or exc}; nothing was written", file=sys.stderr)
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
