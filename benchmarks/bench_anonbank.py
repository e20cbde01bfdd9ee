"""Real data: what Erlang C, Erlang A and the simulator predict for a real call centre, against what happened.

Data: ../shared/data/anonbank_calls/january.txt, the Technion "Anonymous Bank" call log of an Israeli
bank, January 1999 (Brown et al. 2005, JASA): one row per call with its VRU exit, time in queue,
outcome (AGENT = served, HANG = hung up, PHANTOM = a system artefact), service start/end, handle
time and agent. Read from ../shared/data (research and teaching use; not copied into the project).

Reconstruction, per clock hour of the month (local time, Asia/Jerusalem; no DST change in January):
  * arrivals to the agents' queue: served calls (AGENT) and calls that hung up *in the queue*
    (HANG with a time in queue > 0), at their queue entry (or, for calls served at once, their
    service start); calls that hung up in the voice-response unit and PHANTOM rows are not offered;
  * handle times: the served calls' ``ser_time``; the hour's mean is its AHT;
  * agents: agent-hours of presence per hour: an agent counts as present while serving and in the
    gap to her next call when it is at most 5 minutes (longer gaps: breaks, other work, shift end);
    a sensitivity table shows the other reconstructions (distinct agents serving in the hour, which
    overstates the staffing, and gaps of 2 and 15 minutes);
  * patience: exponential, mean = total time in queue of all offered calls / number abandoned
    (the maximum-likelihood estimate with censoring by service), over the month.
Then, per hour with agents and arrivals, with a threshold of 20 s (and 60 s):
  * observed: answered within the threshold / offered (abandoned calls count as misses), mean
    wait over all offered calls, abandonment share;
  * Erlang C (no abandonment) and Erlang A (offered service level) with the hour's load, AHT and
    agents; and the simulator run over the whole month with the same hourly staffing:
    (a) Poisson arrivals at the hour's observed count, empirical handle times, exponential
        patience; (b) replay of the real arrival instants and handle times, exponential patience.
Figures are volume-weighted over the hours; errors are predicted - observed in points.

    python benchmarks/bench_anonbank.py [--smoke]
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

DATA = REPO.parent / "shared" / "data" / "anonbank_calls" / "january.txt"
TZ = "Asia/Jerusalem"


def _seconds(text: pd.Series) -> np.ndarray:
    parts = text.astype(str).str.split(":", expand=True).astype(int)
    return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy(dtype=float)


def read_calls(path: Path = DATA, nrows: int | None = None) -> pd.DataFrame:
    """The calls offered to agents: ``arrival`` (tz-aware), ``wait`` [s], ``served`` (bool),
    ``abandoned`` (bool), ``handle`` [s, NaN for abandoned], ``agent``."""
    raw = pd.read_csv(path, sep="\t", nrows=nrows, dtype=str)
    raw.columns = [c.strip() for c in raw.columns]
    day = pd.to_datetime(raw["date"].str.strip(), format="%y%m%d")
    outcome = raw["outcome"].str.strip()
    q_time = raw["q_time"].astype(float).to_numpy()
    served = (outcome == "AGENT").to_numpy()
    abandoned = ((outcome == "HANG") & (q_time > 0)).to_numpy()
    offered = served | abandoned
    q_start, ser_start = _seconds(raw["q_start"]), _seconds(raw["ser_start"])
    vru_exit = _seconds(raw["vru_exit"])
    entry = np.where(q_time > 0, q_start, np.where(served, np.minimum(ser_start, vru_exit), vru_exit))
    # a queue that straddles midnight: the time of day wraps; entries are on the call's date
    arrival = day + pd.to_timedelta(entry, unit="s")
    frame = pd.DataFrame({
        "arrival": pd.DatetimeIndex(arrival).tz_localize(TZ, ambiguous="NaT", nonexistent="NaT"),
        "wait": q_time, "served": served, "abandoned": abandoned,
        "handle": np.where(served, raw["ser_time"].astype(float).to_numpy(), np.nan),
        "agent": raw["server"].str.strip(),
    })[offered]
    frame = frame[frame["arrival"].notna()]
    return frame.sort_values("arrival", kind="stable").reset_index(drop=True)


def hourly_table(calls: pd.DataFrame, thresholds=(20.0, 60.0)) -> pd.DataFrame:
    hour = calls["arrival"].dt.floor("h")
    served = calls[calls["served"]]
    table = pd.DataFrame({
        "arrivals": calls.groupby(hour).size(),
        "abandoned": calls.groupby(hour)["abandoned"].sum(),
        "wait_sum": calls.groupby(hour)["wait"].sum(),
        "aht": served["handle"].where(served["handle"] > 0).groupby(served["arrival"].dt.floor("h")).mean(),
    })
    # agents on duty: distinct agents serving in the hour (by service start)
    start = served["arrival"] + pd.to_timedelta(served["wait"], unit="s")
    table["agents"] = served.groupby(start.dt.floor("h"))["agent"].nunique()
    for t in thresholds:
        ok = calls["served"] & (calls["wait"] <= t)
        table[f"observed_sl_{int(t)}"] = ok.groupby(hour).sum() / table["arrivals"]
    table = table.fillna({"agents": 0, "abandoned": 0})
    table["observed_asa"] = table["wait_sum"] / table["arrivals"]
    return table


def presence_agents(calls: pd.DataFrame, gap_seconds: float = 300.0) -> pd.Series:
    """Agents on duty per hour from the agents' own calls: an agent counts as present while
    serving and in the gap to her next call when it is at most ``gap_seconds`` (longer gaps are
    breaks, back-office work or the end of a shift). Returns agent-hours per clock hour."""
    served = calls[calls["served"] & (calls["handle"] > 0)]
    start = served["arrival"] + pd.to_timedelta(served["wait"], unit="s")
    st = pd.DatetimeIndex(start).as_unit("ns").asi8 // 10**9
    en = st + served["handle"].to_numpy().astype(np.int64)
    order = np.lexsort((st, served["agent"].to_numpy()))
    agent = served["agent"].to_numpy()[order]
    st, en = st[order], en[order]
    same = np.concatenate([agent[1:] == agent[:-1], [False]])
    nxt = np.concatenate([st[1:], [0]])
    gap = nxt - en
    stop = np.where(same & (gap >= 0) & (gap <= gap_seconds), nxt, en)
    h_first, h_last = st // 3600, (np.maximum(stop - 1, st)) // 3600
    base = int(h_first.min())
    acc = np.zeros(int(h_last.max()) - base + 1)
    for k in range(int((h_last - h_first).max()) + 1):
        hour = h_first + k
        inside = hour <= h_last
        hour = hour[inside]
        overlap = np.clip(np.minimum(stop[inside], (hour + 1) * 3600) - np.maximum(st[inside], hour * 3600), 0, None)
        np.add.at(acc, hour - base, overlap)
    index = pd.DatetimeIndex((np.arange(acc.size) + base) * 3600 * 10**9).tz_localize("UTC").tz_convert(TZ).as_unit("us")
    return pd.Series(acc / 3600.0, index=index, name="agents")


def patience_seconds(calls: pd.DataFrame) -> float:
    abandoned = int(calls["abandoned"].sum())
    return float(calls["wait"].sum() / abandoned) if abandoned else float("inf")


def compare(calls: pd.DataFrame, thresholds=(20.0, 60.0), runs: int = 20, seed: int = 1, repeat: int = 3,
            agents: str = "presence", gap_seconds: float = 300.0) -> dict:
    from scheduling import erlang
    from scheduling.simulate import simulate

    table = hourly_table(calls, thresholds)
    if agents == "presence":
        presence = presence_agents(calls, gap_seconds)
        presence.index = presence.index.as_unit("ns")
        table.index = pd.DatetimeIndex(table.index).as_unit("ns")
        table["agents"] = presence.reindex(table.index).fillna(0.0)
    usable = table[(table["agents"] > 0) & (table["arrivals"] > 0) & (table["aht"] > 0)].copy()
    patience = patience_seconds(calls)
    load = usable["arrivals"] * usable["aht"] / 3600.0
    out = {"hours": len(usable), "calls": int(usable["arrivals"].sum()), "patience_seconds": patience,
           "abandonment_observed": float(usable["abandoned"].sum() / usable["arrivals"].sum()),
           "aht_seconds": float(calls.loc[calls["served"] & (calls["handle"] > 0), "handle"].mean()),
           "mean_agents": float(np.average(usable["agents"], weights=usable["arrivals"])),
           "mean_occupancy_offered": float(np.average(load / usable["agents"], weights=usable["arrivals"]))}
    weights = usable["arrivals"].to_numpy()

    def weighted(values):
        values = np.asarray(values, dtype=float)
        return float(np.average(values, weights=weights))

    timings = {}

    def timed(name, fn):
        times, value = [], None
        for _ in range(repeat):
            started = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - started)
        timings[name] = median(times)
        return value

    s, a, h = usable["agents"].to_numpy(), load.to_numpy(), usable["aht"].to_numpy()
    for t in thresholds:
        tag = int(t)
        c = timed(f"erlang_c_{tag}", lambda: erlang.service_level(s, a, h, t))
        ea = timed(f"erlang_a_{tag}", lambda: erlang.erlang_a(s, a, h, patience, t))
        usable[f"erlang_c_sl_{tag}"] = c
        usable[f"erlang_a_sl_{tag}"] = ea.service_level_offered
        if tag == int(thresholds[0]):
            usable["erlang_c_asa"] = erlang.asa_seconds(s, a, h)
            usable["erlang_a_asa"] = ea.asa_seconds
            usable["erlang_a_abandon"] = ea.abandon_probability

    # The simulator over the whole span, hourly grid (hours without agents get 0 agents).
    first = table.index.min()
    grid = pd.date_range(first, table.index.max(), freq="1h")
    volume = table["arrivals"].reindex(grid, fill_value=0).astype(float)
    agents = table["agents"].reindex(grid, fill_value=0).astype(float)
    handles = calls.loc[calls["served"], "handle"].to_numpy()
    handles = handles[handles > 0]
    replay = pd.DataFrame({"ts": calls["arrival"], "handle_time_seconds": calls["handle"]})
    sims = {}
    for label, kwargs in (("poisson", dict(handle_time="empirical", handle_samples=handles)),
                          ("replay", dict(handle_time="replay", replay=replay))):
        for t in thresholds:
            tag = int(t)
            result = timed(f"sim_{label}_{tag}", lambda: simulate(
                volume, agents, aht_seconds=float(np.mean(handles)), deadline=t, runs=runs, seed=seed,
                patience_seconds=patience, warmup=False, **kwargs))
            iv = result.intervals.reindex(usable.index)
            decided = iv["on_time"] + iv["late"]
            usable[f"sim_{label}_sl_{tag}"] = iv["on_time"] / decided.where(decided > 0)
            sims[(label, tag)] = result
    rows = []
    for t in thresholds:
        tag = int(t)
        observed = weighted(usable[f"observed_sl_{tag}"])
        row = {"threshold": f"{tag} s", "observed SL": f"{observed:.1%}"}
        for name, col in (("Erlang C", f"erlang_c_sl_{tag}"), ("Erlang A", f"erlang_a_sl_{tag}"),
                          ("sim Poisson", f"sim_poisson_sl_{tag}"), ("sim replay", f"sim_replay_sl_{tag}")):
            value = weighted(usable[col].fillna(0.0))
            row[name] = f"{value:.1%} ({100 * (value - observed):+.1f})"
            out[f"{col.replace('_sl_' + str(tag), '')}_sl_{tag}"] = value
            out[f"{col.replace('_sl_' + str(tag), '')}_mae_points_{tag}"] = float(
                np.average(np.abs(usable[col].fillna(0.0) - usable[f"observed_sl_{tag}"]), weights=weights) * 100)
        out[f"observed_sl_{tag}"] = observed
        rows.append(row)
    tag0 = int(thresholds[0])
    stable = np.isfinite(usable["erlang_c_asa"].to_numpy(dtype=float))
    waits = {
        "observed": weighted(usable["observed_asa"]),
        "Erlang C": (float(np.average(usable["erlang_c_asa"].to_numpy()[stable], weights=weights[stable]))
                     if stable.any() else float("nan")),
        "Erlang A": weighted(usable["erlang_a_asa"]),
    }
    for label in ("poisson", "replay"):
        result = sims[(label, tag0)]
        runs_ = result.runs
        # mean wait of all offered calls: answered waits (mean per run) and abandoned waits are not
        # separated in the runs table, so report the answered mean and the abandonment share
        waits[f"sim {label} (answered)"] = float(np.average(runs_["mean_response_minutes"], weights=runs_["answered"]) * 60)
        out[f"sim_{label}_abandonment"] = float(runs_["abandoned"].sum() / runs_["arrivals"].sum())
    out["observed_asa_seconds"] = waits["observed"]
    out["erlang_c_asa_seconds_stable_hours"] = waits["Erlang C"]
    out["erlang_a_asa_seconds"] = waits["Erlang A"]
    out["erlang_a_abandonment"] = weighted(usable["erlang_a_abandon"])
    out["unstable_hours_erlang_c"] = int((~np.isfinite(usable["erlang_c_asa"])).sum())
    observed_answered_wait = float(calls.loc[calls["served"], "wait"].mean())
    out["observed_answered_wait_seconds"] = observed_answered_wait
    out["sim_poisson_answered_wait_seconds"] = waits["sim poisson (answered)"]
    out["sim_replay_answered_wait_seconds"] = waits["sim replay (answered)"]
    out["rows"] = rows
    out["timings"] = timings
    out["table"] = usable
    return out


def run(smoke: bool = False) -> dict:
    if not DATA.exists():
        return {"title": "Real call centre (Anonymous Bank, January 1999): models vs what happened",
                "markdown": f"| status |\n|---|\n| skipped: {DATA} is absent |\n",
                "figures": {"skipped": 1}}
    calls = read_calls(nrows=1500 if smoke else None)
    result = compare(calls, runs=3 if smoke else 20, repeat=3)
    sensitivity = []
    for mode, gap in (("heads", 0.0), ("presence", 120.0), ("presence", 300.0), ("presence", 900.0)):
        other = result if (mode, gap) == ("presence", 300.0) else compare(
            calls, runs=3 if smoke else 5, repeat=1, agents=mode, gap_seconds=gap)
        row = {"agents per hour from": "distinct agents serving" if mode == "heads" else f"presence, gaps <= {gap:g} s",
               "agents": fmt(other["mean_agents"]), "load/agents": fmt(other["mean_occupancy_offered"])}
        for r in other["rows"]:
            for name in ("Erlang C", "Erlang A", "sim Poisson", "sim replay"):
                row[f"{name} {r['threshold']}"] = r[name].split(" ")[1].strip("()")
        row["abandon obs/A/sim"] = (f"{other['abandonment_observed']:.1%}/{other['erlang_a_abandonment']:.1%}/"
                                    f"{other['sim_replay_abandonment']:.1%}")
        sensitivity.append(row)
    t = result["timings"]
    base = t["erlang_c_20"]
    timing_rows = [{"method": name, "median s": fmt(sec), "x Erlang C": fmt(ratio(sec, base), 3)}
                   for name, sec in t.items()]
    summary = [
        {"figure": "hours compared (agents and arrivals > 0)", "value": result["hours"]},
        {"figure": "calls offered to agents", "value": f"{result['calls']:,}"},
        {"figure": "mean handle time [s]", "value": fmt(result["aht_seconds"])},
        {"figure": "agents per hour (volume-weighted)", "value": fmt(result["mean_agents"])},
        {"figure": "offered load / agents (volume-weighted)", "value": fmt(result["mean_occupancy_offered"])},
        {"figure": "estimated mean patience [s]", "value": fmt(result["patience_seconds"])},
        {"figure": "abandonment: observed / Erlang A / sim Poisson / sim replay",
         "value": f"{result['abandonment_observed']:.1%} / {result['erlang_a_abandonment']:.1%} / "
                  f"{result['sim_poisson_abandonment']:.1%} / {result['sim_replay_abandonment']:.1%}"},
        {"figure": "mean wait of all offered calls [s]: observed / Erlang A / Erlang C (stable hours only)",
         "value": f"{result['observed_asa_seconds']:.1f} / {result['erlang_a_asa_seconds']:.1f} / "
                  f"{result['erlang_c_asa_seconds_stable_hours']:.1f}"},
        {"figure": "mean wait of answered calls [s]: observed / sim Poisson / sim replay",
         "value": f"{result['observed_answered_wait_seconds']:.1f} / {result['sim_poisson_answered_wait_seconds']:.1f} / "
                  f"{result['sim_replay_answered_wait_seconds']:.1f}"},
        {"figure": "hours where Erlang C is unstable (load >= agents)", "value": result["unstable_hours_erlang_c"]},
    ]
    markdown = (
        ("**Smoke run on the first 1,500 rows.**\n\n" if smoke else "")
        + "Service level = answered within the threshold / offered (abandoned calls are misses). "
        "Volume-weighted over the hours; in brackets the error in points (predicted - observed).\n\n"
        + markdown_table(result["rows"])
        + "\n\nMean absolute error per hour [points], 20 s: "
        + ", ".join(f"{n} {result[f'{k}_mae_points_20']:.1f}" for n, k in
                    (("Erlang C", "erlang_c"), ("Erlang A", "erlang_a"), ("sim Poisson", "sim_poisson"),
                     ("sim replay", "sim_replay")))
        + "\n\n" + markdown_table(summary)
        + "\n\nThe staffing is not in the log and decides the answer. Sensitivity to how agents per hour are "
        "reconstructed (errors in points, predicted - observed; the table above uses presence with gaps <= 300 s):\n\n"
        + markdown_table(sensitivity)
        + "\n\nTime per evaluation of the whole month (median of 3; the simulations are "
        f"{3 if smoke else 20} replications):\n\n" + markdown_table(timing_rows) + "\n"
    )
    figures = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()
               if k not in ("rows", "timings", "table") and isinstance(v, (int, float))}
    return {"title": "Real call centre (Anonymous Bank, January 1999): models vs what happened",
            "markdown": markdown, "figures": figures}


if __name__ == "__main__":
    script_main(run, description=__doc__)
