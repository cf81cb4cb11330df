"""Monitoring overhead: the same endpoint served with and without the request-metrics middleware.

Run with ``make bench-monitoring``. Two gunicorn servers (2 workers each, each with its own metrics
folder) run side by side; wrk drives them in turn, ``ROUNDS`` times each (default 5, alternating so
that a noisy neighbour hurts both alike) for ``BENCH_SECONDS`` each (default 5). ``BENCH_PATH`` picks
the endpoint (default the bare Django view, where the middleware's share of the time is largest).
The last line is JSON: median requests/s without and with the middleware, and the overhead in percent.

Throughput on a shared machine swings with the neighbours' load, so the benchmark also reads the CPU
time the gunicorn processes themselves spent (``/proc/<pid>/stat``) and reports CPU per request for
each variant: that figure does not depend on how much CPU the neighbours left over.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import tempfile
from pathlib import Path

from benchmarks.harness import bench_env, ensure_database, gunicorn, log, require_wrk, wrk


def server_cpu_seconds(base: str) -> float:
    """User + system CPU seconds used so far by the gunicorn master and workers serving ``base``."""
    bind = f"GUNICORN_BIND={base.removeprefix('http://')}".encode()
    ticks = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if bind not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone, or not ours
            continue
        # utime, stime, and cutime, cstime: the master inherits the time of workers it has reaped.
        ticks += sum(int(field) for field in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    seconds = int(os.environ.get("BENCH_SECONDS", "5"))
    rounds = int(os.environ.get("ROUNDS", "5"))
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
                GUNICORN_MAX_REQUESTS="0",  # no worker recycling in the middle of a measurement
            )
            bases[variant] = stack.enter_context(gunicorn(env, workers=2))
        for number in range(1, rounds + 1):
            # Alternate which goes first, so neither always follows the other's load.
            order = list(bases.items()) if number % 2 else list(reversed(bases.items()))
            for variant, base in order:
                cpu_before = server_cpu_seconds(base)
                figures = wrk(base + path, seconds=seconds)
                figures["cpu_us_per_request"] = 1e6 * (server_cpu_seconds(base) - cpu_before) / figures["requests"]
                log(
                    f"round {number} {variant} middleware: {figures['rps']:.0f} req/s, p99 {figures['p99_ms']:.2f} ms,"
                    f" {figures['cpu_us_per_request']:.0f} us CPU per request"
                )
                runs[variant].append(figures)
    without = statistics.median(run["rps"] for run in runs["without"])
    with_ = statistics.median(run["rps"] for run in runs["with"])
    cpu_without = statistics.median(run["cpu_us_per_request"] for run in runs["without"])
    cpu_with = statistics.median(run["cpu_us_per_request"] for run in runs["with"])
    result = {
        "path": path,
        "rounds": rounds,
        "seconds_per_run": seconds,
        "without_p99_ms": statistics.median(run["p99_ms"] for run in runs["without"]),
        "with_p99_ms": statistics.median(run["p99_ms"] for run in runs["with"]),
        "without_rps": round(without, 1),
        "with_rps": round(with_, 1),
        "overhead_pct": round(100 * (without - with_) / without, 2),
        "without_cpu_us_per_request": round(cpu_without, 1),
        "with_cpu_us_per_request": round(cpu_with, 1),
        "cpu_overhead_pct": round(100 * (cpu_with - cpu_without) / cpu_without, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
