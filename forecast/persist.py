"""Saving fitted forecasters as JSON and loading them back without refitting. No pickle.

A saved model is one JSON file::

    {"format": "webcare-forecaster", "version": 1,
     "metadata": {"model": "ets", "params": {...}, "created": "2026-11-23T14:00:00+00:00",
                  "tz": "Europe/Amsterdam", "freq": "1h", "channels": [...],
                  "last_ds": {"whatsapp": "2026-10-31T23:00:00+01:00"},
                  "data_fingerprint": "sha256:...", "backtest": [...per channel and model...],
                  "versions": {"python": ..., "numpy": ..., "pandas": ..., "statsmodels": ..., "prophet": ...},
                  ...anything the caller adds},
     "forecaster": {...the learned state...}}

The learned state is written by a small tagged encoder: numbers, text, lists and dicts as JSON;
numpy arrays as their dtype, shape and base64 bytes (bit-exact, so a reloaded model predicts
*identically*); pandas Series, DataFrames, Timestamps and Timedeltas; dataclasses and
forecasters by class name; a fitted Prophet model with ``prophet.serialize.model_to_json``.
Loading only rebuilds classes from this project's ``forecast`` package (and Prophet): a saved
file cannot make the loader run arbitrary code, as a pickle could.

:func:`data_fingerprint` hashes a history (channel, UTC instants, counts), so a saved model can
be checked against the data it was fitted on (:func:`check_fingerprint`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import importlib
import json
import platform
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from forecast.models import ForecastInputError, Forecaster, split_channels

FORMAT = "webcare-forecaster"
VERSION = 1
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "models"
_ALLOWED_MODULES = ("forecast.",)
# Learned attributes not needed to predict and too large to keep (the backtest's summary goes
# into the metadata instead).
_SKIP_ATTRS = {"backtest_"}


class ModelFileError(ForecastInputError):
    """A saved model file cannot be read (not JSON, another format, an unknown class)."""


# --------------------------------------------------------------------------------------------
# Encoding


def _enc_array(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a)
    if a.dtype == object:
        return {"__t": "objarray", "v": [encode(x) for x in a.tolist()], "shape": list(a.shape)}
    if a.dtype.kind in "USM":
        if a.dtype.kind == "M":
            return {"__t": "dt64", "dtype": str(a.dtype), "v": _b64(a.view(np.int64)), "shape": list(a.shape)}
        return {"__t": "strarray", "v": a.astype(str).tolist(), "shape": list(a.shape)}
    return {"__t": "ndarray", "dtype": a.dtype.str, "shape": list(a.shape), "v": _b64(a)}


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _enc_series_values(s: pd.Series) -> dict:
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return {"__t": "dtindex", "tz": str(dtype.tz), "v": _b64(pd.DatetimeIndex(s).tz_convert("UTC").as_unit("ns").asi8)}
    if dtype.kind == "M":
        return {"__t": "dtindex", "tz": None, "v": _b64(pd.DatetimeIndex(s).as_unit("ns").asi8)}
    if isinstance(dtype, pd.BooleanDtype) or isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iuf":
        arr = s.to_numpy(dtype=float, na_value=np.nan)
        return {"__t": "nullable", "dtype": str(dtype), "v": _enc_array(arr)}
    if dtype.kind in "biuf":
        return _enc_array(s.to_numpy())
    return {"__t": "list", "v": [encode(x) for x in s.tolist()]}


def _dec_series_values(obj: dict):
    t = obj.get("__t")
    if t == "dtindex":
        raw = np.frombuffer(base64.b64decode(obj["v"]), dtype=np.int64).astype("datetime64[ns]")
        idx = pd.DatetimeIndex(raw)
        return idx.tz_localize("UTC").tz_convert(obj["tz"]) if obj["tz"] else idx
    if t == "nullable":
        return pd.array(decode(obj["v"]), dtype="Float64").astype(obj["dtype"])
    if t == "list":
        return [decode(x) for x in obj["v"]]
    return decode(obj)


def encode(obj: Any) -> Any:
    """A JSON-ready structure for ``obj`` (see the module doc)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if np.isfinite(value) else {"__t": "float", "v": repr(value)}
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _enc_array(obj)
    if isinstance(obj, pd.Timestamp):
        return {"__t": "ts", "v": obj.isoformat(), "tz": str(obj.tz) if obj.tz is not None else None}
    if isinstance(obj, pd.Timedelta):
        return {"__t": "td", "v": int(obj.value)}
    if isinstance(obj, pd.DatetimeIndex):
        return {"__t": "index", "v": _enc_series_values(pd.Series(obj))}
    if isinstance(obj, pd.Series):
        return {"__t": "series", "name": encode(obj.name), "index": _enc_series_values(pd.Series(obj.index)),
                "v": _enc_series_values(obj)}
    if isinstance(obj, pd.DataFrame):
        return {"__t": "frame", "columns": [str(c) for c in obj.columns],
                "data": [_enc_series_values(obj[c]) for c in obj.columns]}
    if isinstance(obj, tuple):
        return {"__t": "tuple", "v": [encode(x) for x in obj]}
    if isinstance(obj, list):
        return [encode(x) for x in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__t": "dict", "v": {k: encode(v) for k, v in obj.items()}}
        return {"__t": "pairs", "v": [[encode(k), encode(v)] for k, v in obj.items()]}
    if _is_tz(obj):
        return {"__t": "tz", "v": str(obj)}
    if type(obj).__name__ == "Prophet" and type(obj).__module__.startswith("prophet"):
        from prophet.serialize import model_to_json

        return {"__t": "prophet", "v": model_to_json(obj)}
    if isinstance(obj, Forecaster):
        return _enc_forecaster(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return {"__t": "dataclass", "cls": _qualname(obj), "v": fields}
    raise TypeError(f"cannot save a {type(obj).__module__}.{type(obj).__name__} in a model file")


def _is_tz(obj) -> bool:
    import datetime as dt

    return isinstance(obj, dt.tzinfo)


def _qualname(obj) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _enc_forecaster(model: Forecaster) -> dict:
    state = {k: encode(v) for k, v in vars(model).items() if k.endswith("_") and k not in _SKIP_ATTRS}
    return {"__t": "forecaster", "cls": _qualname(model), "params": encode(model.get_params()), "state": state}


# --------------------------------------------------------------------------------------------
# Decoding


def _class(qualname: str):
    module, _, name = qualname.partition(":")
    if not module.startswith(_ALLOWED_MODULES):
        raise ModelFileError(f"the model file names the class {qualname!r}, which is not part of this project")
    try:
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise ModelFileError(f"the model file names the class {qualname!r}, which this version does not have") from None
    return obj


def decode(obj: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(obj, list):
        return [decode(x) for x in obj]
    if not isinstance(obj, dict):
        return obj
    t = obj.get("__t")
    if t == "float":
        return float(obj["v"])
    if t == "ndarray":
        raw = base64.b64decode(obj["v"])
        return np.frombuffer(raw, dtype=np.dtype(obj["dtype"])).reshape(obj["shape"]).copy()
    if t == "dt64":
        raw = np.frombuffer(base64.b64decode(obj["v"]), dtype=np.int64).reshape(obj["shape"])
        return raw.astype(obj["dtype"])
    if t == "strarray":
        return np.array(obj["v"], dtype=str).reshape(obj["shape"])
    if t == "objarray":
        out = np.empty(len(obj["v"]), dtype=object)
        out[:] = [decode(x) for x in obj["v"]]
        return out.reshape(obj["shape"])
    if t == "ts":
        ts = pd.Timestamp(obj["v"])
        return ts.tz_convert(obj["tz"]) if obj["tz"] else ts
    if t == "td":
        return pd.Timedelta(int(obj["v"]), unit="ns")
    if t == "index":
        return pd.DatetimeIndex(_dec_series_values(obj["v"]))
    if t == "series":
        return pd.Series(_dec_series_values(obj["v"]), index=_dec_series_values(obj["index"]), name=decode(obj["name"]))
    if t == "frame":
        return pd.DataFrame({c: _dec_series_values(v) for c, v in zip(obj["columns"], obj["data"])})
    if t == "tuple":
        return tuple(decode(x) for x in obj["v"])
    if t == "dict":
        return {k: decode(v) for k, v in obj["v"].items()}
    if t == "pairs":
        return {_hashable(decode(k)): decode(v) for k, v in obj["v"]}
    if t == "tz":
        return pd.Timestamp("2000-01-01", tz=obj["v"]).tz
    if t == "prophet":
        from forecast.prophet_model import quiet_prophet

        quiet_prophet()
        import warnings

        from prophet.serialize import model_from_json

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecation chatter from inside Prophet
            return model_from_json(obj["v"])
    if t == "forecaster":
        cls = _class(obj["cls"])
        model = cls(**decode(obj["params"]))
        for key, value in obj["state"].items():
            setattr(model, key, decode(value))
        return model
    if t == "dataclass":
        cls = _class(obj["cls"])
        values = {k: decode(v) for k, v in obj["v"].items()}
        init = {f.name: values[f.name] for f in dataclasses.fields(cls) if f.init and f.name in values}
        inst = cls(**init)
        for f in dataclasses.fields(cls):
            if not f.init and f.name in values:
                object.__setattr__(inst, f.name, values[f.name])
        return inst
    raise ModelFileError(f"the model file holds an unknown value type {t!r}")


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


# --------------------------------------------------------------------------------------------
# Metadata


def data_fingerprint(history) -> str:
    """``sha256:<hex>`` of a history's channels, UTC interval starts and counts (missing = NaN),
    independent of row order and of the zone it is shown in."""
    h = hashlib.sha256()
    for name, series in sorted(split_channels(history).items()):
        h.update(name.encode("utf-8") + b"\0")
        h.update(np.ascontiguousarray(series.utc, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(np.nan_to_num(series.y, nan=-1.0), dtype=np.float64).tobytes())
    return "sha256:" + h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a fitted model depends on (read from the installed
    packages' metadata, without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("numpy", "pandas", "statsmodels", "prophet", "holidays", "cmdstanpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def _backtest_metrics(model) -> list[dict]:
    result = getattr(model, "backtest_", None)
    if result is None or getattr(result, "summary", None) is None or result.summary.empty:
        return []
    table = result.summary.copy()
    return json.loads(table.to_json(orient="records"))


def model_metadata(model: Forecaster, history=None, extra: Mapping | None = None) -> dict:
    """Metadata of a fitted forecaster: model, parameters, created time, tz, freq, channels, last
    intervals, backtest metrics, library versions, the data fingerprint when ``history`` is given."""
    from forecast.ingest import format_iso

    created = pd.Timestamp.now(tz="UTC").floor("s")
    last = getattr(model, "last_ds_", {}) or {}
    meta = {
        "model": model.name,
        "params": json.loads(json.dumps(encode(model.get_params()), default=str)),
        "created": created.isoformat(),
        "tz": str(model.tz_),
        "freq": _freq_text(model.freq_),
        "channels": list(model.channels_),
        "last_ds": {c: str(format_iso(pd.DatetimeIndex([t]))[0]) for c, t in last.items()},
        "backtest": _backtest_metrics(model),
        "versions": library_versions(),
    }
    selection = getattr(model, "selection_", None)
    if selection is not None:
        meta["selection"] = json.loads(selection.to_json(orient="records"))
    if history is not None:
        meta["data_fingerprint"] = data_fingerprint(history)
    meta.update(dict(extra or {}))
    return meta


def _freq_text(freq: pd.Timedelta) -> str:
    minutes = int(pd.Timedelta(freq).total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"


# --------------------------------------------------------------------------------------------
# Save and load


def default_path(model: Forecaster, directory: str | Path = DEFAULT_DIR) -> Path:
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%SZ")
    return Path(directory) / f"{model.name}-{stamp}.json"


def save_forecaster(model: Forecaster, path_or_dir: str | Path | None = None, metadata: Mapping | None = None,
                    history=None) -> Path:
    """Save a fitted forecaster as JSON (written atomically); returns the file's path.

    ``path_or_dir``: a ``.json`` file, or a directory (default ``models/`` at the repository root)
    in which ``<model>-<UTC time>.json`` is created. ``metadata``: extra keys merged into the
    metadata (see :func:`model_metadata`); ``history``: the training data, for the fingerprint.
    """
    from forecast.ingest import atomic_output

    if not hasattr(model, "states_"):
        raise ForecastInputError("only a fitted forecaster can be saved: call fit(history) first")
    target = Path(path_or_dir) if path_or_dir is not None else DEFAULT_DIR
    if target.suffix.lower() != ".json":
        target = default_path(model, target)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "metadata": model_metadata(model, history, metadata),
        "forecaster": encode(model),
    }
    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    with atomic_output(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return target


def read_model_file(path: str | Path) -> dict:
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not a saved model (not JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a saved webcare forecaster (no 'format': '{FORMAT}')")
    if int(document.get("version", 0)) > VERSION:
        raise ModelFileError(f"{path}: saved by a newer version (format version {document['version']}); upgrade to load it")
    return document


def load_forecaster(path: str | Path) -> Forecaster:
    """Load a forecaster saved by :func:`save_forecaster`; it predicts without refitting.
    Its metadata is on ``metadata_``."""
    document = read_model_file(path)
    try:
        model = decode(document["forecaster"])
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the saved model is damaged ({type(exc).__name__}: {exc})") from None
    if not isinstance(model, Forecaster):
        raise ModelFileError(f"{path}: the file does not hold a forecaster")
    model.metadata_ = document.get("metadata", {})
    return model


def check_fingerprint(model: Forecaster, history) -> bool:
    """Whether ``history`` is the data the loaded ``model`` was fitted on (False when unknown)."""
    saved = getattr(model, "metadata_", {}).get("data_fingerprint")
    return saved is not None and saved == data_fingerprint(history)
