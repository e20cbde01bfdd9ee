"""Why a roster request cannot be met in full: elastic slack turned into violations and sentences.

Every soft family of :mod:`scheduling.roster.constraints` has slack with a price; whatever slack
the optimum keeps is a violation: which intervals cannot be covered and by how much, which
template limits are broken, which service-level targets are missed and by how many messages,
and, where it applies, why (no template works at those times; the opening hours cap the service
level below the target).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from scheduling import backlog as fluid

__all__ = ["COLUMNS", "explain", "violations"]

COLUMNS = ["what", "start", "end", "amount", "unit", "detail"]
_EPS = 1e-6


def _runs(mask: np.ndarray):
    """(first, last) index of every run of True."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    firsts = np.concatenate([[idx[0]], idx[breaks + 1]])
    lasts = np.concatenate([idx[breaks], [idx[-1]]])
    return list(zip(firsts, lasts))


def _var_array(m, name: str, keys) -> np.ndarray:
    var = getattr(m, name, None)
    if var is None:
        return np.zeros(len(keys))
    return np.array([(var[k].value or 0.0) if k in var else 0.0 for k in keys], dtype=float)


def _fmt_range(grid, bucket, first, last) -> tuple[pd.Timestamp, pd.Timestamp, str]:
    start = grid[first]
    end = grid[last] + bucket
    same_day = start.date() == (end - pd.Timedelta("1ns")).date()
    text = f"{start:%a %Y-%m-%d %H:%M}-{end:%H:%M}" if same_day else f"{start:%a %Y-%m-%d %H:%M} to {end:%a %Y-%m-%d %H:%M}"
    return start, end, text


def violations(problem, m) -> pd.DataFrame:
    """One row per run of intervals (or per template limit, per period) with non-zero slack."""
    grid, bucket = problem.grid, problem.bucket
    hours = bucket.total_seconds() / 3600
    keys = list(range(len(grid)))
    rows = []
    coverable = np.asarray(problem.candidates.shift_coverage.sum(axis=1)).ravel() > 0
    for name, what in (("short", "coverage"), ("short_open", "minimum staff"), ("low_short", "interval floor")):
        slack = _var_array(m, name, keys)
        for first, last in _runs(slack > _EPS):
            start, end, text = _fmt_range(grid, bucket, first, last)
            part = slack[first:last + 1]
            unit = "agents" if name != "low_short" else "productive agents"
            detail = (f"{text}: short by up to {part.max():.2f} {unit} ({part.sum() * hours:.2f} agent-hours)")
            if not coverable[first:last + 1].all():
                detail += "; no shift template works at these times"
            rows.append({"what": what, "start": start, "end": end, "amount": float(part.max()), "unit": unit,
                         "detail": detail})
    if hasattr(m, "L"):
        templates = problem.config.templates
        for key in m.L:
            kind, ti, day = key
            under, over = m.tmpl_under[key].value or 0.0, m.tmpl_over[key].value or 0.0
            name = templates[ti].name
            where = f"on {day}" if kind == "day" else "over the horizon"
            start = pd.Timestamp(day).tz_localize(grid.tz) if kind == "day" else grid[0]
            end = start + pd.Timedelta("1D") if kind == "day" else grid[-1] + bucket
            if under > _EPS:
                limit = templates[ti].min_per_day if kind == "day" else templates[ti].min_total
                rows.append({"what": "template minimum", "start": start, "end": end, "amount": under, "unit": "shifts",
                             "detail": f"template {name!r} {where}: {under:.0f} shift(s) below its minimum of {limit}"})
            if over > _EPS:
                limit = templates[ti].max_per_day if kind == "day" else templates[ti].max_total
                rows.append({"what": "template maximum", "start": start, "end": end, "amount": over, "unit": "shifts",
                             "detail": f"template {name!r} {where}: {over:.0f} shift(s) above its maximum of {limit}"})
    if hasattr(m, "sl_short") and problem.target is not None:
        target = problem.target.target
        vol = problem.arrivals
        for p in m.sl_short:
            short = m.sl_short[p].value or 0.0
            if short <= _EPS:
                continue
            inside = np.flatnonzero(problem.periods == p)
            total = float(vol[inside].sum())
            start, end, text = _fmt_range(grid, bucket, inside[0], inside[-1])
            label = problem.period_labels[p]
            rows.append({"what": "service level", "start": start, "end": end, "amount": short, "unit": "messages",
                         "detail": f"{label}: the target of {100 * target:.1f}% is missed by {short:.1f} messages "
                                   f"({100 * short / total if total else 0:.1f} points of {total:.0f})"})
    if hasattr(m, "floor_short"):
        floor = _var_array(m, "floor_short", keys)
        for first, last in _runs(floor > _EPS):
            start, end, text = _fmt_range(grid, bucket, first, last)
            rows.append({"what": "interval floor", "start": start, "end": end, "amount": float(floor[first:last + 1].sum()),
                         "unit": "messages", "detail": f"{text}: {floor[first:last + 1].sum():.1f} messages late beyond "
                                                       "the per-interval floor"})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["start", "what"], kind="stable").reset_index(drop=True) if len(frame) else frame


def explain(problem, result) -> list[str]:
    """Sentences for a planner: the cost, the service level reached, and every violation."""
    split = result.cost_split
    lines = [f"{split.get('shifts', 0)} shifts, {split.get('paid_hours', 0):.1f} paid hours, cost "
             f"{split.get('roster', 0):,.2f} (wages {split.get('wages', 0):,.2f}, premiums {split.get('premiums', 0):,.2f}); "
             f"solver {result.status}, gap {100 * result.gap:.2f}%" if np.isfinite(result.gap) else
             f"{split.get('shifts', 0)} shifts, cost {split.get('roster', 0):,.2f}; solver {result.status}"]
    if result.service_level is not None and len(result.service_level):
        sl = result.service_level
        horizon = sl[sl["period"] == "horizon"]
        days = sl[sl["period"] == "day"].dropna(subset=["service_level"])
        if len(horizon):
            text = f"predicted service level {100 * horizon['service_level'].iloc[0]:.1f}% over the horizon"
            if len(days):
                worst = days.loc[days["service_level"].idxmin()]
                text += f" (lowest day {worst['label']}: {100 * worst['service_level']:.1f}%)"
            lines.append(text)
    if problem.opening_choices is not None and result.opening is not None:
        from scheduling.opening_hours import DAY_NAMES
        lines.append("opening hours: " + "; ".join(
            f"{DAY_NAMES[r.weekday]} {r.open}-{r.close}" if r.open else f"{DAY_NAMES[r.weekday]} closed"
            for r in result.opening.itertuples()))
    if len(result.violations):
        lines.append(f"the request cannot be met in full ({len(result.violations)} violation(s)):")
        lines.extend("  " + d for d in result.violations["detail"].head(20))
        if len(result.violations) > 20:
            lines.append(f"  ... and {len(result.violations) - 20} more")
        if problem.mode == "backlog" and (result.violations["what"] == "service level").any():
            share = result.coverage["open_fraction"].to_numpy()
            arrivals = pd.Series(problem.arrivals, index=problem.grid)
            try:
                lines.append("  why: " + fluid.ceiling_explanation(arrivals, share, deadline=pd.Timedelta(problem.target.within),
                                                                    target=problem.target.target))
            except ValueError:
                pass
    return lines
