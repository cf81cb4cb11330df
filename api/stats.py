"""The API's site statistics, served from the background-filled cache (never counted in the request)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blog.stats import site_stats


class SiteStatsSerializer(serializers.Serializer):
    """Site-wide totals and when they were computed (they may be up to a minute or two old)."""

    published_posts = serializers.IntegerField(read_only=True)
    comments = serializers.IntegerField(read_only=True)
    authors = serializers.IntegerField(read_only=True)
    tags = serializers.IntegerField(read_only=True)
    computed_at = serializers.DateTimeField(read_only=True)
    stale = serializers.BooleanField(read_only=True, help_text="True while a refresh is on its way.")


class SiteStatsView(APIView):
    """Site-wide totals from the background cache: published posts, comments, authors, tags."""

    permission_classes = [AllowAny]
    serializer_class = SiteStatsSerializer

    def get(self, request: Request) -> Response:
        cached = site_stats.get()
        data = {**cached.value, "computed_at": cached.computed_at, "stale": cached.is_stale}
        return Response(SiteStatsSerializer(data).data)
