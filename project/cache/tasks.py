"""Background work of the project layer, run by the Celery worker."""

from __future__ import annotations

import logging

from celery import shared_task

from project.cache.background import lookup

logger = logging.getLogger(__name__)


# Idempotent (it recomputes a value and overwrites the key), so it is safe to run twice: acknowledged
# only after it ran, and put back on the queue when the process running it dies (SIGKILL, OOM), so a
# refresh is never lost with its lock still held. docs/failure-modes.md lists every task's choice.
@shared_task(name="project.refresh_background_cache", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def refresh_background_cache(function: str, arguments: str) -> bool:
    """Recompute one background-cached value and release its refresh lock.

    ``arguments`` is the canonical JSON the web request encoded, so the worker writes the very key
    the request read. A failing function keeps the old value (``BackgroundCachedFunction.refresh``
    logs it); the task itself does not retry, the next stale read after the lock expires does.
    """
    try:
        cached = lookup(function)
    except (LookupError, ImportError):
        logger.exception("Cannot refresh unknown background-cached function %r.", function)
        return False
    return cached.refresh(arguments)
