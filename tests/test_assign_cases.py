"""The assignment on the cases issue 5 names: a night shift across midnight, daylight-saving weeks,
an infeasible request and its explanation, several weeks with carry-over, and the greedy baseline."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from scheduling.roster.assign import ShiftsFrameError, assign_agents, greedy_assign, make_shifts
from scheduling.roster.labour import LabourRules, check_roster

NIGHT = dict(start="23:00", end="07:00", break_at="03:00")
DAY = dict(start="09:00", end="17:30", break_at="13:00")
EARLY = dict(start="07:00", end="15:30", break_at="11:00")


def team(n: int, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"agent": [f"a{i}" for i in range(n)], "max_hours_week": [40] * n, "skills": ["*"] * n})
    for key, value in columns.items():
        frame[key] = value
    return frame


def test_night_shift_crossing_midnight():
    shifts = make_shifts(2, {"night": NIGHT}, 1, first_day="2026-03-02")
    result = assign_agents(shifts, team(2), time_limit=30)
    roster = result.roster.sort_values("start")
    assert result.violations.empty
    first = roster.iloc[0]
    assert first["date"] == dt.date(2026, 3, 2)  # belongs to the day it starts
    assert first["end"] - first["start"] == pd.Timedelta(hours=8) and first["hours"] == 7.5
    # 14 h rest after a night shift ending after 02:00: Tuesday 07:00 -> 23:00 is 16 h, so one agent may work both.
    assert roster["agent"].nunique() in (1, 2)


@pytest.mark.parametrize("first_day, hours", [("2026-03-23", 6.5), ("2026-10-19", 8.5)])
def test_daylight_saving_week(first_day, hours):
    # The night of Saturday to Sunday loses (March) or gains (October) an hour.
    shifts = make_shifts(7, {"night": NIGHT, "day": DAY}, 1, first_day=first_day)
    result = assign_agents(shifts, team(4), time_limit=30)
    assert result.violations.empty, result.violations
    saturday_night = result.roster[(result.roster["template"] == "night") & (result.roster["start"].dt.day_of_week == 5)].iloc[0]
    assert saturday_night["hours"] == hours
    assert (saturday_night["end"].hour, saturday_night["start"].hour) == (7, 23)
    assert len(result.roster) == 14
    assert len(check_roster(result.roster, team(4), LabourRules(), shifts=shifts)) == 0


def test_infeasible_request_is_explained():
    # Three places on a WhatsApp shift, but only one agent has the skill; another is on leave.
    shifts = make_shifts(1, {"wa": dict(DAY, skill="whatsapp")}, 3, first_day="2026-03-02")
    agents = team(4, skills=["whatsapp", "whatsapp", "x", "x"], leave=["", "2026-03-02", "", ""])
    result = assign_agents(shifts, agents, time_limit=30)
    assert result.status == "infeasible-explained"
    assert result.roster["agent"].tolist() == ["a0"]
    problem = result.violations[result.violations["rule"] == "unfilled"]
    assert len(problem) == 1 and problem["value"].iloc[0] == 2
    detail = problem["detail"].iloc[0]
    assert "2 of 3 shifts not worked" in detail and "skill 'whatsapp'" in detail and "on leave" in detail and "a1" in detail


def test_shift_breaking_a_rule_is_explained_not_worked():
    # A 10.5 h night shift is longer than the 10 h the law allows for nights: nobody may work it.
    long_night = dict(start="21:00", end="08:00", break_at="01:00")
    shifts = make_shifts(1, {"long": long_night}, 1, first_day="2026-03-02")
    result = assign_agents(shifts, team(2), time_limit=30)
    assert result.roster.empty
    detail = result.violations.loc[result.violations["rule"] == "unfilled", "detail"].iloc[0]
    assert "night shift" in detail and "10 h" in detail


def test_weeks_are_solved_in_turn_with_carry_over():
    # Two weeks: Sunday's late work and Monday's early start must respect the rest across the week boundary.
    late = dict(start="15:00", end="23:30", break_at="19:00")
    shifts = make_shifts(14, {"late": late, "early": EARLY}, 1, first_day="2026-03-02")
    agents = team(3, min_hours_week=[16, 16, 16])
    result = assign_agents(shifts, agents, time_limit=60)
    assert len(result.parts) == 2
    assert len(check_roster(result.roster, agents, LabourRules(), shifts=shifts)) == len(result.violations) == 0
    assert result.objective is not None and result.bound is not None and result.bound <= result.objective + 1e-6


def test_prior_roster_blocks_an_early_start():
    shifts = make_shifts(1, {"early": EARLY}, 1, first_day="2026-03-02")
    prior = pd.DataFrame({"agent": ["a0"], "start": [pd.Timestamp("2026-03-01 15:00", tz="Europe/Amsterdam")],
                          "end": [pd.Timestamp("2026-03-01 23:30", tz="Europe/Amsterdam")]})
    result = assign_agents(shifts, team(2), prior=prior, time_limit=30)
    assert result.roster["agent"].tolist() == ["a1"]


def test_lp_bound_is_below_the_objective():
    shifts = make_shifts(3, {"day": DAY, "early": EARLY}, 1, first_day="2026-03-02")
    result = assign_agents(shifts, team(3, preferences=["early", "", "late"]), time_limit=30, lp_bound=True)
    assert result.lp_bound is not None and result.lp_bound <= result.objective + 1e-6


def test_greedy_baseline_keeps_the_rules_but_does_not_look_ahead():
    shifts = make_shifts(7, {"early": EARLY}, 1, first_day="2026-03-02")
    rest = greedy_assign(shifts, team(1, max_hours_week=[60]), LabourRules(max_consecutive_days=None))
    assert rest.status == "greedy" and len(rest.roster) == 6 and rest.violations["rule"].tolist() == ["unfilled"]
    # An early shift anyone may work, then a WhatsApp shift only a0 may work: greedy gives a0 the first.
    templates = {"any": dict(start="07:00", end="15:30", break_at="11:00"), "wa": dict(DAY, skill="whatsapp")}
    shifts = make_shifts(1, templates, 1, first_day="2026-03-02")
    agents = team(2, skills=["whatsapp;x", "x"])
    assert len(greedy_assign(shifts, agents).roster) == 1
    assert len(assign_agents(shifts, agents, time_limit=30).roster) == 2


def test_bad_shifts_frame_is_refused():
    shifts = make_shifts(1, {"day": DAY}, 1, first_day="2026-03-02")
    with pytest.raises(ShiftsFrameError, match="count"):
        assign_agents(shifts.assign(count=-1), team(1))
    with pytest.raises(ShiftsFrameError, match="tz-aware"):
        assign_agents(shifts.assign(start=shifts["start"].dt.tz_localize(None)), team(1))
    with pytest.raises(ShiftsFrameError, match="end not after start"):
        assign_agents(shifts.assign(end=shifts["start"]), team(1))


def test_last_step_moves_shifts_to_agents_below_their_minimum():
    from scheduling.roster import assign as A
    from scheduling.roster.labour import validate_agents

    rules, tz = LabourRules(), "Europe/Amsterdam"
    shifts = make_shifts(7, {"day": DAY}, 1, first_day="2026-03-02")
    only_a0 = greedy_assign(shifts, team(1)).roster  # a0 works five days
    agents = validate_agents(team(2, min_hours_week=[0, 16]))
    slots = A._slots(A._validate_shifts(shifts, tz), rules, tz)
    lifted = A._lift_minimums(only_a0, slots, agents, rules, tz, A._prior_frame(None, rules, tz), (slots["date"].min(), slots["date"].max()))
    assert lifted["agent"].value_counts().to_dict() == {"a0": 3, "a1": 2}
    assert set(check_roster(lifted, agents, rules, shifts=shifts)["rule"]) == {"unfilled"}
