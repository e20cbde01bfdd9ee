"""Every benchmark runs on a tiny input, so the scripts cannot rot. (Timings are never asserted.)

Parametrised over every ``benchmarks/bench_*.py``: import it, call ``run(smoke=True)`` and check
the result follows the convention of ``benchmarks/common.py``. A benchmark that names its peer
packages in ``PEERS`` is also run with those packages hidden: it must still run its own part.
The runner (``benchmarks/run_all.py``) is checked on throw-away benchmarks: one failing must not
stop the others, must be reported, and must make the exit status non-zero.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks import run_all
from benchmarks.common import check_result, fmt, geometric_mean, markdown_table, ratio

REPO = Path(__file__).resolve().parents[1]
BENCHES = sorted((REPO / "benchmarks").glob("bench_*.py"))
RESULTS: dict[str, dict] = {}  # smoke results, reused by the tests below them


def _numbers(figures: dict) -> list[float]:
    return [float(v) for v in figures.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _check(result: dict, name: str) -> dict:
    clean = check_result(result, name)  # raises ValueError when the shape is wrong
    assert clean["title"].strip() and clean["markdown"].strip()
    assert "|" in clean["markdown"], f"{name}: the markdown has no table of figures"
    numbers = _numbers(clean["figures"])
    assert numbers, f"{name}: no numeric headline figure"
    assert any(math.isfinite(v) for v in numbers), f"{name}: every headline figure is missing (NaN)"
    json.dumps(clean)
    return clean


@pytest.mark.parametrize("path", BENCHES, ids=[p.stem for p in BENCHES])
def test_benchmark_smoke(path):
    module = importlib.import_module(f"benchmarks.{path.stem}")
    assert callable(getattr(module, "run", None)), f"{path.name} defines no run(smoke=False)"
    RESULTS[path.stem] = _check(module.run(smoke=True), path.stem)


WITH_PEERS = [p for p in BENCHES if "PEERS = " in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("path", WITH_PEERS, ids=[p.stem for p in WITH_PEERS])
def test_benchmark_runs_its_own_part_without_its_peers(path, monkeypatch):
    module = importlib.import_module(f"benchmarks.{path.stem}")
    peers = tuple(module.PEERS)
    assert peers
    for name in list(sys.modules):
        if name in peers or name.split(".")[0] in peers:
            monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    for name in peers:
        monkeypatch.setitem(sys.modules, name, None)
    clean = _check(module.run(smoke=True), path.stem)
    assert "not installed" in clean["markdown"], f"{path.name}: the markdown does not say a peer was missing"


def test_bench_forecast_scores_the_noise_floor_below_the_naive_forecast():
    """The synthetic sample's true mean is the floor: on the smoke input it beats seasonal naive."""
    from benchmarks import bench_forecast

    result = RESULTS.get("bench_forecast") or bench_forecast.run(smoke=True)
    figures = result["figures"]
    floor = figures["sample_wape_floor"]
    naive = figures["sample_wape_snaive"]
    assert 0 < floor < naive
    assert figures[f"mase_ratio[{bench_forecast.BASELINE}]"] == pytest.approx(1.0)


def test_common_helpers():
    assert geometric_mean([0.5, 2.0, float("nan")]) == pytest.approx(1.0)
    assert math.isnan(ratio(1.0, 0.0)) and ratio(3, 2) == 1.5
    assert fmt(0.12345) == "0.123" and fmt(1234567.0) == "1,234,567" and fmt(float("nan")) == "–"
    table = markdown_table([{"a": "x|y", "b": 1.5}], ["a", "b"])
    assert table.splitlines() == ["| a | b |", "|:---|---:|", "| x\\|y | 1.50 |"]
    with pytest.raises(ValueError, match="figures"):
        check_result({"title": "t", "markdown": "m", "figures": {}})


GOOD = '''
def run(smoke=False):
    return {"title": "Good one", "markdown": "| a |\\n|---|\\n| 1 |", "figures": {"speed": 2.5, "smoke": smoke}}
'''
BAD = '''
def run(smoke=False):
    raise RuntimeError("this benchmark is broken on purpose")
'''


def test_run_all_survives_a_failing_benchmark(tmp_path):
    bench_dir = tmp_path / "benches"
    bench_dir.mkdir()
    (bench_dir / "bench_bad.py").write_text(textwrap.dedent(BAD))
    (bench_dir / "bench_good.py").write_text(textwrap.dedent(GOOD))
    out = tmp_path / "BENCHMARKS.md"
    status = run_all.main(["--dir", str(bench_dir), "--out", str(out), "--smoke", "--timeout", "120"])
    assert status == 1  # one failed
    text = out.read_text()
    assert "## bad: FAILED" in text and "broken on purpose" in text
    assert "## Good one" in text and "| speed | 2.50 |" in text
    assert "cores" in text and "Versions:" in text

    # --only reruns one section and keeps the other as it was
    (bench_dir / "bench_bad.py").write_text(textwrap.dedent(GOOD).replace("Good one", "Fixed one"))
    status = run_all.main(["--dir", str(bench_dir), "--out", str(out), "--smoke", "--only", "bad"])
    assert status == 0
    text = out.read_text()
    assert "## Fixed one" in text and "## Good one" in text and "FAILED" not in text
    sections = run_all.read_sections(out)
    assert set(sections) == {"bad", "good"} and sections["bad"][0]["figures"]["speed"] == 2.5

    with pytest.raises(SystemExit, match="no benchmark named 'nope'"):
        run_all.main(["--dir", str(bench_dir), "--out", str(out), "--only", "nope"])
