"""Benchmark: `webcare plan` end to end on the bundled sample (two years, four channels).

Each repetition runs ``webcare plan`` (the default plan: forecast with ``auto``, opening hours from
the candidates, required staffing with the variability margin, a one-week roster (MILP, HiGHS),
100 simulation runs) in a fresh process on a workspace that already holds the sample, and reads
the seconds per stage from its ``summary.json`` and the process's peak memory (VmHWM).

Baseline, in the same run: a fresh process that only reads the sample's messages with
``pandas.read_parquet`` (the floor of any tool that starts from this export).

    python benchmarks/bench_plan.py           # 3 repetitions, a few minutes
    python benchmarks/bench_plan.py --smoke   # a five-week synthetic export, short solver limits
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import markdown_table, script_main  # noqa: E402

SAMPLE = REPO / "data" / "sample" / "inbox_messages.parquet"
_CHILD = """
import json, sys, time
started = time.perf_counter()
{body}
hwm = next(int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:'))
print(json.dumps({{"seconds": time.perf_counter() - started, "peak_mib": hwm, "rc": rc}}))
"""


def _child(body: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD.format(body=body)], cwd=REPO, capture_output=True, text=True,
                         check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(lines[-1])


def _smoke_plan(folder: Path) -> Path:
    rng = np.random.default_rng(5)
    hours = pd.date_range("2025-09-01", "2025-10-06", freq="1h", tz="Europe/Amsterdam", inclusive="left")
    rate = np.where((hours.hour >= 9) & (hours.hour < 17), 4.0, 0.5)
    counts = rng.poisson(rate)
    stamps = np.repeat(hours.tz_convert("UTC").as_unit("ns").asi8, counts) + rng.integers(0, 3600 * 10**9, counts.sum())
    times = pd.DatetimeIndex(np.sort(stamps)).tz_localize("UTC").tz_convert("Europe/Amsterdam")
    pd.DataFrame({"created_at": times.strftime("%Y-%m-%dT%H:%M:%S%z"), "channel": "whatsapp"}).to_csv(
        folder / "export.csv", index=False)
    (folder / "shifts.toml").write_text(
        '[solver]\ntime_limit = "20s"\n[contracts.standard]\nhourly_wage = 20.0\n'
        '[[shift]]\nname = "day"\nlength = "8h"\nstart_from = "07:00"\nstart_to = "14:00"\nstart_every = "60m"\n')
    plan = folder / "plan.toml"
    plan.write_text('[data]\nfiles = ["export.csv"]\n[forecast]\nmodel = "profile"\nhistory_weeks = 5\n'
                    '[service]\naht = "4m"\nshrinkage = 0.2\n'
                    '[opening]\ncandidates = "mon-fri 08:00-18:00 | 07:00-22:00; sat,sun 09:00-17:00 | 08:00-22:00"\n'
                    '[roster]\nshifts = "shifts.toml"\n[simulation]\nruns = 10\n')
    return plan


def _lp_bound(out: Path, summary: dict, shifts: Path | None) -> float:
    """The LP relaxation of the plan's roster model, rebuilt from the files the plan wrote."""
    from forecast.ingest import read_interval_values
    from scheduling.opening_hours import parse_opening_hours
    from webcare.plan import DEFAULT_SHIFTS, PlanConfig
    from scheduling.roster.shifts import read_shifts
    from scheduling.roster.solve import lp_relaxation_bound, prepare

    tz = PlanConfig().tz
    required = read_interval_values(out / "requirements.csv", "agents_required", tz, what="requirements")
    frame = required.rename(columns={"value": "agents_required"})[["ds", "agents_required"]]
    opening = summary["opening_hours"]
    problem = prepare(read_shifts(shifts or DEFAULT_SHIFTS), requirements=frame,
                      opening=None if opening == "always open" else parse_opening_hours(opening),
                      shrinkage=summary["shrinkage"])
    return lp_relaxation_bound(problem)


def run(smoke: bool = False) -> dict:
    repeat = 1 if smoke else 3
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        tmp = Path(tmp)
        ws = tmp / "ws.duckdb"
        plan_arg = repr(str(_smoke_plan(tmp))) if smoke else "None"
        args = f"['--workspace', {str(ws)!r}, 'plan'] + ([{plan_arg}] if {plan_arg} else []) + ['--out', OUT]"
        if not smoke:  # load the sample into the workspace once, outside the timing
            from webcare.datasets import ingest_sample
            from webcare.workspace import Workspace

            Workspace(ws).save_dataset("sample", ingest_sample())
        runs, stages = [], []
        for i in range(repeat):
            out = tmp / f"out{i}"
            body = (f"OUT = {str(out)!r}\nfrom webcare.cli import main\nimport contextlib, io\n"
                    f"with contextlib.redirect_stderr(io.StringIO()):\n    rc = main({args})")
            result = _child(body)
            if result["rc"] != 0:
                raise RuntimeError(f"webcare plan exited with {result['rc']}")
            summary = json.loads((out / "summary.json").read_text())
            runs.append(result)
            stages.append(summary["stages_seconds"])
        lp = _lp_bound(out, summary, tmp / "shifts.toml" if smoke else None)
        baseline = [_child(f"import pandas as pd\npd.read_parquet({str(SAMPLE)!r})\nrc = 0") for _ in range(repeat)]
    total = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_mib"] for r in runs)
    base_t = statistics.median(r["seconds"] for r in baseline)
    base_m = statistics.median(r["peak_mib"] for r in baseline)
    stage_rows = [{"stage": name, "median seconds": round(statistics.median(s[name] for s in stages), 2)}
                  for name in stages[0]]
    rows = [{"what": "webcare plan (fresh process)", "median seconds": round(total, 1), "peak MiB": round(peak),
             "time ratio": round(total / base_t, 1), "memory ratio": round(peak / base_m, 2)},
            {"what": "baseline: pandas.read_parquet of the sample", "median seconds": round(base_t, 2),
             "peak MiB": round(base_m), "time ratio": 1.0, "memory ratio": 1.0}]
    what = "a five-week synthetic export (smoke)" if smoke else "the bundled sample (774,654 messages, 4 channels)"
    roster_rows = [{"roster of the plan": "MILP (HiGHS): objective incl. penalties", "value": round(summary["roster_objective"], 2),
                    "vs LP bound": round(summary["roster_objective"] / lp, 4) if lp > 0 else float("nan"),
                    "seconds": round(summary["roster_seconds"], 1)},
                   {"roster of the plan": "LP-relaxation bound (same model, same run)", "value": round(lp, 2),
                    "vs LP bound": 1.0, "seconds": ""}]
    text = "\n\n".join([
        f"`webcare plan` on {what}, {repeat} repetition(s), each in a fresh process; the sample is already in the "
        "workspace. Summary of the last run: " + f"SL model {summary['model_sl']:.1%}, simulated {summary['simulated_sl']:.1%}, "
        f"P(target) {summary['p_target']:.0%}, cost {summary['cost']:,.2f}, opening hours {summary['opening_hours']}.",
        markdown_table(rows), "Per stage (median over the repetitions):", markdown_table(stage_rows),
        f"The plan's roster ({summary['shifts']:,} shifts, status {summary['roster_status']}) against the LP relaxation "
        "of the same roster model (requirements of requirements.csv, the plan's opening hours and shrinkage):",
        markdown_table(roster_rows)])
    figures = {"plan_seconds": round(total, 2), "plan_peak_mib": round(peak), "time_ratio": round(total / base_t, 2),
               "memory_ratio": round(peak / base_m, 3)}
    figures["roster_cost_over_lp_bound"] = round(summary["roster_objective"] / lp, 4) if lp > 0 else float("nan")
    figures.update({f"stage_{r['stage'].replace(' ', '_')}_seconds": r["median seconds"] for r in stage_rows})
    return {"title": "End to end: webcare plan", "markdown": text, "figures": figures}


def main(argv: list[str] | None = None) -> dict:
    return script_main(run, argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    main()
