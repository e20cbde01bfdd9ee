"""The HiGHS search of the roster (scheduling.roster._highs) and the explicit break formulation:
break options per shift, heads on duty net of breaks, and the LP -> RENS -> time windows -> full
MIP chain with an honest bound and status."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest

from scheduling.roster import _highs
from scheduling.roster.shifts import shifts_from_dict
from scheduling.roster.solve import build_model, lp_relaxation_bound, prepare, solve_roster

TZ = "Europe/Amsterdam"


def _config(*shifts):
    return shifts_from_dict({"contracts": {"std": {"hourly_wage": 10.0}}, "premiums": {"holiday_country": ""},
                             "shift": list(shifts), "solver": {"time_limit": 20}}, "test.toml")


def _grid(start, hours):
    first = pd.Timestamp(start, tz=TZ)
    return pd.date_range(first.tz_convert("UTC"), periods=hours * 4, freq="15min").tz_convert(TZ)


def test_break_options_are_every_slot_of_every_shift_window():
    """An 8h shift at 08:00 with a 30-min break placed in hours 3-5 every 15 minutes: 7 options,
    break starts 11:00, 11:15, ..., 12:30."""
    cfg = _config({"name": "day", "length": "8h", "starts": ["08:00"],
                   "break": {"length": "30m", "window": ["3h", "5h"]}})
    g = _grid("2026-03-02 08:00", 8)
    problem = prepare(cfg, requirements=pd.DataFrame({"ds": g, "agents_required": 1.0}))
    cand = problem.candidates
    shift, rule, slot = cand.break_options()
    assert len(cand.shifts) == 1 and shift.tolist() == [0] * 7 and rule.tolist() == [0] * 7
    starts = [t.strftime("%H:%M") for t in pd.DatetimeIndex(cand.slots["start"]).take(slot)]
    assert starts == ["11:00", "11:15", "11:30", "11:45", "12:00", "12:15", "12:30"]
    assert cand.n_patterns == 7


def test_heads_on_duty_counts_shifts_less_those_on_break():
    """Two copies of the 08:00 shift, one with its break at 12:30: 2 heads, 1 in 12:30-13:00."""
    cfg = _config({"name": "day", "length": "8h", "starts": ["08:00"],
                   "break": {"length": "30m", "window": ["3h", "5h"]}})
    g = _grid("2026-03-02 08:00", 8)
    problem = prepare(cfg, requirements=pd.DataFrame({"ds": g, "agents_required": 1.0}))
    m = build_model(problem)
    m.x[0].set_value(2)
    for k in m.K:
        m.b[k].set_value(1 if k in (0, 6) else 0)          # breaks at 11:00 and 12:30
    expected = np.full(len(g), 2.0)
    expected[(g.hour == 11) & (g.minute < 30)] = 1.0
    expected[(g.hour == 12) & (g.minute >= 30)] = 1.0
    for t in m.T:
        m.heads[t].set_value(float(expected[t]))
        con = m.define_heads[t]
        assert pyo.value(con.body) == pytest.approx(pyo.value(con.upper)), g[t]
    m.heads[0].set_value(1.0)
    assert pyo.value(m.define_heads[0].body) != pytest.approx(pyo.value(m.define_heads[0].upper))
    assert pyo.value(m.break_choice[0, 0].body) == pytest.approx(0.0)      # b sums to x


def _odd_cycle():
    """min x1 + x2 + x3 with every pair covering 1: LP optimum 1.5 (all 0.5), integer optimum 2."""
    m = pyo.ConcreteModel()
    m.I = pyo.RangeSet(0, 2)
    m.x = pyo.Var(m.I, domain=pyo.NonNegativeIntegers, bounds=(0, 5))
    m.pairs = pyo.Constraint([(0, 1), (1, 2), (0, 2)], rule=lambda m, i, j: m.x[i] + m.x[j] >= 1)
    m.objective = pyo.Objective(expr=sum(m.x[i] for i in m.I), sense=pyo.minimize)
    hour = 3600 * 10**9
    m.lns_time = {id(m.x[i]): i * 10 * hour for i in m.I}      # three windows apart
    return m


def test_search_proves_the_integer_optimum_above_the_lp_bound(monkeypatch):
    """The LP bound (1.5) is not enough: RENS finds 2, the time windows cannot improve it, and the
    full MIP raises the bound to 2: proven optimal, bound 2, roster loaded."""
    monkeypatch.setattr(_highs, "SMALL_MODEL_INTEGERS", 0)       # run the windows on a tiny model
    m = _odd_cycle()
    assert _highs.lp_bound_with_highs(_odd_cycle()) == pytest.approx(1.5)
    out = _highs.solve_with_highs(m, time_limit=20, mip_gap=0.001)
    assert out["status"] == "optimal" and out["loaded"]
    assert out["objective"] == pytest.approx(2.0) and out["bound"] == pytest.approx(2.0)
    assert sum(m.x[i].value for i in m.I) == pytest.approx(2.0)


def test_search_reports_time_limit_when_the_gap_is_not_proven(monkeypatch):
    """Without time for the full MIP the gap to the LP bound (25%) stays open: status time_limit,
    never optimal."""
    monkeypatch.setattr(_highs, "SMALL_MODEL_INTEGERS", 0)
    calls = []
    original = _highs._Compiled.run

    def no_full_mip(self, seconds, gap, relax=False, lower=None, upper=None, start=None):
        if not relax and lower is None:                            # the full MIP: pretend time ran out
            calls.append(seconds)
            return {"status": None, "values": None, "objective": float("inf"), "bound": float("nan")}
        return original(self, seconds, gap, relax, lower, upper, start)

    monkeypatch.setattr(_highs._Compiled, "run", no_full_mip)
    out = _highs.solve_with_highs(_odd_cycle(), time_limit=20, mip_gap=0.001)
    assert calls and out["status"] == "time_limit"
    assert out["objective"] == pytest.approx(2.0) and out["bound"] == pytest.approx(1.5)


def test_roster_with_the_time_window_search_matches_the_full_mip(monkeypatch):
    """Two days of a varying requirement with 4h and 8h (break) shifts: the windows path and the
    plain full MIP (via another route: Pyomo's HiGHS) reach the same cost within the gap."""
    cfg = _config({"name": "4h", "length": "4h", "start_from": "06:00", "start_to": "18:00", "start_every": "60m"},
                  {"name": "8h", "length": "8h", "start_from": "06:00", "start_to": "14:00", "start_every": "60m",
                   "break": {"length": "30m", "window": ["3h", "5h"]}})
    g = _grid("2026-03-02 06:00", 40)
    h = (g.hour + g.minute / 60).to_numpy()
    need = np.where((h >= 7) & (h < 21), np.round(2 + 3 * np.exp(-((h - 13) / 3.0) ** 2)), 0.0)
    req = pd.DataFrame({"ds": g, "agents_required": need})
    monkeypatch.setattr(_highs, "SMALL_MODEL_INTEGERS", 0)
    ours = solve_roster(cfg, requirements=req)
    plain = solve_roster(cfg, requirements=req, solver="appsi_highs")
    assert ours.status == "optimal" and ours.violations.empty
    assert ours.objective == pytest.approx(plain.objective, rel=2e-3)
    assert ours.bound <= ours.objective + 1e-6
    assert ours.bound >= lp_relaxation_bound(prepare(cfg, requirements=req)) - 1e-6   # never below the LP
    assert ours.coverage["shortfall"].sum() == pytest.approx(0.0)
