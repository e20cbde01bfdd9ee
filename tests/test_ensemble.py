"""The ensemble, auto's candidates, and the forecast command's events, --freq, holidays and many
series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import (
    AutoForecaster,
    EnsembleForecaster,
    backtest,
    combine_forecasts,
    prophet_affordable,
    rank_members,
)
from forecast.ingest import history_to_csv
from forecast.metrics import wape
from forecast.models import get_forecaster, split_channels
from tests.test_models import split_last, synthetic_history
from webcare.cli import main

THREE = ("snaive", "snaive_day", "profile")


def test_combine_and_rank_by_hand():
    yhats = np.array([[1.0, 10.0], [3.0, 20.0], [8.0, 60.0]])
    np.testing.assert_allclose(combine_forecasts(yhats, np.array([1, 1, 2]), "weighted"), [5.0, 37.5])
    np.testing.assert_allclose(combine_forecasts(yhats, np.ones(3), "median"), [3.0, 20.0])
    with pytest.raises(ValueError, match="combine must be one of weighted, median"):
        combine_forecasts(yhats, np.ones(3), "mean")
    table = pd.DataFrame({"model": ["a", "b", "c", "d"], "mase": [0.5, 0.25, 1.0, np.nan], "status": "ok"})
    members, weights = rank_members(table, 2)
    assert members == ["b", "a"] and weights.tolist() == [4.0, 2.0]


@pytest.fixture(scope="module")
def noisy():
    return synthetic_history(days=49, seed=0)


def test_backtest_ensemble_members_come_from_the_other_folds(noisy):
    result = backtest(noisy, models=THREE, horizon="7d", ensemble=2)
    folds = result.folds
    ens = folds[folds["model"] == "ensemble"].set_index("fold")
    assert len(ens) == 3 and (ens["status"] == "ok").all()
    fc = result.forecasts
    for fold in (1, 2, 3):
        others = folds[(folds["fold"] != fold) & (folds["model"] != "ensemble")]
        means = others.groupby("model")["mase"].mean().sort_values()
        members = list(means.index[:2])
        assert ens.loc[fold, "reason"] == f"inverse-error weighted mean of {', '.join(members)}"
        w = 1 / means.iloc[:2].to_numpy()
        parts = [fc[(fc["fold"] == fold) & (fc["model"] == m)]["yhat"].to_numpy() for m in members]
        expected = (w[0] * parts[0] + w[1] * parts[1]) / w.sum()
        got = fc[(fc["fold"] == fold) & (fc["model"] == "ensemble")]["yhat"].to_numpy()
        np.testing.assert_allclose(got, expected)
        # The fold's MASE uses the same scale as the members'.
        y = fc[(fc["fold"] == fold) & (fc["model"] == "ensemble")]["y"].to_numpy()
        member = folds[(folds["fold"] == fold) & (folds["model"] == members[0])].iloc[0]
        scale = np.abs(parts[0] - y).mean() / member["mase"]
        assert ens.loc[fold, "mase"] == pytest.approx(np.abs(got - y).mean() / scale)
    summary = result.summary.set_index("model")
    assert 0.7 <= summary.loc["ensemble", "conformal_coverage_80"] <= 0.9


def test_ensemble_forecaster_combines_its_members():
    train, test = split_last(synthetic_history(days=63, seed=0), 7)  # ets runs every fold
    model = EnsembleForecaster(models=THREE + ("ets",), k=2, horizon="7d").fit(train)
    members = model.members_["whatsapp"]
    assert [m for m, _ in members] == ["ets", "profile"] and model.intervals_["whatsapp"].source == "backtest"
    fc = model.predict("7d")
    assert (fc["model"] == "ensemble").all() and len(fc) == 168
    weights = np.array([w for _, w in members])
    parts = np.vstack([get_forecaster(m).fit(train).predict("7d")["yhat"].to_numpy() for m, _ in members])
    np.testing.assert_allclose(fc["yhat"].to_numpy(), (weights[:, None] * parts).sum(axis=0) / weights.sum())
    assert (fc["yhat_lower_95"] <= fc["yhat_lower_80"]).all() and (fc["yhat_upper_80"] <= fc["yhat_upper_95"]).all()
    snaive = get_forecaster("snaive").fit(train).predict("7d")
    # Measured: ensemble (ets + profile) 0.262, ets 0.262, profile 0.266, snaive 0.335.
    assert wape(test["y"], fc["yhat"]) < 0.85 * wape(test["y"], snaive["yhat"])
    median = get_forecaster("ensemble", models=THREE, k=3, combine="median", horizon="7d").fit(train)
    assert "median of" in median.notes_["whatsapp"][0]


def test_ensemble_on_a_constant_channel_and_with_too_few_models(noisy):
    zero = noisy.assign(channel="fax", y=pd.array(np.zeros(len(noisy), dtype=int), dtype="Int64"))
    model = EnsembleForecaster(models=("snaive", "profile"), k=2, horizon="7d").fit(pd.concat([noisy, zero]))
    fc = model.predict("2d").set_index("channel")
    assert (fc.loc["fax", "yhat"] == 0).all() and (fc.loc["fax", "model"] == "constant").all()
    assert (fc.loc["whatsapp", "model"] == "ensemble").all()
    single = EnsembleForecaster(models=("snaive",), k=2, horizon="7d").fit(noisy)
    assert "fewer than two models" in single.notes_["whatsapp"][0]
    assert (single.predict("1d")["model"] == "snaive").all()
    short = get_forecaster("ensemble").fit(noisy.iloc[-24 * 20:])  # 20 days: too short to backtest 28 days
    assert short.backtest_ is None and "too short to backtest" in short.notes_["whatsapp"][0]
    assert (short.predict("1d")["model"] == "profile").all()


def test_auto_candidates_and_the_prophet_budget(noisy):
    data = split_channels(noisy)
    ok, seconds = prophet_affordable(data, n_folds=3)
    # 49 days x 24 hours, 4 fits, 1.1 ms a row: 5.2 s.
    assert ok and seconds == pytest.approx(49 * 24 * 4 * 1.1e-3)
    many = {f"c{i}": s for i in range(30) for s in data.values()}
    assert not prophet_affordable(many, n_folds=3)[0]
    auto = AutoForecaster(models=THREE + ("ensemble",), horizon="7d", ensemble_k=2).fit(noisy)
    assert auto.candidates_ == ["snaive", "snaive_day", "profile", "ensemble"]
    assert set(auto.backtest_.summary["model"]) == set(auto.candidates_)
    chosen = auto.selection_["model"].item()
    summary = auto.backtest_.summary.set_index("model")
    assert summary.loc[chosen, "mase"] == summary["mase"].min()


# --------------------------------------------------------------------------------------------
# The command line


@pytest.fixture
def history_file(tmp_path):
    history = pd.concat([synthetic_history(days=35, seed=1), synthetic_history(days=35, seed=2, channel="x", level=3)])
    path = tmp_path / "history.csv"
    history_to_csv(history, path)
    return path


def test_cli_events_blank_the_past_and_scale_the_future(tmp_path, history_file, capsys):
    events = tmp_path / "events.csv"
    events.write_text(
        "name,start,end,uplift,channel\n"
        "Outage,2025-09-24 10:00,2025-09-24 16:00,,whatsapp\n"  # in the history: left out of training
        "Campaign,2025-10-07,2025-10-07,50%,\n"  # a whole future day, every channel
    )
    plain, scaled = tmp_path / "plain.csv", tmp_path / "scaled.csv"
    assert main(["forecast", str(history_file), "--model", "profile", "--horizon", "3d", "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main(["forecast", str(history_file), "--model", "profile", "--horizon", "3d", "--out", str(scaled),
                 "--events", str(events)]) == 0
    printed = capsys.readouterr().out
    assert "left out of training: 6 interval(s)" in printed
    a, b = pd.read_csv(plain), pd.read_csv(scaled)
    on_day = b["ds"].str.startswith("2025-10-07")
    ratio = b.loc[on_day, "yhat"].sum() / a.loc[on_day, "yhat"].sum()
    assert ratio == pytest.approx(1.5, rel=0.02)  # the outage's blank hours change the profile a little
    assert b.loc[~on_day, "yhat"].sum() == pytest.approx(a.loc[~on_day, "yhat"].sum(), rel=0.02)


def test_cli_freq_resamples_and_refuses_finer(tmp_path, capsys):
    quarter = synthetic_history(days=21, seed=3, freq="15min", level=2)
    path = tmp_path / "quarters.csv"
    history_to_csv(quarter, path)
    out = tmp_path / "hourly.csv"
    assert main(["forecast", str(path), "--model", "snaive", "--horizon", "1d", "--freq", "1h", "--out", str(out)]) == 0
    fc = pd.read_csv(out)
    assert len(fc) == 24 and fc["ds"].iloc[1] == "2025-09-22T01:00:00+02:00"
    hourly = tmp_path / "hourly_history.csv"
    history_to_csv(synthetic_history(days=21, seed=3), hourly)
    assert main(["forecast", str(hourly), "--model", "snaive", "--horizon", "1d", "--freq", "15min",
                 "--out", str(tmp_path / "fine.csv")]) == 2
    assert "cannot be split" in capsys.readouterr().err and not (tmp_path / "fine.csv").exists()


@pytest.mark.parametrize("flags, message", [
    (["--holidays", "XX"], "unknown holiday country 'XX'"),
    (["--horizon", "0"], "horizon"),
    (["--horizon", "400d"], "more than a year"),
    (["--level", "0.8"], "did you mean 80"),
    (["--folds", "0"], "--folds must be at least 1"),
])
def test_cli_bad_flags(tmp_path, history_file, capsys, flags, message):
    out = tmp_path / "fc.csv"
    assert main(["forecast", str(history_file), "--out", str(out), *flags]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_cli_many_series(tmp_path, capsys):
    rng = np.random.default_rng(0)
    base = synthetic_history(days=15, seed=None, level=1)
    frames = [base.assign(channel=f"team{i:03d}", y=pd.array(rng.poisson(base["y"].to_numpy(float) * (1 + i % 7)),
                                                              dtype="Int64")) for i in range(200)]
    path = tmp_path / "many.csv"
    history_to_csv(pd.concat(frames), path)
    out = tmp_path / "fc.csv"
    assert main(["forecast", str(path), "--model", "snaive", "--horizon", "1d", "--out", str(out)]) == 0
    fc = pd.read_csv(out)
    assert fc["channel"].nunique() == 200 and len(fc) == 200 * 24 and (fc["yhat"] >= 0).all()
    # Each channel repeats its own last week.
    last_monday = [f["y"].to_numpy()[-7 * 24:-6 * 24] for f in frames[:3]]
    for i, expected in enumerate(last_monday):
        np.testing.assert_array_equal(fc[fc["channel"] == f"team{i:03d}"]["yhat"].to_numpy(), expected)
