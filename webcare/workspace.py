"""The workspace: one embedded DuckDB file holding datasets, forecasts, scenarios, rosters,
events and the app's settings.

The command line and the app read and write only through this module. DuckDB lets one process
write a database file at a time, so every operation opens the file briefly, does its work in one
transaction and closes it again; a process that finds the file locked waits and retries. That is
how the app and a CLI run share one workspace.

Writing a dataset (or a forecast, scenario, roster) under an existing name replaces it in one
transaction: a failed or interrupted write leaves the previous version intact. Timestamps are
stored as naive UTC; each dataset and forecast remembers its time zone. Settings, scenarios and
roster metadata are JSON text (no pickle); roster tables are stored as JSON records with their
times in ISO 8601 with offset.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from forecast.ingest import IngestResult

SCHEMA_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"^[\w][\w .\-]{0,99}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS datasets (
    name VARCHAR PRIMARY KEY,
    tz VARCHAR NOT NULL,
    freq VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    channels VARCHAR NOT NULL,
    start_utc TIMESTAMP,
    end_utc TIMESTAMP,
    intervals BIGINT NOT NULL,
    volume BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    report VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    dataset VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    ds_utc TIMESTAMP NOT NULL,
    y BIGINT
);
CREATE TABLE IF NOT EXISTS excluded_days (
    dataset VARCHAR NOT NULL,
    day DATE NOT NULL,
    reason VARCHAR
);
CREATE TABLE IF NOT EXISTS messages (
    dataset VARCHAR NOT NULL,
    ts_utc TIMESTAMP NOT NULL,
    channel VARCHAR NOT NULL,
    message_id VARCHAR,
    case_id VARCHAR,
    handle_time_seconds DOUBLE,
    label VARCHAR
);
CREATE TABLE IF NOT EXISTS settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS forecasts (
    name VARCHAR PRIMARY KEY,
    dataset VARCHAR,
    created_at TIMESTAMP NOT NULL,
    tz VARCHAR NOT NULL,
    meta VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS forecast_values (
    forecast VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    ds_utc TIMESTAMP NOT NULL,
    model VARCHAR,
    "column" VARCHAR NOT NULL,
    value DOUBLE
);
CREATE TABLE IF NOT EXISTS scenarios (
    name VARCHAR PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    settings VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS rosters (
    name VARCHAR PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    meta VARCHAR NOT NULL,
    frames VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    dataset VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    start_utc TIMESTAMP NOT NULL,
    end_utc TIMESTAMP NOT NULL,
    uplift DOUBLE,
    channel VARCHAR,
    kind VARCHAR NOT NULL
);
"""


class WorkspaceError(RuntimeError):
    """The workspace cannot do what was asked (unknown dataset, bad name, busy for too long)."""


def default_path() -> Path:
    """``$WEBCARE_WORKSPACE`` or ``data/workspace.duckdb`` in the project folder."""
    env = os.environ.get("WEBCARE_WORKSPACE")
    return Path(env) if env else REPO_ROOT / "data" / "workspace.duckdb"


def check_name(name: str) -> str:
    """Dataset names: a letter or digit, then letters, digits, space, '.', '-', '_'; at most 100
    characters."""
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise WorkspaceError(
            f"invalid dataset name {name!r}: start with a letter or digit, then use letters, digits, "
            "spaces, '.', '-' or '_' (at most 100 characters)"
        )
    return name.strip()


def check_label(name: str, what: str = "scenario") -> str:
    """Names of scenarios, forecasts and rosters: 1-100 printable characters (e.g. 'volume +20%')."""
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > 100 or not text.isprintable():
        raise WorkspaceError(f"invalid {what} name {name!r}: use 1 to 100 printable characters")
    return text


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    tz: str
    freq: str
    created_at: pd.Timestamp
    channels: list[str]
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    intervals: int
    volume: int
    messages: int
    report: dict


def _naive_utc(values: pd.Series) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(values).tz_convert("UTC").tz_localize(None).as_unit("us"), index=values.index)


def _local(values: pd.Series, tz: str) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(values).as_unit("ns").tz_localize("UTC").tz_convert(tz), index=values.index)


class Workspace:
    """A workspace database file; cheap to create, holds no open connection."""

    def __init__(self, path: str | Path | None = None, *, lock_timeout_seconds: float = 60.0):
        self.path = Path(path) if path is not None else default_path()
        self.lock_timeout_seconds = lock_timeout_seconds
        self._initialised = False

    # -- connections -------------------------------------------------------------------------

    @contextmanager
    def _connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self._initialised:
            self._initialise()
        con = self._open(read_only)
        try:
            yield con
        except duckdb.Error as exc:
            raise WorkspaceError(f"the workspace {self.path} cannot be used: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                locked = isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()
                if not locked:
                    raise WorkspaceError(f"cannot open the workspace {self.path}: {str(exc).splitlines()[0]}") from None
                if time.monotonic() > deadline:
                    raise WorkspaceError(
                        f"the workspace {self.path} stayed busy for {self.lock_timeout_seconds:g} s "
                        "(another program is writing to it); try again"
                    ) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 1.6, 0.5)

    def _initialise(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._open(read_only=False)
        try:
            con.execute(_SCHEMA)
            con.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING", [str(SCHEMA_VERSION)]
            )
        except duckdb.Error as exc:
            raise WorkspaceError(f"{self.path} is not a usable workspace database: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()
        self._initialised = True

    # -- datasets ------------------------------------------------------------------------------

    def save_dataset(self, name: str, result: IngestResult) -> DatasetInfo:
        """Store an ingested history (and its message details) under ``name``, replacing any
        earlier version in one transaction."""
        name = check_name(name)
        history = result.history
        report = result.report
        hist = pd.DataFrame({
            "dataset": name,
            "channel": history["channel"].astype(str).to_numpy(),
            "ds_utc": _naive_utc(history["ds"]).to_numpy(),
            "y": history["y"].astype("Int64"),
        })
        msgs = None
        if result.messages is not None:
            m = result.messages
            msgs = pd.DataFrame({
                "dataset": name,
                "ts_utc": _naive_utc(m["ts"]).to_numpy(),
                "channel": m["channel"].astype(str).to_numpy(),
                "message_id": m["message_id"].astype("string").array,
                "case_id": m["case_id"].astype("string").array,
                "handle_time_seconds": m["handle_time_seconds"].astype(float).to_numpy(),
                "label": m["label"].astype("string").array,
            })
        channels = sorted(history["channel"].unique().tolist())
        volume = int(history["y"].sum(skipna=True))
        row = [
            name,
            report.tz,
            report.freq,
            pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime(),
            json.dumps(channels),
            history["ds"].min().tz_convert("UTC").tz_localize(None).to_pydatetime() if len(history) else None,
            history["ds"].max().tz_convert("UTC").tz_localize(None).to_pydatetime() if len(history) else None,
            len(history),
            volume,
            0 if msgs is None else len(msgs),
            json.dumps(report.to_dict()),
        ]
        with self._connect() as con:
            con.begin()
            try:
                self._delete(con, name)
                con.register("hist_frame", hist)
                con.execute("INSERT INTO history SELECT dataset, channel, ds_utc, y FROM hist_frame")
                con.unregister("hist_frame")
                if msgs is not None:
                    con.register("msg_frame", msgs)
                    con.execute(
                        "INSERT INTO messages SELECT dataset, ts_utc, channel, message_id, case_id, "
                        "handle_time_seconds, label FROM msg_frame"
                    )
                    con.unregister("msg_frame")
                con.execute("INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return self.dataset_info(name)

    @staticmethod
    def _delete(con: duckdb.DuckDBPyConnection, name: str) -> None:
        for table in ("history", "messages"):
            con.execute(f"DELETE FROM {table} WHERE dataset = ?", [name])
        con.execute("DELETE FROM datasets WHERE name = ?", [name])

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset and everything kept of it (history, message details, exclusions)."""
        self.dataset_info(name)
        with self._connect() as con:
            con.begin()
            try:
                self._delete(con, name)
                con.execute("DELETE FROM excluded_days WHERE dataset = ?", [name])
                con.commit()
            except BaseException:
                con.rollback()
                raise
        with self._connect() as con:
            con.execute("CHECKPOINT")

    def list_datasets(self) -> list[DatasetInfo]:
        with self._connect(read_only=True) as con:
            rows = con.execute("SELECT * FROM datasets ORDER BY name").fetchall()
            columns = [d[0] for d in con.description]
        return [self._info(dict(zip(columns, r))) for r in rows]

    def dataset_info(self, name: str) -> DatasetInfo:
        with self._connect(read_only=True) as con:
            cur = con.execute("SELECT * FROM datasets WHERE name = ?", [name])
            row = cur.fetchone()
            columns = [d[0] for d in cur.description]
        if row is None:
            known = ", ".join(d.name for d in self.list_datasets()) or "none yet"
            raise WorkspaceError(f"no dataset named {name!r} in {self.path} (datasets: {known})")
        return self._info(dict(zip(columns, row)))

    @staticmethod
    def _info(row: dict) -> DatasetInfo:
        tz = row["tz"]

        def local(value):
            return None if value is None else pd.Timestamp(value).tz_localize("UTC").tz_convert(tz)

        return DatasetInfo(
            name=row["name"],
            tz=tz,
            freq=row["freq"],
            created_at=pd.Timestamp(row["created_at"]).tz_localize("UTC"),
            channels=json.loads(row["channels"]),
            start=local(row["start_utc"]),
            end=local(row["end_utc"]),
            intervals=int(row["intervals"]),
            volume=int(row["volume"]),
            messages=int(row["messages"]),
            report=json.loads(row["report"]),
        )

    def load_history(self, name: str, tz: str | None = None) -> pd.DataFrame:
        """The canonical history of a dataset (channel, ds in its zone or ``tz``, y)."""
        info = self.dataset_info(name)
        with self._connect(read_only=True) as con:
            frame = con.execute(
                "SELECT channel, ds_utc, y FROM history WHERE dataset = ? ORDER BY channel, ds_utc", [name]
            ).df()
        return pd.DataFrame({
            "channel": frame["channel"].astype(str),
            "ds": _local(frame["ds_utc"], tz or info.tz),
            "y": frame["y"].astype("Int64"),
        })

    def load_messages(self, name: str, tz: str | None = None) -> pd.DataFrame:
        """Message-level details kept for a dataset (no text or personal data)."""
        info = self.dataset_info(name)
        with self._connect(read_only=True) as con:
            frame = con.execute(
                "SELECT ts_utc, channel, message_id, case_id, handle_time_seconds, label FROM messages "
                "WHERE dataset = ? ORDER BY ts_utc", [name]
            ).df()
        frame.insert(0, "ts", _local(frame.pop("ts_utc"), tz or info.tz))
        return frame

    # -- days excluded from training (spikes the analyst chose to leave out) -------------------

    def set_excluded_days(self, name: str, days: dict[pd.Timestamp, str]) -> None:
        """Replace the set of local dates of a dataset that forecasts must not learn from
        (a viral complaint, an outage), each with a short reason."""
        self.dataset_info(name)
        rows = [(name, pd.Timestamp(day).date(), reason) for day, reason in sorted(days.items())]
        with self._connect() as con:
            con.begin()
            try:
                con.execute("DELETE FROM excluded_days WHERE dataset = ?", [name])
                if rows:
                    con.executemany("INSERT INTO excluded_days VALUES (?, ?, ?)", rows)
                con.commit()
            except BaseException:
                con.rollback()
                raise

    def excluded_days(self, name: str) -> dict[pd.Timestamp, str]:
        """The local dates excluded from training, with their reasons."""
        with self._connect(read_only=True) as con:
            rows = con.execute("SELECT day, reason FROM excluded_days WHERE dataset = ? ORDER BY day", [name]).fetchall()
        return {pd.Timestamp(day): reason for day, reason in rows}

    # -- settings, forecasts, scenarios, rosters, events --------------------------------------

    def set_setting(self, key: str, value) -> None:
        """Store a JSON-able value under ``key`` (replacing it)."""
        text = json.dumps(value)
        with self._connect() as con:
            con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?, ?)", [key, text, _now_naive_utc()])

    def setting(self, key: str, default=None):
        """The value stored under ``key``, or ``default``."""
        with self._connect(read_only=True) as con:
            row = con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return default if row is None else json.loads(row[0])

    def save_forecast(self, name: str, forecast: pd.DataFrame, dataset: str | None = None,
                          meta: dict | None = None) -> ForecastInfo:
        """Store a forecast table (channel, ds tz-aware, yhat[, yhat_lower_L, yhat_upper_L ...][, model])
        under ``name``, replacing an earlier one in one transaction."""
        name = check_label(name, "forecast")
        if forecast.empty or "ds" not in forecast or "channel" not in forecast or "yhat" not in forecast:
            raise WorkspaceError("a forecast needs the columns channel, ds and yhat and at least one row")
        tz = str(forecast["ds"].dt.tz)
        value_cols = [c for c in forecast.columns if c.startswith("yhat")]
        base = pd.DataFrame({
            "forecast": name,
            "channel": forecast["channel"].astype(str).to_numpy(),
            "ds_utc": _naive_utc(forecast["ds"]).to_numpy(),
            "model": forecast["model"].astype(str).to_numpy() if "model" in forecast else None,
        })
        long = pd.concat([base.assign(column=c, value=forecast[c].astype(float).to_numpy()) for c in value_cols],
                         ignore_index=True)
        row = [name, dataset, _now_naive_utc(), tz, json.dumps(meta or {})]
        with self._connect() as con:
            con.begin()
            try:
                con.execute("DELETE FROM forecast_values WHERE forecast = ?", [name])
                con.execute("DELETE FROM forecasts WHERE name = ?", [name])
                con.register("fc_frame", long)
                con.execute('INSERT INTO forecast_values SELECT forecast, channel, ds_utc, model, "column", value FROM fc_frame')
                con.unregister("fc_frame")
                con.execute("INSERT INTO forecasts VALUES (?, ?, ?, ?, ?)", row)
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return self.forecast_info(name)

    def list_forecasts(self) -> list[ForecastInfo]:
        with self._connect(read_only=True) as con:
            rows = con.execute("SELECT name, dataset, created_at, tz, meta FROM forecasts ORDER BY created_at DESC").fetchall()
        return [ForecastInfo(r[0], r[1], pd.Timestamp(r[2]).tz_localize("UTC"), r[3], json.loads(r[4])) for r in rows]

    def forecast_info(self, name: str) -> ForecastInfo:
        for info in self.list_forecasts():
            if info.name == name:
                return info
        known = ", ".join(f.name for f in self.list_forecasts()) or "none yet"
        raise WorkspaceError(f"no forecast named {name!r} in {self.path} (forecasts: {known})")

    def load_forecast(self, name: str) -> pd.DataFrame:
        """A saved forecast: channel, ds (in its zone), yhat, the band columns, model."""
        info = self.forecast_info(name)
        with self._connect(read_only=True) as con:
            long = con.execute('SELECT channel, ds_utc, model, "column", value FROM forecast_values WHERE forecast = ?',
                               [name]).df()
        wide = long.pivot_table(index=["channel", "ds_utc", "model"], columns="column", values="value",
                                aggfunc="first", dropna=False).reset_index()
        wide.columns.name = None
        wide = wide.sort_values(["channel", "ds_utc"], kind="stable").reset_index(drop=True)
        ds = _local(wide.pop("ds_utc"), info.tz)
        def order(col: str):  # yhat, then per level (ascending) lower and upper, as forecasts are made
            if col == "yhat":
                return (0, 0.0, 0, col)
            parts = col.split("_")
            try:
                return (1, float(parts[-1]), 0 if "lower" in parts else 1, col)
            except ValueError:
                return (2, 0.0, 0, col)

        values = sorted((c for c in wide.columns if c.startswith("yhat")), key=order)
        out = pd.DataFrame({"channel": wide["channel"].astype(str), "ds": ds})
        for col in values:
            out[col] = wide[col].astype(float)
        out["model"] = wide["model"].astype(str)
        return out

    def delete_forecast(self, name: str) -> None:
        self.forecast_info(name)
        with self._connect() as con:
            con.begin()
            con.execute("DELETE FROM forecast_values WHERE forecast = ?", [name])
            con.execute("DELETE FROM forecasts WHERE name = ?", [name])
            con.commit()

    def save_scenario(self, name: str, settings: dict) -> None:
        """Store a scenario's settings (JSON-able dict) under ``name``, replacing an earlier one."""
        name = check_label(name, "scenario")
        with self._connect() as con:
            con.execute("INSERT OR REPLACE INTO scenarios VALUES (?, ?, ?)", [name, _now_naive_utc(), json.dumps(settings)])

    def list_scenarios(self) -> dict[str, dict]:
        """Every scenario's settings by name, oldest first."""
        with self._connect(read_only=True) as con:
            rows = con.execute("SELECT name, settings FROM scenarios ORDER BY created_at, name").fetchall()
        return {name: json.loads(text) for name, text in rows}

    def delete_scenario(self, name: str) -> None:
        with self._connect() as con:
            con.execute("DELETE FROM scenarios WHERE name = ?", [name])

    def save_roster(self, name: str, frames: dict[str, pd.DataFrame], meta: dict | None = None) -> None:
        """Store a roster's tables (shifts, coverage, assignment, ...) and its metadata under ``name``."""
        name = check_label(name, "roster")
        text = json.dumps({key: _frame_to_json(frame) for key, frame in frames.items() if frame is not None})
        with self._connect() as con:
            con.execute("INSERT OR REPLACE INTO rosters VALUES (?, ?, ?, ?)", [name, _now_naive_utc(), json.dumps(meta or {}), text])

    def list_rosters(self) -> list[str]:
        with self._connect(read_only=True) as con:
            return [r[0] for r in con.execute("SELECT name FROM rosters ORDER BY created_at DESC").fetchall()]

    def load_roster(self, name: str) -> tuple[dict[str, pd.DataFrame], dict]:
        with self._connect(read_only=True) as con:
            row = con.execute("SELECT meta, frames FROM rosters WHERE name = ?", [name]).fetchone()
        if row is None:
            raise WorkspaceError(f"no roster named {name!r} in {self.path}")
        frames = {key: _frame_from_json(data) for key, data in json.loads(row[1]).items()}
        return frames, json.loads(row[0])

    def set_events(self, dataset: str, events: pd.DataFrame) -> None:
        """Replace the events of a dataset: name, start, end (tz-aware, end exclusive), uplift
        (fraction or NaN), channel (or None = all), kind."""
        rows = []
        for r in events.itertuples(index=False):
            rows.append([dataset, str(r.name), pd.Timestamp(r.start).tz_convert("UTC").tz_localize(None).to_pydatetime(),
                         pd.Timestamp(r.end).tz_convert("UTC").tz_localize(None).to_pydatetime(),
                         None if pd.isna(r.uplift) else float(r.uplift),
                         None if r.channel is None or pd.isna(r.channel) or str(r.channel) == "" else str(r.channel),
                         str(r.kind or "other")])
        with self._connect() as con:
            con.begin()
            try:
                con.execute("DELETE FROM events WHERE dataset = ?", [dataset])
                if rows:
                    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                con.commit()
            except BaseException:
                con.rollback()
                raise

    def events(self, dataset: str, tz: str = "Europe/Amsterdam") -> pd.DataFrame:
        """The events of a dataset (columns as in :meth:`set_events`, times in ``tz``)."""
        with self._connect(read_only=True) as con:
            frame = con.execute("SELECT name, start_utc, end_utc, uplift, channel, kind FROM events WHERE dataset = ? "
                                "ORDER BY start_utc, name", [dataset]).df()
        return pd.DataFrame({
            "name": frame["name"].astype(str),
            "start": _local(frame["start_utc"], tz),
            "end": _local(frame["end_utc"], tz),
            "uplift": frame["uplift"].astype(float),
            "channel": frame["channel"].astype(object).where(frame["channel"].notna(), None),
            "kind": frame["kind"].astype(str),
        })


def _now_naive_utc():
    return pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()


def _frame_to_json(frame: pd.DataFrame) -> dict:
    """A small frame as JSON-able records; tz-aware columns as ISO 8601 with offset (zone kept)."""
    out, zones = frame.copy(), {}
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            zones[col] = str(out[col].dt.tz)
            out[col] = out[col].map(lambda v: None if pd.isna(v) else v.isoformat())
        elif pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].map(lambda v: None if pd.isna(v) else v.isoformat())
        elif out[col].dtype == object:
            out[col] = out[col].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    out = out.astype(object).where(out.notna(), None)
    return {"columns": list(out.columns), "zones": zones, "rows": out.to_numpy().tolist()}


def _frame_from_json(data: dict) -> pd.DataFrame:
    frame = pd.DataFrame(data["rows"], columns=data["columns"])
    for col, tz in data.get("zones", {}).items():
        frame[col] = pd.to_datetime(frame[col], utc=True).dt.tz_convert(tz)
    return frame


@dataclass(frozen=True)


class ForecastInfo:
    name: str
    dataset: str | None
    created_at: pd.Timestamp
    tz: str
    meta: dict
