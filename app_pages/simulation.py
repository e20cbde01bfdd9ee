"""The simulator's figures for the pages (scheduling/simulate.py, imported lazily): the
probability that a plan reaches its target, per channel, from replications of the plan."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app_pages.common import optional_module

RUNS = 20


@st.cache_data(show_spinner=False, max_entries=32)
def _probabilities(key: str, settings_json: str, _forecast: pd.DataFrame, _table: pd.DataFrame, runs: int) -> tuple[dict, pd.DataFrame]:
    from scheduling.simulate import simulate
    from webcare.scenarios import PlanSettings, volume_of

    settings = PlanSettings.from_dict(json.loads(settings_json))
    volume = volume_of(_forecast, settings)
    out, days = {}, []
    for channel, p in settings.channels.items():
        part = volume[volume["channel"] == channel][["ds", "volume"]]
        heads = _table[_table["channel"] == channel][["ds", "agents_scheduled"]].rename(columns={"agents_scheduled": "agents"})
        heads = heads.assign(agents=heads["agents"].astype(float).fillna(0.0))
        result = simulate(part, heads, aht_seconds=p.aht_seconds * (1 + settings.aht_change),
                          deadline=pd.Timedelta(minutes=p.within_minutes), runs=runs, seed=0,
                          opening=settings.opening_hours(), shrinkage=settings.shrinkage, concurrency=p.concurrency,
                          max_occupancy=settings.max_occupancy, target=p.target)
        out[channel] = {"probability": result.probability(p.target), "mean_service_level": result.mean_service_level,
                        "p10": result.quantile(0.1), "p90": result.quantile(0.9)}
        days.append(result.days[["run", "date", "on_time", "late"]].assign(channel=channel))
    # per local day, all channels together: the mean simulated SL and the share of runs reaching the target
    per_run = pd.concat(days, ignore_index=True).groupby(["date", "run"])[["on_time", "late"]].sum()
    per_run["service_level"] = per_run["on_time"] / (per_run["on_time"] + per_run["late"]).where(lambda v: v > 0)
    target = min(p.target for p in settings.channels.values())
    by_day = per_run.groupby(level="date")["service_level"].agg(
        simulated_service_level="mean", probability=lambda v: float((v.dropna() >= target - 1e-12).mean()))
    return out, by_day.reset_index()


def simulated(forecast: pd.DataFrame, settings, evaluation, key: str, runs: int = RUNS) -> dict | None:
    """Per channel: probability of reaching the target over ``runs`` replications of the plan's
    staffing, mean SL and its 10th/90th percentile; None while the simulator is not available."""
    if optional_module("scheduling.simulate") is None:
        return None
    return _probabilities(key, json.dumps(settings.to_dict(), sort_keys=True), forecast, evaluation.plan.table, runs)[0]


def simulated_days(forecast: pd.DataFrame, settings, evaluation, key: str, runs: int = RUNS) -> pd.DataFrame | None:
    """Per local day (all channels): mean simulated SL and the share of runs reaching the target."""
    if optional_module("scheduling.simulate") is None:
        return None
    return _probabilities(key, json.dumps(settings.to_dict(), sort_keys=True), forecast, evaluation.plan.table, runs)[1]
