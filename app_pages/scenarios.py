"""Scenarios page: save the current settings as a named scenario with variants (volume +x %, a
chatbot deflecting x % of one channel, handle time -x %, other opening hours or targets, more or
fewer agents) and compare scenarios side by side: cost, service level per ISO week, mean and p90
response time, peak backlog, hours open (and the probability of reaching the target once the
simulator exists)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import (
    WEEKDAY_NAMES, current_dataset, fmt_money, fmt_num, fmt_pct, forecast_or_default, forecast_table, guarded,
    load_settings, workspace,
)
from app_pages.planning import evaluation_for, staffing_key
from app_pages.simulation import RUNS, simulated
from webcare.i18n import t
from webcare.scenarios import PlanSettings, staffing_of

NO_CHANNEL = "-"


def scenario_form(ws, settings: PlanSettings, fc_name: str, names: list[str]) -> None:
    st.subheader(t("Save the current settings as a scenario"))
    with st.form("scenario_form", clear_on_submit=False):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input(t("Scenario name"), key="scenario_name", placeholder="volume +20%")
        volume = c2.number_input(t("Volume change (%)"), -90.0, 500.0, 0.0, 5.0, key="sc_volume")
        aht = c3.number_input(t("Handle time change (%)"), -90.0, 300.0, 0.0, 5.0, key="sc_aht")
        c4, c5, c6 = st.columns(3)
        bot_channel = c4.selectbox(t("Chatbot channel"), [NO_CHANNEL] + list(settings.channels), key="sc_bot_channel")
        bot_share = c5.number_input(t("Chatbot takes (% of one channel)"), 0.0, 100.0, 0.0, 5.0, key="sc_bot_share")
        agents = c6.number_input(t("Agents change (% against the plan)"), -90.0, 300.0, 0.0, 5.0, key="sc_agents")
        c7, c8, c9 = st.columns(3)
        keep = c7.selectbox(t("Keep the staffing of"), [""] + names, key="sc_keep",
                            format_func=lambda v: v or t("(plan to the target)"))
        target = c8.number_input(t("Target for every channel (%; 0 = as on the Staffing page)"), 0.0, 100.0, 0.0, 1.0, key="sc_target")
        within = c9.number_input(t("Deadline for every channel (minutes; 0 = as set)"), 0.0, 10080.0, 0.0, 5.0, key="sc_within")
        cols = st.columns(7)
        opening = [cols[i].text_input(t(WEEKDAY_NAMES[i]), settings.opening[i], key=f"sc_open_{i}") for i in range(7)]
        saved = st.form_submit_button(t("Save scenario"), type="primary", key="save_scenario")
    if not saved:
        return
    if not name.strip():
        raise ValueError(t("Give the scenario a name."))
    channels = {c: p for c, p in settings.channels.items()}
    if target > 0 or within > 0:
        from webcare.scenarios import ChannelPlan

        channels = {c: ChannelPlan(target / 100 if target > 0 else p.target, within if within > 0 else p.within_minutes,
                                   p.aht_seconds, p.concurrency) for c, p in settings.channels.items()}
    scenario = settings.copy(
        channels=channels, opening=opening, volume_change=volume / 100, aht_change=aht / 100, agents_change=agents / 100,
        deflection={bot_channel: bot_share / 100} if bot_channel != NO_CHANNEL and bot_share > 0 else {},
        keep_staffing_of=keep or None,
    )
    scenario.validate()
    ws.save_scenario(name.strip(), {"settings": scenario.to_dict(), "forecast": fc_name})
    st.session_state["scenario_saved"] = name.strip()
    st.rerun()


def evaluate_all(ws, info, chosen: list[str], stored: dict) -> dict:
    """Each chosen scenario's evaluation; a scenario keeping another's staffing is evaluated on
    that scenario's planned heads."""
    results, bar = {}, st.progress(0.0)

    def one(name, depth=0):
        if name in results:
            return results[name]
        record = stored[name]
        settings = PlanSettings.from_dict(record["settings"])
        fc_name = record.get("forecast")
        fc_names = {f.name for f in ws.list_forecasts()}
        if fc_name not in fc_names:
            raise ValueError(t("scenario '{name}': its forecast '{fc}' is no longer in the workspace", name=name, fc=fc_name))
        forecast = forecast_table(str(ws.path), fc_name, ws.forecast_info(fc_name).created_at.isoformat())
        staffing = None
        keep = settings.keep_staffing_of
        if keep:
            if keep not in stored or depth > 5:
                raise ValueError(t("scenario '{name}' keeps the staffing of '{keep}', which is not saved", name=name, keep=keep))
            staffing = staffing_of(one(keep, depth + 1)[1].plan)
        key = staffing_key(staffing)
        evaluation = evaluation_for(ws, fc_name, forecast, settings, staffing=staffing, key=key)
        version = ws.forecast_info(fc_name).created_at.isoformat()
        results[name] = (settings, evaluation, forecast, f"{ws.path}|{fc_name}|{version}|{key}")
        return results[name]

    for i, name in enumerate(chosen, start=1):
        bar.progress((i - 1) / len(chosen), text=t("Evaluating scenario {name} ({i} of {n})...", name=name, i=i, n=len(chosen)))
        one(name)
    bar.empty()
    return {n: results[n] for n in chosen}


def describe(settings: PlanSettings, base: PlanSettings | None = None) -> str:
    """The scenario's variants in a few words (opening hours and targets against ``base``)."""
    parts = []
    if base is not None and list(settings.opening) != list(base.opening):
        hours = list(dict.fromkeys(settings.opening))
        parts.append(f"{t('hours')} {hours[0]}" if len(hours) == 1 else t("other opening hours"))
    if base is not None:
        changed = {f"{p.target * 100:.0f}%/{p.within_minutes:.0f} min" for c, p in settings.channels.items()
                   if c in base.channels and (p.target, p.within_minutes) != (base.channels[c].target, base.channels[c].within_minutes)}
        if changed:
            parts.append(f"{t('target')} " + ", ".join(sorted(changed)))
    if settings.volume_change:
        parts.append(f"{t('volume')} {settings.volume_change * 100:+.0f}%")
    for c, share in settings.deflection.items():
        parts.append(f"{t('chatbot')} {share * 100:.0f}% {c}")
    if settings.aht_change:
        parts.append(f"{t('handle time')} {settings.aht_change * 100:+.0f}%")
    if settings.agents_change:
        parts.append(f"{t('agents')} {settings.agents_change * 100:+.0f}%")
    if settings.keep_staffing_of:
        parts.append(f"{t('staffing of')} {settings.keep_staffing_of}")
    return ", ".join(parts) or t("as planned")


def main() -> None:
    st.title(t("Scenarios"))
    ws = workspace()
    info = current_dataset(ws)
    fc_name, _ = forecast_or_default(ws, info)
    settings = load_settings(ws, info)
    stored = ws.list_scenarios()
    scenario_form(ws, settings, fc_name, list(stored))
    if st.session_state.get("scenario_saved"):
        saved = st.session_state.pop("scenario_saved")
        st.success(t("Saved scenario '{name}'.", name=saved))
        previous = [n for n in st.session_state.get("compare_choice", []) if n in stored and n != saved]
        st.session_state["compare_choice"] = (previous + [saved])[-4:]
    st.subheader(t("Compare scenarios"))
    if not stored:
        st.info(t("Save at least one scenario to compare."))
        return
    if "compare_choice" not in st.session_state:
        st.session_state["compare_choice"] = list(stored)[-4:]
    chosen = st.multiselect(t("Scenarios"), list(stored), key="compare_choice")
    if not chosen:
        return
    results = evaluate_all(ws, info, chosen, stored)
    rows = {}
    bar = st.progress(0.0)
    for i, (name, (s, e, forecast, key)) in enumerate(results.items()):
        bar.progress(i / len(results), text=t("Simulating scenario {name} ({i} of {n})...", name=name, i=i + 1, n=len(results)))
        k = e.kpis
        sims = simulated(forecast, s, e, key=key)
        rows[name] = {
            t("What changes"): describe(s, settings),
            t("Cost per week"): fmt_money(k["cost_per_week"]),
            t("Agent-hours"): fmt_num(k["agent_hours"]),
            t("Service level"): fmt_pct(k["service_level"]),
            t("Probability of reaching the target"): (fmt_pct(min(v["probability"] for v in sims.values()), 0) if sims
                                                      else t("(needs the simulator)")),
            t("Simulated service level (weakest channel)"): (fmt_pct(min(v["mean_service_level"] for v in sims.values()))
                                                             if sims else t("(needs the simulator)")),
            t("Mean response"): fmt_num(k["mean_response_minutes"]) + " min",
            t("p90 response"): fmt_num(k["p90_response_minutes"]) + " min",
            t("Peak backlog"): fmt_num(k["peak_backlog"]),
            t("Hours open per week"): fmt_num(k["hours_open_per_week"], 1),
            t("Days below target"): f"{k['days_below_target']} / {k['days']}",
        }
    bar.empty()
    table = pd.DataFrame(rows)
    table.index.name = ""
    st.dataframe(table.reset_index(), hide_index=True, key="scenario_table", height=35 * (len(table) + 1) + 3)
    st.caption(t("Cost: scheduled agent-hours x the wage. Probability of reaching the target: the share of {runs} simulated runs "
                 "of the whole horizon (random arrivals and handle times) in which the weakest channel reaches its target.",
                 runs=RUNS))
    weeks = pd.concat([e.weeks.assign(scenario=name) for name, (_, e, _, _) in results.items()], ignore_index=True)
    st.altair_chart(alt.Chart(weeks).mark_bar().encode(
        x=alt.X("week:N", title=t("ISO week")), xOffset="scenario:N",
        y=alt.Y("service_level:Q", title=t("Service level"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("scenario:N", title=None),
        tooltip=["scenario:N", "week:N", alt.Tooltip("service_level:Q", format=".1%"), alt.Tooltip("cost:Q", format=",.0f")],
    ).properties(height=280, title=t("Service level per ISO week")), width="stretch")
    with st.expander(t("Delete a scenario")):
        victim = st.selectbox(t("Scenario"), list(stored), key="delete_choice")
        if st.button(t("Delete"), key="delete_scenario"):
            ws.delete_scenario(victim)
            st.rerun()


guarded(main)
