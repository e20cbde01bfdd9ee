"""shifts.toml: validation into typed records, premiums, candidate shifts and staffing_from_shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scheduling.roster.coverage import staffing_from_shifts
from scheduling.roster.model import build_candidates
from scheduling.roster.shifts import ShiftsError, read_shifts, shifts_from_dict

TZ = "Europe/Amsterdam"

EXAMPLE = """
[solver]
name = "highs"
time_limit = "90s"
mip_gap = 0.001

[contracts.standard]
hourly_wage = 18.5
[contracts.student]
hourly_wage = 14.0

[premiums]
evening = { from = "18:00", to = "22:00", rate = 0.25 }
night = { from = "22:00", to = "06:00", rate = 0.5 }
saturday = 0.25
sunday = 0.5
holiday = 1.0

[[shift]]
name = "day"
length = "8h"
start_from = "07:00"
start_to = "10:00"
start_every = "30m"
days = "mon-fri"
contract = "standard"
break = { length = "30m", window = ["3h", "5h"] }
max_per_day = 6

[[shift]]
name = "night"
length = "8h"
starts = ["23:00"]
contract = "student"
"""


def test_example_file_reads_into_typed_records(tmp_path):
    path = tmp_path / "shifts.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    cfg = read_shifts(path)
    day, night = cfg.templates
    assert day.start_minutes == tuple(range(7 * 60, 10 * 60 + 1, 30))
    assert day.days == (0, 1, 2, 3, 4)
    assert day.breaks[0].length == pd.Timedelta("30min")
    assert [o.total_seconds() / 3600 for o in day.breaks[0].offsets()] == [3.0, 3.25, 3.5, 3.75, 4.0, 4.25, 4.5]
    assert day.default_paid_hours == 7.5 and day.max_per_day == 6
    assert night.start_minutes == (23 * 60,) and night.contract == "student"
    assert cfg.solver.time_limit == 90 and cfg.solver.mip_gap == 0.001
    assert cfg.premiums.night == (22 * 60, 6 * 60, 0.5)


@pytest.mark.parametrize("change, message", [
    ({"shift": [{"name": "x", "length": "eight hours", "starts": ["08:00"]}]}, "[[shift]] #1 'x', key 'length'"),
    ({"shift": [{"name": "x", "length": "8h", "starts": ["25:00"]}]}, "key 'starts'"),
    ({"shift": [{"name": "x", "length": "8h", "starts": ["08:00"], "contract": "nope"}]}, "key 'contract'"),
    ({"shift": [{"name": "x", "length": "8h", "starts": ["08:00"], "break": {"length": "30m", "window": ["7h", "9h"]}}]},
     "break #1, key 'window'"),
    ({"shift": [{"name": "x", "length": "8h", "starts": ["08:00"], "min_per_day": 3, "max_per_day": 2}]}, "key 'max_per_day'"),
    ({"shift": [{"name": "x", "length": "8h", "starts": ["08:00"], "colour": "red"}]}, "key 'colour'"),
    ({"shift": [{"name": "x", "length": "8h", "starts": ["08:00"], "days": "mon-funday"}]}, "key 'days'"),
    ({"premiums": {"evening": {"from": "18:00", "rate": 0.2}}}, "[premiums], key 'evening.to'"),
    ({"solver": {"mip_gap": -1}}, "[solver], key 'mip_gap'"),
    ({"shift": []}, "[[shift]]"),
])
def test_errors_name_file_table_and_key(change, message):
    data = {"contracts": {"c": {"hourly_wage": 10}}, "shift": [{"name": "ok", "length": "8h", "starts": ["08:00"]}]}
    data.update(change)
    with pytest.raises(ShiftsError) as info:
        shifts_from_dict(data, "my/shifts.toml")
    assert str(info.value).startswith("my/shifts.toml")
    assert message in str(info.value)


def test_unreadable_toml_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[[shift]\nname = ", encoding="utf-8")
    with pytest.raises(ShiftsError, match="bad.toml: not valid TOML"):
        read_shifts(path)


def test_candidates_and_break_slots_on_a_quarter_hour_grid():
    """One day, 8h shifts every 15 minutes with a 30-minute break placed between hours 3 and 5:
    96 starts of the day plus 31 of the evening before that reach into it; 7 placements each."""
    cfg = shifts_from_dict({"contracts": {"c": {"hourly_wage": 10}}, "premiums": {"holiday_country": ""},
                            "shift": [{"name": "e", "length": "8h", "start_every": "15m",
                                       "break": {"length": "30m", "window": ["3h", "5h"]}}]})
    g = pd.date_range("2026-03-02", periods=96, freq="15min", tz=TZ)
    cands = build_candidates(cfg, g)
    assert len(cands) == 96 + 31
    assert cands.n_patterns == 7 * (96 + 31)
    # coverage of each shift = its 32 quarter hours inside the day; breaks cover 2
    inside = (cands.shifts["start"] >= g[0]).to_numpy()
    assert set(np.asarray(cands.shift_coverage.sum(axis=0)).ravel()[inside]) <= set(range(1, 33))
    assert set(np.asarray(cands.break_coverage.sum(axis=0)).ravel()) <= {0.0, 1.0, 2.0}
    assert (cands.shifts["cost"] == 80.0).all()          # 8 h x 10, unpaid break refunded per slot
    assert np.allclose(cands.slots["refund"], 5.0)


def test_staffing_from_shifts_is_pro_rata_and_excludes_breaks():
    g = pd.date_range("2026-03-02 08:00", periods=8, freq="15min", tz=TZ)
    shifts = pd.DataFrame({
        "start": [pd.Timestamp("2026-03-02 08:05", tz=TZ), pd.Timestamp("2026-03-02 08:00", tz=TZ)],
        "end": [pd.Timestamp("2026-03-02 10:00", tz=TZ), pd.Timestamp("2026-03-02 09:00", tz=TZ)],
        "break_start": [pd.Timestamp("2026-03-02 09:00", tz=TZ), pd.NaT],
        "break_end": [pd.Timestamp("2026-03-02 09:15", tz=TZ), pd.NaT],
        "count": [2, 1],
    })
    staffed = staffing_from_shifts(shifts, g)
    assert list(staffed["ds"]) == list(g)
    assert staffed["agents"].tolist() == pytest.approx([1 + 2 * 10 / 15, 3, 3, 3, 0, 2, 2, 2])
    with pytest.raises(ValueError, match="inside the shift"):
        staffing_from_shifts(shifts.iloc[:1].assign(break_end=shifts["end"].iloc[:1] + pd.Timedelta("1h")), g)
