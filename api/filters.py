"""Query-parameter filters, each on an indexed column (see docs/api.md for the index behind each).

Filtering on an unindexed column turns a list request into a scan of the whole table once it
holds millions of rows, so nothing here filters or orders by anything else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from blog.models import Comment, Post


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, turned into UTC so any offset Python accepts also suits PostgreSQL."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("That date-time is out of range.", code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class PostFilter(django_filters.FilterSet):
    """Filter posts by tag, author, status (your own drafts), publication date range and title."""

    tag = django_filters.CharFilter(field_name="tags__slug", help_text="A tag's slug.")
    author = django_filters.CharFilter(field_name="author__username", help_text="An author's username.")
    status = django_filters.ChoiceFilter(
        choices=Post.Status.choices,
        help_text="`draft` lists the drafts you may see: your own (all, for staff).",
    )
    published_after = UtcIsoDateTimeFilter(
        field_name="published_at", lookup_expr="gte", help_text="ISO 8601 date-time, inclusive."
    )
    published_before = UtcIsoDateTimeFilter(
        field_name="published_at", lookup_expr="lt", help_text="ISO 8601 date-time, exclusive."
    )
    search = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", max_length=100, help_text="Words in the title."
    )

    class Meta:
        model = Post
        fields: list[str] = []


class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number within PostgreSQL's bigint, so no value reaches the database as an error."""

    field_class = forms.IntegerField


class CommentFilter(django_filters.FilterSet):
    """Comments of one post, oldest first (the viewset requires ``post`` for a list)."""

    post = IdFilter(field_name="post_id", help_text="The post's id (required).", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = Comment
        fields: list[str] = []
