"""Time every request by route and method, count its SQL, and log the slow ones.

``RequestMetricsMiddleware`` times each request by route (the resolved URL name, never the raw
path) and method, counts its SQL queries and SQL time on every database alias with an execute
wrapper installed once per connection (no DEBUG cursors), records them into the Prometheus
histograms of ``project.monitoring.metrics`` and into the per-minute figures of
``project.monitoring.performance`` (the admin's Performance page), and logs a slow request as one
structured line.
"""

from __future__ import annotations

import atexit
import bisect
import contextvars
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from project.monitoring.metrics import (
    HTTP_REQUEST_QUERIES,
    HTTP_REQUEST_SECONDS,
    HTTP_REQUEST_SQL_SECONDS,
    LATENCY_BUCKETS,
)
from project.monitoring.performance import recorder

logger = logging.getLogger(__name__)
slow_request_logger = logging.getLogger("project.monitoring.slow_requests")

# Any other verb is counted as "other", so a client inventing methods cannot create new series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"
STATIC_ROUTE = "<static>"


class QueryStats:
    """Count and time the SQL one request runs, on every database alias."""

    __slots__ = ("count", "seconds", "slowest_seconds", "slowest_sql")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.slowest_seconds = 0.0
        self.slowest_sql = ""


# The request being measured in this thread or task, or None outside a request.
_current_stats: contextvars.ContextVar[QueryStats | None] = contextvars.ContextVar("query_stats", default=None)


def count_query(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """Time one query into the current request's ``QueryStats``; an execute wrapper on every connection."""
    stats = _current_stats.get()
    if stats is None:
        return execute(sql, params, many, context)
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        elapsed = time.perf_counter() - start
        stats.count += 1
        stats.seconds += elapsed
        if elapsed > stats.slowest_seconds:
            stats.slowest_seconds = elapsed
            stats.slowest_sql = sql


@receiver(connection_created)
def _install_query_counter(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    # Installed once per connection object, for good, instead of around each request: wrapping
    # every alias per request reaches each connection through asgiref's Local, which costs as much
    # as the rest of the middleware (docs/monitoring.md has the figures).
    if count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(count_query)


class RequestObservations:
    """Add request measurements up in memory; hand them to the Prometheus instruments in bulk.

    In multi-process mode one histogram observation is a lock and two memory-mapped writes, and three
    instruments per request dominated the middleware's cost (docs/monitoring.md). So each
    request only adds into a list here, and the totals reach the instruments within a second (the
    Performance recorder's background thread), when /metrics is read, and at exit.
    """

    def __init__(self) -> None:
        self._upper_bounds = [*LATENCY_BUCKETS, math.inf]
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        # (route, method, status) -> [count per latency bucket, seconds, queries, SQL seconds]
        self._pending: dict[tuple[str, str, str], list[Any]] = {}

    def add(self, key: tuple[str, str, str], seconds: float, queries: int, sql_seconds: float) -> None:
        bucket = bisect.bisect_left(self._upper_bounds, seconds)  # the first bound >= seconds, like observe()
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                entry = self._pending[key] = [[0] * len(self._upper_bounds), 0.0, 0, 0.0]
            entry[0][bucket] += 1
            entry[1] += seconds
            entry[2] += queries
            entry[3] += sql_seconds

    def apply(self) -> None:
        """Record what was added since the last call into the Prometheus instruments."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for (route, method, status), (buckets, seconds, queries, sql_seconds) in pending.items():
            latency = HTTP_REQUEST_SECONDS.labels(route, method, status)
            # prometheus_client has no public "observe n times"; these are the two values observe()
            # itself increments (the sum, and the count of the bucket the value falls in).
            latency._sum.inc(seconds)  # noqa: SLF001  prometheus_client has no public observe-n-times
            for index, count in enumerate(buckets):
                if count:
                    latency._buckets[index].inc(count)  # noqa: SLF001  as above
            if queries:
                HTTP_REQUEST_QUERIES.labels(route, method).inc(queries)
                HTTP_REQUEST_SQL_SECONDS.labels(route, method).inc(sql_seconds)


request_observations = RequestObservations()
recorder.before_flush.append(request_observations.apply)
atexit.register(request_observations.apply)


class RequestMetricsMiddleware:
    """Record latency, status class, SQL count and SQL time per route and method; log slow requests.

    Put it first in ``MIDDLEWARE`` so its clock includes every other middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.slow_seconds = settings.MONITORING_SLOW_REQUEST_MS / 1000
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")
        # The Performance page's series name by (route, method, status), built once.
        self.series: dict[tuple[str, str, str], str] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        stats = QueryStats()
        token = _current_stats.set(stats)
        start = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _current_stats.reset(token)
        duration = time.perf_counter() - start
        self.record(request, response, duration, stats)
        return response

    def record(self, request: HttpRequest, response: HttpResponse, duration: float, stats: QueryStats) -> None:
        route = self.route(request)
        method = request.method if request.method in METHODS else "other"
        key = (route, method, f"{response.status_code // 100}xx")
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = f"{method} {route}"
        request_observations.add(key, duration, stats.count, stats.seconds)
        recorder.record(
            series, duration * 1000, error=response.status_code >= 500, queries=stats.count, sql_ms=stats.seconds * 1000
        )
        if duration >= self.slow_seconds:
            log_slow_request(
                request, route=route, method=method, status=response.status_code, duration=duration, stats=stats
            )

    def route(self, request: HttpRequest) -> str:
        match = request.resolver_match
        if match is not None:
            return match.view_name
        return STATIC_ROUTE if request.path.startswith(self.static_prefix) else UNMATCHED_ROUTE


def log_slow_request(
    request: HttpRequest, *, route: str, method: str, status: int, duration: float, stats: QueryStats
) -> None:
    """Log one line with what is needed to find the cause: route, time, queries and the slowest SQL."""
    slowest_sql = " ".join(stats.slowest_sql.split())[:2000]  # one line, bounded
    slow_request_logger.warning(
        "slow request %s %s: %.0f ms, %d queries in %.0f ms, slowest %.0f ms: %s",
        method,
        route,
        duration * 1000,
        stats.count,
        stats.seconds * 1000,
        stats.slowest_seconds * 1000,
        slowest_sql[:200],
        extra={
            "event": "slow_request",
            "route": route,
            "method": method,
            "path": request.path,
            "status": status,
            "duration_ms": round(duration * 1000, 1),
            "queries": stats.count,
            "sql_ms": round(stats.seconds * 1000, 1),
            "slowest_sql_ms": round(stats.slowest_seconds * 1000, 1),
            "slowest_sql": slowest_sql,
        },
    )
