"""The search over candidate opening hours (scheduling/opening_search.py): every combination
planned with the capacity model, the one needing the fewest productive agent-hours chosen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scheduling.opening_hours import OpeningHours
from scheduling.opening_search import search_opening_hours
from scheduling.requirements import ServiceTarget, requirements
from scheduling.roster.opening import parse_opening_candidates

TZ = "Europe/Amsterdam"


def hourly_week():
    ds = pd.date_range(pd.Timestamp("2026-03-02", tz=TZ).tz_convert("UTC"), periods=7 * 24, freq="1h").tz_convert(TZ)
    hour = ds.hour.to_numpy()
    return pd.DataFrame({"ds": ds, "volume": np.where((hour >= 8) & (hour < 20), 20.0, 2.0)})


def test_every_combination_is_planned_and_agent_hours_are_in_hours():
    volume = hourly_week()
    target = ServiceTarget(target=0.8, within=pd.Timedelta("60min"), aht_seconds=300)
    found = search_opening_hours(volume, target, parse_opening_candidates("mon-fri 08:00-20:00 | 07:00-22:00; "
                                                                          "sat,sun 09:00-17:00 | 08:00-20:00"))
    table = found.table
    assert len(table) == 4 and table["chosen"].sum() == 1
    for row in table[table["reachable"]].itertuples():
        hours = OpeningHours.from_text(row.opening)
        req = requirements(volume.assign(channel="all"), target, hours, combine=True).table
        # the requirement is per 15-minute bucket from an hourly forecast: a quarter hour each
        step_h = (req["ds"].iloc[1] - req["ds"].iloc[0]).total_seconds() / 3600
        assert step_h == 0.25
        assert row.productive_hours == pytest.approx(req["agents_required"].sum() * step_h)
    chosen = table[table["chosen"]].iloc[0]
    assert chosen["productive_hours"] == table["productive_hours"].min()
    assert str(found.best) == str(OpeningHours.from_text(chosen["opening"]))
