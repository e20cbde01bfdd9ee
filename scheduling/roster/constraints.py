"""The roster MILP, one named function per constraint family (Timefold style).

Every function adds its variables, constraints and objective terms to a Pyomo ``ConcreteModel``
built by :func:`scheduling.roster.solve.build_model`, and says in its docstring what it
enforces (hard) or penalises (soft: elastic slack with a price). Objective terms are collected in
``m.cost_terms`` (name -> expression) and summed by :func:`roster_cost`.

Hard families: :func:`break_placement` (every shift gets its breaks inside their windows), :func:`heads_on_duty`
(definition), :func:`backlog_flow` (the fluid FIFO model's cumulative curves),
:func:`opening_hours` (one window per weekday). Elastic (slack priced in ``m.penalty_terms``):
:func:`cover_requirements`, :func:`template_limits`, :func:`minimum_staff_while_open`,
:func:`global_service_level`, :func:`backlog_service_level`.

References
----------
.. [1] G. Koole and E. van der Sluis, "Optimal shift scheduling with a global service level
   constraint", IIE Transactions 35(11):1049-1055, 2003.
.. [2] T. Aykin, "Optimal shift scheduling with multiple break windows", Management Science
   42(4):591-602, 1996 (break placement, one variable per shift x break slot).
.. [3] The project's THEORY.md, sections 3 (backlog model), 5 (global service level) and 6
   (opening hours).
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression
from scipy import sparse

__all__ = [
    "backlog_flow",
    "backlog_service_level",
    "cover_requirements",
    "global_service_level",
    "heads_on_duty",
    "minimum_staff_while_open",
    "opening_hours",
    "roster_cost",
    "shift_choice",
    "break_placement",
    "template_limits",
]


def _row_terms(matrix: sparse.csr_matrix, row: int, var, sign: float = 1.0):
    lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
    return [(sign * float(v), var[int(j)]) for j, v in zip(matrix.indices[lo:hi], matrix.data[lo:hi])]


def _penalty(m, name: str, expr):
    m.penalty_terms[name] = expr


def shift_choice(m, candidates) -> None:
    """Decision: ``m.x[s]`` shifts of each template x start are rostered, at their cost (premiums
    included; unpaid breaks are refunded by :func:`break_placement`)."""
    m.S = pyo.RangeSet(0, len(candidates.shifts) - 1)
    m.x = pyo.Var(m.S, domain=pyo.NonNegativeIntegers)
    # id(variable) -> start instant (UTC ns) of its shift: the time windows of the HiGHS search
    m.lns_time = {id(m.x[s]): int(t) for s, t in enumerate(candidates.shift_start_ns)}
    cost = candidates.shifts["cost"].to_numpy(dtype=float)
    m.cost_terms["shifts"] = pyo.quicksum(float(cost[s]) * m.x[s] for s in m.S)


def break_placement(m, candidates) -> None:
    """Hard: every rostered shift gets each of its breaks inside the break's window (Aykin 1996,
    one integer per shift x break rule x allowed slot). ``m.b[k]`` copies of shift
    ``break_shift[k]`` take break rule ``break_rule[k]`` in slot ``break_slot[k]``; per shift and
    rule they add up to the shift count ``m.x[s]``. Unpaid breaks are refunded from the cost.
    ``m.break_shift``, ``m.break_slot`` (numpy arrays) say which b belongs where."""
    shift, rule, slot = candidates.break_options()
    n = shift.size
    m.K = pyo.RangeSet(0, n - 1) if n else pyo.Set(initialize=[])
    m.b = pyo.Var(m.K, domain=pyo.NonNegativeIntegers)
    m.break_shift, m.break_rule, m.break_slot = shift, rule, slot
    m.lns_time.update({id(m.b[k]): int(t) for k, t in enumerate(candidates.shift_start_ns[shift])})
    if not n:
        return
    refund = candidates.slots["refund"].to_numpy(dtype=float)[slot]
    paid = np.flatnonzero(refund != 0.0)
    if paid.size:
        m.cost_terms["break_refund"] = -pyo.quicksum(float(refund[k]) * m.b[int(k)] for k in paid)
    groups = {}
    for k, key in enumerate(zip(shift.tolist(), rule.tolist())):
        groups.setdefault(key, []).append(k)
    m.BR = pyo.Set(initialize=list(groups), dimen=2)
    m.break_choice = pyo.Constraint(m.BR, rule=lambda m, s, r: pyo.quicksum(m.b[k] for k in groups[(s, r)])
                                    == m.x[s])


def heads_on_duty(m, candidates) -> None:
    """Definition: ``m.heads[t]`` = agents working in bucket t: the shifts covering it less the
    copies on break there (pro rata for partial buckets)."""
    n = len(candidates.grid)
    m.T = pyo.RangeSet(0, n - 1)
    m.heads = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    shift_cov = sparse.csr_matrix(candidates.shift_coverage)
    slot = getattr(m, "break_slot", np.zeros(0, dtype=np.int64))
    break_cov = (sparse.csr_matrix(candidates.break_coverage[:, slot]) if slot.size
                 else sparse.csr_matrix((n, 0)))

    def rule(m, t):
        terms = _row_terms(shift_cov, t, m.x) + _row_terms(break_cov, t, m.b, -1.0)
        if not terms:
            return m.heads[t] == 0
        return m.heads[t] == LinearExpression(constant=0.0, linear_coefs=[c for c, _ in terms],
                                              linear_vars=[v for _, v in terms])

    m.define_heads = pyo.Constraint(m.T, rule=rule)


def whole_heads(required: np.ndarray, productive_share: float) -> np.ndarray:
    """Heads on duty that cover a requirement of productive agents: ceil(required / productive
    share), with a relative tolerance of 1e-9 so 9.1 / 0.7 stays 13."""
    need = np.asarray(required, dtype=float) / float(productive_share)
    return np.ceil(need - 1e-9 * np.maximum(1.0, np.abs(need)))


def cover_requirements(m, required: np.ndarray, productive_share: float, price: float) -> None:
    """Elastic: the heads on duty of every bucket cover its requirement of productive agents in
    whole heads (heads >= ceil(requirement / (1 - shrinkage)), :func:`whole_heads`); ``m.short[t]``
    is the shortfall in heads, priced per head-bucket.

    In whole heads because a fractional requirement (9.1 productive agents) would let the optimum
    leave 0.1 of an agent uncovered whenever that slack costs less than another shift: a shortfall
    by price, not by necessity, which the explanation would then report as a request that cannot
    be met. With whole heads any shortfall is at least one head, dearer (at the default price)
    than any shift that could cover it, so what is left short really cannot be covered."""
    m.short = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    need = whole_heads(required, productive_share)
    m.cover = pyo.Constraint(m.T, rule=lambda m, t: m.heads[t] + m.short[t] >= float(need[t])
                             if need[t] > 0 else pyo.Constraint.Skip)
    _penalty(m, "shortfall", price * pyo.quicksum(m.short[t] for t in m.T if need[t] > 0))


def template_limits(m, candidates, templates, price: float) -> None:
    """Elastic: each template's shifts per local day and in total stay within [min, max];
    ``m.tmpl_under`` / ``m.tmpl_over`` count the shifts missing or too many, priced per shift."""
    frame = candidates.shifts
    keys = []
    members = {}
    for (ti, day), idx in frame.groupby(["template_index", "day"], sort=True).indices.items():
        t = templates[ti]
        if t.min_per_day or t.max_per_day is not None:
            keys.append(("day", int(ti), str(day)))
            members[keys[-1]] = (idx, t.min_per_day, t.max_per_day)
    for ti, idx in frame.groupby("template_index", sort=True).indices.items():
        t = templates[ti]
        if t.min_total or t.max_total is not None:
            keys.append(("total", int(ti), ""))
            members[keys[-1]] = (idx, t.min_total, t.max_total)
    m.L = pyo.Set(initialize=keys, dimen=3)
    m.tmpl_under = pyo.Var(m.L, domain=pyo.NonNegativeReals)
    m.tmpl_over = pyo.Var(m.L, domain=pyo.NonNegativeReals)

    def low(m, *key):
        idx, lo, _ = members[key]
        return pyo.quicksum(m.x[int(s)] for s in idx) + m.tmpl_under[key] >= lo if lo else pyo.Constraint.Skip

    def high(m, *key):
        idx, _, hi = members[key]
        return pyo.quicksum(m.x[int(s)] for s in idx) - m.tmpl_over[key] <= hi if hi is not None else pyo.Constraint.Skip

    m.template_min = pyo.Constraint(m.L, rule=low)
    m.template_max = pyo.Constraint(m.L, rule=high)
    m.template_keys = members
    _penalty(m, "template", price * pyo.quicksum(m.tmpl_under[k] + m.tmpl_over[k] for k in m.L))


def opening_hours(m, choices: list[list], shares: list[list[np.ndarray]], cost_per_open_bucket: float = 0.0) -> None:
    """Hard: per weekday exactly one candidate window (or "closed") is chosen (``m.z``), and
    ``m.open[t]`` is the resulting open share of bucket t (candidate windows are on the bucket
    grid, so 0 or 1, never above 1). An optional price per open bucket enters the cost."""
    keys = [(d, w) for d in range(len(choices)) for w in range(len(choices[d]))]
    m.W = pyo.Set(initialize=keys, dimen=2)
    m.z = pyo.Var(m.W, domain=pyo.Binary)
    m.one_window = pyo.Constraint(range(len(choices)), rule=lambda m, d: pyo.quicksum(
        m.z[d, w] for w in range(len(choices[d]))) == 1 if choices[d] else pyo.Constraint.Skip)
    m.open = pyo.Var(m.T, bounds=(0, 1))
    share = {(d, w): np.asarray(shares[d][w], dtype=float) for d, w in keys}
    touching = {t: [] for t in range(len(m.T))}
    for key, s in share.items():
        for t in np.flatnonzero(s > 0):
            touching[int(t)].append((key, float(s[t])))
    m.define_open = pyo.Constraint(m.T, rule=lambda m, t: m.open[t] == pyo.quicksum(
        c * m.z[k] for k, c in touching[t]) if touching[t] else m.open[t] == 0)
    if cost_per_open_bucket:
        m.cost_terms["opening"] = cost_per_open_bucket * pyo.quicksum(m.open[t] for t in m.T)


def minimum_staff_while_open(m, open_share, min_heads: float, price: float) -> None:
    """Elastic: at least ``min_heads`` agents on duty in every bucket while open (``open_share``:
    fixed shares, or None to use the decided ``m.open``); ``m.short_open[t]`` is priced like a
    shortfall."""
    if not min_heads:
        return
    m.short_open = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    if open_share is None:
        m.min_staff = pyo.Constraint(m.T, rule=lambda m, t: m.heads[t] + m.short_open[t] >= min_heads * m.open[t])
    else:
        share = np.asarray(open_share, dtype=float)
        m.min_staff = pyo.Constraint(m.T, rule=lambda m, t: m.heads[t] + m.short_open[t] >= float(min_heads)
                                     if share[t] > 0 else pyo.Constraint.Skip)
    _penalty(m, "minimum_staff", price * pyo.quicksum(m.short_open[t] for t in m.T))


def global_service_level(m, volume: np.ndarray, sl_table: list[np.ndarray], low: np.ndarray, periods: np.ndarray,
                         target: float, productive_share: float, price_message: float, price_agent: float,
                         concave: list[bool]) -> None:
    """Elastic: the volume-weighted service level over each period (day, week or horizon) is at
    least ``target`` (Koole & van der Sluis 2003, linearised as THEORY.md section 5).

    Per bucket t with staffing s_t >= L_t (``low``: floor(load) + 1, or the per-interval floor),
    ``sl_table[t][k]`` is SL_t(L_t + k). The marginal SL volume of the (L_t + k)-th agent is
    g_tk = volume_t (SL_t(L_t + k) - SL_t(L_t + k - 1)); continuous y_tk in [0, 1] with
    sum_k y_tk <= s_t - L_t make sum_k g_tk y_tk exact where SL_t is concave (else y is binary
    and ordered). Slack: ``m.sl_short[p]`` messages below the target of period p (priced per
    message) and ``m.low_short[t]`` agents below L_t."""
    vol = np.asarray(volume, dtype=float)
    keys = [(t, k) for t in range(len(vol)) for k in range(1, len(sl_table[t]))]
    m.Y = pyo.Set(initialize=keys, dimen=2)
    binary = {t for t in range(len(vol)) if not concave[t]}
    m.y = pyo.Var(m.Y, bounds=(0, 1))
    for t, k in keys:
        if t in binary:
            m.y[t, k].domain = pyo.Binary
    by_t = {}
    for t, k in keys:
        by_t.setdefault(t, []).append(k)
    m.low_short = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.staff_steps = pyo.Constraint(m.T, rule=lambda m, t: productive_share * m.heads[t] + m.low_short[t]
                                   >= float(low[t]) + pyo.quicksum(m.y[t, k] for k in by_t.get(t, []))
                                   if low[t] > 0 or by_t.get(t) else pyo.Constraint.Skip)
    ordered = [(t, k) for t, k in keys if t in binary and k > 1]
    m.y_order = pyo.Constraint(ordered, rule=lambda m, t, k: m.y[t, k] <= m.y[t, k - 1]) if ordered else pyo.Constraint.Skip
    labels = sorted(set(int(p) for p in periods[vol > 0]))
    m.P = pyo.Set(initialize=labels)
    m.sl_short = pyo.Var(m.P, domain=pyo.NonNegativeReals)

    def period_rule(m, p):
        inside = np.flatnonzero((periods == p) & (vol > 0))
        base = float(sum(vol[t] * sl_table[t][0] for t in inside))
        gains = pyo.quicksum(float(vol[t] * (sl_table[t][k] - sl_table[t][k - 1])) * m.y[t, k]
                             for t in inside for k in by_t.get(int(t), []))
        return base + gains + m.sl_short[p] >= target * float(vol[inside].sum())

    m.global_sl = pyo.Constraint(m.P, rule=period_rule)
    _penalty(m, "service_level", price_message * pyo.quicksum(m.sl_short[p] for p in m.P)
             + price_agent * pyo.quicksum(m.low_short[t] for t in m.T))


def backlog_flow(m, arrivals: np.ndarray, capacity_per_head: np.ndarray, open_share, initial_backlog: float = 0.0) -> None:
    """Hard: the fluid FIFO backlog model (THEORY.md section 3) in cumulative form. ``m.served[t]``
    (S_t, messages completed by the end of bucket t) never decreases, never exceeds the cumulative
    arrivals A_t (initial backlog included), and grows in bucket t by at most the capacity of the
    heads on duty there (``capacity_per_head[t]`` messages per head in a fully open bucket, times
    the open share: fixed, or the decided ``m.open`` with a big-M of A_t when ``open_share`` is
    None). Staffing one bucket thus serves the messages of the previous ones."""
    a = np.asarray(arrivals, dtype=float)
    cum = float(initial_backlog) + np.cumsum(a)
    mu = np.asarray(capacity_per_head, dtype=float)
    m.served = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.cum_arrivals = cum

    def prev(m, t):
        return m.served[t - 1] if t > 0 else 0.0

    m.served_le_arrived = pyo.Constraint(m.T, rule=lambda m, t: m.served[t] <= float(cum[t]))
    m.served_monotone = pyo.Constraint(m.T, rule=lambda m, t: m.served[t] >= prev(m, t))
    if open_share is None:
        m.capacity = pyo.Constraint(m.T, rule=lambda m, t: m.served[t] - prev(m, t) <= float(mu[t]) * m.heads[t])
        m.closed_no_service = pyo.Constraint(m.T, rule=lambda m, t: m.served[t] - prev(m, t) <= float(cum[t]) * m.open[t])
    else:
        share = np.asarray(open_share, dtype=float)
        m.capacity = pyo.Constraint(m.T, rule=lambda m, t: m.served[t] - prev(m, t)
                                    <= float(mu[t] * share[t]) * m.heads[t])


def backlog_service_level(m, arrivals: np.ndarray, deadline_buckets: int, periods: np.ndarray, target: float,
                          floor: float | None, open_share, price_message: float, may_open: np.ndarray,
                          may_close: np.ndarray, lookback_buckets: int = 16) -> None:
    """Elastic: per period (day, week or horizon), the messages late (answered after the deadline)
    are at most (1 - target) of the decided arrivals; per open bucket at most (1 - floor).

    Messages of bucket t (FIFO, deadline D buckets) that are late: late_t = min(a_t, max(0, A_t -
    S*_t)), with S*_t = (S_{t+D-1} + S_{t+D}) / 2 the completions a deadline after the bucket's
    middle (arrivals are spread over the bucket; from its end alone would be a bucket too lenient). THEORY.md section 3's soft form late_t >= A_t -
    S_{t+D} overcounts while older messages still wait (after a closed night it would count the
    whole overnight backlog again in every bucket). So: a bucket whose deadline window is closed
    throughout is all late (late_t = a_t, or a_t (1 - u_t) with u_t >= open_i over the window
    when the hours are decided); near closed time (within ``lookback_buckets`` after a bucket
    that is or may be closed) a binary r_t ("reached") makes the count exact: late_t >=
    a_t (1 - r_t) and late_t >= A_t - S_{t+D} - A_{t-1} (1 - r_t); elsewhere the soft form holds
    (exact while no message older than the deadline waits). Arrivals whose deadline falls after the
    horizon are undetermined and left out, as in :func:`scheduling.backlog.evaluate_backlog`.
    ``m.sl_short[p]`` / ``m.floor_short[t]`` are the messages beyond the allowance, priced per message."""
    a = np.asarray(arrivals, dtype=float)
    n = a.size
    cum = m.cum_arrivals
    D = int(deadline_buckets)
    decided_hours = open_share is None
    decided = [t for t in range(n) if t + D < n and a[t] > 0]
    window_may_open = {t: bool(may_open[t:t + D + 1].any()) for t in decided}
    closed_before = np.zeros(n, dtype=bool)
    for t in range(n):
        closed_before[t] = bool(may_close[max(0, t - lookback_buckets):t + D + 1].any())
    never = [t for t in decided if not window_may_open[t]]              # all late, whatever the staffing
    live = [t for t in decided if window_may_open[t]]
    risky = [t for t in live if closed_before[t] and t > 0]
    m.Dset = pyo.Set(initialize=live)
    m.late = pyo.Var(m.Dset, domain=pyo.NonNegativeReals)
    m.Rset = pyo.Set(initialize=risky)
    m.reached = pyo.Var(m.Rset, domain=pyo.Binary)
    risky_set = set(risky)

    def late_soft(m, t):
        relax = float(cum[t - 1]) * (1 - m.reached[t]) if t in risky_set else 0.0
        # completions D buckets after the bucket's start and after its end, averaged: the deadline of
        # messages arriving through the bucket (from the end alone would be a bucket too lenient)
        return m.late[t] >= float(cum[t]) - 0.5 * (m.served[t + D - 1] + m.served[t + D]) - relax

    m.late_def = pyo.Constraint(m.Dset, rule=late_soft)
    m.late_unreached = pyo.Constraint(m.Rset, rule=lambda m, t: m.late[t] >= float(a[t]) * (1 - m.reached[t]))
    if decided_hours:
        m.window_open = pyo.Var(m.Dset, bounds=(0, 1))
        m.window_open_def = pyo.Constraint(
            [(t, i) for t in live for i in range(t, t + D + 1) if may_open[i]],
            rule=lambda m, t, i: m.window_open[t] >= m.open[i])
        m.late_closed = pyo.Constraint(m.Dset, rule=lambda m, t: m.late[t] >= float(a[t]) * (1 - m.window_open[t]))
    labels = sorted(set(int(periods[t]) for t in decided))
    m.P = pyo.Set(initialize=labels)
    m.sl_short = pyo.Var(m.P, domain=pyo.NonNegativeReals)
    live_of = {p: [t for t in live if periods[t] == p] for p in labels}
    fixed_late = {p: float(sum(a[t] for t in never if periods[t] == p)) for p in labels}
    total = {p: float(sum(a[t] for t in decided if periods[t] == p)) for p in labels}
    m.late_fixed = fixed_late
    m.period_sl = pyo.Constraint(m.P, rule=lambda m, p: fixed_late[p] + pyo.quicksum(m.late[t] for t in live_of[p])
                                 <= (1.0 - target) * total[p] + m.sl_short[p])
    terms = pyo.quicksum(m.sl_short[p] for p in m.P)
    if floor is not None and floor > 0:
        m.floor_short = pyo.Var(m.Dset, domain=pyo.NonNegativeReals)
        if decided_hours:
            m.bucket_floor = pyo.Constraint(m.Dset, rule=lambda m, t: m.late[t] <= (1.0 - floor) * float(a[t])
                                            + float(a[t]) * (1 - m.open[t]) + m.floor_short[t])
        else:
            share = np.asarray(open_share, dtype=float)
            m.bucket_floor = pyo.Constraint(m.Dset, rule=lambda m, t: m.late[t] <= (1.0 - floor) * float(a[t])
                                            + m.floor_short[t] if share[t] >= 1.0 else pyo.Constraint.Skip)
        terms = terms + pyo.quicksum(m.floor_short[t] for t in m.Dset)
    _penalty(m, "service_level", price_message * terms)


def roster_cost(m) -> None:
    """Objective: wages with premiums (less unpaid breaks), any opening cost, plus the price of
    every elastic slack (penalties)."""
    m.objective = pyo.Objective(
        expr=pyo.quicksum(list(m.cost_terms.values())) + pyo.quicksum(list(m.penalty_terms.values())),
        sense=pyo.minimize)
