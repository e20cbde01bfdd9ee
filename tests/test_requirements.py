"""scheduling.requirements: intra-hour profile, handle time per interval, margin, Erlang targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scheduling import erlang
from scheduling.backlog import required_staffing
from scheduling.handle_time import estimate_handle_times
from scheduling.intraday import apply_intraday, estimate_intraday_profile
from scheduling.opening_hours import parse_opening_hours
from scheduling.requirements import ServiceTarget, requirements

TZ = "Europe/Amsterdam"
OPEN = parse_opening_hours("daily 08:00-22:00")
TARGET = ServiceTarget(target=0.8, within=pd.Timedelta("60min"), aht_seconds=360.0)


def hourly(days=2, channel="x", level=10.0):
    ds = pd.date_range(pd.Timestamp("2025-03-03", tz=TZ), periods=24 * days, freq="1h")
    hour = ds.hour.to_numpy()
    y = np.where((hour >= 8) & (hour < 22), level, 1.0)
    return pd.DataFrame({"channel": channel, "ds": ds, "volume": y})


def bunched_messages(n_hours=48, per_hour=40):
    """Messages: 70% in the first quarter of each hour, 10% in each other quarter."""
    start = pd.Timestamp("2025-02-03", tz=TZ)
    stamps = []
    rng = np.random.default_rng(1)
    for h in range(n_hours):
        base = start + pd.Timedelta(hours=h)
        counts = [int(per_hour * 0.7), int(per_hour * 0.1), int(per_hour * 0.1), int(per_hour * 0.1)]
        for q, c in enumerate(counts):
            stamps += [base + pd.Timedelta(seconds=int(s)) for s in rng.integers(q * 900, (q + 1) * 900, c)]
    return pd.DataFrame({"ts": pd.DatetimeIndex(stamps), "channel": "x",
                         "handle_time_seconds": np.where(pd.DatetimeIndex(stamps).hour < 12, 200.0, 400.0)})


def test_intraday_profile_estimate_and_apply():
    profile = estimate_intraday_profile(bunched_messages(), min_messages=50)
    shares = profile.shares("x")
    assert shares.shape == (24, 4)
    assert shares.sum(axis=1) == pytest.approx(1.0)
    assert shares[:, 0] == pytest.approx(0.7)  # 80 messages per hour of day over 2 days: own profile
    assert (profile.table["source"] == "hour").all()
    fc = hourly()
    volume = fc.set_index("ds")["volume"]
    spread = apply_intraday(volume, pd.Timedelta("1h"), shares)
    assert len(spread) == 4 * len(volume) and spread.sum() == pytest.approx(volume.sum())
    assert spread.iloc[0] == pytest.approx(0.7 * volume.iloc[0])
    even = apply_intraday(volume, pd.Timedelta("1h"))
    assert even.iloc[:4].to_numpy() == pytest.approx(volume.iloc[0] / 4)
    # 30-minute intervals: the two quarters of each half hour, renormalised
    half = pd.Series([10.0, 10.0], index=pd.date_range("2025-03-03 09:00", periods=2, freq="30min", tz=TZ))
    got = apply_intraday(half, pd.Timedelta("30min"), shares).to_numpy()
    assert got == pytest.approx([10 * 0.7 / 0.8, 10 * 0.1 / 0.8, 5.0, 5.0])
    # an unknown channel and sparse data are spread evenly
    assert profile.shares("y") == pytest.approx(np.full((24, 4), 0.25))
    sparse = estimate_intraday_profile(bunched_messages(n_hours=2, per_hour=10), min_messages=200)
    assert (sparse.table["source"] == "even").all()


def test_bunched_arrivals_need_more_staff_than_an_even_spread():
    fc = hourly(level=20.0)
    profile = estimate_intraday_profile(bunched_messages(), min_messages=50)
    target = ServiceTarget(target=0.8, within=pd.Timedelta("5min"), aht_seconds=360.0, period="bucket")
    even = requirements(fc, target, OPEN)
    bunched = requirements(fc, target, OPEN, intraday=profile)
    assert bunched.table["volume"].sum() == pytest.approx(even.table["volume"].sum())
    assert bunched.table["agents_required"].sum() > even.table["agents_required"].sum()
    assert any("intra-hour profile" in n for n in bunched.notes["x"])


def test_handle_time_from_history_per_hour():
    ht = estimate_handle_times(bunched_messages(), min_messages=10)
    fc = hourly(level=40.0)
    res = requirements(fc, TARGET, OPEN, handle_times=ht, aht_from_history=True)
    flat = requirements(fc, ServiceTarget(target=0.8, within=pd.Timedelta("60min"), aht_seconds=200.0), OPEN)
    # mornings at 200 s, afternoons at 400 s: the afternoon needs more than a flat 200 s
    afternoon = res.table["ds"].dt.hour >= 12
    assert (res.table.loc[afternoon, "agents_required"].sum()
            > flat.table.loc[afternoon, "agents_required"].sum())
    assert any("handle time from history" in n for n in res.notes["x"])
    with pytest.raises(ValueError, match="history"):
        requirements(fc, TARGET, OPEN, aht_from_history=True)


def test_variability_margin_raises_the_plan():
    fc = hourly()
    plain = requirements(fc, TARGET, OPEN)
    more = requirements(fc, TARGET, OPEN, margin=0.05)
    assert more.table["agents_required"].sum() >= plain.table["agents_required"].sum()
    assert (more.days["x"]["service_level"] >= 0.85 - 1e-9).all()
    # above the ceiling the margin is cut to what the opening hours allow, not refused
    capped = requirements(fc, ServiceTarget(target=0.9, within=pd.Timedelta("60min"), aht_seconds=360.0), OPEN,
                          margin=0.2)
    assert capped.reachable["x"] and any("margin was cut" in n for n in capped.notes["x"])
    with pytest.raises(ValueError, match="margin"):
        requirements(fc, TARGET, OPEN, margin=-0.1)


def test_erlang_targets_asa_occupancy_and_sl_definition():
    ds = pd.date_range("2025-03-03 09:00", periods=2, freq="30min", tz=TZ)
    fc = pd.DataFrame({"channel": "x", "ds": ds, "volume": [100.0, 100.0]})
    base = dict(target=0.8, within=pd.Timedelta("20s"), aht_seconds=180.0)
    c = requirements(fc, ServiceTarget(model="erlang-c", **base)).table
    assert (c["agents_required"] == 14).all()
    # an ASA target of 5 s needs more than the SL target alone (ASA 7.8 s at 14)
    asa = requirements(fc, ServiceTarget(model="erlang-c", asa_target_seconds=5.0, **base)).table
    want = erlang.required_agents(10.0, 180.0, 20.0, target_service_level=0.8, target_asa_seconds=5.0)
    assert (asa["agents_required"] == want).all() and want > 14
    occ = requirements(fc, ServiceTarget(model="erlang-c", max_occupancy=0.7, **base)).table
    assert (occ["agents_required"] == 15).all()  # THEORY.md: max occupancy 0.70 -> raw 15
    a = requirements(fc, ServiceTarget(model="erlang-a", patience_seconds=300.0, target=0.9,
                                       within=pd.Timedelta("20s"), aht_seconds=180.0)).table
    assert (a["agents_required"] == 14).all()
    assert a["service_level"].iloc[0] == pytest.approx(0.916792, abs=1e-4)
    answered = requirements(fc, ServiceTarget(model="erlang-a", patience_seconds=300.0, target=0.9,
                                              within=pd.Timedelta("20s"), aht_seconds=180.0,
                                              sl_definition="answered")).table
    assert answered["service_level"].iloc[0] == pytest.approx(0.929794, abs=1e-4)
    with pytest.raises(ValueError, match="definition"):
        ServiceTarget(model="erlang-a", patience_seconds=300.0, sl_definition="served", **base)
    with pytest.raises(ValueError, match="ASA"):
        ServiceTarget(model="erlang-c", asa_target_seconds=0.0, **base)


def test_backlog_intervals_days_and_weeks_outputs():
    res = requirements(hourly(days=8), TARGET, OPEN)
    iv = res.intervals["x"]
    for column in ("arrivals", "agents", "handled", "backlog", "oldest_waiting_minutes", "service_level",
                   "mean_response_minutes", "p90_response_minutes"):
        assert column in iv.columns
    assert len(res.days["x"]) == 8 and len(res.weeks["x"]) == 2
    assert res.weeks["x"]["arrivals"].sum() == pytest.approx(iv["arrivals"].sum())
    # closed 22:00-08:00: at 07:45-08:00 the oldest waiting message arrived soon after 22:00
    at_opening = iv[(iv["ds"].dt.hour == 7) & (iv["ds"].dt.minute == 45)]
    assert (at_opening["oldest_waiting_minutes"] > 9 * 60).all()


def test_a_drop_in_planner_is_used_and_evaluated_with_the_plain_model():
    calls = []

    def planner(arrivals, open_fraction=None, **kwargs):
        """required_staffing, then one agent more in every open bucket (a crude margin)."""
        from scheduling.backlog import required_staffing

        calls.append(kwargs["target"])
        plan = required_staffing(arrivals, open_fraction, **kwargs)

        class Plan:
            agents = plan.agents + (np.asarray(open_fraction) > 0)
            explanation = "padded: " + plan.explanation
        return Plan()

    fc = hourly()
    plain = requirements(fc, TARGET, OPEN, planner=required_staffing)
    padded = requirements(fc, TARGET, OPEN, planner=planner)
    assert calls == [0.8]
    is_open = plain.table["agents_required"] > 0
    assert (padded.table["agents_required"] - plain.table["agents_required"])[is_open].eq(1).all()
    assert padded.explanations["x"].startswith("padded")
    assert padded.days["x"]["service_level"].min() >= plain.days["x"]["service_level"].min() - 1e-9


def test_the_simulators_margin_planner_plugs_in():
    margin = pytest.importorskip("scheduling.margin")
    fc = hourly()
    res = requirements(fc, TARGET, OPEN, planner=margin.plan_with_margin)
    plain = requirements(fc, TARGET, OPEN, planner=required_staffing)
    assert res.reachable["x"]
    assert res.table["agents_required"].sum() >= plain.table["agents_required"].sum()
    assert (res.days["x"]["service_level"] >= 0.8 - 1e-9).all()


def test_the_default_plan_carries_the_variability_margin():
    """By default the backlog model plans with the variability margin (docs/margin.md): more agents
    than the bare fluid plan, which runs at full occupancy and misses the target in simulation."""
    fc = hourly()
    default = requirements(fc, TARGET, OPEN)
    bare = requirements(fc, TARGET, OPEN, planner=required_staffing)
    assert default.table["agents_required"].sum() > bare.table["agents_required"].sum()
    assert "Erlang C floor" in default.explanations["x"]
