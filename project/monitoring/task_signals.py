"""Record every Celery task's runtime and failures, through Celery's task signals.

Connected when the project app is ready (``project.apps``), so the worker records too, where no
middleware runs.
"""

from __future__ import annotations

import time
from typing import Any

from celery.signals import task_failure, task_postrun, task_prerun

from project.monitoring.metrics import CELERY_TASK_FAILURES, CELERY_TASK_SECONDS
from project.monitoring.performance import recorder

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
