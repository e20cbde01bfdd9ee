"""Intra-hour profile: how an hour's messages spread over its four quarters.

An hourly forecast says how many messages arrive between 17:00 and 18:00, not whether they come
evenly or bunched at 17:00 (a post published on the hour, a newsletter). The backlog model works
on 15-minute buckets, so the forecast is spread over the quarters by the shares seen in the
message-level history: per channel and local hour of day where that hour has at least
``min_messages`` messages, else the channel's profile over all hours, else evenly (25% each).

:func:`estimate_intraday_profile` estimates the shares; :func:`apply_intraday` spreads a
forecast (any interval that is a multiple of 15 minutes, up to an hour, lying inside one hour)
over 15-minute buckets with them. Without a profile the volume is spread evenly, as before; so
is an interval that crosses a local hour (e.g. 45-minute intervals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["IntradayProfile", "apply_intraday", "estimate_intraday_profile", "QUARTERS"]

QUARTERS = 4
_BUCKET = pd.Timedelta("15min")


@dataclass(frozen=True)
class IntradayProfile:
    """``table``: ``channel``, ``hour`` (local, 0-23), ``quarter`` (0-3), ``share`` (the four
    shares of a channel-hour sum to 1), ``messages`` (of that channel-hour in the history) and
    ``source`` (``"hour"``, ``"channel"`` or ``"even"``)."""

    table: pd.DataFrame
    min_messages: int

    def shares(self, channel: str) -> np.ndarray:
        """24 x 4 array of shares for ``channel`` (even for a channel the history lacks)."""
        part = self.table[self.table["channel"] == channel]
        if part.empty:
            return np.full((24, QUARTERS), 1.0 / QUARTERS)
        out = np.full((24, QUARTERS), 1.0 / QUARTERS)
        out[part["hour"].to_numpy(), part["quarter"].to_numpy()] = part["share"].to_numpy()
        return out


def estimate_intraday_profile(messages: pd.DataFrame, *, min_messages: int = 200,
                              channels=None) -> IntradayProfile:
    """Shares of each local hour's messages per quarter, per channel, from message-level data.

    Parameters
    ----------
    messages : pandas.DataFrame
        Columns ``ts`` (tz-aware, the team's zone) and ``channel``.
    min_messages : int
        Messages a channel-hour needs for its own profile; the channel as a whole needs as many
        for the fallback profile, else the channel is spread evenly.
    channels : iterable of str, optional
        Only these channels.
    """
    for column in ("ts", "channel"):
        if column not in messages.columns:
            raise ValueError(f"the message history lacks column {column!r}")
    if int(min_messages) != min_messages or min_messages < 1:
        raise ValueError("min_messages must be a whole number >= 1")
    ts = pd.DatetimeIndex(messages["ts"])
    if ts.tz is None:
        raise ValueError("the message timestamps must be time-zone aware")
    frame = pd.DataFrame({"channel": messages["channel"].astype(str).to_numpy(), "hour": ts.hour,
                          "quarter": ts.minute // 15})
    if channels is not None:
        frame = frame[frame["channel"].isin(list(channels))]
    rows = []
    for channel, part in frame.groupby("channel", sort=True):
        counts = np.zeros((24, QUARTERS))
        np.add.at(counts, (part["hour"].to_numpy(), part["quarter"].to_numpy()), 1.0)
        total = counts.sum()
        overall = counts.sum(axis=0) / total if total >= min_messages else np.full(QUARTERS, 1 / QUARTERS)
        fallback = "channel" if total >= min_messages else "even"
        for hour in range(24):
            n = counts[hour].sum()
            own = n >= min_messages
            share = counts[hour] / n if own else overall
            for q in range(QUARTERS):
                rows.append({"channel": str(channel), "hour": hour, "quarter": q, "share": float(share[q]),
                             "messages": int(n), "source": "hour" if own else fallback})
    return IntradayProfile(pd.DataFrame(rows, columns=["channel", "hour", "quarter", "share", "messages", "source"]),
                           int(min_messages))


def spread_evenly(volume: pd.Series, interval, bucket: pd.Timedelta = _BUCKET) -> pd.Series:
    """Spread each interval's volume evenly over its ``bucket``-long parts (index: tz-aware starts)."""
    index = pd.DatetimeIndex(volume.index)
    freq = pd.Timedelta(interval)
    if freq < bucket or freq % bucket != pd.Timedelta(0):
        raise ValueError(f"the forecast interval ({freq}) must be a multiple of {bucket.total_seconds() / 60:g} minutes")
    parts = int(freq / bucket)
    start_ns = index.tz_convert("UTC").as_unit("ns").asi8
    stamps = (start_ns[:, None] + np.arange(parts, dtype=np.int64)[None, :] * bucket.value).ravel()
    values = np.repeat(volume.to_numpy(dtype=float) / parts, parts)
    out_index = pd.DatetimeIndex(stamps.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(index.tz)
    return pd.Series(values, index=out_index, name=volume.name)


def apply_intraday(volume: pd.Series, interval, shares: np.ndarray | None = None) -> pd.Series:
    """Spread each interval's volume over its 15-minute buckets.

    ``volume``: messages per interval, tz-aware index of interval starts. ``interval``: their
    length (a multiple of 15 minutes; one that crosses a local hour is spread evenly). ``shares``: a
    24 x 4 array from :meth:`IntradayProfile.shares`; None spreads evenly (also for longer
    intervals, which are always spread evenly). The total is kept exactly.
    """
    even = spread_evenly(volume, interval)
    parts = int(pd.Timedelta(interval) / _BUCKET)
    if shares is None or parts > QUARTERS:
        return even
    shares = np.asarray(shares, dtype=float)
    if shares.shape != (24, QUARTERS):
        raise ValueError("shares must be a 24 x 4 array (hour of day x quarter)")
    index = pd.DatetimeIndex(volume.index)
    first_q = (index.minute // 15).to_numpy()
    crosses = (first_q + parts) > QUARTERS  # e.g. 45-minute intervals: spread evenly
    cols = np.minimum(first_q[:, None] + np.arange(parts)[None, :], QUARTERS - 1)
    weights = shares[index.hour.to_numpy()[:, None], cols]
    total = weights.sum(axis=1, keepdims=True)
    weights = np.where((total > 0) & ~crosses[:, None], weights / np.where(total > 0, total, 1.0), 1.0 / parts)
    values = volume.to_numpy(dtype=float)
    return pd.Series((values[:, None] * weights).ravel(), index=even.index, name=volume.name)
