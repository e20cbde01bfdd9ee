"""Rolling-origin backtests, leakage, interval coverage and automatic model selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import models as models_module
from forecast.backtest import (
    AutoForecaster,
    HistoryTooShortForBacktest,
    backtest,
    make_cutoffs,
    run_fold,
    select_models,
)
from forecast.metrics import coverage, wape
from forecast.models import ForecastInputError, Forecaster, get_forecaster
from tests.test_models import TZ, synthetic_history

NAIVE_AND_PROFILE = ("snaive", "snaive_day", "profile")


@pytest.fixture(scope="module")
def stationary():
    """10 weeks of hourly Poisson counts (2025-09-01 to 2025-11-09, across the 25-hour day)."""
    return synthetic_history(days=70, seed=0)


@pytest.fixture(scope="module")
def stationary_backtest(stationary):
    return backtest(stationary, models=("snaive", "snaive_day", "profile", "mstl"), horizon="14d", n_folds=3)


def stepped_history() -> pd.DataFrame:
    """Volume triples five weeks before the end: last week's hour beats any multi-week average."""
    h = synthetic_history(days=70, seed=4)
    jump = h["ds"] >= h["ds"].max() - pd.Timedelta(days=35)
    y = h["y"].to_numpy(float)
    return h.assign(y=pd.array(np.where(jump, 3 * y, y).astype(int), dtype="Int64"))


# --------------------------------------------------------------------------------------------
# Folds and cutoffs


def test_three_folds_with_the_right_cutoffs(stationary_backtest):
    folds = stationary_backtest.folds
    expected = [pd.Timestamp(t) for t in ("2025-10-12T23:00+02:00", "2025-10-19T23:00+02:00", "2025-10-26T23:00+01:00")]
    for model, part in folds.groupby("model"):
        assert list(part["fold"]) == [1, 2, 3]
        assert list(part["cutoff"]) == expected, model
        assert (part["status"] == "ok").all(), part["reason"].tolist()
    fc = stationary_backtest.forecasts
    for fold, cutoff in enumerate(expected, start=1):
        part = fc[(fc["model"] == "profile") & (fc["fold"] == fold)]
        assert part["ds"].min() == cutoff + pd.Timedelta("1h")
        # up to the same wall-clock time 14 local days later; 337 hours over the 25-hour day
        assert part["ds"].max().tz_localize(None) == cutoff.tz_convert(TZ).tz_localize(None) + pd.Timedelta(days=14)
        assert len(part) == (337 if fold < 3 else 336)
        assert part["y"].notna().all()
    # the last fold ends with the history
    assert fc["ds"].max() == pd.Timestamp("2025-11-09 23:00", tz=TZ)


def test_make_cutoffs_walks_back_in_local_days():
    cuts = make_cutoffs(pd.Timestamp("2025-04-06 02:00", tz=TZ), "7d", n_folds=3, step="7d")
    assert [c.isoformat() for c in cuts] == [
        "2025-03-16T02:00:00+01:00",
        "2025-03-23T02:00:00+01:00",
        "2025-03-30T03:00:00+02:00",  # 02:00 was skipped that day: the interval after the gap
    ]


def test_no_leakage_a_poisoned_future_changes_nothing(stationary, stationary_backtest):
    clean = stationary_backtest.forecasts
    cols = ["yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
    for fold, cutoff in enumerate(sorted(clean["cutoff"].unique()), start=1):
        y = stationary["y"].copy()
        y[stationary["ds"] > cutoff] = 10**6  # whatever comes after the cutoff is absurd
        poisoned = backtest(stationary.assign(y=y), models=("snaive", "snaive_day", "profile", "mstl"),
                            horizon="14d", cutoffs=[cutoff])
        assert (poisoned.folds["status"] == "ok").all()
        for model in ("snaive", "snaive_day", "profile", "mstl"):
            a = clean[(clean["fold"] == fold) & (clean["model"] == model)][cols].to_numpy()
            b = poisoned.forecasts[poisoned.forecasts["model"] == model][cols].to_numpy()
            np.testing.assert_array_equal(a, b, err_msg=f"{model} fold {fold}")
        assert (poisoned.forecasts["y"] == 10**6).all()  # and it was scored against the poison


# --------------------------------------------------------------------------------------------
# Accuracy and coverage on a stationary Poisson series


def test_profile_beats_snaive_over_the_folds(stationary_backtest):
    s = stationary_backtest.summary.set_index("model")
    # Measured: WAPE profile 0.252, snaive 0.327, mstl 0.287, snaive_day 0.444;
    # MASE profile 0.756, snaive 0.980, mstl 0.861, snaive_day 1.331.
    assert s.loc["profile", "wape"] < 0.85 * s.loc["snaive", "wape"]
    assert s.loc["profile", "mase"] < s.loc["mstl", "mase"] < s.loc["snaive", "mase"] < s.loc["snaive_day", "mase"]


def test_interval_coverage_is_close_to_nominal(stationary_backtest):
    s = stationary_backtest.summary.set_index("model")
    # The models' own intervals (measured: snaive 0.803 / 0.955, profile 0.818 / 0.951) ...
    for model in ("snaive", "profile"):
        assert 0.70 <= s.loc[model, "coverage_80"] <= 0.90, model
        assert 0.88 <= s.loc[model, "coverage_95"] <= 0.99, model
    # ... and the conformal ones from the other folds' errors, for every model (measured:
    # 0.801-0.815 and 0.946-0.959), mstl included (its own in-sample ones: 0.69 / 0.87).
    for model in ("snaive", "snaive_day", "profile", "mstl"):
        assert 0.70 <= s.loc[model, "conformal_coverage_80"] <= 0.90, model
        assert 0.88 <= s.loc[model, "conformal_coverage_95"] <= 0.99, model


def test_auto_intervals_cover_the_next_two_weeks(stationary):
    train = stationary[stationary["ds"] <= pd.Timestamp("2025-10-26 23:00", tz=TZ)]
    test = stationary[stationary["ds"] > pd.Timestamp("2025-10-26 23:00", tz=TZ)]
    auto = AutoForecaster(models=("snaive", "profile"), horizon="14d").fit(train)
    fc = auto.predict("14d")
    assert (fc["model"] == "profile").all() and auto.selection_["intervals"].tolist() == ["backtest"]
    # Measured: 0.815 and 0.967 (profile chosen; conformal intervals from its 3 folds).
    assert 0.70 <= coverage(test["y"], fc["yhat_lower_80"], fc["yhat_upper_80"]) <= 0.90
    assert 0.88 <= coverage(test["y"], fc["yhat_lower_95"], fc["yhat_upper_95"]) <= 0.99


# --------------------------------------------------------------------------------------------
# Selection


def test_auto_picks_the_better_model_per_channel(stationary):
    history = pd.concat([stationary.assign(channel="steady"), stepped_history().assign(channel="jumped")])
    auto = get_forecaster("auto", models=NAIVE_AND_PROFILE, horizon="7d").fit(history)
    chosen = auto.selection_.set_index("channel")["model"].to_dict()
    # Measured (mean MASE): steady: profile 0.75 < snaive 0.98; jumped: snaive 1.29 < profile 1.39.
    assert chosen == {"jumped": "snaive", "steady": "profile"}
    fc = auto.predict("7d")
    assert fc.groupby("channel")["model"].first().to_dict() == chosen
    summary = auto.backtest_.summary.set_index(["channel", "model"])
    assert summary.loc[("jumped", "snaive"), "mase"] < summary.loc[("jumped", "profile"), "mase"]
    assert summary.loc[("steady", "profile"), "mase"] < summary.loc[("steady", "snaive"), "mase"]


def test_select_by_wape_and_ties_go_to_the_simpler_model():
    summary = pd.DataFrame({
        "channel": ["a", "a", "a"], "model": ["snaive", "profile", "mstl"], "folds": 3, "status": "ok", "reason": "",
        "mase": [0.9, 0.8, 0.8], "wape": [0.3, 0.35, 0.2],
    })
    assert select_models(summary, "mase", ["snaive", "profile", "mstl"])["model"].item() == "profile"
    assert select_models(summary, "wape")["model"].item() == "mstl"
    with pytest.raises(ValueError, match="'mase' or 'wape'"):
        select_models(summary, "rmse")


def test_a_model_too_short_for_some_folds_is_skipped_with_the_reason():
    result = backtest(synthetic_history(days=42, seed=5), horizon="7d")
    mstl = result.folds[result.folds["model"] == "mstl"]
    assert mstl["status"].tolist() == ["skipped", "ok", "ok"]
    assert "21.0 days of history; model 'mstl' needs at least 28 days" in mstl["reason"].iloc[0]
    summary = result.summary.set_index("model")
    assert summary.loc["mstl", "status"] == "partial" and summary.loc["mstl", "folds"] == 2
    assert select_models(result.summary)["model"].item() != "mstl"  # only models that ran every fold


def test_auto_falls_back_to_profile_when_the_history_is_too_short_to_backtest():
    history = synthetic_history(days=16)
    with pytest.raises(HistoryTooShortForBacktest, match="3 folds of 28 days one every 7 days need at least 56 days"):
        backtest(history)
    auto = get_forecaster("auto").fit(history)
    assert auto.backtest_ is None
    row = auto.selection_.iloc[0]
    assert row["model"] == "profile" and "too short to backtest" in row["reason"] and row["intervals"] == "in-sample"
    fc = auto.predict("28d")
    assert len(fc) == 28 * 24 and (fc["model"] == "profile").all()


def test_constant_channels_in_a_backtest_and_in_auto(stationary):
    zeros = stationary.assign(channel="fax", y=pd.array(np.zeros(len(stationary), dtype=int), dtype="Int64"))
    history = pd.concat([stationary.iloc[-24 * 36:], zeros.iloc[-24 * 36:]])
    auto = AutoForecaster(models=("snaive", "profile"), horizon="7d").fit(history)
    folds = auto.backtest_.folds
    assert (folds.loc[folds["channel"] == "fax", "status"] == "constant").all()
    fc = auto.predict("7d").set_index("channel")
    assert (fc.loc["fax", "yhat"] == 0).all() and (fc.loc["fax", "model"] == "constant").all()
    assert any("every observed interval is 0" in note for note in auto.notes_["fax"])


def test_a_failing_model_does_not_stop_the_others(monkeypatch, stationary):
    class Broken(Forecaster):
        name = "broken"

        def _fit_channel(self, series):
            raise RuntimeError("numerical trouble")

    monkeypatch.setitem(models_module.MODELS, "broken", Broken)
    result = backtest(stationary.iloc[-24 * 36:], models=("broken", "snaive"), horizon="7d")
    status = result.summary.set_index("model")["status"].to_dict()
    assert status == {"broken": "skipped", "snaive": "ok"}
    assert "RuntimeError: numerical trouble" in result.folds["reason"].iloc[0]
    assert result.folds.loc[result.folds["model"] == "broken", "status"].eq("failed").all()


# --------------------------------------------------------------------------------------------
# Plumbing: parallel, the per-fold job, CSV, bad input


def test_parallel_channels_give_the_same_result(stationary):
    history = pd.concat([stationary.iloc[-24 * 36:], synthetic_history(days=35, seed=9, channel="x", level=4)])
    serial = backtest(history, models=("snaive", "profile"), horizon="7d", n_jobs=1)
    parallel = backtest(history, models=("snaive", "profile"), horizon="7d", n_jobs=2)
    # Everything but the measured seconds per fold is identical.
    pd.testing.assert_frame_equal(serial.folds.drop(columns="seconds"), parallel.folds.drop(columns="seconds"))
    assert (serial.folds["seconds"] > 0).all() and (parallel.folds["seconds"] > 0).all()
    pd.testing.assert_frame_equal(serial.forecasts, parallel.forecasts)


def test_run_fold_is_a_plain_function_of_data(stationary):
    cutoff = pd.Timestamp("2025-11-02 23:00", tz=TZ)
    train = stationary[stationary["ds"] <= cutoff]
    actual = stationary[stationary["ds"] > cutoff][["ds", "y"]]
    row, fc = run_fold(train, actual, "profile", {"weeks": 4}, "7d")
    assert row["status"] == "ok" and row["n"] == 168
    assert row["wape"] == pytest.approx(wape(actual["y"], fc["yhat"]))
    row, fc = run_fold(train.iloc[-24 * 10:], actual, "profile", None, "7d")
    assert row["status"] == "skipped" and "needs at least 14 days" in row["reason"] and fc.empty


def test_results_can_be_written_as_csv(tmp_path, stationary_backtest):
    stationary_backtest.to_csv(tmp_path / "folds.csv")
    stationary_backtest.to_csv(tmp_path / "summary.csv", table="summary")
    folds = pd.read_csv(tmp_path / "folds.csv")
    assert list(folds.columns[:8]) == ["channel", "model", "fold", "cutoff", "status", "reason", "n", "wape"]
    assert {"mase", "smape", "bias", "coverage_80", "coverage_95", "conformal_coverage_80"} <= set(folds.columns)
    assert folds["cutoff"].iloc[0] == "2025-10-12T23:00:00+02:00"
    assert len(pd.read_csv(tmp_path / "summary.csv")) == 4
    with pytest.raises(ValueError, match="choose folds, summary or forecasts"):
        stationary_backtest.to_csv(tmp_path / "x.csv", table="everything")


@pytest.mark.parametrize("kwargs, message", [
    ({"models": ("snaive", "crystal_ball")}, "unknown model"),
    ({"n_folds": 0}, "at least 1 fold"),
    ({"horizon": 0}, "longer than 0"),
    ({"horizon": "400d"}, "more than a year"),
    ({"levels": (0.95,)}, "did you mean 95"),
])
def test_bad_backtest_requests(stationary, kwargs, message):
    with pytest.raises(ValueError, match=message):
        backtest(stationary, **kwargs)


def test_auto_horizon_errors_are_clear(stationary):
    auto = AutoForecaster(models=("snaive", "profile"), horizon="7d").fit(stationary.iloc[-24 * 36:])
    with pytest.raises(ForecastInputError, match="more than a year"):
        auto.predict("2000d")
