"""Measure every request and task in percentiles, expose them to Prometheus, and answer health probes.

- ``RequestMetricsMiddleware`` times each request by route (the resolved URL name, never the raw
  path) and method, counts its SQL queries and SQL time on every database alias with an execute
  wrapper installed once per connection (no DEBUG cursors), records them into the Prometheus histograms of ``project.metrics`` and
  into the per-minute figures of ``project.performance`` (the admin's Performance page), and logs a
  slow request as one structured line.
- Celery's task signals record task runtimes and failures the same way.
- ``/metrics`` adds up the metrics of every process (prometheus_client's multi-process mode, see
  ``MONITORING_METRICS_DIR`` in the settings) plus the Celery queue lengths read from the broker at
  scrape time; it answers staff, a bearer token or allow-listed networks only.
- ``/healthz`` says the process is up; ``/readyz`` checks the primary, each replica's replay lag,
  the cache and the broker, and names each in its JSON body.
"""

from __future__ import annotations

import atexit
import bisect
import contextvars
import functools
import glob
import hmac
import ipaddress
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from celery.signals import task_failure, task_postrun, task_prerun
from django.conf import settings
from django.core import checks
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse

# Load the settings before prometheus_client is imported: they export PROMETHEUS_MULTIPROC_DIR,
# which it reads once, on import (see project.metrics).
settings.PROMETHEUS_MULTIPROC_DIR  # noqa: B018

import prometheus_client  # noqa: E402
from prometheus_client import CollectorRegistry, multiprocess  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

from project.metrics import (  # noqa: E402
    CELERY_TASK_FAILURES,
    CELERY_TASK_SECONDS,
    HTTP_REQUEST_QUERIES,
    HTTP_REQUEST_SECONDS,
    HTTP_REQUEST_SQL_SECONDS,
    LATENCY_BUCKETS,
)
from project.performance import recorder  # noqa: E402

logger = logging.getLogger(__name__)
slow_request_logger = logging.getLogger("project.monitoring.slow_requests")

# Any other verb is counted as "other", so a client inventing methods cannot create new series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"
STATIC_ROUTE = "<static>"


# --- Requests -------------------------------------------------------------------------------------


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
    # every alias per request was measured at 7 us (each connections[alias] goes through asgiref's
    # Local), as much as the rest of the middleware.
    if count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(count_query)


class RequestObservations:
    """Add request measurements up in memory; hand them to the Prometheus instruments in bulk.

    In multi-process mode one histogram observation is a lock and two memory-mapped writes, several
    microseconds; three instruments per request were about half of the middleware's cost. So each
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
            latency._sum.inc(seconds)
            for index, count in enumerate(buckets):
                if count:
                    latency._buckets[index].inc(count)
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


# --- Celery ---------------------------------------------------------------------------------------

_task_starts: dict[str, float] = {}  # task id -> perf_counter at start (by id, so thread pools work too)
_OUTCOMES = {"SUCCESS": "success", "FAILURE": "failure", "RETRY": "retry"}


@task_prerun.connect
def _task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _task_starts[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    start = _task_starts.pop(task_id or "", None)
    if start is None or task is None:
        return
    duration = time.perf_counter() - start
    outcome = _OUTCOMES.get(state or "", "other")
    CELERY_TASK_SECONDS.labels(task.name, outcome).observe(duration)
    recorder.record(f"task {task.name}", duration * 1000, error=outcome == "failure")


@task_failure.connect
def _task_failed(sender: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    CELERY_TASK_FAILURES.labels(getattr(sender, "name", "unknown"), type(exception).__name__).inc()


class CeleryQueueCollector(Collector):
    """Report each Celery queue's length, read from the broker when Prometheus scrapes."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lengths = GaugeMetricFamily("celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"])
        up = GaugeMetricFamily("celery_broker_up", "1 if /metrics could read the queue lengths from the broker.")
        try:
            for queue, length in celery_queue_lengths().items():
                lengths.add_metric([queue], length)
            up.add_metric([], 1)
        except Exception:  # an unreachable broker is a figure (broker_up 0), not a failed scrape
            logger.warning("could not read Celery queue lengths", exc_info=True)
            up.add_metric([], 0)
        yield lengths
        yield up


def celery_queue_lengths() -> dict[str, int]:
    """Return the number of messages waiting in each queue of ``MONITORING_CELERY_QUEUES``."""
    from kombu.exceptions import ChannelError

    from project.celery import app

    lengths = {}
    with app.connection_for_read(settings.CELERY_BROKER_URL, connect_timeout=2) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0)  # answer fast; Prometheus retries
        channel: Any = connection.default_channel  # kombu's virtual channel (Redis, filesystem)
        for queue in settings.MONITORING_CELERY_QUEUES:
            try:
                lengths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except ChannelError:  # Redis drops an empty queue's list: nothing waiting
                lengths[queue] = 0
    return lengths


# --- /metrics -------------------------------------------------------------------------------------


def metrics_allowed(request: HttpRequest) -> bool:
    """Let in staff users, the configured bearer token, or a client inside an allow-listed network."""
    token = settings.MONITORING_METRICS_TOKEN
    if token:
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode()):
            return True
    if settings.MONITORING_METRICS_ALLOWED_NETWORKS:
        try:
            client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            client = None
        if client is not None and any(client in network for network in _allowed_networks()):
            return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in settings.MONITORING_METRICS_ALLOWED_NETWORKS]


def metrics_registry() -> CollectorRegistry:
    """Collect every process's metrics from the metrics folder of every host, plus the queue lengths."""
    request_observations.apply()  # this process's last second too
    registry = CollectorRegistry()
    if multiprocess_mode():
        registry.register(AllHostsCollector(settings.MONITORING_METRICS_DIR))
    else:  # only if something imported prometheus_client before the settings (the system check says so)
        logger.warning("prometheus_client is not in multi-process mode: /metrics shows this process only")
        registry.register(_ProcessRegistry())
    registry.register(CeleryQueueCollector())
    return registry


class AllHostsCollector(Collector):
    """Add up the multi-process files of every host's subfolder (prometheus_client's own merge)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def collect(self) -> Iterable[Any]:
        return multiprocess.MultiProcessCollector.merge(sorted(glob.glob(str(self.root / "*" / "*.db"))))


class _ProcessRegistry(Collector):
    def collect(self) -> Iterator[Any]:
        yield from prometheus_client.REGISTRY.collect()


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the Prometheus text format to staff, the token or an allow-listed network; 403 otherwise."""
    if not metrics_allowed(request):
        return JsonResponse(
            {"error": "forbidden", "detail": "/metrics needs a staff log-in, the metrics token or an allowed network."},
            status=403,
        )
    output = prometheus_client.generate_latest(metrics_registry())
    return HttpResponse(output, content_type=prometheus_client.CONTENT_TYPE_LATEST)


def multiprocess_mode() -> bool:
    return bool(getattr(prometheus_client.values.ValueClass, "_multiprocess", False))


def remove_dead_process_files(directory: Path | str) -> int:
    """Delete the metrics files of processes that no longer run (a previous run's); return how many.

    Called with this host's subfolder when gunicorn's master starts and by ``manage.py runall``:
    counters then start from zero with the new run, and the folder does not grow across restarts.
    Other hosts' subfolders are never touched: their process ids mean nothing here.
    """
    removed = 0
    for path in Path(directory).glob("*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _process_alive(int(pid)):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@checks.register(checks.Tags.compatibility)
def check_prometheus_multiprocess_mode(**kwargs: Any) -> list[checks.CheckMessage]:
    """Fail loudly if prometheus_client was imported before the settings exported its folder."""
    if multiprocess_mode():
        return []
    return [
        checks.Error(
            "prometheus_client is not in multi-process mode, so /metrics would only show one process.",
            hint="Import prometheus_client only after Django's settings have loaded (they set PROMETHEUS_MULTIPROC_DIR).",
            id="project.E001",
        )
    ]


# --- Health ---------------------------------------------------------------------------------------


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer that the process is up, without touching any service (a liveness probe)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Check every service the site uses; 503 only if a critical one (primary, cache) is down.

    A replica that is down or lagging and an unreachable broker are reported ("degraded", 200): the
    site still serves reads from the primary, and a load balancer should keep sending it traffic.
    """
    results = {"primary": _timed(check_primary, critical=True)}
    for alias in settings.REPLICA_DATABASES:
        results[alias] = _timed(functools.partial(check_replica, alias), critical=False)
    results["cache"] = _timed(check_cache, critical=True)
    results["broker"] = _timed(check_broker, critical=False)
    if all(result["ok"] for result in results.values()):
        status, code = "ok", 200
    elif all(result["ok"] for result in results.values() if result["critical"]):
        status, code = "degraded", 200
    else:
        status, code = "unavailable", 503
    return JsonResponse({"status": status, "checks": results}, status=code)


def _timed(check: Callable[[], dict[str, Any]], *, critical: bool) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as exc:  # a probe reports a failure; it must never turn it into a 500
        first_line = next(iter(str(exc).strip().splitlines()), "")
        result = {"ok": False, "error": f"{type(exc).__name__}: {first_line}"}
    result["critical"] = critical
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def check_primary() -> dict[str, Any]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


class ReplicaNotReady(Exception):
    """The replica answers but cannot serve fresh reads."""


def check_replica(alias: str) -> dict[str, Any]:
    lag = replica_replay_lag_seconds(alias)
    if lag > settings.READYZ_REPLICA_MAX_LAG_SECONDS:
        raise ReplicaNotReady(f"replays {lag:.1f} s behind (limit {settings.READYZ_REPLICA_MAX_LAG_SECONDS:g} s)")
    return {"lag_seconds": round(lag, 3)}


# An idle primary writes no WAL, so "now - last replayed commit" grows without any lag. The replica is
# caught up when it has replayed everything it received; only then is the commit timestamp irrelevant.
REPLAY_LAG_SQL = """
SELECT pg_is_in_recovery(),
       (SELECT status FROM pg_stat_wal_receiver),
       pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),
       EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
"""


def replica_replay_lag_seconds(alias: str, *, connect_timeout: int = 2) -> float:
    """Return how far behind the primary the standby behind ``alias`` replays, in seconds.

    Connects directly (not through the pool, whose timeout is long) so a stopped replica is reported
    within ``connect_timeout``. Raises ``ReplicaNotReady`` if the server is not a streaming standby.
    """
    import psycopg

    params = connections[alias].get_connection_params()
    params["connect_timeout"] = connect_timeout
    with psycopg.connect(**params) as connection:
        row = connection.execute(REPLAY_LAG_SQL).fetchone()
    assert row is not None
    in_recovery, receiver_status, caught_up, since_last_replay = row
    if not in_recovery:
        raise ReplicaNotReady("not a standby: the server is not in recovery")
    if receiver_status != "streaming":
        raise ReplicaNotReady(f"not streaming from the primary (WAL receiver: {receiver_status or 'stopped'})")
    if caught_up:
        return 0.0
    return max(float(since_last_replay or 0.0), 0.0)


def check_cache() -> dict[str, Any]:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # The site's Redis backend fails soft (an outage reads as misses); readiness must not, so
        # ask the server itself and let its ConnectionError name the problem.
        cache._cache.get_client(write=True).ping()
    probe = f"readyz:{os.getpid()}:{time.monotonic_ns()}"
    cache.set(probe, 1, 30)
    if cache.get(probe) != 1:
        raise RuntimeError("a value written to the cache could not be read back")
    cache.delete(probe)
    return {}


def check_broker() -> dict[str, Any]:
    from project.celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL, connect_timeout=2) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0)  # a probe answers fast
    return {}


# --- Logging --------------------------------------------------------------------------------------

_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object per line, with any ``extra=`` fields as keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in record.__dict__.items() if key not in _RECORD_FIELDS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
