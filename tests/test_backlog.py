"""Tests for scheduling.backlog: the fluid FIFO backlog model, the ceiling, required staffing.

The THEORY.md section 3 overnight example is reproduced exactly; the kernel is checked against
an independent brute force (every message split into tiny particles served one by one).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import pytest

from scheduling.backlog import (
    _fluid_core,
    ceiling_explanation,
    ceiling_table,
    concurrency_multiplier,
    evaluate_backlog,
    fluid_fifo,
    linear_slowdown,
    messages_per_agent,
    required_staffing,
    service_level_ceiling,
)

TZ = "Europe/Amsterdam"
HOUR = pd.Timedelta("60min")
AHT = 360.0  # 6 minutes: 10 messages per agent-hour, 2.5 per agent per 15-minute bucket


def overnight(days: int = 2, start: str = "2025-03-04"):
    """THEORY.md section 3: 3 messages/h while closed (22:00-08:00), 20/h while open."""
    index = pd.date_range(pd.Timestamp(start, tz=TZ), periods=96 * days, freq="15min")
    open_share = ((index.hour >= 8) & (index.hour < 22)).astype(float)
    arrivals = pd.Series(np.where(open_share > 0, 5.0, 0.75), index=index)
    return arrivals, open_share


def local(index) -> pd.DatetimeIndex:
    return index.tz_localize(None)


# --------------------------------------------------------------------------------------------
# The THEORY.md worked example
# --------------------------------------------------------------------------------------------

# Exact fluid values: all 30 overnight messages are late with 3 agents; with 4 (5) agents the
# messages of the last 0.25/0.925 h (0.4/0.94 h) before opening are answered in time.
LATE = {3: 30.0, 4: 30.0 - 3 * 0.25 / 0.925, 5: 30.0 - 3 * 0.4 / 0.94}
CLEARED = {3: "11:00", 4: "09:30", 5: "09:00"}


@pytest.mark.parametrize("agents", [3, 4, 5])
def test_overnight_example_backlog_clearing_and_late_share(agents):
    arrivals, open_share = overnight(days=2)
    result = evaluate_backlog(arrivals, agents, open_share, aht_seconds=AHT, deadline=HOUR)
    iv = result.intervals
    ends = local(iv.index) + pd.Timedelta("15min")
    for day in ("2025-03-04", "2025-03-05"):
        at_opening = iv["backlog"][ends == pd.Timestamp(f"{day} 08:00")].iloc[0]
        assert at_opening == pytest.approx(30.0, abs=1e-9)
        morning = (ends > pd.Timestamp(f"{day} 08:00")) & (ends <= pd.Timestamp(f"{day} 12:00"))
        cleared = ends[morning][iv["backlog"][morning].to_numpy() <= 1e-9][0]
        assert cleared == pd.Timestamp(f"{day} {CLEARED[agents]}")
    first_day = result.days.iloc[0]
    assert first_day["arrivals"] == pytest.approx(310.0)
    assert first_day["late"] == pytest.approx(LATE[agents], abs=1e-9)
    assert first_day["late"] / first_day["arrivals"] == pytest.approx(
        {3: 0.09677, 4: 0.09416, 5: 0.09266}[agents], abs=1e-3)
    assert 1 - first_day["service_level"] == pytest.approx(LATE[agents] / 310, abs=1e-9)
    # The warm-up week leaves the 6 messages of 22:00-24:00 waiting at the start.
    assert result.initial_backlog == pytest.approx(6.0)


def test_overnight_example_theory_percentages():
    """The rounded figures of THEORY.md: 9.7% / 9.4% / 9.3% late."""
    arrivals, open_share = overnight(days=2)
    shares = [
        evaluate_backlog(arrivals, n, open_share, aht_seconds=AHT,
                         deadline=HOUR).days["late"].iloc[0] / 310
        for n in (3, 4, 5)
    ]
    assert [round(100 * s, 1) for s in shares] == [9.7, 9.4, 9.3]


def test_overnight_example_response_times_and_oldest_message():
    arrivals, open_share = overnight(days=2)
    result = evaluate_backlog(arrivals, 3, open_share, aht_seconds=AHT, deadline=HOUR)
    day = result.days.iloc[0]
    # 30 night messages wait 1 - 0.9u h (u in [-10, 0] h from opening), 60 morning messages
    # 1 - u/3 h (u in [0, 3] h), the other 220 nothing: mean (165 + 30) / 310 h.
    assert day["mean_response_minutes"] == pytest.approx(195 / 310 * 60, abs=1e-6)
    # 90th percentile inside the morning ramp: (0.9 * 310 - 220) / 60 h.
    assert day["p90_response_minutes"] == pytest.approx((0.9 * 310 - 220) / 60 * 60, abs=1e-6)
    iv = result.intervals
    ends = local(iv.index) + pd.Timedelta("15min")
    oldest = iv["oldest_age_minutes"]
    assert oldest[ends == pd.Timestamp("2025-03-04 08:00")].iloc[0] == pytest.approx(600)
    # 7.5 messages answered by 08:15: the oldest waiting one arrived at 00:30.
    assert oldest[ends == pd.Timestamp("2025-03-04 08:15")].iloc[0] == pytest.approx(465)
    assert day["max_oldest_age_minutes"] == pytest.approx(600)
    assert day["max_backlog"] == pytest.approx(30)
    # End of the horizon: 22:00-24:00 still waiting; 22:00-23:00 already past the deadline.
    assert result.open_at_end == pytest.approx(6)
    assert result.late_at_end == pytest.approx(3)
    assert result.undetermined_at_end == pytest.approx(3)
    assert result.days["undetermined"].iloc[-1] == pytest.approx(3)


def test_overnight_example_ceiling():
    arrivals, open_share = overnight(days=2)
    # With unlimited staff only the messages arriving before 07:00 (more than an hour before
    # opening) are late: 27 of 310 a day.
    table = ceiling_table(arrivals, open_share, deadline=HOUR, by="day")
    assert table["ceiling"].iloc[0] == pytest.approx(1 - 27 / 310, abs=1e-12)
    assert table["late"].iloc[0] == pytest.approx(27)
    # THEORY.md: "the SL ceiling is about 1 - (share of volume arriving while closed)".
    assert table["ceiling"].iloc[0] == pytest.approx(1 - 30 / 310, abs=0.01)
    one_day, one_open = overnight(days=1)
    # One day alone: 00:00-07:00 late (21) and 22:00-23:00 still waiting past the deadline at
    # the end (3); 23:00-24:00 undetermined (3), left out.
    assert service_level_ceiling(one_day, one_open, deadline=HOUR) == pytest.approx(1 - 24 / 307)
    # One closing-to-closing cycle (22:00 to 22:00): 30 closed arrivals, 27 of them late.
    cycle = slice(88, 88 + 96)
    text = ceiling_explanation(arrivals.iloc[cycle], open_share[cycle], deadline=HOUR)
    assert text == ("at most 91.3% is reachable: 8.7% of the messages arrive while closed and "
                    "wait past the deadline")
    # Unlimited staff in the model converges to the ceiling.
    huge = evaluate_backlog(arrivals, 1e6, open_share, aht_seconds=AHT, deadline=HOUR)
    assert huge.days["service_level"].iloc[0] == pytest.approx(1 - 27 / 310, abs=1e-3)
    # On the business clock closed time does not count: nothing is late because of it.
    assert service_level_ceiling(arrivals, open_share, deadline=HOUR, clock="business") == 1.0


def test_business_clock_is_more_lenient_with_closed_hours():
    arrivals, open_share = overnight(days=2)
    real = evaluate_backlog(arrivals, 3, open_share, aht_seconds=AHT, deadline=HOUR)
    business = evaluate_backlog(arrivals, 3, open_share, aht_seconds=AHT, deadline=HOUR,
                                clock="business")
    assert real.days["service_level"].iloc[0] == pytest.approx(280 / 310)
    # Business clock: a night message's clock starts at 08:00; the backlog is cleared within one
    # open hour, so every message is on time.
    assert business.days["service_level"].iloc[0] == pytest.approx(1.0)
    # A shorter deadline: both miss, the business clock less.
    real_30 = evaluate_backlog(arrivals, 3, open_share, aht_seconds=AHT, deadline="30min")
    business_30 = evaluate_backlog(arrivals, 3, open_share, aht_seconds=AHT, deadline="30min",
                                   clock="business")
    assert business_30.service_level > real_30.service_level + 0.04
    answered = real_30.intervals["mean_response_minutes"].notna()
    assert (business_30.intervals["mean_response_minutes"][answered]
            <= real_30.intervals["mean_response_minutes"][answered] + 1e-9).all()


# --------------------------------------------------------------------------------------------
# Invariants and an independent brute force
# --------------------------------------------------------------------------------------------


def random_instance(seed, n=96 * 3, night=1.0):
    """Random arrivals over the 25-hour day, open 08:00-21:00 (08:00-08:15 partly)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(pd.Timestamp("2025-10-25", tz=TZ), periods=n, freq="15min")
    open_share = ((index.hour >= 8) & (index.hour < 21)).astype(float)
    volume = np.where(open_share > 0, 1.0, night)
    arrivals = pd.Series(rng.poisson(3.0, n).astype(float) * rng.uniform(0, 2, n) * volume,
                         index=index)
    open_share[(index.hour == 8) & (index.minute == 0)] = 0.4
    agents = rng.uniform(0, 4, n)
    aht = rng.uniform(200, 500, n)
    return arrivals, agents, open_share, aht


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("initial", [None, 0.0, 25.0])
def test_conservation_and_bounds(seed, initial):
    arrivals, agents, open_share, aht = random_instance(seed)
    result = evaluate_backlog(arrivals, agents, open_share, aht_seconds=aht, deadline="45min",
                              initial_backlog=initial)
    iv = result.intervals
    start = result.initial_backlog
    assert iv["handled"].sum() + iv["backlog"].iloc[-1] == pytest.approx(start + arrivals.sum())
    previous = np.concatenate([[start], iv["backlog"].to_numpy()[:-1]])
    assert np.allclose(previous + iv["arrivals"] - iv["handled"], iv["backlog"])
    assert (iv["backlog"] >= 0).all()
    assert (iv["handled"] <= iv["capacity"] + 1e-9).all()
    assert (iv["capacity"][open_share == 0] == 0).all()
    assert np.allclose(iv["on_time"] + iv["late"] + iv["undetermined"], iv["arrivals"])
    assert result.open_at_end == pytest.approx(iv["backlog"].iloc[-1])
    days = result.days
    assert days["arrivals"].sum() == pytest.approx(arrivals.sum())
    assert days["on_time"].sum() == pytest.approx(iv["on_time"].sum())
    assert ((iv["p90_response_minutes"] >= 0) | iv["p90_response_minutes"].isna()).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_fifo_departures_follow_arrival_order(seed):
    """Oldest first: completion instants never decrease with the arrival order (the waits
    themselves may fall, e.g. after opening, as the backlog drains)."""
    arrivals, agents, open_share, aht = random_instance(seed)
    capacity = agents * open_share * 900 / aht
    run = _fluid_core(arrivals.to_numpy(), capacity, np.full(arrivals.size, 900.0), 10.0, 2700.0)
    seg = run["segments"]
    answered = seg["answered"]
    d0 = (seg["arrival0"] + seg["w0"])[answered]
    d1 = (seg["arrival1"] + seg["w1"])[answered]
    assert (np.diff(seg["level0"]) > 0).all()
    assert (d1 >= d0 - 1e-6).all()
    assert (d0[1:] >= d1[:-1] - 1e-6).all()
    # Within a busy period after opening the waits do fall (so "non-decreasing waits" is not a
    # property of FIFO).
    assert ((seg["w1"] < seg["w0"] - 1.0) & answered).any()


def particle_brute_force(arrivals, capacity, bucket_seconds, deadline_seconds, particles):
    """Every message split into ``particles`` pieces arriving evenly in its bucket, served one
    by one (oldest first) by a single server working at the bucket's capacity rate."""
    n = len(arrivals)
    bounds = np.arange(n + 1) * bucket_seconds
    work = np.concatenate([[0.0], np.cumsum(capacity)])
    rate = capacity / bucket_seconds

    def finish(amount):
        k = max(int(np.searchsorted(work, amount - 1e-12, side="left")), 1)
        return bounds[k - 1] + (amount - work[k - 1]) / rate[k - 1]

    on = np.zeros(n)
    late = np.zeros(n)
    undetermined = np.zeros(n)
    done = 0.0
    for i in range(n):
        count = int(round(arrivals[i] * particles))
        for j in range(count):
            t = bounds[i] + (j + 0.5) / count * bucket_seconds
            done = max(np.interp(t, bounds, work), done) + 1.0 / particles
            if done > work[-1] + 1e-12:
                (late if bounds[-1] - t > deadline_seconds else undetermined)[i] += 1
            elif finish(done) - t <= deadline_seconds:
                on[i] += 1
            else:
                late[i] += 1
    return on / particles, late / particles, undetermined / particles


@pytest.mark.parametrize("seed", [3, 4])
def test_fluid_kernel_matches_particle_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 40
    arrivals = rng.integers(0, 8, n).astype(float)
    open_share = np.ones(n)
    open_share[10:18] = 0.0
    capacity = rng.uniform(0.5, 4, n) * open_share * 900 / AHT
    on, late, undetermined = particle_brute_force(arrivals, capacity, 900.0, 1800.0, 200)
    exact = fluid_fifo(arrivals, capacity, 900.0, 1800.0)
    # Particles of 1/200 message: each bucket's counts agree to about one particle width.
    assert np.abs(on - exact["on_time"]).max() < 0.02
    assert np.abs(late - exact["late"]).max() < 0.02
    assert np.abs(undetermined - exact["undetermined"]).max() < 0.02
    assert on.sum() / (on.sum() + late.sum()) == pytest.approx(
        exact["on_time"].sum() / (exact["on_time"].sum() + exact["late"].sum()), abs=2e-3)
    assert np.nansum(exact["late"]) > 1  # the instance does have late messages


def test_constant_waits_and_quantiles_without_queue():
    # Capacity above arrivals and no backlog: every message is answered at once.
    out = fluid_fifo([2.0, 3.0, 1.0], [5.0, 5.0, 5.0], 900.0, 600.0)
    assert np.allclose(out["service_level"], 1.0)
    assert np.allclose(out["mean_wait_seconds"], 0.0)
    assert np.allclose(out["quantile_wait_seconds"], 0.0)
    # An initial backlog of 10 with 5 per bucket capacity and no arrivals: cleared in 2 buckets.
    out = fluid_fifo([0.0, 0.0, 4.0], [5.0, 5.0, 5.0], 900.0, 600.0, initial_backlog=10.0)
    assert np.allclose(out["backlog"], [5.0, 0.0, 0.0])
    assert np.allclose(out["handled"], [5.0, 5.0, 4.0])
    assert out["oldest_age_seconds"][0] == pytest.approx(900.0)


def test_single_bucket_overload_quantile_is_exact():
    # 10 messages in 900 s, capacity 5: message at level y (0..10) arrives at 90y s and is
    # answered at 180y s, so waits are uniform on [0, 900] s (answered half) and the other
    # half is still waiting at the end.
    out = fluid_fifo([10.0], [5.0], 900.0, 300.0)
    assert out["handled"][0] == pytest.approx(5.0)
    # Answered: levels 0-5, waits 90y uniform on [0, 450] s; on time if <= 300 s.
    assert out["on_time"][0] == pytest.approx(300 / 90)
    assert out["mean_wait_seconds"][0] == pytest.approx(225.0)
    assert out["quantile_wait_seconds"][0] == pytest.approx(0.9 * 450.0)
    # Waiting at the end: levels 5-10 arrived at 450-900 s; past 300 s if they arrived before 600 s.
    assert out["late"][0] == pytest.approx((5 - 300 / 90) + (600 - 450) / 90)
    assert out["undetermined"][0] == pytest.approx(300 / 90)


# --------------------------------------------------------------------------------------------
# Concurrency, inputs, DST, aggregation, speed
# --------------------------------------------------------------------------------------------


def test_concurrency_is_not_k_times():
    assert concurrency_multiplier(1) == pytest.approx(1.0)
    assert concurrency_multiplier(2) == pytest.approx(2 / 1.5)
    assert concurrency_multiplier(3) == pytest.approx(1.5)
    assert concurrency_multiplier(2, slowdown=0.0) == pytest.approx(2.0)
    assert concurrency_multiplier(2, slowdown=lambda k: k ** 0.5) == pytest.approx(2 ** 0.5)
    assert linear_slowdown(3, 0.25) == pytest.approx(1.5)
    assert messages_per_agent(900, 360) == pytest.approx(2.5)
    assert messages_per_agent(900, 360, concurrency=2, max_occupancy=0.85) == pytest.approx(
        2.5 * 0.85 * 4 / 3)
    with pytest.raises(ValueError):
        concurrency_multiplier(0.5)
    with pytest.raises(ValueError):
        messages_per_agent(900, 360, max_occupancy=1.2)
    arrivals, open_share = overnight(days=2)
    single = evaluate_backlog(arrivals, 3, open_share, aht_seconds=AHT, deadline=HOUR)
    double = evaluate_backlog(arrivals, 3, open_share, aht_seconds=AHT, deadline=HOUR,
                              concurrency=2)
    assert double.intervals["capacity"].max() == pytest.approx(
        single.intervals["capacity"].max() * 4 / 3)


def test_dst_days_and_daily_aggregation():
    # The 25-hour day: 100 buckets, 24/7 open, 1 message per bucket.
    index = pd.date_range(pd.Timestamp("2025-10-25", tz=TZ), pd.Timestamp("2025-10-28", tz=TZ),
                          freq="15min", inclusive="left")
    arrivals = pd.Series(1.0, index=index)
    result = evaluate_backlog(arrivals, 1, "daily 08:00-20:00", aht_seconds=AHT, deadline=HOUR)
    days = result.days
    assert days["arrivals"].tolist() == [96.0, 100.0, 96.0]
    assert days["agent_hours"].tolist() == pytest.approx([12.0, 12.0, 12.0])  # while open
    around_the_clock = evaluate_backlog(arrivals, 1, None, aht_seconds=AHT, deadline=HOUR)
    assert around_the_clock.days["agent_hours"].tolist() == pytest.approx([24.0, 25.0, 24.0])
    assert around_the_clock.days["service_level"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert days.index[1] == pd.Timestamp("2025-10-26")
    assert result.intervals["open_fraction"].sum() == pytest.approx(3 * 12 * 4)
    assert list(result.weeks.index) == ["2025-W43", "2025-W44"]


def test_evaluation_of_four_weeks_is_fast():
    index = pd.date_range(pd.Timestamp("2025-03-03", tz=TZ), periods=2688, freq="15min")
    rng = np.random.default_rng(1)
    arrivals = pd.Series(rng.poisson(5, index.size).astype(float), index=index)
    hours = "mon-fri 08:00-22:00; sat 10:00-18:00"
    evaluate_backlog(arrivals, 4, hours, aht_seconds=AHT, deadline=HOUR)  # warm caches
    start = time.perf_counter()
    result = evaluate_backlog(arrivals, 4, hours, aht_seconds=AHT, deadline=HOUR)
    assert time.perf_counter() - start < 0.5
    assert len(result.intervals) == 2688 and len(result.days) == 29


@pytest.mark.parametrize("kwargs, message", [
    (dict(deadline=60), "duration"),
    (dict(deadline="-5min"), "deadline must be > 0"),
    (dict(clock="office"), "clock must be one of"),
    (dict(aht_seconds=0), "aht_seconds must be > 0"),
    (dict(concurrency=0.5), "concurrency must be >= 1"),
    (dict(initial_backlog=-1.0), "initial_backlog"),
    (dict(agents=-1), "agents must be >= 0"),
    (dict(open_fraction=1.5), "open_fraction must be <= 1"),
])
def test_bad_input(kwargs, message):
    arrivals, open_share = overnight(days=1)
    base = dict(agents=3, open_fraction=open_share, aht_seconds=AHT, deadline=HOUR)
    base.update(kwargs)
    agents = base.pop("agents")
    open_fraction = base.pop("open_fraction")
    with pytest.raises(ValueError, match=message):
        evaluate_backlog(arrivals, agents, open_fraction, **base)


def test_bad_arrivals():
    naive = pd.Series(1.0, index=pd.date_range("2025-03-03", periods=4, freq="15min"))
    with pytest.raises(ValueError, match="time-zone aware"):
        evaluate_backlog(naive, 1, None, aht_seconds=AHT, deadline=HOUR)
    arrivals, _ = overnight(days=1)
    with pytest.raises(ValueError, match="arrivals must be >= 0"):
        evaluate_backlog(-arrivals, 1, None, aht_seconds=AHT, deadline=HOUR)
    with pytest.raises(ValueError, match="regular"):
        evaluate_backlog(arrivals.drop(arrivals.index[5]), 1, None, aht_seconds=AHT, deadline=HOUR)


# --------------------------------------------------------------------------------------------
# Required staffing
# --------------------------------------------------------------------------------------------


def meets_all(result_days, target):
    sl = result_days["service_level"].dropna()
    return bool((sl >= target - 1e-9).all())


def test_required_staffing_overnight_example_is_minimal():
    arrivals, open_share = overnight(days=2)
    target = 0.9
    plan = required_staffing(arrivals, open_share, aht_seconds=AHT, deadline=HOUR, target=target)
    assert plan.reachable and plan.agents is not None
    agents = plan.agents
    assert (agents[open_share == 0] == 0).all() and (agents[open_share > 0] >= 1).all()
    again = evaluate_backlog(arrivals, agents, open_share, aht_seconds=AHT, deadline=HOUR)
    assert meets_all(again.days, target)
    assert plan.periods["met"].all()
    assert plan.periods["service_level"].to_numpy() == pytest.approx(
        again.days["service_level"].to_numpy())
    # Throughput bound: every message must be served, 310 a day at 2.5 per agent-bucket.
    assert agents.sum() >= 2 * 310 / 2.5 - 2.5
    # Removing one agent from any bucket above the minimum breaks the target of some day
    # (the run of evaluate_backlog: the warm-up week first, then the horizon, per day).
    from scheduling.backlog import _warmup_positions

    n = len(arrivals)
    take = np.concatenate([_warmup_positions(arrivals.index, np.full(n, 900.0)), np.arange(n)])
    day = np.asarray(local(arrivals.index).normalize().factorize()[0])
    a = arrivals.to_numpy()

    def days_met(plan_agents):
        run = _fluid_core(a[take], (plan_agents * open_share * 2.5)[take], np.full(take.size, 900.0), 0.0,
                          3600.0, None, False)
        on, late = run["on_time"][-n:], run["late"][-n:]
        on_d, late_d = np.bincount(day, on), np.bincount(day, late)
        return bool((on_d >= (target - 1e-9) * (on_d + late_d)).all())

    assert days_met(agents.to_numpy().astype(float))
    for t in np.flatnonzero(agents.to_numpy() > 1):
        fewer = agents.to_numpy().astype(float)
        fewer[t] -= 1
        assert not days_met(fewer), f"bucket {agents.index[t]} is over-staffed"


def test_required_staffing_above_the_ceiling_explains_instead():
    arrivals, open_share = overnight(days=2)
    plan = required_staffing(arrivals, open_share, aht_seconds=AHT, deadline=HOUR, target=0.95)
    assert not plan.reachable and plan.agents is None and plan.evaluation is None
    assert "at most 91.3% is reachable: 8.7% of the messages arrive while closed" in plan.explanation
    assert "95.0%" in plan.explanation
    assert plan.periods["ceiling"].iloc[0] == pytest.approx(1 - 27 / 310)
    # Just below the ceiling the target is reachable but only with very many agents at
    # opening; a cap on the agents per bucket makes it say so instead.
    capped = required_staffing(arrivals, open_share, aht_seconds=AHT, deadline=HOUR,
                               target=0.9125, max_agents=20)
    assert not capped.reachable and "more than 20 agents" in capped.explanation
    # On the business clock the same target is reachable.
    business = required_staffing(arrivals, open_share, aht_seconds=AHT, deadline=HOUR,
                                 target=0.95, clock="business")
    assert business.reachable
    assert meets_all(business.evaluation.days, 0.95)


@pytest.mark.parametrize("period", ["week", "bucket"])
def test_required_staffing_other_periods(period):
    arrivals, _, open_share, aht = random_instance(5, n=96 * 2, night=0.1)
    plan = required_staffing(arrivals, open_share, aht_seconds=AHT, deadline="45min",
                             target=0.8, period=period, min_agents=1)
    assert plan.reachable, plan.explanation
    ev = plan.evaluation
    if period == "week":
        assert meets_all(ev.weeks, 0.8)
    else:
        iv = ev.intervals
        targeted = iv[(iv["open_fraction"] > 0) & (iv["arrivals"] > 0)]
        assert (targeted["service_level"].dropna() >= 0.8 - 1e-9).all()
    assert (plan.agents[open_share > 0] >= 1).all()
    assert (plan.agents[open_share == 0] == 0).all()


def _on_late_totals(a, capacity, lengths, deadline):
    """On time and late over a run (the compiled kernel when numba is there: same figures)."""
    from scheduling import backlog as module

    if module.HAVE_NUMBA:
        n = a.size
        on, late = np.empty(n), np.empty(n)
        module._nb_counts(a, capacity, lengths, np.ones(n), False, 0.0, deadline, on, late, np.empty(7 * (n + 1)))
        return on.sum(), late.sum()
    run = _fluid_core(a, capacity, lengths, 0.0, deadline, None, False)
    return run["on_time"].sum(), run["late"].sum()


def test_required_staffing_matches_brute_force_on_tiny_instances():
    """Six 15-minute buckets, agents 0-3 each: exhaustive search over all 4096 plans."""
    index = pd.date_range(pd.Timestamp("2025-03-03 09:00", tz=TZ), periods=6, freq="15min")
    lengths = np.full(6, 900.0)
    for arrivals, target in (([7, 5, 4, 2, 0, 0], 0.6), ([5, 8, 4, 5, 0, 0], 0.9),
                             ([2, 7, 6, 0, 0, 0], 0.8)):
        a = np.asarray(arrivals, dtype=float)
        best = None
        for plan in itertools.product(range(4), repeat=6):
            on, late = _on_late_totals(a, np.asarray(plan) * 2.5, lengths, 1800.0)
            if on >= target * (on + late) - 1e-9 and (best is None or sum(plan) < best):
                best = sum(plan)
        found = required_staffing(pd.Series(a, index=index), None, aht_seconds=AHT,
                                  deadline="30min", target=target, min_agents=0,
                                  initial_backlog=0.0)
        assert found.reachable
        assert found.agents.sum() == best


def test_required_staffing_bad_input():
    arrivals, open_share = overnight(days=1)
    for kwargs, message in ((dict(target=0), "target"), (dict(target=80), "target"),
                            (dict(period="month"), "period"), (dict(min_agents=-1), "min_agents"),
                            (dict(min_agents=1.5), "min_agents")):
        base = dict(aht_seconds=AHT, deadline=HOUR, target=0.8)
        base.update(kwargs)
        with pytest.raises(ValueError, match=message):
            required_staffing(arrivals, open_share, **base)


# --------------------------------------------------------------------------------------------
# The compiled planner kernels (numba) against the numpy reference
# --------------------------------------------------------------------------------------------

from scheduling import backlog as _backlog_module  # noqa: E402

needs_numba = pytest.mark.skipif(not _backlog_module.HAVE_NUMBA, reason="numba is not installed")


@needs_numba
@pytest.mark.parametrize("seed", range(4))
def test_compiled_counts_match_the_numpy_kernel(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        n = int(rng.integers(1, 40))
        a = rng.exponential(3, n) * (rng.random(n) < 0.8)
        cap = rng.exponential(3, n) * (rng.random(n) < 0.7)
        lens = np.full(n, 900.0)
        share = np.clip(rng.random(n) * 1.5, 0, 1)
        initial = float(rng.exponential(5)) if rng.random() < 0.5 else 0.0
        deadline = float(rng.choice([300, 900, 3600]))
        for business in (False, True):
            ref = _fluid_core(a, cap, lens, initial, deadline, share if business else None, want_segments=False)
            on, late, scratch = np.empty(n), np.empty(n), np.empty(7 * (n + 1))
            _backlog_module._nb_counts(a, cap, lens, share if business else np.ones(n), business, initial,
                                       deadline, on, late, scratch)
            assert on == pytest.approx(ref["on_time"], abs=1e-9)
            assert late == pytest.approx(ref["late"], abs=1e-9)


@needs_numba
@pytest.mark.parametrize("period,clock", [("day", "real"), ("bucket", "real"), ("day", "business")])
def test_compiled_planner_gives_the_numpy_plan(period, clock):
    arrivals, open_share = overnight(days=2)
    wave = 1 + 0.5 * np.sin(np.arange(len(arrivals)) / 7.0)
    arrivals = arrivals * wave
    kwargs = dict(aht_seconds=AHT, deadline=HOUR, target=0.8, period=period, clock=clock)
    fast = required_staffing(arrivals, open_share, compiled=True, **kwargs)
    slow = required_staffing(arrivals, open_share, compiled=False, **kwargs)
    assert fast.reachable and slow.reachable
    assert (fast.agents == slow.agents).all()
    assert fast.periods["met"].all()


def test_base_capacity_lowers_the_plan_and_counts_in_the_evaluation():
    arrivals, open_share = overnight(days=2)
    kwargs = dict(aht_seconds=AHT, deadline=HOUR, target=0.8)
    alone = required_staffing(arrivals, open_share, **kwargs)
    # one extra agent's worth of capacity (2.5 messages per open bucket) from elsewhere
    helped = required_staffing(arrivals, open_share, base_capacity=2.5 * open_share, min_agents=0, **kwargs)
    assert helped.reachable and helped.periods["met"].all()
    assert helped.agents.sum() < alone.agents.sum()
    check = evaluate_backlog(arrivals, helped.agents, open_share, aht_seconds=AHT, deadline=HOUR,
                             base_capacity=2.5 * open_share)
    assert (check.days["service_level"] >= 0.8 - 1e-9).all()
    assert check.intervals["capacity"].to_numpy() == pytest.approx(
        (helped.agents.to_numpy() * 2.5 + 2.5) * open_share)
