"""Handle time per channel and hour of day, estimated from message-level history.

The workspace keeps one handle time per message (``handle_time_seconds``, see
:meth:`webcare.workspace.Workspace.load_messages`; the bundled sample has one for every message).
The capacity model needs the *mean* handle time of the messages served in a bucket: an agent's
throughput is 1 / mean, so the median (lower than the mean for right-skewed handle times)
would understate the work. The default estimate is therefore a winsorised mean: the mean after
capping the longest ``trim`` share (1 % by default) at the value below them, so a forgotten open
ticket of 9 hours does not set the staffing while the long tail of real work still counts. A
two-sided trimmed mean (``method="trimmed"``) drops short and long ends alike and runs low for
right-skewed handle times (about 7 % below the mean on the bundled sample).

Per channel and local hour of day (0-23) an estimate is used where the hour has at least
``min_messages`` handle times; otherwise the channel's own estimate over all hours (the
"fallback"). Handle times that are missing, zero or negative are ignored and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["HandleTimes", "METHODS", "estimate_handle_times", "robust_mean"]

#: Estimators: ``winsorized`` (the default), ``trimmed``, ``median``, ``mean``.
METHODS = ("winsorized", "trimmed", "median", "mean")
DEFAULT_TRIM = {"winsorized": 0.01, "trimmed": 0.05}


def robust_mean(values, method: str = "winsorized", trim: float | None = None) -> float:
    """The central handle time of ``values`` (seconds > 0) by ``method``; NaN when empty.

    ``winsorized``: the mean after capping the ceil(trim * n) longest values at the next one
    (default trim 0.01). ``trimmed``: the mean of the values between the ``trim`` and
    ``1 - trim`` quantiles (floor(trim * n) values dropped at each end; default trim 0.05).
    """
    if trim is None:
        trim = DEFAULT_TRIM.get(method, 0.0)
    if method not in METHODS:
        raise ValueError(f"unknown handle-time method {method!r}: use {', '.join(METHODS)}")
    if not 0 <= trim < 0.5:
        raise ValueError("trim must be in [0, 0.5)")
    x = np.sort(np.asarray(values, dtype=float))
    if x.size == 0:
        return float("nan")
    if method == "median":
        return float(np.median(x))
    if method == "mean":
        return float(x.mean())
    if method == "winsorized":
        cut = int(np.ceil(trim * x.size)) if trim > 0 else 0
        if cut and x.size > cut:
            x[x.size - cut:] = x[x.size - cut - 1]
        return float(x.mean())
    cut = int(np.floor(trim * x.size))
    return float(x[cut:x.size - cut].mean())


@dataclass(frozen=True)
class HandleTimes:
    """Estimated handle times.

    ``table``: one row per channel and local hour (0-23): ``channel``, ``hour``,
    ``aht_seconds`` (the value used), ``messages`` (handle times of that hour), ``source``
    (``"hour"`` when the hour's own estimate is used, ``"channel"`` for the fallback).
    ``channel_aht``: the channel's estimate over all hours. ``ignored``: per channel the number
    of missing, zero or negative handle times left out.
    """

    table: pd.DataFrame
    channel_aht: dict[str, float]
    method: str
    min_messages: int
    ignored: dict[str, int] = field(default_factory=dict)

    @property
    def channels(self) -> list[str]:
        return sorted(self.channel_aht)

    def per_bucket(self, channel: str, index: pd.DatetimeIndex) -> np.ndarray:
        """Handle time [s] of every bucket of ``index`` (tz-aware), by its local hour."""
        if channel not in self.channel_aht:
            raise ValueError(f"no handle times in the history for channel {channel!r} "
                             f"(channels with handle times: {', '.join(self.channels) or 'none'})")
        part = self.table[self.table["channel"] == channel].set_index("hour")["aht_seconds"]
        by_hour = part.reindex(range(24)).fillna(self.channel_aht[channel]).to_numpy(dtype=float)
        return by_hour[pd.DatetimeIndex(index).hour]

    def describe(self, channel: str) -> str:
        part = self.table[self.table["channel"] == channel]
        own = int((part["source"] == "hour").sum())
        return (f"handle time from history: {self.channel_aht[channel]:.0f} s on average ({self.method}), "
                f"per hour of day for {own} of 24 hours (others: the channel's figure; at least "
                f"{self.min_messages} messages needed per hour)")


def estimate_handle_times(messages: pd.DataFrame, *, method: str = "winsorized", trim: float | None = None,
                          min_messages: int = 30, channels=None) -> HandleTimes:
    """Handle time per channel and local hour of day from message-level history.

    Parameters
    ----------
    messages : pandas.DataFrame
        Columns ``ts`` (tz-aware arrival instant, the team's zone), ``channel`` and
        ``handle_time_seconds`` (as :meth:`webcare.workspace.Workspace.load_messages` returns).
    method : {"winsorized", "trimmed", "median", "mean"}
        Estimator (see :func:`robust_mean`).
    trim : float
        Share capped at the top (winsorized, default 0.01) or dropped at each end (trimmed, default 0.05).
    min_messages : int
        Handle times an hour of day needs for its own estimate (>= 1).
    channels : iterable of str, optional
        Only these channels.

    Returns
    -------
    HandleTimes

    Raises
    ------
    ValueError
        Missing columns, a naive ``ts``, or no usable handle time at all.
    """
    missing = [c for c in ("ts", "channel", "handle_time_seconds") if c not in messages.columns]
    if missing:
        raise ValueError(f"the message history lacks column(s) {', '.join(missing)}")
    if int(min_messages) != min_messages or min_messages < 1:
        raise ValueError("min_messages must be a whole number >= 1")
    robust_mean([1.0], method, trim)  # validates method and trim
    ts = pd.DatetimeIndex(messages["ts"])
    if ts.tz is None:
        raise ValueError("the message timestamps must be time-zone aware")
    frame = pd.DataFrame({"channel": messages["channel"].astype(str).to_numpy(), "hour": ts.hour,
                          "ht": pd.to_numeric(messages["handle_time_seconds"], errors="coerce").to_numpy(dtype=float)})
    if channels is not None:
        frame = frame[frame["channel"].isin(list(channels))]
    bad = ~(frame["ht"] > 0) | ~np.isfinite(frame["ht"])
    ignored = frame[bad].groupby("channel").size().to_dict()
    frame = frame[~bad]
    if frame.empty:
        raise ValueError("the message history has no usable handle times (all missing, zero or negative)")
    rows, channel_aht = [], {}
    for channel, part in frame.groupby("channel", sort=True):
        overall = robust_mean(part["ht"].to_numpy(), method, trim)
        channel_aht[str(channel)] = overall
        groups = {int(h): g.to_numpy() for h, g in part.groupby("hour")["ht"]}
        for hour in range(24):
            values = groups.get(hour, np.empty(0))
            own = values.size >= min_messages
            rows.append({"channel": str(channel), "hour": hour,
                         "aht_seconds": robust_mean(values, method, trim) if own else overall,
                         "messages": int(values.size), "source": "hour" if own else "channel"})
    return HandleTimes(pd.DataFrame(rows), channel_aht, method, int(min_messages),
                       {str(k): int(v) for k, v in ignored.items()})
