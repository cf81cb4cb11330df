"""Settings for the replica benchmark: the benchmark settings plus a header naming where queries ran."""

from __future__ import annotations

import os

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import MIDDLEWARE

# Outermost, so it counts every query of the request (session and user included).
MIDDLEWARE = ["benchmarks.replica.QueryOriginMiddleware", *MIDDLEWARE]

if os.environ.get("BENCH_DOCS_ROUTER"):
    # The baseline: the router of Django's documentation, with no health or lag check.
    DATABASE_ROUTERS = ["benchmarks.replica.DocsExampleRouter"]
