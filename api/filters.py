"""Query-parameter filters, each on an indexed column (see docs/api.md for the index behind each).

Filtering on an unindexed column turns a list request into a scan of the whole table once it
holds millions of rows, so nothing here filters or orders by anything else.
"""

from __future__ import annotations

import django_filters
from django import forms

from blog.models import Comment, Post


class PostFilter(django_filters.FilterSet):
    """Filter posts by tag, author, status (your own drafts), publication date range and title."""

    tag = django_filters.CharFilter(field_name="tags__slug", help_text="A tag's slug.")
    author = django_filters.CharFilter(field_name="author__username", help_text="An author's username.")
    status = django_filters.ChoiceFilter(
        choices=Post.Status.choices,
        help_text="`draft` lists the drafts you may see: your own (all, for staff).",
    )
    published_after = django_filters.IsoDateTimeFilter(
        field_name="published_at", lookup_expr="gte", help_text="ISO 8601 date-time, inclusive."
    )
    published_before = django_filters.IsoDateTimeFilter(
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
