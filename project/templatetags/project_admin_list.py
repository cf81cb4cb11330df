"""The changelist's result rows, rendered as Django renders them at a fraction of the cost.

Django's ``items_for_result`` works out, for every cell of every row, what only depends on the
column: the field behind it, its CSS classes, whether it links to the change page, the empty
value. At 50 rows of six columns that is most of a changelist's rendering. ``results`` below
works each column out once per page and then, per cell, only reads and formats the value.

The output is Django's, byte for byte (``project/tests/test_admin.py`` compares them on every
registered admin): ``project/templates/admin/change_list.html`` swaps this tag in for Django's
``result_list``, with the same template and context. A changelist with ``list_editable`` forms
renders through Django's own code.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import (  # type: ignore[attr-defined]
    ResultList,
    _coerce_field_name,
    result_headers,
    result_hidden_fields,
)
from django.contrib.admin.templatetags.admin_list import results as django_results
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import (  # type: ignore[attr-defined]
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    lookup_field,
)
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

Cell = Callable[[Any], SafeString]


def _model_field(cl: ChangeList, name: Any) -> models.Field[Any, Any] | None:
    """The model field a list_display entry names, if ``lookup_field`` would read it as one."""
    if callable(name):
        return None
    try:
        field: models.Field[Any, Any] = _get_non_gfk_field(cl.lookup_opts, name)
        return field
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        return None


def _column(cl: ChangeList, index: int, name: Any, linked: bool, first_link: bool) -> Cell:
    """Build the function that renders column ``index`` of a row, as ``items_for_result`` would."""
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    base_classes = [f"field-{_coerce_field_name(name, index)}"]
    field = _model_field(cl, name)
    static_class = None
    if field is not None and not field.auto_created:
        nowrap = isinstance(field, models.DateField | models.TimeField | models.ForeignKey)
        static_class = format_html(' class="{}"', " ".join([*base_classes, *(["nowrap"] if nowrap else [])]))
    base_class = format_html(' class="{}"', " ".join(base_classes))
    is_fk = field is not None and isinstance(field.remote_field, models.ManyToOneRel)
    pk_attname = str(cl.to_field) if cl.to_field else cl.lookup_opts.pk.attname
    tag = "th" if first_link else "td"

    def cell(result: Any) -> SafeString:
        row_class = base_class
        f: models.Field[Any, Any] | None
        try:
            if field is not None:
                value = getattr(result, name)
                f, attr = field, None
            else:
                f, attr, value = lookup_field(name, result, model_admin)
        except ObjectDoesNotExist:
            result_repr: Any = empty
        else:
            empty_value = getattr(attr, "empty_value_display", empty)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            if f is None or f.auto_created:
                classes = ["action-checkbox"] if name == "action_checkbox" else list(base_classes)
                boolean = getattr(attr, "boolean", False)
                if isinstance(attr, property) and hasattr(attr, "fget"):
                    boolean = getattr(attr.fget, "boolean", False)
                result_repr = display_for_value(value, empty_value, boolean)
                if isinstance(value, datetime.date | datetime.time):
                    classes.append("nowrap")
                row_class = format_html(' class="{}"', " ".join(classes))
            else:
                if is_fk:
                    result_repr = empty_value if value is None else value
                else:
                    result_repr = display_for_field(value, f, empty_value, avoid_link=linked)
                row_class = static_class or base_class
        # Per cell, format_html's parsing would cost a third of the row: every piece joined here is
        # either escaped (conditional_escape, format_html) or built above from the column's name.
        if not linked:
            return mark_safe(f"<td{row_class}>{conditional_escape(result_repr)}</td>")  # noqa: S308
        try:
            url = cl.url_for_result(result)
        except NoReverseMatch:
            link_or_text = conditional_escape(result_repr)
        else:
            opener = (
                format_html(' data-popup-opener="{}"', result.serializable_value(pk_attname)) if cl.is_popup else ""
            )
            link_or_text = format_html('<a href="{}"{}>{}</a>', url, opener, result_repr)
        return mark_safe(f"<{tag}{row_class}>{link_or_text}</{tag}>")  # noqa: S308

    return cell


def results(cl: ChangeList) -> Iterator[ResultList]:
    """The rows ``admin_list.results`` yields, from a per-page plan of the columns."""
    if cl.formset or getattr(cl, "row_link_filters", None) is None:
        # list_editable forms, or a ChangeList whose row links are not built complete
        # (project.admin.ChangeList's are): Django's own code.
        yield from django_results(cl)
        return
    columns = []
    first = True
    for index, name in enumerate(cl.list_display):
        if cl.list_display_links is None:
            linked = False
        elif first and not cl.list_display_links:
            linked = True
        else:
            linked = name in cl.list_display_links
        columns.append(_column(cl, index, name, linked, first_link=linked and first))
        first = first and not linked
    for result in cl.result_list:
        yield ResultList(None, [cell(result) for cell in columns])


def result_list(cl: ChangeList) -> dict[str, Any]:
    """``admin_list.result_list``'s context, with the faster rows."""
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": list(results(cl)),
    }


@register.tag(name="project_result_list")
def result_list_tag(parser: Any, token: Any) -> InclusionAdminNode:
    # By keyword: django-stubs give InclusionAdminNode a leading "name" argument Django's does not take.
    options: dict[str, Any] = {"func": result_list, "template_name": "change_list_results.html", "takes_context": False}
    return InclusionAdminNode(parser, token, **options)
