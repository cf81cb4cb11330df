"""API representations. ``author`` is always read-only: the requester, never the request body.

Each serializer lists its fields explicitly; anything not listed (``is_staff``, ``slug``,
``published_at``...) cannot be set through the API, whatever a client sends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from blog.models import Comment, Post, Tag
from users.models import User

DATETIME = serializers.DateTimeField()  # formats date-times exactly as DRF's own fields do


@functools.cache
def _post_url_parts() -> tuple[str, str]:
    marker = "slug-marker"
    return tuple(reverse("blog:post", kwargs={"slug": marker}).split(marker, 1))  # type: ignore[return-value]


def post_url(slug: str) -> str:
    """The post page's URL, reversed once rather than per row (``reverse`` is slow in a loop)."""
    before, after = _post_url_parts()
    return f"{before}{slug}{after}"


class TagSerializer(serializers.ModelSerializer):
    """A tag; staff create and rename them, the slug is derived from the first name."""

    class Meta:
        model = Tag
        fields = ("id", "name", "slug")
        read_only_fields = ("id", "slug")

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("A tag needs a name.")
        return value


class PostSerializer(serializers.ModelSerializer):
    """A post with its author's username, tags and comment count (annotated, never counted per row)."""

    author = serializers.CharField(source="author.username", read_only=True)
    tags = TagSerializer(many=True, read_only=True)
    tag_slugs = serializers.SlugRelatedField(
        slug_field="slug",
        source="tags",
        many=True,
        queryset=Tag.objects.all(),
        required=False,
        write_only=True,
        help_text="Write only: the slugs of the post's tags; replaces them all.",
    )
    comment_count = serializers.IntegerField(read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True, help_text="The post's web page.")

    class Meta:
        model = Post
        fields: tuple[str, ...] = (
            "id",
            "slug",
            "title",
            "author",
            "status",
            "published_at",
            "tags",
            "tag_slugs",
            "comment_count",
            "url",
            "body",
        )
        read_only_fields = ("id", "slug", "author", "published_at", "tags", "comment_count", "url")
        extra_kwargs = {
            "title": {"min_length": 1, "trim_whitespace": True},
            "body": {"min_length": 1},
            "status": {"help_text": "`published` publishes now; `draft` takes a published post back."},
        }

    def validate_title(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A post needs a title.")
        return value.strip()

    def to_representation(self, instance: Post | dict[str, Any]) -> dict[str, Any]:
        # The hot path of the busiest endpoint: DRF's generic field-by-field walk costs more than
        # the page's SQL query, so a post is written out directly. A test checks the keys match
        # the declared readable fields; the schema fuzz checks the values' types. On PostgreSQL a
        # list's rows are dicts (PostViewSet.build_queryset reads values(), not model instances).
        if isinstance(instance, dict):
            return _post_data(instance.get, instance["author__username"], instance["tag_data"])
        data = _post_data(functools.partial(getattr, instance), instance.author.username, instance.tag_data)
        if "body" in self.Meta.fields:
            data["body"] = instance.body
        return data


def _post_data(get: Callable[[str, Any], Any], author: str, tags: list[dict[str, Any]]) -> dict[str, Any]:
    """A post's representation; ``get(name, default)`` reads a values() row or a model instance."""
    published_at = get("published_at", None)
    slug = get("slug", None)
    return {
        "id": get("id", None),
        "slug": slug,
        "title": get("title", None),
        "author": author,
        "status": get("status", None),
        "published_at": DATETIME.to_representation(published_at) if published_at else None,
        "tags": tags,
        "comment_count": get("comment_count", 0),
        "url": post_url(slug),
    }


class PostListSerializer(PostSerializer):
    """A post in a list: everything but the body, which the list query does not read."""

    class Meta(PostSerializer.Meta):
        fields = tuple(name for name in PostSerializer.Meta.fields if name != "body")


class CommentSerializer(serializers.ModelSerializer):
    """A comment under a post; ``post`` is set on create and fixed afterwards."""

    author = serializers.CharField(source="author.username", read_only=True)
    post = serializers.PrimaryKeyRelatedField(queryset=Post.objects.none(), help_text="The post's id.")

    class Meta:
        model = Comment
        fields = ("id", "post", "author", "body", "created_at")
        read_only_fields = ("id", "author", "created_at")
        extra_kwargs = {"body": {"min_length": 1, "max_length": 5000}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        post_field = self.fields["post"]
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            post_field.read_only = True  # a comment does not move between posts
        elif request is not None:
            # Someone else's draft "does not exist" rather than "is a draft": no leak of its id.
            post_field.queryset = Post.objects.visible_to(request.user)  # type: ignore[attr-defined]

    def validate_body(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A comment needs some text.")
        return value


class UserSerializer(serializers.ModelSerializer):
    """A public profile: what the author page shows."""

    url = serializers.CharField(source="get_absolute_url", read_only=True, help_text="The author's web page.")

    class Meta:
        model = User
        fields: tuple[str, ...] = ("id", "username", "bio", "url")
        read_only_fields: tuple[str, ...] = fields


class MeSerializer(UserSerializer):
    """The requester's own account, with the private fields only they see."""

    class Meta(UserSerializer.Meta):
        fields = (*UserSerializer.Meta.fields, "email", "is_staff")
        read_only_fields = fields
