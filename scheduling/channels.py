"""Per-channel settings (``channels.toml``) and teams that serve several channels.

``webcare staff FORECAST --channels channels.toml`` reads one table per channel; every key is
optional and falls back to the command-line flag of the same meaning::

    team = "priority"            # "separate" (default): one team per channel;
                                 # "priority": one team, channels served in priority order;
                                 # "pooled": one team, one first-come-first-served queue

    [channels.whatsapp]
    aht = "6m"                   # handle time of one message, or "history" (needs --dataset/--messages)
    target = 80                  # percent within the deadline
    within = "60m"               # the deadline
    concurrency = 2              # conversations one agent holds at once (>= 1)
    actionable = 0.7             # share of the messages that need a reply (0-1]
    priority = 1                 # lower is served first (team = "priority"); ties: file order
    proactive_hours = 2.5        # outbound work per day (agent-hours), done in quiet intervals
    open = "mon-fri 08:00-20:00" # the channel's own opening hours

The file is validated once into a :class:`ChannelsConfig`; every error names the file, the
channel table and the key (``channels.toml, [channels.x], key 'target': 120 is outside (0,
100]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scheduling.opening_hours import OpeningHours, parse_opening_hours
from scheduling.tomlfile import read_toml

__all__ = ["ChannelSpec", "ChannelsConfig", "ChannelsError", "TEAM_MODES", "read_channels"]

#: How several channels share agents.
TEAM_MODES = ("separate", "priority", "pooled")
_KEYS = ("aht", "target", "within", "concurrency", "actionable", "priority", "proactive_hours", "open",
         "max_occupancy")
HISTORY = "history"


class ChannelsError(ValueError):
    """A channels file that cannot be used; the message names the file, table and key."""


@dataclass(frozen=True)
class ChannelSpec:
    """One channel's settings; ``None`` means "use the command-line value".

    ``aht_seconds`` is None with ``aht_from_history`` when the handle time comes from history.
    """

    name: str
    aht_seconds: float | None = None
    aht_from_history: bool = False
    target: float | None = None
    within: pd.Timedelta | None = None
    concurrency: float | None = None
    actionable: float = 1.0
    priority: int = 0
    order: int = 0
    proactive_hours: float = 0.0
    opening: OpeningHours | None = None
    max_occupancy: float | None = None


@dataclass(frozen=True)
class ChannelsConfig:
    """The validated channels file."""

    path: str
    team: str = "separate"
    channels: dict[str, ChannelSpec] = field(default_factory=dict)

    def spec(self, channel: str) -> ChannelSpec:
        """The settings of ``channel`` (defaults for a channel the file does not name)."""
        return self.channels.get(channel, ChannelSpec(name=channel, order=len(self.channels)))

    def priority_order(self, names) -> list[str]:
        """``names`` in the order a priority team serves them."""
        return sorted(names, key=lambda c: (self.spec(c).priority, self.spec(c).order, c))


def _duration(value, where) -> pd.Timedelta:
    from webcare.units import parse_duration

    try:
        out = parse_duration(str(value))
    except ValueError as exc:
        raise ChannelsError(f"{where}: {exc}") from None
    if out <= pd.Timedelta(0):
        raise ChannelsError(f"{where}: must be longer than 0 (got {value!r})")
    return out


def _number(value, where) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ChannelsError(f"{where}: expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ChannelsError(f"{where}: expected a finite number, got {value!r}")
    return value


def _channel(name: str, table, order: int, label: str) -> ChannelSpec:
    if not isinstance(table, dict):
        raise ChannelsError(f"{label}, [channels.{name}]: expected a table of settings, got {table!r}")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ChannelsError(f"{label}, [channels.{name}]: unknown key(s) {', '.join(map(repr, unknown))}; "
                            f"known keys: {', '.join(_KEYS)}")

    def where(key):
        return f"{label}, [channels.{name}], key '{key}'"

    spec = {"name": name.lower(), "order": order}
    if "aht" in table:
        if str(table["aht"]).strip().lower() in (HISTORY, "from history"):
            spec["aht_from_history"] = True
        else:
            spec["aht_seconds"] = _duration(table["aht"], where("aht")).total_seconds()
    if "target" in table:
        value = _number(table["target"], where("target"))
        if not 0 < value <= 100:
            raise ChannelsError(f"{where('target')}: {value:g} is outside (0, 100] (a percentage, e.g. 80)")
        if value <= 1:
            raise ChannelsError(f"{where('target')}: {value:g} looks like a fraction; give a percentage, e.g. 80")
        spec["target"] = value / 100.0
    if "within" in table:
        spec["within"] = _duration(table["within"], where("within"))
    if "concurrency" in table:
        value = _number(table["concurrency"], where("concurrency"))
        if value < 1:
            raise ChannelsError(f"{where('concurrency')}: must be at least 1 (got {value:g})")
        spec["concurrency"] = value
    if "actionable" in table:
        value = _number(table["actionable"], where("actionable"))
        if not 0 < value <= 1:
            raise ChannelsError(f"{where('actionable')}: must be a fraction in (0, 1], e.g. 0.7 (got {value:g})")
        spec["actionable"] = value
    if "max_occupancy" in table:
        value = _number(table["max_occupancy"], where("max_occupancy"))
        if not 0 < value <= 1:
            raise ChannelsError(f"{where('max_occupancy')}: must be a fraction in (0, 1] (got {value:g})")
        spec["max_occupancy"] = value
    if "priority" in table:
        value = table["priority"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ChannelsError(f"{where('priority')}: expected a whole number (1 is served first), got {value!r}")
        spec["priority"] = int(value)
    if "proactive_hours" in table:
        value = _number(table["proactive_hours"], where("proactive_hours"))
        if not 0 <= value <= 24 * 1000:
            raise ChannelsError(f"{where('proactive_hours')}: must be >= 0 agent-hours per day (got {value:g})")
        spec["proactive_hours"] = value
    if "open" in table:
        if not isinstance(table["open"], str):
            raise ChannelsError(f"{where('open')}: expected text such as \"mon-fri 08:00-20:00\"")
        try:
            spec["opening"] = parse_opening_hours(table["open"])
        except ValueError as exc:
            raise ChannelsError(f"{where('open')}: {exc}") from None
    return ChannelSpec(**spec)


def read_channels(path) -> ChannelsConfig:
    """Read and validate a channels file (TOML); see the module docstring for the keys."""
    path = Path(path)
    label = path.name
    data = read_toml(path, ChannelsError, label)
    unknown = sorted(set(data) - {"team", "channels"})
    if unknown:
        raise ChannelsError(f"{label}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
                            "expected 'team' and [channels.NAME] tables")
    team = data.get("team", "separate")
    if team not in TEAM_MODES:
        raise ChannelsError(f"{label}, key 'team': {team!r} is not one of {', '.join(TEAM_MODES)}")
    tables = data.get("channels", {})
    if not isinstance(tables, dict) or not tables:
        raise ChannelsError(f"{label}: no [channels.NAME] tables")
    channels = {}
    for order, (name, table) in enumerate(tables.items()):
        spec = _channel(str(name), table, order, label)
        if spec.name in channels:
            raise ChannelsError(f"{label}, [channels.{name}]: channel {spec.name!r} is given twice "
                                "(channel names are compared in lower case)")
        channels[spec.name] = spec
    return ChannelsConfig(str(path), team, channels)
