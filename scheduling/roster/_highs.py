"""Solve a roster MILP with HiGHS (``highspy``) directly: LP bound, RENS, time-window search, full MIP.

The Pyomo model is compiled once to matrices (Pyomo's ``LinearStandardFormCompiler``) and handed
to one ``highspy.Highs`` object; every step then only changes column bounds:

1. the LP relaxation: its optimum is a lower bound on every roster (``bound``);
2. RENS (Berthold 2014): integer columns the LP set to whole numbers fixed, fractional ones
   between floor and ceiling; a first roster (its budget scales with the LP's solve time, so that a
   loaded machine still gets a usable start: with 2 s instead of 5 s the search took twice as long);
3. time-window search (large neighbourhood search, a relax-and-fix over time): the integer columns
   that belong to shifts starting inside a window of ``WINDOW_HOURS`` are freed, all others fixed
   at the incumbent, and the small MIP (``SUB_MIP_SECONDS`` at most) is solved warm-started from
   the incumbent; windows start every half width, taken in order of how much the roster's columns
   in them cost above the LP solution's, round after round, until the roster is within
   ``mip_gap`` of the bound (half of it while less than half the time is used: a better roster
   at no risk to the limit) or a round finds nothing better. Integer columns without a time
   (opening-hour choices, SL binaries) are free in every window;
4. if the gap is still open, the full MIP warm-started from the incumbent (``Highs.setSolution``)
   with the time left; its dual bound replaces the LP's when higher. Only on models of at most
   ``FULL_MIP_INTEGERS`` integer columns, or when no roster was found yet: on larger ones HiGHS
   1.16 can stay in its root heuristics for several times the limit without looking at the
   interrupt (32 s for a 15 s budget, the sample week's backlog model of 1,628 integer columns).

Shift-scheduling LPs are highly degenerate and (on the benchmark weeks) have integral optima of
the same cost, but HiGHS's own heuristics rarely find them and its branching does not move the
bound; the windows find them in a few rounds. The time limit is enforced through HiGHS's
interrupt callbacks (simplex, IPM, MIP), since HiGHS 1.16 may check ``time_limit`` only between
root cut rounds.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["solve_with_highs", "lp_bound_with_highs"]

WINDOW_HOURS = 12.0      # measured on the benchmark week: 12 h windows with 3 s sub-MIPs beat 8, 16 and 24 h
SUB_MIP_SECONDS = 3.0
RENS_SECONDS = 4.0       # at least; RENS_LP_MULTIPLE x the LP's time when longer, at most RENS_SHARE of the limit
RENS_LP_MULTIPLE = 3.0
RENS_SHARE = 0.25
SUB_GAP_SHARE = 0.01     # RENS and window MIPs are solved to mip_gap x this (relative to the whole cost)
AIM_SHARE = 0.5          # the windows aim at mip_gap x AIM_SHARE while less than AIM_TIME_SHARE of the limit is used
AIM_TIME_SHARE = 0.5
SMALL_MODEL_INTEGERS = 4000
FULL_MIP_INTEGERS = 500   # with a roster in hand, the full MIP only up to this many integer columns
START_SECONDS = 5.0      # the given start's solve (its integers fixed): at least this, or START_SHARE of the limit
START_SHARE = 0.2
_HOUR_NS = 3600 * 10**9


class _Compiled:
    """The model as highspy data, with the Pyomo variable of every column."""

    def __init__(self, m, threads: int | None):
        import highspy
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

        self.highspy = highspy
        repn = LinearStandardFormCompiler().write(m, mixed_form=True)
        self.columns = list(repn.columns)
        n = len(self.columns)
        cost = np.asarray(repn.c.toarray(), dtype=float).ravel() if repn.c.shape[0] else np.zeros(n)
        self.offset = float(np.asarray(repn.c_offset).ravel()[0]) if np.asarray(repn.c_offset).size else 0.0
        A = repn.A.tocsc()
        rhs = np.asarray(repn.rhs, dtype=float)
        kinds = np.array([mult for _, mult in repn.rows], dtype=int)
        inf = highspy.kHighsInf
        row_lo = np.where(kinds == 1, -inf, rhs)
        row_hi = np.where(kinds == -1, inf, rhs)
        col_lo = np.array([-inf if v.lb is None else float(v.lb) for v in self.columns])
        col_hi = np.array([inf if v.ub is None else float(v.ub) for v in self.columns])
        self.integer = np.array([v.is_integer() or v.is_binary() for v in self.columns], dtype=bool)
        self.int_cols = np.flatnonzero(self.integer).astype(np.int32)
        self.col_lo, self.col_hi, self.cost = col_lo, col_hi, cost
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = A.shape[0]
        lp.col_cost_ = cost
        lp.offset_ = self.offset
        lp.col_lower_ = col_lo
        lp.col_upper_ = col_hi
        lp.row_lower_ = row_lo
        lp.row_upper_ = row_hi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr
        lp.a_matrix_.index_ = A.indices
        lp.a_matrix_.value_ = A.data
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in self.integer]
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        if threads:
            h.setOptionValue("threads", int(threads))
        h.passModel(lp)
        self.h = h
        self.deadline = float("inf")

        def stop(event):
            # set the flag both ways: HiGHS keeps the callback input between runs
            event.interrupt(time.perf_counter() > self.deadline)

        for callback in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
            callback.subscribe(stop)
        times = getattr(m, "lns_time", {}) or {}
        self.col_time = np.array([times.get(id(v), np.nan) for v in self.columns], dtype=float)

    # -- runs ------------------------------------------------------------------------------------

    def run(self, seconds: float, gap: float, relax: bool = False, lower=None, upper=None, start=None) -> dict:
        h = self.h
        ints = self.int_cols
        h.changeColsBounds(ints.size, ints, self.col_lo[ints] if lower is None else lower,
                           self.col_hi[ints] if upper is None else upper)
        h.setOptionValue("solve_relaxation", bool(relax))
        h.setOptionValue("time_limit", max(float(seconds), 0.01))
        h.setOptionValue("mip_rel_gap", float(gap))
        if start is not None:
            solution = self.highspy.HighsSolution()
            solution.col_value = list(start)
            solution.value_valid = True
            h.setSolution(solution)
        self.deadline = time.perf_counter() + max(float(seconds), 0.01) + 0.5
        h.run()
        self.deadline = float("inf")
        info = h.getInfo()
        status = h.getModelStatus()
        has = info.primal_solution_status == 2 and status != self.highspy.HighsModelStatus.kInfeasible
        values = np.array(h.getSolution().col_value, dtype=float) if has else None
        if values is not None and not relax:
            values[self.integer] = np.rint(values[self.integer])
        bound = float(info.mip_dual_bound) if not relax else float(info.objective_function_value)
        return {"status": status, "values": values, "objective": float(info.objective_function_value) if has
                else float("inf"), "bound": bound}

    def objective_of(self, values: np.ndarray) -> float:
        return float(np.dot(self.cost, values)) + self.offset

    def load(self, values: np.ndarray) -> None:
        for v, x in zip(self.columns, values):
            v.set_value(float(x), skip_validation=True)


def _gap(objective: float, bound: float) -> float:
    if not np.isfinite(objective) or not np.isfinite(bound):
        return float("inf")
    return max(objective - bound, 0.0) / max(abs(objective), 1e-9)


def lp_bound_with_highs(m, threads: int | None = None, time_limit: float = 60.0) -> float:
    """The LP relaxation's optimum of a Pyomo model (integer columns relaxed)."""
    model = _Compiled(m, threads)
    out = model.run(time_limit, 0.0, relax=True)
    return out["bound"] if out["values"] is not None else float("nan")


def solve_with_highs(m, time_limit: float, mip_gap: float, threads: int | None = None,
                     start: dict | None = None) -> dict:
    """LP, RENS, time windows, full MIP (see the module docstring). Returns status ("optimal" when
    the roster is proven within ``mip_gap`` of the bound, else "time_limit" or the reason),
    objective, bound, loaded (a roster was loaded into the model's variables) and method.

    ``start``: values of some integer variables (``id(var) -> value``, e.g. the shift counts of a
    roster found another way): with those fixed and the other variables free the model is solved
    once after the LP, and the result competes with RENS as the first roster of the search."""
    started = time.perf_counter()

    def left() -> float:
        return time_limit - (time.perf_counter() - started)

    def aim() -> float:
        """The search's goal: half the gap while less than half the time is used, then the gap."""
        return mip_gap * (AIM_SHARE if left() > (1.0 - AIM_TIME_SHARE) * time_limit else 1.0)

    model = _Compiled(m, threads)
    hs = model.highspy.HighsModelStatus
    ints = model.int_cols
    lp_started = time.perf_counter()
    lp = model.run(left(), 0.0, relax=True)
    lp_seconds = time.perf_counter() - lp_started
    if lp["status"] in (hs.kInfeasible, hs.kUnbounded, hs.kUnboundedOrInfeasible):
        return {"status": "infeasible" if lp["status"] == hs.kInfeasible else "unbounded",
                "objective": float("nan"), "bound": float("nan"), "loaded": False, "method": "lp"}
    bound = lp["bound"] if lp["values"] is not None and lp["status"] == hs.kOptimal else -np.inf
    best, best_obj, method = None, float("inf"), "lp"
    if lp["values"] is not None:
        x = lp["values"][ints]
        if np.all(np.abs(x - np.rint(x)) <= 1e-6):          # the LP optimum is a roster
            best = lp["values"].copy()
            best[model.integer] = np.rint(best[model.integer])
            best_obj, method = model.objective_of(best), "lp"
        else:
            lower = np.maximum(np.floor(x + 1e-6), model.col_lo[ints])
            upper = np.minimum(np.ceil(x - 1e-6), model.col_hi[ints])
            # the LP's time measures the machine's speed now (2 shared cores): RENS gets a multiple
            rens_seconds = min(max(RENS_SECONDS, RENS_LP_MULTIPLE * lp_seconds), RENS_SHARE * time_limit, left())
            rens = model.run(rens_seconds, mip_gap * SUB_GAP_SHARE, lower=lower, upper=upper)
            if rens["values"] is not None:
                best, best_obj, method = rens["values"], rens["objective"], "rens"
    if start and left() > 1.0:
        given = np.array([start.get(id(model.columns[c]), np.nan) for c in ints], dtype=float)
        known = np.isfinite(given)
        if known.any():
            fixed = model.run(min(max(START_SECONDS, START_SHARE * time_limit), left()), mip_gap * SUB_GAP_SHARE,
                              lower=np.where(known, given, model.col_lo[ints]),
                              upper=np.where(known, given, model.col_hi[ints]))
            if fixed["values"] is not None and fixed["objective"] < best_obj - 1e-9:
                best, best_obj, method = fixed["values"], fixed["objective"], "start"
    times = model.col_time[ints]
    timed = np.isfinite(times)
    if (best is not None and _gap(best_obj, bound) > aim() and ints.size > SMALL_MODEL_INTEGERS
            and timed.any() and left() > 1.0):
        width = WINDOW_HOURS * _HOUR_NS
        first, last = float(np.nanmin(times[timed])), float(np.nanmax(times[timed]))
        starts = np.arange(first - width / 2, last + 1, width / 2)
        int_cost = model.cost[ints]
        lp_x = lp["values"][ints]
        while left() > 1.0 and _gap(best_obj, bound) > aim():
            before = best_obj
            # windows where the roster costs most above the LP solution first
            excess = np.array([float(np.dot(int_cost[sel], best[ints][sel] - lp_x[sel]))
                               for sel in ((times >= w0) & (times < w0 + width) for w0 in starts)])
            for w0 in starts[np.argsort(-excess, kind="stable")]:
                if left() <= 1.0 or _gap(best_obj, bound) <= aim():
                    break
                free = ~timed | ((times >= w0) & (times < w0 + width))
                current = best[ints]
                lower = np.where(free, model.col_lo[ints], current)
                upper = np.where(free, model.col_hi[ints], current)
                sub = model.run(min(SUB_MIP_SECONDS, left()), mip_gap * SUB_GAP_SHARE, lower=lower, upper=upper,
                                start=best)
                if sub["values"] is not None and sub["objective"] < best_obj - 1e-9:
                    best, best_obj, method = sub["values"], sub["objective"], "lp+rens+time windows"
            if best_obj >= before - 1e-9:
                break                                          # a round without progress: go global
    # The full MIP only where it can keep the time limit: on larger models HiGHS 1.16 can sit in its
    # root heuristics for several times the limit without looking at the interrupt (measured: 32 s
    # for a 15 s budget on the sample week's backlog model, 1,628 integer columns), so there it
    # runs only when no roster was found otherwise.
    if (best is None or (_gap(best_obj, bound) > mip_gap and ints.size <= FULL_MIP_INTEGERS)) and left() > 1.0:
        full = model.run(left(), mip_gap, start=best)
        if np.isfinite(full["bound"]):
            bound = max(bound, full["bound"]) if np.isfinite(bound) else full["bound"]
        if full["values"] is not None and full["objective"] < best_obj - 1e-9:
            best, best_obj, method = full["values"], full["objective"], "full mip"
    if best is None:
        return {"status": "time_limit", "objective": float("nan"), "bound": float(bound), "loaded": False,
                "method": method}
    model.load(best)
    status = "optimal" if _gap(best_obj, bound) <= mip_gap + 1e-12 else "time_limit"
    return {"status": status, "objective": float(best_obj), "bound": float(bound), "loaded": True, "method": method}
