"""Solve the roster: :func:`solve_roster` builds the MILP from the constraint families, solves it
(HiGHS through highspy by default, driven directly by :mod:`scheduling.roster._highs`: LP bound,
RENS, a time-window search, the full MIP; any solver Pyomo's SolverFactory knows by name), and
returns a :class:`RosterResult` (contract F).

Three ways to say what must be covered:

- ``requirements``: productive agents required per interval (``webcare staff`` output, column
  ``agents_required``); the roster covers them with elastic shortfall.
- ``arrivals`` + a backlog :class:`~scheduling.requirements.ServiceTarget`: the service level
  itself, with the fluid backlog model inside the MILP (cumulative arrivals and completions,
  the deadline in buckets) and the target per day, week or horizon, optionally with a floor per
  interval; opening hours fixed or chosen among candidates (:mod:`scheduling.roster.opening`).
- ``arrivals`` + an ``erlang-c`` target: the global service level of Koole & van der Sluis
  (THEORY.md section 5) for live channels with short thresholds.

Nothing is ever a bare "infeasible": coverage, minimum staff, template limits and service-level
targets have priced slack, and whatever slack remains is reported in ``violations`` with an
explanation (:mod:`scheduling.roster.explain`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from scheduling import backlog as fluid
from scheduling import erlang
from scheduling.opening_hours import OpeningHours, open_fraction
from scheduling.requirements import ServiceTarget, to_buckets
from scheduling.roster import constraints as C
from scheduling.roster.coverage import staffing_from_shifts
from scheduling.roster.model import Candidates, build_candidates
from scheduling.roster.shifts import RosterConfig

__all__ = ["BUCKET", "RosterResult", "RosterProblem", "build_model", "lp_relaxation_bound", "prepare", "solve_roster"]

BUCKET = pd.Timedelta("15min")
FULL_MIP_MAX_INTEGERS = 4000
PERIODS = ("day", "week", "horizon", "bucket")


@dataclass
class RosterResult:
    """What :func:`solve_roster` returns (contract F).

    shifts : template, start, end (tz-aware, exclusive), break_start, break_end (NaT without),
        count, paid_hours (one shift), cost (all ``count`` shifts), contract, day.
    coverage : per bucket: ds, required, scheduled (productive agents), shortfall, surplus, heads
        (on duty), open_fraction, and service_level where a capacity model applies.
    opening : weekday (0 = Monday), open, close (HH:MM; None when closed) when opening hours
        were decided, else None.
    status : "optimal", "time_limit" (best roster found, see gap), "infeasible-explained" (the
        request cannot be met in full; see violations), or "error".
    objective, bound, gap, seconds : solver figures (gap relative to the objective).
    cost_split : wages, premiums, opening, penalties, total, by_template, by_contract.
    violations : what, start, end, amount, unit, detail for every non-zero slack.
    service_level : period (day/week/horizon), label, arrivals, service_level, target: the
        capacity model's evaluation of the roster (exact fluid model, or Erlang C).
    explanation : sentences for a planner.
    """

    shifts: pd.DataFrame
    coverage: pd.DataFrame
    opening: pd.DataFrame | None
    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    cost_split: dict
    violations: pd.DataFrame
    service_level: pd.DataFrame | None
    explanation: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


@dataclass
class RosterProblem:
    """Validated inputs on the bucket grid, ready for :func:`build_model`."""

    config: RosterConfig
    candidates: Candidates
    grid: pd.DatetimeIndex
    bucket: pd.Timedelta
    mode: str                       # "requirements", "backlog" or "erlang-c"
    required: np.ndarray            # productive agents (requirements mode)
    arrivals: np.ndarray | None     # messages per bucket (SL modes, or for evaluation)
    target: ServiceTarget | None
    period: str
    periods: np.ndarray             # period code per bucket
    period_labels: list
    open_share: np.ndarray | None   # fixed open share; None when decided
    opening_choices: list | None    # per weekday: list of Window or None (closed)
    opening_shares: list | None
    sl_floor: float | None
    min_staff: float
    productive_share: float
    initial_backlog: float
    prices: dict
    opening_cost_per_hour: float = 0.0


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _per_ds(frame_or_series, column: str, what: str) -> pd.Series:
    if isinstance(frame_or_series, pd.Series):
        series = frame_or_series.astype(float)
    else:
        frame = frame_or_series
        for col in ("ds", column):
            if col not in frame.columns:
                raise ValueError(f"the {what} need a '{col}' column (found: {', '.join(map(str, frame.columns))})")
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad.to_numpy())[:5])
            raise ValueError(f"the {what}, column '{column}', rows {rows}: need numbers >= 0")
        series = values.groupby(pd.DatetimeIndex(frame["ds"])).sum()  # channels pooled into one team
    index = pd.DatetimeIndex(series.index)
    if index.tz is None:
        raise ValueError(f"the {what}' timestamps must be time-zone aware")
    return pd.Series(series.to_numpy(dtype=float), index=index).sort_index()


def _step(index: pd.DatetimeIndex, what: str) -> pd.Timedelta:
    if len(index) < 2:
        raise ValueError(f"the {what} need at least two intervals")
    diffs = np.diff(index.as_unit("ns").asi8)
    step = pd.Timedelta(int(diffs.min()), "ns")
    if (diffs != diffs[0]).any():
        gap = index[1:][diffs != diffs[0]][0]
        raise ValueError(f"the {what} are not on a regular grid: a gap or repeat at {gap.isoformat()}")
    return step


def _to_grid(series: pd.Series, what: str, spread: bool) -> pd.Series:
    """Put per-interval values on 15-minute buckets: volumes are spread, agents repeated."""
    step = _step(pd.DatetimeIndex(series.index), what)
    if step == BUCKET:
        return series
    if step < BUCKET or step % BUCKET != pd.Timedelta(0):
        raise ValueError(f"the {what} have {step} intervals; the roster works on 15-minute buckets: use 15 minutes or a multiple")
    spreaded = to_buckets(series, step, BUCKET)
    if spread:
        return spreaded
    parts = int(step / BUCKET)
    return pd.Series(np.repeat(series.to_numpy(dtype=float), parts), index=spreaded.index)


def _period_codes(grid: pd.DatetimeIndex, period: str) -> tuple[np.ndarray, list]:
    if period == "day":
        keys = grid.tz_localize(None).normalize()
        codes, labels = pd.factorize(keys, sort=True)
        return codes, [pd.Timestamp(d).strftime("%a %Y-%m-%d") for d in labels]
    if period == "week":
        iso = grid.isocalendar()
        keys = [f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"])]
        codes, labels = pd.factorize(np.asarray(keys), sort=True)
        return codes, list(labels)
    if period == "horizon":
        return np.zeros(len(grid), dtype=int), ["horizon"]
    return np.arange(len(grid)), [ts.isoformat() for ts in grid]


def _window_shares(grid: pd.DatetimeIndex, candidates: dict) -> tuple[list, list]:
    """Open share per bucket of each candidate window of each weekday (0/1 on the bucket grid)."""
    from scheduling.opening_hours import Window

    choices, shares = [], []
    for day in range(7):
        options = list(candidates.get(day, [None]))
        if not options:
            options = [None]
        day_shares = []
        for option in options:
            if option is None:
                day_shares.append(np.zeros(len(grid)))
                continue
            if not isinstance(option, Window):
                raise ValueError(f"opening candidates must be Window objects or None (closed), got {option!r}")
            if option.start_minute % 15 or option.end_minute % 15:
                raise ValueError(f"candidate opening window {option} is not on the 15-minute grid")
            weekly = tuple((option,) if d == day else () for d in range(7))
            share = open_fraction(grid, OpeningHours(weekly), freq=BUCKET).to_numpy(dtype=float)
            day_shares.append(np.where(share > 0.999, 1.0, np.where(share < 0.001, 0.0, share)))
        choices.append(options)
        shares.append(day_shares)
    return choices, shares


def prepare(config: RosterConfig, *, requirements=None, arrivals=None, target: ServiceTarget | None = None,
            opening=None, opening_candidates: dict | None = None, sl_floor: float | None = None,
            min_staff: float | None = None, shrinkage: float | None = None, period: str | None = None,
            initial_backlog: float = 0.0, opening_cost_per_hour: float = 0.0) -> RosterProblem:
    """Validate the inputs of :func:`solve_roster` and put them on the 15-minute bucket grid."""
    if (requirements is None) == (arrivals is None):
        raise ValueError("give either requirements (agents per interval) or arrivals (messages per interval)")
    if opening is not None and opening_candidates is not None:
        raise ValueError("give either fixed opening hours or candidate opening hours, not both")
    if shrinkage is None:
        shrinkage = target.shrinkage if target is not None else 0.0
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must be a fraction in [0, 1)")
    productive = 1.0 - shrinkage
    volume = None
    if requirements is not None:
        if opening_candidates is not None:
            raise ValueError("opening hours can only be decided when the service level is modelled (give arrivals "
                             "and a target, i.e. a forecast, not requirements)")
        required = _to_grid(_per_ds(requirements, "agents_required", "requirements"), "requirements", spread=False)
        grid = pd.DatetimeIndex(required.index)
        mode = "requirements"
        if not isinstance(requirements, pd.Series) and "volume" in requirements.columns:
            volume = _to_grid(_per_ds(requirements, "volume", "requirements"), "requirements", spread=True)
            volume = volume.reindex(grid).fillna(0.0)
        required = required.to_numpy(dtype=float)
    else:
        if target is None:
            raise ValueError("arrivals need a service target (target, deadline, handle time)")
        volume = _to_grid(_per_ds(arrivals, "volume", "arrivals"), "arrivals", spread=True)
        grid = pd.DatetimeIndex(volume.index)
        if target.model == "backlog":
            mode = "backlog"
            if target.clock != "real":
                raise ValueError("the roster models the deadline on the real clock; use clock='real'")
        elif target.model == "erlang-c":
            mode = "erlang-c"
            if opening_candidates is not None:
                raise ValueError("opening hours are decided with the backlog model (messages wait while closed)")
        else:
            raise ValueError(f"the roster models the service level with 'backlog' or 'erlang-c', not {target.model!r}")
        required = np.zeros(len(grid))
    if period is None:
        period = {"bucket": "bucket"}.get(target.period, target.period) if target is not None else "day"
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    codes, labels = _period_codes(grid, period)
    open_share, choices, shares = None, None, None
    if opening_candidates is not None:
        choices, shares = _window_shares(grid, opening_candidates)
    elif opening is not None:
        open_share = open_fraction(grid, opening, freq=BUCKET).to_numpy(dtype=float)
    else:
        open_share = np.ones(len(grid))
    candidates = build_candidates(config, grid, BUCKET)
    if min_staff is None:
        min_staff = float(target.min_agents) if (target is not None and mode != "requirements") else 0.0
    max_cost = float(candidates.shifts["cost"].max())
    pen = config.penalties
    prices = {
        # an agent-bucket short is dearer than any shift that could cover it
        "shortfall": pen.shortfall * BUCKET.total_seconds() / 3600 if pen.shortfall is not None else 2 * max_cost + 1,
        "late_message": pen.late_message if pen.late_message is not None else 2 * max_cost + 1,
        "template": pen.template if pen.template is not None else 1000 * max_cost,
    }
    return RosterProblem(
        config=config, candidates=candidates, grid=grid, bucket=BUCKET, mode=mode, required=required,
        arrivals=None if volume is None else volume.to_numpy(dtype=float), target=target, period=period,
        periods=codes, period_labels=labels, open_share=open_share, opening_choices=choices, opening_shares=shares,
        sl_floor=sl_floor, min_staff=float(min_staff), productive_share=productive,
        initial_backlog=float(initial_backlog), prices=prices, opening_cost_per_hour=float(opening_cost_per_hour))


def _erlang_tables(problem: RosterProblem):
    """SL_t(L_t + k) for k = 0..K_t per bucket, L_t and concavity (THEORY.md section 5)."""
    t = problem.target
    seconds = problem.bucket.total_seconds()
    speed = float(fluid.concurrency_multiplier(t.concurrency))
    aht = t.aht_seconds / speed
    threshold = pd.Timedelta(t.within).total_seconds()
    vol = problem.arrivals
    load = vol * aht / seconds
    share = problem.open_share
    tables, low, concave = [], np.zeros(len(vol)), []
    for i, (lam, a) in enumerate(zip(vol, load)):
        if lam <= 0 or share[i] <= 0:
            base = problem.min_staff if share[i] > 0 else 0.0
            tables.append(np.array([1.0])); low[i] = base; concave.append(True)
            continue
        start = int(np.floor(a)) + 1
        if problem.sl_floor:
            while erlang.service_level(start, a, aht, threshold) < problem.sl_floor - 1e-12:
                start += 1
        start = max(start, int(np.ceil(problem.min_staff)))
        ks = np.arange(start, start + 200)
        sl = np.asarray(erlang.service_level(ks, a, aht, threshold), dtype=float)
        stop = int(np.argmax(sl >= 1 - 1e-6)) if (sl >= 1 - 1e-6).any() else len(ks) - 1
        sl = sl[: stop + 1]
        gains = np.diff(sl)
        tables.append(sl); low[i] = start
        concave.append(bool((np.diff(gains) <= 1e-12).all()))
    return tables, low, concave


def build_model(problem: RosterProblem) -> pyo.ConcreteModel:
    """The Pyomo model of a prepared problem, assembled from the constraint families."""
    m = pyo.ConcreteModel(name="roster")
    m.cost_terms, m.penalty_terms = {}, {}
    cand = problem.candidates
    prices = problem.prices
    C.shift_choice(m, cand)
    C.break_placement(m, cand)
    C.heads_on_duty(m, cand)
    C.template_limits(m, cand, problem.config.templates, prices["template"])
    decided = problem.opening_choices is not None
    if decided:
        C.opening_hours(m, problem.opening_choices, problem.opening_shares,
                        problem.opening_cost_per_hour * problem.bucket.total_seconds() / 3600)
    C.minimum_staff_while_open(m, None if decided else problem.open_share, problem.min_staff, prices["shortfall"])
    if problem.mode == "requirements":
        C.cover_requirements(m, problem.required, problem.productive_share, prices["shortfall"])
    elif problem.mode == "erlang-c":
        tables, low, concave = _erlang_tables(problem)
        m.erlang_low = low
        C.global_service_level(m, problem.arrivals, tables, low, problem.periods, problem.target.target,
                               problem.productive_share, prices["late_message"], prices["shortfall"], concave)
    else:
        t = problem.target
        mu = fluid.messages_per_agent(problem.bucket.total_seconds(), t.aht_seconds, t.concurrency, None,
                                      t.max_occupancy) * problem.productive_share
        mu = np.full(len(problem.grid), float(mu))
        deadline = int(pd.Timedelta(t.within) // problem.bucket)
        if deadline < 1:
            raise ValueError(f"the deadline ({pd.Timedelta(t.within)}) is shorter than the 15-minute bucket: "
                             "model this channel with erlang-c")
        C.backlog_flow(m, problem.arrivals, mu, None if decided else problem.open_share, problem.initial_backlog)
        floor = problem.sl_floor if problem.period != "bucket" else t.target
        if decided:
            stacked = np.array([s for day in problem.opening_shares for s in day])
            may_open, may_close = (stacked > 0).any(axis=0), (stacked < 1).any(axis=0)
            # a bucket no candidate window can open is closed for sure
        else:
            may_open, may_close = problem.open_share > 0, problem.open_share < 1
        C.backlog_service_level(m, problem.arrivals, deadline, problem.periods, t.target, floor,
                                None if decided else problem.open_share, prices["late_message"],
                                may_open, may_close, lookback_buckets=max(16, 4 * deadline))
    C.roster_cost(m)
    return m


# --------------------------------------------------------------------------------------------
# Solving
# --------------------------------------------------------------------------------------------


def _run_solver(m, settings, time_limit: float, mip_gap: float) -> dict:
    """Solve with the named solver; returns status, objective, bound and whether a solution loaded."""
    name = settings.name.lower()
    if name == "highs":
        from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
        from pyomo.contrib.solver.solvers.highs import Highs

        opt = Highs()
        if not opt.available():
            raise ValueError("the HiGHS solver (highspy) is not installed: pip install highspy")
        res = opt.solve(m, time_limit=time_limit, rel_gap=mip_gap, threads=settings.threads, tee=False,
                        load_solutions=False, raise_exception_on_nonoptimal_result=False)
        has = res.solution_status in (SolutionStatus.feasible, SolutionStatus.optimal)
        if has:
            res.solution_loader.load_vars()
        tc = res.termination_condition
        status = ("optimal" if tc == TerminationCondition.convergenceCriteriaSatisfied else
                  "time_limit" if tc in (TerminationCondition.maxTimeLimit, TerminationCondition.iterationLimit,
                                         TerminationCondition.interrupted) else str(tc.name))
        objective = res.incumbent_objective if has else float("nan")
        bound = res.objective_bound if res.objective_bound is not None else float("nan")
        return {"status": status, "objective": objective, "bound": bound, "loaded": has}
    opt = pyo.SolverFactory(settings.name)
    if opt is None or not opt.available(exception_flag=False):
        raise ValueError(f"solver {settings.name!r} is not available to Pyomo; use \"highs\" (installed with highspy)")
    kwargs = {"load_solutions": False, "tee": False}
    try:
        res = opt.solve(m, timelimit=time_limit, **kwargs)
    except (TypeError, ValueError):
        res = opt.solve(m, **kwargs)
    tc = res.solver.termination_condition
    has = len(res.solution) > 0
    if has:
        m.solutions.load_from(res)
    tcn = str(tc)
    status = "optimal" if tcn == "optimal" else "time_limit" if "Limit" in tcn or "limit" in tcn else tcn
    lower = res.problem.lower_bound if res.problem.lower_bound is not None else float("nan")
    return {"status": status, "objective": pyo.value(m.objective) if has else float("nan"),
            "bound": float(lower), "loaded": has}


def _require_highspy() -> None:
    try:
        import highspy  # noqa: F401
    except ImportError as exc:
        raise ValueError("the HiGHS solver (highspy) is not installed: pip install highspy") from exc


def _integer_vars(m) -> list:
    return [v for v in m.component_data_objects(pyo.Var, descend_into=True) if v.is_integer() or v.is_binary()]


def _solve_with_lp_rounding(m, settings, time_limit: float, mip_gap: float) -> dict:
    """LP relaxation first, then a restricted MIP around it, then (if not yet proven) the full MIP:
    the route of every solver other than "highs" (which :mod:`scheduling.roster._highs` solves
    directly, with a time-window search instead of the size cut-off of step 3).

    1. Solve the LP relaxation: its optimum is a lower bound on every roster.
    2. Fix every integer variable the LP set to a whole number, bound the fractional ones between
       floor and ceiling, and solve that much smaller MIP (RENS, Berthold 2014): on shift-scheduling
       LPs, which are nearly integral, it finds a roster within a fraction of a percent of the bound
       (0.35% on the benchmark week; a wider neighbourhood, whole values free to move by one, was
       slower and no better there).
    3. If the gap is still above ``mip_gap`` (and the model has at most ``FULL_MIP_MAX_INTEGERS``
       integer variables, or step 2 found nothing), solve the full MIP with the time left and keep
       the better roster; the bound is the better of the LP's and the MIP's.
    """
    started = time.perf_counter()
    ints = _integer_vars(m)
    saved = [(v, v.domain, v.lb, v.ub) for v in ints]
    for v in ints:
        lb, ub = v.lb, v.ub
        v.domain = pyo.Reals
        v.setlb(0 if lb is None else lb)
        v.setub(ub)
    try:
        lp = _run_solver(m, settings, time_limit, 0.0)
    finally:
        for v, domain, lb, ub in saved:
            v.domain = domain
            v.setlb(lb)
            v.setub(ub)
    if not lp["loaded"] or not np.isfinite(lp["objective"]):
        return _run_solver(m, settings, time_limit, mip_gap)
    lp_bound = float(lp["objective"])
    values = [(v.value or 0.0) for v in ints]
    for v, x in zip(ints, values):
        if abs(x - round(x)) <= 1e-6:
            v.fix(float(round(x)))
        else:
            v.setlb(float(np.floor(x)))
            v.setub(float(np.ceil(x)))
    left = max(time_limit - (time.perf_counter() - started), 1.0)
    try:
        sub = _run_solver(m, settings, left, mip_gap)
    finally:
        for v, domain, lb, ub in saved:
            v.unfix()
            v.setlb(lb)
            v.setub(ub)
    best = None
    if sub["loaded"] and np.isfinite(sub["objective"]):
        best = {"values": [(v, v.value) for v in m.component_data_objects(pyo.Var, descend_into=True)],
                "objective": float(sub["objective"])}
        gap = (best["objective"] - lp_bound) / max(abs(best["objective"]), 1e-9)
        if gap <= mip_gap + 1e-12:
            return {"status": "optimal", "objective": best["objective"], "bound": lp_bound, "loaded": True,
                    "method": "lp+restricted mip"}
    left = time_limit - (time.perf_counter() - started)
    # HiGHS can overrun its time limit by minutes in the root cut loop of a large full MIP; it is
    # only run when the neighbourhood found nothing or the model is small.
    if left > 1.0 and (best is None or len(ints) <= FULL_MIP_MAX_INTEGERS):
        full = _run_solver(m, settings, left, mip_gap)
        if full["loaded"] and (best is None or full["objective"] < best["objective"] - 1e-9):
            full["bound"] = max(full["bound"], lp_bound) if np.isfinite(full["bound"]) else lp_bound
            full["method"] = "full mip"
            return full
        bound = max(full["bound"], lp_bound) if np.isfinite(full["bound"]) else lp_bound
    else:
        bound = lp_bound
    if best is None:
        return {"status": "time_limit", "objective": float("nan"), "bound": bound, "loaded": False}
    for v, value in best["values"]:
        v.set_value(value, skip_validation=True)
    gap = (best["objective"] - bound) / max(abs(best["objective"]), 1e-9)
    return {"status": "optimal" if gap <= mip_gap + 1e-12 else "time_limit", "objective": best["objective"],
            "bound": bound, "loaded": True, "method": "lp+restricted mip"}


def lp_relaxation_bound(problem: RosterProblem, solver: str = "highs") -> float:
    """The LP relaxation's optimum (every integer variable relaxed): a lower bound on the cost."""
    m = build_model(problem)
    settings = problem.config.solver
    if solver.lower() == "highs":
        from scheduling.roster._highs import lp_bound_with_highs

        _require_highspy()
        return lp_bound_with_highs(m, settings.threads, settings.time_limit)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
    from dataclasses import replace
    out = _run_solver(m, replace(settings, name=solver), settings.time_limit, 0.0)
    return float(out["objective"])


def _values(var, keys) -> np.ndarray:
    return np.array([var[k].value if var[k].value is not None else 0.0 for k in keys], dtype=float)


def solve_roster(config: RosterConfig, *, requirements=None, arrivals=None, target: ServiceTarget | None = None,
                 opening=None, opening_candidates: dict | None = None, sl_floor: float | None = None,
                 min_staff: float | None = None, shrinkage: float | None = None, period: str | None = None,
                 initial_backlog: float = 0.0, opening_cost_per_hour: float = 0.0, time_limit: float | None = None,
                 solver: str | None = None, mip_gap: float | None = None) -> RosterResult:
    """The cheapest roster (and opening hours) for requirements or a service-level target.

    Parameters
    ----------
    config : RosterConfig
        Shift templates, contracts, premiums, penalties, solver (``read_shifts("shifts.toml")``).
    requirements : pandas.DataFrame or Series, optional
        ``ds``, ``agents_required`` (productive agents; channels are pooled; ``volume`` is used to
        report the service level when ``target`` is given), on 15-minute intervals or a multiple.
    arrivals : pandas.DataFrame or Series, optional
        ``ds``, ``volume`` (messages per interval; channels pooled), with ``target``.
    target : ServiceTarget, optional
        Target share, deadline, handle time, concurrency, shrinkage, occupancy, period and model
        ("backlog": fluid backlog model in the MILP; "erlang-c": global SL, THEORY.md section 5).
    opening : OpeningHours or str, optional
        Fixed opening hours (default: open around the clock).
    opening_candidates : dict, optional
        Weekday (0 = Monday) -> list of :class:`~scheduling.opening_hours.Window` or None (closed):
        the optimiser picks one per weekday (:mod:`scheduling.roster.opening`). Weekdays absent are closed.
    sl_floor : float, optional
        Least service level of every open interval (a global target alone starves the edges).
    min_staff : float, optional
        Heads on duty at least while open (default ``target.min_agents`` in the SL modes, 0 for requirements).
    shrinkage : float, optional
        Share of paid time not productive (default ``target.shrinkage`` or 0).
    period : {"day", "week", "horizon", "bucket"}, optional
        Period of the SL target (default ``target.period``).
    initial_backlog : float
        Messages waiting at the start of the horizon (backlog model).
    opening_cost_per_hour : float
        Extra cost of every open hour (building, tooling), beside wages.
    time_limit, solver, mip_gap
        Override ``config.solver``.

    Returns
    -------
    RosterResult
    """
    started = time.perf_counter()
    problem = prepare(config, requirements=requirements, arrivals=arrivals, target=target, opening=opening,
                      opening_candidates=opening_candidates, sl_floor=sl_floor, min_staff=min_staff,
                      shrinkage=shrinkage, period=period, initial_backlog=initial_backlog,
                      opening_cost_per_hour=opening_cost_per_hour)
    built = time.perf_counter()
    m = build_model(problem)
    model_seconds = time.perf_counter() - built
    settings = config.solver
    if solver is not None:
        from dataclasses import replace
        settings = replace(settings, name=solver)
    limit = float(time_limit if time_limit is not None else settings.time_limit)
    gap_goal = float(mip_gap if mip_gap is not None else settings.mip_gap)
    solve_started = time.perf_counter()
    if settings.name.lower() == "highs":
        from scheduling.roster._highs import solve_with_highs

        _require_highspy()
        start = (_planning_start(config, problem, m, arrivals, target, opening, opening_candidates, shrinkage,
                                 min(max(5.0, 0.2 * limit), 20.0), gap_goal)
                 if problem.mode == "backlog" else None)
        run = solve_with_highs(m, limit - (time.perf_counter() - solve_started), gap_goal, settings.threads,
                               start=start)
    else:
        run = _solve_with_lp_rounding(m, settings, limit, gap_goal)
    solve_seconds = time.perf_counter() - solve_started
    result = _extract(problem, m, run)
    result.seconds = time.perf_counter() - started
    result.stats = {"shifts": len(problem.candidates), "patterns": problem.candidates.n_patterns,
                    "buckets": len(problem.grid), "variables": m.nvariables(), "constraints": m.nconstraints(),
                    "prepare_seconds": built - started, "model_seconds": model_seconds, "solve_seconds": solve_seconds,
                    "solver": settings.name, "mode": problem.mode, "method": run.get("method", "mip")}
    return result


def _planning_start(config, problem: RosterProblem, m, arrivals, target, opening, opening_candidates, shrinkage,
                    seconds: float, mip_gap: float) -> dict | None:
    """A first roster for the backlog MILP by the planning route (as ``webcare plan``): the
    capacity model's requirement with its variability margin for the candidate opening hours
    whose whole-head roster is cheapest (:func:`scheduling.roster.opening.cheapest_roster`). The backlog MILP's LP bound is weak on a week of 15-minute intervals and its
    own search then ends far from the optimum; started from this roster it can only improve on
    it. Returns ``id(var) -> value`` for the shift and break-placement counts, or None when the
    route has no answer (the target is out of reach of every candidate)."""
    from scheduling.roster._highs import solve_with_highs
    from scheduling.roster.opening import cheapest_roster

    try:
        route, hours, table, _reason = cheapest_roster(
            config, arrivals, target, opening, opening_candidates if problem.opening_choices is not None else None,
            min_staff=problem.min_staff, shrinkage=shrinkage, time_limit=seconds, mip_gap=mip_gap)
        if route is None:
            return None
        sub = prepare(config, requirements=table[["ds", "agents_required"]], target=target, opening=hours,
                      min_staff=problem.min_staff, shrinkage=shrinkage)
    except (ValueError, KeyError, IndexError):  # the route has no answer here: the MILP starts on its own
        return None
    if len(sub.candidates) != len(problem.candidates) or not sub.grid.equals(problem.grid):
        return None
    # solved once more for its variables' values (a RosterResult keeps the roster, not the model):
    # well under a second on a week
    ms = build_model(sub)
    run = solve_with_highs(ms, seconds, mip_gap)
    if not run["loaded"]:
        return None
    values = {id(m.x[i]): float(round(ms.x[i].value or 0.0)) for i in m.S}
    if len(m.K) and len(ms.K) == len(m.K):
        values.update({id(m.b[k]): float(round(ms.b[k].value or 0.0)) for k in m.K})
    return values


def _extract(problem: RosterProblem, m, run: dict) -> RosterResult:
    from scheduling.roster import explain

    cand = problem.candidates
    if not run["loaded"]:
        empty = pd.DataFrame(columns=["what", "start", "end", "amount", "unit", "detail"])
        return RosterResult(
            shifts=cand.patterns(np.zeros(len(cand)), np.zeros(len(cand.slots))), coverage=pd.DataFrame(),
            opening=None, status="error", objective=float("nan"), bound=run["bound"], gap=float("nan"),
            seconds=0.0, cost_split={}, violations=empty, service_level=None,
            explanation=[f"the solver found no roster ({run['status']}); raise the time limit"])
    x = _values(m.x, list(m.S))
    w = np.zeros(len(cand.slots))
    if len(cand.slots) and len(m.break_slot):
        w = np.bincount(m.break_slot, weights=np.rint(_values(m.b, list(m.K))), minlength=len(cand.slots))
    shifts = cand.patterns(x, w)
    heads = staffing_from_shifts(shifts, problem.grid, problem.bucket)["agents"].to_numpy()
    productive = heads * problem.productive_share
    if problem.opening_choices is not None:
        open_share = np.clip(_values(m.open, list(m.T)), 0, 1)
        opening = _opening_frame(problem, m)
    else:
        open_share, opening = problem.open_share, None
    if problem.mode == "requirements":
        required = problem.required
    elif problem.mode == "erlang-c":
        required = np.asarray(m.erlang_low, dtype=float)
    else:
        required = problem.min_staff * (open_share > 0) * problem.productive_share
    coverage = pd.DataFrame({
        "ds": problem.grid, "required": required, "scheduled": productive,
        "shortfall": np.maximum(required - productive, 0.0), "surplus": np.maximum(productive - required, 0.0),
        "heads": heads, "open_fraction": open_share,
    })
    service_level, per_bucket = _evaluate(problem, productive, open_share)
    if per_bucket is not None:
        coverage["service_level"] = per_bucket
    wages = float((shifts["count"] * shifts["paid_hours"] * shifts["contract"].map(
        {k: c.hourly_wage for k, c in problem.config.contracts.items()})).sum()) if len(shifts) else 0.0
    roster_cost = float(shifts["cost"].sum()) if len(shifts) else 0.0
    penalties = float(sum(pyo.value(e) for e in m.penalty_terms.values())) if m.penalty_terms else 0.0
    opening_cost = float(pyo.value(m.cost_terms["opening"])) if "opening" in m.cost_terms else 0.0
    cost_split = {
        "wages": wages, "premiums": roster_cost - wages, "opening": opening_cost, "roster": roster_cost + opening_cost,
        "penalties": penalties, "total": roster_cost + opening_cost + penalties,
        "by_template": {k: float(v) for k, v in shifts.groupby("template")["cost"].sum().items()} if len(shifts) else {},
        "by_contract": {k: float(v) for k, v in shifts.groupby("contract")["cost"].sum().items()} if len(shifts) else {},
        "shifts": int(shifts["count"].sum()) if len(shifts) else 0,
        "paid_hours": float((shifts["count"] * shifts["paid_hours"]).sum()) if len(shifts) else 0.0,
    }
    violations = explain.violations(problem, m)
    objective = float(run["objective"])
    bound = float(run["bound"])
    gap = abs(objective - bound) / max(abs(objective), 1e-9) if np.isfinite(bound) else float("nan")
    status = run["status"]
    if len(violations) and status == "optimal":
        status = "infeasible-explained"
    result = RosterResult(shifts=shifts, coverage=coverage, opening=opening, status=status, objective=objective,
                          bound=bound, gap=gap, seconds=0.0, cost_split=cost_split, violations=violations,
                          service_level=service_level)
    result.explanation = explain.explain(problem, result)
    return result


def _opening_frame(problem: RosterProblem, m) -> pd.DataFrame:
    rows = []
    present = set(problem.grid.day_of_week)
    for d, options in enumerate(problem.opening_choices):
        if d not in present:
            continue
        chosen = max(range(len(options)), key=lambda w: m.z[d, w].value or 0.0)
        window = options[chosen]
        if window is None:
            rows.append({"weekday": d, "open": None, "close": None})
        else:
            text = str(window).split("-")
            rows.append({"weekday": d, "open": text[0], "close": text[1]})
    return pd.DataFrame(rows, columns=["weekday", "open", "close"])


def _evaluate(problem: RosterProblem, productive: np.ndarray, open_share: np.ndarray):
    """Service level of the roster per day, week and horizon under the capacity model."""
    t = problem.target
    if t is None or problem.arrivals is None:
        return None, None
    arrivals = pd.Series(problem.arrivals, index=problem.grid)
    rows = []
    if t.model == "erlang-c":
        seconds = problem.bucket.total_seconds()
        speed = float(fluid.concurrency_multiplier(t.concurrency))
        load = problem.arrivals * t.aht_seconds / speed / seconds
        sl = np.asarray(erlang.service_level(productive, load, t.aht_seconds / speed,
                                             pd.Timedelta(t.within).total_seconds()), dtype=float)
        sl = np.where(problem.arrivals > 0, sl, np.nan)
        frame = pd.DataFrame({"arrivals": problem.arrivals, "on": np.nan_to_num(sl) * problem.arrivals}, index=problem.grid)
        for period in ("day", "week", "horizon"):
            codes, labels = _period_codes(problem.grid, period)
            on = np.bincount(codes, frame["on"].to_numpy(), minlength=len(labels))
            total = np.bincount(codes, frame["arrivals"].to_numpy(), minlength=len(labels))
            for label, a, o in zip(labels, total, on):
                rows.append({"period": period, "label": label, "arrivals": a,
                             "service_level": o / a if a > 0 else np.nan, "target": t.target})
        return pd.DataFrame(rows), sl
    result = fluid.evaluate_backlog(arrivals, productive, open_share, aht_seconds=t.aht_seconds,
                                    deadline=pd.Timedelta(t.within), concurrency=t.concurrency,
                                    max_occupancy=t.max_occupancy, initial_backlog=problem.initial_backlog)
    for label, row in result.days.iterrows():
        rows.append({"period": "day", "label": pd.Timestamp(label).strftime("%a %Y-%m-%d"), "arrivals": row["arrivals"],
                     "service_level": row["service_level"], "target": t.target})
    for label, row in result.weeks.iterrows():
        rows.append({"period": "week", "label": str(label), "arrivals": row["arrivals"],
                     "service_level": row["service_level"], "target": t.target})
    rows.append({"period": "horizon", "label": "horizon", "arrivals": float(problem.arrivals.sum()),
                 "service_level": result.service_level, "target": t.target})
    return pd.DataFrame(rows), result.intervals["service_level"].to_numpy(dtype=float)
