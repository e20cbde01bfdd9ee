"""Parsing of the units every command shares: durations, percentages and fractions.

One parser for every flag that takes a time (``--freq``, ``--horizon``, ``--deadline``,
``--time-limit`` ...), so ``90s``, ``6m``, ``1.5h``, ``28d`` and ``2w`` mean the same everywhere.
The conventions are written down in ``docs/formats.md``.
"""

from __future__ import annotations

import re

import pandas as pd

_UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "wk": 604800,
    "week": 604800,
    "weeks": 604800,
}

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_PART = re.compile(_NUMBER + r"\s*([a-z]+)")


def parse_duration(text: str | float | int | pd.Timedelta) -> pd.Timedelta:
    """Parse a duration such as ``90s``, ``6m``, ``1.5h``, ``28d``, ``2w`` or ``1h30m``.

    A bare number is seconds. ``m`` is minutes (months are never a duration here).
    Raises ``ValueError`` with the accepted forms for anything else, including negative values.
    """
    if isinstance(text, pd.Timedelta):
        if text < pd.Timedelta(0):
            raise ValueError(f"duration {text} is negative")
        return text
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0 or text != text:
            raise ValueError(f"duration {text!r} must be a non-negative number of seconds")
        return pd.Timedelta(seconds=float(text))
    raw = str(text).strip().lower()
    if re.fullmatch(_NUMBER, raw):
        return pd.Timedelta(seconds=float(raw))
    compact = raw.replace(" ", "")
    total = 0.0
    position = 0
    for match in _PART.finditer(compact):
        if match.start() != position or match.group(2) not in _UNIT_SECONDS:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    else:
        if position == len(compact) and position > 0:
            return pd.Timedelta(seconds=total)
    raise ValueError(
        f"cannot read {text!r} as a duration: use a number with a unit, such as 90s, 6m, 1.5h, "
        "28d or 2w (a bare number is seconds)"
    )


def format_duration(value: pd.Timedelta) -> str:
    """The shortest exact spelling of a duration in the units ``parse_duration`` reads."""
    seconds = value.total_seconds()
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_percentage(text: str | float) -> float:
    """Parse a percentage flag such as ``--target 80`` into the fraction 0.8.

    Percent flags take 0-100 (``80`` or ``80%``); a value of at most 1 is refused because it is
    almost certainly a fraction typed where a percentage was asked for.
    """
    raw = str(text).strip().rstrip("%").strip()
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a percentage: use a number from 0 to 100, e.g. 80") from None
    if not 1 < value <= 100:
        raise ValueError(
            f"percentage {text!r} is out of range: give a number above 1 and at most 100 "
            "(e.g. 80 for 80%); fractions are only used in files and fraction flags"
        )
    return value / 100.0


def parse_fraction(text: str | float, *, name: str = "value", allow_one: bool = False) -> float:
    """Parse a fraction flag such as ``--shrinkage 0.3``: a number in [0, 1) (or [0, 1])."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{name}: cannot read {text!r} as a fraction: use a number such as 0.3") from None
    upper_ok = value <= 1 if allow_one else value < 1
    if not (value >= 0 and upper_ok):
        bound = "1" if allow_one else "below 1"
        raise ValueError(
            f"{name}: {text!r} is not a fraction from 0 to {bound} (write 0.3 for 30%)"
        )
    return value
