"""Benchmark: every numeric test vector of ../shared/THEORY.md, reproduced with the project's code.

One table per THEORY section with: the vector, the published value, ours (computed by the
project's own functions, the same calls as the unit tests), |ours - published|, the tolerance and
whether it matches, and beside it the value of a straightforward textbook implementation written
in this script (the baseline). Sources of "ours":

* section 1, 2, 4: ``scheduling.erlang`` (erlang_b, erlang_c, service_level, asa_seconds,
  occupancy, required_agents, apply_shrinkage, erlang_a, halfin_whitt_*), and the published
  14 productive / 20 scheduled example also through the product path
  (``scheduling.requirements.requirements``, what ``webcare staff`` runs);
* section 3: ``scheduling.backlog`` (evaluate_backlog, ceiling_table) on the overnight example;
* section 5: ``scheduling.erlang`` for the per-interval staffing and the global SL of plans, an
  exhaustive search (dynamic programme) over the library's SL table for the cheapest and best
  plans, and the roster MILP ``scheduling.roster.solve.solve_roster`` (52 agents; skipped with
  ``--smoke``).

Tolerance: THEORY's 1e-3 for service levels and probabilities, 1e-6 relative for everything else,
widened to half a unit in the last published digit where the published value is rounded (7.836 s,
"about 54%"). Sections 6 and 7 publish no numeric vectors.

Timing: each section's vector set computed by the project (ours) and by the textbook baseline
(pure-Python Erlang B recursion loops, a truncated Erlang-A birth-death chain, a minute-step
FIFO cohort loop for the backlog, a dynamic programme over the textbook SL table for the roster),
each the median of 3 repetitions in the same run, and the whole set.

    python benchmarks/bench_theory.py [--smoke]
"""

from __future__ import annotations

import math
import statistics
import sys
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import special

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import (  # noqa: E402
    fmt_ratio, fmt_seconds, machine_info, markdown_table, ratio, script_main, timed,
)
from scheduling import backlog as bl  # noqa: E402
from scheduling import erlang as er  # noqa: E402

TZ = "Europe/Amsterdam"
REPEAT = 3

# THEORY section 1 worked example: 100 calls per 30 min, AHT 180 s, 80% in 20 s.
CALLS, INTERVAL_S, AHT_S, THRESHOLD_S = 100, 1800, 180.0, 20.0
LOAD = 10.0
PATIENCE_S = 300.0
ERLANG_B = [(5, 3.0, "0.1100543"), (4, 2.0, "2/21"), (6, 2.0, "0.0120846"), (3, 0.8, "0.0386941")]
ERLANG_C = [(3, 2.0, "4/9"), (2, 1.5, "9/14")]
SL_BY_AGENTS = [(11, "0.3896"), (12, "0.6402"), (13, "0.7956"), (14, "0.8884")]
# Section 4.
HALFIN_WHITT = [(0.5, "0.5045"), (1.0, "0.2234"), (1.5, "0.0847"), (2.0, "0.0269")]
# Section 5.
LAMBDA_PER_MIN = np.array([1.0, 3, 5, 3, 1])
GLOBAL_LOAD = LAMBDA_PER_MIN * 3  # AHT 3 min
S_MAX = 40  # staffing levels searched per interval (SL is ~1 long before: A <= 15)
STABLE_FLOORS = np.floor(GLOBAL_LOAD).astype(int) + 1  # L_t = floor(A_t) + 1 (THEORY section 5)
# Section 3.
OVERNIGHT_AGENTS = {3: "11:00", 4: "09:30", 5: "09:00"}
OVERNIGHT_LATE = {3: "9.7%", 4: "9.4%", 5: "9.3%"}
DEADLINE_MIN = 60
AHT_BACKLOG_S = 360.0


# --------------------------------------------------------------------------------------------
# Rows: a published value, ours, the textbook baseline, and the tolerance
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    vector: str
    published: str          # as THEORY writes it
    expected: Any           # float or list of floats
    ours: Any
    tolerance: float
    basis: str
    textbook: Any = None
    display: Callable[[Any], str] | None = None

    @property
    def diff(self) -> float:
        a = np.atleast_1d(np.asarray(self.ours, dtype=float))
        b = np.atleast_1d(np.asarray(self.expected, dtype=float))
        if a.shape != b.shape:
            return float("inf")
        with np.errstate(invalid="ignore"):
            d = np.abs(a - b)
        return float(np.max(np.where(np.isnan(d), np.inf, d)))

    @property
    def match(self) -> bool:
        return self.diff <= self.tolerance


def _parse(text: str) -> tuple[float, int | None]:
    """(value, decimals) of a published number: '0.6402', '9.7%', '2/21' (exact: None decimals)."""
    text = text.strip()
    if "/" in text:
        return float(Fraction(text)), None
    percent = text.endswith("%")
    core = text.rstrip("%")
    decimals = len(core.split(".")[1]) if "." in core else 0
    value = float(core)
    if percent:
        return value / 100, decimals + 2
    return value, decimals


def prob(section, vector, published, ours, textbook=None, expected=None):
    """A service level or probability: THEORY's 1e-3, or half a unit of the published digits."""
    value, decimals = _parse(published) if expected is None else (expected, None)
    half = 0.5 * 10.0 ** -decimals if decimals is not None else 0.0
    tol, basis = (1e-3, "THEORY") if half <= 1e-3 else (half, "published digits")
    return Row(section, vector, published, value, ours, tol, basis, textbook)


def num(section, vector, published, ours, textbook=None, expected=None, display=None):
    """Anything else: 1e-6 relative, or half a unit of the published digits when rounded."""
    if expected is None:
        value, decimals = _parse(published)
    else:
        value, decimals = expected, None
    scale = float(np.max(np.abs(np.atleast_1d(value)))) if np.size(value) else 1.0
    tol, basis = 1e-6 * max(scale, 1e-300), "1e-6 rel"
    if decimals:  # a rounded decimal (integers and fractions are exact)
        half = 0.5 * 10.0 ** -decimals
        if half > tol:
            tol, basis = half, "published digits"
    return Row(section, vector, published, value, ours, tol, basis, textbook, display)


def clock(minutes) -> str:
    if minutes is None or not np.isfinite(minutes):
        return "–"
    minutes = float(minutes)
    h, m = divmod(minutes, 60)
    text = f"{int(h):02d}:{m:05.2f}" if abs(m - round(m)) > 1e-6 else f"{int(h):02d}:{int(round(m)):02d}"
    return text


def show(value, display=None) -> str:
    if value is None:
        return "–"
    if display is not None:
        return display(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(show(v) for v in value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    x = float(value)
    if not math.isfinite(x):
        return "∞" if x > 0 else "–"
    if x == round(x) and abs(x) < 1e9:
        return str(int(round(x)))
    return f"{x:.8g}"


def show_diff(d: float) -> str:
    if d == 0:
        return "0"
    if not math.isfinite(d):
        return "∞"
    return f"{d:.1e}"


# --------------------------------------------------------------------------------------------
# Textbook baseline (straightforward loops, written here, independent of scheduling/)
# --------------------------------------------------------------------------------------------


def tb_erlang_b(s: int, a: float) -> float:
    b = 1.0
    for k in range(1, s + 1):
        b = a * b / (k + a * b)
    return b


def tb_erlang_c(s: int, a: float) -> float:
    if s <= a:
        return 1.0
    b = tb_erlang_b(s, a)
    return s * b / (s - a * (1 - b))


def tb_sl(s: int, a: float, aht: float, t: float) -> float:
    if a == 0:
        return 1.0
    if s <= a:
        return 0.0
    return 1.0 - tb_erlang_c(s, a) * math.exp(-(s - a) * t / aht)


def tb_asa(s: int, a: float, aht: float) -> float:
    return tb_erlang_c(s, a) * aht / (s - a) if s > a else math.inf


def tb_required(a, aht, t, target, max_occupancy=1.0) -> int:
    s = int(math.floor(a)) + 1
    while tb_sl(s, a, aht, t) < target or a / s > max_occupancy:
        s += 1
    return s


def tb_erlang_a(s: int, a: float, aht: float, patience: float, t: float, queue_states: int = 2000):
    """Truncated birth-death chain (in log space) with the Beta form of the waiting-time tails."""
    lam, mu, theta = a / aht, 1.0 / aht, 1.0 / patience
    logs = [0.0]
    for n in range(1, s + queue_states):
        death = n * mu if n <= s else s * mu + (n - s) * theta
        logs.append(logs[-1] + math.log(lam / death))
    top = max(logs)
    p = [math.exp(v - top) for v in logs]
    total = sum(p)
    p = [v / total for v in p]
    queued = np.array(p[s:])
    j = np.arange(queued.size)
    waiting = float(sum(max(n - s, 0) * p[n] for n in range(len(p))))
    abandon = theta * waiting / lam
    x, u = s * mu / theta, math.exp(-theta * t)
    virtual = 1.0 - float(np.sum(queued * special.betainc(x, j + 1, u)))
    served_late = float(np.sum(queued * x / (x + j + 1) * special.betainc(x + 1, j + 1, u)))
    offered = 1.0 - abandon - served_late
    busy = a * (1 - abandon) / s
    return {"delay": float(queued.sum()), "abandon": abandon, "occupancy": busy,
            "asa_min": waiting / lam / 60.0, "offered": offered, "virtual": virtual,
            "answered": offered / (1 - abandon)}


def tb_alpha(beta: float) -> float:
    phi = math.exp(-beta * beta / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(beta / math.sqrt(2)))
    return 1.0 / (1.0 + beta * cdf / phi)


def tb_beta(alpha: float) -> float:
    lo, hi = 0.0, 40.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if tb_alpha(mid) > alpha else (lo, mid)
    return 0.5 * (lo + hi)


def tb_backlog(agents: float) -> dict:
    """Minute-step fluid FIFO with cohorts: 2025-03-03 22:00 (empty: every day clears by 22:00)
    to 2025-03-05 12:00; figures for the messages arriving on 2025-03-04."""
    start = 22 * 60 - 24 * 60       # minutes from 2025-03-04 00:00
    end = 36 * 60
    queue: deque[list[float]] = deque()
    late = arrived = 0.0
    at_eight = cleared = None
    for m in range(start, end):
        hour = (m // 60) % 24
        is_open = 8 <= hour < 22
        rate = (20.0 if is_open else 3.0) / 60.0
        queue.append([m, rate])
        if 0 <= m < 24 * 60:
            arrived += rate
        cap = (agents * 60.0 / (AHT_BACKLOG_S / 60.0) / 60.0) if is_open else 0.0
        while cap > 1e-15 and queue:
            head = queue[0]
            served = min(head[1], cap)
            head[1] -= served
            cap -= served
            if 0 <= head[0] < 24 * 60 and m - head[0] > DEADLINE_MIN:
                late += served
            if head[1] <= 1e-12:
                queue.popleft()
        left = sum(c[1] for c in queue)
        if m == 8 * 60 - 1:
            at_eight = left
        if cleared is None and 8 * 60 <= m < 22 * 60 and left <= 1e-9:
            cleared = m + 1
    return {"backlog_0800": at_eight, "cleared_min": cleared, "late_share": late / arrived}


def tb_best_plans(sl_table: np.ndarray, weights: np.ndarray, floors=None):
    """Dynamic programme: for every total staffing b, the plan with the highest global SL, with
    s_t >= floors[t] (THEORY's MILP form s_t = L_t + sum_k y_tk, L_t = floor(A_t) + 1)."""
    n, width = sl_table.shape
    floors = np.zeros(n, dtype=int) if floors is None else np.asarray(floors, dtype=int)
    budget = n * (width - 1)
    best = np.full(budget + 1, -np.inf)
    best[0] = 0.0
    choice = []
    for t in range(n):
        new = np.full(budget + 1, -np.inf)
        arg = np.zeros(budget + 1, dtype=int)
        for b in range(budget + 1):
            for s in range(int(floors[t]), min(b, width - 1) + 1):
                value = best[b - s] + weights[t] * sl_table[t, s]
                if value > new[b]:
                    new[b], arg[b] = value, s
        best = new
        choice.append(arg)
    return best / weights.sum(), choice


def plan_of(choice, b: int) -> list[int]:
    plan = []
    for arg in reversed(choice):
        s = int(arg[b])
        plan.append(s)
        b -= s
    return plan[::-1]


def cheapest_and_best(best, choice, target=0.8):
    cheapest = int(np.flatnonzero(best >= target)[0])
    return cheapest, plan_of(choice, cheapest), float(best[cheapest])


# --------------------------------------------------------------------------------------------
# Ours (the project's functions) and textbook, per section
# --------------------------------------------------------------------------------------------


def ours_section1() -> dict:
    o: dict[str, Any] = {}
    o["load"] = float(er.offered_load(CALLS, AHT_S, INTERVAL_S))
    o["pw11"] = float(er.erlang_c(11, LOAD))
    o["pw14"] = float(er.erlang_c(14, LOAD))
    o["sl14"] = float(er.service_level(14, LOAD, AHT_S, THRESHOLD_S))
    o["asa14"] = float(er.asa_seconds(14, LOAD, AHT_S))
    o["occ14"] = float(er.occupancy(14, LOAD))
    raw = er.required_agents(LOAD, AHT_S, THRESHOLD_S, target_service_level=0.8, max_occupancy=0.85)
    o["raw"], o["scheduled"] = int(raw), int(er.apply_shrinkage(raw, 0.30))
    o["sl_by"] = er.service_level([s for s, _ in SL_BY_AGENTS], LOAD, AHT_S, THRESHOLD_S).tolist()
    raw70 = er.required_agents(LOAD, AHT_S, THRESHOLD_S, target_service_level=0.8, max_occupancy=0.70)
    o["raw70"], o["scheduled70"] = int(raw70), int(er.apply_shrinkage(raw70, 0.30))
    o["sl70"] = float(er.service_level(raw70, LOAD, AHT_S, THRESHOLD_S))
    o["occ70"] = float(er.occupancy(raw70, LOAD))
    o["pw70"] = float(er.erlang_c(raw70, LOAD))
    o["b"] = [float(er.erlang_b(s, a)) for s, a, _ in ERLANG_B]
    o["c"] = [float(er.erlang_c(s, a)) for s, a, _ in ERLANG_C]
    o["c1000"] = float(er.erlang_c(1000, 980.0))
    r = er.erlang_a(14, LOAD, AHT_S, PATIENCE_S, THRESHOLD_S)
    o["ea"] = {"delay": float(r.delay_probability), "abandon": float(r.abandon_probability),
               "occupancy": float(r.occupancy), "asa_min": float(r.asa_seconds) / 60,
               "offered": float(r.service_level_offered), "virtual": float(r.service_level_virtual),
               "answered": float(r.service_level_answered)}
    patient = er.erlang_a(14, LOAD, AHT_S, 1e9, THRESHOLD_S)
    o["ea_inf"] = {"delay": float(patient.delay_probability), "sl": float(patient.service_level_offered),
                   "asa": float(patient.asa_seconds)}
    o["ea_zero"] = [float(er.erlang_a(s, a, AHT_S, 1e-6, THRESHOLD_S).delay_probability)
                    for s, a, _ in ERLANG_B]
    # The product path (what `webcare staff --model erlang-c` runs), as tests/test_staff_cli.py.
    from scheduling.requirements import ServiceTarget, requirements

    ds = pd.date_range("2025-03-03 09:00", periods=2, freq="30min", tz=TZ)
    forecast = pd.DataFrame({"channel": "webcare", "ds": ds, "volume": [100.0, 100.0]})
    for key, cap in (("staff", 0.85), ("staff70", 0.70)):
        target = ServiceTarget(target=0.8, within=pd.Timedelta("20s"), aht_seconds=AHT_S, model="erlang-c",
                               shrinkage=0.3, max_occupancy=cap)
        table = requirements(forecast, target).table
        o[key] = {"required": float(table["agents_required"].iloc[0]),
                  "scheduled": float(table["agents_scheduled"].iloc[0]),
                  "sl": float(table["service_level"].iloc[0]), "asa": float(table["asa_seconds"].iloc[0])}
    return o


def textbook_section1() -> dict:
    t: dict[str, Any] = {}
    t["load"] = CALLS * AHT_S / INTERVAL_S
    t["pw11"], t["pw14"] = tb_erlang_c(11, LOAD), tb_erlang_c(14, LOAD)
    t["sl14"], t["asa14"], t["occ14"] = tb_sl(14, LOAD, AHT_S, THRESHOLD_S), tb_asa(14, LOAD, AHT_S), LOAD / 14
    t["raw"] = tb_required(LOAD, AHT_S, THRESHOLD_S, 0.8, 0.85)
    t["scheduled"] = math.ceil(t["raw"] / (1 - 0.30))
    t["sl_by"] = [tb_sl(s, LOAD, AHT_S, THRESHOLD_S) for s, _ in SL_BY_AGENTS]
    t["raw70"] = tb_required(LOAD, AHT_S, THRESHOLD_S, 0.8, 0.70)
    t["scheduled70"] = math.ceil(t["raw70"] / (1 - 0.30))
    t["sl70"] = tb_sl(t["raw70"], LOAD, AHT_S, THRESHOLD_S)
    t["occ70"], t["pw70"] = LOAD / t["raw70"], tb_erlang_c(t["raw70"], LOAD)
    t["b"] = [tb_erlang_b(s, a) for s, a, _ in ERLANG_B]
    t["c"] = [tb_erlang_c(s, a) for s, a, _ in ERLANG_C]
    t["c1000"] = tb_erlang_c(1000, 980.0)
    t["ea"] = tb_erlang_a(14, LOAD, AHT_S, PATIENCE_S, THRESHOLD_S)
    patient = tb_erlang_a(14, LOAD, AHT_S, 1e9, THRESHOLD_S)
    t["ea_inf"] = {"delay": patient["delay"], "sl": patient["offered"], "asa": patient["asa_min"] * 60}
    t["ea_zero"] = [tb_erlang_a(s, a, AHT_S, 1e-6, THRESHOLD_S, queue_states=50)["delay"] for s, a, _ in ERLANG_B]
    return t


def rows_section1(o: dict, t: dict) -> list[Row]:
    S = "1"
    rows = [
        num(S, "offered load A (100 per 30 min, AHT 180 s)", "10", o["load"], t["load"]),
        prob(S, "Erlang C: P(wait), s=11", "0.6821182", o["pw11"], t["pw11"]),
        prob(S, "Erlang C: P(wait), s=14", "0.1741319", o["pw14"], t["pw14"]),
        prob(S, "SL 20 s, s=14", "0.88835", o["sl14"], t["sl14"]),
        num(S, "ASA [s], s=14", "7.836", o["asa14"], t["asa14"]),
        prob(S, "occupancy, s=14", "0.7142857", o["occ14"], t["occ14"]),
        num(S, "raw agents (80% in 20 s, max occupancy 85%)", "14", o["raw"], t["raw"]),
        num(S, "scheduled agents (shrinkage 30%)", "20", o["scheduled"], t["scheduled"]),
    ]
    for (s, pub), ours, tb in zip(SL_BY_AGENTS, o["sl_by"], t["sl_by"]):
        rows.append(prob(S, f"SL by agents, s={s}", pub, ours, tb))
    rows += [
        num(S, "max occupancy 0.70: raw agents", "15", o["raw70"], t["raw70"]),
        num(S, "max occupancy 0.70: scheduled agents", "22", o["scheduled70"], t["scheduled70"]),
        prob(S, "max occupancy 0.70: SL", "0.941", o["sl70"], t["sl70"]),
        prob(S, "max occupancy 0.70: occupancy", "0.667", o["occ70"], t["occ70"]),
        prob(S, "max occupancy 0.70: P(wait)", "0.102", o["pw70"], t["pw70"]),
    ]
    for (s, a, pub), ours, tb in zip(ERLANG_B, o["b"], t["b"]):
        rows.append(prob(S, f"Erlang B({s}, {a:g})", pub, ours, tb))
    for (s, a, pub), ours, tb in zip(ERLANG_C, o["c"], t["c"]):
        rows.append(prob(S, f"Erlang C({s}, {a:g})", pub, ours, tb))
    rows.append(prob(S, "Erlang C(1000, 980) (50-digit arithmetic)", "0.41220029", o["c1000"], t["c1000"]))
    ea, tea = o["ea"], t["ea"]
    for key, label, pub in [("delay", "P(wait)", "0.14526"), ("abandon", "P(abandon)", "0.013984"),
                            ("occupancy", "occupancy", "0.704297"), ("offered", "SL offered", "0.916792"),
                            ("virtual", "SL virtual", "0.918714"), ("answered", "SL answered", "0.929794")]:
        rows.append(prob(S, f"Erlang A (s=14, patience 5 min): {label}", pub, ea[key], tea[key]))
    rows.append(num(S, "Erlang A (s=14, patience 5 min): ASA [min]", "0.069919", ea["asa_min"], tea["asa_min"]))
    rows += [
        prob(S, "Erlang A, patience 1e9 s -> Erlang C: P(wait), s=14", "0.1741319", o["ea_inf"]["delay"],
             t["ea_inf"]["delay"]),
        prob(S, "Erlang A, patience 1e9 s -> Erlang C: SL, s=14", "0.88835", o["ea_inf"]["sl"], t["ea_inf"]["sl"]),
        num(S, "Erlang A, patience 1e9 s -> Erlang C: ASA [s], s=14", "7.836", o["ea_inf"]["asa"],
            t["ea_inf"]["asa"]),
    ]
    for (s, a, pub), ours, tb in zip(ERLANG_B, o["ea_zero"], t["ea_zero"]):
        rows.append(prob(S, f"Erlang A, patience 1e-6 s -> Erlang B({s}, {a:g}): P(wait)", pub, ours, tb))
    st, st70 = o["staff"], o["staff70"]
    rows += [
        num(S, "product path (scheduling.requirements): raw agents", "14", st["required"], t["raw"]),
        num(S, "product path: scheduled agents", "20", st["scheduled"], t["scheduled"]),
        prob(S, "product path: SL", "0.88835", st["sl"], t["sl14"]),
        num(S, "product path: ASA [s]", "7.836", st["asa"], t["asa14"]),
        num(S, "product path, max occupancy 0.70: raw agents", "15", st70["required"], t["raw70"]),
        num(S, "product path, max occupancy 0.70: scheduled agents", "22", st70["scheduled"], t["scheduled70"]),
    ]
    return rows


def ours_section2() -> dict:
    return {"sl11": float(er.service_level(11, 10.0, 360.0, 1800.0)),
            "req99": int(er.required_agents(10.0, 360.0, 1800.0, target_service_level=0.99))}


def textbook_section2() -> dict:
    return {"sl11": tb_sl(11, 10.0, 360.0, 1800.0), "req99": tb_required(10.0, 360.0, 1800.0, 0.99)}


def rows_section2(o, t) -> list[Row]:
    return [prob("2", "A=10, AHT 6 min, 30 min: SL at s=11", "99.5%", o["sl11"], t["sl11"]),
            num("2", "agents for 99% in 30 min = floor(A)+1", "11", o["req99"], t["req99"])]


def overnight(days: int = 2):
    index = pd.date_range(pd.Timestamp("2025-03-04", tz=TZ), periods=96 * days, freq="15min")
    open_share = ((index.hour >= 8) & (index.hour < 22)).astype(float)
    return pd.Series(np.where(open_share > 0, 5.0, 0.75), index=index), open_share


def ours_section3() -> dict:
    arrivals, open_share = overnight()
    deadline = pd.Timedelta(minutes=DEADLINE_MIN)
    out: dict[str, Any] = {}
    for agents in OVERNIGHT_AGENTS:
        result = bl.evaluate_backlog(arrivals, agents, open_share, aht_seconds=AHT_BACKLOG_S, deadline=deadline)
        iv = result.intervals.iloc[:96]  # 2025-03-04
        starts = iv.index.tz_localize(None)
        minute = (starts - starts[0]).total_seconds().to_numpy() / 60.0
        ends = minute + 15.0
        backlog = iv["backlog"].to_numpy()
        at_eight = float(backlog[ends == 8 * 60][0])
        # The fluid backlog falls linearly inside a bucket: exact clearing time in the first
        # open bucket (after 08:00) that ends empty.
        after = np.flatnonzero((ends > 8 * 60) & (backlog <= 1e-9))[0]
        before = float(backlog[after - 1])
        drain = float(iv["capacity"].iloc[after] - iv["arrivals"].iloc[after])
        cleared = minute[after] + 15.0 * before / drain
        day = result.days.iloc[0]
        out[agents] = {"backlog_0800": at_eight, "cleared_min": float(cleared),
                       "late_share": float(day["late"] / day["arrivals"])}
    table = bl.ceiling_table(arrivals, open_share, deadline=deadline, by="day")
    out["ceiling"] = float(table["ceiling"].iloc[0])
    return out


def textbook_section3() -> dict:
    out: dict[str, Any] = {agents: tb_backlog(agents) for agents in OVERNIGHT_AGENTS}
    out["ceiling"] = 1.0 - tb_backlog(1e9)["late_share"]
    return out


def rows_section3(o, t) -> list[Row]:
    S = "3"
    rows = [num(S, "overnight example: backlog at 08:00 (3 agents)", "30", o[3]["backlog_0800"],
                t[3]["backlog_0800"])]
    for agents, pub in OVERNIGHT_AGENTS.items():
        hh, mm = pub.split(":")
        rows.append(num(S, f"backlog cleared, {agents} agents", pub, o[agents]["cleared_min"],
                        t[agents]["cleared_min"], expected=int(hh) * 60 + int(mm), display=clock))
    for agents, pub in OVERNIGHT_LATE.items():
        rows.append(prob(S, f"share late (60 min), {agents} agents", pub, o[agents]["late_share"],
                         t[agents]["late_share"]))
    rows.append(prob(S, "SL ceiling ≈ 1 − share arriving while closed (30/310)", "about 1 − 30/310",
                     o["ceiling"], t["ceiling"], expected=1 - 30 / 310))
    return rows


def ours_section4() -> dict:
    betas = np.array([b for b, _ in HALFIN_WHITT])
    alphas = np.array([_parse(a)[0] for _, a in HALFIN_WHITT])
    h = 1e-6
    slope = (er.halfin_whitt_delay_probability(betas + h) - er.halfin_whitt_delay_probability(betas - h)) / (2 * h)
    return {"alpha": er.halfin_whitt_delay_probability(betas).tolist(),
            "beta": er.halfin_whitt_beta(alphas).tolist(), "slope": slope.tolist()}


def textbook_section4() -> dict:
    return {"alpha": [tb_alpha(b) for b, _ in HALFIN_WHITT],
            "beta": [tb_beta(_parse(a)[0]) for _, a in HALFIN_WHITT]}


def rows_section4(o, t) -> list[Row]:
    rows = [prob("4", f"Halfin-Whitt alpha(beta={b:g})", a, ours, tb)
            for (b, a), ours, tb in zip(HALFIN_WHITT, o["alpha"], t["alpha"])]
    for (b, a), ours, tb, slope in zip(HALFIN_WHITT, o["beta"], t["beta"], o["slope"]):
        # alpha is published to 4 decimals: beta is known to 5e-5 / |alpha'(beta)|.
        row = num("4", f"halfin_whitt_beta({a}) (inverse)", f"{b:g}", ours, tb, expected=b)
        row.tolerance, row.basis = 0.5e-4 / abs(slope), "published digits of alpha"
        rows.append(row)
    return rows


def milp(period: str):
    from scheduling.requirements import ServiceTarget
    from scheduling.roster.shifts import shifts_from_dict
    from scheduling.roster.solve import solve_roster

    cfg = shifts_from_dict({"contracts": {"std": {"hourly_wage": 4.0}}, "premiums": {"holiday_country": ""},
                            "shift": [{"name": "q", "length": "15m", "start_every": "15m"}],
                            "solver": {"time_limit": 20}}, "bench_theory")
    first = pd.Timestamp("2026-03-02 10:00", tz=TZ)
    index = pd.date_range(first.tz_convert("UTC"), periods=5, freq="15min").tz_convert(TZ)
    arrivals = pd.Series(LAMBDA_PER_MIN * 15.0, index=index)
    target = ServiceTarget(target=0.8, within=pd.Timedelta("20s"), aht_seconds=180, model="erlang-c", min_agents=0)
    return solve_roster(cfg, arrivals=arrivals, target=target, period=period)


def global_sl(sl_of_plan, plan) -> float:
    return float(np.sum(LAMBDA_PER_MIN * sl_of_plan(plan)) / LAMBDA_PER_MIN.sum())


def ours_section5(with_milp: bool) -> dict:
    per_interval = er.required_agents(GLOBAL_LOAD, AHT_S, THRESHOLD_S, target_service_level=0.8)

    def sl(plan):
        return er.service_level(np.asarray(plan), GLOBAL_LOAD, AHT_S, THRESHOLD_S)

    table = er.service_level(np.arange(S_MAX + 1)[None, :], GLOBAL_LOAD[:, None], AHT_S, THRESHOLD_S)
    best, choice = tb_best_plans(table, LAMBDA_PER_MIN, STABLE_FLOORS)
    cheapest, plan, plan_sl = cheapest_and_best(best, choice)
    # Without the floors L_t a global target starves the edges completely (THEORY: "add floors").
    free_best, free_choice = tb_best_plans(table, LAMBDA_PER_MIN)
    free = cheapest_and_best(free_best, free_choice)
    out = {"per_interval": per_interval.tolist(), "total": int(per_interval.sum()),
           "global_per_interval": global_sl(sl, per_interval), "global_4_12_20": global_sl(sl, [4, 12, 20, 12, 4]),
           "cheapest": cheapest, "best_plan": plan, "best_sl": plan_sl,
           "edge": float(er.service_level(plan[0], GLOBAL_LOAD[0], AHT_S, THRESHOLD_S)),
           "without_floors": {"agents": free[0], "plan": free[1], "sl": free[2]}}
    if with_milp:
        horizon, bucket = milp("horizon"), milp("bucket")
        out["milp"] = {"status": horizon.status, "objective": float(horizon.objective),
                       "heads": float(horizon.shifts["count"].sum()), "bucket": float(bucket.objective),
                       "reached": float(horizon.service_level.query("period == 'horizon'")["service_level"].iloc[0])}
    return out


def textbook_section5() -> dict:
    def sl(plan):
        return np.array([tb_sl(int(s), a, AHT_S, THRESHOLD_S) for s, a in zip(plan, GLOBAL_LOAD)])

    per_interval = [tb_required(a, AHT_S, THRESHOLD_S, 0.8) for a in GLOBAL_LOAD]
    table = np.array([[tb_sl(s, a, AHT_S, THRESHOLD_S) for s in range(S_MAX + 1)] for a in GLOBAL_LOAD])
    best, choice = tb_best_plans(table, LAMBDA_PER_MIN, STABLE_FLOORS)
    cheapest, plan, plan_sl = cheapest_and_best(best, choice)
    return {"per_interval": per_interval, "total": sum(per_interval),
            "global_per_interval": global_sl(sl, per_interval), "global_4_12_20": global_sl(sl, [4, 12, 20, 12, 4]),
            "cheapest": cheapest, "best_plan": plan, "best_sl": plan_sl,
            "edge": tb_sl(plan[0], GLOBAL_LOAD[0], AHT_S, THRESHOLD_S)}


def rows_section5(o, t) -> list[Row]:
    S = "5"
    rows = [
        num(S, "per-interval staffing (λ = 1,3,5,3,1 /min, 80% in 20 s)", "5, 12, 19, 12, 5", o["per_interval"],
            t["per_interval"], expected=[5, 12, 19, 12, 5]),
        num(S, "per-interval staffing: total", "53", o["total"], t["total"]),
        prob(S, "global SL of the per-interval plan", "82.27%", o["global_per_interval"], t["global_per_interval"]),
        num(S, "cheapest plan with global SL >= 80%, s_t >= floor(A_t)+1 (exhaustive, library SL)", "52",
            o["cheapest"], t["cheapest"]),
        num(S, "highest-SL plan at 52 agents (exhaustive)", "4, 12, 20, 12, 4", o["best_plan"], t["best_plan"],
            expected=[4, 12, 20, 12, 4]),
        prob(S, "its global SL", "80.65%", o["best_sl"], t["best_sl"]),
        prob(S, "global SL of [4, 12, 20, 12, 4]", "80.65%", o["global_4_12_20"], t["global_4_12_20"]),
        prob(S, "edge interval SL of that plan (s=4, A=3)", "54%", o["edge"], t["edge"]),
    ]
    if "milp" in o:
        m = o["milp"]
        rows += [
            num(S, f"roster MILP, global SL >= 80%: cost in agent-buckets ({m['status']})", "52", m["objective"],
                t["cheapest"]),
            num(S, "roster MILP, global SL >= 80%: heads rostered", "52", m["heads"], t["cheapest"]),
            num(S, "roster MILP, 80% in every bucket: cost", "53", m["bucket"], t["total"]),
        ]
    return rows


SECTIONS = [
    ("1", "Erlang B / C / A", ours_section1, textbook_section1, rows_section1),
    ("2", "Long thresholds (webcare)", ours_section2, textbook_section2, rows_section2),
    ("3", "Backlog (fluid FIFO) model", ours_section3, textbook_section3, rows_section3),
    ("4", "Square-root staffing (Halfin-Whitt)", ours_section4, textbook_section4, rows_section4),
    ("5", "Shift scheduling with a global SL", None, textbook_section5, rows_section5),
]


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------


def run(smoke: bool = False) -> dict:
    with_milp = not smoke
    load_before = machine_info()["load_average_1_5_15min"]
    ours_fns = {key: (fn if fn is not None else (lambda: ours_section5(with_milp))) for key, _, fn, _, _ in SECTIONS}
    tb_fns = {key: fn for key, _, _, fn, _ in SECTIONS}
    if with_milp:
        ours_section5(True)  # warm-up: the first call imports pyomo and highspy (not timed)
    ours_times = {key: [] for key in ours_fns}
    tb_times = {key: [] for key in tb_fns}
    ours_vals: dict[str, Any] = {}
    tb_vals: dict[str, Any] = {}
    for _ in range(REPEAT):
        for key in ours_fns:  # alternate ours and textbook so a busy moment hits both
            seconds, ours_vals[key] = timed(ours_fns[key])
            ours_times[key].append(seconds)
            seconds, tb_vals[key] = timed(tb_fns[key])
            tb_times[key].append(seconds)

    rows: list[Row] = []
    parts = []
    for key, title, _, _, make_rows in SECTIONS:
        section_rows = make_rows(ours_vals[key], tb_vals[key])
        rows += section_rows
        table = [{"vector": r.vector, "published": r.published, "ours": show(r.ours, r.display),
                  "abs diff": show_diff(r.diff), "tolerance": f"{r.tolerance:.1e} ({r.basis})",
                  "match": "yes" if r.match else "**NO**", "textbook": show(r.textbook, r.display)}
                 for r in section_rows]
        matching = sum(r.match for r in section_rows)
        parts.append(f"### Section {key}: {title} ({matching} of {len(section_rows)} match)\n\n"
                     + markdown_table(table, formats={c: str for c in table[0]},
                                      align={"published": "r", "ours": "r", "textbook": "r", "abs diff": "r"}))
    parts.append("Sections 6 (opening hours) and 7 (forecasting) publish no numeric test vectors "
                 "(section 7 only fixes the baselines: seasonal naive at lags 24 and 168).")
    parts.insert(3, "Section 3: THEORY says the ceiling is *about* 1 − (share arriving while closed) = 1 − 30/310 "
                 "= 90.3%; the exact fluid ceiling (unlimited staff) is 1 − 27/310 = 91.3%, because the 3 messages "
                 "arriving 07:00-08:00 are answered at 08:00, within the 60-minute deadline. The row is kept at "
                 "THEORY's 1e-3 and so does not match; the rule of thumb is off by the last deadline's worth of "
                 "closed-hour arrivals.")
    free = ours_vals["5"]["without_floors"]
    parts.append("Section 5: the exhaustive search (a dynamic programme over the library's SL table, staffing "
                 f"0-{S_MAX} per interval) uses THEORY's MILP form s_t >= L_t = floor(A_t) + 1, as the roster MILP does. "
                 f"Without these floors a global target of 80% is met by {free['agents']} agents, plan "
                 f"[{', '.join(map(str, free['plan']))}] (global SL {free['sl']:.2%}): the edge intervals get "
                 "nobody, which is THEORY's point that a global target alone starves the edges.")
    if not with_milp:
        parts.append("Smoke run: the roster MILP rows of section 5 (solve_roster, 52 / 53) are skipped.")

    whole_ours = [sum(ours_times[k][i] for k in ours_times) for i in range(REPEAT)]
    whole_tb = [sum(tb_times[k][i] for k in tb_times) for i in range(REPEAT)]
    timing = []
    for key, title, *_ in SECTIONS:
        o_med, t_med = statistics.median(ours_times[key]), statistics.median(tb_times[key])
        timing.append({"vector set": f"section {key}: {title}", "ours (median of 3)": fmt_seconds(o_med),
                       "textbook (median of 3)": fmt_seconds(t_med), "ours / textbook": fmt_ratio(ratio(o_med, t_med))})
    o_all, t_all = statistics.median(whole_ours), statistics.median(whole_tb)
    timing.append({"vector set": "**all vectors**", "ours (median of 3)": fmt_seconds(o_all),
                   "textbook (median of 3)": fmt_seconds(t_all), "ours / textbook": fmt_ratio(ratio(o_all, t_all))})
    parts.append(
        "### Timing of the whole vector set\n\n"
        "Ours: the project's functions as above (section 1 includes the pandas product path "
        "`scheduling.requirements`, section 5 " + ("the two roster MILP solves, warmed up once untimed" if with_milp
                                                    else "no MILP (smoke)") + "). Textbook: "
        "pure-Python Erlang B recursion loops and an incremental staffing search, a truncated "
        "Erlang-A birth-death chain (2,000 queue states) with the Beta waiting-time tails, erf-based "
        "Halfin-Whitt with bisection, a minute-step FIFO cohort loop for the backlog, and a dynamic "
        "programme over the textbook SL table for section 5. Each the median of 3 repetitions, "
        f"ours and textbook alternating, in this run (load average before: {load_before}).\n\n"
        + markdown_table(timing, formats={c: str for c in timing[0]},
                         align={"vector set": "l", "ours (median of 3)": "r", "textbook (median of 3)": "r",
                                "ours / textbook": "r"}))

    probabilities = [r for r in rows if r.basis == "THEORY"]
    failing = [r for r in rows if not r.match]
    figures = {
        "vectors": len(rows),
        "matching": sum(r.match for r in rows),
        "not_matching": "; ".join(f"{r.vector}: published {r.published}, ours {show(r.ours, r.display)}"
                                  for r in failing) or "none",
        "max_abs_difference": max(r.diff for r in rows),
        "max_abs_difference_matching": max(r.diff for r in rows if r.match),
        "max_abs_difference_sl_probabilities": max(r.diff for r in probabilities),
        "milp_included": with_milp,
        "seconds_ours": o_all,
        "seconds_textbook": t_all,
        "ratio_ours_vs_textbook": ratio(o_all, t_all),
    }
    summary = (f"{figures['matching']} of {figures['vectors']} checks match THEORY.md's published values "
               f"(max |difference| {figures['max_abs_difference']:.2g}; over the matching ones "
               f"{figures['max_abs_difference_matching']:.2g}). Tolerance: THEORY's 1e-3 for service levels and "
               "probabilities, 1e-6 relative otherwise, widened to half a unit in the last published digit "
               "where the published value is rounded. Several published values are checked by two paths "
               "(direct and the product path; Erlang C and the Erlang-A limits).")
    if failing:
        summary += " Not matching: " + figures["not_matching"] + "."
    return {"title": "THEORY.md test vectors", "markdown": summary + "\n\n" + "\n\n".join(parts), "figures": figures}


if __name__ == "__main__":
    script_main(run, description=__doc__.splitlines()[0])
