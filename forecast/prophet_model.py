"""Prophet (``prophet``) with public holidays, conditional daily profiles and events.

Prophet (Taylor & Letham 2018) is a regression of ``y`` on a piecewise-linear trend, Fourier
seasonalities and holiday/regressor effects, fitted by MAP (L-BFGS in Stan). Here:

* **Time**: Prophet wants naive ``ds``; it gets the **local wall-clock** time, so the daily
  profile follows the team's clock across daylight saving. Both passes of the repeated hour of a
  25-hour day are fitted (same clock time, told apart by the summer/winter condition); predictions
  are made row by row for the real future intervals (``forecast.timegrid``), so 23- and 25-hour
  days come out exactly.
* **Seasonality**: weekly (Fourier order ``weekly_order``), yearly (order ``yearly_order``) when
  the fitted window spans at least a year (``yearly='auto'``; a year is enough to place
  Christmas and the summer holiday, with a low order to keep it smooth), and a **daily profile
  per condition** (``add_seasonality(..., condition_name=...)``): weekdays vs weekend days
  (public holidays count as weekend days), and summer (daylight saving time) vs winter when the
  window holds at least four weeks of each. Seasonality is multiplicative by default (volume
  grows, the shape scales with it).
* **Holidays**: public holidays from the ``holidays`` package (``holidays='NL'``, a region as
  ``'DE-BY'``, ``None``/``'none'`` to switch off) as Prophet holidays (whole local days).
* **Events** (``forecast.events.Event``): every event name that applies to the channel and has
  observed intervals inside its window(s) in the fitted window becomes a 0/1 regressor
  (multiplicative) over its exact windows; future windows of the same name switch it on again.
  Events whose past windows were blanked out (excluded from training) teach nothing and are
  left out (the CLI then scales the future with ``forecast.events.apply_events``).
* **Speed**: only the last ``history_weeks`` weeks are fitted (default 104: two years), MAP
  (no MCMC), ``uncertainty_samples=0``. Intervals come from residuals like the other models:
  in-sample errors of the last 8 weeks as a fallback, conformal backtest errors in ``auto``.
  Stan's and Prophet's log output is silenced.

Needs 28 days.

Reference: Taylor & Letham (2018), "Forecasting at scale", The American Statistician 72(1).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.calendar import DEFAULT_HOLIDAYS, holiday_days, parse_holidays, public_holidays, summer_time
from forecast.models import (
    ChannelSeries,
    ForecastInputError,
    Forecaster,
    from_utc_ns,
    register,
    wall_ns,
)
from forecast.timegrid import NS_PER_DAY, NS_PER_WEEK

_CONDITIONS = (
    ("daily_summer_weekday", True, False),
    ("daily_summer_weekend", True, True),
    ("daily_winter_weekday", False, False),
    ("daily_winter_weekend", False, True),
    ("daily_weekday", None, False),
    ("daily_weekend", None, True),
)


def quiet_prophet():
    """Import Prophet with its and cmdstanpy's log chatter silenced; returns the class."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "Importing plotly failed"
    from prophet import Prophet

    # Prophet sets its loggers' levels on import: silence them afterwards.
    for name in ("cmdstanpy", "prophet", "prophet.plot", "prophet.models", "prophet.forecaster"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    logging.getLogger("cmdstanpy").disabled = True
    return Prophet


@dataclass
class _ProphetState:
    tz: object
    freq_ns: int
    model: object  # a fitted prophet.Prophet
    split_summer: bool
    holiday_days: np.ndarray  # wall-clock day numbers of public holidays (weekend condition)
    regressors: dict = field(default_factory=dict)  # name -> (start_utc array, end_utc array)
    residuals: tuple = ()


def event_windows(events, channel: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per event name that applies to ``channel`` (or to all channels), its windows as UTC ns."""
    out: dict[str, list] = {}
    for ev in events or ():
        if getattr(ev, "channel", None) not in (None, channel):
            continue
        start = int(pd.Timestamp(ev.start).tz_convert("UTC").value)
        end = int(pd.Timestamp(ev.end).tz_convert("UTC").value)
        out.setdefault(str(ev.name), []).append((start, end))
    return {name: (np.array([w[0] for w in ws], dtype=np.int64), np.array([w[1] for w in ws], dtype=np.int64))
            for name, ws in out.items()}


def _inside(utc: np.ndarray, windows: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    starts, ends = windows
    return ((utc[:, None] >= starts[None, :]) & (utc[:, None] < ends[None, :])).any(axis=1)


def _regressor_name(i: int) -> str:
    return f"event_{i}"


@register
class ProphetForecaster(Forecaster):
    """Prophet with holidays, conditional daily profiles and events: ``prophet`` (module doc)."""

    name = "prophet"
    min_history_days = 28

    def __init__(self, holidays=DEFAULT_HOLIDAYS, history_weeks: int = 104, yearly="auto", daily_order: int = 6,
                 weekly_order: int = 3, yearly_order: int = 6, seasonality_mode: str = "multiplicative",
                 conditional: bool = True, changepoint_prior_scale: float = 0.05, events=None):
        self.holidays = holidays
        self.history_weeks = history_weeks
        self.yearly = yearly
        self.daily_order = daily_order
        self.weekly_order = weekly_order
        self.yearly_order = yearly_order
        self.seasonality_mode = seasonality_mode
        self.conditional = conditional
        self.changepoint_prior_scale = changepoint_prior_scale
        self.events = events

    # -- features ---------------------------------------------------------------------------
    def _frame(self, utc: np.ndarray, tz, split_summer: bool, hol_days: np.ndarray, regressors: dict) -> pd.DataFrame:
        wall = wall_ns(from_utc_ns(utc, tz))
        frame = pd.DataFrame({"ds": wall.astype("datetime64[ns]")})
        day = wall // NS_PER_DAY
        weekend = ((day + 3) % 7 >= 5) | np.isin(day, hol_days)
        summer = summer_time(utc, tz)
        for name, season, is_weekend in _CONDITIONS:
            if (season is None) == split_summer:
                continue
            cond = weekend == is_weekend
            if season is not None:
                cond &= summer == season
            frame[name] = cond
        for i, (reg, windows) in enumerate(regressors.items()):
            frame[_regressor_name(i)] = _inside(utc, windows).astype(float)
        return frame

    # -- fit -----------------------------------------------------------------------------------
    def _fit_channel(self, series: ChannelSeries) -> _ProphetState:
        Prophet = quiet_prophet()
        if self.seasonality_mode not in ("additive", "multiplicative"):
            raise ForecastInputError("prophet: seasonality_mode must be 'additive' or 'multiplicative'")
        parse_holidays(self.holidays)  # validate early, with a clear message
        start = series.last_utc - int(self.history_weeks) * NS_PER_WEEK
        keep = series.utc > start
        utc, y = series.utc[keep], series.y[keep]
        span_days = (utc[-1] - utc[0]) / NS_PER_DAY
        local = from_utc_ns(utc[[0, -1]], series.tz)
        years = range(local[0].year, local[1].year + 3)  # forecasts reach up to a year ahead
        hol_table = public_holidays(self.holidays, years)
        hol_days = holiday_days(self.holidays, years)
        summer = summer_time(utc, series.tz)
        observed = np.isfinite(y)
        four_weeks = 28 * series.per_day
        split_summer = bool(self.conditional) and (summer & observed).sum() >= four_weeks \
            and (~summer & observed).sum() >= four_weeks
        yearly = span_days >= 364 if self.yearly == "auto" else bool(self.yearly)
        regressors = {}
        for name, windows in event_windows(self.events, series.channel).items():
            if (_inside(utc, windows) & observed).any():
                regressors[name] = windows
        holidays_df = None
        if len(hol_table):
            holidays_df = pd.DataFrame({"holiday": hol_table["name"].to_numpy(), "ds": hol_table["date"],
                                        "lower_window": 0, "upper_window": 0})
        model = Prophet(
            growth="linear", yearly_seasonality=int(self.yearly_order) if yearly else False,
            weekly_seasonality=int(self.weekly_order), daily_seasonality=False if self.conditional else int(self.daily_order),
            seasonality_mode=self.seasonality_mode, holidays=holidays_df,
            changepoint_prior_scale=float(self.changepoint_prior_scale), uncertainty_samples=0, mcmc_samples=0,
        )
        if self.conditional:
            for name, season, _ in _CONDITIONS:
                if (season is None) != split_summer:
                    model.add_seasonality(name=name, period=1, fourier_order=int(self.daily_order), condition_name=name)
        for i in range(len(regressors)):
            model.add_regressor(_regressor_name(i), mode=self.seasonality_mode, standardize=False)
        frame = self._frame(utc, series.tz, split_summer, hol_days, regressors)
        frame["y"] = y
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecation chatter from inside Prophet
            model.fit(frame)
        state = _ProphetState(tz=series.tz, freq_ns=series.freq_ns, model=model, split_summer=split_summer,
                              holiday_days=hol_days, regressors=regressors)
        # Fallback interval errors: in-sample fit over the last 8 weeks.
        recent = (utc > series.last_utc - 8 * NS_PER_WEEK) & observed
        fitted = np.maximum(self._predict_channel(state, utc[recent]), 0.0)
        state.residuals = (y[recent], fitted)
        return state

    def _predict_channel(self, state: _ProphetState, future_utc: np.ndarray) -> np.ndarray:
        future_utc = np.asarray(future_utc, dtype=np.int64)
        frame = self._frame(future_utc, state.tz, state.split_summer, state.holiday_days, state.regressors)
        # Prophet sorts by ds with a stable sort: rows in time order (the repeated hour's two passes
        # have the same ds, summer pass first) come back in the same order.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = state.model.predict(frame)
        return np.asarray(out["yhat"], dtype=float)

    def _insample_residuals(self, series: ChannelSeries, state: _ProphetState):
        y, yhat = state.residuals
        return y, yhat, None
