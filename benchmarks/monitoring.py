"""Monitoring overhead: the same endpoint served with and without the request-metrics middleware.

Run with ``make bench-monitoring``. Two gunicorn servers (2 workers each, each with its own metrics
folder) run side by side; wrk drives them in turn, ``ROUNDS`` times each (default 3, alternating so
that a noisy neighbour hurts both alike) for ``BENCH_SECONDS`` each (default 5). ``BENCH_PATH`` picks
the endpoint (default the bare Django view, where the middleware's share of the time is largest).
The last line is JSON: median requests/s without and with the middleware, and the overhead in percent.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import tempfile

from benchmarks.harness import bench_env, ensure_database, gunicorn, log, require_wrk, wrk


def main() -> None:
    seconds = int(os.environ.get("BENCH_SECONDS", "5"))
    rounds = int(os.environ.get("ROUNDS", "3"))
    path = os.environ.get("BENCH_PATH", "/bench/bare/")
    require_wrk()
    ensure_database(int(os.environ.get("POSTS", "100")))
    runs: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
    with contextlib.ExitStack() as stack:
        bases = {}
        for variant in runs:
            metrics_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-metrics-{variant}-"))
            env = bench_env(
                PROMETHEUS_MULTIPROC_DIR=metrics_dir,
                BENCH_WITHOUT_MONITORING="1" if variant == "without" else "0",
            )
            bases[variant] = stack.enter_context(gunicorn(env, workers=2))
        for number in range(1, rounds + 1):
            for variant, base in bases.items():
                figures = wrk(base + path, seconds=seconds)
                log(f"round {number} {variant} middleware: {figures['rps']:.0f} req/s, p99 {figures['p99_ms']:.2f} ms")
                runs[variant].append(figures)
    without = statistics.median(run["rps"] for run in runs["without"])
    with_ = statistics.median(run["rps"] for run in runs["with"])
    result = {
        "path": path,
        "rounds": rounds,
        "seconds_per_run": seconds,
        "without_p99_ms": statistics.median(run["p99_ms"] for run in runs["without"]),
        "with_p99_ms": statistics.median(run["p99_ms"] for run in runs["with"]),
        "without_rps": round(without, 1),
        "with_rps": round(with_, 1),
        "overhead_pct": round(100 * (without - with_) / without, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
