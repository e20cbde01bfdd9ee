"""Run every benchmark (``benchmarks/bench_*.py``), each in a fresh process, and rewrite BENCHMARKS.md.

    python benchmarks/run_all.py                    # everything; rewrites BENCHMARKS.md
    python benchmarks/run_all.py --only forecast    # one benchmark (repeatable: --only ingest --only forecast);
                                                    # the other sections of BENCHMARKS.md are kept as they were
    python benchmarks/run_all.py --smoke            # tiny inputs; writes benchmarks/out/BENCHMARKS.smoke.md
    python benchmarks/run_all.py --list             # the benchmarks found

Each benchmark module defines ``run(smoke=False) -> {"title", "markdown", "figures"}``
(``benchmarks/common.py``). The runner starts one child process per benchmark (so its peak
memory is its own and one crash cannot take the others down), logs the child's output to
``benchmarks/out/logs/<name>.log``, and records its wall time, peak resident memory (the child
process itself: processes it starts are not included) and the result. A benchmark that fails
(exception, non-zero exit, ``--timeout``) is reported in BENCHMARKS.md with the end of its log;
the others still run, and the runner exits with status 1 at the end.

BENCHMARKS.md holds one section per benchmark between ``<!-- bench:NAME ... -->`` markers (the
opening marker carries the section's metadata as JSON), so a run with ``--only`` replaces just
those sections and keeps the others, each with the date it was measured.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    OUT,
    REPO,
    check_result,
    fmt,
    fmt_seconds,
    jsonable,
    machine_info,
    markdown_table,
    package_versions,
    peak_rss_mib,
    utc_now,
)

BENCH_DIR = REPO / "benchmarks"
DEFAULT_OUT = REPO / "BENCHMARKS.md"
SMOKE_OUT = OUT / "BENCHMARKS.smoke.md"
MARK = re.compile(r"<!-- bench:(?P<name>[\w.-]+) (?P<meta>\{.*?\}) -->\n(?P<body>.*?)\n<!-- /bench:(?P=name) -->", re.S)


# --------------------------------------------------------------------------------------------
# Discovery


def discover(directory: Path = BENCH_DIR) -> dict[str, Path]:
    """``{name: path}`` of ``bench_*.py`` in ``directory``; the name drops ``bench_`` and ``.py``."""
    return {p.stem[len("bench_"):]: p for p in sorted(Path(directory).glob("bench_*.py"))}


def select(found: dict[str, Path], only: list[str] | None) -> dict[str, Path]:
    if not only:
        return dict(found)
    chosen = {}
    for name in only:
        key = Path(name).stem
        key = key[len("bench_"):] if key.startswith("bench_") else key
        if key not in found:
            raise SystemExit(f"run_all: no benchmark named '{name}'; found: {', '.join(found) or 'none'}")
        chosen[key] = found[key]
    return chosen


# --------------------------------------------------------------------------------------------
# The child: import one benchmark, run it, write its result as JSON


def load_module(path: Path):
    path = Path(path).resolve()
    if path.parent == BENCH_DIR.resolve():
        return importlib.import_module(f"benchmarks.{path.stem}")
    sys.path.insert(0, str(path.parent))
    return importlib.import_module(path.stem)


def child(path: Path, result_path: Path, smoke: bool) -> int:
    t0 = time.perf_counter()
    try:
        module = load_module(path)
        if not hasattr(module, "run"):
            raise AttributeError(f"{path.name} defines no run(smoke=False) function")
        result = check_result(module.run(smoke=smoke), path.stem)
        status, error = "ok", ""
    except BaseException as exc:  # noqa: BLE001 - everything is reported, nothing is lost
        traceback.print_exc()
        result, status = None, "failed"
        error = f"{type(exc).__name__}: {exc}"
    record = {
        "status": status,
        "error": error,
        "seconds": time.perf_counter() - t0,
        "peak_mib": peak_rss_mib(),
        "result": result,
    }
    Path(result_path).write_text(json.dumps(jsonable(record)))
    return 0 if status == "ok" else 1


# --------------------------------------------------------------------------------------------
# The parent


def run_benchmark(name: str, path: Path, smoke: bool, timeout: float | None, log_dir: Path) -> dict:
    """Run one benchmark in a fresh process; its record (status, error, seconds, peak_mib, result)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}{'.smoke' if smoke else ''}.log"
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), "--result", str(result_path)]
        if smoke:
            cmd.append("--smoke")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        env.setdefault("PYTHONUNBUFFERED", "1")
        peers = REPO / ".venv-peers" / "bin" / "python"  # pyworkforce's own environment (made by `make bench`)
        if "PYWORKFORCE_PYTHON" not in env and peers.exists():
            env["PYWORKFORCE_PYTHON"] = str(peers)
        t0 = time.perf_counter()
        timed_out = threading.Event()
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, errors="replace", start_new_session=True)

            def kill():
                timed_out.set()
                try:
                    os.killpg(proc.pid, 9)  # the child's own process group (its workers too)
                except ProcessLookupError:
                    pass

            timer = threading.Timer(timeout, kill) if timeout else None
            if timer:
                timer.start()
            tail: list[str] = []
            for line in proc.stdout:
                log.write(line)
                tail = (tail + [line.rstrip()])[-40:]
                print(f"  [{name}] {line.rstrip()}", flush=True)
            code = proc.wait()
            if timer:
                timer.cancel()
        seconds = time.perf_counter() - t0
        record = None
        if result_path.exists():
            try:
                record = json.loads(result_path.read_text())
            except json.JSONDecodeError:
                record = None
    if record is None or code != 0 and record.get("status") == "ok":
        reason = (f"timed out after {timeout:g} s" if timed_out.is_set()
                  else f"the process exited with status {code} without a result")
        record = {"status": "failed", "error": reason, "seconds": seconds, "peak_mib": None, "result": None}
    if record["status"] != "ok":
        record["log_tail"] = "\n".join(tail[-25:])
    record["process_seconds"] = seconds
    record["log"] = str(log_path.relative_to(REPO)) if log_path.is_relative_to(REPO) else str(log_path)
    return record


def _meta(record: dict, date: str, smoke: bool) -> dict:
    result = record.get("result") or {}
    return {
        "status": record["status"],
        "date": date,
        "smoke": smoke,
        "seconds": round(record.get("process_seconds") or record.get("seconds") or 0, 1),
        "peak_mib": round(record["peak_mib"]) if record.get("peak_mib") else None,
        "title": result.get("title", ""),
        "figures": result.get("figures", {}),
        "error": record.get("error", ""),
    }


def section(name: str, record: dict, date: str, smoke: bool) -> str:
    """One benchmark's section of BENCHMARKS.md, wrapped in its markers."""
    meta = _meta(record, date, smoke)
    title = meta["title"] or name
    lines = [f"## {title}", ""]
    run_line = (f"Measured {date}{' (smoke run: tiny input, figures not meaningful)' if smoke else ''} by "
                f"`python benchmarks/run_all.py --only {name}` (`benchmarks/bench_{name}.py`): "
                f"{fmt_seconds(meta['seconds'])} wall time"
                + (f", peak memory of the benchmark process {fmt(meta['peak_mib'])} MiB" if meta["peak_mib"] else "")
                + ".")
    if record["status"] == "ok":
        lines += [f"*{run_line}*", "", record["result"]["markdown"].strip(), ""]
        figures = meta["figures"]
        if figures:
            lines += ["<details><summary>Headline figures (as returned by run())</summary>", "",
                      markdown_table([{"figure": k, "value": v} for k, v in figures.items()],
                                     ["figure", "value"], align={"figure": "l", "value": "r"}),
                      "", "</details>", ""]
    else:
        lines = [f"## {name}: FAILED", "", f"*{run_line}*", "", f"Error: `{meta['error']}`", "",
                 f"Log: `{record.get('log', '')}`; its last lines:", "", "```",
                 record.get("log_tail", "").strip() or "(no output)", "```", ""]
    body = "\n".join(lines).rstrip()
    return f"<!-- bench:{name} {json.dumps(jsonable(meta))} -->\n{body}\n<!-- /bench:{name} -->"


def read_sections(path: Path) -> dict[str, tuple[dict, str]]:
    """Sections of an existing BENCHMARKS.md: ``{name: (meta, whole marked text)}``."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    out = {}
    for m in MARK.finditer(text):
        try:
            meta = json.loads(m.group("meta"))
        except json.JSONDecodeError:
            continue
        out[m.group("name")] = (meta, m.group(0))
    return out


def write_report(path: Path, sections: dict[str, tuple[dict, str]], order: list[str], machine: dict,
                 versions: dict, date: str, argv: list[str], not_run: list[str]) -> None:
    names = [n for n in order if n in sections] + [n for n in sections if n not in order]
    summary = []
    for name in names:
        meta = sections[name][0]
        figures = meta.get("figures") or {}
        headline = ", ".join(f"{k} = {fmt(v)}" for k, v in list(figures.items())[:4])
        summary.append({
            "benchmark": f"[{meta.get('title') or name}](#{_anchor(meta.get('title') or name, meta)})",
            "status": meta.get("status", "?") + (" (smoke)" if meta.get("smoke") else ""),
            "measured": meta.get("date", ""),
            "wall time": fmt_seconds(meta.get("seconds")),
            "peak MiB": fmt(meta.get("peak_mib")),
            "first figures": headline if meta.get("status") == "ok" else meta.get("error", ""),
        })
    load = machine.get("load_average_1_5_15min") or []
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python benchmarks/run_all.py`); do not edit by hand. Every benchmark "
        "is a script in `benchmarks/` (`bench_*.py`) that runs on its own too and prints its section "
        "(`python benchmarks/bench_forecast.py`); `--smoke` runs it on a tiny input. Time figures are the "
        "median of repeated runs, each beside a baseline measured in the same run.",
        "",
        f"Last run: {date}, command `python benchmarks/run_all.py{(' ' + ' '.join(argv)) if argv else ''}`. "
        "Sections not rerun keep the date they were measured.",
        "",
        f"Machine: {machine.get('cores')} cores ({machine.get('cpu')}), {machine.get('memory_gib')} GiB memory, "
        f"{machine.get('os')}, Python {machine.get('python')}. Load average when the run started: "
        f"{', '.join(str(x) for x in load) or 'unknown'} (1, 5, 15 minutes); on a machine shared with other "
        "jobs timings are slower and noisier, which is why each is given beside a baseline from the same run.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "## Summary",
        "",
        markdown_table(summary, ["benchmark", "status", "measured", "wall time", "peak MiB", "first figures"],
                       align={"benchmark": "l", "status": "l", "measured": "l", "wall time": "r", "peak MiB": "r",
                              "first figures": "l"})
        if summary else "No benchmark has been run yet.",
        "",
    ]
    if not_run:
        lines += [f"Not run and never measured: {', '.join(not_run)}.", ""]
    lines += [sections[name][1] + "\n" for name in names]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _anchor(title: str, meta: dict) -> str:
    heading = title if meta.get("status") == "ok" else f"{title}: FAILED"
    return re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this benchmark (e.g. forecast or bench_forecast); repeatable")
    parser.add_argument("--smoke", action="store_true", help="tiny inputs (writes benchmarks/out/BENCHMARKS.smoke.md)")
    parser.add_argument("--out", type=Path, help="the report to (re)write (default BENCHMARKS.md; with --smoke "
                                                  "benchmarks/out/BENCHMARKS.smoke.md)")
    parser.add_argument("--dir", type=Path, default=BENCH_DIR, help="where the bench_*.py files are")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds one benchmark may take (default 3600)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return child(args.child, args.result, args.smoke)

    found = discover(args.dir)
    if args.list:
        for name, path in found.items():
            print(f"{name:<12} {path}")
        return 0
    chosen = select(found, args.only)
    out = args.out or (SMOKE_OUT if args.smoke else DEFAULT_OUT)
    date = utc_now()
    machine = machine_info()
    versions = package_versions()
    sections = {n: s for n, s in read_sections(out).items() if n in found}
    failures = []
    for name, path in chosen.items():
        print(f"== {name} ({path.name}){' --smoke' if args.smoke else ''}", flush=True)
        record = run_benchmark(name, path, args.smoke, args.timeout, OUT / "logs")
        text = section(name, record, date, args.smoke)
        sections[name] = (_meta(record, date, args.smoke), text)
        print(f"== {name}: {record['status']} in {record['process_seconds']:.1f} s"
              + (f" ({record['error']})" if record["status"] != "ok" else ""), flush=True)
        if record["status"] != "ok":
            failures.append(name)
        # written after every benchmark, so a long run that is interrupted keeps what it measured
        write_report(out, sections, list(found), machine, versions, date, list(argv if argv is not None else sys.argv[1:]),
                     [n for n in found if n not in sections])
    print(f"wrote {out}")
    if failures:
        print(f"run_all: {len(failures)} benchmark(s) failed: {', '.join(failures)} (see {out})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
