"""`webcare staff`: from a forecast to required agents, or what a given staffing achieves."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from forecast.ingest import format_iso
from webcare.cli import main

TZ = "Europe/Amsterdam"


def write_forecast(path, ds: pd.DatetimeIndex, yhat, channel="webcare"):
    pd.DataFrame({"channel": channel, "ds": format_iso(ds), "yhat": yhat}).to_csv(path, index=False)
    return path


@pytest.fixture
def overnight(tmp_path):
    """THEORY.md section 3: 3 messages/h while closed (22-08), 20/h while open, for two weeks."""
    first = pd.Timestamp("2025-03-03", tz=TZ)  # two weeks without a DST change
    ds = pd.date_range(first.tz_convert("UTC"), periods=14 * 24, freq="1h").tz_convert(TZ)
    yhat = np.where((ds.hour >= 8) & (ds.hour < 22), 20.0, 3.0)
    return write_forecast(tmp_path / "forecast.csv", ds, yhat), ds


def test_published_erlang_c_example(tmp_path, capsys):
    ds = pd.date_range("2025-03-03 09:00", periods=2, freq="30min", tz=TZ)
    path = write_forecast(tmp_path / "f.csv", ds, [100, 100])
    out = tmp_path / "req.csv"
    assert main(["staff", str(path), "--aht", "180s", "--target", "80", "--within", "20s", "--model", "erlang-c",
                 "--shrinkage", "0.3", "--out", str(out)]) == 0
    req = pd.read_csv(out)
    assert list(req.columns) == ["ds", "channel", "volume", "agents_required", "agents_scheduled", "service_level", "backlog", "asa_seconds"]
    assert (req["agents_required"] == 14).all() and (req["agents_scheduled"] == 20).all()
    assert req["service_level"].iloc[0] == pytest.approx(0.88835, abs=1e-4)
    assert req["asa_seconds"].iloc[0] == pytest.approx(7.836, abs=1e-3)


def test_erlang_a_needs_patience_and_staffs_no_more_than_erlang_c(tmp_path, capsys):
    ds = pd.date_range("2025-03-03 09:00", periods=2, freq="30min", tz=TZ)
    path = write_forecast(tmp_path / "f.csv", ds, [100, 100])
    out = tmp_path / "req.csv"
    common = ["staff", str(path), "--aht", "3m", "--target", "80", "--within", "20s", "--out", str(out)]
    assert main(common + ["--model", "erlang-a"]) == 2
    assert "patience" in capsys.readouterr().err
    assert main(common + ["--model", "erlang-a", "--patience", "5m"]) == 0
    req = pd.read_csv(out)
    assert (req["agents_required"] <= 14).all() and (req["service_level"] >= 0.8).all()


def test_backlog_plan_meets_the_daily_target_below_the_ceiling(overnight, tmp_path, capsys):
    path, ds = overnight
    out = tmp_path / "req.csv"
    assert main(["staff", str(path), "--aht", "6m", "--target", "80", "--within", "60m",
                 "--open", "mon-sun 08:00-22:00", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # closed 22-08: the messages of 22:00-07:00 wait past 60 minutes whatever the staffing
    assert re.search(r"at most 91\.\d% is reachable", printed)
    req = pd.read_csv(out)
    assert len(req) == 14 * 24 * 4  # hourly forecast spread over 15-minute buckets
    assert req["volume"].sum() == pytest.approx(14 * (14 * 20 + 10 * 3))
    local = pd.to_datetime(req["ds"], utc=True).dt.tz_convert(TZ)
    closed = (local.dt.hour < 8) | (local.dt.hour >= 22)
    assert (req.loc[closed, "agents_required"] == 0).all() and (req.loc[~closed, "agents_required"] >= 1).all()
    # per day, the share within 60 minutes of that day's arrivals reaches 80%
    on_time = (req["service_level"] * req["volume"]).groupby(local.dt.date).sum() / req["volume"].groupby(local.dt.date).sum()
    assert (on_time >= 0.8 - 1e-6).all()


def test_evaluating_the_theory_staffing(overnight, tmp_path, capsys):
    path, ds = overnight
    rows = [(d, 3 if 8 <= d.hour < 22 else 0) for d in ds]
    staffing = tmp_path / "staffing.csv"
    pd.DataFrame({"ds": format_iso(pd.DatetimeIndex([r[0] for r in rows])), "agents": [r[1] for r in rows]}).to_csv(staffing, index=False)
    out = tmp_path / "eval.csv"
    assert main(["staff", str(path), "--aht", "6m", "--target", "80", "--within", "60m", "--open", "mon-sun 08:00-22:00",
                 "--staffing", str(staffing), "--out", str(out)]) == 0
    assert "the given staffing reaches" in capsys.readouterr().out
    req = pd.read_csv(out)
    assert set(req["agents_scheduled"]) == {0, 3}
    # with 3 agents the 30 overnight messages of each day are late: 280 / 310 on time (THEORY.md)
    local = pd.to_datetime(req["ds"], utc=True).dt.tz_convert(TZ)
    day = local.dt.date
    on_time = (req["service_level"] * req["volume"]).groupby(day).sum() / req["volume"].groupby(day).sum()
    assert on_time.iloc[1:-1].to_numpy() == pytest.approx(280 / 310, abs=1e-6)
    # the backlog at 08:00 is the night's 30 messages
    at_eight = req[(local.dt.hour == 7) & (local.dt.minute == 45)]["backlog"].iloc[1:]
    assert at_eight.to_numpy() == pytest.approx(30.0, abs=1e-6)


@pytest.mark.parametrize("flags,message", [
    (["--target", "0.8"], "percentage"),
    (["--target", "120"], "percentage"),
    (["--within", "0"], "deadline"),
    (["--aht", "0"], "handle time"),
    (["--concurrency", "0.5"], "concurrency"),
    (["--shrinkage", "1"], "--shrinkage"),
    (["--open", "mon 08:00-12:00, 11:00-14:00"], "overlap"),
    (["--open", "mon 08:00-12:00; mon 13:00-14:00"], "given twice"),
    (["--open", "weekdays from eight"], ""),
])
def test_bad_flags_exit_2_and_write_nothing(overnight, tmp_path, capsys, flags, message):
    path, _ = overnight
    out = tmp_path / "req.csv"
    args = {"--target": "80", "--within": "60m", "--aht": "6m"}
    for flag, value in zip(flags[::2], flags[1::2]):
        args[flag] = value
    argv = ["staff", str(path), "--out", str(out)] + [x for kv in args.items() for x in kv]
    assert main(argv) == 2
    assert message.lower() in capsys.readouterr().err.lower()
    assert not out.exists()


def test_unreachable_target_is_explained_and_nothing_written(overnight, tmp_path, capsys):
    path, _ = overnight
    out = tmp_path / "req.csv"
    assert main(["staff", str(path), "--aht", "6m", "--target", "95", "--within", "60m",
                 "--open", "mon-sun 08:00-22:00", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is reachable" in err and "arrive while closed" in err and "nothing was written" in err
    assert not out.exists()


def test_staffing_file_with_missing_intervals(overnight, tmp_path, capsys):
    path, ds = overnight
    staffing = tmp_path / "staffing.csv"
    pd.DataFrame({"ds": format_iso(ds[24:48]), "agents": 3}).to_csv(staffing, index=False)
    out = tmp_path / "eval.csv"
    assert main(["staff", str(path), "--aht", "6m", "--target", "80", "--within", "60m", "--staffing", str(staffing),
                 "--out", str(out)]) == 2
    assert "staffing" in capsys.readouterr().err and not out.exists()


def test_forecast_file_problems_name_rows(tmp_path, capsys):
    path = tmp_path / "f.csv"
    path.write_text("ds,channel,yhat\n2025-03-03T09:00:00+01:00,x,5\n2025-03-03T10:00:00+01:00,x,-1\n2025-03-03T11:00:00+01:00,x,veel\n")
    assert main(["staff", str(path), "--aht", "6m", "--target", "80", "--within", "60m", "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "f.csv, column 'yhat', row 3: value is negative" in err and "row 4: value is not a number" in err


# --------------------------------------------------------------------------------------------
# channels.toml, history-based handle times and intra-hour profile, extra outputs
# --------------------------------------------------------------------------------------------


def two_channels(tmp_path, days=3):
    first = pd.Timestamp("2025-03-03", tz=TZ)
    ds = pd.date_range(first.tz_convert("UTC"), periods=days * 24, freq="1h").tz_convert(TZ)
    base = np.where((ds.hour >= 8) & (ds.hour < 22), 20.0, 2.0)
    frame = pd.concat([pd.DataFrame({"channel": c, "ds": format_iso(ds), "yhat": base * k})
                       for c, k in (("whatsapp", 1.0), ("x", 0.5))])
    path = tmp_path / "forecast.csv"
    frame.to_csv(path, index=False)
    return path


def test_channels_file_priority_team_and_all_outputs(tmp_path, capsys):
    path = two_channels(tmp_path)
    channels = tmp_path / "channels.toml"
    channels.write_text('team = "priority"\n[channels.whatsapp]\npriority = 1\n'
                        '[channels.x]\npriority = 2\ntarget = 90\nactionable = 0.5\nproactive_hours = 1\n')
    outs = {name: tmp_path / f"{name}.csv" for name in ("req", "team", "iv", "days", "weeks")}
    assert main(["staff", str(path), "--target", "80", "--within", "60m", "--aht", "6m", "--open", "daily 08:00-22:00",
                 "--channels", str(channels), "--out", str(outs["req"]), "--team-out", str(outs["team"]),
                 "--intervals-out", str(outs["iv"]), "--days-out", str(outs["days"]),
                 "--weeks-out", str(outs["weeks"])]) == 0
    printed = capsys.readouterr().out
    assert "priority 2 of 2" in printed and "team (priority)" in printed and "actionable" in printed
    req, team = pd.read_csv(outs["req"]), pd.read_csv(outs["team"])
    assert set(req["channel"]) == {"whatsapp", "x"} and set(team["channel"]) == {"team"}
    assert team["agents_required"].sum() == pytest.approx(req["agents_required"].sum())
    days = pd.read_csv(outs["days"])
    assert (days.loc[days["channel"] == "x", "service_level"] >= 0.9 - 1e-6).all()
    iv = pd.read_csv(outs["iv"])
    assert {"oldest_waiting_minutes", "p90_response_minutes", "handled"} <= set(iv.columns)
    assert len(pd.read_csv(outs["weeks"])) >= 2


def test_target_within_and_aht_may_come_from_the_channels_file(tmp_path, capsys):
    path = two_channels(tmp_path)
    channels = tmp_path / "channels.toml"
    channels.write_text('[channels.whatsapp]\ntarget = 80\nwithin = "1h"\naht = "6m"\n'
                        '[channels.x]\ntarget = 70\nwithin = "2h"\naht = "4m"\n')
    out = tmp_path / "req.csv"
    assert main(["staff", str(path), "--channels", str(channels), "--open", "daily 08:00-22:00", "--out", str(out)]) == 0
    assert out.exists()
    # without the file the flags are required, with a message naming them
    out2 = tmp_path / "req2.csv"
    assert main(["staff", str(path), "--within", "60m", "--aht", "6m", "--out", str(out2)]) == 2
    assert "--target is required" in capsys.readouterr().err and not out2.exists()
    partial = tmp_path / "partial.toml"
    partial.write_text('[channels.whatsapp]\ntarget = 80\n')
    assert main(["staff", str(path), "--within", "60m", "--aht", "6m", "--channels", str(partial), "--out", str(out2)]) == 2
    err = capsys.readouterr().err
    assert "--target is required" in err and "partial.toml for x" in err and not out2.exists()


@pytest.mark.parametrize("text,message", [
    ('[channels.whatsapp]\ntarget = 120\n', "channels.toml, [channels.whatsapp], key 'target'"),
    ('[channels.whatsapp]\nwithin = "-5m"\n', "[channels.whatsapp], key 'within'"),
    ('[channels.whatsapp]\naht = 0\n', "[channels.whatsapp], key 'aht'"),
    ('[channels.whatsapp]\nconcurrency = 0\n', "[channels.whatsapp], key 'concurrency'"),
    ('[channels.whatsapp]\nopen = "mon 08:00-12:00; mon 10:00-14:00"\n', "[channels.whatsapp], key 'open'"),
    ('[channels.whatsapp]\nshrinkage = 0.3\n', "unknown key"),
    ('team = "pooled"\n[channels.whatsapp]\nopen = "daily 09:00-17:00"\n', "key 'open'"),
    ('[channels.whatsapp]\naht = "history"\n', "--dataset"),
])
def test_bad_channels_file_exit_2_and_write_nothing(tmp_path, capsys, text, message):
    path = two_channels(tmp_path)
    channels = tmp_path / "channels.toml"
    channels.write_text(text)
    out = tmp_path / "req.csv"
    assert main(["staff", str(path), "--target", "80", "--within", "60m", "--aht", "6m",
                 "--channels", str(channels), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("flags,message", [
    (["--margin", "-1"], "--margin"),
    (["--margin", "lots"], "--margin"),
    (["--min-agents", "-1"], "minimum number of agents"),
    (["--aht", "history"], "--dataset"),
    (["--team-out", "TEAM"], "--team-out needs a team mode"),
    (["--model", "erlang-c", "--intervals-out", "IV"], "backlog model"),
    (["--model", "erlang-c", "--asa", "0s"], "ASA"),
])
def test_more_bad_flags_exit_2_and_write_nothing(overnight, tmp_path, capsys, flags, message):
    path, _ = overnight
    out = tmp_path / "req.csv"
    flags = [str(tmp_path / "x.csv") if f in ("TEAM", "IV") else f for f in flags]
    args = ["staff", str(path), "--target", "80", "--within", "60m", "--out", str(out)]
    if "--aht" not in flags:
        args += ["--aht", "6m"]
    assert main(args + flags) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "x.csv").exists()


def test_handle_times_and_profile_from_a_message_export(tmp_path, capsys):
    path = two_channels(tmp_path, days=2)
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2025-02-03", tz=TZ)
    stamps = start + pd.to_timedelta(np.sort(rng.integers(0, 21 * 86400, 6000)), unit="s")
    export = pd.DataFrame({"created_at": format_iso(pd.DatetimeIndex(stamps)),
                           "channel": rng.choice(["whatsapp", "x"], 6000),
                           "handle_time_seconds": rng.integers(60, 600, 6000)})
    messages = tmp_path / "export.csv"
    export.to_csv(messages, index=False)
    out = tmp_path / "req.csv"
    assert main(["staff", str(path), "--target", "80", "--within", "60m", "--aht", "history", "--messages", str(messages),
                 "--open", "daily 08:00-22:00", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "handle time from history" in printed and "intra-hour profile" in printed
    assert out.exists()


def test_one_teams_staffing_against_several_channels_needs_combine(tmp_path, capsys):
    """A staffing file holds the heads of one team: evaluating it per channel would give every
    channel the whole team."""
    ds = pd.date_range("2025-03-03", periods=7 * 24, freq="1h", tz=TZ)
    path = tmp_path / "f.csv"
    pd.concat([pd.DataFrame({"channel": c, "ds": format_iso(ds), "yhat": 10.0}) for c in ("whatsapp", "x")]).to_csv(
        path, index=False)
    staffing = tmp_path / "staffing.csv"
    pd.DataFrame({"ds": format_iso(ds), "agents": 3}).to_csv(staffing, index=False)
    out = tmp_path / "eval.csv"
    common = ["staff", str(path), "--target", "80", "--within", "60m", "--aht", "6m", "--staffing", str(staffing),
              "--out", str(out)]
    assert main(common) == 2
    assert "--combine" in capsys.readouterr().err and not out.exists()
    assert main(common + ["--combine"]) == 0
    assert set(pd.read_csv(out)["channel"]) == {"all"}


def test_a_failing_second_output_leaves_no_first_one(overnight, tmp_path, capsys):
    path, _ = overnight
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder is expected\n")
    out = tmp_path / "req.csv"
    assert main(["staff", str(path), "--aht", "6m", "--target", "80", "--within", "60m", "--open",
                 "mon-sun 08:00-22:00", "--out", str(out), "--days-out", str(blocker / "days.csv")]) == 2
    assert "nothing was written" in capsys.readouterr().err
    assert not out.exists()
