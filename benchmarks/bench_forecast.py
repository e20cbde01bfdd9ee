"""Benchmark: forecast accuracy by rolling-origin backtest, ours against the tools a user would pick.

Series (hourly; each ingested with ``forecast.ingest.ingest_files`` as a user's export would be):

* ``nab_tweets``: tweets mentioning AMZN, FB, GOOG, IBM, UPS per 5 minutes, summed to hours,
  2015-02-26 to 2015-04-22 (../shared/data/nab_tweets, Numenta Anomaly Benchmark);
* ``bank_calls_us``: calls handled at a North American bank, weekdays 07:00-21:00, March-October
  2003 (../shared/data/bank_calls_us; Weinberg, Brown & Stroud 2007), summed to hours;
* ``bike_sharing``: hourly bike rentals, Washington DC, 2011-2012 (../shared/data/bike_sharing;
  Fanaee-T & Gama 2013);
* ``sample``: the bundled synthetic inbox (data/sample/inbox_messages.parquet), four channels,
  the whole two years (:data:`SAMPLE_WEEKS`). Its Poisson means (data/sample/true_intensity.csv.gz) give
  the noise floor: the error of a forecaster that knows the true mean, which no model can beat.

Rolling origin: per series :data:`N_FOLDS` cutoffs :data:`STEP` apart, the last one a horizon
before the end (``forecast.backtest.make_cutoffs``); each fold's models see the history up to
the cutoff and forecast :data:`HORIZON` (7 days, 168 hourly intervals, 167 or 169 across a
daylight-saving change). Every model is scored by the same function
(``forecast.metrics.evaluate``) on the same intervals: WAPE = sum|error| / sum(actual); MASE =
mean|error| / mean|y[t] - y[t-168]| over the fold's training part. Forecasts are clipped at 0
for every model (ours already are).

Models: every model of ours in the registry (``forecast.models.available_models()``, ``auto``
included, run with the benchmark's horizon and fold count as ``webcare forecast --model auto``
does); peers, run here: seasonal naive (ours, ``snaive``: the same local hour last week; every
MASE ratio is against it), Prophet with default settings (``prophet.Prophet()``; fed the local
clock time, as Prophet has no time zones) and statsforecast's ``MSTL(season_length=[24, 168])``
(its default trend, AutoETS) and ``AutoETS(season_length=24)`` (statsforecast's ETS takes seasons
up to 24), fed the regular UTC hour grid.

Overall: per series the ratio MASE(model) / MASE(seasonal naive) (each the mean over the folds),
then the geometric mean of the ratios over the series. Fit time: fit + predict of one fold, the
median over every series and fold, and its ratio to Prophet's median in the same run.

    python benchmarks/bench_forecast.py            # full run (about 15 minutes on 2 cores)
    python benchmarks/bench_forecast.py --smoke    # one short series, two folds, one day ahead
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    REPO,
    SHARED_DATA,
    fmt,
    fmt_ratio,
    fmt_seconds,
    geometric_mean,
    markdown_table,
    median,
    optional_import,
    ratio,
    script_main,
)
from forecast.backtest import make_cutoffs, run_fold  # noqa: E402
from forecast.ingest import ColumnChoice, IngestOptions, ingest_files  # noqa: E402
from forecast.metrics import evaluate  # noqa: E402
from forecast.models import available_models  # noqa: E402
from forecast.timegrid import future_utc_ns  # noqa: E402

PEERS = ("prophet", "statsforecast")
HORIZON = "7d"
STEP = "7d"
N_FOLDS = 4  # the issue: weekly folds over the last four weeks
INNER_FOLDS = 3  # auto's and ensemble's own backtest on each fold's training part (their default)
SEASON = 168  # MASE scale: one week of hourly intervals
SAMPLE_WEEKS = 105  # the whole sample: 1 November 2024 - 31 October 2026
NOW = pd.Timestamp("2026-11-23", tz="UTC")  # ingestion refuses stamps in the future of this
BASELINE = "snaive"
PROPHET = "Prophet (default)"
SF_MSTL = "statsforecast MSTL"
SF_ETS = "statsforecast AutoETS"
FLOOR = "true mean (noise floor)"
CALENDAR = "true calendar baseline"
NAB_TICKERS = ("AMZN", "FB", "GOOG", "IBM", "UPS")


@dataclass
class Series:
    dataset: str
    name: str
    history: pd.DataFrame  # channel, ds (tz-aware), y
    truth: pd.DataFrame | None = None  # ds, intensity, baseline (synthetic sample only)


# --------------------------------------------------------------------------------------------
# Data


def _ingest(path: Path, **options) -> pd.DataFrame:
    result = ingest_files([path], IngestOptions(now=NOW, **options))
    return result.history[["channel", "ds", "y"]]


def load_series(smoke: bool = False) -> tuple[list[Series], list[str]]:
    """Every series this benchmark scores, and notes on what was absent or cut."""
    notes, out = [], []
    sample_dir = REPO / "data" / "sample"
    weeks = 5 if smoke else SAMPLE_WEEKS
    history = _sample_history(sample_dir / "inbox_messages.parquet", weeks)
    truth = pd.read_csv(sample_dir / "true_intensity.csv.gz")
    truth["ds"] = pd.to_datetime(truth["ds"], utc=True).dt.tz_convert("Europe/Amsterdam")
    channels = ["whatsapp"] if smoke else sorted(history["channel"].unique())
    for channel in channels:
        part = history[history["channel"] == channel].reset_index(drop=True)
        out.append(Series("sample", channel, part, truth[truth["channel"] == channel][["ds", "intensity", "baseline"]]))
    if smoke:
        return out, notes

    nab = SHARED_DATA / "nab_tweets"
    if nab.exists():
        for ticker in NAB_TICKERS:
            path = nab / f"Twitter_volume_{ticker}.csv"
            out.append(Series("nab_tweets", ticker, _ingest(path, source_tz="UTC", tz="America/New_York",
                                                             channel=ticker.lower())))
    else:
        notes.append(f"nab_tweets skipped: {nab} is absent")
    bank = SHARED_DATA / "bank_calls_us" / "bank_calls.csv"
    if bank.exists():
        out.append(Series("bank_calls_us", "calls", _ingest(bank, tz="America/New_York", offsets_are_local=True,
                                                            channel="calls")))
    else:
        notes.append(f"bank_calls_us skipped: {bank} is absent")
    bike = SHARED_DATA / "bike_sharing" / "hour.csv"
    if bike.exists():
        out.append(Series("bike_sharing", "rentals", _ingest(
            bike, tz="America/New_York", columns=ColumnChoice(date="dteday", time="hr", count="cnt"), channel="rentals")))
    else:
        notes.append(f"bike_sharing skipped: {bike} is absent")
    return out, notes


def _sample_history(path: Path, weeks: int) -> pd.DataFrame:
    """The last ``weeks`` whole weeks of the sample export, ingested to hourly counts per channel
    (the messages of those weeks are cut out first, as a shorter export, so ingestion is quick)."""
    import tempfile

    stamps = pd.read_parquet(path, columns=["created_at"])["created_at"]
    end = stamps.max().tz_convert("Europe/Amsterdam").normalize() + pd.Timedelta(days=1)
    start = (end.tz_localize(None) - pd.Timedelta(weeks=weeks)).tz_localize("Europe/Amsterdam")
    messages = pd.read_parquet(path, filters=[("created_at", ">=", start), ("created_at", "<", end)])
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "inbox_messages_recent.parquet"
        messages.to_parquet(part, index=False)
        return _ingest(part)


# --------------------------------------------------------------------------------------------
# Peers


def _quiet_prophet() -> None:
    for name in ("prophet", "cmdstanpy"):
        logging.getLogger(name).setLevel(logging.ERROR)
        logging.getLogger(name).propagate = False


def fit_prophet(train: pd.DataFrame, target: pd.DatetimeIndex) -> np.ndarray:
    """Prophet as a user calls it: ``Prophet()``, fit on ``ds`` (local clock time, naive) and ``y``,
    predict the target intervals."""
    from prophet import Prophet

    _quiet_prophet()
    df = pd.DataFrame({"ds": pd.DatetimeIndex(train["ds"]).tz_localize(None), "y": _floats(train["y"])})
    model = Prophet()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df.dropna())
        fc = model.predict(pd.DataFrame({"ds": target.tz_localize(None)}))
    return fc["yhat"].to_numpy(float)


def fit_statsforecast(train: pd.DataFrame, target: pd.DatetimeIndex) -> dict[str, tuple[float, np.ndarray]]:
    """statsforecast MSTL (default trend) and AutoETS, each fitted on the regular UTC hour grid;
    returns per model (seconds, forecasts for ``target``)."""
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS

    y = pd.Series(_floats(train["y"]))
    ds = pd.DatetimeIndex(train["ds"]).tz_convert("UTC").tz_localize(None)
    df = pd.DataFrame({"unique_id": "s", "ds": ds, "y": y.fillna(0.0).to_numpy()})
    out = {}
    for label, model in ((SF_MSTL, MSTL(season_length=[24, SEASON])), (SF_ETS, AutoETS(season_length=24))):
        t0 = time.perf_counter()
        sf = StatsForecast(models=[model], freq="h", n_jobs=1)
        fc = sf.forecast(df=df, h=len(target))
        seconds = time.perf_counter() - t0
        col = [c for c in fc.columns if c not in ("unique_id", "ds")][0]
        out[label] = (seconds, fc[col].to_numpy(float))
    return out


def _floats(values) -> np.ndarray:
    return pd.Series(values).to_numpy(dtype=float, na_value=np.nan)


# --------------------------------------------------------------------------------------------
# One fold


def fold_jobs(series: Series, horizon: str, n_folds: int, step: str) -> list[tuple]:
    last = pd.DatetimeIndex(series.history["ds"])[-1]
    cutoffs = make_cutoffs(last, horizon, n_folds, step, pd.Timedelta("1h"))
    return [(series, fold, cutoff, horizon, n_folds, step) for fold, cutoff in enumerate(cutoffs, start=1)]


def run_one_fold(series: Series, fold: int, cutoff: pd.Timestamp, horizon: str, n_folds: int, step: str,
                 ours: list[str], peers: dict[str, bool]) -> list[dict]:
    """Every model on one fold of one series: rows of (dataset, series, fold, model, wape, mase,
    seconds, status)."""
    warnings.filterwarnings("ignore")
    _quiet_prophet()
    hist = series.history
    ds = pd.DatetimeIndex(hist["ds"])
    train = hist[ds <= cutoff].reset_index(drop=True)
    target_utc = future_utc_ns(cutoff, horizon, pd.Timedelta("1h"))
    target = pd.DatetimeIndex(target_utc.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(ds.tz)
    y_by_utc = pd.Series(_floats(hist["y"]), index=ds.tz_convert("UTC").as_unit("ns").asi8)
    y = y_by_utc.reindex(target_utc).to_numpy()
    actual = pd.DataFrame({"ds": target, "y": y})
    y_train = _floats(train["y"])
    base = {"dataset": series.dataset, "series": series.name, "fold": fold, "cutoff": cutoff.isoformat()}
    rows = []

    def score(model: str, yhat, seconds: float, status: str = "ok", reason: str = "") -> None:
        if yhat is None:
            rows.append({**base, "model": model, "wape": np.nan, "mase": np.nan, "seconds": seconds,
                         "status": status, "reason": reason})
            return
        yhat = np.maximum(np.asarray(yhat, dtype=float), 0.0)
        m = evaluate(y, yhat, y_train, SEASON)
        rows.append({**base, "model": model, "wape": m["wape"], "mase": m["mase"], "seconds": seconds,
                     "status": status, "reason": reason})

    inner = {"horizon": horizon, "n_folds": min(n_folds, INNER_FOLDS), "step": step}
    params = {"auto": inner, "ensemble": inner}  # as `webcare forecast --horizon` passes them (3 folds by default)
    for model in ours:
        t0 = time.perf_counter()
        row, fc = run_fold(train, actual, model, params.get(model), horizon, (80,), SEASON)
        seconds = time.perf_counter() - t0
        if row["status"] in ("skipped", "failed"):
            score(model, None, seconds, row["status"], row["reason"])
            continue
        yhat = pd.Series(fc["yhat"].to_numpy(float),
                         index=pd.DatetimeIndex(fc["ds"]).tz_convert("UTC").as_unit("ns").asi8).reindex(target_utc)
        score(model, yhat.to_numpy(), seconds, reason=str(row.get("reason", "")))

    if peers.get("prophet"):
        try:
            t0 = time.perf_counter()
            yhat = fit_prophet(train, target)
            score(PROPHET, yhat, time.perf_counter() - t0)
        except Exception as exc:  # a peer failing on one fold is reported, not fatal
            score(PROPHET, None, np.nan, "failed", f"{type(exc).__name__}: {exc}")
    if peers.get("statsforecast"):
        try:
            for label, (seconds, yhat) in fit_statsforecast(train, target).items():
                score(label, yhat, seconds)
        except Exception as exc:
            score(SF_MSTL, None, np.nan, "failed", f"{type(exc).__name__}: {exc}")
    if series.truth is not None:
        truth = series.truth
        t_utc = pd.DatetimeIndex(truth["ds"]).tz_convert("UTC").as_unit("ns").asi8
        for label, col in ((FLOOR, "intensity"), (CALENDAR, "baseline")):
            values = pd.Series(truth[col].to_numpy(float), index=t_utc).reindex(target_utc).to_numpy()
            score(label, values, np.nan, "reference")
    return rows


# --------------------------------------------------------------------------------------------
# The benchmark


def _ours() -> list[str]:
    names = [m for m in available_models() if m != "auto"]
    order = [BASELINE, "snaive_day", "profile", "mstl", "ets", "prophet", "ensemble"]
    names = sorted(names, key=lambda m: (order.index(m) if m in order else len(order), m))
    return names + ["auto"]


def run(smoke: bool = False, n_jobs: int | None = None) -> dict:
    t_start = time.perf_counter()
    ours = _ours()
    peers, peer_notes = {}, []
    for name in PEERS:
        module, reason = optional_import(name)
        peers[name] = module is not None
        if module is None:
            peer_notes.append(reason)
    series, data_notes = load_series(smoke)
    horizon, n_folds, step = ("1d", 2, "1d") if smoke else (HORIZON, N_FOLDS, STEP)
    if smoke:
        ours = [BASELINE, "profile"]
    jobs = [job for s in series for job in fold_jobs(s, horizon, n_folds, step)]
    jobs.sort(key=lambda job: -len(job[0].history))  # longest first: the two workers finish together
    n_jobs = n_jobs if n_jobs is not None else (1 if smoke else int(os.environ.get("BENCH_JOBS", "2")))
    if n_jobs == 1:
        done = (run_one_fold(*job, ours, peers) for job in jobs)
    else:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(run_one_fold)(*job, ours, peers) for job in jobs)
    results = []
    for rows in done:  # progress, so a long run shows it is alive
        results.append(rows)
        if rows and not smoke:
            spent = sum(r["seconds"] for r in rows if np.isfinite(r["seconds"]))
            print(f"  fold {len(results)}/{len(jobs)} done: {rows[0]['dataset']}/{rows[0]['series']} fold "
                  f"{rows[0]['fold']}, {spent:.0f} s of fitting, {time.perf_counter() - t_start:.0f} s elapsed",
                  flush=True)
    folds = pd.DataFrame([row for rows in results for row in rows])
    return report(folds, series, ours, peers, peer_notes + data_notes, smoke, n_jobs,
                  time.perf_counter() - t_start, horizon, n_folds, step)


DATASET_ORDER = ("sample", "nab_tweets", "bank_calls_us", "bike_sharing")
DATA_NOTES = {
    "sample": "`sample` = the bundled synthetic inbox (data/sample/inbox_messages.parquet), ingested to hourly "
              "counts per channel{sub}",
    "nab_tweets": "`nab_tweets` = five Twitter volume series, 2015-02-26 to 2015-04-22 (5-minute counts summed to "
                  "hours, America/New_York; ../shared/data/nab_tweets, Numenta Anomaly Benchmark)",
    "bank_calls_us": "`bank_calls_us` = calls per hour at a US bank, weekdays 07:00-21:00, March-October 2003 "
                     "(nights, weekends and holidays are 0; Weinberg, Brown & Stroud 2007)",
    "bike_sharing": "`bike_sharing` = bike rentals per hour, Washington DC, 2011-2012 (Fanaee-T & Gama 2013)",
}


def _auto_choice(reason: str) -> str:
    """The model ``auto`` chose, from its note (``model profile: lowest mean MASE ...``)."""
    import re

    m = re.search(r"model (\w+):", reason or "")
    return m.group(1) if m else "?"


def report(folds: pd.DataFrame, series: list[Series], ours: list[str], peers: dict[str, bool], notes: list[str],
           smoke: bool, n_jobs: int, seconds: float, horizon: str, n_folds: int, step: str) -> dict:
    peer_models = ([PROPHET] if peers.get("prophet") else []) + ([SF_MSTL, SF_ETS] if peers.get("statsforecast") else [])
    models = ours + peer_models
    references = [FLOOR, CALENDAR] if any(s.truth is not None for s in series) else []
    scored = folds[folds["status"].isin(["ok", "reference"])]
    per = scored.groupby(["dataset", "series", "model"])[["wape", "mase"]].mean()
    n_ok = scored.groupby(["dataset", "series", "model"])["fold"].count()
    keys = sorted(dict.fromkeys(zip(folds["dataset"], folds["series"])),
                  key=lambda k: (DATASET_ORDER.index(k[0]) if k[0] in DATASET_ORDER else 99, k[1]))
    datasets = list(dict.fromkeys(k[0] for k in keys))

    def cell(key, model, metric):
        k = (*key, model)
        if k not in per.index or n_ok.get(k, 0) < n_folds:
            return np.nan  # a model that missed a fold is not compared on this series
        return float(per.loc[k, metric])

    rel = {m: [ratio(cell(k, m, "mase"), cell(k, BASELINE, "mase")) for k in keys] for m in models + references}
    overall = {m: geometric_mean(v) for m, v in rel.items()}
    times = folds[folds["status"] == "ok"].groupby("model")["seconds"].apply(lambda v: median(v))
    prophet_time = times.get(PROPHET, np.nan)

    def kind(m):
        if m in references:
            return "reference"
        if m in peer_models:
            return "peer"
        return "baseline (seasonal naive)" if m == BASELINE else "ours"

    # Overall table
    rows = []
    for m in models + references:
        row = {"model": f"`{m}`" if m in ours else m, "kind": kind(m), "all series": overall[m]}
        for d in datasets:
            row[d] = geometric_mean(r for k, r in zip(keys, rel[m]) if k[0] == d)
        row["series compared"] = int(np.isfinite(rel[m]).sum())
        is_ref = m in references
        row["fit+predict (median)"] = np.nan if is_ref else times.get(m, np.nan)
        row["time vs Prophet"] = np.nan if is_ref else ratio(times.get(m, np.nan), prophet_time)
        row["folds not run"] = int(((folds["model"] == m) & folds["status"].isin(["skipped", "failed"])).sum())
        rows.append(row)
    overall_table = markdown_table(
        rows, ["model", "kind", "all series", *datasets, "series compared", "fit+predict (median)", "time vs Prophet",
               "folds not run"],
        formats={"fit+predict (median)": fmt_seconds, "time vs Prophet": fmt_ratio}, align={"model": "l", "kind": "l"})

    # Synthetic sample against the noise floor
    sample_table, sample_means = "", pd.DataFrame()
    if references:
        sample = scored[scored["dataset"] == "sample"]
        complete = sample.groupby("model")["fold"].count()
        expected = n_folds * sum(1 for k in keys if k[0] == "sample")
        sample_means = sample.groupby("model")[["wape", "mase"]].mean()
        floor_wape = sample_means["wape"].get(FLOOR, np.nan)
        srows = []
        for m in models + references:
            if m not in sample_means.index or complete.get(m, 0) < expected:
                continue
            w = float(sample_means.loc[m, "wape"])
            srows.append({"model": f"`{m}`" if m in ours else m, "WAPE": w, "MASE": float(sample_means.loc[m, "mase"]),
                          "WAPE above the floor": ratio(w, floor_wape) - 1})
        sample_table = markdown_table(srows, ["model", "WAPE", "MASE", "WAPE above the floor"],
                                      formats={"WAPE above the floor": lambda v: "–" if not np.isfinite(v) else f"{v:+.1%}"},
                                      align={"model": "l"})

    # Per series tables
    per_series = []
    for metric in ("mase", "wape"):
        trows = []
        for key in keys:
            row = {"dataset": key[0], "series": key[1]}
            vals = {m: cell(key, m, metric) for m in models}
            finite = {m: v for m, v in vals.items() if np.isfinite(v)}
            best = min(finite, key=finite.get) if finite else None
            for m in models:
                row[m] = f"**{fmt(vals[m])}**" if m == best else fmt(vals[m])
            for r in references:
                row[r] = fmt(cell(key, r, metric))
            trows.append(row)
        per_series += [f"**{metric.upper()} per series** (mean over the {n_folds} folds; lower is better; **bold** = "
                       "the best model on the series, references aside)", "",
                       markdown_table(trows, ["dataset", "series", *models, *references],
                                      align={c: ("l" if c in ("dataset", "series") else "r")
                                             for c in ["dataset", "series", *models, *references]}), ""]

    # auto's choices
    auto_rows = folds[(folds["model"] == "auto") & (folds["status"] == "ok")]
    choices = ""
    if len(auto_rows):
        picked = auto_rows.assign(choice=auto_rows["reason"].map(_auto_choice))
        counts = picked["choice"].value_counts()
        per_key = picked.groupby(["dataset", "series"])["choice"].agg(lambda v: ", ".join(v))
        choices = ("`auto` chose (per fold, on the fold's training part): " +
                   "; ".join(f"{d}/{n}: {c}" for (d, n), c in per_key.items()) +
                   ". Totals: " + ", ".join(f"{m} {c}" for m, c in counts.items()) + ".")

    # The goals, computed as it states them
    real = [k for k in keys if k[0] != "sample"]

    def mean_finite(values):
        values = [v for v in values if np.isfinite(v)]
        return float(np.mean(values)) if values else np.nan

    goals = {
        "real_wape_ratio_auto_vs_snaive": mean_finite(ratio(cell(k, "auto", "wape"), cell(k, BASELINE, "wape"))
                                                      for k in real),
        "real_mean_wape_auto": mean_finite(cell(k, "auto", "wape") for k in real),
        "real_mean_wape_prophet_default": mean_finite(cell(k, PROPHET, "wape") for k in real),
        "real_mean_wape_statsforecast_mstl": mean_finite(cell(k, SF_MSTL, "wape") for k in real),
        "sample_wape_ratio_auto_vs_floor": (ratio(float(sample_means.loc["auto", "wape"]),
                                                  float(sample_means.loc[FLOOR, "wape"]))
                                            if {"auto", FLOOR} <= set(sample_means.index) else np.nan),
    }
    best_peer = np.nanmin([goals["real_mean_wape_prophet_default"], goals["real_mean_wape_statsforecast_mstl"]]) \
        if any(np.isfinite([goals["real_mean_wape_prophet_default"], goals["real_mean_wape_statsforecast_mstl"]])) else np.nan

    def verdict(value, limit):
        return "not measured" if not np.isfinite(value) or not np.isfinite(limit) else (
            "met" if value <= limit else "NOT met")

    goal_rows = [
        {"goal": f"real series ({len(real)}): mean over series of WAPE(`auto`) / WAPE(`snaive`) <= 0.85",
         "figure": fmt(goals["real_wape_ratio_auto_vs_snaive"]),
         "verdict": verdict(goals["real_wape_ratio_auto_vs_snaive"], 0.85)},
        {"goal": "real series: mean WAPE of `auto` <= the better of Prophet (default) and statsforecast MSTL",
         "figure": f"{fmt(goals['real_mean_wape_auto'])} vs {fmt(goals['real_mean_wape_prophet_default'])} (Prophet), "
                   f"{fmt(goals['real_mean_wape_statsforecast_mstl'])} (MSTL)",
         "verdict": verdict(goals["real_mean_wape_auto"], best_peer)},
        {"goal": "synthetic sample: WAPE(`auto`) <= 1.10 x WAPE of the true intensity (noise floor)",
         "figure": fmt(goals["sample_wape_ratio_auto_vs_floor"]),
         "verdict": verdict(goals["sample_wape_ratio_auto_vs_floor"], 1.10)},
    ]
    goal_rows = goal_rows[:2] * bool(real) + goal_rows[2:] * bool(len(sample_means))
    goal_text = ["**The issue's accuracy goals** (WAPE per series = the mean over its folds; means over series are "
                 "plain means):", "", markdown_table(goal_rows, ["goal", "figure", "verdict"],
                                                    align={"goal": "l", "figure": "l", "verdict": "l"}), ""] \
        if goal_rows else []

    n_series = len(keys)
    sub = "" if smoke else " (all of it: two years, 1 November 2024 - 31 October 2026)"
    text = [
        f"Rolling-origin backtest on {n_series} hourly series, {n_folds} folds each: every fold forecasts {horizon} "
        f"ahead (cutoffs {step} apart, the last one {horizon} before the end of the series) from the history up to "
        "its cutoff. Every model is scored on the same intervals by `forecast.metrics.evaluate` (WAPE = "
        "sum |error| / sum actual; MASE = mean |error| / mean |y[t] - y[t-168]| over the fold's training part); "
        "forecasts are clipped at 0 for every model.",
        "",
        *goal_text,
        "**Headline: MASE ratio to the seasonal naive forecast** (MASE(model) / MASE(`snaive`: the same local "
        "hour last week) per series, then the geometric mean over the series, all and per dataset; below 1 is "
        "better than seasonal naive). A model is compared on a series only when it ran every fold there.",
        "",
        overall_table,
        "",
        "Models. Ours: every model in `forecast.models.available_models()`; `auto` and `ensemble` get the "
        f"benchmark's horizon ({horizon}) and step and their default {min(n_folds, INNER_FOLDS)} folds, as "
        "`webcare forecast --horizon` passes them (their own inner backtest on each fold's training part, so "
        "their time includes fitting every candidate several times). Peers, run by this script as a user would: "
        "`prophet.Prophet()` with default settings on the local clock time (Prophet has no time zones); "
        "statsforecast `MSTL(season_length=[24, 168])` (its default trend forecaster, AutoETS) and "
        "`AutoETS(season_length=24)` (its ETS takes seasons up to 24) on the regular UTC hour grid.",
        "",
        f"Fit+predict time: one fold (fit on the training part, forecast {horizon}), the median over every series "
        f"and fold ({n_series * n_folds} per model), with {n_jobs} fold(s) running in parallel on a machine shared "
        "with other jobs: absolute times are slow and noisy, the ratio to Prophet (same run, same conditions) is "
        "the figure to read. statsforecast's first fit in a process includes numba compilation (cached on disk).",
        "",
        "Data: " + "; ".join(DATA_NOTES[d].format(sub=sub) for d in datasets if d in DATA_NOTES) + ".",
        "",
    ]
    if references:
        text += [
            f"**Synthetic sample against the noise floor** (mean over {sum(1 for k in keys if k[0] == 'sample')} "
            f"channels x {n_folds} folds). `{FLOOR}` forecasts exactly the Poisson mean each hour was drawn from "
            "(data/sample/true_intensity.csv.gz, `intensity`): no forecaster can beat it on average. "
            f"`{CALENDAR}` is the smooth calendar pattern without the day-to-day swings and the injected events "
            "(`baseline`): about the most a model can learn from the calendar alone.",
            "",
            sample_table,
            "",
        ]
    text += per_series
    if choices:
        text += [choices, ""]
    if notes:
        text += ["Notes: " + "; ".join(notes), ""]
    bad = folds[folds["status"].isin(["skipped", "failed"])]
    if len(bad):
        text += ["Folds a model could not run (first of each kind):", "",
                 markdown_table(bad.drop_duplicates(subset=["dataset", "series", "model", "status"]).head(30),
                                ["dataset", "series", "fold", "model", "status", "reason"],
                                align={c: "l" for c in ["dataset", "series", "model", "status", "reason"]}), ""]
    text.append(f"Whole benchmark: {seconds:,.0f} s wall time.")

    best_own = min((m for m in ours if m != BASELINE and np.isfinite(overall[m])), key=lambda m: overall[m], default=None)
    figures = {  # headline first (run_all's summary shows the first four)
        **goals,
        "auto_mase_ratio": overall.get("auto", np.nan),
        "prophet_default_mase_ratio": overall.get(PROPHET, np.nan),
        "statsforecast_mstl_mase_ratio": overall.get(SF_MSTL, np.nan),
        "best_own_model": best_own,
        "best_own_mase_ratio": overall.get(best_own, np.nan) if best_own else np.nan,
        "statsforecast_autoets_mase_ratio": overall.get(SF_ETS, np.nan),
        "noise_floor_mase_ratio_sample": overall.get(FLOOR, np.nan),
        "series": n_series,
        "folds_per_series": n_folds,
        "horizon": horizon,
        "wall_seconds": round(seconds, 1),
    }
    if len(sample_means):
        for m, label in ((FLOOR, "floor"), ("auto", "auto"), (best_own, "best_own"), (BASELINE, "snaive"),
                         (PROPHET, "prophet_default")):
            if m in sample_means.index:
                figures[f"sample_wape_{label}"] = float(sample_means.loc[m, "wape"])
    for m in models + references:
        figures[f"mase_ratio[{m}]"] = overall[m]
    for m in models:
        figures[f"fit_seconds_median[{m}]"] = times.get(m, np.nan)
    return {"title": "Forecast accuracy (rolling-origin backtest)", "markdown": "\n".join(text).strip(),
            "figures": figures}


if __name__ == "__main__":
    script_main(run, description=__doc__.splitlines()[0])
