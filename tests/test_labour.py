"""Labour rules, the agents file and the independent roster checker."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from scheduling.roster.labour import AgentsError, LabourRules, check_roster, read_agents, shift_facts, validate_agents

TZ = "Europe/Amsterdam"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


def shift(agent, start, end, brk=None, minutes=30, template="s"):
    row = {"agent": agent, "start": ts(start), "end": ts(end), "template": template,
           "break_start": ts(brk) if brk else pd.NaT, "break_end": ts(brk) + pd.Timedelta(minutes=minutes) if brk else pd.NaT}
    return row


def roster(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for c in ("break_start", "break_end"):
        frame[c] = pd.to_datetime(frame[c], utc=True).dt.tz_convert(TZ)
    return frame


AGENTS = pd.DataFrame({"agent": ["a", "b"], "max_hours_week": [40, 40], "skills": ["*", "*"]})


def rules_of(violations) -> list[str]:
    return sorted(violations["rule"])


def test_agents_file_is_read_and_normalised(tmp_path):
    path = tmp_path / "agents.csv"
    path.write_text(
        "agent,name,contract,min_hours_week,max_hours_week,skills,days_off,available,leave,preferences,max_evenings_week,max_weekends,hourly_wage\n"
        'A1,Anna,full,32,40,"whatsapp;X",sat;zo,,2026-12-24..2026-12-26; 2026-12-31,early;off_wed,2,1,"24,50"\n'
        "A2,Bram,student,0,16,*,,mon-fri 17:00-23:00; sat-sun,,no_weekends,,,\n", encoding="utf-8")
    agents = read_agents(path)
    a1, a2 = agents.iloc[0], agents.iloc[1]
    assert a1["skills"] == ("whatsapp", "x") and a1["days_off"] == (5, 6)
    assert a1["leave"] == ((dt.date(2026, 12, 24), dt.date(2026, 12, 26)), (dt.date(2026, 12, 31), dt.date(2026, 12, 31)))
    assert a1["preferences"] == ("early", "off_wed") and a1["max_evenings_week"] == 2 and a1["hourly_wage"] == 24.5
    assert a2["skills"] is None and a2["max_weekends"] is None
    assert a2["available"][0] == (0, 17 * 60, 23 * 60) and (5, 0, 24 * 60) in a2["available"]


def test_agents_file_errors_name_file_row_and_column(tmp_path):
    path = tmp_path / "agents.csv"
    path.write_text("agent,max_hours_week,min_hours_week,days_off,leave,preferences\n"
                    "A1,40,48,mon,,\n"
                    "A1,abc,,funday,2026-02-30,sleepy\n", encoding="utf-8")
    with pytest.raises(AgentsError) as info:
        read_agents(path)
    text = str(info.value)
    assert "agents.csv, row 2, column 'min_hours_week'" in text
    assert "agents.csv, row 3, column 'agent': agent 'A1' appears twice" in text
    assert "row 3, column 'max_hours_week'" in text and "row 3, column 'days_off'" in text
    assert "row 3, column 'leave'" in text and "row 3, column 'preferences'" in text


def test_agents_unknown_and_missing_columns():
    with pytest.raises(AgentsError, match="unknown column 'skils'"):
        validate_agents(pd.DataFrame({"agent": ["a"], "max_hours_week": [40], "skils": ["x"]}))
    with pytest.raises(AgentsError, match="missing column"):
        validate_agents(pd.DataFrame({"agent": ["a"]}))
    with pytest.raises(AgentsError, match="column 'skills': empty"):
        validate_agents(pd.DataFrame({"agent": ["a"], "max_hours_week": [40], "skills": [""]}))


def test_rules_are_validated():
    with pytest.raises(ValueError, match="negative"):
        LabourRules(min_rest_hours=-1)
    with pytest.raises(ValueError, match="HH:MM"):
        LabourRules(evening_after="8pm")


def test_shift_facts_night_and_daylight_saving():
    frame = roster(shift("a", "2026-10-24 23:00", "2026-10-25 07:00", "2026-10-25 03:30"),
                   shift("a", "2026-03-28 23:00", "2026-03-29 07:00", "2026-03-29 04:00"),
                   shift("a", "2026-03-02 08:00", "2026-03-02 16:30", "2026-03-02 12:00"))
    facts = shift_facts(frame, LabourRules())
    assert facts["duration_hours"].tolist() == [9.0, 7.0, 8.5]  # 25- and 23-hour nights
    assert facts["night"].tolist() == [True, True, False]
    assert facts["rest_after_hours"].tolist() == [14.0, 14.0, 11.0]
    assert facts["night_hours"].iloc[0] == pytest.approx(6.5)  # 00:00-06:00 holds 7 real hours that night, minus the break


def test_check_roster_clean():
    frame = roster(shift("a", "2026-03-02 08:00", "2026-03-02 16:30", "2026-03-02 12:00"),
                   shift("a", "2026-03-03 08:00", "2026-03-03 16:30", "2026-03-03 12:00"))
    assert check_roster(frame, AGENTS).empty


def test_check_roster_shift_rules():
    frame = roster(shift("a", "2026-03-02 06:00", "2026-03-02 19:00", "2026-03-02 12:00", 45),  # 12.25 h of work
                   shift("b", "2026-03-02 08:00", "2026-03-02 15:00"),  # 7 h without a break
                   shift("a", "2026-03-05 21:00", "2026-03-06 08:00", "2026-03-06 01:00", 30),  # night of 10.5 h
                   shift("b", "2026-03-06 08:00", "2026-03-06 10:00"),  # 2 h: below the minimum shift
                   shift("b", "2026-03-08 08:00", "2026-03-08 15:00", "2026-03-08 12:00", 10))  # a 10-minute break part
    found = rules_of(check_roster(frame, AGENTS))
    # The long night also needs 45 minutes of break (more than 10 h of work), and has 30.
    assert found == ["break_minutes", "break_minutes", "break_minutes", "break_part_minutes", "max_shift_hours",
                     "min_shift_hours", "night_shift_max_hours"]


def test_check_roster_rest_overlap_and_days():
    frame = roster(shift("a", "2026-03-02 15:00", "2026-03-02 23:30", "2026-03-02 19:00"),
                   shift("a", "2026-03-03 07:00", "2026-03-03 15:30", "2026-03-03 11:00"),  # 7.5 h rest
                   shift("b", "2026-03-02 08:00", "2026-03-02 16:30", "2026-03-02 12:00"),
                   shift("b", "2026-03-02 16:00", "2026-03-02 20:00"))  # overlaps, and two shifts in a day
    found = check_roster(frame, AGENTS)
    assert rules_of(found) == ["max_shifts_per_day", "min_rest_hours", "overlap"]
    assert found.loc[found["rule"] == "min_rest_hours", "value"].iloc[0] == pytest.approx(7.5)


def test_check_roster_weekly_rules():
    days = [f"2026-03-0{d}" for d in range(2, 9)]  # Monday to Sunday
    frame = roster(*[shift("a", f"{d} 07:00", f"{d} 15:30", f"{d} 11:00") for d in days])
    found = check_roster(frame, AGENTS)
    # 7 x 8 paid hours = 56 > 40 contract, 7 days in a row > 6, no 36 h rest.
    assert rules_of(found) == ["contract_max_hours", "max_consecutive_days", "weekly_rest_hours"]
    rest = found[found["rule"] == "weekly_rest_hours"].iloc[0]
    assert rest["value"] == pytest.approx(15.5)


def test_check_roster_contract_minimum_pro_rata_and_leave():
    agents = pd.DataFrame({"agent": ["a"], "min_hours_week": [28], "max_hours_week": [40], "leave": ["2026-03-05..2026-03-08"]})
    frame = roster(shift("a", "2026-03-02 08:00", "2026-03-02 16:30", "2026-03-02 12:00"))
    found = check_roster(frame, agents, horizon=(dt.date(2026, 3, 2), dt.date(2026, 3, 8)))
    # 3 of 7 days not on leave: minimum 12 h; 8 worked.
    assert rules_of(found) == ["contract_min_hours"] and found["limit"].iloc[0] == pytest.approx(12.0)


def test_check_roster_contract_minimum_of_an_agent_without_shifts():
    # b works nothing in the week: 0 h < its 16 h minimum (an agent absent from the roster is still checked).
    agents = pd.DataFrame({"agent": ["a", "b"], "min_hours_week": [0, 16], "max_hours_week": [40, 40]})
    frame = roster(shift("a", "2026-03-02 08:00", "2026-03-02 16:30", "2026-03-02 12:00"))
    found = check_roster(frame, agents, horizon=(dt.date(2026, 3, 2), dt.date(2026, 3, 8)))
    assert rules_of(found) == ["contract_min_hours"] and found["agent"].tolist() == ["b"]
    assert (found["value"].iloc[0], found["limit"].iloc[0]) == (0.0, 16.0)


def test_check_roster_agent_rules():
    agents = pd.DataFrame({"agent": ["a"], "max_hours_week": [40], "skills": ["x"], "days_off": ["tue"],
                           "max_evenings_week": [0], "max_weekends": [0]})
    frame = roster(shift("a", "2026-03-03 13:00", "2026-03-03 21:30", "2026-03-03 17:00"),
                   shift("a", "2026-03-07 08:00", "2026-03-07 16:30", "2026-03-07 12:00"))
    frame["skill"] = ["x", "whatsapp"]
    assert rules_of(check_roster(frame, agents)) == ["days_off", "max_evenings_week", "max_weekends", "skill"]


def test_check_roster_cover_and_prior():
    demand = pd.DataFrame({"template": ["s"], "start": [ts("2026-03-02 07:00")], "end": [ts("2026-03-02 15:30")], "count": [2]})
    frame = roster(shift("a", "2026-03-02 07:00", "2026-03-02 15:30", "2026-03-02 11:00"))
    prior = roster(shift("a", "2026-03-01 15:00", "2026-03-01 23:30", "2026-03-01 19:00"))
    found = check_roster(frame, AGENTS, shifts=demand, prior=prior)
    assert rules_of(found) == ["min_rest_hours", "unfilled"]


def test_validated_agents_validate_again_unchanged():
    raw = pd.DataFrame({"agent": ["a", "b"], "max_hours_week": [40, 20], "skills": ["*", "x;whatsapp"], "days_off": ["", "sun"]})
    once = validate_agents(raw)
    again = validate_agents(once.copy())  # a copy loses the marker; the parsed cells are read as they are
    assert again.to_dict("records") == once.to_dict("records")
    assert again.at[0, "skills"] is None and again.at[1, "skills"] == ("whatsapp", "x") and again.at[1, "days_off"] == (6,)


def test_agent_with_only_prior_shifts_is_reported_once():
    # b (minimum 16 h) worked Monday 2 March (8 h, before the horizon Wed 4 - Sun 8 March) and nothing
    # inside it: one contract_min_hours row for 2026-W10 (8 h of 16 * 5/7 = 11.43 h), not two.
    agents = pd.DataFrame({"agent": ["a", "b"], "min_hours_week": [0, 16], "max_hours_week": [40, 40]})
    worked = roster(shift("a", "2026-03-04 09:00", "2026-03-04 17:30", "2026-03-04 13:00")).assign(hours=8.0)
    prior = roster(shift("b", "2026-03-02 09:00", "2026-03-02 17:30", "2026-03-02 13:00")).assign(hours=8.0)
    v = check_roster(worked, agents, prior=prior, horizon=(dt.date(2026, 3, 4), dt.date(2026, 3, 8)))
    short = v[v["rule"] == "contract_min_hours"]
    assert short["agent"].tolist() == ["b"] and short["value"].tolist() == [8.0]
    assert abs(short["limit"].iloc[0] - 16 * 5 / 7) < 1e-9
    # Without the prior roster b has nothing: still exactly one row, 0 h.
    v = check_roster(worked, agents, horizon=(dt.date(2026, 3, 4), dt.date(2026, 3, 8)))
    assert v.loc[v["rule"] == "contract_min_hours", "value"].tolist() == [0.0]
