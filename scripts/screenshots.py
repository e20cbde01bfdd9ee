"""Regenerate the app's screenshots in docs/screenshots/ (one PNG per page) with one command:

    .venv/bin/python scripts/screenshots.py            # on the bundled two-year sample
    .venv/bin/python scripts/screenshots.py --out /tmp/shots --workspace /tmp/ws.duckdb

Serves the app on localhost with a fresh workspace (the sample is ingested on first start),
prepares a planning forecast and four scenarios through the library (no clicking needed), and
drives Debian's Chromium with Playwright (``executable_path``: no browser download) through the
pages. The same driver is used by tests/test_app_browser.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--disable-dev-shm-usage"]

# (url path, file name, a text that shows once the page has drawn, an optional button to press
# first, an optional text shown while the button's work runs: waited on until it is gone)
PAGES = [
    ("", "data", "Days that stand out", None, None),
    ("forecast", "forecast", "Backtest: how each model did", "Make the forecast", None),
    ("staffing", "staffing", "SL ceiling per day", None, None),
    ("opening-hours", "opening_hours", "Messages arriving while closed", "Compute the frontier", "Optimising"),
    ("scenarios", "scenarios", "Service level per ISO week", None, None),
    ("kpis", "kpis", "Per day", None, None),
    ("roster", "roster", "Roster for", "Optimise the roster", None),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
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


@contextmanager
def serve(workspace: Path, timeout: float = 120):
    """The app on a free localhost port with ``workspace``; yields its URL."""
    port = free_port()
    env = {**os.environ, "WEBCARE_WORKSPACE": str(workspace)}
    env.pop("WEBCARE_PASSWORD_HASH", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def shoot(url: str, out_dir: Path, pages=PAGES, timeout_ms: int = 240_000, width: int = 1400) -> dict[str, str]:
    """Visit every page in one Chromium, press its button if any, wait for its marker text, save a
    full-page PNG; returns each page's visible text."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 1000})
            for path, name, marker, button, working in pages:
                page.goto(f"{url}/{path}", wait_until="domcontentloaded")
                if button:
                    page.get_by_role("button", name=button).first.click(timeout=timeout_ms)
                page.get_by_text(marker, exact=False).first.wait_for(timeout=timeout_ms)
                if working:  # it may come and go before we look: wait a little for it, then for it to go
                    try:
                        page.get_by_text(working, exact=False).first.wait_for(timeout=5_000)
                    except PlaywrightTimeout:
                        pass
                    page.get_by_text(working, exact=False).first.wait_for(state="hidden", timeout=timeout_ms)
                wait_until_idle(page, timeout_ms)
                page.wait_for_timeout(1500)  # let the charts finish drawing
                # Streamlit scrolls inside its main block: grow the window to the content's height
                height = page.evaluate("Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain], "
                                       "[data-testid=stAppViewContainer], body')).map(e => e.scrollHeight))")
                page.set_viewport_size({"width": width, "height": int(min(max(height, 800) + 40, 12000))})
                page.wait_for_timeout(1500)
                page.screenshot(path=str(out_dir / f"{name}.png"), full_page=True)
                page.set_viewport_size({"width": width, "height": 1000})
                texts[name] = page.inner_text("body")
        finally:
            browser.close()
    return texts


def wait_until_idle(page, timeout_ms: int) -> None:
    """Wait until Streamlit shows neither its running indicator nor a spinner (twice in a row)."""
    deadline = time.monotonic() + timeout_ms / 1000
    quiet = 0
    while time.monotonic() < deadline and quiet < 2:
        busy = page.locator('[data-testid="stStatusWidget"], [data-testid="stSpinner"]').count()
        quiet = quiet + 1 if busy == 0 else 0
        page.wait_for_timeout(500)


def prepare(workspace: Path) -> None:
    """The sample in the workspace, a planning forecast and four scenarios (through the library)."""
    sys.path.insert(0, str(REPO))
    from forecast.models import get_forecaster
    from webcare.datasets import SAMPLE_DATASET, ensure_sample
    from webcare.scenarios import default_settings, handle_times
    from webcare.workspace import Workspace

    ws = Workspace(workspace)
    info = ensure_sample(ws)
    history = ws.load_history(SAMPLE_DATASET)
    forecast = get_forecaster("profile").fit(history).predict("28d", (80, 95))
    name = "sample profile 28d"
    ws.save_forecast(name, forecast, dataset=SAMPLE_DATASET, meta={"model": "profile"})
    ws.set_setting(f"forecast:{SAMPLE_DATASET}", name)
    base = default_settings(info.channels, handle_times(ws.load_messages(SAMPLE_DATASET)))
    ws.set_setting("plan_settings", base.to_dict())
    variants = {
        "base": base,
        "volume +20%, same team": base.copy(volume_change=0.2, keep_staffing_of="base"),
        "chatbot takes 30% of whatsapp": base.copy(deflection={"whatsapp": 0.3}),
        "open 08:00-20:00": base.copy(opening=["08:00-20:00"] * 7),
    }
    for label, settings in variants.items():
        ws.save_scenario(label, {"settings": settings.to_dict(), "forecast": name})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--workspace", type=Path, help="workspace file to use (default: a fresh temporary one)")
    args = parser.parse_args(argv)
    if CHROMIUM is None:
        print("error: Debian's chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="webcare-shots-") as tmp:
        workspace = args.workspace or Path(tmp) / "ws.duckdb"
        started = time.perf_counter()
        prepare(workspace)
        with serve(workspace) as url:
            texts = shoot(url, args.out, timeout_ms=900_000)
    bad = [name for name, text in texts.items() if "Traceback" in text]
    for name in texts:
        print(f"wrote {args.out / (name + '.png')}")
    print(f"{len(texts)} screenshots in {time.perf_counter() - started:.0f} s")
    if bad:
        print(f"error: a traceback shows on {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
