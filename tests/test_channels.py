"""channels.toml: validation, and several channels sharing one team (priority order, pooled)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scheduling import backlog as fluid
from scheduling.channels import ChannelsError, read_channels
from scheduling.opening_hours import parse_opening_hours
from scheduling.requirements import ServiceTarget, requirements

TZ = "Europe/Amsterdam"
OPEN = parse_opening_hours("daily 08:00-22:00")


def write(tmp_path, text, name="channels.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def forecast(days=3, channels=("a", "b")):
    """Hourly forecast: a daytime wave, little at night, a different level per channel."""
    ds = pd.date_range(pd.Timestamp("2025-03-03", tz=TZ), periods=24 * days, freq="1h")
    hour = ds.hour.to_numpy()
    base = np.where((hour >= 8) & (hour < 22), 12 + 6 * np.sin((hour - 8) / 14 * np.pi), 1.0)
    return pd.concat([pd.DataFrame({"channel": c, "ds": ds, "volume": base * (1 + 0.5 * i)})
                      for i, c in enumerate(channels)], ignore_index=True)


TARGET = ServiceTarget(target=0.8, within=pd.Timedelta("60min"), aht_seconds=360.0)


def test_reads_a_full_file(tmp_path):
    cfg = read_channels(write(tmp_path, """
team = "priority"
[channels.WhatsApp]
aht = "5m"
target = 90
within = "30m"
concurrency = 2
actionable = 0.7
priority = 2
proactive_hours = 1.5
open = "mon-fri 08:00-20:00"
[channels.x]
aht = "history"
priority = 1
"""))
    assert cfg.team == "priority"
    w = cfg.spec("whatsapp")
    assert (w.aht_seconds, w.target, w.within, w.concurrency, w.actionable, w.proactive_hours) == \
        (300.0, 0.9, pd.Timedelta("30min"), 2.0, 0.7, 1.5)
    assert str(w.opening).startswith("mon")
    assert cfg.spec("x").aht_from_history and cfg.spec("x").aht_seconds is None
    assert cfg.priority_order(["whatsapp", "x"]) == ["x", "whatsapp"]
    # a channel the file does not name gets the defaults (None: the command-line values)
    assert cfg.spec("forum").target is None and cfg.spec("forum").actionable == 1.0


@pytest.mark.parametrize("text,where", [
    ('[channels.x]\ntarget = 120', "[channels.x], key 'target'"),
    ('[channels.x]\ntarget = 0.8', "[channels.x], key 'target'"),
    ('[channels.x]\nwithin = "0"', "[channels.x], key 'within'"),
    ('[channels.x]\nwithin = "soon"', "[channels.x], key 'within'"),
    ('[channels.x]\naht = "0s"', "[channels.x], key 'aht'"),
    ('[channels.x]\nconcurrency = 0.5', "[channels.x], key 'concurrency'"),
    ('[channels.x]\nactionable = 1.5', "[channels.x], key 'actionable'"),
    ('[channels.x]\nactionable = "most"', "[channels.x], key 'actionable'"),
    ('[channels.x]\npriority = 1.5', "[channels.x], key 'priority'"),
    ('[channels.x]\nproactive_hours = -1', "[channels.x], key 'proactive_hours'"),
    ('[channels.x]\nopen = "mon 08:00-12:00, 11:00-14:00"', "[channels.x], key 'open'"),
    ('[channels.x]\nopen = "weekdays"', "[channels.x], key 'open'"),
    ('[channels.x]\ntargte = 80', "[channels.x]: unknown key"),
    ('team = "shared"\n[channels.x]\ntarget = 80', "key 'team'"),
    ('[channels.x]\ntarget = 80\n[channels.X]\ntarget = 70', "given twice"),
    ('team = "priority"', "no [channels.NAME] tables"),
    ('[channels.x\ntarget = 80', "not valid TOML"),
])
def test_bad_files_name_file_table_and_key(tmp_path, text, where):
    with pytest.raises(ChannelsError) as info:
        read_channels(write(tmp_path, text))
    assert "channels.toml" in str(info.value) and where in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ChannelsError, match="not found"):
        read_channels(tmp_path / "nope.toml")


def test_separate_channels_use_their_own_settings(tmp_path):
    cfg = read_channels(write(tmp_path, """
[channels.a]
target = 90
within = "30m"
actionable = 0.5
[channels.b]
aht = "3m"
"""))
    fc = forecast()
    res = requirements(fc, TARGET, OPEN, channels=cfg)
    t = res.table
    a, b = t[t.channel == "a"], t[t.channel == "b"]
    assert a["volume"].sum() == pytest.approx(0.5 * fc[fc.channel == "a"]["volume"].sum())
    assert (res.days["a"]["service_level"] >= 0.9 - 1e-9).all()
    # b alone with AHT 6 min (the default) needs more than with its own 3 min
    plain = requirements(fc[fc.channel == "b"], TARGET, OPEN)
    assert b["agents_required"].sum() < plain.table["agents_required"].sum()


def _daily_sl(res, channel):
    return res.days[channel]["service_level"].to_numpy()


def test_priority_team(tmp_path):
    cfg = read_channels(write(tmp_path, """
team = "priority"
[channels.b]
priority = 1
[channels.a]
priority = 2
target = 85
"""))
    fc = forecast()
    res = requirements(fc, TARGET, OPEN, channels=cfg)
    # the first channel is planned as if alone
    alone = requirements(fc[fc.channel == "b"], TARGET, OPEN)
    first = res.table[res.table.channel == "b"]["agents_required"].to_numpy()
    assert first == pytest.approx(alone.table["agents_required"].to_numpy())
    assert (_daily_sl(res, "b") >= 0.8 - 1e-9).all() and (_daily_sl(res, "a") >= 0.85 - 1e-9).all()
    # the team's rows hold the sum of the channels' agents
    per_ds = res.table.groupby("ds")["agents_required"].sum().to_numpy()
    assert res.team["agents_required"].to_numpy() == pytest.approx(per_ds)
    assert (res.team["channel"] == "team").all()
    # re-evaluating the team staffing in priority order reaches the targets too
    staffing = pd.DataFrame({"ds": res.team["ds"], "agents": res.team["agents_required"]})
    again = requirements(fc, TARGET, OPEN, staffing=staffing, channels=cfg)
    assert (_daily_sl(again, "a") >= 0.85 - 1e-6).all()
    assert (_daily_sl(again, "b") >= 0.8 - 1e-6).all()


def test_pooled_team_meets_every_channels_target(tmp_path):
    cfg = read_channels(write(tmp_path, """
team = "pooled"
[channels.a]
aht = "8m"
target = 90
[channels.b]
aht = "4m"
"""))
    fc = forecast()
    res = requirements(fc, TARGET, OPEN, channels=cfg)
    assert all(res.reachable.values())
    for channel, target in (("a", 0.9), ("b", 0.8)):
        iv = res.intervals[channel]
        day = iv["ds"].dt.tz_localize(None).dt.normalize()
        on = (iv["service_level"].fillna(0) * iv["arrivals"]).groupby(day).sum()
        decided = iv["arrivals"].where(iv["service_level"].notna(), 0).groupby(day).sum()
        assert (on / decided >= target - 1e-6).all()
    # whole agents per channel that add up to the team's
    assert (res.table["agents_required"] % 1 == 0).all()
    per_ds = res.table.groupby("ds")["agents_required"].sum().to_numpy()
    assert res.team["agents_required"].to_numpy() == pytest.approx(per_ds)


def test_pooled_channels_cannot_have_their_own_hours(tmp_path):
    path = write(tmp_path, 'team = "pooled"\n[channels.a]\nopen = "daily 09:00-17:00"\n[channels.b]\ntarget = 80\n')
    with pytest.raises(ValueError, match=r"\[channels.a\], key 'open'"):
        requirements(forecast(), TARGET, OPEN, channels=read_channels(path))
    with pytest.raises(ValueError, match="backlog model"):
        requirements(forecast(), ServiceTarget(0.8, pd.Timedelta("20s"), 180, model="erlang-c"), OPEN,
                     channels=read_channels(write(tmp_path, 'team = "priority"\n[channels.a]\n')))


def test_proactive_work_fills_idle_time_or_is_reported(tmp_path):
    cfg = read_channels(write(tmp_path, "[channels.a]\nproactive_hours = 6\n"))
    fc = forecast(channels=("a",))
    planned = requirements(fc, TARGET, OPEN, channels=cfg)
    table = planned.proactive["a"]
    assert table["fits"].all() and (table["proactive_hours"] == 6).all()
    # the plan's idle time (open capacity not used for messages) covers 6 agent-hours a day
    iv = planned.intervals["a"]
    unit = fluid.messages_per_agent(900, 360.0)
    idle = (iv["agents"] - iv["handled"] / unit).clip(lower=0) * 0.25
    day = iv["ds"].dt.tz_localize(None).dt.normalize()
    assert (idle.groupby(day).sum() >= 6 - 1e-6).all()
    # a given staffing with little slack: the days where it does not fit are reported
    plain = requirements(fc, TARGET, OPEN)
    staffing = pd.DataFrame({"ds": plain.table["ds"], "agents": plain.table["agents_required"]})
    evaluated = requirements(fc, TARGET, OPEN, staffing=staffing, channels=cfg)
    assert not evaluated.proactive["a"]["fits"].all()
    assert "does not fit" in evaluated.explanations["a"]


def test_pooled_queue_that_cannot_serve_a_channel_says_so(tmp_path):
    """Channel a arrives only late in the evening, so in one queue its messages wait behind
    the day's backlog and overnight: it cannot reach 90% within 30 minutes, whatever the pool's target."""
    ds = pd.date_range(pd.Timestamp("2025-03-03", tz=TZ), periods=24 * 3, freq="1h")
    hour = ds.hour.to_numpy()
    day = pd.DataFrame({"channel": "b", "ds": ds, "volume": np.where((hour >= 8) & (hour < 22), 30.0, 0.0)})
    late = pd.DataFrame({"channel": "a", "ds": ds, "volume": np.where(hour >= 21, 3.0, 0.0)})
    cfg = read_channels(write(tmp_path, 'team = "pooled"\n[channels.a]\ntarget = 90\nwithin = "30m"\n'))
    res = requirements(pd.concat([day, late], ignore_index=True), TARGET, OPEN, channels=cfg)
    assert not any(res.reachable.values())
    assert "cannot give every channel its own target" in res.explanations["a"]
    assert res.table["agents_required"].isna().all()
