"""Staffing page: per channel the target (x % within y minutes), handle time and concurrency;
shrinkage, maximum occupancy, opening hours per weekday; the required agents per quarter-hour
as a chart and a table, the SL ceiling where closed hours cap it, and what a given staffing
(uploaded or typed) would reach."""

from __future__ import annotations

import tempfile
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import (
    WEEKDAY_NAMES, current_dataset, fmt_money, fmt_num, fmt_pct, forecast_or_default, guarded, iso_week,
    load_settings, save_settings, wall, workspace,
)
from app_pages.planning import evaluation_for, staffing_key
from webcare.i18n import t
from webcare.scenarios import ChannelPlan, PlanSettings


def settings_form(ws, info, settings: PlanSettings) -> PlanSettings:
    box = st.expander(t("Targets, team and opening hours") + f" · {describe_settings(settings)}", expanded=False)
    with box.form("settings_form"):
        st.subheader(t("Targets per channel"))
        head = st.columns([1.2, 1, 1, 1, 1])
        for col, label in zip(head, [t("Channel"), t("Target (% within the deadline)"), t("Deadline (minutes)"),
                                     t("Handle time (seconds)"), t("Concurrency")]):
            col.markdown(f"**{label}**")
        channels = {}
        for c, p in settings.channels.items():
            row = st.columns([1.2, 1, 1, 1, 1])
            row[0].markdown(c)
            target = row[1].number_input(t("Target (% within the deadline)"), 1.0, 100.0, float(p.target * 100), 1.0,
                                         key=f"target_{c}", label_visibility="collapsed", format="%.0f")
            within = row[2].number_input(t("Deadline (minutes)"), 1.0, 7 * 24 * 60.0, float(p.within_minutes), 5.0,
                                         key=f"within_{c}", label_visibility="collapsed", format="%.0f")
            aht = row[3].number_input(t("Handle time (seconds)"), 1.0, 7200.0, float(p.aht_seconds), 10.0,
                                      key=f"aht_{c}", label_visibility="collapsed", format="%.0f")
            conc = row[4].number_input(t("Concurrency"), 1.0, 10.0, float(p.concurrency), 0.5,
                                       key=f"concurrency_{c}", label_visibility="collapsed", format="%.1f")
            channels[c] = ChannelPlan(target / 100, within, aht, conc)
        st.subheader(t("Team"))
        c1, c2, c3 = st.columns(3)
        shrinkage = c1.number_input(t("Shrinkage (%)"), 0.0, 95.0, float(settings.shrinkage * 100), 1.0, key="shrinkage", format="%.0f",
                                    help=t("Share of paid time not spent on messages: breaks, meetings, training, absence."))
        occupancy = c2.number_input(t("Maximum occupancy (%)"), 10.0, 100.0, float(settings.max_occupancy * 100), 1.0, key="occupancy", format="%.0f")
        wage = c3.number_input(t("Wage per agent-hour (€)"), 0.0, 1000.0, float(settings.wage_per_hour), 1.0, key="wage", format="%.2f")
        st.subheader(t("Opening hours per weekday"))
        st.caption(t("24-hour clock, e.g. 08:00-22:00, two windows as 08:00-12:00, 13:00-17:00, 'closed', or 00:00-24:00."))
        cols = st.columns(7)
        opening = [cols[i].text_input(t(WEEKDAY_NAMES[i]), settings.opening[i], key=f"open_{i}") for i in range(7)]
        submitted = st.form_submit_button(t("Save settings"), type="primary", key="save_settings")
    if submitted:
        new = settings.copy(channels=channels, shrinkage=shrinkage / 100, max_occupancy=occupancy / 100,
                            wage_per_hour=wage, opening=opening)
        save_settings(ws, new)
        st.success(t("Settings saved."))
        return new
    return settings


def describe_settings(settings: PlanSettings) -> str:
    targets = {f"{p.target * 100:.0f}% / {p.within_minutes:.0f} min" for p in settings.channels.values()}
    hours = sorted(set(settings.opening))
    return (", ".join(sorted(targets)) + f"; {t('shrinkage')} {settings.shrinkage * 100:.0f}%; "
            + (hours[0] if len(hours) == 1 else t("hours differ per weekday")))


def read_staffing(upload, tz: str) -> pd.DataFrame:
    from forecast.ingest import read_interval_values

    with tempfile.TemporaryDirectory(prefix="webcare-staffing-") as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        frame = read_interval_values(path, "agents", tz, what="staffing file")
    return frame.rename(columns={"value": "agents"})


def staffing_input(info, plan_table: pd.DataFrame, settings: PlanSettings) -> pd.DataFrame | None:
    """A staffing from an uploaded file or typed numbers (heads on duty in every open quarter-hour)."""
    st.subheader(t("What the current staffing reaches"))
    upload = st.file_uploader(t("Upload staffing (CSV: ds, agents[, channel])"), type=["csv", "xlsx", "parquet"], key="staffing_file")
    st.caption(t("or the same number of agents in every open hour"))
    cols = st.columns(len(settings.channels))
    typed = {c: cols[i].number_input(c, 0, 500, 0, 1, key=f"typed_{c}") for i, c in enumerate(settings.channels)}
    if upload is not None:
        frame = read_staffing(upload, info.tz)
        if set(frame["channel"]) == {"all"} and len(settings.channels) > 1:
            raise ValueError(t("{file}: the staffing has no channel column; give a channel column (one row per channel and interval) "
                               "when planning several channels", file=upload.name))
        return frame
    if not any(typed.values()):
        return None
    open_share = plan_table[["ds", "channel"]].copy()
    from scheduling.opening_hours import open_fraction

    rows = []
    for c, heads in typed.items():
        part = plan_table[plan_table["channel"] == c]
        share = open_fraction(pd.DatetimeIndex(part["ds"]), settings.opening_hours(), freq=pd.Timedelta("15min")).to_numpy()
        rows.append(pd.DataFrame({"ds": part["ds"].to_numpy(), "channel": c, "agents": (share > 0) * float(heads)}))
    del open_share
    return pd.concat(rows, ignore_index=True)


def requirement_chart(table: pd.DataFrame, week: str, given: pd.DataFrame | None) -> None:
    part = table[iso_week(table["ds"]) == week]
    data = pd.DataFrame({"ds": wall(part["ds"]), "channel": part["channel"], "agents": part["agents_scheduled"].astype(float)})
    x = alt.X("ds:T", title=None, axis=alt.Axis(format="%a %d-%m %H:%M", labelAngle=0, tickCount="day"))
    area = alt.Chart(data).mark_area(interpolate="step-after", opacity=0.8).encode(
        x=x, y=alt.Y("agents:Q", stack="zero", title=t("Agents on the roster (after shrinkage)")),
        color=alt.Color("channel:N", title=t("Channel")),
        tooltip=[alt.Tooltip("ds:T", format="%a %d-%m-%Y %H:%M", title=t("Time")), "channel:N", alt.Tooltip("agents:Q", format=".0f")])
    chart = area
    if given is not None:
        g = given[iso_week(given["ds"]) == week].groupby("ds", as_index=False)["agents"].sum()
        g["ds"] = wall(g["ds"])
        chart = area + alt.Chart(g).mark_line(color="black", interpolate="step-after").encode(x=x, y="agents:Q")
    st.altair_chart(chart.properties(height=300, title=f"{t('Required agents per quarter-hour')} · {week}"), width="stretch")


def main() -> None:
    st.title(t("Staffing"))
    ws = workspace()
    info = current_dataset(ws)
    fc_name, forecast = forecast_or_default(ws, info)
    st.caption(f"{t('Planning forecast')}: **{fc_name}** · " + t("Times in {tz}; weeks start on Monday (ISO week numbers).", tz=info.tz))
    settings = settings_form(ws, info, load_settings(ws, info))
    evaluation = evaluation_for(ws, fc_name, forecast, settings)
    plan = evaluation.plan
    k = evaluation.kpis
    c = st.columns(6)
    c[0].metric(t("Agent-hours"), fmt_num(k["agent_hours"]))
    c[1].metric(t("Cost"), fmt_money(k["cost"]))
    c[2].metric(t("Service level"), fmt_pct(k["service_level"]))
    c[3].metric(t("SL ceiling"), fmt_pct(ceiling_total(plan.table, settings)),
                help=t("The highest service level any staffing can reach with these opening hours."))
    c[4].metric(t("Mean response"), fmt_num(k["mean_response_minutes"]) + " min")
    c[5].metric(t("Peak agents"), fmt_num(plan.table.groupby("ds")["agents_scheduled"].sum().max()))
    for channel, text in plan.explanations.items():
        st.caption(f"**{channel}**: {text}")
    for note in plan.notes:
        st.warning(note)
    given = staffing_input(info, plan.table, settings)
    if given is not None:
        reached = evaluation_for(ws, fc_name, forecast, settings, staffing=given, key=staffing_key(given))
        r = reached.kpis
        g = st.columns(4)
        g[0].metric(t("Service level"), fmt_pct(r["service_level"]), delta=f"{(r['service_level'] - k['service_level']) * 100:+.1f} pt")
        g[1].metric(t("Mean response"), fmt_num(r["mean_response_minutes"]) + " min")
        g[2].metric(t("Peak backlog"), fmt_num(r["peak_backlog"]))
        g[3].metric(t("Days below target"), str(r["days_below_target"]))
        for channel, text in reached.plan.explanations.items():
            st.caption(f"**{channel}**: {text}")
    weeks = list(dict.fromkeys(iso_week(plan.table["ds"])))
    week = st.selectbox(t("Week"), weeks, index=min(1, len(weeks) - 1), key="staffing_week")
    requirement_chart(plan.table, week, given)
    st.subheader(t("SL ceiling per day"))
    st.caption(t("With unlimited staff only the opening hours make messages late: messages that arrive while closed and wait "
                 "past the deadline. A target above the ceiling cannot be met by any staffing."))
    st.dataframe(ceiling_days(plan.table, settings), hide_index=True, key="ceiling_table",
                 column_config={t("SL ceiling"): st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)})
    st.subheader(t("Required agents per quarter-hour"))
    days = sorted(plan.table["ds"].dt.tz_localize(None).dt.normalize().unique())
    day = st.selectbox(t("Day"), days, format_func=lambda d: f"{t(WEEKDAY_NAMES[d.day_of_week])} {d:%d-%m-%Y}", key="staffing_day")
    part = plan.table[plan.table["ds"].dt.tz_localize(None).dt.normalize() == day]
    pivot = part.pivot_table(index="ds", columns="channel", values="agents_scheduled", aggfunc="sum").reset_index()
    pivot.insert(0, t("Time"), pivot.pop("ds").dt.strftime("%H:%M"))
    pivot[t("total")] = pivot.drop(columns=[t("Time")]).sum(axis=1)
    st.dataframe(pivot, hide_index=True, height=320, key="requirement_table")
    out = plan.table.assign(ds=plan.table["ds"].map(lambda v: v.isoformat()))
    st.download_button(t("Download CSV"), out.to_csv(index=False).encode(), file_name="requirements.csv", mime="text/csv")


def ceiling_days(table: pd.DataFrame, settings: PlanSettings) -> pd.DataFrame:
    from scheduling.backlog import ceiling_table

    rows = []
    for channel, part in table.groupby("channel"):
        arrivals = part.set_index("ds")["volume"].astype(float)
        days = ceiling_table(arrivals, settings.opening_hours(), deadline=pd.Timedelta(minutes=settings.channels[channel].within_minutes),
                             by="day")
        rows.append(pd.DataFrame({"date": days.index, "channel": channel, "ceiling": days["ceiling"].to_numpy(),
                                  "late_share": days["late_share"].to_numpy(), "target": settings.channels[channel].target}))
    frame = pd.concat(rows, ignore_index=True)
    return pd.DataFrame({
        t("Date"): pd.DatetimeIndex(frame["date"]).strftime("%a %d-%m-%Y"),
        t("Channel"): frame["channel"],
        t("SL ceiling"): frame["ceiling"],
        t("Target"): frame["target"].map(fmt_pct),
        t("capped"): frame["ceiling"] < frame["target"],
    })


def ceiling_total(table: pd.DataFrame, settings: PlanSettings) -> float:
    from scheduling.backlog import ceiling_table

    on = late = 0.0
    for channel, part in table.groupby("channel"):
        arrivals = part.set_index("ds")["volume"].astype(float)
        row = ceiling_table(arrivals, settings.opening_hours(), deadline=pd.Timedelta(minutes=settings.channels[channel].within_minutes),
                            by="total").iloc[0]
        on, late = on + row["on_time"], late + row["late"]
    return on / (on + late) if on + late > 0 else float("nan")


guarded(main)
