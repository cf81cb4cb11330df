"""The query killer as a Django app, for its model, admin and management command."""

from __future__ import annotations

from django.apps import AppConfig


class QueryKillerConfig(AppConfig):
    name = "project.querykiller"
    label = "querykiller"
    verbose_name = "Query killer"
