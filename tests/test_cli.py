"""The command line: ingest, inspect, datasets; exit status 2 and nothing written on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import REPO, message_times, naive_local_text
from webcare.cli import main
from webcare.workspace import Workspace


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    path = tmp_path / "ws.duckdb"
    monkeypatch.setenv("WEBCARE_WORKSPACE", str(path))
    return path


@pytest.fixture
def export(tmp_export):
    times = message_times("2025-09-01", 28, per_hour=3)
    frame = pd.DataFrame({
        "Aangemaakt op": naive_local_text(times, "%d-%m-%Y %H:%M:%S"),
        "Kanaal": ["WhatsApp", "Instagram", "X"] * (len(times) // 3),
        "Bericht": "Waar blijft mijn bestelling?",
    })
    return tmp_export(frame, "inbox export.csv", sep=";"), len(times)


def test_ingest_writes_history_and_dataset(workspace, export, tmp_path, capsys):
    path, n = export
    out = tmp_path / "history.csv"
    assert main(["ingest", str(path), "--out", str(out), "--dataset", "team"]) == 0
    printed = capsys.readouterr().out
    assert f"{n:,} messages" in printed and "not kept: Bericht" in printed
    history = pd.read_csv(out)
    assert list(history.columns) == ["ds", "channel", "y"]
    assert history["y"].sum() == n
    assert history["ds"].str.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:00:00[+-]\d{2}:\d{2}$").all()
    assert Workspace(workspace).dataset_info("team").volume == n


def test_inspect_a_file_and_a_dataset(workspace, export, capsys):
    path, n = export
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"Volume: {n:,} messages" in text
    assert "Busiest hours" in text and "Weekday" in text and "Gaps: none" in text
    main(["ingest", str(path), "--dataset", "team"])
    capsys.readouterr()
    assert main(["inspect", "--dataset", "team"]) == 0
    assert f"Volume: {n:,} messages" in capsys.readouterr().out


def test_datasets_list_and_delete(workspace, export, capsys):
    path, _ = export
    main(["ingest", str(path)])
    capsys.readouterr()
    assert main(["datasets"]) == 0
    assert "inbox export" in capsys.readouterr().out
    assert main(["datasets", "delete", "inbox export"]) == 0
    assert Workspace(workspace).list_datasets() == []
    assert main(["datasets", "delete", "inbox export"]) == 2


def test_bad_input_exits_2_names_the_problem_and_writes_nothing(workspace, tmp_export, export, tmp_path, capsys):
    good, _ = export
    main(["ingest", str(good), "--dataset", "team"])
    before = Workspace(workspace).load_history("team")
    times = message_times("2025-09-01", 20, per_hour=1)
    frame = pd.DataFrame({"created_at": naive_local_text(times)})
    frame.loc[6, "created_at"] = "later"
    bad = tmp_export(frame, "bad.csv")
    out = tmp_path / "out.csv"
    capsys.readouterr()
    assert main(["ingest", str(bad), "--out", str(out), "--dataset", "team"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, column 'created_at', row 8" in err and "nothing was written" in err
    assert not out.exists()
    pd.testing.assert_frame_equal(Workspace(workspace).load_history("team"), before)


def test_bad_flags_exit_2(workspace, export, capsys):
    path, _ = export
    assert main(["ingest", str(path), "--tz", "Nowhere/Town"]) == 2
    assert "unknown time zone" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["ingest", str(path), "--freq", "soon"])
    assert info.value.code == 2
    assert main(["ingest", str(path), "--freq", "2h"]) == 2


def test_console_script_shows_no_traceback(tmp_path):
    bad = tmp_path / "empty.csv"
    bad.write_text("")
    env = {**os.environ, "WEBCARE_WORKSPACE": str(tmp_path / "ws.duckdb")}
    proc = subprocess.run([sys.executable, "-m", "webcare.cli", "ingest", str(bad)], capture_output=True, text=True, env=env, cwd=REPO)
    assert proc.returncode == 2
    assert "empty.csv: the file is empty" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_report_json_and_inspect_json(workspace, export, tmp_path, capsys):
    import json

    path, n = export
    report = tmp_path / "report.json"
    assert main(["ingest", str(path), "--no-save", "--report-json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["files"][0]["messages"] == n and data["files"][0]["ignored_columns"] == ["Bericht"]
    assert data["tz"] == "Europe/Amsterdam" and data["freq"] == "1h"
    assert Workspace(workspace).list_datasets() == []  # --no-save
    capsys.readouterr()
    assert main(["inspect", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total"] == n
    assert len(summary["by_hour"]) == 24 and {"weekday", "per_day", "index"} <= set(summary["by_weekday"][0])


@pytest.fixture
def weekly_history(tmp_path):
    """Six weeks of hourly counts for two channels with a daily shape, as a canonical history CSV."""
    import numpy as np

    from forecast.ingest import IngestOptions, history_to_csv, ingest_files

    ds = pd.date_range("2025-09-01", periods=42 * 24, freq="1h")
    rng = np.random.default_rng(3)
    shape = np.where((ds.hour >= 8) & (ds.hour < 22), 12, 2)
    frame = pd.concat([
        pd.DataFrame({"ds": ds.strftime("%Y-%m-%d %H:%M"), "channel": ch, "count": rng.poisson(shape * f)})
        for ch, f in (("whatsapp", 2), ("x", 1))
    ])
    raw = tmp_path / "counts.csv"
    frame.to_csv(raw, index=False)
    history = tmp_path / "history.csv"
    history_to_csv(ingest_files([raw], IngestOptions()).history, history)
    return history, frame


def test_forecast_writes_the_documented_table(workspace, weekly_history, tmp_path, capsys):
    history, frame = weekly_history
    out, metrics = tmp_path / "forecast.csv", tmp_path / "metrics.csv"
    assert main(["forecast", str(history), "--horizon", "7d", "--out", str(out), "--backtest-out", str(metrics), "--model", "profile"]) == 0
    forecast = pd.read_csv(out)
    assert list(forecast.columns) == ["channel", "ds", "yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95", "model"]
    assert len(forecast) == 2 * 7 * 24 and set(forecast["model"]) == {"profile"}
    assert (forecast["yhat"] >= 0).all() and (forecast["yhat_lower_95"] <= forecast["yhat_lower_80"]).all()
    assert (forecast["yhat_upper_80"] <= forecast["yhat_upper_95"]).all()
    assert forecast["ds"].iloc[0] == "2025-10-13T00:00:00+02:00"
    # the busy hours are forecast about where the history had them (mean 24 and 12 per hour)
    busy = forecast[pd.to_datetime(forecast["ds"], utc=True).dt.tz_convert("Europe/Amsterdam").dt.hour.between(9, 20)]
    assert abs(busy[busy["channel"] == "whatsapp"]["yhat"].mean() - 24) < 3
    table = pd.read_csv(metrics)
    assert set(table["channel"]) == {"whatsapp", "x"} and (table["folds"] == 3).all()
    assert table["wape"].between(0, 1).all()


def test_forecast_auto_on_a_dataset_skips_excluded_days(workspace, weekly_history, tmp_path, capsys):
    history, _ = weekly_history
    main(["ingest", str(history), "--dataset", "team"])
    Workspace(workspace).set_excluded_days("team", {pd.Timestamp("2025-10-08"): "outage"})
    out = tmp_path / "forecast.csv"
    capsys.readouterr()
    assert main(["forecast", "--dataset", "team", "--horizon", "3d", "--out", str(out),
                 "--candidates", "snaive", "profile", "ets"]) == 0
    printed = capsys.readouterr().out
    assert "left out of training: 1 excluded day" in printed and "lowest mean MASE" in printed
    assert len(pd.read_csv(out)) == 2 * 3 * 24


@pytest.mark.parametrize("flags,message", [
    (["--horizon", "0"], "horizon"),
    (["--horizon", "400d"], "horizon"),
    (["--model", "crystal-ball"], "unknown model"),
    (["--candidates", "snaive", "oracle"], "unknown model"),
    (["--level", "80", "80"], "given twice"),
])
def test_forecast_bad_flags_exit_2(workspace, weekly_history, tmp_path, capsys, flags, message):
    history, _ = weekly_history
    out = tmp_path / "forecast.csv"
    assert main(["forecast", str(history), "--out", str(out), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_dataset_keeps_its_zone(workspace, tmp_export, capsys):
    times = message_times("2025-10-15", 20, per_hour=2, tz="America/New_York")
    frame = pd.DataFrame({"created_at": naive_local_text(times)})
    assert main(["ingest", str(tmp_export(frame, "ny.csv")), "--tz", "America/New_York", "--dataset", "ny"]) == 0
    capsys.readouterr()
    assert main(["inspect", "--dataset", "ny"]) == 0
    assert "(America/New_York)" in capsys.readouterr().out
    assert main(["inspect", "--dataset", "ny", "--tz", "Europe/Amsterdam"]) == 0
    assert "(Europe/Amsterdam)" in capsys.readouterr().out


def test_nothing_is_written_when_the_dataset_cannot_be_saved(workspace, export, tmp_path, capsys):
    path, _ = export
    out, report = tmp_path / "h.csv", tmp_path / "r.json"
    assert main(["ingest", str(path), "--out", str(out), "--report-json", str(report), "--dataset", "team/a"]) == 2
    assert "invalid dataset name" in capsys.readouterr().err
    assert not out.exists() and not report.exists()
    # a workspace path that is not a database: a message, and no history file either
    assert main(["--workspace", str(path), "ingest", str(path), "--out", str(out), "--dataset", "ok"]) == 2
    assert "workspace" in capsys.readouterr().err
    assert not out.exists()


def test_default_dataset_names_are_valid(workspace, tmp_export, capsys):
    times = message_times("2025-09-01", 15, per_hour=1)
    odd = tmp_export(pd.DataFrame({"created_at": naive_local_text(times)}), "-jan 2025 (export).csv")
    assert main(["ingest", str(odd)]) == 0
    assert [d.name for d in Workspace(workspace).list_datasets()] == ["jan 2025  export"]


def test_written_files_have_normal_permissions(workspace, export, tmp_path):
    path, _ = export
    out = tmp_path / "h.csv"
    assert main(["ingest", str(path), "--out", str(out), "--no-save"]) == 0
    assert out.stat().st_mode & 0o044 == 0o044  # readable by group and others under the usual umask


def test_a_forecast_is_kept_in_the_workspace(workspace, weekly_history, tmp_path, capsys):
    history, _ = weekly_history
    out = tmp_path / "next week.csv"
    assert main(["forecast", str(history), "--model", "profile", "--horizon", "3d", "--out", str(out)]) == 0
    assert "kept forecast 'next week' in the workspace" in capsys.readouterr().out
    kept = Workspace(workspace).load_forecast("next week")
    written = pd.read_csv(out)
    assert len(kept) == len(written) and kept["yhat"].sum() == pytest.approx(written["yhat"].sum())
    assert main(["forecast", str(history), "--model", "profile", "--horizon", "3d", "--out", str(tmp_path / "b.csv"),
                 "--no-save"]) == 0
    assert [f.name for f in Workspace(workspace).list_forecasts()] == ["next week"]
