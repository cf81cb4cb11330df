"""The Celery application shared by the worker, beat and the web process (which only enqueues).

Settings prefixed ``CELERY_`` in ``project.settings`` configure it; tasks are found in each app's
``tasks.py``.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery import Task as CeleryTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")


class Task(CeleryTask):
    """A task whose reads use the primary unless it opts in with ``@shared_task(replica_reads=True)``.

    A task often runs right after the write that enqueued it, before a replica has replayed it.
    """

    replica_reads = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from project.db_routers import read_scope

        with read_scope(replica_by_default=self.replica_reads):
            return super().__call__(*args, **kwargs)


app = Celery("project", task_cls="project.celery:Task")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
