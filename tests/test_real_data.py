"""Ingestion of real series: the bundled NAB tweet counts, and the sets in ../shared/data."""

import pandas as pd

from forecast.ingest import ColumnChoice, IngestOptions, ingest_files
from tests.conftest import REPO, shared_data

NOW = pd.Timestamp("2026-11-23", tz="UTC")


def test_bundled_nab_tweets_in_utc():
    path = REPO / "data" / "nab_tweets" / "Twitter_volume_AMZN.csv"
    raw = pd.read_csv(path)
    result = ingest_files([path], IngestOptions(source_tz="UTC", channel="amzn", now=NOW))
    history = result.history
    assert int(history["y"].sum()) == int(raw["value"].sum())
    # 5-minute counts summed into hours; first stamp 2015-02-26 21:42:53 UTC is 22:42 in Amsterdam
    assert history.iloc[0]["ds"] == pd.Timestamp("2015-02-26 22:00", tz="Europe/Amsterdam")
    assert history["y"].notna().all()
    # 29 March 2015 (summer time starts) has 23 hours
    assert (history["ds"].dt.strftime("%Y-%m-%d") == "2015-03-29").sum() == 23


def test_bank_calls_with_mislabelled_offsets():
    path = shared_data("bank_calls_us", "bank_calls.csv")
    raw = pd.read_csv(path)
    options = IngestOptions(tz="America/New_York", offsets_are_local=True, freq="30min", now=NOW)
    result = ingest_files([path], options)
    history = result.history
    assert int(history["y"].sum()) == int(raw["Calls"].sum())
    # the clock times are kept: the first slot is 07:00 local, not 07:00 UTC
    assert history.iloc[0]["ds"] == pd.Timestamp("2003-03-03 07:00", tz="America/New_York")
    busy = history.groupby(history["ds"].dt.hour)["y"].sum()
    assert busy.loc[0:6].sum() == 0 and busy.loc[22:23].sum() == 0 and busy.loc[7] > 0


def test_bike_sharing_date_and_hour_columns_with_absent_zero_hours():
    path = shared_data("bike_sharing", "hour.csv")
    raw = pd.read_csv(path)
    options = IngestOptions(
        tz="America/New_York", columns=ColumnChoice(date="dteday", time="hr", count="cnt"), channel="rentals", now=NOW
    )
    result = ingest_files([path], options)
    history = result.history
    assert int(history["y"].sum()) == int(raw["cnt"].sum())
    # hours with no rentals are absent in the file and come out as 0
    assert result.report.filled_zero_intervals > 0
    assert history["y"].notna().all()
    days = history["ds"].dt.strftime("%Y-%m-%d")
    assert (days == "2011-03-13").sum() == 23 and (days == "2011-11-06").sum() == 25
    # the file has blank lines in the middle (rows 8481 and 8484): skipped, every count kept
