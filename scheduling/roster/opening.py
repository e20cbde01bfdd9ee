"""Opening hours as decisions, and the cost-versus-service-level frontier.

No WFM tool we know of optimises opening hours (THEORY.md section 6): the trade-off is the cost
of open hours (wages of the minimum staff and of the roster) against the messages that arrive
while closed and miss the deadline. Here the weekly opening and closing time per weekday is a
decision of the roster MILP (:func:`scheduling.roster.constraints.opening_hours`), chosen from
candidate windows, with the backlog model inside the optimisation; so the optimiser answers
"which opening hours and roster reach 80% within 60 minutes at the lowest cost".

Candidate windows are written like opening hours with alternatives separated by ``|``:
``"mon-fri 07:00-19:00 | 08:00-20:00 | 08:00-22:00; sat,sun 10:00-16:00 | closed"``.
Weekdays not named are closed. Windows must lie on the 15-minute grid.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from scheduling.opening_hours import DAY_NAMES, Window
from scheduling.roster.shifts import parse_days

__all__ = ["candidate_windows", "cheapest_roster", "frontier", "optimise_opening", "parse_opening_candidates"]


def parse_opening_candidates(text: str) -> dict[int, list]:
    """Weekday (0 = Monday) -> candidate windows (``Window``; ``None`` = closed) from text such as
    ``"mon-fri 07:00-19:00 | 08:00-20:00; sat,sun 10:00-16:00 | closed"``."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("no candidate opening hours given: write e.g. 'mon-fri 07:00-19:00 | 08:00-20:00; sun closed'")
    out: dict[int, list] = {}
    for clause in (c.strip() for c in re.split(r"[;\n]", text.strip().lower())):
        if not clause:
            continue
        match = re.match(r"^([a-z,\- ]+?)\s+((?:closed|gesloten|\d).*)$", clause)
        if not match:
            raise ValueError(f"cannot read {clause!r}: expected days then windows, e.g. 'mon-fri 07:00-19:00 | 08:00-20:00'")
        try:
            days = parse_days(match.group(1).replace(" ", ""))
        except ValueError as exc:
            raise ValueError(f"in {clause!r}: {exc}") from None
        options = []
        for part in (p.strip() for p in match.group(2).split("|")):
            if part in ("closed", "gesloten"):
                options.append(None)
                continue
            try:
                window = Window.from_text(part)
            except ValueError as exc:
                raise ValueError(f"in {clause!r}: {exc}") from None
            if window.start_minute % 15 or window.end_minute % 15:
                raise ValueError(f"in {clause!r}: {window} is not on the 15-minute grid")
            options.append(window)
        for day in days:
            if day in out:
                raise ValueError(f"{DAY_NAMES[day]} is given twice in the candidate opening hours")
            out[day] = list(dict.fromkeys(options))
    return out


def candidate_windows(opens, closes) -> list[Window]:
    """Every window from one of ``opens`` to one of ``closes`` ("HH:MM" lists), closing after opening."""
    out = []
    for o in opens:
        for c in closes:
            window = Window.from_text(f"{o}-{c}")
            if window.end_minute <= 24 * 60:
                out.append(window)
    return out


def optimise_opening(config, arrivals, target, candidates, **kwargs):
    """The cheapest opening hours (one candidate window per weekday) and roster that reach the
    target: :func:`scheduling.roster.solve.solve_roster` with ``opening_candidates``. Candidates may
    be given as text (see :func:`parse_opening_candidates`)."""
    from scheduling.roster.solve import solve_roster

    if isinstance(candidates, str):
        candidates = parse_opening_candidates(candidates)
    return solve_roster(config, arrivals=arrivals, target=target, opening_candidates=candidates, **kwargs)


def _opening_text(result) -> str:
    if result.opening is None:
        return ""
    return "; ".join(f"{DAY_NAMES[r.weekday]} {r.open}-{r.close}" if r.open else f"{DAY_NAMES[r.weekday]} closed"
                     for r in result.opening.itertuples())


def _volume_frame(arrivals) -> pd.DataFrame:
    """``ds, volume`` (channels pooled) from a Series indexed by ds or a frame with ds and volume."""
    if isinstance(arrivals, pd.Series):
        frame = pd.DataFrame({"ds": arrivals.index, "volume": arrivals.to_numpy(dtype=float)})
    else:
        frame = arrivals.rename(columns={"yhat": "volume"}) if "volume" not in arrivals.columns else arrivals
        frame = frame.groupby("ds", as_index=False)["volume"].sum()
    return frame.reset_index(drop=True)


def cheapest_roster(config, arrivals, target, opening, opening_candidates, **kwargs):
    """The planning route (as ``webcare plan``), choosing the opening hours by roster cost: with
    candidates, the :meth:`~scheduling.opening_search.OpeningSearch.alternatives` that reach the
    target needing the fewest productive agent-hours (:func:`search_opening_hours`); otherwise the
    fixed ``opening`` (always open when None). For each, the backlog model's requirement with its
    variability margin (channels pooled) and the cheapest roster covering it in whole heads; the
    cheapest roster is kept (agent-hours are not money: a longer day with a smaller morning peak
    can cost less in whole shifts and premiums). Returns ``(result, hours, requirement table, "")``
    or ``(None, None, None, reason)``."""
    from scheduling.opening_hours import _as_opening_hours
    from scheduling.opening_search import search_opening_hours
    from scheduling.requirements import requirements
    from scheduling.roster.solve import solve_roster

    frame = _volume_frame(arrivals)
    if opening_candidates:
        found = search_opening_hours(frame, target, opening_candidates)
        if found.best is None:
            return None, None, None, found.explanation
        choices = [hours for _text, hours in found.alternatives()]
    else:
        choices = [_as_opening_hours(opening)]
    best = None
    for hours in choices:
        req = requirements(frame.assign(channel="all"), target, hours, combine=True)
        if not all(req.reachable.values()):  # fixed hours only: the search keeps reachable ones
            return None, None, None, " ".join(req.explanations.values())
        result = solve_roster(config, requirements=req.table[["ds", "agents_required", "volume"]], target=target,
                              opening=hours, **kwargs)
        if result.status != "error" and (best is None or result.objective < best[0].objective - 1e-9):
            best = (result, hours, req.table)
    if best is None:
        return None, None, None, "no roster was found for any of the candidate opening hours; raise the time limit"
    return best[0], best[1], best[2], ""


def frontier(config, arrivals, target, targets, *, opening=None, opening_candidates=None, method: str = "search",
             **kwargs) -> pd.DataFrame:
    """Cost against service level: one roster (and opening hours) per target.

    Parameters
    ----------
    config : RosterConfig
    arrivals : pandas.DataFrame or Series
        Messages per interval (``ds``, ``volume``).
    target : ServiceTarget
        Deadline, handle time ...; its ``target`` is replaced by each of ``targets``.
    targets : sequence of float
        Service-level targets to sweep, as fractions (0.6, 0.7, 0.8, 0.9).
    opening, opening_candidates
        Fixed opening hours, or candidates to choose from per target.
    method : "search" (default) or "milp"
        ``search``: the route of ``webcare plan``: the candidate opening hours that need the fewest
        productive agent-hours while every day reaches the target (every combination evaluated
        with the backlog model and its variability margin), then the cheapest roster covering that
        requirement in whole heads: seconds per target, and the rosters hold in simulation (the
        margin). ``milp``: opening hours, roster and service level in one MILP
        (:func:`optimise_opening`): the joint optimum in principle, but on a week of 15-minute
        intervals its LP bound is weak and a minute leaves gaps of 50-80 % (measured on the
        sample week), so it suits small instances.
    **kwargs
        Passed to :func:`scheduling.roster.solve.solve_roster` (time_limit, sl_floor, ...).

    Returns
    -------
    pandas.DataFrame
        target, cost (roster cost, penalties excluded), sl_reached (the capacity model's service
        level of the roster over the horizon), lowest_day (lowest daily SL), opening (text),
        status, gap, violations (count), seconds, explanation. Ready to draw (x = cost or
        target, y = sl_reached).
    """
    from dataclasses import replace

    from scheduling.roster.solve import solve_roster

    if method not in ("search", "milp"):
        raise ValueError(f"frontier method must be 'search' or 'milp', not {method!r}")
    if isinstance(opening_candidates, str):
        opening_candidates = parse_opening_candidates(opening_candidates)
    rows = []
    for value in targets:
        value = float(value)
        if not 0 < value <= 1:
            raise ValueError(f"frontier targets are fractions in (0, 1]; got {value}")
        point = replace(target, target=value)
        if method == "search":
            result, hours, _table, reason = cheapest_roster(config, arrivals, point, opening, opening_candidates,
                                                             **kwargs)
            if result is None:
                rows.append({"target": value, "cost": np.nan, "sl_reached": np.nan, "lowest_day": np.nan,
                             "opening": "", "status": "unreachable", "gap": np.nan, "violations": 0,
                             "seconds": np.nan, "explanation": reason})
                continue
            opening_text = str(hours)
        else:
            result = solve_roster(config, arrivals=arrivals, target=point, opening=opening,
                                  opening_candidates=opening_candidates, **kwargs)
            opening_text = _opening_text(result)
        sl = result.service_level
        horizon = sl.loc[sl["period"] == "horizon", "service_level"] if sl is not None else pd.Series(dtype=float)
        days = sl.loc[sl["period"] == "day", "service_level"].dropna() if sl is not None else pd.Series(dtype=float)
        rows.append({
            "target": value, "cost": result.cost_split.get("roster", np.nan),
            "sl_reached": float(horizon.iloc[0]) if len(horizon) else np.nan,
            "lowest_day": float(days.min()) if len(days) else np.nan,
            "opening": opening_text, "status": result.status, "gap": result.gap,
            "violations": len(result.violations), "seconds": result.seconds, "explanation": "",
        })
    table = pd.DataFrame(rows)
    # A roster that reaches a higher target on every day serves a lower one too: where it is
    # cheaper, it is the lower target's answer (the curve never falls as the target rises).
    for i in range(len(table)):
        for j in range(len(table)):
            better = table.loc[j]
            if (j != i and better["target"] > table.loc[i, "target"] and np.isfinite(better["cost"])
                    and better["lowest_day"] >= table.loc[i, "target"] - 1e-9 and better["violations"] == 0
                    and (not np.isfinite(table.loc[i, "cost"]) or better["cost"] < table.loc[i, "cost"] - 1e-9)):
                keep = table.loc[i, "target"]
                table.loc[i] = better
                table.loc[i, "target"] = keep
                table.loc[i, "explanation"] = f"the {100 * better['target']:.0f} % roster is cheaper and reaches it"
    return table
