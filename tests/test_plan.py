"""`webcare plan`: the whole chain from one TOML file (webcare/plan.py, webcare/cmd_plan.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import message_times, naive_local_text
from webcare.cli import main
from webcare.plan import PlanConfig, PlanError, plan_from_dict, read_plan

SHIFTS = """
[solver]
time_limit = "30s"
[contracts.standard]
hourly_wage = 20.0
[[shift]]
name = "day"
length = "8h"
start_from = "07:00"
start_to = "14:00"
start_every = "60m"
"""


def _export(tmp_path, days=35):
    """Messages with a daily rhythm: busy 09-17, a few in the evening and night."""
    rng = np.random.default_rng(3)
    times = message_times("2025-09-01", days, per_hour=4)
    hour = times.hour
    keep = rng.random(len(times)) < np.where((hour >= 9) & (hour < 17), 1.0, np.where(hour >= 7, 0.3, 0.02))
    frame = pd.DataFrame({"created_at": naive_local_text(times[keep]), "channel": "whatsapp"})
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    return path


def _plan_file(tmp_path, **sections) -> "pathlib.Path":
    (tmp_path / "shifts.toml").write_text(SHIFTS)
    body = {
        "data": '[data]\nfiles = ["export.csv"]\n',
        "forecast": '[forecast]\nmodel = "profile"\nhistory_weeks = 5\n',
        "service": '[service]\ntarget = 80\nwithin = "60m"\naht = "4m"\nshrinkage = 0.2\n',
        "opening": '[opening]\ncandidates = "mon-fri 08:00-18:00 | 07:00-22:00; sat,sun 09:00-17:00 | 08:00-22:00"\n',
        "roster": '[roster]\nshifts = "shifts.toml"\ntime_limit = "30s"\n',
        "simulation": "[simulation]\nruns = 20\nseed = 1\n",
    }
    body.update(sections)
    path = tmp_path / "plan.toml"
    path.write_text("".join(body.values()))
    return path


def test_defaults_are_the_bundled_sample():
    config = read_plan(None)
    assert config.dataset == "sample" and config.target == 0.8 and config.shifts.exists()
    assert config.opening_candidates  # the default plan proposes opening hours


@pytest.mark.parametrize("data,message", [
    ({"service": {"targt": 80}}, "plan.toml, [service], key 'targt': unknown key"),
    ({"service": {"target": 180}}, "[service], key 'target'"),
    ({"service": {"shrinkage": 1.2}}, "[service], key 'shrinkage'"),
    ({"forecast": {"weeks": 6}}, "at most 4 weeks"),
    ({"simulation": {"runs": 0}}, "[simulation], key 'runs'"),
    ({"data": {"dataset": ""}}, "[data], key 'dataset'"),
    ({"opening": "08:00"}, "[opening]: expected a table"),
])
def test_bad_plan_files_name_table_and_key(data, message):
    with pytest.raises(PlanError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plan_from_dict(data)


def test_the_chain_runs_end_to_end_and_writes_every_file(tmp_path, capsys):
    _export(tmp_path)
    out = tmp_path / "out"
    assert main(["--workspace", str(tmp_path / "ws.duckdb"), "plan", str(_plan_file(tmp_path)), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    files = {p.name for p in out.iterdir()}
    assert {"forecast.csv", "requirements.csv", "shifts.csv", "shifts.xlsx", "coverage.csv", "opening_hours.csv",
            "simulation.csv", "summary.json", "summary.txt"} <= files
    summary = json.loads((out / "summary.json").read_text())
    # one ISO week after the history (which ends on Sunday 5 October 2025)
    assert summary["start"] == "2025-10-06" and summary["end"] == "2025-10-12"
    # the opening hours come from the candidates and reach the target
    opening = pd.read_csv(out / "opening_hours.csv")
    assert len(opening) == 4 and opening["chosen"].sum() == 1
    assert summary["opening_hours"].startswith("mon ")
    assert summary["model_sl"] >= 0.8 - 1e-6
    # the roster covers the requirement and the simulation checks it
    coverage = pd.read_csv(out / "coverage.csv")
    assert coverage["shortfall"].sum() == pytest.approx(0.0, abs=1e-6)
    runs = pd.read_csv(out / "simulation.csv")
    assert len(runs) == 20 and runs["service_level"].between(0, 1).all()
    assert summary["p_target"] == pytest.approx((runs["service_level"] >= 0.8 - 1e-12).mean())
    assert "service level: the capacity model expects" in printed and "time per stage" in printed
    forecast = pd.read_csv(out / "forecast.csv")
    assert len(forecast) == 7 * 24 and set(forecast["channel"]) == {"whatsapp"}


def test_an_unreachable_target_writes_nothing(tmp_path, capsys):
    _export(tmp_path)
    out = tmp_path / "out"
    plan = _plan_file(tmp_path, opening='[opening]\nhours = "mon-fri 12:00-13:00"\n',
                      service='[service]\ntarget = 95\nwithin = "15m"\naht = "4m"\n')
    assert main(["--workspace", str(tmp_path / "ws.duckdb"), "plan", str(plan), "--out", str(out)]) == 2
    assert "cannot be reached" in capsys.readouterr().err
    assert not out.exists()
    assert not list(tmp_path.glob(".plan-*"))


def test_a_missing_shifts_file_is_named(tmp_path, capsys):
    _export(tmp_path)
    plan = _plan_file(tmp_path, roster='[roster]\nshifts = "nope.toml"\n')
    assert main(["--workspace", str(tmp_path / "ws.duckdb"), "plan", str(plan), "--out", str(tmp_path / "o")]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_plan_config_is_frozen():
    with pytest.raises(AttributeError):
        PlanConfig().weeks = 3


def test_the_documented_sample_plan_is_the_default():
    """data/sample/plan.toml spells out every default (docs/plan.md points to it)."""
    from dataclasses import replace

    from webcare.plan import SAMPLE_DIR

    assert replace(read_plan(SAMPLE_DIR / "plan.toml"), source="defaults") == PlanConfig()


@pytest.mark.parametrize("freq,last", [("1h", "2026-11-01 23:00"), ("15min", "2026-11-01 23:45"),
                                       ("30min", "2026-11-01 23:30")])
def test_the_rostered_week_starts_the_monday_after_the_history(freq, last):
    from webcare.plan import _plan_window

    ds = pd.date_range(end=pd.Timestamp(last, tz="Europe/Amsterdam"), periods=200, freq=freq)
    start, end = _plan_window(pd.DataFrame({"ds": ds, "channel": "x", "y": 1}), 1, "Europe/Amsterdam")
    assert start == pd.Timestamp("2026-11-02", tz="Europe/Amsterdam")
    assert end == pd.Timestamp("2026-11-09", tz="Europe/Amsterdam")


def test_a_rerun_removes_the_files_it_does_not_write(tmp_path):
    _export(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "roster.csv").write_text("an earlier plan's roster\n")
    (out / "notes.txt").write_text("the planner's own file\n")
    assert main(["--workspace", str(tmp_path / "ws.duckdb"), "plan", str(_plan_file(tmp_path)), "--out", str(out)]) == 0
    assert not (out / "roster.csv").exists()  # no agents this time: an old roster would mislead
    assert (out / "notes.txt").exists()  # files the plan never writes are left alone
