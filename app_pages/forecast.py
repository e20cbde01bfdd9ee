"""Forecast page: horizon and model (auto by default), the backtest table that shows why a model
won, the forecast with 80/95 % bands over the recent history, events and manual overrides, save."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import (
    current_forecast, current_dataset, fmt_num, guarded, optional_module, training_history, wall, workspace,
)
from webcare.i18n import t
from webcare.scenarios import apply_overrides

KINDS = ["campaign", "outage", "strike", "holiday", "other"]


@st.cache_data(show_spinner=False, max_entries=64)
def forecast_channel(path: str, dataset: str, version: str, excluded: tuple, channel: str, model: str,
                     horizon_days: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One channel's forecast, its backtest summary and the model choice (cached on the inputs)."""
    from forecast.backtest import AutoForecaster, backtest
    from forecast.models import get_forecaster
    from webcare.workspace import Workspace

    ws = Workspace(path)
    history = ws.load_history(dataset)
    history = history[history["channel"] == channel].copy()
    if excluded:
        dates = history["ds"].dt.tz_localize(None).dt.normalize()
        history.loc[dates.isin([pd.Timestamp(d) for d in excluded]), "y"] = pd.NA
    horizon = f"{horizon_days}d"
    if model == "auto":
        fitted = AutoForecaster(horizon=horizon).fit(history)
        summary = fitted.backtest_.summary if fitted.backtest_ is not None else pd.DataFrame()
        selection = fitted.selection_
    else:
        fitted = get_forecaster(model).fit(history)
        try:
            summary = backtest(history, models=[model], horizon=horizon).summary
        except ValueError as exc:  # too short to backtest: the forecast stands, without a table
            summary = pd.DataFrame({"channel": [channel], "model": [model], "status": ["skipped"], "reason": [str(exc)]})
        selection = pd.DataFrame({"channel": [channel], "model": [model], "reason": ["chosen by hand"]})
    return fitted.predict(horizon, (80, 95)), summary, selection


def backtest_table(summary: pd.DataFrame, selection: pd.DataFrame) -> None:
    st.subheader(t("Backtest: how each model did on the recent past"))
    if summary.empty:
        st.info(t("The history is too short for a backtest; the model's own in-sample errors give the bands."))
        return
    chosen = set(zip(selection["channel"], selection["model"]))
    table = pd.DataFrame({
        t("Channel"): summary["channel"],
        t("Model"): summary["model"],
        t("chosen"): [(c, m) in chosen for c, m in zip(summary["channel"], summary["model"])],
        "WAPE": summary.get("wape"),
        "MASE": summary.get("mase"),
        t("bias"): summary.get("bias"),
        t("coverage 80%"): summary.get("conformal_coverage_80", summary.get("coverage_80")),
        t("coverage 95%"): summary.get("conformal_coverage_95", summary.get("coverage_95")),
        t("folds"): summary.get("folds"),
        t("status"): summary.get("status"),
    })
    st.dataframe(table, hide_index=True, key="backtest_table", column_config={
        "WAPE": st.column_config.NumberColumn(format="percent"),
        "MASE": st.column_config.NumberColumn(format="%.3f"),
        t("bias"): st.column_config.NumberColumn(format="percent"),
        t("coverage 80%"): st.column_config.NumberColumn(format="percent"),
        t("coverage 95%"): st.column_config.NumberColumn(format="percent"),
    })
    st.caption(t("WAPE: absolute errors over the volume; MASE below 1 beats last week's same hour; bias: over (+) or under (-) "
                 "forecast; coverage: how often the actual fell inside the band (conformal, from the other folds). "
                 "auto keeps the model with the lowest MASE per channel."))


def forecast_chart(history: pd.DataFrame, forecast: pd.DataFrame, channel: str, days_back: int = 21) -> None:
    fc = forecast[forecast["channel"] == channel]
    hist = history[(history["channel"] == channel) & (history["ds"] >= fc["ds"].min() - pd.Timedelta(days=days_back))]
    hist = pd.DataFrame({"ds": wall(hist["ds"]), "y": hist["y"].astype(float)})
    fcw = fc.assign(ds=wall(fc["ds"]))
    x = alt.X("ds:T", title=None, axis=alt.Axis(format="%a %d-%m", labelAngle=0))
    band95 = alt.Chart(fcw).mark_area(opacity=0.18, color="#1f77b4").encode(x=x, y="yhat_lower_95:Q", y2="yhat_upper_95:Q")
    band80 = alt.Chart(fcw).mark_area(opacity=0.3, color="#1f77b4").encode(x=x, y="yhat_lower_80:Q", y2="yhat_upper_80:Q")
    line = alt.Chart(fcw).mark_line(color="#1f77b4", strokeWidth=1.2).encode(
        x=x, y=alt.Y("yhat:Q", title=t("Messages per hour")),
        tooltip=[alt.Tooltip("ds:T", format="%a %d-%m-%Y %H:%M", title=t("Hour")), alt.Tooltip("yhat:Q", format=",.1f", title=t("forecast")),
                 alt.Tooltip("yhat_lower_80:Q", format=",.1f"), alt.Tooltip("yhat_upper_80:Q", format=",.1f")])
    actual = alt.Chart(hist).mark_line(color="#444", strokeWidth=1).encode(
        x=x, y="y:Q", tooltip=[alt.Tooltip("ds:T", format="%a %d-%m-%Y %H:%M"), alt.Tooltip("y:Q", title=t("actual"))])
    chart = (band95 + band80 + actual + line).properties(
        height=320, title=f"{channel}: {t('Forecast with 80% and 95% bands over the recent history')}")
    st.altair_chart(chart, width="stretch")


def events_section(ws, info, forecast: pd.DataFrame, history: pd.DataFrame):
    """Events table (saved per dataset) and, once forecast/events.py exists, applied to the forecast."""
    st.subheader(t("Events (campaigns, outages)"))
    stored = ws.events(info.name, info.tz)
    table = pd.DataFrame({
        "name": stored["name"],
        "start": stored["start"].dt.tz_localize(None).dt.date,
        "end": (stored["end"] - pd.Timedelta(seconds=1)).dt.tz_localize(None).dt.date,
        "uplift %": stored["uplift"] * 100,
        "channel": stored["channel"].fillna("").astype(str),
        "kind": stored["kind"],
    })
    st.caption(t("Whole local days, end date included; uplift in percent (25 = a quarter more), empty = learn it from past "
                 "events of the same name or kind; channel empty = all channels."))
    edited = st.data_editor(table, num_rows="dynamic", hide_index=True, key=f"events-{info.name}", column_config={
        "start": st.column_config.DateColumn(format="DD-MM-YYYY"),
        "end": st.column_config.DateColumn(format="DD-MM-YYYY"),
        "uplift %": st.column_config.NumberColumn(format="%.0f"),
        "channel": st.column_config.SelectboxColumn(options=[""] + list(info.channels)),
        "kind": st.column_config.SelectboxColumn(options=KINDS, default="other"),
    })
    events = edited.dropna(subset=["name", "start"]).copy()
    rows = []
    for i, r in enumerate(events.to_dict("records"), start=1):
        start = pd.Timestamp(r["start"]).tz_localize(info.tz)
        end_day = pd.Timestamp(r["end"] if not pd.isna(r["end"]) else r["start"])
        end = (end_day + pd.Timedelta(days=1)).tz_localize(info.tz)
        if end <= start:
            raise ValueError(t("event row {i} ({name}): the end date is before the start date", i=i, name=r["name"]))
        uplift = r["uplift %"] / 100 if not pd.isna(r["uplift %"]) else float("nan")
        rows.append({"name": str(r["name"]), "start": start, "end": end, "uplift": uplift,
                     "channel": r["channel"] or None, "kind": r["kind"] or "other"})
    frame = pd.DataFrame(rows, columns=["name", "start", "end", "uplift", "channel", "kind"])
    if st.button(t("Save events"), key="save_events"):
        ws.set_events(info.name, frame)
        st.success(t("{n} event(s) saved.", n=len(frame)))
    events_mod = optional_module("forecast.events")
    if events_mod is None or frame.empty:
        if events_mod is None and not frame.empty:
            st.info(t("Events are kept; applying them to the forecast comes with forecast/events.py."))
        return forecast
    objects = [events_mod.Event(name=r["name"], start=r["start"], end=r["end"],
                                uplift=None if pd.isna(r["uplift"]) else float(r["uplift"]),
                                channel=r["channel"], kind=r["kind"]) for r in rows]
    import inspect

    # events without an uplift learn it from the history where apply_events takes it (contract A)
    takes_history = "history" in inspect.signature(events_mod.apply_events).parameters
    applied, notes = (events_mod.apply_events(forecast, objects, history=history) if takes_history
                      else events_mod.apply_events(forecast, objects))
    for note in notes:
        st.caption(note)
    return applied


def overrides_section(info, forecast: pd.DataFrame) -> pd.DataFrame:
    st.subheader(t("Manual overrides"))
    st.caption(t("Raise or lower the forecast on chosen days, e.g. +15% on a sale day; channel empty = all."))
    days = sorted(forecast["ds"].dt.tz_localize(None).dt.normalize().unique())
    table = pd.DataFrame({"date": pd.Series([], dtype="datetime64[us]").dt.date, "percent": pd.Series([], dtype=float),
                          "channel": pd.Series([], dtype=str)})
    edited = st.data_editor(table, num_rows="dynamic", hide_index=True, key=f"overrides-{info.name}", column_config={
        "date": st.column_config.DateColumn(format="DD-MM-YYYY", min_value=days[0].date(), max_value=days[-1].date()),
        "percent": st.column_config.NumberColumn(format="%+.0f %%"),
        "channel": st.column_config.SelectboxColumn(options=[""] + list(info.channels)),
    })
    return apply_overrides(forecast, edited.dropna(subset=["date", "percent"]))


def main() -> None:
    st.title(t("Forecast"))
    ws = workspace()
    info = current_dataset(ws)
    st.caption(t("Dataset") + f": **{info.name}** · " + t("Times in {tz}; weeks start on Monday (ISO week numbers).", tz=info.tz))
    from forecast.models import available_models

    models = ["auto"] + [m for m in available_models() if m != "auto"]
    with st.form("forecast_form"):
        c1, c2 = st.columns([1, 2])
        horizon = c1.number_input(t("Horizon (days)"), min_value=7, max_value=182, value=28, step=7, key="horizon_days")
        model = c2.selectbox(t("Model"), models, key="model_choice",
                             format_func=lambda m: t("auto (best per channel in the backtest)") if m == "auto" else m)
        run = st.form_submit_button(t("Make the forecast"), type="primary", key="run_forecast")
    history = training_history(ws, info)
    if run:
        excluded = tuple(sorted(d.date().isoformat() for d in ws.excluded_days(info.name)))
        parts, summaries, selections = [], [], []
        bar = st.progress(0.0)
        for i, channel in enumerate(info.channels, start=1):
            bar.progress((i - 1) / len(info.channels), text=t("Backtesting and fitting {channel} ({i} of {n})...",
                                                              channel=channel, i=i, n=len(info.channels)))
            fc, summary, selection = forecast_channel(str(ws.path), info.name, info.created_at.isoformat(), excluded,
                                                      channel, model, int(horizon))
            parts.append(fc)
            summaries.append(summary)
            selections.append(selection)
        bar.progress(1.0, text=t("Forecast ready."))
        st.session_state["forecast_run"] = {
            "dataset": info.name, "model": model, "horizon": int(horizon),
            "forecast": pd.concat(parts, ignore_index=True),
            "summary": pd.concat(summaries, ignore_index=True),
            "selection": pd.concat(selections, ignore_index=True),
        }
    run_state = st.session_state.get("forecast_run")
    if run_state is not None and run_state["dataset"] == info.name:
        forecast, label = run_state["forecast"], f"{run_state['model']} {run_state['horizon']}d"
        backtest_table(run_state["summary"], run_state["selection"])
        with st.expander(t("Why these models")):
            st.dataframe(run_state["selection"], hide_index=True)
    else:
        found = current_forecast(ws, info)
        if found is None:
            st.info(t("No forecast yet: choose a horizon and a model and press 'Make the forecast'."))
            return
        label, forecast = found
        st.caption(t("Showing the saved planning forecast '{name}'.", name=label))
        meta = ws.forecast_info(label).meta
        if meta.get("backtest"):
            backtest_table(pd.DataFrame(meta["backtest"]), pd.DataFrame(meta.get("selection", [])))
    adjusted = events_section(ws, info, forecast, history)
    adjusted = overrides_section(info, adjusted)
    channel = st.selectbox(t("Channel"), info.channels, key="forecast_channel")
    forecast_chart(history, adjusted, channel)
    totals = adjusted.groupby("channel")["yhat"].sum()
    cols = st.columns(len(totals) + 1)
    for col, (ch, value) in zip(cols, totals.items()):
        col.metric(ch, fmt_num(value))
    cols[-1].metric(t("Messages"), fmt_num(totals.sum()))
    st.subheader(t("Save the forecast"))
    with st.form("save_forecast"):
        default_name = f"{info.name} {label} {adjusted['ds'].min():%d-%m-%Y}"[:100]
        name = st.text_input(t("Forecast name"), value=default_name, key="forecast_name")
        save = st.form_submit_button(t("Save"), key="save_forecast_button")
    if save:
        meta = {"dataset": info.name, "label": label}
        if run_state is not None and run_state["dataset"] == info.name:
            meta["backtest"] = run_state["summary"].astype(object).where(run_state["summary"].notna(), None).to_dict("records")
            meta["selection"] = run_state["selection"].astype(object).where(run_state["selection"].notna(), None).to_dict("records")
        ws.save_forecast(name, adjusted, dataset=info.name, meta=meta)
        ws.set_setting(f"forecast:{info.name}", name.strip())
        st.success(t("Saved forecast '{name}'; the planning pages use it.", name=name.strip()))


guarded(main)
