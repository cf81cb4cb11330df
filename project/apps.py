"""The project layer as an app, so it can hold templates, static files and management commands."""

from __future__ import annotations

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = "Site operations"

    def ready(self) -> None:
        # Connects the Celery task signals (in the worker too, where no middleware loads) and
        # registers the system check that prometheus_client runs in multi-process mode.
        from project.monitoring import prometheus, task_signals  # noqa: F401

        # Log-in failures are counted and tokens revoked by signal receivers (project/security/).
        from project.security import login_limits, tokens  # noqa: F401
