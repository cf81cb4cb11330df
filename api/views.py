"""API viewsets, on the project's DRF bases."""

from __future__ import annotations

from typing import Any

from api.serializers import PostSerializer, TagSerializer
from blog.models import Post, Tag
from blog.views import TAGS
from project.api import ReadOnlyModelViewSet


class PostViewSet(ReadOnlyModelViewSet):
    """Published posts (and, for their author and staff, drafts), newest first, by cursor."""

    queryset = Post.objects.all()
    serializer_class = PostSerializer
    lookup_field = "slug"
    select_related = ("author",)
    prefetch_related = (TAGS,)

    def get_queryset(self) -> Any:
        return super().get_queryset().visible_to(self.request.user).with_comment_counts()


class TagViewSet(ReadOnlyModelViewSet):
    """Every tag, by name."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    lookup_field = "slug"
