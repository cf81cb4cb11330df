"""The project layer as an app, so it can hold templates, static files and management commands."""

from __future__ import annotations

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = "Site operations"
