"""Opening hours chosen by evaluating every combination of candidate windows with the capacity model.

The roster MILP can choose opening hours itself (:mod:`scheduling.roster.opening`, the backlog
model inside the optimisation), but for a week at 15 minutes that model is large and, within a
minute, often far from proven. This search is the fast and transparent alternative a planner can
follow line by line: weekdays that share the same candidate windows (``"mon-fri 08:00-20:00 |
08:00-22:00; sat,sun ..."``) form a group, every combination of one window per group is planned
with :func:`scheduling.requirements.requirements` (the backlog model with its variability margin,
all channels as one team), and the cheapest combination whose every day reaches the target wins
(fewest productive agent-hours; ties go to fewer open hours). The full table of combinations is
returned, so the trade-off can be shown.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scheduling import backlog as fluid
from scheduling.opening_hours import DAY_NAMES, OpeningHours, open_fraction, parse_opening_hours
from scheduling.requirements import ServiceTarget, requirements

MAX_COMBINATIONS = 729
ALTERNATIVES = 4  # combinations rostered by the plan and the frontier (fewest agent-hours first)


@dataclass
class OpeningSearch:
    """The combinations evaluated and the one chosen.

    table : one row per combination: ``opening`` (text), ``open_hours`` (per week, wall clock),
        ``reachable`` (every day can reach the target), ``productive_hours`` (required, with the
        margin), ``service_level`` (the plan's, over the horizon), ``closed_share`` (of the volume
        arriving while closed), ``ceiling`` (highest reachable share over the horizon), ``chosen``.
    best : the chosen OpeningHours, or None when no combination reaches the target.
    explanation : one sentence for a planner.
    """

    table: pd.DataFrame
    best: OpeningHours | None
    explanation: str

    def alternatives(self, k: int = ALTERNATIVES) -> list[tuple[str, OpeningHours]]:
        """The ``k`` combinations that reach the target needing the fewest productive agent-hours
        (then the fewest open hours), as (text of ``table["opening"]``, OpeningHours): the ones
        worth rostering, since agent-hours are not money (whole shifts, premiums)."""
        reachable = self.table[self.table["reachable"]].sort_values(["productive_hours", "open_hours"], kind="stable")
        return [(text, parse_opening_hours(text)) for text in reachable["opening"].head(int(k))]


def _groups(candidates: dict[int, list]) -> list[tuple[tuple[int, ...], list]]:
    """Weekdays with identical candidate lists, in weekday order."""
    groups: dict[tuple, list[int]] = {}
    for day in range(7):
        options = tuple(candidates.get(day, [None]))
        groups.setdefault(options, []).append(day)
    return [(tuple(days), list(options)) for options, days in groups.items()]


def search_opening_hours(volume: pd.DataFrame, target: ServiceTarget, candidates: dict[int, list], *,
                         max_combinations: int = MAX_COMBINATIONS) -> OpeningSearch:
    """Evaluate every combination of candidate windows (one per group of weekdays).

    Parameters
    ----------
    volume : pandas.DataFrame
        ``ds`` (tz-aware), ``volume`` and optionally ``channel`` (pooled into one team).
    target : ServiceTarget
        The backlog model's target, deadline, handle time ... (``model="backlog"``).
    candidates : dict
        Weekday (0 = Monday) -> list of :class:`~scheduling.opening_hours.Window` or None (closed),
        as :func:`scheduling.roster.opening.parse_opening_candidates` returns; weekdays absent are closed.
    """
    if target.model != "backlog":
        raise ValueError("the opening-hours search needs the backlog model (messages wait while closed)")
    groups = _groups(candidates)
    n = int(np.prod([len(options) for _, options in groups]))
    if n > max_combinations:
        raise ValueError(f"{n:,} combinations of candidate opening hours are too many to evaluate "
                         f"(at most {max_combinations}); give fewer alternatives per weekday group")
    frame = volume if "channel" in volume.columns else volume.assign(channel="all")
    team = frame.groupby("ds", as_index=False)["volume"].sum()
    arrivals = team.set_index("ds")["volume"]
    rows, hours_of = [], []
    for choice in itertools.product(*(options for _, options in groups)):
        weekly = [()] * 7
        for (days, _), window in zip(groups, choice):
            for day in days:
                weekly[day] = (window,) if window is not None else ()
        hours = OpeningHours(weekly=tuple(weekly))
        share = open_fraction(pd.DatetimeIndex(team["ds"]), hours)
        closed = float((arrivals.to_numpy() * (1 - share.to_numpy())).sum() / max(arrivals.sum(), 1e-12))
        ceiling = fluid.service_level_ceiling(arrivals, share, deadline=target.within, clock=target.clock)
        result = requirements(team.assign(channel="all"), target, hours)
        ok = bool(result.reachable.get("all", False))
        table = result.table
        step_h = _step_hours(table["ds"])
        rows.append({
            "opening": _text(groups, choice),
            "open_hours": sum(w.minutes for day in weekly for w in day) / 60,
            "reachable": ok,
            "productive_hours": float(table["agents_required"].sum() * step_h) if ok else np.nan,
            "service_level": float((table["service_level"] * table["volume"]).sum() / table["volume"].sum())
            if ok else np.nan,
            "closed_share": closed,
            "ceiling": ceiling,
        })
        hours_of.append(hours)
    out = pd.DataFrame(rows)
    feasible = out[out["reachable"]]
    out["chosen"] = False
    if feasible.empty:
        best_ceiling = out["ceiling"].max()
        return OpeningSearch(out, None, f"no candidate opening hours reach {target.target:.0%} on every day "
                                        f"(the best ceiling over the horizon is {best_ceiling:.1%}); add longer "
                                        "windows or lower the target")
    pick = feasible.sort_values(["productive_hours", "open_hours"], kind="stable").index[0]
    out.loc[pick, "chosen"] = True
    row = out.loc[pick]
    text = (f"{row['opening']}: {row['productive_hours']:,.1f} productive agent-hours, the cheapest of "
            f"{len(feasible)} combination(s) that reach {target.target:.0%} on every day (of {len(out)} evaluated); "
            f"{row['closed_share']:.1%} of the messages arrive while closed")
    return OpeningSearch(out, hours_of[pick], text)


def _step_hours(ds: pd.Series) -> float:
    ds = pd.DatetimeIndex(ds)
    return (ds[1] - ds[0]).total_seconds() / 3600 if len(ds) > 1 else 1.0


def _text(groups, choice) -> str:
    parts = []
    for (days, _), window in zip(groups, choice):
        names = ",".join(DAY_NAMES[d] for d in days)
        parts.append(f"{names} {window if window is not None else 'closed'}")
    return "; ".join(parts)
