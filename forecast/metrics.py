"""Forecast accuracy metrics: pure functions over arrays of actuals and forecasts.

Conventions shared by every function here:

* Pairs where the actual (or the forecast) is missing (NaN/NA) are left out; gaps in a history
  are not scored.
* Error = forecast - actual, so a positive bias is over-forecasting (too many agents planned).
* Ratios are fractions, not percentages (``0.12`` is 12 %), as in every file of the project.
* A ratio whose denominator is 0 is 0 when its numerator is 0 too (a perfect forecast of an
  all-zero stretch) and ``inf`` otherwise; a metric with no pairs to score is NaN.

References: Hyndman & Koehler (2006), "Another look at measures of forecast accuracy",
International Journal of Forecasting 22(4) (MASE, sMAPE); Kolassa & Schütz (2007), "Advantages
of the MAD/MEAN ratio over the MAPE", Foresight 6 (WAPE).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


def _pairs(*arrays) -> list[np.ndarray]:
    cleaned = [_as_float(a) for a in arrays]
    n = {a.size for a in cleaned}
    if len(n) != 1:
        raise ValueError(f"actuals and forecasts differ in length: {[a.size for a in cleaned]}")
    keep = np.all([np.isfinite(a) for a in cleaned], axis=0)
    return [a[keep] for a in cleaned]


def _as_float(values) -> np.ndarray:
    """Float array with NaN for missing values (accepts pandas nullable arrays with <NA>)."""
    if hasattr(values, "to_numpy"):
        try:
            return np.asarray(values.to_numpy(dtype=float, na_value=np.nan), dtype=float).ravel()
        except TypeError:
            return np.asarray(values.to_numpy(dtype=float), dtype=float).ravel()
    return np.asarray(values, dtype=float).ravel()


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0:
        return 0.0 if numerator == 0 else float("inf")
    return float(numerator / denominator)


def wape(y, yhat) -> float:
    """Weighted absolute percentage error: sum |yhat - y| / sum |y| (a fraction).

    Example: y = [10, 0, 5], yhat = [8, 1, 5] gives (2 + 1 + 0) / 15 = 0.2.
    """
    y, yhat = _pairs(y, yhat)
    if y.size == 0:
        return float("nan")
    return _ratio(np.abs(yhat - y).sum(), np.abs(y).sum())


def seasonal_naive_scale(y_train, season_length: int) -> float:
    """Mean |y[t] - y[t - season_length]| over the training series (pairs with a gap left out).

    The denominator of MASE; ``season_length`` is one week at the data's frequency (168 for
    hourly data, 672 for 15-minute data), counted in positions of the series.
    """
    y_train = _as_float(y_train)
    m = int(season_length)
    if m < 1:
        raise ValueError("season_length must be at least 1")
    if y_train.size <= m:
        return float("nan")
    diff = y_train[m:] - y_train[:-m]
    diff = diff[np.isfinite(diff)]
    return float(np.abs(diff).mean()) if diff.size else float("nan")


def mase(y, yhat, y_train, season_length: int) -> float:
    """Mean absolute scaled error: mean |yhat - y| / :func:`seasonal_naive_scale` (y_train).

    Below 1 means better than the in-sample seasonal naive forecast of one week.
    Example: y_train = [1, 2, 3, 5], season_length = 2 gives a scale of (2 + 3) / 2 = 2.5;
    y = [4, 6], yhat = [5, 5] gives MAE 1, so MASE = 0.4.
    """
    y, yhat = _pairs(y, yhat)
    if y.size == 0:
        return float("nan")
    scale = seasonal_naive_scale(y_train, season_length)
    if not np.isfinite(scale):
        return float("nan")
    return _ratio(np.abs(yhat - y).mean(), scale)


def smape(y, yhat) -> float:
    """Symmetric MAPE: mean of 2 |yhat - y| / (|y| + |yhat|), a fraction between 0 and 2.

    An interval where both are 0 counts as 0 (a perfect forecast), not as undefined.
    Example: y = [10, 0, 0], yhat = [8, 2, 0] gives (4/18 + 2 + 0) / 3 = 0.7407...
    """
    y, yhat = _pairs(y, yhat)
    if y.size == 0:
        return float("nan")
    denom = np.abs(y) + np.abs(yhat)
    terms = np.divide(2 * np.abs(yhat - y), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(terms.mean())


def bias(y, yhat) -> float:
    """Mean error relative to the mean actual: mean(yhat - y) / mean(y).

    Positive: over-forecast. Example: y = [10, 0, 5], yhat = [8, 1, 5] gives -1/3 / 5 = -0.0667.
    """
    y, yhat = _pairs(y, yhat)
    if y.size == 0:
        return float("nan")
    return _ratio((yhat - y).mean(), np.abs(y).mean())


def coverage(y, lower, upper) -> float:
    """Share of actuals inside their interval, bounds included: mean(lower <= y <= upper).

    Example: y = [3, 5, 9], lower = [2, 6, 8], upper = [4, 7, 9] gives 2/3.
    """
    y, lower, upper = _pairs(y, lower, upper)
    if y.size == 0:
        return float("nan")
    return float(((lower <= y) & (y <= upper)).mean())


def evaluate(
    y,
    yhat,
    y_train,
    season_length: int,
    intervals: Mapping[float, tuple[Sequence[float], Sequence[float]]] | None = None,
) -> dict[str, float]:
    """Every metric at once: ``wape``, ``mase``, ``smape``, ``bias`` and ``coverage_<level>``.

    ``intervals`` maps a level (e.g. 80) to its (lower, upper) bounds. ``n`` is the number of
    scored intervals (pairs with an actual).
    """
    y_arr, yhat_arr = _as_float(y), _as_float(yhat)
    out = {
        "n": int((np.isfinite(y_arr) & np.isfinite(yhat_arr)).sum()),
        "wape": wape(y_arr, yhat_arr),
        "mase": mase(y_arr, yhat_arr, y_train, season_length),
        "smape": smape(y_arr, yhat_arr),
        "bias": bias(y_arr, yhat_arr),
    }
    for level, (lower, upper) in (intervals or {}).items():
        out[f"coverage_{level:g}"] = coverage(y_arr, lower, upper)
    return out
