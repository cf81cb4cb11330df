"""The baseline the API benchmark beats: a posts viewset written the DRF-tutorial way.

Nested serializers, a method field that counts comments per row, no ``select_related`` or
``prefetch_related``, and page-number pagination (a ``COUNT(*)`` per page). Routed only in
``benchmarks/urls.py``, never in the real site.
"""

from __future__ import annotations

from rest_framework import permissions, serializers, viewsets
from rest_framework.pagination import PageNumberPagination

from blog.models import Post, Tag
from users.models import User


class NaiveAuthorSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "username")


class NaiveTagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ("id", "name", "slug")


class NaivePostSerializer(serializers.ModelSerializer):
    author = NaiveAuthorSerializer(read_only=True)
    tags = NaiveTagSerializer(many=True, read_only=True)
    comment_count = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ("id", "slug", "title", "author", "status", "published_at", "tags", "comment_count")

    def get_comment_count(self, post: Post) -> int:
        return post.comments.count()


class NaivePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"


class NaivePostViewSet(viewsets.ModelViewSet):
    queryset = Post.objects.filter(status=Post.Status.PUBLISHED).order_by("-published_at")
    serializer_class = NaivePostSerializer
    pagination_class = NaivePagination
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
