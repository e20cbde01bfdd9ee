"""Variability margin for the backlog model: plans that still reach the target with random arrivals.

The fluid backlog model (:mod:`scheduling.backlog`) is a mean-value model. Its *cheapest* plan
lets the backlog sit just under the deadline for hours with capacity equal to demand; random
arrivals and handle times turn that knife edge into a random walk, and the simulated service
level collapses (a week of the bundled sample, 80% planned: 48% simulated for all channels
pooled at 60 minutes, 21% for WhatsApp and 18% for Facebook at 15 minutes; docs/margin.md).

The margin here has two parts, both computed per bucket from the inputs alone (no simulation):

1. **Square-root occupancy cap.** Plan each bucket at a productive occupancy of at most

   .. math:: \\rho_t = \\max\\left(\\rho_{min},\\ 1 - \\frac{c}{\\sqrt{N_t}}\\right),
             \\qquad N_t = \\lambda_t \\cdot D

   with N_t the messages expected within one deadline window at the bucket's arrival rate
   lambda_t, D the deadline and c the margin's strength (default 0.8). The arrivals of one
   deadline window fluctuate by about sqrt(N) (Poisson), i.e. by 1/sqrt(N) of their mean, so the
   plan keeps about that share of its capacity free: a big team with a long deadline needs
   little (N = 100: 8%), a small team with a short one much more (N = 4: 40%). This is square-root safety staffing (Halfin & Whitt
   1981; He, Liu & Whitt 2016) on the deadline's time scale instead of the handle time's.
2. **Erlang C floor.** While open, at least the per-interval Erlang C staffing for the bucket's
   load with the deadline as the threshold and the target as the service level (and at least
   ``min_agents``): the randomness of very small teams (1 or 2 agents for X), which a share of
   capacity cannot express.

:func:`plan_with_margin` plans with :func:`scheduling.backlog.required_staffing` on top of the
floor (the floor enters as ``base_capacity``, so the agents above it are 1-minimal given the
floor) at the capped occupancy, and evaluates the plan both with the margin (the model's
conservative prediction) and without (the bare fluid model).

References
----------
.. [1] S. Halfin and W. Whitt, "Heavy-traffic limits for queues with many exponential servers",
   Operations Research 29(3):567-588, 1981.
.. [2] B. He, Y. Liu and W. Whitt, "Staffing a service system with non-Poisson non-stationary
   arrivals", Probability in the Engineering and Informational Sciences 30(4):593-621, 2016.
.. [3] L. V. Green, P. J. Kolesar and W. Whitt, "Coping with time-varying demand when setting
   staffing requirements for a service system", Production and Operations Management
   16(1):13-39, 2007.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scheduling import backlog as fluid
from scheduling import erlang
from scheduling.opening_hours import OpeningHours, open_fraction as _open_fraction_of

__all__ = [
    "DEFAULT_STRENGTH",
    "MIN_OCCUPANCY",
    "MarginPlan",
    "StaffingMargin",
    "plan_with_margin",
    "staffing_margin",
]

#: Default strength c of the square-root occupancy cap 1 - c / sqrt(messages per deadline).
#: Measured on the 15 cases of benchmarks/bench_margin.py (docs/margin.md): 0.7 is the smallest
#: value of 0.5, 0.6, 0.7, 0.8, 1.0 whose plans reach 80% on the simulated mean in every case
#: (80.4% at worst); 0.8 keeps a point of headroom (81.3% at worst; 80.7% on a week it was not
#: chosen on).
DEFAULT_STRENGTH = 0.8

#: Lowest planning occupancy the cap may set (buckets with almost no messages per deadline);
#: the Erlang C floor governs there.
MIN_OCCUPANCY = 0.3

# Erlang C cannot reach a service level of exactly 1; the floor uses at most this target.
_MAX_FLOOR_TARGET = 0.999


class MarginError(ValueError):
    """Bad input to the variability margin (a ValueError: the command line exits with status 2)."""


@dataclass(frozen=True)
class StaffingMargin:
    """The variability margin per bucket (see :func:`staffing_margin`).

    Attributes
    ----------
    floor : pandas.Series
        Whole productive agents at least per bucket: the Erlang C staffing while open (at least
        ``min_agents``), 0 while closed.
    occupancy : pandas.Series
        Planning occupancy factor per bucket in [MIN_OCCUPANCY, 1]: the plan's capacity is the
        fluid capacity (with the real ``max_occupancy``) times this.
    planning_aht_seconds : numpy.ndarray
        Handle time to plan with, aht / occupancy (the same thing expressed as slower work).
    messages_per_deadline : numpy.ndarray
        N_t = lambda_t x deadline, the messages expected within one deadline window.
    strength : float
        c in 1 - c / sqrt(N).
    explanation : str
        One sentence for the planner.
    """

    floor: pd.Series
    occupancy: pd.Series
    planning_aht_seconds: np.ndarray
    messages_per_deadline: np.ndarray
    strength: float
    explanation: str


@dataclass(frozen=True)
class MarginPlan:
    """A staffing plan with the variability margin (see :func:`plan_with_margin`).

    Attributes
    ----------
    agents : pandas.Series or None
        Whole productive agents per bucket (floor + the agents planned above it); None when the
        target is out of reach.
    reachable : bool
    explanation : str
        What the plan achieves and what the margin did, or why the target cannot be met.
    margin : StaffingMargin
    plan : scheduling.backlog.StaffingPlan
        :func:`scheduling.backlog.required_staffing` of the agents *above* the floor, with the
        margin (its ``periods`` hold the per-period service levels with the margin).
    evaluation : scheduling.backlog.BacklogResult or None
        The plan under the model with the margin (capped occupancy): the prediction to report.
    fluid_evaluation : scheduling.backlog.BacklogResult or None
        The plan under the bare fluid model (real occupancy): optimistic where the team is small
        or the deadline short.
    """

    agents: pd.Series | None
    reachable: bool
    explanation: str
    margin: StaffingMargin
    plan: fluid.StaffingPlan
    evaluation: fluid.BacklogResult | None
    fluid_evaluation: fluid.BacklogResult | None

    @property
    def service_level_range(self) -> tuple[float, float]:
        """(with the margin, without it): the simulated service level of the plan fell inside this
        range in every case measured (docs/margin.md); (nan, nan) when unreachable."""
        if self.evaluation is None or self.fluid_evaluation is None:
            return (float("nan"), float("nan"))
        return (self.evaluation.service_level, self.fluid_evaluation.service_level)

    @property
    def predicted_service_level(self) -> float:
        """The middle of :attr:`service_level_range`: the model's prediction for the plan over the
        horizon (within 3 points of the simulated mean in every case measured, where each end alone
        was off by up to 4)."""
        low, high = self.service_level_range
        return 0.5 * (low + high)


def _open_share(arrivals: pd.Series, open_fraction) -> np.ndarray:
    n = len(arrivals)
    if open_fraction is None:
        return np.ones(n)
    if isinstance(open_fraction, (OpeningHours, str)):
        index = pd.DatetimeIndex(arrivals.index)
        step = (index[1] - index[0]) if n > 1 else pd.Timedelta(index.freq)
        return _open_fraction_of(index, open_fraction, freq=step).to_numpy(dtype=float)
    share = fluid._broadcast("open_fraction", open_fraction, n, minimum=0.0, maximum=1.0,
                             index=arrivals.index)
    return share


def _bucket_seconds(arrivals: pd.Series) -> np.ndarray:
    try:
        return fluid.bucket_lengths(arrivals)
    except ValueError as exc:
        raise MarginError(str(exc)) from None


def staffing_margin(arrivals: pd.Series, open_fraction=None, *, aht_seconds, deadline, target,
                    concurrency=1.0, slowdown=None, max_occupancy=1.0, min_agents=1,
                    strength=DEFAULT_STRENGTH, min_occupancy=MIN_OCCUPANCY) -> StaffingMargin:
    r"""
    The variability margin per bucket: a planning occupancy cap and an Erlang C floor.

    Parameters
    ----------
    arrivals : pandas.Series
        Messages per bucket, tz-aware regular index (as :func:`scheduling.backlog.required_staffing`).
    open_fraction : array_like, pandas.Series, OpeningHours, str or None
        Open share per bucket or opening hours; None is open around the clock.
    aht_seconds : array_like
        Handle time of one message at concurrency 1 [s], scalar or per bucket.
    deadline : pandas.Timedelta or str
        Response-time deadline.
    target : float
        Share within the deadline, (0, 1].
    concurrency, slowdown, max_occupancy
        As in :func:`scheduling.backlog.required_staffing` (``max_occupancy`` is the real cap the
        agents work at; the margin plans below it).
    min_agents : int
        Whole agents at least while open (>= 0).
    strength : float
        c >= 0 in the cap 1 - c / sqrt(N); 0 switches the cap off (the floor remains).
    min_occupancy : float
        Lowest planning occupancy factor, (0, 1].

    Returns
    -------
    StaffingMargin

    Notes
    -----
    With concurrency k an agent holds k conversations, each taking s(k) = k / m(k) times the
    handle time (:func:`scheduling.backlog.concurrency_multiplier`); the Erlang C floor is computed on
    conversation slots (load lambda x AHT x s(k), handle time AHT x s(k), ``max_occupancy`` as
    Erlang C's occupancy limit, as ``webcare staff --model erlang-c`` does) and divided by k. The
    real occupancy cap's capacity loss is left to the fluid plan above the floor (dividing the
    floor by the cap too doubled X's staffing at cap 0.85: measured in docs/margin.md).
    """
    lengths = _bucket_seconds(arrivals)
    n = lengths.size
    a = fluid._nonnegative("arrivals", arrivals.to_numpy(dtype=float))
    share = _open_share(arrivals, open_fraction)
    aht = fluid._broadcast("aht_seconds", aht_seconds, n, positive=True, index=arrivals.index)
    deadline_s = fluid._deadline_seconds(deadline)
    target = float(target)
    if not 0 < target <= 1:
        raise MarginError("target must be a fraction in (0, 1], e.g. 0.8")
    strength = float(strength)
    if not (strength >= 0 and math.isfinite(strength)):
        raise MarginError("the margin's strength must be a number >= 0 (default 0.8)")
    if not 0 < float(min_occupancy) <= 1:
        raise MarginError("min_occupancy must be in (0, 1]")
    if int(min_agents) != min_agents or min_agents < 0:
        raise MarginError("min_agents must be a whole number >= 0")
    if not 0 < float(max_occupancy) <= 1:
        raise MarginError("max_occupancy must be in (0, 1]")
    k = float(concurrency)
    mult = float(fluid.concurrency_multiplier(k, slowdown))
    is_open = share > 0

    # 1. Square-root occupancy cap on the deadline's time scale.
    per_deadline = a / lengths * deadline_s
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = 1.0 - strength / np.sqrt(per_deadline)
    cap = np.where(per_deadline > 0, np.clip(cap, float(min_occupancy), 1.0), 1.0)

    # 2. Erlang C floor on conversation slots, threshold = deadline, service level = target.
    slot_aht = aht * k / mult
    load = a * slot_aht / lengths
    floor = np.zeros(n)
    busy = is_open & (load > 0)
    if busy.any():
        slots = erlang.required_agents(load[busy], slot_aht[busy], deadline_s,
                                       target_service_level=min(target, _MAX_FLOOR_TARGET),
                                       max_occupancy=float(max_occupancy))
        floor[busy] = np.ceil(np.asarray(slots, dtype=float) / k - 1e-9)
    floor = np.where(is_open, np.maximum(floor, int(min_agents)), 0.0)

    used = is_open & (a > 0)
    mean_cap = float(np.average(cap[used], weights=a[used])) if used.any() else 1.0
    minutes = deadline_s / 60.0
    text = (f"variability margin: planned at {1 - mean_cap:.0%} spare capacity on average "
            f"(1 - {strength:g}/sqrt(messages per {minutes:g} min), per interval, so that a random "
            f"surplus of messages does not push the queue past the deadline), and at least the "
            f"Erlang C staffing of every open interval")
    index = arrivals.index
    return StaffingMargin(pd.Series(floor, index=index, name="floor"), pd.Series(cap, index=index, name="occupancy"),
                          aht / cap, per_deadline, strength, text)


def plan_with_margin(arrivals: pd.Series, open_fraction=None, *, aht_seconds, deadline, target,
                     period="day", min_agents=1, concurrency=1.0, slowdown=None, max_occupancy=1.0,
                     initial_backlog=None, clock="real", max_agents=500, smoothing=True,
                     base_capacity=None, strength=DEFAULT_STRENGTH,
                     min_occupancy=MIN_OCCUPANCY) -> MarginPlan:
    r"""
    The backlog model's required staffing with the variability margin of :func:`staffing_margin`.

    Plans the agents above the Erlang C floor with :func:`scheduling.backlog.required_staffing`,
    the floor's capacity counted as ``base_capacity`` and every bucket's capacity multiplied by
    the margin's occupancy factor (as a planning handle time aht / factor). The result is the
    floor plus the agents planned; no agent above the floor can be removed without some period
    missing the target under the model with the margin.

    Parameters are those of :func:`scheduling.backlog.required_staffing`, plus ``strength`` and
    ``min_occupancy`` of :func:`staffing_margin` (``strength=0`` keeps only the Erlang C floor).

    Returns
    -------
    MarginPlan
    """
    margin = staffing_margin(arrivals, open_fraction, aht_seconds=aht_seconds, deadline=deadline,
                             target=target, concurrency=concurrency, slowdown=slowdown,
                             max_occupancy=max_occupancy, min_agents=min_agents, strength=strength,
                             min_occupancy=min_occupancy)
    share = _open_share(arrivals, open_fraction)
    n = len(arrivals)
    lengths = _bucket_seconds(arrivals)
    floor = margin.floor.to_numpy(dtype=float)
    plan_aht = margin.planning_aht_seconds
    rate = np.asarray(fluid.messages_per_agent(lengths, plan_aht, concurrency, slowdown, max_occupancy),
                      dtype=float)
    base = floor * share * rate
    given_base = None
    if base_capacity is not None:
        given_base = fluid._broadcast("base_capacity", base_capacity, n, minimum=0.0, index=arrivals.index)
        base = base + given_base
    if int(max_agents) != max_agents or max_agents < max(1, min_agents):
        raise MarginError("max_agents must be a whole number >= max(1, min_agents)")
    extra_cap = max(1, int(max_agents) - int(floor.max(initial=0)))
    plan = fluid.required_staffing(arrivals, share, aht_seconds=plan_aht, deadline=deadline, target=target,
                                   period=period, min_agents=0, concurrency=concurrency, slowdown=slowdown,
                                   max_occupancy=max_occupancy, initial_backlog=initial_backlog, clock=clock,
                                   max_agents=extra_cap, smoothing=smoothing, base_capacity=base)
    if plan.agents is None:
        return MarginPlan(None, False, plan.explanation + f" (with the {margin.explanation})", margin, plan,
                          None, None)
    agents = pd.Series(floor + plan.agents.to_numpy(dtype=float), index=arrivals.index, name="agents")
    common = dict(deadline=deadline, concurrency=concurrency, slowdown=slowdown, max_occupancy=max_occupancy,
                  initial_backlog=initial_backlog, clock=clock, base_capacity=given_base)
    with_margin = fluid.evaluate_backlog(arrivals, agents, share, aht_seconds=plan_aht, **common)
    bare = fluid.evaluate_backlog(arrivals, agents, share, aht_seconds=aht_seconds, **common)
    hours = float((agents.to_numpy() * share * lengths).sum() / 3600.0)
    floor_hours = float((floor * share * lengths).sum() / 3600.0)
    text = (f"{hours:.1f} productive agent-hours ({floor_hours:.1f} of them the Erlang C floor); every {period} "
            f"reaches {100 * float(target):.1f}% within the deadline with the {margin.explanation}; "
            f"over the horizon the model expects {50 * (with_margin.service_level + bare.service_level):.1f}% "
            f"(between {100 * with_margin.service_level:.1f}% with the margin and "
            f"{100 * bare.service_level:.1f}% without it)")
    if fluid.service_level_ceiling(arrivals, share, deadline=deadline, clock=clock) < 1.0:
        text += "; " + fluid.ceiling_explanation(arrivals, share, deadline=deadline, clock=clock)
    return MarginPlan(agents, bool(plan.reachable), text, margin, plan, with_margin, bare)
