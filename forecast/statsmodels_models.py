"""Exponential smoothing (``ets``): statsmodels ETS on daily totals times an intraday profile.

Why not Holt-Winters on the hourly series itself: the weekly season at hourly data has 168
states (672 at 15 minutes); statsmodels' ETS then fits slowly, estimates 168 initial seasonal
states from few cycles, and cannot carry the daily shape that changes with the weekday. The
classic call-centre decomposition (Taylor 2008; Ibrahim et al. 2016, "top-down" forecasting)
is faster and as accurate: forecast the **daily totals** with a damped ETS model with a weekly
season of 7 days, and split each day over its intervals with the **intraday profile** of its
weekday (each interval's share of the day's total, averaged over the recent weeks and, when the
history has them, the same weeks a year earlier; weekdays whose profiles a chi-square test cannot
tell apart are pooled, which cuts the profile's noise: one weekday has only 8 days in 8 weeks).

* Days are local wall-clock days. The series is first put on a regular wall-clock grid
  (:func:`forecast.models.wall_clock_regular`: the repeated hour of a 25-hour day is averaged,
  the skipped hour of a 23-hour day interpolated), so every day has exactly ``per_day`` slots.
  Forecasts are made for the real future intervals: on a 25-hour day both passes of the
  repeated hour get that slot's share, on a 23-hour day the skipped slot has no interval.
* Partial first and last days are left out of the daily totals; a forecast that starts in the
  middle of a day takes that day's total from the model's first step.
* ETS: additive errors, damped additive trend, and a weekly season that is multiplicative (when
  every daily total is positive) or additive, whichever has the lower AIC. Fitted on the last
  ``max_days`` days (default 364).
* Intervals (fallback, when no backtest calibrates them): the model's one-day-ahead fitted
  totals times the profile, against the actual intervals of the last 8 weeks (in-sample, so a
  little narrow; ``auto`` uses backtest errors instead).

Needs 28 days (four weekly cycles of daily totals).

References: Hyndman, Koehler, Ord & Snyder (2008), "Forecasting with Exponential Smoothing: the
State Space Approach", Springer (ETS); Taylor (2008), Management Science 54(2); Ibrahim, Ye,
L'Ecuyer & Shen (2016), "Modeling and forecasting call center arrivals: A literature survey and a
case study", International Journal of Forecasting 32(3).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from forecast.models import (
    ChannelSeries,
    ForecastInputError,
    Forecaster,
    from_utc_ns,
    impute_gaps,
    register,
    wall_clock_regular,
    wall_ns,
)
from forecast.timegrid import NS_PER_DAY

# 1970-01-01 (day 0 on the wall clock) was a Thursday.
_THURSDAY = 3
# Significance level below which two weekdays' intraday profiles are told apart (not pooled).
POOL_ALPHA = 0.01


def weekday_of_day(day: np.ndarray) -> np.ndarray:
    """Weekday (0 = Monday) of wall-clock day numbers (days since 1970-01-01)."""
    return (np.asarray(day, dtype=np.int64) + _THURSDAY) % 7


def profile_rows(days: np.ndarray, weeks: int, last_year: bool = True) -> np.ndarray:
    """Which days (rows) the intraday profile is estimated from: the last ``weeks`` weeks, and with
    ``last_year`` also ``weeks`` weeks centred on the same date 52 weeks earlier (364 days, so the
    weekdays line up) when the history covers all of them: the same season a year ago, which
    doubles the days behind each share without mixing in another season's shape."""
    days = np.asarray(days, dtype=np.int64)
    last = int(days[-1])
    rows = days >= last - 7 * int(weeks) + 1
    if last_year:
        start = last + 1 - 364 - 7 * (int(weeks) // 2)
        seasonal = (days >= start) & (days < start + 7 * int(weeks))
        if seasonal.sum() == 7 * int(weeks):
            rows = rows | seasonal
    return rows


def intraday_shares(matrix: np.ndarray, days: np.ndarray, weeks: int | None,
                    pool_alpha: float | None = POOL_ALPHA) -> np.ndarray:
    """Share of the day's total per (weekday, slot), from the last ``weeks`` weeks of a
    (days x slots) matrix (``None``: every row given). A weekday without a single message on two or
    more of its days gets shares of 0 (nothing is forecast for it), one seen on fewer days the
    overall shape.

    With ``pool_alpha`` (default 0.01), each weekday's shares are estimated from its own days
    together with the other weekdays whose intraday profile a chi-square test of homogeneity
    (the two weekdays' counts per slot) cannot tell apart from it at that level: with 8 weeks
    one weekday has only 8 days, whose Poisson noise would otherwise go straight into the
    forecast, while working days usually share one shape. A weekday with a shape of its own (a
    Saturday, an evening with a weekly programme) keeps its own estimate. ``None`` or 0: every
    weekday on its own days only.
    """
    from scipy.stats import chi2

    per_day = matrix.shape[1]
    recent = days >= days[-1] - 7 * int(weeks) + 1 if weeks is not None else np.ones(len(days), dtype=bool)
    mat, dow = matrix[recent], weekday_of_day(days[recent])
    overall = mat.sum(axis=0)
    overall = overall / overall.sum() if overall.sum() > 0 else np.full(per_day, 1 / per_day)
    counts = np.stack([mat[dow == d].sum(axis=0) for d in range(7)])  # (7, per_day)
    totals = counts.sum(axis=1)
    similar = np.eye(7, dtype=bool)
    if pool_alpha:
        for d in range(7):
            for e in range(d + 1, 7):
                if totals[d] <= 0 or totals[e] <= 0:
                    continue
                both = counts[d] + counts[e]
                used = both > 0
                if used.sum() < 2:
                    continue
                expected_d = both[used] * totals[d] / (totals[d] + totals[e])
                expected_e = both[used] - expected_d
                stat = (((counts[d, used] - expected_d) ** 2 / expected_d).sum()
                        + ((counts[e, used] - expected_e) ** 2 / expected_e).sum())
                # Hours one weekday never had while the other did (a team closed on Saturday
                # mornings): with few messages the chi-square test is too weak to see them, so
                # the Poisson chance of those zeros under one shared shape, exp(-expected), is
                # tested as well.
                zero_d = (counts[d, used] == 0) & (counts[e, used] > 0)
                zero_e = (counts[e, used] == 0) & (counts[d, used] > 0)
                p_zeros = np.exp(-max(expected_d[zero_d].sum(), expected_e[zero_e].sum()))
                similar[d, e] = similar[e, d] = min(chi2.sf(stat, int(used.sum()) - 1), p_zeros) > pool_alpha
    shares = np.empty((7, per_day))
    for d in range(7):
        pooled = counts[similar[d]].sum(axis=0)
        if totals[d] > 0:
            shares[d] = pooled / pooled.sum()
        elif (dow == d).sum() >= 2:
            shares[d] = 0.0  # not a message on any of its days (closed on Sundays): none forecast
        else:
            shares[d] = overall
    return shares


@dataclass
class _ETSState:
    tz: object
    freq_ns: int
    per_day: int
    first_day: int  # wall-clock day number of the first fitted daily total
    last_day: int  # the last complete day in the fit
    day_forecast: np.ndarray  # daily totals for days last_day + 1 ... last_day + len
    shares: np.ndarray  # (7, per_day)
    spec: str  # e.g. "A,Ad,M"
    residuals: tuple


def _fit_ets(totals: np.ndarray):
    """The damped ETS model (multiplicative or additive weekly season) with the lower AIC."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasons = ("mul", "add") if (totals > 0).all() else ("add",)
    best = None
    for season in seasons:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter from the optimiser
            try:
                res = ETSModel(totals, error="add", trend="add", damped_trend=True, seasonal=season,
                               seasonal_periods=7, initialization_method="heuristic"
                               if totals.size >= 28 else "estimated").fit(disp=False, maxiter=200)
            except (ValueError, np.linalg.LinAlgError):
                continue
        if not np.isfinite(res.aic):
            continue
        if best is None or res.aic < best.aic:
            best = res
    if best is None:
        raise ForecastInputError("ets: the exponential smoothing model could not be fitted to the daily totals")
    return best


@register
class ETSForecaster(Forecaster):
    """Damped ETS with a weekly season on daily totals, times the weekday's intraday profile: ``ets``.

    Parameters: ``max_days`` (daily totals fitted, default 364), ``profile_weeks`` (weeks of
    intraday shares, default 8), ``pool_alpha`` (weekdays whose intraday profiles a chi-square
    test at this level cannot tell apart share one estimate, default 0.01; 0 = each weekday
    alone), ``profile_last_year`` (also the same weeks a year earlier, when the history has them;
    default True). See the module doc.
    """

    name = "ets"
    min_history_days = 28

    def __init__(self, max_days: int = 364, profile_weeks: int = 8, pool_alpha: float = POOL_ALPHA,
                 profile_last_year: bool = True):
        if pool_alpha is None:
            pool_alpha = 0.0
        if isinstance(profile_last_year, str) or not isinstance(profile_last_year, (bool, np.bool_)):
            raise ForecastInputError(f"ets: profile_last_year must be true or false, got {profile_last_year!r}")
        if not 0 <= float(pool_alpha) < 1:
            raise ForecastInputError(f"ets: pool_alpha must be in [0, 1), got {pool_alpha}")
        self.max_days = max_days
        self.profile_weeks = profile_weeks
        self.pool_alpha = float(pool_alpha)
        self.profile_last_year = bool(profile_last_year)

    def _fit_channel(self, series: ChannelSeries) -> _ETSState:
        per_day = series.per_day
        grid, values = wall_clock_regular(series, impute_gaps(series))
        days = grid // NS_PER_DAY
        start = 0 if grid[0] % NS_PER_DAY == 0 else int(np.searchsorted(days, days[0] + 1))
        end = grid.size if (grid[-1] + series.freq_ns) % NS_PER_DAY == 0 else int(np.searchsorted(days, days[-1]))
        grid, values = grid[start:end], values[start:end]
        if grid.size < 14 * per_day:
            raise ForecastInputError(f"channel '{series.channel}': ets needs at least 14 complete local days")
        matrix = values.reshape(-1, per_day)
        day_numbers = grid[::per_day] // NS_PER_DAY
        rows = profile_rows(day_numbers, self.profile_weeks, self.profile_last_year)
        shares = intraday_shares(matrix[rows], day_numbers[rows], None, self.pool_alpha)
        keep = min(matrix.shape[0], int(self.max_days))
        matrix, day_numbers = matrix[-keep:], day_numbers[-keep:]
        totals = matrix.sum(axis=1)
        res = _fit_ets(totals)
        horizon_days = 370
        day_forecast = np.maximum(np.asarray(res.forecast(horizon_days), dtype=float), 0.0)
        # Fallback interval errors: one-day-ahead fitted totals x shares over the last 8 weeks.
        fitted = np.maximum(np.asarray(res.fittedvalues, dtype=float), 0.0)
        recent = slice(max(0, matrix.shape[0] - 56), None)
        yhat = (fitted[recent, None] * shares[weekday_of_day(day_numbers[recent])]).ravel()
        y_true = matrix[recent].ravel()
        spec = f"A,Ad,{'M' if res.model.seasonal == 'mul' else 'A'}"
        return _ETSState(
            tz=series.tz, freq_ns=series.freq_ns, per_day=per_day, first_day=int(day_numbers[0]),
            last_day=int(day_numbers[-1]), day_forecast=day_forecast, shares=shares, spec=spec,
            residuals=(y_true, yhat),
        )

    def _predict_channel(self, state: _ETSState, future_utc: np.ndarray) -> np.ndarray:
        wall = wall_ns(from_utc_ns(future_utc, state.tz))
        day = wall // NS_PER_DAY
        slot = (wall % NS_PER_DAY) // state.freq_ns
        step = np.clip(day - state.last_day, 1, state.day_forecast.size) - 1
        return state.day_forecast[step] * state.shares[weekday_of_day(day), slot]

    def _insample_residuals(self, series: ChannelSeries, state: _ETSState):
        y, yhat = state.residuals
        return y, yhat, None
