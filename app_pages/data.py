"""Data page: upload exports or pick a saved dataset; the ingestion report and what the history shows."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import fmt_num, guarded, history_of, workspace
from forecast.explore import MONTHS, WEEKDAYS, channel_mix, hour_weekday_profile, summarize
from forecast.spikes import spike_days
from forecast.ingest import ALLOWED_FREQS, DEFAULT_TZ, ColumnChoice, IngestError, IngestOptions
from webcare.datasets import SAMPLE_DATASET, dataset_name_for, ingest_uploads
from webcare.i18n import t
from webcare.workspace import Workspace, WorkspaceError

FREQS = list(ALLOWED_FREQS.values())


@st.cache_data(show_spinner="Profiling the history...", max_entries=8)
def views_of(path: str, name: str, version: str):
    history = history_of(path, name, version)
    return summarize(history), hour_weekday_profile(history), channel_mix(history)


@st.cache_data(show_spinner="Looking for spikes and dips...", max_entries=8)
def spikes_of(path: str, name: str, version: str) -> pd.DataFrame:
    """Local days with a spike or a dip (forecast.spikes): candidates to leave out of training."""
    return spike_days(history_of(path, name, version))


def upload_form(ws: Workspace) -> None:
    with st.expander(t("Add data: upload exports of your inbox tool"), expanded=False):
        with st.form("upload", clear_on_submit=False):
            files = st.file_uploader(
                key="upload_files",
                label=t("Exports (CSV, XLSX or Parquet; one row per message, or counts per interval)"),
                type=["csv", "txt", "tsv", "gz", "xlsx", "parquet"],
                accept_multiple_files=True,
            )
            c1, c2, c3 = st.columns(3)
            name = c1.text_input(t("Dataset name"), help="Leave empty to use the first file's name. An existing name is replaced.")
            tz = c2.text_input(t("Time zone of the team"), value=DEFAULT_TZ)
            freq = c3.selectbox(t("Interval"), FREQS, index=FREQS.index("1h"))
            with st.popover("Columns and time stamps (optional)"):
                timestamp_col = st.text_input("Timestamp column", help="Detected by name when empty")
                channel_col = st.text_input("Channel column")
                count_col = st.text_input("Count column (for counts per interval)")
                channel = st.text_input("Channel name for files without a channel column", value="all")
                source_tz = st.text_input("Zone of timestamps without an offset, if not the team's (e.g. UTC)")
                offsets_local = st.checkbox("Offsets in the file are really local clock time")
            submitted = st.form_submit_button(t("Read and save"), type="primary", key="upload_submit")
    if not submitted:
        return
    if not files:
        st.warning(t("Choose one or more files first."))
        return
    options = IngestOptions(
        tz=tz.strip() or DEFAULT_TZ,
        freq=freq,
        source_tz=source_tz.strip() or None,
        offsets_are_local=offsets_local,
        columns=ColumnChoice(timestamp=timestamp_col.strip() or None, channel=channel_col.strip() or None, count=count_col.strip() or None),
        channel=channel.strip() or "all",
    )
    dataset = name.strip() or dataset_name_for(files[0].name)
    try:
        with st.spinner(f"Reading {len(files)} file(s)..."):
            result = ingest_uploads([(f.name, f.getvalue()) for f in files], options)
            ws.save_dataset(dataset, result)
    except IngestError as exc:
        st.error(t("The files cannot be used; nothing was saved.") + "\n\n" + "\n".join(f"- {p}" for p in exc.problems))
        return
    except WorkspaceError as exc:
        st.error(str(exc))
        return
    st.session_state["dataset_choice"] = dataset
    st.success(f"Saved dataset '{dataset}': {int(result.history['y'].sum()):,} messages.")


def report_section(info) -> None:
    report = info.report
    span_days = (info.end + pd.Timedelta(info.freq) - info.start).total_seconds() / 86400
    gaps = report.get("gaps", [])
    c = st.columns(5)
    c[0].metric(t("Messages"), fmt_num(info.volume))
    c[1].metric(t("Channels"), len(info.channels))
    c[2].metric(t("History"), f"{fmt_num(span_days)} {t('days')}")
    c[3].metric(t("Interval"), info.freq)
    c[4].metric(t("Gaps"), f"{fmt_num(sum(g['intervals'] for g in gaps))} intervals" if gaps else t("none"))
    step = pd.Timedelta(info.freq)
    st.caption(
        f"From {info.start:%a %d-%m-%Y %H:%M} up to {(info.end + step).tz_convert(info.tz):%a %d-%m-%Y %H:%M} ({info.tz}); "
        f"channels: {', '.join(info.channels)}; saved {info.created_at.tz_convert(info.tz):%d-%m-%Y %H:%M}"
    )
    with st.expander(t("Ingestion report")):
        rows = [
            {
                "file": f["file"],
                "shape": "one row per message" if f["shape"] == "messages" else "counts per interval",
                "rows read": f["rows_read"],
                "messages": f["messages"],
                "channels": ", ".join(f["channels"]),
                "columns used": ", ".join(f"{k}: {v}" for k, v in f["columns"].items()),
                "not kept": ", ".join(f["ignored_columns"]),
            }
            for f in report["files"]
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        st.write(f"Empty intervals inside the exports, counted as 0: {report['filled_zero_intervals']:,}")
        if report.get("duplicates_removed"):
            st.write(f"Duplicates removed by message id: {report['duplicates_removed']:,}")
        for note in [n for f in report["files"] for n in f["notes"]] + report.get("overlaps", []):
            st.write(f"- {note}")
        if gaps:
            st.write("Gaps (no export covers them; missing, not zero):")
            st.dataframe(pd.DataFrame(gaps), hide_index=True)


def charts_section(summary, grid: pd.DataFrame, mix: pd.DataFrame) -> None:
    st.subheader(t("When messages arrive"))
    heat = (
        alt.Chart(grid)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour of day"),
            y=alt.Y("weekday_name:O", sort=list(WEEKDAYS), title=None),
            color=alt.Color("per_day:Q", title="Messages", scale=alt.Scale(scheme="blues")),
            tooltip=[alt.Tooltip("weekday_name:N", title="Day"), alt.Tooltip("hour:O", title="Hour"),
                     alt.Tooltip("per_day:Q", title="Messages on average", format=",.1f")],
        )
        .properties(height=260, title=t("Messages per hour and weekday (average of complete days)"))
    )
    st.altair_chart(heat, width="stretch")
    left, right = st.columns(2)
    month = (
        alt.Chart(summary.by_month)
        .mark_bar()
        .encode(
            x=alt.X("month:O", sort=list(MONTHS), title=None),
            y=alt.Y("per_day:Q", title="Messages per day"),
            tooltip=[alt.Tooltip("month:N"), alt.Tooltip("per_day:Q", format=",.0f"), alt.Tooltip("index:Q", format=".0f", title="Index (100 = average day)")],
        )
        .properties(height=240, title=t("By month"))
    )
    left.altair_chart(month, width="stretch")
    dom = (
        alt.Chart(summary.by_day_of_month)
        .mark_bar()
        .encode(
            x=alt.X("day:O", title="Day of the month"),
            y=alt.Y("index:Q", title="Index (100 = average day)", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("day:O"), alt.Tooltip("per_day:Q", format=",.0f", title="Messages per day"), alt.Tooltip("index:Q", format=".0f")],
        )
        .properties(height=240, title=t("By day of the month"))
    )
    right.altair_chart(dom, width="stretch")
    if not mix.empty:
        area = (
            alt.Chart(mix)
            .mark_area()
            .encode(
                x=alt.X("week_start:T", title="Week (starting Monday)", axis=alt.Axis(format="%d-%m-%Y")),
                y=alt.Y("volume:Q", title="Messages per week", stack="zero"),
                color=alt.Color("channel:N", title="Channel"),
                tooltip=[alt.Tooltip("iso_week:N", title="ISO week"), "channel:N",
                         alt.Tooltip("volume:Q", format=",.0f"), alt.Tooltip("share:Q", format=".1%")],
            )
            .properties(height=260, title=t("Channel mix over time"))
        )
        st.altair_chart(area, width="stretch")


def spikes_section(ws: Workspace, name: str, days: pd.DataFrame) -> None:
    st.subheader(t("Days that stand out"))
    if days.empty:
        st.info("No spike or dip found: every interval is within the range of the same hour of the week "
                "in the weeks around it.")
        return
    excluded = ws.excluded_days(name)
    table = pd.DataFrame({
        "date": days["date"].dt.strftime("%d-%m-%Y"),
        "weekday": days["weekday"],
        "channels": days["channels"],
        "messages": days["observed"].round(0).astype(int),
        "expected": days["expected"].round(0).astype(int),
        "ratio": days["ratio"],
        "exclude from training": [d in excluded for d in days["date"]],
        "reason": [excluded.get(d, r) for d, r in zip(days["date"], days["reason"])],
    })
    st.caption("Intervals far above (spike) or below (dip) the median of the same hour of the week in the four "
               "weeks around them; messages and expected count the flagged intervals of the day. Tick the days a "
               "forecast should not learn from (an outage, a viral complaint); holidays usually stay in.")
    edited = st.data_editor(table, hide_index=True,
                            disabled=["date", "weekday", "channels", "messages", "expected", "ratio"],
                            column_config={"ratio": st.column_config.NumberColumn(format="x%.2f")}, key=f"spikes-{name}")
    if st.button(t("Save exclusions")):
        chosen = {d: r for d, r, ex in zip(days["date"], edited["reason"], edited["exclude from training"]) if ex}
        keep = {d: r for d, r in excluded.items() if d not in set(days["date"])}
        ws.set_excluded_days(name, {**keep, **chosen})
        st.success(f"{len(chosen)} day(s) excluded from training.")


def main() -> None:
    st.title(t("Data"))
    ws = workspace()
    upload_form(ws)
    datasets = ws.list_datasets()
    names = [d.name for d in datasets]
    if st.session_state.get("dataset_choice") not in names:
        saved = ws.setting("dataset")
        st.session_state["dataset_choice"] = saved if saved in names else SAMPLE_DATASET if SAMPLE_DATASET in names else names[0]
    name = st.selectbox(t("Dataset"), names, key="dataset_choice")
    if ws.setting("dataset") != name:
        ws.set_setting("dataset", name)
    info = next(d for d in datasets if d.name == name)
    version = info.created_at.isoformat()
    report_section(info)
    summary, grid, mix = views_of(str(ws.path), name, version)
    charts_section(summary, grid, mix)
    spikes_section(ws, name, spikes_of(str(ws.path), name, version))
    with st.expander(t("Delete this dataset")):
        st.write("Deletes the history and the message details kept with it (handle times, case ids, labels).")
        if st.button(f"Delete '{name}'", disabled=name == SAMPLE_DATASET, help="The bundled sample cannot be deleted."):
            ws.delete_dataset(name)
            del st.session_state["dataset_choice"]
            st.rerun()


guarded(main)
