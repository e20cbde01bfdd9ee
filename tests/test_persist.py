"""Saved models: JSON round trip predicts identically without refitting; metadata; no pickle;
the command line's --save-model / --load-model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecast.models import get_forecaster
from forecast.persist import (
    ModelFileError,
    check_fingerprint,
    data_fingerprint,
    decode,
    encode,
    load_forecaster,
    save_forecaster,
)
from tests.test_models import TZ, synthetic_history
from webcare.cli import main


@pytest.fixture(scope="module")
def two_channels() -> pd.DataFrame:
    a = synthetic_history(days=35, channel="whatsapp", seed=1)
    y = a["y"].copy()
    y.iloc[100:110] = pd.NA  # a gap
    zero = a.assign(channel="fax", y=pd.array(np.zeros(len(a), dtype=int), dtype="Int64"))  # a constant channel
    return pd.concat([a.assign(y=y), zero], ignore_index=True)


@pytest.mark.parametrize("name, params", [
    ("snaive", {}), ("snaive_day", {}), ("profile", {}), ("mstl", {}), ("ets", {}), ("prophet", {}),
    ("ensemble", {"models": ("snaive", "snaive_day", "profile"), "k": 2, "horizon": "7d"}),
])
def test_round_trip_predicts_identically(tmp_path, two_channels, name, params):
    model = get_forecaster(name, **params).fit(two_channels)
    before = model.predict("10d", levels=(80, 95))
    path = save_forecaster(model, tmp_path, history=two_channels)
    assert path.parent == tmp_path and path.name.startswith(f"{name}-") and path.suffix == ".json"
    loaded = load_forecaster(path)
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    pd.testing.assert_frame_equal(before, loaded.predict("10d", levels=(80, 95)))
    # Other horizons and levels work from the loaded state too, without the history.
    pd.testing.assert_frame_equal(model.predict("3d", levels=(50,)), loaded.predict("3d", levels=(50,)))
    assert loaded.notes_ == model.notes_


def test_auto_round_trip_and_metadata(tmp_path, two_channels):
    model = get_forecaster("auto", models=("snaive", "profile", "ets", "ensemble"), horizon="7d").fit(two_channels)
    before = model.predict("7d")
    path = save_forecaster(model, tmp_path / "team.json", metadata={"note": "test"}, history=two_channels)
    document = json.loads(path.read_text())
    meta = document["metadata"]
    assert document["format"] == "webcare-forecaster" and meta["model"] == "auto" and meta["note"] == "test"
    assert meta["tz"] == TZ and meta["freq"] == "1h" and meta["channels"] == ["fax", "whatsapp"]
    assert meta["data_fingerprint"] == data_fingerprint(two_channels)
    assert {"numpy", "pandas", "statsmodels", "prophet"} <= set(meta["versions"])
    assert pd.Timestamp(meta["created"]).tz is not None and meta["last_ds"]["whatsapp"] == "2025-10-05T23:00:00+02:00"
    models_backtested = {(r["channel"], r["model"]) for r in meta["backtest"]}
    assert ("whatsapp", "ets") in models_backtested and ("whatsapp", "ensemble") in models_backtested
    assert {r["channel"] for r in meta["selection"]} == {"fax", "whatsapp"}
    loaded = load_forecaster(path)
    pd.testing.assert_frame_equal(before, loaded.predict("7d"))
    assert check_fingerprint(loaded, two_channels)
    changed = two_channels.assign(y=two_channels["y"].fillna(0))
    assert not check_fingerprint(loaded, changed)


def test_fingerprint_ignores_row_order_and_display_zone(two_channels):
    shuffled = two_channels.sample(frac=1, random_state=0)
    utc = two_channels.assign(ds=two_channels["ds"].dt.tz_convert("UTC"))
    assert data_fingerprint(shuffled) == data_fingerprint(two_channels) == data_fingerprint(utc)


def test_encoder_round_trips_the_types_it_meets():
    values = {
        "array": np.array([1.5, np.nan, -np.inf]), "ints": np.arange(4, dtype=np.int64), "text": np.array(["a", "b"]),
        "series": pd.Series([1.0, 2.0], index=np.array([10, 20], dtype=np.int64)),
        "frame": pd.DataFrame({"bucket": [-1, 0], "level": [80, 95], "lower": [-1.5, 0.5]}),
        "ts": pd.Timestamp("2025-10-26 01:00", tz="UTC").tz_convert(TZ),  # 02:00, the second pass
        "td": pd.Timedelta("15min"),
        "tuple": (1, 2.5, "x"), "nan": float("nan"), "keys": {(1, 2): "pair"},
    }
    back = decode(json.loads(json.dumps(encode(values), allow_nan=False)))
    np.testing.assert_array_equal(back["array"], values["array"])
    assert back["ints"].dtype == np.int64 and back["text"].tolist() == ["a", "b"]
    pd.testing.assert_series_equal(back["series"], values["series"])
    pd.testing.assert_frame_equal(back["frame"], values["frame"])
    assert back["ts"] == values["ts"] and back["ts"].utcoffset() == values["ts"].utcoffset()
    assert back["td"] == values["td"] and back["tuple"] == (1, 2.5, "x") and np.isnan(back["nan"])
    assert back["keys"] == {(1, 2): "pair"}


def test_no_pickle_and_foreign_classes_are_refused(tmp_path, two_channels):
    path = save_forecaster(get_forecaster("profile").fit(two_channels), tmp_path / "p.json")
    text = path.read_text()
    assert "pickle" not in text.lower()
    document = json.loads(text)
    document["forecaster"]["cls"] = "os:system"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="'os:system', which is not part of this project"):
        load_forecaster(bad)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a saved model"):
        load_forecaster(tmp_path / "junk.json")
    with pytest.raises(ValueError, match="only a fitted forecaster can be saved"):
        save_forecaster(get_forecaster("profile"), tmp_path)


def test_cli_save_and_load_model(tmp_path, two_channels, capsys):
    from forecast.ingest import history_to_csv

    history = tmp_path / "history.csv"
    history_to_csv(two_channels, history)
    out, again, saved = tmp_path / "fc.csv", tmp_path / "fc2.csv", tmp_path / "saved.json"
    assert main(["forecast", str(history), "--model", "ets", "--horizon", "7d", "--out", str(out),
                 "--save-model", str(saved)]) == 0
    assert saved.exists()
    capsys.readouterr()
    # HISTORY is optional with --load-model; the forecast is the same to the byte.
    assert main(["forecast", "--load-model", str(saved), "--horizon", "7d", "--out", str(again)]) == 0
    assert "loaded ets model" in capsys.readouterr().out
    assert out.read_bytes() == again.read_bytes()
    missing = tmp_path / "nope.json"
    assert main(["forecast", "--load-model", str(missing), "--horizon", "7d", "--out", str(tmp_path / "x.csv")]) == 2
    assert "no such model file" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()
