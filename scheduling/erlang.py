"""Steady-state queueing formulas for one planning interval: Erlang B, C and A.

Every function is pure and vectorised: the arguments are broadcast against each other with
numpy rules, so one call evaluates a whole day of intervals (or a grid of candidate staffing
levels). Scalars in give scalars out; arrays in give ``numpy.ndarray`` out.

Conventions shared by all functions (the project's THEORY.md, section 1):

- ``load_erlangs`` is the offered load A = arrival rate x mean handle time. Use
  :func:`offered_load` to get it from a count per interval.
- Times carry their unit in the name (``aht_seconds``, ``threshold_seconds``,
  ``patience_seconds``, ``interval_seconds``); probabilities and targets are fractions (0.8).
- A queue without abandonment is unstable when ``agents <= load_erlangs``: its probability of
  waiting is 1, its service level 0 and its average speed of answer infinite.
- Zero load means nobody waits, whatever the staffing: probability of waiting 0, service level 1,
  ASA 0, occupancy 0 (so :func:`required_agents` asks for 0 agents). Any positive load, down to
  the subnormal 5e-324, gives finite values that tend to these limits (with at least one agent).
- Fractional agents (from LP relaxations of the roster) are evaluated by linear interpolation
  between the neighbouring whole agent counts, the convention of Koole; the exact whole-count
  values are returned for whole counts.
- Erlang B is evaluated with the stable recursion, never ``A**s / s!`` (which overflows above
  about 170 agents); Erlang A uses the exact closed forms of Mandelbaum & Zeltyn evaluated in
  log space, so every function is accurate to well beyond 5,000 agents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "ErlangAResult",
    "SL_DEFINITIONS",
    "apply_shrinkage",
    "asa_seconds",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "garnett_delay_probability",
    "halfin_whitt_beta",
    "halfin_whitt_delay_probability",
    "occupancy",
    "offered_load",
    "required_agents",
    "required_agents_erlang_a",
    "service_level",
    "square_root_staffing",
]

#: Service-level definitions understood by :func:`erlang_a` (``"offered"`` is the default).
SL_DEFINITIONS = ("offered", "answered", "virtual")

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
# The incomplete-gamma closed form for the Kummer sums is used only where P(a, z) >= this:
# further into the lower tail scipy's gammainc loses accuracy for large a (a relative error of
# 2e-2 at a = 1.2e7, P = 2e-10), while Gauss-Laguerre is exact to rounding there.
_CLOSED_FORM_MIN_P = 1e-3
# Kummer series are summed term by term only where the terms fall at least by this ratio.
_SERIES_MAX_RATIO = 0.5
# Terms below exp(-42) ~ 6e-19 of the sum are dropped from a series.
_SERIES_LOG_TOLERANCE = 42.0
# Upper bound on the elements of one series block (rows x terms), to cap memory use.
_SERIES_BLOCK_ELEMENTS = 2_000_000
# Gauss-Laguerre rule for the Kummer sums in the lower tail (see _kummer_laguerre).
_LAGUERRE_NODES, _LAGUERRE_WEIGHTS = special.roots_laguerre(32)
# mu / theta (patience / AHT) is capped where s mu / theta or lambda / theta would pass e**690.
_LOG_RATE_CAP = 690.0
# Keys of the Erlang-A measures (the fields of ErlangAResult besides the SL definition).
_ERLANG_A_KEYS = ("delay_probability", "abandon_probability", "occupancy", "asa_seconds",
                  "mean_queue_length", "service_level_offered", "service_level_answered",
                  "service_level_virtual")


# --------------------------------------------------------------------------------------------
# Input validation and broadcasting helpers
# --------------------------------------------------------------------------------------------


def _as_array(name, value, *, minimum=None, strictly_above=None, maximum=None, below=None,
              allow_inf=False):
    """Convert to a float array and check its range, raising a ValueError naming ``name``."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric, got {value!r}") from error
    if np.isnan(array).any():
        raise ValueError(f"{name} must not contain NaN")
    if not allow_inf and np.isinf(array).any():
        raise ValueError(f"{name} must be finite")
    if minimum is not None and (array < minimum).any():
        raise ValueError(f"{name} must be >= {minimum}, got min {array.min()}")
    if strictly_above is not None and (array <= strictly_above).any():
        raise ValueError(f"{name} must be > {strictly_above}, got min {array.min()}")
    if maximum is not None and (array > maximum).any():
        raise ValueError(f"{name} must be <= {maximum}, got max {array.max()}")
    if below is not None and (array >= below).any():
        raise ValueError(f"{name} must be < {below}, got max {array.max()}")
    return array


def _agents_array(agents):
    return _as_array("agents", agents, minimum=0.0)


def _load_array(load_erlangs):
    return _as_array("load_erlangs", load_erlangs, minimum=0.0)


def _aht_array(aht_seconds):
    return _as_array("aht_seconds", aht_seconds, strictly_above=0.0)


def _threshold_array(threshold_seconds):
    return _as_array("threshold_seconds", threshold_seconds, minimum=0.0, allow_inf=True)


def _broadcast_flat(*arrays):
    """Broadcast arrays together; return the common shape and 1-d contiguous copies."""
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flat = [np.ascontiguousarray(np.broadcast_to(a, shape)).ravel() for a in arrays]
    return shape, flat


def _shaped(values, shape):
    """Reshape a flat result to ``shape``; 0-d results become numpy scalars."""
    out = np.asarray(values).reshape(shape)
    return out[()] if out.ndim == 0 else out


def _interpolate_agents(evaluate, agents, *args):
    """Evaluate ``evaluate(whole_agents, *args)`` with Koole's linear interpolation.

    ``evaluate`` takes flat int64 agent counts and flat float arguments of the same length and
    returns a flat array or a dict of flat arrays. Whole counts are evaluated exactly; a
    fractional count ``s`` gets ``(1 - f) * v(floor(s)) + f * v(floor(s) + 1)``, ``f = s - floor(s)``.
    """
    lower = np.floor(agents)
    fraction = agents - lower
    whole = lower.astype(np.int64)
    fractional = fraction > 0
    if not fractional.any():
        return evaluate(whole, *args)
    index = np.flatnonzero(fractional)
    stacked = evaluate(
        np.concatenate([whole, whole[index] + 1]),
        *(np.concatenate([a, a[index]]) for a in args),
    )
    n = agents.size
    f = fraction[index]

    def combine(values):
        values = np.asarray(values, dtype=float)
        out = values[:n].copy()
        with np.errstate(invalid="ignore"):
            # (1 - f) * lo + f * hi keeps an infinite ASA infinite (lo - hi would give inf - inf).
            out[index] = (1.0 - f) * values[index] + f * values[n:]
        return out

    if isinstance(stacked, dict):
        return {key: combine(value) for key, value in stacked.items()}
    return combine(stacked)


# --------------------------------------------------------------------------------------------
# Whole-agent kernels (flat arrays in, flat arrays out; inputs already validated)
# --------------------------------------------------------------------------------------------


def _erlang_b_whole(agents, load):
    """Erlang B for int64 agent counts by the recursion B(k) = A B(k-1) / (k + A B(k-1))."""
    blocking = np.ones_like(load)  # B(0, A) = 1
    if agents.size == 0:
        return blocking
    order = np.argsort(agents, kind="stable")
    sorted_agents = agents[order]
    b = np.ones_like(load)
    # Elements still climbing the recursion are a suffix of ``order`` (sorted by target count).
    start = int(np.searchsorted(sorted_agents, 1))
    for k in range(1, int(sorted_agents[-1]) + 1):
        active = order[start:]
        ab = load[active] * b[active]
        b[active] = ab / (k + ab)
        stop = int(np.searchsorted(sorted_agents, k, side="right"))
        if stop > start:
            done = order[start:stop]
            blocking[done] = b[done]
            start = stop
    return blocking


def _erlang_c_from_b(agents, load, blocking):
    """Erlang C from Erlang B, with the conventions for unstable queues and zero load."""
    s = agents.astype(float)
    stable = s > load
    with np.errstate(divide="ignore", invalid="ignore"):
        waiting = np.where(stable, s * blocking / (s - load * (1.0 - blocking)), 1.0)
    return np.where(load == 0.0, 0.0, waiting)


def _erlang_c_measures(agents, load, aht, threshold):
    """Probability of waiting, service level and ASA of M/M/s for whole agent counts."""
    s = agents.astype(float)
    c = _erlang_c_from_b(agents, load, _erlang_b_whole(agents, load))
    stable = (s > load) | (load == 0.0)
    gap = np.where(stable, s - load, 1.0)  # 1.0 only as a placeholder where unstable
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        sl = np.where(stable, 1.0 - c * np.exp(-gap * threshold / aht), 0.0)
        asa = np.where(stable, c * aht / gap, np.inf)
    sl = np.where(load == 0.0, 1.0, sl)
    asa = np.where(load == 0.0, 0.0, asa)
    return {"delay_probability": c, "service_level": np.clip(sl, 0.0, 1.0), "asa_seconds": asa}


def _stirling_error(a):
    """Stirling's error log Gamma(a + 1) - (a log a - a + log(2 pi a) / 2), for a >= 15."""
    r = 1.0 / a
    r2 = r * r
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))))


def _bd0(a, z, log_z):
    """Deviance a log(a / z) + z - a >= 0 (Loader), without cancellation where z is close to a."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v = (a - z) / (a + z)
        out = a * (np.log(a) - log_z) + z - a
    near = np.abs(v) < 0.1
    if near.any():
        an, vn = a[near], v[near]
        total = (an - z[near]) * vn
        term = 2.0 * an * vn
        v2 = vn * vn
        for j in range(1, 12):  # |v| < 0.1: the terms fall by 100 per step
            term = term * v2
            total = total + term / (2 * j + 1)
        out[near] = total
    return out


def _log_gamma_density(a, z, log_z, a_log_z):
    """log(z**a exp(-z) / Gamma(a + 1)) for a >= 0, z = exp(log_z) >= 0.

    ``a_log_z`` is a log z, supplied by the caller because it stays finite where a underflows
    and log z is huge. For a >= 15 the Stirling form with the deviance :func:`_bd0` avoids
    the cancellation between a log z, z and log Gamma(a + 1) (each ~ a log a).
    """
    with np.errstate(invalid="ignore"):
        out = a_log_z - z - special.gammaln(a + 1.0)
    large = a >= 15.0
    if large.any():
        al = a[large]
        out[large] = (-_bd0(al, z[large], log_z[large]) - 0.5 * np.log(al) - _LOG_SQRT_2PI
                      - _stirling_error(al))
    return out


def _tau_plus_expm1(tau):
    """tau - 1 + exp(-tau) >= 0 for tau >= 0, by its Taylor series where tau is small."""
    small = tau < 0.25
    t = np.where(small, tau, 0.0)
    poly = np.zeros_like(t)
    for k in range(20, 1, -1):  # sum_{k>=2} (-t)**k / k! = t**2 (1/2! - t/3! + ...)
        poly = (-1.0) ** k / math.factorial(k) + t * poly
    return np.where(small, t * t * poly, tau + np.expm1(-np.where(small, 0.0, tau)))


def _kummer_series(a, log_z, ratio, with_f2):
    """log sum_j t_j and log sum_j (j + 1) t_j, t_j = z**j / ((a+1)...(a+j)), for z <= (a+1)/2.

    The terms fall at least geometrically by ``ratio`` = z / (a + 1) <= 1/2, so at most ~70
    terms reach the tolerance exp(-42) (a bound that holds for both sums).
    """
    with np.errstate(divide="ignore"):
        fall = -np.log(ratio)                        # >= log 2; inf where z == 0
    terms = np.ceil((_SERIES_LOG_TOLERANCE + 6.0) / fall)
    width = int(max(1.0, terms.max()))
    j = np.arange(1, width + 1, dtype=float)
    log_m = np.empty(a.size)
    log_f2 = np.empty(a.size)
    rows = max(1, _SERIES_BLOCK_ELEMENTS // (width + 1))
    for start in range(0, a.size, rows):
        block = slice(start, start + rows)
        with np.errstate(invalid="ignore"):
            log_terms = np.cumsum(log_z[block, None] - np.log(a[block, None] + j), axis=1)
        log_terms = np.concatenate([np.zeros((log_terms.shape[0], 1)), log_terms], axis=1)
        log_m[block] = special.logsumexp(log_terms, axis=1)
        if with_f2:
            log_f2[block] = special.logsumexp(log_terms + np.log(np.arange(1.0, width + 2.0)),
                                              axis=1)
    return log_m, log_f2


def _kummer_laguerre(a, z, with_f2):
    """log M(1, a+1, z) and log M(2, a+1, z) in the lower tail (z < a - 1, P(a, z) < 1e-3).

    Euler's integrals M(1, a+1, z) = a int_0^1 exp(z t) (1-t)**(a-1) dt and M(2, a+1, z) =
    a (a-1) int_0^1 t exp(z t) (1-t)**(a-2) dt are rewritten with t = 1 - exp(-tau) and
    w = (a-1) tau - z (1 - exp(-tau)) as int_0^inf exp(-w) f(w) dw with f smooth, whose nearest
    singularity lies at w ~ log P(a, z) < -6.9; a 32-point Gauss-Laguerre rule is then exact to
    rounding (checked against 30-digit sums for 3 <= a <= 1e7). Its cost does not grow with a,
    unlike the series (~sqrt(a) terms near the mean, for long patience).
    """
    c = (a - 1.0)[:, None]
    zz = z[:, None]
    d = c - zz                                       # > 0
    w = _LAGUERRE_NODES[None, :]
    tau = w / d                                      # the root lies below (convexity)
    for _ in range(100):                             # Newton, monotone from above
        step = (d * tau + zz * _tau_plus_expm1(tau) - w) / (d - zz * np.expm1(-tau))
        tau = tau - step
        if (np.abs(step) <= 1e-11 * tau).all():      # quadratic: the error is now ~1e-20
            break
    # Scaled by d so that nothing under- or overflows for huge a: den / d ~ 1, tau d ~ w.
    den = 1.0 - (zz / d) * np.expm1(-tau)            # ((a - 1) - z exp(-tau)) / d > 0
    log_a_share = np.log(a / d[:, 0])                # a / d <= sqrt(a) here: no overflow
    log_m = log_a_share + np.log(np.sum(_LAGUERRE_WEIGHTS * np.exp(-tau) / den, axis=1))
    log_f2 = np.full(a.size, np.nan)
    if with_f2:
        t_scaled = -np.expm1(-tau) / tau * (tau * d)  # (1 - exp(-tau)) d
        log_f2 = log_a_share + np.log(c[:, 0] / d[:, 0]) + np.log(
            np.sum(_LAGUERRE_WEIGHTS * t_scaled / den, axis=1))
    return log_m, log_f2


def _log_kummer(a, z, log_z, a_log_z, with_f2=False):
    """Kummer sums and the regularised lower incomplete gamma P(a, z), in log space.

    For a >= 0 and z = exp(log_z) >= 0 (``a_log_z`` = a log z, see :func:`_log_gamma_density`)
    returns ``(log_m, log_p, closed, log_f2)``:

    - log_m  = log M(1, a+1, z) = log sum_{j>=0} z**j / ((a+1)(a+2)...(a+j)),
    - log_p  = log P(a, z) = log(z**a exp(-z) / Gamma(a+1)) + log_m,
    - closed = where P(a, z) came from ``scipy.special.gammainc`` (the closed form),
    - log_f2 = log M(2, a+1, z) = log sum_j (j+1) z**j / ((a+1)...(a+j)) (``with_f2``; NaN
      where ``closed``).

    Three evaluations, each accurate to rounding where it is used: the series where its terms
    fall fast (z <= (a+1)/2, also where z underflows), the closed form where P(a, z) >= 1e-3,
    and Gauss-Laguerre (:func:`_kummer_laguerre`) in the lower tail in between.
    """
    log_density = _log_gamma_density(a, z, log_z, a_log_z)
    ratio = z / (a + 1.0)
    # scipy's gammainc returns 0 for subnormal a; P(a, z) -> 1 as a -> 0 for z > 0.
    p = special.gammainc(np.maximum(a, 1e-300), z)
    series = ratio <= _SERIES_MAX_RATIO
    closed = ~series & ((p >= _CLOSED_FORM_MIN_P) | (z >= a - 1.0))
    laguerre = ~series & ~closed
    log_m = np.empty(a.size)
    log_p = np.empty(a.size)
    log_f2 = np.full(a.size, np.nan)
    if closed.any():
        log_p[closed] = np.log(p[closed])
        log_m[closed] = log_p[closed] - log_density[closed]
    if series.any():
        log_m[series], log_f2[series] = _kummer_series(a[series], log_z[series], ratio[series],
                                                       with_f2)
    if laguerre.any():
        log_m[laguerre], log_f2[laguerre] = _kummer_laguerre(a[laguerre], z[laguerre], with_f2)
    fitted = ~closed
    log_p[fitted] = log_density[fitted] + log_m[fitted]
    if not with_f2:
        log_f2[:] = np.nan
    return log_m, log_p, closed, log_f2


def _erlang_a_general(s, load, aht, patience, threshold, blocking):
    """Erlang A with 0 < patience < inf and load > 0 (flat arrays), Mandelbaum & Zeltyn (2007).

    With x = s mu / theta, y = lambda / theta, M(b, z) = sum_j z**j / prod_{k<=j}(b + k),
    F(b, z) = sum_j (j + 1) z**j / prod_{k<=j}(b + k) and the regularised lower incomplete gamma
    P, the birth-death chain gives M(x, y) = e**y y**-x Gamma(x + 1) P(x, y) and
    pi_s = B / (1 + (M(x, y) - 1) B) (B: Erlang B). With u = exp(-theta t) the exact closed
    forms for the sums over n >= s are

    - P(wait > 0)                 = pi_s M(x, y)
    - P(abandon)                  = P(wait > 0) F(x + 1, y) / ((x + 1) M(x, y))
    - P(virtual wait > t)         = P(wait > 0) P(x, y u) / P(x, y)
    - P(served, virtual wait > t) = P(wait > 0) (x / y) P(x + 1, y u) / P(x, y)

    P(abandon) = theta E[queue] / lambda, and F's terms are all positive, unlike those of the
    equivalent 1 - (x / y) (1 - 1 / M(x, y)), which cancels badly for small y or large x. The
    tails follow from the virtual wait of an arrival finding j others queued being a sum of
    exponentials with rates s mu + i theta, i = 0..j, so that exp(-theta V) ~ Beta(x, j + 1).

    Everything is evaluated from logarithms (:func:`_log_kummer`) of x, y, u and of the Kummer
    sums, never from y, y / x or y u as plain floats: lambda / theta underflows for a subnormal
    load (5e-324) and u for a tiny patience, while the measures tend to their limits (nobody
    waits; Erlang B). Where mu / theta is so large that x or y would pass ~1e300, the queue is
    evaluated at that cap: for s > A it is then Erlang C to far beyond double precision, for
    s < A the fluid limit (P(abandon) and t / patience fixed), and for s == A P(abandon) and
    the waits scale with sqrt(theta / mu).
    """
    n = s.size
    out = {key: np.zeros(n) for key in _ERLANG_A_KEYS}
    with np.errstate(divide="ignore"):
        log_s = np.log(s)                              # -inf for s = 0 (handled apart)
    log_load = np.log(load)
    log_patience = np.log(patience)
    log_r = log_patience - np.log(aht)                 # log(mu / theta), finite
    log_y_true = log_load + log_r                      # log(lambda / theta)
    log_cap = _LOG_RATE_CAP - np.log(np.maximum(np.maximum(s, load), 1.0))
    capped = log_r > log_cap

    def put(mask, **values):
        for key, value in values.items():
            out[key][mask] = value if np.ndim(value) == 0 else value[mask]

    # No agents: every arrival waits until it abandons (mean wait = mean patience).
    nobody = s == 0.0
    if nobody.any():
        with np.errstate(over="ignore"):
            queue = np.exp(log_y_true)
        put(nobody, delay_probability=1.0, abandon_probability=1.0, asa_seconds=patience,
            mean_queue_length=queue)
    # Patience beyond the cap with s > A: Erlang C, abandonment theta E[wait].
    limit_c = capped & (s > load) & ~nobody
    if limit_c.any():
        k = np.flatnonzero(limit_c)
        c = _erlang_c_measures(s[k].astype(np.int64), load[k], aht[k], threshold[k])
        with np.errstate(divide="ignore", under="ignore"):
            abandon = np.exp(np.log(c["asa_seconds"]) - log_patience[k])
        sl = c["service_level"]
        out["delay_probability"][k] = c["delay_probability"]
        out["abandon_probability"][k] = abandon
        out["asa_seconds"][k] = c["asa_seconds"]
        out["mean_queue_length"][k] = c["asa_seconds"] * load[k] / aht[k]
        out["occupancy"][k] = np.minimum(load[k] * (1.0 - abandon) / s[k], 1.0)
        for key in ("service_level_offered", "service_level_answered", "service_level_virtual"):
            out[key][k] = sl
    k = np.flatnonzero(~nobody & ~limit_c)
    if k.size == 0:
        return out
    s, load, aht, patience, threshold, blocking = (
        v[k] for v in (s, load, aht, patience, threshold, blocking))
    log_s, log_load, log_patience, log_y_true, capped = (
        v[k] for v in (log_s, log_load, log_patience, log_y_true, capped))
    log_r_true = log_r[k]
    log_r = np.minimum(log_r_true, log_cap[k])
    # At the cap with s == A exactly (critical load) P(abandon) and the waits scale with
    # sqrt(theta / mu); for s < A the fluid limit holds (P(abandon) and t / patience fixed).
    critical = capped & (s == load)
    log_x = log_s + log_r
    log_y = log_load + log_r
    with np.errstate(over="ignore", under="ignore"):
        ratio = patience / aht
    # Plain products are the most accurate where mu / theta is a normal float.
    direct = ~capped & (ratio > 1e-300) & np.isfinite(ratio)
    with np.errstate(over="ignore", under="ignore"):
        x = np.where(direct, s * ratio, np.exp(log_x))
        y = np.where(direct, load * ratio, np.exp(log_y))
    log1p_x = np.log1p(x)
    # log(x / (x + 1)) without cancellation for large x and without 1 / x overflow for tiny x.
    with np.errstate(divide="ignore"):
        log_x_share = np.where(x > 1.0, -np.log1p(1.0 / np.maximum(x, 1.0)), log_x - log1p_x)

    # log(y / x) = log(A / s) exactly (mu / theta cancels), accurate also where A ~ s.
    gap = (load - s) / s
    log_load_share = np.where(np.abs(gap) < 0.5, np.log1p(np.clip(gap, -0.5, 0.5)),
                              log_load - log_s)

    # Normalisation: q = log(M(x, y) - 1), M(x, y) - 1 = y / (x + 1) M(x + 1, y).
    log_m1, _, closed1, log_f2 = _log_kummer(x + 1.0, y, log_y, (x + 1.0) * log_y, with_f2=True)
    q = log_load_share + log_x_share + log_m1          # log(y / (x + 1)) + log M(x + 1, y)
    log_m = np.logaddexp(0.0, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        delay = np.where(blocking > 0.0,
                         blocking / (blocking + (1.0 - blocking) * np.exp(-log_m)), 0.0)
        # P(abandon) / P(wait > 0): the positive series M(2, x+2, y) / ((x+1) M(x, y)) or,
        # where the closed form holds (y > (x + 2) / 2), 1 - x M(x+1, y) / ((x+1) M(x, y)) =
        # 1 - (x / y) (1 - 1 / M(x, y)); its log is taken without subtracting log M's (each
        # ~ y for large y) nor log y - log(x + 1) (each ~ log(mu / theta)).
        log_served_share = np.where(q > 0.0, -log_load_share - np.logaddexp(0.0, -q),
                                    log_x_share + log_m1 - log_m)
        share = np.where(closed1, -np.expm1(log_served_share),
                         np.exp(log_f2 - log1p_x - log_m))
        share = np.clip(share, 0.0, 1.0)
        log_abandon = np.log(delay) + np.log(share) + np.where(
            critical, 0.5 * (log_r - log_r_true), 0.0)
        abandon = np.where(critical, np.exp(log_abandon), delay * share)
    with np.errstate(over="ignore"):
        asa = np.exp(log_abandon + log_patience)       # E[wait] = P(abandon) / theta
        queue = np.exp(log_abandon + log_y_true)       # E[queue] = P(abandon) lambda / theta
    served = 1.0 - abandon

    # Waiting-time tails, u = exp(-theta t): log u = -t / patience, -x log u = s t / AHT.
    with np.errstate(invalid="ignore", over="ignore"):
        log_u_neg = np.where(critical, threshold / aht * np.exp(-0.5 * (log_r_true + log_r)),
                             threshold / patience)     # -log u, in [0, inf]
        decay = np.where(capped, x * log_u_neg, s * threshold / aht)
    virtual_tail = delay.copy()
    served_tail = delay - abandon
    later = np.flatnonzero(threshold > 0.0)
    if later.size:
        xl, yl, ly, dl, tl = x[later], y[later], log_y[later], decay[later], log_u_neg[later]
        growth = -yl * np.expm1(-tl)                   # y (1 - u)
        log_yu = ly - tl
        with np.errstate(under="ignore"):
            yu = yl * np.exp(-tl)
        log_m0, log_p0, closed0, _ = _log_kummer(xl, yl, ly, xl * ly)   # M(x, y), P(x, y)
        log_mu0, log_pu0, closed_u0, _ = _log_kummer(xl, yu, log_yu, xl * ly - dl)
        log_mu1, log_pu1, closed_u1, _ = _log_kummer(xl + 1.0, yu, log_yu,
                                                     (xl + 1.0) * ly - dl - tl)
        with np.errstate(invalid="ignore"):
            # Where neither P comes from the closed form, the Gamma densities in log P = log
            # density + log M are subtracted analytically: x log u + y (1 - u) = growth - decay.
            log_virtual = np.where(closed0 | closed_u0, log_pu0 - log_p0,
                                   growth - dl + log_mu0 - log_m0)
            log_served = np.where(closed0 | closed_u1,
                                  log_s[later] - log_load[later] + log_pu1 - log_p0,
                                  log_x_share[later] - tl - dl + growth + log_mu1 - log_m0)
            virtual_tail[later] = delay[later] * np.exp(log_virtual)
            served_tail[later] = delay[later] * np.exp(log_served)
    virtual_tail = np.clip(virtual_tail, 0.0, delay)
    served_tail = np.clip(served_tail, 0.0, np.minimum(delay - abandon, virtual_tail))
    offered = np.where(threshold > 0.0, served - served_tail, 1.0 - delay)
    with np.errstate(divide="ignore", invalid="ignore"):
        answered = np.where(served > 0.0, offered / np.where(served > 0.0, served, 1.0), 0.0)
    measures = {
        "delay_probability": delay,
        "abandon_probability": abandon,
        "occupancy": np.clip(load * served / s, 0.0, 1.0),
        "asa_seconds": asa,
        "mean_queue_length": queue,
        "service_level_offered": np.clip(offered, 0.0, 1.0),
        "service_level_answered": np.clip(answered, 0.0, 1.0),
        "service_level_virtual": np.clip(1.0 - virtual_tail, 0.0, 1.0),
    }
    for key, value in measures.items():
        out[key][k] = value
    return out


def _erlang_a_whole(agents, load, aht, patience, threshold):
    """All Erlang-A measures for whole agent counts (flat arrays); see :func:`erlang_a`."""
    s = agents.astype(float)
    n = load.size
    blocking = _erlang_b_whole(agents, load)
    # Zero load: nobody waits, whatever the staffing (service levels 1, everything else 0).
    result = {key: np.full(n, 1.0 if key.startswith("service_level") else 0.0)
              for key in _ERLANG_A_KEYS}

    def put(mask, **values):
        for key, value in values.items():
            result[key][mask] = value if np.ndim(value) == 0 else value[mask]

    busy = load > 0.0
    # Infinite patience: Erlang C (M/M/s), no abandonment.
    no_abandon = busy & np.isinf(patience)
    if no_abandon.any():
        c = _erlang_c_measures(agents, load, aht, threshold)
        stable = s > load
        with np.errstate(divide="ignore", invalid="ignore"):
            occ = np.where(stable, load / np.where(s > 0, s, 1.0), np.where(s > 0, 1.0, 0.0))
            queue = np.where(stable, c["asa_seconds"] * load / aht, np.inf)
        put(no_abandon, delay_probability=c["delay_probability"], abandon_probability=0.0,
            occupancy=occ, asa_seconds=c["asa_seconds"], mean_queue_length=queue,
            service_level_offered=c["service_level"], service_level_answered=c["service_level"],
            service_level_virtual=c["service_level"])
    # Zero patience: Erlang B (M/M/s/s), whoever finds all agents busy leaves at once.
    blocked = busy & (patience == 0.0)
    if blocked.any():
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            occ = np.where(s > 0, load * (1.0 - blocking) / np.where(s > 0, s, 1.0), 0.0)
            virtual = 1.0 - blocking * np.exp(-np.where(s > 0, s * threshold / aht, 0.0))
        put(blocked, delay_probability=blocking, abandon_probability=blocking, occupancy=occ,
            asa_seconds=0.0, mean_queue_length=0.0, service_level_offered=1.0 - blocking,
            service_level_answered=np.where(blocking < 1.0, 1.0, 0.0),
            service_level_virtual=virtual)
    general = np.flatnonzero(busy & np.isfinite(patience) & (patience > 0.0))
    if general.size:
        g = {key: value[general] for key, value in
             dict(s=s, load=load, aht=aht, patience=patience, threshold=threshold,
                  blocking=blocking).items()}
        measures = _erlang_a_general(**g)
        for key, value in measures.items():
            result[key][general] = value
    return result


# --------------------------------------------------------------------------------------------
# Public API: Erlang B and C
# --------------------------------------------------------------------------------------------


def offered_load(arrivals_per_interval, aht_seconds, interval_seconds):
    r"""
    Offered load in Erlangs from a contact count per interval.

    .. math:: A = \lambda \cdot AHT = \frac{n}{T} \cdot AHT

    Parameters
    ----------
    arrivals_per_interval : array_like
        Contacts arriving in one interval (forecast volume), >= 0.
    aht_seconds : array_like
        Mean handle time [s], > 0.
    interval_seconds : array_like
        Length of the interval [s], > 0 (1800 for half-hour intervals).

    Returns
    -------
    load_erlangs : numpy.ndarray or float
        Offered load [Erlang] = busy agents needed on average.

    References
    ----------
    .. [1] A. K. Erlang, "Solution of some problems in the theory of probabilities of
       significance in automatic telephone exchanges", Elektroteknikeren 13, 1917.
    """
    arrivals = _as_array("arrivals_per_interval", arrivals_per_interval, minimum=0.0)
    aht = _aht_array(aht_seconds)
    interval = _as_array("interval_seconds", interval_seconds, strictly_above=0.0)
    load = arrivals * aht / interval
    return load[()] if load.ndim == 0 else load


def erlang_b(agents, load_erlangs):
    r"""
    Blocking probability of the Erlang loss system M/M/s/s (Erlang B).

    Computed with the stable recursion :math:`B(0) = 1`,
    :math:`B(k) = A B(k-1) / (k + A B(k-1))`, which is exact in floating point to many
    thousands of agents (``A**s / s!`` overflows above ~170 agents and is never formed).

    Parameters
    ----------
    agents : array_like
        Number of agents (servers) s >= 0. Fractional values are interpolated linearly
        between the neighbouring whole counts (Koole's convention).
    load_erlangs : array_like
        Offered load A >= 0 [Erlang].

    Returns
    -------
    blocking_probability : numpy.ndarray or float
        B(s, A) in [0, 1]; B(0, A) = 1.

    References
    ----------
    .. [1] A. K. Erlang, "Solution of some problems in the theory of probabilities of
       significance in automatic telephone exchanges", Elektroteknikeren 13, 1917.
    .. [2] G. Koole, "Call Center Optimization", MG books, 2013, ch. 4.
    """
    agents = _agents_array(agents)
    load = _load_array(load_erlangs)
    shape, (agents, load) = _broadcast_flat(agents, load)
    return _shaped(_interpolate_agents(_erlang_b_whole, agents, load), shape)


def erlang_c(agents, load_erlangs):
    r"""
    Probability that an arriving contact has to wait in M/M/s (Erlang C).

    .. math:: C(s, A) = \frac{s B(s, A)}{s - A (1 - B(s, A))}, \quad s > A

    with B the Erlang B blocking probability. For ``agents <= load_erlangs`` the queue is
    unstable and C = 1; for zero load nobody waits and C = 0.

    Parameters
    ----------
    agents : array_like
        Number of agents s >= 0; fractional values are interpolated linearly between whole
        counts (Koole's convention).
    load_erlangs : array_like
        Offered load A >= 0 [Erlang].

    Returns
    -------
    delay_probability : numpy.ndarray or float
        C(s, A) in [0, 1].

    References
    ----------
    .. [1] A. K. Erlang, "Solution of some problems in the theory of probabilities of
       significance in automatic telephone exchanges", Elektroteknikeren 13, 1917.
    .. [2] G. Koole, "Call Center Optimization", MG books, 2013, ch. 4.
    """
    agents = _agents_array(agents)
    load = _load_array(load_erlangs)
    shape, (agents, load) = _broadcast_flat(agents, load)

    def evaluate(whole, a):
        return _erlang_c_from_b(whole, a, _erlang_b_whole(whole, a))

    return _shaped(_interpolate_agents(evaluate, agents, load), shape)


def service_level(agents, load_erlangs, aht_seconds, threshold_seconds):
    r"""
    Share of contacts answered within a threshold in M/M/s (Erlang C service level).

    .. math:: SL(t) = 1 - C(s, A) \exp(-(s - A) t / AHT), \quad s > A

    and 0 for an unstable queue (``agents <= load_erlangs``), 1 for zero load.

    Parameters
    ----------
    agents : array_like
        Number of agents s >= 0; fractional values are interpolated linearly between whole
        counts (Koole's convention), which keeps SL piecewise linear for LP relaxations.
    load_erlangs : array_like
        Offered load A >= 0 [Erlang].
    aht_seconds : array_like
        Mean handle time [s], > 0.
    threshold_seconds : array_like
        Acceptable wait t [s], >= 0 (``numpy.inf`` allowed).

    Returns
    -------
    service_level : numpy.ndarray or float
        P(wait <= t), a fraction in [0, 1].

    References
    ----------
    .. [1] A. K. Erlang, "Solution of some problems in the theory of probabilities of
       significance in automatic telephone exchanges", Elektroteknikeren 13, 1917.
    .. [2] G. Koole, "Call Center Optimization", MG books, 2013, ch. 4 (interpolation of the
       service level between whole agent counts).
    """
    agents = _agents_array(agents)
    load = _load_array(load_erlangs)
    aht = _aht_array(aht_seconds)
    threshold = _threshold_array(threshold_seconds)
    shape, (agents, load, aht, threshold) = _broadcast_flat(agents, load, aht, threshold)

    def evaluate(whole, a, h, t):
        return _erlang_c_measures(whole, a, h, t)["service_level"]

    return _shaped(_interpolate_agents(evaluate, agents, load, aht, threshold), shape)


def asa_seconds(agents, load_erlangs, aht_seconds):
    r"""
    Average speed of answer (mean wait of all contacts) in M/M/s.

    .. math:: ASA = \frac{C(s, A) \cdot AHT}{s - A}, \quad s > A

    infinite for an unstable queue (``agents <= load_erlangs``), 0 for zero load.

    Parameters
    ----------
    agents : array_like
        Number of agents s >= 0; fractional values are interpolated linearly between whole
        counts (Koole's convention; an infinite neighbour gives an infinite result).
    load_erlangs : array_like
        Offered load A >= 0 [Erlang].
    aht_seconds : array_like
        Mean handle time [s], > 0.

    Returns
    -------
    asa_seconds : numpy.ndarray or float
        Mean waiting time [s] over all contacts (those answered at once count as 0).

    References
    ----------
    .. [1] A. K. Erlang, "Solution of some problems in the theory of probabilities of
       significance in automatic telephone exchanges", Elektroteknikeren 13, 1917.
    .. [2] G. Koole, "Call Center Optimization", MG books, 2013, ch. 4.
    """
    agents = _agents_array(agents)
    load = _load_array(load_erlangs)
    aht = _aht_array(aht_seconds)
    shape, (agents, load, aht) = _broadcast_flat(agents, load, aht)

    def evaluate(whole, a, h):
        return _erlang_c_measures(whole, a, h, np.zeros_like(a))["asa_seconds"]

    return _shaped(_interpolate_agents(evaluate, agents, load, aht), shape)


def occupancy(agents, load_erlangs):
    r"""
    Agent occupancy (share of time agents are busy) in M/M/s.

    .. math:: \rho = A / s

    capped at 1: an unstable queue (``0 < agents <= load_erlangs``) keeps every agent busy.
    Zero agents or zero load give 0. Exact for fractional agents (no interpolation needed).

    Parameters
    ----------
    agents : array_like
        Number of agents s >= 0.
    load_erlangs : array_like
        Offered load A >= 0 [Erlang].

    Returns
    -------
    occupancy : numpy.ndarray or float
        Fraction in [0, 1].

    References
    ----------
    .. [1] G. Koole, "Call Center Optimization", MG books, 2013, ch. 4.
    """
    agents = _agents_array(agents)
    load = _load_array(load_erlangs)
    with np.errstate(divide="ignore", invalid="ignore"):
        occ = np.where(agents > 0, np.minimum(load / np.where(agents > 0, agents, 1.0), 1.0), 0.0)
    return occ[()] if occ.ndim == 0 else occ


def required_agents(load_erlangs, aht_seconds=None, threshold_seconds=None, *,
                    target_service_level=None, target_asa_seconds=None, max_occupancy=None):
    r"""
    Smallest whole number of agents meeting every given target, per interval (Erlang C).

    Searches upward from the smallest stable staffing ``floor(A) + 1`` with one pass of the
    Erlang B recursion shared by all intervals, so the cost is that of a single Erlang B
    evaluation at the answer. A staffing s is accepted when all given targets hold:

    - ``service_level(s, A, aht_seconds, threshold_seconds) >= target_service_level``
    - ``asa_seconds(s, A, aht_seconds) <= target_asa_seconds``
    - ``occupancy(s, A) <= max_occupancy``

    Zero load needs 0 agents. The result is the *raw* requirement; add shrinkage with
    :func:`apply_shrinkage`.

    Parameters
    ----------
    load_erlangs : array_like
        Offered load A >= 0 [Erlang] (see :func:`offered_load`).
    aht_seconds : array_like, optional
        Mean handle time [s], > 0. Required with a service-level or ASA target.
    threshold_seconds : array_like, optional
        Acceptable wait [s], >= 0. Required with a service-level target.
    target_service_level : array_like, optional
        Minimum share answered within the threshold, a fraction in [0, 1] (0.8 for 80/20).
    target_asa_seconds : array_like, optional
        Maximum average speed of answer [s], > 0.
    max_occupancy : array_like, optional
        Occupancy cap, a fraction in (0, 1].

    Returns
    -------
    agents : numpy.ndarray of int64 or int
        Raw whole agents, broadcast over all the inputs.

    Raises
    ------
    ValueError
        If no target is given, a target lacks the times it needs, or an input is out of range.

    References
    ----------
    .. [1] A. K. Erlang, "Solution of some problems in the theory of probabilities of
       significance in automatic telephone exchanges", Elektroteknikeren 13, 1917.
    .. [2] G. Koole, "Call Center Optimization", MG books, 2013, ch. 4.
    """
    if target_service_level is None and target_asa_seconds is None and max_occupancy is None:
        raise ValueError("give at least one of target_service_level, target_asa_seconds, "
                         "max_occupancy")
    if target_service_level is not None and (aht_seconds is None or threshold_seconds is None):
        raise ValueError("target_service_level needs aht_seconds and threshold_seconds")
    if target_asa_seconds is not None and aht_seconds is None:
        raise ValueError("target_asa_seconds needs aht_seconds")

    load = _load_array(load_erlangs)
    aht = _aht_array(1.0 if aht_seconds is None else aht_seconds)
    threshold = _threshold_array(0.0 if threshold_seconds is None else threshold_seconds)
    sl_target = _as_array("target_service_level",
                          -np.inf if target_service_level is None else target_service_level,
                          allow_inf=target_service_level is None,
                          **({} if target_service_level is None else {"minimum": 0.0,
                                                                      "maximum": 1.0}))
    asa_target = _as_array("target_asa_seconds",
                           np.inf if target_asa_seconds is None else target_asa_seconds,
                           strictly_above=0.0, allow_inf=target_asa_seconds is None)
    occ_cap = _as_array("max_occupancy", 1.0 if max_occupancy is None else max_occupancy,
                        strictly_above=0.0, maximum=1.0)
    shape, (load, aht, threshold, sl_target, asa_target, occ_cap) = _broadcast_flat(
        load, aht, threshold, sl_target, asa_target, occ_cap)

    n = load.size
    answer = np.zeros(n, dtype=np.int64)
    first_stable = np.floor(load).astype(np.int64) + 1
    active = np.flatnonzero(load > 0.0)
    b = np.ones(active.size)
    k = 0
    while active.size:
        k += 1
        a = load[active]
        ab = a * b
        b = ab / (k + ab)
        check = first_stable[active] <= k
        if not check.any():
            continue
        idx = active[check]
        a, bc = load[idx], b[check]
        gap = k - a
        c = k * bc / (k - a * (1.0 - bc))
        with np.errstate(over="ignore"):
            sl = 1.0 - c * np.exp(-gap * threshold[idx] / aht[idx])
        ok = (sl >= sl_target[idx]) & (c * aht[idx] / gap <= asa_target[idx]) \
            & (a / k <= occ_cap[idx])
        if ok.any():
            answer[idx[ok]] = k
            keep = np.ones(active.size, dtype=bool)
            keep[np.flatnonzero(check)[ok]] = False
            active, b = active[keep], b[keep]
    return _shaped(answer, shape)


def apply_shrinkage(raw_agents, shrinkage):
    r"""
    Scheduled (rostered) agents needed so that ``raw_agents`` remain after shrinkage.

    .. math:: N = \lceil s_{raw} / (1 - shrinkage) \rceil

    A relative tolerance of 1e-9 absorbs floating-point noise (14 / (1 - 0.3) is 20, not 21).

    Parameters
    ----------
    raw_agents : array_like
        Agents needed on the phones/queue (e.g. from :func:`required_agents`), >= 0.
    shrinkage : array_like
        Share of paid time not available for handling contacts (breaks, training, absence),
        a fraction in [0, 1).

    Returns
    -------
    scheduled_agents : numpy.ndarray of int64 or int

    References
    ----------
    .. [1] G. Koole, "Call Center Optimization", MG books, 2013, ch. 6 (shrinkage).
    """
    raw = _as_array("raw_agents", raw_agents, minimum=0.0)
    shrink = _as_array("shrinkage", shrinkage, minimum=0.0, below=1.0)
    needed = raw / (1.0 - shrink)
    scheduled = np.ceil(needed * (1.0 - 1e-9)).astype(np.int64)
    return scheduled[()] if scheduled.ndim == 0 else scheduled


# --------------------------------------------------------------------------------------------
# Public API: Erlang A
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErlangAResult:
    """Steady-state measures of the Erlang-A queue (M/M/s+M), one entry per interval.

    Attributes
    ----------
    sl_definition : str
        Which definition ``service_level`` holds: ``"offered"``, ``"answered"`` or ``"virtual"``.
    service_level : numpy.ndarray or float
        The service level under ``sl_definition``.
    service_level_offered : numpy.ndarray or float
        Answered within the threshold / all arrivals; abandoned contacts count as misses.
    service_level_answered : numpy.ndarray or float
        Answered within the threshold / answered contacts (abandoned contacts ignored).
    service_level_virtual : numpy.ndarray or float
        P(virtual wait <= threshold): the wait an arrival would have with infinite patience.
    delay_probability : numpy.ndarray or float
        P(wait > 0): probability that an arrival finds all agents busy.
    abandon_probability : numpy.ndarray or float
        P(abandon) = theta E[queue] / lambda.
    occupancy : numpy.ndarray or float
        Share of agent time busy = load (1 - P(abandon)) / agents.
    asa_seconds : numpy.ndarray or float
        Mean wait over *all* arrivals [s], answered and abandoned (the time abandoned contacts
        spent waiting counts; contacts answered at once count as 0) = E[queue] / lambda.
    mean_queue_length : numpy.ndarray or float
        Mean number of contacts waiting.
    """

    sl_definition: str
    service_level: np.ndarray
    service_level_offered: np.ndarray
    service_level_answered: np.ndarray
    service_level_virtual: np.ndarray
    delay_probability: np.ndarray
    abandon_probability: np.ndarray
    occupancy: np.ndarray
    asa_seconds: np.ndarray
    mean_queue_length: np.ndarray


def erlang_a(agents, load_erlangs, aht_seconds, patience_seconds, threshold_seconds,
             sl_definition="offered"):
    r"""
    Erlang A (M/M/s+M): Poisson arrivals, exponential service and exponential patience.

    The birth-death chain has birth rate lambda = A / AHT and death rate
    ``min(n, s) mu + max(n - s, 0) theta`` (mu = 1 / AHT, theta = 1 / patience). It is evaluated
    exactly (no truncation error beyond ~1e-18) with the closed forms of Mandelbaum & Zeltyn in
    log space: the normalising sum over queue lengths is a Kummer series / incomplete gamma
    function, and so are the waiting-time tails, because the virtual wait of an arrival finding
    j contacts queued is a sum of exponentials with rates ``s mu + i theta``, i = 0..j.

    Three service-level definitions are returned; ``sl_definition`` picks the one put in
    ``service_level`` (default ``"offered"``: answered within the threshold over all arrivals,
    abandoned contacts count as misses; ``"answered"``: over answered contacts only;
    ``"virtual"``: P(virtual wait <= threshold) over all arrivals).

    Limits: ``patience_seconds=numpy.inf`` gives Erlang C (:func:`erlang_c`,
    :func:`service_level`), ``patience_seconds=0`` gives Erlang B (delay and abandonment
    probability equal :func:`erlang_b`), and finite patience tends to both continuously (from
    5e-324 s to 1.8e308 s). Unlike Erlang C the queue is stable for every staffing when the
    patience is finite.

    Parameters
    ----------
    agents : array_like
        Number of agents s >= 0; fractional values are interpolated linearly between whole
        counts (Koole's convention) for every measure.
    load_erlangs : array_like
        Offered load A >= 0 [Erlang].
    aht_seconds : array_like
        Mean handle time 1 / mu [s], > 0.
    patience_seconds : array_like
        Mean patience 1 / theta [s], >= 0 (0 and ``numpy.inf`` allowed).
    threshold_seconds : array_like
        Acceptable wait [s], >= 0 (``numpy.inf`` allowed).
    sl_definition : {"offered", "answered", "virtual"}, default "offered"
        Definition reported in ``ErlangAResult.service_level``.

    Returns
    -------
    ErlangAResult
        Arrays (or floats for scalar inputs) broadcast over the inputs.

    References
    ----------
    .. [1] C. Palm, "Research on telephone traffic carried by full availability groups",
       Tele 1, 1957 (the M/M/s+M model).
    .. [2] A. Mandelbaum and S. Zeltyn, "Service engineering in action: the Palm/Erlang-A
       queue, with applications to call centers", in Advances in Services Innovations,
       Springer, 2007, pp. 17-45.
    .. [3] O. Garnett, A. Mandelbaum and M. Reiman, "Designing a call center with impatient
       customers", Manufacturing & Service Operations Management 4(3), 2002, pp. 208-227.
    .. [4] G. Koole, "Call Center Optimization", MG books, 2013, ch. 4 (interpolation).
    """
    if sl_definition not in SL_DEFINITIONS:
        raise ValueError(f"sl_definition must be one of {SL_DEFINITIONS}, got {sl_definition!r}")
    agents = _agents_array(agents)
    load = _load_array(load_erlangs)
    aht = _aht_array(aht_seconds)
    patience = _as_array("patience_seconds", patience_seconds, minimum=0.0, allow_inf=True)
    threshold = _threshold_array(threshold_seconds)
    shape, (agents, load, aht, patience, threshold) = _broadcast_flat(
        agents, load, aht, patience, threshold)
    measures = _interpolate_agents(_erlang_a_whole, agents, load, aht, patience, threshold)
    fields = {key: _shaped(value, shape) for key, value in measures.items()}
    return ErlangAResult(sl_definition=sl_definition,
                         service_level=fields[f"service_level_{sl_definition}"], **fields)


def required_agents_erlang_a(load_erlangs, aht_seconds, patience_seconds, threshold_seconds=None, *,
                             target_service_level=None, target_asa_seconds=None, max_occupancy=None,
                             max_abandon_probability=None, sl_definition="offered"):
    r"""
    Smallest whole number of agents meeting every given target, per interval (Erlang A).

    A staffing s is accepted when all given targets hold for :func:`erlang_a` at s:
    service level (under ``sl_definition``) >= ``target_service_level``, ASA (over all arrivals)
    <= ``target_asa_seconds``, occupancy <= ``max_occupancy`` and P(abandon) <=
    ``max_abandon_probability``. Each measure is monotone in s (more agents: higher service
    level, shorter waits, fewer abandonments, lower occupancy), so the answer is found per
    interval by doubling an upper bound and bisecting, all intervals at once: about
    2 log2(s) vectorised evaluations. With finite patience every staffing is stable, so unlike
    Erlang C the answer may be below the load. Zero load needs 0 agents.

    Parameters
    ----------
    load_erlangs, aht_seconds, patience_seconds, threshold_seconds
        As in :func:`erlang_a` (``threshold_seconds`` only needed with a service-level target).
    target_service_level : array_like, optional
        Minimum service level, a fraction in [0, 1].
    target_asa_seconds : array_like, optional
        Maximum average speed of answer [s], > 0.
    max_occupancy : array_like, optional
        Occupancy cap, a fraction in (0, 1].
    max_abandon_probability : array_like, optional
        Largest acceptable share of arrivals that abandon, in [0, 1].
    sl_definition : {"offered", "answered", "virtual"}
        Service-level definition of the target (see :func:`erlang_a`).

    Returns
    -------
    agents : numpy.ndarray of int64 or int

    References
    ----------
    .. [1] A. Mandelbaum and S. Zeltyn, "Service engineering in action: the Palm/Erlang-A
       queue, with applications to call centers", 2007.
    .. [2] G. Koole, "Call Center Optimization", MG books, 2013, ch. 4.
    """
    if sl_definition not in SL_DEFINITIONS:
        raise ValueError(f"sl_definition must be one of {SL_DEFINITIONS}, got {sl_definition!r}")
    if all(t is None for t in (target_service_level, target_asa_seconds, max_occupancy,
                               max_abandon_probability)):
        raise ValueError("give at least one of target_service_level, target_asa_seconds, "
                         "max_occupancy, max_abandon_probability")
    if target_service_level is not None and threshold_seconds is None:
        raise ValueError("target_service_level needs threshold_seconds")
    load = _load_array(load_erlangs)
    aht = _aht_array(aht_seconds)
    patience = _as_array("patience_seconds", patience_seconds, minimum=0.0, allow_inf=True)
    threshold = _threshold_array(0.0 if threshold_seconds is None else threshold_seconds)
    sl_t = _as_array("target_service_level", -np.inf if target_service_level is None else target_service_level,
                     allow_inf=target_service_level is None,
                     **({} if target_service_level is None else {"minimum": 0.0, "maximum": 1.0}))
    asa_t = _as_array("target_asa_seconds", np.inf if target_asa_seconds is None else target_asa_seconds,
                      strictly_above=0.0, allow_inf=target_asa_seconds is None)
    occ_t = _as_array("max_occupancy", 1.0 if max_occupancy is None else max_occupancy,
                      strictly_above=0.0, maximum=1.0)
    ab_t = _as_array("max_abandon_probability", 1.0 if max_abandon_probability is None
                     else max_abandon_probability, minimum=0.0, maximum=1.0)
    shape, (load, aht, patience, threshold, sl_t, asa_t, occ_t, ab_t) = _broadcast_flat(
        load, aht, patience, threshold, sl_t, asa_t, occ_t, ab_t)
    tol = 1e-12

    def ok(idx, agents):
        m = _erlang_a_whole(agents, load[idx], aht[idx], patience[idx], threshold[idx])
        good = (m[f"service_level_{sl_definition}"] >= sl_t[idx] - tol) \
            & (m["asa_seconds"] <= asa_t[idx] * (1 + tol)) \
            & (m["occupancy"] <= occ_t[idx] + tol) & (m["abandon_probability"] <= ab_t[idx] + tol)
        return good

    n = load.size
    answer = np.zeros(n, dtype=np.int64)
    busy = np.flatnonzero(load > 0)
    if busy.size:
        hi = np.maximum(np.ceil(load[busy]).astype(np.int64), 1)
        lo = np.zeros(busy.size, dtype=np.int64)  # 0 agents never meets a target with load
        pending = np.ones(busy.size, dtype=bool)
        for _ in range(80):  # doubling: hi feasible
            idx = np.flatnonzero(pending)
            if not idx.size:
                break
            good = ok(busy[idx], hi[idx])
            lo[idx[~good]] = hi[idx[~good]]
            hi[idx[~good]] *= 2
            pending[idx[good]] = False
        if pending.any():
            raise ValueError("no staffing up to 2**80 agents meets the targets")
        while True:
            idx = np.flatnonzero(hi - lo > 1)
            if not idx.size:
                break
            mid = (lo[idx] + hi[idx]) // 2
            good = ok(busy[idx], mid)
            hi[idx[good]] = mid[good]
            lo[idx[~good]] = mid[~good]
        answer[busy] = hi
    return _shaped(answer, shape)


# --------------------------------------------------------------------------------------------
# Public API: square-root staffing (QED / Halfin-Whitt regime)
# --------------------------------------------------------------------------------------------


def _log_normal_pdf(x):
    return -0.5 * x * x - _LOG_SQRT_2PI


def _log_hazard(x):
    """log of the standard normal hazard rate h(x) = phi(x) / (1 - Phi(x))."""
    return _log_normal_pdf(x) - special.log_ndtr(-x)


def halfin_whitt_delay_probability(beta):
    r"""
    Limiting probability of waiting under square-root staffing s = R + beta sqrt(R).

    .. math:: \alpha(\beta) = \left[1 + \frac{\beta \Phi(\beta)}{\varphi(\beta)}\right]^{-1}

    with Phi and phi the standard normal cdf and pdf (evaluated in log space, so large beta
    does not overflow). alpha(0) = 1.

    Parameters
    ----------
    beta : array_like
        Quality-of-service parameter, >= 0 (safety staffing in units of sqrt(load)).

    Returns
    -------
    delay_probability : numpy.ndarray or float
        alpha(beta) in (0, 1].

    References
    ----------
    .. [1] S. Halfin and W. Whitt, "Heavy-traffic limits for queues with many exponential
       servers", Operations Research 29(3), 1981, pp. 567-588.
    """
    beta = _as_array("beta", beta, minimum=0.0)
    with np.errstate(divide="ignore"):
        ratio = np.exp(np.log(beta) + special.log_ndtr(beta) - _log_normal_pdf(beta))
    alpha = 1.0 / (1.0 + ratio)
    return alpha[()] if alpha.ndim == 0 else alpha


def halfin_whitt_beta(delay_probability):
    r"""
    Inverse of :func:`halfin_whitt_delay_probability`: beta giving a target delay probability.

    Solved by vectorised bisection on the decreasing function alpha(beta) to ~1e-12.

    Parameters
    ----------
    delay_probability : array_like
        Target probability of waiting alpha, in [1e-300, 1].

    Returns
    -------
    beta : numpy.ndarray or float
        beta >= 0 with alpha(beta) = delay_probability.

    References
    ----------
    .. [1] S. Halfin and W. Whitt, "Heavy-traffic limits for queues with many exponential
       servers", Operations Research 29(3), 1981, pp. 567-588.
    """
    alpha = _as_array("delay_probability", delay_probability, minimum=1e-300, maximum=1.0)
    low = np.zeros_like(alpha)
    high = np.full_like(alpha, 40.0)  # alpha(40) ~ 1e-350, below any admissible target
    for _ in range(80):
        middle = 0.5 * (low + high)
        too_low = halfin_whitt_delay_probability(middle) > alpha
        low = np.where(too_low, middle, low)
        high = np.where(too_low, high, middle)
    beta = 0.5 * (low + high)
    return beta[()] if beta.ndim == 0 else beta


def square_root_staffing(load_erlangs, beta):
    r"""
    Square-root staffing rule s = R + beta sqrt(R) (fractional agents).

    Round up, or pass to :func:`required_agents` / the Erlang functions for an exact check.

    Parameters
    ----------
    load_erlangs : array_like
        Offered load R >= 0 [Erlang].
    beta : array_like
        Quality-of-service parameter (>= 0 for Erlang C; may be negative with abandonment).

    Returns
    -------
    agents : numpy.ndarray or float

    References
    ----------
    .. [1] S. Halfin and W. Whitt, "Heavy-traffic limits for queues with many exponential
       servers", Operations Research 29(3), 1981, pp. 567-588.
    .. [2] N. Gans, G. Koole and A. Mandelbaum, "Telephone call centers: tutorial, review, and
       research prospects", Manufacturing & Service Operations Management 5(2), 2003.
    """
    load = _load_array(load_erlangs)
    beta = _as_array("beta", beta)
    agents = load + beta * np.sqrt(load)
    return agents[()] if agents.ndim == 0 else agents


def garnett_delay_probability(beta, aht_seconds, patience_seconds):
    r"""
    QED approximation of the Erlang-A delay probability under s = R + beta sqrt(R).

    .. math:: P(W > 0) \approx \left[1 + \sqrt{\theta/\mu}\,
              \frac{h(\beta \sqrt{\mu/\theta})}{h(-\beta)}\right]^{-1}

    with h(x) = phi(x) / (1 - Phi(x)) the standard normal hazard rate. As the patience grows
    (theta -> 0) it tends to :func:`halfin_whitt_delay_probability`. Use :func:`erlang_a` for
    exact values; this is for insight and starting points.

    Parameters
    ----------
    beta : array_like
        Quality-of-service parameter (any sign: overload is stable with abandonment).
    aht_seconds : array_like
        Mean handle time 1 / mu [s], > 0.
    patience_seconds : array_like
        Mean patience 1 / theta [s], > 0 and finite.

    Returns
    -------
    delay_probability : numpy.ndarray or float

    References
    ----------
    .. [1] O. Garnett, A. Mandelbaum and M. Reiman, "Designing a call center with impatient
       customers", Manufacturing & Service Operations Management 4(3), 2002, pp. 208-227.
    """
    beta = _as_array("beta", beta)
    aht = _aht_array(aht_seconds)
    patience = _as_array("patience_seconds", patience_seconds, strictly_above=0.0)
    root = np.sqrt(patience / aht)  # sqrt(mu / theta)
    log_term = _log_hazard(beta * root) - np.log(root) - _log_hazard(-beta)
    probability = special.expit(-log_term)  # 1 / (1 + exp(log_term))
    return probability[()] if probability.ndim == 0 else probability
