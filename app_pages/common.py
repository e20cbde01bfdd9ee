"""What every page shares: the workspace, the chosen dataset, cached forecasts and plans, the
planning settings, formats and the error guard. No modelling here: everything is a call into
``forecast/``, ``scheduling/`` and ``webcare/``."""

from __future__ import annotations

import importlib
from typing import Callable

import pandas as pd
import streamlit as st

from webcare import i18n
from webcare.datasets import SAMPLE_DATASET, ensure_sample
from webcare.scenarios import PlanSettings, default_settings, handle_times
from webcare.workspace import Workspace, WorkspaceError, default_path

t = i18n.t
DEFAULT_HORIZON_DAYS = 28
SETTINGS_KEY = "plan_settings"


@st.cache_resource(show_spinner="Loading the bundled sample into the workspace...")
def workspace_at(path: str) -> Workspace:
    ws = Workspace(path)
    ensure_sample(ws)
    return ws


def workspace() -> Workspace:
    return workspace_at(str(default_path()))


def optional_module(name: str):
    """A module of a teammate's task, or None while it does not exist or does not import."""
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - an absent or broken optional module only hides a feature
        return None


# -- data ------------------------------------------------------------------------------------


@st.cache_data(show_spinner="Reading the dataset...", max_entries=8)
def history_of(path: str, name: str, version: str) -> pd.DataFrame:
    return Workspace(path).load_history(name)


@st.cache_data(show_spinner=False, max_entries=8)
def handle_times_of(path: str, name: str, version: str) -> dict:
    return handle_times(Workspace(path).load_messages(name))


def dataset_names(ws: Workspace) -> list[str]:
    return [d.name for d in ws.list_datasets()]


def current_dataset(ws: Workspace):
    """The dataset chosen on the Data page (remembered in the workspace), else the sample."""
    infos = {d.name: d for d in ws.list_datasets()}
    name = st.session_state.get("dataset_choice") or ws.setting("dataset")
    if name not in infos:
        name = SAMPLE_DATASET if SAMPLE_DATASET in infos else next(iter(infos))
    return infos[name]


def training_history(ws: Workspace, info) -> pd.DataFrame:
    """The dataset's history with its excluded days set to missing (no model learns from them)."""
    history = history_of(str(ws.path), info.name, info.created_at.isoformat()).copy()
    excluded = ws.excluded_days(info.name)
    if excluded:
        dates = history["ds"].dt.tz_localize(None).dt.normalize()
        history.loc[dates.isin(list(excluded)), "y"] = pd.NA
    return history


# -- settings --------------------------------------------------------------------------------


def load_settings(ws: Workspace, info) -> PlanSettings:
    """The planning settings of the workspace, adapted to the dataset's channels."""
    hts = handle_times_of(str(ws.path), info.name, info.created_at.isoformat())
    fresh = default_settings(info.channels, hts)
    stored = ws.setting(SETTINGS_KEY)
    if stored is None:
        return fresh
    try:
        settings = PlanSettings.from_dict(stored)
    except ValueError:
        return fresh
    channels = {c: settings.channels.get(c, fresh.channels[c]) for c in info.channels}
    return settings.copy(channels=channels, deflection={c: v for c, v in settings.deflection.items() if c in channels})


def save_settings(ws: Workspace, settings: PlanSettings) -> None:
    settings.validate()
    ws.set_setting(SETTINGS_KEY, settings.to_dict())


# -- forecasts -------------------------------------------------------------------------------


def current_forecast(ws: Workspace, info) -> tuple[str, pd.DataFrame] | None:
    """The forecast chosen for planning: the one named in the settings, else the newest of the
    dataset, else None."""
    forecasts = [f for f in ws.list_forecasts() if f.dataset == info.name]
    if not forecasts:
        return None
    chosen = ws.setting(f"forecast:{info.name}")
    name = chosen if chosen in {f.name for f in forecasts} else forecasts[0].name
    return name, forecast_table(str(ws.path), name, ws.forecast_info(name).created_at.isoformat())


@st.cache_data(show_spinner=False, max_entries=16)
def forecast_table(path: str, name: str, version: str) -> pd.DataFrame:
    return Workspace(path).load_forecast(name)


def forecast_or_default(ws: Workspace, info) -> tuple[str, pd.DataFrame]:
    """The planning forecast; when the dataset has none yet, a quick 28-day forecast (weekly
    profile with trend) is made and saved so that the planning pages open with figures."""
    found = current_forecast(ws, info)
    if found is not None:
        return found
    from forecast.models import get_forecaster

    with st.spinner(t("No saved forecast yet: making a 28-day forecast (weekly profile)...")):
        history = training_history(ws, info)
        fc = get_forecaster("profile").fit(history).predict(f"{DEFAULT_HORIZON_DAYS}d", (80, 95))
        name = f"{info.name} profile {DEFAULT_HORIZON_DAYS}d"
        ws.save_forecast(name, fc, dataset=info.name, meta={"model": "profile", "horizon_days": DEFAULT_HORIZON_DAYS,
                                                            "made_by": "default"})
    return name, forecast_table(str(ws.path), name, ws.forecast_info(name).created_at.isoformat())


# -- formats ---------------------------------------------------------------------------------


def fmt_num(value, digits: int = 0) -> str:
    """A number with grouped thousands: 1,234.5 (English) or 1.234,5 (Dutch)."""
    if value is None or pd.isna(value):
        return "-"
    text = f"{value:,.{digits}f}"
    if i18n.language() == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def fmt_pct(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "-"
    return fmt_num(value * 100, digits) + "%"


def fmt_money(value) -> str:
    return "€ " + fmt_num(value, 0)


def wall(ds: pd.Series) -> pd.Series:
    """Local wall-clock times without zone, for charts (drawn as the team's clock in any browser)."""
    return ds.dt.tz_localize(None)


def iso_week(ds: pd.Series) -> pd.Series:
    iso = ds.dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekday_name(i: int) -> str:
    return t(WEEKDAY_NAMES[int(i)])


# -- the error guard -------------------------------------------------------------------------


def guarded(main: Callable[[], None]) -> None:
    """Run a page; a user error (ValueError, WorkspaceError) is a readable message, never a traceback."""
    try:
        main()
    except (WorkspaceError, ValueError) as exc:
        st.error(str(exc))
