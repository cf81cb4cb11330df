"""The project layer: settings, URLs, the Celery app, and the wrapped Django classes every app uses."""

from __future__ import annotations

from project.celery import app as celery_app

__all__ = ["celery_app"]
