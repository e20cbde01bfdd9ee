"""Accuracy metrics on vectors worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecast.metrics import bias, coverage, evaluate, mase, seasonal_naive_scale, smape, wape


def test_wape_by_hand():
    # |8-10| + |1-0| + |5-5| = 3 over 10 + 0 + 5 = 15
    assert wape([10, 0, 5], [8, 1, 5]) == pytest.approx(0.2)


def test_mase_by_hand():
    # scale: |3-1| and |5-2| -> 2.5; MAE of the forecast: (|5-4| + |5-6|) / 2 = 1
    assert seasonal_naive_scale([1, 2, 3, 5], 2) == pytest.approx(2.5)
    assert mase([4, 6], [5, 5], [1, 2, 3, 5], 2) == pytest.approx(0.4)


def test_mase_of_the_seasonal_naive_itself_is_one_in_sample():
    y = np.array([3, 7, 4, 8, 5, 9, 6, 10], dtype=float)
    m = 2
    assert mase(y[m:], y[:-m], y, m) == pytest.approx(1.0)


def test_mase_scale_skips_pairs_with_a_gap():
    # pairs (1, 3) and (2, nan) and (3, 5): the gap pair is left out -> (2 + 2) / 2 = 2
    assert seasonal_naive_scale([1, 2, 3, np.nan, 5], 2) == pytest.approx(2.0)


def test_smape_by_hand():
    # 2*2/18, 2*2/2, and 0/0 counted as 0
    assert smape([10, 0, 0], [8, 2, 0]) == pytest.approx((4 / 18 + 2 + 0) / 3)


def test_bias_by_hand_is_positive_when_over_forecasting():
    assert bias([10, 0, 5], [8, 1, 5]) == pytest.approx((-1 / 3) / 5)
    assert bias([10, 10], [12, 13]) == pytest.approx(0.25)


def test_coverage_by_hand_includes_the_bounds():
    assert coverage([3, 5, 9], [2, 6, 8], [4, 7, 9]) == pytest.approx(2 / 3)


def test_missing_actuals_are_not_scored():
    y = pd.array([10, None, 5], dtype="Int64")
    assert wape(y, [8, 100, 5]) == pytest.approx(2 / 15)
    assert coverage(y, [0, 0, 0], [1, 1, 5]) == pytest.approx(0.5)


def test_zero_denominators():
    assert wape([0, 0], [0, 0]) == 0.0
    assert math.isinf(wape([0, 0], [1, 0]))
    assert math.isinf(mase([1], [2], [4, 4, 4], 1))
    assert math.isnan(wape([np.nan], [1.0]))
    assert math.isnan(mase([1], [1], [1, 2], 5))  # training shorter than a season


def test_evaluate_gives_every_metric():
    out = evaluate([10, 0, 5], [8, 1, 5], [1, 2, 3, 5], 2, {80: ([9, 0, 4], [11, 2, 6]), 95: ([0, 0, 0], [1, 1, 1])})
    assert out == pytest.approx({
        "n": 3, "wape": 0.2, "mase": (3 / 3) / 2.5, "smape": (4 / 18 + 2 + 0) / 3, "bias": (-1 / 3) / 5,
        "coverage_80": 1.0, "coverage_95": 1 / 3,
    })


def test_lengths_must_match():
    with pytest.raises(ValueError, match="differ in length"):
        wape([1, 2], [1])
