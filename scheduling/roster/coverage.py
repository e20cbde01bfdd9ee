"""Heads on duty per interval for a set of shifts (a roster's ``.shifts`` or an assignment).

Used by the roster result, the simulator and the app: any frame with ``start``, ``end``,
``break_start``, ``break_end`` (NaT for no break; further breaks as ``break2_start`` ...) and an
optional ``count`` becomes staffing per interval (contract E: ``ds``, ``agents``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scheduling.roster.model import bucket_bounds_ns, overlap_matrix

__all__ = ["staffing_from_shifts"]


def _ns(values: pd.Series, name: str, tz) -> tuple[np.ndarray, np.ndarray]:
    stamps = pd.to_datetime(values)
    if len(stamps) and getattr(stamps.dt, "tz", None) is None:
        raise ValueError(f"column '{name}' must hold time-zone aware timestamps")
    present = stamps.notna().to_numpy()
    ns = np.zeros(len(stamps), dtype=np.int64)
    if present.any():
        ns[present] = pd.DatetimeIndex(stamps[present]).as_unit("ns").asi8
    return ns, present


def staffing_from_shifts(shifts: pd.DataFrame, grid: pd.DatetimeIndex, bucket: pd.Timedelta | None = None) -> pd.DataFrame:
    """Agents on duty per interval of ``grid``, breaks excluded, partial intervals pro rata.

    Parameters
    ----------
    shifts : pandas.DataFrame
        ``start``, ``end`` (tz-aware, end exclusive), ``break_start``, ``break_end`` (tz-aware or
        NaT; optional, and ``break2_start``/``break2_end`` ... for further breaks) and ``count``
        (shifts of this kind; 1 when absent).
    grid : pandas.DatetimeIndex
        Interval starts, tz-aware and regular in real time.
    bucket : pandas.Timedelta, optional
        Interval length (inferred from ``grid``; needed for a grid of one interval).

    Returns
    -------
    pandas.DataFrame
        ``ds`` (the grid) and ``agents`` (float: heads working, a shift starting at 08:05 counts
        2/3 in the 08:00-08:15 interval).
    """
    for col in ("start", "end"):
        if col not in shifts.columns:
            raise ValueError(f"the shifts need a '{col}' column")
    bounds = bucket_bounds_ns(pd.DatetimeIndex(grid), bucket)
    n = len(shifts)
    count = shifts["count"].to_numpy(dtype=float) if "count" in shifts.columns else np.ones(n)
    if n and (np.isnan(count).any() or (count < 0).any()):
        raise ValueError("column 'count' must hold numbers >= 0")
    start, ok_s = _ns(shifts["start"], "start", grid.tz)
    end, ok_e = _ns(shifts["end"], "end", grid.tz)
    if not (ok_s & ok_e).all():
        raise ValueError(f"shift row(s) {', '.join(str(i) for i in np.flatnonzero(~(ok_s & ok_e))[:5])} have no start or end")
    if (end <= start).any():
        raise ValueError(f"shift row(s) {', '.join(str(i) for i in np.flatnonzero(end <= start)[:5])} end before they start")
    rows = np.arange(n)
    matrix = overlap_matrix(start, end, rows, bounds, n)
    k = 1
    while True:
        name = "break" if k == 1 else f"break{k}"
        if f"{name}_start" not in shifts.columns:
            break
        bs, has_s = _ns(shifts[f"{name}_start"], f"{name}_start", grid.tz)
        be, has_e = _ns(shifts[f"{name}_end"], f"{name}_end", grid.tz)
        has = has_s & has_e
        if (has_s != has_e).any():
            raise ValueError(f"columns '{name}_start' and '{name}_end' must both be given or both be empty")
        outside = has & ((bs < start) | (be > end) | (be <= bs))
        if outside.any():
            raise ValueError(f"row(s) {', '.join(str(i) for i in np.flatnonzero(outside)[:5])}: the break must lie "
                             "inside the shift and end after it starts")
        if has.any():
            matrix = matrix + overlap_matrix(bs[has], be[has], rows[has], bounds, n, sign=-1.0)
        k += 1
    agents = np.asarray(matrix @ count, dtype=float).ravel() if n else np.zeros(len(grid))
    return pd.DataFrame({"ds": pd.DatetimeIndex(grid), "agents": np.maximum(agents, 0.0) + 0.0})
