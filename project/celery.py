"""The Celery application shared by the worker, beat and the web process (which only enqueues).

Settings prefixed ``CELERY_`` in ``project.settings`` configure it; tasks are found in each app's
``tasks.py``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
