"""Pagination that never counts exactly: fetch one row more than a page to know whether another follows.

Django's ``Paginator`` runs ``COUNT(*)`` over the whole filtered table to number the pages; on a
table of millions of rows that count costs more than the page itself. A list page on this site
only needs "newer" and "older" links, which the extra row answers (``LookaheadPaginator``). The
admin wants page numbers and a total: ``ApproxCountPaginator`` numbers them from an approximate
count (``project/querysets.py``) and still learns from the extra row whether a next page exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import EmptyPage, InvalidPage, Page, PageNotAnInteger, Paginator
from django.db import models
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

from project.querysets import ApproxCount, approx_count


def fetch_with_lookahead(object_list: Any, number: int, per_page: int) -> tuple[list[Any], bool]:
    """Page ``number``'s rows and whether another page follows, from one query of ``per_page + 1`` rows.

    An empty page past the first raises ``EmptyPage`` (an ``InvalidPage``): the only way to learn
    that a page is past the end without counting.
    """
    start = (number - 1) * per_page
    rows = list(object_list[start : start + per_page + 1])
    if not rows and number > 1:
        raise EmptyPage("That page is past the last one.")
    return rows[:per_page], len(rows) > per_page


class LookaheadPage(Sequence[Any]):
    """One page of results, knowing only whether a previous and a next page exist."""

    def __init__(self, object_list: list[Any], number: int, has_next: bool) -> None:
        self.object_list = object_list
        self.number = number
        self._has_next = has_next

    def __len__(self) -> int:
        return len(self.object_list)

    def __getitem__(self, index: Any) -> Any:
        return self.object_list[index]

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


# The largest OFFSET a page may need: PostgreSQL's is a bigint, SQLite's a 64-bit integer.
MAX_OFFSET = 2**62


class LookaheadPaginator:
    """Slice a QuerySet into numbered pages with one query per page and no ``COUNT(*)``."""

    def __init__(self, object_list: Any, per_page: int, max_page: int = 1000) -> None:
        self.object_list = object_list
        self.per_page = per_page
        self.max_page = max_page  # deep OFFSETs get slower; beyond this, use search or filters

    def validate_number(self, number: Any) -> int:
        try:
            value = int(number)
        except (TypeError, ValueError):
            raise InvalidPage("That page number is not an integer.") from None
        if value < 1 or value > self.max_page:
            raise InvalidPage(f"Page numbers go from 1 to {self.max_page}.")
        return value

    def page(self, number: Any) -> LookaheadPage:
        number = self.validate_number(number)
        rows, has_next = fetch_with_lookahead(self.object_list, number, self.per_page)
        return LookaheadPage(rows, number, has_next=has_next)


class ApproxCountPage(Page):
    """An admin page that knows from its lookahead row, not from the count, whether a next page exists."""

    def __init__(self, object_list: list[Any], number: int, paginator: ApproxCountPaginator, has_next: bool) -> None:
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0


class ApproxCountPaginator(Paginator):
    """Number pages from an approximate count; fetch each page with one lookahead row, never ``COUNT(*)``.

    ``count`` is an :class:`~project.querysets.ApproxCount`: exact below ``APPROX_COUNT_THRESHOLD``,
    else PostgreSQL's estimate, which may be some percent off. So page numbers are not checked
    against it (a page past an estimate may exist; an empty one is refused when fetched) and, for
    an estimate, the page range offers the first pages and those around the current one, never the
    estimated last pages: those may not exist, and reaching them means an ``OFFSET`` of millions.
    """

    @cached_property
    def count(self) -> ApproxCount:
        if isinstance(self.object_list, models.QuerySet):
            return approx_count(self.object_list)
        return ApproxCount(len(self.object_list), is_estimate=False)

    def validate_number(self, number: Any) -> int:
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        if (number - 1) * self.per_page > MAX_OFFSET:
            # An OFFSET past what the database can even represent (a 500 before): no such page.
            raise EmptyPage("That page number is too large")
        # No upper bound from the count: page() refuses an empty page when it fetches it, so a
        # caller that only pages (the admin's autocomplete) never counts at all.
        return number

    def page(self, number: Any) -> ApproxCountPage:
        number = self.validate_number(number)
        rows, has_next = fetch_with_lookahead(self.object_list, number, self.per_page)
        return ApproxCountPage(rows, number, self, has_next=has_next)

    def get_elided_page_range(
        self, number: int | float | str = 1, *, on_each_side: int = 3, on_ends: int = 2
    ) -> Iterator[str | int]:
        if not self.count.is_estimate:
            yield from super().get_elided_page_range(number, on_each_side=on_each_side, on_ends=on_ends)
            return
        number = self.validate_number(number)
        if number > 1 + on_ends + on_each_side:
            yield from range(1, on_ends + 1)
            yield str(self.ELLIPSIS)
            yield from range(number - on_each_side, number + 1)
        else:
            yield from range(1, number + 1)
        last_shown = min(number + on_each_side, self.num_pages)
        yield from range(number + 1, last_shown + 1)
        if last_shown < self.num_pages:
            yield str(self.ELLIPSIS)


class CursorPagination(pagination.CursorPagination):
    """The API's pages: a cursor, so no ``COUNT(*)`` and no deep ``OFFSET`` whatever the table size.

    A cursor is client input: its position must parse as the ordering field's type (a tampered
    ``p=abc`` on an integer id was a 500), or the request is a 400 naming the parameter.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100  # a larger page_size is cut to this, never an unbounded page
    ordering = "-id"

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self.model = getattr(queryset, "model", None)  # decode_cursor checks the position against it
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Any) -> Any:
        # DRF answers a bad cursor with 404; it is bad input, so 400 with the parameter named.
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from None
        if cursor is not None and cursor.position is not None and not self.position_parses(cursor.position):
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]})
        return cursor

    def position_parses(self, position: Any) -> bool:
        """Say whether ``position`` is a value of the first ordering field (and holds no NUL byte)."""
        position = str(position)
        if "\x00" in position:
            return False
        model = getattr(self, "model", None)
        if model is None:
            return True
        name = self.ordering[0].lstrip("-")
        try:
            field = model._meta.get_field(name)
            value = field.to_python(position)
        except (DjangoValidationError, FieldDoesNotExist, ValueError, TypeError, OverflowError):
            return False
        # An integer past the column's range would reach the database and fail there.
        return not (isinstance(value, int) and not -(2**63) <= value < 2**63)

    def get_page_size(self, request: Any) -> int | None:
        # DRF silently falls back to the default on page_size=abc; say so instead.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise ValidationError({self.page_size_query_param: ["A whole number of at least 1."]})
        return super().get_page_size(request)


class OldestFirstCursorPagination(CursorPagination):
    """Cursor pages in creation order, for conversations (a post's comments) that read from the top."""

    ordering = ("created_at", "id")  # type: ignore[assignment]  # DRF takes a tuple too


class ByNameCursorPagination(CursorPagination):
    """Cursor pages in alphabetical order, for short named lists (tags); the name is unique."""

    ordering = "name"
