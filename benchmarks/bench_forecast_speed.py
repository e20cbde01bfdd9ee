"""Benchmark: fit time per channel of every forecaster, and `auto` on one channel of two years.

Input: the bundled synthetic sample (data/sample/inbox_messages.parquet), ingested to hourly
counts; one channel (``whatsapp``, the busiest) with its full two years (17,520 hours), and the
same channel's last 16 weeks. Each model is fitted on that history and forecasts 28 days
(``fit`` + ``predict``); times are medians of ``repeat`` runs (at least 3) after one untimed
warm-up run (imports, Stan's model load), each with its ratio to the seasonal naive forecast
(``snaive``) measured in the same run: the baseline every model must justify its cost against.

Then ``auto`` (the default of ``webcare forecast``) on the two-year channel: three weekly folds of
28 days plus the final fit, with its default candidates (Prophet only when affordable, see
``forecast.backtest.prophet_affordable``), and ``auto`` with Prophet forced in (``prophet=True``),
the issue's limit being 120 s for one channel on 2 cores.

    python benchmarks/bench_forecast_speed.py            # full (several minutes: Prophet on two years)
    python benchmarks/bench_forecast_speed.py --smoke    # the first 35 days of one channel, three models
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import fmt_ratio, fmt_seconds, markdown_table, ratio, repeat_timed, script_main  # noqa: E402

CHANNEL = "whatsapp"
MODELS = ("snaive", "snaive_day", "profile", "mstl", "ets", "prophet")


def sample_channel(days: int | None = None) -> pd.DataFrame:
    """One channel of the bundled sample, hourly (the first ``days`` days, or all)."""
    from benchmarks.bench_spikes import sample_history

    history = sample_history(days=days)  # the first ``days`` days (quick to ingest), or all
    return history[history["channel"] == CHANNEL].reset_index(drop=True)


def fit_times(history: pd.DataFrame, models, repeat: int, horizon: str = "28d") -> list[dict]:
    from forecast.models import get_forecaster

    rows = []
    for name in models:
        seconds, times, _ = repeat_timed(lambda: get_forecaster(name).fit(history).predict(horizon), repeat=repeat,
                                         warmup=1)
        rows.append({"model": name, "seconds": seconds, "runs": len(times)})
    base = next(r["seconds"] for r in rows if r["model"] == "snaive")
    for row in rows:
        row["vs_snaive"] = ratio(row["seconds"], base)
    return rows


def run(smoke: bool = False) -> dict:
    from forecast.backtest import AutoForecaster

    repeat = 3
    full = sample_channel(35 if smoke else None)
    windows = [("35 days", full)] if smoke else [("two years", full), ("last 16 weeks", full.iloc[-16 * 7 * 24:])]
    models = ("snaive", "profile", "ets") if smoke else MODELS
    parts = [f"Channel `{CHANNEL}` of the bundled sample, hourly; fit + 28-day forecast, median of {repeat} runs "
             "after a warm-up; ratio against `snaive` in the same run."]
    figures: dict = {}
    for label, history in windows:
        rows = fit_times(history, models, repeat)
        table = [{"model": r["model"], "fit + predict": fmt_seconds(r["seconds"]), "vs snaive": fmt_ratio(r["vs_snaive"])}
                 for r in rows]
        parts += [f"### {label} ({len(history):,} hours)", markdown_table(table)]
        key = label.replace(" ", "_")
        for r in rows:
            figures[f"{r['model']}_seconds_{key}"] = round(r["seconds"], 3)
    history = full
    horizon = "7d" if smoke else "28d"
    auto_rows = []
    for label, kwargs in (("auto (default candidates)", {}), ("auto with prophet", {"prophet": True})):
        if smoke and kwargs:
            continue  # smoke: auto over three fast candidates only
        if smoke:
            kwargs = {"models": ("snaive", "profile", "ets")}
        seconds, _, model = repeat_timed(lambda: AutoForecaster(horizon=horizon, **kwargs).fit(history), repeat=repeat)
        chosen = model.selection_["model"].iloc[0]
        auto_rows.append({"run": "auto (three fast candidates)" if smoke else label, "seconds": fmt_seconds(seconds), "candidates": ", ".join(model.candidates_),
                          "chosen": chosen})
        figures[f"{label.split(' (')[0].replace(' ', '_')}_seconds"] = round(seconds, 1)
    snaive = figures.get("snaive_seconds_two_years", figures.get("snaive_seconds_35_days"))
    for row, key in zip(auto_rows, ("auto_seconds", "auto_with_prophet_seconds")):
        row["vs snaive fit"] = fmt_ratio(ratio(figures[key], snaive))
    parts += [f"### `auto` on one channel ({len(history):,} hours; 3 folds of {horizon} + final fit; median of {repeat} runs)",
              markdown_table(auto_rows)]
    return {"title": "Forecast model speed", "markdown": "\n\n".join(parts), "figures": figures}


def main(argv: list[str] | None = None) -> dict:
    return script_main(run, argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    main()
