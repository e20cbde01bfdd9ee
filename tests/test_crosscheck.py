"""Cross-checks of the simulator against Erlang C / Erlang A (stationary) and the backlog model.

Every check is seeded, so it is deterministic; the number of simulated messages is chosen so that
the standard error of the simulated service level is well below the tolerance (measured: 0.3-0.6
points for 0.5-1 million messages at occupancies up to 0.91).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scheduling import erlang
from scheduling.backlog import evaluate_backlog
from scheduling.opening_hours import open_fraction, parse_opening_hours
from scheduling.requirements import to_buckets
from scheduling.simulate import simulate, variability_margin

TZ = "Europe/Amsterdam"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "true_intensity.csv.gz"


def _stationary(load, aht, days=28):
    index = pd.date_range("2026-03-02", periods=days * 24, freq="1h", tz=TZ)
    return pd.Series(load * 3600.0 / aht, index=index)


# THEORY.md section 1: A = 10 (100 per 30 min, AHT 180 s), 80% in 20 s, s = 11..14; and others.
ERLANG_C_CASES = [
    (10.0, 11, 180.0, 20.0, 8),    # occupancy 0.91: SL 0.3896
    (10.0, 12, 180.0, 20.0, 4),    # 0.6402
    (10.0, 13, 180.0, 20.0, 4),    # 0.7956
    (10.0, 14, 180.0, 20.0, 4),    # 0.8884 (the published example)
    (2.0, 3, 600.0, 300.0, 16),    # a small team, long service
    (40.0, 44, 300.0, 60.0, 2),    # a larger team
]


@pytest.mark.parametrize("load, agents, aht, threshold, runs", ERLANG_C_CASES)
def test_stationary_simulation_matches_erlang_c(load, agents, aht, threshold, runs):
    result = simulate(_stationary(load, aht), agents, aht_seconds=aht, deadline=threshold, runs=runs,
                      seed=11, warmup=False)
    expected = float(erlang.service_level(agents, load, aht, threshold))
    simulated = result.mean_service_level
    assert result.runs["arrivals"].sum() > 60_000
    assert abs(simulated - expected) < 0.015, (simulated, expected)
    # Mean wait too (ASA), within 15% or 2 seconds.
    asa = float(erlang.asa_seconds(agents, load, aht))
    answered = result.runs["answered"]
    mean_wait = float(np.average(result.runs["mean_response_minutes"], weights=answered)) * 60
    assert abs(mean_wait - asa) < max(0.15 * asa, 2.0), (mean_wait, asa)


ERLANG_A_CASES = [
    (10.0, 14, 180.0, 300.0, 20.0),  # THEORY.md: SL offered 0.916792, P(abandon) 0.013984
    (10.0, 9, 180.0, 120.0, 20.0),   # overloaded: only patience keeps it stable
    (5.0, 6, 240.0, 60.0, 30.0),     # impatient customers, small team
]


@pytest.mark.parametrize("load, agents, aht, patience, threshold", ERLANG_A_CASES)
def test_stationary_simulation_with_abandonment_matches_erlang_a(load, agents, aht, patience, threshold):
    result = simulate(_stationary(load, aht), agents, aht_seconds=aht, deadline=threshold, runs=4, seed=12,
                      patience_seconds=patience, warmup=False)
    expected = erlang.erlang_a(agents, load, aht, patience, threshold)
    runs = result.runs
    assert abs(result.mean_service_level - float(expected.service_level_offered)) < 0.015
    abandoned = runs["abandoned"].sum() / runs["arrivals"].sum()
    assert abs(abandoned - float(expected.abandon_probability)) < 0.01 + 0.1 * float(expected.abandon_probability)


def test_published_vector_erlang_a_theory():
    """The THEORY.md vector itself, in numbers: 0.916792 offered SL at s = 14, patience 5 min."""
    result = simulate(_stationary(10.0, 180.0), 14, aht_seconds=180, deadline=20, runs=4, seed=3,
                      patience_seconds=300, warmup=False)
    assert abs(result.mean_service_level - 0.916792) < 0.015


# ---------------------------------------------------------------------------------------------
# The backlog (fluid) model against the simulation on the sample data
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_week():
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} is absent")
    frame = pd.read_csv(SAMPLE)
    frame["ds"] = pd.to_datetime(frame["ds"], utc=True).dt.tz_convert(TZ)
    start = pd.Timestamp("2026-03-02", tz=TZ)
    return frame[(frame["ds"] >= start) & (frame["ds"] < start + pd.Timedelta(days=7))]


def _hourly(week, channel=None):
    part = week if channel is None else week[week["channel"] == channel]
    return part.groupby("ds")["intensity"].sum()


OPEN = "mon-sun 08:00-22:00"


def test_backlog_model_within_3_points_of_simulation_on_the_sample_plan(sample_week):
    """A plan for the sample week (all channels pooled; 80% within 60 min, AHT 5 min, open 08-22,
    planned with an 85% occupancy cap, as planners do): what the model says this staffing achieves
    (agents working whenever there is work) and the simulated mean agree."""
    from scheduling.backlog import required_staffing

    volume = to_buckets(_hourly(sample_week), pd.Timedelta("1h"))
    opening = parse_opening_hours(OPEN)
    share = open_fraction(volume.index, opening, freq="15min")
    plan = required_staffing(volume, share, aht_seconds=300, deadline=pd.Timedelta("60min"), target=0.8,
                             max_occupancy=0.85)
    assert plan.agents is not None
    result = simulate(volume, plan.agents, aht_seconds=300, deadline="60min", opening=opening, runs=30, seed=5)
    evaluation = evaluate_backlog(volume, plan.agents, share, aht_seconds=300, deadline=pd.Timedelta("60min"))
    model = evaluation.service_level
    assert model >= 0.8
    assert abs(model - result.mean_service_level) < 0.03, (model, result.mean_service_level)
    # the per-day figures too (mean over the runs), within 4 points each
    days = result.days.groupby("date")["service_level"].mean()
    fluid_days = evaluation.days["service_level"]
    assert np.abs(days.to_numpy() - fluid_days.to_numpy()).max() < 0.04


@pytest.mark.parametrize("channel, aht, within", [("whatsapp", 300, "60min"), ("x", 240, "30min"),
                                                  ("facebook", 360, "15min")])
def test_backlog_model_agrees_on_a_staffing_with_headroom(sample_week, channel, aht, within):
    """Evaluating a given staffing (ceil(offered load) + 1 per hour while open): within 3 points."""
    hourly = _hourly(sample_week, channel)
    opening = parse_opening_hours(OPEN)
    volume = to_buckets(hourly, pd.Timedelta("1h"))
    agents = to_buckets(np.ceil(hourly * aht / 3600.0) + 1, pd.Timedelta("1h")) * 4
    share = open_fraction(volume.index, opening, freq="15min")
    model = evaluate_backlog(volume, agents, share, aht_seconds=aht, deadline=pd.Timedelta(within)).service_level
    result = simulate(hourly, agents, aht_seconds=aht, deadline=within, opening=opening, runs=30, seed=8)
    assert abs(model - result.mean_service_level) < 0.03, (model, result.mean_service_level)


def test_the_cheapest_fluid_plan_misses_in_simulation_and_the_margin_fixes_it(sample_week):
    """Small team at full occupancy: the fluid plan says 81%, simulation far less. The occupancy
    margin found by variability_margin reaches the target in simulation, on fresh random numbers."""
    from scheduling.backlog import required_staffing

    volume = to_buckets(_hourly(sample_week, "whatsapp"), pd.Timedelta("1h"))
    opening = parse_opening_hours(OPEN)
    share = open_fraction(volume.index, opening, freq="15min")
    common = dict(aht_seconds=300, deadline="60min", target=0.8)
    plan = required_staffing(volume, share, aht_seconds=300, deadline=pd.Timedelta("60min"), target=0.8)
    bare = simulate(volume, plan.agents, aht_seconds=300, deadline="60min", opening=opening, runs=20, seed=1)
    assert plan.evaluation.service_level >= 0.8
    assert bare.mean_service_level < 0.6  # measured 0.34: the knife-edge plan

    margin = variability_margin(volume, opening, kind="occupancy", runs=20, seed=2, **common)
    assert margin.found and 0 < margin.margin <= 0.3
    assert margin.trials["reached"].iloc[-1] and not margin.trials["reached"].iloc[:-1].any()
    check = simulate(volume, margin.agents, aht_seconds=300, deadline="60min", opening=opening, runs=20,
                     seed=99, target=0.8)
    assert check.mean_service_level >= 0.8
    assert check.probability() >= 0.5


def test_variability_margin_in_agents_and_confidence(sample_week):
    volume = to_buckets(_hourly(sample_week, "x"), pd.Timedelta("1h"))
    margin = variability_margin(volume, OPEN, aht_seconds=240, deadline="30min", target=0.8, kind="agents",
                                confidence=0.9, runs=20, seed=4)
    assert margin.found and margin.margin >= 1
    assert margin.simulation.probability() >= 0.9
    check = simulate(volume, margin.agents, aht_seconds=240, deadline="30min", opening=OPEN, runs=20, seed=77, target=0.8)
    assert check.probability() >= 0.8


def test_square_root_margin_adds_agents_where_the_plan_staffs(sample_week):
    volume = to_buckets(_hourly(sample_week, "x"), pd.Timedelta("1h"))
    margin = variability_margin(volume, OPEN, aht_seconds=300, deadline="60min", target=0.8, kind="sqrt",
                                runs=10, seed=4)
    assert margin.found and margin.margin > 0
    base = margin.trials["agent_hours"].iloc[0]
    assert margin.trials["agent_hours"].iloc[-1] > base
    assert margin.simulation.mean_service_level >= 0.8
    staffed = margin.agents > 0
    assert staffed.any() and (margin.agents[~staffed] == 0).all()


def test_fluid_limit_simulation_converges_to_the_backlog_model(sample_week):
    """Scale volume and agents by 300 with deterministic handle times: the noise vanishes and the
    simulation approaches the fluid model (pick-up in whole messages keeps a small gap)."""
    from scheduling.backlog import required_staffing

    hourly = _hourly(sample_week, "x")
    volume = to_buckets(hourly, pd.Timedelta("1h"))
    share = open_fraction(volume.index, parse_opening_hours(OPEN), freq="15min")
    plan = required_staffing(volume, share, aht_seconds=300, deadline=pd.Timedelta("60min"), target=0.8)
    scale = 300
    model = evaluate_backlog(volume * scale, plan.agents * scale, share, aht_seconds=300,
                             deadline=pd.Timedelta("60min")).service_level
    result = simulate(hourly * scale, plan.agents * scale, aht_seconds=300, deadline="60min",
                      opening=OPEN, runs=1, seed=3, handle_time="deterministic")
    assert abs(result.mean_service_level - model) < 0.02, (result.mean_service_level, model)


# ---------------------------------------------------------------------------------------------
# Real data: the Anonymous Bank call log (smoke; the full comparison is benchmarks/bench_anonbank.py)
# ---------------------------------------------------------------------------------------------


@pytest.mark.shared
def test_anonbank_reconstruction_and_models_smoke():
    from benchmarks.bench_anonbank import compare, presence_agents, read_calls
    from tests.conftest import shared_data

    path = shared_data("anonbank_calls", "january.txt")
    raw = pd.read_csv(path, sep="\t", nrows=600, dtype=str)
    outcome = raw["outcome"].str.strip()
    offered = (outcome == "AGENT") | ((outcome == "HANG") & (raw["q_time"].astype(float) > 0))
    calls = read_calls(path, nrows=600)
    assert len(calls) == int(offered.sum())
    assert calls["arrival"].is_monotonic_increasing and str(calls["arrival"].dt.tz) == "Asia/Jerusalem"
    assert calls.loc[calls["abandoned"], "handle"].isna().all()
    presence = presence_agents(calls, 300)
    served = calls[calls["served"]]
    # presence covers at least the busy time of the served calls
    assert presence.sum() * 3600 >= served["handle"].sum() - 1
    result = compare(calls, thresholds=(20.0, 60.0), runs=2, repeat=1)
    assert result["calls"] > 0 and result["hours"] > 0
    assert 0 <= result["observed_sl_20"] <= result["observed_sl_60"] <= 1
    for name in ("erlang_c", "erlang_a", "sim_poisson", "sim_replay"):
        assert 0 <= result[f"{name}_sl_20"] <= result[f"{name}_sl_60"] + 1e-9 <= 1 + 1e-9
    assert result["abandonment_observed"] > 0 and result["erlang_a_abandonment"] > 0
