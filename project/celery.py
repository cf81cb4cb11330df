"""The Celery application shared by the worker, beat and the web process (which only enqueues).

Settings prefixed ``CELERY_`` in ``project.settings`` configure it; tasks are found in each app's
``tasks.py`` and in the project layer's ``CELERY_IMPORTS``. Every task inherits
``project.replicas.tasks.Task``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")


app = Celery("project", task_cls="project.replicas.tasks:Task")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
