"""Query-parameter filters, each on an indexed column (see docs/api.md for the index behind each).

Filtering on an unindexed column turns a list request into a scan of the whole table once it
holds millions of rows, so nothing here filters or orders by anything else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet, Subquery
from django_filters.fields import IsoDateTimeField

from blog.models import Comment, Post, Tag


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

    tag = django_filters.CharFilter(method="filter_tag", help_text="A tag's slug.")
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

    def filter_tag(self, queryset: QuerySet[Post], name: str, value: str) -> QuerySet[Post]:
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            # Readers see published posts only: the tag's listed links (posttag_listed_post_idx)
            # give them newest id first, however few of the tag's posts are published.
            # The tag's id as a scalar subquery, not a join on its slug: the index condition then
            # names one tag, where a join would walk every tag's links testing each.
            tag = Tag.objects.filter(slug=value).values("pk")[:1]
            return queryset.filter(tag_links__tag_id=Subquery(tag), tag_links__listed_since__isnull=False)
        return queryset.filter(tags__slug=value)  # a writer's own drafts carry the tag too


class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number within PostgreSQL's bigint, so no value reaches the database as an error."""

    field_class = forms.IntegerField


class CommentFilter(django_filters.FilterSet):
    """Comments of one post, oldest first (the viewset requires ``post`` for a list)."""

    post = IdFilter(field_name="post_id", help_text="The post's id (required).", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = Comment
        fields: list[str] = []
