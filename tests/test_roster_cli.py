"""`webcare roster`: requirements or a forecast in, a shift plan out; bad input exits 2 and writes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.ingest import format_iso
from webcare.cli import main

TZ = "Europe/Amsterdam"

SHIFTS = """
[solver]
time_limit = "20s"

[contracts.standard]
hourly_wage = 20

[premiums]
evening = { from = "18:00", to = "22:00", rate = 0.25 }
holiday_country = ""

[[shift]]
name = "early"
length = "8h"
start_from = "07:00"
start_to = "09:00"
start_every = "60m"
break = { length = "30m", window = ["3h", "5h"] }

[[shift]]
name = "late"
length = "6h"
start_from = "14:00"
start_to = "16:00"
start_every = "60m"
"""


@pytest.fixture
def files(tmp_path):
    shifts = tmp_path / "shifts.toml"
    shifts.write_text(SHIFTS, encoding="utf-8")
    ds = pd.date_range(pd.Timestamp("2026-03-02", tz=TZ).tz_convert("UTC"), periods=24, freq="1h").tz_convert(TZ)
    open_ = (ds.hour >= 8) & (ds.hour < 20)
    forecast = tmp_path / "forecast.csv"
    pd.DataFrame({"channel": "webcare", "ds": format_iso(ds), "yhat": np.where(open_, 12.0, 1.0)}).to_csv(forecast, index=False)
    requirements = tmp_path / "requirements.csv"
    pd.DataFrame({"ds": format_iso(ds), "channel": "webcare", "agents_required": np.where(open_, 2.0, 0.0)}).to_csv(
        requirements, index=False)
    return shifts, forecast, requirements


def test_requirements_in_shift_plan_out(files, tmp_path, capsys):
    shifts, _, requirements = files
    out, cov = tmp_path / "roster.csv", tmp_path / "coverage.csv"
    assert main(["roster", str(requirements), "--shifts", str(shifts), "--out", str(out), "--coverage-out", str(cov)]) == 0
    text = capsys.readouterr().out
    assert "solver optimal" in text
    plan = pd.read_csv(out)
    assert {"template", "start", "end", "break_start", "break_end", "count", "cost"} <= set(plan.columns)
    # two agents 08-20: the two early shifts need a third to cover their breaks, and two late shifts 14-20
    assert plan["count"].sum() == 5
    coverage = pd.read_csv(cov)
    assert coverage["shortfall"].sum() == 0
    assert len(coverage) == 96                 # hourly requirements on quarter-hour buckets


def test_forecast_with_candidate_opening_hours(files, tmp_path, capsys):
    shifts, forecast, _ = files
    out = tmp_path / "roster.csv"
    code = main(["roster", str(forecast), "--shifts", str(shifts), "--target", "80", "--within", "60m", "--aht", "6m",
                 "--open-candidates", "mon 08:00-20:00 | 08:00-22:00", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "opening hours: mon 08:00-20:00" in text
    assert "predicted service level" in text
    assert pd.read_csv(out)["count"].sum() >= 2


@pytest.mark.parametrize("extra, message", [
    (["--target", "80"], "give --within, --aht"),
    (["--target", "80", "--within", "60m", "--aht", "6m", "--open", "mon 08:00-20:00", "--open-candidates", "mon closed"],
     "not both"),
    (["--target", "80", "--within", "60m", "--aht", "6m", "--open-candidates", "mon 08:10-20:00"], "15-minute grid"),
])
def test_bad_flags_exit_2_and_write_nothing(files, tmp_path, capsys, extra, message):
    shifts, forecast, _ = files
    out = tmp_path / "roster.csv"
    assert main(["roster", str(forecast), "--shifts", str(shifts), "--out", str(out)] + extra) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_bad_shifts_file_names_table_and_key(files, tmp_path, capsys):
    _, _, requirements = files
    bad = tmp_path / "bad.toml"
    bad.write_text(SHIFTS.replace('length = "6h"', 'length = "six"'), encoding="utf-8")
    out = tmp_path / "roster.csv"
    assert main(["roster", str(requirements), "--shifts", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml, [[shift]] #2 'late', key 'length'" in err
    assert not out.exists()


def test_requirements_made_with_shrinkage_need_the_same_shrinkage(files, tmp_path, capsys):
    """`webcare staff --shrinkage 0.3` writes agents_scheduled above agents_required; a roster of
    agents_required heads without the shrinkage would fall short, so roster asks for it."""
    shifts, _, requirements = files
    req = pd.read_csv(requirements)
    req["agents_scheduled"] = np.ceil(req["agents_required"] / 0.7)
    req.to_csv(requirements, index=False)
    out, xlsx = tmp_path / "roster.csv", tmp_path / "roster.xlsx"
    assert main(["roster", str(requirements), "--shifts", str(shifts), "--out", str(out), "--xlsx", str(xlsx)]) == 2
    assert "--shrinkage" in capsys.readouterr().err and not out.exists() and not xlsx.exists()
    assert main(["roster", str(requirements), "--shifts", str(shifts), "--shrinkage", "0.3", "--out", str(out),
                 "--xlsx", str(xlsx)]) == 0
    assert out.exists() and xlsx.exists()


def test_a_failing_second_output_leaves_no_first_one(files, tmp_path, capsys):
    shifts, _, requirements = files
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder is expected\n")
    out = tmp_path / "roster.csv"
    assert main(["roster", str(requirements), "--shifts", str(shifts), "--out", str(out),
                 "--coverage-out", str(blocker / "coverage.csv")]) == 2
    assert "nothing was written" in capsys.readouterr().err
    assert not out.exists()


def test_agents_violations_go_to_violations_out_with_the_step(files, tmp_path, capsys, monkeypatch):
    """With --agents the assignment's violations join the roster's in --violations-out (column
    `step`), and the [solver] assign_mip_gap of shifts.toml reaches the assignment."""
    import scheduling.roster.assign as assign

    shifts, _, requirements = files
    # The late shift gets a break (6 h of work without one breaks the labour rules: nobody may work it).
    toml = SHIFTS.replace('time_limit = "20s"', 'time_limit = "20s"\nassign_mip_gap = 0.02') + 'break = { length = "30m", window = ["2h", "4h"] }\n'
    shifts.write_text(toml, encoding="utf-8")
    # The shifts of Monday 2 March: eight agents can work them; z (minimum 14 h a week, 2 h pro
    # rata for the one day) is available on Tuesdays only, so falls 2 h short.
    agents = tmp_path / "agents.csv"
    rows = [f"a{i},40,0," for i in range(8)] + ["z,40,14,tue"]
    agents.write_text("agent,max_hours_week,min_hours_week,available\n" + "\n".join(rows) + "\n", encoding="utf-8")
    seen = {}
    real = assign.assign_agents

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(assign, "assign_agents", spy)
    out, violations = tmp_path / "roster.csv", tmp_path / "violations.csv"
    assert main(["roster", str(requirements), "--shifts", str(shifts), "--agents", str(agents), "--out", str(out),
                 "--violations-out", str(violations)]) == 0
    assert seen["mip_gap"] == 0.02
    v = pd.read_csv(violations)
    assert v.columns[0] == "step"
    assert v[["step", "rule", "agent"]].values.tolist() == [["assignment", "contract_min_hours", "z"]]
    assert v["limit"].iloc[0] == 2.0 and v["value"].iloc[0] == 0.0
    assert len(pd.read_csv(out)) >= 5 and "z" not in set(pd.read_csv(out)["agent"])
