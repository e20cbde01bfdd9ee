"""One test per constraint family of the assignment model, each on a tiny instance whose optimum is known by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from scheduling.roster.assign import assign_agents, make_shifts
from scheduling.roster.labour import LabourRules, check_roster

MONDAY = "2026-03-02"  # a week without a daylight-saving change
EARLY = dict(start="07:00", end="15:30", break_at="11:00")
DAY = dict(start="09:00", end="17:30", break_at="13:00")
LATE = dict(start="15:00", end="23:30", break_at="19:00")
EVENING = dict(start="13:00", end="21:30", break_at="17:00")
NIGHT = dict(start="23:00", end="07:00", break_at="03:00")
FOUR_AM = dict(start="08:00", end="12:00")
FOUR_PM = dict(start="13:00", end="17:00")


def agents(n: int = 1, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"agent": [f"a{i}" for i in range(n)], "max_hours_week": [40] * n, "skills": ["*"] * n})
    for key, value in columns.items():
        frame[key] = value
    return frame


def solve(shifts, team, rules=LabourRules(), **kw):
    result = assign_agents(shifts, team, rules, time_limit=30, **kw)
    # The independent checker agrees with the result's own report.
    assert len(check_roster(result.roster, team, rules, shifts=shifts, prior=kw.get("prior"))) == len(result.violations)
    return result


def unfilled(result) -> int:
    v = result.violations
    return int(v.loc[v["rule"] == "unfilled", "value"].sum())


def test_fill_shifts_fills_every_place_and_reports_the_rest():
    shifts = make_shifts(1, {"day": DAY}, {"day": 3}, first_day=MONDAY)
    result = solve(shifts, agents(2))
    assert len(result.roster) == 2 and set(result.roster["agent"]) == {"a0", "a1"}
    assert unfilled(result) == 1
    assert result.status == "infeasible-explained"


def test_fill_shifts_all_filled_is_optimal():
    shifts = make_shifts(1, {"day": DAY}, {"day": 2}, first_day=MONDAY)
    result = solve(shifts, agents(2))
    assert result.status == "optimal" and len(result.roster) == 2 and result.violations.empty
    assert result.roster.columns[:9].tolist() == ["agent", "date", "start", "end", "break_start", "break_end", "template", "hours", "cost"]


def test_rest_between_shifts_keeps_eleven_hours():
    # A late shift on Monday (ends 23:30) and an early one on Tuesday (07:00): 7.5 h apart.
    shifts = make_shifts(2, {"late": LATE, "early": EARLY}, lambda name, day: int((name, day.day) in {("late", 2), ("early", 3)}),
                         first_day=MONDAY)
    one = solve(shifts, agents(1))
    assert len(one.roster) == 1 and unfilled(one) == 1
    assert "rest or overlap" in one.violations.loc[one.violations["rule"] == "unfilled", "detail"].iloc[0]
    two = solve(shifts, agents(2))
    assert len(two.roster) == 2 and two.roster["agent"].nunique() == 2


def test_rest_after_night_is_fourteen_hours():
    # Night Mon 23:00 - Tue 07:00, then a shift Tue 19:00: 12 h rest, legal after a day shift, not after a night.
    templates = {"night": NIGHT, "evening": dict(start="19:00", end="23:30", break_at=None)}
    shifts = make_shifts(2, templates, lambda name, day: int((name, day.day) in {("night", 2), ("evening", 3)}), first_day=MONDAY)
    assert len(solve(shifts, agents(1)).roster) == 1
    relaxed = LabourRules(rest_after_night_hours=None)
    assert len(solve(shifts, agents(1), relaxed).roster) == 2


def test_shifts_per_day():
    shifts = make_shifts(1, {"am": FOUR_AM, "pm": FOUR_PM}, 1, first_day=MONDAY)
    no_rest = LabourRules(min_rest_hours=0, min_shift_hours=3)
    assert len(solve(shifts, agents(1), no_rest).roster) == 1
    assert len(solve(shifts, agents(1), LabourRules(min_rest_hours=0, max_shifts_per_day=2)).roster) == 2


def test_weekly_working_hours():
    shifts = make_shifts(3, {"day": DAY}, 1, first_day=MONDAY)
    result = solve(shifts, agents(1), LabourRules(max_week_hours=16))
    assert len(result.roster) == 2 and result.roster["hours"].sum() == 16


def test_contract_maximum():
    shifts = make_shifts(3, {"day": DAY}, 1, first_day=MONDAY)
    result = solve(shifts, agents(1, max_hours_week=[16]))
    assert len(result.roster) == 2


def test_contract_minimum_beats_cheaper_wage():
    # a0 needs 24 h (3 shifts); a1 is cheaper but has no minimum: a0 gets all three.
    shifts = make_shifts(3, {"day": DAY}, 1, first_day=MONDAY)
    team = agents(2, min_hours_week=[24, 0], hourly_wage=[30.0, 10.0])
    result = solve(shifts, team)
    # Three days inside the week: the minimum is pro rata 3/7 of 24 h, so a0 needs >= 10.3 h (2 shifts).
    assert (result.roster["agent"] == "a0").sum() >= 2
    assert result.violations.empty
    week = make_shifts(7, {"day": DAY}, 1, first_day=MONDAY)
    full = solve(week, agents(2, min_hours_week=[24, 0], hourly_wage=[30.0, 10.0]))
    assert (full.roster["agent"] == "a0").sum() == 3  # exactly the minimum; the rest goes to the cheaper agent
    assert full.violations.empty


def test_weekly_rest_leaves_36_hours():
    # Seven early shifts in one week, one agent, no limit on consecutive days: the 36 h rest allows six.
    shifts = make_shifts(7, {"early": EARLY}, 1, first_day=MONDAY)
    rules = LabourRules(max_consecutive_days=None)
    for model in ("days", "windows"):
        result = solve(shifts, agents(1, max_hours_week=[60]), rules, rest_model=model)
        assert len(result.roster) == 6, model
        assert "weekly rest" in result.violations["detail"].iloc[0]
    assert len(solve(shifts, agents(1, max_hours_week=[60]), LabourRules(max_consecutive_days=None, weekly_rest_hours=None)).roster) == 7


def test_consecutive_days():
    shifts = make_shifts(5, {"early": EARLY}, 1, first_day=MONDAY)
    result = solve(shifts, agents(1), LabourRules(max_consecutive_days=3, weekly_rest_hours=None))
    assert len(result.roster) == 4  # three days, one off, one more


def test_consecutive_days_count_prior_days():
    shifts = make_shifts(3, {"early": EARLY}, 1, first_day=MONDAY)
    prior = make_shifts(3, {"early": EARLY}, 1, first_day="2026-02-27").assign(agent="a0")
    result = solve(shifts, agents(1), LabourRules(max_consecutive_days=4, weekly_rest_hours=None), prior=prior)
    # Fri-Sun already worked: Monday is the 4th day in a row, Tuesday must be off, Wednesday again.
    assert [d.isoformat() for d in result.roster["date"]] == ["2026-03-02", "2026-03-04"]


def test_evening_limit_per_week():
    shifts = make_shifts(2, {"evening": LATE}, 1, first_day=MONDAY)
    assert len(solve(shifts, agents(1, max_evenings_week=[1])).roster) == 1
    assert len(solve(shifts, agents(1)).roster) == 2


def test_weekend_limit_over_the_horizon():
    shifts = make_shifts(14, {"day": DAY}, lambda name, day: int(day.weekday() == 5), first_day=MONDAY)
    assert len(solve(shifts, agents(1, max_weekends=[1])).roster) == 1
    assert len(solve(shifts, agents(1)).roster) == 2


def test_fair_spread_of_evenings():
    # Two days, each with a day and an evening shift, two identical agents: one evening each.
    shifts = make_shifts(2, {"day": DAY, "evening": EVENING}, 1, first_day=MONDAY)
    result = solve(shifts, agents(2))
    evenings = result.roster[result.roster["template"] == "evening"]["agent"].value_counts()
    assert sorted(evenings.tolist()) == [1, 1]


def test_preferences_early_and_late():
    shifts = make_shifts(1, {"early": EARLY, "late": LATE}, 1, first_day=MONDAY)
    result = solve(shifts, agents(2, preferences=["late", "early"]))
    got = dict(zip(result.roster["template"], result.roster["agent"]))
    assert got == {"early": "a1", "late": "a0"}


def test_preference_no_weekends():
    shifts = make_shifts(7, {"day": DAY}, lambda name, day: int(day.weekday() in (0, 5)), first_day=MONDAY)
    result = solve(shifts, agents(2, preferences=["no_weekends", ""]))
    saturday = result.roster[result.roster["start"].dt.day_of_week == 5]
    assert saturday["agent"].tolist() == ["a1"]


def test_cost_picks_the_cheaper_agent():
    shifts = make_shifts(1, {"day": DAY}, 1, first_day=MONDAY)
    result = solve(shifts, agents(2, hourly_wage=[30.0, 20.0]))
    assert result.roster["agent"].tolist() == ["a1"] and result.roster["cost"].iloc[0] == pytest.approx(8 * 20.0)


def test_skills_days_off_leave_availability():
    templates = {"wa": dict(DAY, skill="whatsapp")}
    shifts = make_shifts(1, templates, 1, first_day=MONDAY)
    assert solve(shifts, agents(2, skills=["x", "whatsapp;x"])).roster["agent"].tolist() == ["a1"]
    assert solve(shifts, agents(2, days_off=["mon", ""])).roster["agent"].tolist() == ["a1"]
    assert solve(shifts, agents(2, leave=["2026-03-01..2026-03-03", ""])).roster["agent"].tolist() == ["a1"]
    assert solve(shifts, agents(2, available=["mon 12:00-20:00", "mon-fri 08:00-18:00"])).roster["agent"].tolist() == ["a1"]
