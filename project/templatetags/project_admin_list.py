"""The changelist's result rows, rendered as Django renders them at a fraction of the cost.

Django's ``items_for_result`` works out, for every cell of every row, what only depends on the
column: the field behind it, its CSS classes, whether it links to the change page, the empty
value, the translated choice labels, the date format. At 50 rows of six columns that is most of
a changelist's rendering. ``results`` below works each column out once per page and then, per
cell, only reads, formats and escapes the value.

The output is Django's, byte for byte (``project/tests/test_admin.py`` compares them on every
registered admin): ``project/templates/admin/change_list.html`` swaps this tag in for Django's
``result_list``, with Django's context plus ``rows`` (each row's cells joined), which the project's
copy of ``change_list_results.html`` writes one value per row. A changelist with
``list_editable`` forms renders through Django's own code.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable, Iterator
from typing import Any

from django import template
from django.conf import settings
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
from django.core.validators import EMPTY_VALUES
from django.db import models
from django.urls import NoReverseMatch
from django.utils import dateformat, timezone, translation
from django.utils.formats import get_format
from django.utils.functional import Promise
from django.utils.safestring import SafeString

register = template.Library()

Cell = Callable[[Any], SafeString]
Content = Callable[[Any], str]  # a cell's value -> its HTML, escaped


def _escape(value: Any) -> str:
    """``conditional_escape`` without the lazy-argument wrapper around it (the same result)."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


# What each of Django's date format characters reads (docs: the "date" template filter). The
# output of one that reads only the date, or only the hour and minute, is a function of those and
# the language, so it is worked out once per process; the rest (time zone, seconds) per value.
_DATE_CHARACTERS = frozenset("bdDEFjlLmMnNoStwWyYz")
_CLOCK_CHARACTERS = frozenset("aAfgGhHiP")
_MEMO_LIMIT = 20_000  # pieces kept before the memo starts over: a few days' dates in a few languages
_pieces: dict[tuple[Any, ...], str] = {}


def _datetime_formatter(datetime_format: str) -> Callable[[datetime.datetime], str]:
    """``dateformat.format(value, datetime_format)``, with each piece of the output memoised.

    Django formats a date-time piece by piece, and pieces like "Nov." and "7:10 a.m." each cost a
    translation lookup: 15 µs a value, most of a changelist's date columns. Here a piece that reads
    only the date or only the hour and minute is computed by Django once per language and value,
    then looked up. A format with any other character (time zone, seconds) runs Django's per value.
    """
    split = dateformat.re_formatchars.split(datetime_format)
    literals = [dateformat.re_escaped.sub(r"\1", piece) for piece in split[0::2]]
    characters = split[1::2]
    if not set(characters) <= _DATE_CHARACTERS | _CLOCK_CHARACTERS:
        return lambda value: dateformat.format(value, datetime_format)
    language = translation.get_language()
    plan = [
        (literal, character, character in _DATE_CHARACTERS)
        for literal, character in zip(literals[:-1], characters, strict=True)
    ]
    tail = literals[-1]

    def format_datetime(value: datetime.datetime) -> str:
        date_key = (value.year, value.month, value.day)
        clock_key = (value.hour, value.minute)
        out = []
        for literal, character, by_date in plan:
            key = (language, character, date_key if by_date else clock_key)
            piece = _pieces.get(key)
            if piece is None:
                if len(_pieces) >= _MEMO_LIMIT:
                    _pieces.clear()
                piece = _pieces[key] = str(getattr(dateformat.DateFormat(value), character)())
            out.append(literal)
            out.append(piece)
        out.append(tail)
        return "".join(out)

    return format_datetime


def _model_field(cl: ChangeList, name: Any) -> models.Field[Any, Any] | None:
    """The model field a list_display entry names, if ``lookup_field`` would read it as one."""
    if callable(name):
        return None
    try:
        field: models.Field[Any, Any] = _get_non_gfk_field(cl.lookup_opts, name)
        return field
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        return None


def _field_content(field: models.Field[Any, Any], empty: str, linked: bool) -> Content:
    """``display_for_field`` for one column, with what depends only on the field worked out once.

    Choices are looked up in a dict of labels translated and escaped once per page; date-times
    read their format once; text is text. Every other kind of field goes through Django's own
    ``display_for_field`` per cell.
    """
    escaped_empty = _escape(empty)

    def generic(value: Any) -> str:
        return _escape(display_for_field(value, field, empty, avoid_link=linked))

    if isinstance(field.remote_field, models.ManyToOneRel):
        return lambda value: escaped_empty if value is None else _escape(value)
    flatchoices = field.flatchoices
    if flatchoices:
        try:
            labels = {key: _escape(label) for key, label in flatchoices}
        except TypeError:  # list-like choices: Django makes them hashable per cell
            return generic

        def choice(value: Any) -> str:
            try:
                return labels.get(value, escaped_empty)
            except TypeError:
                return generic(value)

        return choice
    empty_values = field.empty_values
    if isinstance(field, models.DateTimeField):
        format_datetime = _datetime_formatter(get_format("DATETIME_FORMAT"))
        # template_localtime(), with the setting and the current zone read once for the page.
        zone = timezone.get_current_timezone() if settings.USE_TZ else None

        def date_time(value: Any) -> str:
            if value in empty_values:
                return escaped_empty
            if not isinstance(value, datetime.datetime):
                return generic(value)
            if zone is not None and value.utcoffset() is not None and getattr(value, "convert_to_local_time", True):
                value = value.astimezone(zone)
            return _escape(format_datetime(value))

        return date_time
    if isinstance(field, models.CharField | models.TextField) and not isinstance(field, models.URLField):
        # display_for_field's last resort, display_for_value, on a string.
        return lambda value: escaped_empty if value in empty_values or value in EMPTY_VALUES else _escape(value)
    return generic


def _column(cl: ChangeList, index: int, name: Any, linked: bool, first_link: bool) -> Cell:
    """Build the function that renders column ``index`` of a row, as ``items_for_result`` would."""
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    escaped_empty = _escape(empty)
    base_classes = [f"field-{_coerce_field_name(name, index)}"]
    base_class = ' class="{}"'.format(" ".join(base_classes))
    field = _model_field(cl, name)
    tag = "th" if first_link else "td"

    content: Callable[[Any], tuple[str, str]]
    if field is not None and not field.auto_created:
        nowrap = isinstance(field, models.DateField | models.TimeField | models.ForeignKey)
        field_class = ' class="{}"'.format(" ".join([*base_classes, *(["nowrap"] if nowrap else [])]))
        field_content = _field_content(field, empty, linked)

        def content(result: Any) -> tuple[str, str]:
            try:
                value = getattr(result, name)
            except ObjectDoesNotExist:
                return escaped_empty, base_class
            if isinstance(value, str) and value.strip() == "":
                value = ""
            return field_content(value), field_class

    else:
        # A method, property or attribute (or an auto-created field): what lookup_field finds.
        classes = ["action-checkbox"] if name == "action_checkbox" else base_classes
        value_class = ' class="{}"'.format(" ".join(classes))
        date_class = ' class="{}"'.format(" ".join([*classes, "nowrap"]))
        fixed_attr: Any = None
        if field is None and callable(name):
            fixed_attr = name
        elif field is None and hasattr(model_admin, name) and name != "__str__":
            fixed_attr = getattr(model_admin, name)

        def content(result: Any) -> tuple[str, str]:
            try:
                if fixed_attr is not None:
                    attr, value = fixed_attr, fixed_attr(result)
                else:
                    _, attr, value = lookup_field(name, result, model_admin)
            except ObjectDoesNotExist:
                return escaped_empty, base_class
            empty_value = getattr(attr, "empty_value_display", empty)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            boolean = getattr(attr, "boolean", False)
            if isinstance(attr, property) and hasattr(attr, "fget"):
                boolean = getattr(attr.fget, "boolean", False)
            text = _escape(display_for_value(value, empty_value, boolean))
            return text, date_class if isinstance(value, datetime.date | datetime.time) else value_class

    if not linked:

        def cell(result: Any) -> SafeString:
            text, row_class = content(result)
            return SafeString(f"<td{row_class}>{text}</td>")  # nosec B703  # text was escaped by the cell's formatter

        return cell

    pk_attname = str(cl.to_field) if cl.to_field else cl.lookup_opts.pk.attname

    def linked_cell(result: Any) -> SafeString:
        text, row_class = content(result)
        try:
            url = cl.url_for_result(result)
        except NoReverseMatch:
            pass
        else:
            opener = f' data-popup-opener="{_escape(result.serializable_value(pk_attname))}"' if cl.is_popup else ""
            text = f'<a href="{_escape(url)}"{opener}>{text}</a>'
        return SafeString(f"<{tag}{row_class}>{text}</{tag}>")  # nosec B703  # text and attributes escaped above

    return linked_cell


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
    """``admin_list.result_list``'s context, with the faster rows.

    ``results`` is Django's (each row a list of cells, for templates that override
    change_list_results.html); without forms, ``rows`` also holds each row's cells joined, which
    the project's change_list_results.html writes as one value per row.
    """
    headers = list(result_headers(cl))
    rows = list(results(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
        "rows": None if cl.formset else [SafeString("".join(row)) for row in rows],  # nosec B703  # each cell is a SafeString built with escaping
    }


@register.tag(name="project_result_list")
def result_list_tag(parser: Any, token: Any) -> InclusionAdminNode:
    # By keyword: django-stubs give InclusionAdminNode a leading "name" argument Django's does not take.
    options: dict[str, Any] = {"func": result_list, "template_name": "change_list_results.html", "takes_context": False}
    return InclusionAdminNode(parser, token, **options)
