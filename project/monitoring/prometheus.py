"""Serve ``/metrics``: every process's Prometheus metrics added up, plus the Celery queue lengths.

prometheus_client's multi-process mode (``MONITORING_METRICS_DIR`` in the settings) lets gunicorn's
and Celery's processes each write their own file; ``/metrics`` merges them, and reads the queue
lengths from the broker at scrape time. It answers staff, a bearer token or allow-listed networks.
"""

from __future__ import annotations

import glob
import hmac
import ipaddress
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks
from django.http import HttpRequest, HttpResponse, JsonResponse

# Load the settings before prometheus_client is imported: they export PROMETHEUS_MULTIPROC_DIR,
# which it reads once, on import (see project.monitoring.metrics).
settings.PROMETHEUS_MULTIPROC_DIR  # noqa: B018

import prometheus_client  # noqa: E402
from prometheus_client import CollectorRegistry, multiprocess  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

from project.client_ip import in_networks  # noqa: E402
from project.monitoring.middleware import request_observations  # noqa: E402

logger = logging.getLogger(__name__)


# --- Celery queues -------------------------------------------------------------------------------


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
    if settings.MONITORING_METRICS_ALLOWED_NETWORKS and in_networks(request, _allowed_networks()):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    # The settings refuse a value that is not a network at start-up (env_networks).
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
