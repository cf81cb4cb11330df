"""API representations. ``author`` is always read-only: the requester, never the request body."""

from __future__ import annotations

from rest_framework import serializers

from blog.models import Post, Tag


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ("id", "name", "slug")


class PostSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)
    tags = TagSerializer(many=True, read_only=True)
    comment_count = serializers.IntegerField(read_only=True)
    url = serializers.URLField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Post
        fields = ("id", "slug", "title", "author", "status", "published_at", "tags", "comment_count", "url", "body")
        read_only_fields = fields
