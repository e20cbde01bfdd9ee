"""The app, driven without a browser (Streamlit's AppTest).

Most tests run on a tiny workspace (five weeks, two channels) saved under the name ``sample``, so
the app does not ingest the two-year sample; one test opens on the real bundled sample."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from forecast.ingest import IngestOptions, ingest_files
from tests.conftest import NOW, REPO, message_times, naive_local_text
from forecast.models import get_forecaster
from webcare import auth
from webcare.scenarios import default_settings
from webcare.workspace import Workspace

TINY_FORECAST = "tiny profile 14d"
PAGES = ["forecast", "staffing", "opening_hours", "scenarios", "kpis"]


def make_tiny_workspace(folder) -> "Path":
    """A workspace whose 'sample' is five weeks of two channels (about three messages an hour)."""
    rng = np.random.default_rng(7)
    times = message_times("2026-09-14", 35, per_hour=4)
    times = times[rng.random(len(times)) < 0.7]
    frame = pd.DataFrame({"created_at": naive_local_text(times), "channel": rng.choice(["whatsapp", "x"], len(times), p=[0.4, 0.6]),
                          "handle_time_seconds": 200})
    frame.to_csv(folder / "tiny.csv", index=False)
    ws = Workspace(folder / "ws.duckdb")
    info = ws.save_dataset("sample", ingest_files([folder / "tiny.csv"], IngestOptions(now=NOW)))
    # a two-week planning forecast and reachable settings keep the planning pages quick
    forecast = get_forecaster("profile").fit(ws.load_history("sample")).predict("14d", (80, 95))
    ws.save_forecast(TINY_FORECAST, forecast, dataset="sample")
    settings = default_settings(info.channels, {"whatsapp": 200.0, "x": 200.0})
    for plan in settings.channels.values():
        plan.target = 0.6
    ws.set_setting("plan_settings", settings.copy(opening=["07:00-23:00"] * 7).to_dict())
    return folder / "ws.duckdb"


@pytest.fixture(scope="module")
def tiny_workspace(tmp_path_factory):
    return make_tiny_workspace(tmp_path_factory.mktemp("tiny"))


def _start(monkeypatch, path) -> AppTest:
    monkeypatch.setenv("WEBCARE_WORKSPACE", str(path))
    monkeypatch.delenv(auth.ENV_VAR, raising=False)
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def tiny(tmp_path, monkeypatch, tiny_workspace):
    path = tmp_path / "ws.duckdb"
    shutil.copy(tiny_workspace, path)
    return _start(monkeypatch, path)


def tiny_path(at: AppTest):
    import os

    return os.environ["WEBCARE_WORKSPACE"]


def _page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page with ``column``."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with column {column!r}")


def _metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


def test_data_page_opens_on_the_sample(tmp_path, monkeypatch):
    at = _start(monkeypatch, tmp_path / "ws.duckdb")
    assert at.title[0].value == "Data"
    assert at.selectbox(key="dataset_choice").value == "sample"
    metrics = _metrics(at)
    assert metrics["Messages"] == "774,654" and metrics["Channels"] == "4" and metrics["Gaps"] == "none"
    assert [s.value for s in at.subheader] == ["When messages arrive", "Days that stand out"]
    # the spike detector (forecast.spikes) lists the injected events of the sample (data/sample/events.csv)
    flagged = set(_table(at, "exclude from training")["date"])
    assert {"12-02-2025", "18-09-2025", "07-07-2026"} <= flagged


def test_upload_of_a_bad_file_shows_a_message_and_saves_nothing(tiny):
    times = message_times("2025-09-01", 20, per_hour=1)
    frame = pd.DataFrame({"created_at": naive_local_text(times)})
    frame.loc[3, "created_at"] = "gisteren"
    tiny.file_uploader(key="upload_files").upload("broken export.csv", frame.to_csv(index=False).encode())
    tiny.button(key="upload_submit").click().run()
    assert not tiny.exception
    assert any("broken export.csv, column 'created_at', row 5" in e.value for e in tiny.error)
    assert tiny.selectbox(key="dataset_choice").options == ["sample"]


def test_upload_of_a_good_file_is_saved_shown_and_remembered(tiny):
    times = message_times("2025-09-01", 20, per_hour=2)
    frame = pd.DataFrame({"Datum": naive_local_text(times, "%d-%m-%Y %H:%M:%S"), "Kanaal": "WhatsApp"})
    tiny.file_uploader(key="upload_files").upload("team export.csv", frame.to_csv(index=False, sep=";").encode())
    tiny.button(key="upload_submit").click().run()
    assert not tiny.exception, [e.value for e in tiny.exception]
    assert tiny.selectbox(key="dataset_choice").value == "team export"
    assert _metrics(tiny)["Messages"] == f"{len(times):,}"
    # the choice survives a page change: the Forecast page works on the uploaded dataset
    _page(tiny, "forecast")
    assert any("team export" in c.value for c in tiny.caption)


def test_every_page_opens_without_error(tiny):
    titles = []
    for page in PAGES:
        _page(tiny, page)
        assert not tiny.error, (page, [e.value for e in tiny.error])
        titles.append(tiny.title[0].value)
    assert titles == ["Forecast", "Staffing", "Opening hours", "Scenarios", "KPIs"]
    assert _metrics(tiny)["Service level"].endswith("%")


def test_forecast_auto_shows_the_backtest_and_is_saved(tiny):
    _page(tiny, "forecast")
    assert tiny.selectbox(key="model_choice").value == "auto"
    tiny.number_input(key="horizon_days").set_value(7)
    tiny.button(key="run_forecast").click().run()
    assert not tiny.exception and not tiny.error, [e.value for e in tiny.error]
    table = _table(tiny, "WAPE")
    assert {"WAPE", "MASE", "bias", "coverage 80%", "coverage 95%"} <= set(table.columns)
    assert set(table["Channel"]) == {"whatsapp", "x"} and table["chosen"].sum() == 2
    assert (table["WAPE"].dropna() > 0).all()
    tiny.text_input(key="forecast_name").set_value("week ahead")
    tiny.button(key="save_forecast_button").click().run()
    assert any("week ahead" in s.value for s in tiny.success)
    # the Staffing page plans on the saved forecast
    _page(tiny, "staffing")
    assert any("week ahead" in c.value for c in tiny.caption)


def test_forecast_survives_a_restart(tmp_path, monkeypatch, tiny_workspace):
    path = tmp_path / "ws.duckdb"
    shutil.copy(tiny_workspace, path)
    Workspace(path).delete_forecast(TINY_FORECAST)
    at = _start(monkeypatch, path)
    _page(at, "staffing")  # without a forecast, the planning pages make and save a default one
    saved = Workspace(path).list_forecasts()
    assert len(saved) == 1 and saved[0].dataset == "sample"
    again = _page(_start(monkeypatch, path), "staffing")
    assert any(saved[0].name in c.value for c in again.caption)
    assert len(Workspace(path).list_forecasts()) == 1


def test_changing_a_target_changes_the_plan_and_is_kept(tiny):
    _page(tiny, "staffing")
    before = _metrics(tiny)
    tiny.number_input(key="target_x").set_value(40.0)
    tiny.number_input(key="target_whatsapp").set_value(40.0)
    tiny.text_input(key="open_5").set_value("10:00-18:00")
    tiny.button(key="save_settings").click().run()
    assert not tiny.exception and not tiny.error, [e.value for e in tiny.error]
    after = _metrics(tiny)
    hours = lambda m: float(m["Agent-hours"].replace(",", ""))  # noqa: E731
    assert hours(after) < hours(before)
    # kept across a page change
    _page(tiny, "kpis")
    _page(tiny, "staffing")
    assert tiny.number_input(key="target_x").value == 40.0
    assert tiny.text_input(key="open_5").value == "10:00-18:00"


def test_impossible_settings_are_a_message_not_a_traceback(tiny):
    _page(tiny, "staffing")
    tiny.text_input(key="open_0").set_value("25:00-27:00")
    tiny.button(key="save_settings").click().run()
    assert not tiny.exception
    assert any("opening hours" in e.value for e in tiny.error)


def test_typed_staffing_shows_what_it_reaches(tiny):
    _page(tiny, "staffing")
    planned = _metrics(tiny)["Service level"]
    tiny.number_input(key="typed_x").set_value(1)
    tiny.number_input(key="typed_whatsapp").set_value(1)
    tiny.run()
    assert not tiny.exception and not tiny.error, [e.value for e in tiny.error]
    reached = [m for m in tiny.metric if m.label == "Service level"]
    assert len(reached) == 2 and reached[1].value != planned
    assert any("the given staffing reaches" in c.value for c in tiny.caption)


def test_bad_staffing_upload_names_the_problem(tiny):
    _page(tiny, "staffing")
    bad = "ds,agents\n2026-10-19 08:00,2\n2026-10-19 08:15,-1\n"
    tiny.file_uploader(key="staffing_file").upload("staff.csv", bad.encode())
    tiny.run()
    assert not tiny.exception
    assert any("staff.csv" in e.value for e in tiny.error)


def test_opening_hours_compares_a_proposal(tiny):
    _page(tiny, "opening_hours")
    for i in range(7):
        tiny.text_input(key=f"proposed_{i}").set_value("00:00-24:00")
    tiny.button(key="compare_hours").click().run()
    assert not tiny.exception and not tiny.error, [e.value for e in tiny.error]
    shares = {m.label.split("·")[-1].strip(): m.value for m in tiny.metric}
    assert shares["Proposed"] == "0.0%" and float(shares["Current"].rstrip("%")) > 30
    compare = _table(tiny, "Hours open per week")
    assert list(compare["Hours open per week"]) == ["112.0", "168.0"]


def test_save_and_compare_two_scenarios(tiny):
    _page(tiny, "scenarios")
    assert any("Save at least one scenario" in i.value for i in tiny.info)
    tiny.text_input(key="scenario_name").set_value("base")
    tiny.button(key="save_scenario").click().run()
    tiny.text_input(key="scenario_name").set_value("busier, same team")
    tiny.number_input(key="sc_volume").set_value(300.0)
    tiny.number_input(key="sc_aht").set_value(200.0)
    tiny.selectbox(key="sc_keep").set_value("base")
    tiny.button(key="save_scenario").click().run()
    assert not tiny.exception and not tiny.error, [e.value for e in tiny.error]
    table = _table(tiny, "").set_index("")
    assert list(table.columns) == ["base", "busier, same team"]
    sl = table.loc["Service level"].str.rstrip("%").str.replace(",", "").astype(float)
    assert sl["busier, same team"] < sl["base"]
    assert table.loc["Cost per week", "base"] == table.loc["Cost per week", "busier, same team"]
    assert table.loc["What changes", "busier, same team"] == "volume +300%, handle time +200%, staffing of base"
    # a busier scenario planned to the target needs more agents; a chatbot takes part of it
    tiny.text_input(key="scenario_name").set_value("busier with a chatbot")
    tiny.number_input(key="sc_volume").set_value(300.0)
    tiny.number_input(key="sc_aht").set_value(0.0)
    tiny.selectbox(key="sc_keep").set_value("")
    tiny.selectbox(key="sc_bot_channel").set_value("x")
    tiny.number_input(key="sc_bot_share").set_value(50.0)
    tiny.button(key="save_scenario").click().run()
    assert not tiny.exception and not tiny.error, [e.value for e in tiny.error]
    table = _table(tiny, "").set_index("")
    assert list(table.columns) == ["base", "busier, same team", "busier with a chatbot"]
    hours = table.loc["Agent-hours"].str.replace(",", "").astype(float)
    assert hours["busier with a chatbot"] > hours["base"]
    assert table.loc["What changes", "busier with a chatbot"] == "volume +300%, chatbot 50% x"
    assert table.loc["Probability of reaching the target"].str.endswith("%").all()


def test_kpi_page_and_wall_display(tiny):
    _page(tiny, "kpis")
    labels = [m.label for m in tiny.metric]
    assert labels == ["Service level", "Mean response", "Open messages (max)", "Messages"]
    days = _table(tiny, "Week")
    assert len(days) == 14 and days["Week"].str.match(r"W\d\d").all()
    simulated = days["Simulated service level"]
    assert simulated.between(0, 1).all() and days["Probability of reaching the target"].between(0, 1).all()
    tiny.toggle(key="wall_mode").set_value(True).run()
    assert not tiny.exception
    assert len(tiny.dataframe) == 0 and len(tiny.metric) == 4


def test_dutch_interface(tiny):
    tiny.session_state["lang"] = "nl"
    _page(tiny, "staffing")
    assert tiny.title[0].value == "Bezetting"
    assert "Servicelevel" in _metrics(tiny)
    assert any("maandag" == t.label for t in tiny.text_input)


def test_password_gate_asks_first(tmp_path, monkeypatch, tiny_workspace):
    path = tmp_path / "ws.duckdb"
    shutil.copy(tiny_workspace, path)
    monkeypatch.setenv("WEBCARE_WORKSPACE", str(path))
    monkeypatch.setenv(auth.ENV_VAR, auth.make_hash("geheim wachtwoord"))
    monkeypatch.setattr(auth, "failure_delay", lambda failures: 0.0)
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert [ti.value for ti in at.title] == ["webcare-planner"] and not at.metric
    at.text_input(key="password").input("wrong")
    at.button[0].click().run()
    assert any("Wrong password" in e.value for e in at.error) and not at.metric
    at.text_input(key="password").input("geheim wachtwoord")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Data" and _metrics(at)["Channels"] == "2"


def test_beyond_localhost_without_a_hash_shows_no_data(tmp_path, monkeypatch, tiny_workspace):
    from streamlit import config

    path = tmp_path / "ws.duckdb"
    shutil.copy(tiny_workspace, path)
    monkeypatch.setenv("WEBCARE_WORKSPACE", str(path))
    monkeypatch.delenv(auth.ENV_VAR, raising=False)
    monkeypatch.chdir(REPO)
    old = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        at.run()
    finally:
        config.set_option("server.address", old)
    assert not at.exception
    assert any("no password is set" in e.value for e in at.error)
    assert any("python -m webcare.auth hash" in m.value for m in at.markdown)
    assert not at.metric and not at.text_input


def test_roster_is_optimised_on_a_small_case(tiny):
    from app_pages.roster_support import available

    if not available():
        pytest.skip("scheduling/roster (solve_roster, assign_agents, export) is not available")
    _page(tiny, "roster")
    assert any("Optimise the roster" in i.value for i in tiny.info)
    tiny.number_input(key="roster_time_limit").set_value(5)
    tiny.button(key="optimise").click().run()
    assert not tiny.exception, [e.value for e in tiny.exception]
    assert not tiny.error, [e.value for e in tiny.error]
    metrics = _metrics(tiny)
    assert float(metrics["Shifts"].replace(",", "")) > 0 and metrics["Cost"].startswith("€ ")
    assert any("paid hours" in c.value for c in tiny.caption)
    assert {b.label for b in tiny.get("download_button")} >= {"Download CSV", "Download XLSX"}
    # kept in the workspace: a restart shows the same roster without optimising again
    path = tiny_path(tiny)
    assert any(name.startswith("sample 20") for name in Workspace(path).list_rosters())


def test_saved_events_are_applied_to_the_forecast(tiny):
    from app_pages.common import optional_module

    if optional_module("forecast.events") is None:
        pytest.skip("forecast/events.py is not available")
    path = tiny_path(tiny)
    ws = Workspace(path)
    forecast = ws.load_forecast(TINY_FORECAST)
    first_day = forecast["ds"].min()
    day_total = forecast.loc[forecast["ds"] < first_day + pd.Timedelta(days=1), "yhat"].sum()
    ws.set_events("sample", pd.DataFrame({"name": ["campaign"], "start": [first_day], "end": [first_day + pd.Timedelta(days=1)],
                                          "uplift": [1.0], "channel": [None], "kind": ["campaign"]}))
    _page(tiny, "forecast")
    assert not tiny.error, [e.value for e in tiny.error]
    shown = float(_metrics(tiny)["Messages"].replace(",", ""))
    assert shown == pytest.approx(forecast["yhat"].sum() + day_total, abs=1.0)


def test_opening_hours_frontier_runs_the_optimiser(tiny):
    from app_pages.common import optional_module

    if optional_module("scheduling.roster.opening") is None:
        pytest.skip("scheduling/roster/opening.py is not available")
    _page(tiny, "opening_hours")
    tiny.text_input(key="frontier_targets").set_value("60")
    tiny.number_input(key="frontier_limit").set_value(5)
    tiny.text_input(key="frontier_candidates").set_value("mon-sun 08:00-20:00 | 07:00-23:00")
    tiny.button(key="frontier_run").click().run()
    assert not tiny.exception and not tiny.error, [e.value for e in tiny.error]
    table = _table(tiny, "sl_reached")
    assert list(table["target"]) == ["60%"] and table["status"].iloc[0] in {"optimal", "time_limit", "error", "infeasible-explained"}
    if table["status"].iloc[0] in {"optimal", "time_limit"}:
        assert table["cost"].iloc[0] > 0 and table["opening"].iloc[0].startswith("mon ")
    else:
        assert any("within the time limit" in w.value for w in tiny.warning)
