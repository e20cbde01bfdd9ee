"""Rolling-origin backtests, model selection (``auto``) and conformal intervals.

A backtest cuts each channel's history at ``n_folds`` cutoffs, ``step`` apart, the last one
``horizon`` before the end, so that every fold forecasts a full horizon that has actuals. Each
fold's model sees only the history up to and including its cutoff, forecasts the horizon, and is
scored against the actuals (``forecast.metrics``): WAPE, MASE (scaled by the training part's
seasonal naive of one week), sMAPE, bias and interval coverage at every level.

The unit of work is :func:`run_fold`: a plain function of data (a training frame, the actuals,
a model name and its parameters) returning a row of metrics and the fold's forecasts. Channels
are run in parallel with joblib (:func:`backtest`, ``n_jobs``); the same jobs can be mapped on a
Dask cluster as they are (``dask.bag``/``client.map`` over ``(channel, model, fold)``).

Coverage is reported twice per fold: ``coverage_<L>`` of the model's own intervals as it made
them at the cutoff (from its in-sample errors), and ``conformal_coverage_<L>`` of conformal
intervals built from the errors of the *other* folds of the same channel and model
(leave-one-fold-out, as in cross-conformal prediction). The latter estimates the coverage of the
intervals that ``auto`` publishes, which come from the errors of every fold.

Selection (``auto``, :func:`select_models`): per channel, the model with the lowest mean MASE
over the folds among the models that ran every fold; ``select_by='wape'`` uses mean WAPE. Within
one fold both rank models alike (the MASE scale is the same for every model); over folds MASE
weighs each fold by its own naive error rather than by its volume. Ties go to the simpler model
(the order of ``models``). A channel where no model could be backtested gets ``profile``
(it works from 14 days), with the reason.

Reference: Tashman (2000), "Out-of-sample tests of forecasting accuracy: an analysis and
review", International Journal of Forecasting 16(4) (rolling origin); Barber, Candès, Ramdas &
Tibshirani (2021), "Predictive inference with the jackknife+", Annals of Statistics 49(1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from forecast.ingest import format_iso, write_csv_atomic
from forecast.metrics import coverage, evaluate
from forecast.models import (
    DEFAULT_LEVELS,
    MODELS,
    ChannelSeries,
    ForecastInputError,
    Forecaster,
    ResidualQuantiles,
    check_levels,
    forecast_columns,
    get_forecaster,
    lookup,
    split_channels,
)
from forecast.timegrid import (
    from_utc_ns,
    future_utc_ns,
    parse_horizon,
    to_timedelta,
    utc_ns,
    wall_to_utc_ns,
)

DEFAULT_MODELS = ("snaive", "snaive_day", "profile", "mstl", "ets")
ENSEMBLE = "ensemble"
ENSEMBLE_K = 3
COMBINE_METHODS = ("weighted", "median")
DEFAULT_STEP = "7d"
FALLBACK_MODEL = "profile"
METRICS = ("wape", "mase", "smape", "bias")


class HistoryTooShortForBacktest(ForecastInputError):
    """Not a single fold of any model could be run: the history is too short for the backtest."""


# --------------------------------------------------------------------------------------------
# Cutoffs


def make_cutoffs(last_ds: pd.Timestamp, horizon, n_folds: int = 3, step=DEFAULT_STEP,
                 freq: pd.Timedelta = pd.Timedelta("1h")) -> list[pd.Timestamp]:
    """Cutoffs (the last interval a fold's model sees), oldest first.

    The last cutoff is ``horizon`` before ``last_ds`` in local wall-clock time, so its forecast
    ends exactly at ``last_ds``; each earlier one is ``step`` (local days) before the next. A
    cutoff whose clock time was skipped or repeated by daylight saving is taken as in
    ``forecast.timegrid``, then moved back onto the interval grid.
    """
    if int(n_folds) < 1:
        raise ForecastInputError(f"a backtest needs at least 1 fold (got {n_folds}); 3 or more is usual")
    freq = pd.Timedelta(freq)
    td = parse_horizon(horizon, freq)
    step_td = to_timedelta(step)
    if step_td <= pd.Timedelta(0):
        raise ForecastInputError(f"the step between backtest folds must be longer than 0 (got {step!r})")
    last = pd.Timestamp(last_ds)
    last_utc = int(pd.DatetimeIndex([last]).tz_convert("UTC").as_unit("ns").asi8[0])
    last_wall = int(pd.DatetimeIndex([last]).tz_localize(None).as_unit("ns").asi8[0])
    walls = last_wall - td.value - step_td.value * np.arange(int(n_folds) - 1, -1, -1, dtype=np.int64)
    utc = wall_to_utc_ns(walls, last.tz)
    utc = utc - np.mod(utc - last_utc, freq.value)  # onto the grid, never later
    return list(from_utc_ns(utc, last.tz))


# --------------------------------------------------------------------------------------------
# One fold: a plain function of data


def run_fold(
    train: pd.DataFrame,
    actual: pd.DataFrame,
    model: str,
    params: Mapping | None = None,
    horizon="28d",
    levels: Sequence[float] = DEFAULT_LEVELS,
    season_length: int = 168,
) -> tuple[dict, pd.DataFrame]:
    """Fit ``model`` on ``train`` (one channel, ``channel, ds, y``), forecast ``horizon`` and score
    it against ``actual`` (``ds, y``). Returns (metrics row, forecasts with ``y`` beside them).

    A model that cannot be fitted on this history (e.g. too short) gives a row with ``status`` =
    ``skipped`` and the reason; a model that breaks (any other error) ``failed`` with the error;
    neither has forecasts.
    """
    import time

    row: dict = {"status": "ok", "reason": ""}
    started = time.perf_counter()
    try:
        forecaster = get_forecaster(model, **dict(params or {})).fit(train)
        fc = forecaster.predict(horizon, levels)
        row["seconds"] = time.perf_counter() - started
    except Exception as exc:  # one model failing on one channel must not stop the others
        if isinstance(exc, ForecastInputError):
            row.update(status="skipped", reason=str(exc))
        else:
            row.update(status="failed", reason=f"model '{model}' failed: {type(exc).__name__}: {exc}")
        row.update(n=0, **{m: np.nan for m in METRICS})
        row.update({f"coverage_{level:g}": np.nan for level in levels})
        return row, pd.DataFrame(columns=forecast_columns(levels) + ["y"])
    y_by_ds = pd.Series(_float(actual["y"]), index=pd.DatetimeIndex(actual["ds"]).tz_convert("UTC").as_unit("ns").asi8)
    fc_utc = pd.DatetimeIndex(fc["ds"]).tz_convert("UTC").as_unit("ns").asi8
    fc["y"] = y_by_ds.reindex(fc_utc).to_numpy()
    intervals = {level: (fc[f"yhat_lower_{level:g}"], fc[f"yhat_upper_{level:g}"]) for level in levels}
    row.update(evaluate(fc["y"], fc["yhat"], _float(train["y"]), season_length, intervals))
    notes = [n for ns in forecaster.notes_.values() for n in ns]
    if notes:
        row["reason"] = "; ".join(notes)
    if (fc["model"] == "constant").all():
        row["status"] = "constant"
    return row, fc


def _float(values) -> np.ndarray:
    s = pd.Series(values)
    return s.to_numpy(dtype=float, na_value=np.nan) if s.dtype != float else s.to_numpy()


def _backtest_channel(
    series: ChannelSeries,
    models: Sequence[str],
    params: Mapping[str, Mapping],
    horizon,
    n_folds: int,
    step,
    cutoffs: Sequence[pd.Timestamp] | None,
    levels: Sequence[float],
) -> tuple[list[dict], list[pd.DataFrame]]:
    """Every (model, fold) of one channel (the unit joblib runs in parallel)."""
    freq = pd.Timedelta(series.freq_ns, unit="ns")
    last = series.ds()[-1]
    if cutoffs is None:
        cuts = make_cutoffs(last, horizon, n_folds, step, freq)
    else:
        cuts = [pd.Timestamp(c).tz_convert(series.tz) for c in cutoffs]
    frame = series.frame()
    season_length = 7 * series.per_day
    rows, forecasts = [], []
    for fold, cutoff in enumerate(cuts, start=1):
        cut_utc = int(pd.DatetimeIndex([cutoff]).tz_convert("UTC").as_unit("ns").asi8[0])
        train = frame[series.utc <= cut_utc]
        target = future_utc_ns(cutoff, horizon, freq)
        actual = pd.DataFrame({"ds": from_utc_ns(target, series.tz), "y": lookup(series, series.y, target)})
        for model in models:
            base = {"channel": series.channel, "model": model, "fold": fold, "cutoff": cutoff}
            if train.empty:
                row = {"status": "skipped", "reason": f"channel '{series.channel}': no history before the cutoff", "n": 0}
                rows.append({**base, **row})
                continue
            row, fc = run_fold(train, actual, model, params.get(model), horizon, levels, season_length)
            rows.append({**base, **row})
            if len(fc):
                fc = fc.assign(model=model, fold=fold, cutoff=cutoff,
                               lead_hours=(pd.DatetimeIndex(fc["ds"]) - cutoff).total_seconds() / 3600)
                forecasts.append(fc)
    return rows, forecasts


# --------------------------------------------------------------------------------------------
# The backtest


@dataclass
class BacktestResult:
    """The outcome of :func:`backtest`.

    ``folds``: one row per channel, model and fold: ``channel, model, fold, cutoff, status,
    reason, n, wape, mase, smape, bias, coverage_<L>..., conformal_coverage_<L>...``.
    ``summary``: per channel and model, the means over the folds that ran (``folds`` = how many).
    ``forecasts``: every fold's forecasts beside the actuals (``channel, model, fold, cutoff, ds,
    lead_hours, y, yhat, yhat_lower_<L>, yhat_upper_<L>``).
    """

    folds: pd.DataFrame
    summary: pd.DataFrame
    forecasts: pd.DataFrame
    levels: tuple

    def to_csv(self, path: str | Path, table: str = "folds") -> None:
        """Write ``folds`` (default), ``summary`` or ``forecasts`` as CSV (times ISO 8601 with
        offset, written atomically)."""
        frame = {"folds": self.folds, "summary": self.summary, "forecasts": self.forecasts}.get(table)
        if frame is None:
            raise ForecastInputError(f"unknown backtest table '{table}': choose folds, summary or forecasts")
        out = frame.copy()
        for col in ("cutoff", "ds"):
            if col in out.columns and len(out):
                out[col] = format_iso(out[col])
        write_csv_atomic(out, path)

    def residual_quantiles(self, channel: str, model: str, folds: Sequence[int] | None = None,
                           levels: Sequence[float] | None = None) -> ResidualQuantiles | None:
        """Conformal quantiles of ``model``'s out-of-sample errors on ``channel`` (optionally only
        some folds); None when there are none."""
        fc = self.forecasts
        if fc.empty:
            return None
        mask = (fc["channel"] == channel) & (fc["model"] == model)
        if folds is not None:
            mask &= fc["fold"].isin(list(folds))
        part = fc[mask & fc["y"].notna()]
        if part.empty:
            return None
        return ResidualQuantiles.from_residuals(
            part["y"].to_numpy(float), part["yhat"].to_numpy(float), part["lead_hours"].to_numpy(float) * 3.6e12,
            levels or self.levels, source="backtest",
        )


def backtest(
    history,
    models: Sequence[str] = DEFAULT_MODELS,
    horizon="28d",
    n_folds: int = 3,
    step=DEFAULT_STEP,
    levels: Sequence[float] = DEFAULT_LEVELS,
    cutoffs: Sequence[pd.Timestamp] | None = None,
    params: Mapping[str, Mapping] | None = None,
    n_jobs: int = 1,
    ensemble: int | None = None,
    combine: str = "weighted",
    select_by: str = "mase",
) -> BacktestResult:
    """Rolling-origin backtest of ``models`` on every channel of ``history``.

    ``ensemble``: when a number k (>= 2), also score ``ensemble``, the combination (``combine``:
    ``weighted`` or ``median``) of the best k models, chosen for each fold by ``select_by`` on
    the *other* folds (:func:`add_ensemble`).

    ``horizon``: each fold forecasts this far (e.g. ``'28d'``); ``n_folds`` cutoffs ``step``
    apart (:func:`make_cutoffs`), or explicit ``cutoffs`` (the last interval each fold may see).
    ``params``: per model name, its constructor parameters. ``n_jobs``: channels run in parallel
    (joblib; -1 = every core).

    A model that cannot run a fold (too short a training history) is recorded as ``skipped`` with
    the reason (``failed`` if it broke). Raises :class:`HistoryTooShortForBacktest` (a
    ``ValueError``) when nothing at all could be backtested, saying how much history is needed.
    """
    levels = check_levels(levels)
    models = tuple(m for m in models if m != ENSEMBLE)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ForecastInputError(f"unknown model(s) {', '.join(unknown)}; choose from: {', '.join(sorted(MODELS))}")
    if not models:
        raise ForecastInputError("no models to backtest")
    data = split_channels(history)
    freq = pd.Timedelta(next(iter(data.values())).freq_ns, unit="ns")
    parse_horizon(horizon, freq)
    if cutoffs is None and int(n_folds) < 1:
        raise ForecastInputError(f"a backtest needs at least 1 fold (got {n_folds}); 3 or more is usual")
    params = dict(params or {})
    jobs = [(s, tuple(models), params, horizon, int(n_folds), step, cutoffs, levels) for s in data.values()]
    if n_jobs == 1 or len(jobs) == 1:
        results = [_backtest_channel(*job) for job in jobs]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(_backtest_channel)(*job) for job in jobs)
    rows = [r for rs, _ in results for r in rs]
    forecasts = [f for _, fs in results for f in fs]
    folds = pd.DataFrame(rows)
    cols = ["channel", "model", "fold", "cutoff", "status", "reason", "n", *METRICS] + [f"coverage_{l:g}" for l in levels] \
        + ["seconds"]
    for col in cols:
        if col not in folds.columns:
            folds[col] = np.nan
    folds = folds[cols]
    fc_cols = ["channel", "model", "fold", "cutoff", "ds", "lead_hours", "y", "yhat"] + [
        f"yhat_{side}_{l:g}" for l in levels for side in ("lower", "upper")
    ]
    fc = pd.concat(forecasts, ignore_index=True)[fc_cols] if forecasts else pd.DataFrame(columns=fc_cols)
    if folds["status"].isin(["skipped", "failed"]).all():
        longest = max(s.span_days for s in data.values())
        raise HistoryTooShortForBacktest(
            f"the history is too short to backtest: {n_folds} folds of {_days(horizon)} one every {_days(step)} need "
            f"at least {_needed_days(horizon, n_folds, step):g} days (14 days to learn from before the first fold); "
            f"the longest channel has {longest:.1f} days. First reason: {folds['reason'].iloc[0]}"
        )
    result = BacktestResult(folds, pd.DataFrame(), fc, levels)
    if ensemble:
        add_ensemble(result, int(ensemble), combine, select_by, models)
    _add_conformal_coverage(result)
    result.summary = summarize(result.folds, levels)
    return result


def _days(value) -> str:
    td = to_timedelta(value)
    days = td / pd.Timedelta(days=1)
    return f"{days:g} days" if days >= 1 else str(td)


def _needed_days(horizon, n_folds, step) -> float:
    return 14 + to_timedelta(horizon) / pd.Timedelta(days=1) + (int(n_folds) - 1) * (to_timedelta(step) / pd.Timedelta(days=1))


def _add_conformal_coverage(result: BacktestResult) -> None:
    """Leave-one-fold-out conformal coverage per channel, model and fold (module doc)."""
    folds, fc = result.folds, result.forecasts
    for level in result.levels:
        folds[f"conformal_coverage_{level:g}"] = np.nan
    if fc.empty:
        return
    for (channel, model), part in fc.groupby(["channel", "model"], sort=False):
        fold_ids = part["fold"].unique()
        if len(fold_ids) < 2:
            continue
        for fold in fold_ids:
            q = result.residual_quantiles(channel, model, folds=[f for f in fold_ids if f != fold])
            test = part[(part["fold"] == fold) & part["y"].notna()]
            if q is None or test.empty:
                continue
            lead = test["lead_hours"].to_numpy(float) * 3.6e12
            at = (folds["channel"] == channel) & (folds["model"] == model) & (folds["fold"] == fold)
            for level in result.levels:
                lo, hi = q.bounds(test["yhat"].to_numpy(float), lead, level)
                folds.loc[at, f"conformal_coverage_{level:g}"] = coverage(test["y"].to_numpy(float), lo, hi)


def summarize(folds: pd.DataFrame, levels: Sequence[float] = DEFAULT_LEVELS) -> pd.DataFrame:
    """Per channel and model: folds that ran, the mean of every metric over them, and a status
    (``ok`` = every fold ran, ``partial``, ``skipped`` (none ran), ``constant``) with the first
    reason."""
    metric_cols = [c for c in folds.columns
                   if c in METRICS or c == "seconds" or c.startswith(("coverage_", "conformal_coverage_"))]
    rows = []
    for (channel, model), part in folds.groupby(["channel", "model"], sort=False):
        ran = part[~part["status"].isin(["skipped", "failed"])]
        if ran.empty:
            status = "skipped"
        elif len(ran) < len(part):
            status = "partial"
        elif (ran["status"] == "constant").all():
            status = "constant"
        else:
            status = "ok"
        reasons = [r for r in part["reason"].astype(str) if r and r != "nan"]
        row = {"channel": channel, "model": model, "folds": len(ran), "status": status,
               "reason": reasons[0] if reasons else ""}
        for col in metric_cols:
            values = pd.to_numeric(ran[col], errors="coerce")
            row[col] = float(values.mean()) if values.notna().any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Selection and the auto forecaster


def select_models(summary: pd.DataFrame, select_by: str = "mase", models: Sequence[str] | None = None,
                  fallback: str = FALLBACK_MODEL) -> pd.DataFrame:
    """Per channel, the model with the lowest mean ``select_by`` (``mase`` or ``wape``) among the
    models that ran every fold; ties go to the earlier model in ``models``. Returns ``channel,
    model, reason`` plus the chosen model's mean metric."""
    if select_by not in ("mase", "wape"):
        raise ForecastInputError(f"models are selected by 'mase' or 'wape' (got {select_by!r})")
    order = {m: i for i, m in enumerate(models or summary["model"].unique())}
    rows = []
    for channel, part in summary.groupby("channel", sort=True):
        ok = part[part["status"].isin(["ok", "constant"]) & np.isfinite(part[select_by].astype(float))]
        if ok.empty:
            reasons = "; ".join(f"{r.model}: {r.reason}" for r in part.itertuples() if r.reason)
            rows.append({"channel": channel, "model": fallback, select_by: np.nan,
                         "reason": f"no model could be backtested ({reasons}); using {fallback}"})
            continue
        ok = ok.assign(_order=ok["model"].map(order).fillna(len(order)))
        best = ok.sort_values([select_by, "_order"], kind="stable").iloc[0]
        rows.append({"channel": channel, "model": best["model"], select_by: float(best[select_by]),
                     "reason": f"lowest mean {select_by.upper()} over {int(best['folds'])} folds"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Ensembles: combinations of the best k models


def combine_forecasts(yhats: np.ndarray, weights: np.ndarray, combine: str = "weighted") -> np.ndarray:
    """Combine member forecasts (members x intervals): weighted mean, or median (weights unused)."""
    yhats = np.asarray(yhats, dtype=float)
    if combine == "median":
        return np.median(yhats, axis=0)
    if combine == "weighted":
        w = np.asarray(weights, dtype=float)
        return (w[:, None] * yhats).sum(axis=0) / w.sum()
    raise ForecastInputError(f"ensemble: combine must be one of {', '.join(COMBINE_METHODS)} (got {combine!r})")


def rank_members(table: pd.DataFrame, k: int, select_by: str = "mase",
                 models: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """The best ``k`` models of one channel (rows ``model``, ``select_by``, ``status``) and their
    weights, proportional to 1 / error (a perfect model gets the weight of the best other one x 10)."""
    ok = table[table["status"].isin(["ok"]) & np.isfinite(pd.to_numeric(table[select_by], errors="coerce"))]
    if ok.empty:
        return [], np.zeros(0)
    order = {m: i for i, m in enumerate(models or ok["model"].unique())}
    ok = ok.assign(_order=ok["model"].map(order).fillna(len(order))).sort_values([select_by, "_order"], kind="stable")
    best = ok.iloc[: int(k)]
    err = best[select_by].to_numpy(dtype=float)
    positive = err[err > 0]
    floor = positive.min() / 10 if positive.size else 1.0
    return list(best["model"]), 1 / np.maximum(err, floor)


def add_ensemble(result: BacktestResult, k: int = ENSEMBLE_K, combine: str = "weighted", select_by: str = "mase",
                 models: Sequence[str] | None = None) -> None:
    """Add ``ensemble`` rows to a backtest (folds and forecasts), per channel and fold.

    For fold f the members are the best ``k`` models by mean ``select_by`` over the *other*
    folds (with one fold: that fold, which flatters the ensemble), among the models that ran
    every fold; so the ensemble's score is out of sample like every other model's. A channel with
    fewer than two such models (or a constant channel) gets no ensemble rows.
    """
    if combine not in COMBINE_METHODS:
        raise ForecastInputError(f"ensemble: combine must be one of {', '.join(COMBINE_METHODS)} (got {combine!r})")
    if int(k) < 2:
        raise ForecastInputError(f"an ensemble combines at least 2 models (got k={k})")
    folds, fc = result.folds, result.forecasts
    if fc.empty:
        return
    new_rows, new_fc = [], []
    for channel, part in folds.groupby("channel", sort=False):
        complete = part.groupby("model")["status"].agg(lambda s: (s == "ok").all())
        usable = [m for m in complete.index if complete[m]]
        if len(usable) < 2:
            continue
        part = part[part["model"].isin(usable)]
        fold_ids = sorted(part["fold"].unique())
        ch_fc = fc[(fc["channel"] == channel) & fc["model"].isin(usable)]
        for fold in fold_ids:
            others = part[part["fold"] != fold] if len(fold_ids) > 1 else part
            means = others.groupby("model", sort=False)[select_by].mean().reset_index().assign(status="ok")
            members, weights = rank_members(means, k, select_by, models)
            if len(members) < 2:
                continue
            this = ch_fc[ch_fc["fold"] == fold]
            wide = this.pivot_table(index="ds", columns="model", values="yhat", aggfunc="first")
            if not set(members) <= set(wide.columns):
                continue
            base = this[this["model"] == members[0]].set_index("ds").loc[wide.index]
            yhat = combine_forecasts(wide[members].to_numpy().T, weights, combine)
            y = base["y"].to_numpy(dtype=float)
            rows = part[(part["fold"] == fold) & part["model"].isin(members)]
            # MASE of the ensemble with the fold's own scale (the same for every model of the fold).
            member = rows[rows["model"] == members[0]].iloc[0]
            mfc = base["yhat"].to_numpy(dtype=float)
            keep = np.isfinite(y)
            mae_member = np.abs(mfc[keep] - y[keep]).mean() if keep.any() else np.nan
            scale = mae_member / member["mase"] if member["mase"] and np.isfinite(member["mase"]) else np.nan
            metrics = evaluate(y, yhat, np.array([]), 1)
            mae = np.abs(yhat[keep] - y[keep]).mean() if keep.any() else np.nan
            metrics["mase"] = float(mae / scale) if scale and np.isfinite(scale) and scale > 0 else np.nan
            cutoff = member["cutoff"]
            how = "inverse-error weighted mean" if combine == "weighted" else "median"
            new_rows.append({"channel": channel, "model": ENSEMBLE, "fold": fold, "cutoff": cutoff, "status": "ok",
                             "reason": f"{how} of {', '.join(members)}", **metrics})
            out = pd.DataFrame({"channel": channel, "model": ENSEMBLE, "fold": fold, "cutoff": cutoff,
                                "ds": wide.index, "lead_hours": base["lead_hours"].to_numpy(), "y": y, "yhat": yhat})
            new_fc.append(out)
    if new_rows:
        result.folds = pd.concat([folds, pd.DataFrame(new_rows)], ignore_index=True)
        result.forecasts = pd.concat([fc, *new_fc], ignore_index=True)
        result.forecasts = result.forecasts.reindex(columns=fc.columns)


class EnsembleForecaster(Forecaster):
    """``ensemble``: per channel, the combination of the best ``k`` models of a backtest.

    ``fit`` backtests ``models`` (as ``auto`` does; or takes a finished ``backtest_result``), picks
    per channel the best ``k`` by mean ``select_by`` over every fold, fits each on the whole
    history and combines their forecasts: ``combine='weighted'`` (default; weights 1 / mean
    error) or ``'median'``. Intervals: conformal, from the errors of the ensemble's own backtest
    (:func:`add_ensemble`). A channel where fewer than two models could be backtested is forecast
    by its best model (or ``profile``), with a note.

    Learned state: ``members_`` (per channel, list of (model, weight)), ``forecasters_`` (per
    channel, the fitted members, or one fallback), ``intervals_``, ``backtest_``, ``notes_``.
    """

    name = ENSEMBLE
    min_history_days = 14

    def __init__(self, models: Sequence[str] = DEFAULT_MODELS, k: int = ENSEMBLE_K, combine: str = "weighted",
                 horizon="28d", n_folds: int = 3, step=DEFAULT_STEP, select_by: str = "mase",
                 params: Mapping[str, Mapping] | None = None, n_jobs: int = 1):
        self.models = models
        self.k = k
        self.combine = combine
        self.horizon = horizon
        self.n_folds = n_folds
        self.step = step
        self.select_by = select_by
        self.params = params
        self.n_jobs = n_jobs

    def fit(self, history, backtest_result: BacktestResult | None = None) -> "EnsembleForecaster":
        if self.combine not in COMBINE_METHODS:
            raise ForecastInputError(f"ensemble: combine must be one of {', '.join(COMBINE_METHODS)} (got {self.combine!r})")
        data = split_channels(history)
        params = dict(self.params or {})
        models = tuple(m for m in self.models if m not in (ENSEMBLE, "auto"))
        result, why = backtest_result, "fewer than two models could be backtested"
        if result is None:
            try:
                result = backtest(history, models, self.horizon, self.n_folds, self.step, params=params,
                                  n_jobs=self.n_jobs, ensemble=self.k, combine=self.combine, select_by=self.select_by)
            except HistoryTooShortForBacktest as exc:
                result, why = None, str(exc)
        self.backtest_ = result
        self.members_, self.forecasters_, self.intervals_, self.notes_ = {}, {}, {}, {}
        for channel, series in data.items():
            frame = series.frame()
            members, weights = [], np.zeros(0)
            if result is not None:
                table = result.summary[(result.summary["channel"] == channel) & (result.summary["model"] != ENSEMBLE)]
                members, weights = rank_members(table, self.k, self.select_by, models)
            if len(members) < 2:
                chosen = members[0] if members else FALLBACK_MODEL
                fitted = get_forecaster(chosen, **dict(params.get(chosen, {}))).fit(frame)
                q = result.residual_quantiles(channel, chosen) if result is not None else None
                if q is not None:
                    fitted.calibrate_intervals({channel: q})
                self.members_[channel] = [(chosen, 1.0)]
                self.forecasters_[channel] = [fitted]
                self.intervals_[channel] = fitted.intervals_[channel]
                self.notes_[channel] = [f"ensemble: {why}; using {chosen}"] + fitted.notes_[channel]
                continue
            fitted = [get_forecaster(m, **dict(params.get(m, {}))).fit(frame) for m in members]
            self.members_[channel] = [(m, float(w)) for m, w in zip(members, weights)]
            self.forecasters_[channel] = fitted
            q = result.residual_quantiles(channel, ENSEMBLE)
            self.intervals_[channel] = q if q is not None else fitted[0].intervals_[channel]
            how = "weighted mean" if self.combine == "weighted" else "median"
            share = weights / weights.sum()
            self.notes_[channel] = [f"ensemble: {how} of " + ", ".join(f"{m} ({s:.0%})" for m, s in zip(members, share))]
            self.notes_[channel] += [n for f in fitted for n in f.notes_[channel] if "missing intervals" in n][:1]
        self.channels_ = list(self.forecasters_)
        first = self.forecasters_[self.channels_[0]][0]
        self.freq_, self.tz_ = first.freq_, first.tz_
        self.last_ds_ = {c: fs[0].last_ds_[c] for c, fs in self.forecasters_.items()}
        self.states_ = {c: [f.states_[c] for f in fs] for c, fs in self.forecasters_.items()}
        return self

    def predict(self, horizon="28d", levels: Sequence[float] = DEFAULT_LEVELS) -> pd.DataFrame:
        self._check_fitted()
        levels = check_levels(levels)
        parts = []
        for channel in self.channels_:
            fitted = self.forecasters_[channel]
            if len(fitted) == 1:
                parts.append(fitted[0].predict(horizon, levels))
                continue
            member_fc = [f.predict(horizon, levels) for f in fitted]
            first = member_fc[0]
            if (first["model"] == "constant").all():
                parts.append(first)
                continue
            weights = np.array([w for _, w in self.members_[channel]])
            yhat = np.maximum(combine_forecasts(np.vstack([m["yhat"].to_numpy(float) for m in member_fc]),
                                                weights, self.combine), 0.0)
            out = {"channel": channel, "ds": first["ds"].to_numpy(), "yhat": yhat}
            lead = utc_ns(first["ds"]) - int(utc_ns(self.last_ds_[channel])[0])
            for level in levels:
                lo, hi = self.intervals_[channel].bounds(yhat, lead, level)
                out[f"yhat_lower_{level:g}"], out[f"yhat_upper_{level:g}"] = lo, hi
            out["model"] = ENSEMBLE
            parts.append(pd.DataFrame(out))
        return pd.concat(parts, ignore_index=True)[forecast_columns(levels)]


# --------------------------------------------------------------------------------------------
# The auto forecaster

# Prophet's cost per fit, measured on this project's 2-core machine: about 1.1 ms per fitted
# interval (two years of hourly data, 17,520 intervals: 18.7 s lightly loaded; 44 s when the two
# cores were shared with other jobs). Rerun: benchmarks/bench_forecast_speed.py.
PROPHET_SECONDS_PER_ROW = 1.1e-3
PROPHET_BUDGET_SECONDS = 60.0


def prophet_affordable(data: Mapping[str, ChannelSeries], n_folds: int, n_jobs: int = 1,
                       budget_seconds: float = PROPHET_BUDGET_SECONDS, history_weeks: int = 104) -> tuple[bool, float]:
    """Whether backtesting and fitting Prophet on every channel ((n_folds + 1) fits each) is
    expected to take at most ``budget_seconds`` (wall time over ``n_jobs`` workers); and the estimate."""
    rows = sum(min(s.utc.size, int(history_weeks) * 7 * s.per_day) for s in data.values())
    workers = max(1, min(len(data), _cores(n_jobs)))
    estimate = rows * (int(n_folds) + 1) * PROPHET_SECONDS_PER_ROW / workers
    return estimate <= budget_seconds, float(estimate)


def _cores(n_jobs: int) -> int:
    if n_jobs is None or n_jobs == 1:
        return 1
    import os

    total = os.cpu_count() or 1
    return total if n_jobs < 0 else min(int(n_jobs), total)


class AutoForecaster(Forecaster):
    """``auto``: per channel, backtest the candidate models, pick the best (:func:`select_models`),
    fit it on the whole history and give it conformal intervals from its backtest errors.

    Candidates: with ``models=None`` (the default) ``snaive``, ``snaive_day``, ``profile``,
    ``mstl``, ``ets``; plus ``prophet`` when it is affordable (``prophet='auto'``,
    :func:`prophet_affordable`: the expected time of its (n_folds + 1) fits per channel is within
    ``prophet_budget_seconds``, default 60 s; ``prophet=True`` always, ``False`` never); plus
    ``ensemble`` (the best ``ensemble_k`` combined, scored out of sample by :func:`add_ensemble`;
    ``ensemble_k=None`` leaves it out). An explicit ``models`` list is used as given (``profile``
    is always added as the fallback; name ``prophet`` and ``ensemble`` in it to have them).

    Learned state: ``backtest_`` (:class:`BacktestResult`, or None when no backtest could run),
    ``selection_`` (``channel, model, reason, <select_by>, intervals``), ``forecasters_`` (per
    channel, the fitted chosen forecaster), ``candidates_``, ``notes_``.
    When the history is too short to backtest, every channel gets ``profile`` with its in-sample
    intervals, and ``selection_`` says why.
    """

    name = "auto"
    min_history_days = 14

    def __init__(self, models: Sequence[str] | None = None, horizon="28d", n_folds: int = 3,
                 step=DEFAULT_STEP, select_by: str = "mase", params: Mapping[str, Mapping] | None = None,
                 n_jobs: int = 1, prophet="auto", prophet_budget_seconds: float = PROPHET_BUDGET_SECONDS,
                 ensemble_k: int | None = ENSEMBLE_K, combine: str = "weighted"):
        self.models = models
        self.horizon = horizon
        self.n_folds = n_folds
        self.step = step
        self.select_by = select_by
        self.params = params
        self.n_jobs = n_jobs
        self.prophet = prophet
        self.prophet_budget_seconds = prophet_budget_seconds
        self.ensemble_k = ensemble_k
        self.combine = combine

    def fit(self, history) -> "AutoForecaster":
        data = split_channels(history)
        params = dict(self.params or {})
        default = self.models is None
        asked = tuple(DEFAULT_MODELS if default else self.models)
        models = tuple(m for m in asked if m not in (ENSEMBLE, "auto"))
        if FALLBACK_MODEL not in models:
            models = models + (FALLBACK_MODEL,)
        notes = []
        if default and "prophet" not in models and self.prophet is not False:
            weeks = int(dict(params.get("prophet", {})).get("history_weeks", 104))
            ok, estimate = prophet_affordable(data, self.n_folds, self.n_jobs, self.prophet_budget_seconds, weeks)
            if self.prophet is True or (self.prophet == "auto" and ok):
                models = models + ("prophet",)
            else:
                notes.append(f"prophet left out of the candidates: its backtest would take about {estimate:.0f} s "
                             f"(budget {self.prophet_budget_seconds:g} s; ask for it with --model prophet)")
        k = self.ensemble_k if (default or ENSEMBLE in asked) else None
        self.candidates_ = list(models) + ([ENSEMBLE] if k else [])
        try:
            self.backtest_ = backtest(history, models, self.horizon, self.n_folds, self.step, params=params,
                                      n_jobs=self.n_jobs, ensemble=k, combine=self.combine,
                                      select_by=self.select_by)
            selection = select_models(self.backtest_.summary, self.select_by, self.candidates_)
        except HistoryTooShortForBacktest as exc:
            self.backtest_ = None
            selection = pd.DataFrame({"channel": list(data), "model": FALLBACK_MODEL, self.select_by: np.nan,
                                      "reason": f"{exc} Using {FALLBACK_MODEL} with in-sample intervals."})
        self.forecasters_, self.notes_, sources = {}, {}, []
        for row in selection.itertuples(index=False):
            frame = data[row.channel].frame()
            if row.model == ENSEMBLE:
                forecaster = EnsembleForecaster(models, k, self.combine, self.horizon, self.n_folds,
                                                self.step, self.select_by, params).fit(frame, self.backtest_)
            else:
                forecaster = get_forecaster(row.model, **dict(params.get(row.model, {}))).fit(frame)
                q = self.backtest_.residual_quantiles(row.channel, row.model) if self.backtest_ is not None else None
                if q is not None:
                    forecaster.calibrate_intervals({row.channel: q})
            self.forecasters_[row.channel] = forecaster
            self.notes_[row.channel] = [f"model {row.model}: {row.reason}"] + notes + forecaster.notes_[row.channel]
            sources.append(forecaster.intervals_[row.channel].source)
        self.selection_ = selection.assign(intervals=sources)
        self.channels_ = list(self.forecasters_)
        first = next(iter(self.forecasters_.values()))
        self.freq_, self.tz_ = first.freq_, first.tz_
        self.last_ds_ = {c: f.last_ds_[c] for c, f in self.forecasters_.items()}
        self.states_ = {c: f.states_[c] for c, f in self.forecasters_.items()}
        return self

    def predict(self, horizon="28d", levels: Sequence[float] = DEFAULT_LEVELS) -> pd.DataFrame:
        self._check_fitted()
        levels = check_levels(levels)
        parts = [f.predict(horizon, levels) for f in self.forecasters_.values()]
        return pd.concat(parts, ignore_index=True)[forecast_columns(levels)]
