"""The killer's Celery task, scheduled by beat every ``QUERY_KILLER_INTERVAL_SECONDS``.

The task's name predates the package layout and stays, so messages already queued still resolve.
"""

from __future__ import annotations

import logging

from celery import shared_task

from project.querykiller.killer import kill_long_queries

logger = logging.getLogger(__name__)


# Not re-run when its worker dies: beat sends the next run within an interval anyway (and each
# message expires after one), so a replayed run would only add a burst.
@shared_task(name="project.querykiller.kill_long_queries_task", ignore_result=True, reject_on_worker_lost=False)
def kill_long_queries_task() -> str:
    """Run the killer once with the settings' values; Celery beat schedules this every interval."""
    run = kill_long_queries()
    if run.found or run.errors or run.off:
        logger.info("query killer: %s", run.summary())
    return run.summary()
