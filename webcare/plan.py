"""The whole chain from one TOML file: ingest, forecast, capacity, opening hours, roster, simulation.

``webcare plan [plan.toml] --out DIR`` calls :func:`read_plan` and :func:`run_plan`. Every stage
is a call into ``forecast/`` or ``scheduling/``; this module only wires them together, times
them, and writes the results. Without a plan file the bundled sample is planned with the
defaults of :class:`PlanConfig` (and ``data/sample/shifts.toml``). The file format is documented
in ``docs/plan.md``; ``data/sample/plan.toml`` is a complete example.

Stages:

1. **data**: a workspace dataset (default ``sample``) or export files (``webcare ingest``).
2. **forecast**: ``auto`` (or a named model) fitted on the last ``history_weeks``; the horizon
   runs to the end of the last ISO week rostered.
3. **opening hours** (when candidates are given): every combination of the candidate windows
   planned with the capacity model (:func:`scheduling.opening_search.search_opening_hours`); of
   those that reach the target on every day, the ``ALTERNATIVES`` (4) needing the fewest
   productive agent-hours (``OpeningSearch.alternatives``) are rostered (stages 4 and 5) and the one with the cheapest roster is
   chosen: agent-hours are not money (whole shifts, premiums, a smaller morning peak after a
   longer day).
4. **capacity**: required productive agents per 15 minutes for the (chosen) opening hours, all
   channels as one team, with the variability margin (``scheduling.requirements``).
5. **roster**: the cheapest shifts covering the requirement (``scheduling.roster``), assigned to
   named agents when an agents file is given.
6. **simulation**: the roster's heads on duty replayed against random arrivals
   (``scheduling.simulate``): the share of runs that reach the target.

Nothing is written unless every stage succeeds: the files go to a temporary folder beside
``DIR`` that replaces ``DIR``'s plan files at the end.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from forecast.ingest import DEFAULT_TZ, IngestOptions, format_iso, ingest_files, write_csv_atomic
from scheduling.tomlfile import read_toml
from webcare.units import parse_duration, parse_percentage
from webcare.workspace import REPO_ROOT

SAMPLE_DIR = REPO_ROOT / "data" / "sample"
# every file and folder a plan may write; a rerun into the same folder removes the ones it did not write
PLAN_FILES = ("forecast.csv", "backtest.csv", "opening_hours.csv", "requirements.csv", "shifts.csv", "shifts.xlsx",
              "coverage.csv", "violations.csv", "roster.csv", "roster.xlsx", "calendars", "simulation.csv",
              "summary.json", "summary.txt")
DEFAULT_SHIFTS = SAMPLE_DIR / "shifts.toml"
BUCKET = pd.Timedelta("15min")


class PlanError(ValueError):
    """A plan file or setting that cannot be used (names the file, table and key)."""


@dataclass(frozen=True)
class PlanConfig:
    """What ``plan.toml`` says, validated (defaults: the bundled sample)."""

    tz: str = DEFAULT_TZ
    dataset: str | None = "sample"
    files: tuple[Path, ...] = ()
    freq: str = "1h"
    model: str = "auto"
    candidates: tuple[str, ...] | None = ("snaive", "profile", "ets", "mstl")
    history_weeks: int = 26
    weeks: int = 1
    events: Path | None = None
    holidays: str = "NL"
    target: float = 0.8
    within: pd.Timedelta = pd.Timedelta("60min")
    aht_seconds: float = 300.0
    concurrency: float = 1.0
    shrinkage: float = 0.3
    max_occupancy: float = 1.0
    period: str = "day"
    min_agents: int = 1
    opening: str | None = "mon-fri 08:00-22:00; sat,sun 09:00-18:00"
    opening_candidates: str | None = ("mon-fri 08:00-20:00 | 08:00-22:00 | 07:00-23:00; "
                                      "sat,sun 09:00-17:00 | 09:00-18:00 | 09:00-22:00")
    shifts: Path = DEFAULT_SHIFTS
    agents: Path | None = None
    time_limit: float = 60.0
    runs: int = 100
    seed: int = 0
    source: str = "defaults"


_KEYS = {
    None: {"tz", "data", "forecast", "service", "opening", "roster", "simulation"},
    "data": {"dataset", "files", "freq"},
    "forecast": {"model", "candidates", "history_weeks", "weeks", "events", "holidays"},
    "service": {"target", "within", "aht", "concurrency", "shrinkage", "max_occupancy", "period", "min_agents"},
    "opening": {"hours", "candidates"},
    "roster": {"shifts", "agents", "time_limit"},
    "simulation": {"runs", "seed"},
}


def read_plan(path: str | Path | None = None) -> PlanConfig:
    """Read and validate a plan file; None gives the defaults (the bundled sample)."""
    if path is None:
        return PlanConfig()
    path = Path(path)
    data = read_toml(path, PlanError, path.name)
    return plan_from_dict(data, path.name, base=path.resolve().parent)


def plan_from_dict(data: dict, source: str = "plan.toml", base: Path | None = None) -> PlanConfig:
    """Validate a parsed plan file; relative paths are taken from ``base``."""
    base = base or Path.cwd()

    def where(table, key=None):
        return f"{source}, [{table}]" + (f", key '{key}'" if key else "") if table else f"{source}, key '{key}'"

    for table, allowed in _KEYS.items():
        section = data if table is None else data.get(table, {})
        if table is not None and not isinstance(section, dict):
            raise PlanError(f"{where(table)}: expected a table")
        for key in section:
            if key not in allowed:
                raise PlanError(f"{where(table, key)}: unknown key (allowed: {', '.join(sorted(allowed))})")

    values: dict = {"source": source}

    def get(table, key, convert, name=None):
        section = data if table is None else data.get(table, {})
        if key not in section:
            return
        try:
            values[name or key] = convert(section[key])
        except (TypeError, ValueError) as exc:
            raise PlanError(f"{where(table, key)}: {exc}") from None

    def path_of(value) -> Path:
        p = Path(str(value))
        return p if p.is_absolute() else base / p

    def positive_int(value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"expected a whole number >= 1, got {value!r}")
        return value

    def number(value, low=None, high=None, name="value") -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        if (low is not None and value < low) or (high is not None and value >= high):
            raise ValueError(f"{value!r} is outside [{low}, {high})")
        return float(value)

    def text(value) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected text, got {value!r}")
        return value.strip()

    get(None, "tz", text)
    get("data", "dataset", text)
    get("data", "files", lambda v: tuple(path_of(x) for x in ([v] if isinstance(v, str) else v)))
    get("data", "freq", text)
    get("forecast", "model", text)
    get("forecast", "candidates", lambda v: tuple(text(x) for x in v))
    get("forecast", "history_weeks", positive_int)
    get("forecast", "weeks", positive_int)
    get("forecast", "events", path_of)
    get("forecast", "holidays", text)
    get("service", "target", lambda v: parse_percentage(str(v)))
    get("service", "within", lambda v: parse_duration(str(v)))
    get("service", "aht", lambda v: parse_duration(str(v)).total_seconds(), "aht_seconds")
    get("service", "concurrency", lambda v: number(v, 1, None))
    get("service", "shrinkage", lambda v: number(v, 0, 1))
    get("service", "max_occupancy", lambda v: number(v, 0.05, 1.0000001))
    get("service", "period", lambda v: _choice(v, ("day", "week")))
    get("service", "min_agents", lambda v: int(number(v, 0, None)))
    get("opening", "hours", lambda v: None if str(v).strip().lower() in ("", "always") else text(v), "opening")
    get("opening", "candidates", lambda v: None if str(v).strip().lower() in ("", "none") else text(v),
        "opening_candidates")
    get("roster", "shifts", path_of)
    get("roster", "agents", path_of)
    get("roster", "time_limit", lambda v: parse_duration(str(v)).total_seconds())
    get("simulation", "runs", positive_int)
    get("simulation", "seed", lambda v: int(number(v, 0, None)))
    if "files" in values and "dataset" not in values:
        values["dataset"] = None
    if "opening_candidates" not in values and "opening" in values:
        values["opening_candidates"] = None  # hours given and no candidates: keep them fixed
    config = PlanConfig(**values)
    if not config.files and not config.dataset:
        raise PlanError(f"{source}, [data]: give a dataset or files")
    if config.weeks > 4:
        raise PlanError(f"{where('forecast', 'weeks')}: at most 4 weeks are rostered at once")
    return config


def _choice(value, options):
    if value not in options:
        raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
    return value


@dataclass
class PlanResult:
    """What :func:`run_plan` produced (the files are in ``out_dir``)."""

    out_dir: Path
    summary: dict
    stages: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        s = self.summary
        out = [f"planned {s['start']} to {s['end']} ({s['weeks']} week(s)) for {', '.join(s['channels'])} "
               f"from {s['history']}",
               f"forecast: {s['forecast_messages']:,.0f} messages ({s['forecast_models']})",
               f"opening hours: {s['opening_hours']}" + (" (proposed: the cheapest candidates that reach the "
                                                         "target, see opening_hours.csv)" if s["opening_proposed"] else ""),
               f"  {s['closed_share']:.1%} of the messages arrive while closed; ceiling {s['ceiling']:.1%}",
               f"requirement: {s['productive_hours']:,.1f} productive agent-hours (variability margin included)",
               f"roster: {s['shifts']:,} shifts, {s['paid_hours']:,.1f} paid hours, cost {s['cost']:,.2f} "
               f"({s['roster_status']}, gap {s['roster_gap']:.2%})"]
        for line in s.get("roster_problems", []):
            out.append(f"  {line}")
        if s.get("assigned") is not None:
            out.append(f"agents: {s['assigned']}")
        out.append(f"service level: the capacity model expects {s['model_sl']:.1%}; simulation ({s['runs']} runs) "
                   f"{s['simulated_sl']:.1%} on average, target {s['target']:.0%} reached in "
                   f"{s['p_target']:.0%} of the runs (mean response {s['mean_response_min']:.1f} min, "
                   f"p90 {s['p90_response_min']:.1f} min)")
        out.append("time per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.stages.items()))
        return out


def _history(config: PlanConfig, workspace) -> tuple[pd.DataFrame, str, pd.DataFrame | None]:
    """The history (hourly or as configured), a label, and the message details when kept."""
    if config.files:
        result = ingest_files(list(config.files), IngestOptions(tz=config.tz, freq=config.freq))
        return result.history, ", ".join(p.name for p in config.files), result.messages
    from webcare.datasets import SAMPLE_DATASET, ingest_sample
    from webcare.workspace import Workspace

    ws = Workspace(workspace)
    names = {d.name for d in ws.list_datasets()}
    if config.dataset not in names:
        if config.dataset != SAMPLE_DATASET:
            raise PlanError(f"{config.source}, [data], key 'dataset': no dataset '{config.dataset}' in {ws.path} "
                            f"(have: {', '.join(sorted(names)) or 'none'})")
        ws.save_dataset(SAMPLE_DATASET, ingest_sample(config.tz))
    history = ws.load_history(config.dataset, tz=config.tz)
    excluded = ws.excluded_days(config.dataset)
    if excluded:
        local_day = history["ds"].dt.tz_localize(None).dt.normalize()
        history.loc[local_day.isin(list(excluded)), "y"] = pd.NA
    return history, f"dataset '{config.dataset}'", None


def _plan_window(history: pd.DataFrame, weeks: int, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The ISO weeks to roster: from the first Monday at or after the end of the history (the end of
    its last interval, whatever the interval length)."""
    ds = pd.DatetimeIndex(history["ds"].drop_duplicates().sort_values())
    step = pd.Series(ds).diff().min() if len(ds) > 1 else pd.Timedelta(hours=1)
    end = (ds[-1] + step).tz_convert(tz).tz_localize(None)
    day = end.normalize()
    if end > day:
        day += pd.Timedelta(days=1)
    start = day + pd.Timedelta(days=(7 - day.day_of_week) % 7)
    return start.tz_localize(tz), (start + pd.Timedelta(weeks=weeks)).tz_localize(tz)


def run_plan(config: PlanConfig, out_dir: str | Path, *, workspace=None,
             progress: Callable[[str], None] | None = None) -> PlanResult:
    """Run the chain and write its files into ``out_dir`` (see the module docstring)."""
    from forecast.backtest import AutoForecaster
    from forecast.models import get_forecaster
    from scheduling.opening_hours import open_fraction, parse_opening_hours
    from scheduling.requirements import ServiceTarget, interval_of, requirements
    from scheduling.roster import export
    from scheduling.roster.coverage import staffing_from_shifts
    from scheduling.opening_search import search_opening_hours
    from scheduling.roster.opening import parse_opening_candidates
    from scheduling.roster.shifts import read_shifts
    from scheduling.roster.solve import solve_roster
    from scheduling.simulate import simulate
    from scheduling import backlog as fluid

    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    stages: dict[str, float] = {}
    clock = time.perf_counter()

    def stage(name):
        nonlocal clock
        now = time.perf_counter()
        stages[name] = now - clock
        clock = now

    shifts_config = read_shifts(config.shifts)  # validate the inputs before the long work
    agents = None
    if config.agents is not None:
        from scheduling.roster.labour import read_agents

        agents = read_agents(config.agents)
    events = []
    if config.events is not None:
        from forecast.events import read_events

        events = read_events(config.events, config.tz)
    target = ServiceTarget(target=config.target, within=config.within, aht_seconds=config.aht_seconds,
                           concurrency=config.concurrency, shrinkage=config.shrinkage,
                           max_occupancy=config.max_occupancy, period=config.period, min_agents=config.min_agents)
    fixed_opening = parse_opening_hours(config.opening) if config.opening else None
    candidates = parse_opening_candidates(config.opening_candidates) if config.opening_candidates else None

    say("reading the history")
    history, label, _messages = _history(config, workspace)
    stage("data")

    say("forecasting")
    start, end = _plan_window(history, config.weeks, config.tz)
    cutoff = history["ds"].max() - pd.Timedelta(weeks=config.history_weeks)
    training = history[history["ds"] > cutoff].copy()
    if events:
        from forecast.events import past_event_mask

        training.loc[past_event_mask(training, events).to_numpy(), "y"] = pd.NA
    horizon = end - history["ds"].max()
    params = {"prophet": {"holidays": None if config.holidays.lower() == "none" else config.holidays}}
    if config.model == "auto":
        model = AutoForecaster(models=list(config.candidates) if config.candidates else None, horizon=horizon,
                               params=params).fit(training)
    else:
        model = get_forecaster(config.model, **params.get(config.model, {})).fit(training)
    forecast = model.predict(horizon)
    if events:
        from forecast.events import apply_events

        forecast, _notes = apply_events(forecast, events, history=training)
    forecast = forecast[(forecast["ds"] >= start) & (forecast["ds"] < end)].reset_index(drop=True)
    volume = forecast.rename(columns={"yhat": "volume"})[["channel", "ds", "volume"]]
    team_volume = volume.groupby("ds", as_index=False)["volume"].sum()
    stage("forecast")

    options = [(None, fixed_opening)]  # (the search table's text, hours)
    proposed = None
    if candidates is not None:
        say("choosing opening hours")
        proposed = search_opening_hours(team_volume, target, candidates)
        if proposed.best is None:
            raise PlanError(proposed.explanation)
        options = proposed.alternatives()  # fewest agent-hours first; the roster decides between them (money)
        stage("opening hours")

    say("required staffing")
    tables = []
    for _text, hours in options:
        req = requirements(volume, target, hours, combine=True)
        unreachable = [c for c, ok in req.reachable.items() if not ok]
        if unreachable:
            raise PlanError(f"the target cannot be reached: {req.explanations[unreachable[0]]}")
        tables.append(req.table)
    stage("capacity")

    say("rostering")
    best = None
    for (text, hours), table in zip(options, tables):
        roster = solve_roster(shifts_config, requirements=table[["ds", "agents_required", "volume"]], target=target,
                              opening=hours, shrinkage=config.shrinkage, time_limit=config.time_limit)
        if roster.status == "error":
            continue
        if proposed is not None:
            proposed.table.loc[proposed.table["opening"] == text, "roster_cost"] = float(roster.cost_split["roster"])
        if best is None or roster.objective < best[0].objective - 1e-9:
            best = (roster, hours, table, text)
    if best is None:
        raise PlanError("no roster was found: " + " ".join(roster.explanation))
    roster, opening, table, chosen = best
    if proposed is not None:
        proposed.table["chosen"] = proposed.table["opening"] == chosen
    assignment = None
    if agents is not None:
        from scheduling.roster.assign import assign_agents

        assignment = assign_agents(roster.shifts, agents, tz=config.tz, time_limit=config.time_limit,
                                   mip_gap=shifts_config.solver.assign_mip_gap, threads=shifts_config.solver.threads)
    stage("roster")

    say("simulating")
    grid = pd.DatetimeIndex(team_volume["ds"])
    staffing = staffing_from_shifts(roster.shifts, grid)
    sim = simulate(team_volume, staffing, aht_seconds=config.aht_seconds, deadline=config.within,
                   runs=config.runs, seed=config.seed, opening=opening, shrinkage=config.shrinkage,
                   concurrency=config.concurrency, target=config.target)
    stage("simulation")

    share = open_fraction(grid, opening)
    closed = float((team_volume["volume"].to_numpy() * (1 - share.to_numpy())).sum() / team_volume["volume"].sum())
    ceiling = fluid.service_level_ceiling(team_volume.set_index("ds")["volume"], share, deadline=config.within)
    step_h = interval_of(pd.DatetimeIndex(table["ds"])).total_seconds() / 3600
    model_sl = float((table["service_level"] * table["volume"]).sum() / table["volume"].sum())
    runs = sim.runs
    summary = {
        "history": label, "start": f"{start:%Y-%m-%d}", "end": f"{end - pd.Timedelta(days=1):%Y-%m-%d}",
        "weeks": config.weeks, "channels": sorted(volume["channel"].unique()),
        "forecast_messages": float(volume["volume"].sum()),
        "forecast_models": ", ".join(f"{c}: {m}" for c, m in forecast.groupby("channel")["model"].first().items()),
        "opening_hours": str(opening) if opening is not None else "always open",
        "opening_proposed": proposed is not None, "closed_share": closed, "ceiling": ceiling,
        "productive_hours": float(table["agents_required"].sum() * step_h),
        "shifts": int(roster.shifts["count"].sum()), "paid_hours": float((roster.shifts["paid_hours"] * roster.shifts["count"]).sum()),
        "cost": float(roster.cost_split.get("wages", 0.0) + roster.cost_split.get("premiums", 0.0)),
        "roster_status": roster.status, "roster_gap": float(roster.gap),
        "roster_objective": float(roster.objective), "roster_bound": float(roster.bound),
        "roster_problems": [] if roster.status == "optimal" and not len(roster.violations) else list(roster.explanation),
        "roster_seconds": float(roster.seconds),
        "assigned": (f"{assignment.status}, {len(assignment.roster):,} agent-shifts, "
                     f"{len(assignment.violations)} rule violation(s)") if assignment is not None else None,
        "model_sl": model_sl, "target": config.target, "shrinkage": config.shrinkage, "runs": config.runs,
        "simulated_sl": float(sim.mean_service_level), "p_target": float(sim.probability(config.target)),
        "mean_response_min": float(runs["mean_response_minutes"].mean()),
        "p90_response_min": float(runs["p90_response_minutes"].mean()),
        "config": config.source,
    }

    result = PlanResult(out_dir, summary, stages)
    _write(result, forecast, model, table, roster, assignment, sim, agents, config, export,
           proposed.table if proposed is not None else None)
    return result


def _write(result: PlanResult, forecast, model, table, roster, assignment, sim, agents, config, export,
           opening_table) -> None:
    """Write every file into a temporary folder, then move them into ``out_dir`` together."""
    out_dir = result.out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".plan-", dir=out_dir.parent))
    try:
        write_csv_atomic(forecast.assign(ds=format_iso(forecast["ds"])), tmp / "forecast.csv")
        backtest = getattr(model, "backtest_", None)
        if backtest is not None:
            backtest.to_csv(tmp / "backtest.csv", table="summary")
        write_csv_atomic(table.assign(ds=format_iso(table["ds"])), tmp / "requirements.csv")
        export.to_csv(roster.shifts, tmp / "shifts.csv", tz=config.tz)
        export.to_xlsx(roster.shifts, tmp / "shifts.xlsx", tz=config.tz)
        cov = roster.coverage
        write_csv_atomic(cov.assign(ds=format_iso(cov["ds"])), tmp / "coverage.csv")
        if len(roster.violations):
            v = roster.violations.copy()
            for col in ("start", "end"):
                v[col] = format_iso(v[col])
            write_csv_atomic(v, tmp / "violations.csv")
        if assignment is not None:
            export.to_csv(assignment.roster, tmp / "roster.csv", tz=config.tz)
            export.to_xlsx(assignment.roster, tmp / "roster.xlsx", tz=config.tz, agents=agents,
                           violations=assignment.violations)
            export.to_ics(assignment.roster, tmp / "calendars", tz=config.tz)
        if opening_table is not None:
            write_csv_atomic(opening_table, tmp / "opening_hours.csv")
        sim.runs.to_csv(tmp / "simulation.csv", index=False)
        summary = dict(result.summary, stages_seconds=result.stages)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        (tmp / "summary.txt").write_text("\n".join(result.lines()) + "\n")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = {item.name for item in tmp.iterdir()}
        for name in PLAN_FILES:  # an earlier plan's files that this one does not write would mislead
            stale = out_dir / name
            if name not in written and stale.exists():
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        for item in sorted(tmp.iterdir()):
            target = out_dir / item.name
            if target.is_dir():
                shutil.rmtree(target)
            item.replace(target)
            result.files.append(item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
