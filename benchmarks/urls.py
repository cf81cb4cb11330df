"""The site's URLs plus baselines measured beside it (never routed in the real site)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.routers import SimpleRouter

from benchmarks.naive_api import NaivePostViewSet
from project.urls import urlpatterns as site_urlpatterns


def bare_json(request: HttpRequest) -> JsonResponse:
    """The floor: a Django view that touches no database, no template and no cache."""
    return JsonResponse({"status": "ok", "items": list(range(20))})


naive_router = SimpleRouter()
naive_router.register("bench/naive-api/posts", NaivePostViewSet, basename="bench-naive-post")

urlpatterns = [
    path("bench/bare/", bare_json, name="bench-bare"),
    *naive_router.urls,
    *site_urlpatterns,
]
