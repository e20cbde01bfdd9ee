"""The discrete-event simulator: the kernel on hand-made cases, then the model's behaviour."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scheduling import _simkernel as kernel
from scheduling.backlog import service_level_ceiling
from scheduling.opening_hours import open_fraction, parse_opening_hours
from scheduling.requirements import to_buckets
from scheduling.simulate import SimulationError, simulate

TZ = "Europe/Amsterdam"
INF = math.inf


def _run(arrival, service, slots_at, end, patience=None, queues=None):
    arrival = np.asarray(arrival, dtype=float)
    n = arrival.size
    patience = np.full(n, INF) if patience is None else np.asarray(patience, dtype=float)
    if queues is None:
        order, bounds = np.argsort(arrival, kind="stable"), np.array([0, n])
    else:
        queues = np.asarray(queues)
        order = np.lexsort((arrival, queues))
        bounds = np.searchsorted(queues[order], np.arange(queues.max() + 2))
    bp_time = np.array([t for t, _ in slots_at], dtype=float)
    bp_slots = np.array([s for _, s in slots_at], dtype=np.int64)
    return kernel.run_queue(arrival, np.asarray(service, dtype=float), patience, order.astype(np.int64),
                            bounds.astype(np.int64), bp_time, bp_slots, float(end))


# ---------------------------------------------------------------------------------------------
# Kernel, by hand
# ---------------------------------------------------------------------------------------------


def test_single_server_fifo_by_hand():
    start, abandoned = _run([0, 0, 0, 50], [10, 10, 10, 10], [(0, 1)], 100)
    assert start.tolist() == [0, 10, 20, 50]
    assert not abandoned.any()


def test_closed_hours_messages_wait_until_opening():
    # closed (0 slots) until t=100, then 2 slots: the three night messages are picked up at 100, 100, 110
    start, _ = _run([5, 20, 30], [10, 10, 10], [(0, 0), (100, 2)], 500)
    assert start.tolist() == [100, 100, 110]


def test_staffing_drop_finishes_the_message_in_hand():
    # 2 slots until 5, then 1: both messages picked at 0 keep going to 20; the third waits for a
    # free slot *and* for the busy count to fall below the new single slot: at 20
    start, _ = _run([0, 0, 1], [20, 20, 5], [(0, 2), (5, 1)], 100)
    assert start.tolist() == [0, 0, 20]


def test_closing_with_work_in_hand_and_nothing_after_the_end():
    start, _ = _run([0, 1, 2], [30, 30, 30], [(0, 1), (10, 0)], 100)
    assert start[0] == 0 and np.isnan(start[1]) and np.isnan(start[2])


def test_abandonment_by_hand():
    # one slot busy until 100; the second message's patience of 30 runs out at 31 -> abandoned,
    # the third (patience inf) is picked up at 100
    start, abandoned = _run([0, 1, 2], [100, 5, 5], [(0, 1)], 1000, patience=[INF, 30, INF])
    assert start[0] == 0 and np.isnan(start[1]) and start[2] == 100
    assert abandoned.tolist() == [False, True, False]


def test_priority_queues_by_hand():
    # queue 0 (high) holds a message arriving at 3; queue 1 (low) messages at 1 and 2
    start, _ = _run([1, 2, 3], [10, 10, 10], [(0, 1)], 1000, queues=[1, 1, 0])
    assert start.tolist() == [1, 21, 11]  # the high-priority message jumps the older low one


def test_waiting_after_arrivals():
    waiting = kernel.waiting_after_arrivals(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 2.5, 3.0, INF]))
    assert waiting.tolist() == [0, 1, 2, 1]  # picked up the instant it arrives: never waiting


# ---------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------


def _week(volume_per_hour=20.0, days=7, start="2026-03-02"):
    index = pd.date_range(start, periods=days * 24, freq="1h", tz=TZ)
    return pd.Series(volume_per_hour, index=index)


def test_reproducible_by_seed_and_independent_of_jobs():
    vol = _week()
    a = simulate(vol, 3, aht_seconds=360, deadline="5min", runs=4, seed=7)
    b = simulate(vol, 3, aht_seconds=360, deadline="5min", runs=4, seed=7, n_jobs=2)
    c = simulate(vol, 3, aht_seconds=360, deadline="5min", runs=4, seed=8)
    pd.testing.assert_frame_equal(a.runs, b.runs)
    pd.testing.assert_frame_equal(a.days, b.days)
    assert not a.runs["service_level"].equals(c.runs["service_level"])


def test_arrival_counts_follow_the_forecast():
    vol = _week(30.0)
    result = simulate(vol, 5, aht_seconds=300, deadline="60min", runs=20, seed=1)
    expected = 30.0 * len(vol)
    mean = result.runs["arrivals"].mean()
    assert abs(mean - expected) < 4 * math.sqrt(expected / 20)
    # Poisson: variance close to the mean
    assert 0.6 < result.runs["arrivals"].var() / expected < 1.6
    # intervals table: the mean arrivals per interval match the forecast
    assert abs(result.intervals["arrivals"].mean() - 30.0) < 1.0


def test_burstiness_adds_variance():
    vol = _week(30.0)
    plain = simulate(vol, 5, aht_seconds=300, deadline="60min", runs=30, seed=2)
    bursty = simulate(vol, 5, aht_seconds=300, deadline="60min", runs=30, seed=2, burstiness=0.5,
                      burst_block=pd.Timedelta("1D"))
    # a daily gamma factor with variance 0.5 on ~720 a day: weekly count variance ~ 0.5*720^2*7
    assert bursty.runs["arrivals"].var() > 20 * plain.runs["arrivals"].var()
    assert bursty.runs["service_level"].std() > plain.runs["service_level"].std()


def test_profile_puts_arrivals_where_the_weights_are():
    vol = _week(40.0, days=2)
    result = simulate(vol, 10, aht_seconds=60, deadline="5min", runs=2, seed=3, profile=[1, 0, 0, 0],
                      warmup=False, interval=None)
    # with all weight on the first quarter the intervals still hold their volume
    assert abs(result.intervals["arrivals"].mean() - 40.0) < 3


def test_days_of_23_and_25_hours():
    # constant volume per hour over the week with both DST changes in 2026 (29 March, 25 October)
    vol = pd.Series(10.0, index=pd.date_range("2026-10-24", "2026-10-27", freq="1h", tz=TZ, inclusive="left"))
    result = simulate(vol, 4, aht_seconds=300, deadline="60min", runs=10, seed=4, warmup=False)
    per_day = result.days.groupby("date")["arrivals"].mean()
    long_day = per_day[pd.Timestamp("2026-10-25")]
    assert len(vol[vol.index.tz_localize(None).normalize() == pd.Timestamp("2026-10-25")]) == 25
    assert long_day > per_day[pd.Timestamp("2026-10-24")] + 3  # 250 vs 240 expected


def test_large_team_reaches_the_opening_hours_ceiling():
    """With unlimited staff only the closed hours make messages late: the simulated SL equals the
    backlog model's ceiling (the same arithmetic: messages arriving > deadline before opening)."""
    vol = _week(20.0)
    opening = parse_opening_hours("mon-sun 08:00-22:00")
    result = simulate(vol, 200, aht_seconds=300, deadline="60min", runs=10, seed=5, opening=opening)
    buckets = to_buckets(vol, pd.Timedelta("1h"))
    ceiling = service_level_ceiling(buckets, open_fraction(buckets.index, opening, freq="15min"),
                                    deadline=pd.Timedelta("60min"))
    assert abs(result.mean_service_level - ceiling) < 0.01
    # nobody is picked up while closed: the night intervals have no on-time message except the
    # last hour before opening (within the deadline of 08:00)
    night = result.intervals.between_time("00:00", "06:59")
    assert night["on_time"].sum() == 0


def test_business_clock_and_completion_time_options():
    vol = _week(5.0)
    opening = "mon-fri 09:00-17:00"
    real = simulate(vol, 4, aht_seconds=300, deadline="60min", runs=5, seed=6, opening=opening)
    business = simulate(vol, 4, aht_seconds=300, deadline="60min", runs=5, seed=6, opening=opening, clock="business")
    done = simulate(vol, 4, aht_seconds=300, deadline="60min", runs=5, seed=6, opening=opening, response="completion")
    assert business.mean_service_level > real.mean_service_level + 0.2
    assert done.mean_service_level < real.mean_service_level
    assert (done.runs["mean_response_minutes"] > real.runs["mean_response_minutes"]).all()


def test_shrinkage_concurrency_and_occupancy_set_the_slots():
    vol = _week(10.0, days=2)
    result = simulate(vol, 10, aht_seconds=300, deadline="60min", runs=40, seed=7, shrinkage=0.35, warmup=False)
    assert abs(result.intervals["slots"].mean() - 6.5) < 0.1  # 6 or 7 at random, mean kept
    result = simulate(vol, 4, aht_seconds=300, deadline="60min", runs=2, seed=7, concurrency=2, max_occupancy=0.5,
                      warmup=False)
    assert result.intervals["slots"].eq(4.0).all()
    # concurrency 3 with the default slowdown (1 + 0.5 (k - 1) = 2): throughput 1.5x, not 3x
    one = simulate(vol * 6, 1, aht_seconds=600, deadline="60min", runs=3, seed=8, warmup=False)
    three = simulate(vol * 6, 1, aht_seconds=600, deadline="60min", runs=3, seed=8, concurrency=3, warmup=False)
    rate_one = one.runs["answered"].mean()
    rate_three = three.runs["answered"].mean()
    assert 1.35 < rate_three / rate_one < 1.65  # both saturated: 6 vs 9 an hour


def test_priority_serves_the_first_channel_first():
    index = pd.date_range("2026-03-02", periods=48, freq="1h", tz=TZ)
    forecast = pd.concat([pd.DataFrame({"channel": c, "ds": index, "volume": 12.0}) for c in ("whatsapp", "x")])
    pooled = simulate(forecast, 2, aht_seconds=300, deadline="30min", runs=5, seed=9)
    ranked = simulate(forecast, 2, aht_seconds=300, deadline="30min", runs=5, seed=9, priority=["x", "whatsapp"])
    assert pooled.settings["channels"] == ["whatsapp", "x"]
    by_channel = ranked.channels.groupby("channel")["service_level"].mean()
    assert by_channel["x"] > by_channel["whatsapp"] + 0.05  # x is served first
    pooled_by_channel = pooled.channels.groupby("channel")["service_level"].mean()
    assert abs(pooled_by_channel["x"] - pooled_by_channel["whatsapp"]) < 0.05  # FIFO: alike
    assert (ranked.channels.groupby("run")["arrivals"].sum().to_numpy() == ranked.runs["arrivals"].to_numpy()).all()
    with pytest.raises(SimulationError, match="missing from the priority"):
        simulate(forecast, 2, aht_seconds=300, deadline="30min", runs=1, priority=["x"])
    # per-channel handle times
    fast = simulate(forecast, 2, aht_seconds={"whatsapp": 100, "x": 100}, deadline="30min", runs=3, seed=9)
    assert fast.mean_service_level > pooled.mean_service_level


def test_priority_changes_who_waits():
    index = pd.date_range("2026-03-02", periods=48, freq="1h", tz=TZ)
    forecast = pd.concat([pd.DataFrame({"channel": c, "ds": index, "volume": 11.0}) for c in ("a", "b")])
    ranked = simulate(forecast, 2, aht_seconds=300, deadline="10min", runs=1, seed=9, priority=["a", "b"],
                      warmup=False)
    only_a = simulate(forecast[forecast["channel"] == "a"], 2, aht_seconds=300, deadline="10min", runs=1,
                      seed=9, warmup=False)
    # the pooled priority queue is worse overall than serving channel a alone, but a is served first
    assert ranked.mean_service_level < only_a.mean_service_level


def test_replay_uses_the_history_timestamps():
    index = pd.date_range("2026-03-02", periods=24, freq="1h", tz=TZ)
    rng = np.random.default_rng(0)
    ts = index[0] + pd.to_timedelta(np.sort(rng.uniform(0, 86400, 300)), unit="s")
    replay = pd.DataFrame({"ts": ts, "handle_time_seconds": 120.0})
    vol = pd.Series(0.0, index=index)  # volumes are not used with replay
    result = simulate(vol, 2, aht_seconds=999, deadline="60min", runs=3, seed=1, replay=replay,
                      handle_time="replay", warmup=False)
    assert (result.runs["arrivals"] == 300).all()
    # replayed handle times of 120 s, deterministic: every run identical
    assert result.runs["service_level"].nunique() == 1


def test_empirical_and_lognormal_handle_times():
    vol = _week(20.0, days=2)
    emp = simulate(vol, 3, aht_seconds=300, deadline="2min", runs=3, seed=2, handle_time="empirical",
                   handle_samples=[60.0, 120.0], warmup=False)
    slow = simulate(vol, 3, aht_seconds=300, deadline="2min", runs=3, seed=2, handle_time="lognormal",
                    handle_cv=0.5, warmup=False)
    assert emp.mean_service_level > slow.mean_service_level


def test_summary_and_probabilities():
    vol = _week(20.0, days=14)
    result = simulate(vol, 3, aht_seconds=400, deadline="60min", runs=10, seed=3, target=0.8)
    p = result.probability()
    assert 0 <= p <= 1
    line = result.summary()
    assert f"in {int(round(p * 10))} of 10 runs" in line.replace("reached ", "")
    assert "simulated weeks" in line
    assert len(result.weeks) == 10 * 2
    assert result.probability(by="week") == pytest.approx(
        (result.weeks["service_level"] >= 0.8).mean())
    assert result.quantile(0.5) == pytest.approx(result.runs["service_level"].median())


def test_open_at_end_counts_late_and_undetermined():
    vol = _week(30.0, days=1)
    result = simulate(vol, 1, aht_seconds=600, deadline="60min", runs=2, seed=5, warmup=False)
    runs = result.runs
    assert (runs["open_at_end"] > 0).all()
    assert (runs["on_time"] + runs["late"] + runs["undetermined"] == runs["arrivals"]).all()
    assert (runs["answered"] + runs["abandoned"] + runs["open_at_end"] == runs["arrivals"]).all()
    assert (runs["undetermined"] <= runs["open_at_end"]).all()


def test_staffing_from_a_roster_shift_frame():
    coverage = pytest.importorskip("scheduling.roster.coverage")
    index = pd.date_range("2026-03-02", periods=24, freq="1h", tz=TZ)
    shifts = pd.DataFrame({"start": [index[8]], "end": [index[16]], "count": [3]})
    assert hasattr(coverage, "staffing_from_shifts")
    result = simulate(pd.Series(10.0, index=index), shifts, aht_seconds=300, deadline="60min", runs=2,
                      seed=1, warmup=False)
    slots = result.intervals["slots"]
    assert slots.iloc[8:16].eq(3).all() and slots.iloc[:8].eq(0).all() and slots.iloc[16:].eq(0).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"runs": 0}, "runs"),
    ({"deadline": "0min"}, "deadline"),
    ({"aht_seconds": 0}, "handle time"),
    ({"shrinkage": 1.0}, "shrinkage"),
    ({"concurrency": 0.5}, "concurrency"),
    ({"patience_seconds": -1}, "patience"),
    ({"burstiness": -1}, "burstiness"),
    ({"clock": "moon"}, "clock"),
    ({"handle_time": "uniform"}, "handle_time"),
])
def test_bad_arguments(kwargs, message):
    args = dict(aht_seconds=300, deadline="60min", runs=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        simulate(_week(days=1), 3, **args)


def test_bad_staffing_and_forecast():
    vol = _week(days=2)
    short = pd.DataFrame({"ds": vol.index[:30], "agents": 3.0})
    with pytest.raises(SimulationError, match="no rows for 18 interval"):
        simulate(vol, short, aht_seconds=300, deadline="60min", runs=1)
    late_start = pd.DataFrame({"ds": vol.index[2:], "agents": 3.0})
    with pytest.raises(SimulationError, match="missing for the first"):
        simulate(vol, late_start, aht_seconds=300, deadline="60min", runs=1)
    with pytest.raises(SimulationError, match=">= 0"):
        simulate(vol, pd.DataFrame({"ds": vol.index, "agents": -1.0}), aht_seconds=300, deadline="60min", runs=1)
    naive = pd.Series(1.0, index=pd.date_range("2026-03-02", periods=5, freq="1h"))
    with pytest.raises(SimulationError, match="time-zone aware"):
        simulate(naive, 3, aht_seconds=300, deadline="60min", runs=1)
    gappy = pd.DataFrame({"channel": "x", "ds": vol.index.delete(5), "volume": 1.0})
    with pytest.raises(SimulationError, match="regular"):
        simulate(gappy, 3, aht_seconds=300, deadline="60min", runs=1)


def test_variability_margin_refuses_unknown_kinds_and_bad_targets():
    from scheduling.simulate import variability_margin

    vol = to_buckets(_week(days=1), pd.Timedelta("1h"))
    with pytest.raises(SimulationError, match="kind"):
        variability_margin(vol, None, aht_seconds=300, deadline="60min", target=0.8, kind="magic")
    with pytest.raises(SimulationError, match="target"):
        variability_margin(vol, None, aht_seconds=300, deadline="60min", target=80)
    with pytest.raises(SimulationError, match="opening"):
        variability_margin(vol, 42, aht_seconds=300, deadline="60min", target=0.8)
