"""Helpers shared by the benchmarks in this folder (``benchmarks/bench_*.py``).

The convention every benchmark follows (``run_all.py`` collects them):

* ``run(smoke: bool = False) -> dict`` returns ``{"title": str, "markdown": str, "figures": dict}``:
  ``markdown`` is the section body (tables of figures; every time figure the median of >= 3
  repetitions with, beside it, the ratio against a baseline measured in the same run), and
  ``figures`` the headline numbers (plain numbers or short strings, JSON-serialisable).
* ``smoke=True`` finishes in a few seconds on a tiny input (``tests/test_benchmarks_smoke.py``).
* A benchmark that compares with a peer package (prophet, statsforecast, pyworkforce, ...) imports
  it with :func:`optional_import` and, when it is missing, still runs its own part and says in the
  markdown that the peer was not installed. Listing the peers in a module constant
  ``PEERS = ("statsforecast", ...)`` lets the smoke test check exactly that (it hides them).
* Run as a script it prints the markdown: :func:`script_main` does the argument handling.

Nothing here imports the project, so the helpers work in any benchmark.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
OUT = REPO / "benchmarks" / "out"

# Packages whose versions BENCHMARKS.md lists (those not installed are left out).
DEFAULT_PACKAGES = (
    "webcare-planner", "numpy", "pandas", "pyarrow", "duckdb", "scipy", "statsmodels", "prophet", "cmdstanpy",
    "statsforecast", "numba", "pyomo", "highspy", "pyworkforce", "joblib",
)


# --------------------------------------------------------------------------------------------
# Timing


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(wall seconds, result) of one call of ``fn``."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def repeat_timed(fn: Callable[[], Any], repeat: int = 3, warmup: int = 0) -> tuple[float, list[float], Any]:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times timed.

    Returns (median seconds, every timing, the last result).
    """
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    for _ in range(warmup):
        fn()
    times, result = [], None
    for _ in range(repeat):
        seconds, result = timed(fn)
        times.append(seconds)
    return statistics.median(times), times, result


def median(values: Iterable[float]) -> float:
    """Median of the finite values (NaN when there are none)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return statistics.median(vals) if vals else float("nan")


def geometric_mean(values: Iterable[float]) -> float:
    """Geometric mean of the finite positive values (NaN when there are none)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v)) and float(v) > 0]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else float("nan")


def ratio(value: float, baseline: float) -> float:
    """value / baseline (NaN when either is missing or the baseline is 0)."""
    try:
        value, baseline = float(value), float(baseline)
    except (TypeError, ValueError):
        return float("nan")
    if not (math.isfinite(value) and math.isfinite(baseline)) or baseline == 0:
        return float("nan")
    return value / baseline


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (VmHWM), MiB; NaN where /proc is absent."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# --------------------------------------------------------------------------------------------
# Machine and versions


def _meminfo_mib() -> float:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """Cores (usable by this process), total memory, CPU model, OS, Python, and the load average
    when this is called (a busy machine makes timings slower and noisier)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 0
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cores": cores,
        "memory_gib": round(_meminfo_mib() / 1024, 1),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_1_5_15min": load,
    }


def package_versions(names: Sequence[str] = DEFAULT_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (distribution names); those not installed are left out."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def optional_import(name: str):
    """(module, None) when ``name`` imports, else (None, the reason) - for peer packages."""
    try:
        return importlib.import_module(name), None
    except Exception as exc:  # ImportError, or a broken install raising something else
        return None, f"{name} is not installed ({type(exc).__name__}: {exc}); install the extra: pip install -e '.[bench]'"


# --------------------------------------------------------------------------------------------
# Markdown


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a table: ``digits`` significant digits, thousands separators for big ones,
    an en dash for missing values."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{decimals}f}"


def fmt_seconds(seconds: float) -> str:
    """``0.012 s``, ``1.23 s``, ``45.6 s``, ``123 s``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    return f"{fmt(seconds)} s"


def fmt_ratio(value: float) -> str:
    """``0.52×``."""
    text = fmt(value, 2 if value is not None and not (isinstance(value, float) and math.isnan(value)) and abs(value) < 10 else 3)
    return text if text == "–" else f"{text}×"


def markdown_table(rows: Sequence[Mapping[str, Any]] | Any, columns: Sequence[str] | None = None,
                   formats: Mapping[str, Callable[[Any], str]] | None = None,
                   align: Mapping[str, str] | None = None) -> str:
    """A GitHub markdown table from a list of dicts (or a pandas DataFrame).

    ``columns``: which keys, in order (default: the first row's keys). ``formats``: per column a
    function value -> text (default :func:`fmt`). ``align``: per column ``'l'`` or ``'r'``
    (default: right for numbers, left otherwise).
    """
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    rows = list(rows)
    if columns is None:
        columns = list(rows[0]) if rows else []
    formats = dict(formats or {})
    align = dict(align or {})
    if not columns:
        return ""

    def cell(col, row):
        value = row.get(col)
        text = formats[col](value) if col in formats else fmt(value)
        return str(text).replace("|", "\\|").replace("\n", " ")

    def is_number(col):
        values = [row.get(col) for row in rows if row.get(col) is not None]
        return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)

    header = "| " + " | ".join(str(c) for c in columns) + " |"
    rule = "|" + "|".join(
        (":---" if align.get(c, "r" if is_number(c) else "l") == "l" else "---:") for c in columns
    ) + "|"
    body = ["| " + " | ".join(cell(c, row) for c in columns) + " |" for row in rows]
    return "\n".join([header, rule, *body])


# --------------------------------------------------------------------------------------------
# Results and the script entry point


def jsonable(value: Any) -> Any:
    """``value`` with numpy/pandas scalars, tuples and paths turned into JSON types (NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def check_result(result: Any, name: str = "benchmark") -> dict:
    """Raise ``ValueError`` unless ``result`` follows the convention; return it JSON-clean."""
    if not isinstance(result, Mapping):
        raise ValueError(f"{name}: run() returned {type(result).__name__}, expected a dict with title, markdown, figures")
    missing = [k for k in ("title", "markdown", "figures") if k not in result]
    if missing:
        raise ValueError(f"{name}: run() result lacks {', '.join(missing)}")
    if not isinstance(result["title"], str) or not result["title"].strip():
        raise ValueError(f"{name}: 'title' must be a non-empty string")
    if not isinstance(result["markdown"], str) or not result["markdown"].strip():
        raise ValueError(f"{name}: 'markdown' must be a non-empty string")
    if not isinstance(result["figures"], Mapping) or not result["figures"]:
        raise ValueError(f"{name}: 'figures' must be a non-empty dict of headline numbers")
    clean = jsonable(dict(result))
    json.dumps(clean)
    return clean


def script_main(run: Callable[..., dict], argv: Sequence[str] | None = None, description: str = "") -> dict:
    """``python benchmarks/bench_x.py [--smoke] [--json FILE]``: run, print the markdown (and
    the headline figures as JSON), optionally write the whole result as JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--smoke", action="store_true", help="tiny input, a few seconds (checks the script works)")
    parser.add_argument("--json", type=Path, help="also write the result (title, markdown, figures) as JSON here")
    args = parser.parse_args(argv)
    result = check_result(run(smoke=args.smoke))
    print(f"## {result['title']}\n\n{result['markdown']}\n")
    print(json.dumps(result["figures"], indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    sys.stdout.flush()
    return result
