"""The admin base class every app's admin inherits (the talk's "wrap Django's classes").

Scale decisions for the admin live here, so one change reaches every changelist:
- foreign keys and many-to-many fields get raw-id widgets unless the admin names them in
  ``autocomplete_fields``: a ``<select>`` of a million users is the classic admin killer;
- ``show_full_result_count`` is off, so a filtered changelist does not run a second ``COUNT(*)``;
- GET changelists and change forms read from a replica, so big admin queries stop hurting the
  site; POSTs, and the pages after them (the client is pinned), read from the primary.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from project.db_routers import replica_alias


class ReplicaReadsMixin:
    """Read GET changelists and change forms from a replica, even for models the router keeps on the primary."""

    replica_url_suffixes = ("_changelist", "_change")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset(request)  # type: ignore[misc]
        match = request.resolver_match
        if (
            request.method in ("GET", "HEAD")
            and match is not None
            and (match.url_name or "").endswith(self.replica_url_suffixes)
        ):
            # None (the primary) inside a transaction, for a pinned client, or with no healthy replica.
            queryset = queryset.using(replica_alias())
        return queryset


class ModelAdmin(ReplicaReadsMixin, admin.ModelAdmin):
    """Admin defaults that stay fast on big tables; subclass this, never Django's ModelAdmin."""

    show_full_result_count = False
    list_per_page = 50
    list_max_show_all = 200

    def __init__(self, model: type[Model], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        if not self.raw_id_fields:
            self.raw_id_fields = tuple(  # type: ignore[misc]  # per model, so set on the instance
                field.name
                for field in model._meta.get_fields()
                if getattr(field, "concrete", False)
                and (field.many_to_one or field.many_to_many or field.one_to_one)
                and field.name not in self.autocomplete_fields
                and field.name not in getattr(self, "filter_horizontal", ())
            )
