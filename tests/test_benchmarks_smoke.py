"""Each benchmark runs on a tiny input, so the scripts cannot rot. (Timings are never asserted.)"""

import json

from benchmarks import bench_ingest


def test_bench_ingest_smoke(tmp_path):
    out = tmp_path / "ingest.json"
    summary = bench_ingest.main(["--rows", "3000", "--repeat", "1", "--out", str(out)])
    assert summary["rows"] == 3000
    assert json.loads(out.read_text())["ingest_seconds_median"] > 0
    assert summary["ratio_seconds_vs_baseline"] > 0
