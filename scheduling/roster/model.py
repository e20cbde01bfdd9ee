"""Candidate shifts: every template x allowed start x break placement, with its cost and its sparse
coverage of the planning buckets.

A *pattern* is one concrete shift: a template, a start instant, and the placement of each of its
breaks. The MILP decides how many of each pattern to roster; choosing among the patterns of one
start is how break placement is optimised (Aykin 1996's explicit formulation).

Start times are local wall-clock times on the team's zone: a start that does not exist (in the
hour skipped when summer time starts) moves to the end of the gap, a start in the repeated hour
is its first occurrence; a shift lasts its length in real time, so an 8-hour night shift in the
night summer time ends is still 8 paid hours. Shifts starting on the day before the horizon
that reach into it are candidates too (the night shift crossing midnight into the first day).

Coverage is counted pro rata: a pattern covers a bucket by the share of the bucket it works
(breaks excluded); on the usual aligned grid (starts and breaks on quarter hours, 15-minute
buckets) every coefficient is 0 or 1.

References
----------
.. [1] T. Aykin, "Optimal shift scheduling with multiple break windows", Management Science
   42(4):591-602, 1996 (break placement as part of the shift choice).
.. [2] G. B. Dantzig, "A comment on Edie's traffic delays at toll booths", Operations Research
   2(3):339-341, 1954 (the set-covering shift-scheduling model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from scheduling.roster.shifts import RosterConfig, premium_factors

__all__ = ["Candidates", "build_candidates", "bucket_bounds_ns", "overlap_matrix"]

_NS_MIN = 60 * 10**9


def bucket_bounds_ns(grid: pd.DatetimeIndex, bucket: pd.Timedelta | None = None) -> np.ndarray:
    """UTC epoch nanoseconds of the bucket boundaries (len(grid) + 1 values)."""
    if not isinstance(grid, pd.DatetimeIndex) or grid.tz is None:
        raise ValueError("the planning grid must be a time-zone aware DatetimeIndex")
    starts = grid.as_unit("ns").asi8
    if starts.size == 0:
        raise ValueError("the planning grid is empty")
    if bucket is None:
        if starts.size < 2:
            raise ValueError("give the bucket length for a grid of one interval")
        bucket = pd.Timedelta(int(np.diff(starts).min()), "ns")
    step = np.diff(starts)
    if step.size and ((step != step[0]).any() or step[0] != pd.Timedelta(bucket).value):
        raise ValueError("the planning grid must be regular in real time (e.g. every 15 minutes, DST included)")
    return np.concatenate([starts, [starts[-1] + pd.Timedelta(bucket).value]])


def overlap_matrix(seg_start: np.ndarray, seg_end: np.ndarray, owner: np.ndarray, bounds: np.ndarray,
                   n_owners: int, sign: float = 1.0) -> sparse.csr_matrix:
    """Sparse (buckets x owners) matrix of the share of each bucket covered by the segments
    [seg_start, seg_end) (UTC ns) of each owner, clipped to the horizon."""
    n_buckets = bounds.size - 1
    lo = np.clip(np.searchsorted(bounds, seg_start, side="right") - 1, 0, n_buckets)
    hi = np.clip(np.searchsorted(bounds, seg_end, side="left"), 0, n_buckets)  # exclusive
    counts = np.maximum(hi - lo, 0)
    rows = np.repeat(lo, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    cols = np.repeat(owner, counts)
    s = np.repeat(seg_start, counts)
    e = np.repeat(seg_end, counts)
    width = (bounds[rows + 1] - bounds[rows]).astype(float)
    share = (np.minimum(e, bounds[rows + 1]) - np.maximum(s, bounds[rows])) / width
    keep = share > 1e-12
    return sparse.csr_matrix((sign * share[keep], (rows[keep], cols[keep])), shape=(n_buckets, n_owners))


@dataclass
class Candidates:
    """The candidate shifts of a roster model and the break slots they can use.

    Breaks are placed per shift (Aykin 1996): for every shift and break rule the model decides how
    many of the shift's copies take their break at each allowed slot (:meth:`break_options`, one
    integer variable each, summing to the shift count), see
    :func:`scheduling.roster.constraints.break_placement`. (The implicit form of Bechtold &
    Jacobs 1990, cumulative break counts with forward / backward constraints, has the same LP
    bound with fewer variables, but its long chains of cumulative variables made HiGHS's root
    node stall for minutes; measured in benchmarks/bench_roster.py.) :meth:`patterns` turns the
    per-slot break counts into rostered shifts (earliest deadline first).

    shifts : one row per template x start: template, contract, day (local start date), start,
        end, paid_hours, cost (one shift, premiums included, before any unpaid break is
        deducted), base_cost (paid hours x wage, no premiums), template_index.
    slots : one row per template x break rule x break start instant: template_index, rule,
        start, end, refund (the premium-weighted wage of the break when unpaid, deducted from
        the cost), position (order within its template and rule).
    windows : per (template_index, rule): arrays (shift rows, first position, last position).
    shift_coverage : sparse (buckets x shifts) share of each bucket inside the shift.
    break_coverage : sparse (buckets x slots) share of each bucket inside the break.
    grid : the bucket starts; bounds : their UTC ns boundaries.
    """

    shifts: pd.DataFrame
    slots: pd.DataFrame
    windows: dict
    shift_coverage: sparse.csr_matrix
    break_coverage: sparse.csr_matrix
    grid: pd.DatetimeIndex
    bounds: np.ndarray
    n_breaks: int = 0

    def __len__(self) -> int:
        return len(self.shifts)

    @property
    def n_patterns(self) -> int:
        """Concrete shifts (start x break placement) the optimiser chooses among."""
        total = 0
        counts = np.ones(len(self.shifts))
        for (ti, rule), (rows, first, last) in self.windows.items():
            counts[rows] *= (last - first + 1)
        total = int(counts.sum())
        return total

    @property
    def shift_start_ns(self) -> np.ndarray:
        """UTC epoch nanoseconds of every shift's start."""
        return pd.DatetimeIndex(self.shifts["start"]).as_unit("ns").asi8

    def break_options(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (shift row, break rule, slot row) a shift's break may take: three aligned arrays,
        grouped by template and rule, shifts in row order and slots in time order within a shift."""
        cached = getattr(self, "_break_options", None)
        if cached is not None:
            return cached
        if not len(self.slots):
            empty = np.zeros(0, dtype=np.int64)
            self._break_options = (empty, empty, empty)
            return self._break_options
        position = self.slots["position"].to_numpy()
        slot_rows = {}
        for key, idx in self.slots.groupby(["template_index", "rule"], sort=False).indices.items():
            slot_rows[(int(key[0]), int(key[1]))] = idx[np.argsort(position[idx])]
        shift_parts, rule_parts, slot_parts = [], [], []
        for (ti, rule), (rows, first, last) in self.windows.items():
            counts = (np.asarray(last) - np.asarray(first) + 1).astype(np.int64)
            total = int(counts.sum())
            offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            shift_parts.append(np.repeat(np.asarray(rows, dtype=np.int64), counts))
            rule_parts.append(np.full(total, rule, dtype=np.int64))
            slot_parts.append(slot_rows[(ti, rule)][np.repeat(np.asarray(first), counts) + offsets])
        self._break_options = (np.concatenate(shift_parts), np.concatenate(rule_parts),
                               np.concatenate(slot_parts).astype(np.int64))
        return self._break_options

    def patterns(self, x: np.ndarray, w: np.ndarray) -> pd.DataFrame:
        """The rostered shifts as rows (template, start, end, break_start, break_end, ...,
        count, paid_hours, cost, contract, day) for shift counts ``x`` and slot counts ``w``;
        breaks are given to shifts earliest deadline first, each inside its window."""
        x = np.rint(np.asarray(x, dtype=float)).astype(int)
        w = np.rint(np.asarray(w, dtype=float)).astype(int) if len(self.slots) else np.zeros(0, dtype=int)
        tz = self.grid.tz
        units = np.repeat(np.arange(len(x)), np.maximum(x, 0))     # one entry per rostered shift
        n_units = units.size
        breaks = {k: np.full(n_units, -1) for k in range(self.n_breaks)}
        unit_cost = self.shifts["cost"].to_numpy(dtype=float)[units].copy()
        refund = self.slots["refund"].to_numpy(dtype=float) if len(self.slots) else np.zeros(0)
        slot_rows = {}
        if len(self.slots):
            for key, idx in self.slots.groupby(["template_index", "rule"], sort=False).indices.items():
                slot_rows[(int(key[0]), int(key[1]))] = idx[np.argsort(self.slots["position"].to_numpy()[idx])]
        for (ti, rule), (rows, first, last) in self.windows.items():
            slot_idx = slot_rows[(ti, rule)]
            pos_of_shift = {int(r): (int(f), int(l)) for r, f, l in zip(rows, first, last)}
            mine = np.flatnonzero(np.isin(units, rows))
            # units in order of their window (windows are monotone in the start)
            mine = mine[np.argsort([pos_of_shift[int(units[u])][0] for u in mine], kind="stable")]
            queue, pointer = [], 0
            import heapq
            for position, slot in enumerate(slot_idx):
                while pointer < mine.size and pos_of_shift[int(units[mine[pointer]])][0] <= position:
                    u = mine[pointer]
                    heapq.heappush(queue, (pos_of_shift[int(units[u])][1], int(u)))
                    pointer += 1
                for _ in range(max(w[slot], 0)):
                    if not queue:
                        raise RuntimeError("break slots cannot be assigned to shifts (model error)")
                    deadline, u = heapq.heappop(queue)
                    if deadline < position:
                        raise RuntimeError("a break was assigned outside its window (model error)")
                    breaks[rule][u] = slot
                    unit_cost[u] -= refund[slot]
            if queue or pointer < mine.size:
                raise RuntimeError("some shifts got no break (model error)")
        starts = self.shifts["start"].to_numpy()[units] if n_units else np.array([], dtype="datetime64[ns]")
        frame = pd.DataFrame({
            "template": self.shifts["template"].to_numpy()[units],
            "start": pd.DatetimeIndex(self.shifts["start"]).take(units) if n_units else pd.DatetimeIndex([], tz=tz),
            "end": pd.DatetimeIndex(self.shifts["end"]).take(units) if n_units else pd.DatetimeIndex([], tz=tz),
        })
        del starts
        slot_start = pd.DatetimeIndex(self.slots["start"]) if len(self.slots) else None
        slot_end = pd.DatetimeIndex(self.slots["end"]) if len(self.slots) else None
        for k in range(max(self.n_breaks, 1)):
            name = "break" if k == 0 else f"break{k + 1}"
            chosen = breaks.get(k, np.full(n_units, -1))
            has = chosen >= 0
            if slot_start is not None and has.any():
                bs = slot_start.take(np.where(has, chosen, 0)).where(has, pd.NaT)
                be = slot_end.take(np.where(has, chosen, 0)).where(has, pd.NaT)
            else:
                bs = be = pd.DatetimeIndex([pd.NaT] * n_units).tz_localize(tz) if n_units else pd.DatetimeIndex([], tz=tz)
            frame[f"{name}_start"] = bs
            frame[f"{name}_end"] = be
        frame["paid_hours"] = self.shifts["paid_hours"].to_numpy(dtype=float)[units]
        frame["cost"] = unit_cost
        frame["contract"] = self.shifts["contract"].to_numpy()[units]
        frame["day"] = self.shifts["day"].to_numpy()[units]
        keys = [c for c in frame.columns if c not in ("cost",)]
        grouped = (frame.assign(count=1).groupby(keys, dropna=False, sort=False)
                   .agg(count=("count", "sum"), cost=("cost", "sum")).reset_index())
        order = ["template", "start", "end"] + [c for c in grouped.columns if c.startswith("break")] + \
                ["count", "paid_hours", "cost", "contract", "day"]
        grouped = grouped[order].sort_values(["start", "template", "break_start"], kind="stable").reset_index(drop=True)
        grouped["count"] = grouped["count"].astype(int)
        return grouped


def _local_starts(dates: pd.DatetimeIndex, minutes: tuple[int, ...], tz) -> tuple[np.ndarray, np.ndarray]:
    """UTC ns of wall-clock starts (date x minute), DST-safe; also the date of each start."""
    naive = (dates.values[:, None] + np.asarray(minutes, dtype="timedelta64[m]")[None, :]).ravel()
    day = np.repeat(dates.values, len(minutes))
    local = pd.DatetimeIndex(naive).tz_localize(tz, ambiguous=np.ones(naive.size, dtype=bool),
                                                nonexistent="shift_forward")
    return local.as_unit("ns").asi8, day


def _stamps(values: np.ndarray, tz) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(values, dtype=np.int64), tz="UTC").tz_convert(tz)


def build_candidates(config: RosterConfig, grid: pd.DatetimeIndex, bucket: pd.Timedelta | None = None) -> Candidates:
    """Every shift of every template that works inside the horizon of ``grid``, with every
    placement of its breaks.

    Parameters
    ----------
    config : RosterConfig
        Templates, contracts and premiums (from ``shifts.toml``).
    grid : pandas.DatetimeIndex
        Bucket starts, tz-aware, regular in real time (e.g. 15 minutes over a week).
    bucket : pandas.Timedelta, optional
        Bucket length (inferred from the grid).
    """
    bounds = bucket_bounds_ns(grid, bucket)
    tz = grid.tz
    first_local = pd.Timestamp(bounds[0], tz="UTC").tz_convert(tz)
    last_local = pd.Timestamp(bounds[-1] - 1, tz="UTC").tz_convert(tz)
    dates = pd.date_range(first_local.tz_localize(None).normalize() - pd.Timedelta("1D"),
                          last_local.tz_localize(None).normalize(), freq="D")
    templates = config.templates
    s_index, s_start, s_day = [], [], []
    offset = 0
    n_breaks = max((len(t.breaks) for t in templates), default=0)
    for index, template in enumerate(templates):
        on_days = dates[np.isin(dates.day_of_week, template.days)]
        if on_days.empty:
            continue
        start_ns, day = _local_starts(on_days, template.start_minutes, tz)
        start_ns, unique = np.unique(start_ns, return_index=True)  # starts merged by the DST gap
        day = day[unique]
        inside = (start_ns + template.length.value > bounds[0]) & (start_ns < bounds[-1])
        start_ns, day = start_ns[inside], day[inside]
        n = start_ns.size
        if n == 0:
            continue
        s_index.append(np.full(n, index))
        s_start.append(start_ns)
        s_day.append(day)
        offset += n
    if not s_start:
        raise ValueError("no shift template has a start inside the planning horizon "
                         f"({first_local:%Y-%m-%d %H:%M} to {last_local:%Y-%m-%d %H:%M})")
    tindex = np.concatenate(s_index)
    start_ns = np.concatenate(s_start)
    length_ns = np.array([t.length.value for t in templates], dtype=np.int64)[tindex]
    end_ns = start_ns + length_ns
    n_shifts = start_ns.size
    shift_cov = overlap_matrix(start_ns, end_ns, np.arange(n_shifts), bounds, n_shifts)

    # Cost: wage x (1 + premium) integrated minute by minute over the paid time.
    origin = int(start_ns.min())
    n_minutes = int((end_ns.max() - origin) // _NS_MIN) + 1
    minutes = _stamps(origin + np.arange(n_minutes, dtype=np.int64) * _NS_MIN, tz)
    prefix = np.concatenate([[0.0], np.cumsum(premium_factors(minutes, config.premiums))])

    def weighted(a, b):
        return prefix[(b - origin) // _NS_MIN] - prefix[(a - origin) // _NS_MIN]

    wage = np.array([config.contracts[t.contract].hourly_wage for t in templates])
    paid_hours = np.array([t.default_paid_hours for t in templates])
    paid_minutes = np.array([(t.length - t.unpaid_break).total_seconds() / 60 for t in templates])
    # Explicit paid_hours scale the paid minutes (e.g. a CAO that pays a break differently).
    per_minute = wage * np.where(paid_minutes > 0, paid_hours * 60.0 / np.maximum(paid_minutes, 1e-9), 0.0) / 60.0
    cost = per_minute[tindex] * weighted(start_ns, end_ns)
    shifts = pd.DataFrame({
        "template": np.array([t.name for t in templates], dtype=object)[tindex],
        "contract": np.array([t.contract for t in templates], dtype=object)[tindex],
        "day": pd.DatetimeIndex(np.concatenate(s_day)).date,
        "start": _stamps(start_ns, tz),
        "end": _stamps(end_ns, tz),
        "paid_hours": paid_hours[tindex],
        "cost": cost,
        "base_cost": (wage * paid_hours)[tindex],
        "template_index": tindex,
    })

    # Break slots per template and rule: every instant at which some shift's break may start.
    slot_parts, windows, slot_cover = [], {}, []
    n_slots = 0
    for ti, template in enumerate(templates):
        rows = np.flatnonzero(tindex == ti)
        if rows.size == 0:
            continue
        for rule, brk in enumerate(template.breaks):
            offsets = np.array([o.value for o in brk.offsets()], dtype=np.int64)
            instants = np.unique((start_ns[rows][:, None] + offsets[None, :]).ravel())
            first = np.searchsorted(instants, start_ns[rows] + offsets[0])
            last = np.searchsorted(instants, start_ns[rows] + offsets[-1])
            windows[(ti, rule)] = (rows, first, last)
            ends = instants + brk.length.value
            refund = per_minute[ti] * weighted(instants, ends) if not brk.paid else np.zeros(instants.size)
            slot_parts.append(pd.DataFrame({
                "template_index": ti, "rule": rule, "start": _stamps(instants, tz), "end": _stamps(ends, tz),
                "refund": refund, "position": np.arange(instants.size)}))
            slot_cover.append((instants, ends, n_slots + np.arange(instants.size)))
            n_slots += instants.size
    if slot_parts:
        slots = pd.concat(slot_parts, ignore_index=True)
        break_cov = sparse.csr_matrix((len(grid), n_slots))
        for bs, be, owner in slot_cover:
            break_cov = break_cov + overlap_matrix(bs, be, owner, bounds, n_slots)
        break_cov = sparse.csr_matrix(break_cov)
    else:
        slots = pd.DataFrame({"template_index": pd.Series(dtype=int), "rule": pd.Series(dtype=int),
                              "start": pd.DatetimeIndex([], tz=tz), "end": pd.DatetimeIndex([], tz=tz),
                              "refund": pd.Series(dtype=float), "position": pd.Series(dtype=int)})
        break_cov = sparse.csr_matrix((len(grid), 0))
    return Candidates(shifts, slots, windows, sparse.csr_matrix(shift_cov), break_cov, grid, bounds, n_breaks)
