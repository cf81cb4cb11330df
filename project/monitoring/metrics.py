"""The site's Prometheus instruments, defined once so every part of the site records to the same names.

Other modules import an instrument from here and record to it; exposing them (``/metrics``,
multi-process aggregation under gunicorn and Celery) is the monitoring module's job.
"""

from __future__ import annotations

from django.conf import settings

# prometheus_client chooses multi-process mode when it is first imported, from PROMETHEUS_MULTIPROC_DIR,
# which the settings export: load them first, whoever imports this module and whenever.
settings.PROMETHEUS_MULTIPROC_DIR  # noqa: B018

from prometheus_client import Counter, Histogram  # noqa: E402

# The background-filled cache (project/cache/background.py). ``event`` is one of: hit, stale, miss,
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

# Requests, recorded by project.monitoring.middleware.RequestMetricsMiddleware. ``route`` is the resolved URL
# name (``blog:post``), never the raw path, so the number of series stays bounded; ``<unmatched>``
# covers 404s and ``<static>`` the files WhiteNoise serves. Buckets are dense between 1 and 100 ms
# so that histogram_quantile() resolves the p99 of a 2-50 ms endpoint to a few milliseconds.
LATENCY_BUCKETS = (
    0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.035,
    0.04, 0.045, 0.05, 0.06, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30,
)  # fmt: skip
HTTP_REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time from the first middleware in to the response out, by route, method and status class (2xx...).",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
# SQL per request as counters: their rate divided by the request rate is the mean per request, and
# a counter costs one memory-mapped write per request where a histogram costs two plus a bucket search
# (the middleware must stay cheap next to a bare request). The Performance page has the same means.
HTTP_REQUEST_QUERIES = Counter(
    "http_request_queries_total",
    "SQL queries run by requests, on every database alias.",
    ["route", "method"],
)
HTTP_REQUEST_SQL_SECONDS = Counter(
    "http_request_sql_seconds_total",
    "Time requests spent waiting for SQL, on every database alias.",
    ["route", "method"],
)

# 503s answered because the primary database was unreachable (project/outages.py).
DATABASE_UNAVAILABLE_RESPONSES = Counter(
    "http_database_unavailable_responses_total",
    "Requests answered 503 with Retry-After because the database could not be reached.",
)

# Celery, recorded by the task signal handlers in project.monitoring.task_signals. Queue lengths are read from the
# broker when /metrics is scraped (no process keeps them), see project.monitoring.prometheus.CeleryQueueCollector.
CELERY_TASK_SECONDS = Histogram(
    "celery_task_duration_seconds",
    "Time a worker spent running a task, by task name and outcome (success, failure, retry).",
    ["task", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
# Messages a web process could not hand to the broker (project/broker.py), by task name.
CELERY_ENQUEUE_FAILURES = Counter(
    "celery_enqueue_failures_total",
    "Tasks that could not be enqueued because the broker was unavailable, by task name.",
    ["task"],
)
CELERY_TASK_FAILURES = Counter(
    "celery_task_failures_total",
    "Tasks that raised, by task name and exception class.",
    ["task", "exception"],
)
