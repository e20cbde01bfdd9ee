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
