"""Tests for scheduling.erlang against the vectors in THEORY.md (sections 1, 2, 4 and 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import special, stats

from scheduling.erlang import (
    ErlangAResult,
    apply_shrinkage,
    asa_seconds,
    erlang_a,
    erlang_b,
    erlang_c,
    garnett_delay_probability,
    halfin_whitt_beta,
    halfin_whitt_delay_probability,
    occupancy,
    offered_load,
    required_agents,
    service_level,
    square_root_staffing,
)

# THEORY section 1 worked example: 100 calls per 30 min, AHT 180 s, 80% in 20 s.
CALLS, INTERVAL_S, AHT_S, THRESHOLD_S = 100, 1800, 180, 20
LOAD = 10.0


def brute_force_erlang_a(agents, load, aht_s, patience_s, threshold_s, queue_states=3000):
    """Independent reference: truncated birth-death chain, per-state Beta waiting-time tails."""
    lam, mu, theta = load / aht_s, 1 / aht_s, 1 / patience_s
    n = np.arange(agents + queue_states)
    death = np.where(n <= agents, n * mu, agents * mu + (n - agents) * theta)[1:]
    log_p = np.concatenate([[0.0], np.cumsum(np.log(lam / death))])
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    queued = p[agents:]
    j = np.arange(queued.size)
    x = agents * mu / theta
    u = math.exp(-theta * threshold_s)
    abandon = theta * np.sum(np.maximum(n - agents, 0) * p) / lam
    # exp(-theta V) ~ Beta(x, j + 1) for an arrival finding j queued (V: virtual wait).
    virtual = 1 - np.sum(queued * special.betainc(x, j + 1, u))
    served_late = np.sum(queued * x / (x + j + 1) * special.betainc(x + 1, j + 1, u))
    return {"delay_probability": queued.sum(), "abandon_probability": abandon,
            "service_level_offered": 1 - abandon - served_late,
            "service_level_virtual": virtual}


# --------------------------------------------------------------------------------------------
# THEORY section 1: Erlang B and C
# --------------------------------------------------------------------------------------------


def test_offered_load_of_the_worked_example():
    assert offered_load(CALLS, AHT_S, INTERVAL_S) == pytest.approx(LOAD)


@pytest.mark.parametrize("agents, load, expected", [
    (5, 3, 0.1100543), (4, 2, 2 / 21), (6, 2, 0.0120846), (3, 0.8, 0.0386941)])
def test_erlang_b_vectors(agents, load, expected):
    assert erlang_b(agents, load) == pytest.approx(expected, abs=1e-6)


def test_erlang_b_exact_fraction():
    assert erlang_b(4, 2) == pytest.approx(2 / 21, rel=1e-12)


@pytest.mark.parametrize("agents, load, expected", [(3, 2, 4 / 9), (2, 1.5, 9 / 14)])
def test_erlang_c_vectors(agents, load, expected):
    assert erlang_c(agents, load) == pytest.approx(expected, rel=1e-12)


def test_erlang_c_1000_agents_matches_50_digit_arithmetic():
    assert erlang_c(1000, 980) == pytest.approx(0.41220029, abs=1e-8)


def test_worked_example_at_11_and_14_agents():
    assert erlang_c(11, LOAD) == pytest.approx(0.6821182, abs=1e-6)
    assert erlang_c(14, LOAD) == pytest.approx(0.1741319, abs=1e-6)
    assert service_level(14, LOAD, AHT_S, THRESHOLD_S) == pytest.approx(0.88835, abs=1e-5)
    assert asa_seconds(14, LOAD, AHT_S) == pytest.approx(7.836, abs=1e-3)
    assert occupancy(14, LOAD) == pytest.approx(0.7142857, abs=1e-6)


def test_service_level_by_agents():
    expected = [0.3896, 0.6402, 0.7956, 0.8884]
    got = service_level([11, 12, 13, 14], LOAD, AHT_S, THRESHOLD_S)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_required_and_scheduled_agents_of_the_worked_example():
    raw = required_agents(LOAD, AHT_S, THRESHOLD_S, target_service_level=0.8, max_occupancy=0.85)
    assert raw == 14
    assert apply_shrinkage(raw, 0.30) == 20


def test_occupancy_cap_070():
    raw = required_agents(LOAD, AHT_S, THRESHOLD_S, target_service_level=0.8, max_occupancy=0.70)
    assert raw == 15
    assert apply_shrinkage(raw, 0.30) == 22
    assert service_level(raw, LOAD, AHT_S, THRESHOLD_S) == pytest.approx(0.941, abs=1e-3)
    assert occupancy(raw, LOAD) == pytest.approx(0.667, abs=1e-3)
    assert erlang_c(raw, LOAD) == pytest.approx(0.102, abs=1e-3)


def test_unstable_queue_conventions():
    assert erlang_c(10, 10) == 1.0
    assert erlang_c(3, 7.5) == 1.0
    assert service_level(10, 10, AHT_S, THRESHOLD_S) == 0.0
    assert asa_seconds(9, 10, AHT_S) == np.inf
    assert occupancy(9, 10) == 1.0


def test_zero_load_needs_nobody():
    assert erlang_b(3, 0) == 0.0 and erlang_b(0, 0) == 1.0
    assert erlang_c(0, 0) == 0.0
    assert service_level(0, 0, AHT_S, THRESHOLD_S) == 1.0
    assert asa_seconds(0, 0, AHT_S) == 0.0
    assert occupancy(0, 0) == 0.0
    assert required_agents(0.0, AHT_S, THRESHOLD_S, target_service_level=0.8) == 0


# --------------------------------------------------------------------------------------------
# THEORY section 2: long thresholds make the stationary SL a step function
# --------------------------------------------------------------------------------------------


def test_webcare_threshold_gives_step_function():
    # A = 10, AHT 6 min, t = 30 min: SL 99.5% at s = 11 = floor(A) + 1.
    assert service_level(11, 10, 360, 1800) == pytest.approx(0.995, abs=1e-3)
    assert service_level(10, 10, 360, 1800) == 0.0
    assert required_agents(10, 360, 1800, target_service_level=0.99) == 11


# --------------------------------------------------------------------------------------------
# Vectorisation, large staffing, interpolation
# --------------------------------------------------------------------------------------------


def test_vectorised_equals_scalar_calls():
    agents = np.array([[0, 3, 11, 14.5], [20, 7, 12, 1000]])
    load = np.array([[2.0, 2.5, 10, 10], [15, 0, 11.9, 980]])
    aht = np.array([180.0, 60, 300, 180])  # broadcast along rows
    threshold = 20.0
    for func, args in [
        (erlang_b, (agents, load)),
        (erlang_c, (agents, load)),
        (occupancy, (agents, load)),
        (asa_seconds, (agents, load, aht)),
        (service_level, (agents, load, aht, threshold)),
    ]:
        vector = func(*args)
        assert vector.shape == (2, 4)
        arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args))
        scalar = [func(*(a[i, j] for a in arrays)) for i in range(2) for j in range(4)]
        np.testing.assert_allclose(vector.ravel(), scalar, rtol=1e-13, err_msg=func.__name__)
    result = erlang_a(agents, load, aht, 300.0, threshold)
    for i in range(2):
        for j in range(4):
            one = erlang_a(agents[i, j], load[i, j], aht[j], 300.0, threshold)
            assert result.service_level[i, j] == pytest.approx(one.service_level, rel=1e-12)
            assert result.delay_probability[i, j] == pytest.approx(one.delay_probability,
                                                                   rel=1e-12)
    loads = np.array([3.0, 9, 15, 9, 3])
    vector = required_agents(loads, AHT_S, THRESHOLD_S, target_service_level=0.8)
    assert [required_agents(a, AHT_S, THRESHOLD_S, target_service_level=0.8)
            for a in loads] == vector.tolist()


def test_scalar_inputs_give_scalars_and_arrays_give_arrays():
    assert np.ndim(erlang_c(14, LOAD)) == 0
    assert isinstance(erlang_c([14], LOAD), np.ndarray)
    assert np.ndim(required_agents(LOAD, AHT_S, THRESHOLD_S, target_service_level=0.8)) == 0


@pytest.mark.parametrize("agents, load", [(1000, 980), (1000, 999.5), (5000, 4950),
                                          (5000, 5000), (5000, 4000), (4900, 5000)])
def test_stable_at_thousands_of_agents(agents, load):
    values = [erlang_b(agents, load), erlang_c(agents, load),
              service_level(agents, load, AHT_S, THRESHOLD_S), occupancy(agents, load)]
    result = erlang_a(agents, load, AHT_S, 300, THRESHOLD_S)
    values += [result.delay_probability, result.abandon_probability, result.occupancy,
               result.service_level_offered, result.service_level_answered,
               result.service_level_virtual]
    for value in values:
        assert np.isfinite(value) and 0.0 <= value <= 1.0


def test_erlang_b_at_5000_agents_matches_poisson_log_space():
    agents, load = 5000, np.array([4000.0, 4900.0, 5000.0, 5200.0])
    reference = np.exp(stats.poisson.logpmf(agents, load) - stats.poisson.logcdf(agents, load))
    np.testing.assert_allclose(erlang_b(agents, load), reference, rtol=1e-9)


def test_erlang_c_at_5000_agents_approaches_halfin_whitt():
    load = 4900.0
    agents = square_root_staffing(load, 1.0)  # 4970
    assert erlang_c(agents, load) == pytest.approx(halfin_whitt_delay_probability(1.0), abs=0.01)


def test_fractional_agents_interpolate_linearly():
    low = service_level(13, LOAD, AHT_S, THRESHOLD_S)
    high = service_level(14, LOAD, AHT_S, THRESHOLD_S)
    assert service_level(13.25, LOAD, AHT_S, THRESHOLD_S) == pytest.approx(0.75 * low + 0.25 * high,
                                                                         rel=1e-14)
    assert erlang_c(13.5, LOAD) == pytest.approx(0.5 * (erlang_c(13, LOAD) + erlang_c(14, LOAD)))
    assert asa_seconds(13.5, LOAD, AHT_S) == pytest.approx(
        0.5 * (asa_seconds(13, LOAD, AHT_S) + asa_seconds(14, LOAD, AHT_S)))
    # Between an unstable and a stable count: SL scales linearly from 0, ASA stays infinite.
    assert service_level(10.4, LOAD, AHT_S, THRESHOLD_S) == pytest.approx(
        0.4 * service_level(11, LOAD, AHT_S, THRESHOLD_S))
    assert asa_seconds(10.4, LOAD, AHT_S) == np.inf
    mixed = erlang_a([13, 13.5, 14], LOAD, AHT_S, 300, THRESHOLD_S)
    assert mixed.service_level[1] == pytest.approx(
        0.5 * (mixed.service_level[0] + mixed.service_level[2]))


# --------------------------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------------------------


def test_erlang_a_vector():
    # 100 per 30 min, AHT 3 min, patience 5 min, s = 14, t = 20 s.
    result = erlang_a(14, LOAD, AHT_S, 300, THRESHOLD_S)
    assert isinstance(result, ErlangAResult)
    assert result.sl_definition == "offered"
    assert result.delay_probability == pytest.approx(0.14526, abs=1e-5)
    assert result.abandon_probability == pytest.approx(0.013984, abs=1e-6)
    assert result.occupancy == pytest.approx(0.704297, abs=1e-6)
    assert result.asa_seconds / 60 == pytest.approx(0.069919, abs=1e-6)
    assert result.service_level_offered == pytest.approx(0.916792, abs=1e-6)
    assert result.service_level_virtual == pytest.approx(0.918714, abs=1e-6)
    assert result.service_level_answered == pytest.approx(0.929794, abs=1e-6)
    assert result.service_level == result.service_level_offered


def test_erlang_a_sl_definition_flag():
    for definition in ("offered", "answered", "virtual"):
        result = erlang_a(14, LOAD, AHT_S, 300, THRESHOLD_S, sl_definition=definition)
        assert result.service_level == getattr(result, f"service_level_{definition}")
    with pytest.raises(ValueError, match="sl_definition"):
        erlang_a(14, LOAD, AHT_S, 300, THRESHOLD_S, sl_definition="abandoned")


def test_erlang_a_identities():
    result = erlang_a(14, LOAD, AHT_S, 300, THRESHOLD_S)
    served = 1 - result.abandon_probability
    assert result.service_level_answered == pytest.approx(result.service_level_offered / served)
    # Little: E[queue] = lambda E[wait]; P(abandon) = theta E[queue] / lambda.
    assert result.mean_queue_length == pytest.approx(LOAD / AHT_S * result.asa_seconds)
    assert result.abandon_probability == pytest.approx(result.mean_queue_length / 300
                                                       / (LOAD / AHT_S))
    at_zero = erlang_a(14, LOAD, AHT_S, 300, 0.0)
    assert at_zero.service_level_offered == pytest.approx(1 - at_zero.delay_probability)


@pytest.mark.parametrize("agents, load, aht_s, patience_s, threshold_s", [
    (14, 10.0, 180, 300, 20), (8, 12.0, 300, 120, 60), (30, 31.0, 150, 2500, 10),
    (3, 0.5, 60, 30, 0), (50, 45.0, 240, 900, 120), (0, 2.0, 180, 300, 20)])
def test_erlang_a_matches_brute_force_chain(agents, load, aht_s, patience_s, threshold_s):
    expected = brute_force_erlang_a(agents, load, aht_s, patience_s, threshold_s)
    result = erlang_a(agents, load, aht_s, patience_s, threshold_s)
    for key, value in expected.items():
        assert getattr(result, key) == pytest.approx(value, abs=1e-10), key


def test_erlang_a_infinite_patience_is_erlang_c():
    agents = np.array([11, 12, 14, 20])
    exact_c = erlang_c(agents, LOAD)
    exact_sl = service_level(agents, LOAD, AHT_S, THRESHOLD_S)
    exact_asa = asa_seconds(agents, LOAD, AHT_S)
    limit = erlang_a(agents, LOAD, AHT_S, np.inf, THRESHOLD_S)
    np.testing.assert_allclose(limit.delay_probability, exact_c, rtol=1e-12)
    np.testing.assert_allclose(limit.service_level, exact_sl, rtol=1e-12)
    np.testing.assert_allclose(limit.asa_seconds, exact_asa, rtol=1e-12)
    assert (limit.abandon_probability == 0).all()
    # Monte-Carlo-free cross-check: the finite formulas converge to Erlang C.
    patient = erlang_a(agents, LOAD, AHT_S, 1e9, THRESHOLD_S)
    np.testing.assert_allclose(patient.delay_probability, exact_c, atol=1e-6)
    np.testing.assert_allclose(patient.service_level_offered, exact_sl, atol=1e-6)
    np.testing.assert_allclose(patient.service_level_virtual, exact_sl, atol=1e-6)
    np.testing.assert_allclose(patient.asa_seconds, exact_asa, rtol=1e-5)
    unstable = erlang_a(10, LOAD, AHT_S, np.inf, THRESHOLD_S)
    assert unstable.delay_probability == 1 and unstable.service_level == 0
    assert unstable.asa_seconds == np.inf


def test_erlang_a_zero_patience_is_erlang_b():
    agents = np.array([5, 11, 14])
    blocking = erlang_b(agents, LOAD)
    for patience_s in (0.0, 1e-6):
        limit = erlang_a(agents, LOAD, AHT_S, patience_s, THRESHOLD_S)
        np.testing.assert_allclose(limit.delay_probability, blocking, atol=1e-7)
        np.testing.assert_allclose(limit.abandon_probability, blocking, atol=1e-7)
        np.testing.assert_allclose(limit.service_level_offered, 1 - blocking, atol=1e-7)
        np.testing.assert_allclose(limit.occupancy, LOAD * (1 - blocking) / agents, atol=1e-7)


def test_erlang_a_is_stable_in_overload_and_without_agents():
    overload = erlang_a(8, LOAD, AHT_S, 300, THRESHOLD_S)
    assert 0 < overload.service_level < 1 and np.isfinite(overload.asa_seconds)
    nobody = erlang_a(0, LOAD, AHT_S, 300, THRESHOLD_S)
    assert nobody.abandon_probability == pytest.approx(1.0)
    assert nobody.service_level == 0.0 and nobody.occupancy == 0.0


# --------------------------------------------------------------------------------------------
# THEORY section 4: square-root staffing
# --------------------------------------------------------------------------------------------


def test_halfin_whitt_delay_probability_vector():
    beta = np.array([0.5, 1.0, 1.5, 2.0])
    expected = [0.5045, 0.2234, 0.0847, 0.0269]
    np.testing.assert_allclose(halfin_whitt_delay_probability(beta), expected, atol=1e-4)
    assert halfin_whitt_delay_probability(0.0) == 1.0
    assert 0 < halfin_whitt_delay_probability(30.0) < 1e-100  # no overflow of Phi / phi


def test_halfin_whitt_beta_inverts_alpha():
    beta = np.array([0.0, 0.5, 1.0, 2.0, 5.0])
    alpha = halfin_whitt_delay_probability(beta)
    np.testing.assert_allclose(halfin_whitt_beta(alpha), beta, atol=1e-9)


def test_garnett_approximation_tracks_exact_erlang_a_and_halfin_whitt():
    load, beta = 400.0, np.array([-0.5, 0.0, 0.5, 1.0])
    agents = square_root_staffing(load, beta)
    exact = erlang_a(agents, load, AHT_S, 300, 0.0).delay_probability
    np.testing.assert_allclose(garnett_delay_probability(beta, AHT_S, 300), exact, atol=0.02)
    # The gap closes like sqrt(theta / mu) = sqrt(180 / 1e12) ~ 1.3e-5 at beta = 0.
    np.testing.assert_allclose(garnett_delay_probability(beta[1:], AHT_S, 1e12),
                               halfin_whitt_delay_probability(beta[1:]), atol=1e-4)


# --------------------------------------------------------------------------------------------
# THEORY section 5 (the Erlang part of the global-SL check)
# --------------------------------------------------------------------------------------------


def test_global_service_level_tiny_check():
    arrivals_per_minute = np.array([1.0, 3, 5, 3, 1])
    load = arrivals_per_minute * 3
    per_interval = required_agents(load, AHT_S, THRESHOLD_S, target_service_level=0.8)
    assert per_interval.tolist() == [5, 12, 19, 12, 5]

    def global_sl(plan):
        sl = service_level(plan, load, AHT_S, THRESHOLD_S)
        return np.sum(arrivals_per_minute * sl) / arrivals_per_minute.sum()

    assert global_sl(per_interval) == pytest.approx(0.8227, abs=1e-4)
    assert global_sl([4, 12, 20, 12, 4]) == pytest.approx(0.8065, abs=1e-4)
    assert service_level(4, 3.0, AHT_S, THRESHOLD_S) == pytest.approx(0.54, abs=0.01)


# --------------------------------------------------------------------------------------------
# required_agents and apply_shrinkage
# --------------------------------------------------------------------------------------------


def test_required_agents_asa_target_and_combined_targets():
    assert required_agents(LOAD, AHT_S, target_asa_seconds=7.9) == 14
    assert required_agents(LOAD, AHT_S, target_asa_seconds=7.8) == 15
    assert required_agents(LOAD, max_occupancy=0.7) == 15
    assert required_agents(7.0, max_occupancy=0.7) == 10  # 7 / 10 == 0.7 exactly
    both = required_agents([LOAD, 100.0], AHT_S, THRESHOLD_S, target_service_level=[0.8, 0.9],
                           target_asa_seconds=7.9)
    assert both.tolist()[0] == 14
    assert service_level(both[1], 100.0, AHT_S, THRESHOLD_S) >= 0.9


def test_required_agents_at_large_load_is_fast_and_minimal():
    load = np.array([980.0, 4950.0])
    agents = required_agents(load, AHT_S, THRESHOLD_S, target_service_level=0.8)
    assert (service_level(agents, load, AHT_S, THRESHOLD_S) >= 0.8).all()
    assert (service_level(agents - 1, load, AHT_S, THRESHOLD_S) < 0.8).all()


@pytest.mark.parametrize("kwargs, message", [
    ({}, "at least one"),
    ({"target_service_level": 0.8}, "threshold_seconds"),
    ({"target_service_level": 1.2, "aht_seconds": 180, "threshold_seconds": 20}, "<= 1"),
    ({"target_asa_seconds": 0.0, "aht_seconds": 180}, "> 0"),
    ({"max_occupancy": 0.0}, "max_occupancy"),
])
def test_required_agents_rejects_bad_targets(kwargs, message):
    with pytest.raises(ValueError, match=message):
        required_agents(LOAD, **kwargs)


def test_apply_shrinkage():
    assert apply_shrinkage([14, 15, 0], 0.30).tolist() == [20, 22, 0]
    assert apply_shrinkage(9, 0.1) == 10  # 9 / 0.9 is 10.000000000000002 in floating point
    assert apply_shrinkage(10, 0.0) == 10
    assert apply_shrinkage([10, 10], [0.2, 0.5]).tolist() == [13, 20]
    with pytest.raises(ValueError, match="shrinkage"):
        apply_shrinkage(10, 1.0)
    with pytest.raises(ValueError, match="shrinkage"):
        apply_shrinkage(10, -0.1)


@pytest.mark.parametrize("call", [
    lambda: erlang_b(-1, 2),
    lambda: erlang_c(3, -0.5),
    lambda: erlang_c(3, np.nan),
    lambda: erlang_c(np.inf, 2),
    lambda: service_level(3, 2, 0, 20),
    lambda: service_level(3, 2, 180, -1),
    lambda: asa_seconds(3, [2, -1], 180),
    lambda: erlang_a(3, 2, 180, -5, 20),
    lambda: offered_load(10, 180, 0),
    lambda: halfin_whitt_delay_probability(-1),
    lambda: erlang_b("many", 2),
])
def test_invalid_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------------------------
# Numerical edge cases: vanishing load, extreme patience, zero threshold
# --------------------------------------------------------------------------------------------

TINY_LOADS = [5e-324, 1e-300, 1e-12]  # the smallest subnormal, a normal, a realistic trickle


def leading_blocking(agents, load):
    """A**s / s!: Erlang B and C to first order as the load tends to 0 (may underflow to 0)."""
    return math.exp(agents * math.log(load) - math.lgamma(agents + 1))


@pytest.mark.parametrize("load", TINY_LOADS)
@pytest.mark.parametrize("agents", [1, 2, 3, 14])
def test_erlang_c_functions_tend_to_the_zero_load_limits(load, agents):
    leading = leading_blocking(agents, load)
    # rel covers the O(load) corrections, abs the rounding of subnormal results.
    assert erlang_b(agents, load) == pytest.approx(leading, rel=1e-9, abs=1e-320)
    assert erlang_c(agents, load) == pytest.approx(leading, rel=1e-9, abs=1e-320)
    assert asa_seconds(agents, load, AHT_S) == pytest.approx(leading * AHT_S / agents, rel=1e-9,
                                                             abs=1e-320)
    for threshold_s in (0.0, THRESHOLD_S, np.inf):
        assert 1.0 - leading <= service_level(agents, load, AHT_S, threshold_s) <= 1.0
    assert occupancy(agents, load) == load / agents
    assert required_agents(load, AHT_S, THRESHOLD_S, target_service_level=0.99) == 1
    assert required_agents(load, AHT_S, target_asa_seconds=1e-3, max_occupancy=0.5) == 1


@pytest.mark.parametrize("load", TINY_LOADS)
@pytest.mark.parametrize("patience_s", [1e-300, 1.0, 300.0, 1e6])
def test_erlang_a_tends_to_the_zero_load_limits(load, patience_s):
    agents = np.array([1, 2, 3, 14])
    thresholds = np.array([[0.0], [THRESHOLD_S]])
    result = erlang_a(agents, load, AHT_S, patience_s, thresholds)
    leading = np.array([leading_blocking(s, load) for s in agents])
    # P(abandon | wait) -> theta / (s mu + theta): the first waiting contact is the only one.
    abandon = leading / (1.0 + agents * patience_s / AHT_S)
    tol = {"rel": 1e-9, "abs": 1e-320}
    for row in range(2):
        assert result.delay_probability[row] == pytest.approx(leading, **tol)
        assert result.abandon_probability[row] == pytest.approx(abandon, **tol)
        assert result.asa_seconds[row] == pytest.approx(abandon * patience_s, **tol)
        assert result.mean_queue_length[row] == pytest.approx(
            abandon * load * patience_s / AHT_S, **tol)
        assert result.occupancy[row] == pytest.approx(load / agents, **tol)
        for sl in (result.service_level_offered, result.service_level_answered,
                   result.service_level_virtual):
            assert ((1.0 - leading <= sl[row]) & (sl[row] <= 1.0)).all()
    # Threshold 0: answered at once = not delayed, exactly.
    assert (result.service_level_offered[0] == 1.0 - result.delay_probability[0]).all()
    assert (result.service_level_virtual[0] == 1.0 - result.delay_probability[0]).all()
    # No agents: every contact waits until it abandons.
    nobody = erlang_a(0, load, AHT_S, patience_s, THRESHOLD_S)
    assert nobody.delay_probability == 1.0 and nobody.abandon_probability == 1.0
    assert nobody.service_level_offered == 0.0 and nobody.service_level_virtual == 0.0
    assert nobody.occupancy == 0.0 and nobody.asa_seconds == patience_s


@pytest.mark.parametrize("load", TINY_LOADS)
@pytest.mark.parametrize("threshold_s", [0.0, 5e-324, THRESHOLD_S, 1e300, np.inf])
def test_erlang_a_at_vanishing_load_is_valid_and_monotone(load, threshold_s):
    agents = np.arange(0.0, 6.0, 0.5)
    for patience_s in (0.0, 5e-324, 1e-300, 1.0, 300.0, 1e12, 1e300, np.inf):
        result = erlang_a(agents, load, AHT_S, patience_s, threshold_s)
        for sl in (result.service_level_offered, result.service_level_answered,
                   result.service_level_virtual):
            assert ((sl >= 0.0) & (sl <= 1.0)).all() and (np.diff(sl) >= 0.0).all()
            if load < 1e-200:  # 1 - O(load) rounds to 1 from one agent on
                assert (sl[2:] == 1.0).all()
        for value in (result.delay_probability, result.abandon_probability):
            assert ((value >= 0.0) & (value <= 1.0)).all() and (np.diff(value) <= 0.0).all()
        assert ((result.occupancy >= 0.0) & (result.occupancy <= load)).all()
        assert not np.isnan(result.asa_seconds).any()
        assert not np.isnan(result.mean_queue_length).any()


@pytest.mark.parametrize("patience_s", [1e-300, 5e-324])
def test_erlang_a_vanishing_patience_is_erlang_b(patience_s):
    agents = np.array([1, 5, 11, 14])
    blocking = erlang_b(agents, LOAD)
    result = erlang_a(agents, LOAD, AHT_S, patience_s, THRESHOLD_S)
    np.testing.assert_allclose(result.delay_probability, blocking, rtol=1e-12)
    np.testing.assert_allclose(result.abandon_probability, blocking, rtol=1e-12)
    np.testing.assert_allclose(result.service_level_offered, 1 - blocking, rtol=1e-12)
    np.testing.assert_allclose(result.service_level_answered, 1.0, rtol=1e-12)
    # An infinitely patient arrival waits for the first of s busy agents: Exp(s / AHT).
    np.testing.assert_allclose(result.service_level_virtual,
                               1 - blocking * np.exp(-agents * THRESHOLD_S / AHT_S), rtol=1e-12)
    np.testing.assert_allclose(result.occupancy, LOAD * (1 - blocking) / agents, rtol=1e-12)
    assert (result.asa_seconds <= patience_s).all()


@pytest.mark.parametrize("patience_s", [1e15, 1e20, 1e300, 1.7e308])
def test_erlang_a_endless_patience_limits(patience_s):
    stable = np.array([11, 12, 14, 20])
    exact_asa = asa_seconds(stable, LOAD, AHT_S)
    result = erlang_a(stable, LOAD, AHT_S, patience_s, THRESHOLD_S)
    np.testing.assert_allclose(result.delay_probability, erlang_c(stable, LOAD), rtol=1e-9)
    exact_sl = service_level(stable, LOAD, AHT_S, THRESHOLD_S)
    for sl in (result.service_level_offered, result.service_level_answered,
               result.service_level_virtual):
        np.testing.assert_allclose(sl, exact_sl, rtol=1e-9)
    np.testing.assert_allclose(result.asa_seconds, exact_asa, rtol=1e-9)
    np.testing.assert_allclose(result.abandon_probability, exact_asa / patience_s, rtol=1e-9)
    # Overload: the excess A - s abandons; the fluid wait is patience * log(A / s).
    overload = np.array([5, 8])
    result = erlang_a(overload, LOAD, AHT_S, patience_s, [[THRESHOLD_S], [patience_s]])
    excess = np.broadcast_to(1 - overload / LOAD, (2, 2))
    np.testing.assert_allclose(result.abandon_probability, excess, rtol=1e-9)
    np.testing.assert_allclose(result.asa_seconds, excess * patience_s, rtol=1e-9)
    assert (result.delay_probability == 1.0).all()
    np.testing.assert_allclose(result.service_level_offered, [[0, 0], overload / LOAD],
                               atol=1e-12)
    np.testing.assert_allclose(result.service_level_virtual, [[0, 0], [1, 1]], atol=1e-12)
    # Critical load s = A: P(abandon) ~ 1 / M(x, A x / s) ~ sqrt(2 / (pi x)), x = s mu / theta.
    critical = erlang_a(10, LOAD, AHT_S, patience_s, THRESHOLD_S)
    x = 10 * patience_s / AHT_S
    assert critical.abandon_probability == pytest.approx(math.sqrt(2 / (math.pi * x)), rel=1e-6)
    assert critical.delay_probability == pytest.approx(1.0)


@pytest.mark.parametrize("agents, delay, abandon, sl_at_0, sl_at_5", [
    (1100, 0.9598768551797766, 7.695678144981523e-05, 0.04012314482022344, 0.9986878224742549),
    (1101, 0.9253687090835303, 4.1278877539430634e-05, 0.07463129091646975, 0.9999493919825763),
    (1102, 0.8909657407915546, 2.7167451868385614e-05, 0.10903425920844545, 0.9999727679651738),
])
def test_erlang_a_with_long_patience_matches_50_digit_arithmetic(agents, delay, abandon, sl_at_0,
                                                                  sl_at_5):
    # s mu / theta ~ 1.2e7 just above the load: P(x, y) lies far in the lower tail of the
    # incomplete gamma function, where scipy's gammainc is off by up to 2% (references: the
    # exact sums of the chain in 50-digit arithmetic).
    result = erlang_a(agents, 1099.0, 1.0, 10695.0, [0.0, 5.0])
    np.testing.assert_allclose(result.delay_probability, delay, rtol=1e-12)
    np.testing.assert_allclose(result.abandon_probability, abandon, rtol=1e-10)
    np.testing.assert_allclose(result.asa_seconds, abandon * 10695.0, rtol=1e-10)
    np.testing.assert_allclose(result.service_level_offered, [sl_at_0, sl_at_5], rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(load=st.floats(0.0, 300.0), aht_s=st.floats(10.0, 1200.0), threshold_s=st.floats(0, 600),
       patience_s=st.floats(1.0, 5000.0))
@example(load=5e-324, aht_s=10.0, threshold_s=0.0, patience_s=1.0)  # lambda / theta underflowed
@example(load=1099.0, aht_s=1.0, threshold_s=5.0, patience_s=10695.0)  # s mu / theta ~ 1.2e7
def test_service_level_monotone_in_agents(load, aht_s, threshold_s, patience_s):
    agents = np.arange(0, int(load) + 60, 0.5)
    sl = service_level(agents, load, aht_s, threshold_s)
    assert (np.diff(sl) >= -1e-12).all()
    assert ((sl >= 0) & (sl <= 1)).all()
    offered = erlang_a(agents, load, aht_s, patience_s, threshold_s).service_level
    assert (np.diff(offered) >= -1e-9).all()


@settings(max_examples=40, deadline=None)
@given(load=st.floats(0.01, 500.0), target=st.floats(0.05, 0.99),
       threshold_s=st.floats(0.0, 300.0))
def test_required_agents_is_the_smallest_meeting_the_target(load, target, threshold_s):
    agents = required_agents(load, AHT_S, threshold_s, target_service_level=target)
    assert service_level(agents, load, AHT_S, threshold_s) >= target
    assert service_level(agents - 1, load, AHT_S, threshold_s) < target


# --------------------------------------------------------------------------------------------
# Erlang A staffing: the smallest whole staffing meeting SL, ASA, occupancy and abandonment
# --------------------------------------------------------------------------------------------

from scheduling import erlang  # noqa: E402


def _brute_force_erlang_a(load, aht, patience, threshold, **targets):
    definition = targets.pop("sl_definition", "offered")
    for s in range(0, 400):
        if load == 0:
            return 0
        if s == 0:
            continue
        r = erlang.erlang_a(s, load, aht, patience, threshold, sl_definition=definition)
        ok = True
        if "target_service_level" in targets:
            ok &= r.service_level >= targets["target_service_level"] - 1e-12
        if "target_asa_seconds" in targets:
            ok &= r.asa_seconds <= targets["target_asa_seconds"]
        if "max_occupancy" in targets:
            ok &= r.occupancy <= targets["max_occupancy"] + 1e-12
        if "max_abandon_probability" in targets:
            ok &= r.abandon_probability <= targets["max_abandon_probability"] + 1e-12
        if ok:
            return s
    raise AssertionError("no staffing found")


def test_erlang_a_staffing_theory_vector():
    # THEORY.md: 100 per 30 min, AHT 3 min, patience 5 min, s=14: SL offered 0.916792; s=13 is below 0.9
    assert erlang.required_agents_erlang_a(10.0, 180.0, 300.0, 20.0, target_service_level=0.9) == 14
    assert erlang.required_agents_erlang_a(10.0, 180.0, 300.0, 20.0, target_service_level=0.9,
                                           sl_definition="answered") == 14
    # infinite patience is Erlang C
    loads = np.array([0.0, 0.5, 10.0, 100.0, 980.0])
    assert (erlang.required_agents_erlang_a(loads, 180.0, np.inf, 20.0, target_service_level=0.8)
            == erlang.required_agents(loads, 180.0, 20.0, target_service_level=0.8)).all()


@pytest.mark.parametrize("targets", [
    {"target_service_level": 0.8},
    {"target_service_level": 0.95, "sl_definition": "virtual"},
    {"target_service_level": 0.9, "sl_definition": "answered"},
    {"target_asa_seconds": 15.0},
    {"max_occupancy": 0.85},
    {"max_abandon_probability": 0.02},
    {"target_service_level": 0.8, "target_asa_seconds": 5.0, "max_occupancy": 0.9},
])
def test_erlang_a_staffing_matches_brute_force(targets):
    rng = np.random.default_rng(7)
    loads = np.concatenate([[0.0], rng.uniform(0.05, 30.0, 6)])
    got = erlang.required_agents_erlang_a(loads, 180.0, 240.0, 20.0, **targets)
    want = [_brute_force_erlang_a(a, 180.0, 240.0, 20.0, **dict(targets)) for a in loads]
    assert list(got) == want


def test_erlang_a_staffing_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        erlang.required_agents_erlang_a(10.0, 180.0, 300.0, 20.0)
    with pytest.raises(ValueError, match="threshold"):
        erlang.required_agents_erlang_a(10.0, 180.0, 300.0, target_service_level=0.8)
    with pytest.raises(ValueError, match="sl_definition"):
        erlang.required_agents_erlang_a(10.0, 180.0, 300.0, 20.0, target_service_level=0.8, sl_definition="x")
