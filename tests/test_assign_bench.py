"""The assignment benchmark runs on a tiny instance, so the script cannot rot (timings are never asserted)."""

from benchmarks import bench_assign


def test_bench_assign_smoke():
    out = bench_assign.run(smoke=True, time_limit=20)
    figures = out["figures"]
    assert out["title"] and "| MILP" in out["markdown"] and "| greedy" in out["markdown"]
    assert figures["agents"] == 12 and figures["shifts"] > 0
    assert figures["milp_seconds_median"] > 0 and figures["greedy_seconds_median"] > 0
    # The MILP never leaves more shifts open than the greedy baseline on the same instance.
    assert figures["milp_unfilled"] <= figures["greedy_unfilled"]
