"""From a forecast to required agents per interval: the pipeline behind ``webcare staff``.

Two families of models:

* ``backlog`` (default, for asynchronous channels): the fluid FIFO model of
  :mod:`scheduling.backlog` over 15-minute buckets. The forecast volume of each interval is spread
  evenly over its buckets; the backlog is carried across intervals, closed hours and days; the
  target applies per local day (or week, or bucket). Requirements are reported per bucket.
* ``erlang-c`` / ``erlang-a`` (for live channels with short thresholds): steady-state formulas of
  :mod:`scheduling.erlang`, interval by interval of the forecast. While the team is closed no
  agents are planned and the interval's service level is not defined (empty).

``agents_required`` are productive agents (the smallest whole number that meets the targets);
``agents_scheduled`` are heads on the roster after shrinkage: ceil(required / (1 - shrinkage)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scheduling import backlog as fluid
from scheduling import erlang
from scheduling.opening_hours import OpeningHours, open_fraction

MODELS = ("backlog", "erlang-c", "erlang-a")
BUCKET = pd.Timedelta("15min")
COLUMNS = ["ds", "channel", "volume", "agents_required", "agents_scheduled", "service_level", "backlog", "asa_seconds"]


@dataclass(frozen=True)
class ServiceTarget:
    """What the team promises and how it works; validated on creation.

    target : share within the deadline, (0, 1] (the command line takes a percentage).
    within : the deadline (``pd.Timedelta``).
    aht_seconds : handle time of one message [s].
    """

    target: float
    within: pd.Timedelta
    aht_seconds: float
    model: str = "backlog"
    concurrency: float = 1.0
    shrinkage: float = 0.0
    max_occupancy: float = 1.0
    patience_seconds: float | None = None
    period: str = "day"
    clock: str = "real"
    min_agents: int = 1

    def __post_init__(self):
        problems = []
        if not 0 < self.target <= 1:
            problems.append(f"target {self.target * 100:g}% is outside (0, 100]")
        if not pd.Timedelta(self.within) > pd.Timedelta(0):
            problems.append("the deadline (--within) must be longer than 0")
        if not self.aht_seconds > 0:
            problems.append("the handle time (--aht) must be longer than 0")
        if self.model not in MODELS:
            problems.append(f"unknown model {self.model!r}: use {', '.join(MODELS)}")
        if not self.concurrency >= 1:
            problems.append("concurrency must be at least 1")
        if not 0 <= self.shrinkage < 1:
            problems.append("shrinkage must be a fraction in [0, 1), e.g. 0.3")
        if not 0 < self.max_occupancy <= 1:
            problems.append("maximum occupancy must be a fraction in (0, 1], e.g. 0.85")
        if self.model == "erlang-a" and not (self.patience_seconds or 0) > 0:
            problems.append("erlang-a needs the customers' mean patience (--patience), e.g. 10m")
        if self.period not in ("day", "week", "bucket"):
            problems.append(f"unknown target period {self.period!r}: use day, week or bucket")
        if self.clock not in ("real", "business"):
            problems.append(f"unknown clock {self.clock!r}: use real or business")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass
class Requirements:
    """Per interval (``table``, the columns of ``COLUMNS``) and the explanation per channel."""

    table: pd.DataFrame
    explanations: dict[str, str] = field(default_factory=dict)
    reachable: dict[str, bool] = field(default_factory=dict)
    days: dict[str, pd.DataFrame] = field(default_factory=dict)


def schedule_heads(agents_required: np.ndarray, shrinkage: float) -> np.ndarray:
    """Heads on the roster for ``agents_required`` productive agents: ceil(required / (1 - shrinkage))."""
    required = np.asarray(agents_required, dtype=float)
    return np.ceil(required / (1.0 - shrinkage) - 1e-9).astype(int)


def to_buckets(volume: pd.Series, interval: pd.Timedelta, bucket: pd.Timedelta = BUCKET) -> pd.Series:
    """Spread each interval's volume evenly over its ``bucket``-long parts (index: tz-aware starts)."""
    index = pd.DatetimeIndex(volume.index)
    freq = pd.Timedelta(interval)
    if freq < bucket or freq % bucket != pd.Timedelta(0):
        raise ValueError(f"the forecast interval ({freq}) must be a multiple of {bucket}")
    parts = int(freq / bucket)
    start_ns = index.tz_convert("UTC").as_unit("ns").asi8
    offsets = np.arange(parts, dtype=np.int64) * bucket.value
    stamps = (start_ns[:, None] + offsets[None, :]).ravel()
    values = np.repeat(volume.to_numpy(dtype=float) / parts, parts)
    out_index = pd.DatetimeIndex(stamps.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(index.tz)
    return pd.Series(values, index=out_index, name=volume.name)


def interval_of(index: pd.DatetimeIndex, given: pd.Timedelta | None = None) -> pd.Timedelta:
    """The length of a forecast's intervals: ``given``, or the smallest step between them."""
    if given is not None:
        return pd.Timedelta(given)
    step = pd.Series(pd.DatetimeIndex(index)).diff().dropna()
    step = step[step > pd.Timedelta(0)]
    if step.empty:
        raise ValueError("the forecast has one interval per channel: give its length (--freq), e.g. 30min")
    return step.min()


def _erlang_inputs(volume: pd.Series, target: ServiceTarget, interval: pd.Timedelta) -> tuple[np.ndarray, float, float]:
    """Offered load per interval [Erlang], effective handle time [s] and threshold [s]; an agent
    holding several conversations at once serves them faster in total (not k times)."""
    speedup = fluid.concurrency_multiplier(target.concurrency)
    load = volume.to_numpy(dtype=float) * target.aht_seconds / interval.total_seconds() / speedup
    return load, target.aht_seconds / speedup, pd.Timedelta(target.within).total_seconds()


def _erlang_achieved(agents: np.ndarray, volume: pd.Series, target: ServiceTarget, interval: pd.Timedelta) -> tuple[np.ndarray, np.ndarray]:
    load, aht, threshold = _erlang_inputs(volume, target, interval)
    if target.model == "erlang-c":
        return (np.asarray(erlang.service_level(agents, load, aht, threshold), dtype=float),
                np.asarray(erlang.asa_seconds(agents, load, aht), dtype=float))
    res = erlang.erlang_a(agents, load, aht, target.patience_seconds, threshold)
    return np.asarray(res.service_level, dtype=float), np.asarray(res.asa_seconds, dtype=float)


def _erlang_required(volume: pd.Series, target: ServiceTarget, open_share: np.ndarray, interval: pd.Timedelta) -> np.ndarray:
    load, aht, threshold = _erlang_inputs(volume, target, interval)
    cap = target.max_occupancy if target.max_occupancy < 1 else None
    if target.model == "erlang-c":
        required = np.asarray(erlang.required_agents(load, aht, threshold, target_service_level=target.target, max_occupancy=cap), dtype=int)
    else:
        required = np.maximum(np.floor(load), 0).astype(int)
        for _ in range(100_000):
            res = erlang.erlang_a(required, load, aht, target.patience_seconds, threshold)
            ok = np.asarray(res.service_level) >= target.target - 1e-12
            if cap is not None:
                ok &= np.asarray(res.occupancy) <= cap + 1e-12
            ok |= load <= 0
            if ok.all():
                break
            required = np.where(ok, required, required + 1)
    floor = np.where(load > 0, target.min_agents, 0)
    return np.where(open_share <= 0, 0, np.maximum(required, floor))


def _align_staffing(heads: pd.Series, index: pd.DatetimeIndex, channel: str, interval: pd.Timedelta) -> np.ndarray:
    """Heads on duty for every interval of ``index``: a staffing row holds until the next one,
    the last for one step of the staffing file (or of the forecast, for a single row)."""
    heads = heads.sort_index()
    first = heads.index.min()
    if index.min() < first:
        raise ValueError(f"the staffing file starts at {first.isoformat()}, after the forecast of {channel} "
                         f"({index.min().isoformat()}): staffing is missing for the first intervals")
    step = interval_of(heads.index) if len(heads) > 1 else interval
    known = heads.reindex(heads.index.union(index)).ffill()
    covered = pd.Series(index) < heads.index.max() + step
    if not covered.all():
        missing = index[~covered.to_numpy()]
        raise ValueError(f"the staffing file has no rows for {len(missing):,} interval(s) of the forecast of {channel}, "
                         f"from {missing[0].isoformat()}: give agents for every interval")
    return known.reindex(index).to_numpy(dtype=float)


def requirements(forecast: pd.DataFrame, target: ServiceTarget, opening: OpeningHours | None = None,
                 staffing: pd.DataFrame | None = None, combine: bool = False,
                 interval: pd.Timedelta | None = None) -> Requirements:
    """Required staffing per interval and channel, and what it (or a given staffing) achieves.

    ``forecast``: channel, ds (tz-aware, regular per channel), volume (messages per interval).
    ``staffing``: optional ds, agents: heads on duty (a row holds until the next); shrinkage is
    taken off to get productive agents. The service level, backlog and response time are then
    those of the given staffing, and ``agents_scheduled`` the given heads, beside the
    requirement. ``combine``: pool all channels into one team (channel ``all``). ``interval``:
    the forecast's interval length (inferred from its timestamps when None).
    """
    if combine:
        forecast = forecast.groupby("ds", as_index=False)["volume"].sum().assign(channel="all")
    heads = staffing.set_index("ds")["agents"].astype(float) if staffing is not None else None
    result = Requirements(table=pd.DataFrame(columns=COLUMNS))
    tables = []
    for channel, part in forecast.groupby("channel", sort=True):
        volume = part.set_index("ds")["volume"].sort_index()
        step = interval_of(volume.index, interval)
        if target.model == "backlog":
            volume = to_buckets(volume, step)
            share = open_fraction(volume.index, opening, freq=BUCKET) if opening is not None else None
            common = dict(aht_seconds=target.aht_seconds, deadline=pd.Timedelta(target.within),
                          concurrency=target.concurrency, max_occupancy=target.max_occupancy, clock=target.clock)
            plan = fluid.required_staffing(volume, share, target=target.target, period=target.period,
                                           min_agents=target.min_agents, **common)
            required = plan.agents.to_numpy(dtype=float) if plan.agents is not None else np.full(len(volume), np.nan)
            evaluation, explanation, reachable = plan.evaluation, plan.explanation, plan.agents is not None
            if heads is not None:
                on_duty = _align_staffing(heads, volume.index, channel, step)
                evaluation = fluid.evaluate_backlog(volume, on_duty * (1 - target.shrinkage), share, **common)
                explanation = (f"the given staffing reaches {evaluation.service_level:.1%} within "
                               f"{_fmt(target.within)} over the horizon; " + explanation)
            if evaluation is not None:
                iv = evaluation.intervals
                sl, backlog = iv["service_level"].to_numpy(dtype=float), iv["backlog"].to_numpy(dtype=float)
                asa = iv["mean_response_minutes"].to_numpy(dtype=float) * 60.0
                result.days[channel] = evaluation.days
            else:
                sl = backlog = asa = np.full(len(volume), np.nan)
        else:
            index = pd.DatetimeIndex(volume.index)
            share = open_fraction(index, opening).to_numpy() if opening is not None else np.ones(len(volume))
            required = _erlang_required(volume, target, share, step).astype(float)
            agents = required if heads is None else _align_staffing(heads, index, channel, step) * (1 - target.shrinkage)
            sl, asa = _erlang_achieved(agents, volume, target, step)
            closed = share <= 0
            sl, asa, backlog = np.where(closed, np.nan, sl), np.where(closed, np.nan, asa), np.full(len(volume), np.nan)
            decided = ~np.isnan(sl) & (volume.to_numpy() > 0)
            weighted = float(np.average(sl[decided], weights=volume.to_numpy()[decided])) if decided.any() else float("nan")
            who = "the given staffing" if heads is not None else "the required staffing"
            explanation = f"{who} answers {weighted:.1%} of the volume within {_fmt(target.within)} ({target.model}, volume-weighted)"
            reachable = True
        index = pd.DatetimeIndex(volume.index)
        scheduled = (np.where(np.isnan(required), np.nan, schedule_heads(np.nan_to_num(required), target.shrinkage))
                     if heads is None else _align_staffing(heads, index, channel, step))
        tables.append(pd.DataFrame({
            "ds": index, "channel": channel, "volume": volume.to_numpy(dtype=float), "agents_required": required,
            "agents_scheduled": scheduled, "service_level": sl, "backlog": backlog, "asa_seconds": asa,
        }))
        result.explanations[channel] = explanation
        result.reachable[channel] = reachable
    result.table = pd.concat(tables, ignore_index=True)[COLUMNS]
    return result


def _fmt(delta) -> str:
    seconds = pd.Timedelta(delta).total_seconds()
    return f"{seconds:g} seconds" if seconds < 60 else f"{seconds / 60:g} minutes"
