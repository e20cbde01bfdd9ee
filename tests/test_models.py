"""Forecasters: the shared interface, the naive baselines, the profile model, MSTL, bad input.

Synthetic histories: hourly (or 15-minute) counts in Amsterdam local time with a known daily
and weekly shape (busy late morning and evening, quiet weekends, busy Mondays), either exact
(rounded, for checks that must hold to the message) or Poisson-drawn around it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.metrics import bias, wape
from forecast.models import (
    MODELS,
    ForecastInputError,
    Profile,
    ResidualQuantiles,
    available_models,
    forecast_columns,
    get_forecaster,
)

TZ = "Europe/Amsterdam"


def weekly_shape(ds) -> np.ndarray:
    """Expected share of a level per interval, by local wall-clock hour and weekday."""
    idx = pd.DatetimeIndex(ds)
    hour = idx.hour.to_numpy() + idx.minute.to_numpy() / 60
    dow = idx.day_of_week.to_numpy()
    daily = 0.3 + 2.0 * np.exp(-0.5 * ((hour - 11) / 3) ** 2) + 1.2 * np.exp(-0.5 * ((hour - 19.5) / 2) ** 2)
    return daily * np.where(dow >= 5, 0.6, 1.0) * np.where(dow == 0, 1.25, 1.0)


def local_range(start: str, days: int, freq: str = "1h") -> pd.DatetimeIndex:
    """Interval starts of ``days`` local days from local midnight ``start`` (a UTC range)."""
    first = pd.Timestamp(start, tz=TZ)
    last = (pd.Timestamp(start) + pd.Timedelta(days=days)).tz_localize(TZ)
    return pd.date_range(first.tz_convert("UTC"), last.tz_convert("UTC"), freq=freq, inclusive="left").tz_convert(TZ)


def pattern(ds, level: float = 10.0) -> np.ndarray:
    """The exact weekly pattern (whole numbers)."""
    return np.round(level * weekly_shape(ds))


def synthetic_history(start: str = "2025-09-01", days: int = 70, level: float = 10.0, seed: int | None = 0,
                      freq: str = "1h", channel: str = "whatsapp", trend: float = 0.0) -> pd.DataFrame:
    """``channel, ds, y``: Poisson counts around level * shape (seed None: the exact pattern).
    ``trend``: relative growth over the whole history (0.5 = +50 % from first to last)."""
    ds = local_range(start, days, freq)
    mean = level * weekly_shape(ds) * (1 + trend * np.arange(len(ds)) / len(ds))
    y = np.round(mean) if seed is None else np.random.default_rng(seed).poisson(mean)
    return pd.DataFrame({"channel": channel, "ds": ds, "y": pd.array(y.astype(int), dtype="Int64")})


def split_last(history: pd.DataFrame, days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = history["ds"].max() - pd.Timedelta(days=days)  # hourly tests away from DST at the cut
    return history[history["ds"] <= cut], history[history["ds"] > cut]


# --------------------------------------------------------------------------------------------
# The interface


def test_registry_and_interface():
    assert {"snaive", "snaive_day", "profile", "mstl"} <= set(MODELS)
    assert "auto" in available_models()
    model = get_forecaster("profile", weeks=4)
    assert isinstance(model, Profile) and model.get_params()["weeks"] == 4
    assert "weeks=4" in repr(model)
    assert not hasattr(model, "states_")  # the constructor only stores parameters
    with pytest.raises(ValueError, match="unknown model 'prophecy'; choose one of: .*profile"):
        get_forecaster("prophecy")


def test_forecast_table_shape_and_columns():
    history = pd.concat([synthetic_history(channel="whatsapp"), synthetic_history(channel="x", seed=1, level=3)])
    fc = get_forecaster("profile").fit(history).predict("7d")
    assert list(fc.columns) == forecast_columns() == [
        "channel", "ds", "yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95", "model",
    ]
    assert fc.groupby("channel").size().to_dict() == {"whatsapp": 168, "x": 168}
    assert str(fc["ds"].dt.tz) == TZ
    assert (fc["model"] == "profile").all()
    assert (fc["yhat_lower_95"] <= fc["yhat_lower_80"]).all() and (fc["yhat_lower_80"] <= fc["yhat"]).all()
    assert (fc["yhat"] <= fc["yhat_upper_80"]).all() and (fc["yhat_upper_80"] <= fc["yhat_upper_95"]).all()
    other = get_forecaster("snaive").fit(history).predict("2d", levels=(50, 99))
    assert list(other.columns)[3:7] == ["yhat_lower_50", "yhat_upper_50", "yhat_lower_99", "yhat_upper_99"]


def test_predict_does_not_refit_and_is_repeatable():
    model = get_forecaster("profile").fit(synthetic_history())
    state = model.states_["whatsapp"]
    a, b = model.predict("7d"), model.predict("7d")
    pd.testing.assert_frame_equal(a, b)
    assert model.states_["whatsapp"] is state


def test_fit_on_one_channels_series():
    h = synthetic_history(channel="whatsapp")
    series = pd.Series(h["y"].to_numpy(), index=pd.DatetimeIndex(h["ds"]), name="whatsapp")
    fc = get_forecaster("snaive").fit(series).predict("1d")
    assert (fc["channel"] == "whatsapp").all() and len(fc) == 24
    fc = get_forecaster("snaive").fit(h[["ds", "y"]]).predict("1d")
    assert (fc["channel"] == "all").all()


# --------------------------------------------------------------------------------------------
# Seasonal naive


def test_snaive_repeats_last_week_exactly_across_the_25_hour_day():
    history = synthetic_history(start="2025-09-01", days=49, seed=None)  # last interval 2025-10-19 23:00
    fc = get_forecaster("snaive").fit(history).predict("14d")
    assert len(fc) == 14 * 24 + 1
    np.testing.assert_array_equal(fc["yhat"].to_numpy(), pattern(fc["ds"]))
    two = fc[fc["ds"].dt.tz_localize(None) == pd.Timestamp("2025-10-26 02:00")]
    assert len(two) == 2 and (two["yhat"] == pattern(local_range("2025-10-19", 1))[2]).all()


def test_snaive_repeats_last_week_exactly_across_the_23_hour_day():
    history = synthetic_history(start="2025-02-03", days=49, seed=None)  # last interval 2025-03-23 23:00
    fc = get_forecaster("snaive").fit(history).predict("14d")
    assert len(fc) == 14 * 24 - 1
    np.testing.assert_array_equal(fc["yhat"].to_numpy(), pattern(fc["ds"]))


def test_snaive_looking_back_at_the_23_hour_day_uses_the_hour_after_the_gap():
    history = synthetic_history(start="2025-02-10", days=49, seed=None)  # last interval 2025-03-30 23:00
    fc = get_forecaster("snaive").fit(history).predict("14d")
    local = fc["ds"].dt.tz_localize(None)
    sunday_2am = (local.dt.day_of_week == 6) & (local.dt.hour == 2)
    assert sunday_2am.sum() == 2
    three_am = history.loc[history["ds"] == pd.Timestamp("2025-03-30 03:00", tz=TZ), "y"].iloc[0]
    assert (fc.loc[sunday_2am, "yhat"] == three_am).all()
    np.testing.assert_array_equal(fc.loc[~sunday_2am, "yhat"].to_numpy(), pattern(fc.loc[~sunday_2am, "ds"]))


def test_snaive_day_repeats_the_last_day():
    history = synthetic_history(days=28, seed=None)
    fc = get_forecaster("snaive_day").fit(history).predict("3d")
    last_day = history["y"].to_numpy(float)[-24:]
    np.testing.assert_array_equal(fc["yhat"].to_numpy(), np.tile(last_day, 3))


def test_snaive_on_15_minute_data_across_the_25_hour_day():
    history = synthetic_history(start="2025-09-22", days=28, seed=None, freq="15min")
    fc = get_forecaster("snaive").fit(history).predict("7d")
    assert len(fc) == 7 * 96 + 4
    np.testing.assert_array_equal(fc["yhat"].to_numpy(), pattern(fc["ds"]))


# --------------------------------------------------------------------------------------------
# Profile


def test_profile_reproduces_a_stationary_pattern():
    history = synthetic_history(days=56, seed=None)
    fc = get_forecaster("profile").fit(history).predict("28d")
    np.testing.assert_allclose(fc["yhat"].to_numpy(), pattern(fc["ds"]), atol=1e-9)


def test_profile_beats_snaive_on_a_noisy_stationary_series():
    train, test = split_last(synthetic_history(days=70, seed=0), 14)
    scores = {name: wape(test["y"], get_forecaster(name).fit(train).predict("14d")["yhat"]) for name in ("snaive", "profile")}
    # Measured: snaive 0.314, profile 0.245 (ratio 0.78; 0.74-0.88 over seeds 0-9); the noise
    # floor (WAPE of the true mean) is 0.225.
    assert scores["profile"] < 0.85 * scores["snaive"]


def test_profile_trend_adjustment_follows_growth():
    train, test = split_last(synthetic_history(days=70, seed=0, trend=0.5), 14)
    with_trend = get_forecaster("profile").fit(train).predict("14d")["yhat"]
    flat = get_forecaster("profile", trend=False).fit(train).predict("14d")["yhat"]
    # Measured: bias +0.035 with the adjustment, -0.075 without.
    assert abs(bias(test["y"], with_trend)) < 0.05
    assert abs(bias(test["y"], with_trend)) < abs(bias(test["y"], flat))


def test_profile_works_from_14_days_and_says_when_shorter():
    fc = get_forecaster("profile").fit(synthetic_history(days=14)).predict("28d")
    assert len(fc) == 28 * 24 and np.isfinite(fc["yhat"]).all()
    with pytest.raises(ValueError, match=r"channel 'whatsapp': 13.0 days of history; model 'profile' needs at least 14 days"):
        get_forecaster("profile").fit(synthetic_history(days=13))


def test_profile_weights_must_make_sense():
    with pytest.raises(ValueError, match="6 non-negative numbers"):
        get_forecaster("profile", weights=[1, 2]).fit(synthetic_history(days=56))


# --------------------------------------------------------------------------------------------
# MSTL


def test_mstl_forecasts_and_beats_snaive_on_a_noisy_series():
    train, test = split_last(synthetic_history(days=70, seed=0), 14)
    fc = get_forecaster("mstl").fit(train).predict("14d")
    snaive = get_forecaster("snaive").fit(train).predict("14d")
    assert (fc["yhat"] >= 0).all() and (fc["model"] == "mstl").all()
    # Measured: mstl 0.278, snaive 0.314.
    assert wape(test["y"], fc["yhat"]) < wape(test["y"], snaive["yhat"])


def test_mstl_needs_28_days():
    with pytest.raises(ValueError, match="model 'mstl' needs at least 28 days"):
        get_forecaster("mstl").fit(synthetic_history(days=21))


# --------------------------------------------------------------------------------------------
# Gaps, constants, non-negativity


def test_gaps_are_skipped_or_filled():
    history = synthetic_history(days=56, seed=None)
    y = history["y"].copy()
    y.iloc[24 * 20: 24 * 23] = pd.NA  # three days missing
    y.iloc[-30:-25] = pd.NA  # five hours in the last week
    history = history.assign(y=y)
    history = history.drop(index=history.index[24 * 30: 24 * 31])  # a day absent altogether
    for name in ("snaive", "snaive_day", "profile", "mstl"):
        model = get_forecaster(name).fit(history)
        fc = model.predict("7d")
        assert np.isfinite(fc["yhat"]).all() and (fc["yhat"] >= 0).all(), name
        assert "missing intervals" in model.notes_["whatsapp"][0]
    # On an exact weekly pattern the filled values are the pattern itself.
    for name in ("snaive", "profile"):
        fc = get_forecaster(name).fit(history).predict("7d")
        np.testing.assert_allclose(fc["yhat"].to_numpy(), pattern(fc["ds"]), atol=1e-9)


def test_all_zero_and_constant_channels_are_forecast_as_such_and_flagged():
    busy = synthetic_history(days=28)
    zero = busy.assign(channel="fax", y=pd.array(np.zeros(len(busy), dtype=int), dtype="Int64"))
    flat = busy.assign(channel="letters", y=pd.array(np.full(len(busy), 3), dtype="Int64"))
    model = get_forecaster("profile").fit(pd.concat([busy, zero, flat]))
    fc = model.predict("7d").set_index("channel")
    assert (fc.loc["fax", "yhat"] == 0).all() and (fc.loc["fax", "yhat_upper_95"] == 0).all()
    assert (fc.loc["letters", "yhat"] == 3).all() and (fc.loc["letters", "yhat_lower_95"] == 3).all()
    assert (fc.loc[["fax", "letters"], "model"] == "constant").all()
    assert (fc.loc["whatsapp", "model"] == "profile").all()
    assert "every observed interval is 0" in model.notes_["fax"][0]


def test_forecasts_and_bounds_are_never_negative():
    history = synthetic_history(days=42, seed=3, level=2, trend=-0.9)  # fading fast, many zeros
    for name in ("snaive", "snaive_day", "profile", "mstl"):
        fc = get_forecaster(name).fit(history).predict("90d")
        assert (fc[["yhat", "yhat_lower_80", "yhat_lower_95"]].to_numpy() >= 0).all(), name


# --------------------------------------------------------------------------------------------
# Intervals


def test_residual_quantiles_by_hand():
    # yhat 0 -> scale 1, so the scaled errors are 0..99. 80 %: quantiles at 0.1 and 0.9 with the
    # (n+1)/n correction -> 0.0909 and 0.9091 of 0..99 -> 9 (lower) and 90 (higher).
    q = ResidualQuantiles.from_residuals(np.arange(100.0), np.zeros(100))
    lower, upper = q.bounds(np.array([0.0, 3.0]), np.array([0, 0]), 80)
    np.testing.assert_allclose(lower, [9, 3 + 9 * 2])
    np.testing.assert_allclose(upper, [90, 3 + 90 * 2])


def test_calibrated_intervals_replace_in_sample_ones():
    model = get_forecaster("snaive").fit(synthetic_history(days=28))
    assert model.intervals_["whatsapp"].source == "in-sample"
    wide = ResidualQuantiles.from_residuals(np.r_[np.zeros(50), np.full(50, 100.0)], np.full(100, 50.0), source="backtest")
    model.calibrate_intervals({"whatsapp": wide})
    assert model.intervals_["whatsapp"].source == "backtest"
    fc = model.predict("1d")
    assert (fc["yhat_upper_95"] - fc["yhat"]).min() > 5


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("history, message", [
    (pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=400, freq="1h"), "y": 1}), "no time zone"),
    (pd.DataFrame({"channel": "a", "ds": pd.date_range("2025-01-01", periods=400, freq="1h", tz=TZ)}), "no column 'y'"),
    (pd.DataFrame({"channel": "a", "ds": pd.date_range("2025-01-01", periods=400, freq="1h", tz=TZ), "y": -1}), "negative counts"),
    (pd.DataFrame({"channel": "a", "ds": pd.DatetimeIndex([], tz=TZ), "y": []}), "empty"),
    ("not a table", "must be a table"),
])
def test_bad_histories_get_clear_messages(history, message):
    with pytest.raises(ForecastInputError, match=message):
        get_forecaster("profile").fit(history)


def test_duplicate_intervals_are_refused():
    h = synthetic_history(days=20)
    with pytest.raises(ValueError, match="channel 'whatsapp': the interval starting 2025-09-01T00:00:00\\+02:00 appears more than once"):
        get_forecaster("profile").fit(pd.concat([h, h.iloc[:1]]))


def test_mostly_missing_history_is_refused():
    h = synthetic_history(days=20)
    h = h.assign(y=h["y"].where(np.arange(len(h)) < 24 * 5))
    with pytest.raises(ValueError, match="only 5.0 days of the history have counts"):
        get_forecaster("profile").fit(h)


@pytest.mark.parametrize("horizon, message", [(0, "longer than 0"), ("400d", "more than a year"), ("-3d", "cannot read")])
def test_bad_horizons(horizon, message):
    model = get_forecaster("snaive").fit(synthetic_history(days=14))
    with pytest.raises(ValueError, match=message):
        model.predict(horizon)


def test_bad_levels_and_unfitted_model():
    model = get_forecaster("snaive")
    with pytest.raises(ValueError, match="not fitted yet"):
        model.predict("1d")
    model.fit(synthetic_history(days=14))
    with pytest.raises(ValueError, match="did you mean 80"):
        model.predict("1d", levels=(0.8,))
    with pytest.raises(ValueError, match="between 0 and 100"):
        model.predict("1d", levels=(100,))


# --------------------------------------------------------------------------------------------
# Resampling to a coarser interval (webcare forecast --freq)


def test_resample_sums_quarters_into_local_hours_across_the_25_hour_day():
    from forecast.models import resample_history

    quarters = synthetic_history(start="2025-10-20", days=14, freq="15min", seed=1, level=2)
    y = quarters["y"].copy()
    y.iloc[5] = pd.NA  # one missing quarter makes its hour missing
    hourly = resample_history(quarters.assign(y=y), "1h")
    assert len(hourly) == 14 * 24 + 1  # the 25-hour day keeps both 02:00 hours
    twice = hourly[hourly["ds"].dt.tz_localize(None) == pd.Timestamp("2025-10-26 02:00")]
    assert [t.utcoffset() for t in twice["ds"]] == [pd.Timedelta(hours=2), pd.Timedelta(hours=1)]
    first_pass = quarters[(quarters["ds"] >= twice["ds"].iloc[0]) & (quarters["ds"] < twice["ds"].iloc[1])]
    assert twice["y"].iloc[0] == first_pass["y"].sum() and len(first_pass) == 4
    assert pd.isna(hourly["y"].iloc[1]) and hourly["y"].sum() == quarters["y"].sum() - quarters["y"].iloc[4:8].sum()
    assert str(hourly["y"].dtype) == "Int64"
    with pytest.raises(ForecastInputError, match="--freq 15min is finer than the history's intervals of 1h"):
        resample_history(hourly, "15min")
    with pytest.raises(ForecastInputError, match="not a whole number"):
        resample_history(hourly, "90min")
    pd.testing.assert_frame_equal(resample_history(hourly, "1h"), hourly.reset_index(drop=True))
