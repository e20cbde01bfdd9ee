"""What a planner wants to know first about a history: span, volume, busy hours and days, gaps.

All profiles are in local wall-clock time of the history's zone and use complete days only (days
with every interval present), so a partial first or last day does not bend them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.ingest import missing_runs

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class HistorySummary:
    tz: str
    freq: pd.Timedelta
    start: pd.Timestamp
    end: pd.Timestamp  # start of the last interval
    complete_days: int
    observed_days: float  # days with data: intervals with a value (any channel) x interval length
    total: int
    per_channel: pd.DataFrame  # channel, total, share, per_day, first, last
    by_hour: pd.DataFrame  # hour, per_day (mean messages in that local hour), share
    by_weekday: pd.DataFrame  # weekday, per_day (mean daily volume), index (100 = mean day)
    by_month: pd.DataFrame  # month, days, per_day, index
    by_day_of_month: pd.DataFrame  # day, per_day, index
    gaps: pd.DataFrame  # channel, start, end, intervals
    standout_days: pd.DataFrame  # date, weekday, volume, expected, ratio


def _interval(history: pd.DataFrame) -> pd.Timedelta:
    steps = history.sort_values(["channel", "ds"]).groupby("channel")["ds"].diff().dropna()
    steps = steps[steps > pd.Timedelta(0)]
    return steps.min() if len(steps) else pd.Timedelta("1h")


def daily_totals(history: pd.DataFrame) -> pd.DataFrame:
    """Total volume over all channels per local date, for complete days only.

    A day is complete when every interval from its local midnight to the next is present (a
    23- or 25-hour day has 23 or 25 hourly intervals) for every channel and none is missing.
    """
    freq = _interval(history)
    tz = history["ds"].dt.tz
    frame = history.assign(date=history["ds"].dt.tz_localize(None).dt.normalize())
    per_channel = frame.groupby(["channel", "date"]).agg(volume=("y", "sum"), n=("y", "size"), missing=("y", lambda s: s.isna().sum()))
    per_channel = per_channel.reset_index()
    dates = pd.DatetimeIndex(per_channel["date"].unique()).sort_values()
    day_start = dates.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    day_end = (dates + pd.Timedelta(days=1)).tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    expected = pd.Series(((day_end - day_start) / freq).astype(int), index=dates)
    per_channel["expected"] = per_channel["date"].map(expected)
    per_channel["complete"] = (per_channel["n"] == per_channel["expected"]) & (per_channel["missing"] == 0)
    n_channels = history["channel"].nunique()
    days = per_channel.groupby("date").agg(volume=("volume", "sum"), complete=("complete", "sum"))
    days = days[days["complete"] == n_channels].drop(columns="complete")
    days["volume"] = days["volume"].astype(float)
    return days


def standout_days(days: pd.DataFrame, window_weeks: int = 4, threshold: float = 3.5, min_ratio_change: float = 0.3) -> pd.DataFrame:
    """Days whose volume stands out from the same weekday in the surrounding weeks.

    The expected volume of a day is the median of the same weekday ``window_weeks`` before and
    after it. A day stands out when its log ratio to that is more than ``threshold`` robust
    standard deviations (1.4826 x MAD of all log ratios) from the median ratio and differs by
    at least ``min_ratio_change`` (30%).
    """
    if len(days) < 3 * 7:
        return pd.DataFrame(columns=["date", "weekday", "volume", "expected", "ratio"])
    volume = days["volume"]
    full = volume.reindex(pd.date_range(volume.index.min(), volume.index.max(), freq="D"))
    neighbours = [full.shift(7 * k) for k in range(-window_weeks, window_weeks + 1) if k != 0]
    expected = pd.concat(neighbours, axis=1).median(axis=1, skipna=True).reindex(volume.index)
    ratio = (volume + 1) / (expected + 1)
    log_ratio = np.log(ratio)
    centre = log_ratio.median()
    mad = (log_ratio - centre).abs().median() * 1.4826
    score = (log_ratio - centre) / (mad if mad > 0 else 1e-9)
    flagged = (score.abs() > threshold) & ((ratio - 1).abs() >= min_ratio_change)
    out = pd.DataFrame({
        "date": volume.index[flagged],
        "weekday": [WEEKDAYS[d.weekday()] for d in volume.index[flagged]],
        "volume": volume[flagged].to_numpy(),
        "expected": expected[flagged].round(1).to_numpy(),
        "ratio": ratio[flagged].round(2).to_numpy(),
    })
    order = np.argsort(-np.abs(np.log(out["ratio"].to_numpy(dtype=float))))
    return out.iloc[order].reset_index(drop=True)


def summarize(history: pd.DataFrame) -> HistorySummary:
    """Profiles and key figures of a canonical history (channel, ds tz-aware, y)."""
    if history.empty:
        raise ValueError("the history is empty")
    freq = _interval(history)
    tz = str(history["ds"].dt.tz)
    y = history["y"].astype("Float64")
    total = int(y.sum(skipna=True))
    days = daily_totals(history)
    n_days = len(days)

    per_channel = history.assign(y=y).groupby("channel").agg(total=("y", "sum"), first=("ds", "min"), last=("ds", "max"))
    per_channel["total"] = per_channel["total"].astype("int64")
    per_channel["share"] = per_channel["total"] / max(total, 1)
    # per day of data: gaps (missing intervals) do not count as days
    observed = history.dropna(subset=["y"])
    day_share = freq / pd.Timedelta(days=1)
    per_channel["per_day"] = per_channel["total"] / (observed.groupby("channel").size() * day_share)
    per_channel = per_channel.reset_index()[["channel", "total", "share", "per_day", "first", "last"]]

    complete = history.assign(date=history["ds"].dt.tz_localize(None).dt.normalize())
    complete = complete[complete["date"].isin(days.index)]
    hourly = complete.assign(hour=complete["ds"].dt.hour, y=complete["y"].astype(float))
    by_hour = hourly.groupby("hour")["y"].sum() / max(n_days, 1)
    by_hour = by_hour.reindex(range(24), fill_value=0.0)
    by_hour = pd.DataFrame({"hour": by_hour.index, "per_day": by_hour.to_numpy()})
    by_hour["share"] = by_hour["per_day"] / by_hour["per_day"].sum() if by_hour["per_day"].sum() else 0.0

    mean_day = days["volume"].mean() if n_days else np.nan

    def profile(keys: pd.Index, labels, name: str) -> pd.DataFrame:
        grouped = days["volume"].groupby(keys)
        out = pd.DataFrame({name: labels(grouped.mean().index), "days": grouped.size().to_numpy(), "per_day": grouped.mean().to_numpy()})
        out["index"] = 100 * out["per_day"] / mean_day
        return out

    by_weekday = profile(days.index.day_of_week, lambda idx: [WEEKDAYS[i] for i in idx], "weekday")
    by_month = profile(days.index.month, lambda idx: [MONTHS[i - 1] for i in idx], "month")
    by_dom = profile(days.index.day, lambda idx: list(idx), "day")

    gap_rows = []
    for channel, part in history.groupby("channel"):
        for a, b in missing_runs(part["y"].isna().to_numpy()):
            gap_rows.append({"channel": channel, "start": part["ds"].iloc[a], "end": part["ds"].iloc[b - 1], "intervals": b - a})
    gaps = pd.DataFrame(gap_rows, columns=["channel", "start", "end", "intervals"])

    return HistorySummary(
        tz=tz,
        freq=freq,
        start=history["ds"].min(),
        end=history["ds"].max(),
        complete_days=n_days,
        observed_days=observed["ds"].nunique() * day_share,
        total=total,
        per_channel=per_channel,
        by_hour=by_hour,
        by_weekday=by_weekday,
        by_month=by_month,
        by_day_of_month=by_dom,
        gaps=gaps,
        standout_days=standout_days(days),
    )


def format_summary(s: HistorySummary, max_rows: int = 10) -> str:
    """The summary as plain text for the command line."""
    lines = []
    span_days = (s.end - s.start + s.freq) / pd.Timedelta(days=1)
    lines.append(f"Span: {s.start:%Y-%m-%d %H:%M} to {s.end + s.freq:%Y-%m-%d %H:%M} ({s.tz}), {span_days:,.1f} days, "
                 f"{s.complete_days:,} complete days, interval {format_freq(s.freq)}")
    per_day = s.total / s.observed_days if s.observed_days else float("nan")
    lines.append(f"Volume: {s.total:,} messages, {per_day:,.0f} per day of data on average")
    lines.append("")
    lines.append("Per channel:")
    lines.append(f"  {'channel':<14}{'messages':>12}{'share':>8}{'per day':>10}")
    for r in s.per_channel.itertuples():
        lines.append(f"  {r.channel:<14}{r.total:>12,}{r.share:>8.1%}{r.per_day:>10,.0f}")
    if s.complete_days:
        lines.append("")
        top = s.by_hour.sort_values("per_day", ascending=False).head(3)
        lines.append("Busiest hours: " + ", ".join(f"{h:02d}:00-{(h + 1) % 24:02d}:00 ({v:,.0f}/day)" for h, v in zip(top["hour"], top["per_day"])))
        quiet = s.by_hour.sort_values("per_day").head(1).iloc[0]
        lines.append(f"Quietest hour: {int(quiet['hour']):02d}:00 ({quiet['per_day']:,.1f}/day)")
        lines.append("Hour of day (messages per day in that hour):")
        peak = s.by_hour["per_day"].max() or 1
        for r in s.by_hour.itertuples():
            bar = "#" * int(round(30 * r.per_day / peak))
            lines.append(f"  {r.hour:02d}:00 {r.per_day:>9,.1f}  {bar}")
        lines.append("")
        lines.append("Weekday (mean daily volume; index 100 = average day):")
        for r in s.by_weekday.itertuples():
            lines.append(f"  {r.weekday:<10}{r.per_day:>10,.0f}{r.index:>7.0f}")
        lines.append("")
        lines.append("Month (mean daily volume; index):")
        for r in s.by_month.itertuples():
            lines.append(f"  {r.month:<5}{r.per_day:>10,.0f}{r.index:>7.0f}  ({r.days} days)")
        busy_dom = s.by_day_of_month.sort_values("index", ascending=False).head(3)
        lines.append("Busiest days of the month: " + ", ".join(f"day {d} (index {i:.0f})" for d, i in zip(busy_dom["day"], busy_dom["index"])))
    lines.append("")
    if s.gaps.empty:
        lines.append("Gaps: none")
    else:
        lines.append(f"Gaps (missing, not zero): {len(s.gaps)}, {int(s.gaps['intervals'].sum()):,} intervals")
        for r in s.gaps.head(max_rows).itertuples():
            lines.append(f"  {r.channel}: {r.start:%Y-%m-%d %H:%M} to {r.end:%Y-%m-%d %H:%M} ({r.intervals:,} intervals)")
    lines.append("")
    if s.standout_days.empty:
        lines.append("Days that stand out: none")
    else:
        lines.append(f"Days that stand out (against the same weekday in the weeks around it): {len(s.standout_days)}")
        for r in s.standout_days.head(max_rows).itertuples():
            lines.append(f"  {r.date:%Y-%m-%d} {r.weekday:<9}{r.volume:>9,.0f} messages, expected {r.expected:,.0f} (x{r.ratio:.2f})")
    return "\n".join(lines)


def hour_weekday_profile(history: pd.DataFrame) -> pd.DataFrame:
    """Mean messages per local hour for each weekday (all channels), over complete days.

    Columns: weekday (0 = Monday), weekday_name, hour (0-23), per_day. On the 25-hour day both
    02:00 hours count for 02:00; the missing hour of the 23-hour day simply has one day fewer.
    """
    days = daily_totals(history)
    frame = history.assign(date=history["ds"].dt.tz_localize(None).dt.normalize())
    frame = frame[frame["date"].isin(days.index)]
    frame = frame.assign(weekday=frame["ds"].dt.day_of_week, hour=frame["ds"].dt.hour, y=frame["y"].astype(float))
    volume = frame.groupby(["weekday", "hour"])["y"].sum()
    n_days = pd.Series(days.index.day_of_week).value_counts()
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    out = volume.reindex(grid, fill_value=0.0).reset_index(name="volume")
    out["per_day"] = out["volume"] / out["weekday"].map(n_days).fillna(np.inf).to_numpy()
    out["weekday_name"] = [WEEKDAYS[d] for d in out["weekday"]]
    return out[["weekday", "weekday_name", "hour", "per_day"]]


def channel_mix(history: pd.DataFrame) -> pd.DataFrame:
    """Volume and share per channel per ISO week (weeks start on Monday), complete weeks only.

    Columns: week_start (local date of the Monday), iso_week ('2025-W07'), channel, volume, share.
    """
    frame = history.dropna(subset=["y"]).assign(date=history["ds"].dt.tz_localize(None).dt.normalize())
    frame["week_start"] = frame["date"] - pd.to_timedelta(frame["date"].dt.day_of_week, unit="D")
    weekly = frame.groupby(["week_start", "channel"])["y"].sum().astype(float).reset_index(name="volume")
    days_seen = frame.groupby("week_start")["date"].nunique()
    complete = days_seen[days_seen == 7].index
    weekly = weekly[weekly["week_start"].isin(complete)].copy()
    weekly["share"] = weekly["volume"] / weekly.groupby("week_start")["volume"].transform("sum")
    iso = weekly["week_start"].dt.isocalendar()
    weekly["iso_week"] = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    return weekly[["week_start", "iso_week", "channel", "volume", "share"]].reset_index(drop=True)


def format_freq(freq: pd.Timedelta) -> str:
    minutes = int(freq.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"
