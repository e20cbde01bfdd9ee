"""KPIs page: the targets (service level, response time, maximum open messages) against what the
plan predicts per day and per hour, with a wall-display layout (large figures, refreshed)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import (
    WEEKDAY_NAMES, current_dataset, fmt_num, fmt_pct, forecast_or_default, guarded, load_settings, wall, workspace,
)
from app_pages.planning import evaluation_for
from app_pages.simulation import RUNS, simulated_days
from webcare.i18n import t

WALL_CSS = """
<style>
[data-testid="stMetricValue"] { font-size: 3.2rem; }
[data-testid="stMetricLabel"] p { font-size: 1.3rem; }
</style>
"""


def day_table(evaluation, settings) -> pd.DataFrame:
    days = evaluation.days
    frame = days.groupby("date").agg(arrivals=("arrivals", "sum"), on_time=("on_time", "sum"), late=("late", "sum"),
                                     max_backlog=("max_backlog", "sum"), agent_hours=("agent_hours", "sum"))
    decided = (frame["on_time"] + frame["late"]).where(lambda s: s > 0)
    weights = days.assign(w=days["on_time"] + days["late"])
    mean_resp = weights.groupby("date").apply(lambda d: (d["mean_response_minutes"].fillna(0) * d["w"]).sum() / max(d["w"].sum(), 1e-9),
                                              include_groups=False)
    target = min(p.target for p in settings.channels.values())
    dates = pd.DatetimeIndex(frame.index)
    iso = dates.isocalendar()
    return pd.DataFrame({
        t("Date"): [f"{t(WEEKDAY_NAMES[d.day_of_week])[:2]} {d:%d-%m-%Y}" for d in dates],
        t("Week"): [f"W{w:02d}" for w in iso["week"]],
        t("Messages"): frame["arrivals"].round(0).to_numpy(),
        t("Service level"): (frame["on_time"] / decided).to_numpy(),
        t("Target"): target,
        t("Mean response") + " (min)": mean_resp.to_numpy().round(0),
        t("Open messages (max)"): frame["max_backlog"].round(0).to_numpy(),
        t("Agent-hours"): frame["agent_hours"].round(1).to_numpy(),
    })


def hour_chart(evaluation, day: pd.Timestamp, height: int) -> alt.Chart:
    table = evaluation.plan.table
    part = table[table["ds"].dt.tz_localize(None).dt.normalize() == day]
    hourly = part.assign(hour=part["ds"].dt.tz_localize(None).dt.floor("h")).groupby("hour").agg(
        volume=("volume", "sum"), backlog=("backlog", "max"), agents=("agents_scheduled", "sum")).reset_index()
    hourly["agents"] = hourly["agents"] / 4 / max(1, part["channel"].nunique()) * part["channel"].nunique()
    long = hourly.melt("hour", ["volume", "backlog", "agents"], var_name="what", value_name="value")
    names = {"volume": t("Messages"), "backlog": t("Backlog"), "agents": t("Agents on duty")}
    long["what"] = long["what"].map(names)
    return alt.Chart(long).mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("hour:T", title=None, axis=alt.Axis(format="%H:%M")),
        y=alt.Y("value:Q", title=None), color=alt.Color("what:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("hour:T", format="%H:%M"), "what:N", alt.Tooltip("value:Q", format=",.0f")],
    ).properties(height=height, title=f"{t('Per hour')} · {t(WEEKDAY_NAMES[day.day_of_week])} {day:%d-%m-%Y}")


def main() -> None:
    ws = workspace()
    info = current_dataset(ws)
    fc_name, forecast = forecast_or_default(ws, info)
    settings = load_settings(ws, info)
    wall_mode = st.toggle(t("Wall display"), key="wall_mode", help=t("Large figures for a screen on the office wall."))
    if wall_mode:
        st.markdown(WALL_CSS, unsafe_allow_html=True)
    st.title(t("KPIs"))
    evaluation = evaluation_for(ws, fc_name, forecast, settings)
    days = sorted(evaluation.plan.table["ds"].dt.tz_localize(None).dt.normalize().unique())
    today = pd.Timestamp.now(tz=info.tz).tz_localize(None).normalize()
    default = days.index(today) if today in days else 0
    day = st.selectbox(t("Day"), days, index=default, key="kpi_day",
                       format_func=lambda d: f"{t(WEEKDAY_NAMES[d.day_of_week])} {d:%d-%m-%Y} (W{d.isocalendar()[1]:02d})")
    per_day = day_table(evaluation, settings)
    row = per_day.iloc[days.index(day)]
    target = min(p.target for p in settings.channels.values())
    within = min(p.within_minutes for p in settings.channels.values())
    c = st.columns(4)
    c[0].metric(t("Service level"), fmt_pct(row[t("Service level")]), delta=f"{(row[t('Service level')] - target) * 100:+.1f} pt "
                + t("against the target of {target}", target=fmt_pct(target, 0)))
    c[1].metric(t("Mean response"), f"{fmt_num(row[t('Mean response') + ' (min)'])} min", delta=f"{t('deadline')} {fmt_num(within)} min",
                delta_color="off")
    c[2].metric(t("Open messages (max)"), fmt_num(row[t("Open messages (max)")]))
    c[3].metric(t("Messages"), fmt_num(row[t("Messages")]))
    st.altair_chart(hour_chart(evaluation, day, 420 if wall_mode else 300), width="stretch")
    if wall_mode:
        return
    st.subheader(t("Per day"))
    sims = simulated_days(forecast, settings, evaluation, key=f"{ws.path}|{fc_name}|{ws.forecast_info(fc_name).created_at.isoformat()}|")
    if sims is not None:
        sims = sims.set_index(pd.DatetimeIndex(sims["date"]).normalize())
        dates = pd.DatetimeIndex(sorted(evaluation.days["date"].unique())).normalize()
        per_day[t("Simulated service level")] = sims["simulated_service_level"].reindex(dates).to_numpy()
        per_day[t("Probability of reaching the target")] = sims["probability"].reindex(dates).to_numpy()
        st.caption(t("Simulated: {runs} runs of the plan with random arrivals and handle times (all channels together).", runs=RUNS))
    st.dataframe(per_day, hide_index=True, key="kpi_days", column_config={
        t("Simulated service level"): st.column_config.NumberColumn(format="percent"),
        t("Probability of reaching the target"): st.column_config.NumberColumn(format="percent"),
        t("Service level"): st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
        t("Target"): st.column_config.NumberColumn(format="percent"),
    })


guarded(main)
