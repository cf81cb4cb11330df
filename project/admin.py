"""The admin base class every app's admin inherits (the talk's "wrap Django's classes").

Scale decisions for the admin live here, so one change reaches every changelist:
- counts are approximate: every admin QuerySet is an ``ApproxCountQuerySet`` and the paginator an
  ``ApproxCountPaginator``, so a changelist of millions of rows reads PostgreSQL's estimate instead of
  running ``COUNT(*)``, and shows "about 5,000,000 posts" (``templates/admin/pagination.html``);
- ``show_full_result_count`` is off, so a filtered changelist does not run a second ``COUNT(*)``, and
  filter facets (Django 5's per-choice counts, one ``COUNT`` each) are never offered;
- foreign keys and many-to-many fields get raw-id widgets unless the admin names them in
  ``autocomplete_fields``: a ``<select>`` of a million users is the classic admin killer;
- GET changelists and change forms read from a replica, so big admin queries stop hurting the
  site; POSTs, and the pages after them (the client is pinned), read from the primary;
- changelist rows and the sidebar render through cheaper paths to Django's own HTML
  (``project/templatetags/``, ``templates/admin/change_list.html``).

An app's admin keeps its searches, filters and ordering on indexed columns, sets no
``date_hierarchy`` (its drill-down runs ``SELECT DISTINCT`` over the whole filtered table) and
names the columns its changelist reads in ``list_only``; ``tests/test_plans.py`` checks the plans.
docs/big-tables.md has the measurements.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList as DjangoChangeList
from django.db.models import ManyToManyField, Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext

from project.paginators import ApproxCountPaginator
from project.querysets import with_approx_count
from project.replicas.router import replica_alias


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


class ChangeList(DjangoChangeList):
    """Django's changelist, building each row's link without resolving a URL per row.

    Django reverses each row's change URL, then ``add_preserved_filters`` resolves it again to
    decide how to append the changelist's filters: a fifth of a 50-row page. Here the URL is
    reversed once, the filters go straight into it, and ``preserved_filters`` is left empty so the
    template tag has nothing left to resolve. The links are the ones Django builds.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The querystring Django's items_for_result() would add; the only reader of preserved_filters.
        self.row_link_filters, self.preserved_filters = self.preserved_filters, ""

    @cached_property
    def _change_url_parts(self) -> tuple[str, str]:
        # Reverse the change URL once with a marker for the key, then splice each row's key in.
        # The admin's quote() leaves only characters reverse() would not escape, so the result is
        # the URL Django's url_for_result() reverses per row.
        marker = "0PK0"
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=(marker,),
            current_app=self.model_admin.admin_site.name,
        )
        prefix, _, suffix = url.partition(marker)
        return prefix, suffix

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        queryset = super().get_queryset(request, exclude_parameters)
        only = getattr(self.model_admin, "list_only", ())
        return queryset.only(*only) if only else queryset

    def url_for_result(self, result: Model) -> str:
        prefix, suffix = self._change_url_parts
        url = f"{prefix}{quote(getattr(result, self.pk_attname))}{suffix}"
        return f"{url}?{self.row_link_filters}" if self.row_link_filters else url


def raw_id_defaults(model_admin: admin.options.BaseModelAdmin[Any], model: type[Model]) -> tuple[str, ...]:
    """The relations an admin shows as raw ids: every foreign key, one-to-one and many-to-many
    field it does not name in ``autocomplete_fields`` or ``filter_horizontal``. (A many-to-many
    field with its own through model has no form field: it is edited through an inline.)"""
    return tuple(
        field.name
        for field in model._meta.get_fields()
        if getattr(field, "concrete", False)
        and (
            field.many_to_one
            or field.one_to_one
            or (isinstance(field, ManyToManyField) and _through_is_auto_created(field))
        )
        and field.name not in model_admin.autocomplete_fields
        and field.name not in getattr(model_admin, "filter_horizontal", ())
    )


def _through_is_auto_created(field: ManyToManyField[Any, Any]) -> bool:
    through = field.remote_field.through
    return through is None or bool(through._meta.auto_created)


class TabularInline(admin.TabularInline):
    """Django's tabular inline with the project's raw-id default for its own relations."""

    extra = 1

    def __init__(self, parent_model: type[Model], admin_site: admin.AdminSite) -> None:
        super().__init__(parent_model, admin_site)
        if not self.raw_id_fields:
            fk_to_parent = {
                f.name for f in self.model._meta.get_fields() if getattr(f, "related_model", None) is parent_model
            }
            self.raw_id_fields = tuple(name for name in raw_id_defaults(self, self.model) if name not in fk_to_parent)  # type: ignore[misc]


@functools.lru_cache(maxsize=64)
def _action_checkbox_label(language: str | None) -> str:
    # Django's message, in Django's catalogs; translated once per language (the caller passes the
    # active one), not on every row.
    return gettext("Select this object for an action - {}")


class ModelAdmin(ReplicaReadsMixin, admin.ModelAdmin):
    """Admin defaults that stay fast on big tables; subclass this, never Django's ModelAdmin."""

    paginator = ApproxCountPaginator
    # The columns the changelist reads (QuerySet.only(), "author__username" through
    # list_select_related); empty reads them all. Name every field the list's columns, __str__
    # and display methods read, or each row costs a query: the changelists' query-count tests
    # catch that.
    list_only: tuple[str, ...] = ()
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    list_max_show_all = 200

    def __init__(self, model: type[Model], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        if not self.raw_id_fields:
            self.raw_id_fields = raw_id_defaults(self, model)  # type: ignore[misc]  # per model

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[DjangoChangeList]:
        return ChangeList

    def action_checkbox(self, obj: Model) -> SafeString:
        # Django renders this per row through the form widget templates, a fifth of a 50-row
        # changelist's time; the markup is fixed, so build it directly (same HTML, same escaping).
        # format_html's escaping, spelled out: the label's text is a trusted translation, its
        # placeholder and the key are escaped.
        label = _action_checkbox_label(get_language()).format(conditional_escape(str(obj)))
        return SafeString(  # nosec B703  # every interpolated value above is escaped
            f'<input type="checkbox" name="{ACTION_CHECKBOX_NAME}" value="{conditional_escape(obj.pk)}"'
            f' class="action-select" aria-label="{label}">'
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Every admin page, not only the changelist: any Django code that counts to paginate
        # (the changelist, autocomplete) gets the estimate. An admin's own exact figure: exact_count().
        return with_approx_count(super().get_queryset(request))
