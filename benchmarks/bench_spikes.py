"""Benchmark: the spike detector (forecast/spikes.py) on labelled and injected events.

1. NAB Twitter series (../shared/data/nab_tweets, Numenta Anomaly Benchmark; the AMZN series is
   also bundled in data/nab_tweets/): each series is ingested as a user would
   (``webcare ingest``: UTC, 15-minute and hourly intervals) and searched with the default
   settings. Window-level recall (share of the labelled windows in ``anomaly_windows.json`` that a
   detected window overlaps) and precision (share of detected windows that overlap a labelled
   one), per series and overall. NAB labels only the bursts its authors chose, so precision is a
   lower bound: other bursts in these series are real too.
2. The bundled synthetic sample (data/sample/): which of the injected events (data/sample/events.csv)
   are found on which channel, and how many windows overlap no injected event.
   The uplift of each injected event as ``estimate_uplift`` measures it (the injected value hidden).
3. Speed: detect_spikes on the sample's two years x four channels of hourly history.

Baseline, measured in the same run on the same inputs: a global 3-sigma rule per channel (an
interval is flagged when its count is more than three standard deviations from the channel's
mean over the whole history; adjacent flagged intervals form a window). Times are medians of
``repeat`` runs (at least 3).

    python benchmarks/bench_spikes.py           # full (about a minute, most of it ingesting the sample)
    python benchmarks/bench_spikes.py --smoke   # bundled AMZN series and a short synthetic history
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import script_main  # noqa: E402
from forecast.events import Event, estimate_uplift, read_events  # noqa: E402
from forecast.ingest import IngestOptions, ingest_files  # noqa: E402
from forecast.spikes import detect_spikes, window_scores  # noqa: E402

SHARED_NAB = REPO.parent / "shared" / "data" / "nab_tweets"
BUNDLED_NAB = REPO / "data" / "nab_tweets"
SAMPLE = REPO / "data" / "sample"
# The labelled windows of the bundled series (from anomaly_windows.json, Numenta Anomaly
# Benchmark, MIT-style licence, data/nab_tweets/LICENSE.txt), for runs where ../shared is absent.
AMZN_WINDOWS = [
    ("2015-03-05 03:22:53", "2015-03-06 12:12:53"),
    ("2015-03-11 04:32:53", "2015-03-12 13:22:53"),
    ("2015-04-01 05:32:53", "2015-04-02 14:22:53"),
    ("2015-04-07 12:27:53", "2015-04-08 21:17:53"),
]


def nab_labels() -> dict[str, list[tuple[str, str]]]:
    """Labelled windows per series file name (naive UTC text, as in anomaly_windows.json)."""
    path = SHARED_NAB / "anomaly_windows.json"
    if path.exists():
        raw = json.loads(path.read_text())
        return {key.split("/")[-1]: [tuple(w) for w in wins] for key, wins in raw.items()}
    return {"Twitter_volume_AMZN.csv": AMZN_WINDOWS}


def nab_history(name: str, freq: str) -> pd.DataFrame:
    """One NAB series ingested as a user would: naive UTC stamps, counts summed per interval."""
    path = SHARED_NAB / name if (SHARED_NAB / name).exists() else BUNDLED_NAB / name
    return ingest_files([path], IngestOptions(tz="UTC", freq=freq, channel=name.removesuffix(".csv"))).history


def labelled_frame(windows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"start": pd.to_datetime([a for a, _ in windows]).tz_localize("UTC"),
                         "end": pd.to_datetime([b for _, b in windows]).tz_localize("UTC")})


def three_sigma(history: pd.DataFrame) -> pd.DataFrame:
    """Baseline: per channel, intervals more than 3 standard deviations from the channel's mean."""
    rows = []
    for channel, part in history.sort_values(["channel", "ds"]).groupby("channel", sort=True):
        y = pd.to_numeric(part["y"], errors="coerce").astype(float).to_numpy()
        mean, sd = np.nanmean(y), np.nanstd(y)
        flag = np.nan_to_num(np.abs(y - mean) > 3 * sd, nan=0).astype(bool)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], flag.astype(np.int8), [0]])))
        ds = part["ds"].reset_index(drop=True)
        step = ds.diff().min() if len(ds) > 1 else pd.Timedelta("1h")
        for a, b in zip(edges[0::2], edges[1::2]):
            rows.append({"channel": channel, "start": ds[a], "end": ds[b - 1] + step})
    return pd.DataFrame(rows, columns=["channel", "start", "end"])


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def nab_section(freq: str, names: list[str], labels: dict) -> tuple[str, dict]:
    lines = [f"| series ({freq}) | labelled | found | recall | detected | overlapping | precision | 3-sigma recall | 3-sigma precision |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    total = {"ours": {"labelled": 0, "found": 0, "detected": 0, "overlapping": 0},
             "base": {"labelled": 0, "found": 0, "detected": 0, "overlapping": 0}}
    per_series = {}
    for name in names:
        history = nab_history(name, freq)
        truth = labelled_frame(labels[name])
        ours = window_scores(detect_spikes(history), truth)
        base = window_scores(three_sigma(history), truth)
        per_series[name] = {"recall": ours["recall"], "precision": ours["precision"],
                            "baseline_recall": base["recall"], "baseline_precision": base["precision"]}
        for key, score in (("ours", ours), ("base", base)):
            for k in total[key]:
                total[key][k] += score[k]
        lines.append(f"| {name.removesuffix('.csv')} | {ours['labelled']} | {ours['found']} | {ours['recall']:.2f} | "
                     f"{ours['detected']} | {ours['overlapping']} | {ours['precision']:.2f} | "
                     f"{base['recall']:.2f} | {base['precision']:.2f} |")
    o, b = total["ours"], total["base"]
    overall = {"recall": o["found"] / o["labelled"], "precision": o["overlapping"] / max(o["detected"], 1),
               "baseline_recall": b["found"] / b["labelled"], "baseline_precision": b["overlapping"] / max(b["detected"], 1)}
    lines.append(f"| **all** | {o['labelled']} | {o['found']} | {overall['recall']:.2f} | {o['detected']} | "
                 f"{o['overlapping']} | {overall['precision']:.2f} | {overall['baseline_recall']:.2f} | "
                 f"{overall['baseline_precision']:.2f} |")
    return "\n".join(lines), {"overall": overall, "series": per_series}


def sample_history(days: int | None = None) -> pd.DataFrame:
    """The bundled sample's hourly history (optionally only its first ``days`` days).

    The export's timestamps are handed to the ingester as ISO 8601 text in UTC (what a CSV export
    may hold); the history is the same as from the Parquet file's datetime column, which is read
    several times slower."""
    messages = pd.read_parquet(SAMPLE / "inbox_messages.parquet", columns=["message_id", "created_at", "channel"])
    if days is not None:
        messages = messages[messages["created_at"] < messages["created_at"].min() + pd.Timedelta(days=days)]
    utc = messages["created_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    messages = messages.assign(created_at=np.char.add(np.datetime_as_string(utc, unit="s"), "Z"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inbox_messages.parquet"
        messages.to_parquet(path, index=False)
        return ingest_files([path], IngestOptions(), labels=["inbox_messages.parquet"]).history


def sample_section(history: pd.DataFrame, repeat: int) -> tuple[str, dict]:
    events = read_events(SAMPLE / "events.csv")
    end = history["ds"].max()
    events = [e for e in events if e.start <= end]
    spikes = detect_spikes(history)
    base = three_sigma(history)
    lines = ["| injected event | channel | uplift | found | detected windows (ratio) | 3-sigma found |", "|---|---|---:|---|---|---|"]
    found = base_found = 0
    for e in events:
        mine = spikes[(spikes["channel"] == e.channel) & (spikes["start"] < e.end) & (spikes["end"] > e.start)]
        theirs = base[(base["channel"] == e.channel) & (base["start"] < e.end) & (base["end"] > e.start)]
        found += bool(len(mine))
        base_found += bool(len(theirs))
        shown = ", ".join(f"{r.start:%m-%d %H:%M}-{r.end:%H:%M} (x{r.ratio:.1f})" for r in mine.itertuples())
        lines.append(f"| {e.name} ({e.start:%Y-%m-%d}) | {e.channel} | {e.uplift:+.0%} | {'yes' if len(mine) else 'no'} | "
                     f"{shown or '-'} | {'yes' if len(theirs) else 'no'} |")

    def stray(windows: pd.DataFrame) -> int:
        hits = 0
        for r in windows.itertuples():
            hits += not any(e.channel == r.channel and e.start < r.end and e.end > r.start for e in events)
        return hits

    false_ours, false_base = stray(spikes), stray(base)
    n_channels = history["channel"].nunique()
    seconds = _median_seconds(lambda: detect_spikes(history), repeat)
    base_seconds = _median_seconds(lambda: three_sigma(history), repeat)
    intervals = len(history)
    text = "\n".join(lines) + (
        f"\n\nInjected (event, channel) pairs found: **{found} of {len(events)}** (3-sigma baseline: {base_found}). "
        f"Windows overlapping no injected event: **{false_ours}** of {len(spikes)} (3-sigma baseline: {false_base} of {len(base)}).\n\n"
        f"| timing ({intervals:,} hourly intervals, {n_channels} channels) | median of {repeat} [s] | ratio to baseline |\n"
        f"|---|---:|---:|\n| 3-sigma baseline | {base_seconds:.3f} | 1.00 |\n"
        f"| detect_spikes | {seconds:.3f} | {seconds / base_seconds:.1f} |"
    )
    # the uplift of each injected event, measured as if it were unknown
    hidden = [Event(e.name, e.start, e.end, None, e.channel, e.kind) for e in events]
    measured = estimate_uplift(history, hidden)
    rows = ["| injected event | injected uplift | measured (pooled over its channels) | per channel |", "|---|---:|---:|---|"]
    worst = 0.0
    for name, part in measured.groupby("name", sort=False):
        truth = next(e.uplift for e in events if e.name == name)
        pooled = part["observed"].sum() / part["expected"].sum() - 1
        worst = max(worst, abs(pooled - truth))
        per_channel = ", ".join(f"{c} {u:+.0%}" for c, u in zip(part["channel"], part["uplift"]))
        rows.append(f"| {name} | {truth:+.0%} | {pooled:+.0%} | {per_channel} |")
    text += "\n\n`estimate_uplift` on the same history, the injected uplifts hidden:\n\n" + "\n".join(rows)
    figures = {"uplift_max_abs_error": round(worst, 4), "pairs": len(events), "found": found, "false_windows": false_ours, "windows": len(spikes),
               "baseline_found": base_found, "baseline_false_windows": false_base, "detect_seconds": round(seconds, 4),
               "baseline_seconds": round(base_seconds, 4), "intervals": intervals}
    return text, figures


def run(smoke: bool = False) -> dict:
    labels = nab_labels()
    names = ["Twitter_volume_AMZN.csv"] if smoke or not SHARED_NAB.exists() else sorted(labels)
    parts = ["Default settings (`detect_spikes(history)`); baseline: a global 3-sigma rule per channel, same inputs, same run."]
    figures: dict = {}
    freqs = ["15min"] if smoke else ["15min", "1h"]
    for freq in freqs:
        table, fig = nab_section(freq, names, labels)
        parts += [f"### NAB Twitter series, {freq} intervals", table]
        for key, value in fig["overall"].items():
            figures[f"nab_{key}_{freq}"] = round(value, 4)
    figures["nab_series"] = len(names)
    if not SHARED_NAB.exists():
        parts.append("(../shared/data/nab_tweets is absent: only the bundled AMZN series was measured.)")
    history = sample_history(days=42 if smoke else None)
    text, fig = sample_section(history, repeat=3)
    parts += [f"### Synthetic sample ({'first 42 days' if smoke else 'two years'}), injected events", text]
    figures.update({f"sample_{k}" if not k.endswith("seconds") else k: v for k, v in fig.items()})
    figures["detect_vs_baseline_time"] = round(fig["detect_seconds"] / fig["baseline_seconds"], 2)
    return {"title": "Spike detection", "markdown": "\n\n".join(parts), "figures": figures}


def main(argv: list[str] | None = None) -> dict:
    return script_main(run, argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    main()
