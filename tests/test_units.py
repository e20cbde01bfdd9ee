"""The one duration parser and the percentage / fraction conventions."""

import pandas as pd
import pytest

from webcare.units import format_duration, parse_duration, parse_fraction, parse_percentage


@pytest.mark.parametrize(
    "text,seconds",
    [("90s", 90), ("6m", 360), ("1.5h", 5400), ("28d", 28 * 86400), ("2w", 14 * 86400), ("45", 45),
     ("15min", 900), ("1h30m", 5400), (" 2 h ", 7200), ("0.5", 0.5), (120, 120)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pd.Timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "abc", "5 parsecs", "-3h", "1h-", "h", "3mo", "1.2.3h"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration_round_trips():
    for text, shortest in [("15min", "15min"), ("30min", "30min"), ("60m", "1h"), ("28d", "4w"), ("3d", "3d"), ("90s", "90s")]:
        assert format_duration(parse_duration(text)) == shortest
        assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


def test_percentages_and_fractions():
    assert parse_percentage("80") == pytest.approx(0.8)
    assert parse_percentage("95%") == pytest.approx(0.95)
    with pytest.raises(ValueError, match="percentage"):
        parse_percentage("0.8")
    assert parse_fraction("0.3", name="--shrinkage") == pytest.approx(0.3)
    with pytest.raises(ValueError, match="--shrinkage"):
        parse_fraction("30", name="--shrinkage")
    with pytest.raises(ValueError):
        parse_fraction("1", name="--max-occupancy")
    assert parse_fraction("1", name="--max-occupancy", allow_one=True) == 1.0
