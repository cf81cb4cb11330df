"""The Celery task base of the project: each task runs in its own read scope."""

from __future__ import annotations

from typing import Any

from celery import Task as CeleryTask

from project.replicas.router import read_scope


class Task(CeleryTask):
    """A task whose reads use the primary unless it opts in with ``@shared_task(replica_reads=True)``.

    A task often runs right after the write that enqueued it, before a replica has replayed it.
    """

    replica_reads = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with read_scope(replica_by_default=self.replica_reads):
            return super().__call__(*args, **kwargs)
