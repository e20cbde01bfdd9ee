"""One real-browser run: the app served on localhost, rendered by headless Chromium (Debian's
package, installed by .ci/run; driven by Playwright with ``executable_path``, no browser download),
through every page on a tiny workspace. Screenshots go to $WEBCARE_SCREENSHOT_DIR (or a temporary
folder); `scripts/screenshots.py` makes the ones in docs/ on the full sample with the same driver."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_app import make_tiny_workspace

_spec = importlib.util.spec_from_file_location("webcare_screenshots", REPO / "scripts" / "screenshots.py")
shots = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shots)


@pytest.mark.skipif(shots.CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_every_page_renders_in_a_real_browser(tmp_path):
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    workspace = make_tiny_workspace(tmp_path)
    out = Path(os.environ.get("WEBCARE_SCREENSHOT_DIR", tmp_path / "shots"))
    with shots.serve(workspace) as url:
        # no scenarios are saved in the tiny workspace: wait for the comparison's heading instead; the
        # roster page is opened but not optimised here (the optimiser's run is tested by AppTest)
        special = {"scenarios": ("Compare scenarios", None, None), "roster": ("Shift templates", None, None)}
        pages = [(path, name, *special.get(name, (marker, button, working)))
                 for path, name, marker, button, working in shots.PAGES]
        texts = shots.shoot(url, out, pages)
    assert {"data", "forecast", "staffing", "opening_hours", "scenarios", "kpis", "roster"} <= set(texts)
    for name, text in texts.items():
        assert "Traceback" not in text and "This app has encountered an error" not in text, name
        assert (out / f"{name}.png").stat().st_size > 30_000, name
    assert "When messages arrive" in texts["data"]
    assert "Backtest: how each model did" in texts["forecast"]  # shown once "Make the forecast" has run
    assert "Required agents per quarter-hour" in texts["staffing"]
    assert "Backlog at opening" in texts["opening_hours"]
    assert "Optimising" not in texts["opening_hours"]  # the frontier ("Compute the frontier") has finished
    assert "Save at least one scenario" in texts["scenarios"]
    assert "Open messages (max)" in texts["kpis"]
    assert "Optimise the roster" in texts["roster"] and "Agents" in texts["roster"]
