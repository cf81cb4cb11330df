"""Benchmark settings: the real settings plus URLs that exist only for benchmark baselines."""

from __future__ import annotations

import os

from project.settings import *  # noqa: F403
from project.settings import MIDDLEWARE

ROOT_URLCONF = "benchmarks.urls"

# The baseline of `make bench-monitoring`: the same site without the request-metrics middleware.
if os.environ.get("BENCH_WITHOUT_MONITORING") == "1":
    MIDDLEWARE = [name for name in MIDDLEWARE if name != "project.monitoring.middleware.RequestMetricsMiddleware"]
