"""Discrete-event simulation of a webcare team: the check on the backlog model and on Erlang.

The system is the one of the backlog model (:mod:`scheduling.backlog`), with the randomness the
fluid model leaves out:

- **arrivals**: a non-homogeneous Poisson process from a forecast (the volume of each interval
  spread evenly inside it, or by an intra-interval profile); optionally over-dispersed (a
  doubly-stochastic Poisson process: each block of time gets a gamma factor with mean 1 and
  variance ``burstiness``); or the replay of a real history's message timestamps;
- **agents**: heads on duty per interval (staffing contract E: ``ds, agents``; a row holds until
  the next, the last for one step), shrinkage taken off as in ``webcare staff --staffing``.
  A roster's shift frame (``start, end, break_start, break_end[, count]``) is turned into
  heads per interval by :func:`scheduling.roster.coverage.staffing_from_shifts`. Fractional
  productive agents (5 heads x 0.7 = 3.5) are rounded at random per interval and run, keeping
  the mean (3 or 4, half the time each);
- **concurrency** as in the backlog model: an agent holds up to k conversations, each one taking
  s(k) times its handle time (s(k) = k / m(k) with m the concurrency multiplier of
  :func:`scheduling.backlog.concurrency_multiplier`), so the team's throughput is the fluid
  model's; the productive occupancy cap takes the same share off the slots;
- **queues**: one FIFO queue for all channels (pooled), or one per channel served in priority
  order (``priority=[...]``), FIFO inside each;
- **opening hours** (:class:`scheduling.opening_hours.OpeningHours`, minute resolution):
  messages arriving while closed wait; nobody is picked up while closed; when the staffing
  drops (or the team closes) agents finish the conversations in hand;
- **deadline** in real time (default) or on the business clock (open time only);
- **handle times** exponential, lognormal (with a coefficient of variation), deterministic,
  drawn from observed values (empirical) or replayed with the history;
- **abandonment** (optional): exponential patience; an abandoned message counts as a miss
  (the "offered" service level of :func:`scheduling.erlang.erlang_a`).

Conventions shared with the backlog model (docs/formats.md): a message counts as **answered
when an agent picks it up** (``response="completion"`` measures to the end of the handling
instead); the service level of a period counts the messages that *arrived* in it; the run
starts after a **warm-up week** (the horizon's first week replayed, so the backlog at the start
is realistic; ``warmup=False`` starts empty); messages still waiting at the end are *late* when
already past the deadline and *undetermined* (left out of every service level) otherwise.

Replications are reproducible: run ``r`` uses the ``r``-th child of ``SeedSequence(seed)``, so
a result does not depend on how many jobs ran in parallel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scheduling import _simkernel as kernel
from scheduling.backlog import concurrency_multiplier
from scheduling.opening_hours import OpeningHours, open_fraction, parse_opening_hours

__all__ = [
    "HANDLE_TIME_DISTRIBUTIONS",
    "MARGIN_KINDS",
    "MarginResult",
    "SimulationError",
    "SimulationResult",
    "simulate",
    "variability_margin",
]

HANDLE_TIME_DISTRIBUTIONS = ("exponential", "lognormal", "deterministic", "empirical", "replay")
RESPONSE = ("pickup", "completion")
_MINUTE_NS = 60 * 10**9


class SimulationError(ValueError):
    """Inputs the simulator cannot use (named: which argument, which interval)."""


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationResult:
    """Replications of one plan.

    Attributes
    ----------
    runs : pandas.DataFrame
        One row per replication: ``run``, ``arrivals`` (of the horizon), ``answered``
        (picked up), ``abandoned``, ``open_at_end`` (still waiting at the end), ``on_time``,
        ``late``, ``undetermined``, ``service_level`` (on time / decided),
        ``mean_response_minutes``, ``p90_response_minutes`` (of the answered messages, on the
        deadline's clock), ``peak_backlog`` (most messages waiting at once).
    days, weeks : pandas.DataFrame
        The same per replication and local day (``date``) or ISO week (``week``), counting the
        messages that arrived in the period; ``peak_backlog`` is the most waiting at an arrival
        in the period.
    intervals : pandas.DataFrame
        Mean over the replications per interval of the horizon: ``arrivals``, ``on_time``,
        ``late``, ``undetermined``, ``service_level`` (ratio of the means), ``slots``
        (productive conversation slots, mean).
    target : float or None
        Service-level target (fraction) the probabilities refer to by default.
    deadline_seconds : float
    clock, response : str
    settings : dict
        ``simulated_messages`` (warm-up included), ``channels``, ``runs``, ``seed``.
    channels : pandas.DataFrame
        Per replication and channel: ``arrivals``, ``on_time``, ``late``, ``abandoned``,
        ``service_level``, ``mean_response_minutes``.
    """

    runs: pd.DataFrame
    days: pd.DataFrame
    weeks: pd.DataFrame
    intervals: pd.DataFrame
    target: float | None
    deadline_seconds: float
    clock: str = "real"
    response: str = "pickup"
    settings: dict = field(default_factory=dict)
    channels: pd.DataFrame | None = None

    @property
    def mean_service_level(self) -> float:
        return float(self.runs["service_level"].mean())

    def probability(self, target: float | None = None, by: str = "run") -> float:
        """Share of replications (``by="run"``), of simulated weeks or days reaching the target."""
        target = self._target(target)
        table = {"run": self.runs, "week": self.weeks, "day": self.days}.get(by)
        if table is None:
            raise SimulationError("by must be 'run', 'week' or 'day'")
        sl = table["service_level"].dropna()
        return float((sl >= target - 1e-12).mean()) if len(sl) else float("nan")

    def quantile(self, q: float) -> float:
        """Quantile of the replications' service levels (0.1: reached in 9 of 10 runs)."""
        return float(self.runs["service_level"].quantile(q))

    def summary(self, target: float | None = None) -> str:
        """One line: mean SL, the spread, and the probability of reaching the target."""
        target = self._target(target)
        runs = self.runs
        sl = runs["service_level"]
        n = len(runs)
        if sl.isna().all():
            return f"{n} runs: no message arrived (or none was decided) within the horizon"
        reached = int((sl >= target - 1e-12).sum())
        text = (f"{n} runs: service level mean {sl.mean():.1%} (10th-90th percentile "
                f"{sl.quantile(0.1):.1%}-{sl.quantile(0.9):.1%}); the target of {target:.0%} within "
                f"{_fmt_seconds(self.deadline_seconds)} is reached in {reached} of {n} runs "
                f"(P = {reached / n:.2f})")
        if len(self.weeks) > n:
            text += f", in {self.probability(target, 'week'):.0%} of simulated weeks"
        return text

    def _target(self, target):
        target = self.target if target is None else float(target)
        if target is None:
            raise SimulationError("give a target (a fraction, e.g. 0.8)")
        if not 0 < target <= 1:
            raise SimulationError("target must be a fraction in (0, 1]")
        return target


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:g} min"


# --------------------------------------------------------------------------------------------
# Input preparation
# --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """Everything a replication needs, in seconds from the start of the run (warm-up first)."""

    channels: list
    iv_start: np.ndarray       # start [s] of every interval of the run (warm-up + horizon)
    iv_length: np.ndarray
    iv_volume: np.ndarray      # (n_intervals, n_channels)
    iv_horizon: np.ndarray     # horizon interval index (-1 in the warm-up)
    origin_ns: int             # UTC ns of t = 0
    horizon_start: float       # [s]
    t_end: float               # [s]
    minute_open: np.ndarray    # open flag of every minute of the run
    minute_row: np.ndarray     # staffing row of every minute of the run
    row_slots: np.ndarray      # expected productive slots of every staffing row
    index: pd.DatetimeIndex    # horizon intervals
    day_codes: np.ndarray
    day_labels: pd.DatetimeIndex
    week_codes: np.ndarray
    week_labels: pd.Index
    service_factor: float      # s(k): handle time multiplier at concurrency k


def _as_volume_frame(forecast) -> pd.DataFrame:
    if isinstance(forecast, pd.Series):
        if not isinstance(forecast.index, pd.DatetimeIndex):
            raise SimulationError("the volume Series must be indexed by interval start (DatetimeIndex)")
        frame = pd.DataFrame({"channel": "all", "ds": forecast.index, "volume": forecast.to_numpy(dtype=float)})
    elif isinstance(forecast, pd.DataFrame):
        frame = forecast.copy()
        if "volume" not in frame.columns and "yhat" in frame.columns:
            frame = frame.rename(columns={"yhat": "volume"})
        missing = [c for c in ("ds", "volume") if c not in frame.columns]
        if missing:
            raise SimulationError(f"the forecast needs the column(s) {', '.join(missing)}")
        if "channel" not in frame.columns:
            frame["channel"] = "all"
        frame = frame[["channel", "ds", "volume"]]
    else:
        raise SimulationError("the forecast must be a pandas Series or DataFrame (ds, volume[, channel])")
    ds = pd.DatetimeIndex(frame["ds"])
    if ds.tz is None:
        raise SimulationError("the forecast's ds must be time-zone aware (the team's zone)")
    vol = frame["volume"].to_numpy(dtype=float)
    if np.isnan(vol).any() or (vol < 0).any() or np.isinf(vol).any():
        raise SimulationError("the forecast volume must be finite numbers >= 0")
    return frame


def _grid(frame: pd.DataFrame, interval) -> tuple[pd.DatetimeIndex, pd.Timedelta, pd.DataFrame]:
    ds = pd.DatetimeIndex(frame["ds"])
    tz = ds.tz
    utc = ds.tz_convert("UTC").as_unit("ns")
    unique = np.unique(utc.asi8)
    if interval is None:
        if unique.size < 2:
            raise SimulationError("the forecast has one interval: give its length (interval=...)")
        step = int(np.diff(unique).min())
    else:
        step = int(pd.Timedelta(interval).value)
    if step <= 0 or step % _MINUTE_NS:
        raise SimulationError("the interval length must be a whole number of minutes")
    grid_ns = np.arange(unique[0], unique[-1] + step, step, dtype=np.int64)
    index = pd.DatetimeIndex(grid_ns.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    table = frame.assign(_ns=utc.asi8).pivot_table(index="_ns", columns="channel", values="volume", aggfunc="sum")
    table = table.reindex(grid_ns)
    if table.isna().any().any():
        channel = table.columns[table.isna().any().to_numpy()][0]
        gap = index[table[channel].isna().to_numpy()]
        raise SimulationError(f"the forecast of channel {channel!r} has no volume for {len(gap):,} interval(s) "
                              f"from {gap[0].isoformat()}: the intervals must be regular")
    return index, pd.Timedelta(step, unit="ns"), table


def _staffing_heads(staffing, index: pd.DatetimeIndex, step: pd.Timedelta):
    """Heads per staffing row and the UTC ns start of every row (a row holds until the next)."""
    if isinstance(staffing, pd.DataFrame) and {"start", "end"}.issubset(staffing.columns) and "agents" not in staffing.columns:
        try:
            from scheduling.roster.coverage import staffing_from_shifts
        except ModuleNotFoundError:
            raise SimulationError("a shift frame needs scheduling.roster.coverage (not installed): "
                                  "give heads per interval (ds, agents)") from None
        staffing = staffing_from_shifts(staffing, index)
    if isinstance(staffing, pd.Series):
        if not isinstance(staffing.index, pd.DatetimeIndex):
            raise SimulationError("the staffing Series must be indexed by interval start")
        staffing = pd.DataFrame({"ds": staffing.index, "agents": staffing.to_numpy(dtype=float)})
    elif isinstance(staffing, (int, float, np.number)):
        staffing = pd.DataFrame({"ds": index, "agents": float(staffing)})
    elif isinstance(staffing, np.ndarray):
        if staffing.shape != (len(index),):
            raise SimulationError(f"staffing has {staffing.size} values for {len(index)} intervals")
        staffing = pd.DataFrame({"ds": index, "agents": staffing.astype(float)})
    if not isinstance(staffing, pd.DataFrame) or not {"ds", "agents"}.issubset(staffing.columns):
        raise SimulationError("staffing must be a DataFrame with columns ds, agents (heads on duty per interval)")
    if "channel" in staffing.columns and staffing["channel"].nunique() > 1:
        raise SimulationError("staffing per channel: simulate each channel with its own staffing "
                              "(one team serves all channels of one simulation)")
    ds = pd.DatetimeIndex(staffing["ds"])
    if ds.tz is None:
        raise SimulationError("the staffing's ds must be time-zone aware")
    agents = staffing["agents"].to_numpy(dtype=float)
    if np.isnan(agents).any() or (agents < 0).any() or np.isinf(agents).any():
        raise SimulationError("staffing agents must be finite numbers >= 0")
    ns = ds.tz_convert("UTC").as_unit("ns").asi8
    order = np.argsort(ns, kind="stable")
    ns, agents = ns[order], agents[order]
    if (np.diff(ns) == 0).any():
        raise SimulationError("the staffing gives the same interval twice")
    row_step = int(np.diff(ns).min()) if ns.size > 1 else step.value
    first, last = index[0], index[-1] + step
    if ns[0] > first.value:
        raise SimulationError(f"the staffing starts at {_iso(ns[0], index.tz)}, after the forecast "
                              f"({first.isoformat()}): staffing is missing for the first intervals")
    if ns[-1] + row_step < last.value:
        missing = index[index.as_unit("ns").asi8 >= ns[-1] + row_step]
        raise SimulationError(f"the staffing has no rows for {len(missing):,} interval(s) of the forecast, from "
                              f"{missing[0].isoformat()}: give agents for every interval")
    return ns, agents


def _iso(ns, tz):
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").tz_convert(tz).isoformat()


def _prepare(forecast, staffing, *, opening, interval, shrinkage, concurrency, slowdown,
             max_occupancy, warmup) -> _Plan:
    frame = _as_volume_frame(forecast)
    index, step, table = _grid(frame, interval)
    tz = index.tz
    channels = [str(c) for c in table.columns]
    volume = table.to_numpy(dtype=float)
    n = len(index)
    step_s = step.total_seconds()

    if not 0 <= shrinkage < 1:
        raise SimulationError("shrinkage must be a fraction in [0, 1)")
    if not 0 < max_occupancy <= 1:
        raise SimulationError("max_occupancy must be in (0, 1]")
    if not concurrency >= 1:
        raise SimulationError("concurrency must be at least 1")
    multiplier = float(concurrency_multiplier(float(concurrency), slowdown))
    service_factor = float(concurrency) / multiplier

    row_ns, heads = _staffing_heads(staffing, index, step)
    row_slots = heads * (1.0 - shrinkage) * max_occupancy * float(concurrency)

    # Minute grid of the horizon: open flag and staffing row.
    h0 = int(index[0].value)
    minutes = int(round(n * step_s / 60))
    minute_ns = h0 + np.arange(minutes, dtype=np.int64) * _MINUTE_NS
    minute_index = pd.DatetimeIndex(minute_ns.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    if opening is None:
        minute_open = np.ones(minutes, dtype=bool)
    else:
        if isinstance(opening, str):
            opening = parse_opening_hours(opening)
        if not isinstance(opening, OpeningHours):
            raise SimulationError("opening must be OpeningHours, text or None")
        minute_open = open_fraction(minute_index, opening, freq="1min").to_numpy() >= 0.5
    minute_row = np.searchsorted(row_ns, minute_ns, side="right") - 1

    iv_length = np.full(n, step_s)
    iv_volume = volume
    iv_horizon = np.arange(n)
    warm_minutes = 0
    if warmup:
        week_end = index[0] + pd.DateOffset(days=7)
        first_week = int(index.searchsorted(week_end, side="left"))
        positions = np.arange(first_week) if first_week < n else np.tile(np.arange(n), max(1, math.ceil(7 * 86400 / (n * step_s))))
        per_iv = int(step_s // 60)
        warm_minute_pos = (positions[:, None] * per_iv + np.arange(per_iv)[None, :]).ravel()
        warm_minutes = warm_minute_pos.size
        minute_open = np.concatenate([minute_open[warm_minute_pos], minute_open])
        # warm-up rows get their own random rounding: ids shifted past the horizon's rows
        minute_row = np.concatenate([minute_row[warm_minute_pos] + row_ns.size, minute_row])
        row_slots = np.concatenate([row_slots, row_slots])
        iv_volume = np.concatenate([volume[positions], volume])
        iv_horizon = np.concatenate([np.full(positions.size, -1), iv_horizon])
        iv_length = np.full(iv_volume.shape[0], step_s)
    iv_start = np.concatenate([[0.0], np.cumsum(iv_length)[:-1]])
    horizon_start = warm_minutes * 60.0
    t_end = float(iv_start[-1] + iv_length[-1])

    local = index.tz_localize(None).normalize()
    day_codes, day_labels = pd.factorize(local, sort=True)
    iso = local.isocalendar()
    weeks = np.asarray([f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"])])
    week_codes, week_labels = pd.factorize(weeks, sort=True)
    return _Plan(channels, iv_start, iv_length, iv_volume, iv_horizon, h0 - warm_minutes * _MINUTE_NS,
                 horizon_start, t_end, minute_open, minute_row, row_slots, index,
                 day_codes, pd.DatetimeIndex(day_labels, name="date"), week_codes,
                 pd.Index(week_labels, name="week"), service_factor)


def _replay_arrivals(replay, plan: _Plan, tz):
    """Arrival instants [s of the run], channel codes and handle times of a replayed history."""
    if isinstance(replay, pd.Series):
        replay = pd.DataFrame({"ts": replay.to_numpy()})
    if isinstance(replay, pd.DatetimeIndex):
        replay = pd.DataFrame({"ts": replay})
    if not isinstance(replay, pd.DataFrame):
        raise SimulationError("replay must be message timestamps (DataFrame with ts[, channel, handle_time_seconds])")
    column = next((c for c in ("ts", "created_at", "ds", "timestamp") if c in replay.columns), None)
    if column is None:
        raise SimulationError("the replayed history needs a timestamp column (ts or created_at)")
    ts = pd.DatetimeIndex(replay[column])
    if ts.tz is None:
        raise SimulationError("the replayed timestamps must be time-zone aware")
    ns = ts.tz_convert("UTC").as_unit("ns").asi8
    t = (ns - plan.origin_ns) / 1e9
    keep = (t >= plan.horizon_start) & (t < plan.t_end)
    if "channel" in replay.columns and plan.channels != ["all"]:
        names = replay["channel"].astype(str).str.lower().to_numpy()
        lookup = {c: i for i, c in enumerate(plan.channels)}
        code = np.array([lookup.get(c, -1) for c in names])
        keep &= code >= 0
    else:
        code = np.zeros(len(replay), dtype=np.int64)
    handle = (replay["handle_time_seconds"].to_numpy(dtype=float)
              if "handle_time_seconds" in replay.columns else None)
    t, code = t[keep], code[keep]
    handle = handle[keep] if handle is not None else None
    if t.size == 0:
        raise SimulationError("the replayed history holds no message inside the forecast's horizon")
    if plan.horizon_start > 0:  # warm-up: the first week of the replay moved back by its length
        first = t < 2 * plan.horizon_start
        t = np.concatenate([t[first] - plan.horizon_start, t])
        code = np.concatenate([code[first], code])
        if handle is not None:
            handle = np.concatenate([handle[first], handle])
    order = np.argsort(t, kind="stable")
    return t[order], code[order], (handle[order] if handle is not None else None)


# --------------------------------------------------------------------------------------------
# One replication
# --------------------------------------------------------------------------------------------


@dataclass
class _Spec:
    aht: np.ndarray                # per channel [s], at concurrency 1
    handle_time: str
    handle_cv: float
    handle_samples: list | None    # per channel arrays (empirical)
    patience: float | None
    burstiness: float
    burst_intervals: int
    profile: np.ndarray | None
    replay: tuple | None
    priority_rank: np.ndarray | None
    deadline: float
    clock: str
    response: str


def _draw_arrivals(plan: _Plan, spec: _Spec, rng):
    if spec.replay is not None:
        t, code, handle = spec.replay
        return t, code, handle
    volume = plan.iv_volume
    if spec.burstiness > 0:
        n_iv = volume.shape[0]
        blocks = np.arange(n_iv) // spec.burst_intervals
        shape = 1.0 / spec.burstiness
        factor = rng.gamma(shape, spec.burstiness, size=(blocks[-1] + 1, volume.shape[1]))
        volume = volume * factor[blocks]
    # Per interval: a Poisson count of all channels, the instants as sorted uniforms (spacings
    # of exponentials: no sort needed), each message's channel drawn by the channels' shares.
    per_iv = volume.sum(axis=1)
    counts = rng.poisson(per_iv)
    total = int(counts.sum())
    iv = np.repeat(np.arange(counts.size), counts)
    gaps = rng.exponential(1.0, total + counts.size)
    slot = np.arange(total) + iv                       # position of each message among the gaps
    cum = np.cumsum(gaps)
    ends = np.cumsum(counts + 1) - 1                   # the closing gap of every interval
    before = np.concatenate([[0.0], cum[ends[:-1]]])
    u = (cum[slot] - before[iv]) / (cum[ends] - before)[iv]
    if spec.profile is not None:
        weights = spec.profile / spec.profile.sum()
        edges = np.concatenate([[0.0], np.cumsum(weights)])
        part = np.clip(np.searchsorted(edges, u, side="right") - 1, 0, weights.size - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = np.where(weights[part] > 0, (u - edges[part]) / weights[part], 0.0)
        u = (part + np.clip(inside, 0.0, 1.0)) / weights.size
    t = plan.iv_start[iv] + u * plan.iv_length[iv]
    if volume.shape[1] == 1:
        code = np.zeros(total, dtype=np.int64)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.cumsum(volume, axis=1) / np.where(per_iv > 0, per_iv, 1.0)[:, None]
        draw = rng.random(total)
        code = (draw[:, None] >= share[iv]).sum(axis=1)
        code = np.minimum(code, volume.shape[1] - 1).astype(np.int64)
    return t, code, None


def _draw_handle(spec: _Spec, code, replayed, rng):
    n = code.size
    mean = spec.aht[code]
    kind = spec.handle_time
    if kind == "replay":
        if replayed is None:
            raise SimulationError("handle_time='replay' needs handle_time_seconds in the replayed history")
        h = replayed.copy()
        bad = ~np.isfinite(h) | (h <= 0)
        h[bad] = mean[bad]
        return h
    if kind == "exponential":
        return rng.exponential(1.0, n) * mean
    if kind == "deterministic":
        return mean.copy()
    if kind == "lognormal":
        sigma2 = math.log(1.0 + spec.handle_cv ** 2)
        return mean * np.exp(rng.normal(-0.5 * sigma2, math.sqrt(sigma2), n))
    # empirical
    out = np.empty(n)
    for c, samples in enumerate(spec.handle_samples):
        pick = code == c
        out[pick] = samples[rng.integers(0, samples.size, int(pick.sum()))]
    return out


def _slots_schedule(plan: _Plan, rng):
    """Breakpoints [s] and whole slots: each staffing row rounded at random (mean kept)."""
    expected = plan.row_slots
    whole = np.floor(expected)
    rounded = (whole + (rng.random(expected.size) < expected - whole)).astype(np.int64)
    per_minute = np.where(plan.minute_open, rounded[plan.minute_row], 0)
    change = np.flatnonzero(np.diff(per_minute)) + 1
    starts = np.concatenate([[0], change])
    return starts * 60.0, per_minute[starts].astype(np.int64), per_minute


def _business_clock(plan: _Plan):
    cum = np.concatenate([[0.0], np.cumsum(plan.minute_open * 60.0)])
    bounds = np.arange(cum.size) * 60.0
    return lambda t: np.interp(t, bounds, cum)


def _quantile(values, q):
    """numpy's default (linear) quantile by partition, without the generic machinery."""
    pos = q * (values.size - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, (lo, hi)) if hi != lo else np.partition(values, lo)
    return part[lo] + (pos - lo) * (part[hi] - part[lo])


def _one_run(plan: _Plan, spec: _Spec, seed_seq, run_id):
    rng = np.random.default_rng(seed_seq)
    t, code, replayed = _draw_arrivals(plan, spec, rng)
    n = t.size
    handle = _draw_handle(spec, code, replayed, rng) * plan.service_factor
    patience = (rng.exponential(spec.patience, n) if spec.patience is not None else np.full(n, np.inf))
    if spec.priority_rank is None:
        order = np.arange(n, dtype=np.int64)
        bounds = np.array([0, n], dtype=np.int64)
    else:
        rank = spec.priority_rank[code]
        order = np.argsort(rank, kind="stable").astype(np.int64)
        bounds = np.searchsorted(rank[order], np.arange(rank.max() + 2)).astype(np.int64) if n else np.array([0, 0], dtype=np.int64)
    bp_time, bp_slots, per_minute = _slots_schedule(plan, rng)
    start, abandoned = kernel.run_queue(t, handle, patience, order, bounds, bp_time, bp_slots, plan.t_end)

    picked = ~np.isnan(start)
    removal = np.where(picked, start, np.where(abandoned, t + patience, np.inf))
    waiting = kernel.waiting_after_arrivals(t, np.sort(removal))

    # Response times on the deadline's clock.
    done_at = start + handle if spec.response == "completion" else start
    if spec.clock == "business":
        clock = _business_clock(plan)
        wait = clock(np.where(picked, done_at, plan.t_end)) - clock(t)
    else:
        wait = np.where(picked, done_at, plan.t_end) - t
    limit = spec.deadline * (1 + 1e-12) + 1e-9
    on_time = picked & (wait <= limit)
    open_end = ~picked & ~abandoned
    late = (picked & ~on_time) | abandoned | (open_end & (wait > limit))
    undetermined = open_end & ~late

    # Horizon messages only (in arrival order, so days, weeks and intervals are contiguous runs).
    iv_all = np.clip(np.searchsorted(plan.iv_start, t, side="right") - 1, 0, plan.iv_start.size - 1)
    hz = plan.iv_horizon[iv_all]
    keep = hz >= 0
    hz = hz[keep]
    n_iv = len(plan.index)
    flags = {"answered": picked[keep], "abandoned": abandoned[keep], "open_at_end": open_end[keep],
             "on_time": on_time[keep], "late": late[keep], "undetermined": undetermined[keep]}
    cumulative = {k: np.concatenate([[0], np.cumsum(v, dtype=np.int64)]) for k, v in flags.items()}
    answered_wait = np.where(picked, wait, np.nan)[keep]
    peak = waiting[keep]
    iv_bounds = np.searchsorted(hz, np.arange(n_iv + 1))

    def table(codes, n_groups):
        """Per period (``codes``: period of every horizon interval, nondecreasing)."""
        first_iv = np.searchsorted(codes, np.arange(n_groups + 1))
        b = iv_bounds[first_iv]
        out = {"arrivals": np.diff(b).astype(float)}
        for k, cs in cumulative.items():
            out[k] = (cs[b[1:]] - cs[b[:-1]]).astype(float)
        decided = out["on_time"] + out["late"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["service_level"] = np.where(decided > 0, out["on_time"] / decided, np.nan)
        mean = np.full(n_groups, np.nan)
        p90 = np.full(n_groups, np.nan)
        top = np.zeros(n_groups)
        for g in range(n_groups):
            lo, hi = b[g], b[g + 1]
            if hi <= lo:
                continue
            top[g] = peak[lo:hi].max()
            w = answered_wait[lo:hi]
            w = w[~np.isnan(w)]
            if w.size:
                mean[g] = w.mean() / 60
                p90[g] = _quantile(w, 0.9) / 60
        out["mean_response_minutes"] = mean
        out["p90_response_minutes"] = p90
        out["peak_backlog"] = top
        return out

    total = table(np.zeros(n_iv, dtype=np.int64), 1)
    run_row = {"run": run_id, **{k: v[0] for k, v in total.items()}}
    days = table(plan.day_codes, len(plan.day_labels))
    weeks = table(plan.week_codes, len(plan.week_labels))
    iv_counts = np.stack([np.diff(iv_bounds).astype(float)]
                         + [(cumulative[k][iv_bounds[1:]] - cumulative[k][iv_bounds[:-1]]).astype(float)
                            for k in ("on_time", "late", "undetermined")])
    horizon_minutes = per_minute[int(plan.horizon_start // 60):]
    per_iv = horizon_minutes.reshape(n_iv, -1).mean(axis=1)
    codes = code[keep]
    n_ch = len(plan.channels)
    ok = ~np.isnan(answered_wait)
    per_channel = {
        "arrivals": np.bincount(codes, minlength=n_ch).astype(float),
        "on_time": np.bincount(codes, flags["on_time"], minlength=n_ch),
        "late": np.bincount(codes, flags["late"], minlength=n_ch),
        "abandoned": np.bincount(codes, flags["abandoned"], minlength=n_ch),
        "_answered": np.bincount(codes[ok], minlength=n_ch).astype(float),
        "_wait": np.bincount(codes[ok], answered_wait[ok], minlength=n_ch),
    }
    return run_row, days, weeks, iv_counts, per_iv, n, per_channel


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def simulate(forecast, staffing, *, aht_seconds, deadline, runs=100, seed=0, opening=None,
             interval=None, shrinkage=0.0, concurrency=1.0, slowdown=None, max_occupancy=1.0,
             handle_time="exponential", handle_cv=1.0, handle_samples=None, patience_seconds=None,
             burstiness=0.0, burst_block=None, profile=None, replay=None, priority=None,
             clock="real", response="pickup", warmup=True, target=None, n_jobs=1) -> SimulationResult:
    r"""
    Simulate a staffing plan many times: the distribution of the service level and response times.

    Parameters
    ----------
    forecast : pandas.DataFrame or pandas.Series
        Volume per interval: columns ``ds`` (tz-aware interval start), ``volume`` (or ``yhat``)
        and optionally ``channel``; or a Series indexed by ``ds``. Intervals regular (15 min to
        1 h; the 23- and 25-hour days are just fewer or more intervals). With ``replay`` the
        volumes are not used for arrivals, only the grid (the horizon and the reports).
    staffing : pandas.DataFrame, pandas.Series, array or number
        Heads on duty: ``ds, agents`` (contract E; a row holds until the next, the last for one
        step; every interval of the forecast must be covered), a Series indexed by ``ds``, one
        value per forecast interval, one number for all, or a roster's shift frame (``start,
        end, break_start, break_end[, count]``).
    aht_seconds : float or dict
        Mean handle time of one message at concurrency 1 [s]; a dict gives it per channel.
    deadline : pandas.Timedelta, str or float
        The response-time deadline (a number is seconds).
    runs : int
        Replications, >= 1.
    seed : int
        Seed of the replications (run r uses child r of ``numpy.random.SeedSequence(seed)``).
    opening : OpeningHours, str or None
        Opening hours (None: around the clock).
    interval : pandas.Timedelta, optional
        The forecast's interval length when it cannot be seen from the timestamps.
    shrinkage : float
        Share of the heads not available, [0, 1).
    concurrency : float
        Conversations an agent holds at once, >= 1 (fractional: rounded at random per interval).
    slowdown : callable, float or None
        Handle-time growth with concurrency, as in :func:`scheduling.backlog.concurrency_multiplier`.
    max_occupancy : float
        Productive occupancy cap in (0, 1]: that share of the slots works on messages.
    handle_time : {"exponential", "lognormal", "deterministic", "empirical", "replay"}
        Distribution of the handle times (mean ``aht_seconds``); ``"empirical"`` draws from
        ``handle_samples`` (an array, or a dict per channel); ``"replay"`` uses the replayed
        history's ``handle_time_seconds``.
    handle_cv : float
        Coefficient of variation of the lognormal handle times.
    patience_seconds : float, optional
        Mean (exponential) patience: a message not picked up in time abandons and counts as a
        miss. None: nobody abandons.
    burstiness : float
        Variance d of a gamma factor (mean 1) on the volume of each block of time: the count of
        a block with volume v then has variance v + d v^2 (peakedness 1 + d v). 0: Poisson.
    burst_block : pandas.Timedelta, optional
        Length of the blocks sharing one factor (default: one interval).
    profile : array_like, optional
        Relative arrival intensity over equal parts of every interval (e.g. 4 quarter-hour
        weights for an hourly forecast); default even.
    replay : pandas.DataFrame, optional
        A real history, one row per message: ``ts`` (or ``created_at``; tz-aware), optional
        ``channel`` and ``handle_time_seconds``. Its messages inside the horizon are the arrivals.
    priority : list of str, optional
        Channels in priority order (each its own FIFO queue); None: one FIFO queue for all.
    clock : {"real", "business"}
        Deadline clock.
    response : {"pickup", "completion"}
        When a message counts as answered: at pick-up (default, as the backlog model) or when
        its handling ends.
    warmup : bool
        Start after a warm-up week (the horizon's first week replayed), as the backlog model.
    target : float, optional
        Service-level target (fraction) for the probabilities of the result.
    n_jobs : int
        Replications run in parallel threads (joblib); the result does not depend on it.

    Returns
    -------
    SimulationResult

    References
    ----------
    .. [1] The project's THEORY.md, sections 3-4 (fluid model checked by simulation).
    .. [2] W. Whitt, "Staffing a call center with uncertain arrival rate and absenteeism",
       Production and Operations Management 15(1):88-102, 2006 (doubly-stochastic arrivals).
    .. [3] J. Atlason, M. A. Epelman and S. G. Henderson, Annals of Operations Research
       127:333-358, 2004 (simulation of time-varying staffing plans).
    """
    if int(runs) != runs or runs < 1:
        raise SimulationError(f"runs must be a whole number >= 1, got {runs!r}")
    runs = int(runs)
    deadline_s = _deadline_seconds(deadline)
    if handle_time not in HANDLE_TIME_DISTRIBUTIONS:
        raise SimulationError(f"handle_time must be one of {', '.join(HANDLE_TIME_DISTRIBUTIONS)}")
    if clock not in ("real", "business"):
        raise SimulationError("clock must be 'real' or 'business'")
    if response not in RESPONSE:
        raise SimulationError("response must be 'pickup' or 'completion'")
    if not burstiness >= 0 or not math.isfinite(burstiness):
        raise SimulationError("burstiness must be >= 0")
    if patience_seconds is not None and not patience_seconds > 0:
        raise SimulationError("patience must be longer than 0")
    if handle_time == "lognormal" and not handle_cv > 0:
        raise SimulationError("handle_cv must be > 0")
    if target is not None and not 0 < target <= 1:
        raise SimulationError("target must be a fraction in (0, 1]")

    plan = _prepare(forecast, staffing, opening=opening, interval=interval, shrinkage=shrinkage,
                    concurrency=concurrency, slowdown=slowdown, max_occupancy=max_occupancy, warmup=warmup)
    channels = plan.channels
    if isinstance(aht_seconds, dict):
        missing = [c for c in channels if c not in aht_seconds]
        if missing:
            raise SimulationError(f"no handle time for channel(s) {', '.join(missing)}")
        aht = np.array([float(aht_seconds[c]) for c in channels])
    else:
        aht = np.full(len(channels), float(aht_seconds))
    if not (aht > 0).all() or not np.isfinite(aht).all():
        raise SimulationError("the handle time (aht) must be longer than 0")
    samples = None
    if handle_time == "empirical":
        if handle_samples is None:
            raise SimulationError("handle_time='empirical' needs handle_samples")
        per = handle_samples if isinstance(handle_samples, dict) else {c: handle_samples for c in channels}
        samples = []
        for c in channels:
            if c not in per:
                raise SimulationError(f"no handle-time samples for channel {c}")
            arr = np.asarray(per[c], dtype=float)
            arr = arr[np.isfinite(arr) & (arr > 0)]
            if arr.size == 0:
                raise SimulationError(f"no positive handle-time samples for channel {c}")
            samples.append(arr)
    rank = None
    if priority is not None:
        order = [str(c).lower() for c in priority]
        unknown = [c for c in channels if c not in order]
        if unknown:
            raise SimulationError(f"channel(s) {', '.join(unknown)} missing from the priority order")
        rank = np.array([order.index(c) for c in channels], dtype=np.int64)
        _, rank = np.unique(rank, return_inverse=True)
    step_s = float(plan.iv_length[0])
    burst_intervals = 1
    if burst_block is not None:
        burst_intervals = max(1, int(round(pd.Timedelta(burst_block).total_seconds() / step_s)))
    prof = None
    if profile is not None:
        prof = np.asarray(profile, dtype=float).ravel()
        if prof.size == 0 or (prof < 0).any() or not prof.sum() > 0 or not np.isfinite(prof).all():
            raise SimulationError("the intra-interval profile must be weights >= 0 with a positive sum")
    replayed = _replay_arrivals(replay, plan, plan.index.tz) if replay is not None else None
    spec = _Spec(aht, handle_time, float(handle_cv), samples, patience_seconds, float(burstiness),
                 burst_intervals, prof, replayed, rank, deadline_s, clock, response)

    seeds = np.random.SeedSequence(seed).spawn(runs)
    if n_jobs == 1:
        outs = [_one_run(plan, spec, s, r) for r, s in enumerate(seeds)]
    else:
        from joblib import Parallel, delayed

        outs = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(_one_run)(plan, spec, s, r) for r, s in enumerate(seeds))
    run_rows = pd.DataFrame([o[0] for o in outs])
    for col in ("arrivals", "answered", "abandoned", "open_at_end", "on_time", "late", "undetermined", "peak_backlog"):
        run_rows[col] = run_rows[col].astype(np.int64)

    def stack(position, label_name, labels):
        n_labels = len(labels)
        frame = pd.DataFrame({"run": np.repeat(np.arange(runs), n_labels),
                              label_name: np.tile(np.asarray(labels), runs)})
        for key in outs[0][position]:
            frame[key] = np.concatenate([o[position][key] for o in outs])
        return frame

    days = stack(1, "date", plan.day_labels)
    days["date"] = pd.DatetimeIndex(np.tile(plan.day_labels.to_numpy(), runs))
    weeks = stack(2, "week", plan.week_labels)
    by_channel = stack(6, "channel", plan.channels)
    counted = ["arrivals", "answered", "abandoned", "open_at_end", "on_time", "late", "undetermined", "peak_backlog"]
    for frame in (days, weeks, by_channel):
        for col in counted:
            if col in frame.columns:
                frame[col] = frame[col].astype(np.int64)
    decided = by_channel["on_time"] + by_channel["late"]
    by_channel["service_level"] = (by_channel["on_time"] / decided.where(decided > 0)).astype(float)
    answered = by_channel.pop("_answered")
    by_channel["mean_response_minutes"] = (by_channel.pop("_wait") / answered.where(answered > 0)).astype(float) / 60
    counts = np.mean([o[3] for o in outs], axis=0)
    slots = np.mean([o[4] for o in outs], axis=0)
    decided = counts[1] + counts[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        sl = np.where(decided > 0, counts[1] / decided, np.nan)
    intervals = pd.DataFrame({"arrivals": counts[0], "on_time": counts[1], "late": counts[2],
                              "undetermined": counts[3], "service_level": sl, "slots": slots}, index=plan.index)
    intervals.index.name = "ds"
    settings = {"simulated_messages": int(sum(o[5] for o in outs)), "channels": channels, "runs": runs, "seed": seed}
    return SimulationResult(run_rows, days, weeks, intervals, target, deadline_s, clock, response, settings,
                            by_channel)


def _deadline_seconds(deadline) -> float:
    if isinstance(deadline, (int, float, np.number)) and not isinstance(deadline, bool):
        value = float(deadline)
    else:
        try:
            value = pd.Timedelta(deadline).total_seconds()
        except (TypeError, ValueError):
            raise SimulationError(f"cannot read deadline {deadline!r} as a duration") from None
    if not value > 0 or not math.isfinite(value):
        raise SimulationError("the deadline must be longer than 0")
    return value


# --------------------------------------------------------------------------------------------
# Variability margin: what the fluid plan needs to reach the target in simulation
# --------------------------------------------------------------------------------------------

MARGIN_KINDS = ("occupancy", "target", "agents", "sqrt")


@dataclass(frozen=True)
class MarginResult:
    """The smallest variability margin found by :func:`variability_margin`.

    Attributes
    ----------
    kind : str
        ``"occupancy"``: plan with the productive occupancy cap ``planning_value`` (the margin
        is 1 - cap, the share of capacity kept free for random peaks); ``"target"``: plan for the
        target ``planning_value`` (margin in points of target); ``"agents"``: add ``margin``
        whole agents to every bucket the plan staffs.
    margin : float or None
        The margin (None: no value on the grid reached the target).
    planning_value : float or None
        The occupancy cap, planning target or extra agents to plan with.
    agents : pandas.Series or None
        The plan with the margin (productive agents per bucket).
    simulation : SimulationResult or None
        Its simulation.
    trials : pandas.DataFrame
        Every value tried: ``value``, ``fluid_service_level``, ``simulated_service_level``,
        ``probability`` (share of runs reaching the target), ``agent_hours``, ``reached``.
    """

    kind: str
    margin: float | None
    planning_value: float | None
    agents: pd.Series | None
    simulation: SimulationResult | None
    trials: pd.DataFrame

    @property
    def found(self) -> bool:
        return self.margin is not None


def variability_margin(volume: pd.Series, opening=None, *, aht_seconds, deadline, target,
                       kind="occupancy", confidence=None, runs=40, seed=0, period="day",
                       concurrency=1.0, slowdown=None, max_occupancy=1.0, clock="real",
                       min_agents=1, grid=None, **simulation_options) -> MarginResult:
    r"""
    The smallest margin on the backlog model's plan that still reaches the target in simulation.

    The fluid backlog model is a mean-value model: its cheapest plan lets the backlog sit just
    under the deadline and runs the team at full occupancy, which random arrivals and handle
    times turn into far lower service levels (on a week of the sample's WhatsApp channel: 81% in
    the model, 34% in simulation). This function plans with
    :func:`scheduling.backlog.required_staffing` under a margin, simulates the plan
    (:func:`simulate`, the same seed for every trial: common random numbers) and returns the
    smallest margin on the grid that reaches the target.

    Parameters
    ----------
    volume : pandas.Series
        Messages per bucket (tz-aware, regular; e.g. the forecast spread over 15 minutes).
    opening : OpeningHours, str or None
        Opening hours (used by the plan and the simulation alike).
    aht_seconds, deadline, target, period, concurrency, slowdown, clock, min_agents
        As in :func:`scheduling.backlog.required_staffing` (``target`` a fraction).
    kind : {"occupancy", "target", "agents"}
        The margin: a lower productive occupancy cap in the plan (default; the grid 0.95, 0.90,
        ... 0.50 below ``max_occupancy``), a higher planning target (+1 point steps up to the
        ceiling of the opening hours), whole agents added to every staffed bucket (1 .. 10), or
        a square-root safety term ceil(beta sqrt(R)) added to every staffed bucket (beta 0.25,
        0.5, ... 3; R = volume x AHT / (bucket length x concurrency multiplier)).
    confidence : float, optional
        Reached when the share of runs whose service level reaches the target is at least this
        (0.9: "in 9 of 10 weeks"); None (default): when the mean simulated service level does.
    runs, seed
        Replications per trial and their seed.
    max_occupancy : float
        The occupancy the agents really work at (the simulation's); the occupancy margin plans
        below it.
    grid : sequence of float, optional
        The values to try instead of the default grid (caps, targets or agent counts).
    **simulation_options
        Passed to :func:`simulate` (``handle_time``, ``burstiness``, ``patience_seconds`` ...).

    Returns
    -------
    MarginResult

    References
    ----------
    .. [1] The project's THEORY.md, section 3 (check the fluid model by simulation, add a
       variability margin).
    .. [2] B. He, Y. Liu and W. Whitt, "Staffing a service system with non-Poisson non-stationary
       arrivals", Probability in the Engineering and Informational Sciences 30(4):593-621, 2016.
    """
    from scheduling.backlog import required_staffing, service_level_ceiling

    if kind not in MARGIN_KINDS:
        raise SimulationError(f"kind must be one of {', '.join(MARGIN_KINDS)}")
    if not 0 < target <= 1:
        raise SimulationError("target must be a fraction in (0, 1]")
    if confidence is not None and not 0 < confidence <= 1:
        raise SimulationError("confidence must be a fraction in (0, 1]")
    deadline_td = pd.Timedelta(seconds=_deadline_seconds(deadline))
    if isinstance(opening, str):
        opening = parse_opening_hours(opening)
    if opening is not None and not isinstance(opening, OpeningHours):
        raise SimulationError("opening must be OpeningHours, text or None")
    common = dict(aht_seconds=aht_seconds, deadline=deadline_td, period=period, concurrency=concurrency,
                  slowdown=slowdown, clock=clock, min_agents=min_agents)
    if grid is None:
        if kind == "occupancy":
            grid = [round(max_occupancy - 0.05 * i, 2) for i in range(0, 11) if max_occupancy - 0.05 * i >= 0.5 - 1e-9]
        elif kind == "target":
            ceiling = service_level_ceiling(volume, opening, deadline=deadline_td, clock=clock)
            top = min(ceiling, 1.0)
            grid = [target + 0.01 * i for i in range(0, 100) if target + 0.01 * i <= top + 1e-9]
        elif kind == "agents":
            grid = list(range(0, 11))
        else:
            grid = [0.25 * i for i in range(0, 13)]
    bucket_seconds = (volume.index[1] - volume.index[0]).total_seconds() if len(volume) > 1 else 900.0
    offered = (volume.to_numpy(dtype=float) * np.asarray(aht_seconds, dtype=float)
               / (bucket_seconds * float(concurrency_multiplier(float(concurrency), slowdown))))
    rows, chosen = [], None
    for value in grid:
        if kind == "occupancy":
            plan = required_staffing(volume, opening, target=target, max_occupancy=float(value), **common)
            agents = plan.agents
        elif kind == "target":
            plan = required_staffing(volume, opening, target=float(value), max_occupancy=max_occupancy, **common)
            agents = plan.agents
        else:
            if not rows:
                base = required_staffing(volume, opening, target=target, max_occupancy=max_occupancy, **common)
            plan = base
            if base.agents is None:
                agents = None
            elif kind == "agents":
                agents = base.agents + (base.agents > 0) * int(value)
            else:
                agents = base.agents + (base.agents > 0) * np.ceil(float(value) * np.sqrt(offered) - 1e-9)
        if agents is None:
            rows.append({"value": value, "fluid_service_level": np.nan, "simulated_service_level": np.nan,
                         "probability": np.nan, "agent_hours": np.nan, "reached": False})
            continue
        sim = simulate(volume, agents, aht_seconds=aht_seconds, deadline=deadline_td, runs=runs, seed=seed,
                       opening=opening, concurrency=concurrency, slowdown=slowdown, max_occupancy=max_occupancy,
                       clock=clock, target=target, **simulation_options)
        p = sim.probability(target)
        reached = (p >= confidence) if confidence is not None else sim.mean_service_level >= target - 1e-12
        fluid_sl = plan.evaluation.service_level if plan.evaluation is not None else np.nan
        hours = float(agents.sum() * (volume.index[1] - volume.index[0]).total_seconds() / 3600) if len(agents) > 1 else np.nan
        rows.append({"value": value, "fluid_service_level": fluid_sl, "simulated_service_level": sim.mean_service_level,
                     "probability": p, "agent_hours": hours, "reached": bool(reached)})
        if reached:
            chosen = (value, agents, sim)
            break
    trials = pd.DataFrame(rows)
    if chosen is None:
        return MarginResult(kind, None, None, None, None, trials)
    value, agents, sim = chosen
    margin = {"occupancy": max_occupancy - value, "target": value - target, "agents": float(value),
              "sqrt": float(value)}[kind]
    return MarginResult(kind, float(margin), float(value), agents, sim, trials)
