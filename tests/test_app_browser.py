"""One real-browser run: the app served on localhost, rendered by headless Chromium (Debian's
package, installed by .ci/run), on the bundled sample."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout} s")


@pytest.fixture
def served_app(tmp_path):
    port = _free_port()
    env = {**os.environ, "WEBCARE_WORKSPACE": str(tmp_path / "ws.duckdb")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, timeout=60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def screenshot_page(url: str, shot: Path, wait_for: str, timeout_ms: int = 120_000) -> str:
    """Open the page in Debian's Chromium (driven by Playwright, no browser download), wait until
    ``wait_for`` is shown, take a full-page screenshot and return the page's text."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2600})
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_text(wait_for, exact=False).first.wait_for(timeout=timeout_ms)
            page.wait_for_timeout(2500)  # let the charts finish drawing
            page.screenshot(path=str(shot), full_page=True)
            return page.inner_text("body")
        finally:
            browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_data_page_renders_in_a_real_browser(served_app, tmp_path):
    shot = Path(os.environ.get("WEBCARE_SCREENSHOT_DIR", tmp_path)) / "data_page.png"
    # the first visit loads the two-year sample into the empty workspace
    text = screenshot_page(served_app, shot, wait_for="Days that stand out")
    assert "When messages arrive" in text and "774.654" in text
    assert "Traceback" not in text and "Error" not in text
    assert shot.exists() and shot.stat().st_size > 50_000
