"""The app, driven without a browser (Streamlit's AppTest)."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO, message_times, naive_local_text


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBCARE_WORKSPACE", str(tmp_path / "ws.duckdb"))
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    return at


def test_data_page_opens_on_the_sample(app):
    assert not app.exception
    assert app.title[0].value == "Data"
    assert app.selectbox(key="dataset_choice").value == "sample"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Messages"] == "774.654" and metrics["Channels"] == "4" and metrics["Gaps"] == "none"
    assert [s.value for s in app.subheader] == ["When messages arrive", "Days that stand out"]


def test_upload_of_a_bad_file_shows_a_message_and_saves_nothing(app):
    times = message_times("2025-09-01", 20, per_hour=1)
    frame = pd.DataFrame({"created_at": naive_local_text(times)})
    frame.loc[3, "created_at"] = "gisteren"
    app.file_uploader(key="upload_files").upload("broken export.csv", frame.to_csv(index=False).encode())
    app.button(key="upload_submit").click().run()
    assert not app.exception
    assert any("broken export.csv, column 'created_at', row 5" in e.value for e in app.error)
    assert app.selectbox(key="dataset_choice").options == ["sample"]


def test_upload_of_a_good_file_is_saved_and_shown(app):
    times = message_times("2025-09-01", 20, per_hour=2)
    frame = pd.DataFrame({"Datum": naive_local_text(times, "%d-%m-%Y %H:%M:%S"), "Kanaal": "WhatsApp"})
    app.file_uploader(key="upload_files").upload("team export.csv", frame.to_csv(index=False, sep=";").encode())
    app.button(key="upload_submit").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.selectbox(key="dataset_choice").value == "team export"
    assert {m.label: m.value for m in app.metric}["Messages"] == f"{len(times):,}".replace(",", ".")
