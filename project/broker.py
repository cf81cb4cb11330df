"""Enqueue Celery tasks from a web request without letting a broker outage fail the request.

Celery's own ``delay()`` retries the broker for seconds and then raises: right for a worker, wrong
for a request whose write has already committed (the user would get a 500 for a comment that is
saved). ``enqueue`` publishes through a per-process pool of fail-fast connections (one attempt,
``BACKGROUND_CACHE_BROKER_TIMEOUT`` to connect or answer) and, when the broker is down, logs the
lost message and counts it in ``celery_enqueue_failures_total`` instead of raising.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Task
from django.conf import settings
from kombu.transport import redis as kombu_redis

from project.monitoring.metrics import CELERY_ENQUEUE_FAILURES

logger = logging.getLogger(__name__)

# One connection attempt, a short timeout, no publish retries.
FAST_FAIL_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
_POOLS: dict[tuple[int, str], Any] = {}


def fail_fast_connections() -> Any:
    """Return this process's pool of fail-fast broker connections.

    Keyed by process (a pool must not cross a fork) and by ``settings.CELERY_BROKER_URL``, so a
    test that points the setting at a dead broker gets a pool for it.
    """
    from project.celery import app

    url = settings.CELERY_BROKER_URL
    pool_key = (os.getpid(), url)
    pool = _POOLS.get(pool_key)
    if pool is None:
        options = {
            **(app.conf.broker_transport_options or {}),
            **FAST_FAIL_POLICY,
            "socket_connect_timeout": settings.BACKGROUND_CACHE_BROKER_TIMEOUT,
            "socket_timeout": settings.BACKGROUND_CACHE_BROKER_TIMEOUT,
        }
        connection = app.connection_for_write(url, transport_options=options)
        pool = _POOLS.setdefault(pool_key, connection.Pool(limit=app.conf.broker_pool_limit))
    return pool


def publish(task: Task, *args: Any) -> None:
    """Publish ``task(*args)`` once through a fail-fast connection; raise if the broker refuses."""
    with fail_fast_connections().acquire(block=True, timeout=1) as connection:
        task.apply_async(args, producer=connection.Producer(), retry=False)


def enqueue(task: Task, *args: Any) -> bool:
    """Publish ``task(*args)``; on a broker failure log it, count it and return False instead of raising."""
    try:
        publish(task, *args)
    except Exception:
        CELERY_ENQUEUE_FAILURES.labels(task.name).inc()
        logger.exception("Could not enqueue %s%r: the broker is unavailable; the task is dropped.", task.name, args)
        return False
    return True


class RedisQoS(kombu_redis.QoS):
    """Kombu's Redis QoS, minus a crash of the worker when the broker goes away.

    After a broker connection loss, Celery collects the connection and then closes its channel;
    closing tries to put back the messages this worker holds unacknowledged, through the collected
    connection, and raises ``AttributeError`` (not a connection error), which stops the worker with
    "Unrecoverable error". Nothing needs putting back then: those messages stay in the broker's
    unacked index and are handed out again after ``CELERY_VISIBILITY_TIMEOUT``.
    """

    def restore_unacked(self, client: Any = None) -> None:
        delivered = self._delivered
        if client is None and self.channel.connection.client is None and delivered is not None:
            logger.warning(
                "Broker connection lost with %d unacknowledged message(s); they return after the visibility timeout.",
                len(delivered),
            )
            delivered.clear()
            return
        super().restore_unacked(client)


class RedisChannel(kombu_redis.Channel):
    """Kombu's Redis channel with ``RedisQoS``."""

    QoS = RedisQoS


class RedisTransport(kombu_redis.Transport):
    """Kombu's Redis transport with ``RedisChannel``: set as ``CELERY_BROKER_TRANSPORT`` for a Redis broker."""

    Channel = RedisChannel
