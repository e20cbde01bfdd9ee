"""ETS on daily totals x intraday profile (``ets``): accuracy, trend, DST-exact output, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.metrics import bias, wape
from forecast.models import get_forecaster
from forecast.statsmodels_models import intraday_shares, profile_rows, weekday_of_day
from tests.test_models import local_range, pattern, split_last, synthetic_history


def test_weekday_of_day_numbers():
    days = pd.DatetimeIndex(["2025-09-01", "2025-09-07"]).as_unit("ns").asi8 // (86400 * 10**9)
    assert weekday_of_day(days).tolist() == [0, 6]  # a Monday and a Sunday


def test_intraday_shares_sum_to_one_per_weekday():
    rng = np.random.default_rng(0)
    matrix = rng.poisson(5, size=(28, 24)).astype(float)
    days = np.arange(20000, 20028)
    shares = intraday_shares(matrix, days, weeks=4, pool_alpha=0)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    monday_rows = matrix[weekday_of_day(days) == 0]
    np.testing.assert_allclose(shares[0], monday_rows.sum(axis=0) / monday_rows.sum())


def test_weekdays_with_one_shape_are_pooled_and_a_different_one_is_not():
    # Working days share one profile, Saturday and Sunday another: 8 weeks of Poisson counts.
    rng = np.random.default_rng(1)
    work = np.r_[np.full(8, 1.0), np.full(10, 6.0), np.full(6, 3.0)]
    rest = np.r_[np.full(8, 2.0), np.full(10, 3.0), np.full(6, 5.0)]
    days = np.arange(20000, 20056)  # 1 October 2024 + 56 days; weekday_of_day gives the rows' weekdays
    dow = weekday_of_day(days)
    mean = np.where((dow >= 5)[:, None], rest, work) * 10
    matrix = rng.poisson(mean).astype(float)
    pooled = intraday_shares(matrix, days, weeks=8)
    alone = intraday_shares(matrix, days, weeks=8, pool_alpha=0)
    np.testing.assert_allclose(pooled.sum(axis=1), 1.0)
    workdays = matrix[dow < 5]
    # Every working day gets the five working days' shares; the weekend days are not mixed in.
    for d in range(5):
        np.testing.assert_allclose(pooled[d], workdays.sum(axis=0) / workdays.sum())
    weekend = matrix[dow >= 5]
    np.testing.assert_allclose(pooled[5], weekend.sum(axis=0) / weekend.sum())
    # Pooling brings the estimate closer to the truth than each weekday on its own days.
    truth = work / work.sum()
    assert np.abs(pooled[:5] - truth).sum() < 0.6 * np.abs(alone[:5] - truth).sum()


def test_profile_rows_add_the_same_weeks_a_year_earlier():
    days = np.arange(20000, 20400)  # 400 days, the last is day 20399
    rows = profile_rows(days, weeks=8)
    assert rows.sum() == 112
    recent, seasonal = days[rows][56:], days[rows][:56]
    assert recent[0] == 20399 - 55 and recent[-1] == 20399
    # 8 weeks centred on the date 364 days (52 weeks) before the first forecast day 20400
    assert seasonal[0] == 20400 - 364 - 28 and seasonal[-1] == 20400 - 364 + 27
    assert (weekday_of_day(seasonal[:7]) == weekday_of_day(recent[:7])).all()  # whole weeks, weekdays aligned
    assert profile_rows(days, weeks=8, last_year=False).sum() == 56
    # a history that does not reach back to all of last year's weeks uses the recent weeks only
    assert profile_rows(days[-380:], weeks=8).sum() == 56


def test_last_years_weeks_halve_the_noise_of_a_stable_profile():
    rng = np.random.default_rng(3)
    shape = np.r_[np.full(8, 1.0), np.full(10, 6.0), np.full(6, 3.0)]
    truth = shape / shape.sum()
    days = np.arange(20000, 20420)
    errors = {True: [], False: []}
    for _ in range(20):
        matrix = rng.poisson(np.tile(truth * 100, (len(days), 1))).astype(float)
        for last_year in (True, False):
            rows = profile_rows(days, 8, last_year)
            shares = intraday_shares(matrix[rows], days[rows], None)
            errors[last_year].append(((shares - truth) ** 2).sum())
    # twice the days: about half the squared error
    assert np.mean(errors[True]) < 0.65 * np.mean(errors[False])


def test_ets_rejects_bad_profile_parameters():
    with pytest.raises(ValueError, match="pool_alpha"):
        get_forecaster("ets", pool_alpha=1.5)
    with pytest.raises(ValueError, match="profile_last_year"):
        get_forecaster("ets", profile_last_year="false")
    assert get_forecaster("ets", pool_alpha=None).pool_alpha == 0.0


def test_closed_hours_and_closed_days_stay_empty_when_counts_are_few():
    # Weekdays open 08-20 at 3 an hour, Saturday 10-16 at 0.3 an hour, never a message on Sunday.
    # (Found in review: with so few Saturday messages the chi-square test alone pooled Saturday
    # with the weekdays and forecast 2.1 of its 4.6 messages in hours it was always closed.)
    ds = local_range("2025-09-01", 70, "1h")
    hour, dow = ds.hour.to_numpy(), ds.day_of_week.to_numpy()
    mean = np.where(dow < 5, np.where((hour >= 8) & (hour < 20), 3.0, 0.0),
                    np.where((dow == 5) & (hour >= 10) & (hour < 16), 0.3, 0.0))
    y = np.random.default_rng(7).poisson(mean)
    history = pd.DataFrame({"channel": "c", "ds": ds, "y": pd.array(y, dtype="Int64")})
    fc = get_forecaster("ets").fit(history).predict("14d")
    wall = fc["ds"].dt.tz_localize(None)
    saturday, sunday = wall.dt.day_of_week == 5, wall.dt.day_of_week == 6
    closed = saturday & ~((wall.dt.hour >= 10) & (wall.dt.hour < 16))
    assert fc.loc[saturday, "yhat"].sum() > 1.0
    assert fc.loc[closed, "yhat"].sum() == 0.0
    assert fc.loc[sunday, "yhat"].sum() == 0.0


def test_ets_reproduces_an_exact_weekly_pattern():
    history = synthetic_history(days=56, seed=None)
    fc = get_forecaster("ets", pool_alpha=0).fit(history).predict("14d")
    # Daily totals repeat exactly every week, so the model's day totals and the shares are exact
    # up to the optimiser's tolerance.
    np.testing.assert_allclose(fc["yhat"].to_numpy(), pattern(fc["ds"]), rtol=0.02, atol=0.05)
    # Pooled (the default): every weekday has the same shape here, so all seven share one profile
    # and only the rounding of the whole-number pattern (0.5 a slot at most) is averaged over.
    pooled = get_forecaster("ets").fit(history).predict("14d")
    error = np.abs(pooled["yhat"].to_numpy() - pattern(pooled["ds"]))
    assert error.max() < 1.0 and error.mean() < 0.3, (error.max(), error.mean())


def test_ets_beats_snaive_and_follows_a_trend():
    train, test = split_last(synthetic_history(days=70, seed=0), 14)
    ets = get_forecaster("ets").fit(train).predict("14d")
    snaive = get_forecaster("snaive").fit(train).predict("14d")
    # Measured: ets 0.246, snaive 0.314, profile 0.245 (noise floor 0.225).
    assert wape(test["y"], ets["yhat"]) < 0.85 * wape(test["y"], snaive["yhat"])
    assert (ets["model"] == "ets").all()
    train, test = split_last(synthetic_history(days=70, seed=0, trend=0.5), 14)
    grown = get_forecaster("ets").fit(train).predict("14d")
    # Measured bias +0.021 (profile with its trend adjustment: +0.035).
    assert abs(bias(test["y"], grown["yhat"])) < 0.05


def test_ets_is_exact_across_the_25_and_23_hour_days():
    autumn = synthetic_history(start="2025-09-01", days=49, seed=None)  # ends 2025-10-19 23:00
    fc = get_forecaster("ets", pool_alpha=0).fit(autumn).predict("14d")
    assert len(fc) == 14 * 24 + 1
    twice = fc[fc["ds"].dt.tz_localize(None) == pd.Timestamp("2025-10-26 02:00")]
    assert len(twice) == 2 and twice["yhat"].iloc[0] == twice["yhat"].iloc[1]
    spring = synthetic_history(start="2025-02-03", days=49, seed=None)  # ends 2025-03-23 23:00
    fc = get_forecaster("ets", pool_alpha=0).fit(spring).predict("14d")
    assert len(fc) == 14 * 24 - 1
    assert not (fc["ds"].dt.tz_localize(None) == pd.Timestamp("2025-03-30 02:00")).any()
    np.testing.assert_allclose(fc["yhat"].to_numpy(), pattern(fc["ds"]), rtol=0.02, atol=0.05)


def test_ets_from_a_history_ending_mid_day_and_on_15_minutes():
    history = synthetic_history(days=42, seed=1).iloc[:-7]  # last interval 16:00
    fc = get_forecaster("ets").fit(history).predict("2d")
    assert fc["ds"].iloc[0] == history["ds"].iloc[-1] + pd.Timedelta(hours=1) and len(fc) == 48
    quarter = synthetic_history(days=35, seed=2, freq="15min", level=3)
    fc = get_forecaster("ets").fit(quarter).predict("1d")
    assert len(fc) == 96 and np.isfinite(fc["yhat"]).all()


def test_ets_never_negative_and_needs_28_days():
    fading = synthetic_history(days=42, seed=3, level=2, trend=-0.9)
    fc = get_forecaster("ets").fit(fading).predict("90d")
    assert (fc[["yhat", "yhat_lower_80", "yhat_lower_95"]].to_numpy() >= 0).all()
    with pytest.raises(ValueError, match="model 'ets' needs at least 28 days"):
        get_forecaster("ets").fit(synthetic_history(days=21))


def test_ets_with_gaps_and_many_zeros():
    history = synthetic_history(days=42, seed=4, level=0.3)  # mostly zeros per hour
    y = history["y"].copy()
    y.iloc[24 * 10: 24 * 12] = pd.NA
    model = get_forecaster("ets").fit(history.assign(y=y))
    fc = model.predict("7d")
    assert np.isfinite(fc["yhat"]).all() and (fc["yhat"] >= 0).all()
    assert "48 missing intervals" in model.notes_["whatsapp"][0]
    hours = local_range("2025-10-13", 7)
    assert len(fc) == len(hours)
