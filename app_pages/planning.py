"""Cached plan evaluations shared by the Staffing, Opening hours, Scenarios and KPIs pages."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import streamlit as st

from webcare.scenarios import Evaluation, PlanSettings, evaluate


def staffing_key(staffing: pd.DataFrame | None) -> str:
    if staffing is None:
        return ""
    digest = hashlib.sha256(pd.util.hash_pandas_object(staffing.assign(ds=staffing["ds"].astype(str)), index=False).values.tobytes())
    return digest.hexdigest()[:16]


@st.cache_data(show_spinner=False, max_entries=64)
def _evaluate(forecast_key: str, settings_json: str, staffing_key_: str, _forecast: pd.DataFrame,
              _staffing: pd.DataFrame | None) -> Evaluation:
    return evaluate(_forecast, PlanSettings.from_dict(json.loads(settings_json)), staffing=_staffing)


def evaluation_for(ws, forecast_name: str, forecast: pd.DataFrame, settings: PlanSettings,
                   staffing: pd.DataFrame | None = None, key: str = "") -> Evaluation:
    """The plan and its figures for a forecast and settings (cached on the forecast's version,
    the settings and the staffing)."""
    version = ws.forecast_info(forecast_name).created_at.isoformat()
    with st.spinner("Planning..."):
        return _evaluate(f"{ws.path}|{forecast_name}|{version}", json.dumps(settings.to_dict(), sort_keys=True),
                         key or staffing_key(staffing), forecast, staffing)
