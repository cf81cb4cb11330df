"""The query killer's audit trail in the admin, read-only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from project.admin import ModelAdmin
from project.querykiller.models import KilledQuery


class DatabaseAliasFilter(admin.SimpleListFilter):
    """Filter by database alias, offering the configured aliases instead of a DISTINCT over the table."""

    title = "database"
    parameter_name = "database"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(alias, alias) for alias in settings.DATABASES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(database=self.value()) if self.value() else queryset


@admin.register(KilledQuery)
class KilledQueryAdmin(ModelAdmin):
    """The query killer's audit trail: read-only, since it records what happened."""

    list_display = ("killed_at", "action", "database", "duration", "role", "application_name", "client_address", "pid")
    list_filter = ("action", DatabaseAliasFilter)
    search_fields = ("=role", "=application_name")
    ordering = ("-killed_at", "-id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
