"""Opening hours page: the current hours against proposed ones per weekday (cost, service level,
ceiling), the backlog at opening, the share of messages that arrive while closed hour by hour, and
(with scheduling/roster/opening.py) the optimiser's cost-versus-SL frontier with the opening hours
it picks per target."""

from __future__ import annotations

import io

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import (
    WEEKDAY_NAMES, current_dataset, fmt_money, fmt_num, fmt_pct, forecast_or_default, guarded, iso_week, load_settings,
    training_history, workspace,
)
from app_pages.planning import evaluation_for
from webcare.i18n import t
from app_pages.common import optional_module
from webcare.scenarios import backlog_at_opening, closed_share_by_hour

HISTORY_WEEKS = 12


def main() -> None:
    st.title(t("Opening hours"))
    ws = workspace()
    info = current_dataset(ws)
    fc_name, forecast = forecast_or_default(ws, info)
    settings = load_settings(ws, info)
    st.caption(f"{t('Planning forecast')}: **{fc_name}** · " + t("Times in {tz}; weeks start on Monday (ISO week numbers).", tz=info.tz))
    with st.form("proposal"):
        st.caption(t("The current hours come from the Staffing page; type the proposal per weekday (24-hour clock)."))
        cols = st.columns(7)
        proposed = []
        for i in range(7):
            cols[i].markdown(f"**{t(WEEKDAY_NAMES[i])}**")
            cols[i].caption(f"{t('Current')}: {settings.opening[i]}")
            proposed.append(cols[i].text_input(t("Proposed"), st.session_state.get(f"proposed_{i}", settings.opening[i]),
                                               key=f"proposed_{i}"))
        st.form_submit_button(t("Compare"), type="primary", key="compare_hours")
    proposal = settings.copy(opening=proposed)
    proposal.validate()
    current_eval = evaluation_for(ws, fc_name, forecast, settings)
    proposed_eval = evaluation_for(ws, fc_name, forecast, proposal)
    rows = []
    for label, s, e in ((t("Current"), settings, current_eval), (t("Proposed"), proposal, proposed_eval)):
        k = e.kpis
        rows.append({"": label, t("Hours open per week"): fmt_num(k["hours_open_per_week"], 1),
                     t("Service level"): fmt_pct(k["service_level"]), t("Cost per week"): fmt_money(k["cost_per_week"]),
                     t("Agent-hours"): fmt_num(k["agent_hours"]), t("Mean response"): fmt_num(k["mean_response_minutes"]) + " min",
                     t("Peak backlog"): fmt_num(k["peak_backlog"])})
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="hours_compare")
    for note in proposed_eval.plan.notes:
        st.warning(note)
    left, right = st.columns(2)
    waiting = []
    for label, s, e in ((t("Current"), settings, current_eval), (t("Proposed"), proposal, proposed_eval)):
        frame = backlog_at_opening(e, s.opening_hours())
        frame["weekday"] = frame["weekday"].map(lambda i: t(WEEKDAY_NAMES[int(i)]))
        waiting.append(frame.assign(plan=label))
    waiting = pd.concat(waiting, ignore_index=True)
    order = [t(d) for d in WEEKDAY_NAMES]
    left.altair_chart(alt.Chart(waiting).mark_bar().encode(
        x=alt.X("weekday:N", sort=order, title=None), xOffset="plan:N",
        y=alt.Y("waiting_at_opening:Q", title=t("Messages waiting")),
        color=alt.Color("plan:N", title=None),
        tooltip=["weekday:N", "plan:N", alt.Tooltip("waiting_at_opening:Q", format=",.0f")],
    ).properties(height=280, title=t("Backlog at opening")), width="stretch")
    history = training_history(ws, info)
    recent = history[history["ds"] >= history["ds"].max() - pd.Timedelta(weeks=HISTORY_WEEKS)]
    shares = []
    for label, s in ((t("Current"), settings), (t("Proposed"), proposal)):
        shares.append(closed_share_by_hour(recent, s.opening_hours()).assign(plan=label))
    shares = pd.concat(shares, ignore_index=True)
    bars = pd.concat([
        shares.assign(state=t("while open"), messages=shares["per_day"] * (1 - shares["closed_share"])),
        shares.assign(state=t("while closed"), messages=shares["per_day"] * shares["closed_share"]),
    ], ignore_index=True)
    right.markdown(f"**{t('Messages arriving while closed, hour by hour')}**")
    for label in (t("Current"), t("Proposed")):
        right.altair_chart(alt.Chart(bars[bars["plan"] == label]).mark_bar().encode(
            x=alt.X("hour:O", title=t("Hour of day"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("messages:Q", title=t("Messages per day"), stack="zero"),
            color=alt.Color("state:N", title=None, scale=alt.Scale(domain=[t("while open"), t("while closed")],
                                                                    range=["#9ecae1", "#d62728"])),
            tooltip=["hour:O", "state:N", alt.Tooltip("messages:Q", format=",.1f"),
                     alt.Tooltip("closed_share:Q", format=".0%", title=t("Share arriving while closed"))],
        ).properties(height=200, title=label), width="stretch")
    st.caption(t("From the last {weeks} weeks of history: messages per hour of the day and the share of them that arrive while the team is closed.",
                 weeks=HISTORY_WEEKS))
    closed_total = {label: float((part["per_day"] * part["closed_share"]).sum() / part["per_day"].sum())
                    for label, part in shares.groupby("plan")}
    cols = st.columns(len(closed_total))
    for col, (label, value) in zip(cols, closed_total.items()):
        col.metric(f"{t('Share arriving while closed')} · {label}", fmt_pct(value))
    frontier_section(ws, info, plan_table=current_eval.plan.table, settings=settings)


@st.cache_data(show_spinner=False, max_entries=8)
def _frontier(key: str, templates_json: str, candidates: str, targets: tuple, limit: float, _arrivals: pd.DataFrame,
              target_json: str) -> pd.DataFrame:
    import json

    from app_pages.roster_support import config_from_table
    from scheduling.requirements import ServiceTarget
    from scheduling.roster.opening import frontier

    templates = pd.read_json(io.StringIO(templates_json), orient="split")
    spec = json.loads(target_json)
    target = ServiceTarget(target=spec["target"], within=pd.Timedelta(minutes=spec["within"]), aht_seconds=spec["aht"],
                           concurrency=spec["concurrency"], shrinkage=spec["shrinkage"], max_occupancy=spec["occupancy"])
    return frontier(config_from_table(templates, limit), _arrivals, target, list(targets),
                    opening_candidates=candidates, time_limit=limit)


def frontier_section(ws, info, plan_table: pd.DataFrame, settings) -> None:
    """The optimiser's cost-versus-SL frontier (scheduling/roster/opening.py): per target the
    cheapest roster and opening hours chosen from candidate windows, for one ISO week."""
    opening_mod = optional_module("scheduling.roster.opening")
    if opening_mod is None or not hasattr(opening_mod, "frontier"):
        return
    import json

    from app_pages.roster_support import DEFAULT_TEMPLATES, pooled_requirement

    st.subheader(t("Cost versus service level"))
    st.caption(t("Per target the optimiser picks the opening hours (one of the candidates per weekday) and the cheapest "
                 "roster of the shift templates on the Roster page, for one week; all channels together."))
    with st.form("frontier_form"):
        weeks = list(dict.fromkeys(iso_week(plan_table["ds"])))
        c1, c2, c3 = st.columns([1, 1, 1])
        week = c1.selectbox(t("Week"), weeks, index=min(1, len(weeks) - 1), key="frontier_week")
        targets_text = c2.text_input(t("Targets (%)"), "60, 70, 80, 90", key="frontier_targets")
        limit = c3.number_input(t("Time limit per target (seconds)"), 5, 600, 30, 5, key="frontier_limit")
        candidates = st.text_input(t("Candidate opening hours (alternatives separated by |)"),
                                   "mon-sun 08:00-20:00 | 08:00-22:00 | 07:00-23:00", key="frontier_candidates")
        run = st.form_submit_button(t("Compute the frontier"), key="frontier_run")
    if not run:
        return
    try:
        targets = tuple(sorted({float(v) / 100 for v in targets_text.replace(";", ",").split(",") if v.strip()}))
    except ValueError:
        raise ValueError(t("targets: give percentages separated by commas, e.g. 60, 70, 80")) from None
    stored = ws.setting("roster:templates")
    templates = pd.DataFrame(stored["rows"], columns=stored["columns"]) if stored else DEFAULT_TEMPLATES
    pooled = pooled_requirement(plan_table, week)
    volume = pooled["volume"].sum()
    weights = {c: float(plan_table.loc[plan_table["channel"] == c, "volume"].sum()) for c in settings.channels}
    total = sum(weights.values()) or 1.0
    mean = lambda attr: sum(getattr(p, attr) * weights[c] for c, p in settings.channels.items()) / total  # noqa: E731
    spec = {"target": targets[-1], "within": min(p.within_minutes for p in settings.channels.values()),
            "aht": mean("aht_seconds") * (1 + settings.aht_change), "concurrency": mean("concurrency"),
            "shrinkage": settings.shrinkage, "occupancy": settings.max_occupancy}
    with st.spinner(t("Optimising {n} rosters (at most {limit} s each)...", n=len(targets), limit=int(limit))):
        table = _frontier(f"{ws.path}|{week}|{volume:.3f}", templates.to_json(orient="split"), candidates, targets,
                          float(limit), pooled[["ds", "volume"]], json.dumps(spec, sort_keys=True))
    shown = table.assign(target=table["target"].map(lambda v: fmt_pct(v, 0)))
    st.altair_chart(alt.Chart(table).mark_line(point=True).encode(
        x=alt.X("cost:Q", title=t("Cost per week") + " (€)"),
        y=alt.Y("sl_reached:Q", title=t("Service level"), axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("target:Q", format=".0%"), alt.Tooltip("cost:Q", format=",.0f"),
                 alt.Tooltip("sl_reached:Q", format=".1%"), "opening:N", "status:N"],
    ).properties(height=260, title=t("Cost versus service level")), width="stretch")
    st.dataframe(shown, hide_index=True, key="frontier_table")
    failed = table[~table["status"].isin(["optimal", "time_limit"])]
    if not failed.empty:
        st.warning(t("No roster was found for the target(s) {targets} within the time limit: raise the time limit or "
                     "offer longer opening hours.", targets=", ".join(fmt_pct(v, 0) for v in failed["target"])))
        for text in dict.fromkeys(failed.get("explanation", pd.Series(dtype=str)).dropna()):
            if text:
                st.caption(text)


guarded(main)
