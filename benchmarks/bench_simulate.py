"""Benchmark: discrete-event simulation speed (goal: >= 100,000 simulated messages per second on one core).

Instance: four weeks of the bundled sample's true hourly intensity, all four channels pooled into
one team (about 30,000 messages a week), staffed at ceil(offered load) + 1 per hour while open
(08:00-22:00), 80% within 60 minutes, AHT 5 minutes, exponential handle times; every run starts
after a warm-up week (the warm-up's messages count as simulated messages, they are simulated).

Measured, each the median of 3 repetitions:
  * simulate():  the whole pipeline (arrivals, handle times, the compiled kernel, the per-day,
                 per-week and per-interval tables) for ``runs`` replications, one thread;
  * kernel:      the compiled queue kernel alone on one replication's arrivals;
  * baseline:    a straightforward pure-Python simulator of the same instance (a heapq of agent
                 free times, the same time-varying staffing and opening hours, FIFO): alone, on one
                 replication's arrivals and handle times, and in place of the kernel inside
                 simulate() (end to end); and the kernel's own code run as plain Python.
The JIT compile time (or the time to load the compiled code from numba's cache) is reported too.

    python benchmarks/bench_simulate.py [--smoke]
"""

from __future__ import annotations

import heapq
import math
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import fmt, markdown_table, median, ratio, script_main  # noqa: E402

TZ = "Europe/Amsterdam"
OPEN = "mon-sun 08:00-22:00"


def _instance(weeks: int):
    from scheduling.requirements import to_buckets

    frame = pd.read_csv(REPO / "data" / "sample" / "true_intensity.csv.gz")
    frame["ds"] = pd.to_datetime(frame["ds"], utc=True).dt.tz_convert(TZ)
    start = pd.Timestamp("2026-03-02", tz=TZ)
    part = frame[(frame["ds"] >= start) & (frame["ds"] < start + pd.Timedelta(days=7 * weeks))]
    hourly = part.groupby("ds")["intensity"].sum()
    agents = to_buckets(np.ceil(hourly * 300 / 3600) + 1, pd.Timedelta("1h")) * 4
    return hourly, agents


def heapq_baseline(arrival, service, bp_time, bp_slots, t_end):
    """Plain Python FIFO multi-server queue with time-varying servers (no numpy in the loop)."""
    arrival = arrival.tolist()
    service = service.tolist()
    bp_time = bp_time.tolist()
    bp_slots = bp_slots.tolist()
    busy: list[float] = []
    start = [math.nan] * len(arrival)
    j = 0
    t = 0.0
    for i, a in enumerate(arrival):
        tau = max(t, a)
        while True:
            if tau >= t_end:
                return start
            while j + 1 < len(bp_time) and bp_time[j + 1] <= tau:
                j += 1
            while busy and busy[0] <= tau:
                heapq.heappop(busy)
            if len(busy) < bp_slots[j]:
                break
            nxt = bp_time[j + 1] if j + 1 < len(bp_time) else t_end
            if busy and busy[0] < nxt:
                nxt = busy[0]
            tau = nxt
        start[i] = tau
        heapq.heappush(busy, tau + service[i])
        t = tau
    return start


def model_vs_simulation(smoke: bool = False) -> list[dict]:
    """The backlog model's cheapest plan against the simulation, and the occupancy margin that
    makes the plan reach the target in simulation (a week of the sample, open 08:00-22:00)."""
    from scheduling.backlog import required_staffing
    from scheduling.opening_hours import parse_opening_hours
    from scheduling.requirements import to_buckets
    from scheduling.simulate import simulate, variability_margin

    frame = pd.read_csv(REPO / "data" / "sample" / "true_intensity.csv.gz")
    frame["ds"] = pd.to_datetime(frame["ds"], utc=True).dt.tz_convert(TZ)
    start = pd.Timestamp("2026-03-02", tz=TZ)
    week = frame[(frame["ds"] >= start) & (frame["ds"] < start + pd.Timedelta(days=7))]
    opening = parse_opening_hours(OPEN)
    cases = [("x", "60min")] if smoke else [
        (c, d) for c in ("all", "whatsapp", "facebook", "x") for d in ("60min", "30min", "15min")]
    runs = 5 if smoke else 30
    rows = []
    for channel, deadline in cases:
        part = week if channel == "all" else week[week["channel"] == channel]
        volume = to_buckets(part.groupby("ds")["intensity"].sum(), pd.Timedelta("1h"))
        plan = required_staffing(volume, opening, aht_seconds=300, deadline=pd.Timedelta(deadline), target=0.8)
        if plan.agents is None:
            rows.append({"channel": channel, "deadline": deadline, "plan": plan.explanation})
            continue
        sim = simulate(volume, plan.agents, aht_seconds=300, deadline=deadline, opening=opening, runs=runs,
                       seed=11, target=0.8)
        margin = variability_margin(volume, opening, aht_seconds=300, deadline=deadline, target=0.8,
                                    kind="occupancy", runs=runs, seed=12)
        check = (simulate(volume, margin.agents, aht_seconds=300, deadline=deadline, opening=opening, runs=runs,
                          seed=13, target=0.8) if margin.found else None)
        hours = float(plan.agents.sum()) / 4
        rows.append({
            "channel": channel, "deadline": deadline,
            "msgs/week": f"{volume.sum():,.0f}",
            "peak agents": int(plan.agents.max()),
            "model SL": f"{plan.evaluation.service_level:.1%}",
            "sim SL (mean)": f"{sim.mean_service_level:.1%}",
            "model - sim [pt]": f"{100 * (plan.evaluation.service_level - sim.mean_service_level):+.1f}",
            "P(run >= 80%)": f"{sim.probability():.2f}",
            "occupancy margin": (f"{margin.margin:.2f} (cap {margin.planning_value:.2f})" if margin.found else "> 0.5"),
            "extra agent-hours": (f"{100 * (float(margin.agents.sum()) / 4 / hours - 1):+.0f}%" if margin.found else "-"),
            "with margin: sim SL, P (fresh seed)": (f"{check.mean_service_level:.1%}, {check.probability():.2f}"
                                                    if check is not None else "-"),
        })
    return rows


def run(smoke: bool = False) -> dict:
    from scheduling import _simkernel as kernel
    from scheduling import simulate as sim

    compile_seconds = kernel.warm_up()
    weeks, runs, repeat = (1, 2, 3) if smoke else (4, 20, 3)
    hourly, agents = _instance(weeks)

    def full():
        return sim.simulate(hourly, agents, aht_seconds=300, deadline="60min", opening=OPEN, runs=runs, seed=1)

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = full()
        times.append(time.perf_counter() - started)
    messages = result.settings["simulated_messages"]
    full_rate = messages / median(times)

    # The same pipeline with the pure-Python heapq loop in place of the compiled kernel.
    def python_queue(arrival, service, patience, order, bounds, bp_time, bp_slots, t_end):
        start = np.asarray(heapq_baseline(arrival, service, bp_time, bp_slots, t_end), dtype=float)
        return start, np.zeros(arrival.size, dtype=bool)

    compiled_module = sim.kernel
    sim.kernel = SimpleNamespace(run_queue=python_queue, waiting_after_arrivals=kernel.waiting_after_arrivals)
    try:
        pipe_times = []
        for _ in range(repeat):
            started = time.perf_counter()
            python_result = full()
            pipe_times.append(time.perf_counter() - started)
    finally:
        sim.kernel = compiled_module
    pipe_rate = python_result.settings["simulated_messages"] / median(pipe_times)
    same_result = python_result.runs.equals(result.runs)

    # One replication's inputs, for the kernel and the baselines.
    plan = sim._prepare(hourly, agents, opening=OPEN, interval=None, shrinkage=0.0, concurrency=1.0,
                        slowdown=None, max_occupancy=1.0, warmup=True)
    spec = sim._Spec(np.array([300.0]), "exponential", 1.0, None, None, 0.0, 1, None, None, None, 3600.0, "real", "pickup")
    rng = np.random.default_rng(5)
    t, code, _ = sim._draw_arrivals(plan, spec, rng)
    service = sim._draw_handle(spec, code, None, rng)
    bp_time, bp_slots, _ = sim._slots_schedule(plan, rng)
    n = t.size
    patience = np.full(n, np.inf)
    order = np.arange(n, dtype=np.int64)
    bounds = np.array([0, n], dtype=np.int64)

    def compiled():
        return kernel.run_queue(t, service, patience, order, bounds, bp_time, bp_slots, plan.t_end)

    kernel_times = []
    for _ in range(repeat):
        started = time.perf_counter()
        start_c, _ = compiled()
        kernel_times.append(time.perf_counter() - started)
    kernel_rate = n / median(kernel_times)

    base_n = n if smoke else min(n, 60_000)
    base_times = []
    for _ in range(repeat):
        started = time.perf_counter()
        start_b = heapq_baseline(t[:base_n], service[:base_n], bp_time, bp_slots, plan.t_end)
        base_times.append(time.perf_counter() - started)
    base_rate = base_n / median(base_times)
    same = np.allclose(np.asarray(start_b), start_c[:base_n], equal_nan=True)

    py_n = min(n, 5_000 if smoke else 20_000)
    py_times = []
    for _ in range(repeat):
        started = time.perf_counter()
        kernel.run_queue.py_func(t[:py_n], service[:py_n], patience[:py_n], order[:py_n],
                                 np.array([0, py_n], dtype=np.int64), bp_time, bp_slots, plan.t_end)
        py_times.append(time.perf_counter() - started)
    py_rate = py_n / median(py_times)

    rows = [
        {"what": f"simulate(): {runs} runs x {weeks} week(s) + warm-up, tables included", "messages": messages,
         "median s": fmt(median(times)), "messages/s": f"{full_rate:,.0f}",
         "x baseline": fmt(ratio(full_rate, pipe_rate), 2)},
        {"what": "baseline: the same simulate() with the pure-Python heapq loop", "messages": messages,
         "median s": fmt(median(pipe_times)), "messages/s": f"{pipe_rate:,.0f}", "x baseline": "1"},
        {"what": "compiled kernel, one replication", "messages": n, "median s": fmt(median(kernel_times)),
         "messages/s": f"{kernel_rate:,.0f}", "x baseline": fmt(ratio(kernel_rate, base_rate), 2)},
        {"what": "baseline: the pure-Python heapq loop alone (same instance)", "messages": base_n,
         "median s": fmt(median(base_times)), "messages/s": f"{base_rate:,.0f}", "x baseline": "1"},
        {"what": "the kernel's code as plain Python (no numba)", "messages": py_n, "median s": fmt(median(py_times)),
         "messages/s": f"{py_rate:,.0f}", "x baseline": fmt(ratio(py_rate, base_rate), 2)},
    ]
    markdown = (
        f"Instance: the sample's true intensity, 4 channels pooled, {weeks} week(s), staffing ceil(load)+1 while "
        f"open ({OPEN}), AHT 5 min, 60-minute deadline. Median of {repeat} repetitions; ratios against the "
        "pure-Python heapq simulator measured in the same run.\n\n"
        + markdown_table(rows)
        + f"\n\nGoal: >= 100,000 simulated messages per second on one core: "
        f"{'met' if full_rate >= 100_000 else 'NOT met'} ({full_rate:,.0f}/s end to end). "
        f"The baseline and the kernel pick up the same messages at the same instants: {same}; "
        f"the two pipelines give identical runs: {same_result}. End-to-end ratio against the pipeline with "
        "the Python loop, kernel ratios against the Python loop alone. "
        f"JIT compile (or cache load) before the first run: {compile_seconds:.2f} s.\n"
    )
    comparison = model_vs_simulation(smoke)
    markdown += (
        "\n### The backlog model's cheapest plan vs the simulation\n\n"
        "A week of the sample's true intensity (from 2026-03-02), open " + OPEN + ", AHT 5 min, target 80% per "
        "day, the plan of `required_staffing` (occupancy cap 1). The occupancy margin is the smallest cut of "
        "the planning occupancy cap (0.05 steps) whose plan reaches 80% on the mean of the simulated runs; "
        "the last column re-simulates that plan with fresh random numbers.\n\n"
        + markdown_table(comparison) + "\n"
    )
    return {
        "title": "Discrete-event simulation speed",
        "markdown": markdown,
        "figures": {
            "messages_per_second": round(full_rate),
            "kernel_messages_per_second": round(kernel_rate),
            "baseline_messages_per_second": round(base_rate),
            "pipeline_baseline_messages_per_second": round(pipe_rate),
            "speedup_vs_baseline": round(ratio(full_rate, pipe_rate), 2),
            "kernel_speedup_vs_baseline": round(ratio(kernel_rate, base_rate), 2),
            "compile_seconds": round(compile_seconds, 3),
            "baseline_agrees": bool(same and same_result),
        },
    }


if __name__ == "__main__":
    script_main(run, description=__doc__)
