"""Background work of the project layer, run by the Celery worker."""

from __future__ import annotations

import logging

from celery import shared_task

from project.cache.background import lookup

logger = logging.getLogger(__name__)


@shared_task(name="project.refresh_background_cache", ignore_result=True)
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
