"""The site's Prometheus instruments, defined once so every part of the site records to the same names.

Other modules import an instrument from here and record to it; exposing them (``/metrics``,
multi-process aggregation under gunicorn and Celery) is the monitoring module's job.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# The background-filled cache (project/cache.py). ``event`` is one of: hit, stale, miss,
# refresh_enqueued, refresh_done, refresh_failed, enqueue_failed.
BACKGROUND_CACHE_EVENTS = Counter(
    "background_cache_events_total",
    "Background cache lookups and refreshes, by cached function and event.",
    ["function", "event"],
)
BACKGROUND_CACHE_REFRESH_SECONDS = Histogram(
    "background_cache_refresh_seconds",
    "Time to recompute a background-cached value in the worker.",
    ["function"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
