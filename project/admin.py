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
- the changelist reads only the columns the admin names in ``list_only``, and its headers sort
  only by columns an index serves in both directions (``get_sortable_by``), so no click sorts
  the whole table.

Rendering is Django's own: its templates and template tags, apart from the count's "about".
An app's admin keeps its searches and filters on indexed columns, sets no ``date_hierarchy``
(its drill-down runs ``SELECT DISTINCT`` over the whole filtered table) and names the columns its
changelist reads in ``list_only``; ``tests/test_admin_plans.py`` checks every changelist link's
plan. docs/big-tables.md has the measurements.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR
from django.contrib.admin.views.main import ChangeList as DjangoChangeList
from django.core.exceptions import FieldDoesNotExist
from django.db.models import DateTimeField, ManyToManyField, Model, QuerySet
from django.http import HttpRequest
from django.utils.text import capfirst

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
    """Django's changelist, reading only ``list_only``'s columns and sorting only as an index serves.

    The headers sort only by ``ModelAdmin.get_sortable_by``'s columns, and the primary key breaks
    ties in the first column's direction, so one index on ``(column, id)`` serves both directions
    (Django breaks ties by the admin's default ordering, ``-id``, so the ascending sort would need
    an index of its own). A hand-typed ``?o=`` naming any other column is dropped, not run.
    """

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        queryset = super().get_queryset(request, exclude_parameters)
        only = getattr(self.model_admin, "list_only", ())
        return queryset.only(*only) if only else queryset

    def get_ordering(self, request: HttpRequest, queryset: QuerySet[Any]) -> list[Any]:
        self.drop_unsortable_columns()
        if not self.params.get(ORDER_VAR):
            return super().get_ordering(request, queryset)
        # Without the admin's default ordering behind the chosen columns, Django ends with "-pk".
        ordering: list[Any] = super().get_ordering(request, queryset.order_by())
        if len(ordering) > 1 and ordering[-1] == "-pk" and not is_descending(ordering[0]):
            ordering[-1] = "pk"
        return ordering

    def drop_unsortable_columns(self) -> None:
        """Keep in ``?o=`` only the columns in ``sortable_by`` (the ones the headers offer)."""
        if not self.params.get(ORDER_VAR) or self.sortable_by is None:
            return
        sortable = {str(i) for i, name in enumerate(self.list_display) if name in self.sortable_by}
        kept = [part for part in str(self.params[ORDER_VAR]).split(".") if part.removeprefix("-") in sortable]
        if kept:
            self.params[ORDER_VAR] = ".".join(kept)
        else:
            del self.params[ORDER_VAR]


def is_descending(part: Any) -> bool:
    """Whether one term of an ``order_by()`` (``"-name"``, ``F("name").desc()``) sorts descending."""
    if isinstance(part, str):
        return part.startswith("-")
    return bool(getattr(part, "descending", False))


def index_served_orderings(model: type[Model]) -> frozenset[str]:
    """The fields of ``model`` an index can sort the whole table by, either way, ties broken by the key.

    The primary key; a unique, non-null field (its unique index; no ties); a field leading a
    full (not partial) index whose next field is the primary key in the same direction, such as
    ``Index(fields=["published_at", "id"])``. A foreign key counts only when its model has no
    ``Meta.ordering`` (ordering by it then sorts by the key column itself).
    """
    opts = model._meta
    pk = opts.pk
    assert pk is not None  # every concrete model has one
    served = {pk.name, pk.attname}
    for field in opts.concrete_fields:
        if field.unique and not field.null and sorts_by_own_column(field):
            served.update({field.name, field.attname})
    for index in opts.indexes:
        if index.condition is not None or len(index.fields) < 2:
            continue
        (first, first_desc), (second, second_desc) = (
            (name.removeprefix("-"), name.startswith("-")) for name in index.fields[:2]
        )
        leading = opts.get_field(first)
        if second in (pk.name, pk.attname) and first_desc == second_desc and sorts_by_own_column(leading):
            served.update({leading.name, getattr(leading, "attname", leading.name)})
    return frozenset(served)


def sorts_by_own_column(field: Any) -> bool:
    """Whether ``order_by(field.name)`` sorts by the field's column (not by a related model's ordering)."""
    return not (field.is_relation and field.related_model and field.related_model._meta.ordering)


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


def label_widget(formfield: Any, name: str) -> Any:
    """Give inputs that no ``<label>`` names an ``aria-label``, so screen readers (and axe) can name them.

    A split date/time field has one label for two inputs, and a tabular inline's cells have only a
    column heading; each input gets its own accessible name here.
    """
    if formfield is None:
        return formfield
    widget = getattr(formfield.widget, "widget", formfield.widget)  # inside RelatedFieldWidgetWrapper
    if isinstance(widget, forms.SplitDateTimeWidget):
        widget.widgets[0].attrs.setdefault("aria-label", f"{name} (date)")
        widget.widgets[1].attrs.setdefault("aria-label", f"{name} (time)")
    else:
        widget.attrs.setdefault("aria-label", name)
    return formfield


class TabularInline(admin.TabularInline):
    """Django's tabular inline with the project's raw-id default for its own relations."""

    extra = 1

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A table cell's input has no <label> of its own: name it after its column.
        return label_widget(
            super().formfield_for_dbfield(db_field, request, **kwargs), str(capfirst(db_field.verbose_name))
        )

    def __init__(self, parent_model: type[Model], admin_site: admin.AdminSite) -> None:
        super().__init__(parent_model, admin_site)
        if not self.raw_id_fields:
            fk_to_parent = {
                f.name for f in self.model._meta.get_fields() if getattr(f, "related_model", None) is parent_model
            }
            self.raw_id_fields = tuple(name for name in raw_id_defaults(self, self.model) if name not in fk_to_parent)  # type: ignore[misc]


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

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, DateTimeField):
            label_widget(formfield, str(capfirst(db_field.verbose_name)))
        return formfield

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[DjangoChangeList]:
        return ChangeList

    def get_sortable_by(self, request: HttpRequest) -> tuple[str, ...] | list[Any]:
        """The columns whose headers sort: ``sortable_by`` if the admin sets it, else those an index serves.

        Sorting by any other column reads and sorts the whole table on every click.
        """
        if self.sortable_by is not None:
            return self.sortable_by
        served = index_served_orderings(self.model)
        return tuple(
            name
            for name in self.get_list_display(request)
            if isinstance(name, str) and self.ordering_field_name(name) in served
        )

    def ordering_field_name(self, name: str) -> str | None:
        """The model field a ``list_display`` entry sorts by: the field itself, or a display's ``ordering``."""
        try:
            return self.opts.get_field(name).name
        except FieldDoesNotExist:
            pass
        display = getattr(self, name, None) or getattr(self.model, name, None)
        ordering = getattr(display, "admin_order_field", None)
        return ordering.removeprefix("-") if isinstance(ordering, str) else None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Every admin page, not only the changelist: any Django code that counts to paginate
        # (the changelist, autocomplete) gets the estimate. An admin's own exact figure: exact_count().
        return with_approx_count(super().get_queryset(request))
