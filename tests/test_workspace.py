"""The workspace database: round trips, atomic replacement, deletion, two processes at once."""

from __future__ import annotations

import multiprocessing as mp

import pandas as pd
import pytest

from forecast.ingest import IngestOptions, ingest_files
from tests.conftest import NOW, message_times, naive_local_text
from webcare.workspace import Workspace, WorkspaceError


@pytest.fixture
def ingested(tmp_export):
    times = message_times("2025-10-10", 21, per_hour=2)
    frame = pd.DataFrame({
        "created_at": naive_local_text(times),
        "channel": ["whatsapp", "x"] * (len(times) // 2),
        "message_id": [f"id{i}" for i in range(len(times))],
        "case_id": [f"c{i // 3}" for i in range(len(times))],
        "handle_time_seconds": 120,
        "label": "question",
        "text": "persoonlijke tekst",
    })
    return ingest_files([tmp_export(frame)], IngestOptions(now=NOW))


def test_round_trip_keeps_zone_intervals_and_details(tmp_path, ingested):
    ws = Workspace(tmp_path / "ws.duckdb")
    info = ws.save_dataset("team a", ingested)
    assert info.tz == "Europe/Amsterdam" and info.freq == "1h"
    assert info.volume == int(ingested.history["y"].sum()) == info.messages
    history = ws.load_history("team a")
    pd.testing.assert_frame_equal(history, ingested.history.reset_index(drop=True))
    assert (history["ds"].dt.strftime("%Y-%m-%d") == "2025-10-26").sum() == 2 * 25
    messages = ws.load_messages("team a")
    assert len(messages) == len(ingested.messages)
    assert set(messages.columns) == {"ts", "channel", "message_id", "case_id", "handle_time_seconds", "label"}
    assert messages["handle_time_seconds"].eq(120).all()
    assert info.report["files"][0]["ignored_columns"] == ["text"]


def test_replacing_a_dataset_that_fails_midway_keeps_the_old_version(tmp_path, ingested, monkeypatch):
    ws = Workspace(tmp_path / "ws.duckdb")
    ws.save_dataset("team", ingested)
    before = ws.load_history("team")
    newer = ingested
    newer.history = newer.history.assign(y=newer.history["y"] * 2)

    original_execute = __import__("duckdb").DuckDBPyConnection.execute

    class Boom(RuntimeError):
        pass

    def failing_execute(self, query, *args, **kwargs):
        if query.startswith("INSERT INTO messages"):
            raise Boom("disk full")
        return original_execute(self, query, *args, **kwargs)

    monkeypatch.setattr("duckdb.DuckDBPyConnection.execute", failing_execute)
    with pytest.raises(Boom):
        ws.save_dataset("team", newer)
    monkeypatch.undo()
    after = ws.load_history("team")
    pd.testing.assert_frame_equal(before, after)
    assert len(ws.load_messages("team")) == len(ingested.messages)


def test_replacing_a_dataset_replaces_it_whole(tmp_path, ingested):
    ws = Workspace(tmp_path / "ws.duckdb")
    ws.save_dataset("team", ingested)
    ingested.history = ingested.history.iloc[:100]
    ws.save_dataset("team", ingested)
    assert len(ws.load_history("team")) == 100
    assert [d.name for d in ws.list_datasets()] == ["team"]


def test_delete_removes_history_and_messages(tmp_path, ingested):
    ws = Workspace(tmp_path / "ws.duckdb")
    ws.save_dataset("gone", ingested)
    ws.save_dataset("kept", ingested)
    ws.delete_dataset("gone")
    assert [d.name for d in ws.list_datasets()] == ["kept"]
    with pytest.raises(WorkspaceError, match="no dataset named 'gone'"):
        ws.load_messages("gone")
    import duckdb

    con = duckdb.connect(str(ws.path), read_only=True)
    assert con.execute("SELECT count(*) FROM messages WHERE dataset = 'gone'").fetchone()[0] == 0
    con.close()


def test_bad_names_are_refused(tmp_path, ingested):
    with pytest.raises(WorkspaceError, match="invalid dataset name"):
        Workspace(tmp_path / "ws.duckdb").save_dataset("../../etc; drop", ingested)


def _writer(path: str, name: str, history: pd.DataFrame, messages, report, rounds: int, queue) -> None:
    from forecast.ingest import IngestResult

    try:
        ws = Workspace(path)
        for i in range(rounds):
            ws.save_dataset(f"{name}{i % 2}", IngestResult(history, messages, report))
            ws.list_datasets()
        queue.put("ok")
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_share_one_workspace(tmp_path, ingested):
    path = str(tmp_path / "shared.duckdb")
    Workspace(path).list_datasets()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    workers = [
        ctx.Process(target=_writer, args=(path, name, ingested.history, ingested.messages, ingested.report, 6, queue))
        for name in ("app", "cli")
    ]
    for w in workers:
        w.start()
    # the parent reads while the two write
    reader = Workspace(path)
    for _ in range(5):
        reader.list_datasets()
    for w in workers:
        w.join(timeout=120)
    results = [queue.get(timeout=5) for _ in workers]
    assert results == ["ok", "ok"]
    names = sorted(d.name for d in Workspace(path).list_datasets())
    assert names == ["app0", "app1", "cli0", "cli1"]


def test_excluded_days_are_kept_per_dataset_and_go_with_it(tmp_path, ingested):
    ws = Workspace(tmp_path / "ws.duckdb")
    ws.save_dataset("team", ingested)
    days = {pd.Timestamp("2025-10-15"): "outage", pd.Timestamp("2025-10-20"): "viral complaint"}
    ws.set_excluded_days("team", days)
    assert ws.excluded_days("team") == days
    ws.set_excluded_days("team", {pd.Timestamp("2025-10-20"): "viral complaint"})
    assert list(ws.excluded_days("team")) == [pd.Timestamp("2025-10-20")]
    ws.save_dataset("team", ingested)  # a new upload keeps the analyst's choices
    assert len(ws.excluded_days("team")) == 1
    ws.delete_dataset("team")
    assert ws.excluded_days("team") == {}
    with pytest.raises(WorkspaceError):
        ws.set_excluded_days("team", days)


# -- forecasts, scenarios, settings, rosters, events -------------------------------------------


def _forecast(start="2026-10-24", hours=72):
    import numpy as np

    ds = pd.date_range(start, periods=hours, freq="h", tz="Europe/Amsterdam")
    frames = []
    for ch in ("whatsapp", "x"):
        y = np.linspace(1, 9, hours)
        frames.append(pd.DataFrame({"channel": ch, "ds": ds, "yhat": y, "yhat_lower_80": y - 1, "yhat_upper_80": y + 1,
                                    "yhat_lower_95": y - 2, "yhat_upper_95": y + 2, "model": "profile"}))
    return pd.concat(frames, ignore_index=True)


def test_forecasts_round_trip_through_a_dst_change_and_survive_a_new_workspace(tmp_path):
    fc = _forecast()
    Workspace(tmp_path / "ws.duckdb").save_forecast("volume +20%", fc, dataset="team", meta={"horizon": "3d"})
    again = Workspace(tmp_path / "ws.duckdb")  # a restart: a new object on the same file
    loaded = again.load_forecast("volume +20%")
    pd.testing.assert_frame_equal(loaded, fc, check_dtype=False)
    assert (loaded["ds"].dt.strftime("%Y-%m-%d") == "2026-10-25").sum() == 2 * 25
    info = again.forecast_info("volume +20%")
    assert info.dataset == "team" and info.meta == {"horizon": "3d"} and info.tz == "Europe/Amsterdam"
    again.save_forecast("volume +20%", fc.assign(yhat=fc["yhat"] * 2), dataset="team")
    assert len(again.list_forecasts()) == 1 and again.load_forecast("volume +20%")["yhat"].sum() == pytest.approx(fc["yhat"].sum() * 2)
    again.delete_forecast("volume +20%")
    with pytest.raises(WorkspaceError, match="no forecast named"):
        again.load_forecast("volume +20%")


def test_bad_forecasts_and_names_are_refused(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    with pytest.raises(WorkspaceError, match="channel, ds and yhat"):
        ws.save_forecast("f", _forecast().drop(columns="yhat"))
    with pytest.raises(WorkspaceError, match="invalid scenario name"):
        ws.save_scenario("  ", {})
    assert ws.list_forecasts() == [] and ws.list_scenarios() == {}


def test_settings_and_scenarios_are_kept(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    assert ws.setting("language", "en") == "en"
    ws.set_setting("language", "nl")
    ws.save_scenario("base", {"settings": {"shrinkage": 0.3}})
    ws.save_scenario("chatbot 30%", {"settings": {"shrinkage": 0.25}})
    again = Workspace(tmp_path / "ws.duckdb")
    assert again.setting("language") == "nl"
    assert again.list_scenarios() == {"base": {"settings": {"shrinkage": 0.3}}, "chatbot 30%": {"settings": {"shrinkage": 0.25}}}
    again.delete_scenario("base")
    assert list(again.list_scenarios()) == ["chatbot 30%"]


def test_rosters_and_events_round_trip_with_their_zones(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    start = pd.date_range("2026-10-25 06:00", periods=3, freq="8h", tz="Europe/Amsterdam")
    shifts = pd.DataFrame({"template": ["early", "late", "night"], "start": start, "end": start + pd.Timedelta(hours=8),
                           "break_start": [start[0] + pd.Timedelta(hours=4), pd.NaT, pd.NaT], "count": [2, 3, 1],
                           "cost": [480.0, 720.0, 300.5]})
    ws.save_roster("week 44", {"shifts": shifts}, meta={"status": "optimal"})
    frames, meta = Workspace(tmp_path / "ws.duckdb").load_roster("week 44")
    assert meta == {"status": "optimal"} and ws.list_rosters() == ["week 44"]
    pd.testing.assert_frame_equal(frames["shifts"], shifts, check_dtype=False)
    events = pd.DataFrame({"name": ["campaign", "outage"], "start": start[:2], "end": start[1:3],
                           "uplift": [0.25, float("nan")], "channel": [None, "x"], "kind": ["campaign", "outage"]})
    ws.set_events("team", events)
    loaded = ws.events("team")
    assert loaded["name"].tolist() == ["campaign", "outage"] and loaded["channel"].tolist() == [None, "x"]
    assert (loaded["start"] == events["start"]).all() and loaded["uplift"].iloc[0] == 0.25 and pd.isna(loaded["uplift"].iloc[1])
    ws.set_events("team", events.iloc[:0])
    assert ws.events("team").empty
