"""Monitoring overhead: the same endpoint served with and without the request-metrics middleware.

Run with ``make bench-monitoring``. Two gunicorn servers (2 workers each, each with its own metrics
folder) run side by side; wrk drives them in turn, ``ROUNDS`` times each (default 8, alternating so
that a noisy neighbour hurts both alike) for ``BENCH_SECONDS`` each (default 3). ``BENCH_PATH`` picks
the endpoint (default the bare Django view, where the middleware's share of the time is largest).
The last line is JSON: median requests/s without and with the middleware, and the overhead in percent.

Throughput on a shared machine swings with the neighbours' load, so the benchmark adds figures that
depend less on them: the overhead of each round against its own pair (median over rounds), the CPU
time the gunicorn processes themselves spent per request (``/proc/<pid>/stat``), and the CPU time of
Django's WSGI handler per request in one process, with and without the middleware, interleaved in
batches (no network, no gunicorn: the purest measure of what the middleware adds).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
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


def in_process(path: str, batches: int = 10, batch: int = 2000) -> dict[str, float]:
    """Time Django's WSGI handler per request, with and without the middleware, in this process."""
    import io

    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    handlers = {"with": WSGIHandler()}
    without = [name for name in settings.MIDDLEWARE if name != "project.monitoring.middleware.RequestMetricsMiddleware"]
    with override_settings(MIDDLEWARE=without):
        handlers["without"] = WSGIHandler()

    def environ() -> dict[str, object]:
        return {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "http",
        }

    def start_response(status: str, headers: object) -> None:
        assert status.startswith("200"), status

    timings: dict[str, list[float]] = {"with": [], "without": []}
    for number in range(batches + 1):
        for variant, handler in handlers.items() if number % 2 else reversed(handlers.items()):
            start = time.process_time()
            for _ in range(batch):
                b"".join(handler(environ(), start_response))  # type: ignore[arg-type]
            if number:  # the first batch warms up
                timings[variant].append(1e6 * (time.process_time() - start) / batch)
    return {variant: statistics.median(values) for variant, values in timings.items()}


def main() -> None:
    seconds = int(os.environ.get("BENCH_SECONDS", "3"))
    rounds = int(os.environ.get("ROUNDS", "8"))
    path = os.environ.get("BENCH_PATH", "/bench/bare/")
    require_wrk()
    ensure_database(int(os.environ.get("POSTS", "100")))
    runs: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
    with contextlib.ExitStack() as stack:
        bases = {}
        for variant in runs:
            metrics_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-metrics-{variant}-"))
            env = bench_env(
                MONITORING_METRICS_DIR=metrics_dir,
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
    log("in-process: Django's WSGI handler with and without the middleware")
    measured = subprocess.run(
        [sys.executable, "-m", "benchmarks.monitoring", "--in-process", path],
        env=bench_env(MONITORING_METRICS_DIR=tempfile.mkdtemp(prefix="bench-metrics-in-process-")),
        capture_output=True,
        text=True,
        check=True,
    )
    handler_us = json.loads(measured.stdout.strip().splitlines()[-1])
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
        "paired_overhead_pct": round(
            statistics.median(
                100 * (off["rps"] - on["rps"]) / off["rps"]
                for off, on in zip(runs["without"], runs["with"], strict=True)
            ),
            2,
        ),
        "without_cpu_us_per_request": round(cpu_without, 1),
        "with_cpu_us_per_request": round(cpu_with, 1),
        "cpu_overhead_pct": round(100 * (cpu_with - cpu_without) / cpu_without, 2),
        "handler_without_us": round(handler_us["without"], 1),
        "handler_with_us": round(handler_us["with"], 1),
        "handler_overhead_pct": round(100 * (handler_us["with"] - handler_us["without"]) / handler_us["without"], 2),
        # What the middleware adds, against all the CPU a served bare request costs (gunicorn, sockets).
        "handler_added_vs_served_cpu_pct": round(100 * (handler_us["with"] - handler_us["without"]) / cpu_without, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--in-process"]:
        print(json.dumps(in_process(sys.argv[2])))
    else:
        main()
