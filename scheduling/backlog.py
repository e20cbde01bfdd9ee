"""The backlog (fluid FIFO) model: the primary capacity model for asynchronous channels.

Webcare messages are answered within 30-60 minutes, not seconds, and pile up while the team is
closed. Per-interval Erlang C misses what decides the service level there: the backlog carried
across intervals and days (the project's THEORY.md, sections 2-4). This module treats the
messages as a fluid over planning intervals ("buckets", normally 15 minutes):

- cumulative arrivals A(t) grow linearly inside each bucket (arrivals uniform in the bucket);
- cumulative completions S(t) grow at the bucket's capacity rate while there is a backlog, and
  follow the arrivals when there is none: S' = c(t) if A > S, else min(c(t), A');
- messages are served oldest first (FIFO), so the message arriving at u is answered at
  inf{x : S(x) >= A(u)} and waits W(u) = inf{x : S(x) >= A(u)} - u.

Both curves are piecewise linear (S has at most one kink inside a bucket: where the backlog
runs out), so every figure is computed exactly for the fluid: the share of a bucket's arrivals
answered within the deadline is an integral over linear pieces, not a sample.

Capacity of bucket t, in messages:
``capacity_t = agents_t x open_fraction_t x messages_per_agent_t``, with
``messages_per_agent = bucket_seconds x max_occupancy x concurrency_multiplier(k) / aht_seconds``
(:func:`messages_per_agent`). Capacity is 0 while closed. Inside a bucket the capacity (and the
open time, for the business clock) is spread evenly, like the arrivals.

Agents are **productive heads**: shrinkage (breaks, meetings, training, absence) is not applied
here. Divide by (1 - shrinkage) afterwards to get heads on the roster
(:func:`scheduling.erlang.apply_shrinkage`).

Concurrency: an agent holding k conversations works each one slower, so her throughput is
k / s(k) times that of one conversation at a time, with s(k) the relative handle time at
concurrency k (default 1 + 0.5 (k - 1); Luo & Zhang 2013, Campello, Ingolfsson & Shumsky 2017).

Messages still waiting at the end of the horizon are reported: counted late when they have
already waited longer than the deadline, undetermined (left out of every service level)
otherwise, since their outcome depends on staffing after the horizon.

The fluid is a mean-value model: a message is "answered" when the cumulative work reaches it,
its own handle time is not added to its response time, and random fluctuations are ignored.
Check it against a discrete-event simulation and add a variability margin where they differ
(THEORY.md section 3; He, Liu & Whitt 2016).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scheduling._jit import HAVE_NUMBA, njit as _njit
from scheduling.opening_hours import OpeningHours, open_fraction as _open_fraction_of

__all__ = [
    "BacklogResult",
    "CLOCKS",
    "DEFAULT_SLOWDOWN_PER_EXTRA_CONVERSATION",
    "StaffingPlan",
    "TARGET_PERIODS",
    "ceiling_explanation",
    "ceiling_table",
    "concurrency_multiplier",
    "evaluate_backlog",
    "fluid_fifo",
    "linear_slowdown",
    "messages_per_agent",
    "required_staffing",
    "service_level_ceiling",
]

#: Deadline clocks: ``"real"`` counts every minute (as the customer experiences it),
#: ``"business"`` counts only the minutes the team is open.
CLOCKS = ("real", "business")

#: Periods over which :func:`required_staffing` applies its service-level target.
TARGET_PERIODS = ("day", "week", "bucket")

#: Default growth of the handle time of one conversation per extra simultaneous conversation.
DEFAULT_SLOWDOWN_PER_EXTRA_CONVERSATION = 0.5

# A backlog (in messages) below this is treated as empty when the planner looks for the
# instants at which the system restarts from scratch.
_EMPTY = 1e-9
# Share-level tolerance when comparing a service level with a target.
_TARGET_TOLERANCE = 1e-9


# --------------------------------------------------------------------------------------------
# Service rate: handle time, concurrency, productive occupancy
# --------------------------------------------------------------------------------------------


def linear_slowdown(concurrency, per_extra_conversation=DEFAULT_SLOWDOWN_PER_EXTRA_CONVERSATION):
    r"""
    Default concurrency slowdown: the handle time of one conversation at concurrency k.

    .. math:: s(k) = 1 + \sigma (k - 1)

    relative to the handle time when the agent holds one conversation. With the default
    sigma = 0.5 an agent holding 2 conversations takes 1.5 x the handle time for each, so her
    throughput is 2 / 1.5 = 1.33 x, not 2 x; at 3 conversations 1.5 x; never more than
    1 + 1/sigma = 3 x. The value of sigma is a planning assumption, not a figure from the
    papers below: estimate it per channel from handle times observed at each concurrency.

    Parameters
    ----------
    concurrency : array_like
        Conversations held at once by one agent, k >= 1 (may be fractional: an average).
    per_extra_conversation : float
        sigma >= 0, the relative growth of the handle time per extra conversation.

    Returns
    -------
    slowdown : numpy.ndarray or float
        s(k) >= 1.

    References
    ----------
    .. [1] J. Luo and J. Zhang, "Staffing and control of instant messaging contact centers",
       Operations Research 61(2):328-343, 2013 (agents as limited processor-sharing servers:
       the service rate per customer falls with the number served).
    .. [2] F. Campello, A. Ingolfsson and R. A. Shumsky, "Queueing models of case managers",
       Management Science 63(3):882-900, 2017.
    """
    k = np.asarray(concurrency, dtype=float)
    if (k < 1).any() or np.isnan(k).any():
        raise ValueError("concurrency must be >= 1")
    if not per_extra_conversation >= 0:
        raise ValueError("per_extra_conversation must be >= 0")
    out = 1.0 + per_extra_conversation * (k - 1.0)
    return out[()] if out.ndim == 0 else out


def concurrency_multiplier(concurrency, slowdown=None):
    r"""
    Throughput of an agent holding k conversations, relative to one conversation at a time.

    .. math:: m(k) = \frac{k}{s(k)}

    where s(k) is the handle time of one conversation at concurrency k relative to k = 1
    (Luo & Zhang 2013 model the agent as a limited processor-sharing server whose per-customer
    service rate falls with k; Campello, Ingolfsson & Shumsky 2017 show caseload limits trade
    throughput against waiting). Dividing the load by k (m = k) overstates capacity; pass
    ``slowdown=lambda k: 1.0`` only if handle times really do not grow with concurrency.

    Parameters
    ----------
    concurrency : array_like
        k >= 1 conversations per agent.
    slowdown : callable, float or None
        s(k): a function of k returning the relative handle time (>= 1 in practice); a float
        sigma for :func:`linear_slowdown` with that sigma; None for the default linear slowdown
        (sigma = 0.5).

    Returns
    -------
    multiplier : numpy.ndarray or float
        m(k) > 0; 1 at k = 1 for any slowdown with s(1) = 1.

    References
    ----------
    .. [1] J. Luo and J. Zhang, "Staffing and control of instant messaging contact centers",
       Operations Research 61(2):328-343, 2013.
    .. [2] F. Campello, A. Ingolfsson and R. A. Shumsky, "Queueing models of case managers",
       Management Science 63(3):882-900, 2017.
    .. [3] T. Tezcan and J. Zhang, "Routing and staffing in customer service chat systems with
       impatient customers", Operations Research 62(4):943-956, 2014.
    """
    k = np.asarray(concurrency, dtype=float)
    if np.isnan(k).any() or (k < 1).any():
        raise ValueError("concurrency must be >= 1")
    if slowdown is None:
        s = linear_slowdown(k)
    elif callable(slowdown):
        s = np.asarray(slowdown(k), dtype=float)
    else:
        s = linear_slowdown(k, float(slowdown))
    s = np.asarray(s, dtype=float)
    if np.isnan(s).any() or (s <= 0).any() or np.isinf(s).any():
        raise ValueError("the concurrency slowdown must be positive and finite")
    out = k / s
    return out[()] if np.ndim(out) == 0 else out


def messages_per_agent(bucket_seconds, aht_seconds, concurrency=1.0, slowdown=None,
                       max_occupancy=1.0):
    r"""
    Messages one productive agent completes in one fully open bucket.

    .. math:: \mu = \frac{T \cdot \rho_{max} \cdot m(k)}{AHT}

    with T the bucket length, rho_max the productive occupancy cap (share of an open agent's
    time spent on messages), m(k) the concurrency multiplier (:func:`concurrency_multiplier`)
    and AHT the handle time of one message at concurrency 1.

    Parameters
    ----------
    bucket_seconds : array_like
        Bucket length [s], > 0 (900 for 15 minutes).
    aht_seconds : array_like
        Average handle time of one message at concurrency 1 [s], > 0.
    concurrency : array_like
        Conversations per agent, >= 1.
    slowdown : callable, float or None
        See :func:`concurrency_multiplier`.
    max_occupancy : array_like
        Productive occupancy cap, in (0, 1].

    Returns
    -------
    mu : numpy.ndarray or float
        Messages per agent per bucket.

    References
    ----------
    .. [1] The project's THEORY.md, section 3 (mu from AHT, concurrency and occupancy).
    .. [2] J. Luo and J. Zhang, Operations Research 61(2):328-343, 2013.
    """
    t = np.asarray(bucket_seconds, dtype=float)
    aht = np.asarray(aht_seconds, dtype=float)
    occ = np.asarray(max_occupancy, dtype=float)
    if np.isnan(aht).any() or (aht <= 0).any() or np.isinf(aht).any():
        raise ValueError("aht_seconds must be > 0 and finite")
    if np.isnan(occ).any() or (occ <= 0).any() or (occ > 1).any():
        raise ValueError("max_occupancy must be in (0, 1]")
    if np.isnan(t).any() or (t <= 0).any():
        raise ValueError("bucket_seconds must be > 0")
    out = t * occ * concurrency_multiplier(concurrency, slowdown) / aht
    return out[()] if np.ndim(out) == 0 else out


# --------------------------------------------------------------------------------------------
# The exact fluid FIFO kernel (numpy arrays, validated inputs)
# --------------------------------------------------------------------------------------------


def _lindley(net, initial):
    """Backlog at every bucket boundary: B_0 = initial, B_k = max(B_{k-1} + net_k, 0).

    Vectorised through the reflection identity B_k = X_k - min(-initial, min_{j<=k} X_j) with
    X the cumulative sum of ``net`` (arrivals minus capacity); an empty backlog is exactly 0.
    """
    x = np.concatenate([[0.0], np.cumsum(net)])
    backlog = x - np.minimum(-initial, np.minimum.accumulate(x))
    backlog[0] = initial
    return np.maximum(backlog, 0.0)


def _linear_share_at_most(w0, w1, limit):
    """Share of a linear piece from w0 to w1 on which the value is <= limit."""
    lo, hi = np.minimum(w0, w1), np.maximum(w0, w1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = (limit - lo) / (hi - lo)
    return np.where(hi <= limit, 1.0, np.where(lo > limit, 0.0, np.clip(inside, 0.0, 1.0)))


def _fluid_core(arrivals, capacity, lengths, initial, deadline, open_share=None,
                want_segments=True):
    """Exact fluid FIFO over one run of buckets (time measured in seconds from the start).

    ``open_share`` switches the deadline (and the reported waits) to the business clock.
    Returns per-bucket arrays and, with ``want_segments``, the linear pieces of the wait as a
    function of the message index (level), each inside the arrivals of one bucket.
    """
    n = arrivals.size
    bounds = np.concatenate([[0.0], np.cumsum(lengths)])
    cum_arrivals = initial + np.concatenate([[0.0], np.cumsum(arrivals)])
    backlog = _lindley(arrivals - capacity, initial)
    served = np.maximum.accumulate(np.minimum(cum_arrivals - backlog, cum_arrivals))

    # Completion curve: bucket boundaries interleaved with one point inside every bucket. A
    # bucket that starts with a backlog and has capacity above its arrivals serves at full
    # rate until the backlog runs out (after tau), then follows the arrivals; tau >= the bucket
    # puts the point on the bucket's end. Elsewhere S is linear: a collinear midpoint.
    b = backlog[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        draining = (b > 0) & (capacity > arrivals)
        tau = np.where(draining, np.clip(b * lengths / (capacity - arrivals), 0.0, lengths),
                       0.5 * lengths)
        inner = np.where(draining, served[:-1] + capacity * tau / lengths,
                         0.5 * (served[:-1] + served[1:]))
    inner = np.clip(inner, served[:-1], served[1:])
    curve_t = np.empty(2 * n + 1)
    curve_s = np.empty(2 * n + 1)
    curve_t[0::2], curve_t[1::2] = bounds, bounds[:-1] + tau
    curve_s[0::2], curve_s[1::2] = served, inner
    curve_s = np.maximum.accumulate(curve_s)
    served_end = curve_s[-1]

    if open_share is not None:
        clock_bounds = np.concatenate([[0.0], np.cumsum(open_share * lengths)])

        def clock(t):
            return np.interp(t, bounds, clock_bounds)
    else:
        def clock(t):
            return t

    # Oldest waiting message at the end of each bucket: the first unserved level.
    level = served[1:]
    has_backlog = backlog[1:] > _EMPTY
    k = np.clip(np.searchsorted(cum_arrivals, level, side="right") - 1, 0, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        arrived = np.where(level < initial, 0.0,
                           bounds[k] + (level - cum_arrivals[k]) * lengths[k] / arrivals[k])
    oldest = np.where(has_backlog, np.maximum(bounds[1:] - arrived, 0.0), 0.0)

    out = {
        "arrivals": arrivals,
        "capacity": capacity,
        "handled": np.diff(served),
        "backlog": backlog[1:],
        "oldest_age_seconds": oldest,
        "initial_backlog": initial,
        "open_at_end": backlog[-1],
        "initial_unserved": max(initial - served_end, 0.0),
    }

    # Level-space pieces: between consecutive breakpoints of A and S, both the arrival instant
    # and the completion instant are linear in the level, hence so is the wait.
    top = cum_arrivals[-1]
    levels = np.unique(np.clip(np.concatenate([cum_arrivals, curve_s]), initial, top))
    y0, y1 = levels[:-1], levels[1:]
    keep = (y1 - y0) > 1e-12 * max(1.0, top)
    y0, y1 = y0[keep], y1[keep]
    mid = 0.5 * (y0 + y1)
    bucket = np.clip(np.searchsorted(cum_arrivals, mid, side="right") - 1, 0, n - 1)
    rate_t = lengths[bucket] / np.where(arrivals[bucket] > 0, arrivals[bucket], 1.0)
    arr0 = bounds[bucket] + (y0 - cum_arrivals[bucket]) * rate_t
    arr1 = bounds[bucket] + (y1 - cum_arrivals[bucket]) * rate_t
    done = mid < served_end
    m = np.clip(np.searchsorted(curve_s, mid, side="right") - 1, 0, 2 * n - 1)
    ds = curve_s[m + 1] - curve_s[m]
    slope = np.where(done & (ds > 0), (curve_t[m + 1] - curve_t[m]) / np.where(ds > 0, ds, 1.0), 0.0)
    dep0 = curve_t[m] + (y0 - curve_s[m]) * slope
    dep1 = curve_t[m] + (y1 - curve_s[m]) * slope
    w0 = np.maximum(clock(dep0) - clock(arr0), 0.0)
    w1 = np.maximum(clock(dep1) - clock(arr1), 0.0)
    end_clock = clock(bounds[-1])
    age0 = end_clock - clock(arr0)
    age1 = end_clock - clock(arr1)
    size = y1 - y0
    limit = deadline * (1.0 + 1e-12) + 1e-9
    on_time = np.where(done, size * _linear_share_at_most(w0, w1, limit), 0.0)
    late = np.where(done, size - on_time, size * (1.0 - _linear_share_at_most(age0, age1, limit)))
    undetermined = np.where(done, 0.0, size - late)
    out["on_time"] = np.bincount(bucket, on_time, minlength=n)
    out["late"] = np.bincount(bucket, late, minlength=n)
    out["undetermined"] = np.bincount(bucket, undetermined, minlength=n)
    out["late_unserved"] = np.bincount(bucket, np.where(done, 0.0, late), minlength=n)
    if want_segments:
        out["segments"] = {
            "bucket": bucket,
            "size": np.where(done, size, 0.0),  # waits are known for answered messages only
            "w0": np.where(done, w0, 0.0),
            "w1": np.where(done, w1, 0.0),
            "level0": y0, "level1": y1, "arrival0": arr0, "arrival1": arr1,
            "answered": done,
        }
    return out


def _group_wait_stats(segments, groups, n_groups, quantile=0.9):
    """Mean and quantile of the waits of the answered messages of each group.

    Inside a piece the wait is uniform between its end values, so the group's distribution
    function is a weighted sum of clipped ramps; the quantile is found by bisection (64 halvings
    of the range: exact to rounding).
    """
    g = groups[segments["bucket"]]
    keep = (g >= 0) & (segments["size"] > 0)
    g, size = g[keep], segments["size"][keep]
    lo, hi = np.minimum(segments["w0"][keep], segments["w1"][keep]), \
        np.maximum(segments["w0"][keep], segments["w1"][keep])
    total = np.bincount(g, size, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(g, size * 0.5 * (lo + hi), minlength=n_groups) / total
    upper = np.zeros(n_groups)
    np.maximum.at(upper, g, hi)
    lower = np.zeros(n_groups)
    span = hi - lo
    flat = span <= 0
    for _ in range(64):
        middle = 0.5 * (lower + upper)
        x = middle[g]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(flat, (x >= lo).astype(float), np.clip((x - lo) / span, 0.0, 1.0))
        reached = np.bincount(g, size * share, minlength=n_groups) >= quantile * total * (1 - 1e-12)
        upper = np.where(reached, middle, upper)
        lower = np.where(reached, lower, middle)
    q = np.where(total > 0, upper, np.nan)
    mean = np.where(total > 0, mean, np.nan)
    return mean, q


def fluid_fifo(arrivals, capacity, bucket_seconds, deadline_seconds, *, initial_backlog=0.0,
               open_fraction=None, clock="real", quantile=0.9):
    r"""
    Exact fluid FIFO backlog model over consecutive buckets (plain numpy arrays).

    Cumulative arrivals A and completions S are piecewise linear; the message arriving at u is
    answered at :math:`\inf\{x : S(x) \ge A(u)\}` (oldest first) and counts as on time when
    its wait is at most the deadline. Arrivals and capacity are spread evenly inside a bucket;
    capacity is used whenever there is a backlog, so the backlog at the end of a bucket follows
    the Lindley recursion :math:`B_t = \max(B_{t-1} + a_t - c_t, 0)`.

    Messages still waiting at the end of the horizon are *late* when they have already waited
    longer than the deadline, and *undetermined* otherwise (their outcome depends on staffing
    after the horizon). Service levels count decided messages only:
    on_time / (on_time + late). Waits (mean, quantile) are those of the answered messages.

    Parameters
    ----------
    arrivals : array_like
        Messages arriving per bucket, >= 0.
    capacity : array_like
        Messages the team can complete per bucket (0 while closed), >= 0; see
        :func:`messages_per_agent`.
    bucket_seconds : array_like
        Length of every bucket [s], > 0 (scalar or per bucket).
    deadline_seconds : float
        Deadline [s], > 0.
    initial_backlog : float
        Messages waiting at the start, >= 0; they are taken as arriving at the start and are
        served first, but are not counted in any bucket's service level.
    open_fraction : array_like, optional
        Open share of every bucket; needed for ``clock="business"``.
    clock : {"real", "business"}
        Clock of the deadline and of the reported waits: every second, or open time only.
    quantile : float
        The wait quantile reported, in (0, 1) (0.9 for the 90th percentile).

    Returns
    -------
    dict of numpy.ndarray
        Per bucket: ``arrivals``, ``capacity``, ``handled``, ``backlog`` (at the end),
        ``oldest_age_seconds`` (real time, at the end), ``on_time``, ``late``,
        ``undetermined`` (messages of the bucket's arrivals), ``service_level``,
        ``mean_wait_seconds``, ``quantile_wait_seconds``; scalars ``open_at_end`` (all
        messages waiting at the end) and ``initial_unserved``.

    References
    ----------
    .. [1] The project's THEORY.md, section 3 (cumulative curves, FIFO wait, closed hours).
    .. [2] G. F. Newell, "Applications of Queueing Theory", 2nd ed., Chapman & Hall, 1982
       (deterministic fluid queues from cumulative arrival and departure curves).
    .. [3] D. V. Lindley, "The theory of queues with a single server", Proc. Cambridge Phil.
       Soc. 48(2):277-289, 1952.
    """
    a = _nonnegative("arrivals", arrivals)
    n = a.size
    c = _broadcast("capacity", capacity, n, minimum=0.0)
    h = _broadcast("bucket_seconds", bucket_seconds, n, positive=True)
    deadline = _positive_scalar("deadline_seconds", deadline_seconds)
    clock = _check_clock(clock)
    if not 0 < quantile < 1:
        raise ValueError("quantile must be in (0, 1)")
    initial = float(initial_backlog)
    if not initial >= 0 or not math.isfinite(initial):
        raise ValueError("initial_backlog must be >= 0")
    share = None
    if clock == "business":
        if open_fraction is None:
            raise ValueError("the business clock needs open_fraction")
        share = _broadcast("open_fraction", open_fraction, n, minimum=0.0, maximum=1.0)
    if n == 0:
        raise ValueError("at least one bucket is needed")
    out = _fluid_core(a, c, h, initial, deadline, share)
    mean, q = _group_wait_stats(out.pop("segments"), np.arange(n), n, quantile)
    decided = out["on_time"] + out["late"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["service_level"] = np.where(decided > 0, out["on_time"] / decided, np.nan)
    out["mean_wait_seconds"] = mean
    out["quantile_wait_seconds"] = q
    return out


# --------------------------------------------------------------------------------------------
# Compiled planner kernels (numba): the same exact fluid FIFO, sequentially, for the many small
# trial evaluations of :func:`required_staffing`. Without numba the numpy planner is used.
# --------------------------------------------------------------------------------------------


@_njit(cache=True, nogil=True)
def _nb_counts(a, cap, lens, share, business, initial, deadline, on, late, scratch):
    """On-time and late messages per bucket of one run of buckets (written into ``on``, ``late``).

    The same exact fluid FIFO as :func:`_fluid_core` (piecewise linear cumulative curves, the
    completion curve with one kink per bucket), walked with two pointers in level space instead
    of sorting all breakpoints. ``scratch`` holds at least 7 (n + 1) floats.
    """
    none = np.zeros(0)
    _nb_counts_core(a, cap, lens, share, business, initial, deadline, on, late, scratch, False,
                    np.zeros(0, dtype=np.int64), none, none, none, none, none, none, 0.0)


@_njit(cache=True, nogil=True)
def _nb_finalise(kk, period, on, late, old_on, old_late, counts_on, counts_late, d_on, d_late,
                 target):
    """Add bucket kk's final change to its period; False when that period now misses."""
    q = period[kk]
    if q < 0:
        return True
    d_on[q] += on[kk] - old_on[kk]
    d_late[q] += late[kk] - old_late[kk]
    o = counts_on[q] + d_on[q]
    decided = o + counts_late[q] + d_late[q]
    return not (decided > 0.0 and o < (target - _TARGET_TOLERANCE) * decided)


@_njit(cache=True, nogil=True)
def _nb_counts_core(a, cap, lens, share, business, initial, deadline, on, late, scratch, check,
                    period, old_on, old_late, counts_on, counts_late, d_on, d_late, target):
    """:func:`_nb_counts`; with ``check`` (for capacity that only went down, so that every
    bucket's on-time count can only fall and its late count only rise) it accumulates each
    bucket's change into d_on / d_late (zeroed by the caller) as soon as the bucket is final and
    returns False at the first period that misses the target: the rest need not be computed."""
    n = a.size
    T = scratch[0:n + 1]
    CB = scratch[n + 1:2 * n + 2]
    A = scratch[2 * n + 2:3 * n + 3]
    S = scratch[3 * n + 3:4 * n + 4]
    tau = scratch[4 * n + 4:5 * n + 5]
    inner = scratch[5 * n + 5:6 * n + 6]
    T[0] = 0.0
    CB[0] = 0.0
    A[0] = initial
    S[0] = 0.0
    b = initial
    for k in range(n):
        L = lens[k]
        T[k + 1] = T[k] + L
        CB[k + 1] = CB[k] + (share[k] * L if business else L)
        A[k + 1] = A[k] + a[k]
        nb = b + a[k] - cap[k]
        if nb < 0.0:
            nb = 0.0
        s = A[k + 1] - nb
        if s > A[k + 1]:
            s = A[k + 1]
        if s < S[k]:
            s = S[k]
        S[k + 1] = s
        if b > 0.0 and cap[k] > a[k]:
            t = b * L / (cap[k] - a[k])
            if t > L:
                t = L
            tau[k] = t
            v = S[k] + cap[k] * t / L
        else:
            tau[k] = 0.5 * L
            v = 0.5 * (S[k] + S[k + 1])
        if v < S[k]:
            v = S[k]
        if v > S[k + 1]:
            v = S[k + 1]
        inner[k] = v
        b = nb
        on[k] = 0.0
        late[k] = 0.0
    limit = deadline * (1.0 + 1e-12) + 1e-9
    send = S[n]
    top = A[n]
    y = initial
    k = 0
    j = 0
    h = 0
    while y < send and y < top:
        while k < n and A[k + 1] <= y:
            if check and not _nb_finalise(k, period, on, late, old_on, old_late, counts_on,
                                          counts_late, d_on, d_late, target):
                return False
            k += 1
        if k >= n:
            break
        # the completion piece holding level y
        found = False
        while j < n:
            if h == 0:
                s0, s1, t0, t1 = S[j], inner[j], T[j], T[j] + tau[j]
            else:
                s0, s1, t0, t1 = inner[j], S[j + 1], T[j] + tau[j], T[j + 1]
            if s1 > y:
                found = True
                break
            if h == 0:
                h = 1
            else:
                h = 0
                j += 1
        if not found:
            break
        y1 = A[k + 1]
        if s1 < y1:
            y1 = s1
        if send < y1:
            y1 = send
        if y1 <= y:
            break
        rate = lens[k] / a[k]
        u0 = T[k] + (y - A[k]) * rate
        u1 = T[k] + (y1 - A[k]) * rate
        slope = (t1 - t0) / (s1 - s0)
        d0 = t0 + (y - s0) * slope
        d1 = t0 + (y1 - s0) * slope
        d0 = min(max(d0, t0), t1)
        d1 = min(max(d1, t0), t1)
        if business:
            cu0 = CB[k] + share[k] * (u0 - T[k])
            cu1 = CB[k] + share[k] * (u1 - T[k])
            cd0 = CB[j] + share[j] * (d0 - T[j])
            cd1 = CB[j] + share[j] * (d1 - T[j])
        else:
            cu0, cu1, cd0, cd1 = u0, u1, d0, d1
        w0 = max(cd0 - cu0, 0.0)
        w1 = max(cd1 - cu1, 0.0)
        size = y1 - y
        frac = _nb_share_at_most(w0, w1, limit)
        on[k] += size * frac
        late[k] += size * (1.0 - frac)
        y = y1
    # Messages still waiting at the end: late when already past the deadline.
    if y < top:
        end_clock = CB[n]
        while k < n:
            lo = max(A[k], y)
            hi = A[k + 1]
            if hi > lo and a[k] > 0.0:
                rate = lens[k] / a[k]
                u0 = T[k] + (lo - A[k]) * rate
                u1 = T[k] + (hi - A[k]) * rate
                if business:
                    u0 = CB[k] + share[k] * (u0 - T[k])
                    u1 = CB[k] + share[k] * (u1 - T[k])
                late[k] += (hi - lo) * (1.0 - _nb_share_at_most(end_clock - u0, end_clock - u1, limit))
            if check and not _nb_finalise(k, period, on, late, old_on, old_late, counts_on,
                                          counts_late, d_on, d_late, target):
                return False
            k += 1
    return True


@_njit(cache=True, nogil=True)
def _nb_share_at_most(w0, w1, limit):
    lo = min(w0, w1)
    hi = max(w0, w1)
    if hi <= limit:
        return 1.0
    if lo > limit:
        return 0.0
    v = (limit - lo) / (hi - lo)
    return min(max(v, 0.0), 1.0)


@_njit(cache=True, nogil=True)
def _nb_lindley_state(a, cap, initial, backlog, on, late, handled, lens, share, business,
                      deadline, scratch):
    """Full run: backlog at every boundary, on time / late / handled per bucket."""
    m = a.size
    b = initial
    backlog[0] = b
    for i in range(m):
        nb = b + a[i] - cap[i]
        if nb < 0.0:
            nb = 0.0
        backlog[i + 1] = nb
        handled[i] = a[i] + b - nb
        b = nb
    _nb_counts(a, cap, lens, share, business, initial, deadline, on, late, scratch)


@_njit(cache=True, nogil=True)
def _nb_trial(pos, vals, a, cum, unit, base, lens, share, business, deadline, backlog, cap, on,
              late, period, new_cap, new_backlog, new_on, new_late, d_on, d_late, scratch,
              check, counts_on, counts_late, target):
    """Exact effect of new agent counts at run positions ``pos`` on a local window.

    Nothing changes before the first changed bucket; of the messages that arrived before it,
    only those still waiting at its start can be affected, so the window starts at the bucket
    ``w0`` holding the oldest of them (its backlog at that boundary, all older messages, is
    served first, before the change). It ends at the first boundary ``k`` after the last change
    at which both the old and the new backlog are empty: from there on nothing differs.
    ``cum`` is the cumulative arrivals at the boundaries (the initial backlog first). Returns
    (w0, k, pmin, pmax): the window and the range of periods it touches, whose changes in
    on-time and late counts are left in d_on, d_late. With ``check`` (only for lowered
    capacity) it stops at the first period that misses ``target`` and returns k = -1."""
    m = a.size
    first = pos[0]
    last = pos[0]
    for p in range(pos.size):
        first = min(first, pos[p])
        last = max(last, pos[p])
    served = cum[first] - backlog[first]
    w0 = np.searchsorted(cum, served, side="right") - 1
    if w0 < 0:
        w0 = 0
    if w0 > first:
        w0 = first
    start = backlog[w0]
    for i in range(w0, last + 1):
        new_cap[i] = cap[i]
    for i in range(w0, first + 1):
        new_backlog[i] = backlog[i]
    for p in range(pos.size):
        new_cap[pos[p]] = vals[p] * unit[pos[p]] + base[pos[p]]
    b = backlog[first]
    k = m
    for i in range(first, m):
        if i > last:
            new_cap[i] = cap[i]
        b = b + a[i] - new_cap[i]
        if b < 0.0:
            b = 0.0
        new_backlog[i + 1] = b
        if i >= last and b <= _EMPTY and backlog[i + 1] <= _EMPTY:
            k = i + 1
            break
    pmin = period.size + d_on.size
    pmax = -1
    for i in range(w0, k):
        q = period[i]
        if q >= 0:
            pmin = min(pmin, q)
            pmax = max(pmax, q)
    if check:
        for q in range(pmin, pmax + 1):
            d_on[q] = 0.0
            d_late[q] = 0.0
        full = _nb_counts_core(a[w0:k], new_cap[w0:k], lens[w0:k], share[w0:k], business, start,
                               deadline, new_on[w0:k], new_late[w0:k], scratch, True, period[w0:k],
                               on[w0:k], late[w0:k], counts_on, counts_late, d_on, d_late, target)
        if not full:
            return w0, -1, pmin, pmax
    else:
        _nb_counts(a[w0:k], new_cap[w0:k], lens[w0:k], share[w0:k], business, start, deadline,
                   new_on[w0:k], new_late[w0:k], scratch)
    for q in range(pmin, pmax + 1):
        d_on[q] = 0.0
        d_late[q] = 0.0
    for i in range(w0, k):
        q = period[i]
        if q >= 0:
            d_on[q] += new_on[i] - on[i]
            d_late[q] += new_late[i] - late[i]
    return w0, k, pmin, pmax


@_njit(cache=True, nogil=True)
def _nb_ok(pmin, pmax, counts_on, counts_late, d_on, d_late, target):
    for q in range(pmin, pmax + 1):
        o = counts_on[q] + d_on[q]
        decided = o + counts_late[q] + d_late[q]
        if decided > 0.0 and o < (target - _TARGET_TOLERANCE) * decided:
            return False
    return True


@_njit(cache=True, nogil=True)
def _nb_accept(w0, k, pmin, pmax, cap, backlog, on, late, new_cap, new_backlog, new_on,
               new_late, counts_on, counts_late, d_on, d_late):
    for i in range(w0, k):
        cap[i] = new_cap[i]
        on[i] = new_on[i]
        late[i] = new_late[i]
    for i in range(w0, k + 1):
        backlog[i] = new_backlog[i]
    for q in range(pmin, pmax + 1):
        counts_on[q] += d_on[q]
        counts_late[q] += d_late[q]


@_njit(cache=True, nogil=True)
def _nb_positions(ptr, idx, buckets, values):
    total = 0
    for b in buckets:
        total += ptr[b + 1] - ptr[b]
    pos = np.empty(total, dtype=np.int64)
    vals = np.empty(total)
    at = 0
    for r in range(buckets.size):
        b = buckets[r]
        for i in range(ptr[b], ptr[b + 1]):
            pos[at] = idx[i]
            vals[at] = values[r]
            at += 1
    return pos, vals


@_njit(cache=True, nogil=True)
def _nb_smooth(agents, floor, is_open, ptr, idx, target, a, cum, unit, base, lens, share, business,
               deadline, backlog, cap, on, late, period, counts_on, counts_late, new_cap,
               new_backlog, new_on, new_late, d_on, d_late, scratch):
    """Step 5 of :func:`required_staffing` on the compiled state."""
    n = agents.size
    two = np.empty(2, dtype=np.int64)
    twoval = np.empty(2)
    moved = True
    while moved:
        moved = False
        by_size = np.argsort(-agents, kind="mergesort")
        for t in by_size:
            for s in (t - 1, t + 1):
                if s < 0 or s >= n or not is_open[s] or agents[t] - 1 < floor[t]:
                    continue
                if agents[t] - agents[s] < 2:
                    continue
                two[0] = t
                two[1] = s
                twoval[0] = agents[t] - 1
                twoval[1] = agents[s] + 1
                pos, vals = _nb_positions(ptr, idx, two, twoval)
                w0, k, pmin, pmax = _nb_trial(pos, vals, a, cum, unit, base, lens, share, business,
                                              deadline, backlog, cap, on, late, period, new_cap,
                                              new_backlog, new_on, new_late, d_on, d_late,
                                              scratch, False, counts_on, counts_late, target)
                if _nb_ok(pmin, pmax, counts_on, counts_late, d_on, d_late, target):
                    _nb_accept(w0, k, pmin, pmax, cap, backlog, on, late, new_cap, new_backlog,
                               new_on, new_late, counts_on, counts_late, d_on, d_late)
                    agents[t] -= 1
                    agents[s] += 1
                    moved = True


@_njit(cache=True, nogil=True)
def _nb_trim(order, agents, floor, ptr, idx, target, a, cum, unit, base, lens, share, business,
             deadline, backlog, cap, on, late, period, counts_on, counts_late, new_cap,
             new_backlog, new_on, new_late, d_on, d_late, scratch):
    """Step 4 (and 6) of :func:`required_staffing` on the compiled state: lower each bucket, in
    ``order``, as far as every period still meets the target (bisection on that bucket)."""
    one = np.empty(1, dtype=np.int64)
    oneval = np.empty(1)
    w0 = k = pmin = pmax = 0
    for t in order:
        if agents[t] <= floor[t]:
            continue
        one[0] = t
        lo = floor[t] - 1
        hi = agents[t]
        last_ok = False
        value = agents[t] - 1
        while True:
            oneval[0] = value
            pos, vals = _nb_positions(ptr, idx, one, oneval)
            w0, k, pmin, pmax = _nb_trial(pos, vals, a, cum, unit, base, lens, share, business,
                                          deadline, backlog, cap, on, late, period, new_cap,
                                          new_backlog, new_on, new_late, d_on, d_late, scratch,
                                          True, counts_on, counts_late, target)
            last_ok = k >= 0 and _nb_ok(pmin, pmax, counts_on, counts_late, d_on, d_late, target)
            if last_ok:
                hi = value
            else:
                lo = value
            if hi == agents[t] or hi - lo <= 1:
                break
            value = (lo + hi) // 2
        if hi == agents[t]:
            continue
        if not last_ok:
            oneval[0] = hi
            pos, vals = _nb_positions(ptr, idx, one, oneval)
            w0, k, pmin, pmax = _nb_trial(pos, vals, a, cum, unit, base, lens, share, business,
                                          deadline, backlog, cap, on, late, period, new_cap,
                                          new_backlog, new_on, new_late, d_on, d_late, scratch,
                                          False, counts_on, counts_late, target)
        _nb_accept(w0, k, pmin, pmax, cap, backlog, on, late, new_cap, new_backlog, new_on,
                   new_late, counts_on, counts_late, d_on, d_late)
        agents[t] = hi


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _nonnegative(name, values):
    array = np.asarray(values, dtype=float).ravel()
    if np.isnan(array).any() or np.isinf(array).any():
        raise ValueError(f"{name} must be finite numbers (no NaN)")
    if (array < 0).any():
        raise ValueError(f"{name} must be >= 0")
    return array


def _broadcast(name, values, n, *, minimum=None, maximum=None, positive=False, index=None):
    if isinstance(values, pd.Series) and index is not None:
        if not values.index.equals(index):
            values = values.reindex(index)
            if values.isna().any():
                raise ValueError(f"{name} does not cover every interval of the arrivals")
        values = values.to_numpy(dtype=float)
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        array = np.full(n, float(array))
    array = array.ravel()
    if array.size != n:
        raise ValueError(f"{name} has {array.size} values for {n} intervals")
    if np.isnan(array).any() or np.isinf(array).any():
        raise ValueError(f"{name} must be finite numbers (no NaN)")
    if positive and (array <= 0).any():
        raise ValueError(f"{name} must be > 0")
    if minimum is not None and (array < minimum).any():
        raise ValueError(f"{name} must be >= {minimum}")
    if maximum is not None and (array > maximum).any():
        raise ValueError(f"{name} must be <= {maximum}")
    return array


def _positive_scalar(name, value):
    value = float(value)
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be > 0")
    return value


def _check_clock(clock):
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {CLOCKS}, got {clock!r}")
    return clock


def _deadline_seconds(deadline) -> float:
    if isinstance(deadline, (int, float, np.number)) and not isinstance(deadline, bool):
        raise ValueError("deadline must be a duration (pandas Timedelta or text such as '60min'), "
                         "not a bare number")
    try:
        value = pd.Timedelta(deadline)
    except (TypeError, ValueError):
        raise ValueError(f"cannot read deadline {deadline!r} as a duration") from None
    if pd.isna(value) or value <= pd.Timedelta(0):
        raise ValueError("deadline must be > 0")
    return value.total_seconds()


# --------------------------------------------------------------------------------------------
# pandas layer: intervals, opening hours, warm-up, days and weeks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    index: pd.DatetimeIndex
    arrivals: np.ndarray
    lengths: np.ndarray
    open: np.ndarray
    rate: np.ndarray          # messages per agent per fully open bucket
    deadline: float
    clock: str


def bucket_lengths(arrivals) -> np.ndarray:
    """The length [s] of every bucket of ``arrivals`` (a Series on a regular, strictly increasing,
    time-zone-aware DatetimeIndex; the last bucket as long as the others, or as the index's freq
    when there is one bucket); ValueError naming what is wrong otherwise."""
    if not isinstance(arrivals, pd.Series) or not isinstance(arrivals.index, pd.DatetimeIndex):
        raise ValueError("arrivals must be a pandas Series indexed by interval start (DatetimeIndex)")
    index = arrivals.index
    if index.tz is None:
        raise ValueError("the arrivals' index must be time-zone aware (the team's local zone)")
    if len(index) == 0:
        raise ValueError("arrivals is empty")
    starts = index.as_unit("ns").asi8
    if len(index) > 1 and (np.diff(starts) <= 0).any():
        raise ValueError("the arrivals' index must be strictly increasing")
    if len(index) > 1:
        step_ns = int(np.median(np.diff(starts)))
    elif index.freq is not None:
        step_ns = pd.Timedelta(index.freq).value
    else:
        raise ValueError("cannot tell the interval length of a single interval: give the index a freq")
    lengths = np.diff(np.concatenate([starts, [starts[-1] + step_ns]])) / 1e9
    if len(index) > 1 and not np.allclose(lengths, lengths[0]):
        raise ValueError("the arrivals' index must be regular (no missing intervals)")
    return lengths


def _prepare(arrivals, open_fraction, *, aht_seconds, deadline, concurrency, slowdown,
             max_occupancy, clock) -> _Inputs:
    lengths = bucket_lengths(arrivals)
    index = arrivals.index
    step_ns = int(round(lengths[-1] * 1e9))  # the step bucket_lengths used for the last bucket
    a = _nonnegative("arrivals", arrivals.to_numpy(dtype=float))
    n = a.size
    if open_fraction is None:
        share = np.ones(n)
    elif isinstance(open_fraction, (OpeningHours, str)):
        share = _open_fraction_of(index, open_fraction, freq=pd.Timedelta(step_ns, unit="ns")).to_numpy()
    else:
        share = _broadcast("open_fraction", open_fraction, n, minimum=0.0, maximum=1.0, index=index)
    aht = _broadcast("aht_seconds", aht_seconds, n, positive=True, index=index)
    rate = messages_per_agent(lengths, aht, concurrency, slowdown, max_occupancy)
    rate = np.broadcast_to(np.asarray(rate, dtype=float), (n,)).copy()
    return _Inputs(index, a, lengths, share, rate, _deadline_seconds(deadline), _check_clock(clock))


def _warmup_positions(index: pd.DatetimeIndex, lengths: np.ndarray) -> np.ndarray:
    """Positions of the horizon's buckets replayed, in order, as the week before the start.

    The horizon's first local week (the buckets before the same wall-clock time 7 days after
    the start) is replayed; a horizon shorter than a week is repeated whole until it covers one.
    """
    week_end = index[0] + pd.DateOffset(days=7)
    first_week = int(index.searchsorted(week_end, side="left"))
    n = len(index)
    if first_week < n:
        return np.arange(first_week)
    repeats = max(1, math.ceil(7 * 86400 / float(np.sum(lengths))))
    return np.tile(np.arange(n), repeats)


def _local_days(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return index.tz_localize(None).normalize()


def _iso_weeks(index: pd.DatetimeIndex) -> np.ndarray:
    iso = _local_days(index).isocalendar()
    return np.asarray([f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"])])


@dataclass(frozen=True)
class BacklogResult:
    """What a staffing achieves under the fluid FIFO backlog model.

    Attributes
    ----------
    intervals : pandas.DataFrame
        Per bucket (indexed like the arrivals): ``arrivals``, ``agents``, ``open_fraction``,
        ``capacity``, ``handled``, ``backlog`` (at the end), ``oldest_age_minutes`` (age of the
        oldest waiting message at the end, real time), ``on_time``, ``late``, ``undetermined``
        (messages of the bucket's arrivals), ``service_level`` (on_time / (on_time + late)),
        ``mean_response_minutes``, ``p90_response_minutes`` (of the bucket's answered
        arrivals, on the deadline's clock).
    days, weeks : pandas.DataFrame
        The same per local day (00:00-23:59; a day's service level counts the messages that
        arrived that day) and per ISO week (index ``"2025-W10"``), with ``agent_hours``
        (productive agent-hours while open), ``backlog_end``, ``max_backlog`` and
        ``max_oldest_age_minutes``.
    initial_backlog : float
        Messages waiting at the start (given, or from the warm-up week).
    open_at_end, late_at_end, undetermined_at_end : float
        Messages still waiting at the end of the horizon; of the horizon's arrivals among them,
        those already past the deadline (counted late) and those not yet (undetermined:
        excluded from every service level).
    service_level : float
        On time / decided messages over the whole horizon.
    clock : str
        ``"real"`` or ``"business"``.
    """

    intervals: pd.DataFrame
    days: pd.DataFrame
    weeks: pd.DataFrame
    initial_backlog: float
    open_at_end: float
    late_at_end: float
    undetermined_at_end: float
    service_level: float
    clock: str


def _extend_with_warmup(inputs: _Inputs, initial_backlog):
    """Arrays of the run (warm-up week first when no initial backlog is given)."""
    if initial_backlog is None:
        positions = _warmup_positions(inputs.index, inputs.lengths)
        start = positions.size
        take = np.concatenate([positions, np.arange(inputs.arrivals.size)])
        return start, take, 0.0
    initial = float(initial_backlog)
    if not initial >= 0 or not math.isfinite(initial):
        raise ValueError("initial_backlog must be >= 0 (or None for the warm-up week)")
    return 0, np.arange(inputs.arrivals.size), initial


def _aggregate(frame: pd.DataFrame, keys, segments, run_length, offset, quantile=0.9):
    """Sum a per-bucket frame into periods, with exact wait statistics per period."""
    codes, labels = pd.factorize(pd.Index(keys), sort=True)
    n_groups = len(labels)
    run_groups = np.full(run_length, -1)
    run_groups[offset:] = codes
    sums = frame[["arrivals", "capacity", "handled", "on_time", "late", "undetermined"]] \
        .groupby(codes).sum()
    hours = (frame["agents"] * frame["open_fraction"] * frame["_length_hours"]).groupby(codes).sum()
    grouped = frame.groupby(codes)
    table = pd.DataFrame(index=labels)
    for column in ("arrivals", "capacity", "handled", "on_time", "late", "undetermined"):
        table[column] = sums[column].to_numpy()
    table["agent_hours"] = hours.to_numpy()
    decided = table["on_time"] + table["late"]
    safe = decided.where(decided > 0, 1.0)
    table["service_level"] = np.where(decided > 0, table["on_time"] / safe, np.nan)
    mean, q = _group_wait_stats(segments, run_groups, n_groups, quantile)
    table["mean_response_minutes"] = mean / 60.0
    table["p90_response_minutes"] = q / 60.0
    table["backlog_end"] = grouped["backlog"].last().to_numpy()
    table["max_backlog"] = grouped["backlog"].max().to_numpy()
    table["max_oldest_age_minutes"] = grouped["oldest_age_minutes"].max().to_numpy()
    return table


def _run(inputs: _Inputs, agents_run, take, initial, want_segments=True, base=None):
    capacity = agents_run * inputs.open[take] * inputs.rate[take]
    if base is not None:
        capacity = capacity + base[take]
    share = inputs.open[take] if inputs.clock == "business" else None
    return _fluid_core(inputs.arrivals[take], capacity, inputs.lengths[take], initial,
                       inputs.deadline, share, want_segments)


def evaluate_backlog(arrivals, agents, open_fraction=None, *, aht_seconds, deadline,
                     concurrency=1.0, slowdown=None, max_occupancy=1.0, initial_backlog=None,
                     clock="real", base_capacity=None, quantile=0.9) -> BacklogResult:
    r"""
    What a given staffing achieves, per bucket, day and week, under the fluid FIFO model.

    The backlog is carried across buckets and days; messages arriving while closed accumulate
    (capacity 0) and are served oldest first at opening. Every figure is exact for the
    piecewise-linear cumulative arrival and completion curves (see :func:`fluid_fifo`).

    Parameters
    ----------
    arrivals : pandas.Series
        Messages per bucket, indexed by the bucket start (tz-aware, regular, e.g. 15 minutes in
        Europe/Amsterdam; days of 23 and 25 hours are fine). Arrivals are assumed uniform
        inside a bucket.
    agents : array_like or pandas.Series
        Productive agents on duty per bucket (may be fractional). Shrinkage is not applied:
        these are heads actually working; the roster needs agents / (1 - shrinkage).
    open_fraction : array_like, pandas.Series, OpeningHours, str or None
        Open share of each bucket (0-1), or opening hours (read on local wall-clock time by
        :func:`scheduling.opening_hours.open_fraction`); None is open around the clock.
    aht_seconds : array_like
        Handle time of one message at concurrency 1 [s], scalar or per bucket (the handle time
        of the messages served in that bucket).
    deadline : pandas.Timedelta or str
        Response-time deadline (e.g. ``pd.Timedelta("60min")``).
    concurrency : float
        Conversations one agent holds at once (>= 1); see :func:`concurrency_multiplier`.
    slowdown : callable, float or None
        Handle-time growth with concurrency (default 1 + 0.5 (k - 1)).
    max_occupancy : float
        Productive occupancy cap: share of an open agent's time spent on messages, (0, 1].
    initial_backlog : float or None
        Messages waiting at the start (taken as arriving at the start; not in any bucket's
        service level). ``None`` (default): run the model over a warm-up week first, replaying
        the horizon's first week of inputs (arrivals, agents, opening, handle time), or the
        whole horizon repeated when it is shorter, and start with the backlog (and the ages)
        it leaves.
    clock : {"real", "business"}
        ``"real"`` (default): the deadline counts every minute, as the customer experiences it.
        ``"business"``: only open time counts, so a message arriving at night starts its clock
        at opening; waits are then reported in open time too. Business-clock service levels
        are never below real-clock ones.
    base_capacity : array_like or pandas.Series, optional
        Messages per bucket handled besides the agents' capacity (>= 0), e.g. what agents of a
        channel with higher priority leave unused (:mod:`scheduling.channels`).
    quantile : float
        Response-time quantile reported in ``p90_response_minutes`` (default 0.9).

    Returns
    -------
    BacklogResult
        Tables per bucket, day and week; messages open at the end of the horizon are
        reported, counted late when already past the deadline and undetermined (left out of
        every service level) otherwise.

    References
    ----------
    .. [1] The project's THEORY.md, section 3 (cumulative-curve fluid model, closed hours,
       the overnight worked example).
    .. [2] L. V. Green, P. J. Kolesar and W. Whitt, "Coping with time-varying demand when
       setting staffing requirements for a service system", Production and Operations
       Management 16(1):13-39, 2007 (fluid models for overloads and closures).
    .. [3] G. F. Newell, "Applications of Queueing Theory", 2nd ed., Chapman & Hall, 1982.
    """
    inputs = _prepare(arrivals, open_fraction, aht_seconds=aht_seconds, deadline=deadline,
                      concurrency=concurrency, slowdown=slowdown, max_occupancy=max_occupancy,
                      clock=clock)
    n = inputs.arrivals.size
    agents = _broadcast("agents", agents, n, minimum=0.0, index=inputs.index)
    base = None
    if base_capacity is not None:
        base = _broadcast("base_capacity", base_capacity, n, minimum=0.0, index=inputs.index)
    if not 0 < quantile < 1:
        raise ValueError("quantile must be in (0, 1)")
    offset, take, initial = _extend_with_warmup(inputs, initial_backlog)
    run = _run(inputs, agents[take], take, initial, base=base)
    segments = run["segments"]
    horizon = slice(offset, None)
    groups = np.full(take.size, -1)
    groups[offset:] = np.arange(n)
    mean, q = _group_wait_stats(segments, groups, n, quantile)
    on, late, und = run["on_time"][horizon], run["late"][horizon], run["undetermined"][horizon]
    decided = on + late
    with np.errstate(divide="ignore", invalid="ignore"):
        sl = np.where(decided > 0, on / decided, np.nan)
    start_backlog = initial if offset == 0 else float(run["backlog"][offset - 1])
    frame = pd.DataFrame({
        "arrivals": inputs.arrivals,
        "agents": agents,
        "open_fraction": inputs.open,
        "capacity": run["capacity"][horizon],
        "handled": run["handled"][horizon],
        "backlog": run["backlog"][horizon],
        "oldest_age_minutes": run["oldest_age_seconds"][horizon] / 60.0,
        "on_time": on,
        "late": late,
        "undetermined": und,
        "service_level": sl,
        "mean_response_minutes": mean / 60.0,
        "p90_response_minutes": q / 60.0,
    }, index=inputs.index)
    frame["_length_hours"] = inputs.lengths / 3600.0
    days = _aggregate(frame, _local_days(inputs.index), segments, take.size, offset, quantile)
    days.index = pd.DatetimeIndex(days.index, name="date")
    weeks = _aggregate(frame, _iso_weeks(inputs.index), segments, take.size, offset, quantile)
    weeks.index.name = "week"
    frame = frame.drop(columns="_length_hours")
    total_decided = on.sum() + late.sum()
    return BacklogResult(
        intervals=frame,
        days=days,
        weeks=weeks,
        initial_backlog=start_backlog,
        open_at_end=float(run["open_at_end"]),
        late_at_end=float(run["late_unserved"][horizon].sum()),
        undetermined_at_end=float(und.sum()),
        service_level=float(on.sum() / total_decided) if total_decided > 0 else float("nan"),
        clock=inputs.clock,
    )


# --------------------------------------------------------------------------------------------
# The ceiling: what opening hours allow with unlimited staff
# --------------------------------------------------------------------------------------------


def _ceiling_core(arrivals, open_share, lengths, deadline, business):
    """Per bucket on time / late / undetermined messages with unlimited staff.

    With unlimited staff a message is answered at once in a bucket with any open time and at
    the start of the next such bucket otherwise (the limit of :func:`_fluid_core` as the
    capacity grows, with capacity spread evenly inside a bucket).
    """
    n = arrivals.size
    bounds = np.concatenate([[0.0], np.cumsum(lengths)])
    is_open = open_share > 0
    following = np.minimum.accumulate(np.where(is_open, np.arange(n), n)[::-1])[::-1]
    has_next = following < n
    if business:  # closed time does not count: nobody is late because of closed hours
        late = np.zeros(n)
    else:
        cutoff = bounds[following] - deadline  # arrivals before this wait past the deadline
        late = np.where(is_open, 0.0,
                        arrivals * np.clip((cutoff - bounds[:-1]) / lengths, 0.0, 1.0))
    rest = arrivals - late
    on_time = np.where(is_open | has_next, rest, 0.0)
    undetermined = np.where(is_open | has_next, 0.0, rest)
    return on_time, late, undetermined


def _ceiling_sentence(share, late_share, target=None, where=None):
    reach = f"{100 * share:.1f}%"
    missed = f"{100 - float(f'{100 * share:.1f}'):.1f}%"
    if late_share <= 0:
        text = ("100% is reachable: the opening hours do not make any message wait past the "
                "deadline")
    else:
        text = (f"at most {reach} is reachable: {missed} of the messages arrive while closed and "
                "wait past the deadline")
    if target is not None and share < target - _TARGET_TOLERANCE:
        place = f" on {where}" if where else ""
        text = (f"the target of {100 * target:.1f}% cannot be met{place} whatever the staffing: "
                f"{text}; extend the opening hours, lower the target or use the business clock")
    return text


def ceiling_table(arrivals, open_fraction=None, *, deadline, clock="real", by="day"):
    """
    The highest share within the deadline that any staffing can reach, per period.

    With unlimited staff every message is answered the moment the team is open, so only the
    opening hours make messages late: a message that arrives while closed and whose wait until
    the next opening exceeds the deadline is late whatever the staffing (THEORY.md section 3:
    "opening hours, not headcount, is the lever"). On the business clock closed time does not
    count, so the ceiling is 100%.

    Parameters
    ----------
    arrivals : pandas.Series
        Messages per bucket, tz-aware regular index (see :func:`evaluate_backlog`).
    open_fraction : array_like, pandas.Series, OpeningHours, str or None
        Open share per bucket or opening hours; None is open around the clock.
    deadline : pandas.Timedelta or str
        Response-time deadline.
    clock : {"real", "business"}
        Clock of the deadline.
    by : {"bucket", "day", "week", "total"}
        Period of the table.

    Returns
    -------
    pandas.DataFrame
        Per period: ``arrivals``, ``on_time``, ``late`` (late whatever the staffing),
        ``undetermined`` (waiting at the end of the horizon, not yet past the deadline),
        ``ceiling`` = on_time / (on_time + late) (NaN without decided messages) and
        ``late_share`` = late / (on_time + late).

    References
    ----------
    .. [1] The project's THEORY.md, sections 3 and 6 (closed hours and the SL ceiling).
    """
    inputs = _prepare(arrivals, open_fraction, aht_seconds=1.0, deadline=deadline,
                      concurrency=1.0, slowdown=None, max_occupancy=1.0, clock=clock)
    on, late, und = _ceiling_core(inputs.arrivals, inputs.open, inputs.lengths, inputs.deadline,
                                  inputs.clock == "business")
    frame = pd.DataFrame({"arrivals": inputs.arrivals, "on_time": on, "late": late,
                          "undetermined": und}, index=inputs.index)
    if by == "bucket":
        table = frame
    elif by == "day":
        table = frame.groupby(_local_days(inputs.index)).sum()
        table.index.name = "date"
    elif by == "week":
        table = frame.groupby(_iso_weeks(inputs.index)).sum()
        table.index.name = "week"
    elif by == "total":
        table = frame.sum().to_frame("total").T
    else:
        raise ValueError("by must be 'bucket', 'day', 'week' or 'total'")
    decided = table["on_time"] + table["late"]
    safe = decided.where(decided > 0, 1.0)
    table = table.copy()
    table["ceiling"] = np.where(decided > 0, table["on_time"] / safe, np.nan)
    table["late_share"] = np.where(decided > 0, table["late"] / safe, np.nan)
    return table


def service_level_ceiling(arrivals, open_fraction=None, *, deadline, clock="real") -> float:
    """
    The highest share within the deadline reachable over the whole horizon (unlimited staff).

    Parameters
    ----------
    arrivals, open_fraction, deadline, clock
        As in :func:`ceiling_table`.

    Returns
    -------
    float
        on time / decided messages with unlimited staff; about 1 - (share of the volume that
        arrives while closed), exactly 1 - (share arriving more than the deadline before the
        next opening).

    References
    ----------
    .. [1] The project's THEORY.md, section 3.
    """
    return float(ceiling_table(arrivals, open_fraction, deadline=deadline, clock=clock,
                               by="total")["ceiling"].iloc[0])


def ceiling_explanation(arrivals, open_fraction=None, *, deadline, clock="real", target=None) -> str:
    """
    The ceiling in plain English, e.g. "at most 91.3% is reachable: 8.7% of the messages arrive
    while closed and wait past the deadline".

    Parameters
    ----------
    arrivals, open_fraction, deadline, clock
        As in :func:`ceiling_table`.
    target : float, optional
        A service-level target (fraction); when the ceiling is below it the sentence says the
        target cannot be met whatever the staffing.

    Returns
    -------
    str

    References
    ----------
    .. [1] The project's THEORY.md, sections 3 and 6.
    """
    row = ceiling_table(arrivals, open_fraction, deadline=deadline, clock=clock, by="total").iloc[0]
    if not row["on_time"] + row["late"] > 0:
        return "no message is decided within the horizon, so there is no ceiling to report"
    return _ceiling_sentence(row["ceiling"], row["late_share"], target)


# --------------------------------------------------------------------------------------------
# Required staffing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffingPlan:
    """The smallest staffing found for a service-level target (see :func:`required_staffing`).

    Attributes
    ----------
    agents : pandas.Series or None
        Whole productive agents per bucket (0 while closed); None when the target is out of
        reach.
    reachable : bool
        Whether every target period can reach the target.
    explanation : str
        One sentence: what the plan achieves, or why the target cannot be met (the ceiling).
    periods : pandas.DataFrame
        Per target period: ``arrivals``, ``ceiling``, ``service_level`` (of the plan; NaN when
        unreachable), ``target`` and ``met``.
    evaluation : BacklogResult or None
        :func:`evaluate_backlog` of the plan.
    """

    agents: pd.Series | None
    reachable: bool
    explanation: str
    periods: pd.DataFrame
    evaluation: BacklogResult | None


class _Planner:
    """State of the greedy search: the plan, its backlog and its on-time counts per period."""

    def __init__(self, inputs: _Inputs, take, offset, initial, period_of_bucket, n_periods,
                 target, floor, base=None):
        self.inputs, self.take, self.offset, self.initial = inputs, take, offset, initial
        self.target, self.floor = target, floor
        self.n_periods = n_periods
        self.a = inputs.arrivals[take]
        self.len = inputs.lengths[take]
        self.unit = (inputs.open * inputs.rate)[take]       # capacity of one agent per bucket
        # capacity available besides the planned agents (e.g. left over by a channel of higher
        # priority), messages per bucket
        self.base = np.zeros(take.size) if base is None else np.asarray(base, dtype=float)[take]
        self.share = inputs.open[take] if inputs.clock == "business" else None
        self.period = np.full(take.size, -1)
        self.period[offset:] = period_of_bucket
        order = np.argsort(take, kind="stable")
        splits = np.searchsorted(take[order], np.arange(inputs.arrivals.size + 1))
        self.copies = [order[splits[t]:splits[t + 1]] for t in range(inputs.arrivals.size)]
        self.agents = floor.astype(np.int64).copy()
        self._full()

    def _full(self):
        cap = self.agents[self.take] * self.unit + self.base
        run = _fluid_core(self.a, cap, self.len, self.initial, self.inputs.deadline, self.share,
                          want_segments=False)
        self.cap = cap
        self.backlog = np.concatenate([[self.initial], run["backlog"]])
        self.on, self.late = run["on_time"], run["late"]
        self.handled = run["handled"]
        self.counts = self._by_period(self.period, self.on, self.late)

    def _by_period(self, period, on, late):
        keep = period >= 0
        return (np.bincount(period[keep], on[keep], minlength=self.n_periods),
                np.bincount(period[keep], late[keep], minlength=self.n_periods))

    def meets(self, on, late):
        decided = on + late
        return (decided <= 0) | (on >= (self.target - _TARGET_TOLERANCE) * decided)

    def trial(self, new_agents: dict):
        """Exact effect of setting horizon buckets to new agent counts, on a local window.

        The window runs from the last instant before the first change at which the backlog is
        empty (the system restarts from scratch there) to the first instant after the last
        change at which both the old and the new backlog are empty (from there on nothing
        differs).
        """
        positions = np.concatenate([self.copies[t] for t in new_agents])
        values = np.concatenate([np.full(self.copies[t].size, v) for t, v in new_agents.items()])
        first, last = positions.min(), positions.max()
        empty = np.flatnonzero(self.backlog[:first + 1] <= _EMPTY)
        w0 = int(empty[-1]) if empty.size else 0
        start_backlog = self.backlog[w0] if w0 == 0 else 0.0
        cap = self.cap[w0:].copy()
        cap[positions - w0] = values * self.unit[positions] + self.base[positions]
        backlog = _lindley(self.a[w0:] - cap, start_backlog)
        after = np.flatnonzero((backlog[last - w0 + 1:] <= _EMPTY)
                               & (self.backlog[last + 1:] <= _EMPTY))
        k = last + 1 + int(after[0]) if after.size else self.a.size
        window = slice(w0, k)
        run = _fluid_core(self.a[window], cap[:k - w0], self.len[window], start_backlog,
                          self.inputs.deadline,
                          None if self.share is None else self.share[window], want_segments=False)
        period = self.period[window]
        new_on, new_late = self._by_period(period, run["on_time"], run["late"])
        old_on, old_late = self._by_period(period, self.on[window], self.late[window])
        counts = (self.counts[0] + new_on - old_on, self.counts[1] + new_late - old_late)
        return {"new_agents": new_agents, "w0": w0, "window": window, "cap": cap,
                "backlog": backlog, "run": run, "counts": counts,
                "touched": np.unique(period[period >= 0])}

    def accept(self, trial):
        for t, v in trial["new_agents"].items():
            self.agents[t] = v
        w0, window = trial["w0"], trial["window"]
        self.cap[w0:] = trial["cap"]
        self.backlog[w0:] = trial["backlog"]
        self.on[window] = trial["run"]["on_time"]
        self.late[window] = trial["run"]["late"]
        self.handled[window] = trial["run"]["handled"]
        self.counts = trial["counts"]

    def period_ok(self, counts, periods):
        return bool(self.meets(counts[0][periods], counts[1][periods]).all())


class _FastPlanner(_Planner):
    """The planner's state in flat arrays, with trials, trim and smoothing compiled (numba)."""

    def __init__(self, inputs: _Inputs, take, offset, initial, period_of_bucket, n_periods,
                 target, floor, base=None):
        self.inputs, self.take, self.offset, self.initial = inputs, take, offset, initial
        self.target, self.floor = target, floor
        self.n_periods = n_periods
        m = take.size
        self.a = np.ascontiguousarray(inputs.arrivals[take], dtype=float)
        self.cum = float(initial) + np.concatenate([[0.0], np.cumsum(self.a)])
        self.len = np.ascontiguousarray(inputs.lengths[take], dtype=float)
        self.unit = np.ascontiguousarray((inputs.open * inputs.rate)[take], dtype=float)
        self.base = np.zeros(m) if base is None else np.ascontiguousarray(
            np.asarray(base, dtype=float)[take])
        self.business = inputs.clock == "business"
        self.share_arr = np.ascontiguousarray(inputs.open[take] if self.business else np.ones(m))
        self.period = np.full(m, -1, dtype=np.int64)
        self.period[offset:] = period_of_bucket
        order = np.argsort(take, kind="stable")
        self.ptr = np.searchsorted(take[order], np.arange(inputs.arrivals.size + 1)).astype(np.int64)
        self.idx = order.astype(np.int64)
        self.agents = floor.astype(np.int64).copy()
        self.cap = np.empty(m)
        self.backlog = np.empty(m + 1)
        self.on, self.late, self.handled = np.empty(m), np.empty(m), np.empty(m)
        self.new_cap, self.new_backlog = np.empty(m), np.empty(m + 1)
        self.new_on, self.new_late = np.empty(m), np.empty(m)
        self.d_on, self.d_late = np.zeros(max(n_periods, 1)), np.zeros(max(n_periods, 1))
        self.scratch = np.empty(7 * (m + 1))
        self._full()

    def _full(self):
        self.cap[:] = self.agents[self.take] * self.unit + self.base
        _nb_lindley_state(self.a, self.cap, float(self.initial), self.backlog, self.on, self.late,
                          self.handled, self.len, self.share_arr, self.business,
                          float(self.inputs.deadline), self.scratch)
        self.counts = self._by_period(self.period, self.on, self.late)

    def _state(self):
        return (self.a, self.cum, self.unit, self.base, self.len, self.share_arr, self.business,
                float(self.inputs.deadline), self.backlog, self.cap, self.on, self.late,
                self.period)

    def _scratch(self):
        return (self.new_cap, self.new_backlog, self.new_on, self.new_late, self.d_on,
                self.d_late, self.scratch)

    def _run_trial(self, new_agents: dict):
        buckets = np.fromiter(new_agents.keys(), dtype=np.int64, count=len(new_agents))
        values = np.fromiter(new_agents.values(), dtype=float, count=len(new_agents))
        pos, vals = _nb_positions(self.ptr, self.idx, buckets, values)
        return _nb_trial(pos, vals, *self._state(), *self._scratch(), False, self.counts[0],
                         self.counts[1], float(self.target))

    def trial(self, new_agents: dict):
        w0, k, pmin, pmax = self._run_trial(new_agents)
        on, late = self.counts[0].copy(), self.counts[1].copy()
        if pmax >= pmin:
            on[pmin:pmax + 1] += self.d_on[pmin:pmax + 1]
            late[pmin:pmax + 1] += self.d_late[pmin:pmax + 1]
        return {"new_agents": dict(new_agents), "counts": (on, late),
                "touched": np.arange(pmin, pmax + 1)}

    def accept(self, trial):
        w0, k, pmin, pmax = self._run_trial(trial["new_agents"])
        _nb_accept(w0, k, pmin, pmax, self.cap, self.backlog, self.on, self.late, self.new_cap,
                   self.new_backlog, self.new_on, self.new_late, self.counts[0], self.counts[1],
                   self.d_on, self.d_late)
        for t, v in trial["new_agents"].items():
            self.agents[t] = v

    def trim(self, order):
        _nb_trim(np.asarray(order, dtype=np.int64), self.agents, self.floor.astype(np.int64),
                 self.ptr, self.idx, float(self.target), *self._state(), self.counts[0],
                 self.counts[1], *self._scratch())

    def smooth(self, is_open):
        _nb_smooth(self.agents, self.floor.astype(np.int64), np.asarray(is_open, dtype=np.bool_),
                   self.ptr, self.idx, float(self.target), *self._state(), self.counts[0],
                   self.counts[1], *self._scratch())


def required_staffing(arrivals, open_fraction=None, *, aht_seconds, deadline, target,
                      period="day", min_agents=1, concurrency=1.0, slowdown=None,
                      max_occupancy=1.0, initial_backlog=None, clock="real",
                      max_agents=500, smoothing=True, base_capacity=None,
                      compiled=None) -> StaffingPlan:
    r"""
    The smallest whole staffing per bucket that meets a service-level target, or why none can.

    The target is the share of messages answered within the deadline (fluid FIFO model of
    :func:`evaluate_backlog`), per local day (default: the messages that arrived that day), per
    ISO week, or per bucket (every bucket in which the team is open; messages arriving while
    closed are governed by the ceiling). Algorithm:

    1. **Ceiling.** With unlimited staff only the opening hours make messages late
       (:func:`ceiling_table`). If the target exceeds the ceiling of any period, no staffing
       is returned; the explanation gives the figure ("at most 91.3% is reachable: 8.7% of the
       messages arrive while closed and wait past the deadline").
    2. **Floor.** ``min_agents`` in every bucket with open time, 0 while closed.
    3. **Forward raise.** Periods in time order: while a period misses the target, raise every
       open bucket from its start to its end plus the deadline (its messages' service window)
       to at least a uniform level L, with L the smallest level that meets the target
       (galloping 1, 2, 4, ... then bisection; the service level is monotone in staffing).
       Raising only helps the other periods. If even ``max_agents`` does not suffice, no
       staffing is returned.
    4. **Trim.** One pass over the buckets, the least utilised first (capacity not used for
       messages), lowering each as far as every period still meets the target (bisection on
       that bucket).
    5. **Smooth** (``smoothing=True``). Move single agents from a bucket to a neighbour with at
       least two fewer while every period still meets the target. The total stays the same and
       the sum of squared staffing falls with every move, so this ends; it removes the spikes
       the trim leaves (messages may wait inside the deadline, so capacity can be shifted).
    6. **Trim** again. Because removing staff never raises a service level, a bucket that
       cannot be lowered now cannot be lowered after later removals either: the result is
       *1-minimal*, i.e. removing one agent from any bucket above the floor breaks the target
       of some period. It is not guaranteed to be the cheapest plan (on small instances it
       matched an exhaustive search; no bound is claimed).

    Every trial is evaluated exactly on a local window: from the last instant before the first
    change at which the backlog is empty to the first instant after the last change at which
    the old and the new backlog are both empty; outside that window nothing changes.

    When no initial backlog is given, the warm-up week (the horizon's first week replayed, as in
    :func:`evaluate_backlog`) is staffed with the same plan, so the plan is evaluated by
    :func:`evaluate_backlog` exactly as it was planned.

    Parameters
    ----------
    arrivals : pandas.Series
        Messages per bucket, tz-aware regular index.
    open_fraction : array_like, pandas.Series, OpeningHours, str or None
        Open share per bucket or opening hours; None is open around the clock.
    aht_seconds : array_like
        Handle time of one message at concurrency 1 [s].
    deadline : pandas.Timedelta or str
        Response-time deadline.
    target : float
        Share within the deadline to reach, in (0, 1] (0.8 for 80%).
    period : {"day", "week", "bucket"}
        Period over which the target applies.
    min_agents : int
        Whole agents at least on duty whenever the team is open (>= 0).
    concurrency, slowdown, max_occupancy, initial_backlog, clock
        As in :func:`evaluate_backlog`.
    max_agents : int
        Largest staffing of one bucket considered; a target needing more is reported as out
        of reach instead of returning an absurd staffing.
    smoothing : bool
        Run the smoothing step (5) and the second trim.
    base_capacity : array_like or pandas.Series, optional
        Messages per bucket the team can handle besides the planned agents (>= 0), e.g. the
        capacity that agents of a channel with higher priority leave unused
        (:mod:`scheduling.channels`). Counted in the plan's evaluation too.
    compiled : bool or None
        Run the search with the compiled (numba) kernels; None (default) uses them when numba
        is installed. Both give the same plan up to rounding (about 1e-12 of a message).

    Returns
    -------
    StaffingPlan
        ``agents`` (productive agents, before shrinkage), ``reachable``, ``explanation``,
        ``periods`` and the plan's ``evaluation``.

    References
    ----------
    .. [1] The project's THEORY.md, sections 3 and 5 (cumulative-curve model; a global
       service level with per-interval floors).
    .. [2] G. Koole and E. van der Sluis, "Optimal shift scheduling with a global service
       level constraint", IIE Transactions 35(11):1049-1055, 2003 (the service level is
       monotone in staffing; local search on it).
    .. [3] J. Atlason, M. A. Epelman and S. G. Henderson, "Call center staffing with
       simulation and cutting plane methods", Annals of Operations Research 127:333-358, 2004
       (staffing of one interval changes the service level of later ones).
    """
    if period not in TARGET_PERIODS:
        raise ValueError(f"period must be one of {TARGET_PERIODS}, got {period!r}")
    target = float(target)
    if not 0 < target <= 1:
        raise ValueError("target must be a fraction in (0, 1], e.g. 0.8")
    if int(min_agents) != min_agents or min_agents < 0:
        raise ValueError("min_agents must be a whole number >= 0")
    if int(max_agents) != max_agents or max_agents < max(1, min_agents):
        raise ValueError("max_agents must be a whole number >= max(1, min_agents)")
    min_agents, max_agents = int(min_agents), int(max_agents)
    inputs = _prepare(arrivals, open_fraction, aht_seconds=aht_seconds, deadline=deadline,
                      concurrency=concurrency, slowdown=slowdown, max_occupancy=max_occupancy,
                      clock=clock)
    n = inputs.arrivals.size
    is_open = inputs.open > 0

    # Periods of the target.
    if period == "day":
        keys = _local_days(inputs.index)
        codes, labels = pd.factorize(keys, sort=True)
        labels = pd.DatetimeIndex(labels, name="date")
    elif period == "week":
        codes, labels = pd.factorize(_iso_weeks(inputs.index), sort=True)
        labels = pd.Index(labels, name="week")
    else:
        targeted = np.flatnonzero(is_open & (inputs.arrivals > 0))
        codes = np.full(n, -1)
        codes[targeted] = np.arange(targeted.size)
        labels = pd.Index(inputs.index[targeted], name="ds")
    n_periods = len(labels)
    keep = codes >= 0

    # 1. Ceiling per period.
    c_on, c_late, _ = _ceiling_core(inputs.arrivals, inputs.open, inputs.lengths, inputs.deadline,
                                    inputs.clock == "business")
    p_on = np.bincount(codes[keep], c_on[keep], minlength=n_periods)
    p_late = np.bincount(codes[keep], c_late[keep], minlength=n_periods)
    p_arrivals = np.bincount(codes[keep], inputs.arrivals[keep], minlength=n_periods)
    decided = p_on + p_late
    with np.errstate(divide="ignore", invalid="ignore"):
        ceiling = np.where(decided > 0, p_on / decided, np.nan)
    table = pd.DataFrame({"arrivals": p_arrivals, "ceiling": ceiling,
                          "service_level": np.nan, "target": target, "met": False}, index=labels)
    out_of_reach = np.flatnonzero((decided > 0) & (ceiling < target - _TARGET_TOLERANCE))
    if out_of_reach.size:
        worst = out_of_reach[np.argmin(ceiling[out_of_reach])]
        label = _period_label(labels[worst], period)
        sentence = _ceiling_sentence(ceiling[worst], p_late[worst] / decided[worst], target, label)
        if out_of_reach.size > 1:
            sentence += f" ({out_of_reach.size} of {n_periods} {period}s are out of reach)"
        return StaffingPlan(None, False, sentence, table, None)

    # 2. Floor, then 3. forward raise.
    floor = np.where(is_open, min_agents, 0).astype(np.int64)
    offset, take, initial = _extend_with_warmup(inputs, initial_backlog)
    base = None
    if base_capacity is not None:
        base = _broadcast("base_capacity", base_capacity, n, minimum=0.0, index=inputs.index)
    use_compiled = HAVE_NUMBA if compiled is None else bool(compiled)
    if use_compiled and not HAVE_NUMBA:
        raise ValueError("compiled=True needs numba, which is not installed")
    planner_class = _FastPlanner if use_compiled else _Planner
    planner = planner_class(inputs, take, offset, initial, codes, n_periods, target, floor, base)
    bounds = np.concatenate([[0.0], np.cumsum(inputs.lengths)])
    if inputs.clock == "business":
        clock_bounds = np.concatenate([[0.0], np.cumsum(inputs.open * inputs.lengths)])
    last_bucket = np.full(n_periods, -1)
    np.maximum.at(last_bucket, codes[keep], np.flatnonzero(keep))
    first_bucket = np.full(n_periods, n)
    np.minimum.at(first_bucket, codes[keep], np.flatnonzero(keep))

    def service_window(p):
        end = bounds[last_bucket[p] + 1]
        if inputs.clock == "business":
            due = np.interp(end, bounds, clock_bounds) + inputs.deadline
            stop = int(np.searchsorted(clock_bounds, due - 1e-9, side="left"))
        else:
            stop = int(np.searchsorted(bounds, end + inputs.deadline - 1e-9, side="left"))
        buckets = np.arange(first_bucket[p], min(max(stop, last_bucket[p] + 1), n))
        return buckets[is_open[buckets]]

    def raise_to(p):
        if planner.period_ok(planner.counts, [p]):
            return True
        buckets = service_window(p)

        def attempt(level):
            changes = {int(t): level for t in buckets if planner.agents[t] < level}
            if not changes:
                return None
            trial = planner.trial(changes)
            return trial if planner.period_ok(trial["counts"], [p]) else None

        # Galloping search for a feasible level (1, 2, 4, ... max_agents), then bisection.
        lo, hi, best = 0, 1, None
        while True:
            best = attempt(hi)
            if best is not None:
                break
            if hi >= max_agents:
                return False
            lo, hi = hi, min(2 * hi, max_agents)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            trial = attempt(mid)
            if trial is None:
                lo = mid
            else:
                hi, best = mid, trial
        planner.accept(best)
        return True

    order = np.argsort(last_bucket, kind="stable")
    for p in order:
        if decided[p] <= 0:
            continue
        if not raise_to(p):
            label = _period_label(labels[p], period)
            return StaffingPlan(None, False,
                                f"the target of {100 * target:.1f}% on {label} would need more than "
                                f"{max_agents} agents in a bucket (its ceiling with unlimited staff is "
                                f"{100 * ceiling[p]:.1f}%); lower the target, extend the opening hours "
                                "or raise max_agents", table, None)

    # 4. Trim, smooth, trim.
    planner._full()
    horizon = slice(offset, None)
    def trim():
        """Lower each bucket as far as the targets allow, least utilised buckets first."""
        with np.errstate(divide="ignore", invalid="ignore"):
            use = np.where(planner.cap[horizon] > 0,
                           planner.handled[horizon] / planner.cap[horizon], 1.0)
        for t in np.lexsort((-np.arange(n), use)):
            t = int(t)
            if planner.agents[t] <= floor[t]:
                continue
            best = planner.trial({t: int(planner.agents[t]) - 1})
            if not planner.period_ok(best["counts"], best["touched"]):
                continue
            lo, hi = floor[t] - 1, int(planner.agents[t]) - 1
            while hi - lo > 1:
                mid = (lo + hi) // 2
                trial = planner.trial({t: mid})
                if planner.period_ok(trial["counts"], trial["touched"]):
                    hi, best = mid, trial
                else:
                    lo = mid
            planner.accept(best)

    def smooth():
        """Move single agents from a bucket to a neighbour with at least two fewer, where every
        period still meets the target. The cost stays the same and the sum of squared staffing
        falls with every move, so this ends."""
        moved = True
        while moved:
            moved = False
            for t in np.argsort(-planner.agents, kind="stable"):
                t = int(t)
                for s in (t - 1, t + 1):
                    if not (0 <= s < n and is_open[s]) or planner.agents[t] - 1 < floor[t]:
                        continue
                    if planner.agents[t] - planner.agents[s] < 2:
                        continue
                    trial = planner.trial({t: int(planner.agents[t]) - 1,
                                           s: int(planner.agents[s]) + 1})
                    if planner.period_ok(trial["counts"], trial["touched"]):
                        planner.accept(trial)
                        moved = True

    if use_compiled:
        def fast_trim():
            with np.errstate(divide="ignore", invalid="ignore"):
                use = np.where(planner.cap[horizon] > 0,
                               planner.handled[horizon] / planner.cap[horizon], 1.0)
            planner.trim(np.lexsort((-np.arange(n), use)))

        fast_trim()
        if smoothing:
            planner.smooth(is_open)
            planner._full()
            fast_trim()
    else:
        trim()
        if smoothing:
            smooth()
            trim()

    agents = pd.Series(planner.agents.copy(), index=inputs.index, name="agents")
    evaluation = evaluate_backlog(arrivals, agents, inputs.open, aht_seconds=aht_seconds,
                                  deadline=deadline, concurrency=concurrency, slowdown=slowdown,
                                  max_occupancy=max_occupancy, initial_backlog=initial_backlog,
                                  clock=clock, base_capacity=base)
    iv = evaluation.intervals
    on = np.bincount(codes[keep], iv["on_time"].to_numpy()[keep], minlength=n_periods)
    late = np.bincount(codes[keep], iv["late"].to_numpy()[keep], minlength=n_periods)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["service_level"] = np.where(on + late > 0, on / (on + late), np.nan)
    table["met"] = planner.meets(on, late)
    hours = float((agents * inputs.open * inputs.lengths / 3600.0).sum())
    lowest = np.nanmin(table["service_level"]) if np.isfinite(table["service_level"]).any() else np.nan
    text = (f"{hours:.1f} productive agent-hours; every {period} reaches {100 * target:.1f}% within "
            f"the deadline (lowest {100 * lowest:.1f}%)")
    horizon_ceiling = _ceiling_sentence(*_total_ceiling(c_on, c_late)) if c_late.sum() > 0 else ""
    if horizon_ceiling:
        text += f"; {horizon_ceiling}"
    return StaffingPlan(agents, bool(table["met"].all()), text, table, evaluation)


def _total_ceiling(on, late):
    decided = on.sum() + late.sum()
    return on.sum() / decided, late.sum() / decided


def _period_label(label, period):
    if period == "day":
        return pd.Timestamp(label).strftime("%a %Y-%m-%d")
    if period == "week":
        return f"week {label}"
    return f"the bucket starting {pd.Timestamp(label).isoformat()}"
