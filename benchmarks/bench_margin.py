"""Benchmark: the backlog model's variability margin (scheduling/margin.py) checked by simulation.

For a week of the bundled sample's true intensity (all channels pooled, and each of whatsapp,
facebook, instagram, x alone; deadlines 60, 30 and 15 minutes; AHT 5 min; open 08:00-22:00;
80% per day), three plans are simulated (scheduling.simulate, exponential handle times, fixed
seeds, warm-up week):

* fluid only: ``scheduling.backlog.required_staffing`` (occupancy cap 1), the cheapest fluid plan;
* Erlang C alone: per interval, the Erlang C staffing for the interval's load with the deadline as
  the threshold and 80% as the service level (the classical per-interval method);
* margin: ``scheduling.margin.plan_with_margin`` (square-root occupancy cap 1 - c / sqrt(messages
  per deadline) with c = 0.8, and the Erlang C floor).

The margin plan is simulated twice (the seed the default strength was chosen on, and a fresh
one), and the whole table is repeated on a second week the strength was not chosen on. A second
table measures the other candidate margins on eight of the cases; the last one the planning time
on 13 weeks x 4 channels at 15 minutes (34,944 intervals), median of 3, against the bare fluid
plan measured in the same run.

    python benchmarks/bench_margin.py [--smoke]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import fmt, markdown_table, median, ratio, script_main  # noqa: E402

TZ = "Europe/Amsterdam"
OPEN = "mon-sun 08:00-22:00"
AHT = 300.0
TARGET = 0.8
WEEK = "2026-03-02"          # the week the default strength was chosen on
CHECK_WEEK = "2026-09-07"    # a week it was not
CHANNELS = ("all", "whatsapp", "facebook", "instagram", "x")
DEADLINES = ("60min", "30min", "15min")


def _frame() -> pd.DataFrame:
    frame = pd.read_csv(REPO / "data" / "sample" / "true_intensity.csv.gz")
    frame["ds"] = pd.to_datetime(frame["ds"], utc=True).dt.tz_convert(TZ)
    return frame


def volume(frame: pd.DataFrame, channel: str, start: str, days: int = 7) -> pd.Series:
    """Messages per 15-minute bucket of one channel (or ``all`` pooled) from ``start``."""
    from scheduling.requirements import to_buckets

    first = pd.Timestamp(start, tz=TZ)
    part = frame[(frame["ds"] >= first) & (frame["ds"] < first + pd.Timedelta(days=days))]
    if channel != "all":
        part = part[part["channel"] == channel]
    return to_buckets(part.groupby("ds")["intensity"].sum(), pd.Timedelta("1h"))


def _hours(agents) -> float:
    return float(np.asarray(agents, dtype=float).sum()) / 4.0


def _sim(vol, agents, deadline, runs, seed):
    from scheduling.simulate import simulate

    return simulate(vol, agents, aht_seconds=AHT, deadline=deadline, opening=OPEN, runs=runs, seed=seed,
                    target=TARGET)


def case_row(vol: pd.Series, channel: str, deadline: str, runs: int, seed: int = 11,
             fresh_seed: int | None = 23) -> dict:
    """One line of the main table (figures as numbers; formatted by :func:`_format`)."""
    from scheduling.backlog import required_staffing
    from scheduling.margin import plan_with_margin

    bare = required_staffing(vol, OPEN, aht_seconds=AHT, deadline=deadline, target=TARGET)
    margin = plan_with_margin(vol, OPEN, aht_seconds=AHT, deadline=deadline, target=TARGET)
    erlang_only = margin.margin.floor
    row = {"case": f"{channel}, {deadline.replace('min', ' min')}", "msgs/week": float(vol.sum())}
    if bare.agents is not None:
        s = _sim(vol, bare.agents, deadline, runs, seed)
        row.update(fluid_hours=_hours(bare.agents), fluid_model=bare.evaluation.service_level,
                   fluid_sim=s.mean_service_level, fluid_p=s.probability())
    s = _sim(vol, erlang_only, deadline, runs, seed)
    row.update(erlang_hours=_hours(erlang_only), erlang_sim=s.mean_service_level)
    if margin.agents is not None:
        s = _sim(vol, margin.agents, deadline, runs, seed)
        row.update(margin_hours=_hours(margin.agents), margin_model=margin.evaluation.service_level,
                   margin_bare_model=margin.fluid_evaluation.service_level,
                   margin_predicted=margin.predicted_service_level, margin_sim=s.mean_service_level,
                   margin_p=s.probability())
        if fresh_seed is not None:
            row["margin_sim_fresh"] = _sim(vol, margin.agents, deadline, runs, fresh_seed).mean_service_level
    return row


def _pct(v, digits=1):
    return "-" if v is None or not np.isfinite(v) else f"{100 * v:.{digits}f}%"


def _format(row: dict) -> dict:
    fh, mh, eh = row.get("fluid_hours"), row.get("margin_hours"), row.get("erlang_hours")
    out = {
        "case": row["case"],
        "msgs/week": f"{row['msgs/week']:,.0f}",
        "fluid only: agent-h, sim SL": (f"{fh:.0f}, {_pct(row['fluid_sim'])}" if fh is not None else "-"),
        "Erlang C alone: agent-h, sim SL": f"{eh:.0f}, {_pct(row['erlang_sim'])}",
        "margin: agent-h": f"{mh:.0f}" if mh is not None else "-",
        "extra vs fluid only": (f"{100 * (mh / fh - 1):+.0f}%" if mh is not None and fh else "-"),
        "extra vs Erlang C alone": (f"{100 * (mh / eh - 1):+.0f}%" if mh is not None and eh else "-"),
        "margin: model SL predicted (with / without margin)": (
            f"{_pct(row['margin_predicted'])} ({_pct(row['margin_model'])} / {_pct(row['margin_bare_model'])})"
            if mh is not None else "-"),
        "margin: sim SL, P(run >= 80%)": (f"{_pct(row['margin_sim'])}, {row['margin_p']:.2f}" if mh is not None else "-"),
    }
    if "margin_sim_fresh" in row:
        out["margin: sim SL, fresh seed"] = _pct(row["margin_sim_fresh"])
    return out


def alternatives(frame, runs: int, cases) -> list[dict]:
    """The other candidate margins on a few cases: agent-hours and simulated SL."""
    from scheduling import erlang
    from scheduling.backlog import evaluate_backlog, messages_per_agent, required_staffing
    from scheduling.margin import plan_with_margin
    from scheduling.opening_hours import open_fraction

    rows = []
    for channel, deadline in cases:
        vol = volume(frame, channel, WEEK)
        share = open_fraction(vol.index, OPEN, freq=pd.Timedelta("15min")).to_numpy()
        load = vol.to_numpy(dtype=float) * AHT / 900.0
        rate = float(messages_per_agent(900.0, AHT))
        bare = required_staffing(vol, OPEN, aht_seconds=AHT, deadline=deadline, target=TARGET)
        base_hours = _hours(bare.agents)

        def floor_aware(floor):
            floor = np.where(share > 0, np.maximum(floor, 1), 0).astype(float)
            plan = required_staffing(vol, share, aht_seconds=AHT, deadline=deadline, target=TARGET, min_agents=0,
                                     base_capacity=floor * share * rate)
            return floor + plan.agents.to_numpy(dtype=float)

        threshold = pd.Timedelta(deadline).total_seconds()
        plans = {
            "(1) Erlang C floor (deadline, 80%), fluid on top": floor_aware(
                erlang.required_agents(load, AHT, threshold, target_service_level=TARGET)),
            "(1) Erlang C floor (deadline, 95%), fluid on top": floor_aware(
                erlang.required_agents(load, AHT, threshold, target_service_level=0.95)),
            "(2) sqrt safety floor R + 1.0 sqrt(R), fluid on top": floor_aware(np.ceil(load + np.sqrt(load) - 1e-9)),
            "(4) fluid plan for half the deadline": required_staffing(
                vol, OPEN, aht_seconds=AHT, deadline=pd.Timedelta(deadline) / 2, target=TARGET).agents,
            "(3) margin: cap 1 - 0.8/sqrt(N) + Erlang C floor (default)": plan_with_margin(
                vol, OPEN, aht_seconds=AHT, deadline=deadline, target=TARGET).agents,
        }
        for name, agents in plans.items():
            if agents is None:
                rows.append({"case": f"{channel}, {deadline}", "margin": name, "extra agent-h": "unreachable"})
                continue
            s = _sim(vol, agents, deadline, runs, 11)
            model = evaluate_backlog(vol, np.asarray(agents, dtype=float), share, aht_seconds=AHT, deadline=deadline)
            rows.append({"case": f"{channel}, {deadline.replace('min', ' min')}", "margin": name,
                         "extra agent-h": f"{100 * (_hours(agents) / base_hours - 1):+.0f}%",
                         "fluid model SL": _pct(model.service_level), "sim SL": _pct(s.mean_service_level),
                         "P(run >= 80%)": f"{s.probability():.2f}"})
    return rows


CONDITIONS = [
    # label, channel, deadline, planning and simulation settings, simulation-only settings
    ("concurrency 2", "whatsapp", "30min", {"concurrency": 2.0}, {}),
    ("concurrency 2", "facebook", "15min", {"concurrency": 2.0}, {}),
    ("occupancy cap 0.85", "all", "60min", {"max_occupancy": 0.85}, {}),
    ("occupancy cap 0.85", "x", "30min", {"max_occupancy": 0.85}, {}),
    ("business clock", "whatsapp", "60min", {"clock": "business"}, {}),
    ("lognormal handle times, cv 1.5 (sim only)", "whatsapp", "60min", {}, {"handle_time": "lognormal", "handle_cv": 1.5}),
    ("burstiness 0.1 per interval (sim only)", "all", "60min", {}, {"burstiness": 0.1}),
    ("burstiness 0.1 per interval (sim only)", "whatsapp", "15min", {}, {"burstiness": 0.1}),
]


def conditions(frame, runs: int, rows_wanted) -> list[dict]:
    """The margin under other settings, and under more randomness than Poisson / exponential."""
    from scheduling.backlog import required_staffing
    from scheduling.margin import plan_with_margin
    from scheduling.simulate import simulate

    rows = []
    for label, channel, deadline, settings, sim_only in rows_wanted:
        vol = volume(frame, channel, WEEK)
        bare = required_staffing(vol, OPEN, aht_seconds=AHT, deadline=deadline, target=TARGET, **settings)
        plan = plan_with_margin(vol, OPEN, aht_seconds=AHT, deadline=deadline, target=TARGET, **settings)

        def sim(agents, n):
            return simulate(vol, agents, aht_seconds=AHT, deadline=deadline, opening=OPEN, runs=n, seed=41,
                            target=TARGET, **settings, **sim_only)

        b, m = sim(bare.agents, max(2, runs // 2)), sim(plan.agents, runs)
        rows.append({"setting": label, "case": f"{channel}, {deadline.replace('min', ' min')}",
                     "fluid only: agent-h, sim SL": f"{_hours(bare.agents):.0f}, {_pct(b.mean_service_level)}",
                     "margin: agent-h": f"{_hours(plan.agents):.0f}",
                     "extra": f"{100 * (_hours(plan.agents) / _hours(bare.agents) - 1):+.0f}%",
                     "model SL predicted (range)": (f"{_pct(plan.predicted_service_level)} "
                                                    f"({_pct(plan.service_level_range[0])}-{_pct(plan.service_level_range[1])})"),
                     "margin: sim SL, P": f"{_pct(m.mean_service_level)}, {m.probability():.2f}"})
    return rows


def strength_sweep(frame, runs: int, cases, strengths) -> list[dict]:
    """The margin's strength c: worst simulated SL and extra agent-hours over the cases."""
    from scheduling.backlog import required_staffing
    from scheduling.margin import plan_with_margin

    vols = {(c, d): volume(frame, c, WEEK) for c, d in cases}
    base = {}
    for (c, d), vol in vols.items():
        plan = required_staffing(vol, OPEN, aht_seconds=AHT, deadline=d, target=TARGET)
        base[(c, d)] = _hours(plan.agents) if plan.agents is not None else float("nan")
    rows = []
    for strength in strengths:
        sims, extra, worst = [], [], None
        for (c, d), vol in vols.items():
            plan = plan_with_margin(vol, OPEN, aht_seconds=AHT, deadline=d, target=TARGET, strength=strength)
            if plan.agents is None:
                continue
            sl = _sim(vol, plan.agents, d, runs, 11).mean_service_level
            if not sims or sl < min(sims):
                worst = f"{c}, {d.replace('min', ' min')}"
            sims.append(sl)
            extra.append(_hours(plan.agents) / base[(c, d)] - 1)
        rows.append({"strength c": f"{strength:g}", "cases": len(sims),
                     "reaching 80% (sim mean)": sum(v >= TARGET for v in sims),
                     "worst sim SL": _pct(min(sims)), "worst case": worst,
                     "median extra agent-h": f"{100 * float(np.median(extra)):+.0f}%",
                     "max extra agent-h": f"{100 * max(extra):+.0f}%"})
    return rows


def speed(frame, weeks: int, channels, repeat: int = 3) -> tuple[list[dict], dict]:
    from scheduling.backlog import required_staffing
    from scheduling.margin import plan_with_margin

    vols = [volume(frame, c, WEEK, days=7 * weeks) for c in channels]
    n = sum(len(v) for v in vols)

    def bare():
        return [required_staffing(v, OPEN, aht_seconds=AHT, deadline="60min", target=TARGET) for v in vols]

    def with_margin():
        return [plan_with_margin(v, OPEN, aht_seconds=AHT, deadline="60min", target=TARGET) for v in vols]

    bare()  # compile / warm the numba kernels once
    times = {}
    for name, fn in (("bare", bare), ("margin", with_margin)):
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - started)
        times[name] = median(runs)
    rows = [
        {"what": f"required_staffing (fluid only), {len(vols)} channel(s) x {weeks} week(s)", "intervals": f"{n:,}",
         "median s": fmt(times["bare"]), "x baseline": "1"},
        {"what": "plan_with_margin (cap + Erlang C floor + the same planner)", "intervals": f"{n:,}",
         "median s": fmt(times["margin"]), "x baseline": fmt(ratio(times["margin"], times["bare"]), 2)},
    ]
    return rows, {"intervals": n, "bare_seconds": times["bare"], "margin_seconds": times["margin"]}


def run(smoke: bool = False) -> dict:
    frame = _frame()
    runs = 3 if smoke else 30
    cases = [("x", "60min")] if smoke else [(c, d) for c in CHANNELS for d in DEADLINES]
    main = [case_row(volume(frame, c, WEEK), c, d, runs) for c, d in cases]
    check = [] if smoke else [case_row(volume(frame, c, CHECK_WEEK), c, d, runs, seed=31, fresh_seed=None)
                              for c, d in cases]
    alt_cases = [("x", "60min")] if smoke else [(c, d) for c in ("all", "whatsapp", "facebook", "x")
                                                  for d in ("60min", "15min")]
    alt = alternatives(frame, runs, alt_cases)
    other = conditions(frame, 3 if smoke else 20, CONDITIONS[3:4] if smoke else CONDITIONS)
    sweep = strength_sweep(frame, runs, [("x", "60min")] if smoke else cases,
                           (0.5, 0.8) if smoke else (0.5, 0.6, 0.7, 0.8, 1.0))
    speed_rows, timing = speed(frame, 1 if smoke else 13, ("x",) if smoke else ("whatsapp", "facebook", "instagram", "x"))

    def summary(rows):
        sims = [r["margin_sim"] for r in rows if "margin_sim" in r]
        sims += [r["margin_sim_fresh"] for r in rows if "margin_sim_fresh" in r]
        extra = [r["margin_hours"] / r["fluid_hours"] - 1 for r in rows if "margin_hours" in r and "fluid_hours" in r]
        vs_erlang = [r["margin_hours"] / r["erlang_hours"] - 1 for r in rows if "margin_hours" in r]
        gap = [abs(r["margin_model"] - r["margin_sim"]) for r in rows if "margin_sim" in r]
        gap_bare = [abs(r["margin_bare_model"] - r["margin_sim"]) for r in rows if "margin_sim" in r]
        gap_mid = [abs(r["margin_predicted"] - r["margin_sim"]) for r in rows if "margin_sim" in r]
        inside = sum(r["margin_model"] - 0.005 <= r["margin_sim"] <= r["margin_bare_model"] + 0.005
                     for r in rows if "margin_sim" in r)
        return sims, extra, vs_erlang, gap, gap_bare, gap_mid, inside

    sims, extra, vs_erlang, gap, gap_bare, gap_mid, inside = summary(main)
    markdown = (
        f"A week of the sample's true intensity (from {WEEK}), open {OPEN}, AHT 5 min, exponential handle times, "
        f"target 80% per day; {runs} simulated runs per plan (seed 11; fresh seed 23), each after a warm-up week. "
        "Agent-hours are productive agent-hours in the week. *Model SL* for the margin plan: the prediction (the "
        "middle of the range), and in brackets the model with the margin (the capped occupancy it was planned "
        "with) / without it (the bare fluid).\n\n"
        + markdown_table([_format(r) for r in main]) + "\n"
    )
    if check:
        c_sims, c_extra, _, c_gap, c_gap_bare, c_gap_mid, c_inside = summary(check)
        markdown += (
            f"\n### Out of sample: the week from {CHECK_WEEK} (seed 31)\n\n"
            + markdown_table([_format(r) for r in check]) + "\n"
        )
    markdown += (
        "\n### The candidate margins (the same week; extra agent-hours against the fluid-only plan)\n\n"
        + markdown_table(alt) + "\n"
        "\n### Other settings, and more randomness than the margin was made for (the same week; seed 41; "
        f"{3 if smoke else 20} runs for the margin plan)\n\n" + markdown_table(other) + "\n"
        "\n### The margin's strength c (the same week and seed; 1 - c / sqrt(messages per deadline))\n\n"
        + markdown_table(sweep) + "\n"
        f"\n### Planning time ({'smoke: 1 week of x' if smoke else '13 weeks x 4 channels at 15 minutes, 60-minute deadline'}; "
        "median of 3, ratio against the bare fluid plan in the same run)\n\n" + markdown_table(speed_rows) + "\n"
    )
    figures = {
        "cases": len(main),
        "min_margin_sim_sl": round(min(sims), 4) if sims else float("nan"),
        "max_extra_vs_fluid": round(max(extra), 3) if extra else float("nan"),
        "median_extra_vs_fluid": round(float(np.median(extra)), 3) if extra else float("nan"),
        "median_extra_vs_erlang_c": round(float(np.median(vs_erlang)), 3) if vs_erlang else float("nan"),
        "max_model_minus_sim_pt": round(100 * max(gap), 2) if gap else float("nan"),
        "max_bare_model_minus_sim_pt": round(100 * max(gap_bare), 2) if gap_bare else float("nan"),
        "max_predicted_minus_sim_pt": round(100 * max(gap_mid), 2) if gap_mid else float("nan"),
        "sim_inside_model_range": inside,
        "planning_seconds_margin": round(timing["margin_seconds"], 3),
        "planning_seconds_bare": round(timing["bare_seconds"], 3),
        "planning_intervals": timing["intervals"],
    }
    if check:
        figures["check_week_min_margin_sim_sl"] = round(min(c_sims), 4) if c_sims else float("nan")
        figures["check_week_max_model_minus_sim_pt"] = round(100 * max(c_gap), 2) if c_gap else float("nan")
        figures["check_week_max_bare_model_minus_sim_pt"] = round(100 * max(c_gap_bare), 2) if c_gap_bare else float("nan")
        figures["check_week_max_predicted_minus_sim_pt"] = round(100 * max(c_gap_mid), 2) if c_gap_mid else float("nan")
        figures["check_week_sim_inside_model_range"] = c_inside
    return {"title": "Variability margin of the backlog model, checked by simulation", "markdown": markdown,
            "figures": figures}


if __name__ == "__main__":
    script_main(run, description=__doc__.splitlines()[0])
