"""Pagination that never counts: fetch one row more than a page to know whether another follows.

Django's ``Paginator`` runs ``COUNT(*)`` over the whole filtered table to number the pages; on a
table of millions of rows that count costs more than the page itself. A list page on this site
only needs "newer" and "older" links, which the extra row answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import InvalidPage
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError


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
        start = (number - 1) * self.per_page
        rows = list(self.object_list[start : start + self.per_page + 1])
        if not rows and number > 1:
            raise InvalidPage("That page is past the last one.")
        return LookaheadPage(rows[: self.per_page], number, has_next=len(rows) > self.per_page)


class CursorPagination(pagination.CursorPagination):
    """The API's pages: a cursor, so no ``COUNT(*)`` and no deep ``OFFSET`` whatever the table size."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100  # a larger page_size is cut to this, never an unbounded page
    ordering = "-id"

    def decode_cursor(self, request: Any) -> Any:
        # DRF answers a bad cursor with 404; it is bad input, so 400 with the parameter named.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from None

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
