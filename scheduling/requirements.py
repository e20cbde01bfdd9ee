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

Per channel (``channels``, :mod:`scheduling.channels`): handle time (a figure, or per hour of day
from history, :mod:`scheduling.handle_time`), target, deadline, concurrency, actionable share,
opening hours and proactive work; several channels may share one team in priority order or in
one pooled queue (the per-channel rows then split the team's agents, and ``Requirements.team``
holds the team's own rows). An hourly forecast is spread over 15-minute buckets by the
history's intra-hour profile where one is given (:mod:`scheduling.intraday`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from scheduling import backlog as fluid
from scheduling import erlang
from scheduling.channels import ChannelsConfig
from scheduling.handle_time import HandleTimes
from scheduling.intraday import IntradayProfile, apply_intraday, spread_evenly
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
    #: Erlang models: also keep the mean time to answer at or below this [s] (None: no ASA target)
    asa_target_seconds: float | None = None
    #: Erlang A: which service level the target counts ("offered": answered in time / all
    #: arrivals, abandoned ones are misses; "answered": / answered ones; "virtual")
    sl_definition: str = "offered"

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
        if self.asa_target_seconds is not None and not self.asa_target_seconds > 0:
            problems.append("the ASA target (--asa) must be longer than 0")
        if self.sl_definition not in erlang.SL_DEFINITIONS:
            problems.append(f"unknown service-level definition {self.sl_definition!r}: use "
                            f"{', '.join(erlang.SL_DEFINITIONS)}")
        if not (int(self.min_agents) == self.min_agents and self.min_agents >= 0):
            problems.append("the minimum number of agents (--min-agents) must be a whole number >= 0")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass
class Requirements:
    """Per interval (``table``, the columns of ``COLUMNS``) and the explanation per channel."""

    table: pd.DataFrame
    explanations: dict[str, str] = field(default_factory=dict)
    reachable: dict[str, bool] = field(default_factory=dict)
    days: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: per channel (and "team"): the same per ISO week
    weeks: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: per channel, backlog model: per interval arrivals, agents, handled, backlog, oldest waiting
    #: message, share within the deadline, mean and 90th-percentile response time
    intervals: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: per channel (or "team"): proactive work per day (proactive_hours, idle_hours, added_agent_hours, fits)
    proactive: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: team modes (priority, pooled): the team's rows (channel "team"), columns of COLUMNS
    team: pd.DataFrame | None = None
    team_explanation: str = ""
    #: per channel: how its inputs were made (handle time from history, intra-hour profile, margin)
    notes: dict[str, list[str]] = field(default_factory=dict)


def schedule_heads(agents_required: np.ndarray, shrinkage: float) -> np.ndarray:
    """Heads on the roster for ``agents_required`` productive agents: ceil(required / (1 - shrinkage))."""
    required = np.asarray(agents_required, dtype=float)
    return np.ceil(required / (1.0 - shrinkage) - 1e-9).astype(int)


def to_buckets(volume: pd.Series, interval: pd.Timedelta, bucket: pd.Timedelta = BUCKET) -> pd.Series:
    """Spread each interval's volume evenly over its ``bucket``-long parts (index: tz-aware starts)."""
    return spread_evenly(volume, interval, bucket)


def interval_of(index: pd.DatetimeIndex, given: pd.Timedelta | None = None) -> pd.Timedelta:
    """The length of a forecast's intervals: ``given``, or the smallest step between them."""
    if given is not None:
        return pd.Timedelta(given)
    step = pd.Series(pd.DatetimeIndex(index)).diff().dropna()
    step = step[step > pd.Timedelta(0)]
    if step.empty:
        raise ValueError("the forecast has one interval per channel: give its length (--freq), e.g. 30min")
    return step.min()


def _erlang_inputs(volume: pd.Series, target: ServiceTarget, interval: pd.Timedelta, aht=None) -> tuple[np.ndarray, np.ndarray, float]:
    """Offered load per interval [Erlang], effective handle time [s] and threshold [s]; an agent
    holding several conversations at once serves them faster in total (not k times). ``aht``:
    handle time per interval (default: the target's)."""
    speedup = fluid.concurrency_multiplier(target.concurrency)
    aht = np.full(len(volume), float(target.aht_seconds)) if aht is None else np.asarray(aht, dtype=float)
    load = volume.to_numpy(dtype=float) * aht / interval.total_seconds() / speedup
    return load, aht / speedup, pd.Timedelta(target.within).total_seconds()


def _erlang_achieved(agents: np.ndarray, volume: pd.Series, target: ServiceTarget, interval: pd.Timedelta, aht=None) -> tuple[np.ndarray, np.ndarray]:
    load, aht, threshold = _erlang_inputs(volume, target, interval, aht)
    if target.model == "erlang-c":
        return (np.asarray(erlang.service_level(agents, load, aht, threshold), dtype=float),
                np.asarray(erlang.asa_seconds(agents, load, aht), dtype=float))
    res = erlang.erlang_a(agents, load, aht, target.patience_seconds, threshold, sl_definition=target.sl_definition)
    return np.asarray(res.service_level, dtype=float), np.asarray(res.asa_seconds, dtype=float)


def _erlang_required(volume: pd.Series, target: ServiceTarget, open_share: np.ndarray, interval: pd.Timedelta, aht=None) -> np.ndarray:
    load, aht, threshold = _erlang_inputs(volume, target, interval, aht)
    cap = target.max_occupancy if target.max_occupancy < 1 else None
    if target.model == "erlang-c":
        required = np.asarray(erlang.required_agents(load, aht, threshold, target_service_level=target.target,
                                                     target_asa_seconds=target.asa_target_seconds,
                                                     max_occupancy=cap), dtype=int)
    else:
        required = np.asarray(erlang.required_agents_erlang_a(
            load, aht, target.patience_seconds, threshold, target_service_level=target.target,
            target_asa_seconds=target.asa_target_seconds, max_occupancy=cap,
            sl_definition=target.sl_definition), dtype=int)
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


@dataclass
class _Stream:
    """One channel, ready for the models: its settings resolved and its volume per bucket."""

    name: str
    target: ServiceTarget
    opening: OpeningHours | None
    volume: pd.Series                 # actionable messages per interval (backlog: per bucket)
    forecast_volume: pd.Series        # the forecast's volume on the same intervals
    aht: np.ndarray                   # handle time per interval [s] (concurrency 1)
    share: np.ndarray                 # open share per interval
    step: pd.Timedelta                # the forecast's interval
    proactive_hours: float = 0.0
    notes: list = field(default_factory=list)
    planner: object = None            # required_staffing, or a drop-in (see requirements(planner=...))

    @property
    def index(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.volume.index)

    def common(self) -> dict:
        t = self.target
        return dict(aht_seconds=self.aht, deadline=pd.Timedelta(t.within), concurrency=t.concurrency,
                    max_occupancy=t.max_occupancy, clock=t.clock)

    def unit(self) -> np.ndarray:
        """Messages one productive agent handles per interval while fully open, times the open share."""
        rate = fluid.messages_per_agent(BUCKET.total_seconds(), self.aht, self.target.concurrency,
                                        None, self.target.max_occupancy)
        return np.asarray(rate, dtype=float) * self.share


def _resolve_target(target: ServiceTarget, spec) -> ServiceTarget:
    if spec is None:
        return target
    changes = {}
    for key, attr in (("target", "target"), ("within", "within"), ("concurrency", "concurrency"),
                      ("max_occupancy", "max_occupancy")):
        value = getattr(spec, attr)
        if value is not None:
            changes[key] = value
    if spec.aht_seconds is not None:
        changes["aht_seconds"] = spec.aht_seconds
    return replace(target, **changes) if changes else target


def _streams(forecast, target, opening, channels, handle_times, intraday, interval, backlog_model,
             aht_from_history=False) -> list[_Stream]:
    streams = []
    for channel, part in forecast.groupby("channel", sort=True):
        channel = str(channel)
        spec = channels.spec(channel) if channels is not None else None
        resolved = _resolve_target(target, spec)
        own_opening = spec.opening if spec is not None and spec.opening is not None else opening
        volume = part.set_index("ds")["volume"].sort_index().astype(float)
        step = interval_of(volume.index, interval)
        notes = []
        if backlog_model:
            shares = None
            if intraday is not None and step <= pd.Timedelta("1h"):
                shares = intraday.shares(channel)
                source = intraday.table.loc[intraday.table["channel"] == channel, "source"]
                notes.append("hourly volume spread over quarters by the history's intra-hour profile"
                             if (source == "hour").any() or (source == "channel").any()
                             else "volume spread evenly over quarters (too few messages for a profile)")
            volume = apply_intraday(volume, step, shares)
            share = (open_fraction(volume.index, own_opening, freq=BUCKET).to_numpy() if own_opening is not None
                     else np.ones(len(volume)))
        else:
            share = (open_fraction(pd.DatetimeIndex(volume.index), own_opening).to_numpy() if own_opening is not None
                     else np.ones(len(volume)))
        index = pd.DatetimeIndex(volume.index)
        if spec is not None and spec.aht_from_history or aht_from_history and (spec is None or spec.aht_seconds is None):
            if handle_times is None:
                where = (f"{Path(channels.path).name}, [channels.{channel}], key 'aht'"
                         if spec is not None and spec.aht_from_history else "--aht history")
                raise ValueError(f"{where}: a handle time from history needs message-level history with handle "
                                 "times (--dataset or --messages)")
            aht = handle_times.per_bucket(channel, index)
            notes.append(handle_times.describe(channel))
        else:
            aht = np.full(len(index), float(resolved.aht_seconds))
        actionable = spec.actionable if spec is not None else 1.0
        if actionable < 1:
            notes.append(f"{actionable:.0%} of the messages need a reply (actionable share)")
        streams.append(_Stream(channel, resolved, own_opening, volume * actionable, volume, aht, share, step,
                               spec.proactive_hours if spec is not None else 0.0, notes))
    return streams


def _effective_target(stream: _Stream, margin: float) -> float:
    return min(stream.target.target + margin, 1.0)


def _call_planner(stream: _Stream, wanted: float, base):
    """Run the stream's planner (default :func:`scheduling.margin.plan_with_margin`, the backlog
    model's required staffing with the variability margin) and return a
    :class:`~scheduling.backlog.StaffingPlan` whose evaluation is the plain backlog model's."""
    from scheduling.margin import plan_with_margin

    t = stream.target
    planner = stream.planner or plan_with_margin
    plan = planner(stream.volume, stream.share, target=wanted, period=t.period, min_agents=t.min_agents,
                   base_capacity=base, **stream.common())
    if isinstance(plan, fluid.StaffingPlan):
        return plan
    periods = getattr(plan, "periods", None)
    if periods is None:
        periods = getattr(getattr(plan, "plan", None), "periods", None)
    if periods is None:
        periods = pd.DataFrame({"ceiling": [np.nan], "target": [wanted]})
    evaluation = None
    if plan.agents is not None:
        evaluation = fluid.evaluate_backlog(stream.volume, plan.agents, stream.share, base_capacity=base,
                                            **stream.common())
    return fluid.StaffingPlan(plan.agents, bool(plan.agents is not None), plan.explanation, periods, evaluation)


def _plan_stream(stream: _Stream, margin: float, base=None):
    """required_staffing for one stream with the variability margin, falling back to the bare target
    when the margin would push it above the ceiling."""
    t = stream.target
    wanted = _effective_target(stream, margin)
    plan = _call_planner(stream, wanted, base)
    if plan.agents is None and margin > 0:
        # Near the ceiling the staffing grows without bound (the night's backlog would have to be
        # answered at once at opening): try a little below it, then halfway, then the bare target.
        ceiling = float(np.nanmin(plan.periods["ceiling"])) if plan.periods["ceiling"].notna().any() else 1.0
        near = max(t.target, min(wanted, ceiling - 0.005))
        for capped in dict.fromkeys((near, t.target + 0.5 * (near - t.target), t.target)):
            plan = _call_planner(stream, capped, base)
            if plan.agents is not None:
                break
        if plan.agents is not None:
            stream.notes.append(f"the variability margin was cut to {100 * (capped - t.target):.1f} points: "
                                "the opening hours do not allow more")
    elif margin > 0:
        stream.notes.append(f"planned for {100 * wanted:.1f}% (target plus a variability margin of "
                            f"{100 * margin:.1f} points)")
    return plan


def _busy_agents(evaluation, unit) -> np.ndarray:
    """Agents busy with messages per interval (handled / capacity of one agent)."""
    handled = evaluation.intervals["handled"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(unit > 0, handled / np.where(unit > 0, unit, 1.0), 0.0)


def _fit_proactive(index, agents, busy, is_open, hours_per_day, planning: bool):
    """Fit proactive work (agent-hours per local day) into the idle time of open intervals.

    Returns (extra agents per interval, table per day: ``proactive_hours``, ``idle_hours``,
    ``added_agent_hours``, ``fits``)."""
    index = pd.DatetimeIndex(index)
    n = len(index)
    extra = np.zeros(n)
    length_hours = BUCKET.total_seconds() / 3600.0
    days = index.tz_localize(None).normalize()
    codes, labels = pd.factorize(days, sort=True)
    idle = np.where(is_open, np.maximum(np.asarray(agents, dtype=float) - busy, 0.0), 0.0) * length_hours
    rows = []
    for d, label in enumerate(labels):
        members = np.flatnonzero((codes == d) & is_open)
        have = float(idle[codes == d].sum())
        added = 0.0
        if planning and have + 1e-9 < hours_per_day and members.size:
            # add whole agents to the least staffed open intervals of the day, earliest first
            while have + added + 1e-9 < hours_per_day:
                current = np.asarray(agents, dtype=float)[members] + extra[members]
                for t in members[np.lexsort((members, current))]:
                    extra[t] += 1
                    added += length_hours
                    if have + added + 1e-9 >= hours_per_day:
                        break
        rows.append({"date": label, "proactive_hours": hours_per_day, "idle_hours": have,
                     "added_agent_hours": added, "fits": have + added + 1e-9 >= hours_per_day})
    table = pd.DataFrame(rows).set_index("date") if rows else pd.DataFrame()
    return extra, table


def _plan_proactive(index, agents, is_open, hours, busy_of, planning: bool):
    """Fit ``hours`` of proactive work a day into idle time; when planning, add whole agents
    until it fits after re-evaluating (more agents also move work between days).

    ``busy_of(agents)`` gives the agents busy with messages per interval. Returns (extra agents
    per interval, table per day, busy agents under the final staffing)."""
    agents = np.asarray(agents, dtype=float)
    busy = busy_of(agents)
    _, table = _fit_proactive(index, agents, busy, is_open, hours, planning=False)
    total = np.zeros(len(agents))
    if planning:
        for _ in range(8):
            extra, _ = _fit_proactive(index, agents + total, busy, is_open, hours, planning=True)
            if not extra.any():
                break
            total = total + extra
            busy = busy_of(agents + total)
        _, last = _fit_proactive(index, agents + total, busy, is_open, hours, planning=False)
        days = pd.DatetimeIndex(index).tz_localize(None).normalize()
        table["added_agent_hours"] = pd.Series(total * BUCKET.total_seconds() / 3600.0).groupby(
            days).sum().reindex(table.index).to_numpy()
        table["fits"] = last["fits"].to_numpy()
    return total, table, busy


def _detail(stream: _Stream, evaluation, agents_required, channel=None) -> pd.DataFrame:
    iv = evaluation.intervals
    return pd.DataFrame({
        "ds": stream.index, "channel": channel or stream.name,
        "forecast_volume": stream.forecast_volume.to_numpy(dtype=float),
        "arrivals": iv["arrivals"].to_numpy(dtype=float),
        "agents_required": agents_required,
        "agents": iv["agents"].to_numpy(dtype=float),
        "capacity": iv["capacity"].to_numpy(dtype=float),
        "handled": iv["handled"].to_numpy(dtype=float),
        "backlog": iv["backlog"].to_numpy(dtype=float),
        "oldest_waiting_minutes": iv["oldest_age_minutes"].to_numpy(dtype=float),
        "service_level": iv["service_level"].to_numpy(dtype=float),
        "mean_response_minutes": iv["mean_response_minutes"].to_numpy(dtype=float),
        "p90_response_minutes": iv["p90_response_minutes"].to_numpy(dtype=float),
    })


def _period_tables(evaluation, channel):
    days = evaluation.days.reset_index().assign(channel=channel)
    weeks = evaluation.weeks.reset_index().assign(channel=channel)
    return days, weeks


def requirements(forecast: pd.DataFrame, target: ServiceTarget, opening: OpeningHours | None = None,
                 staffing: pd.DataFrame | None = None, combine: bool = False,
                 interval: pd.Timedelta | None = None, *, channels: ChannelsConfig | None = None,
                 handle_times: HandleTimes | None = None, intraday: IntradayProfile | None = None,
                 aht_from_history: bool = False, margin: float = 0.0, planner=None) -> Requirements:
    """Required staffing per interval and channel, and what it (or a given staffing) achieves.

    ``forecast``: channel, ds (tz-aware, regular per channel), volume (messages per interval).
    ``staffing``: optional ds, agents: heads on duty (a row holds until the next); shrinkage is
    taken off to get productive agents. The service level, backlog and response time are then
    those of the given staffing, and ``agents_scheduled`` the given heads, beside the
    requirement. ``combine``: pool all channels into one team (channel ``all``). ``interval``:
    the forecast's interval length (inferred from its timestamps when None).

    Keyword arguments (all optional):

    ``channels``: per-channel settings (:func:`scheduling.channels.read_channels`): handle time,
    target, deadline, concurrency, actionable share, opening hours, proactive work, and whether
    the channels share one team (``priority`` or ``pooled``) or not (``separate``). Settings the
    file leaves out come from ``target``.

    ``handle_times``: handle time per channel and hour of day
    (:func:`scheduling.handle_time.estimate_handle_times`), used for the channels whose handle
    time is ``"history"`` in ``channels``, and with ``aht_from_history=True`` for every channel
    the channels file gives no handle time (``--aht history``).

    ``intraday``: intra-hour profile (:func:`scheduling.intraday.estimate_intraday_profile`) to
    spread an hourly forecast over 15-minute buckets (backlog model); evenly when None.

    ``margin``: a variability margin in share points added to every target for planning
    (0.02 plans for 82% when the target is 80%), capped at 100% and, where the opening hours
    do not allow it, at the ceiling; the reported service levels are those of the plan. The
    simulator's ``variability_margin`` is meant to be passed here.

    ``planner``: how the backlog model plans. None (the default) is
    :func:`scheduling.margin.plan_with_margin`: the fluid plan with the variability margin
    (docs/margin.md), which reaches the target in simulation, where the bare fluid plan
    (``planner=scheduling.backlog.required_staffing``) runs at full occupancy and falls far short
    of it. Any drop-in with the same arguments (including ``base_capacity``) that returns an
    object with ``agents`` (None when unreachable) and ``explanation`` works. The plan it returns
    is evaluated with the plain backlog model for the reported figures.
    """
    if not 0 <= margin < 1:
        raise ValueError("margin must be a share in [0, 1), e.g. 0.02 for 2 points")
    if combine:
        forecast = forecast.groupby("ds", as_index=False)["volume"].sum().assign(channel="all")
    heads = staffing.set_index("ds")["agents"].astype(float) if staffing is not None else None
    backlog_model = target.model == "backlog"
    team = channels.team if channels is not None else "separate"
    if team != "separate" and not backlog_model:
        raise ValueError(f"team = \"{team}\" (several channels sharing one team) needs the backlog model; "
                         f"with {target.model} give team = \"separate\"")
    streams = _streams(forecast, target, opening, channels, handle_times, intraday, interval, backlog_model,
                       aht_from_history)
    for s in streams:
        s.planner = planner
    result = Requirements(table=pd.DataFrame(columns=COLUMNS))
    if not backlog_model:
        tables = [_erlang_channel(s, heads, result) for s in streams]
    elif team == "separate":
        tables = [_backlog_separate(s, heads, margin, result) for s in streams]
    else:
        tables = _backlog_team(streams, heads, margin, team, channels, result)
    result.table = pd.concat(tables, ignore_index=True)[COLUMNS]
    for s in streams:
        if s.notes:
            result.notes[s.name] = list(s.notes)
    return result


def _scheduled(required, heads_given, shrinkage):
    if heads_given is not None:
        return heads_given
    return np.where(np.isnan(required), np.nan, schedule_heads(np.nan_to_num(required), shrinkage))


def _erlang_channel(s: _Stream, heads, result: Requirements) -> pd.DataFrame:
    index = s.index
    t = s.target
    required = _erlang_required(s.volume, t, s.share, s.step, aht=s.aht).astype(float)
    given = _align_staffing(heads, index, s.name, s.step) if heads is not None else None
    agents = required if given is None else given * (1 - t.shrinkage)
    sl, asa = _erlang_achieved(agents, s.volume, t, s.step, aht=s.aht)
    closed = s.share <= 0
    sl, asa = np.where(closed, np.nan, sl), np.where(closed, np.nan, asa)
    decided = ~np.isnan(sl) & (s.volume.to_numpy() > 0)
    weighted = float(np.average(sl[decided], weights=s.volume.to_numpy()[decided])) if decided.any() else float("nan")
    who = "the given staffing" if heads is not None else "the required staffing"
    result.explanations[s.name] = (f"{who} answers {weighted:.1%} of the volume within {_fmt(t.within)} "
                                   f"({t.model}, volume-weighted)")
    result.reachable[s.name] = True
    return pd.DataFrame({"ds": index, "channel": s.name, "volume": s.volume.to_numpy(dtype=float),
                         "agents_required": required, "agents_scheduled": _scheduled(required, given, t.shrinkage),
                         "service_level": sl, "backlog": np.nan, "asa_seconds": asa})


def _rows(s: _Stream, required, scheduled, evaluation, channel=None) -> pd.DataFrame:
    if evaluation is not None:
        iv = evaluation.intervals
        sl, backlog = iv["service_level"].to_numpy(dtype=float), iv["backlog"].to_numpy(dtype=float)
        asa = iv["mean_response_minutes"].to_numpy(dtype=float) * 60.0
    else:
        sl = backlog = asa = np.full(len(s.volume), np.nan)
    return pd.DataFrame({"ds": s.index, "channel": channel or s.name, "volume": s.volume.to_numpy(dtype=float),
                         "agents_required": required, "agents_scheduled": scheduled, "service_level": sl,
                         "backlog": backlog, "asa_seconds": asa})


def _record(result: Requirements, s: _Stream, evaluation, required, channel=None):
    name = channel or s.name
    if evaluation is None:
        return
    result.days[name] = evaluation.days
    result.weeks[name] = evaluation.weeks
    result.intervals[name] = _detail(s, evaluation, required, name)


def _backlog_separate(s: _Stream, heads, margin: float, result: Requirements) -> pd.DataFrame:
    t = s.target
    plan = _plan_stream(s, margin)
    reachable = plan.agents is not None
    required = plan.agents.to_numpy(dtype=float) if reachable else np.full(len(s.volume), np.nan)
    evaluation, explanation = plan.evaluation, plan.explanation
    given = None
    if heads is not None:
        given = _align_staffing(heads, s.index, s.name, s.step)
        evaluation = fluid.evaluate_backlog(s.volume, given * (1 - t.shrinkage), s.share, **s.common())
        explanation = (f"the given staffing reaches {evaluation.service_level:.1%} within "
                       f"{_fmt(t.within)} over the horizon; " + explanation)
    if s.proactive_hours > 0 and evaluation is not None:
        on_duty = evaluation.intervals["agents"].to_numpy(dtype=float)
        unit = s.unit()

        def busy_of(agents):
            return _busy_agents(fluid.evaluate_backlog(s.volume, agents, s.share, **s.common()), unit)

        extra, table, _ = _plan_proactive(s.index, on_duty, s.share > 0, s.proactive_hours, busy_of,
                                          planning=heads is None)
        if heads is None and extra.any():
            required = required + extra
            evaluation = fluid.evaluate_backlog(s.volume, required, s.share, **s.common())
        result.proactive[s.name] = table
        explanation += "; " + _proactive_sentence(table, heads is None)
    _record(result, s, evaluation, required)
    result.explanations[s.name] = explanation
    result.reachable[s.name] = reachable
    return _rows(s, required, _scheduled(required, given, t.shrinkage), evaluation)


def _proactive_sentence(table: pd.DataFrame, planning: bool) -> str:
    hours = float(table["proactive_hours"].iloc[0]) if len(table) else 0.0
    if planning:
        added = float(table["added_agent_hours"].sum())
        days = int((table["added_agent_hours"] > 0).sum())
        if added > 0:
            return (f"proactive work ({hours:g} h a day) did not fit in the idle time on {days} day(s): "
                    f"{added:.1f} agent-hours added for it")
        return f"proactive work ({hours:g} h a day) fits in the idle time every day"
    missing = table[~table["fits"]]
    if len(missing):
        short = float((missing["proactive_hours"] - missing["idle_hours"]).sum())
        return (f"proactive work ({hours:g} h a day) does not fit on {len(missing)} day(s): "
                f"{short:.1f} agent-hours short (first {pd.Timestamp(missing.index[0]):%a %Y-%m-%d})")
    return f"proactive work ({hours:g} h a day) fits in the idle time every day"


def _check_team(streams: list[_Stream], team: str, channels: ChannelsConfig):
    label = Path(channels.path).name
    first = streams[0]
    for s in streams[1:]:
        if not s.index.equals(first.index):
            raise ValueError(f"{label}: team = \"{team}\" needs the same intervals for every channel; "
                             f"{s.name} and {first.name} differ in the forecast")
    clocks = {s.target.clock for s in streams}
    shrink = {s.target.shrinkage for s in streams}
    if len(clocks) > 1 or len(shrink) > 1:
        raise ValueError(f"{label}: channels of one team share the clock and the shrinkage")
    if team == "pooled":
        own = [s.name for s in streams if channels.spec(s.name).opening is not None]
        if own:
            raise ValueError(f"{label}, [channels.{own[0]}], key 'open': pooled channels share one queue and the "
                             "team's opening hours (--open); use team = \"priority\" for channels with their own hours")


def _backlog_team(streams: list[_Stream], heads, margin, team, channels, result: Requirements) -> list:
    _check_team(streams, team, channels)
    if team == "priority":
        return _backlog_priority(streams, heads, margin, channels, result)
    return _backlog_pooled(streams, heads, margin, result)


def _team_table(result: Requirements, index, parts: list[pd.DataFrame], team_required, team_scheduled):
    frame = pd.concat(parts, ignore_index=True)
    grouped = frame.groupby("ds", sort=True)
    volume = grouped["volume"].sum()
    weights = frame["volume"].where(frame["service_level"].notna(), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sl = (frame["service_level"].fillna(0) * weights).groupby(frame["ds"]).sum() / weights.groupby(frame["ds"]).sum()
        asa_w = frame["volume"].where(frame["asa_seconds"].notna(), 0.0)
        asa = (frame["asa_seconds"].fillna(0) * asa_w).groupby(frame["ds"]).sum() / asa_w.groupby(frame["ds"]).sum()
    result.team = pd.DataFrame({"ds": index, "channel": "team", "volume": volume.to_numpy(),
                                "agents_required": team_required, "agents_scheduled": team_scheduled,
                                "service_level": sl.to_numpy(), "backlog": grouped["backlog"].sum().to_numpy(),
                                "asa_seconds": asa.to_numpy()})[COLUMNS]


class _Quick:
    """The figures of :func:`scheduling.backlog.evaluate_backlog` that the team search needs
    (handled, on time and late per interval; warm-up week included), without the wait
    statistics and tables: the compiled full-run kernel when numba is there."""

    def __init__(self, s: _Stream, agents, base):
        c = s.common()
        inputs = fluid._prepare(s.volume, s.share, aht_seconds=c["aht_seconds"], deadline=c["deadline"],
                                concurrency=c["concurrency"], slowdown=None, max_occupancy=c["max_occupancy"],
                                clock=c["clock"])
        offset, take, initial = fluid._extend_with_warmup(inputs, None)
        cap = ((np.asarray(agents, dtype=float) * inputs.open * inputs.rate + base)[take]).astype(float)
        a = np.ascontiguousarray(inputs.arrivals[take], dtype=float)
        business = inputs.clock == "business"
        share = np.ascontiguousarray(inputs.open[take] if business else np.ones(take.size))
        lens = np.ascontiguousarray(inputs.lengths[take], dtype=float)
        if fluid.HAVE_NUMBA:
            m = take.size
            on, late, handled = np.empty(m), np.empty(m), np.empty(m)
            fluid._nb_lindley_state(a, np.ascontiguousarray(cap), float(initial), np.empty(m + 1), on, late, handled,
                                    lens, share, business, float(inputs.deadline), np.empty(7 * (m + 1)))
        else:
            run = fluid._fluid_core(a, cap, lens, float(initial), inputs.deadline, share if business else None,
                                    want_segments=False)
            on, late, handled = run["on_time"], run["late"], run["handled"]
        self.on, self.late, self.handled = on[offset:], late[offset:], handled[offset:]
        self.arrivals = inputs.arrivals

    def meets(self, s: _Stream, wanted: float) -> bool:
        if s.target.period == "bucket":
            keep = (s.share > 0) & (self.arrivals > 0)
            on, late = self.on[keep], self.late[keep]
        else:
            codes = _period_codes(s.index, s.target.period)
            on, late = np.bincount(codes, self.on), np.bincount(codes, self.late)
        decided = on + late
        return bool(((decided <= 1e-12) | (on >= (wanted - 1e-9) * decided)).all())


def _strict_priority(order, by_name, agents, quick=False):
    """The channels served in strict priority order by ``agents`` productive team agents per
    interval: each channel gets the capacity the channels before it leave unused. ``quick``:
    :class:`_Quick` runs instead of full evaluations (for the search)."""
    busy = np.zeros(len(agents))
    evaluations, bases = {}, {}
    for name in order:
        s = by_name[name]
        unit = s.unit()
        base = np.maximum(agents - busy, 0.0) * unit
        if quick:
            evaluations[name] = run = _Quick(s, 0.0, base)
            handled = run.handled
        else:
            evaluations[name] = fluid.evaluate_backlog(s.volume, 0.0, s.share, base_capacity=base, **s.common())
            handled = evaluations[name].intervals["handled"].to_numpy(dtype=float)
        bases[name] = base
        with np.errstate(divide="ignore", invalid="ignore"):
            busy = busy + np.where(unit > 0, handled / np.where(unit > 0, unit, 1.0), 0.0)
    return evaluations, bases, busy


def _backlog_priority(streams, heads, margin, channels, result: Requirements) -> list:
    """One team, channels served in strict priority order: a channel gets the capacity the
    channels before it leave unused (per interval). Planning adds agents for the first channel
    (in priority order) that misses its target under strict priority, given the team planned so
    far, until every channel meets its target: the plan is evaluated exactly as a given team
    staffing would be."""
    order = channels.priority_order([s.name for s in streams])
    by_name = {s.name: s for s in streams}
    first = by_name[order[0]]
    index, n = first.index, len(first.index)
    shrinkage = first.target.shrinkage
    increments = {name: np.zeros(n) for name in order}
    team_agents = np.zeros(n)
    reachable = {name: True for name in order}
    plans = {}
    for _ in range(4 * len(order) + 4):
        quick, bases, busy = _strict_priority(order, by_name, team_agents, quick=True)
        failing = [name for name in order
                   if not quick[name].meets(by_name[name], _effective_target(by_name[name], margin)
                                            if name not in plans else plans[name][1])]
        if not failing:
            break
        name = failing[0]
        s = by_name[name]
        floor = s.target.min_agents if not team_agents.any() else 0
        stream = replace(s, target=replace(s.target, min_agents=floor))
        plan = _plan_stream(stream, margin, base=bases[name])
        s.notes[:] = stream.notes
        if plan.agents is None:
            reachable[name] = False
            plans[name] = (plan, s.target.target)
            break
        extra = plan.agents.to_numpy(dtype=float)
        increments[name] = increments[name] + extra
        team_agents = team_agents + extra
        reached = plan.periods["target"].iloc[0] if len(plan.periods) else s.target.target
        plans[name] = (plan, float(reached))
    all_reachable = all(reachable.values())
    given = _align_staffing(heads, index, "the team", first.step) * (1 - shrinkage) if heads is not None else None
    evaluations, bases, busy = _strict_priority(order, by_name, given if given is not None else team_agents)
    tables = []
    for rank, name in enumerate(order, start=1):
        s = by_name[name]
        ev = evaluations[name]
        required = increments[name] if all_reachable else np.full(n, np.nan)
        plan = plans.get(name, (None, None))[0]
        if plan is not None and plan.agents is None:
            explanation = plan.explanation
        else:
            low = float(np.nanmin(ev.days["service_level"])) if ev.days["service_level"].notna().any() else float("nan")
            who = "the given team staffing" if given is not None else "the team plan"
            explanation = (f"priority {rank} of {len(order)} in the team: {who} reaches {ev.service_level:.1%} within "
                           f"{_fmt(s.target.within)} over the horizon (lowest day {low:.1%}; target "
                           f"{s.target.target:.0%}); {fluid.ceiling_explanation(s.volume, s.share, deadline=s.target.within, clock=s.target.clock)}")
        result.explanations[name] = explanation
        result.reachable[name] = reachable[name] if given is None else True
        _record(result, s, ev, required)
        result.intervals[name]["agents"] = given if given is not None else team_agents
        scheduled = _scheduled(required, None, shrinkage) if given is None else np.full(n, np.nan)
        tables.append(_rows(s, required, scheduled, ev))
    if given is None and not all_reachable:
        for name in order:
            result.reachable[name] = reachable[name]
    # proactive work of the whole team fills what is idle after every channel
    hours = sum(s.proactive_hours for s in streams)
    team_required = team_agents if all_reachable else np.full(n, np.nan)
    is_open = np.zeros(n, dtype=bool)
    for s in streams:
        is_open |= s.share > 0
    if hours > 0 and (all_reachable or given is not None):
        on_duty = given if given is not None else team_agents
        extra, table, _ = _plan_proactive(index, on_duty, is_open, hours,
                                          lambda agents: _strict_priority(order, by_name, agents, quick=True)[2],
                                          planning=given is None)
        result.proactive["team"] = table
        if given is None and extra.any():
            last = order[-1]
            team_required = team_required + extra
            tables[-1] = tables[-1].assign(agents_required=tables[-1]["agents_required"] + extra)
            tables[-1]["agents_scheduled"] = _scheduled(tables[-1]["agents_required"].to_numpy(dtype=float), None, shrinkage)
            result.explanations[last] += " (its agents include the team's proactive work)"
        result.team_explanation = _proactive_sentence(table, given is None)
    team_scheduled = (_scheduled(team_required, None, shrinkage) if given is None
                      else _align_staffing(heads, index, "the team", first.step))
    _team_table(result, index, tables, team_required, team_scheduled)
    return tables


def _apportion(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Whole numbers per row (channels x intervals) summing to ``total`` per interval, by weight
    (largest remainder)."""
    k, n = weights.shape
    out = np.zeros((k, n))
    sums = weights.sum(axis=0)
    ok = (sums > 0) & np.isfinite(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(ok, weights * total / np.where(sums > 0, sums, 1.0), 0.0)
    base = np.floor(exact + 1e-9)
    left = np.where(ok, total - base.sum(axis=0), 0).astype(int)
    remainder = exact - base
    order = np.argsort(-remainder, axis=0, kind="stable")
    for j in np.flatnonzero(left > 0):
        base[order[:left[j], j], j] += 1
    # intervals without any volume: the whole staffing goes to the first channel
    no_weight = ~(sums > 0) & np.isfinite(total)
    base[0, no_weight] = total[no_weight]
    return np.where(np.isfinite(total)[None, :], base, np.nan)


def _backlog_pooled(streams, heads, margin, result: Requirements) -> list:
    """One team and one first-come-first-served queue for every channel: the messages of all
    channels form one stream whose handle time per interval is the work-weighted mean."""
    first = streams[0]
    index, n = first.index, len(first.index)
    shrinkage = first.target.shrinkage
    mult = np.array([float(fluid.concurrency_multiplier(s.target.concurrency)) for s in streams])
    arrivals = np.vstack([s.volume.to_numpy(dtype=float) for s in streams])
    work = arrivals * np.vstack([s.aht for s in streams]) / mult[:, None]   # agent-seconds
    total = arrivals.sum(axis=0)
    mean_aht = float(work.sum() / total.sum()) if total.sum() > 0 else float(first.aht.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        aht = np.where(total > 0, work.sum(axis=0) / np.where(total > 0, total, 1.0), mean_aht)
    occupancy = min(s.target.max_occupancy for s in streams)
    deadline = min(pd.Timedelta(s.target.within) for s in streams)
    pooled_target = min(s.target.target for s in streams)  # raised below until every channel meets its own
    pooled = _Stream("team", replace(first.target, target=pooled_target, within=deadline, concurrency=1.0,
                                     max_occupancy=occupancy, aht_seconds=mean_aht),
                     first.opening, pd.Series(total, index=index), pd.Series(
                         np.vstack([s.forecast_volume.to_numpy(dtype=float) for s in streams]).sum(axis=0), index=index),
                     aht, first.share, first.step, planner=first.planner)
    codes = _period_codes(index, first.target.period)

    def per_channel(agents):
        """Per channel: on time / late per interval under its own deadline (the pooled queue's
        share on time in an interval applies to every channel's arrivals in it)."""
        out = {}
        for s in streams:
            ev = fluid.evaluate_backlog(pooled.volume, agents, pooled.share,
                                        **{**pooled.common(), "deadline": pd.Timedelta(s.target.within)})
            out[s.name] = ev
        return out

    plan, evs, reachable, short = None, None, True, ""
    for _ in range(8):
        plan = _plan_stream(pooled, margin + (pooled_target - pooled.target.target))
        if plan.agents is None:
            reachable = False
            break
        evs = per_channel(plan.agents.to_numpy(dtype=float))
        worst, short = 0.0, ""
        for row, s in enumerate(streams):
            sl = _channel_period_sl(evs[s.name], arrivals[row], total, codes)
            gap = float(np.nanmax(s.target.target + margin - sl)) if np.isfinite(sl).any() else 0.0
            if gap > worst:
                worst, short = gap, (f"{s.name} reaches {np.nanmin(sl):.1%} at worst, below its target "
                                     f"of {s.target.target:.0%}")
        if worst <= 1e-9:
            break
        if pooled_target >= 1.0 - 1e-12:
            break
        pooled_target = min(pooled_target + worst + 0.002, 1.0)
    if reachable and short:
        reachable = False
        plan = replace(plan, agents=None, explanation=(
            f"one pooled queue cannot give every channel its own target: {short} even when the pooled "
            "plan is raised as far as the opening hours allow; use team = \"priority\" (or separate teams)"))
    team_required = plan.agents.to_numpy(dtype=float) if reachable else np.full(n, np.nan)
    given = _align_staffing(heads, index, "the team", first.step) if heads is not None else None
    if given is not None:
        evs = per_channel(given * (1 - shrinkage))
    split = _apportion(team_required, work) if reachable else np.full((len(streams), n), np.nan)
    tables = []
    for row, s in enumerate(streams):
        ev = evs[s.name] if evs is not None else None
        share_of = np.divide(arrivals[row], total, out=np.zeros(n), where=total > 0)
        if ev is not None:
            iv = ev.intervals
            on, late = iv["on_time"].to_numpy() * share_of, iv["late"].to_numpy() * share_of
            sl = np.where(on + late > 0, on / np.where(on + late > 0, on + late, 1.0), np.nan)
            frame = pd.DataFrame({"ds": index, "channel": s.name, "volume": arrivals[row],
                                  "agents_required": split[row],
                                  "agents_scheduled": _scheduled(split[row], None, shrinkage) if given is None else np.nan,
                                  "service_level": sl, "backlog": iv["backlog"].to_numpy() * share_of,
                                  "asa_seconds": iv["mean_response_minutes"].to_numpy() * 60.0})
            period_sl = _channel_period_sl(ev, arrivals[row], total, codes)
            low = np.nanmin(period_sl) if np.isfinite(period_sl).any() else float("nan")
            result.explanations[s.name] = (f"pooled with {len(streams) - 1} other channel(s) in one queue: "
                                           f"{'the given staffing' if given is not None else 'the plan'} reaches "
                                           f"at least {low:.1%} within {_fmt(s.target.within)} every "
                                           f"{s.target.period} (target {s.target.target:.0%})")
            result.intervals[s.name] = _detail(s, ev, split[row]).assign(
                arrivals=arrivals[row], handled=iv["handled"].to_numpy() * share_of,
                backlog=iv["backlog"].to_numpy() * share_of, service_level=sl)
        else:
            frame = _rows(s, split[row], np.full(n, np.nan), None)
            result.explanations[s.name] = "pooled team: " + plan.explanation
        result.reachable[s.name] = reachable
        tables.append(frame)
    if evs is not None and (reachable or given is not None):
        team_eval = fluid.evaluate_backlog(pooled.volume, given * (1 - shrinkage) if given is not None
                                           else team_required, pooled.share, **pooled.common())
        result.days["team"] = team_eval.days
        result.weeks["team"] = team_eval.weeks
        hours = sum(s.proactive_hours for s in streams)
        if hours > 0:
            on_duty = given * (1 - shrinkage) if given is not None else team_required
            unit = pooled.unit()

            def busy_of(agents):
                return _busy_agents(fluid.evaluate_backlog(pooled.volume, agents, pooled.share, **pooled.common()), unit)

            extra, table, _ = _plan_proactive(index, on_duty, pooled.share > 0, hours, busy_of, planning=given is None)
            result.proactive["team"] = table
            if given is None and extra.any():
                team_required = team_required + extra
                tables[-1] = tables[-1].assign(agents_required=tables[-1]["agents_required"] + extra)
                tables[-1]["agents_scheduled"] = _scheduled(tables[-1]["agents_required"].to_numpy(dtype=float),
                                                            None, shrinkage)
            result.team_explanation = _proactive_sentence(table, given is None)
    team_scheduled = (_scheduled(team_required, None, shrinkage) if given is None
                      else _align_staffing(heads, index, "the team", first.step))
    _team_table(result, index, tables, team_required, team_scheduled)
    if not reachable:
        for s in streams:
            result.explanations[s.name] = "pooled team: " + plan.explanation
    return tables


def _period_codes(index: pd.DatetimeIndex, period: str) -> np.ndarray:
    local = index.tz_localize(None)
    if period == "day":
        return pd.factorize(local.normalize(), sort=True)[0]
    if period == "week":
        iso = local.isocalendar()
        return pd.factorize(iso["year"].astype(str) + "-" + iso["week"].astype(str), sort=True)[0]
    return np.arange(len(index))


def _channel_period_sl(evaluation, arrivals_channel, arrivals_total, codes) -> np.ndarray:
    iv = evaluation.intervals
    share_of = np.divide(arrivals_channel, arrivals_total, out=np.zeros(len(arrivals_total)), where=arrivals_total > 0)
    on = np.bincount(codes, iv["on_time"].to_numpy() * share_of)
    late = np.bincount(codes, iv["late"].to_numpy() * share_of)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(on + late > 1e-12, on / (on + late), np.nan)


def _fmt(delta) -> str:
    seconds = pd.Timedelta(delta).total_seconds()
    return f"{seconds:g} seconds" if seconds < 60 else f"{seconds / 60:g} minutes"
