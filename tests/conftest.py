"""Shared fixtures: small synthetic exports written to temporary files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TZ = "Europe/Amsterdam"
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NOW = pd.Timestamp("2026-11-23 12:00", tz="UTC")


def message_times(start: str, days: int, per_hour: int = 2, tz: str = TZ, seed: int = 0) -> pd.DatetimeIndex:
    """Message instants: ``per_hour`` at random seconds in every real hour of ``days`` local days."""
    rng = np.random.default_rng(seed)
    first = pd.Timestamp(start, tz=tz)
    last = (pd.Timestamp(start) + pd.Timedelta(days=days)).tz_localize(tz)
    hours = pd.date_range(first.tz_convert("UTC"), last.tz_convert("UTC"), freq="1h", inclusive="left")
    offsets = np.sort(rng.integers(0, 3600, size=(len(hours), per_hour)), axis=1)
    stamps = hours.as_unit("ns").asi8[:, None] + offsets * 10**9
    return pd.DatetimeIndex(stamps.ravel()).tz_localize("UTC").tz_convert(tz)


def naive_local_text(times: pd.DatetimeIndex, fmt: str = "%Y-%m-%d %H:%M:%S") -> np.ndarray:
    return np.asarray(times.tz_localize(None).strftime(fmt))


def iso_text(times: pd.DatetimeIndex) -> np.ndarray:
    text = pd.Series(times.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return text.str.replace(r"([+-]\d{2})(\d{2})$", r"\1:\2", regex=True).to_numpy()


@pytest.fixture
def tmp_export(tmp_path):
    """Write a frame as an export file: ``tmp_export(frame, name, sep=',', encoding='utf-8')``."""

    def write(frame: pd.DataFrame, name: str = "export.csv", sep: str = ",", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if name.endswith(".xlsx"):
            frame.to_excel(path, index=False)
        elif name.endswith(".parquet"):
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, sep=sep, index=False, encoding=encoding)
        return path

    return write


def shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data {path} is absent (../shared/data is only beside the project in CI and dev checkouts)")
    return path


@pytest.fixture(autouse=True)
def _private_workspace(tmp_path_factory, monkeypatch):
    """Every test gets its own workspace unless it sets one: nothing writes to data/workspace.duckdb."""
    if "WEBCARE_WORKSPACE" not in os.environ:
        monkeypatch.setenv("WEBCARE_WORKSPACE", str(tmp_path_factory.mktemp("workspace") / "workspace.duckdb"))
