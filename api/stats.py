"""The API's site statistics, served from the background-filled cache (never counted in the request)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from blog.stats import site_stats
from project.api import GenericViewSet


class SiteStatsSerializer(serializers.Serializer):
    """Site-wide totals and when they were computed (they may be up to a minute or two old)."""

    published_posts = serializers.IntegerField(read_only=True)
    comments = serializers.IntegerField(read_only=True)
    authors = serializers.IntegerField(read_only=True)
    tags = serializers.IntegerField(read_only=True)
    computed_at = serializers.DateTimeField(read_only=True)
    stale = serializers.BooleanField(read_only=True, help_text="True while a refresh is on its way.")


class SiteStatsViewSet(GenericViewSet):
    """Site-wide totals from the background cache: published posts, comments, authors, tags.

    On the project's viewset base like every endpoint, so unknown query parameters are a 400 and
    errors have the API's one shape; open to everyone, like the other reads.
    """

    permission_classes = [AllowAny]
    serializer_class = SiteStatsSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(responses=SiteStatsSerializer)
    def stats(self, request: Request) -> Response:
        cached = site_stats.get()
        data = {**cached.value, "computed_at": cached.computed_at, "stale": cached.is_stale}
        return Response(SiteStatsSerializer(data).data)
