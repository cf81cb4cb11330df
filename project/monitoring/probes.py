"""Answer the health probes: ``/healthz`` (the process is up) and ``/readyz`` (its services are).

``/readyz`` checks the primary, each replica's replay lag (with the router's own lag function,
``project.replicas.lag``), the cache and the broker. Everyone gets the status and its HTTP code (all
a load balancer needs); the per-service detail, whose error texts name hosts and ports, goes only
to those /metrics lets in (staff, the metrics token, an allowed network) and to development.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, JsonResponse

from project.replicas.lag import measure_replay_lag

READYZ_CONNECT_TIMEOUT_SECONDS = 2


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
    from project.monitoring.prometheus import metrics_allowed  # imports prometheus_client: keep it lazy

    if settings.DEBUG or metrics_allowed(request):
        return JsonResponse({"status": status, "checks": results}, status=code)
    return JsonResponse({"status": status}, status=code)


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
    """Measure ``alias``'s replay lag with the router's function, on a direct connection.

    A direct connection (not the pool, whose timeout is long) reports a stopped replica within
    ``READYZ_CONNECT_TIMEOUT_SECONDS``.
    """
    params = connections[alias].get_connection_params()
    params["connect_timeout"] = READYZ_CONNECT_TIMEOUT_SECONDS
    with psycopg.connect(**params) as connection:
        state = measure_replay_lag(connection.cursor())
    if not state.standby:
        raise ReplicaNotReady("not a standby: the server is not in recovery")
    if not state.streaming:
        raise ReplicaNotReady(f"not streaming from the primary (WAL receiver: {state.receiver_status or 'stopped'})")
    limit = settings.READYZ_REPLICA_MAX_LAG_SECONDS
    if state.lag_seconds > limit:
        raise ReplicaNotReady(f"replays {state.lag_seconds:.1f} s behind (limit {limit:g} s)")
    return {"lag_seconds": round(state.lag_seconds, 3)}


def check_cache() -> dict[str, Any]:
    cache = caches["default"]
    redis_client = getattr(cache, "primary", None)  # project.cache.backends.FailSoftRedisCache's
    if redis_client is not None:
        # The site's Redis backend fails soft (an outage reads as misses); readiness must not, so
        # ask the server itself and let its ConnectionError name the problem.
        redis_client.ping()
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
