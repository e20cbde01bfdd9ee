"""Calendar features for forecasting: public holidays and summer time.

* :func:`parse_holidays` reads a holiday setting: a country code (``NL``), a country and region
  (``DE-BY``, ``NL`` with no regions), or ``none`` / None to switch holidays off.
* :func:`public_holidays` lists the public holidays of those years from the ``holidays`` package
  (no download: the package carries its own rules).
* :func:`summer_time` says, per instant, whether daylight saving time is in force in a zone
  (for zones without it: April to September), used to let the daily profile differ between
  summer and winter.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from forecast.timegrid import NS_PER_DAY, ForecastInputError, from_utc_ns, wall_ns

DEFAULT_HOLIDAYS = "NL"


def parse_holidays(spec) -> tuple[str, str | None] | None:
    """``"NL"`` -> ("NL", None); ``"DE-BY"`` -> ("DE", "BY"); ``None``/``"none"``/``""`` -> None.

    Raises :class:`ForecastInputError` for a country (or region) the ``holidays`` package does
    not know, listing what is available.
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "none", "off", "no")):
        return None
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        country, subdiv = spec
    elif isinstance(spec, str):
        country, _, subdiv = spec.strip().partition("-")
        subdiv = subdiv or None
    else:
        raise ForecastInputError(f"holidays must be a country code such as 'NL' (or 'none'), not {spec!r}")
    import holidays

    country = str(country).upper()
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ForecastInputError(
            f"unknown holiday country {country!r}: give an ISO 3166 code such as NL, BE, DE, GB, US (or 'none')"
        )
    if subdiv is not None:
        subdivs = supported[country]
        if str(subdiv).upper() not in [s.upper() for s in subdivs]:
            raise ForecastInputError(
                f"unknown region {subdiv!r} for holidays of {country}: choose from {', '.join(subdivs) or 'none (no regions)'}"
            )
        subdiv = str(subdiv).upper()
    return country, subdiv


def public_holidays(spec, years: Iterable[int]) -> pd.DataFrame:
    """Public holidays as ``date`` (datetime64, midnight) and ``name``, sorted; empty when off."""
    parsed = parse_holidays(spec)
    if parsed is None:
        return pd.DataFrame({"date": pd.DatetimeIndex([]), "name": pd.Series([], dtype=str)})
    import holidays

    country, subdiv = parsed
    calendar = holidays.country_holidays(country, subdiv=subdiv, years=sorted(set(int(y) for y in years)))
    rows = sorted((pd.Timestamp(day), str(name)) for day, name in calendar.items())
    return pd.DataFrame({"date": pd.DatetimeIndex([r[0] for r in rows]), "name": [r[1] for r in rows]})


def holiday_days(spec, years: Iterable[int]) -> np.ndarray:
    """Wall-clock day numbers (days since 1970-01-01) of the public holidays."""
    table = public_holidays(spec, years)
    return np.asarray(table["date"].to_numpy().astype("datetime64[D]").astype(np.int64))


def summer_time(utc: np.ndarray, tz) -> np.ndarray:
    """True where daylight saving time is in force at these UTC instants (int64 ns) in ``tz``.

    The standard offset is the smaller of the offsets on 15 January and 15 July of each instant's
    year. In a zone without daylight saving, April to September counts as summer.
    """
    utc = np.asarray(utc, dtype=np.int64)
    if utc.size == 0:
        return np.zeros(0, dtype=bool)
    local = from_utc_ns(utc, tz)
    offset = wall_ns(local) - utc
    years = np.unique(local.year)
    probes = [pd.Timestamp(f"{y}-{m}-15 12:00", tz="UTC") for y in years for m in (1, 7)]
    probe_utc = np.asarray([p.value for p in probes], dtype=np.int64)
    probe_off = (wall_ns(from_utc_ns(probe_utc, tz)) - probe_utc).reshape(-1, 2)
    standard = pd.Series(probe_off.min(axis=1), index=years)
    has_dst = pd.Series(probe_off[:, 0] != probe_off[:, 1], index=years)
    year = np.asarray(local.year)
    std = standard.reindex(year).to_numpy()
    dst = has_dst.reindex(year).to_numpy(dtype=bool)
    month = np.asarray(local.month)
    return np.where(dst, offset > std, (month >= 4) & (month <= 9))


def wall_day(utc: np.ndarray, tz) -> np.ndarray:
    """Local wall-clock day numbers (days since 1970-01-01) of UTC instants."""
    return wall_ns(from_utc_ns(np.asarray(utc, dtype=np.int64), tz)) // NS_PER_DAY
