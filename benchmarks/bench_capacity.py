"""Benchmark: the capacity model's speed (issue 4, "Speed").

Two cases, each timed as the median of 3 repetitions with the ratio against a baseline measured
in the same run:

1. **Requirements, 4 channels x 13 weeks at 15 minutes** (about 35,000 buckets): the last 13 whole
   weeks of the bundled sample's hourly intensity (``data/sample/true_intensity.csv.gz``, the
   four channels) as the forecast, opening hours ``daily 07:00-23:00``, 80% within 60 minutes per
   local day, handle time 6 minutes: ``scheduling.requirements.requirements`` with the backlog
   model (goal: <= 5 s). Baselines in the same run: per-interval Erlang C staffing of the same
   forecast (``--model erlang-c``), and the planner without the compiled kernels
   (``compiled=False``, numpy only) on one channel-week (its time is not multiplied up).
   The first call, which includes numba's compile (or loading its cache), is reported apart.
2. **Erlang C staffing over 100,000 intervals** (loads 0.1-100 Erlang, 180 s handle time, 80%
   within 20 s, maximum occupancy 0.85): ``scheduling.erlang.required_agents`` (vectorised)
   against pyworkforce's ``ErlangC(...).required_positions`` called per interval, its intended use.
   pyworkforce (0.5.1) pulls in ortools; it is **not** a dependency of the project. The script
   uses, in this order: pyworkforce importable in this interpreter; else the interpreter named
   by ``$PYWORKFORCE_PYTHON`` (a separate virtualenv, run in a subprocess on the same loads);
   else a faithful reimplementation of pyworkforce's per-interval algorithm (start at
   round(A + 1) agents, raise one at a time, Erlang B by its recursion for every candidate),
   and the markdown says which one was timed. The agent counts are compared interval by
   interval.

    python benchmarks/bench_capacity.py            # full run (about 1-2 minutes)
    python benchmarks/bench_capacity.py --smoke    # a few seconds
    python3.11 -m venv /tmp/pyworkforce-venv && /tmp/pyworkforce-venv/bin/pip install pyworkforce==0.5.1
    PYWORKFORCE_PYTHON=/tmp/pyworkforce-venv/bin/python python benchmarks/bench_capacity.py
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    REPO,
    fmt,
    fmt_ratio,
    fmt_seconds,
    machine_info,
    markdown_table,
    optional_import,
    ratio,
    repeat_timed,
    script_main,
    timed,
)

PEERS = ("pyworkforce",)
TZ = "Europe/Amsterdam"
OPEN = "daily 07:00-23:00"
INTENSITY = REPO / "data" / "sample" / "true_intensity.csv.gz"

_PEER_SCRIPT = r"""
import json, sys, time, statistics
import numpy as np
from pyworkforce.queuing import ErlangC
loads = np.load(sys.argv[1]); repeat = int(sys.argv[2])
aht_min, interval_min = 3.0, 15.0
times = []
for _ in range(repeat):
    t0 = time.perf_counter()
    out = [ErlangC(transactions=a * interval_min / aht_min, aht=aht_min, asa=20 / 60,
                   interval=interval_min).required_positions(service_level=0.8, max_occupancy=0.85)
           ["raw_positions"] for a in loads]
    times.append(time.perf_counter() - t0)
np.save(sys.argv[3], np.asarray(out, dtype=np.int64))
import importlib.metadata as md
print(json.dumps({"times": times, "version": md.version("pyworkforce")}))
"""


def forecast_frame(weeks: int, channels: int) -> pd.DataFrame:
    """The last ``weeks`` whole local weeks (Monday 00:00 on) of the sample's hourly intensity."""
    table = pd.read_csv(INTENSITY)
    ds = pd.to_datetime(table["ds"], utc=True).dt.tz_convert(TZ)
    table = table.assign(ds=ds)
    keep = sorted(table["channel"].unique())[:channels]
    end = ds.max().normalize()
    end = end - pd.Timedelta(days=end.day_of_week)  # a Monday 00:00 local
    start = (end.tz_localize(None) - pd.Timedelta(weeks=weeks)).tz_localize(TZ)
    part = table[(table["ds"] >= start) & (table["ds"] < end) & table["channel"].isin(keep)]
    return part.rename(columns={"intensity": "volume"})[["channel", "ds", "volume"]].reset_index(drop=True)


def pyworkforce_like(loads: np.ndarray, aht: float, threshold: float, target: float, cap: float) -> np.ndarray:
    """pyworkforce 0.5.1's ErlangC.required_positions, per interval, reimplemented faithfully."""
    out = np.empty(loads.size, dtype=np.int64)
    for i, a in enumerate(loads):
        def sl(s):
            inv = 1.0
            for k in range(1, s + 1):
                inv = 1.0 + inv * k / a
            b = 1.0 / inv
            pw = s * b / (s - a * (1 - b))
            return max(0.0, 1.0 - pw * math.exp(-(s - a) * threshold / aht))
        s = round(a + 1)
        while sl(s) < target:
            s += 1
        if a / s > cap:
            s = math.ceil(a / cap)
        out[i] = s
    return out


def erlang_case(n: int, repeat: int) -> dict:
    from scheduling import erlang

    rng = np.random.default_rng(20261123)
    loads = np.round(rng.uniform(0.1, 100.0, n), 4)
    aht, threshold, target, cap = 180.0, 20.0, 0.8, 0.85
    ours_s, ours_times, ours = repeat_timed(
        lambda: erlang.required_agents(loads, aht, threshold, target_service_level=target, max_occupancy=cap),
        repeat=repeat, warmup=1)
    peer_name, peer_times, peer = None, None, None
    module, why = optional_import("pyworkforce.queuing")
    if module is not None:
        import importlib.metadata as md

        def call():
            return np.asarray([module.ErlangC(transactions=a * 15 / 3, aht=3.0, asa=20 / 60, interval=15.0)
                               .required_positions(service_level=target, max_occupancy=cap)["raw_positions"]
                               for a in loads])
        _, peer_times, peer = repeat_timed(call, repeat=repeat)
        peer_name = f"pyworkforce {md.version('pyworkforce')} (imported in this interpreter)"
    elif os.environ.get("PYWORKFORCE_PYTHON"):
        python = os.environ["PYWORKFORCE_PYTHON"]
        with tempfile.TemporaryDirectory() as tmp:
            np.save(Path(tmp) / "loads.npy", loads)
            done = subprocess.run([python, "-c", _PEER_SCRIPT, str(Path(tmp) / "loads.npy"), str(repeat),
                                   str(Path(tmp) / "out.npy")], capture_output=True, text=True, timeout=3600)
            if done.returncode == 0:
                info = json.loads(done.stdout.strip().splitlines()[-1])
                peer_times, peer = info["times"], np.load(Path(tmp) / "out.npy")
                peer_name = (f"pyworkforce {info['version']} in a separate virtualenv ({python}), "
                             "timed inside that process")
            else:
                why = f"PYWORKFORCE_PYTHON={python} failed: {done.stderr.strip()[-300:]}"
    if peer is None:
        _, peer_times, peer = repeat_timed(lambda: pyworkforce_like(loads, aht, threshold, target, cap),
                                           repeat=repeat)
        peer_name = ("a faithful reimplementation of pyworkforce 0.5.1's per-interval ErlangC algorithm "
                     f"(pyworkforce itself not available: {why})")
    peer_s = float(np.median(peer_times))
    same = int((np.asarray(peer) == ours).sum())
    more = int((np.asarray(peer) > ours).sum())
    return {"n": n, "ours_s": ours_s, "ours_times": ours_times, "peer_s": peer_s, "peer_times": list(peer_times),
            "peer_name": peer_name, "same": same, "peer_more": more, "peer_less": n - same - more}


def capacity_case(weeks: int, channels: int, repeat: int, numpy_days: int = 7) -> dict:
    from scheduling.opening_hours import parse_opening_hours
    from scheduling.requirements import ServiceTarget, requirements, to_buckets
    from scheduling import backlog

    forecast = forecast_frame(weeks, channels)
    opening = parse_opening_hours(OPEN)
    target = ServiceTarget(target=0.8, within=pd.Timedelta("60min"), aht_seconds=360.0)
    erlang_target = ServiceTarget(target=0.8, within=pd.Timedelta("60min"), aht_seconds=360.0, model="erlang-c")
    first_s, result = timed(lambda: requirements(forecast, target, opening))
    med, times, result = repeat_timed(lambda: requirements(forecast, target, opening), repeat=repeat)
    base_med, base_times, base = repeat_timed(lambda: requirements(forecast, erlang_target, opening), repeat=repeat)
    # the numpy-only planner on one channel-week (the slow path before the compiled kernels)
    one = forecast[forecast["channel"] == forecast["channel"].iloc[0]]
    one = one[one["ds"] < one["ds"].min() + pd.Timedelta(days=numpy_days)]
    volume = to_buckets(one.set_index("ds")["volume"], pd.Timedelta("1h"))

    def plan(compiled):
        return backlog.required_staffing(volume, opening, aht_seconds=360.0, deadline=pd.Timedelta("60min"),
                                         target=0.8, compiled=compiled)
    week_numpy, _, p_numpy = repeat_timed(lambda: plan(False), repeat=repeat)
    week_fast, _, p_fast = repeat_timed(lambda: plan(True), repeat=repeat) if backlog.HAVE_NUMBA else (float("nan"), [], None)
    same_plan = p_fast is not None and bool((p_fast.agents == p_numpy.agents).all())
    table = result.table
    hours = float(table["agents_required"].sum() / 4)
    return {"buckets": len(table), "channels": channels, "weeks": weeks, "first_s": first_s, "median_s": med,
            "times": times, "erlang_s": base_med, "erlang_times": base_times, "agent_hours": hours,
            "erlang_agent_hours": float(base.table["agents_required"].sum()),
            "reachable": all(result.reachable.values()), "week_numpy_s": week_numpy, "week_fast_s": week_fast,
            "same_plan": same_plan, "numba": backlog.HAVE_NUMBA, "numpy_days": numpy_days}


def run(smoke: bool = False) -> dict:
    weeks, channels, n, repeat = (1, 2, 500, 3) if smoke else (13, 4, 100_000, 3)
    cap = capacity_case(weeks, channels, repeat, numpy_days=1 if smoke else 7)
    erl = erlang_case(n, repeat)
    lines = [
        f"Machine: {machine_info()}.",
        "",
        f"### Requirements: {cap['channels']} channels x {cap['weeks']} weeks at 15 minutes "
        f"({cap['buckets']:,} buckets)",
        "",
        f"Forecast: the sample's hourly intensity (last {cap['weeks']} whole weeks), opening hours `{OPEN}`, "
        "80% within 60 minutes per local day, handle time 6 minutes, backlog model. "
        f"Compiled kernels (numba): {'yes' if cap['numba'] else 'no (numba not installed)'}.",
        "",
        markdown_table([
            {"what": "backlog model: requirements() (goal <= 5 s)", "median": cap["median_s"],
             "runs": ", ".join(fmt(t) for t in cap["times"]), "ratio": ratio(cap["median_s"], cap["erlang_s"])},
            {"what": "baseline: per-interval Erlang C staffing, same forecast", "median": cap["erlang_s"],
             "runs": ", ".join(fmt(t) for t in cap["erlang_times"]), "ratio": 1.0},
            {"what": "first call (includes numba compile or cache load)", "median": cap["first_s"], "runs": "1 run",
             "ratio": ratio(cap["first_s"], cap["erlang_s"])},
        ], columns=["what", "median", "runs", "ratio"], formats={"median": fmt_seconds, "ratio": fmt_ratio}),
        "",
        f"Productive agent-hours planned: {fmt(cap['agent_hours'])} (backlog model; every channel reachable: "
        f"{'yes' if cap['reachable'] else 'no'}).",
        "",
        f"Planner on one channel, {cap['numpy_days']} day(s), compiled against numpy only (median of 3):",
        "",
        markdown_table([
            {"planner": "numpy only (compiled=False): baseline", "median": cap["week_numpy_s"], "ratio": 1.0},
            {"planner": "compiled kernels (numba)", "median": cap["week_fast_s"],
             "ratio": ratio(cap["week_fast_s"], cap["week_numpy_s"])},
        ], formats={"median": fmt_seconds, "ratio": fmt_ratio}),
        "",
        f"Same plan from both: {'yes' if cap['same_plan'] else 'no'}.",
        "",
        f"### Erlang C staffing over {erl['n']:,} intervals",
        "",
        f"Peer timed: {erl['peer_name']}.",
        "",
        markdown_table([
            {"implementation": "scheduling.erlang.required_agents (vectorised)", "median": erl["ours_s"],
             "runs": ", ".join(fmt(t) for t in erl["ours_times"]), "ratio vs peer": ratio(erl["ours_s"], erl["peer_s"])},
            {"implementation": "pyworkforce ErlangC per interval (baseline)", "median": erl["peer_s"],
             "runs": ", ".join(fmt(t) for t in erl["peer_times"]), "ratio vs peer": 1.0},
        ], formats={"median": fmt_seconds, "ratio vs peer": fmt_ratio}),
        "",
        f"Agents per interval: equal in {erl['same']:,} of {erl['n']:,} intervals; pyworkforce asks for more in "
        f"{erl['peer_more']:,} (it starts its search at round(A + 1), above the smallest stable staffing "
        f"floor(A) + 1, so it can miss a smaller staffing that meets the target) and fewer in {erl['peer_less']:,}.",
    ]
    figures = {
        "requirements_4ch_13w_seconds": cap["median_s"],
        "requirements_buckets": cap["buckets"],
        "requirements_ratio_vs_erlang_c": ratio(cap["median_s"], cap["erlang_s"]),
        "requirements_first_call_seconds": cap["first_s"],
        "planner_speedup_vs_numpy": ratio(cap["week_numpy_s"], cap["week_fast_s"]),
        "erlang_c_100k_seconds": erl["ours_s"],
        "erlang_c_ratio_vs_pyworkforce": ratio(erl["ours_s"], erl["peer_s"]),
        "erlang_c_peer": erl["peer_name"].split(" (")[0],
    }
    return {"title": "Capacity model speed", "markdown": "\n".join(lines), "figures": figures}


if __name__ == "__main__":
    script_main(run, description=__doc__.splitlines()[0])
