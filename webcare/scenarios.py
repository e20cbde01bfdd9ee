"""Planning settings and scenarios: what the app's Staffing, Opening hours, Scenarios and KPIs
pages compute, without any UI.

A :class:`PlanSettings` holds what a planner sets (per channel the target, deadline, handle time
and concurrency; shrinkage, maximum occupancy, opening hours per weekday, the wage) plus the
variant knobs of a scenario (volume +x %, a chatbot deflecting x % of one channel, handle time
-x %, more or fewer agents). :func:`plan` turns a forecast and settings into required agents per
interval (``scheduling.requirements``); :func:`evaluate` adds the figures a manager compares:
cost, service level per ISO week, mean and p90 response time, peak backlog, hours open.

Settings are plain JSON-able dicts in the workspace (``to_dict``/``from_dict``), never pickled.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from scheduling.opening_hours import OpeningHours, parse_opening_hours
from scheduling.requirements import ServiceTarget, requirements

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = "08:00-22:00"


class SettingsError(ValueError):
    """Settings that cannot be used (names the field)."""


@dataclass
class ChannelPlan:
    target: float = 0.8            # share within the deadline
    within_minutes: float = 60.0
    aht_seconds: float = 300.0
    concurrency: float = 1.0


@dataclass
class PlanSettings:
    channels: dict[str, ChannelPlan]
    shrinkage: float = 0.3
    max_occupancy: float = 0.85
    opening: list[str] = field(default_factory=lambda: [DEFAULT_HOURS] * 7)
    wage_per_hour: float = 30.0
    period: str = "day"
    # scenario variants
    volume_change: float = 0.0                      # +0.2 = 20 % more messages
    deflection: dict[str, float] = field(default_factory=dict)   # channel -> share a chatbot takes
    aht_change: float = 0.0                         # -0.1 = handle time 10 % shorter
    agents_change: float = 0.0                      # +0.1 = 10 % more heads than the plan needs
    keep_staffing_of: str | None = None             # evaluate another scenario's staffing

    # -- (de)serialisation ---------------------------------------------------------------------

    def to_dict(self) -> dict:
        data = asdict(self)
        data["channels"] = {c: asdict(p) for c, p in self.channels.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "PlanSettings":
        data = dict(data)
        try:
            channels = {str(c): ChannelPlan(**{k: float(v) for k, v in p.items()}) for c, p in data.pop("channels").items()}
            known = {f for f in cls.__dataclass_fields__}
            settings = cls(channels=channels, **{k: v for k, v in data.items() if k in known})
        except (KeyError, TypeError, AttributeError) as exc:
            raise SettingsError(f"the saved settings cannot be read ({exc})") from None
        settings.validate()
        return settings

    def copy(self, **changes) -> "PlanSettings":
        return replace(PlanSettings.from_dict(self.to_dict()), **changes)

    # -- checks and derived objects ------------------------------------------------------------

    def validate(self) -> None:
        problems = []
        if not self.channels:
            problems.append("no channels")
        for name, p in self.channels.items():
            if not 0 < p.target <= 1:
                problems.append(f"{name}: target {p.target * 100:g}% is outside (0, 100]")
            if not p.within_minutes > 0:
                problems.append(f"{name}: the deadline must be longer than 0 minutes")
            if not p.aht_seconds > 0:
                problems.append(f"{name}: the handle time must be longer than 0 seconds")
            if not p.concurrency >= 1:
                problems.append(f"{name}: concurrency must be at least 1")
        if not 0 <= self.shrinkage < 1:
            problems.append(f"shrinkage {self.shrinkage * 100:g}% must be in [0, 100)")
        if not 0 < self.max_occupancy <= 1:
            problems.append(f"maximum occupancy {self.max_occupancy * 100:g}% must be in (0, 100]")
        if len(self.opening) != 7:
            problems.append("opening hours need 7 weekdays")
        if not self.volume_change > -1:
            problems.append("the volume change must be above -100%")
        if not self.aht_change > -1:
            problems.append("the handle-time change must be above -100%")
        if not self.agents_change >= -1:
            problems.append("the change in agents must be at least -100%")
        for channel, share in self.deflection.items():
            if not 0 <= share <= 1:
                problems.append(f"chatbot share of {channel} must be in [0, 100]%")
        if not self.wage_per_hour >= 0:
            problems.append("the wage must not be negative")
        if problems:
            raise SettingsError("; ".join(problems))
        self.opening_hours()

    def opening_hours(self) -> OpeningHours:
        """The weekly opening hours (each weekday's text: ``08:00-22:00``, ``08:00-12:00, 13:00-17:00``,
        ``closed`` or ``00:00-24:00``)."""
        clauses = []
        for key, text in zip(WEEKDAY_KEYS, self.opening):
            text = (text or "").strip().lower() or "closed"
            clauses.append(f"{key} {text}")
        try:
            return parse_opening_hours("; ".join(clauses))
        except ValueError as exc:
            raise SettingsError(f"opening hours: {exc}") from None

    def target(self, channel: str, period: str | None = None) -> ServiceTarget:
        p = self.channels[channel]
        return ServiceTarget(
            target=p.target, within=pd.Timedelta(minutes=p.within_minutes),
            aht_seconds=p.aht_seconds * (1 + self.aht_change), concurrency=p.concurrency,
            shrinkage=self.shrinkage, max_occupancy=self.max_occupancy, period=period or self.period,
        )

    def hours_open_per_week(self) -> float:
        hours = self.opening_hours()
        if hours.weekly is None:
            return 168.0
        return sum(w.minutes for day in hours.weekly for w in day) / 60.0


def default_settings(channels, aht_seconds: dict[str, float] | None = None) -> PlanSettings:
    """Settings for a team's channels: 80 % within 60 minutes, open 08:00-22:00, handle times
    from the data where known (else 5 minutes), chat-like private channels at concurrency 2."""
    aht_seconds = aht_seconds or {}
    plans = {}
    for c in channels:
        aht = aht_seconds.get(c)
        plans[c] = ChannelPlan(aht_seconds=round(float(aht)) if aht and np.isfinite(aht) and aht > 0 else 300.0,
                               concurrency=2.0 if c.lower() in ("whatsapp", "messenger", "chat") else 1.0)
    return PlanSettings(channels=plans)


def handle_times(messages: pd.DataFrame) -> dict[str, float]:
    """Mean handle time per channel [s] from message details (channels without any left out)."""
    if messages is None or messages.empty or messages["handle_time_seconds"].isna().all():
        return {}
    return messages.groupby("channel")["handle_time_seconds"].mean().dropna().to_dict()


# -- forecast adjustments --------------------------------------------------------------------


def volume_of(forecast: pd.DataFrame, settings: PlanSettings, column: str = "yhat") -> pd.DataFrame:
    """channel, ds, volume of the channels in ``settings``: the forecast scaled by the scenario's
    volume change, minus what a chatbot deflects."""
    missing = [c for c in settings.channels if c not in set(forecast["channel"])]
    if missing:
        raise SettingsError(f"the forecast has no channel(s) {', '.join(missing)}")
    part = forecast[forecast["channel"].isin(list(settings.channels))]
    factor = (1 + settings.volume_change) * (1 - part["channel"].map(lambda c: settings.deflection.get(c, 0.0)))
    return pd.DataFrame({"channel": part["channel"].to_numpy(), "ds": part["ds"].to_numpy(),
                         "volume": (part[column].astype(float).clip(lower=0) * factor).to_numpy()})


def apply_overrides(forecast: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """Scale every yhat* column on chosen local dates by (1 + percent / 100). ``overrides``: date
    (local), percent, channel (empty = all)."""
    out = forecast.copy()
    if overrides is None or overrides.empty:
        return out
    dates = out["ds"].dt.tz_localize(None).dt.normalize()
    cols = [c for c in out.columns if c.startswith("yhat")]
    for i, row in enumerate(overrides.itertuples(index=False), start=1):
        try:
            day = pd.Timestamp(row.date).normalize()
            pct = float(row.percent)
        except (TypeError, ValueError):
            raise SettingsError(f"override row {i}: give a date and a percentage") from None
        if pd.isna(day) or not np.isfinite(pct) or pct <= -100:
            raise SettingsError(f"override row {i}: give a date and a percentage above -100")
        mask = dates == day
        channel = getattr(row, "channel", None)
        if channel is not None and not pd.isna(channel) and str(channel).strip() not in ("", "all"):
            mask &= out["channel"] == str(channel).strip()
        out.loc[mask, cols] = out.loc[mask, cols] * (1 + pct / 100)
    return out


# -- plans and their evaluation --------------------------------------------------------------


@dataclass
class Plan:
    """Required staffing per 15-minute bucket and channel (``table``: the columns of
    ``scheduling.requirements.COLUMNS``), with per channel the explanation, whether the target is
    reachable every day, the daily figures and notes."""

    table: pd.DataFrame
    explanations: dict[str, str]
    reachable: dict[str, bool]
    days: dict[str, pd.DataFrame]
    notes: list[str]


def plan(forecast: pd.DataFrame, settings: PlanSettings, staffing: pd.DataFrame | None = None,
         column: str = "yhat") -> Plan:
    """Required agents per bucket per channel for ``settings``; with ``staffing`` (ds, agents
    [, channel]: heads on duty) also what that staffing reaches. A daily target that the opening
    hours make unreachable is planned per open bucket instead, with a note."""
    settings.validate()
    volume = volume_of(forecast, settings, column)
    tables, explanations, reachable, days, notes = [], {}, {}, {}, []
    for channel in settings.channels:
        part = volume[volume["channel"] == channel]
        heads = None
        if staffing is not None:
            heads = staffing[staffing["channel"] == channel] if "channel" in staffing else staffing
            heads = heads[["ds", "agents"]]
            if heads.empty:
                raise SettingsError(f"the staffing has no rows for channel {channel}")
        result = requirements(part, settings.target(channel), settings.opening_hours(), staffing=heads)
        explanation = result.explanations[channel]
        if not result.reachable[channel] and heads is None:
            fallback = requirements(part, settings.target(channel, period="bucket"), settings.opening_hours())
            notes.append(f"{channel}: {explanation}. Planned so that every open quarter-hour reaches the target instead.")
            result.table, result.days = fallback.table, fallback.days
            explanation = fallback.explanations[channel]
        tables.append(result.table)
        explanations[channel] = explanation
        reachable[channel] = bool(result.reachable[channel])
        if channel in result.days:
            days[channel] = result.days[channel]
    return Plan(pd.concat(tables, ignore_index=True), explanations, reachable, days, notes)


def staffing_of(plan_: Plan, change: float = 0.0) -> pd.DataFrame:
    """The heads a plan schedules (ds, channel, agents), times (1 + change), rounded."""
    t = plan_.table
    agents = np.round(t["agents_scheduled"].astype(float).fillna(0) * (1 + change))
    return pd.DataFrame({"ds": t["ds"], "channel": t["channel"], "agents": agents})


def _iso_week(dates) -> list[str]:
    iso = pd.DatetimeIndex(dates).isocalendar()
    return [f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"])]


@dataclass
class Evaluation:
    """What a scenario costs and reaches."""

    kpis: dict
    weeks: pd.DataFrame      # week, service_level, on_time, late, agent_hours, cost
    days: pd.DataFrame       # date, channel, the day table of the backlog model
    plan: Plan


def evaluate(forecast: pd.DataFrame, settings: PlanSettings, staffing: pd.DataFrame | None = None,
             column: str = "yhat") -> Evaluation:
    """Plan (or evaluate the given staffing) and summarise: cost (scheduled agent-hours x wage),
    service level overall and per ISO week, mean and p90 response time, peak backlog, hours open."""
    if staffing is None and settings.agents_change:
        base = plan(forecast, settings, column=column)
        staffing = staffing_of(base, settings.agents_change)
    result = plan(forecast, settings, staffing=staffing, column=column)
    t = result.table
    frames = [d.reset_index().rename(columns={"index": "date"}).assign(channel=c) for c, d in result.days.items()]
    days = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    bucket_hours = 0.25
    heads = t["agents_scheduled"].astype(float).fillna(0)
    scheduled_hours = float(heads.sum() * bucket_hours)
    t_days = t["ds"].dt.tz_localize(None).dt.normalize()
    hours_by_week = (heads * bucket_hours).groupby(_iso_week(t_days)).sum()
    if not days.empty:
        days["week"] = _iso_week(days["date"])
        decided = days["on_time"] + days["late"]
        weeks = days.groupby("week").agg(on_time=("on_time", "sum"), late=("late", "sum")).reset_index()
        weeks["service_level"] = weeks["on_time"] / (weeks["on_time"] + weeks["late"]).where(lambda s: s > 0)
        sl = float(days["on_time"].sum() / decided.sum()) if decided.sum() > 0 else float("nan")
        mean_resp = float(np.average(days["mean_response_minutes"].fillna(0), weights=decided)) if decided.sum() > 0 else float("nan")
        p90_resp = float(np.average(days["p90_response_minutes"].fillna(0), weights=decided)) if decided.sum() > 0 else float("nan")
        peak_backlog = float(days.groupby("date")["max_backlog"].sum().max())
        below = int((days.groupby("date").apply(lambda d: d["on_time"].sum() / max(d["on_time"].sum() + d["late"].sum(), 1e-12),
                                                include_groups=False) < min(p.target for p in settings.channels.values()) - 1e-9).sum())
    else:
        weeks = pd.DataFrame({"week": [], "on_time": [], "late": [], "service_level": []})
        sl = mean_resp = p90_resp = peak_backlog = float("nan")
        below = 0
    weeks["agent_hours"] = weeks["week"].map(hours_by_week).astype(float)
    weeks["cost"] = weeks["agent_hours"] * settings.wage_per_hour
    n_days = max(1, t_days.nunique())
    kpis = {
        "volume": float(t["volume"].sum()),
        "agent_hours": scheduled_hours,
        "cost": scheduled_hours * settings.wage_per_hour,
        "cost_per_week": scheduled_hours * settings.wage_per_hour * 7 / n_days,
        "service_level": sl,
        "mean_response_minutes": mean_resp,
        "p90_response_minutes": p90_resp,
        "peak_backlog": peak_backlog,
        "hours_open_per_week": settings.hours_open_per_week(),
        "days_below_target": below,
        "days": n_days,
    }
    return Evaluation(kpis, weeks, days, result)


def closed_share_by_hour(history: pd.DataFrame, opening: OpeningHours) -> pd.DataFrame:
    """Per local hour of the day: messages on average per day, and the share of them that arrive
    while the team is closed (from the history)."""
    from scheduling.opening_hours import open_fraction

    h = history.dropna(subset=["y"])
    total = h.groupby("ds")["y"].sum().astype(float)
    idx = pd.DatetimeIndex(total.index)
    share_open = open_fraction(idx, opening).to_numpy()
    frame = pd.DataFrame({"hour": idx.hour, "y": total.to_numpy(), "closed": total.to_numpy() * (1 - share_open)})
    n_days = max(1, pd.Series(idx.tz_localize(None).normalize()).nunique())
    out = frame.groupby("hour").sum()
    return pd.DataFrame({"hour": out.index, "per_day": out["y"].to_numpy() / n_days,
                         "closed_share": np.where(out["y"] > 0, out["closed"] / out["y"].where(out["y"] > 0, 1), 0.0)})


def backlog_at_opening(evaluation: Evaluation, opening: OpeningHours) -> pd.DataFrame:
    """Per weekday (0 = Monday): mean number of messages waiting (all channels) when the team
    opens, i.e. the backlog at the end of the quarter-hour before the first opening of the day."""
    t = evaluation.plan.table
    total = t.groupby("ds")["backlog"].sum(min_count=1)
    idx = pd.DatetimeIndex(total.index)
    wall = idx.tz_localize(None)
    position = pd.Series(np.arange(len(idx)), index=wall)
    rows = []
    for day in pd.DatetimeIndex(wall.normalize().unique()):
        windows = opening.windows_on(day)
        if not windows or windows[0].start_minute == 0:
            continue
        start = day + pd.Timedelta(minutes=windows[0].start_minute)
        if start not in position.index:
            continue
        p = int(position[start]) if np.ndim(position[start]) == 0 else int(position[start].iloc[0])
        if p == 0 or pd.isna(total.iloc[p - 1]):
            continue
        rows.append({"weekday": day.day_of_week, "waiting_at_opening": float(total.iloc[p - 1])})
    frame = pd.DataFrame(rows, columns=["weekday", "waiting_at_opening"])
    return frame.groupby("weekday", as_index=False)["waiting_at_opening"].mean()
