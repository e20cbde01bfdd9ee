"""The week-by-week solve looks ahead, and a contract minimum that cannot be met is explained (issue 5).

Each instance is tiny and its answer known by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from scheduling.roster.assign import assign_agents, make_shifts
from scheduling.roster.labour import LabourRules, check_roster

MONDAY = "2026-03-02"  # weeks 2026-W10 and W11, no daylight-saving change
DAY = dict(start="09:00", end="17:30", break_at="13:00")
LATE = dict(start="15:00", end="23:30", break_at="19:00")
EARLY = dict(start="07:00", end="15:30", break_at="11:00")
EVENING = dict(start="13:00", end="21:30", break_at="17:00")


def team(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"agent": [f"a{i}" for i in range(n)], "max_hours_week": [40] * n, "skills": ["*"] * n})
    for key, value in columns.items():
        frame[key] = value
    return frame


def dates_of(roster: pd.DataFrame, agent: str) -> list[str]:
    return sorted(d.isoformat() for d in roster.loc[roster["agent"] == agent, "date"])


def test_a_weekend_needed_later_is_kept():
    # One day shift a day for two weeks. a0 (cheap, minimum 16 h, one weekend in the horizon, off
    # Monday to Wednesday) is on leave Monday to Friday of week 2, so only that week's weekend
    # reaches its pro-rata minimum there (16 * 2/7 h). Week 1 alone would give a0 Thursday to
    # Sunday (the cheapest agent); looking ahead, a0 works Thursday and Friday (16 h) only.
    shifts = make_shifts(14, {"day": DAY}, 1, first_day=MONDAY)
    agents = team(min_hours_week=[16, 0, 0], max_weekends=[1, "", ""], days_off=["mon;tue;wed", "", ""],
                  leave=["2026-03-09..2026-03-13", "", ""], preferences=["", "no_weekends", ""], hourly_wage=[10.0, 30.0, 30.0])
    result = assign_agents(shifts, agents, time_limit=30)
    assert result.violations.empty, result.violations["detail"].tolist()
    assert result.parts[0]["look_ahead_agents"] == 1 and result.parts[1]["look_ahead_agents"] == 0
    a0 = dates_of(result.roster, "a0")
    # Week 2: a0 works the weekend (one day or both: a second is above its fair share of weekends).
    assert a0[:2] == ["2026-03-05", "2026-03-06"] and set(a0[2:]) <= {"2026-03-14", "2026-03-15"} and len(a0) > 2
    assert len(check_roster(result.roster, agents, LabourRules(), shifts=shifts)) == 0


def test_the_first_day_of_next_week_is_kept():
    # Saturday day, Sunday late, Monday early. a0 (minimum 16 h) is on leave Tuesday to Sunday of
    # week 2: its minimum there (16/7 h) needs Monday's early shift, which a Sunday late shift would
    # block (7.5 h rest < 11 h). So a0 works Saturday and Monday, a1 the Sunday late.
    counts = {("day", 7): 1, ("late", 8): 1, ("early", 9): 1}
    shifts = make_shifts(3, {"day": DAY, "late": LATE, "early": EARLY}, lambda name, day: counts.get((name, day.day), 0),
                         first_day="2026-03-07")
    agents = team(min_hours_week=[16, 0], leave=["2026-03-10..2026-03-15", ""], preferences=["", "no_weekends"],
                  hourly_wage=[10.0, 30.0])
    result = assign_agents(shifts, agents, time_limit=30)
    assert result.violations.empty, result.violations["detail"].tolist()
    assert dates_of(result.roster, "a0") == ["2026-03-07", "2026-03-09"]
    assert dates_of(result.roster, "a1") == ["2026-03-08"]


def test_demand_below_the_contract_minimums_is_said():
    # Seven 8-hour shifts (56 paid h) for three agents who each need 32 h: 40 h must fall short.
    shifts = make_shifts(7, {"day": DAY}, 1, first_day=MONDAY)
    agents = team(min_hours_week=[32, 32, 32])
    result = assign_agents(shifts, agents, time_limit=30)
    short = result.violations[result.violations["rule"] == "contract_min_hours"]
    assert result.status == "infeasible-explained" and len(result.roster) == 7
    assert short["limit"].sum() - short["value"].sum() == 96 - 56
    assert all("below the sum of the contract minimums 96.0 h" in d for d in short["detail"])


def test_an_agent_who_cannot_reach_the_minimum_is_explained():
    # a0 needs 32 h but is only available on Saturday: at most 8 h.
    shifts = make_shifts(7, {"day": DAY}, 2, first_day=MONDAY)
    agents = team(min_hours_week=[32, 0, 0], available=["sat", "", ""])
    result = assign_agents(shifts, agents, time_limit=30)
    short = result.violations[result.violations["rule"] == "contract_min_hours"]
    assert short["agent"].tolist() == ["a0"] and short["value"].iloc[0] == 8
    assert "can work at most 8.0 h" in short["detail"].iloc[0]


def test_fair_share_is_rounded_up_to_whole_shifts():
    # Three evenings, two identical agents: a fair share of 1.5 each, so 2 + 1 costs no fairness.
    # a1 prefers no evenings: a0 works two, a1 one (a0 working all three would be above its share).
    shifts = make_shifts(3, {"evening": EVENING}, 1, first_day=MONDAY)
    result = assign_agents(shifts, team(preferences=["", "no_evenings"]), time_limit=30)
    assert result.roster["agent"].value_counts().to_dict() == {"a0": 2, "a1": 1}
    assert result.violations.empty and dt.date(2026, 3, 2) in set(result.roster["date"])


def test_each_week_reports_its_lp_bound_and_stops_within_the_gap():
    # Two weeks of early and late shifts; three agents. Each week: LP bound first, then the MILP.
    shifts = make_shifts(14, {"early": EARLY, "late": LATE}, 1, first_day=MONDAY)
    agents = team(min_hours_week=[16, 16, 16], preferences=["early", "late", ""])
    result = assign_agents(shifts, agents, time_limit=30, mip_gap=0.01)
    assert result.violations.empty and len(result.roster) == 28
    for part in result.parts:
        assert [st["stage"] for st in part["stages"]][:1] == ["lp"] and part["stages"][-1]["stage"] == "mip"
        assert part["status"] == "optimal" and part["bound"] <= part["objective"] + 1e-6
        assert part["objective"] - part["bound"] <= 0.01 * abs(part["objective"]) + 1e-6
    # The MILP from the greedy roster alone (no LP stage) reaches a roster as good, within the gap.
    plain = assign_agents(shifts, agents, time_limit=30, mip_gap=0.01, staged=False)
    assert plain.violations.empty
    assert abs(plain.objective - result.objective) <= 0.01 * abs(result.objective) * 2 + 1e-6
