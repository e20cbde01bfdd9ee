"""Roster page: shift templates and agents (editable, upload and download), optimise one ISO week
with a time limit, the result as a Gantt chart per agent and per day, coverage against the
requirement, cost, SL per day, downloads (CSV, XLSX, iCalendar), infeasibility in plain words."""

from __future__ import annotations

import io

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import (
    current_dataset, fmt_money, fmt_num, fmt_pct, forecast_or_default, guarded, iso_week, load_settings, wall, workspace,
)
from app_pages.planning import evaluation_for
from app_pages.roster_support import DEFAULT_TEMPLATES, default_agents, export_bytes, optimise, pooled_requirement
from webcare.i18n import t


def table_editor(title: str, key: str, default: pd.DataFrame, ws) -> pd.DataFrame:
    """An editable table kept in the workspace, with CSV upload and download."""
    stored = ws.setting(f"roster:{key}")
    table = pd.DataFrame(stored["rows"], columns=stored["columns"]) if stored else default
    upload = st.file_uploader(t("Upload {what} (CSV)", what=title), type=["csv"], key=f"upload_{key}")
    if upload is not None:
        try:
            table = pd.read_csv(io.BytesIO(upload.getvalue()), dtype=str, keep_default_na=False)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{upload.name}: cannot be read as CSV ({exc})") from None
    edited = st.data_editor(table, num_rows="dynamic", hide_index=True, key=f"editor_{key}_{upload.name if upload else ''}")
    st.download_button(t("Download CSV"), edited.to_csv(index=False).encode(), file_name=f"{key}.csv", mime="text/csv",
                       key=f"download_{key}")
    return edited


def gantt(roster: pd.DataFrame, tz: str) -> alt.Chart:
    data = pd.DataFrame({"agent": roster["agent"].astype(str), "start": wall(roster["start"].dt.tz_convert(tz)),
                         "end": wall(roster["end"].dt.tz_convert(tz)), "template": roster["template"].astype(str)})
    return alt.Chart(data).mark_bar(cornerRadius=2).encode(
        x=alt.X("start:T", title=None, axis=alt.Axis(format="%a %d-%m %H:%M", labelAngle=0)), x2="end:T",
        y=alt.Y("agent:N", title=None), color=alt.Color("template:N", title=t("Shift")),
        tooltip=["agent:N", "template:N", alt.Tooltip("start:T", format="%a %d-%m %H:%M"), alt.Tooltip("end:T", format="%H:%M")],
    ).properties(height=max(160, 22 * data["agent"].nunique()), title=t("Roster per agent"))


def coverage_chart(coverage: pd.DataFrame) -> alt.Chart:
    data = pd.DataFrame({"ds": wall(coverage["ds"]), t("required"): coverage["required"].astype(float),
                         t("scheduled"): coverage["scheduled"].astype(float)}).melt("ds", var_name="what", value_name="agents")
    return alt.Chart(data).mark_line(interpolate="step-after").encode(
        x=alt.X("ds:T", title=None, axis=alt.Axis(format="%a %d-%m", labelAngle=0)),
        y=alt.Y("agents:Q", title=t("Productive agents")), color=alt.Color("what:N", title=None),
    ).properties(height=260, title=t("Coverage against the requirement"))


def main() -> None:
    st.title(t("Roster"))
    ws = workspace()
    info = current_dataset(ws)
    fc_name, forecast = forecast_or_default(ws, info)
    settings = load_settings(ws, info)
    plan = evaluation_for(ws, fc_name, forecast, settings).plan
    weeks = list(dict.fromkeys(iso_week(plan.table["ds"])))
    c1, c2 = st.columns(2)
    week = c1.selectbox(t("Week"), weeks, index=min(1, len(weeks) - 1), key="roster_week")
    limit = c2.number_input(t("Time limit (seconds)"), 5, 600, 30, 5, key="roster_time_limit")
    left, right = st.columns(2)
    with left:
        st.subheader(t("Shift templates"))
        templates = table_editor(t("shift templates"), "templates", DEFAULT_TEMPLATES, ws)
    with right:
        st.subheader(t("Agents"))
        needed = pooled_requirement(plan.table, week)["agents_required"].sum() * 0.25 / (1 - settings.shrinkage)
        agents = table_editor(t("agents"), "agents", default_agents(max(4, int(needed * 1.2 / 32) + 1)), ws)
    if st.button(t("Optimise the roster"), type="primary", key="optimise"):
        ws.set_setting("roster:templates", {"columns": list(templates.columns), "rows": templates.astype(object).where(templates.notna(), None).values.tolist()})
        ws.set_setting("roster:agents", {"columns": list(agents.columns), "rows": agents.astype(object).where(agents.notna(), None).values.tolist()})
        requirement = pooled_requirement(plan.table, week)
        with st.status(t("Optimising week {week} (at most {limit} s per step)...", week=week, limit=int(limit)), expanded=True) as status:
            st.write(t("Choosing the cheapest shifts that cover the requirement..."))
            result, assignment = optimise(templates, agents, requirement, settings.shrinkage, float(limit), info.tz)
            st.write(t("Assigning agents to the shifts..."))
            status.update(label=t("Roster ready: {status}", status=result.status), state="complete")
        frames = {"shifts": result.shifts, "coverage": result.coverage, "violations": result.violations}
        if result.service_level is not None:
            frames["service_level"] = result.service_level
        if assignment is not None:
            frames["roster"] = assignment.roster
            frames["assign_violations"] = assignment.violations
        meta = {"status": result.status, "gap": result.gap, "seconds": result.seconds, "cost": result.cost_split.get("total"),
                "explanation": result.explanation, "assign_status": assignment.status if assignment is not None else None,
                "week": week}
        ws.save_roster(f"{info.name} {week}", frames, meta)
        st.session_state["roster_name"] = f"{info.name} {week}"
    name = st.session_state.get("roster_name")
    if name is None or name not in ws.list_rosters():
        saved = [r for r in ws.list_rosters() if r.startswith(f"{info.name} ")]
        if not saved:
            st.info(t("Edit the templates and agents, then press 'Optimise the roster'."))
            return
        name = saved[0]
    frames, meta = ws.load_roster(name)
    show_result(frames, meta, info.tz)


def show_result(frames: dict, meta: dict, tz: str) -> None:
    st.subheader(t("Roster for {week}", week=meta.get("week", "")))
    c = st.columns(4)
    c[0].metric(t("Cost"), fmt_money(meta.get("cost") or 0))
    shifts = frames["shifts"]
    c[1].metric(t("Shifts"), fmt_num(shifts["count"].sum() if "count" in shifts else len(shifts)))
    c[2].metric(t("Paid hours"), fmt_num((shifts["paid_hours"] * shifts["count"]).sum() if "paid_hours" in shifts else 0, 1))
    status = {"optimal": t("optimal"), "time_limit": t("time limit reached"),
              "infeasible-explained": t("not all met")}.get(str(meta.get("status")), str(meta.get("status")))
    c[3].metric(t("Solver"), status, help=f"{meta.get('status')}, gap {fmt_pct(meta.get('gap') or 0)}, "
                f"{fmt_num(meta.get('seconds') or 0, 1)} s")
    for sentence in meta.get("explanation") or []:
        st.caption(sentence)
    problems = [frames.get("violations"), frames.get("assign_violations")]
    problems = [p for p in problems if p is not None and not p.empty]
    if problems or str(meta.get("status", "")).startswith("infeasible"):
        st.warning(t("The roster cannot meet every requirement; what is missing:"))
        for p in problems:
            cols = [c for c in ("what", "start", "end", "amount", "unit", "detail", "agent", "rule")
                    if c in p.columns and p[c].notna().any()]
            st.dataframe(p[cols], hide_index=True)
    st.altair_chart(coverage_chart(frames["coverage"]), width="stretch")
    if frames.get("service_level") is not None:
        sl = frames["service_level"]
        days = sl[sl["period"] == "day"] if "period" in sl else sl
        if not days.empty:
            st.dataframe(days.rename(columns={"label": t("Day"), "service_level": t("Service level")}), hide_index=True,
                         column_config={t("Service level"): st.column_config.NumberColumn(format="percent")})
    roster = frames.get("roster")
    if roster is not None and not roster.empty:
        st.altair_chart(gantt(roster, tz), width="stretch")
        per_day = roster.assign(day=roster["start"].dt.tz_convert(tz).dt.strftime("%a %d-%m"),
                                time=roster["start"].dt.tz_convert(tz).dt.strftime("%H:%M") + "-"
                                + roster["end"].dt.tz_convert(tz).dt.strftime("%H:%M"))
        order = per_day.assign(date=per_day["start"].dt.tz_convert(tz).dt.normalize()).drop_duplicates("day").sort_values("date")["day"]
        table = per_day.pivot_table(index="agent", columns="day", values="time", aggfunc="first").reindex(columns=list(order))
        st.dataframe(table.fillna(""), key="roster_per_day")
        files = export_bytes(roster, tz)
    else:
        files = export_bytes(shifts, tz)
    cols = st.columns(3)
    cols[0].download_button(t("Download CSV"), files["csv"], file_name="roster.csv", mime="text/csv", key="roster_csv")
    cols[1].download_button(t("Download XLSX"), files["xlsx"], file_name="roster.xlsx", key="roster_xlsx",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if "ics" in files:
        cols[2].download_button(t("Download iCalendar"), files["ics"], file_name="roster.ics", mime="text/calendar", key="roster_ics")


guarded(main)
