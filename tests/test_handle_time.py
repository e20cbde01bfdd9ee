"""Handle time per channel and hour of day from message-level history (scheduling.handle_time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scheduling.handle_time import estimate_handle_times, robust_mean

TZ = "Europe/Amsterdam"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "inbox_messages.parquet"


def messages(rows):
    """rows: (local time text, channel, handle time)."""
    ts = pd.DatetimeIndex([pd.Timestamp(t) for t, _, _ in rows]).tz_localize(TZ)
    return pd.DataFrame({"ts": ts, "channel": [c for _, c, _ in rows],
                         "handle_time_seconds": [h for _, _, h in rows]})


def test_robust_mean():
    values = [100.0] * 18 + [10.0, 30_000.0]
    assert robust_mean(values, "mean") == pytest.approx((1800 + 10 + 30_000) / 20)
    assert robust_mean(values, "median") == 100.0
    assert robust_mean(values, "trimmed", 0.05) == 100.0  # one value dropped at each end
    assert np.isnan(robust_mean([], "trimmed"))
    with pytest.raises(ValueError, match="method"):
        robust_mean(values, "mode")
    with pytest.raises(ValueError, match="trim"):
        robust_mean(values, "trimmed", 0.5)


def test_hours_with_enough_messages_get_their_own_figure_others_the_channel():
    rows = [(f"2025-03-03 09:{m:02d}", "x", 200.0) for m in range(40)]      # 40 at 09h: own figure
    rows += [(f"2025-03-03 14:{m:02d}", "x", 500.0) for m in range(5)]      # 5 at 14h: too few
    rows += [("2025-03-03 15:00", "x", np.nan), ("2025-03-03 15:01", "x", 0.0), ("2025-03-03 15:02", "x", -3.0)]
    ht = estimate_handle_times(messages(rows), method="mean", min_messages=30)
    table = ht.table.set_index(["channel", "hour"])
    assert table.loc[("x", 9), "aht_seconds"] == 200.0 and table.loc[("x", 9), "source"] == "hour"
    overall = (40 * 200 + 5 * 500) / 45
    assert ht.channel_aht["x"] == pytest.approx(overall)
    assert table.loc[("x", 14), "aht_seconds"] == pytest.approx(overall)
    assert table.loc[("x", 14), "source"] == "channel" and table.loc[("x", 14), "messages"] == 5
    assert ht.ignored == {"x": 3}
    # per bucket by local hour, across the autumn DST change (25-hour day)
    index = pd.date_range(pd.Timestamp("2025-10-26 00:00", tz=TZ).tz_convert("UTC"), periods=25 * 4,
                          freq="15min").tz_convert(TZ)
    per = ht.per_bucket("x", index)
    assert per[index.hour == 9] == pytest.approx(200.0)
    assert per[index.hour == 2] == pytest.approx(overall)  # the repeated hour
    with pytest.raises(ValueError, match="no handle times .* 'y'"):
        ht.per_bucket("y", index)


def test_bad_input():
    with pytest.raises(ValueError, match="handle_time_seconds"):
        estimate_handle_times(pd.DataFrame({"ts": [], "channel": []}))
    with pytest.raises(ValueError, match="no usable handle times"):
        estimate_handle_times(messages([("2025-03-03 09:00", "x", np.nan)]))
    naive = pd.DataFrame({"ts": [pd.Timestamp("2025-03-03 09:00")], "channel": ["x"], "handle_time_seconds": [5]})
    with pytest.raises(ValueError, match="time-zone aware"):
        estimate_handle_times(naive)
    with pytest.raises(ValueError, match="min_messages"):
        estimate_handle_times(messages([("2025-03-03 09:00", "x", 5.0)]), min_messages=0)


@pytest.mark.skipif(not SAMPLE.exists(), reason="bundled sample data/sample/inbox_messages.parquet is absent")
def test_bundled_sample_handle_times():
    frame = pd.read_parquet(SAMPLE, columns=["created_at", "channel", "handle_time_seconds"])
    frame = frame.iloc[-120_000:]  # the last few months: quick
    ht = estimate_handle_times(frame.rename(columns={"created_at": "ts"}))
    assert set(ht.channels) == {"facebook", "instagram", "whatsapp", "x"}
    for channel, aht in ht.channel_aht.items():
        part = frame.loc[frame["channel"] == channel, "handle_time_seconds"].to_numpy(dtype=float)
        # the trimmed mean lies between the median and the mean for right-skewed handle times
        assert np.median(part) - 1e-9 <= aht <= part.mean() + 1e-9
    assert (ht.table["source"] == "hour").mean() > 0.9


def test_the_default_estimate_keeps_the_mean_of_skewed_handle_times():
    """Handle times are right-skewed: the capacity model needs their mean. The default (winsorised
    at the top 1 %) stays within 2 % of it where a two-sided trimmed mean runs low, and one
    forgotten 9-hour ticket does not move it."""
    rng = np.random.default_rng(4)
    values = rng.lognormal(mean=np.log(240), sigma=0.6, size=20_000)
    true_mean = 240 * np.exp(0.6**2 / 2)
    assert robust_mean(values) == pytest.approx(true_mean, rel=0.02)
    assert robust_mean(values, "trimmed") < 0.96 * true_mean
    with_outlier = np.append(values, 9 * 3600.0)
    assert robust_mean(with_outlier) == pytest.approx(robust_mean(values), rel=0.002)
